//! The verdict of a disaster-recovery drill, as a pure function of what the
//! drill gathered: what the restore found wrong with the copies, how the job
//! run on the restored data went, its data-quality gates, and the clock
//! readings that give the measured RTO (drill start to job green) and RPO
//! (drill start minus the backup's recovery point, the manifest's start).
//!
//! Owns: how a job is re-pointed at the restored data (`{restored}` in its
//! `--set` values, and the restored metastore's table and database locations
//! moved from each backed-up source to its restored copy), which findings fail a drill and in what order they are
//! named, the RTO/RPO comparison with the Backup's objectives, the text and
//! JUnit forms of the verdict (JSON is the verdict's serde form). Must not:
//! restore, run jobs, read clocks or print.

use serde::Serialize;
use sparkplane_documents::junit::{CaseResult, TestCase, TestSuite};

/// What went wrong with one restored copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreFault {
    /// The metastore dump's size or SHA-256 differs from the manifest's, or it did not restore.
    CorruptDump,
    /// The metastore dump is not in the target.
    MissingDump,
    /// The restored metastore's tables or row counts differ from the manifest's.
    MetastoreMismatch,
    /// An object copy's size or SHA-256 differs from the manifest's.
    CorruptObject,
    /// An object copy is not in the target.
    MissingObject,
}

impl RestoreFault {
    fn phrase(self) -> &'static str {
        match self {
            RestoreFault::CorruptDump => "corrupt dump",
            RestoreFault::MissingDump => "missing dump",
            RestoreFault::MetastoreMismatch => "metastore differs from the manifest",
            RestoreFault::CorruptObject => "corrupt object",
            RestoreFault::MissingObject => "missing object",
        }
    }
}

/// One problem the restore found, with the line `backup verify` would print for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RestoreFinding {
    /// Its kind.
    pub fault: RestoreFault,
    /// What and where (`lake/trips/part-0.parquet: missing (expected at s3://…)`).
    pub detail: String,
}

/// How the job run on the restored data went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobRun {
    /// Not run: the restore failed first.
    NotRun,
    /// Spark failed (or could not be started); the cause.
    Failed(String),
    /// Spark finished at this clock reading (ms since the epoch).
    Succeeded {
        /// When the job (and its gates) finished.
        finished_ms: i64,
    },
}

/// One data-quality gate of the job, as checked on its output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateResult {
    /// The gate's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What it found (one line).
    pub detail: String,
}

/// Everything a drill gathered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillFacts {
    /// The backup run restored (its id).
    pub backup_id: String,
    /// When the drill started, ms since the epoch.
    pub started_ms: i64,
    /// The recovery point: the restored backup's start (the manifest's `started`), ms since the epoch.
    pub recovery_point_ms: i64,
    /// Problems the restore found; empty when every copy is what the manifest recorded.
    pub restore: Vec<RestoreFinding>,
    /// The job on the restored data.
    pub job: JobRun,
    /// Its gates, in the job's order; empty when it has none or did not succeed.
    pub gates: Vec<GateResult>,
    /// The RTO target, ms; none when the Backup sets no objective.
    pub rto_target_ms: Option<u64>,
    /// The RPO target, ms.
    pub rpo_target_ms: Option<u64>,
}

/// Why a drill failed, in the order they are reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum DrillFailure {
    /// A copy the restore needed is missing or corrupt.
    Restore(RestoreFinding),
    /// The job failed on the restored data.
    JobFailed {
        /// The cause.
        cause: String,
    },
    /// A data-quality gate failed on the job's output.
    GateFailed(GateResult),
    /// The job was green later than the RTO target allows.
    RtoOverTarget {
        /// Measured, ms.
        measured_ms: u64,
        /// Target, ms.
        target_ms: u64,
    },
    /// The restored data is older than the RPO target allows.
    RpoOverTarget {
        /// Measured, ms.
        measured_ms: u64,
        /// Target, ms.
        target_ms: u64,
    },
}

impl DrillFailure {
    /// One line naming the failure.
    pub fn line(&self) -> String {
        match self {
            DrillFailure::Restore(f) => format!("{}: {}", f.fault.phrase(), f.detail),
            DrillFailure::JobFailed { cause } => format!("job failed: {cause}"),
            DrillFailure::GateFailed(g) => format!("gate failed: {}: {}", g.name, g.detail),
            DrillFailure::RtoOverTarget { measured_ms, target_ms } => {
                format!("RTO over target: {} measured, target {}", ms(*measured_ms), ms(*target_ms))
            }
            DrillFailure::RpoOverTarget { measured_ms, target_ms } => {
                format!("RPO over target: {} measured, target {}", ms(*measured_ms), ms(*target_ms))
            }
        }
    }
}

/// A measured objective against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Objective {
    /// Measured, ms; none when the drill never got there (RTO of a job that was not green).
    pub measured_ms: Option<u64>,
    /// Target, ms; none when the Backup sets none.
    pub target_ms: Option<u64>,
}

/// The drill's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillVerdict {
    /// The backup run restored.
    pub backup_id: String,
    /// Green: restored intact, job and gates passed, RTO and RPO within their targets.
    pub green: bool,
    /// Recovery time.
    pub rto: Objective,
    /// Recovery point.
    pub rpo: Objective,
    /// Gates checked.
    pub gates: Vec<GateResult>,
    /// Why it is not green, in order: restore, job, gates, RTO, RPO.
    pub failures: Vec<DrillFailure>,
}

/// Decides a drill. A failed restore means the job is not run and RTO is not
/// measured; RPO is measured from the manifest whatever else happened. An
/// objective without a target is reported and never fails the drill. Clock
/// readings out of order (a recovery point after the drill's start) count as 0.
pub fn decide(facts: &DrillFacts) -> DrillVerdict {
    let mut failures: Vec<DrillFailure> = facts.restore.iter().cloned().map(DrillFailure::Restore).collect();
    let green_at = match &facts.job {
        JobRun::NotRun => None,
        JobRun::Failed(cause) => {
            failures.push(DrillFailure::JobFailed { cause: cause.clone() });
            None
        }
        JobRun::Succeeded { finished_ms } => {
            let failed: Vec<DrillFailure> =
                facts.gates.iter().filter(|g| !g.passed).cloned().map(DrillFailure::GateFailed).collect();
            let green = failed.is_empty() && facts.restore.is_empty();
            failures.extend(failed);
            green.then_some(*finished_ms)
        }
    };
    let rto_measured = green_at.map(|at| elapsed(facts.started_ms, at));
    let rpo_measured = elapsed(facts.recovery_point_ms, facts.started_ms);
    if let (Some(measured_ms), Some(target_ms)) = (rto_measured, facts.rto_target_ms)
        && measured_ms > target_ms
    {
        failures.push(DrillFailure::RtoOverTarget { measured_ms, target_ms });
    }
    if let Some(target_ms) = facts.rpo_target_ms
        && rpo_measured > target_ms
    {
        failures.push(DrillFailure::RpoOverTarget { measured_ms: rpo_measured, target_ms });
    }
    let green = failures.is_empty() && rto_measured.is_some();
    DrillVerdict {
        backup_id: facts.backup_id.clone(),
        green,
        rto: Objective { measured_ms: rto_measured, target_ms: facts.rto_target_ms },
        rpo: Objective { measured_ms: Some(rpo_measured), target_ms: facts.rpo_target_ms },
        gates: facts.gates.clone(),
        failures,
    }
}

/// The placeholder a drill's `--set` values use for the restore target.
pub const RESTORED: &str = "{restored}";

/// What [`RESTORED`] stands for when the objects are restored into a scratch
/// bucket: its URL as Spark's S3A connector reads it (`s3://b/p/` → `s3a://b/p`).
pub fn s3a_prefix(bucket_url: &str) -> String {
    let rest = bucket_url
        .strip_prefix("s3a://")
        .or_else(|| bucket_url.strip_prefix("s3://"))
        .or_else(|| bucket_url.strip_prefix("s3n://"))
        .unwrap_or(bucket_url);
    format!("s3a://{}", rest.trim_end_matches('/'))
}

/// Re-points a job at the restored data: each `--set` value has [`RESTORED`]
/// replaced by the restore target, a folder or a scratch bucket's
/// [`s3a_prefix`] (objects are at `<target>/<source>/<key>`). A drill whose
/// job would not read restored data proves nothing, so at least one set must
/// use the placeholder, unless the job's catalog is the restored metastore
/// (`catalog_restored`), whose locations point at the restored copies; the
/// error says how to write one.
pub fn repoint(sets: &[String], restore_dir: &str, catalog_restored: bool) -> Result<Vec<String>, String> {
    if !catalog_restored && !sets.iter().any(|s| s.contains(RESTORED)) {
        return Err(format!(
            "no --set uses {RESTORED}: the job would read its usual input, not the restored data; \
             point its input at a restored source, e.g. --set 'arguments=[\"{RESTORED}/lake-trips\"]'"
        ));
    }
    Ok(sets.iter().map(|s| s.replace(RESTORED, restore_dir)).collect())
}

/// One location move in the restored metastore: every location equal to
/// `from` or below it (`from/…`) is moved to `to` (with the same rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// A backed-up source's URL, in one form Spark writes it.
    pub from: String,
    /// Its restored copy: `<restored>/<source name>`.
    pub to: String,
}

/// The moves that point a restored Hive metastore at the restored objects:
/// each source `(name, url)` in the forms a table location may name it
/// (`s3a://`, `s3://`; trailing `/` dropped) moves to `<restored>/<name>`,
/// where the restore wrote it. Longer URLs first, so a source nested in
/// another moves to its own copy.
pub fn relocations(sources: &[(String, String)], restored: &str) -> Vec<Relocation> {
    let mut out = Vec::new();
    for (name, url) in sources {
        let url = url.trim_end_matches('/');
        let to = format!("{}/{name}", restored.trim_end_matches('/'));
        let mut forms = vec![url.to_string()];
        if let Some(rest) = url.strip_prefix("s3://").or_else(|| url.strip_prefix("s3n://")) {
            forms.push(format!("s3a://{rest}"));
        } else if let Some(rest) = url.strip_prefix("s3a://") {
            forms.push(format!("s3://{rest}"));
        }
        out.extend(forms.into_iter().map(|from| Relocation { from, to: to.clone() }));
    }
    out.sort_by(|a, b| b.from.len().cmp(&a.from.len()).then_with(|| a.from.cmp(&b.from)));
    out
}

/// The SQL that applies `moves` to a Hive metastore on PostgreSQL: storage
/// descriptors' `LOCATION`, databases' `DB_LOCATION_URI`, and the `path`
/// serde parameter Spark's data-source tables are read from; of those
/// tables, the ones in `present` (a metastore restored from a partial schema
/// lacks some). Statements sent as one query string, which PostgreSQL runs
/// as one transaction.
pub fn relocation_sql(moves: &[Relocation], present: &[&str]) -> String {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut sql = String::new();
    let columns = [
        ("SDS", "LOCATION", ""),
        ("DBS", "DB_LOCATION_URI", ""),
        ("SERDE_PARAMS", "PARAM_VALUE", "\"PARAM_KEY\" = 'path' AND "),
    ];
    for (table, column, only) in columns.into_iter().filter(|(t, _, _)| present.contains(t)) {
        for m in moves {
            let (from, to) = (literal(&m.from), literal(&m.to));
            let escaped = m.from.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let under = literal(&format!("{escaped}/"));
            sql.push_str(&format!(
                "UPDATE \"{table}\" SET \"{column}\" = {to} || substr(\"{column}\", {len}) \
                 WHERE {only}(\"{column}\" = {from} OR \"{column}\" LIKE {under} || '%');\n",
                len = m.from.chars().count() + 1
            ));
        }
    }
    sql
}

fn elapsed(from_ms: i64, to_ms: i64) -> u64 {
    u64::try_from(to_ms.saturating_sub(from_ms)).unwrap_or(0)
}

/// Milliseconds the way Backup files write durations (`1m30s`, `250ms`, `0s`).
fn ms(millis: u64) -> String {
    sparkplane_api::quantity::Duration::from_millis(millis).to_string()
}

fn objective_text(o: &Objective) -> String {
    let measured = o.measured_ms.map_or_else(|| "not reached".to_string(), ms);
    match o.target_ms {
        Some(t) => format!("{measured} (target {})", ms(t)),
        None => format!("{measured} (no target)"),
    }
}

impl DrillVerdict {
    /// The text report: a verdict line, the objectives, the gates and each failure.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "drill of backup {}: {}\n  RTO {}\n  RPO {}\n",
            self.backup_id,
            if self.green { "green" } else { "FAILED" },
            objective_text(&self.rto),
            objective_text(&self.rpo)
        );
        for gate in &self.gates {
            out.push_str(&format!(
                "  gate {}: {} ({})\n",
                gate.name,
                if gate.passed { "passed" } else { "failed" },
                gate.detail
            ));
        }
        for failure in &self.failures {
            out.push_str(&format!("  error: {}\n", failure.line()));
        }
        out
    }

    /// The JUnit form: one suite `dr-drill` with one case per backup, failed with every failure's line.
    pub fn to_junit(&self) -> TestSuite {
        let summary = format!("RTO {}; RPO {}", objective_text(&self.rto), objective_text(&self.rpo));
        let result = if self.green {
            CaseResult::Output(summary)
        } else {
            let lines: Vec<String> = self.failures.iter().map(DrillFailure::line).collect();
            let message = lines.first().cloned().unwrap_or_else(|| "the job was not green".to_string());
            CaseResult::Failure { kind: "dr-drill".into(), message, body: format!("{}\n{summary}", lines.join("\n")) }
        };
        TestSuite {
            name: "dr-drill".into(),
            cases: vec![TestCase { classname: "sparkplane.dr".into(), name: self.backup_id.clone(), result }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn green_facts() -> DrillFacts {
        DrillFacts {
            backup_id: "20261123T180000Z".into(),
            started_ms: 100 * MIN,
            recovery_point_ms: 40 * MIN,
            restore: vec![],
            job: JobRun::Succeeded { finished_ms: 102 * MIN },
            gates: vec![GateResult { name: "rows".into(), passed: true, detail: "1000 rows".into() }],
            rto_target_ms: Some(5 * MIN as u64),
            rpo_target_ms: Some(24 * 60 * MIN as u64),
        }
    }

    fn lines(v: &DrillVerdict) -> Vec<String> {
        v.failures.iter().map(DrillFailure::line).collect()
    }

    /// One row of the table: a change to the green facts and what the verdict must then say.
    struct Case {
        name: &'static str,
        change: fn(&mut DrillFacts),
        green: bool,
        rto_ms: Option<u64>,
        failures: &'static [&'static str],
    }

    fn restore_failed(f: &mut DrillFacts, fault: RestoreFault, detail: &str) {
        f.restore = vec![RestoreFinding { fault, detail: detail.into() }];
        f.job = JobRun::NotRun;
        f.gates = vec![];
    }

    #[test]
    fn drills_are_decided_by_restore_job_gates_and_objectives() {
        let min = MIN as u64;
        let cases = [
            Case { name: "green", change: |_| {}, green: true, rto_ms: Some(2 * min), failures: &[] },
            Case {
                name: "missing object: job not run, RTO not reached",
                change: |f| {
                    restore_failed(f, RestoreFault::MissingObject, "lake/t/part-0: missing (expected at s3://b/x)")
                },
                green: false,
                rto_ms: None,
                failures: &["missing object: lake/t/part-0: missing (expected at s3://b/x)"],
            },
            Case {
                name: "corrupt dump",
                change: |f| restore_failed(f, RestoreFault::CorruptDump, "metastore dump of hive: corrupt at s3://b/d"),
                green: false,
                rto_ms: None,
                failures: &["corrupt dump: metastore dump of hive: corrupt at s3://b/d"],
            },
            Case {
                name: "job failed",
                change: |f| {
                    f.job = JobRun::Failed("spark-submit exited with 1".into());
                    f.gates = vec![];
                },
                green: false,
                rto_ms: None,
                failures: &["job failed: spark-submit exited with 1"],
            },
            Case {
                name: "gate failed",
                change: |f| {
                    f.gates.push(GateResult { name: "not-null".into(), passed: false, detail: "3 nulls in id".into() })
                },
                green: false,
                rto_ms: None,
                failures: &["gate failed: not-null: 3 nulls in id"],
            },
            Case {
                name: "RTO over target",
                change: |f| f.rto_target_ms = Some(MIN as u64),
                green: false,
                rto_ms: Some(2 * min),
                failures: &["RTO over target: 2m measured, target 1m"],
            },
            Case {
                name: "RPO over target, even when the job failed",
                change: |f| {
                    f.rpo_target_ms = Some(30 * MIN as u64);
                    f.job = JobRun::Failed("boom".into());
                },
                green: false,
                rto_ms: None,
                failures: &["job failed: boom", "RPO over target: 1h measured, target 30m"],
            },
            Case {
                name: "no objectives: measured, never failing",
                change: |f| {
                    f.rto_target_ms = None;
                    f.rpo_target_ms = None;
                },
                green: true,
                rto_ms: Some(2 * min),
                failures: &[],
            },
            Case {
                name: "exactly on target is within it",
                change: |f| {
                    f.rto_target_ms = Some(2 * MIN as u64);
                    f.rpo_target_ms = Some(60 * MIN as u64);
                },
                green: true,
                rto_ms: Some(2 * min),
                failures: &[],
            },
        ];
        for case in cases {
            let name = case.name;
            let mut facts = green_facts();
            (case.change)(&mut facts);
            let verdict = decide(&facts);
            assert_eq!(verdict.green, case.green, "{name}");
            assert_eq!(verdict.rto.measured_ms, case.rto_ms, "{name}");
            assert_eq!(verdict.rpo.measured_ms, Some(60 * min), "{name}");
            assert_eq!(lines(&verdict), case.failures, "{name}");
        }
    }

    #[test]
    fn failures_are_named_in_order_restore_job_gates_rto_rpo() {
        let mut facts = green_facts();
        facts.restore = vec![
            RestoreFinding { fault: RestoreFault::CorruptObject, detail: "a".into() },
            RestoreFinding { fault: RestoreFault::MetastoreMismatch, detail: "b".into() },
        ];
        facts.gates = vec![
            GateResult { name: "g1".into(), passed: false, detail: "x".into() },
            GateResult { name: "g2".into(), passed: true, detail: "y".into() },
        ];
        facts.rpo_target_ms = Some(1);
        let verdict = decide(&facts);
        assert_eq!(
            lines(&verdict),
            [
                "corrupt object: a",
                "metastore differs from the manifest: b",
                "gate failed: g1: x",
                "RPO over target: 1h measured, target 1ms"
            ]
        );
        // A job that ran on a bad restore is never green, so it has no RTO.
        assert_eq!(verdict.rto.measured_ms, None);
        assert!(!verdict.green);
    }

    #[test]
    fn the_job_is_repointed_at_the_restore_folder_or_refused() {
        let sets = vec!["arguments=[\"{restored}/lake-trips\", \"out\"]".to_string(), "driver.memory=1g".into()];
        assert_eq!(
            repoint(&sets, "/tmp/r", false).as_deref(),
            Ok(&["arguments=[\"/tmp/r/lake-trips\", \"out\"]".to_string(), "driver.memory=1g".into()][..])
        );
        assert_eq!(repoint(&sets[1..], "s3a://s/d", true).as_deref(), Ok(&sets[1..]), "the catalog reads the restore");
        assert_eq!(
            repoint(&sets[1..], "/tmp/r", false),
            Err("no --set uses {restored}: the job would read its usual input, not the restored data; point its \
                 input at a restored source, e.g. --set 'arguments=[\"{restored}/lake-trips\"]'"
                .to_string())
        );
    }

    #[test]
    fn the_restored_metastore_is_moved_onto_the_restored_copies() {
        let sources = vec![
            ("trips".to_string(), "s3://lake/raw/trips/".to_string()),
            ("tables".to_string(), "s3a://lake/tables".to_string()),
        ];
        let moves = relocations(&sources, "s3a://scratch/drill/");
        let pairs: Vec<(&str, &str)> = moves.iter().map(|m| (m.from.as_str(), m.to.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("s3a://lake/raw/trips", "s3a://scratch/drill/trips"),
                ("s3://lake/raw/trips", "s3a://scratch/drill/trips"),
                ("s3a://lake/tables", "s3a://scratch/drill/tables"),
                ("s3://lake/tables", "s3a://scratch/drill/tables"),
            ]
        );
        let moves = [Relocation { from: "s3a://l/it's_x".into(), to: "s3a://s/d/t".into() }];
        assert_eq!(relocation_sql(&moves, &["TBLS"]), "", "nothing to move in a schema without them");
        let sql = relocation_sql(&moves, &["SDS", "DBS", "SERDE_PARAMS"]);
        assert_eq!(
            sql.lines().collect::<Vec<_>>(),
            [
                "UPDATE \"SDS\" SET \"LOCATION\" = 's3a://s/d/t' || substr(\"LOCATION\", 15) WHERE (\"LOCATION\" = \
                 's3a://l/it''s_x' OR \"LOCATION\" LIKE 's3a://l/it''s\\_x/' || '%');",
                "UPDATE \"DBS\" SET \"DB_LOCATION_URI\" = 's3a://s/d/t' || substr(\"DB_LOCATION_URI\", 15) WHERE \
                 (\"DB_LOCATION_URI\" = 's3a://l/it''s_x' OR \"DB_LOCATION_URI\" LIKE 's3a://l/it''s\\_x/' || '%');",
                "UPDATE \"SERDE_PARAMS\" SET \"PARAM_VALUE\" = 's3a://s/d/t' || substr(\"PARAM_VALUE\", 15) WHERE \
                 \"PARAM_KEY\" = 'path' AND (\"PARAM_VALUE\" = 's3a://l/it''s_x' OR \"PARAM_VALUE\" LIKE \
                 's3a://l/it''s\\_x/' || '%');",
            ]
        );
    }

    #[test]
    fn a_scratch_bucket_is_read_through_s3a() {
        assert_eq!(s3a_prefix("s3://scratch/drill/"), "s3a://scratch/drill");
        assert_eq!(s3a_prefix("s3a://scratch"), "s3a://scratch");
        assert_eq!(s3a_prefix("s3n://b/p"), "s3a://b/p");
    }

    #[test]
    fn a_recovery_point_after_the_drill_start_counts_as_zero() {
        let mut facts = green_facts();
        facts.recovery_point_ms = facts.started_ms + MIN;
        assert_eq!(decide(&facts).rpo.measured_ms, Some(0));
    }

    #[test]
    fn text_json_and_junit_say_the_same() {
        let mut facts = green_facts();
        let verdict = decide(&facts);
        assert_eq!(
            verdict.to_text(),
            "drill of backup 20261123T180000Z: green\n  RTO 2m (target 5m)\n  RPO 1h (target 1d)\n  gate rows: passed (1000 rows)\n"
        );
        let json = serde_json::to_value(&verdict).unwrap_or_default();
        assert_eq!(json["green"], true);
        assert_eq!(json["rto"]["measuredMs"], 120_000);
        assert_eq!(json["rpo"]["targetMs"], 86_400_000);
        let xml = verdict.to_junit().to_xml();
        assert!(xml.contains("tests=\"1\" failures=\"0\""), "{xml}");
        assert!(xml.contains("RTO 2m (target 5m); RPO 1h (target 1d)"), "{xml}");

        facts.restore = vec![RestoreFinding { fault: RestoreFault::MissingObject, detail: "lake/t/p: missing".into() }];
        facts.job = JobRun::NotRun;
        facts.gates = vec![];
        facts.rto_target_ms = None;
        let verdict = decide(&facts);
        assert_eq!(
            verdict.to_text(),
            "drill of backup 20261123T180000Z: FAILED\n  RTO not reached (no target)\n  RPO 1h (target 1d)\n  error: missing object: lake/t/p: missing\n"
        );
        let json = serde_json::to_value(&verdict).unwrap_or_default();
        assert_eq!(json["failures"][0]["reason"], "restore");
        assert_eq!(json["failures"][0]["fault"], "missing-object");
        assert_eq!(json["rto"]["measuredMs"], serde_json::Value::Null);
        let xml = verdict.to_junit().to_xml();
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("message=\"missing object: lake/t/p: missing\""), "{xml}");
    }
}
