//! Spark Connect on this machine: the server's launch plan (spark-submit with
//! Connect's server class, as Spark's `start-connect-server.sh` does, since the
//! pyspark wheel does not ship that script), the per-session token, the
//! copyable connection URL, the busy-port check, whether the server answers
//! yet, and the background server's state file.
//!
//! It must not print or log the token: the plan hands it to the server through
//! the environment (never argv, which `ps` shows), and only the CLI shows it,
//! once, in the connection line on the user's own terminal. It does not start
//! processes itself; the caller spawns the plan.
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sparkplane_category::Category;

/// The server's main class, in Spark 4's `spark-connect` jar.
pub const SERVER_CLASS: &str = "org.apache.spark.sql.connect.service.SparkConnectServer";
/// Spark Connect's default gRPC port.
pub const DEFAULT_PORT: u16 = 15002;
/// The Spark line a Connect server started on this machine runs unless told
/// otherwise (`connect`, `sql`, `dq check`'s spark engine): a line of the line
/// table with a Connect server and client. It stays 4.1 while the Connect
/// suites (crates/sparkplane/tests/it/cli_connect.rs) assume it; 4.2 and 4.3
/// are asked for with `--spark` (ADR 0102).
pub const DEFAULT_LINE: &str = "4.1";
/// The environment variable Spark 4 reads the pre-shared token from (the same
/// value as the `spark.connect.authenticate.token` setting, kept out of argv).
pub const TOKEN_ENV: &str = "SPARK_CONNECT_AUTHENTICATE_TOKEN";
/// The address the server binds: this machine only.
pub const BIND_ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// The state file of a background server, under the sparkplane home.
pub const STATE_FILE: &str = "connect.json";

/// Why Connect cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Spark before 4.0 has no Connect server in its jars.
    #[error(
        "Spark {line} has no Spark Connect server (it ships with Spark 4); install one with `sparkplane runtime install 4.1` and pass `--spark 4.1`"
    )]
    NoConnectServer { line: String },
    /// Something already listens on the port.
    #[error("port {port} on 127.0.0.1 is already in use; stop what listens there or pass another `--port`")]
    PortBusy { port: u16 },
    /// The system's random source could not be read.
    #[error("cannot generate a session token: {0}")]
    Token(#[source] io::Error),
    /// The state file is unreadable or unwritable.
    #[error("cannot {action} {}: {source}", path.display())]
    State { action: &'static str, path: PathBuf, source: io::Error },
}

impl ConnectError {
    /// A busy port and an old Spark are the user's to change (exit 2): another
    /// `--port` or `--spark` fixes them; the machine itself is fine.
    pub fn category(&self) -> Category {
        match self {
            ConnectError::NoConnectServer { .. } | ConnectError::PortBusy { .. } => Category::Invalid,
            ConnectError::Token(_) | ConnectError::State { .. } => Category::Unreachable,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::NoConnectServer { .. } => "no-connect-server",
            ConnectError::PortBusy { .. } => "port-busy",
            ConnectError::Token(_) => "token-unavailable",
            ConnectError::State { .. } => "connect-state-io",
        }
    }
}

/// Whether a Spark line (`3.5`, `4.1`) ships a Connect server.
pub fn check_line(line: &str) -> Result<(), ConnectError> {
    let major = line.split('.').next().and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    if major >= 4 { Ok(()) } else { Err(ConnectError::NoConnectServer { line: line.to_owned() }) }
}

/// A per-session secret: its `Debug` and `Display` hide the value, so it cannot
/// reach a log line by accident; [`Token::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// 32 random bytes from the system's random source, hex-encoded.
    pub fn generate() -> Result<Token, ConnectError> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).map_err(ConnectError::Token)?;
        Ok(Token::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Token {
        Token(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The secret itself, for the server's environment and the copyable line.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// The host name the copyable line uses. Spark's Python client sends a token
/// over TLS to any host but the literal name `localhost`, to which it speaks
/// plaintext gRPC with local-channel credentials; the server has no TLS, so
/// `sc://127.0.0.1:…;token=…` would fail the handshake. `localhost` reaches
/// the 127.0.0.1 binding.
pub const CLIENT_HOST: &str = "localhost";

/// The line a client copies: `sc://localhost:<port>/;token=<token>`.
pub fn connection_url(port: u16, token: &Token) -> String {
    format!("sc://{CLIENT_HOST}:{port}/;token={}", token.expose())
}

/// The same line without the token, for status output and logs.
pub fn public_url(port: u16) -> String {
    format!("sc://{CLIENT_HOST}:{port}/")
}

/// Whether something accepts connections on 127.0.0.1:`port` now. Spark's
/// Connect server binds its gRPC port last, once its session is up, so an
/// accepted connection means it answers.
pub fn answers(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(SocketAddrV4::new(BIND_ADDRESS, port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(250)).is_ok()
}

/// Fails with [`ConnectError::PortBusy`] when the port cannot be bound on
/// 127.0.0.1 now (the server would fail later, with a buried Java stack trace).
pub fn check_port(port: u16) -> Result<(), ConnectError> {
    match TcpListener::bind(SocketAddrV4::new(BIND_ADDRESS, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(ConnectError::PortBusy { port }),
        // Any other bind failure (e.g. a privileged port) is also the port's fault.
        Err(_) => Err(ConnectError::PortBusy { port }),
    }
}

/// What to spawn: `spark-submit --class <server> [--conf k=v]… spark-internal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchPlan {
    /// `<spark_home>/bin/spark-submit`.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Environment added to the child's (holds the token; never log it).
    pub env: Vec<(OsString, OsString)>,
}

/// The server's settings as `--conf` pairs, sorted: bound to 127.0.0.1 on
/// `port`, event logs into `event_log_dir` (the local history reads them), the
/// Spark UI off unless `ui` (a server for one query has no one to show it to,
/// and Jetty's start is time before the first answer), plus the preset's
/// Spark settings (`extra`), which may not override the binding.
/// Settings only a cluster reads are dropped (the core's local rule), and so
/// are the server's own keys, as for a server in a cluster
/// (`sparkplane_core::spark_connect::server_properties`: every `spark.connect.*`,
/// and `spark.plugins`, whose Connect plugin would start a second server in
/// the same driver, on the same port).
pub fn server_conf(
    port: u16,
    event_log_dir: &Path,
    extra: &BTreeMap<String, String>,
    ui: bool,
) -> BTreeMap<String, String> {
    // Which keys are the server's own, and its binding, are core's rule (one owner with the cluster's server).
    let mut conf = sparkplane_core::spark_connect::server_properties(
        extra
            .iter()
            .filter(|(k, _)| !sparkplane_core::local_plan::is_cluster_only(k))
            .map(|(k, v)| (k.clone(), v.clone())),
        &BIND_ADDRESS.to_string(),
        port,
    );
    conf.insert("spark.master".into(), conf.get("spark.master").cloned().unwrap_or_else(|| "local[*]".into()));
    conf.insert("spark.driver.bindAddress".into(), BIND_ADDRESS.to_string());
    conf.insert("spark.driver.host".into(), BIND_ADDRESS.to_string());
    conf.insert("spark.ui.host".into(), BIND_ADDRESS.to_string());
    conf.insert("spark.eventLog.enabled".into(), "true".into());
    conf.insert("spark.eventLog.dir".into(), event_log_dir.display().to_string());
    conf.insert("spark.app.name".into(), "sparkplane-connect".into());
    // Marks the event log as an interactive session's, as the cluster's server is labelled
    // (`sparkplane.dev/connect: server`): `cost` keeps sessions apart from jobs.
    conf.insert(sparkplane_analysis::cost::SESSION_PROPERTY.into(), "server".into());
    if !ui {
        conf.insert("spark.ui.enabled".into(), "false".into());
    }
    conf
}

/// The plan to start the server from a Spark 4 home with the given settings:
/// `jvm` (`java` and its options, from `connect_launch`) followed by Spark's
/// submit class, or, without it, `bin/spark-submit` (whose scripts build the
/// same command through a launcher JVM of their own).
pub fn launch_plan(
    spark_home: &Path,
    jvm: Option<&[String]>,
    conf: &BTreeMap<String, String>,
    token: &Token,
) -> LaunchPlan {
    let mut args: Vec<OsString> =
        vec!["--class".into(), SERVER_CLASS.into(), "--name".into(), "sparkplane-connect".into()];
    for (k, v) in conf {
        args.push("--conf".into());
        args.push(format!("{k}={v}").into());
    }
    // spark-submit's placeholder for "the application jar is on the classpath already".
    args.push("spark-internal".into());
    let (program, args) = match jvm {
        Some([java, options @ ..]) => {
            let mut direct: Vec<OsString> = options.iter().map(OsString::from).collect();
            direct.push(crate::connect_launch::SUBMIT_CLASS.into());
            direct.extend(args);
            (PathBuf::from(java), direct)
        }
        _ => (spark_home.join("bin").join("spark-submit"), args),
    };
    LaunchPlan { program, args, env: vec![(TOKEN_ENV.into(), token.expose().into())] }
}

/// A background server's state file: enough to find, report and stop it. It
/// holds no token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerState {
    pub pid: u32,
    pub port: u16,
    pub spark_line: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The session's record in the local run history (`runs show <id>`).
    #[serde(default)]
    pub run_id: Option<String>,
    /// The class-data archive its JVM writes as it exits, kept by whoever
    /// sees it gone (`connect stop`, `connect status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_archive: Option<crate::connect_launch::PendingArchive>,
}

/// `<home>/connect.json`.
pub fn state_path(home: &Path) -> PathBuf {
    home.join(STATE_FILE)
}

/// Reads the state file; `None` when there is none or it is not ours (a torn
/// or foreign file counts as no server: `connect stop` then has nothing to do).
pub fn read_state(home: &Path) -> Result<Option<ServerState>, ConnectError> {
    let path = state_path(home);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConnectError::State { action: "read", path, source }),
    }
}

/// Writes the state file atomically (temporary file, then rename).
pub fn write_state(home: &Path, state: &ServerState) -> Result<(), ConnectError> {
    let path = state_path(home);
    let tmp = home.join(format!(".{STATE_FILE}.tmp"));
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    std::fs::create_dir_all(home)
        .and_then(|()| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| ConnectError::State { action: "write", path, source })
}

/// Removes the state file; a missing one is fine.
pub fn clear_state(home: &Path) -> Result<(), ConnectError> {
    let path = state_path(home);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ConnectError::State { action: "remove", path, source }),
    }
}

/// Whether the process in a state file still runs (signal 0 probes it).
pub fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill with signal 0 sends nothing; it only checks the pid exists.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_3_has_no_connect_server_and_says_how_to_fix() {
        let err = check_line("3.5").unwrap_err();
        assert_eq!(err.category(), Category::Invalid);
        assert_eq!(
            err.to_string(),
            "Spark 3.5 has no Spark Connect server (it ships with Spark 4); install one with `sparkplane runtime install 4.1` and pass `--spark 4.1`"
        );
        assert!(check_line("4.1").is_ok());
        assert!(check_line("garbage").is_err());
    }

    #[test]
    fn the_default_line_is_a_pinned_one_with_a_connect_server_and_client() {
        assert!(crate::runtime::PINNED.iter().any(|(line, _)| *line == DEFAULT_LINE));
        assert!(check_line(DEFAULT_LINE).is_ok());
        assert!(crate::connect_client::client_version(DEFAULT_LINE).is_some());
        for line in ["4.2", "4.3"] {
            assert!(check_line(line).is_ok(), "{line} has a Connect server");
            assert_eq!(crate::connect_client::client_version(line), Some("4.2.0"), "{line}");
        }
    }

    #[test]
    fn token_is_hidden_from_debug_and_display() {
        let token = Token::from_bytes(&[0xab; 32]);
        assert_eq!(token.expose().len(), 64);
        assert_eq!(format!("{token:?}"), "Token(<hidden>)");
        assert_eq!(format!("{token}"), "<hidden>");
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn url_is_the_copyable_line() {
        let token = Token::from_bytes(&[1, 2]);
        assert_eq!(connection_url(15002, &token), "sc://localhost:15002/;token=0102");
        assert_eq!(public_url(15002), "sc://localhost:15002/");
    }

    #[test]
    fn busy_port_is_refused_with_the_exact_message() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let err = check_port(port).unwrap_err();
        assert_eq!(err.code(), "port-busy");
        assert_eq!(err.category(), Category::Invalid);
        assert_eq!(
            err.to_string(),
            format!("port {port} on 127.0.0.1 is already in use; stop what listens there or pass another `--port`")
        );
        drop(held);
        assert!(check_port(port).is_ok());
    }

    #[test]
    fn plan_binds_localhost_logs_events_and_keeps_the_token_out_of_argv() {
        let token = Token::from_bytes(&[7; 32]);
        let mut extra = BTreeMap::new();
        extra.insert("spark.sql.shuffle.partitions".to_owned(), "4".to_owned());
        extra.insert("spark.connect.grpc.binding.address".to_owned(), "0.0.0.0".to_owned());
        extra.insert("spark.plugins".to_owned(), "org.apache.spark.sql.connect.SparkConnectPlugin".to_owned());
        extra.insert("spark.dynamicAllocation.enabled".to_owned(), "true".to_owned());
        let conf = server_conf(15010, Path::new("/h/events"), &extra, true);
        assert_eq!(conf["spark.connect.grpc.binding.address"], "127.0.0.1");
        assert_eq!(conf["spark.connect.grpc.binding.port"], "15010");
        assert_eq!(conf["spark.eventLog.dir"], "/h/events");
        assert_eq!(conf["spark.sql.shuffle.partitions"], "4");
        assert!(!conf.contains_key("spark.plugins") && !conf.contains_key("spark.dynamicAllocation.enabled"));
        assert!(!conf.contains_key("spark.ui.enabled"), "the UI keeps Spark's default");
        assert_eq!(server_conf(15010, Path::new("/h/events"), &extra, false)["spark.ui.enabled"], "false");
        let plan = launch_plan(Path::new("/spark"), None, &conf, &token);
        assert_eq!(plan.program, Path::new("/spark/bin/spark-submit"));
        assert_eq!(plan.args[1], OsString::from(SERVER_CLASS));
        assert_eq!(plan.args.last(), Some(&OsString::from("spark-internal")));
        assert!(plan.args.iter().all(|a| !a.to_string_lossy().contains(token.expose())));
        assert_eq!(plan.env, vec![(OsString::from(TOKEN_ENV), OsString::from(token.expose()))]);
        // Started directly: java, its options, Spark's submit class, then the same arguments.
        let jvm = ["/j/bin/java".to_owned(), "-cp".to_owned(), "/spark/jars/*".to_owned()];
        let direct = launch_plan(Path::new("/spark"), Some(&jvm), &conf, &token);
        assert_eq!(direct.program, Path::new("/j/bin/java"));
        assert_eq!(
            direct.args[..5],
            ["-cp", "/spark/jars/*", "org.apache.spark.deploy.SparkSubmit", "--class", SERVER_CLASS]
        );
        assert_eq!(direct.args[3..], plan.args[..]);
        assert!(direct.args.iter().all(|a| !a.to_string_lossy().contains(token.expose())));
        assert_eq!(direct.env, plan.env);
    }

    #[test]
    fn state_round_trips_and_stale_or_torn_state_is_handled() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_state(dir.path()).unwrap(), None);
        let state = ServerState {
            pid: std::process::id(),
            port: 15002,
            spark_line: "4.1".into(),
            started_at: "2026-11-22T14:00:00Z".into(),
            run_id: Some("sparkplane-connect-20261122-140000-abcd".into()),
            class_archive: None,
        };
        write_state(dir.path(), &state).unwrap();
        assert_eq!(read_state(dir.path()).unwrap(), Some(state.clone()));
        assert!(is_alive(state.pid));
        assert!(!is_alive(0));
        std::fs::write(state_path(dir.path()), "{torn").unwrap();
        assert_eq!(read_state(dir.path()).unwrap(), None);
        clear_state(dir.path()).unwrap();
        clear_state(dir.path()).unwrap();
        assert!(!state_path(dir.path()).exists());
    }
}
