//! `sparkplane ci`: the host of `sparkplane_delivery::ci::run_ci` — each
//! check through the same function its own command uses (`validate`'s
//! resolve, the policy gate's verdict, `fit`, `run`'s local workflow), and the
//! report written as text or JSON, JUnit and SARIF.

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::core::v1::ResourceQuota;
use sparkplane_core::render::Target;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::ci::Timestamp;
use sparkplane_delivery::ci::{
    CiHost, CiPlan, StepResult, default_environments, environments_to_check, own_environments, run_ci,
    test_command_result,
};
use sparkplane_delivery::ci_output;
use sparkplane_delivery::ci_report::{CiReport, Outcome};
use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_fit::check_fit;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, load_catalog, read_source, resolve_job};

/// What `ci` was asked for, without clap types.
#[derive(Clone, Debug)]
pub struct CiSettings {
    /// The job file.
    pub job: PathBuf,
    /// `--env` (empty: every environment of the platform and the job).
    pub environments: Vec<String>,
    /// `--set` flags.
    pub sets: Vec<String>,
    /// `--platform-dir`.
    pub platform_dir: Option<PathBuf>,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// `--sarif FILE`.
    pub sarif: Option<PathBuf>,
    /// `--report FILE`: the JSON report, as `release --ci-report` reads it.
    pub report: Option<PathBuf>,
    /// Print JSON instead of text.
    pub json: bool,
    /// `--nodes FILE` for the fit check.
    pub nodes: Option<PathBuf>,
    /// `--quota FILE` for the fit check (else the tenant's quota).
    pub quota: Option<PathBuf>,
    /// The policy gate's settings (tenant, Rego directories, approvals).
    pub policy: super::policy::PolicySettings,
    /// The local run's settings, without its job.
    pub run: Option<super::run::RunSettings>,
    /// Where the run's CDEvents go (a test case per check, the suite, an incident when it fails).
    pub events: crate::events::Events,
}

/// The CLI's side of `ci`: files, processes and the clock.
struct Host<'a> {
    settings: &'a CiSettings,
    printer: &'a Printer,
}

impl Host<'_> {
    fn job_settings(&self, env: &str) -> JobSettings {
        JobSettings {
            path: self.settings.job.clone(),
            env: Some(env.to_owned()),
            sets: self.settings.sets.clone(),
            platform_dir: self.settings.platform_dir.clone(),
        }
    }

    fn quota(&self, job: &ResolvedJob) -> Result<Option<ResourceQuota>, Failure> {
        if let Some(path) = &self.settings.quota {
            return super::fit::read_quota(path).map(Some);
        }
        let tenant = super::policy::find_tenant(job, &self.settings.policy, self.printer)?;
        Ok(tenant.as_ref().and_then(sparkplane_policy::tenant_quota))
    }
}

/// A command failure as the findings of a check that ran (bad input is the job's problem: fail).
fn as_step(failure: Failure) -> StepResult {
    match failure {
        Failure::Invalid(d) | Failure::Failed(d) => StepResult::checked(&d),
        Failure::Infrastructure(d) => StepResult::unavailable(&d),
        Failure::File { path, error, help } => StepResult::checked(
            &Diagnostic::error("unreadable-file", "", format!("cannot read {}: {error}", path.display()))
                .with_help(help)
                .into(),
        ),
    }
}

impl CiHost for Host<'_> {
    fn resolve(&mut self, env: &str) -> Result<ResolvedJob, Diagnostics> {
        resolve_job(&self.job_settings(env), ValidationTarget::Any).map_err(|failure| match failure {
            Failure::Invalid(d) | Failure::Failed(d) | Failure::Infrastructure(d) => d,
            Failure::File { path, error, help } => {
                Diagnostic::error("unreadable-file", "", format!("cannot read {}: {error}", path.display()))
                    .with_help(help)
                    .into()
            }
        })
    }

    fn policy(&mut self, job: &ResolvedJob) -> StepResult {
        let objects = sparkplane_core::render::size_and_render(job, Target::Native);
        match super::policy::verdict(job, &objects, &self.settings.policy, self.printer) {
            Ok(verdict) => {
                StepResult::checked(&Diagnostics(verdict.violations.iter().map(|v| v.to_diagnostic()).collect()))
            }
            Err(failure) => as_step(failure),
        }
    }

    fn fit(&mut self, job: &ResolvedJob) -> StepResult {
        let Some(nodes) = &self.settings.nodes else {
            return StepResult::Skipped("no node pools: pass --nodes FILE".into());
        };
        let pools = match super::fit::read_pools(nodes) {
            Ok(pools) => pools,
            Err(failure) => return as_step(failure),
        };
        let quota = match self.quota(job) {
            Ok(quota) => quota,
            Err(failure) => return as_step(failure),
        };
        let sized = size_job(&job.job.spec);
        let report = check_fit(&job.job.spec, &sized, &pools, quota.as_ref());
        StepResult::checked(&Diagnostics(report.problems))
    }

    fn read(&mut self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }

    fn run_tests(&mut self, argv: &[String]) -> StepResult {
        let dir = self.settings.job.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let Some((program, args)) = argv.split_first() else {
            return StepResult::Skipped("spec.ci.testCommand is empty".into());
        };
        let shown = argv.join(" ");
        match Command::new(program).args(args).current_dir(dir).output() {
            Err(e) => StepResult::unavailable(
                &Diagnostic::error("test-command", "spec.ci.testCommand", format!("cannot start `{shown}`: {e}"))
                    .with_help(format!("install `{program}` on this machine, or fix spec.ci.testCommand"))
                    .into(),
            ),
            Ok(out) => test_command_result(&shown, dir, out.status.code(), &out.stdout, &out.stderr),
        }
    }

    fn local_run(&mut self, env: &str) -> StepResult {
        let Some(run) = &self.settings.run else {
            return StepResult::Skipped("local runs are off (--no-local-run)".into());
        };
        let settings = super::run::RunSettings { job: self.job_settings(env), ..run.clone() };
        match super::run::run(&settings, self.printer) {
            Ok(()) => StepResult::Checked(Vec::new()),
            Err(failure) => as_step(failure),
        }
    }

    fn now(&mut self) -> Timestamp {
        Timestamp::now()
    }
}

/// The environments to check: those asked for (each must exist), or every one
/// the platform and the job's own overlays declare.
fn environments(settings: &CiSettings) -> Result<Vec<String>, Failure> {
    let catalog = load_catalog(settings.platform_dir.as_deref())?;
    let dir = settings.job.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    let known =
        default_environments(catalog.environment_names().map(str::to_owned), own_environments(&settings.job, names));
    Ok(environments_to_check(&settings.environments, known)?)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    crate::workspace::write_file(path, text.as_bytes(), "check that the directory exists and can be written")
}

/// Runs `ci`: exit 0 when every check passes (or is skipped), 1 when one
/// fails, 3 when one could not run; 2 for a missing job file or unknown --env.
pub fn run(settings: &CiSettings, printer: &Printer) -> CommandResult {
    // The job file must be readable before anything runs: a wrong path is usage (exit 2).
    let source = read_source(&settings.job)?;
    let job_name = sparkplane_documents::yaml::parse_single(&source)
        .ok()
        .and_then(|doc| {
            doc.get(&sparkplane_documents::yaml::FieldPath::parse("metadata.name").unwrap_or_default())
                .and_then(sparkplane_documents::yaml::Node::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| settings.job.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let plan = CiPlan {
        job_file: settings.job.clone(),
        job_name,
        environments: environments(settings)?,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        sample_overlay: crate::workspace::job_environment_path(
            &settings.job,
            sparkplane_core::catalog::LOCAL_ENVIRONMENT,
        )
        .is_some(),
    };
    let report = run_ci(&plan, &mut Host { settings, printer });
    settings.events.emit(&sparkplane_delivery::cdevents::ci_steps(&report, Timestamp::now()), printer);
    if let Some(path) = &settings.junit {
        write(path, &ci_output::to_junit(&report))?;
    }
    if let Some(path) = &settings.sarif {
        let sarif = ci_output::to_sarif(&report);
        write(path, &format!("{}\n", serde_json::to_string_pretty(&sarif).unwrap_or_default()))?;
    }
    if let Some(path) = &settings.report {
        write(path, &report.to_json())?;
    }
    if settings.json {
        printer.raw(&report.to_json());
    } else {
        printer.raw(&ci_output::to_text(&report));
    }
    outcome(&report)
}

fn outcome(report: &CiReport) -> CommandResult {
    match report.outcome {
        Outcome::Pass | Outcome::Skip => Ok(()),
        Outcome::Fail => Err(Failure::Failed(Diagnostics::new())),
        Outcome::Error => Err(Failure::Infrastructure(Diagnostics::new())),
    }
}
