//! `applications`, `applications/{app}` and `applications/{app}/{attempt}`:
//! Spark's `ApplicationInfo` and `ApplicationAttemptInfo`, the list's
//! parameters (`status`, `minDate`, `maxDate`, `minEndDate`, `maxEndDate`,
//! `limit`) and its order, and the list written as it is read
//! ([`ApplicationList`], [`ListReader`]: a list of 100,000 applications is
//! never held whole as text).
//!
//! Owns: those answers and the order of attempts within an application
//! (newest first), which `logs` follows too. Must not: copy the catalog's
//! attempts (the list reads the snapshot where it is kept).

use std::sync::Arc;

use serde::Serialize;

use super::catalog::{AttemptInfo, AttemptSnapshot, AttemptView, Catalog};
use super::{JSON, Query, Response, json, not_found};
use crate::time::{format_gmt, parse_date, write_gmt};

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
    /// Spark 4.3 on: the driver's exit code, when the log has the application's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    /// Spark 4.2 on: the log directory it was read from, and its full path (one directory: the same URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    log_source_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_source_full_path: Option<String>,
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
    /// The catalog's [`Catalog::log_source`], written into each attempt.
    log_source: Option<String>,
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
    fn of(all: Arc<dyn AttemptSnapshot>, log_source: Option<String>) -> ApplicationList {
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
        ApplicationList { all, order, apps, log_source }
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
        write_app_element(buffer, list.app(list.apps[*next]), list.log_source.as_deref());
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
fn write_app_element(out: &mut Vec<u8>, attempts: AppAttempts<'_>, log_source: Option<&str>) {
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
        if let Some(code) = a.exit_code {
            out.extend_from_slice(b",\n        \"exitCode\": ");
            out.extend_from_slice(digits.format(code).as_bytes());
        }
        if let Some(source) = log_source {
            out.extend_from_slice(b",\n        \"logSourceName\": ");
            text(out, source);
            out.extend_from_slice(b",\n        \"logSourceFullPath\": ");
            text(out, source);
        }
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

fn attempt_json(a: &AttemptInfo, log_source: Option<&str>) -> AttemptJson {
    AttemptJson {
        attempt_id: a.attempt_id.clone(),
        start_time: format_gmt(a.start_ms),
        end_time: format_gmt(a.end_ms),
        last_updated: format_gmt(a.last_updated_ms),
        duration: if a.completed { (a.end_ms - a.start_ms).max(0) } else { 0 },
        spark_user: a.user.clone(),
        completed: a.completed,
        app_spark_version: a.spark_version.clone(),
        exit_code: a.exit_code,
        start_time_epoch: a.start_ms,
        end_time_epoch: a.end_ms,
        last_updated_epoch: a.last_updated_ms,
        log_source_name: log_source.map(str::to_owned),
        log_source_full_path: log_source.map(str::to_owned),
    }
}

fn app_json(id: &str, attempts: &[AttemptInfo], log_source: Option<&str>) -> AppJson {
    AppJson {
        id: id.to_owned(),
        name: attempts.first().map(|a| a.name.clone()).unwrap_or_default(),
        attempts: attempts.iter().map(|a| attempt_json(a, log_source)).collect(),
    }
}

pub(super) fn application_list(catalog: &dyn Catalog, query: &Query) -> Result<Response, Response> {
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
    let mut list = ApplicationList::of(catalog.snapshot(), catalog.log_source());
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
pub(super) fn one_attempt(catalog: &dyn Catalog, app: &str, attempt: &str) -> Response {
    let found = catalog.attempts_of(app).into_iter().find(|a| a.attempt_id.as_deref() == Some(attempt));
    match found {
        Some(a) => json(&attempt_json(&a, catalog.log_source().as_deref())),
        None => not_found(format!("unknown app {app}, attempt {attempt}")),
    }
}

/// One application's attempts, newest first; `None` when it is not listed.
pub(super) fn attempts_of(catalog: &dyn Catalog, app: &str) -> Option<Vec<AttemptInfo>> {
    let mut attempts = catalog.attempts_of(app);
    attempts.sort_by(newest_first);
    (!attempts.is_empty()).then_some(attempts)
}

pub(super) fn one_application(catalog: &dyn Catalog, app: &str) -> Response {
    match attempts_of(catalog, app) {
        Some(attempts) => json(&app_json(app, &attempts, catalog.log_source().as_deref())),
        None => not_found(format!("unknown app: {app}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::respond;
    use sparkplane_appstatus::replay::AppDetail;

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
        fn log_source(&self) -> Option<String> {
            Some("file:///data/spark \"events\"".to_owned())
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
                    // Spark 4's end event has it; a running attempt and an older log do not.
                    exit_code: (!running && i % 5 > 0).then_some((i % 3) as i32 - 1),
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
                .map(|(id, attempts)| app_json(id, attempts, fleet.log_source().as_deref()))
                .collect();
            let whole = serde_json::to_string_pretty(&expected).expect("json");
            assert_eq!(list.len(), expected.len(), "{query}");
            let mut streamed = String::new();
            std::io::Read::read_to_string(&mut list.reader(), &mut streamed).expect("reads");
            assert_eq!(streamed, whole, "{query}");
            assert_eq!(respond(&fleet, "/api/v1/applications", query).body, whole, "{query}");
        }
        assert!(fleet.0.len() * 300 > LIST_CHUNK, "the list spans several chunks");
        // Spark 4.2's log source and 4.3's exit code, written where the end event had one.
        let all = respond(&fleet, "/api/v1/applications", "minDate=1970-01-01&minEndDate=1970-01-01").body;
        assert!(all.contains("\"logSourceName\": \"file:///data/spark \\\"events\\\"\""), "{all:.600}");
        for code in ["\"exitCode\": -1", "\"exitCode\": 0", "\"exitCode\": 1"] {
            assert!(all.contains(code), "{code}");
        }
        let one = respond(&fleet, "/api/v1/applications/app-0000", "").body;
        assert!(
            one.contains("\"logSourceFullPath\"") && !one.contains("exitCode"),
            "no attempt of app-0000 logged an exit code: {one}"
        );
    }
}
