//! `sparkplane backup render|run|verify` through the real binary against real
//! parts started here on 127.0.0.1: a PostgreSQL server (Debian's
//! postgresql, run as the unprivileged `sparkplane-pg` user that
//! `need_postgres` creates) holding a metastore shaped like Hive's, and two
//! SeaweedFS S3 servers — the source (event logs, a lake prefix) and the
//! backup target. A deleted copy and a corrupted dump are each caught with
//! exit 1 and their exact message; unreachable PostgreSQL or storage is exit
//! 3 and leaves no complete-looking run; bad Backup files are exit 2 with
//! their exact diagnostics. Rendered objects are held to Kubernetes' own
//! strict schemas (PyPI kubernetes-validate, installed by `need_helm`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use sparkplane_testkit::sparkplane;
use sparkplane_testkit::{PostgresServer, S3Server};

const HIVE_PASSWORD: &str = "hive-test-password-7f3a";

/// A metastore with Hive's table and column names for the tables Spark's
/// catalog reads first (databases, tables, storage descriptors, columns,
/// partitions). Modelled on the Hive metastore's published schema (names and
/// keys only; this is not Hive's DDL), with data written here.
const METASTORE: &str = r#"
CREATE TABLE "DBS" ("DB_ID" bigint PRIMARY KEY, "NAME" varchar(128) UNIQUE NOT NULL, "DESC" varchar(4000),
  "DB_LOCATION_URI" varchar(4000) NOT NULL, "OWNER_NAME" varchar(128));
CREATE TABLE "CDS" ("CD_ID" bigint PRIMARY KEY);
CREATE TABLE "SDS" ("SD_ID" bigint PRIMARY KEY, "CD_ID" bigint REFERENCES "CDS", "LOCATION" varchar(4000),
  "INPUT_FORMAT" varchar(4000), "OUTPUT_FORMAT" varchar(4000));
CREATE TABLE "TBLS" ("TBL_ID" bigint PRIMARY KEY, "DB_ID" bigint REFERENCES "DBS", "SD_ID" bigint REFERENCES "SDS",
  "TBL_NAME" varchar(256) NOT NULL, "TBL_TYPE" varchar(128), "OWNER" varchar(767), "CREATE_TIME" integer NOT NULL,
  UNIQUE ("TBL_NAME", "DB_ID"));
CREATE TABLE "COLUMNS_V2" ("CD_ID" bigint REFERENCES "CDS", "COLUMN_NAME" varchar(767) NOT NULL,
  "TYPE_NAME" text, "INTEGER_IDX" integer NOT NULL, PRIMARY KEY ("CD_ID", "COLUMN_NAME"));
CREATE TABLE "PARTITIONS" ("PART_ID" bigint PRIMARY KEY, "TBL_ID" bigint REFERENCES "TBLS",
  "SD_ID" bigint REFERENCES "SDS", "PART_NAME" varchar(767), "CREATE_TIME" integer NOT NULL);
INSERT INTO "DBS" VALUES (1, 'default', 'Default Hive database', 's3a://lake/warehouse', 'public'),
  (2, 'sales', NULL, 's3a://lake/warehouse/sales.db', 'data-eng'), (3, 'ops', NULL, 's3a://lake/warehouse/ops.db', 'sre');
INSERT INTO "CDS" SELECT g FROM generate_series(1, 5) g;
INSERT INTO "SDS" SELECT g, 1 + g % 5, 's3a://lake/warehouse/t' || g,
  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat' FROM generate_series(1, 1205) g;
INSERT INTO "TBLS" VALUES (1, 2, 1, 'orders', 'MANAGED_TABLE', 'data-eng', 1767225600),
  (2, 2, 2, 'customers', 'MANAGED_TABLE', 'data-eng', 1767225600),
  (3, 2, 3, 'daily_revenue', 'EXTERNAL_TABLE', 'data-eng', 1767225600),
  (4, 3, 4, 'job_runs', 'EXTERNAL_TABLE', 'sre', 1767225600),
  (5, 1, 5, 'scratch', 'MANAGED_TABLE', 'public', 1767225600);
INSERT INTO "COLUMNS_V2" SELECT 1 + (g - 1) / 4, 'col_' || g, 'string', (g - 1) % 4 FROM generate_series(1, 20) g;
INSERT INTO "PARTITIONS" SELECT g, 1 + g % 3, 5 + g, 'date=2026-01-' || lpad((1 + g % 28)::text, 2, '0') || '/h=' || g,
  1767225600 FROM generate_series(1, 1200) g;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO hive;
"#;

struct Platform {
    pg: PostgresServer,
    source: S3Server,
    target: S3Server,
    pushgateway: Pushgateway,
    dir: tempfile::TempDir,
}

/// Debian's Prometheus Pushgateway (`need_pushgateway`) on 127.0.0.1, in memory, killed on drop.
struct Pushgateway {
    child: std::process::Child,
    url: String,
}

impl Pushgateway {
    fn start() -> Pushgateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let child = std::process::Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus-pushgateway (scripts/common.sh need_pushgateway)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        while ureq::get(&format!("{url}/-/ready")).call().is_err() {
            assert!(Instant::now() < deadline, "the Pushgateway did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Pushgateway { child, url }
    }

    /// The backup series it holds now, `name{labels} value` per line, sorted.
    fn backup_series(&self) -> Vec<String> {
        let text = ureq::get(&format!("{}/metrics", self.url))
            .call()
            .expect("scrape")
            .into_body()
            .read_to_string()
            .expect("text");
        let mut lines: Vec<String> =
            text.lines().filter(|l| l.starts_with("sparkplane_backup_")).map(str::to_owned).collect();
        lines.sort();
        lines
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store(server: &S3Server, url: &str) -> Store {
    let location = Location::parse(url).expect("url");
    Store::open_with(
        &location,
        &[
            ("aws_endpoint", server.endpoint.as_str()),
            ("aws_access_key_id", ACCESS_KEY),
            ("aws_secret_access_key", SECRET_KEY),
            ("aws_region", "us-east-1"),
        ],
    )
    .expect("store")
}

fn backup_yaml(p: &Platform, pg_port: u16, source_endpoint: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: Backup
metadata: {{name: platform}}
spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {{count: 2}}
  target:
    url: s3://backups/prod
    endpoint: {target}
    credentials: {{secret: backup-target, accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}}
  metastore:
    host: 127.0.0.1
    port: {pg_port}
    database: metastore
    user: hive
    password: {{env: METASTORE_PASSWORD, secret: {{name: metastore-db, key: password}}}}
  objects:
    source:
      endpoint: {source_endpoint}
      credentials: {{secret: lake-reader, accessKeyIdEnv: SOURCE_KEY_ID, secretAccessKeyEnv: SOURCE_SECRET}}
    eventLogs: s3a://lake/spark-events
    releases: {releases}
    lake:
      - {{name: sales, url: s3://lake/curated/sales, team: data-eng}}
  objectives: {{rto: 1h, rpo: 24h}}
  metrics: {{pushgateway: {pushgateway}}}
",
        target = p.target.endpoint,
        pushgateway = p.pushgateway.url,
        releases = p.dir.path().join("releases").display(),
    )
}

fn write_backup(p: &Platform, name: &str, text: &str) -> PathBuf {
    let path = p.dir.path().join(name);
    std::fs::write(&path, text).expect("write backup file");
    path
}

/// Runs `backup <verb> FILE -o json`: exit code, JSON stdout (Null if none), stderr.
fn backup(verb: &str, file: &Path) -> (i32, Value, String) {
    let out = sparkplane()
        .args(["backup", verb])
        .arg(file)
        .args(["-o", "json"])
        .env("TARGET_KEY_ID", ACCESS_KEY)
        .env("TARGET_SECRET", SECRET_KEY)
        .env("SOURCE_KEY_ID", ACCESS_KEY)
        .env("SOURCE_SECRET", SECRET_KEY)
        .env("METASTORE_PASSWORD", HIVE_PASSWORD)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stdout.contains(HIVE_PASSWORD) && !stderr.contains(HIVE_PASSWORD), "a password was printed");
    assert!(!stdout.contains(SECRET_KEY) && !stderr.contains(SECRET_KEY), "a secret key was printed");
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn start() -> Platform {
    let pg = PostgresServer::start().expect("PostgreSQL starts (scripts/common.sh need_postgres)");
    let source = S3Server::start().expect("source S3 server");
    let target = S3Server::start().expect("target S3 server");
    source.create_bucket("lake").expect("lake bucket");
    target.create_bucket("backups").expect("backups bucket");
    pg.psql("postgres", &format!("CREATE ROLE hive LOGIN CREATEDB PASSWORD '{HIVE_PASSWORD}'")).expect("role");
    pg.psql("postgres", "CREATE DATABASE metastore OWNER hive").expect("database");
    pg.psql("metastore", METASTORE).expect("metastore schema and data");
    let dir = tempfile::tempdir().expect("tempdir");
    let releases = dir.path().join("releases/trips-etl/prod");
    std::fs::create_dir_all(&releases).expect("releases dir");
    std::fs::write(releases.join("release.json"), "{\"id\": \"r1\"}\n").expect("release");
    std::fs::write(releases.join("approvals.json"), "[]\n").expect("approvals");
    let logs = store(&source, "s3://lake/spark-events");
    logs.put("app-1.zstd", vec![1u8; 1000]).expect("log 1");
    logs.put("app-2.zstd", vec![2u8; 2000]).expect("log 2");
    // Larger than one upload part (8 MiB): the copy is streamed in parts.
    logs.put("app-3", (0..9 * 1024 * 1024).map(|i| (i % 251) as u8).collect::<Vec<u8>>()).expect("log 3");
    let lake = store(&source, "s3://lake/curated/sales");
    lake.put("date=2026-01-01/part-0.parquet", b"PAR1 sales day one PAR1".to_vec()).expect("lake 1");
    lake.put("date=2026-01-02/part-0.parquet", b"PAR1 sales day two PAR1".to_vec()).expect("lake 2");
    // Same content as day one: stored once in the target.
    lake.put("date=2026-01-03/part-0.parquet", b"PAR1 sales day one PAR1".to_vec()).expect("lake 3");
    // An empty folder as S3A marks one (`name/`, no bytes): object_store cannot
    // write a key ending in `/`, so it is put with curl's SigV4 signing.
    let marker = format!("{}/lake/curated/sales/archive/", source.endpoint);
    let put = std::process::Command::new("curl")
        .args(["-sS", "-f", "-X", "PUT", "--data-binary", "", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{ACCESS_KEY}:{SECRET_KEY}"))
        .arg(&marker)
        .output()
        .expect("curl runs");
    assert!(put.status.success(), "folder marker: {}", String::from_utf8_lossy(&put.stderr));
    Platform { pg, source, target, pushgateway: Pushgateway::start(), dir }
}

fn blob_key(manifest: &Value, source: &str, key: &str) -> String {
    let record = manifest["objects"]
        .as_array()
        .and_then(|objects| objects.iter().find(|o| o["source"] == source && o["key"] == key))
        .unwrap_or_else(|| panic!("{source}/{key} in the manifest"));
    format!("platform/blobs/sha256/{}", record["sha256"].as_str().unwrap_or_default())
}

fn run_ids(target: &Store) -> (Vec<String>, Vec<String>) {
    let entries = target.child("platform/runs").list().expect("runs");
    let mut complete = Vec::new();
    let mut all = Vec::new();
    for entry in entries {
        let (id, file) = entry.key.split_once('/').expect("run/file");
        if !all.contains(&id.to_owned()) {
            all.push(id.to_owned());
        }
        if file == "manifest.json" {
            complete.push(id.to_owned());
        }
    }
    (complete, all)
}

#[test]
fn backup_run_verify_end_to_end_with_real_postgres_and_two_s3_servers() {
    let started = Instant::now();
    let mut p = start();
    eprintln!("servers up and metastore loaded in {:.1}s", started.elapsed().as_secs_f64());
    let file = write_backup(&p, "backup.yaml", &backup_yaml(&p, p.pg.port, &p.source.endpoint.clone()));

    // First run: everything copied.
    let t = Instant::now();
    let (code, first, stderr) = backup("run", &file);
    eprintln!("first backup run: {:.2}s", t.elapsed().as_secs_f64());
    assert_eq!(code, 0, "{stderr}");
    let manifest = &first["manifest"];
    let tables: BTreeMap<String, u64> =
        serde_json::from_value(manifest["metastore"]["tables"].clone()).expect("tables");
    let expected: BTreeMap<String, u64> = [
        ("public.CDS", 5),
        ("public.COLUMNS_V2", 20),
        ("public.DBS", 3),
        ("public.PARTITIONS", 1200),
        ("public.SDS", 1205),
        ("public.TBLS", 5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(tables, expected);
    assert_eq!(first["copied"], 8, "3 event logs, 2 release records, 3 lake files");
    assert_eq!(first["reused"], 0);
    let sources: BTreeMap<String, String> = serde_json::from_value(manifest["sources"].clone()).expect("sources");
    assert_eq!(sources.keys().collect::<Vec<_>>(), ["event-logs", "releases", "sales"]);
    let target = store(&p.target, "s3://backups/prod");
    let blobs = target.child("platform/blobs/sha256").list().expect("blobs");
    assert_eq!(blobs.len(), 7, "two lake files share their content and one copy");
    assert!(target.child("platform/incoming").list().is_err(), "no object left half-copied");
    // The run pushed its metrics to the Pushgateway, named as the registry names them.
    let series = p.pushgateway.backup_series();
    let labels = "{backup=\"platform\",instance=\"\",job=\"sparkplane_backup\"}";
    assert_eq!(series.len(), 4, "{series:?}");
    assert!(series[0].starts_with(&format!("sparkplane_backup_last_duration_seconds{labels} ")), "{series:?}");
    let size = series[1].strip_prefix(&format!("sparkplane_backup_last_size_bytes{labels} ")).expect("size series");
    assert_eq!(size.parse::<f64>().ok(), manifest["totalBytes"].as_f64(), "{series:?}");
    assert!(series[2].starts_with(&format!("sparkplane_backup_last_success_timestamp_seconds{labels} ")), "{series:?}");
    // Daily at 02:15: late after 26 hours, which SparkplaneBackupLate holds this backup to.
    assert_eq!(series[3], format!("sparkplane_backup_late_after_seconds{labels} 93600"), "{series:?}");

    // Verify: restored, compared, queried as a Hive client would.
    let t = Instant::now();
    let (code, verified, stderr) = backup("verify", &file);
    eprintln!("verify: {:.2}s", t.elapsed().as_secs_f64());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(verified["problems"], serde_json::json!([]));
    assert_eq!(verified["tables"], 6);
    assert_eq!(verified["rows"], 5 + 20 + 3 + 1200 + 1205 + 5);
    assert_eq!(
        verified["hiveTables"],
        serde_json::json!([
            "default.scratch",
            "ops.job_runs",
            "sales.customers",
            "sales.daily_revenue",
            "sales.orders"
        ])
    );
    assert_eq!(verified["objects"], 8);
    let scratch =
        p.pg.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'metastore_sparkplane_verify'");
    assert_eq!(scratch.expect("query").trim(), "0", "the scratch database is dropped again");

    // Second run, a second later: only what changed is copied.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    store(&p.source, "s3://lake/spark-events").put("app-2.zstd", vec![3u8; 2500]).expect("log 2 grows");
    p.pg.psql("metastore", "INSERT INTO \"DBS\" VALUES (4, 'ml', NULL, 's3a://lake/warehouse/ml.db', 'ml')")
        .expect("db");
    let t = Instant::now();
    let (code, second, stderr) = backup("run", &file);
    eprintln!("second (incremental) backup run: {:.2}s", t.elapsed().as_secs_f64());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((second["copied"].clone(), second["reused"].clone()), (1.into(), 7.into()));
    assert_eq!(second["manifest"]["metastore"]["tables"]["public.DBS"], 4);
    let first_blob = blob_key(manifest, "event-logs", "app-2.zstd");
    assert!(target.head(&first_blob).is_ok(), "the first run's copy of app-2 stays for the first manifest");

    // A deleted copy: exit 1 naming it.
    let latest = &second["manifest"];
    let deleted = blob_key(latest, "sales", "date=2026-01-02/part-0.parquet");
    let kept = target.get(&deleted).expect("copy");
    target.delete(&deleted).expect("delete a copy");
    let (code, report, stderr) = backup("verify", &file);
    assert_eq!(code, 1, "{stderr}");
    let message = format!("sales/date=2026-01-02/part-0.parquet: missing (expected at s3://backups/prod/{deleted})");
    assert_eq!(report["problems"], serde_json::json!([message]));
    assert_eq!(
        stderr,
        format!("error: {message}\n  help: see docs/runbooks/restore.md; run a new backup, then verify again\n")
    );
    target.put(&deleted, kept).expect("restore the copy");

    // A corrupted dump: exit 1 with both checksums, and nothing restored from it.
    let dump_key = latest["metastore"]["key"].as_str().expect("dump key").to_owned();
    let mut dump = target.get(&dump_key).expect("dump").to_vec();
    let middle = dump.len() / 2;
    dump[middle] ^= 0xff;
    let corrupt_sha = sha256_hex(&dump);
    target.put(&dump_key, dump.clone()).expect("corrupt the dump");
    let (code, report, stderr) = backup("verify", &file);
    assert_eq!(code, 1, "{stderr}");
    let size = latest["metastore"]["size"].as_u64().expect("size");
    let recorded = latest["metastore"]["sha256"].as_str().expect("sha");
    assert_eq!(
        report["problems"],
        serde_json::json!([format!(
            "metastore dump of metastore: corrupt at s3://backups/prod/{dump_key}: {size} bytes with sha256 {corrupt_sha}, the manifest recorded {size} bytes with sha256 {recorded}"
        )])
    );
    assert_eq!(report["tables"], 0, "a corrupt dump is not restored");

    // PostgreSQL unreachable: exit 3, and no run that looks complete.
    let (complete_before, _) = run_ids(&target);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let unreachable = write_backup(&p, "unreachable.yaml", &backup_yaml(&p, closed, &p.source.endpoint.clone()));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, out, stderr) = backup("run", &unreachable);
    assert_eq!(code, 3, "{out} {stderr}");
    let message = out["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "PostgreSQL at 127.0.0.1:{closed} (user hive): cannot open a snapshot of metastore: "
        )),
        "{out}"
    );
    let (code, _, stderr) = backup("verify", &unreachable);
    assert_eq!(code, 1, "the latest dump is still corrupt and is caught before PostgreSQL is needed: {stderr}");
    assert_eq!(run_ids(&target).0, complete_before);
    // The failure is pushed beside the last success, which stays: SparkplaneBackupFailed's two inputs.
    let series = p.pushgateway.backup_series();
    assert_eq!(series.len(), 5, "{series:?}");
    assert!(series[1].starts_with(&format!("sparkplane_backup_last_failure_timestamp_seconds{labels} ")), "{series:?}");
    assert!(series[3].starts_with(&format!("sparkplane_backup_last_success_timestamp_seconds{labels} ")), "{series:?}");
    assert_eq!(series[4], format!("sparkplane_backup_late_after_seconds{labels} 93600"), "{series:?}");

    // The source store dies mid-backup (after the dump is written): exit 3, the run stays incomplete.
    let source_endpoint = p.source.endpoint.clone();
    drop(std::mem::replace(&mut p.source, S3Server::start().expect("another S3 server")));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let dead = write_backup(&p, "dead-source.yaml", &backup_yaml(&p, p.pg.port, &source_endpoint));
    let (code, out, stderr) = backup("run", &dead);
    assert_eq!(code, 3, "{out} {stderr}");
    let message = out["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("s3://lake/spark-events: object storage unreachable or failing:"), "{out}");
    let (complete, all) = run_ids(&target);
    assert_eq!(complete, complete_before, "the failed run has no manifest");
    assert_eq!(all.len(), complete.len() + 1, "its dump is there, but the run is incomplete");
    eprintln!("whole test: {:.1}s", started.elapsed().as_secs_f64());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

const HEAD: &str = "apiVersion: sparkplane.dev/v1alpha1\nkind: Backup\nmetadata: {name: platform}\n";

/// Runs `args` on a file holding `text`; returns stderr with the path shortened, asserting exit 2 and empty stdout.
fn fails_with_2(text: &str, verb: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("backup.yaml");
    std::fs::write(&path, text).expect("write");
    let out = sparkplane().args(["backup", verb]).arg(&path).arg("--out-dir").arg(dir.path().join("out")).output();
    let out = if verb == "render" {
        out.expect("runs")
    } else {
        sparkplane().args(["backup", verb]).arg(&path).output().expect("runs")
    };
    assert_eq!(out.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert!(!dir.path().join("out").exists(), "nothing written");
    String::from_utf8_lossy(&out.stderr).replace(&*path.display().to_string(), "backup.yaml")
}

#[test]
fn a_backup_file_with_structural_mistakes_gets_every_one_with_its_location() {
    let text = format!(
        "{HEAD}spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {{count: 0, maxAge: forever}}
  target: {{url: s3://backups/prod, endpont: http://s3}}
  metastore: {{host: pg, database: metastore, user: hive, password: hunter2}}
"
    );
    let err = fails_with_2(&text, "run");
    assert_eq!(
        err,
        concat!(
            "backup.yaml:7:22: error: spec.retention.count: 0 is below the minimum of 1\n",
            "backup.yaml:7:33: error: spec.retention.maxAge: `forever` is not a duration: write e.g. `90s`, `10m`, `1h30m` or `7d`\n",
            "backup.yaml:8:36: error: spec.target.endpont: unknown field `endpont`\n",
            "  help: did you mean `endpoint`?\n",
            "backup.yaml:9:68: error: spec.metastore.password: expected a mapping, found `hunter2`\n",
            "4 errors\n"
        )
    );
}

#[test]
fn a_backup_file_with_mistakes_of_meaning_gets_every_one_with_its_location() {
    let text = format!(
        "{HEAD}spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 25 * * *\"
  retention: {{}}
  target: {{url: https://backups.example.com/prod}}
  metastore: {{host: pg, port: 70000, database: metastore, user: hive, password: {{env: my-password}}}}
  objects:
    eventLogs: s3://lake/spark-events
    lake: [{{name: Sales, url: s3://lake/curated/sales}}]
"
    );
    let err = fails_with_2(&text, "verify");
    assert_eq!(
        err,
        concat!(
            "backup.yaml:6:13: error: spec.schedule: `15 25 * * *`: the hour field `25`: 25 is above the maximum of 23\n",
            "  help: write five fields, e.g. \"0 3 * * *\"; the hour field takes *, ?, numbers 0–23, ranges a-b, steps */n or a-b/n, and lists a,b\n",
            "backup.yaml:7:14: error: spec.retention: retention keeps every backup forever\n",
            "  help: give `count` (e.g. 14), `maxAge` (e.g. 30d) or both\n",
            "backup.yaml:8:17: error: spec.target.url: `https://backups.example.com/prod` is not an object-store URL\n",
            "  help: write s3://bucket/prefix (another bucket or region than the sources), gs://bucket/prefix or az://container/prefix\n",
            "backup.yaml:9:31: error: spec.metastore.port: 70000 is not a TCP port\n",
            "  help: write 1-65535, usually 5432\n",
            "backup.yaml:9:87: error: spec.metastore.password.env: `my-password` is not an environment variable name\n",
            "  help: name the variable holding the password, e.g. METASTORE_PASSWORD (never the password itself)\n",
            "backup.yaml:12:19: error: spec.objects.lake[0].name: `Sales` cannot name a lake prefix\n",
            "  help: use lower-case letters, digits and '-' (`event-logs` and `releases` are taken)\n",
            "6 errors\n"
        )
    );
}

#[test]
fn render_refuses_what_the_cluster_cannot_fill() {
    let text = format!(
        "{HEAD}spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"@daily\"
  retention: {{count: 7}}
  target: {{url: s3://backups/prod, credentials: {{accessKeyIdEnv: K, secretAccessKeyEnv: S}}}}
  metastore: {{host: pg, database: metastore, user: hive, password: {{env: METASTORE_PASSWORD}}}}
  objects: {{releases: ./releases}}
"
    );
    let err = fails_with_2(&text, "render");
    assert_eq!(
        err,
        concat!(
            "backup.yaml:8:49: error: spec.target.credentials: the CronJob cannot fill these variables: no `secret` is named\n",
            "  help: name the Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or remove `credentials` to use the pod's workload identity\n",
            "backup.yaml:9:68: error: spec.metastore.password: the CronJob cannot fill the password variable: no `secret` is named\n",
            "  help: add `secret: {name: <Secret>, key: <key>}`\n",
            "backup.yaml:10:23: error: spec.objects.releases: `./releases` is a folder on this machine, not in the cluster\n",
            "  help: back up object storage from the cluster; folders only with `sparkplane backup run` where they are\n",
            "3 errors\n"
        )
    );
}

#[test]
fn rendered_cronjob_is_restricted_takes_secrets_by_reference_and_passes_kubernetes_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{HEAD}spec:
  namespace: platform-backup
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {{count: 14, maxAge: 30d}}
  target:
    url: s3://backups/prod
    region: eu-west-1
    credentials: {{secret: backup-target, accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}}
  metastore:
    host: metastore-db.metastore.svc
    database: metastore
    user: hive
    password: {{env: METASTORE_PASSWORD, secret: {{name: metastore-db, key: password}}}}
  objects:
    eventLogs: s3a://lake/spark-events
    lake: [{{name: sales, url: s3://lake/curated/sales}}]
  metrics: {{pushgateway: http://pushgateway.monitoring:9091}}
"
    );
    let path = dir.path().join("backup.yaml");
    std::fs::write(&path, text).expect("write");
    let out = sparkplane().args(["backup", "render"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    let again = sparkplane().args(["backup", "render"]).arg(&path).output().expect("runs");
    assert_eq!(yaml, String::from_utf8_lossy(&again.stdout), "deterministic");
    // The example in the repository renders too, and is validated with these objects.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/backup/platform.yaml");
    let out = sparkplane().args(["backup", "render"]).arg(&example).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, format!("{yaml}{}", String::from_utf8_lossy(&out.stdout))).expect("write rendered");
    let json = sparkplane().args(["backup", "render", "-o", "json"]).arg(&path).output().expect("runs");
    let list: Value = serde_json::from_slice(&json.stdout).expect("a List");
    let kinds: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(kinds, ["ServiceAccount", "ConfigMap", "CronJob"]);
    let cron = &list["items"][2];
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["automountServiceAccountToken"], false);
    let container = &pod["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["sparkplane", "backup", "run", "/etc/sparkplane/backup.yaml"]));
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let env: BTreeMap<String, Value> = container["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().unwrap_or_default().to_owned(), e.clone()))
        .collect();
    assert_eq!(
        env["METASTORE_PASSWORD"]["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": "metastore-db", "key": "password", "optional": false})
    );
    assert_eq!(env["TARGET_SECRET"]["valueFrom"]["secretKeyRef"]["key"], "AWS_SECRET_ACCESS_KEY");
    assert!(
        env.values()
            .all(|e| e.get("value").is_none() || ["HOME", "TMPDIR"].contains(&e["name"].as_str().unwrap_or_default()))
    );
    // The ConfigMap holds the Backup file: names of Secrets and variables, and it loads as a Backup again.
    let config = list["items"][1]["data"]["backup.yaml"].as_str().expect("backup.yaml");
    let reloaded = dir.path().join("from-configmap.yaml");
    std::fs::write(&reloaded, config).expect("write");
    let out = sparkplane().args(["backup", "render"]).arg(&reloaded).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), yaml, "the mounted file renders the same objects");

    // Kubernetes' own strict schemas (PyPI kubernetes-validate), 1.30 and 1.33.
    let python =
        std::env::var_os("HOME").map(PathBuf::from).expect("HOME").join(".cache/sparkplane/tools/helm/bin/python");
    assert!(python.is_file(), "kubernetes-validate missing: run scripts/test.sh (need_helm)");
    let script = "import sys, yaml, kubernetes_validate\nproblems = []\nfor d in [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]:\n    for v in ('1.30.0', '1.33.0'):\n        try:\n            kubernetes_validate.validate(d, v, strict=True)\n        except Exception as e:\n            problems.append(f\"{d['kind']} on {v}: {e}\")\nprint('\\n'.join(problems))\nsys.exit(1 if problems else 0)\n";
    let out = std::process::Command::new(python).args(["-c", script]).arg(&rendered).output().expect("python");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
