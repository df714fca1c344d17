//! `sparkplane promote`: settings and output around
//! `sparkplane_delivery::promote_run`, the promotion workflow (ADR 0069),
//! made over the CLI's host (`promote_host`: the release store, the job
//! rendered by the one render step, trusted keys, run history, the policy
//! gate, the deployments log, `--shadow`'s run through `shadow`).
//!
//! Owns: the request and the output (the settings and their defaults are
//! the host's, [`PromoteSettings`]). Must not: order the steps, judge a gate, decide on the shadow
//! run, build the deployment record or pick the CDEvent (`promote_run` does).

use sparkplane_delivery::promote_run::{self, PromoteRequest, Promoted, Promotion};
use sparkplane_documents::Diagnostic;

pub use super::promote_host::PromoteSettings;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// Runs `promote` (`sparkplane_delivery::promote_run` over the CLI's host):
/// every gate judged, all refusals reported at once (exit 1); when all hold,
/// the deployment recorded, its manifests written and its CDEvent sent.
pub fn promote(settings: &PromoteSettings, printer: &Printer) -> CommandResult {
    let job_file = settings.job.display().to_string();
    let request = PromoteRequest {
        release: &settings.release,
        to: &settings.to,
        from: settings.from.as_deref(),
        job_file: &job_file,
    };
    let to = &settings.to;
    match promote_run::run(&request, &mut super::promote_host::Host::new(settings, printer))? {
        Promotion::Refused { release, decision, shadow, event } => {
            let report = serde_json::json!({
                "promoted": false, "release": release, "to": to,
                "passed": decision.passed().iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                "refused": decision.refusals.iter().map(|r| serde_json::json!({"gate": r.gate.as_str(), "message": r.message, "fix": r.fix})).collect::<Vec<_>>(),
                "shadow": super::shadow::report(shadow.as_ref()),
            });
            printer.result(&report, || super::shadow::lines(shadow.as_ref()));
            settings.events.emit(&[event], printer);
            let diagnostics = decision
                .refusals
                .iter()
                .map(|r| {
                    Diagnostic::error("promotion-gate", r.gate.as_str(), r.message.clone()).with_help(r.fix.clone())
                })
                .collect();
            Err(Failure::Failed(sparkplane_documents::Diagnostics(diagnostics)))
        }
        Promotion::Current { release, sequence } => {
            let report = serde_json::json!({"promoted": false, "release": release, "to": to, "current": sequence});
            printer
                .result(&report, || format!("{to} already runs {release} (deployment {sequence}); nothing written\n"));
            Ok(())
        }
        Promotion::Promoted(done) => {
            settings.events.emit(std::slice::from_ref(&done.event), printer);
            print_promoted(&done, to, printer);
            Ok(())
        }
    }
}

fn print_promoted(done: &Promoted, to: &str, printer: &Printer) {
    let (manifests, sequence) = (&done.recorded.manifests, done.recorded.sequence);
    let passed: Vec<&str> = done.passed.iter().map(|g| g.as_str()).collect();
    let report = serde_json::json!({
        "promoted": true, "release": done.release, "from": done.source, "to": to, "sequence": sequence,
        "first": done.first, "dir": manifests.strip_suffix("/manifests"), "manifests": manifests, "outDir": done.out,
        "passed": passed, "shadow": super::shadow::report(done.shadow.as_ref()),
    });
    printer.result(&report, || {
        let mut text = format!(
            "promoted {} from {} to {to} (deployment {sequence}{})\n  gates passed: {}\n  manifests in {manifests}\n",
            done.release,
            done.source,
            if done.first { ", the first there" } else { "" },
            passed.join(", "),
        );
        text.push_str(&super::shadow::lines(done.shadow.as_ref()));
        text.extend(done.out.iter().map(|p| format!("wrote {p}\n")));
        text
    });
}
