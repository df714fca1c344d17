//! The History Server's web page at `/`: the application list, searchable
//! (as you type, or from `/?q=TEXT`, so a search can be linked), with
//! outcome, duration, team and cost, each application linking its
//! `analyze --html` report at `/report/{app}[/{attempt}]`.
//!
//! Owns: the page's HTML (self-contained: inline CSS and a few lines of
//! script for the search box; no external request). Must not: compute
//! figures (entries come from the index; the report is
//! `sparkplane_eventlog::report_html`) or put unescaped log text in the page.

use std::fmt::Write;

use sparkplane_core::markup::{attribute, text};
use sparkplane_eventlog::Outcome;

use crate::index::Entry;
use crate::time::format_gmt;

fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn duration(ms: i64) -> String {
    let secs = ms / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The link of an attempt's report.
pub fn report_link(app_id: &str, attempt_id: Option<&str>) -> String {
    match attempt_id {
        Some(attempt) => format!("/report/{}/{}", path_segment(app_id), path_segment(attempt)),
        None => format!("/report/{}", path_segment(app_id)),
    }
}

/// The page: newest application first.
pub fn index_page(entries: &[Entry]) -> String {
    let mut rows: Vec<&Entry> = entries.iter().collect();
    rows.sort_by(|a, b| {
        b.attempt.start_ms.cmp(&a.attempt.start_ms).then_with(|| a.attempt.app_id.cmp(&b.attempt.app_id))
    });
    let mut html = String::with_capacity(4096 + rows.len() * 400);
    html.push_str(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>sparkplane History Server</title>\
         <style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}\
         th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #ddd}td.num{text-align:right}\
         .failed{color:#b00020}.incomplete{color:#8a6d00}.succeeded{color:#1b5e20}\
         input{font-size:14px;padding:4px;width:24em;margin-bottom:1em}</style></head><body>\
         <h1>Spark applications</h1>\
         <input id=\"search\" type=\"search\" placeholder=\"Search id, name, team, outcome\" autofocus>",
    );
    let _ = write!(html, "<p id=\"count\">{} applications</p>", rows.len());
    html.push_str(
        "<table id=\"apps\"><thead><tr><th>Application</th><th>Name</th><th>Team</th><th>Outcome</th>\
         <th>Started (GMT)</th><th>Duration</th><th>Cost (USD)</th><th>Report</th></tr></thead><tbody>",
    );
    for e in rows {
        let a = &e.attempt;
        let outcome = match e.outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
        };
        let id = match &a.attempt_id {
            Some(attempt) => format!("{} (attempt {attempt})", a.app_id),
            None => a.app_id.clone(),
        };
        let duration = if a.completed { duration(a.end_ms - a.start_ms) } else { "running".to_owned() };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{outcome}\">{outcome}</td><td>{}</td>\
             <td class=\"num\">{duration}</td><td class=\"num\">{:.4}</td><td><a href=\"{}\">report</a></td></tr>",
            text(&id),
            text(&a.name),
            text(e.team.as_deref().unwrap_or("")),
            format_gmt(a.start_ms),
            e.cost_usd,
            attribute(&report_link(&a.app_id, a.attempt_id.as_deref())),
        );
    }
    html.push_str(
        "</tbody></table><script>\
         const box=document.getElementById('search');\
         function filter(){const q=box.value.toLowerCase();let n=0;\
         for(const row of document.querySelectorAll('#apps tbody tr')){\
         const show=row.textContent.toLowerCase().includes(q);row.hidden=!show;if(show)n++;}\
         document.getElementById('count').textContent=n+' applications';}\
         box.addEventListener('input',filter);\
         const given=new URLSearchParams(location.search).get('q');\
         if(given){box.value=given;filter();}\
         </script></body></html>",
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_log_text_and_links_reports() {
        assert_eq!(text("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(report_link("app-1", Some("2")), "/report/app%2D1/2");
        assert_eq!(duration(61_000), "1m 01s");
    }
}
