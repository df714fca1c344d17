//! Reading task events in full: the direct reading (`scan_task_detail`, what
//! the History Server's replay uses) against serde's reading of the same lines
//! (`serde_task_detail`, the anchor, in the same run). Input: every task start
//! and end of the Spark 3.5.9 and 4.x fixtures (tests/fixtures), as Spark wrote
//! them. Run with `cargo bench -p sparkplane-eventlog --bench task_events`;
//! numbers go to docs/benchmarks.md (ADR 0045).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sparkplane_eventlog::parse::task_detail::{TaskDetailEvent, parse_task_detail, serde_task_detail};
use sparkplane_eventlog::{EventLog, list_app_logs};

fn task_lines() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut lines = Vec::new();
    for dir in ["spark-3.5.9", "spark-4.3.0"] {
        for path in list_app_logs(&root.join(dir)).expect("lists the fixtures") {
            let log = EventLog::open(&path).expect("opens");
            let mut reader = log.lines().expect("reads");
            while let Some(line) = reader.next_line() {
                if line.text.contains(r#""Event":"SparkListenerTask"#) {
                    lines.push(line.text.to_owned());
                }
            }
        }
    }
    lines
}

/// A number that depends on the whole reading, so none of it is optimised away.
fn weight(event: Option<TaskDetailEvent<'_>>) -> i64 {
    match event {
        Some(TaskDetailEvent::End(end)) => end.info.task_id + end.metrics.map_or(0, |m| m.executor_run_time),
        Some(TaskDetailEvent::Start(start)) => start.info.task_id,
        None => -1,
    }
}

fn bench(c: &mut Criterion) {
    let lines = task_lines();
    let bytes: usize = lines.iter().map(String::len).sum();
    let mut group = c.benchmark_group("task_events");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("serde (anchor)", |b| {
        b.iter(|| lines.iter().map(|l| weight(serde_task_detail(black_box(l)).ok().flatten())).sum::<i64>())
    });
    group.bench_function("direct, serde for what it declines", |b| {
        b.iter(|| lines.iter().map(|l| weight(parse_task_detail(black_box(l)).ok().flatten())).sum::<i64>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
