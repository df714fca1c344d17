//! The stage timeline of the jobs page and a job's page: one bar per stage
//! attempt from submission to completion, on a shared time axis, with the
//! stages on the critical path (`sparkplane_eventlog::timing`, carried by the
//! detail's [`sparkplane_appstatus::insight::Insight`]) marked and named, and sparkplane's
//! reading of the timing beside it (critical path, ideal run time, driver-only
//! time). Each bar is a link to its stage's page, reachable by keyboard.
//!
//! Owns: that drawing (inline SVG, no script) and its bound: at most
//! [`MAX_BARS`] attempts are drawn, the first by submission, and the page says
//! so. Must not: compute a critical path or a duration another page shows
//! differently (times are the model's, as the API answers them).

use std::fmt::Write;

use crate::ui::{AppView, duration, esc, esc_attr};
use sparkplane_appstatus::replay::Stage;

/// The most stage attempts the timeline draws.
pub const MAX_BARS: usize = 500;
const WIDTH: f64 = 900.0;
const LABEL: f64 = 150.0;
const ROW: i64 = 16;

/// The timing line and the timeline of `stages` (attempts of the model), or
/// nothing when none was submitted. `now_ms` ends the bars of running stages.
pub fn stage_timeline(view: &AppView, stages: &[&Stage], now_ms: i64) -> String {
    let mut shown: Vec<(&Stage, i64, i64)> = stages
        .iter()
        .filter_map(|s| {
            let start = s.submission_time?;
            Some((*s, start, s.completion_time.unwrap_or(now_ms).max(start)))
        })
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    shown.sort_by_key(|(s, start, _)| (*start, s.stage_id, s.attempt_id));
    let total = shown.len();
    shown.truncate(MAX_BARS);
    let first = shown.iter().map(|(_, start, _)| *start).min().unwrap_or(0);
    let last = shown.iter().map(|(_, _, end)| *end).max().unwrap_or(first);
    let span = (last - first).max(1) as f64;
    let insight = view.detail.insight.as_ref();
    let critical = shown.iter().filter(|(s, _, _)| insight.is_some_and(|i| i.is_critical(s.stage_id))).count();
    let height = shown.len() as i64 * ROW + 8;
    let mut out = format!(
        "<h3 id=\"timeline\">Stage timeline</h3><p class=\"legend\"><span class=\"key crit\"></span>on the critical path \
         (the chain of stages, each weighted by its slowest task, that bounds each job: more executors cannot make \
         these shorter) <span class=\"key\"></span>other stages <span class=\"key failed\"></span>failed attempt</p>\
         <svg class=\"timeline\" role=\"group\" aria-label=\"Stage timeline, {total} stage attempts, {critical} on the \
         critical path\" width=\"{}\" height=\"{height}\" data-bars=\"{}\" data-critical=\"{critical}\">",
        (LABEL + WIDTH + 10.0) as i64,
        shown.len()
    );
    for (i, (s, start, end)) in shown.iter().enumerate() {
        let on_path = insight.is_some_and(|i| i.is_critical(s.stage_id));
        let y = i as i64 * ROW;
        let x = LABEL + (start - first) as f64 / span * WIDTH;
        let w = ((end - start) as f64 / span * WIDTH).max(2.0);
        let mut class = String::from("bar");
        if on_path {
            class.push_str(" crit");
        }
        if s.status == "FAILED" {
            class.push_str(" failed");
        }
        let label =
            if s.attempt_id > 0 { format!("{} (retry {})", s.stage_id, s.attempt_id) } else { s.stage_id.to_string() };
        let tip = format!(
            "Stage {label}: {}, {}, {}{}",
            s.status.to_ascii_lowercase(),
            duration(end - start),
            s.name,
            if on_path { "; on the critical path" } else { "" }
        );
        let href = view.link(&format!("stages/stage/?id={}&attempt={}", s.stage_id, s.attempt_id));
        let _ = write!(
            out,
            "<a href=\"{}\" data-stage=\"{}\" data-attempt=\"{}\" data-critical=\"{on_path}\" aria-label=\"{}\">\
             <text x=\"0\" y=\"{}\" font-size=\"11\">stage {}</text><rect class=\"{class}\" x=\"{x:.1}\" y=\"{}\" \
             width=\"{w:.1}\" height=\"12\" rx=\"2\"><title>{}</title></rect></a>",
            esc_attr(&href),
            s.stage_id,
            s.attempt_id,
            esc_attr(&tip),
            y + 12,
            esc(&label),
            y + 2,
            esc(&tip)
        );
    }
    out.push_str("</svg>");
    if total > shown.len() {
        let _ = write!(
            out,
            "<p class=\"muted\">The timeline draws the first {} of {total} stage attempts; the tables list every one.</p>",
            shown.len()
        );
    }
    out
}

/// What the critical path is, on its label (sparkplane's measure; Spark's pages have none).
const CRITICAL_PATH_TIP: &str = "sparkplane's measure: the time with no task running plus, for each job, its \
     longest chain of dependent stages, each counted as its slowest task. More executors cannot make the run \
     shorter than this.";

/// sparkplane's reading of the application's time: wall time, the critical
/// path (the floor more executors cannot beat), driver-only time and the ideal
/// run time with the cores it had, from `analyze`'s timing.
pub fn timing_line(view: &AppView) -> String {
    let Some(insight) = view.detail.insight.as_ref() else { return String::new() };
    let Some(t) = insight.timing.as_ref() else { return String::new() };
    let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let wall = insight.duration_ms.map_or(String::new(), |d| format!("Wall time {}; ", duration(ms(d))));
    // What more executors could save is what the run took beyond its critical path, said only when there is some.
    let gap = insight.duration_ms.map(|d| ms(d) - ms(t.critical_path_ms));
    let floor = match gap {
        Some(gap) if gap > 0 => format!(
            "no number of executors makes the run shorter than that; the other {} of its wall time is what \
             more executors or better scheduling could save",
            duration(gap)
        ),
        // Jobs that ran at once: their critical paths add up to more than the run took.
        Some(gap) if gap < 0 => "its jobs ran at the same time, so each job's own critical path, not their sum, \
             bounds that job"
            .to_owned(),
        _ => "no number of executors makes the run shorter than that".to_owned(),
    };
    format!(
        "<p class=\"timing\" data-critical-path-ms=\"{}\" data-ideal-ms=\"{}\">{wall}<span title=\"{CRITICAL_PATH_TIP}\">\
         critical path</span> {} (driver alone {}): {floor}; with perfect scheduling on its {} cores it would take {}. \
         Stages on the critical path: {}.</p>",
        t.critical_path_ms,
        t.ideal_ms,
        duration(ms(t.critical_path_ms)),
        duration(ms(t.driver_only_ms)),
        t.cores,
        duration(ms(t.ideal_ms)),
        if t.critical_stages.is_empty() {
            "none (no stage ran a task)".to_owned()
        } else {
            t.critical_stages
                .iter()
                .map(|s| {
                    format!("<a href=\"{}\">{s}</a>", esc_attr(&view.link(&format!("stages/stage/?id={s}&attempt=0"))))
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    )
}
