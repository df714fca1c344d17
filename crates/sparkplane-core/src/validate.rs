//! Meaning checks of a resolved job: names and their length budget, resource
//! bounds, executor counts against dynamic-allocation bounds, conflicting
//! fields, cron schedules, image digest and tag spellings, volumes.
//!
//! Owns the validity rules (ADR 0028): what makes a job wrong wherever it
//! goes — Spark or Kubernetes would refuse it, or sparkplane could not size
//! or render what it says. Always on, exit 2. Must not: hold a platform's
//! judgement (inline credentials, hostPath, more than 5 cores per executor,
//! image tags and registries), which the policies own, per environment.
//!
//! Structure (unknown fields, types, quantity spellings) is `schema`'s job and
//! has already passed when this runs. Every problem is reported, not the first.

use sparkplane_api::job::{AppType, EnvVar, RestartKind, RoleSpec};
use sparkplane_api::{MemorySize, SparkJobSpec};

use crate::image::{is_digest, is_tag};
use crate::names::{MAX_JOB_NAME, is_dns1123_label, is_env_name, is_label_key, is_label_value, to_dns1123_label};
use crate::pod_security::{POLICY_OWNED_VOLUME_TYPES, RESTRICTED_VOLUME_TYPES};
use crate::resolved::ResolvedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::yaml::FieldPath;

/// What a job is being prepared for; some fields are only needed on a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidationTarget {
    /// Rendering or submitting to Kubernetes: an image and durable event-log storage are required.
    Cluster,
    /// Running on this machine.
    Local,
    /// Only resolving or sizing: cluster-only fields are not required.
    Any,
}

/// Smallest heap Spark starts with (its 450 MiB reserved-memory floor).
pub const MIN_HEAP: MemorySize = MemorySize::from_mib(450);

/// Spark properties that typed fields own: setting them in `sparkConf` would
/// let sizing, fit and rendering disagree with what Spark does.
pub const OWNED_SPARK_KEYS: &[(&str, &str)] = &[
    ("spark.app.name", "metadata.name"),
    ("spark.kubernetes.namespace", "metadata.namespace"),
    ("spark.kubernetes.container.image", "spec.image"),
    ("spark.kubernetes.driver.container.image", "spec.image"),
    ("spark.kubernetes.executor.container.image", "spec.image"),
    ("spark.kubernetes.container.image.pullPolicy", "spec.image.pullPolicy"),
    ("spark.kubernetes.container.image.pullSecrets", "spec.image.pullSecrets"),
    ("spark.driver.cores", "spec.driver.cores"),
    ("spark.driver.memory", "spec.driver.memory"),
    ("spark.driver.memoryOverhead", "spec.driver.memoryOverhead"),
    ("spark.driver.memoryOverheadFactor", "spec.driver.memoryOverheadFactor"),
    ("spark.kubernetes.driver.request.cores", "spec.driver.coreRequest"),
    ("spark.kubernetes.driver.limit.cores", "spec.driver.coreLimit"),
    ("spark.executor.cores", "spec.executor.cores"),
    ("spark.executor.memory", "spec.executor.memory"),
    ("spark.executor.memoryOverhead", "spec.executor.memoryOverhead"),
    ("spark.executor.memoryOverheadFactor", "spec.executor.memoryOverheadFactor"),
    ("spark.kubernetes.memoryOverheadFactor", "spec.executor.memoryOverheadFactor"),
    ("spark.kubernetes.executor.request.cores", "spec.executor.coreRequest"),
    ("spark.kubernetes.executor.limit.cores", "spec.executor.coreLimit"),
    ("spark.executor.instances", "spec.executor.instances"),
    ("spark.executor.pyspark.memory", "spec.executor.pysparkMemory"),
    ("spark.memory.offHeap.enabled", "spec.executor.offHeapMemory"),
    ("spark.memory.offHeap.size", "spec.executor.offHeapMemory"),
    ("spark.dynamicAllocation.enabled", "spec.dynamicAllocation.enabled"),
    ("spark.dynamicAllocation.minExecutors", "spec.dynamicAllocation.minExecutors"),
    ("spark.dynamicAllocation.maxExecutors", "spec.dynamicAllocation.maxExecutors"),
    ("spark.dynamicAllocation.initialExecutors", "spec.dynamicAllocation.initialExecutors"),
    ("spark.dynamicAllocation.shuffleTracking.enabled", "spec.dynamicAllocation.shuffleTracking"),
    ("spark.eventLog.enabled", "spec.eventLog.enabled"),
    ("spark.eventLog.dir", "spec.eventLog.dir"),
    ("spark.eventLog.rolling.enabled", "spec.eventLog.rolling"),
    ("spark.eventLog.rolling.maxFileSize", "spec.eventLog.maxFileSize"),
    ("spark.eventLog.compress", "spec.eventLog.codec"),
    ("spark.eventLog.compression.codec", "spec.eventLog.codec"),
    ("spark.kubernetes.authenticate.driver.serviceAccountName", "spec.serviceAccount"),
    ("spark.kubernetes.scheduler.name", "spec.schedulerName"),
    ("spark.jars", "spec.deps.jars"),
    ("spark.submit.pyFiles", "spec.deps.pyFiles"),
    ("spark.files", "spec.deps.files"),
    ("spark.archives", "spec.deps.archives"),
    ("spark.jars.packages", "spec.deps.packages"),
    ("spark.jars.excludes", "spec.deps.excludePackages"),
    ("spark.jars.repositories", "spec.deps.repositories"),
];

/// Prefixes of Spark properties owned by typed fields.
pub const OWNED_SPARK_PREFIXES: &[(&str, &str)] = &[
    ("spark.kubernetes.driverEnv.", "spec.driver.env"),
    ("spark.executorEnv.", "spec.executor.env"),
    ("spark.kubernetes.node.selector.", "spec.nodeSelector"),
    ("spark.kubernetes.driver.node.selector.", "spec.driver.nodeSelector"),
    ("spark.kubernetes.executor.node.selector.", "spec.executor.nodeSelector"),
    ("spark.kubernetes.driver.label.", "spec.driver.labels"),
    ("spark.kubernetes.executor.label.", "spec.executor.labels"),
    ("spark.kubernetes.driver.annotation.", "spec.driver.annotations"),
    ("spark.kubernetes.executor.annotation.", "spec.executor.annotations"),
    ("spark.kubernetes.driver.volumes.", "spec.volumes and spec.driver.volumeMounts"),
    ("spark.kubernetes.executor.volumes.", "spec.volumes and spec.executor.volumeMounts"),
    ("spark.kubernetes.driver.podTemplateFile", "spec.driver.podTemplate"),
    ("spark.kubernetes.executor.podTemplateFile", "spec.executor.podTemplate"),
    ("spark.hadoop.", "spec.hadoopConf"),
];

struct Ctx<'a> {
    resolved: &'a ResolvedJob,
    out: Diagnostics,
}

impl Ctx<'_> {
    fn at(&self, path: &str) -> FieldPath {
        FieldPath::parse(path).unwrap_or_default()
    }

    /// The value at `path`; for a missing field, the key of its nearest present parent.
    fn span(&self, path: &str) -> Option<sparkplane_documents::Span> {
        let tree = &self.resolved.tree;
        let mut path = self.at(path);
        if let Some(node) = tree.get(&path) {
            return Some(node.span.clone());
        }
        while path.0.pop().is_some() {
            if tree.get(&path).is_some() {
                return tree.key_span(&path).or_else(|| Some(tree.span_for(&path)));
            }
        }
        Some(tree.span.clone())
    }

    fn error(&mut self, code: &'static str, path: &str, message: String, help: String) {
        let span = self.span(path);
        self.out.push(Diagnostic::error(code, path, message).with_help(help).with_span(span));
    }

    fn warn(&mut self, code: &'static str, path: &str, message: String, help: String) {
        let span = self.span(path);
        self.out.push(Diagnostic::warning(code, path, message).with_help(help).with_span(span));
    }

    fn conflict(&mut self, a: &str, b: &str, message: String, help: String) {
        let span_a = self.span(a);
        let span_b = self.span(b);
        self.out.push(
            Diagnostic::error("conflicting-fields", a, message)
                .with_help(help)
                .with_span(span_a)
                .with_related(span_b, format!("`{b}` is set here")),
        );
    }
}

/// Checks the meaning of a resolved job; returns errors and warnings.
pub fn validate(resolved: &ResolvedJob, target: ValidationTarget) -> Diagnostics {
    let mut ctx = Ctx { resolved, out: Diagnostics::new() };
    let spec = &resolved.job.spec;
    check_identity(&mut ctx);
    check_application(&mut ctx, spec, target);
    check_resources(&mut ctx, spec);
    check_spark_conf(&mut ctx, spec);
    check_env(&mut ctx, "spec.env", &spec.env);
    if let Some(d) = &spec.driver {
        check_env(&mut ctx, "spec.driver.env", &d.role.env);
    }
    if let Some(e) = &spec.executor {
        check_env(&mut ctx, "spec.executor.env", &e.role.env);
    }
    check_volumes(&mut ctx, spec);
    check_lifecycle(&mut ctx, spec);
    check_operations(&mut ctx, spec, target);
    ctx.out
}

fn check_identity(ctx: &mut Ctx<'_>) {
    let meta = &ctx.resolved.job.metadata;
    let name = meta.name.clone().unwrap_or_default();
    if !is_dns1123_label(&name) {
        ctx.error(
            "bad-name",
            "metadata.name",
            format!("`{name}` is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit"),
            format!("rename it, e.g. `{}`", to_dns1123_label(&name)),
        );
    } else if name.len() > MAX_JOB_NAME {
        ctx.error(
            "name-too-long",
            "metadata.name",
            format!(
                "`{name}` is {} characters; job names can have at most {MAX_JOB_NAME}, because Spark limits executor pod-name prefixes (`<name>-<hash>`) to 47",
                name.len()
            ),
            format!("shorten it, e.g. `{}`", name.chars().take(MAX_JOB_NAME).collect::<String>().trim_end_matches('-')),
        );
    }
    if let Some(ns) = meta.namespace.clone()
        && !is_dns1123_label(&ns)
    {
        ctx.error(
            "bad-name",
            "metadata.namespace",
            format!("`{ns}` is not a valid namespace name"),
            format!("use e.g. `{}`", to_dns1123_label(&ns)),
        );
    }
    let labels: Vec<(String, String)> = meta.labels.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, value) in labels {
        let path = format!("metadata.labels.{}", FieldPath::root().key(&key));
        if !is_label_key(&key) {
            ctx.error(
                "bad-label",
                &path,
                format!("`{key}` is not a valid label key"),
                "use `[prefix/]name` with letters, digits, '-', '_' and '.'".into(),
            );
        }
        if !is_label_value(&value) {
            ctx.error(
                "bad-label",
                &path,
                format!("`{value}` is not a valid label value"),
                "use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into(),
            );
        }
    }
    for (field, value) in
        [("spec.team", &ctx.resolved.job.spec.team), ("spec.costCenter", &ctx.resolved.job.spec.cost_center)]
    {
        if let Some(value) = value.clone()
            && (!is_label_value(&value) || value.is_empty())
        {
            ctx.error(
                "bad-label",
                field,
                format!("`{value}` cannot be a label value, and it becomes one"),
                "use at most 63 letters, digits, '-', '_' and '.'".into(),
            );
        }
    }
}

fn check_application(ctx: &mut Ctx<'_>, spec: &SparkJobSpec, target: ValidationTarget) {
    crate::spark_connect::check_connect_settings(spec, &mut |d| {
        let span = ctx.span(&d.path);
        ctx.out.push(d.with_span(span));
    });
    match spec.app_type {
        None => ctx.error(
            "missing-field",
            "spec.type",
            "the application type is not set".into(),
            "add `type: Python` (or Scala, Java, R, SQL, Connect) under spec".into(),
        ),
        Some(AppType::Connect) => {
            crate::spark_connect::check_connect_job(spec, target == ValidationTarget::Local, &mut |d| {
                let span = ctx.span(&d.path);
                ctx.out.push(d.with_span(span));
            })
        }
        Some(app_type) => {
            let is_jvm = app_type.is_jvm();
            match (&spec.main_class, is_jvm) {
                (None, true) => ctx.error(
                    "missing-field",
                    "spec.mainClass",
                    format!("a {app_type:?} application needs `mainClass`"),
                    "add `mainClass: com.example.Main` under spec".into(),
                ),
                (Some(_), false) => ctx.conflict(
                    "spec.mainClass",
                    "spec.type",
                    format!("`mainClass` is set but the application type is {app_type:?}, which has no main class"),
                    "remove `mainClass`, or set `type: Scala`/`Java`".into(),
                ),
                _ => {}
            }
            if let Some(file) = &spec.main_application_file {
                let expected: &[&str] = match app_type {
                    AppType::Python => &[".py"],
                    AppType::Scala | AppType::Java => &[".jar"],
                    AppType::R => &[".r", ".R"],
                    AppType::Sql => &[".sql"],
                    AppType::Connect => &[],
                };
                if !expected.iter().any(|ext| file.ends_with(ext)) {
                    ctx.warn(
                        "unexpected-file-type",
                        "spec.mainApplicationFile",
                        format!(
                            "`{file}` does not end in {} as a {app_type:?} application's file usually does",
                            expected.join(" or ")
                        ),
                        "check `type` and `mainApplicationFile` agree".into(),
                    );
                }
            }
        }
    }
    if spec.main_application_file.as_deref().is_none_or(str::is_empty) && spec.app_type != Some(AppType::Connect) {
        ctx.error(
            "missing-field",
            "spec.mainApplicationFile",
            "the application file is not set".into(),
            "add `mainApplicationFile: local:///opt/app/job.py` (or s3a://…, https://…) under spec".into(),
        );
    }
    match &spec.spark_version {
        None => ctx.error(
            "missing-field",
            "spec.sparkVersion",
            "the Spark version is not set".into(),
            "add `sparkVersion: \"3.5.7\"` (or use a preset, which sets it)".into(),
        ),
        Some(v) if crate::spark_lines::line_of(v).is_none() || v.split('.').any(|p| p.parse::<u32>().is_err()) => {
            let (oldest, newest) = crate::spark_lines::line_range();
            ctx.error(
                "unsupported-version",
                "spec.sparkVersion",
                format!(
                    "Spark `{v}` is not supported: sparkplane supports the lines {}",
                    crate::spark_lines::supported_lines()
                ),
                format!("use a release of one of them, e.g. \"{}\" or \"{}\"", oldest.pyspark, newest.pyspark),
            );
        }
        _ => {}
    }
    if target == ValidationTarget::Cluster && spec.image.as_ref().and_then(|i| i.repository.as_ref()).is_none() {
        ctx.error(
            "missing-field",
            "spec.image.repository",
            "a cluster job needs a container image".into(),
            "add `image: {repository: apache/spark, tag: \"3.5.7\"}` under spec".into(),
        );
    }
    if let Some(image) = &spec.image {
        if let Some(digest) = &image.digest
            && !is_digest(digest)
        {
            ctx.error(
                "bad-value",
                "spec.image.digest",
                format!("`{digest}` is not an image digest"),
                "write `sha256:` followed by 64 hex digits".into(),
            );
        }
        if let Some(tag) = &image.tag
            && !is_tag(tag)
        {
            ctx.error(
                "bad-value",
                "spec.image.tag",
                format!("`{tag}` is not a tag"),
                "put the repository in `repository` and the digest in `digest`".into(),
            );
        }
    }
}

fn check_resources(ctx: &mut Ctx<'_>, spec: &SparkJobSpec) {
    let roles =
        [("driver", spec.driver.as_ref().map(|d| &d.role)), ("executor", spec.executor.as_ref().map(|e| &e.role))];
    for (role_name, role) in roles {
        if let Some(role) = role {
            check_role_resources(ctx, role_name, role);
        }
    }
    if let (Some(gang), Some(scheduler)) = (spec.scheduling.as_ref().and_then(|s| s.gang), &spec.scheduler_name)
        && scheduler != gang.scheduler_name()
    {
        ctx.conflict(
            "spec.schedulerName",
            "spec.scheduling.gang",
            format!("schedulerName `{scheduler}` is not the gang scheduler `{}`", gang.scheduler_name()),
            "remove schedulerName: scheduling.gang sets every pod's scheduler".into(),
        );
    }
    check_executor_count(ctx, spec);
}

/// A driver's or executors' cores, heap, overhead, CPU request and limit, and GPU.
fn check_role_resources(ctx: &mut Ctx<'_>, role_name: &str, role: &RoleSpec) {
    let at = |field: &str| format!("spec.{role_name}.{field}");
    if role.cores == Some(0) {
        ctx.error(
            "bad-value",
            &at("cores"),
            format!("the {role_name} needs at least 1 core"),
            "set `cores: 1` or more".into(),
        );
    }
    if let Some(memory) = role.memory
        && memory < MIN_HEAP
    {
        ctx.error(
            "bad-value",
            &at("memory"),
            format!("{memory} is below Spark's minimum heap of 450 MiB; the JVM would refuse to start"),
            "set `memory: 512m` or more".into(),
        );
    }
    if role.memory_overhead.is_some() && role.memory_overhead_factor.is_some() {
        ctx.conflict(
            &at("memoryOverhead"),
            &at("memoryOverheadFactor"),
            "both `memoryOverhead` and `memoryOverheadFactor` are set; Spark would use the first and ignore the second"
                .into(),
            "keep one of them".into(),
        );
    }
    if let Some(factor) = role.memory_overhead_factor
        && !(factor > 0.0 && factor <= 1.0)
    {
        ctx.error(
            "bad-value",
            &at("memoryOverheadFactor"),
            format!("{factor} is not a fraction between 0 and 1"),
            "use e.g. 0.1 for JVM jobs or 0.4 for PySpark".into(),
        );
    }
    if let (Some(request), Some(limit)) = (role.core_request, role.core_limit)
        && limit < request
    {
        ctx.conflict(
            &at("coreLimit"),
            &at("coreRequest"),
            format!("the CPU limit {limit} is below the request {request}; Kubernetes rejects such a pod"),
            "raise `coreLimit` or lower `coreRequest`".into(),
        );
    }
    if let Some(gpu) = &role.gpu {
        if gpu.amount == 0 {
            ctx.error(
                "bad-value",
                &at("gpu.amount"),
                "a GPU request of 0 asks for nothing".into(),
                "set `amount: 1` or remove `gpu`".into(),
            );
        }
        if !gpu.name.contains('/') {
            ctx.error(
                "bad-value",
                &at("gpu.name"),
                format!("`{}` is not an extended-resource name", gpu.name),
                "use the device plugin's name, e.g. `nvidia.com/gpu` or `amd.com/gpu`".into(),
            );
        }
    }
}

/// How many executors: dynamic allocation's bounds (and `instances` within
/// them) or, without it, at least one.
fn check_executor_count(ctx: &mut Ctx<'_>, spec: &SparkJobSpec) {
    let instances = spec.executor.as_ref().and_then(|e| e.instances);
    match spec.dynamic_allocation.as_ref().filter(|d| d.enabled == Some(true)) {
        Some(da) => {
            let min = da.min_executors.unwrap_or(0);
            match da.max_executors {
                None => ctx.error(
                    "missing-field",
                    "spec.dynamicAllocation.maxExecutors",
                    "dynamic allocation has no upper bound, so quotas and costs cannot be checked".into(),
                    "add `maxExecutors:` under spec.dynamicAllocation".into(),
                ),
                Some(max) => {
                    if min > max {
                        ctx.conflict(
                            "spec.dynamicAllocation.minExecutors",
                            "spec.dynamicAllocation.maxExecutors",
                            format!("minExecutors ({min}) is above maxExecutors ({max})"),
                            "make minExecutors ≤ maxExecutors".into(),
                        );
                    }
                    if let Some(initial) = da.initial_executors
                        && (initial < min || initial > max)
                    {
                        ctx.conflict(
                            "spec.dynamicAllocation.initialExecutors",
                            "spec.dynamicAllocation.maxExecutors",
                            format!("initialExecutors ({initial}) is outside [{min}, {max}]"),
                            format!("set initialExecutors between {min} and {max}"),
                        );
                    }
                    if let Some(n) = instances
                        && (n < min || n > max)
                    {
                        ctx.conflict("spec.executor.instances", "spec.dynamicAllocation.maxExecutors", format!("executor.instances ({n}) is outside the dynamic-allocation bounds [{min}, {max}]"), format!("set executor.instances between {min} and {max}, or remove it (initialExecutors decides the start)"));
                    }
                }
            }
            if da.shuffle_tracking == Some(false) {
                ctx.warn("no-shuffle-tracking", "spec.dynamicAllocation.shuffleTracking", "dynamic allocation without shuffle tracking needs an external or remote shuffle service, which Kubernetes does not have by default; Spark refuses to start without one".into(), "remove `shuffleTracking: false` unless the cluster runs a shuffle service (it defaults to true)".into());
            }
        }
        None => {
            if instances == Some(0) {
                ctx.error(
                    "bad-value",
                    "spec.executor.instances",
                    "0 executors without dynamic allocation cannot run any task".into(),
                    "set `instances: 1` or more, or enable dynamic allocation".into(),
                );
            }
        }
    }
}

fn check_spark_conf(ctx: &mut Ctx<'_>, spec: &SparkJobSpec) {
    check_resize_settings(ctx, spec);
    let path_of = |map: &str, key: &str| format!("spec.{map}.{}", FieldPath::root().key(key));
    for key in spec.spark_conf.keys() {
        let path = path_of("sparkConf", key);
        if !key.starts_with("spark.") {
            ctx.error(
                "bad-spark-property",
                &path,
                format!("`{key}` is not a Spark property"),
                "Spark properties start with `spark.`; Hadoop properties go in spec.hadoopConf".into(),
            );
            continue;
        }
        let line = spec.spark_version.as_deref().and_then(crate::spark_lines::line_of);
        let value = spec.spark_conf.get(key).map(String::as_str).unwrap_or_default();
        if let Some((line, newer)) = line.and_then(|l| Some((l, crate::spark_lines::added_after(l, key, value)?))) {
            let what = match newer.added_settings.iter().find(|(k, _)| *k == key) {
                Some((_, Some(v))) => format!("`{key}: {v}`"),
                _ => format!("`{key}`"),
            };
            ctx.error(
                "newer-spark-setting",
                &path,
                format!(
                    "{what} is a Spark {} setting; Spark {} (spec.sparkVersion) does not have it and would ignore it",
                    newer.line, line.line
                ),
                format!("set spec.sparkVersion to \"{}\" or newer, or remove {what}", newer.pyspark),
            );
        }
        let named = crate::render::common::NAMED_ALLOCATORS.iter().find(|n| n.eq_ignore_ascii_case(value.trim()));
        if key == crate::render::common::ALLOCATOR_PROPERTY
            && let Some(named) = named.filter(|n| **n != value)
        {
            ctx.error(
                "bad-value",
                &path,
                format!(
                    "`{value}` is not an allocator Spark knows: it compares the name exactly and would load `{value}` as a class"
                ),
                format!("write `{named}`"),
            );
        }
        if key == crate::render::common::ALLOCATOR_PROPERTY && value == crate::render::common::DEPLOYMENT_ALLOCATOR {
            let own =
                spec.driver.as_ref().and_then(|d| d.service_account.as_deref()).or(spec.service_account.as_deref());
            if let Some(account) = own {
                ctx.warn(
                    "own-driver-account",
                    &path,
                    format!(
                        "the driver runs as `{account}`, whose Role sparkplane does not render; Spark's Deployment \
                         allocator creates, scales and deletes a Deployment, and fails the driver when refused"
                    ),
                    format!(
                        "grant `{account}` `apps` deployments (create, delete, get) and deployments/scale (get, \
                         update) in the job's namespace, or remove serviceAccount so sparkplane renders the driver's Role"
                    ),
                );
            }
        }
        let owner = OWNED_SPARK_KEYS
            .iter()
            .find(|(k, _)| k == key)
            .or_else(|| OWNED_SPARK_PREFIXES.iter().find(|(prefix, _)| key.starts_with(prefix)));
        if let Some((_, field)) = owner {
            let field_path = field.split(' ').next().unwrap_or(field);
            if ctx.resolved.tree.get(&FieldPath::parse(field_path).unwrap_or_default()).is_some() {
                ctx.conflict(
                    &path,
                    field_path,
                    format!("`{key}` is set in sparkConf and `{field}` is set too"),
                    format!("remove `{key}` from sparkConf; `{field}` decides"),
                );
            } else {
                ctx.error(
                    "owned-spark-property",
                    &path,
                    format!("`{key}` is controlled by `{field}`"),
                    format!("move the value to `{field}`, so sizing, fit and rendering all see it"),
                );
            }
        }
    }
}

/// Spark 4.2's resize settings that are ratios: (key, whether 1 is allowed).
/// Spark checks each when the driver reads it, so a bad value fails a job
/// that was accepted; here it is refused at its field instead.
const RESIZE_RATIOS: &[(&str, bool)] = &[
    ("spark.kubernetes.executor.resizeThreshold", false),
    ("spark.kubernetes.executor.pvc.resizeThreshold", false),
    ("spark.kubernetes.executor.resizeFactor", true),
    ("spark.kubernetes.executor.pvc.resizeFactor", true),
];
/// Spark 4.2's PVC resize interval: minutes, 0 (off) or a multiple of 5.
const PVC_RESIZE_INTERVAL: &str = "spark.kubernetes.executor.pvc.resizeInterval";

/// The values of Spark 4.2's resize settings, as Spark's own checks read them.
fn check_resize_settings(ctx: &mut Ctx<'_>, spec: &SparkJobSpec) {
    for (key, one_allowed) in RESIZE_RATIOS {
        let Some(value) = spec.spark_conf.get(*key) else { continue };
        let number = value.trim().parse::<f64>().ok();
        let fits = number.is_some_and(|n| n > 0.0 && (n < 1.0 || (*one_allowed && n == 1.0)));
        if !fits {
            let range = if *one_allowed { "(0, 1]" } else { "(0, 1)" };
            ctx.error(
                "bad-value",
                &format!("spec.sparkConf.{}", FieldPath::root().key(key)),
                format!("`{value}` is not a number in {range}; Spark refuses it when the driver starts"),
                format!("set a number in {range}, e.g. \"{}\"", if *one_allowed { "0.1" } else { "0.9" }),
            );
        }
    }
    if let Some(value) = spec.spark_conf.get(PVC_RESIZE_INTERVAL) {
        let minutes = spark_time_in_minutes(value);
        if !minutes.is_some_and(|m| m >= 0 && m % 5 == 0) {
            ctx.error(
                "bad-value",
                &format!("spec.sparkConf.{}", FieldPath::root().key(PVC_RESIZE_INTERVAL)),
                format!("`{value}` is not 0 or a multiple of 5 minutes; Spark refuses it when the driver starts"),
                "set a multiple of 5 minutes (\"5min\", \"10min\"; a bare number is minutes) or 0 to turn it off"
                    .into(),
            );
        }
    }
}

/// A Spark time setting read in minutes, as Spark reads one (`timeConf` in
/// minutes): an integer, in minutes when it has no unit, else in `us`, `ms`,
/// `s`, `m`/`min`, `h` or `d`, truncated to whole minutes; `None` when Spark
/// would refuse the text.
fn spark_time_in_minutes(text: &str) -> Option<i64> {
    let text = text.trim().to_ascii_lowercase();
    let digits = text.strip_prefix('-').unwrap_or(&text);
    let split = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let number: i64 = digits[..split].parse().ok()?;
    let per_minute_micros: i64 = 60_000_000;
    let micros = match digits[split..].trim() {
        "" | "m" | "min" => return Some(sign * number),
        "us" => number,
        "ms" => number.checked_mul(1_000)?,
        "s" => number.checked_mul(1_000_000)?,
        "h" => return number.checked_mul(60).map(|m| sign * m),
        "d" => return number.checked_mul(24 * 60).map(|m| sign * m),
        _ => return None,
    };
    Some(sign * (micros / per_minute_micros))
}

fn check_env(ctx: &mut Ctx<'_>, base: &str, env: &[EnvVar]) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, var) in env.iter().enumerate() {
        let path = format!("{base}[{i}]");
        if !is_env_name(&var.name) {
            ctx.error(
                "bad-env",
                &format!("{path}.name"),
                format!("`{}` is not a valid variable name", var.name),
                "use letters, digits and '_', not starting with a digit".into(),
            );
        }
        if !seen.insert(var.name.clone()) {
            ctx.error("bad-env", &format!("{path}.name"), format!("`{}` is set twice", var.name), "keep one".into());
        }
        let sources = [var.value.is_some(), var.secret_key_ref.is_some(), var.config_map_key_ref.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if sources != 1 {
            ctx.error(
                "bad-env",
                &path,
                format!(
                    "`{}` must have exactly one of value, secretKeyRef and configMapKeyRef; it has {sources}",
                    var.name
                ),
                "keep one source".into(),
            );
        }
    }
}

fn check_volumes(ctx: &mut Ctx<'_>, spec: &SparkJobSpec) {
    let names: Vec<&str> = spec.volumes.iter().map(|v| v.name.as_str()).collect();
    for (i, name) in names.iter().enumerate() {
        if !is_dns1123_label(name) {
            ctx.error(
                "bad-name",
                &format!("spec.volumes[{i}].name"),
                format!("`{name}` is not a valid volume name"),
                "use lower-case letters, digits and '-'".into(),
            );
        }
        let volume = serde_json::to_value(&spec.volumes[i]).unwrap_or_default();
        for kind in volume.as_object().into_iter().flat_map(|m| m.keys()).filter(|k| *k != "name") {
            let kind = kind.as_str();
            if !RESTRICTED_VOLUME_TYPES.contains(&kind) && !POLICY_OWNED_VOLUME_TYPES.contains(&kind) {
                ctx.error(
                    "restricted-volume",
                    &format!("spec.volumes[{i}].{kind}"),
                    format!("`{kind}` volumes break Pod Security \"restricted\", which every sparkplane pod meets"),
                    "use emptyDir for scratch space, a persistentVolumeClaim for data, or a configMap/secret/projected volume for files".into(),
                );
            }
        }
        if names[..i].contains(name) {
            ctx.error(
                "bad-name",
                &format!("spec.volumes[{i}].name"),
                format!("volume `{name}` is declared twice"),
                "give each volume its own name".into(),
            );
        }
    }
    for (role_name, mounts) in [
        ("driver", spec.driver.as_ref().map(|d| &d.role.volume_mounts)),
        ("executor", spec.executor.as_ref().map(|e| &e.role.volume_mounts)),
    ] {
        for (i, mount) in mounts.into_iter().flatten().enumerate() {
            if !names.contains(&mount.name.as_str()) {
                let path = format!("spec.{role_name}.volumeMounts[{i}].name");
                ctx.error(
                    "unknown-volume",
                    &path,
                    format!("volume `{}` is mounted but not declared", mount.name),
                    format!(
                        "declare it under spec.volumes, or mount one of: {}",
                        if names.is_empty() { "(none declared)".into() } else { names.join(", ") }
                    ),
                );
            }
        }
    }
}

fn check_lifecycle(ctx: &mut Ctx<'_>, spec: &SparkJobSpec) {
    if let Some(policy) = &spec.restart_policy {
        if policy.kind == Some(RestartKind::Never) && policy.retries.is_some_and(|r| r > 0) {
            ctx.conflict(
                "spec.restartPolicy.retries",
                "spec.restartPolicy.type",
                "retries are set but the restart policy is Never".into(),
                "set `type: OnFailure`, or remove `retries`".into(),
            );
        }
        if let Some(backoff) = &policy.backoff {
            if let (Some(initial), Some(max)) = (backoff.initial, backoff.max)
                && initial > max
            {
                ctx.conflict(
                    "spec.restartPolicy.backoff.initial",
                    "spec.restartPolicy.backoff.max",
                    format!("the first backoff ({initial}) is longer than the largest ({max})"),
                    "make initial ≤ max".into(),
                );
            }
            if backoff.multiplier.is_some_and(|m| m < 1.0) {
                ctx.error(
                    "bad-value",
                    "spec.restartPolicy.backoff.multiplier",
                    "a backoff multiplier below 1 shrinks the delay".into(),
                    "use 1 (constant) or more, e.g. 2".into(),
                );
            }
        }
    }
    if let Some(schedule) = &spec.schedule {
        match &schedule.cron {
            None => ctx.error(
                "missing-field",
                "spec.schedule.cron",
                "a schedule needs a cron expression".into(),
                "add e.g. `cron: \"0 3 * * *\"` (03:00 every day)".into(),
            ),
            Some(cron) => {
                if let Err(why) = crate::cron::parse(cron) {
                    ctx.error(
                        "bad-cron",
                        "spec.schedule.cron",
                        format!("`{cron}` is not a valid cron expression: {why}"),
                        why.help,
                    );
                }
            }
        }
        if let Some(tz) = &schedule.time_zone {
            let ok = tz == "UTC"
                || tz.split('/').count() >= 2
                    && tz
                        .split('/')
                        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c)));
            if !ok {
                ctx.error(
                    "bad-value",
                    "spec.schedule.timeZone",
                    format!("`{tz}` is not an IANA time-zone name"),
                    "use e.g. `UTC`, `Europe/Berlin` or `America/New_York`".into(),
                );
            }
        }
        if spec.restart_policy.as_ref().and_then(|p| p.kind) == Some(RestartKind::Always) {
            ctx.conflict(
                "spec.restartPolicy.type",
                "spec.schedule",
                "a scheduled job with restart policy Always never finishes, so later runs pile up".into(),
                "use OnFailure or Never for scheduled jobs".into(),
            );
        }
    }
    if let Some(timeouts) = &spec.timeouts
        && let (Some(max), Some(slo)) = (timeouts.max_duration, spec.slo.as_ref().and_then(|s| s.max_duration))
        && slo > max
    {
        ctx.warn(
            "slo-unreachable",
            "spec.slo.maxDuration",
            format!(
                "the SLO allows {slo} but the job is stopped after {max}, so the duration SLO can never be what fails"
            ),
            "make slo.maxDuration ≤ timeouts.maxDuration".into(),
        );
    }
}

fn check_operations(ctx: &mut Ctx<'_>, spec: &SparkJobSpec, target: ValidationTarget) {
    if let Some(slo) = &spec.slo
        && let Some(rate) = slo.success_rate
        && !(rate > 0.0 && rate < 1.0)
    {
        ctx.error(
            "bad-value",
            "spec.slo.successRate",
            format!("{rate} is not a fraction between 0 and 1"),
            "use e.g. 0.99 (99% of runs succeed); 1 leaves no error budget".into(),
        );
    }
    if let Some(log) = &spec.event_log
        && log.enabled != Some(false)
        && target == ValidationTarget::Cluster
    {
        match &log.dir {
            None => ctx.error(
                "missing-field",
                "spec.eventLog.dir",
                "event logs are on but have no directory; a pod's local disk is lost when it ends".into(),
                "set `dir: s3a://<bucket>/spark-events` (or another shared store)".into(),
            ),
            Some(dir) if dir.starts_with("file:") || dir.starts_with('/') => ctx.warn(
                "ephemeral-event-log",
                "spec.eventLog.dir",
                format!("`{dir}` is on the driver pod's own disk and is lost when the pod ends"),
                "use shared storage, e.g. s3a://<bucket>/spark-events".into(),
            ),
            _ => {}
        }
    }
    for (i, gate) in spec.quality_gates.iter().enumerate() {
        if gate.spec.trim().is_empty() {
            ctx.error(
                "missing-field",
                &format!("spec.qualityGates[{i}].spec"),
                "a quality gate needs the path of its data-quality spec".into(),
                "write e.g. `spec: dq/trips.yaml`".into(),
            );
        }
    }
}
