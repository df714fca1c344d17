//! Times web pages in headless Chromium, for the web UI benchmark
//! (bench/history/pages.sh): for each run, a fresh load of the page, the time
//! from the start of navigation until the page is complete — its load event
//! has fired and `CONDITION` (a JavaScript expression: the task table's first
//! row is there, say) holds — as the browser's own clock measures it
//! (`performance.now()`, recorded by a script the browser runs in the page
//! before the page's own scripts, watching every change of the document), and
//! the bytes the page pulled over the network (documents, scripts, styles and
//! the REST calls its scripts make). It prints one JSON object per line.
//!
//!     cargo run -p sparkplane-history --example page_timing -- LABEL URL CONDITION [RUNS] [cold|warm]
//!
//! `cold` (the default) loads with the browser's cache off, as a first visit;
//! `warm` loads the page once first and then with the cache on. The figures
//! are the browser's, so a debug build of this driver measures the same. With
//! `CONDITION` `plan`, it also reports what the large-plan measurement needs:
//! first contentful paint, the longest main-thread task (Long Tasks API) and
//! the number of DOM elements.

use std::time::Duration;

use sparkplane_testkit::devtools::Browser;

/// Installed before each document: records when the page is first complete, and the longest tasks.
fn watcher(condition: &str) -> String {
    format!(
        "(() => {{ window.__longest = 0; \
           try {{ new PerformanceObserver(l => {{ for (const e of l.getEntries()) \
             window.__longest = Math.max(window.__longest, e.duration); }}).observe({{type: 'longtask', buffered: true}}); }} catch (e) {{}} \
           const done = () => {{ try {{ return document.readyState === 'complete' && !!({condition}); }} catch (e) {{ return false; }} }}; \
           const check = () => {{ if (window.__complete === undefined && done()) window.__complete = performance.now(); }}; \
           new MutationObserver(check).observe(document, {{subtree: true, childList: true, attributes: true, characterData: true}}); \
           window.addEventListener('load', () => setTimeout(check, 0)); \
           const poll = () => {{ check(); if (window.__complete === undefined) setTimeout(poll, 4); }}; poll(); }})()"
    )
}

const RESULT: &str = "new Promise((resolve, reject) => { const started = Date.now(); \
  const wait = () => { if (window.__complete !== undefined) { \
      const paint = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint'); \
      resolve({complete: window.__complete, fcp: paint ? paint.startTime : null, longest: window.__longest, \
               elements: document.getElementsByTagName('*').length, \
               document: performance.getEntriesByType('navigation')[0].transferSize}); } \
    else if (Date.now() - started > 600000) reject(new Error('the page was not complete within 10 minutes')); \
    else setTimeout(wait, 20); }; wait(); })";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [label, url, condition, rest @ ..] = args.as_slice() else {
        eprintln!("usage: page_timing LABEL URL CONDITION [RUNS] [cold|warm]");
        std::process::exit(2);
    };
    let runs: usize = rest.first().and_then(|r| r.parse().ok()).unwrap_or(3);
    let warm = rest.get(1).is_some_and(|m| m == "warm");
    let plan = condition == "plan";
    let condition =
        if plan { "document.querySelector('table.operators tbody tr:last-child')" } else { condition.as_str() };
    let mut browser = Browser::start();
    browser.before_each_document(&watcher(condition));
    browser.use_cache(warm);
    if warm {
        browser.navigate(url, Duration::from_secs(600));
        let _ = browser.evaluate(RESULT);
    }
    for run in 1..=runs {
        let load = browser.navigate(url, Duration::from_secs(600));
        let result = browser.evaluate(RESULT).unwrap_or_else(|e| panic!("{url}: {e}"));
        // The REST calls a page's scripts make may end after the condition: count their bytes too.
        browser.settle(Duration::from_millis(500));
        let after = browser.load();
        let line = serde_json::json!({
            "label": label, "url": url, "run": run, "cache": if warm { "warm" } else { "cold" },
            "complete_ms": result["complete"], "bytes": after.bytes, "requests": after.requests,
            "document_bytes": result["document"], "fcp_ms": result["fcp"], "longest_task_ms": result["longest"],
            "elements": result["elements"], "script_errors": load.script_errors, "failed_requests": after.failed_requests,
        });
        println!("{line}");
    }
}
