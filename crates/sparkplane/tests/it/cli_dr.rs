//! `sparkplane dr drill` through the real binary, against real parts started
//! here on 127.0.0.1: PostgreSQL (Debian's, as `need_postgres` sets it up)
//! with a small Hive-shaped metastore, two SeaweedFS S3 servers (the lake and
//! the backup target), and a real local Spark (the managed 3.5 runtime that
//! scripts/test.sh installs) running a small PySpark job on the restored
//! lake prefix, with a quality gate on its output. A missing object and a
//! corrupted dump each fail the drill with exit 1 naming them, before Spark
//! runs; a drill whose job does not read the restored data is exit 2. The
//! same drill into a scratch bucket (S3A), with its bad input: a bucket in
//! use, a target without keys (2), a store that refuses connections (3).
//! A second test has real Spark write a Hive table (PostgreSQL metastore,
//! Parquet on S3A) before the backup, deletes the lake's files, and drills
//! into a scratch bucket with the restored metastore as the job's catalog.
//! Slow (Spark starts in each drill).

use std::path::{Path, PathBuf};
use std::time::Instant;

use assert_cmd::Command;
use serde_json::Value;
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use sparkplane_testkit::{PostgresServer, S3Server};

const HIVE_PASSWORD: &str = "hive-drill-password-2c9e";

const METASTORE: &str = r#"
CREATE TABLE "DBS" ("DB_ID" bigint PRIMARY KEY, "NAME" varchar(128) UNIQUE NOT NULL,
  "DB_LOCATION_URI" varchar(4000) NOT NULL);
CREATE TABLE "TBLS" ("TBL_ID" bigint PRIMARY KEY, "DB_ID" bigint REFERENCES "DBS", "TBL_NAME" varchar(256) NOT NULL);
INSERT INTO "DBS" VALUES (1, 'default', 's3a://lake/warehouse'), (2, 'mobility', 's3a://lake/warehouse/mobility.db');
INSERT INTO "TBLS" VALUES (1, 2, 'trips'), (2, 2, 'zones');
GRANT SELECT ON ALL TABLES IN SCHEMA public TO hive;
"#;

const JOB_SCRIPT: &str = "import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
trips = spark.read.option('header', True).option('inferSchema', True).csv(sys.argv[1])
trips.groupBy('zone').count().write.mode('overwrite').parquet('out')
spark.stop()
";

fn sparkplane(home: &Path) -> Command {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.env_remove("SPARKPLANE_PLATFORM_DIR")
        .env_remove("SPARK_HOME")
        .env("NO_COLOR", "1")
        .env("SPARKPLANE_HOME", home)
        .env("TARGET_KEY_ID", ACCESS_KEY)
        .env("TARGET_SECRET", SECRET_KEY)
        .env("SOURCE_KEY_ID", ACCESS_KEY)
        .env("SOURCE_SECRET", SECRET_KEY)
        .env("METASTORE_PASSWORD", HIVE_PASSWORD);
    cmd
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

/// The runtimes scripts/test.sh installed, shared into a fresh SPARKPLANE_HOME.
fn home_with_runtimes(dir: &Path) -> PathBuf {
    let installed = sparkplane_local::runtime::runtimes_dir(&sparkplane_local::runtime::default_home().expect("home"));
    assert!(
        installed.join("3.5").join(sparkplane_local::runtime::MARKER_FILE).is_file(),
        "no Spark 3.5 runtime in {}: run `sparkplane runtime install 3.5` (scripts/test.sh does)",
        installed.display()
    );
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::os::unix::fs::symlink(installed, home.join("runtimes")).expect("runtimes link");
    home
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

/// Runs a command: exit code, stdout as JSON (Null if none), stderr.
fn run(cmd: &mut Command) -> (i32, Value, String) {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stdout.contains(HIVE_PASSWORD) && !stderr.contains(HIVE_PASSWORD), "a password was printed");
    assert!(!stdout.contains(SECRET_KEY) && !stderr.contains(SECRET_KEY), "a secret key was printed");
    (out.status.code().unwrap_or(-1), serde_json::from_str(&stdout).unwrap_or(Value::Null), stderr)
}

#[test]
fn a_drill_restores_runs_the_job_on_the_restored_data_and_names_what_is_missing_or_corrupt() {
    let started = Instant::now();
    let pg = PostgresServer::start().expect("PostgreSQL starts (scripts/common.sh need_postgres)");
    let source = S3Server::start().expect("source S3 server");
    let target_server = S3Server::start().expect("target S3 server");
    source.create_bucket("lake").expect("lake bucket");
    target_server.create_bucket("backups").expect("backups bucket");
    pg.psql("postgres", &format!("CREATE ROLE hive LOGIN CREATEDB PASSWORD '{HIVE_PASSWORD}'")).expect("role");
    pg.psql("postgres", "CREATE DATABASE metastore OWNER hive").expect("database");
    pg.psql("metastore", METASTORE).expect("metastore");
    let lake = store(&source, "s3://lake/raw/trips");
    let day = |d: u32| {
        let mut csv = String::from("trip_id,zone,fare\n");
        for i in 0..50 {
            csv.push_str(&format!("{d}{i:03},{},{}.5\n", ["airport", "harbor", "north"][i % 3], 5 + i));
        }
        csv.into_bytes()
    };
    lake.put("day=2026-11-21/part-0.csv", day(21)).expect("day 21");
    lake.put("day=2026-11-22/part-0.csv", day(22)).expect("day 22");

    let dir = tempfile::tempdir().expect("tempdir");
    let home = home_with_runtimes(dir.path());
    let backup = dir.path().join("backup.yaml");
    std::fs::write(
        &backup,
        format!(
            "apiVersion: sparkplane.dev/v1alpha1
kind: Backup
metadata: {{name: platform}}
spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {{count: 3}}
  target:
    url: s3://backups/prod
    endpoint: {target}
    credentials: {{accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}}
  metastore:
    host: 127.0.0.1
    port: {port}
    database: metastore
    user: hive
    password: {{env: METASTORE_PASSWORD}}
  objects:
    source:
      endpoint: {source}
      credentials: {{accessKeyIdEnv: SOURCE_KEY_ID, secretAccessKeyEnv: SOURCE_SECRET}}
    lake:
      - {{name: trips, url: s3://lake/raw/trips, team: mobility}}
  objectives: {{rto: 10m, rpo: 1h}}
",
            target = target_server.endpoint,
            port = pg.port,
            source = source.endpoint,
        ),
    )
    .expect("backup file");
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).expect("jobs");
    std::fs::write(jobs.join("trips_count.py"), JOB_SCRIPT).expect("script");
    let job = jobs.join("trips-count.yaml");
    std::fs::write(
        &job,
        "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: trips-count}\nspec:\n  team: mobility\n  type: Python\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: trips_count.py\n  arguments: [\"s3a://lake/raw/trips\"]\n  driver: {memory: 1g}\n  qualityGates:\n    - spec: trips-count-dq.yaml\n",
    )
    .expect("job");
    std::fs::write(
        jobs.join("trips-count-dq.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {name: trips-count}\ndataset: {path: out}\nchecks:\n  - name: three-zones\n    rowCount: {min: 3, max: 3}\n  - name: zones\n    unique: {columns: [zone]}\n",
    )
    .expect("dq spec");

    let (code, backed_up, stderr) = run(sparkplane(&home).args(["backup", "run"]).arg(&backup).args(["-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let manifest = backed_up["manifest"].clone();
    let target = store(&target_server, "s3://backups/prod");

    let drill = |restore: &Path, sets: &[&str], junit: Option<&Path>| {
        let mut cmd = sparkplane(&home);
        cmd.args(["dr", "drill", "--backup"]).arg(&backup).arg("--job").arg(&job).arg("--restore-dir").arg(restore);
        for set in sets {
            cmd.args(["--set", set]);
        }
        if let Some(path) = junit {
            cmd.arg("--junit").arg(path);
        }
        run(cmd.args(["-o", "json"]))
    };
    let repoint = "arguments=[\"{restored}/trips\"]";

    // Green: restored, run on the restored data, gates passed, within both objectives.
    let t = Instant::now();
    let junit = dir.path().join("drill.xml");
    let restore = dir.path().join("restore-1");
    let (code, report, stderr) = drill(&restore, &[repoint], Some(&junit));
    let took = t.elapsed();
    eprintln!("green drill: {:.1}s", took.as_secs_f64());
    assert_eq!(code, 0, "{report} {stderr}");
    let verdict = &report["verdict"];
    assert_eq!(verdict["green"], true, "{report}");
    assert_eq!(verdict["backupId"], manifest["id"]);
    assert_eq!(verdict["failures"], serde_json::json!([]));
    assert_eq!(
        verdict["gates"],
        serde_json::json!([{"name": "trips-count-dq.yaml", "passed": true, "detail": "passed"}])
    );
    let rto = verdict["rto"]["measuredMs"].as_u64().expect("RTO measured");
    assert!(rto > 0 && rto <= took.as_millis() as u64, "RTO {rto} ms within the command's {took:?}");
    assert_eq!(verdict["rto"]["targetMs"], 600_000);
    let rpo = verdict["rpo"]["measuredMs"].as_u64().expect("RPO measured");
    assert!(rpo < 600_000, "the backup is minutes old at most: {rpo} ms");
    assert_eq!(verdict["rpo"]["targetMs"], 3_600_000);
    eprintln!("measured RTO {rto} ms, RPO {rpo} ms");
    // The job read the restored copy: the restore folder holds the objects, byte for byte.
    assert_eq!(std::fs::read(restore.join("trips/day=2026-11-21/part-0.csv")).expect("restored"), day(21));
    assert!(stderr.contains("drill: running trips-count as "), "{stderr}");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("<testsuite name=\"dr-drill\" tests=\"1\" failures=\"0\""), "{xml}");
    assert!(xml.contains(&format!("name=\"{}\"", manifest["id"].as_str().unwrap_or_default())), "{xml}");
    // No scratch database is left behind.
    let scratch = pg.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'metastore_sparkplane_verify'");
    assert_eq!(scratch.expect("query").trim(), "0");

    // Into a scratch bucket on the target store: the job reads s3a://scratch/drill/trips through S3A, the
    // gates pass, and the bucket is emptied afterwards.
    target_server.create_bucket("scratch").expect("scratch bucket");
    let scratch = store(&target_server, "s3://scratch/drill");
    let bucket_drill = |url: &str, extra: &[&str]| {
        let mut cmd = sparkplane(&home);
        cmd.args(["dr", "drill", "--backup"]).arg(&backup).arg("--job").arg(&job);
        cmd.args(["--restore-bucket", url, "--set", repoint]).args(extra);
        run(cmd.args(["-o", "json"]))
    };
    let t = Instant::now();
    let (code, report, stderr) = bucket_drill("s3://scratch/drill", &["--keep-scratch"]);
    eprintln!("green drill from a scratch bucket: {:.1}s", t.elapsed().as_secs_f64());
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["verdict"]["green"], true, "{report}");
    assert_eq!(report["restoreBucket"], "s3://scratch/drill");
    assert_eq!(report["scratchObjectsDeleted"], Value::Null, "kept");
    assert_eq!(report["verdict"]["gates"][0]["passed"], true, "{report}");
    assert_eq!(scratch.get("trips/day=2026-11-22/part-0.csv").expect("restored into the bucket").to_vec(), day(22));
    // The run's properties file (with the secret key) is not left in the run history.
    let leftovers: Vec<_> = walk(&home.join("runs")).into_iter().filter(|p| p.ends_with("extra.properties")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A bucket that already holds objects is refused before anything is restored: exit 2.
    let (code, out, _) = bucket_drill("s3://scratch/drill", &[]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out["errors"][0]["message"],
        "restore bucket s3://scratch/drill already holds 2 object(s), e.g. \
         s3://scratch/drill/trips/day=2026-11-21/part-0.csv"
    );
    // A target store that cannot be reached: exit 3, before anything is restored.
    let dead = dir.path().join("backup-dead.yaml");
    let text = std::fs::read_to_string(&backup).expect("backup file");
    std::fs::write(&dead, text.replace(&target_server.endpoint, "http://127.0.0.1:9")).expect("dead backup file");
    let mut cmd = sparkplane(&home);
    cmd.args(["dr", "drill", "--backup"]).arg(&dead).arg("--job").arg(&job);
    let (code, out, stderr) = run(cmd.args(["--restore-bucket", "s3://scratch/dead", "--set", repoint, "-o", "json"]));
    assert_eq!(code, 3, "{out} {stderr}");
    let message = out["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("s3://scratch/dead: object storage unreachable or failing: ")
            && message.contains("Connection refused"),
        "{message}"
    );
    assert_eq!(out["errors"][0]["help"], "check the store's endpoint, network path and credentials");
    // A target without keys cannot be read by the local Spark's S3A: exit 2, before anything is restored.
    let keyless = dir.path().join("backup-keyless.yaml");
    let keys = "    credentials: {accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}\n";
    assert!(text.contains(keys));
    std::fs::write(&keyless, text.replace(keys, "")).expect("keyless backup file");
    let mut cmd = sparkplane(&home);
    cmd.args(["dr", "drill", "--backup"]).arg(&keyless).arg("--job").arg(&job);
    let (code, out, _) = run(cmd.args(["--restore-bucket", "s3://scratch/keyless", "--set", repoint, "-o", "json"]));
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out["errors"][0]["message"],
        "--restore-bucket needs spec.target.credentials: the local Spark reads the scratch bucket with static keys"
    );
    assert_eq!(
        out["errors"][0]["help"],
        "name the key variables in spec.target.credentials, or restore into a folder with --restore-dir"
    );
    // Without --keep-scratch the drill empties it again.
    let (code, report, stderr) = bucket_drill("s3://scratch/again", &[]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["scratchObjectsDeleted"], 2, "{report}");
    assert!(store(&target_server, "s3://scratch/again").list().is_err(), "emptied");

    // A missing object: exit 1 naming it, and the job is not run.
    let record = manifest["objects"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["key"] == "day=2026-11-22/part-0.csv"))
        .expect("day 22 in the manifest")
        .clone();
    let blob = format!("platform/blobs/sha256/{}", record["sha256"].as_str().unwrap_or_default());
    let kept = target.get(&blob).expect("copy");
    target.delete(&blob).expect("delete a copy");
    let (code, report, stderr) = drill(&dir.path().join("restore-2"), &[repoint], None);
    assert_eq!(code, 1, "{report} {stderr}");
    let message =
        format!("missing object: trips/day=2026-11-22/part-0.csv: missing (expected at s3://backups/prod/{blob})");
    assert_eq!(
        report["verdict"]["failures"],
        serde_json::json!([{
            "reason": "restore",
            "fault": "missing-object",
            "detail": format!("trips/day=2026-11-22/part-0.csv: missing (expected at s3://backups/prod/{blob})")
        }])
    );
    assert_eq!(report["verdict"]["rto"]["measuredMs"], Value::Null, "never green");
    assert!(
        stderr.ends_with(&format!(
            "error: {message}\n  help: see docs/runbooks/restore.md and the guide's Backup and disaster recovery chapter\n"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("drill: running"), "the job does not run on an incomplete restore: {stderr}");
    target.put(&blob, kept).expect("put the copy back");

    // A corrupted dump: exit 1 naming it.
    let dump_key = manifest["metastore"]["key"].as_str().expect("dump key").to_owned();
    let mut dump = target.get(&dump_key).expect("dump").to_vec();
    let middle = dump.len() / 2;
    dump[middle] ^= 0xff;
    target.put(&dump_key, dump).expect("corrupt the dump");
    let (code, report, stderr) = drill(&dir.path().join("restore-3"), &[repoint], None);
    assert_eq!(code, 1, "{report} {stderr}");
    let failures = report["verdict"]["failures"].as_array().cloned().unwrap_or_default();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0]["fault"], "corrupt-dump");
    let detail = failures[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("metastore dump of metastore: corrupt at s3://backups/prod/{dump_key}: ")),
        "{detail}"
    );
    assert!(stderr.contains(&format!("error: corrupt dump: {detail}\n")), "{stderr}");

    // Bad input, before anything is restored: a job not re-pointed, a restore folder in use.
    let (code, out, _) = drill(&dir.path().join("restore-4"), &[], None);
    assert_eq!(code, 2);
    assert_eq!(
        out["errors"][0]["message"],
        "no --set uses {restored}: the job would read its usual input, not the restored data; point its input at a \
         restored source, e.g. --set 'arguments=[\"{restored}/lake-trips\"]'"
    );
    assert!(!dir.path().join("restore-4").join("trips").exists(), "nothing restored");
    let (code, out, _) = drill(&restore, &[repoint], None);
    assert_eq!(code, 2);
    assert_eq!(out["errors"][0]["message"], format!("restore folder {} is not empty", restore.display()));
    eprintln!("whole test: {:.1}s", started.elapsed().as_secs_f64());
}

/// Run by real Spark before the backup: a Hive metastore on PostgreSQL whose
/// table `mobility.trips` is Parquet under the lake's `tables` prefix (the
/// database's folder is outside it: S3A marks a created folder with an empty
/// `name/` object, which `backup run` does not copy).
const CATALOG_SETUP: &str = "from pyspark.sql import SparkSession
spark = SparkSession.builder.enableHiveSupport().getOrCreate()
spark.sql(\"CREATE DATABASE mobility LOCATION 's3a://lake/catalog/mobility.db'\")
trips = spark.read.option('header', True).option('inferSchema', True).csv('s3a://lake/raw/trips')
trips.write.option('path', 's3a://lake/tables/trips').saveAsTable('mobility.trips')
spark.stop()
";

/// The drill's job: reads the table by name from its catalog, and says which files it read.
const CATALOG_JOB: &str = "from pyspark.sql import SparkSession
spark = SparkSession.builder.enableHiveSupport().getOrCreate()
trips = spark.table('mobility.trips')
print('DRILL-INPUT ' + ' '.join(sorted(trips.inputFiles())))
trips.groupBy('zone').count().write.mode('overwrite').parquet('out')
spark.stop()
";

#[test]
fn a_drill_into_a_scratch_bucket_serves_the_restored_metastore_to_the_job() {
    let pg = PostgresServer::start().expect("PostgreSQL starts (scripts/common.sh need_postgres)");
    let source = S3Server::start().expect("source S3 server");
    let target_server = S3Server::start().expect("target S3 server");
    source.create_bucket("lake").expect("lake bucket");
    target_server.create_bucket("backups").expect("backups bucket");
    target_server.create_bucket("scratch").expect("scratch bucket");
    pg.psql("postgres", &format!("CREATE ROLE hive LOGIN CREATEDB PASSWORD '{HIVE_PASSWORD}'")).expect("role");
    pg.psql("postgres", "CREATE DATABASE hms OWNER hive").expect("database");
    let lake = store(&source, "s3://lake");
    for d in [21, 22] {
        let mut csv = String::from("trip_id,zone,fare\n");
        for i in 0..40 {
            csv.push_str(&format!("{d}{i:03},{},{}.5\n", ["airport", "harbor", "north"][i % 3], 5 + i));
        }
        lake.put(&format!("raw/trips/day=2026-11-{d}/part-0.csv"), csv).expect("csv");
    }

    // Real Spark 3.5 writes the metastore (PostgreSQL) and the table (S3A on the lake).
    let dir = tempfile::tempdir().expect("tempdir");
    let home = home_with_runtimes(dir.path());
    let spark = sparkplane_local::runtime::locate(&home, "3.5.9", None).expect("Spark 3.5 runtime");
    let metastore = sparkplane_local::metastore::PostgresMetastore {
        host: "127.0.0.1".into(),
        port: pg.port,
        database: "hms".into(),
        user: "hive".into(),
        password: HIVE_PASSWORD.into(),
        driver_jar: sparkplane_local::metastore::postgres_jdbc_jar().unwrap_or_else(|e| panic!("{e}")),
        warehouse: PathBuf::from("s3a://lake/catalog/warehouse"),
    };
    let s3a = sparkplane_local::s3a::S3aEndpoint {
        endpoint: source.endpoint.clone(),
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        jars: sparkplane_local::s3a::s3a_jars().unwrap_or_else(|e| panic!("{e}")),
        retries: sparkplane_local::s3a::Retries::HadoopDefaults,
    };
    let mut properties = metastore.spark_properties();
    properties.extend(s3a.spark_properties());
    let setup = dir.path().join("setup");
    std::fs::create_dir_all(&setup).expect("setup dir");
    sparkplane_local::metastore::write_properties_file(&setup.join("spark.properties"), &properties).expect("props");
    std::fs::write(setup.join("catalog_setup.py"), CATALOG_SETUP).expect("script");
    let mut submit = std::process::Command::new(&spark.spark_submit);
    submit
        .args(["--master", "local[2]", "--properties-file", "spark.properties", "catalog_setup.py"])
        .env("SPARK_HOME", &spark.spark_home)
        .current_dir(&setup);
    if let Some(python) = &spark.python {
        submit.env("PYSPARK_PYTHON", python);
    }
    let out = submit.output().expect("spark-submit runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let locations = pg.psql("hms", "SELECT \"LOCATION\" FROM \"SDS\" ORDER BY 1").expect("locations");
    assert!(locations.contains("s3a://lake/tables/trips"), "{locations}");

    let backup = dir.path().join("backup.yaml");
    std::fs::write(
        &backup,
        format!(
            "apiVersion: sparkplane.dev/v1alpha1
kind: Backup
metadata: {{name: platform}}
spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {{count: 3}}
  target:
    url: s3://backups/prod
    endpoint: {target}
    credentials: {{accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}}
  metastore:
    host: 127.0.0.1
    port: {port}
    database: hms
    user: hive
    password: {{env: METASTORE_PASSWORD}}
  objects:
    source:
      endpoint: {source}
      credentials: {{accessKeyIdEnv: SOURCE_KEY_ID, secretAccessKeyEnv: SOURCE_SECRET}}
    lake:
      - {{name: tables, url: s3://lake/tables, team: mobility}}
  objectives: {{rto: 10m, rpo: 1h}}
",
            target = target_server.endpoint,
            port = pg.port,
            source = source.endpoint,
        ),
    )
    .expect("backup file");
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).expect("jobs");
    std::fs::write(jobs.join("trips_by_zone.py"), CATALOG_JOB).expect("script");
    let job = jobs.join("trips-by-zone.yaml");
    std::fs::write(
        &job,
        "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: trips-by-zone}\nspec:\n  team: mobility\n  type: Python\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: trips_by_zone.py\n  driver: {memory: 1g}\n  qualityGates:\n    - spec: trips-dq.yaml\n",
    )
    .expect("job");
    std::fs::write(
        jobs.join("trips-dq.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {name: trips}\ndataset: {path: out}\nchecks:\n  - name: three-zones\n    rowCount: {min: 3, max: 3}\n  - name: zones\n    unique: {columns: [zone]}\n",
    )
    .expect("dq spec");

    let (code, backed_up, stderr) = run(sparkplane(&home).args(["backup", "run"]).arg(&backup).args(["-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(backed_up["manifest"]["objects"].as_array().is_some_and(|o| !o.is_empty()), "{backed_up}");
    // The lake's table is lost: the job can only be green by reading the restored copies.
    let tables = store(&source, "s3://lake/tables");
    for entry in tables.list().expect("table files") {
        tables.delete(&entry.key).expect("delete");
    }

    // No --set: the catalog is the restored metastore, whose locations now name the scratch bucket.
    let t = Instant::now();
    let mut cmd = sparkplane(&home);
    cmd.args(["dr", "drill", "--backup"]).arg(&backup).arg("--job").arg(&job);
    let (code, report, stderr) = run(cmd.args(["--restore-bucket", "s3://scratch/drill", "-o", "json"]));
    eprintln!("green drill with the restored metastore: {:.1}s", t.elapsed().as_secs_f64());
    let driver_logs: Vec<PathBuf> =
        walk(&home.join("runs")).into_iter().filter(|p| p.ends_with("driver.log")).collect();
    assert_eq!(driver_logs.len(), 1, "{driver_logs:?}: {report} {stderr}");
    let driver = std::fs::read_to_string(&driver_logs[0]).expect("driver log");
    let errors: Vec<&str> = driver.lines().filter(|l| l.contains("Exception") || l.contains("ERROR")).collect();
    assert_eq!(code, 0, "{report} {stderr}\n{}", errors.join("\n"));
    let verdict = &report["verdict"];
    assert_eq!(verdict["green"], true, "{report}");
    assert_eq!(verdict["gates"], serde_json::json!([{"name": "trips-dq.yaml", "passed": true, "detail": "passed"}]));
    let rto = verdict["rto"]["measuredMs"].as_u64().expect("RTO measured");
    let rpo = verdict["rpo"]["measuredMs"].as_u64().expect("RPO measured");
    eprintln!("measured RTO {rto} ms, RPO {rpo} ms");
    assert_eq!(report["scratchDatabase"], "hms_sparkplane_verify");
    assert_eq!(report["scratchDatabaseDropped"], true);
    assert!(report["scratchObjectsDeleted"].as_u64().is_some_and(|n| n > 0), "{report}");
    // The job read the table's files from the scratch bucket, through the restored catalog.
    let input = driver.lines().find(|l| l.starts_with("DRILL-INPUT ")).unwrap_or_else(|| panic!("{driver}"));
    assert!(input.starts_with("DRILL-INPUT s3a://scratch/drill/tables/trips/part-"), "{input}");
    assert!(!driver.contains(HIVE_PASSWORD) && !driver.contains(SECRET_KEY), "a secret in the driver log");
    // Nothing is left: no scratch database, an empty scratch bucket.
    let scratch_db = pg.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'hms_sparkplane_verify'");
    assert_eq!(scratch_db.expect("query").trim(), "0");
    assert!(store(&target_server, "s3://scratch/drill").list().is_err(), "emptied");
}
