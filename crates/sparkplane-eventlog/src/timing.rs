//! Where an application's wall time went, and how short it could have been:
//! the critical path and the ideal run time, in the manner of Sparklens.
//!
//! Pure: computed from the model's stage attempts, the stages' parents and the
//! jobs' stage lists. Every job runs its stages as a DAG; a stage cannot end
//! before its slowest task, and a job cannot end before the longest chain of
//! stages through its DAG. So:
//!
//! - the **critical path** is driver-only time plus, per job, the longest
//!   chain of stages weighted by their slowest task: the run time with
//!   unlimited executors and no scheduling delay;
//! - the **ideal** run time with `C` executor cores is driver-only time plus,
//!   per job, the larger of its critical path and its task time spread evenly
//!   over `C` cores ([`Timing::predicted_ms`]); with the cores the
//!   application really had at its peak, that is what perfect scheduling
//!   would have achieved.
//!
//! A retried stage counts once per attempt (attempts run one after another).
//! A stage listed by several jobs (reused shuffle output) belongs to the first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::stage::StageStats;

/// One job's share of the timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTiming {
    /// The job id.
    pub job_id: u32,
    /// Longest chain of stages through the job's DAG, each weighted by its slowest task, ms.
    pub critical_path_ms: u64,
    /// Σ task run time of the job's stages, ms.
    pub task_time_ms: u64,
}

/// The application's critical path and ideal run time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Time with no task running, ms (the model's `WallTime::driver_only_ms`).
    pub driver_only_ms: u64,
    /// Driver-only time plus every job's critical path, ms: the floor no number of executors can beat.
    pub critical_path_ms: u64,
    /// [`Timing::predicted_ms`] with the executor cores the application had at its peak, ms.
    pub ideal_ms: u64,
    /// Executor cores the ideal assumes.
    pub cores: u64,
    /// Per job, ordered by job id.
    pub jobs: Vec<JobTiming>,
    /// The stages on some job's critical path (the chain that sets its length), in id order.
    pub critical_stages: Vec<u32>,
}

impl Timing {
    /// The run time perfect scheduling would give with `cores` executor cores, ms.
    pub fn predicted_ms(&self, cores: u64) -> u64 {
        let cores = cores.max(1);
        self.driver_only_ms
            + self.jobs.iter().map(|j| j.critical_path_ms.max(j.task_time_ms.div_ceil(cores))).sum::<u64>()
    }
}

/// Computes the timing. `jobs` lists each job's stage ids as its start event
/// gave them, in the order jobs started; `parents` gives each stage's parents.
pub fn timing(
    stages: &[StageStats],
    parents: &HashMap<u32, Vec<u32>>,
    jobs: &[(u32, Vec<u32>)],
    driver_only_ms: u64,
    cores: u64,
) -> Timing {
    // Per stage: its weight (Σ over attempts of the slowest task) and its task time.
    let mut weight: HashMap<u32, u64> = HashMap::new();
    let mut task_time: HashMap<u32, u64> = HashMap::new();
    for attempt in stages {
        let slowest = attempt.task_time.map(|d| d.max_ms).unwrap_or(0);
        *weight.entry(attempt.stage_id).or_default() += slowest;
        *task_time.entry(attempt.stage_id).or_default() += attempt.task_time_ms;
    }
    let mut owner: HashMap<u32, u32> = HashMap::new();
    for (job, ids) in jobs {
        for id in ids {
            owner.entry(*id).or_insert(*job);
        }
    }
    let mut per_job: BTreeMap<u32, JobTiming> = BTreeMap::new();
    let mut longest: HashMap<u32, Link> = HashMap::new();
    let mut critical_stages: BTreeSet<u32> = BTreeSet::new();
    for (job, ids) in jobs {
        let mut entry = JobTiming { job_id: *job, critical_path_ms: 0, task_time_ms: 0 };
        // The stage ending the job's longest chain; the first such stage on a tie.
        let mut end: Option<u32> = None;
        for id in ids.iter().filter(|id| owner.get(id) == Some(job)) {
            entry.task_time_ms += task_time.get(id).copied().unwrap_or(0);
            let path = chain(*id, *job, &weight, parents, &owner, &mut longest);
            if end.is_none() || path > entry.critical_path_ms {
                end = Some(*id);
            }
            entry.critical_path_ms = entry.critical_path_ms.max(path);
        }
        // Walk the chain back, keeping the stages that ran (a skipped stage weighs nothing);
        // each stage is visited once, so a corrupt log cannot loop.
        let mut at = end.filter(|_| entry.critical_path_ms > 0);
        let mut visited = BTreeSet::new();
        while let Some(stage) = at.filter(|s| visited.insert(*s)) {
            if weight.get(&stage).is_some_and(|w| *w > 0) {
                critical_stages.insert(stage);
            }
            at = longest.get(&stage).and_then(|link| link.via);
        }
        per_job.insert(*job, entry);
    }
    let jobs: Vec<JobTiming> = per_job.into_values().collect();
    let critical_path_ms = driver_only_ms + jobs.iter().map(|j| j.critical_path_ms).sum::<u64>();
    let critical_stages = critical_stages.into_iter().collect();
    let mut out = Timing { driver_only_ms, critical_path_ms, ideal_ms: 0, cores, jobs, critical_stages };
    out.ideal_ms = out.predicted_ms(cores);
    out
}

/// The longest chain ending at a stage: its length and the parent it came through.
#[derive(Debug, Clone, Copy)]
struct Link {
    length: u64,
    via: Option<u32>,
}

/// The longest weighted chain ending at `stage` within `job`, memoised. Parents
/// owned by other jobs ran earlier and cost this job nothing; the walk is
/// iterative so a deep lineage cannot overflow the stack, and a cycle (a
/// corrupt log) is cut rather than followed.
fn chain(
    stage: u32,
    job: u32,
    weight: &HashMap<u32, u64>,
    parents: &HashMap<u32, Vec<u32>>,
    owner: &HashMap<u32, u32>,
    longest: &mut HashMap<u32, Link>,
) -> u64 {
    let in_job = |s: &u32| owner.get(s) == Some(&job);
    let mut stack: Vec<(u32, bool)> = vec![(stage, false)];
    let mut on_path: HashMap<u32, ()> = HashMap::new();
    while let Some((current, expanded)) = stack.pop() {
        if longest.contains_key(&current) {
            continue;
        }
        let ps: Vec<u32> =
            parents.get(&current).map(|p| p.iter().copied().filter(in_job).collect()).unwrap_or_default();
        if expanded {
            on_path.remove(&current);
            // The longest parent chain; the first parent listed wins a tie.
            let mut best = Link { length: 0, via: None };
            for p in &ps {
                let length = longest.get(p).map_or(0, |l| l.length);
                if best.via.is_none() || length > best.length {
                    best = Link { length, via: Some(*p) };
                }
            }
            let length = best.length + weight.get(&current).copied().unwrap_or(0);
            longest.insert(current, Link { length, via: best.via });
            continue;
        }
        on_path.insert(current, ());
        stack.push((current, true));
        for p in ps {
            if !longest.contains_key(&p) && !on_path.contains_key(&p) {
                stack.push((p, false));
            }
        }
    }
    longest.get(&stage).map_or(0, |l| l.length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::StageFold;
    use crate::stage::{StageAttemptState, TaskTimeDistribution};

    fn stage(stage_id: u32, attempt_id: u32, slowest: u64, total: u64) -> StageStats {
        let times =
            TaskTimeDistribution { count: 1, min_ms: slowest, median_ms: slowest, p99_ms: slowest, max_ms: slowest };
        StageStats {
            state: StageAttemptState::Completed,
            task_time: Some(times),
            task_time_ms: total,
            ..StageFold::default().finish((stage_id, attempt_id))
        }
    }

    #[test]
    fn longest_chain_per_job_plus_driver_time() {
        // Job 0: stages 0 and 1 run side by side, 2 needs both: max(300, 100) + 50.
        // Job 1: stage 2 reused (skipped), stage 3 after it: 40.
        let stages = [stage(0, 0, 300, 1_000), stage(1, 0, 100, 400), stage(2, 0, 50, 200), stage(3, 0, 40, 80)];
        let parents = HashMap::from([(2, vec![0, 1]), (3, vec![2])]);
        let jobs = [(0, vec![0, 1, 2]), (1, vec![2, 3])];
        let t = timing(&stages, &parents, &jobs, 1_000, 4);
        assert_eq!(
            t.jobs,
            vec![
                JobTiming { job_id: 0, critical_path_ms: 350, task_time_ms: 1_600 },
                JobTiming { job_id: 1, critical_path_ms: 40, task_time_ms: 80 },
            ]
        );
        assert_eq!(t.critical_path_ms, 1_000 + 350 + 40);
        // Job 0's chain runs 0 → 2 (stage 1 is the shorter parent); job 1's is stage 3 alone.
        assert_eq!(t.critical_stages, [0, 2, 3]);

        // 4 cores: job 0 is bound by its task time (1600/4 = 400 > 350), job 1 by its chain (40 > 20).
        assert_eq!(t.ideal_ms, 1_000 + 400 + 40);
        // One core: all task time in sequence.
        assert_eq!(t.predicted_ms(1), 1_000 + 1_600 + 80);
        // Unlimited cores: the critical path.
        assert_eq!(t.predicted_ms(u64::MAX), t.critical_path_ms);
        // A skipped stage (listed, never run) on the chain is walked through but not marked.
        let parents = HashMap::from([(2, vec![9]), (9, vec![0])]);
        let skipped = timing(&stages[..3], &parents, &[(0, vec![0, 9, 2])], 0, 4);
        assert_eq!(skipped.critical_stages, [0, 2]);
    }

    #[test]
    fn retried_attempts_add_up_and_cycles_are_cut() {
        let stages = [stage(0, 0, 100, 100), stage(0, 1, 120, 120), stage(1, 0, 10, 10)];
        // A corrupt log claiming 0 and 1 are each other's parents must not hang.
        let parents = HashMap::from([(0, vec![1]), (1, vec![0])]);
        let t = timing(&stages, &parents, &[(7, vec![0, 1])], 0, 2);
        assert_eq!(t.jobs[0].task_time_ms, 230);
        // The cut falls where the walk first meets the cycle: 0 (100 + 120) after 1 (10).
        assert_eq!(t.jobs[0].critical_path_ms, 230);
    }
}
