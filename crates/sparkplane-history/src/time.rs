//! Dates as Spark's REST API writes and reads them.
//!
//! Owns: formatting epoch milliseconds as `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'` (the
//! format of every date in `/api/v1` answers) and parsing the date parameters
//! (`minDate`, `maxEndDate`, …) in the two forms Spark accepts:
//! `yyyy-MM-dd'T'HH:mm:ss.SSSz` and `yyyy-MM-dd` (GMT).
//!
//! Calendar arithmetic is jiff's. Must not: read the clock or depend on the
//! machine's time zone.

/// `2015-02-03T16:42:59.720GMT` for 1422981779720.
pub fn format_gmt(epoch_ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(epoch_ms) {
        Ok(at) => at.strftime("%Y-%m-%dT%H:%M:%S%.3fGMT").to_string(),
        Err(_) => String::new(),
    }
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
    // jiff checks the calendar (no 2015-02-31) and the clock.
    let date = jiff::civil::Date::strptime("%Y-%m-%d", text.get(..10)?).ok()?;
    let rest = &text[10..];
    if rest.is_empty() {
        return date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_millisecond());
    }
    let clock = rest.strip_prefix('T')?.get(..12)?;
    let time = jiff::civil::Time::strptime("%H:%M:%S%.f", clock).ok()?;
    if clock.len() != 12 || clock.as_bytes()[8] != b'.' {
        return None;
    }
    let offset = zone_offset_ms(&rest[13..])?;
    let local = date.to_datetime(time).to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_millisecond();
    Some(local - offset)
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
        assert_eq!(parse_date("2015-02-31"), None);
        assert_eq!(parse_date("2015-02-03T24:00:00.000GMT"), None);
        assert_eq!(parse_date("2015-02-03T16:42:59.720CST"), None);
        assert_eq!(parse_date(""), None);
    }
}
