//! Live progress of a running application, read from its driver's monitoring
//! REST API (`/api/v1/applications/...` on the Spark UI port). Polling never
//! blocks a run: a slow or absent UI just means no update this time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The application id, once the driver reports it.
    pub app_id: Option<String>,
    /// Jobs finished (succeeded or failed).
    pub jobs_done: u64,
    /// Jobs known so far.
    pub jobs_total: u64,
    /// Stages finished (complete, failed or skipped).
    pub stages_done: u64,
    /// Stages known so far.
    pub stages_total: u64,
    /// Tasks finished.
    pub tasks_done: u64,
    /// Tasks of the stages known so far.
    pub tasks_total: u64,
    /// Tasks failed.
    pub tasks_failed: u64,
}

#[derive(Deserialize)]
struct App {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stage {
    status: String,
    #[serde(default)]
    num_tasks: u64,
    #[serde(default)]
    num_complete_tasks: u64,
    #[serde(default)]
    num_failed_tasks: u64,
}

/// Reads progress from a driver's REST API.
pub struct ProgressReader {
    agent: ureq::Agent,
    /// Ports the UI may be on: the one chosen, then the ones Spark moves to when it is taken.
    ports: Vec<u16>,
    /// The port that answered.
    port: Option<u16>,
    app_id: Option<String>,
    /// Which candidate to try next while none has answered.
    next: usize,
}

impl ProgressReader {
    /// A reader for the Spark UI on 127.0.0.1:`port` (or up to `retries` ports after it).
    pub fn new(port: u16, retries: u16) -> Self {
        let agent = sparkplane_http::agent(Some(Duration::from_millis(800)));
        let ports = (0..=retries).filter_map(|i| port.checked_add(i)).collect();
        ProgressReader { agent, ports, port: None, app_id: None, next: 0 }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, port: u16, path: &str) -> Option<T> {
        let mut response = self.agent.get(format!("http://127.0.0.1:{port}/api/v1{path}")).call().ok()?;
        // An answer that is not a success is no progress (the agent returns every status).
        if !response.status().is_success() {
            return None;
        }
        response.body_mut().read_json::<T>().ok()
    }

    /// The current progress, or None when the driver does not answer (yet).
    pub fn poll(&mut self) -> Option<Progress> {
        if self.app_id.is_none() {
            // The chosen port on every poll, and one of the others in turn (a refused local connection is instant).
            let candidates: Vec<u16> = match self.port {
                Some(port) => vec![port],
                None => {
                    let others = &self.ports[1.min(self.ports.len())..];
                    let other = (!others.is_empty()).then(|| others[self.next % others.len()]);
                    self.next += 1;
                    self.ports.first().copied().into_iter().chain(other).collect()
                }
            };
            let (port, apps) = candidates
                .into_iter()
                .find_map(|port| self.get::<Vec<App>>(port, "/applications").map(|a| (port, a)))?;
            self.app_id = apps.into_iter().next().map(|a| a.id);
            self.port = Some(port);
        }
        let port = self.port?;
        let id = self.app_id.clone()?;
        let jobs: Vec<Job> = self.get(port, &format!("/applications/{id}/jobs"))?;
        let stages: Vec<Stage> = self.get(port, &format!("/applications/{id}/stages"))?;
        Some(summarise(id, &jobs, &stages))
    }
}

fn summarise(app_id: String, jobs: &[Job], stages: &[Stage]) -> Progress {
    let finished_stage = |s: &Stage| matches!(s.status.as_str(), "COMPLETE" | "FAILED" | "SKIPPED");
    Progress {
        app_id: Some(app_id),
        jobs_done: jobs.iter().filter(|j| j.status == "SUCCEEDED" || j.status == "FAILED").count() as u64,
        jobs_total: jobs.len() as u64,
        stages_done: stages.iter().filter(|s| finished_stage(s)).count() as u64,
        stages_total: stages.len() as u64,
        tasks_done: stages.iter().filter(|s| s.status != "SKIPPED").map(|s| s.num_complete_tasks).sum(),
        tasks_total: stages.iter().filter(|s| s.status != "SKIPPED").map(|s| s.num_tasks).sum(),
        tasks_failed: stages.iter().map(|s| s.num_failed_tasks).sum(),
    }
}

impl Progress {
    /// One line: `jobs 1/2 · stages 3/5 · tasks 40/64 (1 failed)`.
    pub fn line(&self) -> String {
        let mut out = format!(
            "jobs {}/{} · stages {}/{} · tasks {}/{}",
            self.jobs_done, self.jobs_total, self.stages_done, self.stages_total, self.tasks_done, self.tasks_total
        );
        if self.tasks_failed > 0 {
            out.push_str(&format!(" ({} failed)", self.tasks_failed));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_rest_answers() {
        let jobs: Vec<Job> =
            serde_json::from_str(r#"[{"jobId":1,"status":"RUNNING"},{"jobId":0,"status":"SUCCEEDED"}]"#).unwrap();
        let stages: Vec<Stage> = serde_json::from_str(
            r#"[{"status":"ACTIVE","numTasks":8,"numCompleteTasks":3,"numFailedTasks":1},
                {"status":"COMPLETE","numTasks":4,"numCompleteTasks":4,"numFailedTasks":0},
                {"status":"SKIPPED","numTasks":4,"numCompleteTasks":0,"numFailedTasks":0}]"#,
        )
        .unwrap();
        let p = summarise("local-1".into(), &jobs, &stages);
        assert_eq!(p.line(), "jobs 1/2 · stages 2/3 · tasks 7/12 (1 failed)");
    }

    #[test]
    fn an_absent_driver_gives_no_progress() {
        // Nothing listens on a port just released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut reader = ProgressReader::new(port, 2);
        for _ in 0..4 {
            assert_eq!(reader.poll(), None);
        }
    }
}
