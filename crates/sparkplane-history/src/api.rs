//! Spark's History Server REST API (`/api/v1`), as a pure function from a
//! request (path and query) to a response (status, content type, body).
//!
//! Owns: routing, parameters and their defaults (`status`, `minDate`,
//! `maxDate`, `minEndDate`, `maxEndDate`, `limit`, `details`, `quantiles`,
//! `offset`, `length`, `sortBy`), the JSON shapes with Spark's field names,
//! nesting and order, sorting as Spark sorts, Spark's 404 and 400 texts, and
//! which attempts' logs `logs` zips (a [`Download`]; the server streams it).
//!
//! Must not: do I/O, read the clock (the catalog says what time it is), or
//! compute application figures itself beyond shaping them: listing data comes
//! from the catalog (built from `sparkplane_eventlog`'s `AppSummary`), detail
//! from [`crate::replay`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::replay::{
    Accumulable, AppDetail, EXECUTOR_METRIC_NAMES, Executor, ExecutorStageSummary, Job, Metrics, PeakMetrics, Stage,
    StoredRdd, Task,
};
use crate::tasks::TaskHead;
use crate::time::{format_gmt, parse_date, write_gmt};

/// The Spark version whose REST API these answers follow (reported by `/version`).
pub const SPARK_API_VERSION: &str = "4.1.0";

/// One application attempt in the listing (also the record the persisted
/// index keeps of it, `persist::StoredEntry`, in its serde form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptInfo {
    pub app_id: String,
    pub attempt_id: Option<String>,
    pub name: String,
    pub start_ms: i64,
    /// -1 while the application runs, as Spark writes it.
    pub end_ms: i64,
    pub last_updated_ms: i64,
    pub user: String,
    pub completed: bool,
    pub spark_version: String,
}

impl AttemptInfo {
    /// The attempt, borrowed.
    pub fn view(&self) -> AttemptView<'_> {
        AttemptView {
            app_id: &self.app_id,
            attempt_id: self.attempt_id.as_deref(),
            name: &self.name,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            last_updated_ms: self.last_updated_ms,
            user: &self.user,
            completed: self.completed,
            spark_version: &self.spark_version,
        }
    }
}

/// One application attempt in the listing, borrowed from where it is kept
/// (what the application list is written from: [`AttemptSnapshot`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttemptView<'a> {
    pub app_id: &'a str,
    pub attempt_id: Option<&'a str>,
    pub name: &'a str,
    pub start_ms: i64,
    /// -1 while the application runs, as Spark writes it.
    pub end_ms: i64,
    pub last_updated_ms: i64,
    pub user: &'a str,
    pub completed: bool,
    pub spark_version: &'a str,
}

impl AttemptView<'_> {
    /// The attempt, owned.
    pub fn to_info(&self) -> AttemptInfo {
        AttemptInfo {
            app_id: self.app_id.to_owned(),
            attempt_id: self.attempt_id.map(str::to_owned),
            name: self.name.to_owned(),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            last_updated_ms: self.last_updated_ms,
            user: self.user.to_owned(),
            completed: self.completed,
            spark_version: self.spark_version.to_owned(),
        }
    }
}

/// Every application attempt at one moment, shared with whoever keeps them:
/// the application list reads it while it is sent, so a list of 100,000
/// applications does not copy them.
pub trait AttemptSnapshot: Send + Sync {
    /// How many attempts there are.
    fn len(&self) -> usize;
    /// The `at`th attempt (`at < len()`).
    fn attempt(&self, at: usize) -> AttemptView<'_>;
    /// True when there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AttemptSnapshot for Vec<AttemptInfo> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn attempt(&self, at: usize) -> AttemptView<'_> {
        self[at].view()
    }
}

/// Where the API reads applications from.
pub trait Catalog {
    /// Every application attempt known now.
    fn attempts(&self) -> Vec<AttemptInfo>;
    /// Every application attempt known now, shared (what the application
    /// list is written from). A catalog that keeps many answers this without
    /// copying them; by default, a copy of [`Catalog::attempts`].
    fn snapshot(&self) -> Arc<dyn AttemptSnapshot> {
        Arc::new(self.attempts())
    }
    /// The attempts of one application (a catalog of many applications
    /// answers this without copying the others).
    fn attempts_of(&self, app_id: &str) -> Vec<AttemptInfo> {
        self.attempts().into_iter().filter(|a| a.app_id == app_id).collect()
    }
    /// One attempt's detail, replayed (or cached) on demand; `None` when it cannot be read.
    fn detail(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Arc<AppDetail>>;
    /// The current time, epoch milliseconds (for running applications' end-date filters).
    fn now_ms(&self) -> i64;
    /// Why a listed attempt's [`Catalog::detail`] was `None` (its log deleted
    /// or unreadable since it was listed), for the 404's text; `None` when it was not listed.
    fn why_unreadable(&self, _app_id: &str, _attempt_id: Option<&str>) -> Option<String> {
        None
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Set for `logs`: the body is the zip of these logs, which the server streams.
    pub download: Option<Download>,
}

/// Spark's `logs` answer: a zip of one application's logs, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// `eventLogs-{app}.zip`, or `eventLogs-{app}-{attempt}.zip` for one attempt.
    pub file_name: String,
    pub app_id: String,
    /// The attempts whose logs go in, newest first as Spark lists them.
    pub attempts: Vec<Option<String>>,
}

/// The content type of `logs` (Spark's `MediaType.APPLICATION_OCTET_STREAM`).
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Spark's text when a log cannot be read for `logs` (status 503).
pub fn logs_unavailable(app_id: &str) -> Response {
    Response {
        status: 503,
        content_type: TEXT,
        body: format!("Event logs are not available for app: {app_id}."),
        download: None,
    }
}

/// The content type of the JSON answers.
pub const JSON: &str = "application/json";
const TEXT: &str = "text/plain;charset=utf-8";

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string_pretty(value) {
        Ok(body) => Response { status: 200, content_type: JSON, body, download: None },
        Err(e) => {
            Response { status: 500, content_type: TEXT, body: format!("cannot encode the answer: {e}"), download: None }
        }
    }
}

fn not_found(message: String) -> Response {
    Response { status: 404, content_type: TEXT, body: message, download: None }
}

fn bad_request(message: String) -> Response {
    Response { status: 400, content_type: TEXT, body: message, download: None }
}

/// A query value Spark's REST layer (Jersey) cannot convert to the parameter's
/// type (an enum value it does not know, an `int` that is not one): Spark
/// answers 404 there, not 400, with its web server's HTML error page, of
/// which only the status is kept here.
fn unconvertible() -> Response {
    not_found("Not Found".to_owned())
}

fn bad_parameter(param: &str, expected: &str, actual: &str) -> Response {
    bad_request(format!("Bad value for parameter \"{param}\".  Expected a {expected}, got \"{actual}\""))
}

/// Query parameters, repeated ones kept in order.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Query {
        Query(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }
    fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    /// A Java `int` parameter; anything else is the 404 Spark's REST layer answers.
    fn int(&self, key: &str, default: i64) -> Result<i64, Response> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<i32>().map(i64::from).map_err(|_| unconvertible()),
        }
    }
    fn date(&self, key: &str, default: i64) -> Result<i64, Response> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_date(v).ok_or_else(|| bad_request(format!("Couldn't parse date: {v}"))),
        }
    }
    /// Enum values, case-insensitive, as Spark's `EnumUtil.parseIgnoreCase`.
    fn statuses(&self, key: &str, allowed: &[&'static str]) -> Result<Vec<&'static str>, Response> {
        let mut out = Vec::new();
        for value in self.all(key) {
            match allowed.iter().find(|a| a.eq_ignore_ascii_case(value)) {
                Some(a) => out.push(*a),
                None => return Err(unconvertible()),
            }
        }
        Ok(out)
    }
}

/// Answers `GET path?query`; `path` starts with `/api/v1/`.
pub fn respond(catalog: &dyn Catalog, path: &str, query: &str) -> Response {
    let query = Query::parse(query);
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return not_found(format!("not found: {path}"));
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["version"] => json(&serde_json::json!({ "spark": SPARK_API_VERSION })),
        ["applications"] => application_list(catalog, &query).unwrap_or_else(|r| r),
        ["applications", app] => one_application(catalog, app),
        ["applications", app, rest @ ..] => {
            let (attempt, resource) = match rest.first() {
                Some(r) if RESOURCES.contains(r) => (None, rest),
                Some(attempt) => (Some(*attempt), &rest[1..]),
                None => (None, rest),
            };
            if let (Some(attempt), []) = (attempt, resource) {
                return one_attempt(catalog, app, attempt);
            }
            if resource == ["logs"] {
                return event_logs(catalog, app, attempt);
            }
            app_resource(catalog, path, app, attempt, resource, &query).unwrap_or_else(|r| r)
        }
        _ => not_found(format!("not found: {path}")),
    }
}

const RESOURCES: &[&str] =
    &["jobs", "stages", "executors", "allexecutors", "allmiscellaneousprocess", "environment", "storage", "logs"];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttemptJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt_id: Option<String>,
    start_time: String,
    end_time: String,
    last_updated: String,
    duration: i64,
    spark_user: String,
    completed: bool,
    app_spark_version: String,
    start_time_epoch: i64,
    end_time_epoch: i64,
    last_updated_epoch: i64,
}

#[derive(Serialize)]
struct AppJson {
    id: String,
    name: String,
    attempts: Vec<AttemptJson>,
}

/// Attempts in Spark's order within an application: newest first (by start time).
fn newest_first(a: &AttemptInfo, b: &AttemptInfo) -> std::cmp::Ordering {
    newest_first_view(&a.view(), &b.view())
}

fn newest_first_view(a: &AttemptView<'_>, b: &AttemptView<'_>) -> std::cmp::Ordering {
    b.start_ms.cmp(&a.start_ms).then_with(|| b.attempt_id.cmp(&a.attempt_id))
}

/// Every application with its attempts as Spark lists them: attempts newest
/// first, applications by their latest attempt's end time, latest first
/// (running ones, -1, last), then by id descending. The attempts are the
/// catalog's snapshot, read where they are kept: the list holds their order
/// and the applications as ranges of it, four and eight bytes each.
pub struct ApplicationList {
    all: Arc<dyn AttemptSnapshot>,
    /// Indices into `all`: by application id, each application's attempts newest first.
    order: Vec<u32>,
    /// (start, length) of each application's attempts in `order`, in listing order.
    apps: Vec<(u32, u32)>,
}

/// What the list's order is decided by, of one attempt.
struct ListKey<'a> {
    app_id: &'a str,
    start_ms: i64,
    end_ms: i64,
}

impl<'a> ListKey<'a> {
    fn of(view: AttemptView<'a>) -> ListKey<'a> {
        ListKey { app_id: view.app_id, start_ms: view.start_ms, end_ms: view.end_ms }
    }
}

/// One application's attempts in a list, newest first.
#[derive(Clone, Copy)]
struct AppAttempts<'a> {
    all: &'a dyn AttemptSnapshot,
    at: &'a [u32],
}

impl<'a> AppAttempts<'a> {
    fn iter(&self) -> impl Iterator<Item = AttemptView<'a>> + 'a {
        let all = self.all;
        self.at.iter().map(move |i| all.attempt(*i as usize))
    }
}

impl ApplicationList {
    fn of(all: Arc<dyn AttemptSnapshot>) -> ApplicationList {
        let n = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let mut order: Vec<u32> = (0..n).collect();
        let mut apps: Vec<(u32, u32)> = Vec::new();
        {
            // Each attempt's sort key, read once (32 bytes each): reading an attempt reads its record's texts,
            // which the sorts' comparisons did twice each, a cache miss apiece (ADR 0016, eleventh addendum).
            let keys: Vec<ListKey<'_>> = (0..n as usize).map(|i| ListKey::of(all.attempt(i))).collect();
            let key = |i: &u32| &keys[*i as usize];
            order.sort_by(|a, b| {
                let (ka, kb) = (key(a), key(b));
                ka.app_id.cmp(kb.app_id).then_with(|| kb.start_ms.cmp(&ka.start_ms)).then_with(|| {
                    // The same application started twice at one moment: its attempt ids decide, as Spark's do.
                    newest_first_view(&all.attempt(*a as usize), &all.attempt(*b as usize))
                })
            });
            let mut last_id: Option<&str> = None;
            for (at, i) in order.iter().enumerate() {
                let id = key(i).app_id;
                match apps.last_mut() {
                    Some((_, len)) if last_id == Some(id) => *len += 1,
                    _ => apps.push((at as u32, 1)),
                }
                last_id = Some(id);
            }
            let first = |(start, _): &(u32, u32)| key(&order[*start as usize]);
            apps.sort_by(|a, b| {
                let (a, b) = (first(a), first(b));
                b.end_ms.cmp(&a.end_ms).then_with(|| b.app_id.cmp(a.app_id))
            });
        }
        ApplicationList { all, order, apps }
    }

    fn app(&self, (start, len): (u32, u32)) -> AppAttempts<'_> {
        AppAttempts { all: self.all.as_ref(), at: &self.order[start as usize..(start + len) as usize] }
    }

    /// Keeps the applications `keep` accepts, the first `limit` of them.
    fn filter(&mut self, limit: usize, keep: impl Fn(AppAttempts<'_>) -> bool) {
        let apps = std::mem::take(&mut self.apps);
        self.apps = apps.into_iter().filter(|range| keep(self.app(*range))).take(limit).collect();
    }

    /// How many applications are listed.
    pub fn len(&self) -> usize {
        self.apps.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    /// The answer's JSON, as `serde_json::to_string_pretty` writes a list of them.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut reader = self.reader();
        // Reading from memory cannot fail.
        let _ = std::io::Read::read_to_end(&mut reader, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The answer's JSON, written as it is read: a list of a hundred
    /// thousand applications is never held whole as text.
    pub fn reader(&self) -> ListReader<'_> {
        ListReader { list: self, next: 0, buffer: Vec::new(), at: 0, ended: false }
    }

    /// As [`ApplicationList::reader`], owning the list (for a body streamed from another thread).
    pub fn into_reader(self) -> impl std::io::Read + Send {
        OwnedListReader { list: self, next: 0, buffer: Vec::new(), at: 0, ended: false }
    }
}

/// Writes the applications of a list as JSON, a few at a time.
pub struct ListReader<'a> {
    list: &'a ApplicationList,
    next: usize,
    buffer: Vec<u8>,
    at: usize,
    ended: bool,
}

struct OwnedListReader {
    list: ApplicationList,
    next: usize,
    buffer: Vec<u8>,
    at: usize,
    ended: bool,
}

/// Bytes of JSON written at a time.
const LIST_CHUNK: usize = 64 << 10;

/// Fills `buffer` with the next applications of `list` from `next` (the
/// whole list as `to_string_pretty` writes it, element by element: each at
/// one level of indentation, separated by `,\n`); false when nothing is left.
fn fill_list(list: &ApplicationList, next: &mut usize, buffer: &mut Vec<u8>, ended: &mut bool) -> bool {
    buffer.clear();
    if *ended {
        return false;
    }
    if list.apps.is_empty() {
        buffer.extend_from_slice(b"[]");
        *ended = true;
        return true;
    }
    while buffer.len() < LIST_CHUNK && *next < list.apps.len() {
        buffer.extend_from_slice(if *next == 0 { b"[\n  " } else { b",\n  " });
        write_app_element(buffer, list.app(list.apps[*next]));
        *next += 1;
    }
    if *next == list.apps.len() {
        buffer.extend_from_slice(b"\n]");
        *ended = true;
    }
    true
}

/// Appends one application of the list as `to_string_pretty` writes it as an
/// element of the list (`app_json`'s fields, one level of indentation in),
/// without building it first: a list of 100,000 applications writes 1.1
/// million fields. Texts are escaped by serde_json, as there.
fn write_app_element(out: &mut Vec<u8>, attempts: AppAttempts<'_>) {
    use std::io::Write;
    let text = |out: &mut Vec<u8>, value: &str| {
        // Writing to memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    };
    // Each attempt read once (reading one reads its record's texts).
    let mut each = attempts.iter();
    let Some(first) = each.next() else {
        return;
    };
    out.extend_from_slice(b"{\n    \"id\": ");
    text(out, first.app_id);
    out.extend_from_slice(b",\n    \"name\": ");
    text(out, first.name);
    out.extend_from_slice(b",\n    \"attempts\": [");
    let mut date = String::with_capacity(26);
    // Integers written as serde_json writes them (itoa), without the formatting machinery.
    let mut digits = itoa::Buffer::new();
    for (n, a) in std::iter::once(first).chain(each).enumerate() {
        out.extend_from_slice(if n == 0 { b"\n      {" } else { b",\n      {" });
        if let Some(attempt_id) = a.attempt_id {
            out.extend_from_slice(b"\n        \"attemptId\": ");
            text(out, attempt_id);
            out.push(b',');
        }
        for (n, (key, epoch_ms)) in
            [("startTime", a.start_ms), ("endTime", a.end_ms), ("lastUpdated", a.last_updated_ms)]
                .into_iter()
                .enumerate()
        {
            date.clear();
            write_gmt(&mut date, epoch_ms);
            let _ = write!(out, "{}\n        \"{key}\": ", if n == 0 { "" } else { "," });
            text(out, &date);
        }
        let duration = if a.completed { (a.end_ms - a.start_ms).max(0) } else { 0 };
        out.extend_from_slice(b",\n        \"duration\": ");
        out.extend_from_slice(digits.format(duration).as_bytes());
        out.extend_from_slice(b",\n        \"sparkUser\": ");
        text(out, a.user);
        out.extend_from_slice(if a.completed {
            b",\n        \"completed\": true"
        } else {
            b",\n        \"completed\": false"
        });
        out.extend_from_slice(b",\n        \"appSparkVersion\": ");
        text(out, a.spark_version);
        for (key, epoch_ms) in [
            (&b",\n        \"startTimeEpoch\": "[..], a.start_ms),
            (b",\n        \"endTimeEpoch\": ", a.end_ms),
            (b",\n        \"lastUpdatedEpoch\": ", a.last_updated_ms),
        ] {
            out.extend_from_slice(key);
            out.extend_from_slice(digits.format(epoch_ms).as_bytes());
        }
        out.extend_from_slice(b"\n      }");
    }
    out.extend_from_slice(b"\n    ]\n  }");
}

fn read_list(
    list: &ApplicationList,
    state: (&mut usize, &mut Vec<u8>, &mut usize, &mut bool),
    out: &mut [u8],
) -> usize {
    let (next, buffer, at, ended) = state;
    if *at == buffer.len() {
        if !fill_list(list, next, buffer, ended) {
            return 0;
        }
        *at = 0;
    }
    let n = out.len().min(buffer.len() - *at);
    out[..n].copy_from_slice(&buffer[*at..*at + n]);
    *at += n;
    n
}

impl std::io::Read for ListReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        Ok(read_list(self.list, (&mut self.next, &mut self.buffer, &mut self.at, &mut self.ended), out))
    }
}

impl std::io::Read for OwnedListReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        Ok(read_list(&self.list, (&mut self.next, &mut self.buffer, &mut self.at, &mut self.ended), out))
    }
}

fn attempt_json(a: &AttemptInfo) -> AttemptJson {
    AttemptJson {
        attempt_id: a.attempt_id.clone(),
        start_time: format_gmt(a.start_ms),
        end_time: format_gmt(a.end_ms),
        last_updated: format_gmt(a.last_updated_ms),
        duration: if a.completed { (a.end_ms - a.start_ms).max(0) } else { 0 },
        spark_user: a.user.clone(),
        completed: a.completed,
        app_spark_version: a.spark_version.clone(),
        start_time_epoch: a.start_ms,
        end_time_epoch: a.end_ms,
        last_updated_epoch: a.last_updated_ms,
    }
}

fn app_json(id: &str, attempts: &[AttemptInfo]) -> AppJson {
    AppJson {
        id: id.to_owned(),
        name: attempts.first().map(|a| a.name.clone()).unwrap_or_default(),
        attempts: attempts.iter().map(attempt_json).collect(),
    }
}

fn application_list(catalog: &dyn Catalog, query: &Query) -> Result<Response, Response> {
    let list = list_applications(catalog, query)?;
    Ok(Response { status: 200, content_type: JSON, body: list.to_json(), download: None })
}

/// `applications` as the list to stream (the server writes it as it sends
/// it); Spark's 400 or 404 for a bad parameter.
pub fn application_list_of(catalog: &dyn Catalog, query: &str) -> Result<ApplicationList, Response> {
    list_applications(catalog, &Query::parse(query))
}

fn list_applications(catalog: &dyn Catalog, query: &Query) -> Result<ApplicationList, Response> {
    let statuses = query.statuses("status", &["COMPLETED", "RUNNING"])?;
    let min_date = query.date("minDate", parse_date("2010-01-01").unwrap_or(0))?;
    let max_date = query.date("maxDate", parse_date("3000-01-01").unwrap_or(i64::MAX))?;
    let min_end = query.date("minEndDate", parse_date("2010-01-01").unwrap_or(0))?;
    let max_end = query.date("maxEndDate", parse_date("3000-01-01").unwrap_or(i64::MAX))?;
    let limit = query.int("limit", i64::from(i32::MAX))?;
    let include_completed = statuses.is_empty() || statuses.contains(&"COMPLETED");
    let include_running = statuses.is_empty() || statuses.contains(&"RUNNING");
    let now = catalog.now_ms();
    let mut list = ApplicationList::of(catalog.snapshot());
    list.filter(usize::try_from(limit.max(0)).unwrap_or(usize::MAX), |attempts| {
        // Each attempt read once (reading one reads its record's texts).
        let mut each = attempts.iter();
        let first = each.next();
        let any_running = first.is_none_or(|a| !a.completed);
        let status_ok = (!any_running && include_completed) || (any_running && include_running);
        status_ok
            && first.into_iter().chain(each).any(|a| {
                let start_ok = a.start_ms >= min_date && a.start_ms <= max_date;
                let end_ok = if any_running { max_end > now } else { a.end_ms >= min_end && a.end_ms <= max_end };
                start_ok && end_ok
            })
    });
    Ok(list)
}

/// `applications/{app}/{attempt}`: that attempt alone, as Spark's `ApplicationAttemptInfo`.
fn one_attempt(catalog: &dyn Catalog, app: &str, attempt: &str) -> Response {
    let found = catalog.attempts_of(app).into_iter().find(|a| a.attempt_id.as_deref() == Some(attempt));
    match found {
        Some(a) => json(&attempt_json(&a)),
        None => not_found(format!("unknown app {app}, attempt {attempt}")),
    }
}

/// One application's attempts, newest first; `None` when it is not listed.
fn attempts_of(catalog: &dyn Catalog, app: &str) -> Option<Vec<AttemptInfo>> {
    let mut attempts = catalog.attempts_of(app);
    attempts.sort_by(newest_first);
    (!attempts.is_empty()).then_some(attempts)
}

fn one_application(catalog: &dyn Catalog, app: &str) -> Response {
    match attempts_of(catalog, app) {
        Some(attempts) => json(&app_json(app, &attempts)),
        None => not_found(format!("unknown app: {app}")),
    }
}

/// Spark's text for an application (or attempt) it has no UI for.
fn no_such_app(app: &str, attempt: Option<&str>) -> String {
    match attempt {
        Some(attempt) => format!("no such app: {app}/{attempt}"),
        None => format!("no such app: {app}"),
    }
}

/// `logs`: which attempts' logs Spark zips. Spark first checks the application
/// as its other resources do (an application listed only with attempt ids
/// passes when it has an attempt `1`), then takes the asked attempt, or every
/// attempt when none was asked.
fn event_logs(catalog: &dyn Catalog, app: &str, attempt: Option<&str>) -> Response {
    // Unknown without an attempt, Spark has retried with attempt 1 and names that.
    let Some(attempts) = attempts_of(catalog, app) else {
        return not_found(no_such_app(app, attempt.or(Some("1"))));
    };
    let has = |wanted: Option<&str>| attempts.iter().any(|a| a.attempt_id.as_deref() == wanted);
    match attempt {
        Some(_) if !has(attempt) => return not_found(no_such_app(app, attempt)),
        None if !has(None) && !has(Some("1")) => return not_found(no_such_app(app, Some("1"))),
        _ => {}
    }
    let chosen: Vec<Option<String>> = attempts
        .iter()
        .filter(|a| attempt.is_none() || a.attempt_id.as_deref() == attempt)
        .map(|a| a.attempt_id.clone())
        .collect();
    let file_name = match attempt {
        Some(attempt) => format!("eventLogs-{app}-{attempt}.zip"),
        None => format!("eventLogs-{app}.zip"),
    };
    Response {
        status: 200,
        content_type: OCTET_STREAM,
        body: String::new(),
        download: Some(Download { file_name, app_id: app.to_owned(), attempts: chosen }),
    }
}

fn app_resource(
    catalog: &dyn Catalog,
    path: &str,
    app: &str,
    attempt: Option<&str>,
    resource: &[&str],
    query: &Query,
) -> Result<Response, Response> {
    let known = catalog.attempts_of(app).into_iter().any(|a| a.attempt_id.as_deref() == attempt);
    let detail = known.then(|| catalog.detail(app, attempt)).flatten();
    let Some(detail) = detail else {
        // Spark's text; a listed log that could not be read says so after it.
        let mut message = no_such_app(app, attempt);
        if let Some(why) = known.then(|| catalog.why_unreadable(app, attempt)).flatten() {
            message.push_str(&format!(" ({why}; the next scan updates the list)"));
        }
        return Err(not_found(message));
    };
    let d = detail.as_ref();
    Ok(match resource {
        ["jobs"] => {
            let statuses = query.statuses("status", &["RUNNING", "SUCCEEDED", "FAILED", "UNKNOWN"])?;
            let jobs: Vec<JobJson> = d
                .jobs
                .values()
                .rev()
                .filter(|j| statuses.is_empty() || statuses.contains(&j.status))
                .map(job_json)
                .collect();
            json(&jobs)
        }
        ["jobs", id] => {
            // Not an `int`: Spark's route does not match, a 404 naming the path.
            let Ok(job_id) = id.parse::<i32>() else { return Err(not_found(path.to_owned())) };
            match d.jobs.get(&i64::from(job_id)) {
                Some(job) => json(&job_json(job)),
                None => not_found(format!("unknown job: {job_id}")),
            }
        }
        ["stages"] => {
            let statuses = query.statuses("status", &["ACTIVE", "COMPLETE", "PENDING", "SKIPPED", "FAILED"])?;
            let options = StageOptions::from_query(query, false)?;
            let stages: Vec<StageJson> = d
                .stages
                .values()
                .rev()
                .filter(|s| statuses.is_empty() || statuses.contains(&s.status))
                .map(|s| stage_json(s, d, &options))
                .collect();
            json(&stages)
        }
        ["stages", id, rest @ ..] => {
            let stage_id = id.parse::<i64>().map_err(|_| not_found(format!("unknown stage: {id}")))?;
            let attempts = d.stage_attempts(stage_id);
            if attempts.is_empty() {
                return Err(not_found(format!("unknown stage: {stage_id}")));
            }
            let options = StageOptions::from_query(query, true)?;
            match rest {
                [] => json(&attempts.iter().rev().map(|s| stage_json(s, d, &options)).collect::<Vec<_>>()),
                [attempt, tail @ ..] => {
                    let found = attempt.parse::<i64>().ok().and_then(|a| attempts.iter().find(|s| s.attempt_id == a));
                    let Some(stage) = found else {
                        let ids: Vec<String> = attempts.iter().map(|s| s.attempt_id.to_string()).collect();
                        return Err(not_found(format!(
                            "unknown attempt for stage {stage_id}.  Found attempts: [{}]",
                            ids.join(",")
                        )));
                    };
                    match tail {
                        [] => json(&stage_json(stage, d, &options)),
                        ["taskSummary"] => task_summary(stage, query)?,
                        ["taskList"] => task_list(stage, d, query)?,
                        _ => return Err(not_found(format!("not found: {}", resource.join("/")))),
                    }
                }
            }
        }
        // Active executors come newest id first (Spark reads its "active" index backwards).
        ["executors"] => json(
            &d.executors
                .values()
                .rev()
                .filter(|e| e.is_active)
                .map(|e| executor_json(e, d, catalog))
                .collect::<Vec<_>>(),
        ),
        ["allexecutors"] => json(&d.executors.values().map(|e| executor_json(e, d, catalog)).collect::<Vec<_>>()),
        ["allmiscellaneousprocess"] => json(&d.processes.values().map(process_json).collect::<Vec<_>>()),
        ["environment"] => json(&environment_json(d.environment.as_ref(), &d.resource_profiles)),
        // Spark lists the RDDs with cached partitions (known only from block updates).
        ["storage", "rdd"] => {
            json(&d.rdds.values().filter(|r| !r.partitions.is_empty()).map(|r| rdd_json(r, d)).collect::<Vec<_>>())
        }
        ["storage", "rdd", id] => {
            // Spark's route takes digits only; anything else is a 404 naming the path.
            let Some(rdd_id) = id.parse::<i32>().ok().filter(|_| id.bytes().all(|b| b.is_ascii_digit())) else {
                return Err(not_found(path.to_owned()));
            };
            match d.rdds.get(&i64::from(rdd_id)) {
                Some(rdd) => json(&rdd_json(rdd, d)),
                None => not_found(format!("no rdd found w/ id {rdd_id}")),
            }
        }
        _ => not_found(format!("not found: {}", resource.join("/"))),
    })
}

/// Spark's `RDDStorageInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RddJson {
    id: i64,
    name: String,
    num_partitions: i64,
    num_cached_partitions: i64,
    storage_level: String,
    memory_used: i64,
    disk_used: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_distribution: Option<Vec<DistributionJson>>,
    partitions: Vec<PartitionJson>,
}

/// Spark's `RDDDataDistribution`; the on-/off-heap figures only when the
/// block manager said its memory split.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DistributionJson {
    address: String,
    memory_used: i64,
    memory_remaining: i64,
    disk_used: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_heap_memory_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    off_heap_memory_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_heap_memory_remaining: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    off_heap_memory_remaining: Option<i64>,
}

/// Spark's `RDDPartitionInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartitionJson {
    block_name: String,
    storage_level: String,
    memory_used: i64,
    disk_used: i64,
    executors: Vec<String>,
}

fn rdd_json(rdd: &StoredRdd, d: &AppDetail) -> RddJson {
    let distributions: Vec<DistributionJson> = rdd
        .distributions
        .iter()
        .map(|(id, dist)| {
            let exec = d.executors.get(id);
            let storage = exec.map(|e| e.storage.clone()).unwrap_or_default();
            let split = storage.totals.is_some();
            let (remaining, on_heap_remaining, off_heap_remaining) = storage.remaining;
            DistributionJson {
                address: exec.map(|e| e.host_port.clone()).unwrap_or_default(),
                memory_used: dist.memory_used,
                memory_remaining: remaining,
                disk_used: dist.disk_used,
                on_heap_memory_used: split.then_some(dist.on_heap_used),
                off_heap_memory_used: split.then_some(dist.off_heap_used),
                on_heap_memory_remaining: split.then_some(on_heap_remaining),
                off_heap_memory_remaining: split.then_some(off_heap_remaining),
            }
        })
        .collect();
    RddJson {
        id: rdd.id,
        name: rdd.name.clone(),
        num_partitions: rdd.num_partitions,
        num_cached_partitions: rdd.partitions.len() as i64,
        storage_level: rdd.storage_level.clone(),
        memory_used: rdd.memory_used,
        disk_used: rdd.disk_used,
        data_distribution: (!distributions.is_empty()).then_some(distributions),
        partitions: rdd
            .partitions
            .iter()
            .map(|p| PartitionJson {
                block_name: p.block_name.clone(),
                storage_level: p.storage_level.clone(),
                memory_used: p.memory_used,
                disk_used: p.disk_used,
                executors: p.executors.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobJson {
    job_id: i64,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    submission_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_time: Option<String>,
    stage_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_group: Option<String>,
    job_tags: Vec<String>,
    status: &'static str,
    num_tasks: i64,
    num_active_tasks: i64,
    num_completed_tasks: i64,
    num_skipped_tasks: i64,
    num_failed_tasks: i64,
    num_killed_tasks: i64,
    num_completed_indices: i64,
    num_active_stages: i64,
    num_completed_stages: i64,
    num_skipped_stages: i64,
    num_failed_stages: i64,
    killed_tasks_summary: BTreeMap<String, i64>,
}

fn count<T>(set: &std::collections::BTreeSet<T>) -> i64 {
    i64::try_from(set.len()).unwrap_or(i64::MAX)
}

fn job_json(j: &Job) -> JobJson {
    JobJson {
        job_id: j.id,
        name: j.name.clone(),
        description: j.description.clone(),
        submission_time: j.submission_time.map(format_gmt),
        completion_time: j.completion_time.map(format_gmt),
        stage_ids: j.stage_ids.clone(),
        job_group: j.job_group.clone(),
        job_tags: j.tags.clone(),
        status: j.status,
        num_tasks: j.num_tasks,
        num_active_tasks: j.active_tasks,
        num_completed_tasks: j.completed_tasks,
        num_skipped_tasks: j.skipped_tasks,
        num_failed_tasks: j.failed_tasks,
        num_killed_tasks: j.killed_tasks,
        num_completed_indices: count(&j.completed_indices),
        num_active_stages: count(&j.active_stages),
        num_completed_stages: count(&j.completed_stages),
        num_skipped_stages: j.skipped_stages,
        num_failed_stages: j.failed_stages,
        killed_tasks_summary: j.killed_summary.clone(),
    }
}

struct StageOptions {
    details: bool,
    task_status: Vec<&'static str>,
    /// `withSummaries=true`: the quantiles (sorted) of the distributions to add.
    summaries: Option<Vec<f64>>,
}

impl StageOptions {
    /// `details` defaults to false for the stage list and to true for one stage, as in Spark.
    fn from_query(query: &Query, details_by_default: bool) -> Result<StageOptions, Response> {
        let details = if query.get("details").is_some() { query.flag("details") } else { details_by_default };
        let summaries = if query.flag("withSummaries") {
            let mut quantiles = parse_quantiles(query.get("quantiles").unwrap_or("0.0,0.25,0.5,0.75,1.0"))?;
            quantiles.sort_by(f64::total_cmp);
            Some(quantiles)
        } else {
            None
        };
        Ok(StageOptions { details, task_status: query.statuses("taskStatus", TASK_STATUSES)?, summaries })
    }
}

/// Spark's `quantiles` parameter: comma-separated numbers (any number; below 0
/// picks the least value, above 1 the greatest).
fn parse_quantiles(text: &str) -> Result<Vec<f64>, Response> {
    let mut quantiles = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<f64>() {
            Ok(q) if q.is_finite() => quantiles.push(q),
            _ => return Err(bad_parameter("quantiles", "double", part)),
        }
    }
    Ok(quantiles)
}

const TASK_STATUSES: &[&str] = &["RUNNING", "KILLED", "FAILED", "SUCCESS", "UNKNOWN"];

/// Peak executor metrics by name, in Spark's order.
struct OrderedMetrics(PeakMetrics);

impl Serialize for OrderedMetrics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(EXECUTOR_METRIC_NAMES.len()))?;
        for (k, v) in EXECUTOR_METRIC_NAMES.iter().zip(self.0.0) {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

/// Spark's `AccumulableInfo` (`update` only for a task's).
#[derive(Serialize)]
struct AccumulableJson {
    id: i64,
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update: Option<String>,
    value: Option<String>,
}

fn accumulable_json(a: &Accumulable) -> AccumulableJson {
    AccumulableJson { id: a.id, name: a.name.clone(), update: a.update.clone(), value: a.value.clone() }
}

/// Spark's `ExecutorStageSummary`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutorStageSummaryJson {
    task_time: i64,
    failed_tasks: i64,
    succeeded_tasks: i64,
    killed_tasks: i64,
    input_bytes: i64,
    input_records: i64,
    output_bytes: i64,
    output_records: i64,
    shuffle_read: i64,
    shuffle_read_records: i64,
    shuffle_write: i64,
    shuffle_write_records: i64,
    memory_bytes_spilled: i64,
    disk_bytes_spilled: i64,
    is_blacklisted_for_stage: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory_metrics: Option<OrderedMetrics>,
    is_excluded_for_stage: bool,
}

fn executor_stage_summary_json(e: &ExecutorStageSummary) -> ExecutorStageSummaryJson {
    let m = &e.metrics;
    ExecutorStageSummaryJson {
        task_time: e.task_time,
        failed_tasks: e.failed_tasks,
        succeeded_tasks: e.succeeded_tasks,
        killed_tasks: e.killed_tasks,
        input_bytes: m.input_bytes,
        input_records: m.input_records,
        output_bytes: m.output_bytes,
        output_records: m.output_records,
        shuffle_read: m.shuffle_read_bytes(),
        shuffle_read_records: m.shuffle_records_read,
        shuffle_write: m.shuffle_bytes_written,
        shuffle_write_records: m.shuffle_records_written,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        is_blacklisted_for_stage: e.excluded,
        peak_memory_metrics: e.peak.map(OrderedMetrics),
        is_excluded_for_stage: e.excluded,
    }
}

/// Spark's `ExecutorMetricsDistributions` over a stage's executor summaries.
fn executor_metrics_distributions(stage: &Stage, quantiles: &[f64]) -> Option<Value> {
    let summaries: Vec<&ExecutorStageSummary> = stage.executor_summary.values().collect();
    if summaries.is_empty() {
        return None;
    }
    let pick = |f: &dyn Fn(&ExecutorStageSummary) -> i64| -> Vec<f64> {
        quantiles_of(summaries.iter().map(|s| f(s) as f64).collect(), quantiles)
    };
    // Spark's peak distributions are over the executors whose peaks are set.
    let set: Vec<PeakMetrics> = summaries.iter().filter_map(|s| s.peak).collect();
    let peaks: serde_json::Map<String, Value> = EXECUTOR_METRIC_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = quantiles_of(set.iter().map(|p| p.0[i] as f64).collect(), quantiles);
            ((*name).to_owned(), serde_json::json!(values))
        })
        .collect();
    Some(serde_json::json!({
        "quantiles": quantiles,
        "taskTime": pick(&|s| s.task_time),
        "failedTasks": pick(&|s| s.failed_tasks),
        "succeededTasks": pick(&|s| s.succeeded_tasks),
        "killedTasks": pick(&|s| s.killed_tasks),
        "inputBytes": pick(&|s| s.metrics.input_bytes),
        "inputRecords": pick(&|s| s.metrics.input_records),
        "outputBytes": pick(&|s| s.metrics.output_bytes),
        "outputRecords": pick(&|s| s.metrics.output_records),
        "shuffleRead": pick(&|s| s.metrics.shuffle_read_bytes()),
        "shuffleReadRecords": pick(&|s| s.metrics.shuffle_records_read),
        "shuffleWrite": pick(&|s| s.metrics.shuffle_bytes_written),
        "shuffleWriteRecords": pick(&|s| s.metrics.shuffle_records_written),
        "memoryBytesSpilled": pick(&|s| s.metrics.memory_bytes_spilled),
        "diskBytesSpilled": pick(&|s| s.metrics.disk_bytes_spilled),
        "peakMemoryMetrics": peaks,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StageJson {
    status: &'static str,
    stage_id: i64,
    attempt_id: i64,
    num_tasks: i64,
    num_active_tasks: i64,
    num_complete_tasks: i64,
    num_failed_tasks: i64,
    num_killed_tasks: i64,
    num_completed_indices: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    submission_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_task_launched_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    executor_deserialize_time: i64,
    executor_deserialize_cpu_time: i64,
    executor_run_time: i64,
    executor_cpu_time: i64,
    result_size: i64,
    jvm_gc_time: i64,
    result_serialization_time: i64,
    memory_bytes_spilled: i64,
    disk_bytes_spilled: i64,
    peak_execution_memory: i64,
    input_bytes: i64,
    input_records: i64,
    output_bytes: i64,
    output_records: i64,
    shuffle_remote_blocks_fetched: i64,
    shuffle_local_blocks_fetched: i64,
    shuffle_fetch_wait_time: i64,
    shuffle_remote_bytes_read: i64,
    shuffle_remote_bytes_read_to_disk: i64,
    shuffle_local_bytes_read: i64,
    shuffle_read_bytes: i64,
    shuffle_read_records: i64,
    shuffle_corrupt_merged_block_chunks: i64,
    shuffle_merged_fetch_fallback_count: i64,
    shuffle_merged_remote_blocks_fetched: i64,
    shuffle_merged_local_blocks_fetched: i64,
    shuffle_merged_remote_chunks_fetched: i64,
    shuffle_merged_local_chunks_fetched: i64,
    shuffle_merged_remote_bytes_read: i64,
    shuffle_merged_local_bytes_read: i64,
    shuffle_remote_reqs_duration: i64,
    shuffle_merged_remote_reqs_duration: i64,
    shuffle_write_bytes: i64,
    shuffle_write_time: i64,
    shuffle_write_records: i64,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    details: String,
    scheduling_pool: String,
    rdd_ids: Vec<i64>,
    accumulator_updates: Vec<AccumulableJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<BTreeMap<String, TaskJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    executor_summary: Option<BTreeMap<String, ExecutorStageSummaryJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speculation_summary: Option<Value>,
    killed_tasks_summary: BTreeMap<String, i64>,
    resource_profile_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_executor_metrics: Option<OrderedMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_metrics_distributions: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    executor_metrics_distributions: Option<Value>,
    is_shuffle_push_enabled: bool,
    shuffle_mergers_count: i64,
}

fn stage_json(s: &Stage, d: &AppDetail, options: &StageOptions) -> StageJson {
    let m = &s.metrics;
    let tasks = options.details.then(|| {
        s.tasks
            .tasks()
            .iter()
            .filter(|t| options.task_status.is_empty() || options.task_status.contains(&t.status))
            .map(|t| (t.task_id.to_string(), task_json(t, d)))
            .collect()
    });
    let executor_summary = options
        .details
        .then(|| s.executor_summary.iter().map(|(id, e)| (id.clone(), executor_stage_summary_json(e))).collect());
    let speculation_summary = s.speculation.filter(|_| options.details).map(|[tasks, active, done, failed, killed]| {
        serde_json::json!({
            "numTasks": tasks, "numActiveTasks": active, "numCompletedTasks": done,
            "numFailedTasks": failed, "numKilledTasks": killed,
        })
    });
    let (task_metrics_distributions, executor_metrics_distributions) = match &options.summaries {
        Some(quantiles) => (task_distributions(s, quantiles), executor_metrics_distributions(s, quantiles)),
        None => (None, None),
    };
    StageJson {
        status: s.status,
        stage_id: s.stage_id,
        attempt_id: s.attempt_id,
        num_tasks: s.num_tasks,
        num_active_tasks: s.active_tasks,
        num_complete_tasks: s.complete_tasks,
        num_failed_tasks: s.failed_tasks,
        num_killed_tasks: s.killed_tasks,
        num_completed_indices: count(&s.completed_indices),
        submission_time: s.submission_time.map(format_gmt),
        first_task_launched_time: s.first_task_launched_time.map(format_gmt),
        completion_time: s.completion_time.map(format_gmt),
        failure_reason: s.failure_reason.clone(),
        executor_deserialize_time: m.executor_deserialize_time,
        executor_deserialize_cpu_time: m.executor_deserialize_cpu_time,
        executor_run_time: m.executor_run_time,
        executor_cpu_time: m.executor_cpu_time,
        result_size: m.result_size,
        jvm_gc_time: m.jvm_gc_time,
        result_serialization_time: m.result_serialization_time,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        peak_execution_memory: m.peak_execution_memory,
        input_bytes: m.input_bytes,
        input_records: m.input_records,
        output_bytes: m.output_bytes,
        output_records: m.output_records,
        shuffle_remote_blocks_fetched: m.shuffle_remote_blocks_fetched,
        shuffle_local_blocks_fetched: m.shuffle_local_blocks_fetched,
        shuffle_fetch_wait_time: m.shuffle_fetch_wait_time,
        shuffle_remote_bytes_read: m.shuffle_remote_bytes_read,
        shuffle_remote_bytes_read_to_disk: m.shuffle_remote_bytes_read_to_disk,
        shuffle_local_bytes_read: m.shuffle_local_bytes_read,
        shuffle_read_bytes: m.shuffle_read_bytes(),
        shuffle_read_records: m.shuffle_records_read,
        shuffle_corrupt_merged_block_chunks: m.shuffle_corrupt_merged_block_chunks,
        shuffle_merged_fetch_fallback_count: m.shuffle_merged_fetch_fallback_count,
        shuffle_merged_remote_blocks_fetched: m.shuffle_merged_remote_blocks_fetched,
        shuffle_merged_local_blocks_fetched: m.shuffle_merged_local_blocks_fetched,
        shuffle_merged_remote_chunks_fetched: m.shuffle_merged_remote_chunks_fetched,
        shuffle_merged_local_chunks_fetched: m.shuffle_merged_local_chunks_fetched,
        shuffle_merged_remote_bytes_read: m.shuffle_merged_remote_bytes_read,
        shuffle_merged_local_bytes_read: m.shuffle_merged_local_bytes_read,
        shuffle_remote_reqs_duration: m.shuffle_remote_reqs_duration,
        shuffle_merged_remote_reqs_duration: m.shuffle_merged_remote_reqs_duration,
        shuffle_write_bytes: m.shuffle_bytes_written,
        shuffle_write_time: m.shuffle_write_time,
        shuffle_write_records: m.shuffle_records_written,
        name: s.name.clone(),
        description: s.description.clone(),
        details: s.details.clone(),
        scheduling_pool: s.scheduling_pool.clone(),
        rdd_ids: s.rdd_ids.clone(),
        accumulator_updates: s.accumulables.iter().map(accumulable_json).collect(),
        tasks,
        executor_summary,
        speculation_summary,
        killed_tasks_summary: s.killed_summary.clone(),
        resource_profile_id: s.resource_profile_id,
        peak_executor_metrics: s.peak.map(OrderedMetrics),
        task_metrics_distributions,
        executor_metrics_distributions,
        is_shuffle_push_enabled: false,
        shuffle_mergers_count: 0,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskJson {
    task_id: i64,
    index: i64,
    attempt: i64,
    partition_id: i64,
    launch_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    executor_id: String,
    host: String,
    status: &'static str,
    task_locality: String,
    speculative: bool,
    accumulator_updates: Vec<AccumulableJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_metrics: Option<TaskMetricsJson>,
    executor_logs: BTreeMap<String, String>,
    scheduler_delay: i64,
    getting_result_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskMetricsJson {
    executor_deserialize_time: i64,
    executor_deserialize_cpu_time: i64,
    executor_run_time: i64,
    executor_cpu_time: i64,
    result_size: i64,
    jvm_gc_time: i64,
    result_serialization_time: i64,
    memory_bytes_spilled: i64,
    disk_bytes_spilled: i64,
    peak_execution_memory: i64,
    input_metrics: Value,
    output_metrics: Value,
    shuffle_read_metrics: Value,
    shuffle_write_metrics: Value,
}

fn task_metrics_json(m: &Metrics) -> TaskMetricsJson {
    TaskMetricsJson {
        executor_deserialize_time: m.executor_deserialize_time,
        executor_deserialize_cpu_time: m.executor_deserialize_cpu_time,
        executor_run_time: m.executor_run_time,
        executor_cpu_time: m.executor_cpu_time,
        result_size: m.result_size,
        jvm_gc_time: m.jvm_gc_time,
        result_serialization_time: m.result_serialization_time,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        peak_execution_memory: m.peak_execution_memory,
        input_metrics: serde_json::json!({ "bytesRead": m.input_bytes, "recordsRead": m.input_records }),
        output_metrics: serde_json::json!({ "bytesWritten": m.output_bytes, "recordsWritten": m.output_records }),
        shuffle_read_metrics: serde_json::json!({
            "remoteBlocksFetched": m.shuffle_remote_blocks_fetched,
            "localBlocksFetched": m.shuffle_local_blocks_fetched,
            "fetchWaitTime": m.shuffle_fetch_wait_time,
            "remoteBytesRead": m.shuffle_remote_bytes_read,
            "remoteBytesReadToDisk": m.shuffle_remote_bytes_read_to_disk,
            "localBytesRead": m.shuffle_local_bytes_read,
            "recordsRead": m.shuffle_records_read,
            "remoteReqsDuration": m.shuffle_remote_reqs_duration,
            "shufflePushReadMetrics": {
                "corruptMergedBlockChunks": m.shuffle_corrupt_merged_block_chunks,
                "mergedFetchFallbackCount": m.shuffle_merged_fetch_fallback_count,
                "remoteMergedBlocksFetched": m.shuffle_merged_remote_blocks_fetched,
                "localMergedBlocksFetched": m.shuffle_merged_local_blocks_fetched,
                "remoteMergedChunksFetched": m.shuffle_merged_remote_chunks_fetched,
                "localMergedChunksFetched": m.shuffle_merged_local_chunks_fetched,
                "remoteMergedBytesRead": m.shuffle_merged_remote_bytes_read,
                "localMergedBytesRead": m.shuffle_merged_local_bytes_read,
                "remoteMergedReqsDuration": m.shuffle_merged_remote_reqs_duration,
            }
        }),
        shuffle_write_metrics: serde_json::json!({
            "bytesWritten": m.shuffle_bytes_written,
            "writeTime": m.shuffle_write_time,
            "recordsWritten": m.shuffle_records_written,
        }),
    }
}

/// Spark's scheduler delay: the part of a task's duration not spent deserialising,
/// running, serialising the result or fetching it.
fn scheduler_delay(t: &Task) -> i64 {
    t.metrics.as_ref().map_or(0, |m| scheduler_delay_of(&t.head(), m))
}

/// Spark's scheduler delay of an attempt that reported metrics: what its
/// run time leaves after deserialising, running, serialising the result
/// and fetching it.
fn scheduler_delay_of(t: &TaskHead, m: &Metrics) -> i64 {
    let Some(duration) = t.duration() else { return 0 };
    (duration - m.executor_deserialize_time - m.executor_run_time - m.result_serialization_time - fetching_time(t))
        .max(0)
}

/// Time spent fetching the result, as Spark's `gettingResultTime`.
fn fetching_time(t: &TaskHead) -> i64 {
    if t.getting_result_time > 0 { t.finish_time - t.getting_result_time } else { 0 }
}

fn task_json(t: &Task, d: &AppDetail) -> TaskJson {
    TaskJson {
        task_id: t.task_id,
        index: t.index,
        attempt: t.attempt,
        partition_id: t.partition_id,
        launch_time: format_gmt(t.launch_time),
        duration: t.duration_as_of(d.last_updated_ms),
        executor_id: t.executor_id.to_string(),
        host: t.host.to_string(),
        status: t.status,
        task_locality: t.locality.to_string(),
        speculative: t.speculative,
        accumulator_updates: t.accumulables.iter().map(accumulable_json).collect(),
        error_message: t.error_message.clone(),
        task_metrics: t.metrics.as_ref().map(task_metrics_json),
        executor_logs: d.executors.get(t.executor_id.as_str()).map(|e| e.logs.clone()).unwrap_or_default(),
        scheduler_delay: scheduler_delay(t),
        getting_result_time: if t.getting_result_time > 0 { t.finish_time - t.getting_result_time } else { 0 },
    }
}

/// One executor's figures in a stage attempt as the API's `executorSummary`
/// answers them, as JSON (the web UI's stage page shows these).
pub(crate) fn executor_stage_value(e: &ExecutorStageSummary) -> Value {
    serde_json::to_value(executor_stage_summary_json(e)).unwrap_or(Value::Null)
}

/// One task as the API's `taskList` answers it, as JSON (the web UI's task
/// table shows these rows, sorted and paged there).
pub(crate) fn task_value(t: &Task, d: &AppDetail) -> Value {
    serde_json::to_value(task_json(t, d)).unwrap_or(Value::Null)
}

fn task_list(stage: &Stage, d: &AppDetail, query: &Query) -> Result<Response, Response> {
    let offset = query.int("offset", 0)?;
    let length = query.int("length", 20)?;
    let statuses = query.statuses("status", TASK_STATUSES)?;
    // Case-insensitive, with Spark's short names `runtime` and `-runtime`.
    let sort = query.get("sortBy").unwrap_or("ID").to_ascii_uppercase();
    let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
    let take = usize::try_from(length.max(0)).unwrap_or(usize::MAX);
    let wanted = |status: &str| statuses.is_empty() || statuses.contains(&status);
    let ids: Vec<i64> = match sort.as_str() {
        // In id order, as the store holds them: picked from the records' heads.
        "ID" => {
            stage.tasks.heads().iter().filter(|h| wanted(h.status)).skip(skip).take(take).map(|h| h.task_id).collect()
        }
        // By run time, a metric: picked without the accumulator updates, which only the page's own tasks need.
        "INCREASING_RUNTIME" | "RUNTIME" | "DECREASING_RUNTIME" | "-RUNTIME" => {
            let all = stage.tasks.tasks_without_accumulables();
            let mut tasks: Vec<&Task> = all.iter().filter(|t| wanted(t.status)).collect();
            if sort.starts_with('D') || sort.starts_with('-') {
                // Spark reads its run-time index backwards: ties come highest task id first.
                tasks.sort_by_key(|t| std::cmp::Reverse((t.metrics.map_or(-1, |m| m.executor_run_time), t.task_id)))
            } else {
                tasks.sort_by_key(|t| (t.metrics.map_or(-1, |m| m.executor_run_time), t.task_id))
            }
            tasks.into_iter().skip(skip).take(take).map(|t| t.task_id).collect()
        }
        _ => return Err(unconvertible()),
    };
    let page: Vec<TaskJson> = stage.tasks.whole(&ids).iter().map(|t| task_json(t, d)).collect();
    Ok(json(&page))
}

/// Spark's quantile pick: the value at `min(q × count, count − 1)` of the sorted values.
///
/// Found by selection, not a sort: the positions asked for, in ascending
/// order, are each selected in what is left to the right of the previous one
/// (everything there is at least as large), which gives the sorted order's
/// values at those positions in linear time — a stage of 260,000 tasks asks
/// for five positions of some thirty metrics on every summary.
fn quantiles_of(mut values: Vec<f64>, quantiles: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return vec![0.0; quantiles.len()];
    }
    let index_of = |q: &f64| ((q * n as f64) as usize).min(n - 1);
    let mut positions: Vec<usize> = quantiles.iter().map(index_of).collect();
    positions.sort_unstable();
    positions.dedup();
    let mut start = 0;
    for &position in &positions {
        if position >= start {
            values[start..].select_nth_unstable_by(position - start, f64::total_cmp);
            start = position + 1;
        }
    }
    quantiles.iter().map(|q| values[index_of(q)]).collect()
}

fn task_summary(stage: &Stage, query: &Query) -> Result<Response, Response> {
    let quantiles = parse_quantiles(query.get("quantiles").unwrap_or("0.05,0.25,0.5,0.75,0.95"))?;
    // Made once per stage and quantiles until a task of the stage changes, as
    // Spark's status store keeps the quantiles it computed.
    let key = format!("taskSummary {quantiles:?}");
    match stage.tasks.derived(&key, || task_distributions(stage, &quantiles)).as_ref() {
        Some(body) => Ok(json(body)),
        None => Err(not_found(format!("No tasks reported metrics for {} / {} yet.", stage.stage_id, stage.attempt_id))),
    }
}

/// A figure of Spark's `TaskMetricDistributions`: its name and how it is read from a task.
type Figure = (&'static str, fn(&TaskHead, &Metrics) -> i64);

/// Every figure of the summary, in one table, so one pass over the tasks reads them all.
const FIGURES: [Figure; 38] = [
    ("duration", |t, _| t.duration().unwrap_or(0)),
    ("executorDeserializeTime", |_, m| m.executor_deserialize_time),
    ("executorDeserializeCpuTime", |_, m| m.executor_deserialize_cpu_time),
    ("executorRunTime", |_, m| m.executor_run_time),
    ("executorCpuTime", |_, m| m.executor_cpu_time),
    ("resultSize", |_, m| m.result_size),
    ("jvmGcTime", |_, m| m.jvm_gc_time),
    ("resultSerializationTime", |_, m| m.result_serialization_time),
    ("gettingResultTime", |t, _| fetching_time(t)),
    ("schedulerDelay", scheduler_delay_of),
    ("peakExecutionMemory", |_, m| m.peak_execution_memory),
    ("memoryBytesSpilled", |_, m| m.memory_bytes_spilled),
    ("diskBytesSpilled", |_, m| m.disk_bytes_spilled),
    ("bytesRead", |_, m| m.input_bytes),
    ("recordsRead", |_, m| m.input_records),
    ("bytesWritten", |_, m| m.output_bytes),
    ("recordsWritten", |_, m| m.output_records),
    ("readBytes", |_, m| m.shuffle_read_bytes()),
    ("readRecords", |_, m| m.shuffle_records_read),
    ("remoteBlocksFetched", |_, m| m.shuffle_remote_blocks_fetched),
    ("localBlocksFetched", |_, m| m.shuffle_local_blocks_fetched),
    ("fetchWaitTime", |_, m| m.shuffle_fetch_wait_time),
    ("remoteBytesRead", |_, m| m.shuffle_remote_bytes_read),
    ("remoteBytesReadToDisk", |_, m| m.shuffle_remote_bytes_read_to_disk),
    ("totalBlocksFetched", |_, m| m.shuffle_remote_blocks_fetched + m.shuffle_local_blocks_fetched),
    ("remoteReqsDuration", |_, m| m.shuffle_remote_reqs_duration),
    ("corruptMergedBlockChunks", |_, m| m.shuffle_corrupt_merged_block_chunks),
    ("mergedFetchFallbackCount", |_, m| m.shuffle_merged_fetch_fallback_count),
    ("remoteMergedBlocksFetched", |_, m| m.shuffle_merged_remote_blocks_fetched),
    ("localMergedBlocksFetched", |_, m| m.shuffle_merged_local_blocks_fetched),
    ("remoteMergedChunksFetched", |_, m| m.shuffle_merged_remote_chunks_fetched),
    ("localMergedChunksFetched", |_, m| m.shuffle_merged_local_chunks_fetched),
    ("remoteMergedBytesRead", |_, m| m.shuffle_merged_remote_bytes_read),
    ("localMergedBytesRead", |_, m| m.shuffle_merged_local_bytes_read),
    ("remoteMergedReqsDuration", |_, m| m.shuffle_merged_remote_reqs_duration),
    ("writeBytes", |_, m| m.shuffle_bytes_written),
    ("writeRecords", |_, m| m.shuffle_records_written),
    ("writeTime", |_, m| m.shuffle_write_time),
];

/// Spark's `TaskMetricDistributions` over the stage's successful tasks, if
/// any reported metrics: every figure's values gathered in one pass over
/// the records (no task materialised), then each figure's quantiles.
fn task_distributions(stage: &Stage, quantiles: &[f64]) -> Option<Value> {
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); FIGURES.len()];
    stage.tasks.each_with_metrics("SUCCESS", |t, m| {
        for (column, (_, figure)) in columns.iter_mut().zip(FIGURES.iter()) {
            column.push(figure(t, m) as f64);
        }
    });
    if columns[0].is_empty() {
        return None;
    }
    let mut q: BTreeMap<&str, Vec<f64>> =
        FIGURES.iter().zip(columns).map(|((name, _), values)| (*name, quantiles_of(values, quantiles))).collect();
    let mut take = |name: &str| q.remove(name).unwrap_or_default();
    let body = serde_json::json!({
        "quantiles": quantiles,
        "duration": take("duration"),
        "executorDeserializeTime": take("executorDeserializeTime"),
        "executorDeserializeCpuTime": take("executorDeserializeCpuTime"),
        "executorRunTime": take("executorRunTime"),
        "executorCpuTime": take("executorCpuTime"),
        "resultSize": take("resultSize"),
        "jvmGcTime": take("jvmGcTime"),
        "resultSerializationTime": take("resultSerializationTime"),
        "gettingResultTime": take("gettingResultTime"),
        "schedulerDelay": take("schedulerDelay"),
        "peakExecutionMemory": take("peakExecutionMemory"),
        "memoryBytesSpilled": take("memoryBytesSpilled"),
        "diskBytesSpilled": take("diskBytesSpilled"),
        "inputMetrics": { "bytesRead": take("bytesRead"), "recordsRead": take("recordsRead") },
        "outputMetrics": { "bytesWritten": take("bytesWritten"), "recordsWritten": take("recordsWritten") },
        "shuffleReadMetrics": {
            "readBytes": take("readBytes"),
            "readRecords": take("readRecords"),
            "remoteBlocksFetched": take("remoteBlocksFetched"),
            "localBlocksFetched": take("localBlocksFetched"),
            "fetchWaitTime": take("fetchWaitTime"),
            "remoteBytesRead": take("remoteBytesRead"),
            "remoteBytesReadToDisk": take("remoteBytesReadToDisk"),
            "totalBlocksFetched": take("totalBlocksFetched"),
            "remoteReqsDuration": take("remoteReqsDuration"),
            "shufflePushReadMetricsDist": {
                "corruptMergedBlockChunks": take("corruptMergedBlockChunks"),
                "mergedFetchFallbackCount": take("mergedFetchFallbackCount"),
                "remoteMergedBlocksFetched": take("remoteMergedBlocksFetched"),
                "localMergedBlocksFetched": take("localMergedBlocksFetched"),
                "remoteMergedChunksFetched": take("remoteMergedChunksFetched"),
                "localMergedChunksFetched": take("localMergedChunksFetched"),
                "remoteMergedBytesRead": take("remoteMergedBytesRead"),
                "localMergedBytesRead": take("localMergedBytesRead"),
                "remoteMergedReqsDuration": take("remoteMergedReqsDuration"),
            },
        },
        "shuffleWriteMetrics": {
            "writeBytes": take("writeBytes"),
            "writeRecords": take("writeRecords"),
            "writeTime": take("writeTime"),
        },
    });
    Some(body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutorJson {
    id: String,
    host_port: String,
    is_active: bool,
    rdd_blocks: i64,
    memory_used: i64,
    disk_used: i64,
    total_cores: i64,
    max_tasks: i64,
    active_tasks: i64,
    failed_tasks: i64,
    completed_tasks: i64,
    total_tasks: i64,
    total_duration: i64,
    #[serde(rename = "totalGCTime")]
    total_gc_time: i64,
    total_input_bytes: i64,
    total_shuffle_read: i64,
    total_shuffle_write: i64,
    is_blacklisted: bool,
    max_memory: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remove_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remove_reason: Option<String>,
    executor_logs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_metrics: Option<Value>,
    blacklisted_in_stages: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory_metrics: Option<OrderedMetrics>,
    attributes: BTreeMap<String, String>,
    resources: BTreeMap<String, Value>,
    resource_profile_id: i64,
    is_excluded: bool,
    excluded_in_stages: Vec<i64>,
}

/// Spark's `ExecutorSummary`. The driver's `totalDuration` is the
/// application's run time and its `totalGCTime` its peak `TotalGCTime`, as
/// Spark's status store reports them.
fn executor_json(e: &Executor, d: &AppDetail, catalog: &dyn Catalog) -> ExecutorJson {
    let driver = e.id == "driver";
    let app_time = d.app_start.map(|start| d.app_end.unwrap_or_else(|| catalog.now_ms()) - start);
    let total_duration = if driver { app_time.unwrap_or(e.total_duration) } else { e.total_duration };
    let total_gc_time = match (driver, e.peak) {
        (true, Some(peak)) => peak.get("TotalGCTime"),
        _ => e.total_gc_time,
    };
    let excluded_in_stages: Vec<i64> = e.excluded_in_stages.iter().copied().collect();
    ExecutorJson {
        id: e.id.clone(),
        host_port: e.host_port.clone(),
        is_active: e.is_active,
        rdd_blocks: e.storage.rdd_blocks,
        memory_used: e.storage.memory_used,
        disk_used: e.storage.disk_used,
        total_cores: e.total_cores,
        max_tasks: e.max_tasks.unwrap_or(e.total_cores),
        active_tasks: e.active_tasks,
        failed_tasks: e.failed_tasks,
        completed_tasks: e.completed_tasks,
        total_tasks: e.total_tasks,
        total_duration,
        total_gc_time,
        total_input_bytes: e.total_input_bytes,
        total_shuffle_read: e.total_shuffle_read,
        total_shuffle_write: e.total_shuffle_write,
        is_blacklisted: e.excluded,
        max_memory: e.max_memory,
        add_time: e.add_time.map(format_gmt),
        remove_time: e.remove_time.map(format_gmt),
        remove_reason: e.remove_reason.clone(),
        executor_logs: e.logs.clone(),
        memory_metrics: e.storage_memory.map(|(on_heap, off_heap)| {
            serde_json::json!({
                "usedOnHeapStorageMemory": e.storage.used_on_heap, "usedOffHeapStorageMemory": e.storage.used_off_heap,
                "totalOnHeapStorageMemory": on_heap, "totalOffHeapStorageMemory": off_heap,
            })
        }),
        blacklisted_in_stages: excluded_in_stages.clone(),
        peak_memory_metrics: e.peak.map(OrderedMetrics),
        attributes: e.attributes.clone(),
        resources: e.resources.clone(),
        resource_profile_id: e.resource_profile_id,
        is_excluded: e.excluded,
        excluded_in_stages,
    }
}

/// Spark's `ProcessSummary` of a `SparkListenerMiscellaneousProcessAdded` event.
fn process_json(event: &Value) -> Value {
    let info = event.get("info").cloned().unwrap_or(Value::Null);
    serde_json::json!({
        "id": event.get("processId").cloned().unwrap_or(Value::Null),
        "hostPort": info.get("hostPort").cloned().unwrap_or(Value::Null),
        "isActive": true,
        "totalCores": info.get("cores").cloned().unwrap_or(Value::from(0)),
        "addTime": event.get("time").and_then(Value::as_i64).map(format_gmt),
        "processLogs": info.get("logUrlInfo").cloned().unwrap_or_else(|| serde_json::json!({})),
    })
}

fn pairs(value: Option<&Value>) -> Vec<[String; 2]> {
    let mut out: Vec<[String; 2]> = value
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| [k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)]).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Spark's `ResourceProfileInfo` of a `SparkListenerResourceProfileAdded` event.
fn resource_profile_json(event: &Value) -> Value {
    let requests = |key: &str, fields: &[(&str, &str)]| -> serde_json::Map<String, Value> {
        event
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, r)| {
                let entry: serde_json::Map<String, Value> =
                    fields.iter().filter_map(|(from, to)| Some(((*to).to_owned(), r.get(*from)?.clone()))).collect();
                (name.clone(), Value::Object(entry))
            })
            .collect()
    };
    let executor = [
        ("Resource Name", "resourceName"),
        ("Amount", "amount"),
        ("Discovery Script", "discoveryScript"),
        ("Vendor", "vendor"),
    ];
    let task = [("Resource Name", "resourceName"), ("Amount", "amount")];
    serde_json::json!({
        "id": event.get("Resource Profile Id").cloned().unwrap_or(Value::from(0)),
        "executorResources": requests("Executor Resource Requests", &executor),
        "taskResources": requests("Task Resource Requests", &task),
    })
}

fn environment_json(event: Option<&Value>, profiles: &BTreeMap<i64, Value>) -> Value {
    let jvm = event.and_then(|e| e.get("JVM Information"));
    let field = |k: &str| jvm.and_then(|j| j.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned();
    serde_json::json!({
        "runtime": { "javaVersion": field("Java Version"), "javaHome": field("Java Home"), "scalaVersion": field("Scala Version") },
        "sparkProperties": pairs(event.and_then(|e| e.get("Spark Properties"))),
        "hadoopProperties": pairs(event.and_then(|e| e.get("Hadoop Properties"))),
        "systemProperties": pairs(event.and_then(|e| e.get("System Properties"))),
        "metricsProperties": pairs(event.and_then(|e| e.get("Metrics Properties"))),
        "classpathEntries": pairs(event.and_then(|e| e.get("Classpath Entries"))),
        "resourceProfiles": profiles.values().map(resource_profile_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::DetailBuilder;

    /// The selection picks what a full sort picks, for any values (ties,
    /// NaN, signed zeros, one value, none) and any list of quantiles
    /// (unsorted, repeated, the ends).
    #[test]
    fn quantiles_by_selection_are_the_sorted_values_at_sparks_positions() {
        let by_sort = |mut values: Vec<f64>, quantiles: &[f64]| -> Vec<f64> {
            values.sort_by(f64::total_cmp);
            let n = values.len();
            quantiles
                .iter()
                .map(|q| values.get(((q * n as f64) as usize).min(n.saturating_sub(1))).copied().unwrap_or(0.0))
                .collect()
        };
        let mut seed: u64 = 7;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let lists: [&[f64]; 4] = [&[0.0, 0.25, 0.5, 0.75, 1.0], &[0.95, 0.05, 0.5, 0.5], &[1.0], &[0.3, 0.0, 0.999]];
        for n in [0_usize, 1, 2, 3, 10, 257, 5_000] {
            let values: Vec<f64> = (0..n)
                .map(|i| match next() % 9 {
                    0 => f64::NAN,
                    1 => -0.0,
                    2 => 0.0,
                    3 => (i % 4) as f64,
                    _ => (next() % 1_000) as f64 - 500.0,
                })
                .collect();
            for quantiles in lists {
                let (got, want) = (quantiles_of(values.clone(), quantiles), by_sort(values.clone(), quantiles));
                let same = got.iter().zip(&want).all(|(a, b)| a.total_cmp(b).is_eq());
                assert!(same && got.len() == want.len(), "n={n} {quantiles:?}: {got:?} != {want:?}");
            }
        }
    }

    /// One application, replayed from `lines`, as the only attempt.
    struct OneApp(Arc<AppDetail>);

    impl Catalog for OneApp {
        fn attempts(&self) -> Vec<AttemptInfo> {
            vec![AttemptInfo {
                app_id: "app-1".to_owned(),
                attempt_id: None,
                name: "a".to_owned(),
                start_ms: 1,
                end_ms: 100,
                last_updated_ms: 100,
                user: "u".to_owned(),
                completed: true,
                spark_version: "4.1.1".to_owned(),
            }]
        }
        fn detail(&self, app_id: &str, _: Option<&str>) -> Option<Arc<AppDetail>> {
            (app_id == "app-1").then(|| Arc::clone(&self.0))
        }
        fn now_ms(&self) -> i64 {
            100
        }
    }

    fn task(event: &str, id: i64, reason: Option<&str>) -> String {
        let end = reason.map_or(String::new(), |r| {
            let heap = 100 * (id + 1);
            format!(r#","Task End Reason":{r},"Task Metrics":{{}},"Task Executor Metrics":{{"JVMHeapMemory":{heap}}}"#)
        });
        format!(
            r#"{{"Event":"{event}","Stage ID":1,"Stage Attempt ID":0{end},"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":10,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":{},"Accumulables":[]}}}}"#,
            if reason.is_some() { 20 } else { 0 }
        )
    }

    /// A failed job whose stage 0 was never submitted (skipped: its shuffle
    /// output was reused) and whose stage 1 ran two tasks on executor 1: one
    /// failed, and its sibling was killed when the job failed. Executor 2's
    /// node was excluded for stage 1, where it ran nothing.
    fn failed_job_with_skipped_stage_and_killed_sibling() -> OneApp {
        let mut lines = vec![
            r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1,"User":"u"}"#.to_owned(),
            r#"{"Event":"SparkListenerExecutorAdded","Timestamp":2,"Executor ID":"1","Executor Info":{"Host":"h","Total Cores":2,"Log Urls":{}}}"#.to_owned(),
            r#"{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":3,"Stage Infos":[{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"map","Number of Tasks":2},{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":2}],"Stage IDs":[0,1]}"#.to_owned(),
            r#"{"Event":"SparkListenerExecutorAdded","Timestamp":2,"Executor ID":"2","Executor Info":{"Host":"h2","Total Cores":2,"Log Urls":{}}}"#.to_owned(),
            r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":2,"Submission Time":4}}"#.to_owned(),
            r#"{"Event":"org.apache.spark.scheduler.SparkListenerNodeExcludedForStage","time":5,"hostId":"h2","executorFailures":2,"stageId":1,"stageAttemptId":0}"#.to_owned(),
        ];
        lines.push(task("SparkListenerTaskStart", 0, None));
        lines.push(task("SparkListenerTaskStart", 1, None));
        lines.push(task(
            "SparkListenerTaskEnd",
            0,
            Some(r#"{"Reason":"ExceptionFailure","Class Name":"E","Description":"bad record"}"#),
        ));
        lines.push(task("SparkListenerTaskEnd", 1, Some(r#"{"Reason":"TaskKilled","Kill Reason":"Stage cancelled"}"#)));
        lines.extend([
            r#"{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":2,"Submission Time":4,"Completion Time":30,"Failure Reason":"Job aborted"}}"#.to_owned(),
            r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":31,"Job Result":{"Result":"JobFailed"}}"#.to_owned(),
        ]);
        let mut builder = DetailBuilder::new();
        for (n, line) in lines.iter().enumerate() {
            builder.push_line(n as u64 + 1, line);
        }
        let detail = builder.finish();
        assert!(detail.warnings.is_empty(), "{:?}", detail.warnings);
        OneApp(Arc::new(detail))
    }

    fn answer(catalog: &OneApp, route: &str) -> Value {
        let (route, query) = route.split_once('?').unwrap_or((route, ""));
        let response = respond(catalog, &format!("/api/v1/applications/app-1/{route}"), query);
        assert_eq!(response.status, 200, "{route}: {}", response.body);
        serde_json::from_str(&response.body).expect("JSON")
    }

    #[test]
    fn a_skipped_stage_has_no_peak_executor_metrics_and_a_stage_that_ran_has_them() {
        let app = failed_job_with_skipped_stage_and_killed_sibling();
        let stages = answer(&app, "stages");
        let by_id = |id: i64| stages.as_array().into_iter().flatten().find(|s| s["stageId"] == id).cloned();
        let skipped = by_id(0).expect("stage 0 listed");
        assert_eq!(skipped["status"], "SKIPPED");
        assert_eq!(skipped.get("peakExecutorMetrics"), None, "{skipped}");
        let ran = by_id(1).expect("stage 1 listed");
        assert_eq!(ran["status"], "FAILED");
        assert_eq!(ran["peakExecutorMetrics"]["JVMHeapMemory"], 200, "{ran}");
        let one = answer(&app, "stages/0/0");
        assert_eq!(one.get("peakExecutorMetrics"), None, "{one}");
    }

    #[test]
    fn an_executors_total_tasks_counts_a_killed_attempt() {
        let app = failed_job_with_skipped_stage_and_killed_sibling();
        for route in ["executors", "allexecutors"] {
            let executors = answer(&app, route);
            let one = executors.as_array().into_iter().flatten().find(|e| e["id"] == "1").expect("executor 1");
            let counts = ["activeTasks", "completedTasks", "failedTasks", "totalTasks"].map(|k| one[k].as_i64());
            assert_eq!(counts, [Some(0), Some(0), Some(1), Some(2)], "{route}: {one}");
        }
    }

    /// Many applications, some with several attempts, some running.
    struct Fleet(Vec<AttemptInfo>);

    impl Catalog for Fleet {
        fn attempts(&self) -> Vec<AttemptInfo> {
            self.0.clone()
        }
        fn detail(&self, _: &str, _: Option<&str>) -> Option<Arc<AppDetail>> {
            None
        }
        fn now_ms(&self) -> i64 {
            1_000_000
        }
    }

    fn many_applications() -> Fleet {
        let mut attempts = Vec::new();
        for i in 0..3_000i64 {
            let running = i % 7 == 0;
            for attempt in 0..(1 + i % 3) {
                attempts.push(AttemptInfo {
                    app_id: format!("app-{:04}", i % 2_000),
                    attempt_id: (i % 3 > 0).then(|| (attempt + 1).to_string()),
                    name: format!("job \"{i}\"\u{1}ü\n\\"),
                    start_ms: 1_000 + i * 10 + attempt,
                    end_ms: if running { -1 } else { 5_000 + (i * 37) % 900 },
                    last_updated_ms: 9_000,
                    user: "u".to_owned(),
                    completed: !running,
                    spark_version: "4.1.1".to_owned(),
                });
            }
        }
        Fleet(attempts)
    }

    /// The list is written as it is read, a chunk at a time; its bytes are
    /// what `to_string_pretty` writes for the whole list, in Spark's order.
    #[test]
    fn the_application_list_written_as_it_is_read_is_the_pretty_json_of_the_whole_list() {
        let fleet = many_applications();
        for query in ["", "limit=1", "limit=0", "status=running", "minEndDate=1970-01-01T00:00:05.500GMT"] {
            let list = application_list_of(&fleet, query).unwrap_or_else(|r| panic!("{query}: {}", r.body));
            let mut apps: BTreeMap<String, Vec<AttemptInfo>> = BTreeMap::new();
            for attempt in fleet.attempts() {
                apps.entry(attempt.app_id.clone()).or_default().push(attempt);
            }
            let mut grouped: Vec<(String, Vec<AttemptInfo>)> = apps
                .into_iter()
                .map(|(id, mut attempts)| {
                    attempts.sort_by(newest_first);
                    (id, attempts)
                })
                .collect();
            grouped.sort_by(|(a_id, a), (b_id, b)| b[0].end_ms.cmp(&a[0].end_ms).then_with(|| b_id.cmp(a_id)));
            let expected: Vec<AppJson> = grouped
                .iter()
                .filter(|(id, _)| list.apps.iter().any(|r| list.app(*r).iter().next().is_some_and(|a| a.app_id == id)))
                .map(|(id, attempts)| app_json(id, attempts))
                .collect();
            let whole = serde_json::to_string_pretty(&expected).expect("json");
            assert_eq!(list.len(), expected.len(), "{query}");
            let mut streamed = String::new();
            std::io::Read::read_to_string(&mut list.reader(), &mut streamed).expect("reads");
            assert_eq!(streamed, whole, "{query}");
            assert_eq!(respond(&fleet, "/api/v1/applications", query).body, whole, "{query}");
        }
        assert!(fleet.0.len() * 300 > LIST_CHUNK, "the list spans several chunks");
    }

    /// Spark's History Server measures a task still running to its attempt's
    /// `lastUpdated` (`LiveTask.timeRunning(lastUpdateTime)`), not to the request.
    #[test]
    fn a_running_tasks_duration_is_measured_to_the_attempts_last_update() {
        let lines = [
            r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1,"User":"u"}"#.to_owned(),
            r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":2,"Submission Time":4}}"#.to_owned(),
            task("SparkListenerTaskStart", 0, None),
            task("SparkListenerTaskStart", 1, None),
            task("SparkListenerTaskEnd", 0, Some(r#"{"Reason":"Success"}"#)),
        ];
        let mut builder = DetailBuilder::new();
        for (n, line) in lines.iter().enumerate() {
            builder.push_line(n as u64 + 1, line);
        }
        let mut detail = builder.finish();
        let durations = |detail: &AppDetail| {
            let tasks = answer(&OneApp(Arc::new(detail.clone())), "stages/1/0/taskList");
            tasks
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| (t["status"].clone(), t["duration"].clone()))
                .collect::<Vec<_>>()
        };
        // Launched at 10; the ended one finished at 20.
        assert_eq!(durations(&detail), [("SUCCESS".into(), 10.into()), ("RUNNING".into(), Value::Null)]);
        detail.last_updated_ms = Some(1_010);
        assert_eq!(durations(&detail), [("SUCCESS".into(), 10.into()), ("RUNNING".into(), 1_000.into())]);
    }

    #[test]
    fn an_executor_that_ran_nothing_in_a_stage_has_no_peak_memory_metrics_there_nor_in_its_distributions() {
        let app = failed_job_with_skipped_stage_and_killed_sibling();
        let stage = answer(&app, "stages/1/0?details=true&withSummaries=true&quantiles=0.0");
        let summary = &stage["executorSummary"];
        assert_eq!(summary["2"]["isExcludedForStage"], true, "{summary}");
        assert_eq!(summary["2"].get("peakMemoryMetrics"), None, "{summary}");
        assert_eq!(summary["1"]["peakMemoryMetrics"]["JVMHeapMemory"], 200, "{summary}");
        // The least peak over the executors whose peaks are set: executor 1's alone.
        let peaks = &stage["executorMetricsDistributions"]["peakMemoryMetrics"];
        assert_eq!(peaks["JVMHeapMemory"], serde_json::json!([200.0]), "{peaks}");
    }
}
