//! The submission-latency histogram kept in a Prometheus text file, for
//! node_exporter's textfile collector: a CLI process lives for one
//! submission, so the histogram lives in the file and each submission adds
//! one observation to it.
//!
//! Owns: reading back the histogram sparkplane wrote and adding an
//! observation ([`record_submission`]); the text is written by
//! [`crate::exposition`]. Pure: the caller reads and replaces the
//! file (atomically, under a lock). Must not: rewrite a file it did not write —
//! any line it does not recognise is an error, not something to drop.

use std::collections::BTreeMap;

use crate::exposition::{self, Family};
use crate::registry;

/// The histogram's registered name.
pub const SUBMIT_DURATION: &str = "sparkplane_submit_duration_seconds";

/// Why a metrics file cannot be updated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TextfileError {
    /// 1-based line of the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Series {
    /// Cumulative counts per registered bucket bound, in order.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

fn bounds() -> &'static [f64] {
    registry::lookup(SUBMIT_DURATION).map(|m| m.buckets).unwrap_or_default()
}

/// Splits `name{a="x",b="y"} value` into its parts. Values are label values
/// sparkplane wrote: namespaces and target names, which hold no quotes.
fn parse_sample(line: &str) -> Option<(&str, BTreeMap<&str, &str>, &str)> {
    let (head, value) = line.rsplit_once(' ')?;
    let (name, rest) = head.split_once('{')?;
    let labels = rest.strip_suffix('}')?;
    let mut map = BTreeMap::new();
    for pair in labels.split(',').filter(|p| !p.is_empty()) {
        let (key, quoted) = pair.split_once('=')?;
        map.insert(key, quoted.strip_prefix('"')?.strip_suffix('"')?);
    }
    Some((name, map, value))
}

fn parse(existing: &str) -> Result<BTreeMap<(String, String), Series>, TextfileError> {
    let mut series: BTreeMap<(String, String), Series> = BTreeMap::new();
    let bounds = bounds();
    for (index, raw) in existing.lines().enumerate() {
        let line = raw.trim();
        let fail = |message: String| TextfileError { line: index + 1, message };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, labels, value) =
            parse_sample(line).ok_or_else(|| fail(format!("`{line}` is not a sample sparkplane writes")))?;
        let key = match (labels.get("namespace"), labels.get("target")) {
            (Some(ns), Some(target)) => ((*ns).to_owned(), (*target).to_owned()),
            _ => return Err(fail("a sample without namespace and target labels".into())),
        };
        let entry = series.entry(key).or_insert_with(|| Series { buckets: vec![0; bounds.len()], ..Series::default() });
        let number = |v: &str| v.parse::<f64>().map_err(|_| fail(format!("`{v}` is not a number")));
        match name.strip_prefix(SUBMIT_DURATION) {
            Some("_bucket") => {
                let le = labels.get("le").ok_or_else(|| fail("a bucket without `le`".into()))?;
                if *le == "+Inf" {
                    continue; // Equal to _count; rewritten from it.
                }
                let bound = number(le)?;
                let slot = bounds
                    .iter()
                    .position(|b| (b - bound).abs() < 1e-9)
                    .ok_or_else(|| fail(format!("bucket le=\"{le}\" is not one of the registered bounds")))?;
                entry.buckets[slot] = number(value)? as u64;
            }
            Some("_sum") => entry.sum = number(value)?,
            Some("_count") => entry.count = number(value)? as u64,
            _ => return Err(fail(format!("`{name}` is not a series of {SUBMIT_DURATION}"))),
        }
    }
    Ok(series)
}

/// Adds one submission's latency to the histogram in `existing` (the file's
/// current text, empty when it does not exist yet) and returns the new text:
/// deterministic, series sorted by namespace and target.
pub fn record_submission(existing: &str, namespace: &str, target: &str, seconds: f64) -> Result<String, TextfileError> {
    let mut series = parse(existing)?;
    let bounds = bounds();
    let entry = series
        .entry((namespace.to_owned(), target.to_owned()))
        .or_insert_with(|| Series { buckets: vec![0; bounds.len()], ..Series::default() });
    for (slot, bound) in bounds.iter().enumerate() {
        if seconds <= *bound {
            entry.buckets[slot] += 1;
        }
    }
    entry.sum += seconds;
    entry.count += 1;

    let samples = series
        .iter()
        .flat_map(|((ns, target), s)| {
            let labels = [("namespace", ns.clone()), ("target", target.clone())];
            exposition::histogram_samples(&labels, bounds, &s.buckets, s.sum, s.count)
        })
        .collect();
    Ok(exposition::encode(&[Family { name: SUBMIT_DURATION, samples }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines().find_map(|l| l.strip_prefix(series)).map(str::trim)
    }

    #[test]
    fn observations_accumulate_in_cumulative_buckets() {
        let once = record_submission("", "etl", "native", 0.3).unwrap();
        let twice = record_submission(&once, "etl", "native", 7.0).unwrap();
        let labels = "{namespace=\"etl\",target=\"native\"";
        assert_eq!(sample(&twice, &format!("{SUBMIT_DURATION}_bucket{labels},le=\"0.25\"}}")), Some("0"));
        assert_eq!(sample(&twice, &format!("{SUBMIT_DURATION}_bucket{labels},le=\"0.5\"}}")), Some("1"));
        assert_eq!(sample(&twice, &format!("{SUBMIT_DURATION}_bucket{labels},le=\"10.0\"}}")), Some("2"));
        assert_eq!(sample(&twice, &format!("{SUBMIT_DURATION}_bucket{labels},le=\"+Inf\"}}")), Some("2"));
        assert_eq!(sample(&twice, &format!("{SUBMIT_DURATION}_count{labels}}}")), Some("2"));
        assert_eq!(sample(&twice, &format!("{SUBMIT_DURATION}_sum{labels}}}")), Some("7.3"));
    }

    #[test]
    fn series_are_kept_apart_and_sorted() {
        let a = record_submission("", "ml", "native", 1.0).unwrap();
        let b = record_submission(&a, "etl", "native", 1.0).unwrap();
        let first_etl = b.find("namespace=\"etl\"").unwrap();
        let first_ml = b.find("namespace=\"ml\"").unwrap();
        assert!(first_etl < first_ml);
        assert_eq!(b.matches("_count{").count(), 2);
    }

    #[test]
    fn a_foreign_file_is_not_rewritten() {
        let error = record_submission("node_load1 0.5\n", "etl", "native", 1.0).unwrap_err();
        assert_eq!(error.to_string(), "line 1: `node_load1 0.5` is not a sample sparkplane writes");
        let error =
            record_submission("other_metric{namespace=\"a\",target=\"b\"} 1\n", "etl", "native", 1.0).unwrap_err();
        assert_eq!(error.to_string(), "line 1: `other_metric` is not a series of sparkplane_submit_duration_seconds");
    }
}
