//! The History Server's per-application web pages at Spark's own URLs
//! (`/history/{app}[/{attempt}]/{jobs,stages,storage,environment,executors,SQL}/…`),
//! server-rendered HTML (ADR 0068).
//!
//! Owns: the URL scheme ([`parse_path`] maps Spark's paths and query
//! parameters to a [`Route`]; [`base_link`] and [`report_link`] make an
//! attempt's links, which the application list uses too), the page shell every page shares ([`shell`]:
//! header with the application's name, cost, team and outcome, the tabs, inline
//! CSS with light and dark themes by `prefers-color-scheme`, a skip link and
//! visible focus so every control is keyboard reachable, no external font,
//! script or style), the "what was asked and a link back" page for an unknown
//! application, job, stage or RDD ([`asked_page`]), the escaping every page
//! uses ([`esc`], [`esc_attr`]) and the number formats ([`bytes`],
//! [`duration`]) with the raw value kept beside the shown one
//! (`data-v`, so tests compare pages with the REST API exactly).
//!
//! Each tab is a module with pure functions from an [`AppView`] (the one
//! replayed [`AppDetail`] the REST API answers from, plus the listing's facts)
//! and the request's [`Params`] to a [`Page`]; `sql` (the SQL tab) is its own
//! module with `executions_page(view, params)` and `execution_page(view, id, params)`.
//!
//! Must not: read logs, the clock or the network (the catalog hands the
//! detail and the time), compute a figure the REST API also answers in another
//! way (figures the API derives come from [`crate::api`]'s functions), or put
//! unescaped log text into a page.

use std::fmt::Write;
use std::sync::Arc;

use sparkplane_eventlog::Outcome;

use crate::api::{AttemptInfo, Catalog};
use sparkplane_appstatus::replay::AppDetail;

pub mod environment;
pub mod executors;
pub mod jobs;
pub mod sql;
pub mod stages;
pub mod timeline;

/// Bytes as Spark's UI shows them (the one format, [`crate::units::bytes`]).
pub use crate::units::bytes;

/// A tab of an application's pages, in Spark's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Jobs,
    Stages,
    Storage,
    Environment,
    Executors,
    Sql,
}

impl Tab {
    /// Every tab, in the header's order.
    pub const ALL: [Tab; 6] = [Tab::Jobs, Tab::Stages, Tab::Storage, Tab::Environment, Tab::Executors, Tab::Sql];

    /// The tab's path segment in Spark's URLs.
    pub fn segment(self) -> &'static str {
        match self {
            Tab::Jobs => "jobs",
            Tab::Stages => "stages",
            Tab::Storage => "storage",
            Tab::Environment => "environment",
            Tab::Executors => "executors",
            Tab::Sql => "SQL",
        }
    }

    /// The tab's label in the header.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Jobs => "Jobs",
            Tab::Stages => "Stages",
            Tab::Storage => "Storage",
            Tab::Environment => "Environment",
            Tab::Executors => "Executors",
            Tab::Sql => "SQL",
        }
    }

    fn from_segment(segment: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.segment() == segment)
    }
}

/// One page of an application, as Spark's URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `jobs/` (also the application's root).
    Jobs,
    /// `jobs/job/?id=N`.
    Job,
    /// `stages/`.
    Stages,
    /// `stages/stage/?id=N&attempt=M`.
    Stage,
    /// `storage/`.
    Storage,
    /// `storage/rdd/?id=N`.
    Rdd,
    /// `environment/`.
    Environment,
    /// `executors/`.
    Executors,
    /// `SQL/`.
    Sql,
    /// `SQL/execution/?id=N`.
    SqlExecution,
}

impl Route {
    /// The tab the page belongs to.
    pub fn tab(&self) -> Tab {
        match self {
            Route::Jobs | Route::Job => Tab::Jobs,
            Route::Stages | Route::Stage => Tab::Stages,
            Route::Storage | Route::Rdd => Tab::Storage,
            Route::Environment => Tab::Environment,
            Route::Executors => Tab::Executors,
            Route::Sql | Route::SqlExecution => Tab::Sql,
        }
    }
}

/// A parsed `/history/…` path: which application attempt and which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub app_id: String,
    pub attempt_id: Option<String>,
    /// `None` for a path under the application Spark has no page at.
    pub route: Option<Route>,
}

/// Maps a path of Spark's UI scheme to the page it names; `None` when the
/// path is not under `/history/{app}`. A segment after the application that
/// is not a tab is the attempt id (`/history/app-1/2/jobs/`), as in Spark.
pub fn parse_path(path: &str) -> Option<Target> {
    let rest = path.strip_prefix("/history/")?;
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let (app_id, rest) = segments.split_first()?;
    let (attempt_id, rest) = match rest.split_first() {
        Some((first, tail)) if Tab::from_segment(first).is_none() => (Some(first.clone()), tail),
        _ => (None, rest),
    };
    let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
    let route = match parts.as_slice() {
        [] | ["jobs"] => Some(Route::Jobs),
        ["jobs", "job"] => Some(Route::Job),
        ["stages"] => Some(Route::Stages),
        ["stages", "stage"] => Some(Route::Stage),
        ["storage"] => Some(Route::Storage),
        ["storage", "rdd"] => Some(Route::Rdd),
        ["environment"] => Some(Route::Environment),
        ["executors"] => Some(Route::Executors),
        ["SQL"] => Some(Route::Sql),
        ["SQL", "execution"] => Some(Route::SqlExecution),
        _ => None,
    };
    Some(Target { app_id: app_id.clone(), attempt_id, route })
}

/// A request's query parameters, repeated ones kept in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads `a=1&b=x` (form encoding).
    pub fn parse(query: &str) -> Params {
        Params(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// A whole-number parameter: `Ok(None)` when absent, `Err` with the
    /// [`asked_page`] answer (400) when it is not a number.
    pub fn int(&self, key: &str, view: &AppView) -> Result<Option<i64>, Page> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                view.asked(400, &format!("Parameter {key} must be a whole number; this link asked for {key}={v:?}."))
            }),
        }
    }

    /// A parameter the page cannot do without (Spark's `id`): 400 when absent or not a number.
    pub fn required_int(&self, key: &str, view: &AppView) -> Result<i64, Page> {
        self.int(key, view)?.ok_or_else(|| view.asked(400, &format!("Missing parameter {key} (e.g. ?{key}=0).")))
    }
}

/// What the application list knows of an attempt beyond the replay: its
/// outcome, team and cost (the findings, critical path and failure cause come
/// with the replayed detail, [`sparkplane_appstatus::insight::Insight`]).
#[derive(Debug, Clone)]
pub struct AppFacts {
    pub outcome: Outcome,
    pub team: Option<String>,
    /// At the default price sheet, USD (`sparkplane cost`'s model).
    pub cost_usd: f64,
}

/// Everything an application's page is rendered from.
pub struct AppView<'a> {
    pub attempt: AttemptInfo,
    /// The one replayed model the REST API answers from.
    pub detail: Arc<AppDetail>,
    pub facts: Option<AppFacts>,
    /// For figures the API computes with the catalog (a running driver's duration).
    pub catalog: &'a dyn Catalog,
}

impl AppView<'_> {
    /// The link to a page of this attempt: `rel` is Spark's relative path
    /// (`stages/stage/?id=1&attempt=0`), already escaped for a URL.
    pub fn link(&self, rel: &str) -> String {
        base_link(&self.attempt.app_id, self.attempt.attempt_id.as_deref(), rel)
    }

    /// The REST API's answer for this attempt's `resource` (`jobs`,
    /// `stages/3/0/taskSummary`, …) with `query`, as JSON: the pages show the
    /// API's figures, so the two cannot disagree. An API 404 becomes this
    /// application's "what was asked" page with the API's message.
    pub fn api(&self, resource: &str, query: &str) -> Result<serde_json::Value, Page> {
        let mut path = format!("/api/v1/applications/{}/", segment(&self.attempt.app_id));
        if let Some(attempt) = &self.attempt.attempt_id {
            let _ = write!(path, "{}/", segment(attempt));
        }
        path.push_str(resource);
        let answer = crate::api::respond(self.catalog, &path, query);
        if answer.status != 200 {
            return Err(self.asked(answer.status, answer.body.trim()));
        }
        serde_json::from_str(&answer.body)
            .map_err(|e| self.asked(500, &format!("The API's answer for {path} is not JSON: {e}")))
    }

    /// The "what was asked, and a link back" page of this application (status 404 or 400).
    pub fn asked(&self, status: u16, what: &str) -> Page {
        let back = self.link("jobs/");
        let mut body = String::new();
        let _ = write!(
            body,
            "<p class=\"asked\">{}</p><p><a href=\"{}\">Back to the jobs of {}</a> · <a href=\"/\">All applications</a></p>",
            esc(what),
            esc_attr(&back),
            esc(&self.attempt.app_id)
        );
        Page { status, title: status_title(status).to_owned(), tab: None, body }
    }
}

fn status_title(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        404 => "Not found",
        500 => "Server error",
        _ => "Error",
    }
}

fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `/history/{app}[/{attempt}]/{rel}`, the ids percent-encoded.
pub fn base_link(app_id: &str, attempt_id: Option<&str>, rel: &str) -> String {
    match attempt_id {
        Some(attempt) => format!("/history/{}/{}/{rel}", segment(app_id), segment(attempt)),
        None => format!("/history/{}/{rel}", segment(app_id)),
    }
}

/// `/report/{app}[/{attempt}]`, the link of an attempt's `analyze --html`
/// report (the application list and the jobs page link it), the ids
/// percent-encoded.
pub fn report_link(app_id: &str, attempt_id: Option<&str>) -> String {
    match attempt_id {
        Some(attempt) => format!("/report/{}/{}", segment(app_id), segment(attempt)),
        None => format!("/report/{}", segment(app_id)),
    }
}

/// A page's answer before the shell: status, title, the tab it shows
/// selected, and the HTML of its main part.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub status: u16,
    pub title: String,
    pub tab: Option<Tab>,
    pub body: String,
}

impl Page {
    /// A 200 page of `tab`.
    pub fn ok(tab: Tab, title: impl Into<String>, body: String) -> Page {
        Page { status: 200, title: title.into(), tab: Some(tab), body }
    }
}

/// A rendered answer: status and a whole HTML document.
#[derive(Debug, Clone, PartialEq)]
pub struct Html {
    pub status: u16,
    pub body: String,
}

/// Escapes log text for element content.
pub fn esc(raw: &str) -> String {
    sparkplane_documents::markup::text(raw)
}

/// Escapes log text for an attribute value.
pub fn esc_attr(raw: &str) -> String {
    sparkplane_documents::markup::attribute(raw)
}

/// A link to a driver's or executor's log as the event log names it. Only
/// `http://` and `https://` URLs become links: the URL comes from the log,
/// and a `javascript:` or `data:` one would run in the page when clicked.
/// Anything else is shown as text.
pub fn log_link(label: &str, url: &str) -> String {
    let scheme = url.trim_start().get(..8).unwrap_or(url).to_ascii_lowercase();
    if scheme.starts_with("http://") || scheme.starts_with("https://") {
        format!("<a href=\"{}\">{}</a>", esc_attr(url), esc(label))
    } else {
        format!("{} <code>{}</code>", esc(label), esc(url))
    }
}

/// [`log_link`] for each entry of the API's `executorLogs` object.
pub fn log_links(logs: Option<&serde_json::Value>) -> Vec<String> {
    let Some(logs) = logs.and_then(serde_json::Value::as_object) else { return Vec::new() };
    logs.iter().filter_map(|(k, v)| Some(log_link(k, v.as_str()?))).collect()
}

/// Milliseconds as Spark's UI shows a duration (`UIUtils.formatDuration`,
/// whose `%.0f` and `%.1f` round halves up, as Java's formatter does).
pub fn duration(ms: i64) -> String {
    let half_up = |x: f64, places: i32| {
        let scale = 10f64.powi(places);
        (x * scale).round() / scale
    };
    if ms < 100 {
        return format!("{ms} ms");
    }
    let seconds = ms as f64 / 1000.0;
    if seconds < 1.0 {
        return format!("{:.1} s", half_up(seconds, 1));
    }
    if seconds < 60.0 {
        return format!("{:.0} s", half_up(seconds, 0));
    }
    let minutes = seconds / 60.0;
    if minutes < 10.0 {
        return format!("{:.1} min", half_up(minutes, 1));
    }
    if minutes < 60.0 {
        return format!("{:.0} min", half_up(minutes, 0));
    }
    format!("{:.1} h", half_up(minutes / 60.0, 1))
}

/// A date as the pages show it (GMT, to the second): `2024-01-31 12:00:05`.
pub fn date(epoch_ms: i64) -> String {
    let gmt = crate::time::format_gmt(epoch_ms);
    // `2024-01-31T12:00:05.000GMT` → `2024-01-31 12:00:05`.
    gmt.get(..19).map_or(gmt.clone(), |s| s.replacen('T', " ", 1))
}

/// An integer field of an API answer (0 when absent).
pub fn int(value: &serde_json::Value, key: &str) -> i64 {
    value.get(key).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

/// A string field of an API answer (empty when absent).
pub fn text<'a>(value: &'a serde_json::Value, key: &str) -> &'a str {
    value.get(key).and_then(serde_json::Value::as_str).unwrap_or_default()
}

/// A date of an API answer (`2024-01-31T12:00:05.000GMT`) as the pages show it.
pub fn api_date(value: &serde_json::Value, key: &str) -> String {
    let raw = text(value, key);
    raw.get(..19).map_or(raw.to_owned(), |s| s.replacen('T', " ", 1))
}

/// A table cell of bytes, raw value in `data-v`.
pub fn bytes_cell(raw: i64) -> String {
    num(raw, &bytes(raw))
}

/// A table cell of a duration in ms, raw value in `data-v`.
pub fn ms_cell(raw: i64) -> String {
    num(raw, &duration(raw))
}

/// A table cell of a count, raw value in `data-v`.
pub fn count_cell(raw: i64) -> String {
    num(raw, &raw.to_string())
}

/// Spark's progress bar: completed (and running) of `total` tasks, the counts written on it.
pub fn progress(done: i64, running: i64, total: i64, note: &str) -> String {
    let pct = |n: i64| if total > 0 { (n as f64 * 100.0 / total as f64).clamp(0.0, 100.0) } else { 0.0 };
    format!(
        "<td><div class=\"progress\" role=\"img\" aria-label=\"{done} of {total} tasks done\" data-done=\"{done}\" \
         data-total=\"{total}\"><span class=\"done\" style=\"width:{:.1}%\"></span><span class=\"run\" \
         style=\"left:{:.1}%;width:{:.1}%\"></span><b>{done}/{total}{}</b></div></td>",
        pct(done),
        pct(done),
        pct(running),
        esc(note)
    )
}

/// The pager of a server-side paged table: "rows a–b of n" and the previous
/// and next links (`href` makes the link of a page offset).
pub fn pager(offset: usize, shown: usize, total: usize, size: usize, href: &dyn Fn(usize) -> String) -> String {
    let mut out = format!(
        "<div class=\"pager\"><span data-total=\"{total}\">{}–{} of {total}</span>",
        if shown == 0 { 0 } else { offset + 1 },
        offset + shown
    );
    if offset > 0 {
        let _ = write!(out, "<a href=\"{}\" rel=\"prev\">Previous</a>", esc_attr(&href(offset.saturating_sub(size))));
    }
    if offset + shown < total {
        let _ = write!(out, "<a href=\"{}\" rel=\"next\">Next</a>", esc_attr(&href(offset + size)));
    }
    out.push_str("</div>");
    out
}

/// Rows per page of a list table unless `<prefix>.pageSize` says otherwise
/// (Spark's default for its jobs, stages and SQL tables), and the most a page shows.
pub const LIST_PAGE: usize = 100;
const MAX_LIST_PAGE: usize = 10_000;

/// One page of a server-side paged list table, read from Spark's parameters
/// for it (`completedJob.page`, `completedJob.pageSize`, … — the table's
/// prefix), so Spark's paging links open the same rows on ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TablePage {
    /// The first row shown (from 0), at most `total`.
    pub offset: usize,
    /// Rows to a page.
    pub size: usize,
    /// Rows in the whole table.
    pub total: usize,
}

impl TablePage {
    /// `<prefix>.page` (from 1) and `<prefix>.pageSize` (clamped to 1..=10,000, default
    /// [`LIST_PAGE`]) of a table of `total` rows; a value that is not a whole number is the 400 page.
    pub fn of(params: &Params, view: &AppView, prefix: &str, total: usize) -> Result<TablePage, Page> {
        let size = params
            .int(&format!("{prefix}.pageSize"), view)?
            .map_or(LIST_PAGE, |n| usize::try_from(n).unwrap_or(1).clamp(1, MAX_LIST_PAGE));
        let page = params.int(&format!("{prefix}.page"), view)?.map_or(1, |n| usize::try_from(n).unwrap_or(1).max(1));
        Ok(TablePage { offset: (page - 1).saturating_mul(size).min(total), size, total })
    }

    /// The rows of this page.
    pub fn rows<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let end = self.offset.saturating_add(self.size).min(all.len());
        all.get(self.offset.min(end)..end).unwrap_or_default()
    }

    /// The pager when the table has more than one page (else nothing): links
    /// to `path?<prefix>.page=N&<prefix>.pageSize=S#anchor`.
    pub fn pager(&self, view: &AppView, path: &str, prefix: &str, anchor: &str) -> String {
        if self.total <= self.size && self.offset == 0 {
            return String::new();
        }
        let shown = self.total.saturating_sub(self.offset).min(self.size);
        pager(self.offset, shown, self.total, self.size, &|o| {
            view.link(&format!("{path}?{prefix}.page={}&{prefix}.pageSize={}#{anchor}", o / self.size + 1, self.size))
        })
    }
}

/// `one` after 1, else `many`: "1 executor", "3 executors".
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A table cell of a number: shown formatted, the raw value in `data-v`.
pub fn num(raw: i64, shown: &str) -> String {
    format!("<td class=\"n\" data-v=\"{raw}\">{}</td>", esc(shown))
}

/// The style every page carries inline: light by default, dark when the
/// browser prefers it; system fonts only.
const STYLE: &str = "\
:root{--bg:#fff;--fg:#1d1d1f;--muted:#5f6368;--line:#d9dce1;--head:#f3f4f6;--link:#0b57d0;--ok:#1b7f3b;\
--bad:#b3261e;--warn:#8a6100;--bar:#4c8bf5;--bar2:#9bbcf8;--crit:#b3261e;--focus:#ff9800}\
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e6e7ea;--muted:#a0a4ab;--line:#33363d;\
--head:#202329;--link:#8ab4f8;--ok:#6dd58c;--bad:#f2b8b5;--warn:#f0c75e;--bar:#8ab4f8;--bar2:#3a5a8c;--crit:#c5221f;--focus:#ffb74d}}\
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif}\
a{color:var(--link)}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible\
{outline:3px solid var(--focus);outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px 8px;z-index:9}\
header{border-bottom:1px solid var(--line);padding:8px 16px;background:var(--head)}\
header .app{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline}header .app h1{font-size:18px;margin:0}\
header .facts{color:var(--muted)}header .app span span{margin-right:12px}nav ul{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px}\
nav a{display:inline-block;padding:4px 12px;border-radius:4px;text-decoration:none}\
nav a[aria-current=page]{background:var(--bg);font-weight:600;border:1px solid var(--line)}\
main{padding:12px 16px}h2{font-size:16px;margin:20px 0 8px}h3{font-size:14px;margin:16px 0 6px}\
table{border-collapse:collapse;width:100%;margin:4px 0 12px}th,td{text-align:left;padding:3px 8px;\
border-bottom:1px solid var(--line);vertical-align:top}th{background:var(--head);font-weight:600}\
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.SUCCEEDED,.COMPLETE,.SUCCESS,.succeeded{color:var(--ok)}.FAILED,.failed{color:var(--bad)}\
.RUNNING,.ACTIVE,.incomplete,.KILLED{color:var(--warn)}.SKIPPED,.PENDING{color:var(--muted)}\
.progress{position:relative;min-width:160px;height:18px;border:1px solid var(--line);border-radius:3px;overflow:hidden}\
.progress span{position:absolute;top:0;bottom:0;left:0}.progress .done{background:var(--bar)}\
.progress .run{background:var(--bar2)}.progress b{position:relative;font-weight:400;font-size:12px;padding-left:4px}\
.asked{font-size:15px}pre{white-space:pre-wrap;word-break:break-word;background:var(--head);padding:8px;\
border:1px solid var(--line);max-height:24em;overflow:auto}\
.muted{color:var(--muted)}.pager{display:flex;gap:12px;align-items:center;margin:6px 0}\
.finding{border-left:4px solid var(--warn);padding:4px 8px;margin:6px 0}.finding.critical{border-color:var(--bad)}\
.finding.info{border-color:var(--line)}svg text{fill:var(--fg)}\
.timeline .bar{fill:var(--bar)}.timeline .bar.crit{fill:var(--crit)}.timeline .bar.failed{stroke:var(--bad);stroke-width:2}\
.timeline a:focus-visible rect{stroke:var(--focus);stroke-width:3}\
.key{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px;background:var(--bar)}.key.crit{background:var(--crit)}\
.key.failed{background:none;border:2px solid var(--bad)}\
.crit-tag{display:inline-block;font-size:11px;padding:0 4px;border-radius:3px;background:var(--crit);color:#fff}\
.scroll{overflow-x:auto}.scroll:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--focus);outline-offset:2px}\
.failed-tasks details{display:inline}";

/// The header's facts: outcome, team and cost when the listing knows them.
fn facts_line(attempt: &AttemptInfo, facts: Option<&AppFacts>) -> String {
    let mut line = String::new();
    if let Some(attempt_id) = &attempt.attempt_id {
        let _ = write!(line, "<span>attempt {}</span>", esc(attempt_id));
    }
    let _ = write!(line, "<span>user {}</span><span>Spark {}</span>", esc(&attempt.user), esc(&attempt.spark_version));
    if let Some(f) = facts {
        let outcome = outcome_word(f.outcome);
        let _ = write!(line, "<span class=\"{outcome}\">{outcome}</span>");
        let _ = write!(line, "<span>team {}</span>", esc(f.team.as_deref().unwrap_or("none")));
        let _ = write!(line, "<span>cost ${:.4}</span>", f.cost_usd);
    }
    line
}

/// The listing's word for an outcome (also the CSS class).
pub fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Incomplete => "incomplete",
    }
}

/// A whole HTML document around `main`: the header (application name and
/// facts, tabs when `view` is given) and the inline style.
pub fn document(title: &str, header: &str, main: &str) -> String {
    let mut html = String::with_capacity(main.len() + STYLE.len() + header.len() + 512);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{}</title><style>{STYLE}</style></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>{header}<main id=\"main\" tabindex=\"-1\">{main}</main></body></html>",
        esc(title)
    );
    html
}

/// The page shell of an application's page: its name, facts and tabs, the
/// selected tab marked for assistive technology, then the page.
pub fn shell(view: &AppView, page: &Page) -> String {
    let a = &view.attempt;
    let mut header = String::new();
    let _ = write!(
        header,
        "<header><div class=\"app\"><a href=\"/\">sparkplane History</a><h1>{}</h1><span class=\"facts muted\">{}</span>\
         <span class=\"muted\">{}</span></div><nav aria-label=\"Application\"><ul>",
        esc(&a.name),
        esc(&a.app_id),
        facts_line(a, view.facts.as_ref())
    );
    for tab in Tab::ALL {
        let current = if page.tab == Some(tab) { " aria-current=\"page\"" } else { "" };
        let _ = write!(
            header,
            "<li><a href=\"{}\"{current}>{}</a></li>",
            esc_attr(&view.link(&format!("{}/", tab.segment()))),
            tab.label()
        );
    }
    header.push_str("</ul></nav></header>");
    let title = format!("{} - {} - {}", page.title, a.name, a.app_id);
    let main = format!("<h2>{}</h2>{}", esc(&page.title), page.body);
    document(&title, &header, &main)
}

/// The page for a path nothing answers: says what was asked and links back
/// (to `back`, labelled `back_label`, and to the application list).
pub fn asked_page(status: u16, what: &str, back: &str, back_label: &str) -> Html {
    let header = "<header><div class=\"app\"><a href=\"/\">sparkplane History</a></div></header>";
    let main = format!(
        "<h2>{}</h2><p class=\"asked\">{}</p><p><a href=\"{}\">{}</a> · <a href=\"/\">All applications</a></p>",
        status_title(status),
        esc(what),
        esc_attr(back),
        esc(back_label)
    );
    Html { status, body: document(status_title(status), header, &main) }
}

/// Answers `GET path?query` for a path under `/history/`: the page, or the
/// page saying what was asked when the application, attempt or page is not
/// known. `facts` looks up the listing's facts of an attempt.
pub fn respond(
    catalog: &dyn Catalog,
    facts: &dyn Fn(&str, Option<&str>) -> Option<AppFacts>,
    path: &str,
    query: &str,
) -> Html {
    let Some(target) = parse_path(path) else {
        return asked_page(404, &format!("No page at {path}."), "/", "All applications");
    };
    let attempts: Vec<AttemptInfo> = catalog.attempts_of(&target.app_id);
    let Some(attempt) = pick_attempt(&attempts, target.attempt_id.as_deref()) else {
        let what = match (&target.attempt_id, attempts.is_empty()) {
            (_, true) => format!("No application {} is known to this History Server.", target.app_id),
            (Some(a), false) => format!("Application {} has no attempt {a}.", target.app_id),
            (None, false) => format!("Application {} has attempts; name one.", target.app_id),
        };
        return asked_page(404, &what, "/", "All applications");
    };
    let Some(detail) = catalog.detail(&attempt.app_id, attempt.attempt_id.as_deref()) else {
        let why = catalog.why_unreadable(&attempt.app_id, attempt.attempt_id.as_deref()).unwrap_or_default();
        let what = format!("The event log of {} cannot be read now. {why}", attempt.app_id);
        return asked_page(404, what.trim_end(), "/", "All applications");
    };
    let view = AppView {
        facts: facts(&attempt.app_id, attempt.attempt_id.as_deref()),
        attempt: attempt.clone(),
        detail,
        catalog,
    };
    let params = Params::parse(query);
    let page = match &target.route {
        Some(route) => render(&view, route, &params),
        None => view.asked(404, &format!("No page at {path}: the pages are {}.", tab_list())),
    };
    Html { status: page.status, body: shell(&view, &page) }
}

fn tab_list() -> String {
    Tab::ALL.iter().map(|t| format!("{}/", t.segment())).collect::<Vec<_>>().join(", ")
}

/// The asked attempt; without one, the attempt without an id, else the newest.
fn pick_attempt<'a>(attempts: &'a [AttemptInfo], asked: Option<&str>) -> Option<&'a AttemptInfo> {
    match asked {
        Some(id) => attempts.iter().find(|a| a.attempt_id.as_deref() == Some(id)),
        None => attempts.iter().find(|a| a.attempt_id.is_none()).or_else(|| attempts.iter().max_by_key(|a| a.start_ms)),
    }
}

/// One page of the application.
pub fn render(view: &AppView, route: &Route, params: &Params) -> Page {
    let result = match route {
        Route::Jobs => jobs::jobs_page(view, params),
        Route::Job => params.required_int("id", view).and_then(|id| jobs::job_page(view, id)),
        Route::Stages => stages::stages_page(view, params),
        Route::Stage => stages::stage_page(view, params),
        Route::Storage => environment::storage_page(view),
        Route::Rdd => params.required_int("id", view).and_then(|id| environment::rdd_page(view, id)),
        Route::Environment => environment::environment_page(view),
        Route::Executors => executors::executors_page(view),
        Route::Sql => Ok(sql::executions_page(view, params)),
        Route::SqlExecution => params.required_int("id", view).map(|id| sql::execution_page(view, id, params)),
    };
    result.unwrap_or_else(|page| page)
}

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod pages_tests;
#[cfg(test)]
mod value_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_log_urls_become_links() {
        assert_eq!(
            log_link("stdout", "http://node:8042/logs?a=1&b=2"),
            "<a href=\"http://node:8042/logs?a=1&amp;b=2\">stdout</a>"
        );
        assert!(log_link("stderr", "HTTPS://node/x").starts_with("<a href="));
        for hostile in ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>x</script>", "//evil/x"]
        {
            let shown = log_link("stdout", hostile);
            assert!(!shown.contains("<a ") && !shown.contains("<script>"), "{hostile}: {shown}");
        }
        let logs = serde_json::json!({"stdout": "http://n/out", "stderr": "javascript:x", "n": 3});
        let links = log_links(Some(&logs));
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(links.iter().filter(|l| l.starts_with("<a ")).count(), 1, "{links:?}");
    }

    #[test]
    fn spark_paths_name_their_pages_with_and_without_an_attempt() {
        let cases = [
            ("/history/app-1/jobs/", None, Some(Route::Jobs)),
            ("/history/app-1/", None, Some(Route::Jobs)),
            ("/history/app-1/2/jobs/job/", Some("2"), Some(Route::Job)),
            ("/history/app-1/stages/stage/", None, Some(Route::Stage)),
            ("/history/app-1/storage/rdd", None, Some(Route::Rdd)),
            ("/history/app-1/1/environment/", Some("1"), Some(Route::Environment)),
            ("/history/app-1/executors/", None, Some(Route::Executors)),
            ("/history/app-1/SQL/", None, Some(Route::Sql)),
            ("/history/app-1/SQL/execution/", None, Some(Route::SqlExecution)),
            ("/history/app-1/jobs/nothing/", None, None),
        ];
        for (path, attempt, route) in cases {
            let target = parse_path(path).expect(path);
            assert_eq!(
                (target.app_id.as_str(), target.attempt_id.as_deref(), target.route),
                ("app-1", attempt, route),
                "{path}"
            );
        }
        assert_eq!(parse_path("/history/"), None);
        assert_eq!(parse_path("/api/v1/applications"), None);
        assert_eq!(parse_path("/history/app%2F1/jobs/").map(|t| t.app_id), Some("app/1".to_owned()));
    }

    #[test]
    fn links_encode_the_ids_and_numbers_read_as_spark_shows_them() {
        assert_eq!(base_link("app 1", Some("2"), "jobs/"), "/history/app%201/2/jobs/");
        assert_eq!(
            base_link("app-1", None, "stages/stage/?id=1&attempt=0"),
            "/history/app%2D1/stages/stage/?id=1&attempt=0"
        );
        assert_eq!([bytes(100), bytes(2048), bytes(3 << 30)], ["100.0 B", "2.0 KiB", "3.0 GiB"]);
        assert_eq!(
            [duration(42), duration(450), duration(5_400), duration(2_500), duration(600_000), duration(7_200_000)],
            ["42 ms", "0.5 s", "5 s", "3 s", "10 min", "2.0 h"]
        );
        assert_eq!(date(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(num(2048, "2.0 KiB"), "<td class=\"n\" data-v=\"2048\">2.0 KiB</td>");
    }

    #[test]
    fn the_shell_escapes_hostile_names_and_carries_no_external_reference() {
        let app = fixture::app_named("<script>alert(1)</script>");
        let html = respond(&app, &fixture::facts, "/history/app-1/SQL/", "");
        assert!(!html.body.contains("<script>alert(1)"), "{}", html.body);
        assert!(html.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", html.body);
        for external in ["http://", "https://", "//fonts", "@import", "<link"] {
            assert!(!html.body.contains(external), "{external} in the page");
        }
        assert!(html.body.contains("prefers-color-scheme:dark"));
        assert!(html.body.contains("<a class=\"skip\" href=\"#main\">"));
        assert!(html.body.contains("href=\"/history/app%2D1/SQL/\" aria-current=\"page\">SQL"), "{}", html.body);
    }

    #[test]
    fn every_tab_heads_with_the_listings_outcome_team_and_cost() {
        let app = fixture::app_named("etl");
        for tab in ["jobs/", "stages/", "executors/", "SQL/", "environment/", "storage/"] {
            let html = respond(&app, &fixture::facts, &format!("/history/app-1/{tab}"), "");
            assert!(
                html.body.contains(
                    "<span class=\"failed\">failed</span><span>team &lt;b&gt;data&lt;/b&gt;</span><span>cost $0.1250</span>"
                ),
                "{tab}: {}",
                html.body
            );
        }
        let unknown = |_: &str, _: Option<&str>| None;
        let html = respond(&app, &unknown, "/history/app-1/jobs/", "");
        assert!(!html.body.contains("<span>team ") && !html.body.contains("<span>cost $"), "{}", html.body);
    }

    #[test]
    fn an_unknown_application_or_attempt_says_what_was_asked_and_links_back() {
        let app = fixture::app_named("a");
        let html = respond(&app, &fixture::facts, "/history/app-9/jobs/", "");
        assert_eq!(html.status, 404);
        assert!(html.body.contains("No application app-9 is known to this History Server."), "{}", html.body);
        assert!(html.body.contains("<a href=\"/\">All applications</a>"), "{}", html.body);
        let html = respond(&app, &fixture::facts, "/history/app-1/7/jobs/", "");
        assert_eq!(html.status, 404);
        assert!(html.body.contains("Application app-1 has no attempt 7."), "{}", html.body);
        let html = respond(&app, &fixture::facts, "/history/app-1/jobs/elsewhere/", "");
        assert_eq!(html.status, 404);
        assert!(html.body.contains("No page at /history/app-1/jobs/elsewhere/"), "{}", html.body);
        assert!(html.body.contains("href=\"/history/app%2D1/jobs/\">Back to the jobs of app-1"), "{}", html.body);
    }
}
