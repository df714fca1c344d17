//! Short answers on kept-alive connections, as a controller's client talks
//! to an API server: `HTTP_BENCH_CLIENTS` threads (default 4), each sending
//! `HTTP_BENCH_REQUESTS` GETs (default 5,000) one after the other on its own
//! connection, each answered with 1 KiB of JSON from memory. What it
//! measures is the server's cost of one small answer: requests a second,
//! the server's CPU per request (the process's CPU less the clients', read
//! from `/proc/thread-self`), and the latency's p50 and p99.
//!
//! Cases, taking turns for `HTTP_BENCH_ROUNDS` rounds (default 5), the
//! order reversed every other round: this crate's server handing each
//! request to a blocking thread (as every server but the fake API server
//! does), the same server answering inline on the connection's thread
//! (`Options::inline`, as the fake API server answers all but its streams),
//! and the anchor, tiny_http 0.12 with 4 workers (what the fake served with
//! before ADR 0088).
//!
//! `cargo bench -p sparkplane-http --bench keepalive`; numbers go to docs/benchmarks.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sparkplane_http::{HttpServer, Options, Reply, Request, Responder};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn answer() -> String {
    let item = r#"{"metadata":{"name":"job-0001","namespace":"team-a","resourceVersion":"12345"},"status":{"phase":"Running"}}"#;
    let mut body = String::from("{\"items\":[");
    while body.len() < 1000 {
        body.push_str(item);
        body.push(',');
    }
    body.push_str(item);
    body.push_str("]}");
    body
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Handed,
    Inline,
    Tiny,
}

enum Running {
    Hyper(HttpServer),
    Tiny(Arc<tiny_http::Server>, Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>),
}

fn start(kind: Kind) -> (SocketAddr, Running) {
    let body = answer();
    if kind == Kind::Tiny {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binds"));
        let addr = server.server_addr().to_ip().expect("an IP address");
        let stopping = Arc::new(AtomicBool::new(false));
        let workers = (0..4)
            .map(|_| {
                let (server, stopping, body) = (Arc::clone(&server), Arc::clone(&stopping), body.clone());
                std::thread::spawn(move || {
                    while !stopping.load(Ordering::SeqCst) {
                        let Ok(request) = server.recv() else { break };
                        let _ = request.respond(tiny_http::Response::from_string(body.as_str()));
                    }
                })
            })
            .collect();
        return (addr, Running::Tiny(server, stopping, workers));
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let mut options = Options::new("bench-keepalive");
    if kind == Kind::Inline {
        options = options.inline(|_: &Request| true);
    }
    let server = sparkplane_http::start(listener, options, move |_: Request, responder: Responder| {
        responder.send(Reply::text(200, "application/json", body.as_str()))
    })
    .expect("serves");
    (server.addr(), Running::Hyper(server))
}

impl Running {
    fn stop(self) {
        match self {
            Running::Hyper(server) => server.stop(),
            Running::Tiny(server, stopping, workers) => {
                stopping.store(true, Ordering::SeqCst);
                for _ in 0..workers.len() {
                    server.unblock();
                }
                for worker in workers {
                    let _ = worker.join();
                }
            }
        }
    }
}

/// `requests` GETs on one connection, one after the other; each one's latency.
fn client(addr: SocketAddr, requests: usize) -> Vec<Duration> {
    let stream = TcpStream::connect(addr).expect("connects");
    stream.set_nodelay(true).expect("nodelay");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut latencies = Vec::with_capacity(requests);
    let mut line = String::new();
    let mut body = Vec::new();
    for _ in 0..requests {
        let started = Instant::now();
        writer.write_all(b"GET /api/v1/pods HTTP/1.1\r\nHost: bench\r\n\r\n").expect("sends");
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).expect("a head line");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a length");
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).expect("the body");
        latencies.push(started.elapsed());
    }
    latencies
}

/// CPU seconds (user and system) of this thread, from `/proc/thread-self/stat`.
fn thread_cpu() -> f64 {
    cpu_of("/proc/thread-self/stat")
}

fn process_cpu() -> f64 {
    cpu_of("/proc/self/stat")
}

fn cpu_of(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted from after the command's closing parenthesis.
    let ticks: f64 = [11, 12].iter().filter_map(|i| fields.get(*i)?.parse::<f64>().ok()).sum();
    ticks / 100.0
}

struct Measured {
    per_second: f64,
    server_cpu_us: f64,
    p50: Duration,
    p99: Duration,
}

fn run(kind: Kind, clients: usize, requests: usize) -> Measured {
    let (addr, running) = start(kind);
    // Warm the server's threads and the connection path once.
    drop(client(addr, 10));
    let before = process_cpu();
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || {
                let latencies = client(addr, requests);
                (latencies, thread_cpu())
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut clients_cpu = 0.0;
    for thread in threads {
        let (latencies, cpu) = thread.join().expect("a client");
        all.extend(latencies);
        clients_cpu += cpu;
    }
    let wall = started.elapsed();
    let server_cpu = (process_cpu() - before - clients_cpu).max(0.0);
    running.stop();
    all.sort();
    let total = all.len();
    Measured {
        per_second: total as f64 / wall.as_secs_f64(),
        server_cpu_us: server_cpu * 1e6 / total as f64,
        p50: all[total / 2],
        p99: all[(total * 99 / 100).min(total - 1)],
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let clients = setting("HTTP_BENCH_CLIENTS", 4).max(1) as usize;
    let requests = setting("HTTP_BENCH_REQUESTS", 5000).max(100) as usize;
    let rounds = setting("HTTP_BENCH_ROUNDS", 5).max(1) as usize;
    let cases = [
        (Kind::Tiny, "tiny_http, 4 workers (the fake's server before ADR 0088)"),
        (Kind::Handed, "sparkplane-http, handed to a blocking thread"),
        (Kind::Inline, "sparkplane-http, answered inline"),
    ];
    let mut results: Vec<Vec<Measured>> = cases.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let order: Vec<usize> =
            if round % 2 == 0 { (0..cases.len()).collect() } else { (0..cases.len()).rev().collect() };
        for i in order {
            results[i].push(run(cases[i].0, clients, requests));
        }
    }
    println!("{clients} clients × {requests} GETs each on a kept-alive connection, 1 KiB answers; {rounds} rounds");
    println!("| server | requests a second | server CPU a request | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for ((_, name), measured) in cases.iter().zip(&results) {
        let list = |f: &dyn Fn(&Measured) -> String| measured.iter().map(f).collect::<Vec<_>>().join(" · ");
        println!(
            "| {name} | {} | {} µs | {} ms | {} ms |",
            list(&|m| format!("{:.0}", m.per_second)),
            list(&|m| format!("{:.1}", m.server_cpu_us)),
            list(&|m| format!("{:.3}", m.p50.as_secs_f64() * 1e3)),
            list(&|m| format!("{:.3}", m.p99.as_secs_f64() * 1e3)),
        );
    }
}
