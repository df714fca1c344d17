//! `sparkplane observe rules`: alerting and recording rules over the metrics
//! sparkplane really emits (one registry), with SLO burn-rate alerts, as a
//! Prometheus rule file or a PrometheusRule object; `observe alertmanager`:
//! the routing of those alerts to each team's on-call; `observe monitors`:
//! the PodMonitor or scrape configuration that reads Spark's own metrics.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sparkplane_documents::Diagnostic;
use sparkplane_observe::rules::{RuleOptions, builtin_groups, to_prometheus, to_prometheus_rule, to_yaml};
use sparkplane_observe::slo::{load_slos, slo_groups};

use crate::exit::{CommandResult, Failure};
use crate::printer::OutputFormat;
use crate::printer::Printer;
use crate::workspace::read_yaml;

/// The PrometheusRule's labels: `release: NAME` when asked for.
pub fn release_label(release: Option<&str>) -> BTreeMap<String, String> {
    release.map(|name| ("release".to_owned(), name.to_owned())).into_iter().collect()
}

/// What `observe rules` writes.
#[derive(Clone, Debug, Default)]
pub struct RulesSettings {
    /// A `monitoring.coreos.com/v1` PrometheusRule instead of a plain rule file.
    pub resource: bool,
    /// An SLO file whose burn-rate rules are added.
    pub slo: Option<PathBuf>,
    /// The PrometheusRule's namespace.
    pub namespace: Option<String>,
    /// The PrometheusRule's `release` label.
    pub release: Option<String>,
}

/// Runs `observe rules`.
pub fn rules(settings: &RulesSettings, printer: &Printer) -> CommandResult {
    let options = RuleOptions::default();
    let mut groups = builtin_groups(&options);
    if let Some(path) = settings.slo.as_deref() {
        let slos = load_slos(&read_yaml(path)?)?;
        let extra = slo_groups(&slos).map_err(|e| {
            Failure::Invalid(Diagnostic::error("bad-slo", "", format!("{}: {e}", path.display())).into())
        })?;
        groups.extend(extra);
    }
    let value = if settings.resource {
        let labels = release_label(settings.release.as_deref());
        to_prometheus_rule(&groups, &options, "sparkplane", settings.namespace.as_deref(), &labels)
    } else {
        to_prometheus(&groups, &options)
    };
    match printer.format {
        OutputFormat::Json => printer.raw(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default())),
        _ => printer.raw(&to_yaml(&value)),
    }
    Ok(())
}

/// Plain settings of `observe alertmanager`.
#[derive(Clone, Debug)]
pub struct AlertmanagerSettings {
    /// The directory of Tenant files.
    pub tenants: std::path::PathBuf,
    /// The platform receiver's name.
    pub platform_receiver: String,
    /// Its webhook, if any.
    pub platform_webhook: Option<String>,
    /// SMTP relay and sender, for email receivers.
    pub smtp: Option<(String, String)>,
    /// AlertmanagerConfig resources instead of alertmanager.yml.
    pub resources: bool,
}

/// Runs `observe alertmanager`: the configuration as YAML (or JSON with `-o json`).
pub fn alertmanager(settings: &AlertmanagerSettings, printer: &Printer) -> CommandResult {
    let tenants: Vec<_> = super::tenant::read_dir(&settings.tenants)?.into_iter().map(|(_, t)| t).collect();
    let request = sparkplane_observe::alertmanager::Request {
        platform: sparkplane_observe::alertmanager::PlatformRoute {
            receiver: settings.platform_receiver.clone(),
            webhook: settings.platform_webhook.clone(),
        },
        smtp: settings.smtp.as_ref().map(|(h, f)| (h.as_str(), f.as_str())),
        resources: settings.resources,
    };
    let groups = builtin_groups(&RuleOptions::default());
    let configured = sparkplane_observe::alertmanager::configuration(&tenants, &groups, &request)?;
    printer.warnings(&configured.warnings);
    printer.result(&configured.value, || configured.documents.iter().map(to_yaml).collect());
    Ok(())
}

/// Plain settings of `observe monitors`.
#[derive(Clone, Debug)]
pub struct MonitorsSettings {
    /// Plain `scrape_configs` instead of a PodMonitor.
    pub scrape_config: bool,
    /// Scrape interval (a Prometheus duration).
    pub interval: String,
    /// The PodMonitor's namespace.
    pub namespace: Option<String>,
    /// The PodMonitor's `release` label.
    pub release: Option<String>,
    /// Fixed driver UIs to scrape (`HOST:PORT`), scrape config only.
    pub targets: Vec<String>,
}

/// Runs `observe monitors`: a PodMonitor, or a Prometheus scrape configuration (YAML, or JSON with `-o json`).
pub fn monitors(settings: &MonitorsSettings, printer: &Printer) -> CommandResult {
    use sparkplane_observe::monitors::{MonitorOptions, is_duration, pod_monitor, scrape_config};
    if !is_duration(&settings.interval) {
        return Err(Failure::invalid(
            "bad-interval",
            "",
            format!("--interval {} is not a Prometheus duration", settings.interval),
            "write a number and a unit, e.g. 30s, 1m or 1m30s",
        ));
    }
    if !settings.targets.is_empty() && !settings.scrape_config {
        return Err(Failure::invalid(
            "target-needs-scrape-config",
            "",
            "--target applies to --format scrape-config only: a PodMonitor finds drivers by their label",
            "add --format scrape-config, or drop --target",
        ));
    }
    for target in &settings.targets {
        let port = target.rsplit_once(':').filter(|(host, _)| !host.is_empty()).map(|(_, port)| port.parse::<u16>());
        if !matches!(port, Some(Ok(p)) if p > 0) {
            return Err(Failure::invalid(
                "bad-target",
                "",
                format!("--target {target} is not HOST:PORT"),
                "name a driver's Spark UI, e.g. --target 127.0.0.1:4040",
            ));
        }
    }
    let options = MonitorOptions {
        interval: settings.interval.clone(),
        namespace: settings.namespace.clone(),
        labels: release_label(settings.release.as_deref()),
    };
    let value = if settings.scrape_config { scrape_config(&options, &settings.targets) } else { pod_monitor(&options) };
    match printer.format {
        OutputFormat::Json => printer.raw(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default())),
        _ => printer.raw(&to_yaml(&value)),
    }
    Ok(())
}
