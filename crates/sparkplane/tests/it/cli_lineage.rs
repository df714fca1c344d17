//! `sparkplane lineage`: OpenLineage events from the example ETL job's real
//! event log (CSV in, Parquet out), checked by openlineage-python's models,
//! sent to a receiver on 127.0.0.1, and the bad inputs with exact messages;
//! and a JDBC job run on real Spark 3.5 and 4.1 against a throwaway PostgreSQL, whose
//! tables are named as OpenLineage names them and whose password appears
//! nowhere in what `lineage` prints.
//!
//! The Python check needs the venv `need_openlineage` in scripts/common.sh installs;
//! the JDBC test needs the Spark 3.5 and 4.1 runtimes, PostgreSQL and its JDBC driver
//! (`sparkplane runtime install 3.5`/`4.1`, `need_postgres`, `need_pg_jdbc`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The example job's log, as `sparkplane run` left it (see the fixture's README).
fn trips_log() -> PathBuf {
    repo().join("crates/sparkplane-eventlog/tests/fixtures/trips-etl/eventlog_v2_local-1795448790416")
}

fn lineage(args: &[&str]) -> (Option<i32>, String, String) {
    let out =
        sparkplane_testkit::sparkplane_process().arg("lineage").args(args).env("NO_COLOR", "1").output().expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON event per line")).collect()
}

#[test]
fn the_example_jobs_log_reads_csv_and_writes_parquet() {
    let log = trips_log();
    let (code, out, err) = lineage(&[log.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "", "no warnings for a log with plans");
    let events = events(&out);
    let types: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["START", "COMPLETE"]);
    let complete = &events[1];
    assert_eq!(complete["job"]["namespace"], "data-eng", "the team sparkplane run labelled it with");
    assert_eq!(complete["job"]["name"], "trips-etl");
    assert_eq!(complete["eventTime"], "2026-11-23T15:47:11.078Z");
    assert_eq!(events[0]["run"]["runId"], complete["run"]["runId"]);
    // The CSV input with the schema Spark inferred; the sampled part file of the schema inference is the same data.
    let inputs = complete["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert_eq!((&inputs[0]["namespace"], &inputs[0]["name"]), (&"file".into(), &"/tmp/te/data/raw/trips".into()));
    let fields: Vec<String> = inputs[0]["facets"]["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["name"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, ["trip_id:string", "pickup_ts:timestamp", "zone:string", "distance_km:double", "fare:double"]);
    let outputs = complete["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!((&outputs[0]["namespace"], &outputs[0]["name"]), (&"file".into(), &"/tmp/te/data/curated/trips".into()));
    let columns: Vec<&str> = outputs[0]["facets"]["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["pickup_date", "zone", "trips", "fare_total", "distance_avg_km"]);

    // Deterministic: a second reading gives the same bytes (so a resend updates the same run).
    assert_eq!(lineage(&[log.to_str().unwrap()]).1, out);
}

#[test]
fn openlineage_pythons_models_accept_the_events() {
    let python = dirs_python();
    // Succeeded, failed and killed applications, plus the example job.
    let mut all = Vec::new();
    for log in [trips_log(), repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9")] {
        let (code, out, err) = lineage(&[log.to_str().unwrap(), "-o", "json"]);
        assert_eq!(code, Some(0), "{err}");
        all.extend(serde_json::from_str::<Vec<serde_json::Value>>(&out).expect("a JSON array"));
    }
    let types: Vec<&str> = all.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["START", "COMPLETE", "START", "COMPLETE", "START", "FAIL", "START"]);
    assert!(all[5]["run"]["facets"]["errorMessage"]["message"].as_str().unwrap().contains("ValueError"), "{}", all[5]);
    let mut child = Command::new(python)
        .arg(repo().join("crates/sparkplane/tests/lineage/check_openlineage.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the checker starts");
    child.stdin.take().unwrap().write_all(serde_json::to_string(&all).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert_eq!(text.trim(), "ok 7");
}

/// The venv scripts/common.sh's need_openlineage installs.
fn dirs_python() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).expect("HOME");
    let python = home.join(".cache/sparkplane/tools/openlineage/bin/python");
    assert!(python.is_file(), "no {}: run `source scripts/common.sh; need_openlineage`", python.display());
    python
}

/// A receiver on 127.0.0.1 that answers 201 to each POST and hands back the bodies.
struct Receiver {
    url: String,
    handle: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Receiver {
    fn start(expect: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/api/v1/lineage", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for stream in listener.incoming().take(expect) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut length, mut line) = (0usize, String::new());
                reader.read_line(&mut line).unwrap();
                assert!(line.starts_with("POST /api/v1/lineage "), "{line}");
                loop {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                bodies.push(String::from_utf8(body).unwrap());
                stream.write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
            }
            bodies
        });
        Receiver { url, handle: Some(handle) }
    }

    fn bodies(mut self) -> Vec<String> {
        self.handle.take().unwrap().join().expect("receiver")
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Unblocks a receiver still waiting, so a failed test does not hang.
        if self.handle.is_some() {
            let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://").split('/').next().unwrap());
        }
    }
}

#[test]
fn the_events_reach_an_openlineage_endpoint() {
    let receiver = Receiver::start(2);
    let log = trips_log();
    let (code, out, err) = lineage(&[log.to_str().unwrap(), "--openlineage", &receiver.url]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "");
    assert_eq!(err, format!("sent 2 OpenLineage events for 1 applications to {}\n", receiver.url));
    let printed = lineage(&[log.to_str().unwrap()]).1;
    assert_eq!(receiver.bodies().join("\n") + "\n", printed, "the same events as printed");
}

#[test]
fn an_unreachable_endpoint_exits_3_naming_it() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/api/v1/lineage");
    let (code, out, err) = lineage(&[trips_log().to_str().unwrap(), "--openlineage", &url]);
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(out, "");
    assert!(
        err.starts_with(&format!(
            "error: --openlineage: cannot send OpenLineage events to {url}: io: Connection refused"
        )),
        "{err}"
    );
    assert!(err.contains("after 3 attempts (0 of 2 sent)"), "{err}");
}

#[test]
fn a_log_without_sql_plans_gives_lineage_without_datasets_and_a_warning() {
    let log = repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9/eventlog_v2_local-1795265030698");
    let (code, out, err) = lineage(&[log.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err,
        "warning: application local-1795265030698: the log has no SQL execution plans, so its lineage has no input \
         or output datasets (DataFrame and SQL actions record plans; RDD-only jobs do not)\n"
    );
    let events = events(&out);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["inputs"] == serde_json::json!([]) && e["outputs"] == serde_json::json!([])));
}

#[test]
fn an_unreadable_log_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let (code, out, err) = lineage(&[missing.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert!(
        err.starts_with(&format!("error: cannot read event log {}: No such file or directory", missing.display())),
        "{err}"
    );
    let garbage = dir.path().join("local-1");
    std::fs::write(&garbage, "not an event log\n").unwrap();
    let (code, out, err) = lineage(&[garbage.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (Some(2), ""), "{err}");
    assert!(err.starts_with(&format!("error: no Spark application could be read from {}", garbage.display())), "{err}");
}

/// Runs openlineage-python's models over `events`; returns what the checker printed.
fn check_with_openlineage_python(events: &[serde_json::Value]) -> String {
    let mut child = Command::new(dirs_python())
        .arg(repo().join("crates/sparkplane/tests/lineage/check_openlineage.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the checker starts");
    child.stdin.take().unwrap().write_all(serde_json::to_string(events).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    text.trim().to_string()
}

/// `namespace name` of each input or output of an event.
fn dataset_names(event: &serde_json::Value, side: &str) -> Vec<String> {
    event[side]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{} {}", d["namespace"].as_str().unwrap(), d["name"].as_str().unwrap()))
        .collect()
}

/// `name:type` (or `name`) of a dataset's schema facet.
fn schema_of(dataset: &serde_json::Value) -> Vec<String> {
    dataset["facets"]["schema"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| match f["type"].as_str() {
                    Some(t) => format!("{}:{t}", f["name"].as_str().unwrap()),
                    None => f["name"].as_str().unwrap().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_jdbc_job_on_real_spark_and_postgres_names_its_tables_and_no_password() {
    let home = sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME");
    let driver_jar = sparkplane_local::metastore::postgres_jdbc_jar().unwrap_or_else(|e| panic!("{e}"));
    // A password only this run knows, so finding it anywhere means it leaked.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let password = format!("Lineage-{}-{nanos}-pw", std::process::id());
    let server = sparkplane_testkit::PostgresServer::start_with_password(&password).expect("PostgreSQL starts");
    server.psql("postgres", "CREATE DATABASE shop").expect("database");
    server
        .psql(
            "shop",
            "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int PRIMARY KEY, customer text, amount numeric(10,2)); \
             INSERT INTO sales.orders VALUES (1, 'ada', 10.50), (2, 'bob', 20.00), (3, 'ada', 7.25)",
        )
        .expect("table");

    // The same job on both Spark lines the runtimes offer (4.1 writes a rolling, compressed log).
    for version in ["3.5.9", "4.1.4"] {
        let spark = sparkplane_local::runtime::locate(&home, version, None).unwrap_or_else(|e| {
            panic!("{e}: run `sparkplane runtime install {}` (scripts/test.sh does)", &version[..3])
        });
        let work = tempfile::tempdir().unwrap();
        let password_file = work.path().join("password");
        std::fs::write(&password_file, &password).unwrap();
        std::fs::set_permissions(&password_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let events_dir = work.path().join("events");
        std::fs::create_dir_all(&events_dir).unwrap();
        let parquet = work.path().join("out/totals");
        let url = format!("jdbc:postgresql://127.0.0.1:{}/shop", server.port);
        let mut submit = Command::new(&spark.spark_submit);
        submit
            .args(["--master", "local[2]", "--driver-class-path"])
            .arg(&driver_jar)
            .args(["--conf", "spark.eventLog.enabled=true", "--conf", "spark.ui.enabled=false"])
            .args(["--conf", &format!("spark.eventLog.dir={}", events_dir.display())])
            .arg(repo().join("crates/sparkplane/tests/lineage/jdbc_job.py"))
            .arg(&url)
            .arg(&password_file)
            .arg(&parquet)
            .env("SPARK_HOME", &spark.spark_home)
            .current_dir(work.path());
        if let Some(python) = &spark.python {
            submit.env("PYSPARK_PYTHON", python);
        }
        let run = submit.output().expect("spark-submit runs");
        let driver = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
        assert!(run.status.success() && driver.contains("LINEAGE-JOB big_orders=2"), "{driver}");
        assert_eq!(
            server.psql("shop", "SELECT count(*) FROM sales.totals").unwrap().trim(),
            "2",
            "the job wrote its table"
        );
        let logs: Vec<PathBuf> = std::fs::read_dir(&events_dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(logs.len(), 1, "{logs:?}");
        let log = logs[0].to_str().unwrap();
        let name = logs[0].file_name().unwrap().to_str().unwrap();
        let app_id = name.strip_prefix("eventlog_v2_").unwrap_or(name).to_string();

        // With the database named (the URL carrying the password, as users paste it), every dataset is named.
        let jdbc_url = format!("{url}?user=postgres&password={password}");
        let (code, out, err) = lineage(&[log, "--jdbc-url", &jdbc_url]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            err,
            format!(
                "warning: application {app_id}: its lineage misses what these plan nodes read or write, which \
             sparkplane does not recognise: Scan JDBCRelation((query) SPARK_GEN_SUBQ_0) (sparkplane reads file \
             scans and writes, spark_catalog tables and JDBC tables; Delta Lake, Iceberg and other DataSource V2 \
             tables are not read yet)\n"
            )
        );
        let named = events(&out);
        let types: Vec<&str> = named.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
        assert_eq!(types, ["START", "COMPLETE"]);
        let namespace = format!("postgres://127.0.0.1:{}", server.port);
        for event in &named {
            assert_eq!(dataset_names(event, "inputs"), [format!("{namespace} shop.sales.orders")]);
            assert_eq!(
                dataset_names(event, "outputs"),
                [format!("file {}", parquet.display()), format!("{namespace} shop.sales.totals")]
            );
        }
        let complete = &named[1];
        assert_eq!(schema_of(&complete["inputs"][0]), ["customer:string", "amount:decimal(10,2)"], "the columns read");
        assert_eq!(schema_of(&complete["outputs"][0]), ["customer", "total"]);
        assert_eq!(schema_of(&complete["outputs"][1]), Vec::<String>::new(), "the JDBC write records no columns");
        assert_eq!(check_with_openlineage_python(&named), "ok 2", "Spark {version}");
        let (_, json_out, json_err) = lineage(&[log, "--jdbc-url", &jdbc_url, "-o", "json"]);
        for text in [&out, &err, &json_out, &json_err] {
            assert!(!text.contains(&password), "the password leaked: {text}");
        }

        // Without it, the JDBC tables are left out with a warning that says how to name them.
        let (code, out, err) = lineage(&[log]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            err.starts_with(&format!(
                "warning: application {app_id}: reads sales.orders and writes sales.totals over JDBC, but the log does \
             not say which database (Spark redacts JDBC URLs in event logs), so these tables are left out of its \
             lineage: name the database with --jdbc-url jdbc:postgresql://HOST:PORT/DATABASE\nwarning: application \
             {app_id}: its lineage misses what these plan nodes read or write"
            )),
            "{err}"
        );
        let unnamed = events(&out);
        assert_eq!(dataset_names(&unnamed[1], "inputs"), Vec::<String>::new());
        assert_eq!(dataset_names(&unnamed[1], "outputs"), [format!("file {}", parquet.display())]);
        assert!(!out.contains(&password) && !err.contains(&password));
    }
}

#[test]
fn a_bad_jdbc_url_exits_2_without_echoing_it() {
    let log = trips_log();
    let (code, out, err) =
        lineage(&[log.to_str().unwrap(), "--jdbc-url", "jdbc:oracle:thin:scott/Tiger-pw@db:1521/orcl"]);
    assert_eq!((code, out.as_str()), (Some(2), ""), "{err}");
    assert!(
        err.starts_with(
            "error: --jdbc-url: `jdbc:oracle` URLs are not supported: sparkplane names JDBC datasets of \
             jdbc:postgresql and jdbc:mysql"
        ),
        "{err}"
    );
    let (code, _, err) =
        lineage(&[log.to_str().unwrap(), "--jdbc-url", "jdbc:postgresql://etl:Tiger-pw@db?password=Tiger-pw"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("error: --jdbc-url: the URL names no database: write jdbc:postgresql://HOST:PORT/DATABASE"),
        "{err}"
    );
    assert!(!err.contains("Tiger-pw") && !err.contains("etl"), "{err}");
}
