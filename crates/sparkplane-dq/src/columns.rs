//! Arrow columns as checks read them: their types in Spark's words, their
//! values as numbers, as text or as key hashes, and the calendar dates Spark
//! writes in partition folders and `Date32` columns.
//!
//! Owns: [`spark_type`], [`partition_type`], [`civil_days`] and
//! [`civil_date`], [`numeric`], [`for_each_text`] and [`hash_rows`].
//! Must not: read files, know about checks, or accumulate across batches —
//! each function looks at one array (or one set of values) and returns.

use std::collections::BTreeSet;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};

use crate::sketch;

/// The type of an Arrow column in Spark's words.
pub fn spark_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int8 => "byte".into(),
        DataType::Int16 => "short".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "long".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "long".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Dictionary(_, value) => spark_type(value),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// The type Spark infers for a partition folder value.
pub fn partition_type(values: &BTreeSet<&str>) -> &'static str {
    let all = |f: fn(&str) -> bool| !values.is_empty() && values.iter().all(|v| f(v));
    if all(|v| v.parse::<i32>().is_ok()) {
        "int"
    } else if all(|v| v.parse::<i64>().is_ok()) {
        "long"
    } else if all(|v| v.len() == 10 && civil_days(v).is_some()) {
        "date"
    } else {
        "string"
    }
}

/// 1970-01-01, the day Arrow's `Date32` counts from.
const EPOCH: jiff::civil::Date = jiff::civil::date(1970, 1, 1);

/// Days since 1970-01-01 of a `YYYY-MM-DD` date; None when it is not one or
/// names a day the calendar does not have (2026-02-31). The calendar is jiff's.
pub fn civil_days(text: &str) -> Option<i64> {
    let date = jiff::civil::Date::strptime("%Y-%m-%d", text).ok()?;
    EPOCH.until(date).ok().map(|span| i64::from(span.get_days()))
}

/// `YYYY-MM-DD` of days since 1970-01-01; the bare number of days when the
/// date falls outside the years -9999..=9999 jiff (and Spark) can write.
pub fn civil_date(days: i64) -> String {
    let date = jiff::Span::new().try_days(days).ok().and_then(|span| EPOCH.checked_add(span).ok());
    match date {
        Some(date) => date.strftime("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}
/// The non-null values of a numeric, date or timestamp column as f64
/// (dates and timestamps in seconds since 1970); `None` for other types.
pub fn numeric<'a>(array: &'a dyn Array, scratch: &'a mut Vec<f64>) -> Option<&'a [f64]> {
    macro_rules! fill {
        ($t:ty, $scale:expr) => {{
            let a = array.as_primitive::<$t>();
            scratch.clear();
            if a.null_count() == 0 {
                scratch.extend(a.values().iter().map(|v| *v as f64 * $scale));
            } else {
                scratch.extend(a.iter().flatten().map(|v| v as f64 * $scale));
            }
            Some(scratch.as_slice())
        }};
    }
    match array.data_type() {
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if a.null_count() == 0 {
                Some(a.values().as_ref())
            } else {
                scratch.clear();
                scratch.extend(a.iter().flatten());
                Some(scratch.as_slice())
            }
        }
        DataType::Float32 => fill!(Float32Type, 1.0),
        DataType::Int8 => fill!(Int8Type, 1.0),
        DataType::Int16 => fill!(Int16Type, 1.0),
        DataType::Int32 => fill!(Int32Type, 1.0),
        DataType::Int64 => fill!(Int64Type, 1.0),
        DataType::UInt8 => fill!(UInt8Type, 1.0),
        DataType::UInt16 => fill!(UInt16Type, 1.0),
        DataType::UInt32 => fill!(UInt32Type, 1.0),
        DataType::UInt64 => fill!(UInt64Type, 1.0),
        DataType::Date32 => fill!(Date32Type, 86_400.0),
        DataType::Date64 => fill!(Date64Type, 1e-3),
        DataType::Timestamp(TimeUnit::Second, _) => fill!(TimestampSecondType, 1.0),
        DataType::Timestamp(TimeUnit::Millisecond, _) => fill!(TimestampMillisecondType, 1e-3),
        DataType::Timestamp(TimeUnit::Microsecond, _) => fill!(TimestampMicrosecondType, 1e-6),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => fill!(TimestampNanosecondType, 1e-9),
        _ => None,
    }
}

/// Calls `f(row, text)` for each row of a column as text (strings as they
/// are; numbers, booleans and dates formatted); nothing for other types.
pub fn for_each_text(array: &dyn Array, mut f: impl FnMut(usize, Option<&str>)) {
    macro_rules! formatted {
        ($t:ty, $fmt:expr) => {{
            let a = array.as_primitive::<$t>();
            for (row, v) in a.iter().enumerate() {
                match v {
                    Some(v) => f(row, Some($fmt(v).as_str())),
                    None => f(row, None),
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().enumerate().for_each(|(r, v)| f(r, v)),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().enumerate().for_each(|(r, v)| f(r, v)),
        DataType::Utf8View => array.as_string_view().iter().enumerate().for_each(|(r, v)| f(r, v)),
        DataType::Dictionary(key, value) if **key == DataType::Int32 && **value == DataType::Utf8 => {
            let dict = array.as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            for (row, key) in dict.keys().iter().enumerate() {
                f(row, key.and_then(|k| usize::try_from(k).ok()).map(|k| values.value(k)));
            }
        }
        DataType::Boolean => {
            array.as_boolean().iter().enumerate().for_each(|(r, v)| f(r, v.map(|b| if b { "true" } else { "false" })))
        }
        DataType::Int8 => formatted!(Int8Type, |v: i8| v.to_string()),
        DataType::Int16 => formatted!(Int16Type, |v: i16| v.to_string()),
        DataType::Int32 => formatted!(Int32Type, |v: i32| v.to_string()),
        DataType::Int64 => formatted!(Int64Type, |v: i64| v.to_string()),
        DataType::Float32 => formatted!(Float32Type, |v: f32| v.to_string()),
        DataType::Float64 => formatted!(Float64Type, |v: f64| v.to_string()),
        DataType::Date32 => formatted!(Date32Type, |v: i32| civil_date(i64::from(v))),
        _ => {}
    }
}

/// Hashes each row's values of `arrays` into `hashes` (`valid` false where
/// any value is null). Integers hash by value whatever their width, so a
/// column written as int in one file and long in another keeps its keys.
pub fn hash_rows(arrays: &[&ArrayRef], rows: usize, hashes: &mut Vec<u64>, valid: &mut Vec<bool>) {
    hashes.clear();
    hashes.resize(rows, 0);
    valid.clear();
    valid.resize(rows, true);
    for (seed, array) in arrays.iter().enumerate() {
        let seed = seed as u64;
        macro_rules! ints {
            ($t:ty) => {{
                let a = array.as_primitive::<$t>();
                for (row, v) in a.iter().enumerate() {
                    match v {
                        Some(v) => hashes[row] = sketch::mix(hashes[row] ^ sketch::mix((v as i64 as u64) ^ seed)),
                        None => valid[row] = false,
                    }
                }
            }};
        }
        match array.data_type() {
            DataType::Int8 => ints!(Int8Type),
            DataType::Int16 => ints!(Int16Type),
            DataType::Int32 => ints!(Int32Type),
            DataType::Int64 => ints!(Int64Type),
            DataType::Date32 => ints!(Date32Type),
            DataType::Float64 => {
                for (row, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
                    match v {
                        Some(v) => hashes[row] = sketch::mix(hashes[row] ^ sketch::mix(v.to_bits() ^ seed)),
                        None => valid[row] = false,
                    }
                }
            }
            _ => for_each_text(array.as_ref(), |row, text| match text {
                Some(t) => hashes[row] = sketch::mix(hashes[row] ^ sketch::hash_bytes(t.as_bytes(), seed)),
                None => valid[row] = false,
            }),
        }
        if matches!(array.data_type(), DataType::Null) {
            valid.iter_mut().for_each(|v| *v = false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for text in ["1970-01-01", "2000-02-29", "2026-11-20", "1969-12-31"] {
            let days = civil_days(text).unwrap_or(i64::MIN);
            assert_eq!(civil_date(days), text);
        }
        assert_eq!(civil_days("2026-11-20"), Some(20_777));
        assert_eq!(civil_days("1969-12-31"), Some(-1));
    }

    #[test]
    fn impossible_dates_are_not_dates() {
        for text in ["2026-02-31", "2026-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-11-2x", "20261120"] {
            assert_eq!(civil_days(text), None, "{text}");
        }
        assert_eq!(civil_days("2024-02-29"), Some(19_782));
        // A partition folder `date=2026-02-31` is a string to Spark, not a date.
        let set = |v: &[&'static str]| v.iter().copied().collect::<BTreeSet<&str>>();
        assert_eq!(partition_type(&set(&["2026-02-28", "2026-02-31"])), "string");
        assert_eq!(partition_type(&set(&["2026-02-28", "2024-02-29"])), "date");
    }

    #[test]
    fn days_outside_the_calendar_are_written_as_a_count() {
        assert_eq!(civil_date(-719_528), "0000-01-01");
        assert_eq!(civil_date(i64::from(i32::MAX)), "2147483647");
    }

    #[test]
    fn partition_types_follow_spark_inference() {
        let set = |v: &[&'static str]| v.iter().copied().collect::<BTreeSet<&str>>();
        assert_eq!(partition_type(&set(&["2026-11-20", "2026-11-21"])), "date");
        assert_eq!(partition_type(&set(&["1", "22"])), "int");
        assert_eq!(partition_type(&set(&["9999999999"])), "long");
        assert_eq!(partition_type(&set(&["north", "1"])), "string");
    }
}
