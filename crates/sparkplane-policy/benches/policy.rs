//! Policy evaluation over 1,000 rendered jobs: the 18 built-ins alone, and
//! the built-ins plus the Rego policies shipped in `policies/` (evaluated
//! with regorus over the documented input document).
//!
//! Target (issue #7): 1,000 jobs under 1 s on a 2-core machine. Jobs are
//! resolved and rendered once, outside the timing: this measures the policy
//! stage only. Run with `cargo bench -p sparkplane-core --bench policy`;
//! numbers go to docs/benchmarks.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sparkplane_api::layer::EnvironmentPolicy;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_policy::rego::{RegoFile, RegoPolicies};
use sparkplane_policy::{self as policy, PolicyContext};

const PRESETS: [&str; 4] = ["etl-small", "etl-medium", "etl-large", "streaming"];

fn job_text(i: usize) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: team-{team}-job-{i}
  namespace: team-{team}
spec:
  team: team-{team}
  costCenter: cc-{team}
  preset: {preset}
  type: Python
  mainApplicationFile: local:///opt/app/job_{i}.py
  image: {{repository: registry.example.com/team/job, tag: \"1.{i}\"}}
  executor: {{memory: {mem}g, cores: {cores}}}
  env:
    - {{name: REGION, value: eu-west-1}}
    - {{name: DB_PASSWORD, secretKeyRef: {{name: db, key: password}}}}
  eventLog: {{dir: \"s3a://spark-events/team-{team}\"}}
  timeouts: {{maxDuration: 2h}}
",
        team = i % 17,
        preset = PRESETS[i % PRESETS.len()],
        mem = 4 + i % 8,
        cores = 2 + i % 5,
    )
}

fn rendered(catalog: &Catalog, i: usize) -> (ResolvedJob, Vec<RenderedObject>) {
    let job = parse_single(&Source::new("job.yaml", job_text(i))).expect("parses");
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
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    (resolved, objects)
}

fn shipped_policies() -> RegoPolicies {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut files: Vec<RegoFile> = std::fs::read_dir(dir)
        .expect("policies/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego"))
        .map(|p| RegoFile::new(p.display().to_string(), std::fs::read_to_string(&p).expect("reads")))
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    RegoPolicies::load(&files).expect("the shipped policies load")
}

fn ctx(job: &ResolvedJob) -> PolicyContext<'_> {
    PolicyContext {
        environment: job.environment.as_deref(),
        allowed_registries: vec!["registry.example.com".into()],
        ..PolicyContext::default()
    }
}

fn bench(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("catalog");
    let jobs: Vec<(ResolvedJob, Vec<RenderedObject>)> = (0..1000).map(|i| rendered(&catalog, i)).collect();
    let rego = shipped_policies();
    assert!(rego.policies().len() >= 2, "the shipped Rego policies are evaluated");
    let config = EnvironmentPolicy::default();
    let mut group = c.benchmark_group("policy over 1000 rendered jobs");
    group.sample_size(10);
    group.bench_function("built-ins", |b| {
        b.iter(|| {
            jobs.iter()
                .map(|(job, objects)| {
                    policy::check(job, black_box(objects), &ctx(job), None, &config).map_or(0, |v| v.violations.len())
                })
                .sum::<usize>()
        })
    });
    group.bench_function("built-ins + Rego policies", |b| {
        b.iter(|| {
            jobs.iter()
                .map(|(job, objects)| {
                    policy::check(job, black_box(objects), &ctx(job), Some(&rego), &config)
                        .map_or(0, |v| v.violations.len())
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
