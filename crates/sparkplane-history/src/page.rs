//! The History Server's web page at `/`: the application list, searched
//! and filtered on the server (`q` over id, name, team and outcome; `team`,
//! `outcome`, `from` and `to` dates as `YYYY-MM-DD`) and paged (`page`,
//! `size`), so a search can be linked and a list of 100,000 applications
//! sends one page. Each application links its pages at Spark's URL
//! (`/history/{app}[/{attempt}]/jobs/`, [`crate::ui`]) and its `analyze
//! --html` report at `/report/{app}[/{attempt}]` (both links are
//! [`crate::ui`]'s, which owns the server's URLs of an application), and its
//! event logs' zip at Spark's `logs` resource ([`crate::download::logs_link`]).
//! The columns are Spark's list's (started, completed, duration, Spark user,
//! last updated, the event log's Download, dates and durations formatted as
//! Spark's list formats them) with sparkplane's team, outcome, cost and report.
//!
//! Owns: the page's HTML (self-contained: inline CSS, a plain GET form, no
//! script and no external request). Must not: compute figures (entries come
//! from the index, only those the viewer sees, [`crate::viewed`]: the counts,
//! search, pages and team choices are theirs alone; the report is
//! `sparkplane_analysis::report_html`) or put unescaped log text in the page.

use std::fmt::Write;

use sparkplane_documents::markup::{attribute, text};

use crate::download::logs_link;
use crate::index::Entry;
use crate::time::format_gmt;
use crate::ui::{Params, base_link, outcome_word, report_link};

/// Applications per page unless `size` says otherwise (Spark's list shows 20
/// too), the sizes the form offers, and the most one page shows.
pub const PAGE_SIZE: usize = 20;
const OFFERED_SIZES: [usize; 4] = [20, 40, 60, 100];
const MAX_PAGE_SIZE: usize = 5_000;

/// A duration as Spark's application list shows it (its page's `formatDuration`:
/// `42.0 ms`, `0.5 s`, `33 s` for 32.7 s, `1.0 min`, `12 min`, `1.5 h`, rounded
/// half up), the pages' format but for the list's `.0` under 100 ms.
fn duration(ms: i64) -> String {
    if ms < 100 { format!("{ms}.0 ms") } else { crate::ui::duration(ms) }
}

/// A date as Spark's list shows it (its `formatTimeMillis`: `2015-02-03
/// 16:42:59`, to the second, and `-` for an epoch of zero or less, what Spark's
/// API gives an application that has not ended), written in GMT here as the
/// page is made on the server (Spark's script writes the browser's zone).
fn date(ms: i64) -> String {
    if ms <= 0 {
        return "-".to_owned();
    }
    let mut gmt = format_gmt(ms);
    gmt.truncate(19);
    gmt.replacen('T', " ", 1)
}

/// The list's filters, read from the query.
struct Filters {
    q: String,
    team: String,
    outcome: String,
    /// Started on or after, on or before (epoch ms), from `YYYY-MM-DD`.
    from: Option<i64>,
    to: Option<i64>,
    page: usize,
    size: usize,
}

/// `YYYY-MM-DD` as the epoch ms of that day's start (GMT); `None` when empty or not a date.
fn day(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    crate::time::parse_date(text)
}

impl Filters {
    fn of(params: &Params) -> Filters {
        let get = |k: &str| params.get(k).unwrap_or_default().trim().to_owned();
        let number = |k: &str| params.get(k).and_then(|v| v.trim().parse::<usize>().ok());
        Filters {
            q: get("q").to_lowercase(),
            team: get("team"),
            // Spark's list link `?showIncomplete=true` lists the incomplete applications.
            outcome: match (get("outcome"), params.get("showIncomplete")) {
                (outcome, Some("true")) if outcome.is_empty() => "incomplete".to_owned(),
                (outcome, _) => outcome,
            },
            from: day(&get("from")),
            to: day(&get("to")).map(|d| d + 86_400_000 - 1),
            page: number("page").unwrap_or(1).max(1),
            size: number("size").unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE),
        }
    }

    fn keeps(&self, e: &Entry) -> bool {
        let a = &e.attempt;
        let team = e.team.as_deref().unwrap_or("");
        let outcome = outcome_word(e.outcome);
        (self.team.is_empty() || team == self.team)
            && (self.outcome.is_empty() || outcome == self.outcome)
            && self.from.is_none_or(|from| a.start_ms >= from)
            && self.to.is_none_or(|to| a.start_ms <= to)
            && (self.q.is_empty()
                || [a.app_id.as_str(), a.name.as_str(), team, outcome]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&self.q)))
    }

    /// The query of this list at page `page`.
    fn query(&self, page: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("q", &self.q), ("team", &self.team), ("outcome", &self.outcome)] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        for (k, v) in [("from", self.from), ("to", self.to)] {
            if let Some(ms) = v {
                q.append_pair(k, format_gmt(ms).get(..10).unwrap_or_default());
            }
        }
        q.append_pair("page", &page.to_string());
        if self.size != PAGE_SIZE {
            q.append_pair("size", &self.size.to_string());
        }
        q.finish()
    }
}

/// The stylesheet of the server's pages (inline, no external request); the
/// console's pages use it too, so the door's pages look alike.
pub const STYLE: &str = "<style>:root{color-scheme:light dark;--line:#ddd;--bad:#b00020;--warn:#8a6d00;--ok:#1b5e20}\
@media (prefers-color-scheme:dark){:root{--line:#444;--bad:#f2b8b5;--warn:#f0c75e;--ok:#6dd58c}}\
body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line)}td.num{text-align:right}\
.failed{color:var(--bad)}.incomplete{color:var(--warn)}.succeeded{color:var(--ok)}\
form{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin-bottom:1em}label{display:flex;flex-direction:column;gap:2px}\
input,select,button{font-size:14px;padding:4px}a:focus-visible,input:focus-visible,select:focus-visible,button:focus-visible\
{outline:3px solid #ff9800;outline-offset:2px}.pager{display:flex;gap:12px;margin:8px 0}</style>";

/// The search and filter form, filled with the current filters.
fn form(f: &Filters, teams: &[&str]) -> String {
    let mut html = format!(
        "<form method=\"get\" action=\"/\" role=\"search\"><label>Search<input id=\"search\" type=\"search\" name=\"q\" \
         value=\"{}\" placeholder=\"id, name, team, outcome\"></label><label>Team<select name=\"team\"><option value=\"\">any</option>",
        attribute(&f.q)
    );
    for team in teams {
        let selected = if *team == f.team { " selected" } else { "" };
        let _ = write!(html, "<option{selected}>{}</option>", text(team));
    }
    html.push_str("</select></label><label>Outcome<select name=\"outcome\"><option value=\"\">any</option>");
    for outcome in ["succeeded", "failed", "incomplete"] {
        let selected = if outcome == f.outcome { " selected" } else { "" };
        let _ = write!(html, "<option{selected}>{outcome}</option>");
    }
    let date = |v: Option<i64>| v.map(|ms| format_gmt(ms).get(..10).unwrap_or_default().to_owned()).unwrap_or_default();
    html.push_str("</select></label><label>Per page<select name=\"size\">");
    let mut sizes = OFFERED_SIZES.to_vec();
    if !sizes.contains(&f.size) {
        sizes.push(f.size);
        sizes.sort_unstable();
    }
    for size in sizes {
        let selected = if size == f.size { " selected" } else { "" };
        let _ = write!(html, "<option{selected}>{size}</option>");
    }
    let _ = write!(
        html,
        "</select></label><label>Started from<input type=\"date\" name=\"from\" value=\"{}\"></label>\
         <label>to<input type=\"date\" name=\"to\" value=\"{}\"></label><button type=\"submit\">Show</button></form>",
        date(f.from),
        date(f.to)
    );
    html
}

/// The page: newest application first, the asked filters and page of it.
pub fn index_page(entries: &[Entry], params: &Params) -> String {
    let f = Filters::of(params);
    let mut teams: Vec<&str> = entries.iter().filter_map(|e| e.team.as_deref()).collect();
    teams.sort_unstable();
    teams.dedup();
    let mut rows: Vec<&Entry> = entries.iter().filter(|e| f.keeps(e)).collect();
    let total = rows.len();
    let offset = ((f.page - 1) * f.size).min(total);
    let end = (offset + f.size).min(total);
    let newest_first = |a: &&Entry, b: &&Entry| {
        b.attempt.start_ms.cmp(&a.attempt.start_ms).then_with(|| a.attempt.app_id.cmp(&b.attempt.app_id))
    };
    // Only the shown page needs its order.
    if end > 0 && end < total {
        rows.select_nth_unstable_by(end - 1, newest_first);
        rows.truncate(end);
    }
    rows.sort_unstable_by(newest_first);
    let mut html = String::with_capacity(4096 + (end - offset) * 400);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"color-scheme\" content=\"light dark\">\
         <title>sparkplane History Server</title>{STYLE}</head><body><h1>Spark applications</h1>{}",
        form(&f, &teams)
    );
    let _ = write!(html, "<p id=\"count\">{total} {}</p>", crate::ui::plural(total, "application", "applications"));
    let pager = pager(&f, offset, end, total);
    html.push_str(&pager);
    html.push_str(
        "<table id=\"apps\"><thead><tr><th>Application</th><th>Name</th><th>Team</th><th>Outcome</th>\
         <th>Started (GMT)</th><th>Completed (GMT)</th><th>Duration</th><th>Spark User</th><th>Last Updated (GMT)</th>\
         <th>Event Log</th><th>Cost (USD)</th><th>Report</th></tr></thead><tbody>",
    );
    for e in &rows[offset.min(rows.len())..] {
        html.push_str(&row(e));
    }
    html.push_str("</tbody></table>");
    html.push_str(&pager);
    html.push_str("</body></html>");
    html
}

fn pager(f: &Filters, offset: usize, end: usize, total: usize) -> String {
    let mut html = format!(
        "<nav class=\"pager\" aria-label=\"Pages\"><span>{}–{end} of {total}</span>",
        if end > offset { offset + 1 } else { 0 }
    );
    if f.page > 1 {
        let _ = write!(html, "<a rel=\"prev\" href=\"/?{}\">Previous</a>", attribute(&f.query(f.page - 1)));
    }
    if end < total {
        let _ = write!(html, "<a rel=\"next\" href=\"/?{}\">Next</a>", attribute(&f.query(f.page + 1)));
    }
    html.push_str("</nav>");
    html
}

/// One attempt's row: Spark's columns (application, name, started, completed,
/// duration, Spark user, last updated, the event log's download), sparkplane's
/// team, outcome, cost and report between and after them.
fn row(e: &Entry) -> String {
    let a = &e.attempt;
    let outcome = outcome_word(e.outcome);
    let id = match &a.attempt_id {
        Some(attempt) => format!("{} (attempt {attempt})", a.app_id),
        None => a.app_id.clone(),
    };
    // An application that has not ended has no end: Spark's API gives -1, its list "-".
    let (completed, duration) =
        if a.completed { (date(a.end_ms), duration(a.end_ms - a.start_ms)) } else { (date(-1), "running".to_owned()) };
    format!(
        "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"{outcome}\">{outcome}</td><td>{}</td>\
         <td>{completed}</td><td class=\"num\">{duration}</td><td>{}</td><td>{}</td>\
         <td><a href=\"{}\" download>Download</a></td><td class=\"num\">{:.4}</td><td><a href=\"{}\">report</a></td></tr>",
        attribute(&base_link(&a.app_id, a.attempt_id.as_deref(), "jobs/")),
        text(&id),
        text(&a.name),
        text(e.team.as_deref().unwrap_or("")),
        date(a.start_ms),
        text(&a.user),
        date(a.last_updated_ms),
        attribute(&logs_link(&a.app_id, a.attempt_id.as_deref())),
        e.cost_usd,
        attribute(&report_link(&a.app_id, a.attempt_id.as_deref())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_log_text_and_links_reports() {
        assert_eq!(text("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(report_link("app-1", Some("2")), "/report/app%2D1/2");
        // Spark's list: 32.7 s is "33 s", not cut to "32s".
        let shown = [42, 450, 32_700, 61_000, 754_000, 5_400_000].map(duration);
        assert_eq!(shown, ["42.0 ms", "0.5 s", "33 s", "1.0 min", "13 min", "1.5 h"]);
    }

    #[test]
    fn filters_read_dates_and_keep_their_query_for_the_next_page() {
        let f =
            Filters::of(&Params::parse("q=ETL&team=a%20b&outcome=failed&from=2024-01-31&to=2024-02-01&page=2&size=10"));
        assert_eq!((f.q.as_str(), f.team.as_str(), f.page, f.size), ("etl", "a b", 2, 10));
        assert_eq!(f.from, Some(1_706_659_200_000));
        assert_eq!(f.to, Some(1_706_832_000_000 - 1));
        assert_eq!(f.query(3), "q=etl&team=a+b&outcome=failed&from=2024-01-31&to=2024-02-01&page=3&size=10");
        assert_eq!(Filters::of(&Params::parse("page=0&size=999999")).size, MAX_PAGE_SIZE);
        // Spark's `?showIncomplete=true` lists the incomplete ones; an explicit outcome wins.
        assert_eq!(Filters::of(&Params::parse("showIncomplete=true")).outcome, "incomplete");
        assert_eq!(Filters::of(&Params::parse("showIncomplete=true&outcome=failed")).outcome, "failed");
        assert_eq!(Filters::of(&Params::parse("showIncomplete=false")).outcome, "");
    }

    fn entries(n: i64) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                log: crate::records::EntryLog::Listed(sparkplane_eventlog::AppLog::local(
                    format!("app-{i:03}"),
                    10,
                    Some(5),
                    7,
                )),
                attempt: crate::api::AttemptInfo {
                    app_id: format!("app-{i:03}"),
                    attempt_id: None,
                    name: "etl".to_owned(),
                    start_ms: 1_000 * i,
                    end_ms: 1_000 * i + 500,
                    last_updated_ms: 1_000 * i + 500,
                    user: "u".to_owned(),
                    completed: true,
                    spark_version: "4.1.1".to_owned(),
                    exit_code: None,
                },
                outcome: sparkplane_eventlog::Outcome::Succeeded,
                team: None,
                cost_usd: 0.0,
                warnings: Vec::new(),
                facts: crate::records::FactsTable::default().of(sparkplane_access::AppFacts::default()),
            })
            .collect()
    }

    fn listed_ids(html: &str) -> Vec<&str> {
        html.split("<tr><td><a href=\"").skip(1).filter_map(|row| row.split('>').nth(1)?.split('<').next()).collect()
    }

    #[test]
    fn the_list_shows_twenty_newest_first_and_pages_on() {
        let all = entries(45);
        let first = index_page(&all, &Params::parse(""));
        let ids = listed_ids(&first);
        assert_eq!((ids.len(), ids[0], ids[19]), (20, "app-044", "app-025"), "{first}");
        assert!(first.contains("<span>1–20 of 45</span>") && first.contains("href=\"/?page=2\">Next"), "{first}");
        assert!(!first.contains("rel=\"prev\""), "{first}");
        let last = index_page(&all, &Params::parse("page=3"));
        assert_eq!(listed_ids(&last), ["app-004", "app-003", "app-002", "app-001", "app-000"]);
        assert!(last.contains("<span>41–45 of 45</span>") && last.contains("href=\"/?page=2\">Previous"), "{last}");
        assert!(!last.contains("rel=\"next\""), "{last}");
        let sized = index_page(&all, &Params::parse("size=40"));
        assert_eq!(listed_ids(&sized).len(), 40);
        assert!(sized.contains("href=\"/?page=2&amp;size=40\">Next"), "{sized}");
    }

    /// The text of each cell of `row`'s one row, tags left out, and the `href` of each link.
    fn cells(row: &str) -> (Vec<String>, Vec<String>) {
        let texts = row
            .split("<td")
            .skip(1)
            .map(|cell| {
                let inner = cell.split_once('>').map_or("", |(_, rest)| rest);
                let inner = inner.split("</td>").next().unwrap_or_default();
                let mut shown = String::new();
                let mut in_tag = false;
                for c in inner.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => shown.push(c),
                        _ => {}
                    }
                }
                shown
            })
            .collect();
        let links = row.split("href=\"").skip(1).filter_map(|l| Some(l.split('"').next()?.to_owned())).collect();
        (texts, links)
    }

    #[test]
    fn dates_are_sparks_list_dates_to_the_second_and_a_dash_for_none() {
        assert_eq!(date(1_422_981_779_720), "2015-02-03 16:42:59");
        assert_eq!(date(1), "1970-01-01 00:00:00");
        assert_eq!([date(0), date(-1)], ["-", "-"]);
    }

    #[test]
    fn a_row_has_sparks_columns_and_ours() {
        let mut e = entries(1).remove(0);
        e.attempt.app_id = "app-7".to_owned();
        e.attempt.attempt_id = Some("2".to_owned());
        e.attempt.name = "nightly <etl>".to_owned();
        e.attempt.user = "ann&bob".to_owned();
        e.attempt.start_ms = 1_422_981_779_720;
        e.attempt.end_ms = 1_422_981_779_720 + 32_700;
        e.attempt.last_updated_ms = 1_422_981_779_720 + 40_001;
        e.team = Some("team-a".to_owned());
        e.cost_usd = 0.125;
        let html = row(&e);
        let (texts, links) = cells(&html);
        assert_eq!(
            texts,
            [
                "app-7 (attempt 2)",
                "nightly &lt;etl&gt;",
                "team-a",
                "succeeded",
                "2015-02-03 16:42:59",
                "2015-02-03 16:43:32",
                "33 s",
                "ann&amp;bob",
                "2015-02-03 16:43:39",
                "Download",
                "0.1250",
                "report",
            ],
            "{html}"
        );
        assert_eq!(
            links,
            ["/history/app%2D7/2/jobs/", "/api/v1/applications/app%2D7/2/logs", "/report/app%2D7/2"],
            "{html}"
        );
        // Without an attempt id, the download is every attempt's zip, as Spark links it.
        e.attempt.attempt_id = None;
        assert_eq!(cells(&row(&e)).1[1], "/api/v1/applications/app%2D7/logs");
    }

    #[test]
    fn an_application_that_has_not_ended_has_no_completed_date() {
        let mut e = entries(1).remove(0);
        e.attempt.start_ms = 1_422_981_779_720;
        e.attempt.end_ms = -1;
        e.attempt.last_updated_ms = 1_422_981_790_000;
        e.attempt.completed = false;
        e.outcome = sparkplane_eventlog::Outcome::Incomplete;
        let (texts, _) = cells(&row(&e));
        assert_eq!(
            texts[3..9],
            ["incomplete", "2015-02-03 16:42:59", "-", "running", "u", "2015-02-03 16:43:10"],
            "{texts:?}"
        );
    }

    #[test]
    fn the_header_names_every_column_of_a_row() {
        let html = index_page(&entries(1), &Params::parse(""));
        let head = html.split("<thead>").nth(1).and_then(|h| h.split("</thead>").next()).expect("a header");
        let names: Vec<&str> = head.split("<th>").skip(1).filter_map(|h| h.split("</th>").next()).collect();
        assert_eq!(
            names,
            [
                "Application",
                "Name",
                "Team",
                "Outcome",
                "Started (GMT)",
                "Completed (GMT)",
                "Duration",
                "Spark User",
                "Last Updated (GMT)",
                "Event Log",
                "Cost (USD)",
                "Report"
            ]
        );
        assert_eq!(cells(&row(&entries(1)[0])).0.len(), names.len());
    }

    #[test]
    fn the_form_offers_sparks_page_sizes_and_keeps_an_asked_one() {
        let offered = |query: &str| {
            let html = form(&Filters::of(&Params::parse(query)), &[]);
            let start = html.find("<select name=\"size\">").expect("a size select");
            let end = start + html[start..].find("</select>").expect("closed");
            html[start..end].to_owned()
        };
        assert_eq!(
            offered(""),
            "<select name=\"size\"><option selected>20</option><option>40</option><option>60</option><option>100</option>"
        );
        assert_eq!(
            offered("size=50"),
            "<select name=\"size\"><option>20</option><option>40</option><option selected>50</option><option>60</option>\
             <option>100</option>"
        );
    }
}
