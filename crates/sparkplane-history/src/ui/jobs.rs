//! The Jobs tab at Spark's URLs: `jobs/` (why the application failed, its
//! `analyze` findings with their fixes and its timing, then the jobs grouped
//! as Spark groups them — running, succeeded, failed — each with its stages
//! and a bar of task progress, then the stage timeline with the critical
//! path) and `jobs/job/?id=N` (one job: its figures, its stages, skipped ones
//! included, and their timeline).
//!
//! Owns: those pages' bodies. Must not: compute a job's or stage's figures
//! (they are the REST API's answer, [`AppView::api`]) or read logs.

use std::fmt::Write;

use serde_json::Value;

use crate::ui::{
    AppView, Page, Params, Tab, TablePage, api_date, count_cell, esc, esc_attr, int, ms_cell, progress, report_link,
    stages, text, timeline,
};

/// Spark's job groups, in the page's order, with the prefix of Spark's
/// paging parameters for each group's table (`completedJob.page`, …).
const GROUPS: [(&str, &str, &str); 4] = [
    ("RUNNING", "Active jobs", "activeJob"),
    ("SUCCEEDED", "Completed jobs", "completedJob"),
    ("FAILED", "Failed jobs", "failedJob"),
    ("UNKNOWN", "Jobs of unknown outcome", "unknownJob"),
];

/// A job's duration in ms from the one model (completion − submission), once both are known.
fn job_duration(view: &AppView, id: i64) -> Option<i64> {
    let job = view.detail.jobs.get(&id)?;
    Some(job.completion_time? - job.submission_time?)
}

/// `jobs/`: findings, then every job by outcome, newest first, a page of
/// each group's table at a time (Spark's 100 rows unless its paging
/// parameters say otherwise).
pub fn jobs_page(view: &AppView, params: &Params) -> Result<Page, Page> {
    let jobs = view.api("jobs", "")?;
    let jobs = jobs.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut body = findings(view);
    body.push_str(&timeline::timing_line(view));
    let _ = write!(body, "<p><span data-count=\"jobs\" data-v=\"{n}\">{n}</span> jobs</p>", n = jobs.len());
    for (status, title, prefix) in GROUPS {
        let group: Vec<&Value> = jobs.iter().filter(|j| text(j, "status") == status).collect();
        if group.is_empty() {
            continue;
        }
        let anchor = status.to_ascii_lowercase();
        let page = TablePage::of(params, view, prefix, group.len())?;
        let _ = write!(body, "<h3 id=\"{anchor}\">{title} ({})</h3>", group.len());
        body.push_str(&page.pager(view, "jobs/", prefix, &anchor));
        body.push_str(
            "<table class=\"jobs\"><thead><tr><th>Job</th><th>Description</th>\
             <th>Submitted</th><th>Duration</th><th>Stages: succeeded/total</th><th>Tasks: succeeded/total</th>\
             </tr></thead><tbody>",
        );
        for job in page.rows(&group) {
            body.push_str(&job_row(view, job));
        }
        body.push_str("</tbody></table>");
    }
    let stages: Vec<&sparkplane_appstatus::replay::Stage> = view.detail.stages.values().collect();
    body.push_str(&timeline::stage_timeline(view, &stages, view.catalog.now_ms()));
    Ok(Page::ok(Tab::Jobs, "Jobs", body))
}

fn job_row(view: &AppView, job: &Value) -> String {
    let id = int(job, "jobId");
    let link = esc_attr(&view.link(&format!("jobs/job/?id={id}")));
    let description = job.get("description").and_then(Value::as_str).unwrap_or_else(|| text(job, "name"));
    let stages_total = job.get("stageIds").and_then(Value::as_array).map_or(0, Vec::len) as i64;
    let skipped = int(job, "numSkippedStages");
    let note = task_note(job);
    format!(
        "<tr data-job=\"{id}\"><td class=\"n\" data-v=\"{id}\"><a href=\"{link}\">{id}</a></td><td><a href=\"{link}\">{}</a>{}</td>\
         <td>{}</td>{}<td data-stages-done=\"{done}\" data-stages-skipped=\"{skipped}\">{done}/{}{}</td>{}</tr>",
        esc(description),
        sql_link(view, id),
        api_date(job, "submissionTime"),
        job_duration(view, id).map_or_else(|| "<td class=\"n\">running</td>".to_owned(), ms_cell),
        stages_total - skipped,
        stage_note(int(job, "numFailedStages"), skipped),
        progress(
            int(job, "numCompletedTasks"),
            int(job, "numActiveTasks"),
            int(job, "numTasks") - int(job, "numSkippedTasks"),
            &note
        ),
        done = int(job, "numCompletedStages"),
    )
}

/// What a job's stage count says beside it, as Spark's jobs table writes it: failed, then skipped stages.
fn stage_note(failed: i64, skipped: i64) -> String {
    let mut note = String::new();
    if failed > 0 {
        note.push_str(&format!(" ({failed} failed)"));
    }
    if skipped > 0 {
        note.push_str(&format!(" ({skipped} skipped)"));
    }
    note
}

/// The link from a job to the SQL execution that ran it, as Spark's job page has it ("SQL query N").
pub fn sql_link(view: &AppView, job_id: i64) -> String {
    view.detail.sql.of_job(job_id).map_or(String::new(), |e| {
        format!(
            "<br><a href=\"{}\" data-sql-execution=\"{e}\">SQL query {e}</a>",
            esc_attr(&view.link(&format!("SQL/execution/?id={e}")))
        )
    })
}

/// What a job's bar of task progress says beside its counts: failed, killed and skipped tasks.
fn task_note(job: &Value) -> String {
    let mut notes = Vec::new();
    for (key, word) in [("numFailedTasks", "failed"), ("numKilledTasks", "killed"), ("numSkippedTasks", "skipped")] {
        if int(job, key) > 0 {
            notes.push(format!("{} {word}", int(job, key)));
        }
    }
    if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) }
}

/// sparkplane's own reading of the application (`analyze`, from the one
/// model folded with the detail): why it failed, its findings each with its
/// fix and stage link, and a link to the whole report.
fn findings(view: &AppView) -> String {
    let report = report_link(&view.attempt.app_id, view.attempt.attempt_id.as_deref());
    let report = format!(
        "<p>sparkplane's whole analysis (executor and stage charts, cost, lineage): <a href=\"{}\">report</a></p>",
        esc_attr(&report)
    );
    let Some(insight) = view.detail.insight.as_ref() else { return report };
    let mut out = failure(view, insight);
    let _ = write!(out, "<h3 id=\"findings\">Findings ({})</h3>", insight.findings.len());
    if insight.findings.is_empty() {
        out.push_str("<p class=\"muted\">sparkplane's analysis found nothing to fix in this application.</p>");
    }
    for f in &insight.findings {
        let stage = f.stage.map_or(String::new(), |s| {
            format!(" <a href=\"{}\">stage {s}</a>", esc_attr(&view.link(&format!("stages/stage/?id={s}&attempt=0"))))
        });
        let _ = write!(
            out,
            "<div class=\"finding {sev}\" data-finding=\"{}\"><b>{}</b> <span class=\"muted\">({sev})</span>{stage}<br>\
             <span class=\"muted\">{}</span><br>Fix: {}</div>",
            esc_attr(f.id),
            esc(&f.title),
            esc(&f.evidence),
            esc(&f.fix),
            sev = f.severity.as_str(),
        );
    }
    out.push_str(&report);
    out
}

/// Why the application failed, as the model reads it: the first failed job
/// and stage (each a link, the stage to its exception), the message, its root
/// cause and kind.
fn failure(view: &AppView, insight: &sparkplane_appstatus::insight::Insight) -> String {
    let Some(f) = insight.failure.as_ref() else { return String::new() };
    let job =
        format!("<a href=\"{}\">job {}</a>", esc_attr(&view.link(&format!("jobs/job/?id={}", f.job_id))), f.job_id);
    let stage = f.stage_id.map_or(String::new(), |s| {
        let attempt = f.stage_attempt_id.unwrap_or(0);
        format!(
            " in <a href=\"{}\" data-failed-stage=\"{s}\">stage {s}</a>",
            esc_attr(&view.link(&format!("stages/stage/?id={s}&attempt={attempt}#failure")))
        )
    });
    let root = f.root_cause.as_ref().map_or(String::new(), |r| format!("<br>Root cause: <code>{}</code>", esc(r)));
    format!(
        "<div class=\"finding critical\" id=\"failure\" data-cause=\"{}\"><b>The application failed</b>: {job}{stage} \
         ({}).<br><code>{}</code>{root}</div>",
        f.cause.as_str(),
        f.cause.what(),
        esc(&f.message)
    )
}

/// `jobs/job/?id=N`: the job's figures and its stages.
pub fn job_page(view: &AppView, id: i64) -> Result<Page, Page> {
    if !view.detail.jobs.contains_key(&id) {
        let known = view.detail.jobs.len();
        return Err(view.asked(404, &format!("Application {} has no job {id} ({known} known).", view.attempt.app_id)));
    }
    let job = view.api(&format!("jobs/{id}"), "")?;
    let mut body = String::new();
    let status = text(&job, "status");
    let _ = write!(
        body,
        "<p>{}</p><table class=\"facts\"><tbody><tr><th>Status</th><td class=\"{status}\">{status}</td></tr>\
         <tr><th>Submitted</th><td>{}</td></tr><tr><th>Duration</th>{}</tr>",
        esc(job.get("description").and_then(Value::as_str).unwrap_or_else(|| text(&job, "name"))),
        api_date(&job, "submissionTime"),
        job_duration(view, id).map_or_else(|| "<td class=\"n\">running</td>".to_owned(), ms_cell),
    );
    if let Some(e) = view.detail.sql.of_job(id) {
        let _ = write!(
            body,
            "<tr><th>Associated SQL query</th><td><a href=\"{}\" data-sql-execution=\"{e}\">{e}</a></td></tr>",
            esc_attr(&view.link(&format!("SQL/execution/?id={e}")))
        );
    }
    let _ = write!(
        body,
        "<tr><th>Task progress</th>{}</tr>",
        progress(
            int(&job, "numCompletedTasks"),
            int(&job, "numActiveTasks"),
            int(&job, "numTasks") - int(&job, "numSkippedTasks"),
            &task_note(&job)
        )
    );
    for (key, label) in [
        ("numTasks", "Tasks"),
        ("numCompletedTasks", "Succeeded tasks"),
        ("numFailedTasks", "Failed tasks"),
        ("numKilledTasks", "Killed tasks"),
        ("numSkippedTasks", "Skipped tasks"),
        ("numCompletedStages", "Completed stages"),
        ("numSkippedStages", "Skipped stages"),
        ("numFailedStages", "Failed stages"),
    ] {
        let _ = write!(
            body,
            "<tr><th>{label}</th>{}</tr>",
            count_cell(int(&job, key)).replacen("<td ", &format!("<td data-key=\"{key}\" "), 1)
        );
    }
    if let Some(group) = job.get("jobGroup").and_then(Value::as_str) {
        let _ = write!(body, "<tr><th>Job group</th><td>{}</td></tr>", esc(group));
    }
    body.push_str("</tbody></table>");
    let ids: Vec<i64> =
        job.get("stageIds").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_i64).collect();
    let all = view.api("stages", "")?;
    let of_job: Vec<&Value> =
        all.as_array().into_iter().flatten().filter(|s| ids.contains(&int(s, "stageId"))).collect();
    body.push_str("<h3>Stages</h3>");
    body.push_str(&stages::stage_table(view, &of_job));
    let attempts: Vec<&sparkplane_appstatus::replay::Stage> =
        view.detail.stages.values().filter(|s| ids.contains(&s.stage_id)).collect();
    body.push_str(&timeline::stage_timeline(view, &attempts, view.catalog.now_ms()));
    Ok(Page::ok(Tab::Jobs, format!("Job {id}"), body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_jobs_stage_count_notes_failed_then_skipped_stages_as_spark_does() {
        assert_eq!(super::stage_note(1, 2), " (1 failed) (2 skipped)");
        assert_eq!(super::stage_note(0, 1), " (1 skipped)");
        assert_eq!(super::stage_note(0, 0), "");
    }
}
