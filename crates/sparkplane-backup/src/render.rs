//! The objects that run a backup in the cluster: a CronJob whose container
//! runs `sparkplane backup run` on the Backup file (mounted from a
//! ConfigMap — it holds names of Secrets and variables, never a value), with
//! credentials filled from Secrets by `secretKeyRef` only, under Pod Security
//! "restricted" (non-root, no capabilities, RuntimeDefault seccomp, a
//! read-only root filesystem with an emptyDir for /tmp), and its own
//! ServiceAccount without an API token. Pure and deterministic.

use std::collections::BTreeMap;

use crate::document::namespace;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sparkplane_api::backup::{Backup, StoreCredentials};
use sparkplane_core::render::common::{RenderedObject, sort_objects};

/// Where the Backup file is mounted in the container.
pub const CONFIG_DIR: &str = "/etc/sparkplane";
/// The file name in the ConfigMap and the mount.
pub const CONFIG_FILE: &str = "backup.yaml";
/// The unprivileged user the container runs as.
pub const BACKUP_UID: i64 = 65_532;
/// Secret keys holding S3 credentials.
pub const ACCESS_KEY_ID_KEY: &str = "AWS_ACCESS_KEY_ID";
/// Secret key of the secret access key.
pub const SECRET_ACCESS_KEY_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// Name of the CronJob, ConfigMap and ServiceAccount.
pub fn object_name(backup: &Backup) -> String {
    format!("{}-backup", backup.metadata.name)
}

fn labels(backup: &Backup) -> BTreeMap<String, String> {
    BTreeMap::from([
        (sparkplane_api::labels::APP_NAME.to_owned(), "sparkplane-backup".to_owned()),
        (sparkplane_api::labels::APP_INSTANCE.to_owned(), backup.metadata.name.clone()),
        sparkplane_api::labels::managed_by_sparkplane(),
        (sparkplane_api::labels::BACKUP.to_owned(), backup.metadata.name.clone()),
    ])
}

fn meta(backup: &Backup) -> ObjectMeta {
    ObjectMeta {
        name: Some(object_name(backup)),
        namespace: Some(namespace(backup).to_owned()),
        labels: Some(labels(backup)),
        ..ObjectMeta::default()
    }
}

fn from_secret(env: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: env.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn store_env(credentials: Option<&StoreCredentials>, out: &mut BTreeMap<String, EnvVar>) {
    if let Some(c) = credentials
        && let Some(secret) = &c.secret
    {
        out.insert(c.access_key_id_env.clone(), from_secret(&c.access_key_id_env, secret, ACCESS_KEY_ID_KEY));
        out.insert(
            c.secret_access_key_env.clone(),
            from_secret(&c.secret_access_key_env, secret, SECRET_ACCESS_KEY_KEY),
        );
    }
}

/// The Backup as the container reads it.
pub fn config_text(backup: &Backup) -> String {
    sparkplane_documents::yaml::to_yaml(&serde_json::to_value(backup).unwrap_or_default())
}

/// The seccomp profile of the pod and its container: the runtime's default.
fn runtime_default_seccomp() -> Option<SeccompProfile> {
    Some(SeccompProfile { type_: "RuntimeDefault".into(), ..SeccompProfile::default() })
}

/// The backup container: `sparkplane backup run` on the mounted configuration,
/// with the stores' and the metastore's credentials from their Secrets.
fn backup_container(backup: &Backup) -> Container {
    let mut env = BTreeMap::new();
    store_env(backup.spec.target.credentials.as_ref(), &mut env);
    store_env(backup.spec.objects.source.as_ref().and_then(|s| s.credentials.as_ref()), &mut env);
    if let Some(password) = backup.spec.metastore.as_ref().and_then(|m| m.password.as_ref())
        && let Some(secret) = &password.secret
    {
        env.insert(password.env.clone(), from_secret(&password.env, &secret.name, &secret.key));
    }
    // HOME on the writable emptyDir: tools that look for a home folder find one.
    env.insert("HOME".into(), EnvVar { name: "HOME".into(), value: Some("/tmp".into()), ..EnvVar::default() });
    env.insert("TMPDIR".into(), EnvVar { name: "TMPDIR".into(), value: Some("/tmp".into()), ..EnvVar::default() });
    Container {
        name: "backup".into(),
        image: Some(backup.spec.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["sparkplane".into(), "backup".into(), "run".into(), format!("{CONFIG_DIR}/{CONFIG_FILE}")]),
        env: Some(env.into_values().collect()),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity("250m".into())),
                ("memory".to_owned(), Quantity("256Mi".into())),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), Quantity("512Mi".into()))])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Capabilities::default() }),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            seccomp_profile: runtime_default_seccomp(),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".into(),
                mount_path: CONFIG_DIR.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..VolumeMount::default() },
        ]),
        ..Container::default()
    }
}

/// ServiceAccount, ConfigMap and CronJob, in apply order.
pub fn render(backup: &Backup) -> Vec<RenderedObject> {
    let name = object_name(backup);
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        service_account_name: Some(name.clone()),
        automount_service_account_token: Some(false),
        // No Service environment variables: nothing it needs, and less for a name to collide with.
        enable_service_links: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(BACKUP_UID),
            run_as_group: Some(BACKUP_UID),
            fs_group: Some(BACKUP_UID),
            seccomp_profile: runtime_default_seccomp(),
            ..PodSecurityContext::default()
        }),
        containers: vec![backup_container(backup)],
        volumes: Some(vec![
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource { name: name.clone(), ..ConfigMapVolumeSource::default() }),
                ..Volume::default()
            },
            Volume {
                name: "tmp".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(Quantity("20Gi".into())),
                    ..EmptyDirVolumeSource::default()
                }),
                ..Volume::default()
            },
        ]),
        ..PodSpec::default()
    };
    let cron = CronJob {
        metadata: meta(backup),
        spec: Some(CronJobSpec {
            schedule: backup.spec.schedule.clone(),
            time_zone: Some("Etc/UTC".into()),
            // Two runs at once would race on retention; a late run is skipped rather than stacked.
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(3600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels(backup)), ..ObjectMeta::default() }),
                spec: Some(JobSpec {
                    backoff_limit: Some(1),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta { labels: Some(labels(backup)), ..ObjectMeta::default() }),
                        spec: Some(pod),
                    },
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        ..CronJob::default()
    };
    let config = ConfigMap {
        metadata: meta(backup),
        data: Some(BTreeMap::from([(CONFIG_FILE.to_owned(), config_text(backup))])),
        ..ConfigMap::default()
    };
    let account = ServiceAccount {
        metadata: meta(backup),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    };
    let mut objects = vec![
        RenderedObject::from_resource(&account),
        RenderedObject::from_resource(&config),
        RenderedObject::from_resource(&cron),
    ];
    sort_objects(&mut objects);
    objects
}

#[cfg(test)]
mod tests {
    use crate::document::load_backup;
    use sparkplane_documents::source::Source;

    use super::*;

    const BACKUP: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Backup
metadata: {name: platform}
spec:
  image: registry.example.com/sparkplane-backup:0.1.0
  schedule: \"15 2 * * *\"
  retention: {count: 14}
  target:
    url: s3://backups/prod
    credentials: {secret: backup-target, accessKeyIdEnv: TARGET_KEY_ID, secretAccessKeyEnv: TARGET_SECRET}
  metastore:
    host: pg
    database: metastore
    user: hive
    password: {env: METASTORE_PASSWORD, secret: {name: metastore-db, key: password}}
  objects: {eventLogs: s3://lake/spark-events}
";

    #[test]
    fn the_objects_pass_the_offline_api_server_and_restricted_checks() {
        let backup = load_backup(&Source::new("backup.yaml", BACKUP)).expect("valid").backup;
        let objects = render(&backup);
        assert_eq!(sparkplane_core::render::check::check_objects(&objects), Vec::<String>::new());
        let names: Vec<String> = objects.iter().map(|o| format!("{}/{}", o.kind, o.name)).collect();
        assert_eq!(names, ["ServiceAccount/platform-backup", "ConfigMap/platform-backup", "CronJob/platform-backup"]);
        assert_eq!(render(&backup), objects, "deterministic");
    }
}
