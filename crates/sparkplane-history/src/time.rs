//! Dates as Spark's REST API writes and reads them.
//!
//! Owns: formatting epoch milliseconds as `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'` (the
//! format of every date in `/api/v1` answers) and parsing the date parameters
//! (`minDate`, `maxEndDate`, …) in the two forms Spark accepts:
//! `yyyy-MM-dd'T'HH:mm:ss.SSSz` and `yyyy-MM-dd` (GMT).
//!
//! Must not: read the clock or depend on the machine's time zone.

/// Days since 1970-01-01 for a proleptic Gregorian date (the well-known
/// days-from-civil calculation).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2015-02-03T16:42:59.720GMT` for 1422981779720.
pub fn format_gmt(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let in_day = epoch_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, ms) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}GMT")
}

fn number(text: &str, digits: usize) -> Option<i64> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

fn zone_offset_ms(zone: &str) -> Option<i64> {
    match zone {
        "GMT" | "UTC" | "Z" => return Some(0),
        _ => {}
    }
    let rest = zone.strip_prefix("GMT").or_else(|| zone.strip_prefix("UTC")).unwrap_or(zone);
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (number(h, 2)?, number(m, 2)?),
        None if rest.len() == 4 => (number(&rest[..2], 2)?, number(&rest[2..], 2)?),
        None => return None,
    };
    Some(sign * (h * 3_600_000 + m * 60_000))
}

/// Parses a date parameter as Spark does: `yyyy-MM-dd'T'HH:mm:ss.SSSz` (zone
/// `GMT`, `UTC`, `Z` or an offset such as `+01:00`) or `yyyy-MM-dd` (midnight
/// GMT). `None` when it is neither.
pub fn parse_date(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    let (year, month, day) = (number(date.get(..4)?, 4)?, number(date.get(5..7)?, 2)?, number(date.get(8..10)?, 2)?);
    if date.as_bytes()[4] != b'-'
        || date.as_bytes()[7] != b'-'
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let midnight = days_from_civil(year, month, day) * 86_400_000;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(midnight);
    }
    let time = rest.strip_prefix('T')?;
    let clock = time.get(..12)?;
    let b = clock.as_bytes();
    if b[2] != b':' || b[5] != b':' || b[8] != b'.' {
        return None;
    }
    let (h, m, s, ms) =
        (number(&clock[..2], 2)?, number(&clock[3..5], 2)?, number(&clock[6..8], 2)?, number(&clock[9..12], 3)?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let offset = zone_offset_ms(&time[12..])?;
    Some(midnight + h * 3_600_000 + m * 60_000 + s * 1000 + ms - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_spark() {
        assert_eq!(format_gmt(1422981779720), "2015-02-03T16:42:59.720GMT");
        assert_eq!(format_gmt(-1), "1969-12-31T23:59:59.999GMT");
        assert_eq!(format_gmt(0), "1970-01-01T00:00:00.000GMT");
    }

    #[test]
    fn parses_both_forms_and_rejects_others() {
        assert_eq!(parse_date("2015-02-03T16:42:59.720GMT"), Some(1422981779720));
        assert_eq!(parse_date("2015-02-03T17:42:59.720+01:00"), Some(1422981779720));
        assert_eq!(parse_date("2015-02-10"), Some(1423526400000));
        assert_eq!(parse_date("2015-02-1x"), None);
        assert_eq!(parse_date("2015-13-01"), None);
        assert_eq!(parse_date("2015-02-03T16:42:59.720CST"), None);
        assert_eq!(parse_date(""), None);
    }
}
