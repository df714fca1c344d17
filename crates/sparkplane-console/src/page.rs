//! The console's HTML: the list at `/console` (a team filter, the jobs
//! table, the namespaces' quota use) and one job at
//! `/console/jobs/<namespace>/<name>`, in the History Server's stylesheet
//! (`sparkplane_history::page::STYLE`): server-rendered, no script, no
//! external request.
//!
//! Owns: the pages' markup, every value escaped. Must not: choose what a
//! viewer sees (the model's [`crate::model::view`] did) or read the cluster.

use std::fmt::Write;

use sparkplane_documents::markup::{attribute, text};
use sparkplane_history::page::STYLE;

use crate::model::{JobRow, View};

fn head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"color-scheme\" \
         content=\"light dark\"><title>{}</title>{STYLE}</head><body>",
        text(title)
    )
}

fn stale(view_stale: Option<&str>) -> String {
    view_stale.map_or_else(String::new, |why| {
        format!(
            "<p class=\"incomplete\" id=\"stale\">The cluster could not be read; shown as last read: {}</p>",
            text(why)
        )
    })
}

fn state_class(row: &JobRow) -> &'static str {
    match row.state.as_str() {
        "Failed" => "failed",
        "Succeeded" => "succeeded",
        _ if row.wait.is_some() => "incomplete",
        _ => "",
    }
}

/// The list page.
pub fn list_page(view: &View, team: Option<&str>) -> String {
    let mut html = head("sparkplane console");
    html.push_str("<h1>SparkJobs</h1><p><a href=\"/\">Spark applications (History Server)</a></p>");
    html.push_str(&stale(view.stale.as_deref()));
    html.push_str(
        "<form method=\"get\" action=\"/console\"><label>Team<select name=\"team\"><option value=\"\">any</option>",
    );
    for t in &view.teams {
        let selected = if team == Some(t.as_str()) { " selected" } else { "" };
        let _ = write!(html, "<option value=\"{}\"{selected}>{}</option>", attribute(t), text(t));
    }
    html.push_str("</select></label><button>Show</button></form>");
    let _ = write!(html, "<p id=\"count\">{} jobs</p>", view.jobs.len());
    html.push_str(
        "<table id=\"jobs\"><thead><tr><th>Team</th><th>Namespace</th><th>Job</th><th>State</th><th>Attempt</th>\
         <th>Waiting</th><th>Spark UI</th><th>Driver log</th><th>Connect</th></tr></thead><tbody>",
    );
    for row in &view.jobs {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><a href=\"/console/jobs/{}/{}\">{}</a></td><td class=\"{}\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td>{}</td></tr>",
            text(row.team.as_deref().unwrap_or("")),
            text(&row.namespace),
            attribute(&row.namespace),
            attribute(&row.name),
            text(&row.name),
            state_class(row),
            text(&row.state),
            row.attempt.map(|a| a.to_string()).unwrap_or_default(),
            text(&row.wait.as_ref().map(|w| w.describe()).unwrap_or_default()),
            attribute(&row.link),
            if row.running { "live" } else { "history" },
            text(&row.log_command),
            row.connect.as_deref().map(|c| format!("<code>{}</code>", text(c))).unwrap_or_default(),
        );
    }
    html.push_str("</tbody></table><h2>Quota use</h2>");
    html.push_str(
        "<table id=\"quotas\"><thead><tr><th>Namespace</th><th>ResourceQuota</th><th>Resource</th><th>Used</th>\
         <th>Hard</th></tr></thead><tbody>",
    );
    for q in &view.quotas {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            text(&q.namespace),
            text(&q.quota),
            text(&q.resource),
            text(&q.used),
            text(&q.hard)
        );
    }
    html.push_str("</tbody></table></body></html>");
    html
}

/// One job's page.
pub fn job_page(row: &JobRow, stale_why: Option<&str>) -> String {
    let mut html = head(&format!("{} — sparkplane console", row.name));
    let _ = write!(
        html,
        "<p><a href=\"/console\">All jobs</a></p><h1>{}/{}</h1>{}<table id=\"job\"><tbody>",
        text(&row.namespace),
        text(&row.name),
        stale(stale_why)
    );
    let mut field = |name: &str, value: String| {
        let _ = write!(html, "<tr><th>{name}</th><td>{value}</td></tr>");
    };
    field("Team", text(row.team.as_deref().unwrap_or("")));
    field("State", format!("<span class=\"{}\">{}</span>", state_class(row), text(&row.state)));
    field("Attempt", row.attempt.map(|a| a.to_string()).unwrap_or_default());
    field("Waiting", text(&row.wait.as_ref().map(|w| w.describe()).unwrap_or_default()));
    let ui = if row.running { "live Spark UI" } else { "its history" };
    field("Spark UI", format!("<a href=\"{}\">{ui}</a>", attribute(&row.link)));
    field("Driver log", format!("<code>{}</code>", text(&row.log_command)));
    if let Some(endpoint) = &row.connect {
        field("Connect", format!("<code>{}</code>", text(endpoint)));
    }
    html.push_str("</tbody></table></body></html>");
    html
}

/// The page of a job that does not exist, or that the viewer may not see: the same bytes for both.
pub fn not_found() -> String {
    format!(
        "{}<h1>Not found</h1><p>No such job.</p><p><a href=\"/console\">All jobs</a></p></body></html>",
        head("Not found")
    )
}
