//! What a forward adds (issue #65, ADR 0096): the same answers asked for
//! directly and through a forwarding server, by `HTTP_BENCH_CLIENTS`
//! threads at once (default 50), each on a kept-alive connection of its own,
//! `HTTP_BENCH_REQUESTS` requests each (default 100, after 10 unmeasured);
//! `HTTP_BENCH_ROUNDS` rounds (default 5), the sides taking turns, in reverse
//! order every other round, after one unmeasured round of each. Prints each
//! side's p50 and p99 (all rounds pooled) and the median over rounds of the
//! door's p50 and p99 minus the direct ones.
//!
//! Two ways to run it:
//! - `HTTP_BENCH_DIRECT=http://127.0.0.1:4040/jobs/ HTTP_BENCH_VIA=http://127.0.0.1:18080/jobs/ns/job/jobs/`:
//!   any two URLs, as `bench/live-ui/proxy.py` runs it against a real
//!   driver's UI and `history serve`'s job link;
//! - neither set: an upstream of this crate answering 16 KiB (a Spark UI
//!   page's size) and a server of this crate forwarding to it, both here:
//!   the forward's own cost, without Spark's.
//!
//! `cargo bench -p sparkplane-http --bench forward` (the executable measures only with `--bench`);
//! numbers go to docs/benchmarks.md.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use sparkplane_http::server::{Authority, Forward};
use sparkplane_http::{HttpServer, Options, Reply, Request, Responder, Route};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every latency of one side's pass, in ms (of the requests answered 200), and how many failed.
fn pass(url: &str, clients: usize, requests: usize) -> (Vec<f64>, usize) {
    let start = Arc::new(Barrier::new(clients));
    let failed = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(Mutex::new(Vec::with_capacity(clients * requests)));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (url, start, all, failed) = (url.to_owned(), Arc::clone(&start), Arc::clone(&all), Arc::clone(&failed));
            std::thread::spawn(move || {
                let agent = sparkplane_http::agent(Some(Duration::from_secs(120)));
                let mut mine = Vec::with_capacity(requests);
                for i in 0..requests + 10 {
                    if i == 10 {
                        start.wait();
                    }
                    let began = Instant::now();
                    // A failed request is counted, not retried, and never stops the pass.
                    let ok = match agent.get(&url).call() {
                        Ok(mut answer) => {
                            let read = answer.body_mut().with_config().limit(64 << 20).read_to_vec();
                            answer.status().as_u16() == 200 && read.is_ok()
                        }
                        Err(_) => false,
                    };
                    if i >= 10 {
                        if ok {
                            mine.push(began.elapsed().as_secs_f64() * 1000.0);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                if let Ok(mut all) = all.lock() {
                    all.extend(mine);
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    let latencies = Arc::try_unwrap(all).ok().and_then(|m| m.into_inner().ok()).unwrap_or_default();
    (latencies, failed.load(Ordering::Relaxed))
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The in-process pair: an upstream answering 16 KiB, and a server forwarding `/live/…` to it.
fn in_process() -> (HttpServer, HttpServer) {
    let page = Arc::new(vec![b'x'; 16 << 10]);
    let upstream = sparkplane_http::serve("127.0.0.1:0".parse().expect("addr"), "bench-up", 64, move |_: &Request| {
        Reply::text(200, "text/html", String::from_utf8_lossy(&page).into_owned())
    })
    .expect("upstream");
    let authority: Authority = upstream.addr().to_string().parse().expect("authority");
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let options = Options::new("bench-door").workers(4).router(move |request: &Request| {
        match request.path.strip_prefix("/live") {
            Some(rest) => Route::Forward(Forward {
                upstream: authority.clone(),
                target: rest.to_owned(),
                prefix: "/live".to_owned(),
            }),
            None => Route::Handle,
        }
    });
    let door = sparkplane_http::start(listener, options, |_: Request, responder: Responder| {
        responder.send(Reply::text(404, "text/plain", "not here\n"))
    })
    .expect("door");
    (upstream, door)
}

fn main() {
    // Only the `--bench` run measures; `cargo test --benches` and nextest's listing run nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let clients = setting("HTTP_BENCH_CLIENTS", 50) as usize;
    let requests = setting("HTTP_BENCH_REQUESTS", 100) as usize;
    let rounds = setting("HTTP_BENCH_ROUNDS", 5) as usize;
    let (_servers, direct, via) = match (std::env::var("HTTP_BENCH_DIRECT"), std::env::var("HTTP_BENCH_VIA")) {
        (Ok(direct), Ok(via)) => (None, direct, via),
        _ => {
            let (upstream, door) = in_process();
            let (up, through): (SocketAddr, SocketAddr) = (upstream.addr(), door.addr());
            (Some((upstream, door)), format!("http://{up}/page"), format!("http://{through}/live/page"))
        }
    };
    println!("{clients} clients x {requests} requests each, {rounds} rounds\n  direct {direct}\n  door   {via}\n");
    pass(&direct, clients, requests);
    pass(&via, clients, requests);
    let (mut direct_runs, mut via_runs, mut failures) = (Vec::new(), Vec::new(), [0, 0]);
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let (latencies, failed) = pass(if side == 0 { &direct } else { &via }, clients, requests);
            failures[side] += failed;
            if side == 0 { direct_runs.push(latencies) } else { via_runs.push(latencies) }
        }
    }
    println!("| side | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|");
    for (side, runs, failed) in [("direct", &direct_runs, failures[0]), ("door", &via_runs, failures[1])] {
        let pooled: Vec<f64> = runs.iter().flatten().copied().collect();
        println!("| {side} | {:.2} | {:.2} | {failed} |", quantile(&pooled, 0.5), quantile(&pooled, 0.99));
    }
    let added =
        |q: f64| median(direct_runs.iter().zip(&via_runs).map(|(d, v)| quantile(v, q) - quantile(d, q)).collect());
    println!("\ndoor adds: p50 {:+.2} ms, p99 {:+.2} ms (median of {rounds} rounds)", added(0.5), added(0.99));
}
