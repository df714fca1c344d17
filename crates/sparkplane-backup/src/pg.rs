//! PostgreSQL through its own tools (pg_dump, pg_restore, psql) run as
//! processes: a dump in custom format streamed from pg_dump's stdout, the
//! tables and row counts in the very snapshot the dump reads, a restore into
//! a scratch database, and the queries verify runs. The password goes to the
//! tools in `PGPASSWORD`, never on a command line or in a message.
//!
//! The tools are found through `SPARKPLANE_PG_BIN`, then `PATH`, then the
//! newest `/usr/lib/postgresql/<major>/bin` (Debian's layout).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::BackupError;

/// A database server and who connects to it.
#[derive(Clone, Debug)]
pub struct Server {
    /// Folder of pg_dump, pg_restore and psql.
    pub bin: PathBuf,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u32,
    /// User.
    pub user: String,
    /// The password, when the spec names one (kept out of Debug output).
    pub password: Option<Password>,
}

/// A password that never prints.
#[derive(Clone)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Counts the rows of every base table outside PostgreSQL's own schemas, in
/// one statement (each count runs through `query_to_xml`), as `schema|table|rows`.
const COUNT_ROWS: &str = "SELECT table_schema || '|' || table_name || '|' || \
     (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text \
     FROM information_schema.tables \
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') \
     ORDER BY table_schema, table_name;";

const END: &str = "__sparkplane_end__";

/// Finds PostgreSQL's client tools.
pub fn find_bin() -> Result<PathBuf, BackupError> {
    if let Some(dir) = std::env::var_os("SPARKPLANE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(paths) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&paths).find(|p| p.join("pg_dump").is_file())
    {
        return Ok(dir);
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("pg_dump").is_file())
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin).ok_or_else(|| BackupError::Unreachable {
        message: "PostgreSQL's client tools (pg_dump, pg_restore, psql) are not installed".into(),
        help: "install them (Debian: apt-get install postgresql-client) or set SPARKPLANE_PG_BIN to their folder"
            .into(),
    })
}

/// Whether a tool's error output says the server could not be reached or refused us.
fn unreachable(stderr: &str) -> bool {
    [
        "could not connect",
        "connection to server",
        "Connection refused",
        "could not translate host name",
        "timeout expired",
        "password authentication failed",
        "no password supplied",
    ]
    .iter()
    .any(|needle| stderr.contains(needle))
}

impl Server {
    fn describe(&self) -> String {
        format!("PostgreSQL at {}:{} (user {})", self.host, self.port, self.user)
    }

    fn command(&self, tool: &str, database: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.env_remove("PGPASSWORD")
            .env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.user)
            .env("PGDATABASE", database)
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGAPPNAME", "sparkplane-backup");
        if let Some(password) = &self.password {
            cmd.env("PGPASSWORD", &password.0);
        }
        cmd
    }

    fn failure(&self, what: &str, stderr: &str) -> BackupError {
        let detail = stderr.trim().lines().last().unwrap_or("no error output").to_owned();
        if unreachable(stderr) {
            BackupError::Unreachable {
                message: format!("{}: {what}: {detail}", self.describe()),
                help: "check spec.metastore (host, port, user), the password variable and the network path".into(),
            }
        } else {
            BackupError::Failed {
                message: format!("{}: {what}: {detail}", self.describe()),
                help: "see PostgreSQL's message".into(),
            }
        }
    }

    fn spawn_error(&self, tool: &str, e: &std::io::Error) -> BackupError {
        BackupError::Unreachable {
            message: format!("cannot run {}: {e}", self.bin.join(tool).display()),
            help: "install PostgreSQL's client tools or set SPARKPLANE_PG_BIN".into(),
        }
    }

    /// Runs SQL with psql and returns its unaligned, tuples-only output lines.
    pub fn query(&self, database: &str, sql: &str) -> Result<Vec<String>, BackupError> {
        let out = self
            .command("psql", database)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error("psql", &e))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(self.failure(&format!("query on {database} failed"), &stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
    }

    /// Rows per table of `database`.
    pub fn row_counts(&self, database: &str) -> Result<BTreeMap<String, u64>, BackupError> {
        parse_counts(&self.query(database, COUNT_ROWS)?)
    }

    /// Starts a dump of `database` in one snapshot: a psql session exports
    /// the snapshot and counts the rows in it, then pg_dump (custom format)
    /// reads the same snapshot. Read the dump from [`Dump::stdout`], then call [`Dump::finish`].
    pub fn dump(&self, database: &str) -> Result<Dump, BackupError> {
        let mut session = self
            .command("psql", database)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error("psql", &e))?;
        let mut stdin = session.stdin.take().ok_or_else(|| self.failure("psql", "no stdin"))?;
        let stdout = session.stdout.take().ok_or_else(|| self.failure("psql", "no stdout"))?;
        let script = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n{COUNT_ROWS}\n\\echo {END}\n"
        );
        let _ = stdin.write_all(script.as_bytes()).and_then(|()| stdin.flush());
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    drop(stdin);
                    let stderr = child_stderr(&mut session);
                    let _ = session.wait();
                    return Err(self.failure(&format!("cannot open a snapshot of {database}"), &stderr));
                }
                Ok(_) if line.trim_end() == END => break,
                Ok(_) => lines.push(line.trim_end().to_owned()),
            }
        }
        let snapshot = lines.first().cloned().unwrap_or_default();
        let tables = parse_counts(&lines[1.min(lines.len())..])?;
        let mut dump = self
            .command("pg_dump", database)
            .args(["--format=custom", "--no-password", "--snapshot", &snapshot])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error("pg_dump", &e))?;
        let stdout = dump.stdout.take().ok_or_else(|| self.failure("pg_dump", "no stdout"))?;
        Ok(Dump {
            server: self.clone(),
            database: database.to_owned(),
            session,
            session_in: Some(stdin),
            dump,
            stdout,
            tables,
        })
    }

    /// Drops and creates `database` (connected to the `postgres` database).
    pub fn recreate(&self, database: &str) -> Result<(), BackupError> {
        let quoted = quote_ident(database);
        self.query("postgres", &format!("DROP DATABASE IF EXISTS {quoted};"))?;
        self.query("postgres", &format!("CREATE DATABASE {quoted};"))?;
        Ok(())
    }

    /// Drops `database`.
    pub fn drop_database(&self, database: &str) -> Result<(), BackupError> {
        self.query("postgres", &format!("DROP DATABASE IF EXISTS {};", quote_ident(database))).map(|_| ())
    }

    /// Restores a custom-format dump file into `database`, stopping at the first error.
    pub fn restore(&self, database: &str, file: &Path) -> Result<(), BackupError> {
        let out = self
            .command("pg_restore", database)
            .args(["--no-owner", "--no-acl", "--exit-on-error", "--no-password", "-d", database])
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error("pg_restore", &e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(self.failure(&format!("restoring into {database} failed"), &String::from_utf8_lossy(&out.stderr)))
        }
    }
}

/// A running dump.
pub struct Dump {
    server: Server,
    database: String,
    session: Child,
    session_in: Option<ChildStdin>,
    dump: Child,
    /// The dump's bytes, as pg_dump writes them.
    pub stdout: ChildStdout,
    /// Rows per table in the dump's snapshot.
    pub tables: BTreeMap<String, u64>,
}

impl Dump {
    /// Waits for pg_dump, then ends the snapshot's transaction.
    pub fn finish(mut self) -> Result<BTreeMap<String, u64>, BackupError> {
        // Drain anything left so pg_dump is never blocked on a full pipe.
        let _ = std::io::copy(&mut self.stdout, &mut std::io::sink());
        let stderr = child_stderr(&mut self.dump);
        let status = self.dump.wait();
        if let Some(mut stdin) = self.session_in.take() {
            let _ = stdin.write_all(b"COMMIT;\n\\q\n");
        }
        let _ = self.session.wait();
        match status {
            Ok(s) if s.success() => Ok(self.tables),
            _ => Err(self.server.failure(&format!("pg_dump of {} failed", self.database), &stderr)),
        }
    }
}

fn child_stderr(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

fn parse_counts(lines: &[String]) -> Result<BTreeMap<String, u64>, BackupError> {
    lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.rsplitn(2, '|');
            let rows = parts.next().and_then(|r| r.parse::<u64>().ok());
            let table = parts.next().map(|t| t.replacen('|', ".", 1));
            match (table, rows) {
                (Some(table), Some(rows)) => Ok((table, rows)),
                _ => Err(BackupError::Failed {
                    message: format!("unexpected answer counting rows: `{line}`"),
                    help: "this is a bug in sparkplane's row count query".into(),
                }),
            }
        })
        .collect()
}

/// A PostgreSQL identifier, double-quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
