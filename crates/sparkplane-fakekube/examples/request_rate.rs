//! Scratch: requests a second the fake API server answers (not part of the change).
use std::time::{Duration, Instant};

use sparkplane_fakekube::FakeApiServer;

fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    let per: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(500);
    let fake = FakeApiServer::start().expect("starts");
    let url = fake.url();
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let mut took = Vec::new();
                for i in 0..per {
                    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": format!("p-{t}-{i}"), "labels": {"spark-role": "driver"}},
                        "spec": {"containers": [{"name": "c", "image": "i"}]}});
                    let t0 = Instant::now();
                    let created =
                        agent.post(&format!("{url}/api/v1/namespaces/n{t}/pods")).send_json(&pod).expect("post");
                    assert_eq!(created.status(), 201);
                    took.push(t0.elapsed());
                    let t0 = Instant::now();
                    let got = agent.get(&format!("{url}/api/v1/namespaces/n{t}/pods/p-{t}-{i}")).call().expect("get");
                    assert_eq!(got.status(), 200);
                    took.push(t0.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
    let wall = started.elapsed();
    all.sort();
    let at = |p: f64| all[((p * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1];
    println!(
        "{} requests in {:.3} s: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
}
