//! A throwaway local PostgreSQL server: `initdb` into a temporary folder and
//! `postgres` on 127.0.0.1 on a free port, with password (SCRAM) logins for
//! the superuser `postgres`, stopped (immediate shutdown) and its folder
//! removed when the handle drops. The tests use it (through
//! `sparkplane-testkit`) and so does the `metastore-stopped` chaos
//! experiment, which stops it on purpose (ADR 0044).
//!
//! Owns: starting, stopping and removing such a server, and running SQL on
//! it as the superuser. Must not: print, or put its password on a command
//! line (psql gets it in `PGPASSWORD`).
//!
//! PostgreSQL refuses to run as root. When the tests run as root, the server
//! runs as the unprivileged system user `sparkplane-pg` (`SPARKPLANE_PG_USER`
//! overrides), which `scripts/common.sh` `need_postgres` creates; the
//! process is started with that user's uid and gid directly (no su or sudo
//! in between, so the handle holds the postmaster itself). Otherwise it runs
//! as the current user.
//!
//! Binaries: `SPARKPLANE_PG_BIN`, else the newest `/usr/lib/postgresql/<major>/bin`
//! (Debian's `postgresql` package, which `need_postgres` installs).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Password of the `postgres` superuser that [`PostgresServer::start`] sets (a test value, not a secret).
pub const SUPERUSER_PASSWORD: &str = "sparkplane-test-pg";
/// The superuser.
pub const SUPERUSER: &str = "postgres";

/// A running PostgreSQL server.
pub struct PostgresServer {
    child: Child,
    dir: PathBuf,
    /// Folder of the server and client binaries.
    pub bin: PathBuf,
    /// Always `127.0.0.1`.
    pub host: String,
    /// The port it listens on.
    pub port: u16,
    /// The superuser's password.
    password: String,
}

/// The newest PostgreSQL binaries on this machine.
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SPARKPLANE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("postgres").is_file())
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// uid and gid of `user`, from /etc/passwd.
fn ids_of(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl PostgresServer {
    /// Initialises a cluster and starts the server with [`SUPERUSER_PASSWORD`]; waits (up to 30 s) until it accepts connections.
    pub fn start() -> Result<PostgresServer, String> {
        Self::start_with_password(SUPERUSER_PASSWORD)
    }

    /// [`PostgresServer::start`] with the superuser's password given (it goes to initdb in a file only its owner reads).
    pub fn start_with_password(password: &str) -> Result<PostgresServer, String> {
        let bin = pg_bin().ok_or(
            "no PostgreSQL server binaries: run scripts/test.sh (need_postgres installs Debian's postgresql) or set SPARKPLANE_PG_BIN",
        )?;
        let owner = if is_root() {
            let user = std::env::var("SPARKPLANE_PG_USER").unwrap_or_else(|_| "sparkplane-pg".into());
            Some(ids_of(&user).ok_or(format!(
                "PostgreSQL refuses to run as root and there is no user `{user}`: run scripts/test.sh (need_postgres creates it)"
            ))?)
        } else {
            None
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("sparkplane-pg-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("sock")).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_private(&dir.join("pwfile"), password)?;
        if let Some((uid, gid)) = owner {
            let status = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&dir).status();
            if !status.is_ok_and(|s| s.success()) {
                return Err(format!("cannot give {} to uid {uid}", dir.display()));
            }
        }
        let as_owner = |cmd: &mut Command| {
            if let Some((uid, gid)) = owner {
                cmd.uid(uid).gid(gid);
            }
        };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"])
            .arg(format!("--pwfile={}", dir.join("pwfile").display()))
            .env("HOME", &dir)
            .current_dir(&dir);
        as_owner(&mut initdb);
        let out = initdb.output().map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let log = std::fs::File::create(dir.join("postgres.log")).map_err(|e| e.to_string())?;
            let mut postgres = Command::new(bin.join("postgres"));
            postgres
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .arg("-k")
                .arg(dir.join("sock"))
                .args(["-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log);
            as_owner(&mut postgres);
            let child = postgres.spawn().map_err(|e| format!("cannot start postgres: {e}"))?;
            let mut server = PostgresServer {
                child,
                dir: dir.clone(),
                bin: bin.clone(),
                host: "127.0.0.1".into(),
                port,
                password: password.to_string(),
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => {
                    last = e;
                    server.stop(false);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("postgres exited with {status}: {}", self.log_tail()));
            }
            if self.psql("postgres", "SELECT 1").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("postgres was not ready within 30 s: {}", self.log_tail()))
    }

    /// Runs SQL as the superuser on `database`; stdout (unaligned, tuples only) or stderr.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", &self.host, "-p", &self.port.to_string()])
            .args(["-U", SUPERUSER, "-d", database, "-c", sql])
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The folder the server keeps its data and log in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The superuser's password (for clients the caller configures; never to be printed).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Whether the postmaster still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the server the way an outage does: immediate shutdown (SIGQUIT,
    /// open connections dropped), SIGKILL if it lingers. Its folder stays until the handle drops.
    pub fn stop_now(&mut self) {
        self.stop(false);
    }

    /// Stops the server: immediate shutdown (SIGQUIT), then SIGKILL if it lingers; removes the folder when `remove`.
    fn stop(&mut self, remove: bool) {
        let _ = Command::new("kill").args(["-QUIT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if remove {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Writes `text` to `path`, readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop(true);
    }
}
