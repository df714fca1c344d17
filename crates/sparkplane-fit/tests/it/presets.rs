//! Every built-in preset, in every built-in environment, is consistent: a
//! plain job on it resolves and validates for a cluster with no warnings,
//! sizes, and fits the standard node pools (presets/nodes/standard.yaml).
//! (That each embedded preset passes its schema is `sparkplane-core`'s suite
//! of the same name.)

use sparkplane_api::NodePools;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::resolve::ResolveRequest;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_fit::check_fit;

fn job(preset: &str, app_type: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {{name: probe, namespace: team-a}}
spec:
  team: team-a
  costCenter: cc-1
  preset: {preset}
  type: {app_type}
  mainApplicationFile: {file}
  {main_class}
  image: {{repository: registry.example.com/probe, tag: \"1.0.0\"}}
  eventLog: {{dir: \"s3a://spark-events/team-a\"}}
",
        file = if app_type == "Scala" { "local:///opt/app/probe.jar" } else { "local:///opt/app/probe.py" },
        main_class = if app_type == "Scala" { "mainClass: com.example.Probe" } else { "" },
    )
}

#[test]
fn every_preset_validates_sizes_and_fits_in_every_environment() {
    let catalog = Catalog::builtin().expect("built-in catalog is valid");
    let pools_doc = parse_single(&Source::new(
        "presets/nodes/standard.yaml",
        include_str!("../../../../presets/nodes/standard.yaml"),
    ))
    .expect("node pools parse");
    let pools: NodePools = serde_json::from_value(pools_doc.to_json()).expect("node pools read");
    let presets: Vec<String> = catalog.preset_names().map(str::to_owned).collect();
    let envs: Vec<String> = catalog.environment_names().map(str::to_owned).collect();
    assert_eq!(envs, ["dev", "local", "prod", "staging"]);
    let mut checked = 0;
    for preset in &presets {
        for env in &envs {
            for app_type in ["Python", "Scala"] {
                let text = job(preset, app_type);
                let doc = parse_single(&Source::new("job.yaml", text.as_str())).expect("parses");
                let resolved = load(ResolveRequest {
                    job: &doc,
                    job_environment: None,
                    catalog: &catalog,
                    environment: Some(env),
                    sets: &[],
                    target: if env == "local" { ValidationTarget::Local } else { ValidationTarget::Cluster },
                })
                .unwrap_or_else(|d| panic!("{preset} in {env} ({app_type}) does not validate:\n{d}"));
                assert!(resolved.warnings.is_empty(), "{preset} in {env} ({app_type}) warns:\n{}", resolved.warnings);
                let sized = size_job(&resolved.job.spec);
                let report = check_fit(&resolved.job.spec, &sized, &pools.pools, None);
                let problems: Vec<String> = report.problems.iter().map(|d| d.to_plain()).collect();
                assert!(report.fits, "{preset} in {env} ({app_type}) does not fit:\n{}", problems.join("\n"));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 4 * 2);
}
