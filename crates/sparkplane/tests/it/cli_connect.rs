//! `sparkplane connect` and `sparkplane sql` end to end, on the managed Spark
//! 4.1 runtime (`sparkplane runtime install 4.1`, done by scripts/test.sh) and
//! Spark's own Python thin client from PyPI (`pyspark-client`, which `sql`
//! installs under the sparkplane home on first use).
//!
//! Tests named `slow_…` start a real Spark Connect server (a JVM, 10–30 s on
//! a busy machine each); they run in CI like the others. Each test has its own
//! SPARKPLANE_HOME (its own run history and state file) sharing the installed
//! runtimes and clients; every server binds 127.0.0.1 on a free port and is
//! stopped when its guard drops. All waits are bounded.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    sparkplane_testkit::cli::binary()
}

fn default_home() -> PathBuf {
    sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME")
}

/// A fresh SPARKPLANE_HOME sharing the installed runtimes and Connect clients.
struct Env {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
}

fn env() -> Env {
    let shared = default_home();
    let home = tempfile::tempdir().unwrap();
    for dir in ["runtimes", "clients"] {
        std::fs::create_dir_all(shared.join(dir)).unwrap();
        std::os::unix::fs::symlink(shared.join(dir), home.path().join(dir)).unwrap();
    }
    Env { home, work: tempfile::tempdir().unwrap() }
}

/// An env whose 4.1 runtime (`connect`'s default line) is installed (the slow tests need it).
fn env_with_spark4() -> Env {
    env_with_line("4.1")
}

/// An env whose Spark `line` runtime is installed.
fn env_with_line(line: &str) -> Env {
    let marker = sparkplane_local::runtime::runtime_dir(&default_home(), line).join("runtime.json");
    assert!(
        marker.is_file(),
        "no Spark {line} runtime at {}: run `sparkplane runtime install {line}` (scripts/test.sh installs \
         the oldest and newest lines, scripts/compat.sh every line)",
        marker.display()
    );
    env()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("SPARKPLANE_HOME", self.home.path())
            .env_remove("SPARK_HOME")
            .env_remove("SPARKPLANE_CONNECT_URL")
            .env("NO_COLOR", "1")
            .current_dir(self.work.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.command(args).output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The run history, sessions included (`runs list` leaves them out otherwise).
    fn runs(&self) -> Vec<serde_json::Value> {
        let (_, out, _) = self.run(&["runs", "list", "--include-sessions", "-o", "json"]);
        serde_json::from_str(&out).expect("runs list JSON")
    }

    /// Python of the PyPI thin client (installed by `sql` on first use).
    fn client_python(&self) -> PathBuf {
        let version = sparkplane_local::connect_client::client_version("4.1").unwrap();
        sparkplane_local::connect_client::client_dir(self.home.path(), version).join("venv/bin/python")
    }

    /// Starts `connect --background`; the guard stops it.
    fn background(&self, port: u16) -> Background<'_> {
        self.background_on(port, &[])
    }

    /// Starts `connect --background` with `more` arguments (`--spark LINE`); the guard stops it.
    fn background_on(&self, port: u16, more: &[&str]) -> Background<'_> {
        let port = port.to_string();
        let mut args = vec!["connect", "--background", "--port", &port];
        args.extend_from_slice(more);
        let (code, out, err) = self.run(&args);
        assert_eq!(code, Some(0), "{err}");
        let url = out.trim().to_owned();
        assert_eq!(url.lines().count(), 1, "one line on stdout: {out}");
        Background { env: self, url }
    }
}

struct Background<'a> {
    env: &'a Env,
    url: String,
}

impl Drop for Background<'_> {
    fn drop(&mut self) {
        let _ = self.env.command(&["connect", "stop"]).output();
    }
}

/// A question to the server from Spark's own thin client, no sparkplane in between.
const CLIENT: &str = r#"
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
try:
    rows = spark.sql("SELECT sum(id) AS total FROM range(1000)").collect()
    print("TOTAL", rows[0]["total"])
except Exception as e:
    print("REFUSED", " ".join(str(e).split()))
"#;

fn ask(python: &Path, url: &str) -> String {
    let out = Command::new(python).args(["-c", CLIENT, url]).output().expect("the thin client runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn slow_background_server_answers_the_token_holder_only_and_stops_cleanly() {
    let env = env_with_spark4();
    // `sql` installs the PyPI thin client on first use; the question below uses the same one.
    let port = free_port();
    let server = env.background(port);
    let url = server.url.clone();
    let token = url.split("token=").nth(1).expect("a token in the line").to_owned();
    assert_eq!(url, format!("sc://localhost:{port}/;token={token}"));
    assert_eq!(token.len(), 64);
    let (code, out, err) = env.run(&["sql", "--connect", &url, "SELECT 1 AS one"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "one\n1\n(1 row)\n");

    let python = env.client_python();
    assert_eq!(ask(&python, &url).trim(), "TOTAL 499500");
    let wrong = format!("sc://localhost:{port}/;token=not-the-token");
    let refused = ask(&python, &wrong);
    assert!(refused.starts_with("REFUSED") && refused.contains("Invalid authentication token"), "{refused}");
    let anonymous = ask(&python, &format!("sc://localhost:{port}/"));
    assert!(anonymous.contains("No authentication token provided"), "{anonymous}");
    let (code, _, err) = env.run(&["sql", "--connect", &wrong, "SELECT 1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the Spark Connect server refused the token"), "{err}");
    assert!(!err.contains("not-the-token"), "the token never reaches output: {err}");

    // Status names the server but never the token; a second background server is refused.
    let (code, out, err) = env.run(&["connect", "status"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(&format!("running sc://localhost:{port}/ (pid ")), "{out}");
    assert!(!out.contains(&token) && !err.contains(&token));
    let (code, _, err) = env.run(&["connect", "--background", "--port", &free_port().to_string()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("a Spark Connect server is already running in the background"), "{err}");
    let state = std::fs::read_to_string(env.home.path().join("connect.json")).unwrap();
    assert!(!state.contains(&token), "the state file holds no token");

    let (code, _, err) = env.run(&["connect", "stop"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(&format!("stopped the Spark Connect server on 127.0.0.1:{port}")), "{err}");
    assert!(!env.home.path().join("connect.json").exists());
    let (code, out, err) = env.run(&["connect", "status"]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(0),
            "not running: no Spark Connect server runs in the background (`sparkplane connect --background` starts one)\n"
        ),
        "{err}"
    );
    // The session is in the run history with its event log, tagged as interactive.
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["job"], "sparkplane-connect");
    assert_eq!(runs[0]["interactive"], true);
    assert_eq!(runs[0]["state"], "succeeded");
    let event_log = runs[0]["eventLog"].as_str().expect("an event log");
    assert!(event_log.starts_with(&env.home.path().join("history").display().to_string()), "{event_log}");
    let (code, out, err) = env.run(&["analyze", event_log, "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("sparkplane-connect"), "{out}");
    drop(server);
}

/// A query that runs about three seconds: two tasks that each sleep.
const SLOW_CLIENT: &str = r#"
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
rows = spark.sql("SELECT reflect('java.lang.Thread', 'sleep', CAST(3000 AS BIGINT)) AS s FROM range(2)").collect()
print("ROWS", len(rows))
"#;

/// A foreground `connect` that is stopped (TERM, then KILL after a minute)
/// if the test ends before it stopped, so a failed assertion leaves no server
/// and no JVM behind.
struct Foreground(std::process::Child);

impl Drop for Foreground {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn slow_foreground_server_prints_its_line_shows_running_queries_and_stops_on_ctrl_c() {
    let env = env_with_spark4();
    let port = free_port();
    let mut foreground = Foreground(
        env.command(&["connect", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut foreground.0;
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    // stderr's lines with the moment each arrived: progress must show while the query runs.
    let stderr = child.stderr.take().unwrap();
    let (err_send, err_receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_send.send((Instant::now(), line));
        }
    });
    let line = receive.recv_timeout(Duration::from_secs(240)).expect("the connection line within 240 s");
    assert!(line.starts_with(&format!("sc://localhost:{port}/;token=")), "{line}");
    assert!(sparkplane_local::connect::answers(port));
    let out =
        Command::new(env.client_python()).args(["-c", SLOW_CLIENT, &line]).output().expect("the thin client runs");
    let answered = Instant::now();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ROWS 2", "{}", String::from_utf8_lossy(&out.stderr));
    // SIGINT, as a terminal's Ctrl-C sends it.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "connect did not stop within 120 s of Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_millis(200));
    let lines: Vec<(Instant, String)> = err_receive.try_iter().collect();
    let err: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    assert_eq!(status.code(), Some(0), "{err}");
    // Off a terminal, a running query shows as `run` shows a job: a plain progress line, before the answer.
    let progress: Vec<&(Instant, String)> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("jobs ") && l.contains(" · stages ") && l.contains(" · tasks "))
        .collect();
    assert!(!progress.is_empty(), "a progress line while the query ran:\n{err}");
    assert!(progress[0].0 < answered, "the progress line came before the answer:\n{err}");
    assert!(err.contains("stopped; session recorded as sparkplane-connect-"), "{err}");
    assert!(!sparkplane_local::connect::answers(port), "the JVM is gone");
    let runs = env.runs();
    assert_eq!(runs[0]["state"], "succeeded", "{runs:?}");
    assert!(!env.home.path().join("connect.json").exists());
}

// `sql` on the newest line in CI; the lines between its first Connect line (4.0) and the newest
// are #[ignore]d here and run by scripts/compat.sh (`--run-ignored all`).
#[test]
fn slow_sql_starts_its_own_server_and_reports_errors_at_the_files_line_and_column_on_spark_4_3() {
    sql_on("4.3");
}

#[test]
#[ignore = "a middle Spark line: scripts/compat.sh runs it"]
fn slow_sql_starts_its_own_server_and_reports_errors_at_the_files_line_and_column_on_spark_4_2() {
    sql_on("4.2");
}

#[test]
#[ignore = "a middle Spark line: scripts/compat.sh runs it"]
fn slow_sql_starts_its_own_server_and_reports_errors_at_the_files_line_and_column_on_spark_4_1() {
    sql_on("4.1");
}

#[test]
#[ignore = "the first line with Spark Connect: scripts/compat.sh runs it"]
fn slow_sql_starts_its_own_server_and_reports_errors_at_the_files_line_and_column_on_spark_4_0() {
    sql_on("4.0");
}

/// `sql` on Spark `line`: a server of its own for one query, then a background server for a
/// file's statements, its errors at the file's line and column, and the output formats.
fn sql_on(line: &str) {
    let env = env_with_line(line);
    let version = sparkplane_local::runtime::pinned_version(line).unwrap_or_else(|| panic!("Spark {line} is pinned"));
    // No --connect: a server for the query, stopped after it.
    let (code, out, err) = env.run(&["sql", "--spark", line, "SELECT id, id * 2 AS twice FROM range(3) ORDER BY id"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "id  twice\n0   0\n1   2\n2   4\n(3 rows)\n");
    let started = format!("started a local Spark Connect server (Spark {version}) for this query");
    assert!(err.contains(&started), "{err}");
    assert_eq!(env.runs()[0]["state"], "succeeded");

    let port = free_port();
    let server = env.background_on(port, &["--spark", line]);
    let url = server.url.clone();
    let file = env.work.path().join("q.sql");
    // A view, then a query over it whose third line misspells FROM.
    std::fs::write(
        &file,
        "-- the report\nCREATE OR REPLACE TEMPORARY VIEW n AS SELECT id FROM range(5);\n\nSELECT id,\n  id + 1 AS next\n  FORM n;\n",
    )
    .unwrap();
    let (code, out, err) = env.run(&["sql", "--connect", &url, "--file", "q.sql"]);
    assert_eq!(code, Some(2), "a statement Spark cannot parse is invalid input: {err}");
    assert_eq!(out, "");
    // Spark says line 3, pos 2 of the statement: the file's line 6, column 3.
    assert!(
        err.contains("q.sql:6:3: error: [PARSE_SYNTAX_ERROR] Syntax error at or near 'FORM'. SQLSTATE: 42601\n"),
        "a parse error at the file's line 6, column 3:\n{err}"
    );
    // Off a terminal no source line is marked: the help says where in words.
    assert!(err.ends_with("  help: fix the SQL syntax at line 6, column 3\n"), "{err}");
    // An analysis error: the unknown column's own line and column.
    std::fs::write(&file, "SELECT id,\n       nope\nFROM range(3);\n").unwrap();
    let (code, _, err) = env.run(&["sql", "--connect", &url, "-f", "q.sql"]);
    assert_eq!(code, Some(2), "an unresolvable column is invalid input too: {err}");
    assert!(err.contains("q.sql:2:8: error: [UNRESOLVED_COLUMN.WITH_SUGGESTION]"), "{err}");
    assert!(err.contains("Did you mean one of the following? [`id`]. SQLSTATE: 42703\n"), "{err}");
    // The same view and rows as CSV, JSON and Parquet.
    std::fs::write(
        &file,
        "CREATE OR REPLACE TEMPORARY VIEW n AS SELECT id FROM range(3);\nSELECT id, 'a,b' AS s FROM n;\n",
    )
    .unwrap();
    let (code, out, err) = env.run(&["sql", "--connect", &url, "-f", "q.sql", "--csv", "--parquet", "out.parquet"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "id,s\n0,\"a,b\"\n1,\"a,b\"\n2,\"a,b\"\n");
    let parquet = std::fs::read(env.work.path().join("out.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    let (code, out, err) = env.run(&["sql", "--connect", &url, "SELECT 1 AS a, 'x' AS b", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), serde_json::json!([{"a": 1, "b": "x"}]));
    // A command as the last statement answers with its rows, as a query does.
    let script = "CREATE OR REPLACE TEMPORARY VIEW m AS SELECT 1 AS x;\nSHOW TABLES;";
    let (code, out, err) = env.run(&["sql", "--connect", &url, script, "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let tables = serde_json::json!([{"namespace": "", "tableName": "m", "isTemporary": true}]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), tables);
    let (code, out, err) = env.run(&["sql", "--connect", &url, "SET spark.sql.shuffle.partitions=7", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let set = serde_json::json!([{"key": "spark.sql.shuffle.partitions", "value": "7"}]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), set);
    drop(server);
}

#[test]
fn a_busy_port_is_refused_with_the_exact_message_and_nothing_started() {
    let env = env();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let (code, out, err) = env.run(&["connect", "--port", &port.to_string()]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err.trim(),
        format!("error: port {port} on 127.0.0.1 is already in use; stop what listens there or pass another `--port`")
    );
    // The preset is read first (its settings are good), then the port is refused the same way.
    let (code, _, err) = env.run(&["connect", "--preset", "interactive", "--port", &port.to_string()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("error: port {port} on 127.0.0.1 is already in use")), "{err}");
    let (code, _, err) = env.run(&["connect", "--preset", "interactiv"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim(), "error: there is no preset `interactiv`\n  help: did you mean `interactive`?");
    assert!(env.runs().is_empty());
    assert!(!env.home.path().join("connect.json").exists());
}

#[test]
fn a_spark_3_runtime_has_no_connect_server() {
    let env = env();
    for args in [&["connect", "--spark", "3.5"][..], &["sql", "--spark", "3.5", "SELECT 1"][..]] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(out, "");
        assert_eq!(
            err.trim(),
            "error: Spark 3.5 has no Spark Connect server (it ships with Spark 4); install one with `sparkplane runtime install 4.1` and pass `--spark 4.1`"
        );
    }
    assert!(env.runs().is_empty());
}

#[test]
fn a_missing_java_is_named_with_what_to_install() {
    let env = env();
    let out = env
        .command(&["connect", "--port", &free_port().to_string()])
        .env("PATH", "/nonexistent")
        .env_remove("JAVA_HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Java was not found on PATH: Spark 4.1 needs Java") && err.contains("openjdk-17"), "{err}");
    assert!(out.stdout.is_empty());
    assert!(env.runs().is_empty());
    assert!(!env.home.path().join("connect.json").exists());
}

#[test]
fn bad_sql_input_is_refused_before_anything_starts() {
    let env = env();
    let (code, _, err) = env.run(&["sql", "--file", "missing.sql"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.sql"), "{err}");
    std::fs::write(env.work.path().join("empty.sql"), "-- nothing yet\n\n").unwrap();
    let (code, _, err) = env.run(&["sql", "-f", "empty.sql"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("error: empty.sql holds no SQL statement"), "{err}");
    let (code, _, err) = env.run(&["sql", "--connect", "localhost:15002;token=secret", "SELECT 1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("error: --connect takes a Spark Connect URL, not `localhost:15002`"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    let (code, _, err) = env.run(&["sql"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = env.run(&["sql", "SELECT 1", "--file", "q.sql"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(env.runs().is_empty());
}

#[test]
fn status_and_stop_without_a_server() {
    let env = env();
    // Not running is an answer (exit 0), in words and as JSON.
    let (code, out, err) = env.run(&["connect", "status"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            Some(0),
            "not running: no Spark Connect server runs in the background (`sparkplane connect --background` starts one)\n",
            ""
        )
    );
    let (code, out, err) = env.run(&["connect", "status", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), serde_json::json!({"running": false}));
    let (code, _, err) = env.run(&["connect", "stop"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("no Spark Connect server is running in the background; nothing to stop"), "{err}");
}

/// The notebook tools' Python (nbclient, ipykernel and pyspark-client from PyPI; `need_notebook_tools` in
/// scripts/common.sh, which scripts/test.sh runs).
fn notebook_python() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let python = home.join(".cache/sparkplane/tools/notebook/bin/python");
    assert!(
        python.is_file(),
        "no notebook tools at {}: run `source scripts/common.sh && need_notebook_tools` (scripts/test.sh does)",
        python.display()
    );
    python
}

/// Writes a small dataset in the layout trips-etl writes (Parquet partitioned by pickup_date).
const WRITE_CURATED: &str = r#"
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
rows = [("2026-01-01", "north", 3, 30.0, 2.0), ("2026-01-01", "south", 1, 10.0, 1.0),
        ("2026-01-02", "north", 2, 20.0, 2.5), ("2026-01-02", "south", 5, 55.5, 3.0)]
frame = spark.createDataFrame(rows, "pickup_date string, zone string, trips long, fare_total double, distance_avg_km double")
frame.write.mode("overwrite").partitionBy("pickup_date").parquet(sys.argv[2])
spark.stop()
"#;

/// Executes a notebook headless with nbclient and prints each code cell's text output, one JSON list.
const EXECUTE: &str = r#"
import json, sys
import nbclient, nbformat
notebook = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
texts = []
for cell in notebook.cells:
    if cell.cell_type == "code":
        texts.append("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))
print(json.dumps(texts))
"#;

#[test]
fn slow_debug_notebook_runs_headless_against_connect() {
    let env = env_with_spark4();
    let python = notebook_python();
    let server = env.background(free_port());
    let curated = env.work.path().join("curated/trips");
    let out = Command::new(&python).args(["-c", WRITE_CURATED, &server.url]).arg(&curated).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let notebook = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/notebooks/debug.ipynb");
    let out = Command::new(&python)
        .args(["-c", EXECUTE])
        .arg(&notebook)
        .arg(notebook.parent().unwrap())
        .env("SPARKPLANE_CONNECT_URL", &server.url)
        .env("TRIPS_CURATED", &curated)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let texts: Vec<String> = serde_json::from_slice(&out.stdout).expect("cell outputs");
    assert!(texts[0].starts_with("Spark 4.1.4 reading "), "{texts:?}");
    assert!(texts[1].contains("|-- zone: string") && texts[1].contains("rows: 4"), "{}", texts[1]);
    assert!(texts[2].contains("== Physical Plan ==") && texts[2].contains("HashAggregate"), "{}", texts[2]);
    assert_eq!(
        texts[3],
        "south        trips      6  fares      65.50\nnorth        trips      5  fares      50.00\nzones: 2 trips: 11\n"
    );
    drop(server);
}
