//! `jobs` and `jobs/{id}`: Spark's `JobData`.
//!
//! Owns: that shape. Must not: decide a job's status or counts (the replay
//! does).

use std::collections::BTreeMap;

use serde::Serialize;

use super::count;
use crate::time::format_gmt;
use sparkplane_appstatus::replay::Job;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobJson {
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

pub(super) fn job_json(j: &Job) -> JobJson {
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
