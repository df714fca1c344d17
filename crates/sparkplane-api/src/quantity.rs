//! Typed quantities: memory sizes, CPU amounts and durations.
//!
//! Each is parsed once from the spellings users write (Spark's `4g`, `4096m`,
//! Kubernetes' `4Gi`, `500m` CPU, `1h30m`) into one canonical value, and is
//! written back in one canonical spelling. The JSON Schema of each type carries
//! a `pattern`, so a bad spelling is caught (with its location) by the schema
//! check before deserialisation, and again by the API server for the CRD.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Regular expression every memory size must match (also used in the schema).
pub const MEMORY_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?([kKmMgGtTpP]([iI]|[bB])?)$";
/// Regular expression every CPU amount must match.
pub const CPU_PATTERN: &str = r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$";
/// Regular expression every duration must match.
pub const DURATION_PATTERN: &str = r"^([0-9]+(ms|s|m|h|d))+$";

const MIB: u64 = 1024 * 1024;

/// A memory size, held in whole mebibytes (Spark's unit for memory settings).
///
/// Accepted spellings: Spark's `k`, `m`, `g`, `t`, `p` (any case, optionally with
/// `b`: `4g`, `4G`, `4gb`, all binary as Spark reads them) and Kubernetes' binary
/// `Ki`, `Mi`, `Gi`, `Ti`, `Pi`. Fractions are allowed (`1.5g`) and rounded up
/// to the next MiB. A bare number is refused: Spark reads it as MiB and
/// Kubernetes as bytes, so its meaning is ambiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MemorySize {
    mib: u64,
}

impl MemorySize {
    /// A size of `mib` mebibytes.
    pub const fn from_mib(mib: u64) -> Self {
        Self { mib }
    }
    /// A size of `gib` gibibytes.
    pub const fn from_gib(gib: u64) -> Self {
        Self { mib: gib * 1024 }
    }
    /// Whole mebibytes.
    pub const fn mib(self) -> u64 {
        self.mib
    }
    /// Bytes.
    pub const fn bytes(self) -> u64 {
        self.mib * MIB
    }
    /// Gibibytes as a float, for display and arithmetic.
    pub fn gib_f64(self) -> f64 {
        self.mib as f64 / 1024.0
    }
    /// Spark's spelling (`4096m`), the form Spark properties take.
    pub fn to_spark(self) -> String {
        format!("{}m", self.mib)
    }
    /// Kubernetes' spelling (`4Gi` when whole GiB, otherwise `4608Mi`).
    pub fn to_kubernetes(self) -> String {
        if self.mib.is_multiple_of(1024) && self.mib > 0 {
            format!("{}Gi", self.mib / 1024)
        } else {
            format!("{}Mi", self.mib)
        }
    }
    /// Adds two sizes.
    pub const fn saturating_add(self, other: Self) -> Self {
        Self { mib: self.mib.saturating_add(other.mib) }
    }
}

impl fmt::Display for MemorySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kubernetes())
    }
}

/// Why a quantity could not be parsed; the message says what is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantityError(pub String);

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QuantityError {}

/// Splits `12.5Gi` into its number and its unit.
fn split_number(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    text.split_at(end)
}

/// Parses a decimal number into a fraction `whole + num/den` without floats.
fn parse_decimal(number: &str) -> Option<(u128, u128)> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || frac.len() > 9 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (number.contains('.') && frac.is_empty()) {
        return None;
    }
    let den = 10u128.pow(frac.len() as u32);
    let value = whole.parse::<u128>().ok()? * den + if frac.is_empty() { 0 } else { frac.parse::<u128>().ok()? };
    Some((value, den))
}

impl FromStr for MemorySize {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (number, unit) = split_number(text);
        if number.is_empty() {
            return Err(QuantityError(format!(
                "`{text}` is not a memory size: write a number and a unit, e.g. `4g`, `4096m` or `4Gi`"
            )));
        }
        if unit.is_empty() {
            return Err(QuantityError(format!(
                "`{text}` has no unit, and Spark reads a bare number as MiB while Kubernetes reads bytes: write `{text}m` for MiB or `{text}Mi`"
            )));
        }
        let lower = unit.to_ascii_lowercase();
        let power = match lower.trim_end_matches(['b', 'i']) {
            "k" => 1u32,
            "m" => 2,
            "g" => 3,
            "t" => 4,
            "p" => 5,
            _ => {
                return Err(QuantityError(format!(
                    "`{text}` has an unknown unit `{unit}`: use k, m, g, t (Spark, binary) or Ki, Mi, Gi, Ti (Kubernetes)"
                )));
            }
        };
        if lower.len() > 2 || (lower.len() == 2 && !(lower.ends_with('b') || lower.ends_with('i'))) {
            return Err(QuantityError(format!(
                "`{text}` has an unknown unit `{unit}`: use k, m, g, t (Spark, binary) or Ki, Mi, Gi, Ti (Kubernetes)"
            )));
        }
        let (value, den) = parse_decimal(number)
            .ok_or_else(|| QuantityError(format!("`{text}` is not a memory size: `{number}` is not a number")))?;
        let bytes_num =
            value.checked_mul(1024u128.pow(power)).ok_or_else(|| QuantityError(format!("`{text}` is too large")))?;
        let mib_den = den * u128::from(MIB);
        let mib = bytes_num.div_ceil(mib_den);
        let mib = u64::try_from(mib).map_err(|_| QuantityError(format!("`{text}` is too large")))?;
        Ok(Self { mib })
    }
}

/// The unit Spark reads a bare number in; it differs by property.
///
/// `spark.{driver,executor}.memory`, `*.memoryOverhead`, `*.minMemoryOverhead`
/// and `spark.executor.pyspark.memory` are MiB properties;
/// `spark.memory.offHeap.size` and `spark.eventLog.rolling.maxFileSize` are
/// byte properties (Spark's `bytesConf(ByteUnit.MiB)` and `bytesConf(ByteUnit.BYTE)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparkSizeUnit {
    /// A bare number is bytes.
    Bytes,
    /// A bare number is MiB.
    Mib,
}

impl MemorySize {
    /// Reads the value of a Spark size property as Spark does, in whole MiB.
    ///
    /// Spark's own spelling is a whole number with an optional suffix `b`, `k`,
    /// `kb`, `m`, `mb`, `g`, `gb`, `t`, `tb`, `p`, `pb` (any case, binary), a
    /// bare number being in the property's `bare` unit; Spark converts to MiB
    /// by truncating, and so does this. Spellings Spark itself refuses but
    /// whose meaning is clear (fractions such as `1.5g`, Kubernetes' `4Gi`)
    /// are read as `str::parse` reads a SparkJob field (ADR 0004), so a
    /// property copied from a SparkJob field still reads.
    pub fn from_spark_property(text: &str, bare: SparkSizeUnit) -> Result<Self, QuantityError> {
        let lower = text.trim().to_ascii_lowercase();
        let (number, suffix) = split_number(&lower);
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return lower.parse();
        }
        let bytes_per_unit: u64 = match suffix {
            "" => match bare {
                SparkSizeUnit::Bytes => 1,
                SparkSizeUnit::Mib => MIB,
            },
            "b" => 1,
            "k" | "kb" => 1 << 10,
            "m" | "mb" => 1 << 20,
            "g" | "gb" => 1 << 30,
            "t" | "tb" => 1 << 40,
            "p" | "pb" => 1 << 50,
            _ => return lower.parse(),
        };
        let too_large = || QuantityError(format!("`{}` is too large", text.trim()));
        let value: u64 = number.parse().map_err(|_| too_large())?;
        let bytes = value.checked_mul(bytes_per_unit).ok_or_else(too_large)?;
        Ok(Self { mib: bytes / MIB })
    }
}

impl Serialize for MemorySize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_kubernetes())
    }
}

impl<'de> Deserialize<'de> for MemorySize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for MemorySize {
    fn schema_name() -> Cow<'static, str> {
        "MemorySize".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": MEMORY_PATTERN,
            "description": "A memory size: Spark's 4g / 4096m (binary) or Kubernetes' 4Gi."
        })
    }
    fn inline_schema() -> bool {
        true
    }
}

/// An amount of CPU, held in millicores (Kubernetes' `500m`, `1`, `1.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CpuAmount {
    millis: u64,
}

impl CpuAmount {
    /// `cores` whole cores.
    pub const fn from_cores(cores: u64) -> Self {
        Self { millis: cores * 1000 }
    }
    /// `millis` millicores.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }
    /// Millicores.
    pub const fn millis(self) -> u64 {
        self.millis
    }
    /// Kubernetes' spelling: `2` for whole cores, `500m` otherwise.
    pub fn to_kubernetes(self) -> String {
        if self.millis.is_multiple_of(1000) { (self.millis / 1000).to_string() } else { format!("{}m", self.millis) }
    }
}

impl fmt::Display for CpuAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kubernetes())
    }
}

impl FromStr for CpuAmount {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let bad = || {
            QuantityError(format!(
                "`{text}` is not a CPU amount: write whole or decimal cores (`2`, `1.5`) or millicores (`500m`)"
            ))
        };
        if let Some(millis) = text.strip_suffix('m') {
            if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            return millis.parse().map(|millis| Self { millis }).map_err(|_| bad());
        }
        let (value, den) = parse_decimal(text).ok_or_else(bad)?;
        let millis = (value * 1000).div_ceil(den);
        u64::try_from(millis).map(|millis| Self { millis }).map_err(|_| bad())
    }
}

impl Serialize for CpuAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_kubernetes())
    }
}

impl<'de> Deserialize<'de> for CpuAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(i) => i.to_string(),
            Raw::Float(f) => f.to_string(),
            Raw::Text(t) => t,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for CpuAmount {
    fn schema_name() -> Cow<'static, str> {
        "CpuAmount".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-kubernetes-int-or-string": true,
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": CPU_PATTERN}],
            "description": "A CPU amount: cores (2, 1.5) or millicores (500m)."
        })
    }
    fn inline_schema() -> bool {
        true
    }
}

/// A span of time, held in milliseconds (`90s`, `10m`, `1h30m`, `7d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

impl Duration {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self { millis: secs * 1000 }
    }
    /// `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }
    /// As a standard library duration.
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }
    /// Whole seconds (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.millis / 1000
    }
    /// Milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.millis;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl FromStr for Duration {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || QuantityError(format!("`{text}` is not a duration: write e.g. `90s`, `10m`, `1h30m` or `7d`"));
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        let mut millis: u64 = 0;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            if digits == 0 {
                return Err(bad());
            }
            let value: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let (unit, size) = [("ms", 1u64), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
                .into_iter()
                .find(|(unit, _)| rest.starts_with(unit) && !(unit == &"m" && rest.starts_with("ms")))
                .ok_or_else(bad)?;
            rest = &rest[unit.len()..];
            millis = value.checked_mul(size).and_then(|v| millis.checked_add(v)).ok_or_else(bad)?;
        }
        Ok(Self { millis })
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: 90s, 10m, 1h30m, 7d."
        })
    }
    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_accepts_spark_and_kubernetes_spellings() {
        for (text, mib) in [
            ("4g", 4096),
            ("4G", 4096),
            ("4gb", 4096),
            ("4096m", 4096),
            ("4096M", 4096),
            ("4Gi", 4096),
            ("512Mi", 512),
            ("1.5g", 1536),
            ("1t", 1024 * 1024),
            ("2048k", 2),
            ("1k", 1),
        ] {
            assert_eq!(text.parse::<MemorySize>().map(|m| m.mib()), Ok(mib), "{text}");
        }
    }

    #[test]
    fn memory_refuses_ambiguous_and_unknown_spellings() {
        let err = "4096".parse::<MemorySize>().unwrap_err().0;
        assert!(err.contains("has no unit"), "{err}");
        assert!(err.contains("`4096m`"), "{err}");
        let err = "4 bananas".parse::<MemorySize>().unwrap_err().0;
        assert!(err.contains("unknown unit"), "{err}");
        assert!("g".parse::<MemorySize>().is_err());
        assert!("4.g".parse::<MemorySize>().is_err());
        assert!("4gib".parse::<MemorySize>().is_err());
    }

    #[test]
    fn spark_properties_read_as_spark_reads_them() {
        use SparkSizeUnit::{Bytes, Mib};
        let read = |text: &str, unit| MemorySize::from_spark_property(text, unit).map(MemorySize::mib);
        assert_eq!(read("4096", Mib), Ok(4096));
        assert_eq!(read(" 4G ", Mib), Ok(4096));
        assert_eq!(read("2gb", Mib), Ok(2048));
        assert_eq!(read("1073741824", Bytes), Ok(1024));
        // Spark truncates to whole MiB.
        assert_eq!(read("1048577b", Mib), Ok(1));
        assert_eq!(read("2147483649", Bytes), Ok(2048));
        assert_eq!(read("512k", Mib), Ok(0));
        // Spellings Spark refuses but whose meaning is clear read as SparkJob fields do.
        assert_eq!(read("1.5g", Mib), Ok(1536));
        assert_eq!(read("4Gi", Bytes), Ok(4096));
        assert!(read("lots", Mib).is_err());
        assert!(read("", Mib).is_err());
        assert!(read("4x", Mib).is_err());
        assert!(read("99999999999999999999", Bytes).is_err());
        assert!(read("9999999999p", Mib).is_err());
    }

    #[test]
    fn memory_spellings_round_trip() {
        assert_eq!(MemorySize::from_mib(4096).to_kubernetes(), "4Gi");
        assert_eq!(MemorySize::from_mib(4608).to_kubernetes(), "4608Mi");
        assert_eq!(MemorySize::from_mib(4608).to_spark(), "4608m");
    }

    #[test]
    fn cpu_amounts() {
        assert_eq!("500m".parse::<CpuAmount>().map(CpuAmount::millis), Ok(500));
        assert_eq!("1.5".parse::<CpuAmount>().map(CpuAmount::millis), Ok(1500));
        assert_eq!("2".parse::<CpuAmount>().map(CpuAmount::millis), Ok(2000));
        assert!("two".parse::<CpuAmount>().is_err());
        assert!("m".parse::<CpuAmount>().is_err());
        assert_eq!(CpuAmount::from_millis(1500).to_kubernetes(), "1500m");
        assert_eq!(CpuAmount::from_cores(3).to_kubernetes(), "3");
    }

    #[test]
    fn durations() {
        assert_eq!("1h30m".parse::<Duration>().map(Duration::as_secs), Ok(5400));
        assert_eq!("250ms".parse::<Duration>().map(Duration::as_millis), Ok(250));
        assert_eq!("7d".parse::<Duration>().map(Duration::as_secs), Ok(604_800));
        assert!("10".parse::<Duration>().is_err());
        assert!("h".parse::<Duration>().is_err());
        assert!("10x".parse::<Duration>().is_err());
        assert_eq!(Duration::from_secs(5400).to_string(), "1h30m");
    }
}
