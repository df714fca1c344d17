//! Requests a second the fake API server answers to clients on keep-alive
//! connections, each creating pods and reading each one back (ADR 0088: the
//! fake's transport before and after it served through `sparkplane_http`).
//!
//! `cargo run --release -p sparkplane-fakekube --example request_rate -- CLIENTS PODS_EACH`
//! (default 8 clients, 500 pods each); numbers go to docs/benchmarks.md. The
//! agent is built here with ureq itself, not `sparkplane_http::agent`, so that
//! the same file builds at the commit before.

use std::time::{Duration, Instant};

use sparkplane_fakekube::FakeApiServer;

fn main() {
    let clients: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    let each: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(500);
    let fake = FakeApiServer::start().expect("the fake starts");
    let url = fake.url();
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let mut took = Vec::with_capacity(2 * each);
                for i in 0..each {
                    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": format!("p-{c}-{i}"), "labels": {"spark-role": "driver"}},
                        "spec": {"containers": [{"name": "c", "image": "i"}]}});
                    let at = Instant::now();
                    let created = agent.post(&format!("{url}/api/v1/namespaces/n{c}/pods")).send_json(&pod);
                    assert_eq!(created.map(|r| r.status().as_u16()).ok(), Some(201), "created");
                    took.push(at.elapsed());
                    let at = Instant::now();
                    let read = agent.get(&format!("{url}/api/v1/namespaces/n{c}/pods/p-{c}-{i}")).call();
                    assert_eq!(read.map(|r| r.status().as_u16()).ok(), Some(200), "read back");
                    took.push(at.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("a client")).collect();
    let wall = started.elapsed();
    all.sort();
    let at = |share: f64| all[((share * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1];
    println!(
        "{clients} clients, {} requests in {:.3} s: {:.0} a second, p50 {:.3} ms, p99 {:.3} ms",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
}
