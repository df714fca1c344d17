//! Every component the chart deploys, run in the built image under podman
//! exactly as the chart (or the object the operator creates) says (slow
//! suite): the chart is installed with Helm's own library into the
//! simulated cluster with the image's `repository@digest`; each container's
//! securityContext becomes podman's flags (`--user 65532:65532 --read-only
//! --cap-drop=ALL --security-opt no-new-privileges --network host`, held
//! equal to [`RESTRICTED`]), each emptyDir a tmpfs of its size, and the
//! container's args follow the image's entrypoint.
//!
//! - the operator takes its Lease and runs a SparkJob to Succeeded, its
//!   quality gate checked by a Job whose pod the simulated kubelet runs in
//!   the image under podman as that Job's spec says;
//! - `history serve` and `exporter` answer their readiness probes from
//!   event logs mounted read-only where `eventLogs.location` points;
//! - `backup run` from the CronJob `backup render` prints, against a real
//!   PostgreSQL and two SeaweedFS servers (its `pg_dump` is the image's);
//! - writable paths, found by running: the operator, `history serve`,
//!   `exporter`, `dq check` and `backup run` write nothing outside their
//!   mounts; `backup verify` spools the dump in TMPDIR and, without the
//!   CronJob's /tmp emptyDir, stops with the exact error this test pins.
//!
//! What differs from a cluster: listen addresses move from 0.0.0.0:<port>
//! to 127.0.0.1:<free port> (the host's network is shared by parallel
//! tests); the operator reads a mounted kubeconfig instead of its service
//! account's token (the simulated API server speaks plain HTTP).

use crate::container_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use container_support::{
    Container, Image, RESTRICTED, args_on_port, deployment_pod, empty_dir_flags, free_port, helm_install, image, repo,
    security_flags, shared_dir, wait_for_200,
};
use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer, ImageProgram};

const NAMESPACE: &str = "sparkplane-system";
/// Where the chart is told the event logs are; the tests mount them there.
const LOGS_AT: &str = "/var/log/spark-events";

fn restricted() -> Vec<String> {
    RESTRICTED.iter().map(|s| (*s).to_owned()).collect()
}

/// The chart's values for `image`.
fn values(image: &Image) -> Value {
    json!({
        "image": {"repository": image.repository, "digest": image.digest},
        "eventLogs": {"location": LOGS_AT},
        // Not about sign-in: the History Server in its container serves everyone (chart_install's signin tests).
        "history": {"signIn": {"mode": "none"}},
        "operator": {"replicas": 1},
        "monitoring": {"prometheusOperator": "false"},
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    container_support::readable(to);
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

/// The program the simulated kubelet runs for the image's containers: the
/// container in the image under podman, with `flags`, its working directory
/// (where the kubelet wrote its volumes' files) mounted read-only at the
/// same path inside, `data` mounted read-only, and the container's
/// environment. The kubelet drops the command's first word (the
/// entrypoint), so the script names it again: `sparkplane`, found on the
/// image's PATH as Kubernetes finds it.
fn kubelet_program(dir: &Path, image: &Image, flags: &[String], data: &Path) -> PathBuf {
    let script = dir.join("run-in-podman.sh");
    let flags = flags.iter().map(|f| format!("'{f}'")).collect::<Vec<_>>().join(" ");
    let text = format!(
        "#!/bin/sh\nset -e\ncwd=\"$(pwd -P)\"\ninside=\"${{cwd#\"$HOME\"}}\"\n\
         echo \"podman run {flags} $*\" >>'{log}'\n\
         exec env CONTAINERS_CONF='{conf}' '{podman}' run --rm {flags} --env-host --env HOME=/home/nonroot \
         --env PATH=/usr/local/bin -v \"$cwd:$inside:ro\" --workdir \"$inside\" -v '{data}:{data}:ro' \
         --entrypoint sparkplane '{image}' \"$@\"\n",
        log = dir.join("kubelet.log").display(),
        conf = container_support::containers_conf().display(),
        podman = container_support::tool("podman").display(),
        data = data.display(),
        image = image.local,
    );
    std::fs::write(&script, text).expect("script");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn wait_until<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < within, "{what} did not happen within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_operator_takes_its_lease_and_runs_a_job_and_its_quality_gate_to_succeeded() {
    let image = image();
    let dir = shared_dir();
    // The example job, and its output where the gate reads it (standing for the lake).
    for name in ["trips-etl.yaml", "trips-dq.yaml"] {
        std::fs::copy(repo().join("examples/trips-etl").join(name), dir.path().join(name)).expect("copy");
    }
    let lake = dir.path().join("lake");
    copy_dir(&repo().join("crates/sparkplane-dq/tests/fixtures/spark-3.5/trips-daily"), &lake.join("curated/trips"));
    let spec = std::fs::read_to_string(dir.path().join("trips-dq.yaml")).expect("spec");
    let pointed = spec.replace("path: data/curated/trips", &format!("path: {}", lake.join("curated/trips").display()));
    std::fs::write(dir.path().join("trips-dq.yaml"), pointed).expect("spec");

    // The gate Job's pod runs under the same restricted flags as the chart's containers (checked below).
    let gate_flags = restricted();
    let program = kubelet_program(dir.path(), &image, &gate_flags, &lake);
    let fake = FakeApiServer::start().expect("the simulated cluster starts");
    fake.set_cluster(Cluster {
        programs: vec![ImageProgram { image: image.repository.clone(), program }],
        default_run: DriverRun::succeeds(Duration::from_millis(200), "ok\n"),
        ..Cluster::default()
    });
    fake.insert(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "lake-credentials", "namespace": "data-eng"},
        "data": {"access-key-id": "QUtJQUVYQU1QTEU=", "secret-access-key": "c2VjcmV0"},
    }))
    .expect("the secret");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig("default")).expect("kubeconfig");
    let objects = helm_install(&kubeconfig, NAMESPACE, &repo().join("charts/sparkplane"), &values(&image), dir.path());

    let (pod, container) = deployment_pod(&objects, "sparkplane-operator", "operator");
    assert_eq!(container["image"], image.reference().as_str());
    assert_eq!(security_flags(&pod, &container), restricted(), "the chart's securityContext is what runs here");
    let port = free_port();
    let mut flags = restricted();
    flags.extend(empty_dir_flags(&pod, &container));
    for env in container["env"].as_array().expect("env") {
        let name = env["name"].as_str().expect("name");
        let value = match env["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.name") => "sparkplane-operator-0".to_owned(),
            Some("metadata.namespace") => NAMESPACE.to_owned(),
            Some(other) => panic!("a field the test does not fill: {other}"),
            None => env["value"].as_str().expect("a value").to_owned(),
        };
        flags.extend(["--env".to_owned(), format!("{name}={value}")]);
    }
    flags.extend([
        "-v".to_owned(),
        format!("{}:/var/run/sparkplane/kubeconfig:ro", kubeconfig.display()),
        "--env".to_owned(),
        "KUBECONFIG=/var/run/sparkplane/kubeconfig".to_owned(),
    ]);
    let args = args_on_port(&container, port);
    assert!(
        args.contains(&"--leader-elect".to_owned())
            && args.contains(&format!("--quality-gate-image={}", image.reference()))
    );
    let operator = Container::start(&image, &flags, &args);

    // Its probes answer, and it holds the Lease.
    for probe in ["readinessProbe", "livenessProbe"] {
        let path = container[probe]["httpGet"]["path"].as_str().expect("a probe path");
        wait_for_200(&format!("http://127.0.0.1:{port}{path}"), Duration::from_secs(60), &operator);
    }
    let lease = wait_until("the Lease", Duration::from_secs(30), || {
        fake.object("coordination.k8s.io/v1", "Lease", Some(NAMESPACE), "sparkplane-operator")
            .filter(|l| l["spec"]["holderIdentity"].is_string())
    });
    assert_eq!(lease["spec"]["holderIdentity"], "sparkplane-operator-0");

    // A SparkJob with a quality gate, run to Succeeded with the gate checked in the image.
    let apply = sparkplane_testkit::sparkplane()
        .current_dir(dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .args(["apply", "trips-etl.yaml", "--env", "dev"])
        .output()
        .expect("apply runs");
    assert_eq!(apply.status.code(), Some(0), "{}", String::from_utf8_lossy(&apply.stderr));
    let job = wait_until("the SparkJob to end", Duration::from_secs(120), || {
        fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng"), "trips-etl")
            .filter(|j| matches!(j["status"]["state"].as_str(), Some("Succeeded" | "Failed")))
    });
    assert_eq!(
        (job["status"]["state"].as_str(), job["status"]["qualityGates"].as_str()),
        (Some("Succeeded"), Some("passed")),
        "{:#}\nthe operator's log:\n{}",
        job["status"],
        operator.logs()
    );

    // The gate ran in the image, under podman, with the flags its Job's securityContext stands for.
    let gate_job = fake.objects().into_iter().find(|o| o["kind"] == "Job").expect("the check Job");
    let gate_pod = &gate_job["spec"]["template"]["spec"];
    let gate_container = &gate_pod["containers"][0];
    assert_eq!(gate_container["image"], image.reference().as_str());
    assert_eq!(security_flags(gate_pod, gate_container), gate_flags);
    let kubelet = std::fs::read_to_string(dir.path().join("kubelet.log")).expect("the kubelet ran podman");
    assert!(kubelet.contains("dq check gate-0.yaml"), "{kubelet}");

    // SIGTERM, as the kubelet stops the pod: the operator hands over and exits 0.
    assert_eq!(operator.stop(Duration::from_secs(30)), 0, "{}", operator.logs());
    assert!(operator.logs().trim_end().ends_with("sparkplane operator stopped"), "{}", operator.logs());
}

/// Starts the Deployment `name`'s container as the chart says, the event
/// logs mounted read-only at LOGS_AT; the container and its port.
fn start_reader(image: &Image, name: &str, container_name: &str, tmpfs: bool) -> (Container, u16, Value) {
    let dir = shared_dir();
    let fake = FakeApiServer::start().expect("the simulated cluster starts");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig("default")).expect("kubeconfig");
    let objects = helm_install(&kubeconfig, NAMESPACE, &repo().join("charts/sparkplane"), &values(image), dir.path());
    let (pod, container) = deployment_pod(&objects, name, container_name);
    assert_eq!(container["image"], image.reference().as_str());
    assert_eq!(security_flags(&pod, &container), restricted());
    let logs = repo().join("crates/sparkplane-history/tests/data/spark-history/spark-events");
    let mut flags = restricted();
    if tmpfs {
        flags.extend(empty_dir_flags(&pod, &container));
    }
    flags.extend(["-v".to_owned(), format!("{}:{LOGS_AT}:ro", logs.display())]);
    let port = free_port();
    let started = Container::start(image, &flags, &args_on_port(&container, port));
    (started, port, container)
}

#[test]
fn history_serve_and_the_exporter_answer_their_probes_from_mounted_logs() {
    let image = image();
    let (history, port, container) = start_reader(&image, "sparkplane-history", "history", true);
    let probe = container["readinessProbe"]["httpGet"]["path"].as_str().expect("probe");
    let version = wait_for_200(&format!("http://127.0.0.1:{port}{probe}"), Duration::from_secs(60), &history);
    assert!(serde_json::from_str::<Value>(&version).is_ok_and(|v| v["spark"].is_string()), "{version}");
    let apps = wait_until("the History Server to list the logs", Duration::from_secs(30), || {
        let body = ureq::get(&format!("http://127.0.0.1:{port}/api/v1/applications")).call().ok()?;
        let apps: Value = serde_json::from_str(&body.into_body().read_to_string().ok()?).ok()?;
        apps.as_array().is_some_and(|a| !a.is_empty()).then_some(apps)
    });
    assert!(apps[0]["id"].is_string(), "{apps}");

    let (exporter, port, container) = start_reader(&image, "sparkplane-exporter", "exporter", true);
    let probe = container["readinessProbe"]["httpGet"]["path"].as_str().expect("probe");
    let metrics = wait_until("the exporter's metrics", Duration::from_secs(60), || {
        let body =
            ureq::get(&format!("http://127.0.0.1:{port}{probe}")).call().ok()?.into_body().read_to_string().ok()?;
        body.contains("sparkplane_exporter_up 1").then_some(body)
    });
    assert!(metrics.contains("# TYPE"), "{metrics}");
    assert!(exporter.running() && history.running());
}

const HIVE_PASSWORD: &str = "hive-container-test-3c9d";

/// A metastore database, a lake and an empty backup target: real
/// PostgreSQL and two SeaweedFS servers on 127.0.0.1; the Backup file.
struct BackupWorld {
    _pg: sparkplane_testkit::PostgresServer,
    _source: sparkplane_testkit::s3::S3Server,
    target: sparkplane_testkit::s3::S3Server,
    dir: tempfile::TempDir,
    backup: PathBuf,
}

fn backup_world(image: &Image) -> BackupWorld {
    use sparkplane_testkit::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
    let pg = sparkplane_testkit::PostgresServer::start().expect("PostgreSQL starts (scripts/common.sh need_postgres)");
    pg.psql("postgres", &format!("CREATE ROLE hive LOGIN CREATEDB PASSWORD '{HIVE_PASSWORD}'")).expect("role");
    pg.psql("postgres", "CREATE DATABASE metastore OWNER hive").expect("database");
    pg.psql(
        "metastore",
        "CREATE TABLE \"DBS\" (\"DB_ID\" bigint PRIMARY KEY, \"NAME\" varchar(128) NOT NULL); \
         CREATE TABLE \"TBLS\" (\"TBL_ID\" bigint PRIMARY KEY, \"DB_ID\" bigint REFERENCES \"DBS\", \
         \"TBL_NAME\" varchar(256) NOT NULL); \
         INSERT INTO \"DBS\" VALUES (1, 'default'), (2, 'sales'); \
         INSERT INTO \"TBLS\" VALUES (1, 2, 'orders'), (2, 2, 'customers'); \
         ALTER TABLE \"DBS\" OWNER TO hive; ALTER TABLE \"TBLS\" OWNER TO hive;",
    )
    .expect("a metastore shaped like Hive's (the tables its query reads)");
    let source = S3Server::start().expect("source S3 server (scripts/common.sh need_seaweedfs)");
    let target = S3Server::start().expect("target S3 server");
    source.create_bucket("lake").expect("lake bucket");
    target.create_bucket("backups").expect("backups bucket");
    let logs = sparkplane_storage::Store::open_with(
        &sparkplane_storage::Location::parse("s3://lake/spark-events").expect("url"),
        &[
            ("aws_endpoint", source.endpoint.as_str()),
            ("aws_access_key_id", ACCESS_KEY),
            ("aws_secret_access_key", SECRET_KEY),
            ("aws_region", "us-east-1"),
        ],
    )
    .expect("store");
    logs.put("app-1.zstd", vec![7u8; 4096]).expect("an event log");
    let dir = shared_dir();
    let backup = dir.path().join("backup.yaml");
    std::fs::write(
        &backup,
        format!(
            "apiVersion: sparkplane.dev/v1alpha1
kind: Backup
metadata: {{name: platform}}
spec:
  image: {image}
  schedule: \"15 2 * * *\"
  retention: {{count: 2}}
  target:
    url: s3://backups/prod
    endpoint: {target}
    credentials: {{secret: backup-target, accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}}
  metastore:
    host: 127.0.0.1
    port: {port}
    database: metastore
    user: hive
    password: {{env: METASTORE_PASSWORD, secret: {{name: metastore-db, key: password}}}}
  objects:
    source:
      endpoint: {source}
      credentials: {{secret: lake-reader, accessKeyIdEnv: SOURCE_KEY_ID, secretAccessKeyEnv: SOURCE_SECRET}}
    eventLogs: s3a://lake/spark-events
  objectives: {{rto: 1h, rpo: 24h}}
",
            image = image.reference(),
            target = target.endpoint,
            port = pg.port,
            source = source.endpoint,
        ),
    )
    .expect("backup file");
    BackupWorld { _pg: pg, _source: source, target, dir, backup }
}

/// `backup <verb>` (run, or verify) as the CronJob `backup render` prints
/// runs `backup run`: its pod's flags, its ConfigMap mounted read-only, its
/// Secrets' variables filled, and its emptyDirs as tmpfs when `with_tmpfs`.
/// The flags and the output.
fn run_backup_cronjob(
    image: &Image,
    world: &BackupWorld,
    verb: &str,
    with_tmpfs: bool,
) -> (Vec<String>, std::process::Output) {
    use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};
    let rendered = sparkplane_testkit::sparkplane()
        .args(["backup", "render", "-o", "json"])
        .arg(&world.backup)
        .output()
        .expect("render runs");
    assert_eq!(rendered.status.code(), Some(0), "{}", String::from_utf8_lossy(&rendered.stderr));
    let list: Value = serde_json::from_slice(&rendered.stdout).expect("a List");
    let items = list["items"].as_array().expect("items");
    let config_map = items.iter().find(|o| o["kind"] == "ConfigMap").expect("the ConfigMap");
    let cron = items.iter().find(|o| o["kind"] == "CronJob").expect("the CronJob");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["image"], image.reference().as_str());

    let config = world.dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    container_support::readable(&config);
    for (file, text) in config_map["data"].as_object().expect("data") {
        std::fs::write(config.join(file), text.as_str().expect("text")).expect("config file");
    }
    let secrets = [
        ("TARGET_KEY_ID", ACCESS_KEY),
        ("TARGET_SECRET", SECRET_KEY),
        ("SOURCE_KEY_ID", ACCESS_KEY),
        ("SOURCE_SECRET", SECRET_KEY),
        ("METASTORE_PASSWORD", HIVE_PASSWORD),
    ];
    let mut flags = security_flags(pod, container);
    assert_eq!(flags, restricted(), "the CronJob's securityContext is what runs here");
    if with_tmpfs {
        flags.extend(empty_dir_flags(pod, container));
    }
    for mount in container["volumeMounts"].as_array().expect("mounts") {
        let volume = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == mount["name"]);
        if volume.is_some_and(|v| v["configMap"].is_object()) {
            flags.extend([
                "-v".to_owned(),
                format!("{}:{}:ro", config.display(), mount["mountPath"].as_str().expect("path")),
            ]);
        }
    }
    for env in container["env"].as_array().expect("env") {
        let name = env["name"].as_str().expect("name");
        let value = match env["value"].as_str() {
            Some(value) => value.to_owned(),
            None => secrets.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()).expect("a Secret's value"),
        };
        flags.extend(["--env".to_owned(), format!("{name}={value}")]);
    }
    let command: Vec<String> =
        container["command"].as_array().expect("command").iter().filter_map(Value::as_str).map(str::to_owned).collect();
    let (entrypoint, args) = command.split_first().expect("a command");
    assert_eq!(args[1], "run");
    let args: Vec<String> =
        args.iter().enumerate().map(|(i, a)| if i == 1 { verb.to_owned() } else { a.clone() }).collect();
    flags.extend(["--entrypoint".to_owned(), entrypoint.clone()]);
    let out = container_support::run(image, &flags, &args);
    (flags, out)
}

#[test]
fn backup_run_from_its_cronjob_dumps_real_postgres_and_copies_the_logs_in_the_image() {
    let image = image();
    let world = backup_world(&image);
    let (flags, out) = run_backup_cronjob(&image, &world, "run", true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{flags:?}\n{stdout}\n{stderr}");
    assert!(!stdout.contains(HIVE_PASSWORD) && !stderr.contains(HIVE_PASSWORD), "a password was printed");
    assert!(flags.iter().any(|f| f.starts_with("/tmp:rw")), "the CronJob's emptyDir is mounted: {flags:?}");

    // The run is complete in the target: its manifest, the metastore dump and the event log.
    let target = sparkplane_storage::Store::open_with(
        &sparkplane_storage::Location::parse("s3://backups/prod").expect("url"),
        &[
            ("aws_endpoint", world.target.endpoint.as_str()),
            ("aws_access_key_id", sparkplane_testkit::s3::ACCESS_KEY),
            ("aws_secret_access_key", sparkplane_testkit::s3::SECRET_KEY),
            ("aws_region", "us-east-1"),
        ],
    )
    .expect("target store");
    let keys: Vec<String> = target.child("platform/runs").list().expect("runs").into_iter().map(|e| e.key).collect();
    assert!(keys.iter().any(|k| k.ends_with("/manifest.json")), "a complete run: {keys:?}\n{stdout}");
}

/// Found by running: `backup verify` restores the latest dump into a scratch
/// database and spools it in TMPDIR first, so on a read-only root it needs
/// the CronJob's /tmp emptyDir; without it, it stops with the exact error.
/// (`backup run` streams and needs no writable path; the chart's operator,
/// History Server and exporter ran here without writing either.)
#[test]
fn backup_verify_needs_the_tmp_emptydir_and_without_it_says_exactly_why() {
    let image = image();
    let world = backup_world(&image);
    let (_, out) = run_backup_cronjob(&image, &world, "run", true);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let (flags, out) = run_backup_cronjob(&image, &world, "verify", false);
    assert!(!flags.iter().any(|f| f == "--tmpfs"), "{flags:?}");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("sparkplane-verify-")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.starts_with("error: /tmp/sparkplane-verify-") && line.ends_with(": Read-only file system (os error 30)"),
        "{stderr}"
    );
    assert!(stderr.contains("verify needs room in the temporary folder for the dump (TMPDIR)"), "{stderr}");

    let (_, out) = run_backup_cronjob(&image, &world, "verify", true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
