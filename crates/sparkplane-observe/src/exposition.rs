//! The Prometheus text format (version 0.0.4), the one writer of it: metrics
//! a short-lived CLI process leaves in a file for node_exporter's textfile
//! collector (`submit --metrics-file`, `dq check --metrics`).
//!
//! Owns: the `# HELP` and `# TYPE` lines (from [`crate::registry`]), sample
//! lines, escaping of help text and label values, and how numbers are
//! written. Callers hand over typed families; they never write the format.
//! Must not: write a family the registry does not list (it is left out), or
//! do I/O. The exporter's live `/metrics` is OpenMetrics encoded by
//! prometheus-client from its in-process registry; this module is for files,
//! where the values come from elsewhere (a report, a file read back).

use std::fmt::Write as _;

use crate::registry;

/// One line of a family: `name<suffix>{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Appended to the family's name: `""`, or `_bucket`, `_sum`, `_count` of a histogram.
    pub suffix: &'static str,
    /// Label names and values, in the order they are written.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A sample of the family's own name.
    pub fn new(labels: Vec<(&'static str, String)>, value: f64) -> Sample {
        Sample { suffix: "", labels, value }
    }
}

/// A registered metric and its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// The registered name.
    pub name: &'static str,
    /// Its samples, in the order they are written.
    pub samples: Vec<Sample>,
}

/// How a histogram's bucket bound is written in `le`: `10.0`, `0.25`.
pub fn format_bound(bound: f64) -> String {
    if bound.fract() == 0.0 { format!("{bound:.1}") } else { bound.to_string() }
}

/// The samples of one histogram series: a cumulative `_bucket` per bound
/// (`cumulative[i]` observations at most `bounds[i]`), `le="+Inf"` equal to
/// `count`, then `_sum` and `_count`.
pub fn histogram_samples(
    labels: &[(&'static str, String)],
    bounds: &[f64],
    cumulative: &[u64],
    sum: f64,
    count: u64,
) -> Vec<Sample> {
    let bucket = |le: String, value: u64| {
        let mut labels = labels.to_vec();
        labels.push(("le", le));
        Sample { suffix: "_bucket", labels, value: value as f64 }
    };
    let mut samples: Vec<Sample> =
        bounds.iter().zip(cumulative).map(|(bound, n)| bucket(format_bound(*bound), *n)).collect();
    samples.push(bucket("+Inf".into(), count));
    samples.push(Sample { suffix: "_sum", labels: labels.to_vec(), value: sum });
    samples.push(Sample { suffix: "_count", labels: labels.to_vec(), value: count as f64 });
    samples
}

/// A label value with `\`, `"` and line breaks escaped.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Help text on one line (runs of white space become one space), `\` escaped.
fn escape_help(help: &str) -> String {
    help.split_whitespace().collect::<Vec<_>>().join(" ").replace('\\', "\\\\")
}

/// A value as Prometheus reads it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        value.to_string()
    }
}

/// The families as Prometheus text, in the order given; a family the
/// registry does not list is left out.
pub fn encode(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let Some(metric) = registry::lookup(family.name) else { continue };
        // Writing to a String cannot fail.
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(metric.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, metric.kind.as_str());
        for sample in &family.samples {
            let labels: Vec<String> =
                sample.labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
            let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
            let _ = writeln!(out, "{}{}{labels} {}", family.name, sample.suffix, format_value(sample.value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_with_the_registrys_help_and_type() {
        let text = encode(&[
            Family {
                name: "sparkplane_dq_rows",
                samples: vec![Sample::new(vec![("spec", "a \"q\" \\ b\nc".into())], 1200.0)],
            },
            Family { name: "not_registered", samples: vec![Sample::new(vec![], 1.0)] },
            Family { name: "sparkplane_dq_duration_seconds", samples: vec![Sample::new(vec![], 0.125)] },
        ]);
        assert_eq!(
            text,
            "# HELP sparkplane_dq_rows Rows of the dataset (or selected partition) in the spec's last run.\n\
             # TYPE sparkplane_dq_rows gauge\n\
             sparkplane_dq_rows{spec=\"a \\\"q\\\" \\\\ b\\nc\"} 1200\n\
             # HELP sparkplane_dq_duration_seconds Wall time of the spec's last run (discover, scan, evaluate).\n\
             # TYPE sparkplane_dq_duration_seconds gauge\n\
             sparkplane_dq_duration_seconds 0.125\n"
        );
    }

    #[test]
    fn special_values_are_written_as_prometheus_reads_them() {
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(7.3), "7.3");
    }

    #[test]
    fn a_histogram_series_ends_with_inf_sum_and_count() {
        let samples = histogram_samples(&[("target", "native".into())], &[0.5, 10.0], &[1, 2], 7.3, 3);
        let lines: Vec<String> = samples
            .iter()
            .map(|s| {
                format!("{}{:?} {}", s.suffix, s.labels.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), s.value)
            })
            .collect();
        assert_eq!(
            lines,
            [
                "_bucket[\"native\", \"0.5\"] 1",
                "_bucket[\"native\", \"10.0\"] 2",
                "_bucket[\"native\", \"+Inf\"] 3",
                "_sum[\"native\"] 7.3",
                "_count[\"native\"] 3"
            ]
        );
    }
}
