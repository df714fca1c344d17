//! `sparkplane size`: recommend driver and executor settings from the
//! documented sizing model, explain each number, optionally patch a job file.

use sparkplane_api::Duration;
use sparkplane_api::job::AppType;
use sparkplane_core::first_sizing::{NodeLimit, Recommendation, SizeRequest, Workload, parse_data_size, recommend};
use sparkplane_core::fit::general_pool;
use sparkplane_documents::Diagnostic;
use sparkplane_documents::yaml::patch_yaml;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::read_source;

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
        None => Err(Failure::Invalid(
            Diagnostic::error("no-node-pools", "--nodes", format!("{} lists no node pools", path.display()))
                .with_help("list at least one pool")
                .into(),
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

fn table(rec: &Recommendation, pool: Option<&(String, NodeLimit)>) -> String {
    let mut t = super::Table::new(&["SETTING", "VALUE", "WHY"]);
    let mut row = |name: &str, value: String, why: &str| t.row(vec![name.to_owned(), value, why.to_owned()]);
    row("partitions", rec.partitions.value.to_string(), &rec.partitions.why);
    row("waves", rec.waves.value.to_string(), &rec.waves.why);
    row("executor.cores", rec.executor_cores.value.to_string(), &rec.executor_cores.why);
    row("executor.memory", rec.executor_memory.value.to_kubernetes(), &rec.executor_memory.why);
    row("executor overhead", rec.executor_overhead.value.to_kubernetes(), &rec.executor_overhead.why);
    row("executors", rec.executors.value.to_string(), &rec.executors.why);
    row("dynamicAllocation", rec.dynamic_allocation.value.to_string(), &rec.dynamic_allocation.why);
    row("driver.cores", rec.driver_cores.value.to_string(), &rec.driver_cores.why);
    row("driver.memory", rec.driver_memory.value.to_kubernetes(), &rec.driver_memory.why);
    row("spark.sql.shuffle.partitions", rec.shuffle_partitions.value.to_string(), &rec.shuffle_partitions.why);
    row("compute time, all waves", rec.task_time.value.to_string(), &rec.task_time.why);
    let mut out = t.render();
    let e = &rec.sized.executor;
    out.push_str(&format!(
        "\nexecutor pod: {} CPU, {} memory (heap {} + overhead {}); driver pod: {} CPU, {} memory\n",
        e.cpu_request, e.pod_memory, e.heap, e.overhead, rec.sized.driver.cpu_request, rec.sized.driver.pod_memory
    ));
    if let Some((pool, room)) = pool {
        let room = *room;
        out.push_str(&format!(
            "{} executor(s) per node of pool {pool} ({} CPU, {} free for pods)\n",
            rec.executors_per_node(room),
            room.cpu,
            room.memory
        ));
    }
    for warning in &rec.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out
}

/// Runs `size`.
pub fn run(settings: &SizeSettings, printer: &Printer) -> CommandResult {
    let plan = SizePlan::resolve(settings)?;
    let rec = recommend(&plan.request);
    printer.result(&rec, || table(&rec, plan.pool.as_ref()));
    if let Some(path) = &settings.write {
        let source = read_source(path)?;
        let patched = patch_yaml(&source, &rec.to_patch())?;
        let tmp = path.with_extension("yaml.sparkplane-tmp");
        let write = std::fs::write(&tmp, patched).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(err) = write {
            let _ = std::fs::remove_file(&tmp);
            return Err(Failure::File {
                path: path.clone(),
                error: err.to_string(),
                help: "check the file can be written".into(),
            });
        }
        printer.status(&format!("patched {} (comments and layout kept)", path.display()));
    }
    Ok(())
}
