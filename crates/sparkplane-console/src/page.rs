//! The console's HTML: the list at `/console` (a team filter, the jobs
//! table, the namespaces' quota use), one job at
//! `/console/jobs/<namespace>/<name>` and its driver log at
//! `/console/jobs/<namespace>/<name>/log` (or why there is none), in the
//! History Server's stylesheet (`sparkplane_history::page::STYLE`):
//! server-rendered, no script, no external request; and that log as plain
//! text (`?raw=1`).
//!
//! Owns: the pages' markup, every value escaped (a log's lines too). Must
//! not: choose what a viewer sees (the model's [`crate::model::view`] did)
//! or read the cluster.

use std::fmt::Write;

use sparkplane_documents::markup::{attribute, text};
use sparkplane_history::page::STYLE;

use crate::model::{DriverLog, JobRow, LOG_LIMIT_BYTES, View};

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
             <td class=\"num\">{}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
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
            driver_log(row),
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
    field("Driver log", driver_log(row));
    if let Some(endpoint) = &row.connect {
        field("Connect", format!("<code>{}</code>", text(endpoint)));
    }
    html.push_str("</tbody></table></body></html>");
    html
}

/// A row's driver log: its page's link, and the command that prints it.
fn driver_log(row: &JobRow) -> String {
    format!("<a href=\"{}\">log</a> <code>{}</code>", attribute(&row.log_link), text(&row.log_command))
}

/// A job's driver log page: the log's end in `<pre>`, where it comes from
/// and whether its start is left out; or why there is none, or what failed.
pub fn log_page(namespace: &str, name: &str, log: &DriverLog) -> String {
    let mut html = head(&format!("{name} driver log — sparkplane console"));
    let job = format!("/console/jobs/{}/{}", attribute(namespace), attribute(name));
    let _ = write!(
        html,
        "<p><a href=\"/console\">All jobs</a> · <a href=\"{job}\">{}/{}</a></p><h1>Driver log of {}/{}</h1>",
        text(namespace),
        text(name),
        text(namespace),
        text(name)
    );
    match log {
        DriverLog::Read { source, tail } => {
            let _ = write!(
                html,
                "<p id=\"source\">From {}. <a href=\"{job}/log?raw=1\">As written</a> (plain text).</p>",
                text(source)
            );
            if tail.cut_lines() > 0 {
                let _ = write!(
                    html,
                    "<p class=\"incomplete\" id=\"cut\">Only the log's last {} MiB are shown: its first {} lines \
                     ({} bytes) are left out.</p>",
                    LOG_LIMIT_BYTES >> 20,
                    tail.cut_lines(),
                    tail.cut_bytes()
                );
            }
            html.push_str("<pre id=\"log\">");
            for line in tail.lines() {
                html.push_str(&text(line));
                html.push('\n');
            }
            html.push_str("</pre>");
        }
        DriverLog::Missing { message, help } => {
            let _ = write!(html, "<p id=\"why\">{}</p><p id=\"help\">{}</p>", text(message), text(help));
        }
        DriverLog::Failed { message, .. } => {
            let _ = write!(html, "<p class=\"failed\" id=\"failed\">{}</p>", text(message));
        }
        DriverLog::Busy => {
            let _ = write!(html, "<p class=\"incomplete\" id=\"busy\">{BUSY}</p>");
        }
    }
    html.push_str("</body></html>");
    html
}

const BUSY: &str = "As many driver logs are being read as the console reads at once; try again in a moment.";

/// A job's driver log as plain text (`?raw=1`): its lines, else why there are none.
pub fn log_text(log: &DriverLog) -> String {
    match log {
        DriverLog::Read { tail, .. } => tail.text(),
        DriverLog::Missing { message, help } => format!("{message}\n{help}\n"),
        DriverLog::Failed { message, .. } => format!("{message}\n"),
        DriverLog::Busy => format!("{BUSY}\n"),
    }
}

/// The page of a job that does not exist, or that the viewer may not see: the same bytes for both.
pub fn not_found() -> String {
    format!(
        "{}<h1>Not found</h1><p>No such job.</p><p><a href=\"/console\">All jobs</a></p></body></html>",
        head("Not found")
    )
}

#[cfg(test)]
mod tests {
    use super::{log_page, log_text};
    use crate::model::{DriverLog, Tail};

    fn read(lines: &[&str], limit: usize) -> DriverLog {
        let mut tail = Tail::new(limit);
        lines.iter().for_each(|line| tail.push(line));
        DriverLog::Read { source: "the driver pod etl-1-driver, read now".into(), tail }
    }

    #[test]
    fn a_log_is_escaped_text_in_pre_and_raw_is_as_written() {
        let log = read(&["<script>alert('x')</script> & more", "</pre><img src=x>"], 1 << 20);
        let html = log_page("team-a", "etl", &log);
        assert!(
            html.contains(
                "<pre id=\"log\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more\n\
                 &lt;/pre&gt;&lt;img src=x&gt;\n</pre>"
            ),
            "{html}"
        );
        assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
        assert!(html.contains("href=\"/console/jobs/team-a/etl/log?raw=1\""), "{html}");
        assert!(html.contains("From the driver pod etl-1-driver, read now."), "{html}");
        assert!(!html.contains("id=\"cut\""), "a whole log says nothing is left out: {html}");
        assert_eq!(log_text(&log), "<script>alert('x')</script> & more\n</pre><img src=x>\n");
    }

    #[test]
    fn a_cut_log_says_how_much_of_its_start_is_left_out() {
        let html = log_page("team-a", "etl", &read(&["first", "second", "third"], 13));
        assert!(html.contains("its first 1 lines (6 bytes) are left out"), "{html}");
        assert!(html.contains("<pre id=\"log\">second\nthird\n</pre>"), "{html}");
    }

    #[test]
    fn no_log_says_why_and_a_failure_what_failed() {
        let missing = DriverLog::Missing { message: "gone <b>".into(), help: "use --log-store".into() };
        let html = log_page("team-a", "etl", &missing);
        assert!(html.contains("<p id=\"why\">gone &lt;b&gt;</p><p id=\"help\">use --log-store</p>"), "{html}");
        assert_eq!(log_text(&missing), "gone <b>\nuse --log-store\n");
        let failed = DriverLog::Failed { timed_out: true, message: "the cluster at https://k did not answer".into() };
        assert!(log_page("team-a", "etl", &failed).contains("id=\"failed\">the cluster at https://k did not answer"));
        assert!(log_page("team-a", "etl", &DriverLog::Busy).contains("id=\"busy\""));
    }
}
