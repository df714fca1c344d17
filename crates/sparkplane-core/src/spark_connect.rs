//! Spark Connect (Spark's gRPC server for remote sessions), as both servers
//! sparkplane starts see it: the facts of Spark's server (its class, port
//! and token variable), the one rule for which Spark properties a Connect
//! server takes from a job or preset and which it owns, what makes a
//! `type: Connect` SparkJob valid (its `spec.connect` settings included),
//! and where its token comes from in a cluster. Named `spark_connect`, not
//! `connect`: the job pipeline's validate and render read it, and
//! "connect" alone reads as connecting to a cluster (`sparkplane_kube::kubeconfig`).
//!
//! The local server (`sparkplane-local::connect`) and the cluster's
//! (`render::connect`) both take their properties from
//! [`server_properties`], so a preset means the same in both places (ADR
//! 0022, ADR 0039). Must not: start processes, read files or hold a token's
//! value; in a cluster the token is only ever a reference to a Secret.

use std::collections::BTreeMap;

use sparkplane_api::SparkJobSpec;
use sparkplane_api::job::EnvVar;

use sparkplane_documents::diagnostic::Diagnostic;

/// The server's main class, in Spark 4's `spark-connect` jar.
pub const SERVER_CLASS: &str = "org.apache.spark.sql.connect.service.SparkConnectServer";
/// Spark Connect's gRPC port (Spark's default, and the one clients assume).
pub const GRPC_PORT: u16 = 15002;
/// The environment variable Spark 4 reads the pre-shared token from (the same
/// value as `spark.connect.authenticate.token`, kept out of argv and files).
pub const TOKEN_ENV: &str = "SPARK_CONNECT_AUTHENTICATE_TOKEN";
/// The property naming the address the gRPC server binds.
pub const BINDING_ADDRESS_PROPERTY: &str = "spark.connect.grpc.binding.address";
/// The property naming the gRPC port.
pub const BINDING_PORT_PROPERTY: &str = "spark.connect.grpc.binding.port";
/// The key, in the token Secret, that holds the token.
pub const TOKEN_SECRET_KEY: &str = "token";
/// The shortest `spec.connect.idleTimeout`: shorter would stop servers
/// between a notebook's cells.
pub const MIN_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether a property is the server's own: every `spark.connect.*` setting
/// (its binding and token are decided here, never by a preset) and
/// `spark.plugins` (a preset's `SparkConnectPlugin` would start a second
/// server in the same driver, on the same port).
pub fn is_server_owned(key: &str) -> bool {
    key.starts_with("spark.connect.") || key == "spark.plugins"
}

/// A Connect server's Spark properties: the job's or preset's `conf` without
/// the server-owned keys ([`is_server_owned`]), then the gRPC binding on
/// `address`:`port`. The token is not among them: it reaches the server
/// through [`TOKEN_ENV`] only.
pub fn server_properties(
    conf: impl IntoIterator<Item = (String, String)>,
    address: &str,
    port: u16,
) -> BTreeMap<String, String> {
    let mut properties: BTreeMap<String, String> = conf.into_iter().filter(|(k, _)| !is_server_owned(k)).collect();
    properties.insert(BINDING_ADDRESS_PROPERTY.to_owned(), address.to_owned());
    properties.insert(BINDING_PORT_PROPERTY.to_owned(), port.to_string());
    properties
}

/// The Secret a cluster server reads its token from unless the job names
/// another through [`TOKEN_ENV`]: `<job>-connect-token`, key [`TOKEN_SECRET_KEY`].
/// sparkplane never creates it (it would have to hold the value); the team
/// that hands the token to its users does (ADR 0039).
pub fn token_secret_name(job: &str) -> String {
    format!("{job}-connect-token")
}

/// The job's own [`TOKEN_ENV`] variable, job-wide or the driver's (which wins).
pub fn token_env(spec: &SparkJobSpec) -> Option<&EnvVar> {
    let driver = spec.driver.as_ref().map(|d| d.role.env.as_slice()).unwrap_or_default();
    driver.iter().chain(&spec.env).find(|v| v.name == TOKEN_ENV)
}

/// What a `type: Connect` job must be besides any job's checks: a server has
/// no application of its own (no file, class or arguments), needs Spark 4
/// (Connect's server ships from 4.0), runs until stopped (no schedule), runs
/// in a cluster (on this machine it is `sparkplane connect`), and takes its
/// token from a Secret only. `local_run` is whether the job is being checked
/// for `sparkplane run`. Each problem goes to `push`, with the field path.
pub fn check_connect_job(spec: &SparkJobSpec, local_run: bool, push: &mut dyn FnMut(Diagnostic)) {
    let mut error = |code: &'static str, path: &str, message: String, help: &str| {
        push(Diagnostic::error(code, path, message).with_help(help.to_owned()));
    };
    if spec.main_application_file.is_some() {
        error(
            "connect-application",
            "spec.mainApplicationFile",
            "a Connect server has no application file: its driver is Spark's SparkConnectServer".into(),
            "remove `mainApplicationFile`; clients send their code over Spark Connect",
        );
    }
    if spec.main_class.is_some() {
        error(
            "connect-application",
            "spec.mainClass",
            format!("a Connect server's main class is Spark's `{SERVER_CLASS}`"),
            "remove `mainClass`",
        );
    }
    if !spec.arguments.is_empty() {
        error(
            "connect-application",
            "spec.arguments",
            "a Connect server takes no arguments".into(),
            "remove `arguments`; Connect settings go in `sparkConf`",
        );
    }
    if let Some(version) = &spec.spark_version
        && !version.starts_with("4.")
    {
        error(
            "connect-needs-spark-4",
            "spec.sparkVersion",
            format!("Spark `{version}` has no Spark Connect server (it ships with Spark 4)"),
            "use `sparkVersion: \"4.0.1\"` or later (the `interactive` preset sets it)",
        );
    }
    if spec.schedule.as_ref().is_some_and(|s| s.cron.is_some()) {
        error(
            "connect-scheduled",
            "spec.schedule",
            "a Connect server runs until it is stopped; it cannot run on a schedule".into(),
            "remove `schedule`, or use `spec.suspend` to stop the server",
        );
    }
    if local_run {
        error(
            "connect-local",
            "spec.type",
            "a `type: Connect` job describes a server in a cluster; it does not run with `sparkplane run`".into(),
            "start one on this machine with `sparkplane connect --preset interactive`",
        );
    }
    if let Some(var) = token_env(spec)
        && var.secret_key_ref.is_none()
    {
        error(
            "connect-token-inline",
            "spec.env",
            format!("`{TOKEN_ENV}` must come from a Secret, never a value in the job"),
            "use `secretKeyRef: {name: <secret>, key: token}`, or leave it out to read the Secret `<job>-connect-token`",
        );
    }
    if let Some(timeout) = spec.connect.as_ref().and_then(|c| c.idle_timeout) {
        if timeout.to_std() < MIN_IDLE_TIMEOUT {
            error(
                "connect-idle-timeout",
                "spec.connect.idleTimeout",
                format!("`{timeout}` is shorter than a minute: the server would stop between a notebook's cells"),
                "use `idleTimeout: 30m` (at least `1m`), or leave it out to keep the server running",
            );
        }
        if spec.event_log.as_ref().is_none_or(|log| log.enabled == Some(false) || log.dir.is_none()) {
            error(
                "connect-idle-needs-event-log",
                "spec.connect.idleTimeout",
                "the operator learns of sessions and queries from the server's event log, and this job writes none"
                    .into(),
                "set `eventLog: {enabled: true, dir: s3a://<bucket>/spark-events}` (the `interactive` preset does)",
            );
        }
    }
    if spec.spark_conf.contains_key("spark.connect.authenticate.token") {
        error(
            "connect-token-inline",
            "spec.sparkConf",
            "`spark.connect.authenticate.token` would write the token into the pod's arguments".into(),
            "remove it; the server reads its token from the Secret `<job>-connect-token` (key `token`)",
        );
    }
}

/// `spec.connect` belongs to servers only: on any other job it is an error at its path.
pub fn check_connect_settings(spec: &SparkJobSpec, push: &mut dyn FnMut(Diagnostic)) {
    if spec.connect.is_some() && spec.app_type != Some(sparkplane_api::job::AppType::Connect) {
        push(
            Diagnostic::error(
                "connect-settings",
                "spec.connect",
                "`connect` configures a Spark Connect server, and this job is not one",
            )
            .with_help("remove `connect`, or set `type: Connect`".to_owned()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_cannot_move_the_binding_or_add_a_second_server() {
        let conf = [
            ("spark.connect.grpc.binding.port".to_owned(), "9999".to_owned()),
            ("spark.plugins".to_owned(), "org.apache.spark.sql.connect.SparkConnectPlugin".to_owned()),
            ("spark.connect.authenticate.token".to_owned(), "x".to_owned()),
            ("spark.scheduler.mode".to_owned(), "FAIR".to_owned()),
        ];
        let properties = server_properties(conf, "0.0.0.0", GRPC_PORT);
        assert_eq!(
            properties,
            BTreeMap::from([
                (BINDING_ADDRESS_PROPERTY.to_owned(), "0.0.0.0".to_owned()),
                (BINDING_PORT_PROPERTY.to_owned(), "15002".to_owned()),
                ("spark.scheduler.mode".to_owned(), "FAIR".to_owned()),
            ])
        );
    }

    fn problems(spec: serde_json::Value) -> Vec<(String, String)> {
        let spec: SparkJobSpec = serde_json::from_value(spec).expect("a spec");
        let mut out = Vec::new();
        check_connect_settings(&spec, &mut |d| out.push((d.path.clone(), d.message.clone())));
        if spec.app_type == Some(sparkplane_api::job::AppType::Connect) {
            check_connect_job(&spec, false, &mut |d| out.push((d.path.clone(), d.message.clone())));
        }
        out
    }

    #[test]
    fn the_idle_timeout_is_at_least_a_minute_needs_an_event_log_and_only_servers_have_one() {
        let log = serde_json::json!({"enabled": true, "dir": "s3a://spark-events/x"});
        let server = |connect: serde_json::Value, event_log: serde_json::Value| serde_json::json!({"type": "Connect", "sparkVersion": "4.0.1", "connect": connect, "eventLog": event_log});
        assert_eq!(problems(server(serde_json::json!({"idleTimeout": "1m"}), log.clone())), vec![]);
        assert_eq!(
            problems(server(serde_json::json!({"idleTimeout": "59s"}), log.clone())),
            vec![(
                "spec.connect.idleTimeout".to_owned(),
                "`59s` is shorter than a minute: the server would stop between a notebook's cells".to_owned()
            )]
        );
        assert_eq!(
            problems(server(serde_json::json!({"idleTimeout": "30m"}), serde_json::json!({"enabled": false}))),
            vec![(
                "spec.connect.idleTimeout".to_owned(),
                "the operator learns of sessions and queries from the server's event log, and this job writes none"
                    .to_owned()
            )]
        );
        assert_eq!(
            problems(serde_json::json!({"type": "Python", "connect": {"idleTimeout": "30m"}})),
            vec![(
                "spec.connect".to_owned(),
                "`connect` configures a Spark Connect server, and this job is not one".to_owned()
            )]
        );
    }

    #[test]
    fn the_token_secret_is_named_after_the_job() {
        assert_eq!(token_secret_name("notebooks"), "notebooks-connect-token");
    }
}
