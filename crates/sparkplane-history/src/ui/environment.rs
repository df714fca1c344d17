//! The Environment and Storage tabs at Spark's URLs: `environment/` (the
//! runtime, Spark, Hadoop, system and metrics properties and the classpath,
//! each section folded) and `storage/` with `storage/rdd/?id=N` (the cached
//! RDDs, their memory and disk, and each partition's blocks).
//!
//! Owns: those pages' bodies. Must not: compute a figure (they are the REST
//! API's `environment` and `storage/rdd` answers) or read logs.

use std::fmt::Write;

use serde_json::Value;

use crate::ui::{AppView, Page, Tab, bytes_cell, count_cell, esc, esc_attr, int, text};

/// `environment/`.
pub fn environment_page(view: &AppView) -> Result<Page, Page> {
    let env = view.api("environment", "")?;
    let runtime = env.get("runtime").cloned().unwrap_or(Value::Null);
    let mut body = String::from("<h3>Runtime information</h3><table class=\"runtime\"><tbody>");
    for (key, label) in [("javaVersion", "Java version"), ("javaHome", "Java home"), ("scalaVersion", "Scala version")]
    {
        let _ = write!(body, "<tr><th>{label}</th><td data-key=\"{key}\">{}</td></tr>", esc(text(&runtime, key)));
    }
    body.push_str("</tbody></table>");
    for (key, label, open) in [
        ("sparkProperties", "Spark properties", true),
        ("hadoopProperties", "Hadoop properties", false),
        ("systemProperties", "System properties", false),
        ("metricsProperties", "Metrics properties", false),
        ("classpathEntries", "Classpath entries", false),
    ] {
        let pairs = env.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let _ = write!(
            body,
            "<details{} data-section=\"{key}\"><summary>{label} ({})</summary><table><thead><tr><th>Name</th>\
             <th>Value</th></tr></thead><tbody>",
            if open { " open" } else { "" },
            pairs.len()
        );
        for pair in pairs {
            let field = |i: usize| pair.get(i).and_then(Value::as_str).unwrap_or_default();
            let _ = write!(body, "<tr><td>{}</td><td>{}</td></tr>", esc(field(0)), esc(field(1)));
        }
        body.push_str("</tbody></table></details>");
    }
    Ok(Page::ok(Tab::Environment, "Environment", body))
}

/// `storage/`: the RDDs with cached partitions.
pub fn storage_page(view: &AppView) -> Result<Page, Page> {
    let rdds = view.api("storage/rdd", "")?;
    let rdds = rdds.as_array().map(Vec::as_slice).unwrap_or_default();
    if rdds.is_empty() {
        let body = "<p class=\"muted\" data-count=\"rdds\" data-v=\"0\">No RDD or DataFrame was cached (persisted) \
                    while this application ran.</p>"
            .to_owned();
        return Ok(Page::ok(Tab::Storage, "Storage", body));
    }
    let mut body = format!(
        "<p><span data-count=\"rdds\" data-v=\"{n}\">{n}</span> cached RDDs</p><table class=\"rdds\"><thead><tr><th>ID</th>\
         <th>RDD name</th><th>Storage level</th><th>Cached partitions</th><th>Fraction cached</th><th>Size in memory</th>\
         <th>Size on disk</th></tr></thead><tbody>",
        n = rdds.len()
    );
    for r in rdds {
        let id = int(r, "id");
        let link = esc_attr(&view.link(&format!("storage/rdd/?id={id}")));
        let (cached, all) = (int(r, "numCachedPartitions"), int(r, "numPartitions"));
        let _ = write!(
            body,
            "<tr data-rdd=\"{id}\"><td class=\"n\" data-v=\"{id}\"><a href=\"{link}\">{id}</a></td><td><a href=\"{link}\">{}</a></td>\
             <td>{}</td>{}<td class=\"n\">{:.0}%</td>{}{}</tr>",
            esc(text(r, "name")),
            esc(text(r, "storageLevel")),
            count_cell(cached),
            if all > 0 { cached as f64 * 100.0 / all as f64 } else { 0.0 },
            bytes_cell(int(r, "memoryUsed")),
            bytes_cell(int(r, "diskUsed")),
        );
    }
    body.push_str("</tbody></table>");
    Ok(Page::ok(Tab::Storage, "Storage", body))
}

/// `storage/rdd/?id=N`: one cached RDD, where its blocks are.
pub fn rdd_page(view: &AppView, id: i64) -> Result<Page, Page> {
    if view.detail.rdds.get(&id).is_none_or(|r| r.partitions.is_empty()) {
        return Err(view.asked(404, &format!("Application {} has no cached RDD {id}.", view.attempt.app_id)));
    }
    let r = view.api(&format!("storage/rdd/{id}"), "")?;
    let mut body = format!(
        "<table class=\"facts\"><tbody><tr><th>Name</th><td>{}</td></tr><tr><th>Storage level</th><td>{}</td></tr>\
         <tr><th>Cached partitions</th>{}</tr><tr><th>Total partitions</th>{}</tr><tr><th>Memory</th>{}</tr>\
         <tr><th>Disk</th>{}</tr></tbody></table>",
        esc(text(&r, "name")),
        esc(text(&r, "storageLevel")),
        count_cell(int(&r, "numCachedPartitions")),
        count_cell(int(&r, "numPartitions")),
        bytes_cell(int(&r, "memoryUsed")),
        bytes_cell(int(&r, "diskUsed")),
    );
    let distributions = r.get("dataDistribution").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if !distributions.is_empty() {
        body.push_str("<h3>Data distribution</h3><table><thead><tr><th>Host</th><th>Memory used</th><th>Memory remaining</th><th>Disk used</th></tr></thead><tbody>");
        for d in distributions {
            let _ = write!(
                body,
                "<tr><td>{}</td>{}{}{}</tr>",
                esc(text(d, "address")),
                bytes_cell(int(d, "memoryUsed")),
                bytes_cell(int(d, "memoryRemaining")),
                bytes_cell(int(d, "diskUsed"))
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("<h3>Partitions</h3><table><thead><tr><th>Block</th><th>Storage level</th><th>Size in memory</th><th>Size on disk</th><th>Executors</th></tr></thead><tbody>");
    for p in r.get("partitions").and_then(Value::as_array).into_iter().flatten() {
        let executors: Vec<&str> =
            p.get("executors").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td>{}{}<td>{}</td></tr>",
            esc(text(p, "blockName")),
            esc(text(p, "storageLevel")),
            bytes_cell(int(p, "memoryUsed")),
            bytes_cell(int(p, "diskUsed")),
            esc(&executors.join(", "))
        );
    }
    body.push_str("</tbody></table>");
    Ok(Page::ok(Tab::Storage, format!("RDD {id}"), body))
}
