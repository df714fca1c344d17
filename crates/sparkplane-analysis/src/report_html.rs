//! The self-contained HTML report of one application: `sparkplane analyze PATH --html FILE`.
//!
//! Owns: turning one [`AppSummary`] (with the findings of [`crate::analyze`] and the
//! cost of [`crate::cost`]) into one HTML document with an executor timeline, a
//! stage Gantt chart with the critical path marked, task-time distributions per
//! stage attempt, a cost breakdown and the findings.
//!
//! Must not: do I/O, read the clock, or reach the network. The document carries
//! everything inline (CSS and SVG drawn here; no script, no fonts, no images, no
//! links to fetch), so it opens the same anywhere, offline, and the same model
//! gives byte-identical output. Every piece of text that comes from the log
//! (application, stage and executor names, reasons, findings' evidence) goes
//! through the one escaper, `sparkplane_documents::markup` ([`text`], [`attribute`]).
//!
//! Why SVG without JavaScript: the charts are static pictures of a finished
//! model, so drawing them here keeps the output deterministic and testable as
//! text, lets a browser render them with scripts disabled (mail clients, CI
//! artifact viewers with strict CSP), and leaves nothing to execute that log
//! text could inject into. Hover details come from SVG `<title>` elements.

use std::fmt::Write as _;

use sparkplane_documents::markup::{attribute, text};
use sparkplane_eventlog::model::{AppSummary, Outcome, StageAttemptState, StageStats};

use crate::analyze::{Finding, analyze, duration};
use crate::cost::{AppCost, PriceSheet, app_cost};

/// Width of every chart, in SVG user units (the SVG scales to the page).
const CHART_WIDTH: f64 = 960.0;
/// Room left of a chart's plot area for row labels.
const LABEL_WIDTH: f64 = 170.0;
/// Room right of the plot area.
const RIGHT_MARGIN: f64 = 20.0;
/// Height of one row (an executor lane, a stage bar, a distribution).
const ROW_HEIGHT: f64 = 22.0;
/// Height of the time axis under a chart.
const AXIS_HEIGHT: f64 = 28.0;
/// Height of the executor-cores step chart under the lanes.
const CORES_HEIGHT: f64 = 80.0;
/// Rows drawn at most per chart; more are summarized in a note so the file stays small.
pub const MAX_ROWS: usize = 400;

/// Where a report served by the History Server leads back to: the
/// application's pages and the list of applications (links, never fetched).
#[derive(Debug, Clone, Copy)]
pub struct Served<'a> {
    pub pages: &'a str,
    pub list: &'a str,
}

/// Renders the report of `app`, priced with `sheet`. Pure and deterministic.
pub fn report_html(app: &AppSummary, sheet: &PriceSheet) -> String {
    render(app, sheet, None)
}

/// [`report_html`] as the History Server serves it at `/report/{app}`: the
/// same document with a navigation line back to `served`'s pages first.
pub fn report_html_served(app: &AppSummary, sheet: &PriceSheet, served: Served) -> String {
    render(app, sheet, Some(served))
}

fn render(app: &AppSummary, sheet: &PriceSheet, served: Option<Served>) -> String {
    let findings = analyze(app);
    let cost = app_cost(app, sheet);
    let title = app.name.as_deref().or(app.app_id.as_deref()).unwrap_or("Spark application");
    let axis = TimeAxis::of(app);

    let mut html = String::with_capacity(32 * 1024);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str("<meta name=\"generator\" content=\"sparkplane analyze --html\">\n");
    let _ = writeln!(html, "<title>{} · sparkplane report</title>", text(title));
    html.push_str("<style>\n");
    html.push_str(STYLE);
    html.push_str("</style>\n</head>\n<body>\n");
    if let Some(served) = served {
        let _ = writeln!(
            html,
            "<nav aria-label=\"History Server\" class=\"back\"><a href=\"{}\">← This application's pages</a> · \
             <a href=\"{}\">All applications</a></nav>",
            attribute(served.pages),
            attribute(served.list)
        );
    }
    header(&mut html, app, title);
    summary(&mut html, app, &cost);
    findings_section(&mut html, &findings);
    executor_timeline(&mut html, app, axis.as_ref());
    stage_gantt(&mut html, app, axis.as_ref());
    task_times(&mut html, app);
    cost_breakdown(&mut html, &cost, sheet);
    warnings(&mut html, app);
    html.push_str(
        "<footer>Made by <code>sparkplane analyze --html</code> from the application's event log. \
         Self-contained: no scripts, no external resources.</footer>\n</body>\n</html>\n",
    );
    html
}

const STYLE: &str = "\
:root{--fg:#1d2330;--muted:#5b6478;--line:#d5d9e2;--bg:#fff;--band:#f4f6fa;--ok:#2e7d4f;--bad:#b3261e;\
--warn:#a15c00;--bar:#4a78c2;--crit:#d9480f;--box:#7a5cc2}\n\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg);\
margin:0 auto;max-width:1000px;padding:16px 20px 40px}\n\
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);\
padding-bottom:4px}\n\
.meta{color:var(--muted);margin:0}.outcome-succeeded{color:var(--ok)}.outcome-failed{color:var(--bad)}\
.outcome-incomplete{color:var(--warn)}\n\
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;vertical-align:top;\
padding:4px 8px;border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600}\n\
td.num{text-align:right;font-variant-numeric:tabular-nums}\n\
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px}\n\
.figure{background:var(--band);border-radius:6px;padding:8px 10px}.figure b{display:block;font-size:17px}\n\
.figure span{color:var(--muted);font-size:12px}\n\
.sev{font-weight:600;text-transform:uppercase;font-size:12px}.sev-critical{color:var(--bad)}\
.sev-warn{color:var(--warn)}.sev-info{color:var(--muted)}\n\
svg{width:100%;height:auto;display:block;margin:4px 0}svg text{font:11px system-ui,sans-serif;fill:var(--fg)}\n\
svg .axis line,svg .grid{stroke:var(--line)}svg .axis text,svg .muted{fill:var(--muted)}\n\
.executor-bar{fill:var(--bar)}.cores-line{fill:none;stroke:var(--bar);stroke-width:2}\n\
.stage-bar rect{fill:var(--bar)}.stage-bar.critical rect{fill:var(--crit)}\
.stage-bar.failed rect{fill:none;stroke:var(--bad);stroke-width:2}\n\
.task-dist line{stroke:var(--box);stroke-width:2}.task-dist rect{fill:var(--box);opacity:.55}\
.task-dist .median{stroke:var(--fg);stroke-width:2}\n\
.cost-cpu{fill:#4a78c2}.cost-memory{fill:#2e9d8f}.cost-gpu{fill:#c2854a}\n\
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}\n\
.note{color:var(--muted);font-size:12px}footer{color:var(--muted);font-size:12px;margin-top:32px}\n\
code{font-size:12px;background:var(--band);padding:1px 4px;border-radius:3px}\n";

/// Maps epoch milliseconds onto a chart's plot area.
#[derive(Debug, Clone, Copy)]
struct TimeAxis {
    start_ms: u64,
    end_ms: u64,
}

impl TimeAxis {
    /// The application's span: start to end (or to its last event), else what the
    /// executors and stages cover; `None` when the log has no times at all.
    fn of(app: &AppSummary) -> Option<TimeAxis> {
        let mut times: Vec<u64> = Vec::new();
        times.extend(app.start_time_ms);
        times.extend(app.start_time_ms.zip(app.duration_ms).map(|(s, d)| s.saturating_add(d)));
        for e in &app.executors.timeline {
            times.push(e.added_ms);
            times.push(e.added_ms.saturating_add(e.lifetime_ms));
        }
        for s in &app.stage_stats {
            times.extend([s.submitted_ms, s.completed_ms, s.first_launch_ms, s.last_finish_ms].into_iter().flatten());
        }
        times.retain(|t| *t > 0);
        let start_ms = app.start_time_ms.filter(|t| *t > 0).or_else(|| times.iter().copied().min())?;
        let end_ms = times.iter().copied().max()?.max(start_ms);
        Some(TimeAxis { start_ms, end_ms })
    }

    fn span_ms(&self) -> u64 {
        (self.end_ms - self.start_ms).max(1)
    }

    /// The x coordinate of `t`, clamped to the plot area.
    fn x(&self, t: u64) -> f64 {
        let t = t.clamp(self.start_ms, self.end_ms);
        LABEL_WIDTH + (t - self.start_ms) as f64 / self.span_ms() as f64 * plot_width()
    }

    /// Draws the axis (ticks at a round step, labelled from the start) at `y`, with grid
    /// lines up to `top`.
    fn draw(&self, out: &mut String, top: f64, y: f64) {
        let step = tick_step(self.span_ms());
        out.push_str("<g class=\"axis\">");
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            n(LABEL_WIDTH),
            n(y),
            n(chart_right()),
            n(y)
        );
        let mut offset = 0;
        while offset <= self.span_ms() {
            let x = self.x(self.start_ms + offset);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/><text x=\"{x}\" y=\"{}\" \
                 text-anchor=\"middle\">{}</text>",
                n(top),
                n(y + 4.0),
                n(y + 16.0),
                text(&duration(offset)),
                x = n(x)
            );
            let Some(next) = offset.checked_add(step) else { break };
            offset = next;
        }
        out.push_str("</g>");
    }
}

fn plot_width() -> f64 {
    CHART_WIDTH - LABEL_WIDTH - RIGHT_MARGIN
}

fn chart_right() -> f64 {
    CHART_WIDTH - RIGHT_MARGIN
}

/// A round tick step giving at most about ten ticks over `span_ms`.
fn tick_step(span_ms: u64) -> u64 {
    const STEPS: [u64; 16] =
        [1, 5, 10, 50, 100, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000];
    let step = STEPS.iter().copied().find(|s| span_ms / s <= 10);
    step.unwrap_or_else(|| span_ms.div_ceil(10 * 3_600_000) * 3_600_000)
}

/// A coordinate with one decimal, without a trailing `.0`.
fn n(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 {
        return "0".to_owned();
    }
    if rounded.fract() == 0.0 { format!("{rounded:.0}") } else { format!("{rounded:.1}") }
}

fn header(out: &mut String, app: &AppSummary, title: &str) {
    let (outcome, class) = match app.outcome {
        Outcome::Succeeded => ("succeeded", "outcome-succeeded"),
        Outcome::Failed => ("failed", "outcome-failed"),
        Outcome::Incomplete => ("incomplete (no application end in the log)", "outcome-incomplete"),
    };
    let _ = writeln!(out, "<header>\n<h1 id=\"app-name\">{}</h1>", text(title));
    let mut meta = Vec::new();
    if let Some(id) = &app.app_id {
        meta.push(format!("<code>{}</code>", text(id)));
    }
    if let Some(version) = &app.spark_version {
        meta.push(format!("Spark {}", text(version)));
    }
    if let Some(user) = &app.user {
        meta.push(format!("user {}", text(user)));
    }
    meta.push(format!("<span class=\"{class}\">{outcome}</span>"));
    if let Some(ms) = app.duration_ms {
        meta.push(format!("ran {}", duration(ms)));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "));
    if let Some(failure) = &app.failure {
        let cause = failure.root_cause.as_deref().unwrap_or(&failure.message);
        let _ = writeln!(out, "<p class=\"meta outcome-failed\">job {} failed: {}</p>", failure.job_id, text(cause));
    }
    out.push_str("</header>\n");
}

fn figure(out: &mut String, value: &str, label: &str) {
    let _ = write!(out, "<div class=\"figure\"><b>{}</b><span>{}</span></div>", text(value), text(label));
}

fn summary(out: &mut String, app: &AppSummary, cost: &AppCost) {
    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"figures\">");
    if let Some(wall) = app.wall_time {
        figure(out, &duration(wall.total_ms), "wall time");
        figure(out, &duration(wall.driver_only_ms), "driver only (no task running)");
    }
    if let Some(t) = &app.timing {
        figure(out, &duration(t.critical_path_ms), "critical path (unlimited executors)");
        figure(out, &duration(t.ideal_ms), &format!("ideal on {} cores", t.cores));
    }
    figure(out, &format!("{} / {} / {}", app.jobs.total, app.stages.total, app.tasks.total), "jobs / stages / tasks");
    figure(out, &format!("{} / {}", app.tasks.failed, app.tasks.killed), "tasks failed / killed");
    figure(out, &duration(app.metrics.task_time_ms), "task time");
    if let Some(gc) = app.metrics.gc_share {
        figure(out, &format!("{:.1}%", gc * 100.0), "GC share of task time");
    }
    if let Some(u) = app.executors.utilisation {
        figure(out, &format!("{:.0}%", u * 100.0), "executor utilisation");
    }
    figure(out, &crate::analyze::bytes(app.metrics.input_bytes), "input");
    figure(out, &crate::analyze::bytes(app.metrics.output_bytes), "output");
    figure(out, &crate::analyze::bytes(app.metrics.shuffle_read_bytes), "shuffle read");
    figure(out, &crate::analyze::bytes(app.metrics.disk_spill_bytes), "spilled to disk");
    if let Some(heap) = app.peak_memory.and_then(|p| p.jvm_heap_bytes) {
        figure(out, &crate::analyze::bytes(heap), "peak executor heap");
    }
    figure(out, &format!("${:.4}", cost.cost), "cost");
    out.push_str("</div>\n</section>\n");
}

fn findings_section(out: &mut String, findings: &[Finding]) {
    let _ = writeln!(out, "<section id=\"findings\">\n<h2>Findings ({})</h2>", findings.len());
    if findings.is_empty() {
        out.push_str("<p>No findings: nothing in the event log calls for a change.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>Severity</th><th>Finding</th><th>Stage</th><th>Evidence</th><th>Fix</th></tr>\
         </thead>\n<tbody>\n",
    );
    for f in findings {
        let stage = f.stage.map_or_else(|| "–".to_owned(), |s| s.to_string());
        let _ = writeln!(
            out,
            "<tr class=\"finding\" data-id=\"{id}\"><td class=\"sev sev-{sev}\">{sev}</td><td><b>{title}</b><br>\
             <code>{id}</code></td><td>{stage}</td><td>{evidence}</td><td>{fix}</td></tr>",
            id = attribute(f.id),
            sev = f.severity.as_str(),
            title = text(&f.title),
            evidence = text(&f.evidence),
            fix = text(&f.fix),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Writes the `... and N more` note for charts cut at [`MAX_ROWS`].
fn more_rows(out: &mut String, total: usize, what: &str) {
    if total > MAX_ROWS {
        let _ = writeln!(out, "<p class=\"note\">The first {MAX_ROWS} of {total} {what} are drawn.</p>");
    }
}

fn no_times(out: &mut String, id: &str, what: &str) {
    let _ = writeln!(
        out,
        "<svg id=\"{id}\" viewBox=\"0 0 {w} 30\" role=\"img\" data-rows=\"0\"><text x=\"0\" y=\"20\" \
         class=\"muted\">The log has no {what}.</text></svg>",
        w = n(CHART_WIDTH)
    );
}

fn executor_timeline(out: &mut String, app: &AppSummary, axis: Option<&TimeAxis>) {
    let timeline = &app.executors.timeline;
    let _ = writeln!(
        out,
        "<section id=\"executors\">\n<h2>Executor timeline</h2>\n<p class=\"note\">{} executor{}, at most {} at once \
         with {} cores; each lane runs from when the executor was added to when it was removed (or the log ends). \
         Below: executor cores alive over time.</p>",
        app.executors.count,
        if app.executors.count == 1 { "" } else { "s" },
        app.executors.max_concurrent,
        app.executors.max_concurrent_cores
    );
    let Some(axis) = axis.filter(|_| !timeline.is_empty()) else {
        no_times(out, "executor-timeline", "executors with times");
        out.push_str("</section>\n");
        return;
    };
    let lanes = &timeline[..timeline.len().min(MAX_ROWS)];
    let lanes_height = lanes.len() as f64 * ROW_HEIGHT;
    let cores_top = lanes_height + 10.0;
    let axis_y = cores_top + CORES_HEIGHT;
    let height = axis_y + AXIS_HEIGHT;
    let _ = write!(
        out,
        "<svg id=\"executor-timeline\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"executor timeline\" \
         data-lanes=\"{}\">",
        n(CHART_WIDTH),
        n(height),
        lanes.len()
    );
    axis.draw(out, 0.0, axis_y);
    for (i, e) in lanes.iter().enumerate() {
        let y = i as f64 * ROW_HEIGHT;
        let end = e.added_ms.saturating_add(e.lifetime_ms);
        let (x1, x2) = (axis.x(e.added_ms), axis.x(end));
        let cores = e.cores.map_or_else(|| "unknown cores".to_owned(), |c| format!("{c} cores"));
        let removed = match (&e.removed_ms, &e.removed_reason) {
            (Some(_), Some(reason)) => format!("; removed: {reason}"),
            (Some(_), None) => "; removed".to_owned(),
            (None, _) => "; alive at the end of the log".to_owned(),
        };
        let host = e.host.as_deref().map(|h| format!(" on {h}")).unwrap_or_default();
        let tip = format!("executor {}{host}: {cores}, {}{removed}", e.id, duration(e.lifetime_ms));
        let _ = write!(
            out,
            "<g class=\"executor-lane\" data-executor=\"{id}\"><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}\
             </text><rect class=\"executor-bar\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"2\">\
             <title>{tip}</title></rect></g>",
            id = attribute(&e.id),
            lx = n(LABEL_WIDTH - 6.0),
            ty = n(y + ROW_HEIGHT * 0.65),
            label = text(&clip_label(&format!("{} ({cores})", e.id))),
            x = n(x1),
            y = n(y + 3.0),
            w = n((x2 - x1).max(1.0)),
            h = n(ROW_HEIGHT - 6.0),
            tip = text(&tip),
        );
    }
    cores_step_chart(out, app, axis, cores_top);
    out.push_str("</svg>\n");
    more_rows(out, timeline.len(), "executors");
    out.push_str("</section>\n");
}

/// Executor cores alive over time, as a step line in a band `CORES_HEIGHT` high from `top`.
fn cores_step_chart(out: &mut String, app: &AppSummary, axis: &TimeAxis, top: f64) {
    let mut edges: Vec<(u64, i64)> = Vec::new();
    for e in &app.executors.timeline {
        let cores = i64::from(e.cores.unwrap_or(0));
        edges.push((e.added_ms, cores));
        edges.push((e.added_ms.saturating_add(e.lifetime_ms), -cores));
    }
    edges.sort_unstable();
    let peak = app.executors.max_concurrent_cores.max(1) as f64;
    let bottom = top + CORES_HEIGHT - 6.0;
    let y_of = |cores: i64| bottom - (cores.max(0) as f64 / peak) * (CORES_HEIGHT - 16.0);
    let mut points = vec![format!("{},{}", n(axis.x(axis.start_ms)), n(y_of(0)))];
    let mut alive = 0i64;
    for (t, delta) in edges {
        let x = n(axis.x(t));
        points.push(format!("{x},{}", n(y_of(alive))));
        alive += delta;
        points.push(format!("{x},{}", n(y_of(alive))));
    }
    points.push(format!("{},{}", n(axis.x(axis.end_ms)), n(y_of(alive))));
    let _ = write!(
        out,
        "<g class=\"cores\"><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">cores (peak {peak})</text>\
         <polyline class=\"cores-line\" points=\"{points}\"><title>executor cores alive; peak {peak}</title>\
         </polyline></g>",
        lx = n(LABEL_WIDTH - 6.0),
        ty = n(top + CORES_HEIGHT / 2.0),
        peak = app.executors.max_concurrent_cores,
        points = points.join(" ")
    );
}

/// Where a stage attempt's bar starts and ends: submitted (else first launch) to
/// completed (else last finish, else the end of the log for an active attempt).
fn stage_span(stage: &StageStats, axis: &TimeAxis) -> Option<(u64, u64)> {
    let start = stage.submitted_ms.or(stage.first_launch_ms)?;
    let end = match stage.completed_ms.or(stage.last_finish_ms) {
        Some(end) => end,
        None if stage.state == StageAttemptState::Active => axis.end_ms,
        None => start,
    };
    Some((start, end.max(start)))
}

fn clip_label(text: &str) -> String {
    const MAX: usize = 28;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn stage_label(stage: &StageStats) -> String {
    let attempt = if stage.attempt_id > 0 { format!(".{}", stage.attempt_id) } else { String::new() };
    match &stage.name {
        Some(name) => format!("{}{attempt} {name}", stage.stage_id),
        None => format!("stage {}{attempt}", stage.stage_id),
    }
}

fn stage_gantt(out: &mut String, app: &AppSummary, axis: Option<&TimeAxis>) {
    let critical: &[u32] = app.timing.as_ref().map_or(&[], |t| t.critical_stages.as_slice());
    let _ = writeln!(
        out,
        "<section id=\"stages\">\n<h2>Stages</h2>\n<p class=\"note legend\">Each bar is a stage attempt from \
         submission to completion.<span style=\"background:var(--crit)\"></span>on the critical path \
         (the chain of stages, weighted by their slowest task, that bounds each job)\
         <span style=\"background:var(--bar)\"></span>other stages<span style=\"border:2px solid var(--bad)\"></span>\
         failed attempt</p>"
    );
    let Some(axis) = axis else {
        no_times(out, "stage-gantt", "stage times");
        out.push_str("</section>\n");
        return;
    };
    let spans: Vec<(&StageStats, (u64, u64))> =
        app.stage_stats.iter().filter_map(|s| Some((s, stage_span(s, axis)?))).take(MAX_ROWS).collect();
    if spans.is_empty() {
        no_times(out, "stage-gantt", "stage attempts with times");
        out.push_str("</section>\n");
        return;
    }
    let axis_y = spans.len() as f64 * ROW_HEIGHT + 4.0;
    let marked = spans.iter().filter(|(s, _)| critical.contains(&s.stage_id)).count();
    let _ = write!(
        out,
        "<svg id=\"stage-gantt\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"stage Gantt chart\" \
         data-bars=\"{}\" data-critical=\"{marked}\">",
        n(CHART_WIDTH),
        n(axis_y + AXIS_HEIGHT),
        spans.len()
    );
    axis.draw(out, 0.0, axis_y);
    for (i, (stage, (start, end))) in spans.iter().enumerate() {
        let y = i as f64 * ROW_HEIGHT;
        let on_path = critical.contains(&stage.stage_id);
        let mut class = String::from("stage-bar");
        if on_path {
            class.push_str(" critical");
        }
        if stage.state == StageAttemptState::Failed {
            class.push_str(" failed");
        }
        let state = match stage.state {
            StageAttemptState::Active => "active",
            StageAttemptState::Completed => "completed",
            StageAttemptState::Failed => "failed",
        };
        let slowest = stage.task_time.map(|t| format!(", slowest task {}", duration(t.max_ms))).unwrap_or_default();
        let tip = format!(
            "{}: {state}, {} task{}{}, {}{slowest}{}",
            stage_label(stage),
            stage.tasks,
            if stage.tasks == 1 { "" } else { "s" },
            if stage.failed_tasks > 0 { format!(" ({} failed)", stage.failed_tasks) } else { String::new() },
            duration(end - start),
            if on_path { "; on the critical path" } else { "" }
        );
        let (x1, x2) = (axis.x(*start), axis.x(*end));
        let _ = write!(
            out,
            "<g class=\"{class}\" data-stage=\"{sid}\" data-attempt=\"{aid}\" data-critical=\"{on_path}\"><text \
             x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" \
             height=\"{h}\" rx=\"2\"><title>{tip}</title></rect></g>",
            sid = stage.stage_id,
            aid = stage.attempt_id,
            lx = n(LABEL_WIDTH - 6.0),
            ty = n(y + ROW_HEIGHT * 0.65),
            label = text(&clip_label(&stage_label(stage))),
            x = n(x1),
            y = n(y + 3.0),
            w = n((x2 - x1).max(1.5)),
            h = n(ROW_HEIGHT - 6.0),
            tip = text(&tip),
        );
    }
    out.push_str("</svg>\n");
    more_rows(out, app.stage_stats.len(), "stage attempts");
    out.push_str("</section>\n");
}

fn task_times(out: &mut String, app: &AppSummary) {
    out.push_str(
        "<section id=\"task-times\">\n<h2>Task times per stage</h2>\n<p class=\"note\">Log scale. The line runs \
         from the shortest to the longest task, the box from the median to the 99th percentile; the dark tick is \
         the median. A long line or box right of the tick is skew.</p>\n",
    );
    let rows: Vec<&StageStats> = app.stage_stats.iter().filter(|s| s.task_time.is_some()).take(MAX_ROWS).collect();
    let Some(longest) = rows.iter().filter_map(|s| s.task_time.map(|t| t.max_ms)).max() else {
        no_times(out, "task-time-distributions", "task times");
        out.push_str("</section>\n");
        return;
    };
    // Decades from 1 ms to the first power of ten at or above the longest task.
    let mut decades = 1u32;
    while 10u64.checked_pow(decades).is_some_and(|d| d < longest) && decades < 19 {
        decades += 1;
    }
    let scale = |ms: u64| LABEL_WIDTH + ((ms.max(1) as f64).log10() / f64::from(decades)).min(1.0) * plot_width();
    let axis_y = rows.len() as f64 * ROW_HEIGHT + 4.0;
    let _ = write!(
        out,
        "<svg id=\"task-time-distributions\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"task time \
         distributions\" data-rows=\"{}\">",
        n(CHART_WIDTH),
        n(axis_y + AXIS_HEIGHT),
        rows.len()
    );
    out.push_str("<g class=\"axis\">");
    let _ = write!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
        n(LABEL_WIDTH),
        n(axis_y),
        n(chart_right()),
        n(axis_y)
    );
    for d in 0..=decades {
        let ms = 10u64.pow(d);
        let x = n(scale(ms));
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{}\"/><text x=\"{x}\" y=\"{}\" \
             text-anchor=\"middle\">{}</text>",
            n(axis_y + 4.0),
            n(axis_y + 16.0),
            text(&duration(ms))
        );
    }
    out.push_str("</g>");
    for (i, stage) in rows.iter().enumerate() {
        let Some(t) = stage.task_time else { continue };
        let y = i as f64 * ROW_HEIGHT;
        let mid = y + ROW_HEIGHT / 2.0;
        let tip = format!(
            "{}: {} task{}; min {}, median {}, p99 {}, max {}",
            stage_label(stage),
            t.count,
            if t.count == 1 { "" } else { "s" },
            duration(t.min_ms),
            duration(t.median_ms),
            duration(t.p99_ms),
            duration(t.max_ms)
        );
        let (box_left, box_right) = (scale(t.median_ms), scale(t.p99_ms));
        let _ = write!(
            out,
            "<g class=\"task-dist\" data-stage=\"{sid}\" data-attempt=\"{aid}\" data-min-ms=\"{min}\" \
             data-median-ms=\"{median}\" data-p99-ms=\"{p99}\" data-max-ms=\"{max}\"><title>{tip}</title>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <line x1=\"{x_min}\" y1=\"{mid}\" x2=\"{x_max}\" y2=\"{mid}\"/>\
             <rect x=\"{bx}\" y=\"{by}\" width=\"{bw}\" height=\"{bh}\"/>\
             <line class=\"median\" x1=\"{bx}\" y1=\"{by}\" x2=\"{bx}\" y2=\"{be}\"/></g>",
            sid = stage.stage_id,
            aid = stage.attempt_id,
            min = t.min_ms,
            median = t.median_ms,
            p99 = t.p99_ms,
            max = t.max_ms,
            tip = text(&tip),
            lx = n(LABEL_WIDTH - 6.0),
            ty = n(y + ROW_HEIGHT * 0.65),
            label = text(&clip_label(&stage_label(stage))),
            x_min = n(scale(t.min_ms)),
            x_max = n(scale(t.max_ms).max(scale(t.min_ms) + 1.0)),
            mid = n(mid),
            bx = n(box_left),
            by = n(y + 5.0),
            bw = n((box_right - box_left).max(2.0)),
            bh = n(ROW_HEIGHT - 10.0),
            be = n(y + ROW_HEIGHT - 5.0),
        );
    }
    out.push_str("</svg>\n");
    more_rows(out, app.stage_stats.len(), "stage attempts");
    out.push_str("</section>\n");
}

fn cost_breakdown(out: &mut String, cost: &AppCost, sheet: &PriceSheet) {
    // The cost engine prices the whole; the split follows the unit prices it used.
    let pool = cost.node_pool.as_ref().and_then(|p| sheet.node_pools.get(p));
    let core_price = pool.and_then(|p| p.core_hour).unwrap_or(sheet.core_hour);
    let gib_price = pool.and_then(|p| p.gib_hour).unwrap_or(sheet.gib_hour);
    let gpu_price = pool.and_then(|p| p.gpu_hour).unwrap_or(sheet.gpu_hour);
    let parts = [
        ("cpu", "CPU", cost.core_hours, "core-hours", core_price),
        ("memory", "Memory", cost.gib_hours, "GiB-hours", gib_price),
        ("gpu", "GPU", cost.gpu_hours, "GPU-hours", gpu_price),
    ];
    let list_price: f64 = parts.iter().map(|(_, _, qty, _, price)| qty * price).sum();
    let share = |qty: f64, price: f64| if list_price > 0.0 { qty * price / list_price } else { 0.0 };
    let _ = writeln!(
        out,
        "<section id=\"cost\">\n<h2>Cost</h2>\n<p class=\"note\">${:.4} in all{}: executor core-hours and container \
         GiB-hours (heap + overhead + PySpark + off-heap, from sparkplane's sizing model, {} per executor) at the \
         price sheet's prices{}.</p>",
        cost.cost,
        if cost.spot { " (spot)" } else { "" },
        text(&cost.executor_memory.to_string()),
        cost.node_pool.as_deref().map(|p| format!(" for node pool {}", text(p))).unwrap_or_default()
    );
    let _ = write!(
        out,
        "<svg id=\"cost-breakdown\" viewBox=\"0 0 {} 40\" role=\"img\" aria-label=\"cost breakdown\">",
        n(CHART_WIDTH)
    );
    let mut x = 0.0;
    for (key, label, qty, _, price) in parts {
        let width = share(qty, price) * CHART_WIDTH;
        if width <= 0.0 {
            continue;
        }
        let _ = write!(
            out,
            "<rect class=\"cost-part cost-{key}\" data-part=\"{key}\" x=\"{}\" y=\"4\" width=\"{}\" height=\"28\">\
             <title>{label}: ${:.4} ({:.0}%)</title></rect>",
            n(x),
            n(width),
            cost.cost * share(qty, price),
            share(qty, price) * 100.0
        );
        x += width;
    }
    out.push_str(
        "</svg>\n<table>\n<thead><tr><th>Resource</th><th>Used</th><th>Price</th><th>Cost</th></tr></thead>\n<tbody>\n",
    );
    for (key, label, qty, unit, price) in parts {
        let _ = writeln!(
            out,
            "<tr data-part=\"{key}\"><td>{label}</td><td class=\"num\">{qty:.4} {unit}</td><td class=\"num\">${price} \
             per {}</td><td class=\"num\">${:.4}</td></tr>",
            unit.trim_end_matches('s'),
            cost.cost * share(qty, price)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    for note in &cost.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", text(note));
    }
    out.push_str("</section>\n");
}

fn warnings(out: &mut String, app: &AppSummary) {
    if app.warnings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"warnings\">\n<h2>Log warnings ({})</h2>\n<ul>",
        app.warnings.len() as u64 + app.warnings_omitted
    );
    for w in &app.warnings {
        let _ = writeln!(out, "<li>{}</li>", text(&w.to_string()));
    }
    if app.warnings_omitted > 0 {
        let _ = writeln!(out, "<li>… and {} more</li>", app.warnings_omitted);
    }
    out.push_str("</ul>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Served by the History Server, the report leads back to the
    /// application's pages and the list; written by `analyze --html`, it has
    /// no such line (it may be opened anywhere), and is otherwise the same.
    #[test]
    fn a_served_report_links_back_to_the_pages_and_a_written_one_does_not() {
        let app = crate::test_support::healthy_app();
        let sheet = PriceSheet::opencost_defaults();
        let served = report_html_served(&app, &sheet, Served { pages: "/history/a%2D1/jobs/?x=1&y=2", list: "/" });
        let nav = "<nav aria-label=\"History Server\" class=\"back\"><a href=\"/history/a%2D1/jobs/?x=1&amp;y=2\">\
                   ← This application's pages</a> · <a href=\"/\">All applications</a></nav>\n";
        assert!(served.contains(nav), "{served:.600}");
        let written = report_html(&app, &sheet);
        assert!(!written.contains("<nav"), "{written:.600}");
        assert_eq!(served.replacen(nav, "", 1), written);
    }

    /// Log text with markup, both quotes, an ampersand and control characters
    /// reaches the report only escaped: in element content (the title, the
    /// header, a stage label and tooltip, the failure) and in an attribute (an
    /// executor's `data-executor`), so nothing from the log becomes markup.
    #[test]
    fn escapes_markup_quotes_and_controls() {
        let hostile = "<script>alert(\"x\")</script> & it's\u{7}\r";
        let mut app = crate::test_support::healthy_app();
        app.name = Some(hostile.to_owned());
        app.user = Some("o'neil & \"co\"".to_owned());
        app.stage_stats[0].name = Some("collect at <stdin>:1\u{1b}[31m".to_owned());
        app.executors.timeline[0].id = "7\"><script>".to_owned();
        app.failure = Some(sparkplane_eventlog::model::Failure {
            job_id: 0,
            message: "ValueError: <b>bad</b>\u{0}".to_owned(),
            root_cause: None,
            stage_id: Some(0),
            stage_attempt_id: Some(0),
            stage_failure: None,
            cause: sparkplane_eventlog::cause::FailureCause::Other,
        });
        let html = report_html(&app, &PriceSheet::opencost_defaults());

        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; it&#39;s\u{FFFD}&#13;";
        assert!(html.contains(&format!("<title>{escaped} · sparkplane report</title>")), "title: {html}");
        assert!(html.contains(&format!("<h1 id=\"app-name\">{escaped}</h1>")), "header: {html}");
        assert!(html.contains("user o&#39;neil &amp; &quot;co&quot;"), "user: {html}");
        assert!(html.contains("0 collect at &lt;stdin&gt;:1\u{FFFD}[31m"), "stage label: {html}");
        assert!(html.contains("job 0 failed: ValueError: &lt;b&gt;bad&lt;/b&gt;\u{FFFD}"), "failure: {html}");
        assert!(html.contains("data-executor=\"7&quot;&gt;&lt;script&gt;\""), "attribute: {html}");
        // Nothing of it is left raw: no element from the log, no control character but line ends.
        assert!(!html.contains("<script") && !html.contains("<b>bad"), "{html}");
        assert!(!html.chars().any(|c| c.is_control() && c != '\n'), "a raw control character is left");
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step(9), 1);
        assert_eq!(tick_step(12_000), 2_000);
        assert_eq!(tick_step(130_000), 30_000);
        assert_eq!(tick_step(100 * 3_600_000), 10 * 3_600_000);
        for span in [1, 999, 61_000, 7_200_000, u64::MAX / 2] {
            assert!(span / tick_step(span) <= 10, "{span}");
        }
    }

    #[test]
    fn coordinates_are_short_and_stable() {
        assert_eq!((n(170.0), n(12.345), n(-0.04)), ("170".to_owned(), "12.3".to_owned(), "0".to_owned()));
    }
}
