//! Every preset × every target, plus the example job in every environment:
//! rendered manifests are snapshot-tested, pass the offline API-server and
//! Pod Security "restricted" checks, and render byte-identically twice.

use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::check::check_objects;
use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::{Node, parse_single, to_yaml_stream};

/// A plain PySpark job on a preset: what a team writes on day one.
fn standard_job(preset: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: nightly-{preset}
  namespace: analytics
spec:
  team: analytics
  costCenter: cc-7
  preset: {preset}
  type: Python
  mainApplicationFile: local:///opt/app/main.py
  arguments: [\"--day\", \"2026-11-20\"]
  image: {{repository: registry.example.com/analytics/job, tag: \"2.0.0\"}}
  eventLog: {{dir: \"s3a://spark-events/analytics\"}}
"
    )
}

fn parse(name: &str, text: &str) -> Node {
    parse_single(&Source::new(name, text)).expect("fixture parses")
}

fn resolve_doc(catalog: &Catalog, job: &Node, env_overlay: Option<&Node>, env: Option<&str>) -> ResolvedJob {
    load(ResolveRequest {
        job,
        job_environment: env_overlay,
        catalog,
        environment: env,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("resolves:\n{d}"))
}

fn render_checked(resolved: &ResolvedJob, target: Target) -> String {
    let sized = size_job(&resolved.job.spec);
    let input = RenderInput { job: resolved, sized: &sized };
    let objects = render::render(&input, target);
    assert!(!objects.is_empty(), "{target:?} renders objects");
    let problems = check_objects(&objects);
    assert!(problems.is_empty(), "{target:?} output fails the API-server checks:\n{}", problems.join("\n"));
    let text = to_yaml_stream(objects.iter().map(|o| &o.body));
    let again = to_yaml_stream(render::render(&input, target).iter().map(|o| &o.body));
    assert_eq!(text, again, "rendering is deterministic");
    text
}

#[test]
fn every_preset_renders_for_every_target() {
    let catalog = Catalog::builtin().expect("built-in catalog is valid");
    let presets: Vec<String> = catalog.preset_names().map(str::to_owned).collect();
    assert_eq!(presets.len(), 7, "{presets:?}");
    for preset in &presets {
        let job = parse("job.yaml", &standard_job(preset));
        let resolved = resolve_doc(&catalog, &job, None, None);
        for target in Target::ALL {
            let text = render_checked(&resolved, target);
            insta::assert_snapshot!(format!("{preset}__{}", target.name()), text);
        }
    }
}

#[test]
fn the_example_job_renders_in_every_environment() {
    let catalog = Catalog::builtin().expect("built-in catalog is valid");
    let job = parse("examples/trips-etl/trips-etl.yaml", include_str!("../../../../examples/trips-etl/trips-etl.yaml"));
    let prod = parse(
        "examples/trips-etl/trips-etl.prod.yaml",
        include_str!("../../../../examples/trips-etl/trips-etl.prod.yaml"),
    );
    for env in ["dev", "staging", "prod"] {
        let overlay = (env == "prod").then_some(&prod);
        let resolved = resolve_doc(&catalog, &job, overlay, Some(env));
        assert_eq!(resolved.environment.as_deref(), Some(env));
        for target in Target::ALL {
            let text = render_checked(&resolved, target);
            insta::assert_snapshot!(format!("trips-etl-{env}__{}", target.name()), text);
        }
    }
}
