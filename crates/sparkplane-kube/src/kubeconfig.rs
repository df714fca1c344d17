//! Finding the cluster as kubectl does: `KUBECONFIG` (several files, merged
//! in order) or `~/.kube/config`, its current context or `--context`, the
//! context's namespace or `--namespace`; inside a pod, the service account's
//! token and CA.
//!
//! Owns: choosing the configuration and building one client. Must not:
//! parse kubeconfig itself — kube-rs's loader does that, so behaviour
//! matches the ecosystem.

use kube::config::{Config, KubeConfigOptions, KubeconfigError};

use crate::error::KubeError;

/// Which cluster and namespace, as the user asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// `--context`: a kubeconfig context instead of the current one.
    pub context: Option<String>,
    /// `--namespace`: instead of the context's namespace.
    pub namespace: Option<String>,
}

/// The configuration chosen, before any request is sent.
#[derive(Clone, Debug)]
pub struct Settings {
    /// kube-rs's configuration.
    pub config: Config,
    /// The namespace to use: `--namespace`, else the context's, else `default`.
    pub namespace: String,
    /// Whether a namespace was set explicitly (flag or context), as opposed to the `default` fallback.
    pub namespace_explicit: bool,
}

impl Settings {
    /// The API server URL, for messages.
    pub fn server(&self) -> String {
        self.config.cluster_url.to_string().trim_end_matches('/').to_owned()
    }
}

/// Loads the configuration for `target` without contacting the cluster.
pub fn load(target: &Target) -> Result<Settings, KubeError> {
    let runtime = crate::runtime()?;
    runtime.block_on(load_async(target))
}

/// [`load`], or `None` when there is no configuration at all (no kubeconfig,
/// not in a pod) and no `--context` was asked for: for a command that only
/// reads the namespace. An unknown context or a broken file is still an error.
pub fn load_if_any(target: &Target) -> Result<Option<Settings>, KubeError> {
    match load(target) {
        Ok(settings) => Ok(Some(settings)),
        Err(KubeError::NoConfig { .. }) if target.context.is_none() => Ok(None),
        Err(error) => Err(error),
    }
}

/// [`load`], inside a runtime.
pub async fn load_async(target: &Target) -> Result<Settings, KubeError> {
    let config = match &target.context {
        Some(context) => {
            let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
            Config::from_kubeconfig(&options).await.map_err(|e| match e {
                KubeconfigError::LoadContext(_) => KubeError::UnknownContext { context: context.clone() },
                other => KubeError::NoConfig { detail: crate::error::chain(&other) },
            })?
        }
        None => Config::infer().await.map_err(|e| KubeError::NoConfig { detail: crate::error::chain(&e) })?,
    };
    let context_namespace = config.default_namespace.clone();
    let namespace_explicit = target.namespace.is_some() || context_namespace != "default";
    let namespace = target.namespace.clone().unwrap_or(context_namespace);
    let mut config = config;
    config.default_namespace = namespace.clone();
    Ok(Settings { config, namespace, namespace_explicit })
}

/// A client for `settings`.
pub fn client(settings: &Settings) -> Result<kube::Client, KubeError> {
    // Both ring (kube's choice) and aws-lc-rs (object storage's HTTP client) are
    // linked, so rustls has no unambiguous default: name kube's. An Err only
    // means a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    kube::Client::try_from(settings.config.clone()).map_err(|e| KubeError::Unreachable {
        server: settings.server(),
        operation: crate::error::Operation::new("connect", "", ""),
        detail: crate::error::chain(&e),
    })
}
