//! What every command that serves until Ctrl-C shares (`history serve`,
//! `exporter`): `--listen` read as an address and port, `--interval` of at
//! least a second, a failed bind as exit 3, and the wait until Ctrl-C has set
//! the stop flag.
//!
//! Owns: those checks, their messages and the wait. Must not: serve or scan
//! anything (each command's library does).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::exit::Failure;

/// `--listen`: an IP address and a port, as given (no name lookup, so the
/// server binds exactly what was asked for); `default` is the command's own.
pub fn listen_address(listen: &str, default: &str) -> Result<SocketAddr, Failure> {
    listen.trim().parse::<SocketAddr>().map_err(|_| {
        let port = default.rsplit_once(':').map_or(default, |(_, port)| port);
        Failure::invalid(
            "invalid-listen",
            "--listen",
            format!("`{listen}` is not an IP address and port"),
            format!("give an address and port such as {default} (or 0.0.0.0:{port} to listen on every interface)"),
        )
    })
}

/// `--interval` in seconds, at least 1; `what` names it (`rescan`, `scan`), `default` is the command's.
pub fn interval(secs: u64, what: &str, default: u64) -> Result<Duration, Failure> {
    if secs == 0 {
        return Err(Failure::invalid(
            "invalid-interval",
            "--interval",
            format!("the {what} interval must be at least 1 second"),
            format!("use --interval {default} (the default) or another number of seconds"),
        ));
    }
    Ok(Duration::from_secs(secs))
}

/// A server that could not bind its address (exit 3).
pub fn listen_failed(error: impl std::fmt::Display) -> Failure {
    Failure::unreachable(
        "listen-failed",
        "--listen",
        error.to_string(),
        "choose a free port with --listen, or stop whatever listens there",
    )
}

/// Waits until `stop` (`crate::interrupt::stop_flag`, taken before the server
/// says Ctrl-C stops it) is set.
pub fn until_stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_are_ip_and_port() {
        assert_eq!(listen_address("127.0.0.1:9464", "127.0.0.1:9464").ok(), "127.0.0.1:9464".parse().ok());
        assert_eq!(listen_address("[::1]:9464", "127.0.0.1:9464").ok(), "[::1]:9464".parse().ok());
        for bad in ["", "9464", "localhost:9464", "127.0.0.1", "127.0.0.1:99999", "http://127.0.0.1:9464"] {
            assert!(matches!(listen_address(bad, "127.0.0.1:9464"), Err(Failure::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn an_interval_is_a_second_or_more() {
        assert_eq!(interval(1, "scan", 30).ok(), Some(Duration::from_secs(1)));
        assert!(matches!(interval(0, "scan", 30), Err(Failure::Invalid(_))));
    }
}
