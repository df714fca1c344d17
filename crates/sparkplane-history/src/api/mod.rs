//! Spark's History Server REST API (`/api/v1`), as a pure function from a
//! request (path and query) to a response (status, content type, body).
//!
//! Owns: routing (every path to the answer of its resource: [`respond`]),
//! the query's parameters and their parsing (`Query`), the answer
//! ([`Response`]) and Spark's 404 and 400 texts every resource shares.
//! Each resource family is a module that owns its JSON shapes (Spark's
//! field names, nesting and order), its parameters' defaults and its
//! sorting: `applications` (the list, one application, one attempt),
//! `jobs`, `stages`, `tasks` (a stage's task list and summary),
//! `quantiles`, `executors` (and miscellaneous processes), `environment`,
//! `storage` (cached RDDs), `sql` (SQL executions and their plan graphs)
//! and `logs` (which attempts' logs are zipped: a [`Download`], which the
//! server streams); `catalog` is what they read applications from.
//!
//! Must not: do I/O, read the clock (the catalog says what time it is), or
//! compute application figures itself beyond shaping them: listing data comes
//! from the catalog (built from `sparkplane_eventlog`'s `AppSummary`), detail
//! from [`sparkplane_appstatus::replay`].

use serde::Serialize;

use crate::time::parse_date;

mod applications;
mod catalog;
mod environment;
mod executors;
mod jobs;
mod logs;
mod quantiles;
pub(crate) mod sql;
mod stages;
mod storage;
mod tasks;

pub use applications::{ApplicationList, ListReader, application_list_of};
pub use catalog::{AttemptInfo, AttemptSnapshot, AttemptView, Catalog};
pub use logs::{Download, OCTET_STREAM, logs_unavailable};
pub(crate) use stages::executor_stage_value;
pub(crate) use tasks::{fetching_time, scheduler_delay, task_value};

use applications::{application_list, one_application, one_attempt};
use environment::environment_json;
use executors::{executor_json, process_json};
use jobs::{JobJson, job_json};
use logs::event_logs;
use sql::{one_sql, sql_list};
use stages::{StageJson, StageOptions, stage_json};
use storage::rdd_json;
use tasks::{task_list, task_summary};

/// The Spark version whose REST API these answers follow (reported by `/version`).
pub const SPARK_API_VERSION: &str = "4.3.0";

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Set for `logs`: the body is the zip of these logs, which the server streams.
    pub download: Option<Download>,
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

const RESOURCES: &[&str] = &[
    "jobs",
    "stages",
    "executors",
    "allexecutors",
    "allmiscellaneousprocess",
    "environment",
    "storage",
    "logs",
    "sql",
];

/// Spark's text for an application (or attempt) it has no UI for.
fn no_such_app(app: &str, attempt: Option<&str>) -> String {
    match attempt {
        Some(attempt) => format!("no such app: {app}/{attempt}"),
        None => format!("no such app: {app}"),
    }
}

fn count<T>(set: &std::collections::BTreeSet<T>) -> i64 {
    i64::try_from(set.len()).unwrap_or(i64::MAX)
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
        ["sql"] => sql_list(d, catalog.now_ms(), query)?,
        ["sql", id] => one_sql(d, catalog.now_ms(), path, id, query)?,
        _ => not_found(format!("not found: {}", resource.join("/"))),
    })
}

#[cfg(test)]
mod fixture;
