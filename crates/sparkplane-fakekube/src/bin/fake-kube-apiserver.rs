//! `fake-kube-apiserver`: the fake Kubernetes API server as a process, for
//! benchmarks and manual use. Prints its URL as the first line of stdout,
//! serves until killed or until stdin closes, and with `--record FILE`
//! writes every request it received as JSON lines on the way out.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Parser;
use sparkplane_fakekube::FakeApiServer;

/// A stateful fake Kubernetes API server on 127.0.0.1 (plain HTTP, no auth).
#[derive(Parser, Debug)]
#[command(name = "fake-kube-apiserver", version)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write the recorded requests to this file (JSON lines) on exit.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let server = match FakeApiServer::start_on(args.port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-kube-apiserver: cannot listen on 127.0.0.1:{}: {e}", args.port);
            return std::process::ExitCode::from(3);
        }
    };
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let on_signal = done.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = on_signal.send(());
    }) {
        eprintln!("fake-kube-apiserver: cannot handle signals: {e}");
    }
    std::thread::spawn(move || {
        // Serve until stdin closes (the parent went away) or a signal arrives.
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
        let _ = done.send(());
    });
    let _ = wait.recv();
    if let Some(path) = args.record {
        let mut text = String::new();
        for request in server.requests() {
            text.push_str(&request.to_json().to_string());
            text.push('\n');
        }
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("fake-kube-apiserver: cannot write {}: {e}", path.display());
            return std::process::ExitCode::from(2);
        }
    }
    std::process::ExitCode::SUCCESS
}
