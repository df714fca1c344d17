//! What a simulated cluster is made of, as a test describes it: nodes with
//! capacity, labels and taints; how long scheduling, image pulls and starts
//! take; which images cannot be pulled; and how each Spark driver runs
//! (how long, how it ends, what it logs, how much memory it reaches).
//!
//! Owns: the description only. The loop that acts on it is `kubelet`; the
//! placement rule is `scheduler`; Spark's driver stand-in is `spark`; a
//! container run as a local process is `process`'s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A simulated cluster. [`Default`] is one node without limits, pods
/// scheduled and started at once, every image pullable, and drivers that
/// succeed after 50 ms without executors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// The nodes; when empty, one node (`sim-node`) that everything fits on.
    pub nodes: Vec<Node>,
    /// How long each step takes.
    pub timings: Timings,
    /// Images the kubelet cannot pull (`ErrImagePull`, then
    /// `ImagePullBackOff`): an entry matches an image equal to it or
    /// starting with it followed by `:` or `@`.
    pub unpullable_images: Vec<String>,
    /// How drivers run, first matching rule first; [`Cluster::default_run`] when none matches.
    pub drivers: Vec<DriverRule>,
    /// How a driver runs when no rule matches.
    pub default_run: DriverRun,
    /// The driver stand-in creates executor pods the way Spark does
    /// (`spark.executor.instances` of its `spark.properties`).
    pub executors: bool,
    /// Images whose containers really run, as a local program (see
    /// `process`); a pod (other than a Spark driver) all of whose containers
    /// match runs them and ends with their exit codes. Others behave as
    /// before: started, then running until deleted.
    pub programs: Vec<ImageProgram>,
    /// The environment an image declares (a Dockerfile's `ENV`), by image
    /// as in [`Cluster::programs`]: a container of that image run as a local
    /// program starts with it, its own `env` taking precedence, as a
    /// kubelet merges them.
    pub image_env: Vec<(String, Vec<(String, String)>)>,
    /// How long a simulated container (a driver, or one not run as a local
    /// program) takes to exit once its pod is deleted and the kubelet sent
    /// it the stop signal (SIGTERM): it then ends with exit code 143. Past
    /// the pod's grace period the kubelet kills it instead (137). Local
    /// programs get the real signal and take as long as they take.
    pub stop_time: Duration,
    /// How many executors Spark's dynamic allocation asks for (its pending
    /// tasks' worth), when set: a driver with
    /// `spark.dynamicAllocation.enabled` makes that many executors, but
    /// never more than its `spark.dynamicAllocation.maxExecutors` (Spark's
    /// allocation manager caps its target there) nor fewer than its
    /// `minExecutors`. Unset: the initial count, as before.
    pub executor_demand: Option<u32>,
}

/// An image the kubelet runs as a local program: the program is the image's
/// entrypoint, so the container's `command` (its first word replaced by the
/// program) or else its `args` follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageProgram {
    /// The image: it matches an image equal to it or starting with it followed by `:` or `@`.
    pub image: String,
    /// The local program (an absolute path, e.g. the built `sparkplane` binary).
    pub program: PathBuf,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            nodes: Vec::new(),
            timings: Timings::default(),
            unpullable_images: Vec::new(),
            drivers: Vec::new(),
            default_run: DriverRun::succeeds(Duration::from_millis(50), ""),
            executors: false,
            programs: Vec::new(),
            image_env: Vec::new(),
            stop_time: Duration::ZERO,
            executor_demand: None,
        }
    }
}

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Name (also the `kubernetes.io/hostname` label).
    pub name: String,
    /// Allocatable CPU in millicores.
    pub cpu_millis: u64,
    /// Allocatable memory in bytes.
    pub memory_bytes: u64,
    /// Most pods it runs at once.
    pub max_pods: u32,
    /// Labels (for node selectors).
    pub labels: BTreeMap<String, String>,
    /// Taints: key, value, effect (`NoSchedule`, `NoExecute`, `PreferNoSchedule`).
    pub taints: Vec<(String, String, String)>,
}

impl Node {
    /// A node with `cores` CPUs and `gib` GiB, 110 pods, no labels or taints.
    pub fn new(name: &str, cores: u64, gib: u64) -> Node {
        Node {
            name: name.to_owned(),
            cpu_millis: cores * 1000,
            memory_bytes: gib << 30,
            max_pods: 110,
            labels: BTreeMap::new(),
            taints: Vec::new(),
        }
    }
}

/// How long the simulated components take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// From a pod's creation to the scheduler binding it.
    pub schedule: Duration,
    /// From binding to the containers running (image pull and start).
    pub start: Duration,
}

/// Which drivers a [`DriverRun`] applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverRule {
    /// The SparkJob (`sparkplane.dev/job` label, else `spark-app-name`); `*` matches any.
    pub job: String,
    /// Only this attempt (`sparkplane.dev/attempt`, 1 when absent); None: every attempt.
    pub attempt: Option<u32>,
    /// How the matching drivers run.
    pub run: DriverRun,
}

/// How one driver runs once its container started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverRun {
    /// How long it runs; None: until deleted.
    pub runs_for: Option<Duration>,
    /// The exit code it ends with (0 is success).
    pub exit_code: i32,
    /// What it writes to its log when it starts.
    pub log: String,
    /// The most memory its container uses; over the container's memory
    /// limit, the kubelet kills it when it ends its run (`OOMKilled`, 137).
    pub peak_memory_bytes: Option<u64>,
}

impl DriverRun {
    /// Succeeds after `runs_for`, having logged `log`.
    pub fn succeeds(runs_for: Duration, log: &str) -> DriverRun {
        DriverRun { runs_for: Some(runs_for), exit_code: 0, log: log.to_owned(), peak_memory_bytes: None }
    }

    /// Fails with `exit_code` after `runs_for`, having logged `log`.
    pub fn fails(runs_for: Duration, exit_code: i32, log: &str) -> DriverRun {
        DriverRun { runs_for: Some(runs_for), exit_code, log: log.to_owned(), peak_memory_bytes: None }
    }

    /// Runs until deleted.
    pub fn forever() -> DriverRun {
        DriverRun { runs_for: None, exit_code: 0, log: String::new(), peak_memory_bytes: None }
    }
}

impl Cluster {
    /// The run for a driver of `job`, attempt `attempt`.
    pub fn run_for(&self, job: &str, attempt: u32) -> &DriverRun {
        self.drivers
            .iter()
            .find(|rule| (rule.job == "*" || rule.job == job) && rule.attempt.is_none_or(|a| a == attempt))
            .map_or(&self.default_run, |rule| &rule.run)
    }

    /// Whether the kubelet fails to pull `image`.
    pub fn unpullable(&self, image: &str) -> bool {
        self.unpullable_images.iter().any(|bad| same_repository(image, bad))
    }

    /// The local program that runs containers of `image`, if one is mapped.
    pub fn program_for(&self, image: &str) -> Option<&std::path::Path> {
        self.programs.iter().find(|p| same_repository(image, &p.image)).map(|p| p.program.as_path())
    }

    /// The environment `image` declares ([`Cluster::image_env`]); empty when it declares none.
    pub fn env_for(&self, image: &str) -> &[(String, String)] {
        self.image_env
            .iter()
            .find(|(i, _)| same_repository(image, i))
            .map(|(_, env)| env.as_slice())
            .unwrap_or_default()
    }

    /// The nodes pods go to: the configured ones, or one without limits.
    pub fn effective_nodes(&self) -> Vec<Node> {
        if self.nodes.is_empty() {
            let mut node = Node::new("sim-node", 1 << 20, 1 << 20);
            node.max_pods = u32::MAX;
            vec![node]
        } else {
            self.nodes.clone()
        }
    }
}

/// `image` is `entry`, or `entry` with a tag or digest.
fn same_repository(image: &str, entry: &str) -> bool {
    image == entry || image.strip_prefix(entry).is_some_and(|rest| rest.starts_with([':', '@']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_wins_and_attempts_narrow_it() {
        let cluster = Cluster {
            drivers: vec![
                DriverRule { job: "etl".into(), attempt: Some(1), run: DriverRun::fails(Duration::ZERO, 1, "boom") },
                DriverRule { job: "*".into(), attempt: None, run: DriverRun::forever() },
            ],
            ..Cluster::default()
        };
        assert_eq!(cluster.run_for("etl", 1).exit_code, 1);
        assert_eq!(cluster.run_for("etl", 2).runs_for, None);
        assert_eq!(cluster.run_for("other", 1).runs_for, None);
        assert_eq!(Cluster::default().run_for("x", 1).runs_for, Some(Duration::from_millis(50)));
    }

    #[test]
    fn unpullable_images_match_by_repository_tag_or_digest() {
        let cluster = Cluster { unpullable_images: vec!["registry.example.com/spark/py".into()], ..Cluster::default() };
        assert!(cluster.unpullable("registry.example.com/spark/py"));
        assert!(cluster.unpullable("registry.example.com/spark/py:3.5.3"));
        assert!(cluster.unpullable("registry.example.com/spark/py@sha256:abc"));
        assert!(!cluster.unpullable("registry.example.com/spark/py-slim:3.5.3"));
        assert!(!cluster.unpullable("registry.example.com/spark"));
    }

    #[test]
    fn programs_match_images_as_pulls_do() {
        let cluster = Cluster {
            programs: vec![ImageProgram { image: "ghcr.io/x/sparkplane".into(), program: "/bin/true".into() }],
            ..Cluster::default()
        };
        assert_eq!(cluster.program_for("ghcr.io/x/sparkplane:0.1"), Some(std::path::Path::new("/bin/true")));
        assert_eq!(cluster.program_for("ghcr.io/x/sparkplane@sha256:ab"), Some(std::path::Path::new("/bin/true")));
        assert_eq!(cluster.program_for("ghcr.io/x/sparkplane-slim:0.1"), None);
    }
}
