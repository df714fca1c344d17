//! resolve + validate + size + render, for one job and for 1,000 jobs.
//!
//! Targets (issue #2): one job under 5 ms; 1,000 jobs under 2 s on a 2-core
//! machine. Run with `cargo bench -p sparkplane-core --bench pipeline`;
//! numbers go to docs/benchmarks.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::resolve::ResolveRequest;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::{parse_single, to_yaml_stream};

const PRESETS: [&str; 7] =
    ["etl-small", "etl-medium", "etl-large", "streaming", "ml-gpu", "interactive", "cost-optimized"];

fn job_text(i: usize) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: job-{i}
  namespace: team-{team}
spec:
  team: team-{team}
  costCenter: cc-{team}
  preset: {preset}
  type: Python
  mainApplicationFile: local:///opt/app/job_{i}.py
  arguments: [\"--day\", \"2026-11-20\"]
  image: {{repository: registry.example.com/team/job, tag: \"1.{i}\"}}
  executor: {{memory: {mem}g}}
  env:
    - {{name: REGION, value: eu-west-1}}
    - {{name: DB_PASSWORD, secretKeyRef: {{name: db, key: password}}}}
  sparkConf:
    spark.sql.shuffle.partitions: \"{partitions}\"
  eventLog: {{dir: \"s3a://spark-events/team-{team}\"}}
",
        team = i % 17,
        preset = PRESETS[i % PRESETS.len()],
        mem = 4 + i % 8,
        partitions = 200 + i,
    )
}

/// The whole pipeline for one job text: parse, resolve (layers + schema +
/// validation), size, render native, serialise to YAML.
fn pipeline(catalog: &Catalog, name: &str, text: &str, target: Target) -> usize {
    let job = parse_single(&Source::new(name, text)).expect("parses");
    let resolved = load(ResolveRequest {
        job: &job,
        job_environment: None,
        catalog,
        environment: Some("prod"),
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .expect("resolves");
    let sized = size_job(&resolved.job.spec);
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, target);
    to_yaml_stream(objects.iter().map(|o| &o.body)).len()
}

fn bench(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("catalog");
    let one = job_text(1);
    c.bench_function("one job: resolve+validate+size+render native", |b| {
        b.iter(|| pipeline(&catalog, "job.yaml", black_box(&one), Target::Native))
    });
    c.bench_function("one job, cold: load catalog, then the pipeline", |b| {
        b.iter(|| {
            let catalog = Catalog::builtin().expect("catalog");
            pipeline(&catalog, "job.yaml", black_box(&one), Target::Native)
        })
    });
    let texts: Vec<String> = (0..1000).map(job_text).collect();
    let mut group = c.benchmark_group("1000 jobs");
    group.sample_size(10);
    for target in Target::ALL {
        group.bench_function(format!("resolve+validate+size+render {}", target.name()), |b| {
            b.iter(|| texts.iter().map(|t| pipeline(&catalog, "job.yaml", black_box(t), target)).sum::<usize>())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
