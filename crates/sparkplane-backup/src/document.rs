//! The Backup document: a `kind: Backup` file is loaded and checked —
//! structure by the schema checker, meaning here — with every problem at
//! once, each with file, line, column and field path.
//!
//! Owns: which Backup documents are valid (names, schedule, retention, store
//! URLs and endpoints, credential and password references, sources that do
//! not overlap the target) and the defaults every reader of a Backup uses
//! (namespace, port, scratch database, names of the sources, when a backup
//! is late). Pure, like the plans beside it: must not read files, talk to
//! PostgreSQL or object storage, or plan copies and render CronJobs (that is
//! the `plan`, `run` and `render` modules beside it).

use std::collections::BTreeMap;

use sparkplane_api::backup::{Backup, BackupSpec, Metastore, StoreCredentials};

use sparkplane_core::names::{is_dns1123_label, is_dns1123_subdomain, is_env_name};
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::document::{check_api_version, expect_kind, read_checked};
use sparkplane_documents::schema::{Completeness, schema_of};
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::{FieldPath, Node, parse_single};

/// The `kind:` of a backup document.
pub const KIND: &str = "Backup";
/// Namespace the CronJob runs in when the spec does not say.
pub const DEFAULT_NAMESPACE: &str = sparkplane_api::tenant::DEFAULT_PLATFORM_NAMESPACE;
/// PostgreSQL's port when the spec does not say.
pub const DEFAULT_PG_PORT: u32 = 5432;
/// Name of the event-log source in the backup's layout.
pub const EVENT_LOGS: &str = "event-logs";
/// Name of the release-records source in the backup's layout.
pub const RELEASES: &str = "releases";
/// Longest backup name: CronJob names are at most 52 characters and get a `-backup` suffix.
pub const MAX_NAME: usize = 52 - "-backup".len();

/// A backup document that passed every check, and the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedBackup {
    /// The typed backup.
    pub backup: Backup,
    /// Problems that do not stop a backup.
    pub warnings: Diagnostics,
}

/// One object source: its name in the layout and reports, and its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSource {
    /// `event-logs`, `releases` or a lake prefix's name.
    pub name: String,
    /// Where it is read from.
    pub url: String,
}

/// The namespace the CronJob runs in.
pub fn namespace(backup: &Backup) -> &str {
    backup.spec.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
}

/// Every object source in a fixed order: event logs, releases, then lake prefixes as written.
pub fn object_sources(backup: &Backup) -> Vec<ObjectSource> {
    let objects = &backup.spec.objects;
    let mut out = Vec::new();
    if let Some(url) = &objects.event_logs {
        out.push(ObjectSource { name: EVENT_LOGS.into(), url: url.clone() });
    }
    if let Some(url) = &objects.releases {
        out.push(ObjectSource { name: RELEASES.into(), url: url.clone() });
    }
    out.extend(objects.lake.iter().map(|l| ObjectSource { name: l.name.clone(), url: l.url.clone() }));
    out
}

/// Hours after its last success a backup is late when its schedule cannot
/// say (it fires less than twice in 400 days), and in the alert for runs that
/// did not report their own threshold: a daily schedule plus two hours. The
/// alert's number is the owner (`sparkplane_observe::rules`, which this crate
/// reads and which must not read it back), so the two cannot disagree.
pub const FALLBACK_LATE_HOURS: u64 = sparkplane_observe::rules::BACKUP_LATE_HOURS;

/// How long after its last success a backup is late: the longest wait
/// between two runs of its schedule, plus that wait again but at most two
/// hours for a slow or retried run (daily: 26 h; hourly: 2 h; weekdays at
/// 02:00: 74 h, Friday to Monday). The schedule is read in UTC from a fixed
/// date, so the answer does not move with the clock. `backup run` reports it
/// with each run, and the late alert holds each backup to its own.
pub fn late_after(backup: &Backup) -> std::time::Duration {
    const SLACK: std::time::Duration = std::time::Duration::from_secs(2 * 3600);
    const FROM: jiff::Timestamp = jiff::Timestamp::constant(1_767_225_600, 0); // 2026-01-01T00:00:00Z
    let gap = sparkplane_core::cron::parse(&backup.spec.schedule)
        .ok()
        .and_then(|cron| sparkplane_core::cron::longest_gap(&cron, &jiff::tz::TimeZone::UTC, FROM, 1_000));
    match gap {
        Some(gap) => gap + gap.min(SLACK),
        None => std::time::Duration::from_secs(FALLBACK_LATE_HOURS * 3600),
    }
}

/// The database `backup verify` restores into.
pub fn scratch_database(metastore: &sparkplane_api::backup::Metastore) -> String {
    metastore.scratch_database.clone().unwrap_or_else(|| format!("{}_sparkplane_verify", metastore.database))
}

/// Loads and checks a backup document; every problem carries a span.
pub fn load_backup(source: &Source) -> Result<LoadedBackup, Diagnostics> {
    let doc = parse_single(source)?;
    expect_kind(&doc, KIND, "a backup file starts with `apiVersion: sparkplane.dev/v1alpha1` and `kind: Backup`")?;
    let problems = schema_of::<Backup>().check(&doc, Completeness::Complete);
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    let backup: Backup = read_checked(&doc, "Backup", "see examples/backup/platform.yaml for every field of a Backup")?;
    let mut problems = Diagnostics::new();
    check_meaning(&doc, &backup, &mut problems);
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    Ok(LoadedBackup { backup, warnings: problems })
}

/// What a Backup needs beyond [`load_backup`]'s checks to run in a cluster
/// (`backup render`): every credential and password filled from a Secret
/// (the pod has no other source of values), and sources in object storage
/// (a folder on this machine is not in the pod).
pub fn check_for_cluster(source: &Source, backup: &Backup) -> Result<(), Diagnostics> {
    let doc = parse_single(source)?;
    let mut out = Diagnostics::new();
    let mut error = |at: &str, message: String, help: &str| {
        out.push(
            Diagnostic::error("not-for-cluster", at, message).with_span(Some(doc.span_for(&path(at)))).with_help(help),
        );
    };
    let spec = &backup.spec;
    for (at, credentials) in [
        ("spec.target.credentials", spec.target.credentials.as_ref()),
        ("spec.objects.source.credentials", spec.objects.source.as_ref().and_then(|s| s.credentials.as_ref())),
    ] {
        if credentials.is_some_and(|c| c.secret.is_none()) {
            error(
                at,
                "the CronJob cannot fill these variables: no `secret` is named".into(),
                "name the Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or remove `credentials` to use the pod's workload identity",
            );
        }
    }
    if let Some(password) = spec.metastore.as_ref().and_then(|m| m.password.as_ref())
        && password.secret.is_none()
    {
        error(
            "spec.metastore.password",
            "the CronJob cannot fill the password variable: no `secret` is named".into(),
            "add `secret: {name: <Secret>, key: <key>}`",
        );
    }
    let urls = [
        ("spec.objects.eventLogs", spec.objects.event_logs.as_ref()),
        ("spec.objects.releases", spec.objects.releases.as_ref()),
    ];
    let lake: Vec<(String, Option<&String>)> = spec
        .objects
        .lake
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("spec.objects.lake[{i}].url"), Some(&l.url)))
        .collect();
    for (at, url) in urls.iter().map(|(a, u)| ((*a).to_owned(), *u)).chain(lake) {
        if let Some(url) = url
            && store_url(url).is_none()
        {
            error(
                &at,
                format!("`{url}` is a folder on this machine, not in the cluster"),
                "back up object storage from the cluster; folders only with `sparkplane backup run` where they are",
            );
        }
    }
    if out.has_errors() { Err(out.sorted()) } else { Ok(()) }
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

/// The object-store schemes a target or source may use, and what they are written as.
const STORE_SCHEMES: &[&str] = &["s3", "s3a", "s3n", "gs", "az", "azure", "abfs", "abfss"];

/// `scheme://bucket/prefix` split, when `url` is an object-store URL with a bucket.
fn store_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if !STORE_SCHEMES.contains(&scheme) {
        return None;
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((scheme, bucket, prefix.trim_matches('/')))
}

/// Bucket and prefix in one comparable form (`s3a` and `s3` are one store).
fn normalised(url: &str) -> Option<String> {
    let (scheme, bucket, prefix) = store_url(url)?;
    let scheme = if scheme.starts_with("s3") { "s3" } else { scheme };
    Some(format!("{scheme}://{bucket}/{prefix}"))
}

/// Whether one prefix lies within the other (or they are the same).
fn overlaps(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner == outer || inner.starts_with(&format!("{}/", outer.trim_end_matches('/'))) || outer.ends_with("//")
    };
    within(a, b) || within(b, a)
}

fn check_meaning(doc: &Node, backup: &Backup, out: &mut Diagnostics) {
    check_api_version(doc, &backup.api_version, out);
    let mut error = |at: &str, code: &'static str, message: String, help: &str| {
        out.push(Diagnostic::error(code, at, message).with_span(Some(doc.span_for(&path(at)))).with_help(help));
    };
    let spec = &backup.spec;
    check_identity(backup, &mut error);
    let target = check_target(spec, &mut error);
    check_lake_names(spec, &mut error);
    let sources = check_sources(spec, target.as_deref(), &mut error);
    match &spec.metastore {
        Some(db) => check_metastore(db, &mut error),
        None if sources == 0 => error(
            "spec",
            "missing-field",
            "the backup copies nothing".into(),
            "declare `metastore` and/or `objects` (eventLogs, releases, lake)",
        ),
        None => {}
    }
    check_metrics_and_objectives(spec, &mut error);
}

/// The backup's name, namespace, image, schedule and retention.
fn check_identity(backup: &Backup, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let spec = &backup.spec;
    let name = &backup.metadata.name;
    if !is_dns1123_label(name) || name.len() > MAX_NAME {
        error(
            "metadata.name",
            "bad-name",
            format!("`{name}` is not a valid backup name"),
            &format!(
                "use at most {MAX_NAME} lower-case letters, digits and '-', starting and ending with a letter or digit"
            ),
        );
    }
    if !is_dns1123_label(namespace(backup)) {
        error(
            "spec.namespace",
            "bad-name",
            format!("`{}` is not a valid namespace name", namespace(backup)),
            "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    if spec.image.trim().is_empty() || spec.image.contains(char::is_whitespace) {
        error(
            "spec.image",
            "bad-value",
            format!("`{}` is not an image reference", spec.image),
            "name an image with sparkplane and PostgreSQL's client tools, e.g. `registry.example.com/sparkplane-backup:0.1.0`",
        );
    }
    if let Err(e) = sparkplane_core::cron::parse(&spec.schedule) {
        error("spec.schedule", "bad-schedule", format!("`{}`: {}", spec.schedule, e.message), &e.help);
    }
    if spec.retention.count.is_none() && spec.retention.max_age.is_none() {
        error(
            "spec.retention",
            "missing-field",
            "retention keeps every backup forever".into(),
            "give `count` (e.g. 14), `maxAge` (e.g. 30d) or both",
        );
    }
    if spec.retention.max_age.is_some_and(|age| age.as_millis() == 0) {
        error("spec.retention.maxAge", "bad-value", "a maximum age of 0 keeps nothing".into(), "write e.g. `30d`");
    }
}

/// The target's URL, endpoint and credentials, and the sources' access;
/// the target in comparable form when it is an object-store URL.
fn check_target(spec: &BackupSpec, error: &mut impl FnMut(&str, &'static str, String, &str)) -> Option<String> {
    let target = normalised(&spec.target.url);
    if target.is_none() {
        error(
            "spec.target.url",
            "bad-url",
            format!("`{}` is not an object-store URL", spec.target.url),
            "write s3://bucket/prefix (another bucket or region than the sources), gs://bucket/prefix or az://container/prefix",
        );
    }
    check_endpoint(spec.target.endpoint.as_deref(), "spec.target.endpoint", error);
    check_credentials(spec.target.credentials.as_ref(), "spec.target.credentials", error);
    if let Some(access) = &spec.objects.source {
        check_endpoint(access.endpoint.as_deref(), "spec.objects.source.endpoint", error);
        check_credentials(access.credentials.as_ref(), "spec.objects.source.credentials", error);
    }
    target
}

/// Each lake prefix's name: valid, not a name the layout takes, not twice.
fn check_lake_names(spec: &BackupSpec, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, lake) in spec.objects.lake.iter().enumerate() {
        let at = format!("spec.objects.lake[{i}].name");
        if !is_dns1123_label(&lake.name) || [EVENT_LOGS, RELEASES].contains(&lake.name.as_str()) {
            error(
                &at,
                "bad-name",
                format!("`{}` cannot name a lake prefix", lake.name),
                "use lower-case letters, digits and '-' (`event-logs` and `releases` are taken)",
            );
        } else if let Some(first) = seen.insert(lake.name.clone(), at.clone()) {
            error(
                &at,
                "duplicate",
                format!("lake prefix `{}` is also named at {first}", lake.name),
                "give each prefix its own name",
            );
        }
    }
}

/// Each object source's URL: an object store or a folder, never inside the
/// target. Answers how many sources there are.
fn check_sources(
    spec: &BackupSpec,
    target: Option<&str>,
    error: &mut impl FnMut(&str, &'static str, String, &str),
) -> usize {
    let fields: Vec<(String, &String)> = [
        spec.objects.event_logs.as_ref().map(|u| ("spec.objects.eventLogs".to_owned(), u)),
        spec.objects.releases.as_ref().map(|u| ("spec.objects.releases".to_owned(), u)),
    ]
    .into_iter()
    .flatten()
    .chain(spec.objects.lake.iter().enumerate().map(|(i, l)| (format!("spec.objects.lake[{i}].url"), &l.url)))
    .collect();
    for (at, url) in &fields {
        match normalised(url) {
            None if url.contains("://") && !url.starts_with("file://") => error(
                at,
                "bad-url",
                format!("`{url}` is not an object-store URL or a folder"),
                "write s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or a local folder",
            ),
            Some(source) if target.is_some_and(|t| overlaps(&source, t)) => error(
                at,
                "overlap",
                format!("`{url}` overlaps the target `{}`", spec.target.url),
                "back up into another bucket (or another region): a copy inside its source is lost with it",
            ),
            _ => {}
        }
    }
    fields.len()
}

/// The metastore's port, host, database, user, scratch database and password reference.
fn check_metastore(db: &Metastore, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let port = db.port.unwrap_or(DEFAULT_PG_PORT);
    if port == 0 || port > 65_535 {
        error("spec.metastore.port", "bad-value", format!("{port} is not a TCP port"), "write 1-65535, usually 5432");
    }
    if db.host.trim().is_empty() || db.host.contains(char::is_whitespace) {
        error(
            "spec.metastore.host",
            "bad-value",
            format!("`{}` is not a host name", db.host),
            "name the PostgreSQL server",
        );
    }
    for (at, value) in [("spec.metastore.database", &db.database), ("spec.metastore.user", &db.user)] {
        if value.trim().is_empty() {
            error(at, "bad-value", "is empty".into(), "name it as PostgreSQL does");
        }
    }
    let scratch = scratch_database(db);
    if scratch == db.database {
        error(
            "spec.metastore.scratchDatabase",
            "bad-value",
            format!("the scratch database is the metastore itself (`{scratch}`)"),
            "name another database: verify drops and recreates it",
        );
    }
    if let Some(password) = &db.password {
        if !is_env_name(&password.env) {
            error(
                "spec.metastore.password.env",
                "bad-value",
                format!("`{}` is not an environment variable name", password.env),
                "name the variable holding the password, e.g. METASTORE_PASSWORD (never the password itself)",
            );
        }
        if let Some(secret) = &password.secret
            && !is_dns1123_subdomain(&secret.name)
        {
            error(
                "spec.metastore.password.secret.name",
                "bad-name",
                format!("`{}` is not a Secret name", secret.name),
                "name the Kubernetes Secret holding the password",
            );
        }
    }
}

/// The Pushgateway's URL and the recovery objectives.
fn check_metrics_and_objectives(spec: &BackupSpec, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    if let Some(metrics) = &spec.metrics
        && !(metrics.pushgateway.starts_with("http://") || metrics.pushgateway.starts_with("https://"))
    {
        error(
            "spec.metrics.pushgateway",
            "bad-url",
            format!("`{}` is not an http(s) URL", metrics.pushgateway),
            "write the Pushgateway's URL, e.g. http://pushgateway.monitoring:9091",
        );
    }
    if let Some(objectives) = &spec.objectives {
        for (at, value) in [("spec.objectives.rto", objectives.rto), ("spec.objectives.rpo", objectives.rpo)] {
            if value.is_some_and(|d| d.as_millis() == 0) {
                error(at, "bad-value", "an objective of 0 cannot be met".into(), "write e.g. `1h` or `24h`");
            }
        }
    }
}

fn check_endpoint(endpoint: Option<&str>, at: &str, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    if let Some(endpoint) = endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        error(
            at,
            "bad-url",
            format!("`{endpoint}` is not an http(s) URL"),
            "write the S3 server's URL, e.g. https://minio.storage:9000",
        );
    }
}

fn check_credentials(
    credentials: Option<&StoreCredentials>,
    at: &str,
    error: &mut impl FnMut(&str, &'static str, String, &str),
) {
    let Some(credentials) = credentials else { return };
    for (field, value) in
        [("accessKeyIdEnv", &credentials.access_key_id_env), ("secretAccessKeyEnv", &credentials.secret_access_key_env)]
    {
        if !is_env_name(value) {
            error(
                &format!("{at}.{field}"),
                "bad-value",
                format!("`{value}` is not an environment variable name"),
                "name the variable that holds the key (never the key itself), e.g. BACKUP_AWS_ACCESS_KEY_ID",
            );
        }
    }
    if let Some(secret) = &credentials.secret
        && !is_dns1123_subdomain(secret)
    {
        error(
            &format!("{at}.secret"),
            "bad-name",
            format!("`{secret}` is not a Secret name"),
            "name the Kubernetes Secret",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Backup
metadata: {name: platform}
spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {count: 14, maxAge: 30d}
  target: {url: s3://platform-backups/prod}
  metastore: {host: pg, database: metastore, user: hive, password: {env: METASTORE_PASSWORD}}
  objects:
    eventLogs: s3://lake/spark-events
    lake: [{name: sales, url: s3://lake/curated/sales}]
";

    fn load(text: &str) -> Result<LoadedBackup, Vec<String>> {
        load_backup(&Source::new("backup.yaml", text))
            .map_err(|d| d.0.iter().map(|d| format!("{}: {}", d.path, d.message)).collect())
    }

    #[test]
    fn a_good_backup_loads_with_its_sources_in_order() {
        let loaded = load(GOOD).expect("valid");
        let names: Vec<_> = object_sources(&loaded.backup).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["event-logs", "sales"]);
        assert_eq!(namespace(&loaded.backup), "sparkplane-system");
        let db = loaded.backup.spec.metastore.as_ref().expect("metastore");
        assert_eq!(scratch_database(db), "metastore_sparkplane_verify");
    }

    #[test]
    fn a_backup_is_late_after_its_longest_wait_plus_at_most_two_hours() {
        let late = |schedule: &str| {
            let loaded = load(&GOOD.replace("15 2 * * *", schedule)).expect("valid");
            late_after(&loaded.backup).as_secs() / 60
        };
        assert_eq!(late("15 2 * * *"), 26 * 60);
        assert_eq!(late("@hourly"), 2 * 60);
        assert_eq!(late("*/10 * * * *"), 20);
        assert_eq!(late("0 2 * * 1-5"), 74 * 60);
        // Once in four years: the schedule cannot say, so the fallback.
        assert_eq!(late("0 0 29 2 *"), FALLBACK_LATE_HOURS * 60);
    }

    #[test]
    fn every_meaning_problem_at_once() {
        let text = GOOD
            .replace("15 2 * * *", "61 2 * * *")
            .replace("s3://platform-backups/prod", "s3://lake/backups")
            .replace("s3://lake/spark-events", "s3a://lake/")
            .replace("{count: 14, maxAge: 30d}", "{}")
            .replace("name: sales", "name: releases");
        let problems = load(&text).expect_err("invalid");
        assert_eq!(
            problems,
            [
                "spec.schedule: `61 2 * * *`: the minute field `61`: 61 is above the maximum of 59",
                "spec.retention: retention keeps every backup forever",
                "spec.objects.eventLogs: `s3a://lake/` overlaps the target `s3://lake/backups`",
                "spec.objects.lake[0].name: `releases` cannot name a lake prefix",
            ],
        );
    }

    #[test]
    fn another_api_version_is_refused() {
        let problems = load(&GOOD.replace("sparkplane.dev/v1alpha1", "sparkplane.dev/v2")).expect_err("invalid");
        assert_eq!(problems, ["apiVersion: apiVersion `sparkplane.dev/v2` is not supported"]);
    }

    #[test]
    fn overlap_is_by_whole_path_segments() {
        assert!(overlaps("s3://a/x", "s3://a/x"));
        assert!(overlaps("s3://a/x/y", "s3://a/x"));
        assert!(overlaps("s3://a/", "s3://a/x"));
        assert!(!overlaps("s3://a/xy", "s3://a/x"));
        assert!(!overlaps("s3://b/x", "s3://a/x"));
    }
}
