//! Each rule fires from exactly one place (ADR 0028): for every rule that
//! validation and the policies both used to reach, a table of jobs, each
//! loaded (resolve, then validate) and, when it loads, held to the built-in
//! policies over its native objects. Every finding is counted on both sides.

use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::resolve::{ResolveRequest, SetFlag};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_policy::{PolicyContext, evaluate};

const BASE: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/team-a/probe, tag: \"1.0.0\"}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  timeouts: {maxDuration: 2h}
";

/// Every finding about a job: validation's diagnostics (errors and
/// warnings, as `code path`) and, when it loads, the policies' violations
/// (as `policy-id path`).
fn findings(sets: &[&str]) -> (Vec<String>, Vec<String>) {
    let catalog = Catalog::builtin().expect("built-in catalog");
    let doc = parse_single(&Source::new("job.yaml", BASE)).expect("job parses");
    let sets: Vec<SetFlag> = sets.iter().map(|s| SetFlag::parse(s).expect("set flag")).collect();
    let request = ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &sets,
        target: ValidationTarget::Cluster,
    };
    let show = |d: &sparkplane_documents::Diagnostic| format!("{} {}", d.code, d.path);
    match load(request) {
        Err(diagnostics) => (diagnostics.0.iter().map(show).collect(), Vec::new()),
        Ok(job) => {
            let sized = size_job(&job.job.spec);
            let objects = render::render(&RenderInput { job: &job, sized: &sized }, Target::Native);
            let violations = evaluate(&job, &objects, &PolicyContext::default());
            (
                job.warnings.0.iter().map(show).collect(),
                violations.iter().map(|v| format!("{} {}", v.policy.id, v.path)).collect(),
            )
        }
    }
}

struct Case {
    name: &'static str,
    sets: &'static [&'static str],
    validation: &'static [&'static str],
    policy: &'static [&'static str],
}

#[test]
fn each_rule_fires_from_exactly_one_place() {
    let cases = [
        Case { name: "a job that breaks nothing", sets: &[], validation: &[], policy: &[] },
        // inline credentials: the inline-secrets policy, once per value
        Case {
            name: "an inline password in env",
            sets: &["spec.env=[{name: DB_PASSWORD, value: hunter2}]"],
            validation: &[],
            policy: &["inline-secrets spec.env[0].value"],
        },
        Case {
            name: "inline credentials in the driver's env, sparkConf and hadoopConf",
            sets: &[
                "spec.driver.env=[{name: API_TOKEN, value: t0k3n}]",
                "spec.sparkConf={spark.myapp.api.key: abc123}",
                "spec.hadoopConf={fs.s3a.secret.key: s3cr3t}",
            ],
            validation: &[],
            policy: &[
                "inline-secrets spec.driver.env[0].value",
                "inline-secrets spec.sparkConf.\"spark.myapp.api.key\"",
                "inline-secrets spec.hadoopConf.\"fs.s3a.secret.key\"",
            ],
        },
        Case {
            name: "credentials by reference",
            sets: &[
                "spec.env=[{name: DB_PASSWORD, secretKeyRef: {name: db, key: password}}]",
                "spec.hadoopConf={fs.s3a.aws.credentials.provider: com.amazonaws.auth.WebIdentityTokenCredentialsProvider, fs.s3a.secret.key: \"${S3_SECRET}\"}",
            ],
            validation: &[],
            policy: &[],
        },
        // hostPath: the host-path-volumes policy; other types "restricted" refuses: validation
        Case {
            name: "a hostPath volume",
            sets: &[
                "spec.volumes=[{name: host, hostPath: {path: /var/run}}]",
                "spec.driver.volumeMounts=[{name: host, mountPath: /host}]",
            ],
            validation: &[],
            policy: &["host-path-volumes spec.volumes[0].hostPath"],
        },
        Case {
            name: "an nfs volume",
            sets: &["spec.volumes=[{name: share, nfs: {server: nfs.example.com, path: /x}}]"],
            validation: &["restricted-volume spec.volumes[0].nfs"],
            policy: &[],
        },
        // more than 5 cores per executor: the executor-cores policy (a warning)
        Case {
            name: "6 cores per executor",
            sets: &["spec.executor.cores=6"],
            validation: &[],
            policy: &["executor-cores spec.executor.cores"],
        },
        // images: spelling is validity, choice is policy, one parser for both
        Case {
            name: "the latest tag",
            sets: &["spec.image.tag=latest"],
            validation: &[],
            policy: &["image-tag spec.image.tag"],
        },
        Case {
            name: "a malformed digest",
            sets: &["spec.image.digest=sha256:abc"],
            validation: &["bad-value spec.image.digest"],
            policy: &[],
        },
    ];
    for case in cases {
        let (validation, policy) = findings(case.sets);
        assert_eq!(validation, case.validation, "{}: validation", case.name);
        assert_eq!(policy, case.policy, "{}: policy", case.name);
    }
}
