//! The driver UI's host the console derives is the Service the render
//! creates: a native run's `<prefix>-driver-svc` (from its driver pod's name,
//! which the operator writes), a Connect server's client Service
//! `<job>-connect`, each publishing Spark's UI port.

use sparkplane_console::model::{UI_PORT, connect_service, driver_service};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::common::Names;
use sparkplane_core::render::connect::ConnectNames;
use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;

fn resolved(app_type: &str) -> ResolvedJob {
    // A Connect server runs Spark 4's server and has no application file.
    let (version, file) = match app_type {
        "Connect" => ("4.0.1", String::new()),
        _ => ("3.5.7", "\n  mainApplicationFile: local:///opt/app/nightly.py".to_owned()),
    };
    let text = format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {{name: nightly, namespace: team-a}}
spec:
  team: a
  type: {app_type}
  sparkVersion: \"{version}\"{file}
  image: {{repository: registry.example.com/team-a/nightly, tag: \"1.0.0\"}}
"
    );
    let node = parse_single(&Source::new("job.yaml", text.as_str())).unwrap_or_else(|d| panic!("parses: {d}"));
    let catalog = Catalog::empty();
    load(ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("resolves:\n{d}"))
}

/// The ports of the rendered Service named `name`.
fn service_ports(objects: &[render::RenderedObject], name: &str) -> Vec<i64> {
    let service = objects
        .iter()
        .find(|o| o.kind == "Service" && o.name == name)
        .unwrap_or_else(|| panic!("a Service {name} is rendered"));
    service.body["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["port"].as_i64()).collect()
}

#[test]
fn a_native_runs_driver_service_is_derived_from_its_driver_pod() {
    let job = resolved("Python");
    let sized = size_job(&job.job.spec);
    let names = Names::of(&job);
    assert_eq!(driver_service(&names.driver_pod).as_deref(), Some(names.driver_service.as_str()));
    let objects = render::render(&RenderInput { job: &job, sized: &sized }, Target::Native);
    assert!(service_ports(&objects, &names.driver_service).contains(&i64::from(UI_PORT)), "{objects:?}");
}

#[test]
fn a_connect_servers_ui_is_on_its_client_service() {
    let job = resolved("Connect");
    let sized = size_job(&job.job.spec);
    let input = RenderInput { job: &job, sized: &sized };
    let names = ConnectNames::of(&input);
    assert_eq!(connect_service("nightly").as_deref(), Some(names.server.as_str()));
    let objects = render::render(&input, Target::Native);
    assert!(service_ports(&objects, &names.server).contains(&i64::from(UI_PORT)));
}
