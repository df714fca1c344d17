//! Kubernetes resource quantities (`4Gi`, `7910m`, `1e3`, `129G`) read with
//! the API server's grammar and turned into the typed values sparkplane
//! computes with: bytes, [`MemorySize`], [`CpuAmount`] and plain counts.
//!
//! This module owns the reading of quantities that come *from Kubernetes*:
//! node allocatable, node-pool reservations and pod overheads, quota hard
//! limits and usage. It is exact (no floating point): a quantity is held as
//! `digits × 10^exp10 × 2^exp2`, and every conversion says whether it rounds
//! down (capacities: what a node or quota offers) or up (demands: what is
//! taken or asked for), so a rounding error can never make a job look like it
//! fits when it does not.
//!
//! It must not read the spellings users write in a SparkJob (`4g`, `4096m` as
//! MiB): those are `sparkplane_api::quantity`'s, where `m` means mebibytes
//! rather than Kubernetes' milli.
//!
//! Grammar (as the API server reads it):
//! `[+-] digits[.digits] suffix`, where the suffix is one of the decimal SI
//! suffixes `n u m "" k M G T P E`, a binary suffix `Ki Mi Gi Ti Pi Ei`, or a
//! decimal exponent `e<int>` / `E<int>` (`1E` alone is one exa, `1E3` is 1000).

use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use sparkplane_api::quantity::QuantityError;
use sparkplane_api::{CpuAmount, MemorySize};

/// What a quantity may look like, for error messages.
const ACCEPTED: &str = "write a number with an optional sign and fraction, then a decimal suffix \
     (n, u, m, k, M, G, T, P, E), a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei) or an exponent \
     (e3), e.g. `4Gi`, `129G`, `7910m` or `1e3`";

/// Most significant digits held exactly (u128 holds 38 decimal digits).
const MAX_DIGITS: usize = 38;

/// Largest decimal exponent accepted; anything beyond is not a resource amount.
const MAX_EXPONENT: i32 = 1000;

const MIB: u128 = 1024 * 1024;

/// Which way a conversion rounds when the quantity is not a whole number of
/// the target unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Toward zero: for capacities (allocatable, quota hard limits), so a
    /// node or quota never looks larger than it is.
    Down,
    /// Away from zero: for demands (reservations, pod overhead, quota usage),
    /// so what is taken never looks smaller than it is.
    Up,
}

/// A Kubernetes quantity, held exactly as `± digits × 10^exp10 × 2^exp2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KubeQuantity {
    negative: bool,
    digits: u128,
    exp10: i32,
    exp2: u32,
}

impl KubeQuantity {
    /// Whether the quantity is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative && self.digits != 0
    }

    /// The magnitude × 10^`scale` as a whole number, rounded as asked, or
    /// None when it does not fit in 128 bits.
    pub fn scaled_magnitude(&self, scale: i32, rounding: Rounding) -> Option<u128> {
        if self.digits == 0 {
            return Some(0);
        }
        let n = self.digits.checked_mul(1u128.checked_shl(self.exp2)?)?;
        let exp = self.exp10.checked_add(scale)?;
        if exp >= 0 {
            return n.checked_mul(10u128.checked_pow(exp.unsigned_abs())?);
        }
        match 10u128.checked_pow(exp.unsigned_abs()) {
            Some(divisor) => Some(match rounding {
                Rounding::Down => n / divisor,
                Rounding::Up => n.div_ceil(divisor),
            }),
            // The divisor exceeds any u128, so the value is below one unit.
            None => Some(match rounding {
                Rounding::Down => 0,
                Rounding::Up => 1,
            }),
        }
    }
}

fn bad(text: &str, why: &str) -> QuantityError {
    QuantityError(format!("`{text}` is not a Kubernetes quantity: {why}; {ACCEPTED}"))
}

/// Parses the suffix into (exp10, exp2).
fn parse_suffix(text: &str, suffix: &str) -> Result<(i32, u32), QuantityError> {
    let decimal = |exp10| Ok((exp10, 0));
    let binary = |exp2| Ok((0, exp2));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or_else(|| bad(text, &format!("the suffix `{suffix}` is unknown")))?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(text, &format!("the suffix `{suffix}` is unknown")));
            }
            let value: i32 = exponent
                .parse()
                .ok()
                .filter(|v: &i32| v.abs() <= MAX_EXPONENT)
                .ok_or_else(|| bad(text, &format!("the exponent `{exponent}` is out of range")))?;
            decimal(value)
        }
    }
}

impl FromStr for KubeQuantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(bad(text, "it is empty"));
        }
        let (negative, rest) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad(text, "it does not start with a number"));
        }
        if fraction.contains('.') {
            return Err(bad(text, &format!("`{number}` has more than one decimal point")));
        }
        let (exp10, exp2) = parse_suffix(text, suffix)?;
        // Trailing zeros of the fraction add nothing; leading zeros of the
        // whole part neither. Only significant digits count toward the limit.
        let fraction = fraction.trim_end_matches('0');
        let significant = format!("{whole}{fraction}");
        let significant = significant.trim_start_matches('0');
        if significant.len() > MAX_DIGITS {
            return Err(bad(text, &format!("it has more than {MAX_DIGITS} significant digits")));
        }
        let digits = if significant.is_empty() {
            0
        } else {
            significant.parse::<u128>().map_err(|_| bad(text, "the number is malformed"))?
        };
        let exp10 = i32::try_from(fraction.len())
            .ok()
            .and_then(|len| exp10.checked_sub(len))
            .ok_or_else(|| bad(text, "the fraction is too long"))?;
        Ok(Self { negative, digits, exp10, exp2 })
    }
}

/// Parses `quantity` and returns its magnitude × 10^`scale` in whole units,
/// refusing negative values and values too large for a u64.
fn whole_units(quantity: &Quantity, scale: i32, rounding: Rounding, what: &str) -> Result<u64, QuantityError> {
    let text = quantity.0.as_str();
    let parsed: KubeQuantity = text.parse()?;
    if parsed.is_negative() {
        return Err(QuantityError(format!("`{text}` is negative, and {what} cannot be")));
    }
    parsed
        .scaled_magnitude(scale, rounding)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| QuantityError(format!("`{text}` is too large for {what}")))
}

/// Memory in bytes; a fraction of a byte (Kubernetes allows `1500m` bytes) is dropped.
pub fn memory_bytes(quantity: &Quantity) -> Result<u64, QuantityError> {
    whole_units(quantity, 0, Rounding::Down, "an amount of memory")
}

/// Memory in whole MiB, rounded as asked: [`Rounding::Down`] for capacities,
/// [`Rounding::Up`] for demands.
pub fn memory_size(quantity: &Quantity, rounding: Rounding) -> Result<MemorySize, QuantityError> {
    let bytes = u128::from(whole_units(quantity, 0, rounding, "an amount of memory")?);
    let mib = match rounding {
        Rounding::Down => bytes / MIB,
        Rounding::Up => bytes.div_ceil(MIB),
    };
    // Bytes fit a u64, so MiB do too.
    Ok(MemorySize::from_mib(mib as u64))
}

/// CPU in whole millicores, rounded as asked (`7910m` → 7910, `0.5` → 500,
/// `100n` → 0 down or 1 up).
pub fn cpu_amount(quantity: &Quantity, rounding: Rounding) -> Result<CpuAmount, QuantityError> {
    whole_units(quantity, 3, rounding, "an amount of CPU").map(CpuAmount::from_millis)
}

/// A count of whole things (pods, GPUs, other extended resources), rounded as asked.
pub fn count(quantity: &Quantity, rounding: Rounding) -> Result<u64, QuantityError> {
    whole_units(quantity, 0, rounding, "a count")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_string())
    }

    #[test]
    fn memory_bytes_follow_kubernetes_suffixes() {
        for (text, bytes) in [
            ("0", 0u64),
            ("1", 1),
            ("4G", 4_000_000_000),
            ("129Gi", 129 * (1 << 30)),
            ("1Ki", 1024),
            ("1k", 1000),
            ("1M", 1_000_000),
            ("1Mi", 1 << 20),
            ("1T", 1_000_000_000_000),
            ("1Ti", 1 << 40),
            ("1P", 1_000_000_000_000_000),
            ("1Pi", 1 << 50),
            ("1E", 1_000_000_000_000_000_000),
            ("1Ei", 1 << 60),
            ("1e3", 1000),
            ("1E3", 1000),
            ("1e+3", 1000),
            ("25e-1", 2),
            ("1.5Gi", 3 << 29),
            ("0.5Ki", 512),
            (".5Ki", 512),
            ("5.", 5),
            ("+7", 7),
            ("32617796Ki", 32_617_796 * 1024),
            ("1500m", 1),
            ("107374182400m", 107_374_182),
            ("1.000000000000000000000000000000000000000000000000Gi", 1 << 30),
            ("0000000000000000000000000000000000000000000000000012k", 12_000),
        ] {
            assert_eq!(memory_bytes(&q(text)), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn memory_sizes_round_as_asked() {
        for (text, down, up) in [
            ("8Gi", 8192, 8192),
            ("4G", 3814, 3815),
            ("512Mi", 512, 512),
            ("1", 0, 1),
            ("0", 0, 0),
            ("1048577", 1, 2),
            ("32617796Ki", 31_853, 31_854),
        ] {
            assert_eq!(memory_size(&q(text), Rounding::Down).map(MemorySize::mib), Ok(down), "{text} down");
            assert_eq!(memory_size(&q(text), Rounding::Up).map(MemorySize::mib), Ok(up), "{text} up");
        }
    }

    #[test]
    fn cpu_amounts_round_as_asked() {
        for (text, down, up) in [
            ("8", 8000, 8000),
            ("7910m", 7910, 7910),
            ("0.5", 500, 500),
            ("1.0001", 1000, 1001),
            ("100n", 0, 1),
            ("1500u", 1, 2),
            ("1e-3", 1, 1),
            ("2k", 2_000_000, 2_000_000),
            ("0.000000000000000000000000000000000000000000000001", 0, 1),
        ] {
            assert_eq!(cpu_amount(&q(text), Rounding::Down).map(CpuAmount::millis), Ok(down), "{text} down");
            assert_eq!(cpu_amount(&q(text), Rounding::Up).map(CpuAmount::millis), Ok(up), "{text} up");
        }
    }

    #[test]
    fn tiny_values_below_the_largest_divisor_round_to_zero_or_one() {
        let tiny: KubeQuantity = "1e-900".parse().unwrap();
        assert_eq!(tiny.scaled_magnitude(0, Rounding::Down), Some(0));
        assert_eq!(tiny.scaled_magnitude(0, Rounding::Up), Some(1));
        let zero: KubeQuantity = "0e900".parse().unwrap();
        assert_eq!(zero.scaled_magnitude(0, Rounding::Up), Some(0));
    }

    #[test]
    fn counts() {
        assert_eq!(count(&q("110"), Rounding::Down), Ok(110));
        assert_eq!(count(&q("1"), Rounding::Down), Ok(1));
        assert_eq!(count(&q("1500m"), Rounding::Down), Ok(1));
        assert_eq!(count(&q("1500m"), Rounding::Up), Ok(2));
        assert_eq!(count(&q("1k"), Rounding::Up), Ok(1000));
    }

    #[test]
    fn malformed_quantities_name_the_text_and_what_is_accepted() {
        for (text, why) in [
            ("", "it is empty"),
            ("Gi", "does not start with a number"),
            ("-", "does not start with a number"),
            (".", "does not start with a number"),
            ("1GB", "the suffix `GB` is unknown"),
            ("4g", "the suffix `g` is unknown"),
            ("1 Gi", "the suffix ` Gi` is unknown"),
            (" 1", "does not start with a number"),
            ("1.2.3", "more than one decimal point"),
            ("1e", "the suffix `e` is unknown"),
            ("1e+", "the suffix `e+` is unknown"),
            ("1ei", "the suffix `ei` is unknown"),
            ("1Ki5", "the suffix `Ki5` is unknown"),
            ("--1", "does not start with a number"),
            ("1e1001", "the exponent `1001` is out of range"),
            ("1e99999999999", "out of range"),
            ("123456789012345678901234567890123456789", "more than 38 significant digits"),
        ] {
            let err = text.parse::<KubeQuantity>().unwrap_err().0;
            assert!(err.starts_with(&format!("`{text}` is not a Kubernetes quantity")), "{text}: {err}");
            assert!(err.contains(why), "{text}: {err}");
            assert!(err.contains("Ki, Mi, Gi"), "{text}: {err}");
        }
    }

    #[test]
    fn negative_and_oversized_values_are_refused_by_conversions() {
        assert!("-1".parse::<KubeQuantity>().unwrap().is_negative());
        assert!(!"-0".parse::<KubeQuantity>().unwrap().is_negative());
        let err = memory_size(&q("-1Gi"), Rounding::Down).unwrap_err().0;
        assert_eq!(err, "`-1Gi` is negative, and an amount of memory cannot be");
        let err = cpu_amount(&q("-500m"), Rounding::Up).unwrap_err().0;
        assert!(err.contains("is negative"), "{err}");
        let err = memory_bytes(&q("100Ei")).unwrap_err().0;
        assert_eq!(err, "`100Ei` is too large for an amount of memory");
        assert!(memory_bytes(&q("15Ei")).is_ok());
        assert!(cpu_amount(&q("1e300"), Rounding::Down).unwrap_err().0.contains("too large"));
        assert_eq!(memory_size(&q("-0"), Rounding::Down), Ok(MemorySize::from_mib(0)));
    }
}
