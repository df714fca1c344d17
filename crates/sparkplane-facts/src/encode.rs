//! One table's rows of one application as the bytes of a Parquet file.
//!
//! Owns: the writer settings (Snappy, which every Parquet reader reads) and the
//! file's key-value metadata (`sparkplane.schema_version`, `sparkplane.table`).
//! Must not: choose rows or touch storage. The same batch always gives the
//! same bytes.

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};

/// The Parquet key-value metadata key naming the table a file belongs to.
pub const TABLE_KEY: &str = "sparkplane.table";

/// `batch` as a complete Parquet file of `table`.
pub fn parquet(table: &str, batch: &RecordBatch) -> Result<Vec<u8>, String> {
    let metadata = vec![
        KeyValue::new(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_string()),
        KeyValue::new(TABLE_KEY.to_owned(), table.to_owned()),
    ];
    let properties =
        WriterProperties::builder().set_compression(Compression::SNAPPY).set_key_value_metadata(Some(metadata)).build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties)).map_err(|e| e.to_string())?;
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}
