//! The fit report as `sparkplane fit` prints it: each role on each pool,
//! the quota rows, the ClusterQueue's shortfall, and the verdict. Must not:
//! decide anything (the report says it all).

use sparkplane_documents::table::Table;

use super::model::{FitReport, QueueFit};

impl FitReport {
    /// The report as text tables, ending in whether the job fits.
    pub fn text(&self) -> String {
        let mut t = Table::new(&["ROLE", "POOL", "NEEDS", "USABLE PER NODE", "PER NODE", "FITS"]);
        for role in [&self.driver, &self.executor] {
            for pool in &role.pools {
                let needs = format!("{} CPU, {}", pool.needs.cpu, pool.needs.memory);
                let usable = format!("{} CPU, {}", pool.usable.cpu, pool.usable.memory);
                let fits = if !pool.eligible {
                    format!("no: {}", pool.not_eligible_because.join("; "))
                } else if pool.fits {
                    "yes".into()
                } else {
                    format!("no: {}", pool.shortfalls.join("; "))
                };
                t.row(vec![
                    role.role.as_str().to_owned(),
                    pool.pool.clone(),
                    needs,
                    usable,
                    pool.per_node.to_string(),
                    fits,
                ]);
            }
        }
        let mut out = t.render();
        if !self.quota.is_empty() {
            let mut q = Table::new(&["QUOTA", "NEEDED", "AVAILABLE", "OK"]);
            for row in &self.quota {
                q.row(vec![
                    row.resource.clone(),
                    row.needed.clone(),
                    row.available.clone(),
                    if row.ok { "yes".into() } else { "no".into() },
                ]);
            }
            out.push('\n');
            out.push_str(&q.render());
        }
        if let Some(fit) = &self.cluster_queue {
            out.push_str(&queue_table(fit));
        }
        out.push_str(&format!("\n{}\n", if self.fits { "The job fits." } else { "The job does NOT fit." }));
        out
    }
}

fn queue_table(fit: &QueueFit) -> String {
    if fit.admissible {
        return format!("\nClusterQueue {}: its quota can admit the job.\n", fit.name);
    }
    let mut t = Table::new(&["FLAVOR", "RESOURCE", "NEEDS", "AT MOST", "SHORT BY", "LIMIT"]);
    for s in &fit.short {
        let most = s.at_most.clone().unwrap_or_else(|| "-".into());
        t.row(vec![s.flavor.clone(), s.resource.clone(), s.needs.clone(), most, s.short_by.clone(), s.limit.clone()]);
    }
    format!("\nClusterQueue {} can never admit the job:\n{}", fit.name, t.render())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use sparkplane_api::NodePool;
    use sparkplane_api::job::SparkJobSpec;
    use sparkplane_core::sizing::size_job;

    use crate::check_fit;

    fn pool(name: &str, cpu: &str, memory: &str) -> NodePool {
        let allocatable: BTreeMap<String, Quantity> =
            [("cpu", cpu), ("memory", memory)].iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect();
        NodePool { name: name.to_owned(), allocatable, ..Default::default() }
    }

    #[test]
    fn each_role_on_each_pool_then_the_verdict() {
        let spec = SparkJobSpec::default();
        let report =
            check_fit(&spec, &size_job(&spec), &[pool("general", "8", "32Gi"), pool("tiny", "1", "1Gi")], None);
        assert_eq!(
            report.text(),
            "ROLE      POOL     NEEDS          USABLE PER NODE  PER NODE  FITS\n\
             driver    general  1 CPU, 1433Mi  8 CPU, 32Gi      8         yes\n\
             driver    tiny     1 CPU, 1433Mi  1 CPU, 1Gi       0         no: needs 1.4 GiB memory, nodes have 1 GiB free for pods\n\
             executor  general  1 CPU, 1433Mi  8 CPU, 32Gi      8         yes\n\
             executor  tiny     1 CPU, 1433Mi  1 CPU, 1Gi       0         no: needs 1.4 GiB memory, nodes have 1 GiB free for pods\n\
             \nThe job fits.\n"
        );
        let short = check_fit(&spec, &size_job(&spec), &[pool("tiny", "1", "1Gi")], None);
        assert!(short.text().ends_with("\n\nThe job does NOT fit.\n"), "{}", short.text());
    }
}
