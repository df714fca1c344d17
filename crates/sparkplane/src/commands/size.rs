//! `sparkplane size`: recommend driver and executor settings from the
//! documented sizing model, explain each number, optionally patch a job file.

use sparkplane_api::Duration;
use sparkplane_api::job::AppType;
use sparkplane_core::first_sizing::{NodeLimit, SizeRequest, Workload, parse_data_size, recommend};
use sparkplane_documents::Diagnostic;
use sparkplane_fit::general_pool;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::patch_file;

/// What `size` is asked, in plain terms (the flags as given; read here so
/// each problem names its flag).
#[derive(Clone, Debug)]
pub struct SizeSettings {
    /// `--input-size`, as written (e.g. `500GB`).
    pub input_size: String,
    /// `--workload`.
    pub workload: Workload,
    /// `--deadline`, as written (e.g. `30m`).
    pub deadline: Option<String>,
    /// `--language`.
    pub app_type: AppType,
    /// `--nodes`: a node-pools file whose general pool the recommendation stays within.
    pub nodes: Option<std::path::PathBuf>,
    /// `--write`: the job file to patch.
    pub write: Option<std::path::PathBuf>,
}

/// The request `size` makes of the core, read from its settings.
struct SizePlan {
    request: SizeRequest,
    /// The pool the recommendation was kept within, and the room a pod has on its nodes.
    pool: Option<(String, NodeLimit)>,
}

/// The pool a general job lands on (`fit::general_pool`) from a pools file.
fn node_limit(path: &std::path::Path) -> Result<(String, NodeLimit), Failure> {
    let pools = super::fit::read_pools(path)?;
    let pool =
        general_pool(&pools).map_err(|problems| Failure::Invalid(sparkplane_documents::Diagnostics(problems)))?;
    match pool {
        Some(pool) => Ok(pool),
        None => Err(Failure::invalid(
            "no-node-pools",
            "--nodes",
            format!("{} lists no node pools", path.display()),
            "list at least one pool",
        )),
    }
}

impl SizePlan {
    fn resolve(args: &SizeSettings) -> Result<SizePlan, Failure> {
        let mut problems = sparkplane_documents::Diagnostics::new();
        let input_bytes = parse_data_size(&args.input_size).unwrap_or_else(|why| {
            problems
                .push(Diagnostic::error("bad-value", "--input-size", why).with_help("write e.g. 500GB, 1TiB or 200g"));
            0
        });
        let deadline = args.deadline.as_deref().and_then(|text| match text.parse::<Duration>() {
            Ok(d) => Some(d),
            Err(err) => {
                problems.push(Diagnostic::error("bad-value", "--deadline", err.0));
                None
            }
        });
        if problems.has_errors() {
            return Err(problems.into());
        }
        let mut request = SizeRequest::new(input_bytes, args.workload);
        request.deadline = deadline;
        request.app_type = args.app_type;
        let mut pool = None;
        if let Some(path) = &args.nodes {
            let (name, room) = node_limit(path)?;
            request.node = Some(room);
            pool = Some((name, room));
        }
        Ok(SizePlan { request, pool })
    }
}

/// Runs `size`.
pub fn run(settings: &SizeSettings, printer: &Printer) -> CommandResult {
    let plan = SizePlan::resolve(settings)?;
    let rec = recommend(&plan.request);
    printer.result(&rec, || rec.text(plan.pool.as_ref().map(|(name, room)| (name.as_str(), *room))));
    if let Some(path) = &settings.write {
        patch_file(path, &rec.to_patch())?;
        printer.status(&format!("patched {} (comments and layout kept)", path.display()));
    }
    Ok(())
}
