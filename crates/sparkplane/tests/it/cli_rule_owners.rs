//! Each rule has one owner (ADR 0028), through the real binary: validity
//! refuses with exit 2 wherever the job goes; a policy refuses with exit 1
//! and an environment may turn it off. Inline credentials and hostPath
//! volumes moved from validation to their policies.

use std::path::Path;

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: apache/spark, tag: \"3.5.7\"}
  eventLog: {dir: \"s3a://events/x\"}
  timeouts: {maxDuration: 2h}
";

/// An environment that turns `host-path-volumes` off.
const LAB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Environment
metadata: {name: lab}
template: {}
policy:
  disabled: [host-path-volumes]
";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `sparkplane <args> job.yaml` in a directory holding the job (plus
/// `extra`) and a platform directory with the `lab` environment.
fn run(extra: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("job.yaml"), format!("{JOB}{extra}")).expect("write job");
    let platform = dir.path().join("platform/environments");
    std::fs::create_dir_all(&platform).expect("platform dir");
    std::fs::write(platform.join("lab.yaml"), LAB).expect("write environment");
    let out = sparkplane_testkit::sparkplane()
        .current_dir(dir.path())
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env("NO_COLOR", "1")
        .args(args)
        .arg(Path::new("job.yaml"))
        .output()
        .expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const INLINE_SECRET: &str = "  env: [{name: DB_PASSWORD, value: hunter2}]\n";
const HOST_PATH: &str = "  volumes: [{name: host, hostPath: {path: /var/run}}]
  driver: {volumeMounts: [{name: host, mountPath: /host}]}
";

#[test]
fn an_inline_credential_is_the_policys_once_exit_1() {
    let valid = run(INLINE_SECRET, &["validate"]);
    assert_eq!((valid.code, valid.stdout.as_str()), (Some(0), "job.yaml is valid (0 warnings)\n"), "{}", valid.stderr);
    let denied = run(INLINE_SECRET, &["render"]);
    assert_eq!(denied.code, Some(1));
    assert_eq!(denied.stdout, "", "nothing rendered");
    assert_eq!(
        denied.stderr,
        "job.yaml:13:36: error: spec.env[0].value: `DB_PASSWORD` looks like a credential and its value is written inline
  help: store the value in a Secret and reference it with secretKeyRef, or use a credentials provider
",
        "one diagnostic, from the inline-secrets policy"
    );
}

#[test]
fn host_path_is_the_policys_and_an_environment_can_turn_it_off() {
    let valid = run(HOST_PATH, &["validate"]);
    assert_eq!(valid.code, Some(0), "{}", valid.stderr);
    let denied = run(HOST_PATH, &["render"]);
    assert_eq!(denied.code, Some(1));
    assert_eq!(denied.stdout, "", "nothing rendered");
    assert_eq!(
        denied.stderr,
        "job.yaml:13:36: error: spec.volumes[0].hostPath: volume `host` mounts the node's `/var/run` (hostPath)
  help: use emptyDir for scratch space, a PVC for data, or object storage
"
    );
    // Before ADR 0028 validation refused hostPath, so `disabled: [host-path-volumes]` did nothing.
    let lab = run(HOST_PATH, &["render", "--env", "lab", "--platform-dir", "platform"]);
    assert_eq!(lab.code, Some(0), "{}", lab.stderr);
    assert!(lab.stdout.contains("hostPath:\n        path: /var/run"), "{}", lab.stdout);
}

#[test]
fn other_volume_types_restricted_refuses_stay_validity_exit_2() {
    let nfs = "  volumes: [{name: share, nfs: {server: nfs.example.com, path: /x}}]\n";
    for args in [&["validate"][..], &["render", "--env", "lab", "--platform-dir", "platform"]] {
        let refused = run(nfs, args);
        assert_eq!(refused.code, Some(2), "{args:?}");
        assert_eq!(
            refused.stderr,
            "job.yaml:13:32: error: spec.volumes[0].nfs: `nfs` volumes break Pod Security \"restricted\", which every sparkplane pod meets
  help: use emptyDir for scratch space, a persistentVolumeClaim for data, or a configMap/secret/projected volume for files
",
            "{args:?}"
        );
    }
}
