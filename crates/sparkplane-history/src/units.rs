//! Spark's formats of sizes and counts, shared by the REST API (an SQL
//! metric's value) and the pages.
//!
//! Owns: bytes as `Utils.bytesToString` writes them and integers grouped by
//! thousands as Spark's `NumberFormat` (US) writes them. Must not: know a
//! page, a route or a payload (both `api` and `ui` read it; it reads neither).

/// Bytes as Spark shows them (`Utils.bytesToString`: one decimal, a unit
/// once the value reaches twice it).
pub fn bytes(n: i64) -> String {
    const UNITS: [(&str, u32); 6] = [("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    let size = n as f64;
    for (unit, shift) in UNITS {
        let one = (1u64 << shift) as f64;
        if size.abs() >= 2.0 * one {
            return format!("{:.1} {unit}", size / one);
        }
    }
    format!("{size:.1} B")
}

/// `1234567` as `1,234,567`.
pub fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
