//! `sparkConf` of an imported application: which Spark properties a SparkJob
//! keeps in `sparkConf` and which move into the typed field they stand for.
//!
//! It owns the routing of property keys ([`conf_target`]), the [`Draft`] of
//! the typed SparkJob parts those properties may fill, and the rule that a
//! typed input field wins over a property (the operator passes role,
//! dependency and dynamic-allocation fields to `spark-submit` after
//! `sparkConf`); the loser is recorded in the [`Ledger`] as overridden. It
//! reads Spark's size spellings with the one reader of them
//! ([`MemorySize::from_spark_property`]) and image references with
//! [`ImageRef::parse`].

use std::collections::{BTreeMap, BTreeSet};

use sparkplane_api::job::{
    Dependencies, DriverSpec, DynamicAllocation, EnvVar, EventLog, EventLogCodec, ExecutorSpec, Image, SparkJobSpec,
};
use sparkplane_api::{CpuAmount, MemorySize, SparkSizeUnit};

use super::report::Ledger;
use sparkplane_core::image::ImageRef;
use sparkplane_core::validate::OWNED_SPARK_KEYS;
use sparkplane_documents::yaml::FieldPath;

/// The typed parts of the SparkJob that `sparkConf` properties may also set.
#[derive(Default)]
pub struct Draft {
    /// The job-level fields.
    pub spec: SparkJobSpec,
    /// The driver.
    pub driver: DriverSpec,
    /// The executors.
    pub executor: ExecutorSpec,
    /// Spark properties typed input fields stand for (`javaOptions`, …), with that field's path.
    pub implied_conf: BTreeMap<String, (String, FieldPath)>,
    /// `sparkConf` keys already read with the application-level field they compete with.
    pub conf_used: BTreeSet<String>,
}

/// One `sparkConf` entry.
struct ConfEntry {
    key: String,
    value: String,
    path: FieldPath,
}

/// The typed field a Spark property stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    Memory,
    Overhead,
    OverheadFactor,
    Cores,
    CoreRequest,
    CoreLimit,
    Instances,
    Pyspark,
    OffHeap,
    OffHeapOn,
    ServiceAccount,
    RoleImage,
    DaEnabled,
    DaMin,
    DaMax,
    DaInitial,
    DaShuffle,
}

impl Slot {
    /// The input field the slot corresponds to, for messages.
    fn field(self) -> &'static str {
        match self {
            Slot::Memory => "memory",
            Slot::Overhead => "memoryOverhead",
            Slot::OverheadFactor => "memoryOverheadFactor",
            Slot::Cores => "cores",
            Slot::CoreRequest => "coreRequest",
            Slot::CoreLimit => "coreLimit",
            Slot::Instances => "instances",
            Slot::Pyspark => "pysparkMemory",
            Slot::OffHeap | Slot::OffHeapOn => "offHeapMemory",
            Slot::ServiceAccount => "serviceAccount",
            Slot::RoleImage => "image",
            Slot::DaEnabled => "enabled",
            Slot::DaMin => "minExecutors",
            Slot::DaMax => "maxExecutors",
            Slot::DaInitial => "initialExecutors",
            Slot::DaShuffle => "shuffleTrackingEnabled",
        }
    }
}

/// Where a `sparkConf` property goes.
pub(super) enum ConfTarget {
    /// A typed scalar of a role (`true`: the driver) or of dynamic allocation.
    Slot(bool, Slot),
    /// `spec.schedulerName`.
    SchedulerName,
    /// `spec.image.pullSecrets` (comma-separated).
    PullSecrets,
    /// A list of `spec.deps`, by field name.
    Deps(&'static str),
    /// A field of `spec.eventLog`.
    EventLog(&'static str),
    /// A role's plain environment variable.
    Env(bool, String),
    /// A node selector entry: job-wide (None) or a role's.
    NodeSelector(Option<bool>, String),
    /// A role's pod label.
    Label(bool, String),
    /// A role's pod annotation.
    Annotation(bool, String),
    /// A Hadoop property.
    Hadoop(String),
    /// Controlled by a SparkJob field this import cannot fill from a property; the reason.
    Unmovable(String),
}

/// Where a `sparkConf` property goes: None for a plain property SparkJob keeps in `sparkConf`.
pub(super) fn conf_target(key: &str) -> Option<ConfTarget> {
    if let Some(slot) = conf_slot(key) {
        return Some(ConfTarget::Slot(slot.0, slot.1));
    }
    let deps = [
        ("spark.jars", "jars"),
        ("spark.submit.pyFiles", "pyFiles"),
        ("spark.files", "files"),
        ("spark.archives", "archives"),
        ("spark.jars.packages", "packages"),
        ("spark.jars.excludes", "excludePackages"),
        ("spark.jars.repositories", "repositories"),
    ];
    if let Some((_, field)) = deps.iter().find(|(k, _)| *k == key) {
        return Some(ConfTarget::Deps(field));
    }
    let log = [
        ("spark.eventLog.enabled", "enabled"),
        ("spark.eventLog.dir", "dir"),
        ("spark.eventLog.rolling.enabled", "rolling"),
        ("spark.eventLog.rolling.maxFileSize", "maxFileSize"),
        ("spark.eventLog.compress", "compress"),
        ("spark.eventLog.compression.codec", "codec"),
    ];
    if let Some((_, field)) = log.iter().find(|(k, _)| *k == key) {
        return Some(ConfTarget::EventLog(field));
    }
    let prefixed = |prefix: &str| key.strip_prefix(prefix).filter(|rest| !rest.is_empty()).map(str::to_owned);
    let role_prefixed = |middle: &str| {
        prefixed(&format!("spark.kubernetes.driver.{middle}"))
            .map(|rest| (true, rest))
            .or_else(|| prefixed(&format!("spark.kubernetes.executor.{middle}")).map(|rest| (false, rest)))
    };
    let target = match key {
        "spark.kubernetes.scheduler.name" => ConfTarget::SchedulerName,
        "spark.kubernetes.container.image.pullSecrets" => ConfTarget::PullSecrets,
        "spark.app.name" => ConfTarget::Unmovable("sparkplane names the application after metadata.name".into()),
        "spark.kubernetes.namespace" => ConfTarget::Unmovable("the namespace comes from metadata.namespace".into()),
        "spark.kubernetes.driver.podTemplateFile" | "spark.kubernetes.executor.podTemplateFile" => {
            ConfTarget::Unmovable(
                "sparkplane renders the pod templates itself; put the template's content in the role's podTemplate"
                    .into(),
            )
        }
        _ => {
            if let Some(name) = prefixed("spark.kubernetes.driverEnv.") {
                ConfTarget::Env(true, name)
            } else if let Some(name) = prefixed("spark.executorEnv.") {
                ConfTarget::Env(false, name)
            } else if let Some(name) = prefixed("spark.kubernetes.node.selector.") {
                ConfTarget::NodeSelector(None, name)
            } else if let Some((is_driver, name)) = role_prefixed("node.selector.") {
                ConfTarget::NodeSelector(Some(is_driver), name)
            } else if let Some((is_driver, name)) = role_prefixed("label.") {
                ConfTarget::Label(is_driver, name)
            } else if let Some((is_driver, name)) = role_prefixed("annotation.") {
                ConfTarget::Annotation(is_driver, name)
            } else if let Some(name) = prefixed("spark.hadoop.") {
                ConfTarget::Hadoop(name)
            } else if role_prefixed("volumes.").is_some() {
                ConfTarget::Unmovable(
                    "declare the volume in spec.volumes and mount it with the role's volumeMounts".into(),
                )
            } else if let Some((_, field)) = OWNED_SPARK_KEYS.iter().find(|(k, _)| *k == key) {
                ConfTarget::Unmovable(format!("a SparkJob controls this property with `{field}`; set it there"))
            } else {
                return None;
            }
        }
    };
    Some(target)
}

/// The typed field a Spark property stands for, and whether it is the driver's.
pub(super) fn conf_slot(key: &str) -> Option<(bool, Slot)> {
    Some(match key {
        "spark.driver.memory" => (true, Slot::Memory),
        "spark.executor.memory" => (false, Slot::Memory),
        "spark.driver.memoryOverhead" => (true, Slot::Overhead),
        "spark.executor.memoryOverhead" => (false, Slot::Overhead),
        "spark.driver.memoryOverheadFactor" => (true, Slot::OverheadFactor),
        "spark.executor.memoryOverheadFactor" => (false, Slot::OverheadFactor),
        "spark.driver.cores" => (true, Slot::Cores),
        "spark.executor.cores" => (false, Slot::Cores),
        "spark.kubernetes.driver.request.cores" => (true, Slot::CoreRequest),
        "spark.kubernetes.executor.request.cores" => (false, Slot::CoreRequest),
        "spark.kubernetes.driver.limit.cores" => (true, Slot::CoreLimit),
        "spark.kubernetes.executor.limit.cores" => (false, Slot::CoreLimit),
        "spark.executor.instances" => (false, Slot::Instances),
        "spark.executor.pyspark.memory" => (false, Slot::Pyspark),
        "spark.memory.offHeap.size" => (false, Slot::OffHeap),
        "spark.memory.offHeap.enabled" => (false, Slot::OffHeapOn),
        "spark.kubernetes.authenticate.driver.serviceAccountName" => (true, Slot::ServiceAccount),
        "spark.kubernetes.driver.container.image" => (true, Slot::RoleImage),
        "spark.kubernetes.executor.container.image" => (false, Slot::RoleImage),
        "spark.dynamicAllocation.enabled" => (false, Slot::DaEnabled),
        "spark.dynamicAllocation.minExecutors" => (false, Slot::DaMin),
        "spark.dynamicAllocation.maxExecutors" => (false, Slot::DaMax),
        "spark.dynamicAllocation.initialExecutors" => (false, Slot::DaInitial),
        "spark.dynamicAllocation.shuffleTracking.enabled" => (false, Slot::DaShuffle),
        _ => return None,
    })
}

/// A memory size as Spark reads it, a bare number being in `bare` units
/// ([`MemorySize::from_spark_property`], the one reader of Spark's spellings).
pub fn spark_memory(text: &str, bare: SparkSizeUnit) -> Result<MemorySize, String> {
    MemorySize::from_spark_property(text, bare).map_err(|e| e.0)
}

/// Splits `repo[:tag][@digest]`; a `:` before the last `/` belongs to a registry port.
/// ([`ImageRef::parse`], the one parser of image references).
pub fn split_image(reference: &str) -> Image {
    ImageRef::parse(reference).into_image()
}

/// Sets an unset field; true when it now holds `value`.
pub fn fill<T: PartialEq>(slot: &mut Option<T>, value: T) -> bool {
    match slot {
        Some(existing) => *existing == value,
        None => {
            *slot = Some(value);
            true
        }
    }
}

/// Routes `sparkConf` into a [`Draft`], recording what is not carried.
pub struct ConfRouter<'l, 'a> {
    /// Where not-carried properties and bad values go.
    pub ledger: &'l mut Ledger<'a>,
}

impl ConfRouter<'_, '_> {
    /// `sparkConf`: a property a typed SparkJob field stands for moves into that
    /// field (a typed input field already set wins, as in the operator, which
    /// passes role, dependency and dynamic-allocation fields after `sparkConf`);
    /// the properties typed input fields imply (`javaOptions`, …) are added.
    pub fn spark_conf(
        &mut self,
        app: &FieldPath,
        typed: &BTreeMap<String, String>,
        draft: &mut Draft,
    ) -> BTreeMap<String, String> {
        let p = app.key("sparkConf");
        let mut conf = BTreeMap::new();
        // In the order the input has them, so properties that add to a list (env) keep that order.
        let raw: Vec<ConfEntry> = self
            .ledger
            .keys(&p)
            .into_iter()
            .filter(|key| !draft.conf_used.contains(key))
            .filter_map(|key| {
                let value = typed.get(&key)?.clone();
                let path = p.key(&key);
                Some(ConfEntry { key, value, path })
            })
            .collect();
        let value_of =
            |raw: &[ConfEntry], key: &str| raw.iter().find(|e| e.key == key).map(|e| e.value.trim().to_owned());
        // Off-heap memory is one typed field standing for two properties.
        let off_heap_on = value_of(&raw, "spark.memory.offHeap.enabled").as_deref() == Some("true");
        // So is the event-log codec.
        let compress = value_of(&raw, "spark.eventLog.compress");
        let codec = value_of(&raw, "spark.eventLog.compression.codec");
        for entry in raw {
            let target = match conf_target(&entry.key) {
                Some(ConfTarget::Slot(_, Slot::OffHeap | Slot::OffHeapOn)) if !off_heap_on => None,
                Some(ConfTarget::EventLog("compress" | "codec")) => {
                    self.event_log_codec(&entry, compress.as_deref(), codec.as_deref(), draft);
                    continue;
                }
                target => target,
            };
            if let Some(target) = target {
                self.move_conf(app, &entry, target, draft);
                continue;
            }
            let ConfEntry { key, value, path } = entry;
            if let Some((typed_value, typed_path)) = draft.implied_conf.get(&key) {
                if *typed_value != value {
                    let reason = format!("overridden by `{typed_path}`, which the operator passes after sparkConf");
                    self.ledger.skip(&path, reason);
                }
                continue;
            }
            conf.insert(key, value);
        }
        for (key, (value, _)) in std::mem::take(&mut draft.implied_conf) {
            conf.insert(key, value);
        }
        conf
    }

    /// `spark.eventLog.compress` and `spark.eventLog.compression.codec` → `eventLog.codec`.
    fn event_log_codec(&mut self, entry: &ConfEntry, compress: Option<&str>, codec: Option<&str>, draft: &mut Draft) {
        let log = draft.spec.event_log.get_or_insert_with(EventLog::default);
        let chosen = match (compress, codec) {
            (Some("false"), _) => Some(EventLogCodec::None),
            (_, Some(name)) => match name.to_ascii_lowercase().as_str() {
                "zstd" => Some(EventLogCodec::Zstd),
                "lz4" => Some(EventLogCodec::Lz4),
                "snappy" => Some(EventLogCodec::Snappy),
                "lzf" => Some(EventLogCodec::Lzf),
                _ => None,
            },
            _ => None,
        };
        match chosen {
            Some(codec) => {
                log.codec = Some(codec);
            }
            None if codec.is_some() && compress != Some("false") => {
                self.ledger.error(
                    "bad-value",
                    &entry.path,
                    format!("`{}` is not an event-log codec", entry.value),
                    "write zstd, lz4, snappy or lzf",
                );
            }
            None => self.ledger.skip(
                &entry.path,
                "compression without a codec takes Spark's default codec, which differs between versions; set spec.eventLog.codec",
            ),
        }
    }

    /// Moves one property into the typed field it stands for.
    fn move_conf(&mut self, app: &FieldPath, entry: &ConfEntry, target: ConfTarget, draft: &mut Draft) {
        let (key, path) = (&entry.key, &entry.path);
        let role_key = |is_driver: bool| app.key(if is_driver { "driver" } else { "executor" });
        let typed_path = match &target {
            ConfTarget::Slot(
                _,
                slot @ (Slot::DaEnabled | Slot::DaMin | Slot::DaMax | Slot::DaInitial | Slot::DaShuffle),
            ) => app.key("dynamicAllocation").key(slot.field()),
            ConfTarget::Slot(is_driver, slot) => role_key(*is_driver).key(slot.field()),
            ConfTarget::SchedulerName => app.key("schedulerName"),
            ConfTarget::PullSecrets => app.key("imagePullSecrets"),
            ConfTarget::Deps(field) => app.key("deps").key(field),
            ConfTarget::EventLog(_) | ConfTarget::Unmovable(_) => app.key("sparkConf"),
            ConfTarget::Env(is_driver, _) => role_key(*is_driver).key("env"),
            ConfTarget::NodeSelector(None, _) => app.key("nodeSelector"),
            ConfTarget::NodeSelector(Some(is_driver), _) => role_key(*is_driver).key("nodeSelector"),
            ConfTarget::Label(is_driver, _) => role_key(*is_driver).key("labels"),
            ConfTarget::Annotation(is_driver, _) => role_key(*is_driver).key("annotations"),
            ConfTarget::Hadoop(_) => app.key("hadoopConf"),
        };
        let text = entry.value.trim();
        let boolean = || match text {
            "true" | "false" => Ok(text == "true"),
            _ => Err(format!("`{text}` is not true or false")),
        };
        let list = || text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        let put = |map: &mut BTreeMap<String, String>, name: &str| match map.get(name) {
            Some(existing) => *existing == text,
            None => {
                map.insert(name.to_owned(), text.to_owned());
                true
            }
        };
        // Ok(true): moved; Ok(false): a typed field says otherwise and wins; Err: unreadable.
        let outcome: Result<bool, String> = match target {
            ConfTarget::Slot(is_driver, slot) => self.move_slot(text, is_driver, slot, draft),
            ConfTarget::SchedulerName => Ok(fill(&mut draft.spec.scheduler_name, text.to_owned())),
            ConfTarget::PullSecrets => {
                let image = draft.spec.image.get_or_insert_with(Image::default);
                if image.pull_secrets.is_empty() {
                    image.pull_secrets = list();
                }
                Ok(image.pull_secrets == list())
            }
            ConfTarget::Deps(field) => {
                let deps = draft.spec.deps.get_or_insert_with(Dependencies::default);
                let slot = match field {
                    "jars" => &mut deps.jars,
                    "pyFiles" => &mut deps.py_files,
                    "files" => &mut deps.files,
                    "archives" => &mut deps.archives,
                    "packages" => &mut deps.packages,
                    "excludePackages" => &mut deps.exclude_packages,
                    _ => &mut deps.repositories,
                };
                if slot.is_empty() {
                    *slot = list();
                }
                Ok(*slot == list())
            }
            ConfTarget::EventLog(field) => {
                let log = draft.spec.event_log.get_or_insert_with(EventLog::default);
                match field {
                    "enabled" => boolean().map(|b| fill(&mut log.enabled, b)),
                    "rolling" => boolean().map(|b| fill(&mut log.rolling, b)),
                    "maxFileSize" => spark_memory(text, SparkSizeUnit::Bytes).map(|m| fill(&mut log.max_file_size, m)),
                    _ => Ok(fill(&mut log.dir, text.to_owned())),
                }
            }
            ConfTarget::Env(is_driver, name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                match role.env.iter().find(|v| v.name == name) {
                    Some(var) => Ok(var.value.as_deref() == Some(text)),
                    None => {
                        role.env.push(EnvVar {
                            name,
                            value: Some(text.to_owned()),
                            secret_key_ref: None,
                            config_map_key_ref: None,
                        });
                        Ok(true)
                    }
                }
            }
            ConfTarget::NodeSelector(None, name) => Ok(put(&mut draft.spec.node_selector, &name)),
            ConfTarget::NodeSelector(Some(is_driver), name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                Ok(put(&mut role.node_selector, &name))
            }
            ConfTarget::Label(is_driver, name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                Ok(put(&mut role.labels, &name))
            }
            ConfTarget::Annotation(is_driver, name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                Ok(put(&mut role.annotations, &name))
            }
            ConfTarget::Hadoop(name) => Ok(put(&mut draft.spec.hadoop_conf, &name)),
            ConfTarget::Unmovable(reason) => {
                self.ledger.skip(path, reason);
                return;
            }
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => self
                .ledger
                .skip(path, format!("overridden by `{typed_path}`, which the operator applies after sparkConf")),
            Err(message) => {
                self.ledger.error("bad-value", path, message, format!("fix `{key}`, or set `{typed_path}` instead"));
            }
        }
    }

    /// Moves a property into a typed scalar of a role or of dynamic allocation.
    fn move_slot(&mut self, text: &str, is_driver: bool, slot: Slot, draft: &mut Draft) -> Result<bool, String> {
        let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
        let whole = || text.parse::<u32>().map_err(|_| format!("`{text}` is not a whole number"));
        match slot {
            Slot::Memory => spark_memory(text, SparkSizeUnit::Mib).map(|m| fill(&mut role.memory, m)),
            Slot::Overhead => spark_memory(text, SparkSizeUnit::Mib).map(|m| fill(&mut role.memory_overhead, m)),
            Slot::Pyspark => {
                spark_memory(text, SparkSizeUnit::Mib).map(|m| fill(&mut draft.executor.pyspark_memory, m))
            }
            Slot::OffHeap => {
                spark_memory(text, SparkSizeUnit::Bytes).map(|m| fill(&mut draft.executor.off_heap_memory, m))
            }
            Slot::OffHeapOn => Ok(true),
            // A role's own factor wins over the application-wide one in Spark.
            Slot::OverheadFactor => match text.parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 0.0 => {
                    role.memory_overhead_factor = Some(f);
                    Ok(true)
                }
                _ => Err(format!("`{text}` is not a decimal factor")),
            },
            Slot::Cores => match whole() {
                Ok(0) => Err("cores must be at least 1".to_owned()),
                other => other.map(|n| fill(&mut role.cores, n)),
            },
            Slot::CoreRequest => text.parse::<CpuAmount>().map(|c| fill(&mut role.core_request, c)).map_err(|e| e.0),
            Slot::CoreLimit => text.parse::<CpuAmount>().map(|c| fill(&mut role.core_limit, c)).map_err(|e| e.0),
            Slot::Instances => whole().map(|n| fill(&mut draft.executor.instances, n)),
            Slot::ServiceAccount => Ok(fill(&mut draft.driver.service_account, text.to_owned())),
            Slot::RoleImage => {
                let reference = draft.spec.image.as_ref().and_then(Image::reference);
                match reference {
                    Some(reference) => Ok(reference == text),
                    None => {
                        let image = draft.spec.image.get_or_insert_with(Image::default);
                        let parts = split_image(text);
                        (image.repository, image.tag, image.digest) = (parts.repository, parts.tag, parts.digest);
                        Ok(true)
                    }
                }
            }
            Slot::DaEnabled | Slot::DaShuffle => match text {
                "true" | "false" => {
                    let da = draft.spec.dynamic_allocation.get_or_insert_with(DynamicAllocation::default);
                    let field = if slot == Slot::DaEnabled { &mut da.enabled } else { &mut da.shuffle_tracking };
                    Ok(fill(field, text == "true"))
                }
                _ => Err(format!("`{text}` is not true or false")),
            },
            Slot::DaMin | Slot::DaMax | Slot::DaInitial => whole().map(|n| {
                let da = draft.spec.dynamic_allocation.get_or_insert_with(DynamicAllocation::default);
                let field = match slot {
                    Slot::DaMin => &mut da.min_executors,
                    Slot::DaMax => &mut da.max_executors,
                    _ => &mut da.initial_executors,
                };
                fill(field, n)
            }),
        }
    }
}
