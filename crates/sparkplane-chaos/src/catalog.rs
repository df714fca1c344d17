//! The named chaos experiments: where each runs, what should happen, and
//! which alerts and runbook apply.
//!
//! Owns: experiment names (the CLI's words), which ones a run asks for
//! ([`Experiment::chosen`]), their setting, the expectation each is judged
//! against, and the catalog as `chaos list` shows it ([`ListRow`]). Must
//! not: run anything.

use serde::Serialize;

/// One named experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    /// An executor process is killed while a stage runs.
    ExecutorKilled,
    /// The object store stops while the job writes its output.
    ObjectStoreStopped,
    /// The Hive metastore stops.
    MetastoreStopped,
    /// A node with executors on it leaves the cluster.
    NodeLost,
    /// A node is drained through the Eviction API under a PodDisruptionBudget.
    NodeDrained,
    /// The driver pod is evicted.
    DriverEvicted,
    /// The API server stops answering for a while.
    ApiServerPaused,
    /// The operator is killed mid-reconcile.
    OperatorKilled,
}

/// Where an experiment runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    /// A real Spark on this machine in `local-cluster` mode (separate executor processes).
    LocalCluster,
    /// The simulated cluster (`sparkplane-fakekube`) with the operator.
    SimulatedCluster,
}

/// An alert an experiment expects to fire, or to stay silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectedAlert {
    /// The alert's name, as `observe rules` generates it.
    pub alert: &'static str,
    /// True: it must fire from the experiment's metrics; false: it must stay silent.
    pub fires: bool,
}

/// What an experiment should show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// What should happen, in a sentence.
    pub should: &'static str,
    /// The alerts it should fire or keep silent.
    pub alerts: &'static [ExpectedAlert],
    /// The runbook that applies (a file under docs/runbooks/, without `.md`).
    pub runbook: &'static str,
}

/// A name that is not an experiment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown chaos experiment `{name}`: the experiments are {}", Experiment::names().join(", "))]
pub struct UnknownExperiment {
    /// The name given.
    pub name: String,
}

impl Experiment {
    /// Every experiment, local ones first, in the order `chaos list` shows.
    pub const ALL: [Experiment; 8] = [
        Experiment::ExecutorKilled,
        Experiment::ObjectStoreStopped,
        Experiment::MetastoreStopped,
        Experiment::NodeLost,
        Experiment::NodeDrained,
        Experiment::DriverEvicted,
        Experiment::ApiServerPaused,
        Experiment::OperatorKilled,
    ];

    /// The experiment's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Experiment::ExecutorKilled => "executor-killed",
            Experiment::ObjectStoreStopped => "object-store-stopped",
            Experiment::MetastoreStopped => "metastore-stopped",
            Experiment::NodeLost => "node-lost",
            Experiment::NodeDrained => "node-drained",
            Experiment::DriverEvicted => "driver-evicted",
            Experiment::ApiServerPaused => "api-server-paused",
            Experiment::OperatorKilled => "operator-killed",
        }
    }

    /// Every experiment's name, in [`Experiment::ALL`]'s order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|e| e.name()).collect()
    }

    /// The experiment called `name`.
    pub fn parse(name: &str) -> Result<Experiment, UnknownExperiment> {
        Self::ALL.into_iter().find(|e| e.name() == name).ok_or_else(|| UnknownExperiment { name: name.to_string() })
    }

    /// The experiments a run asks for: every one with `all`, else each of
    /// `names` once, in the order given.
    pub fn chosen(names: &[String], all: bool) -> Result<Vec<Experiment>, UnknownExperiment> {
        if all {
            return Ok(Experiment::ALL.to_vec());
        }
        let mut chosen = Vec::new();
        for name in names {
            let experiment = Experiment::parse(name)?;
            if !chosen.contains(&experiment) {
                chosen.push(experiment);
            }
        }
        Ok(chosen)
    }

    /// Where it runs.
    pub fn setting(self) -> Setting {
        match self {
            Experiment::ExecutorKilled | Experiment::ObjectStoreStopped | Experiment::MetastoreStopped => {
                Setting::LocalCluster
            }
            Experiment::NodeLost
            | Experiment::NodeDrained
            | Experiment::DriverEvicted
            | Experiment::ApiServerPaused
            | Experiment::OperatorKilled => Setting::SimulatedCluster,
        }
    }

    /// What it should show.
    pub fn expectation(self) -> Expectation {
        match self {
            Experiment::ExecutorKilled => Expectation {
                should: "the lost executor's tasks are retried on the others and the job succeeds; the event-log \
                         analysis and the run summary report the lost executor",
                alerts: &[ExpectedAlert { alert: "SparkJobFailed", fires: false }],
                runbook: "shuffle-fetch-failures",
            },
            Experiment::ObjectStoreStopped => Expectation {
                should: "the job fails with a storage cause that `analyze` names, and no half-written output is \
                         left as final output",
                alerts: &[
                    ExpectedAlert { alert: "SparkJobsStorageErrors", fires: true },
                    ExpectedAlert { alert: "SparkJobFailed", fires: true },
                ],
                runbook: "s3-connectivity",
            },
            Experiment::MetastoreStopped => Expectation {
                should: "a new job that needs the metastore fails fast with a metastore cause; a running job that \
                         does not need it finishes",
                alerts: &[ExpectedAlert { alert: "SparkJobsMetastoreErrors", fires: true }],
                runbook: "metastore-outage",
            },
            Experiment::NodeLost => Expectation {
                should: "the executors on the lost node are replaced on the remaining nodes and the job succeeds \
                         with exactly one driver",
                alerts: &[ExpectedAlert { alert: "SparkplaneOperatorSubmissionFailures", fires: false }],
                runbook: "cluster-scaling",
            },
            Experiment::NodeDrained => Expectation {
                should: "the drain evicts through the Eviction API: executors go and are replaced off the cordoned \
                         node, the PodDisruptionBudget refuses (429) the running driver until its run ended, and \
                         every job succeeds with its first driver",
                alerts: &[ExpectedAlert { alert: "SparkplaneOperatorSubmissionFailures", fires: false }],
                runbook: "cluster-scaling",
            },
            Experiment::DriverEvicted => Expectation {
                should: "the run is marked Evicted and retried under its restart policy (OnInfrastructureFailure), \
                         and the retry succeeds, never with two drivers for one attempt",
                alerts: &[ExpectedAlert { alert: "SparkplaneOperatorSubmissionFailures", fires: false }],
                runbook: "driver-not-starting",
            },
            Experiment::ApiServerPaused => Expectation {
                should: "the operator waits out the pause without losing or duplicating a submission, and every \
                         job ends in the state it would have without the pause",
                alerts: &[ExpectedAlert { alert: "SparkplaneOperatorSubmissionFailures", fires: false }],
                runbook: "operator-down",
            },
            Experiment::OperatorKilled => Expectation {
                should: "a restarted operator takes over from the status it wrote: no job is submitted twice and \
                         every job ends Succeeded",
                alerts: &[
                    ExpectedAlert { alert: "SparkplaneOperatorDown", fires: true },
                    ExpectedAlert { alert: "SparkplaneOperatorSubmissionFailures", fires: false },
                ],
                runbook: "operator-down",
            },
        }
    }
}

/// One row of `chaos list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListRow {
    name: &'static str,
    setting: Setting,
    should: &'static str,
    alerts: Vec<String>,
    runbook: &'static str,
}

impl ListRow {
    /// Every experiment's row, in [`Experiment::ALL`]'s order.
    pub fn all() -> Vec<ListRow> {
        Experiment::ALL
            .into_iter()
            .map(|experiment| {
                let expectation = experiment.expectation();
                ListRow {
                    name: experiment.name(),
                    setting: experiment.setting(),
                    should: expectation.should,
                    alerts: expectation
                        .alerts
                        .iter()
                        .map(|a| format!("{} {}", a.alert, if a.fires { "fires" } else { "stays silent" }))
                        .collect(),
                    runbook: expectation.runbook,
                }
            })
            .collect()
    }

    /// The rows as `chaos list`'s table.
    pub fn table(rows: &[ListRow]) -> String {
        let mut table = sparkplane_documents::table::Table::new(&["EXPERIMENT", "WHERE", "ALERTS", "RUNBOOK"]);
        for row in rows {
            let place = match row.setting {
                Setting::LocalCluster => "local-cluster",
                Setting::SimulatedCluster => "simulated cluster",
            };
            table.row(vec![row.name.into(), place.into(), row.alerts.join(", "), row.runbook.into()]);
        }
        table.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_are_unique() {
        for experiment in Experiment::ALL {
            assert_eq!(Experiment::parse(experiment.name()), Ok(experiment));
        }
        let mut names = Experiment::names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Experiment::ALL.len());
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = Experiment::parse("disk-full").expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "unknown chaos experiment `disk-full`: the experiments are executor-killed, object-store-stopped, \
             metastore-stopped, node-lost, node-drained, driver-evicted, api-server-paused, operator-killed"
        );
    }

    #[test]
    fn every_runbook_exists() {
        let runbooks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/runbooks");
        for experiment in Experiment::ALL {
            let runbook = experiment.expectation().runbook;
            assert!(runbooks.join(format!("{runbook}.md")).is_file(), "{}: no runbook {runbook}.md", experiment.name());
        }
    }

    #[test]
    fn a_run_asks_for_every_experiment_or_each_named_one_once_in_order() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(Experiment::chosen(&[], true), Ok(Experiment::ALL.to_vec()));
        assert_eq!(
            Experiment::chosen(&names(&["node-lost", "executor-killed", "node-lost"]), false),
            Ok(vec![Experiment::NodeLost, Experiment::ExecutorKilled])
        );
        let unknown = Experiment::chosen(&names(&["node-lost", "typo"]), false).expect_err("typo");
        assert_eq!(unknown.name, "typo");
    }

    #[test]
    fn the_list_has_a_row_per_experiment_with_where_it_runs() {
        let rows = ListRow::all();
        assert_eq!(rows.len(), Experiment::ALL.len());
        let table = ListRow::table(&rows);
        assert!(table.starts_with("EXPERIMENT "), "{table}");
        assert_eq!(table.lines().count(), 1 + Experiment::ALL.len());
        let first = table.lines().nth(1).unwrap_or_default();
        assert!(first.starts_with("executor-killed ") && first.contains(" local-cluster "), "{first}");
        assert!(table.contains(" simulated cluster "), "{table}");
    }
}
