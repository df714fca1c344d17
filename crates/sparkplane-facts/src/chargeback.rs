//! The chargeback rows of `sparkplane cost --parquet FILE` as a Parquet file.
//!
//! Owns: the file's typed schema ([`schema`]), turning rows into one Arrow
//! record batch ([`record_batch`], pure), and writing it atomically
//! ([`write_atomically`], through the one atomic file write). Must not: compute costs (that is
//! `sparkplane_analysis::cost`) or print anything.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use sparkplane_analysis::cost::{AppCost, CostRow, GroupBy};

/// The columns, in order: what the rows are grouped by, the group's key, how
/// many applications it holds, the hours and cost (full precision, USD) and
/// share, and the earliest start and latest end of its applications (UTC).
pub fn schema() -> Schema {
    let utc = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Schema::new(vec![
        Field::new("group_by", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("apps", DataType::UInt64, false),
        Field::new("core_hours", DataType::Float64, false),
        Field::new("gib_hours", DataType::Float64, false),
        Field::new("gpu_hours", DataType::Float64, false),
        Field::new("cost_usd", DataType::Float64, false),
        Field::new("share", DataType::Float64, false),
        Field::new("first_start", utc(), true),
        Field::new("last_end", utc(), true),
    ])
}

/// The rows (in their order) as one record batch; `costs` are the applications
/// the rows were built from, for each row's time span.
pub fn record_batch(rows: &[CostRow], costs: &[AppCost], by: GroupBy) -> Result<RecordBatch, String> {
    let span = |row: &CostRow| {
        let members = costs.iter().filter(|cost| by.key(cost) == row.key);
        let (mut first, mut last): (Option<u64>, Option<u64>) = (None, None);
        for cost in members {
            first = match (first, cost.start_time_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            last = last.max(cost.end_time_ms);
        }
        let millis = |ms: Option<u64>| ms.and_then(|ms| i64::try_from(ms).ok());
        (millis(first), millis(last))
    };
    let spans: Vec<(Option<i64>, Option<i64>)> = rows.iter().map(span).collect();
    let by_name = by.to_string();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|_| by_name.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.key.as_str()))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.apps))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.core_hours))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.gib_hours))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.gpu_hours))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.cost))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.share))),
        Arc::new(TimestampMillisecondArray::from(spans.iter().map(|s| s.0).collect::<Vec<_>>()).with_timezone("UTC")),
        Arc::new(TimestampMillisecondArray::from(spans.iter().map(|s| s.1).collect::<Vec<_>>()).with_timezone("UTC")),
    ];
    RecordBatch::try_new(Arc::new(schema()), columns).map_err(|e| e.to_string())
}

/// Writes `batch` to `target` as Parquet, whole or not at all
/// (`sparkplane_storage::write_file_atomically`).
pub fn write_atomically(target: &Path, batch: &RecordBatch) -> Result<(), String> {
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), None).map_err(|e| e.to_string())?;
    writer.write(batch).map_err(|e| e.to_string())?;
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    sparkplane_storage::write_file_atomically(target, &bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_report_is_a_valid_batch_with_the_schema() {
        let batch = record_batch(&[], &[], GroupBy::Team).expect("batch");
        assert_eq!(batch.num_rows(), 0);
        assert_eq!(batch.schema().as_ref(), &schema());
    }
}
