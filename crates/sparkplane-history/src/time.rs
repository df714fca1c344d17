//! Dates as Spark's REST API writes and reads them.
//!
//! Owns: formatting epoch milliseconds as `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'` (the
//! format of every date in `/api/v1` answers) and parsing the date parameters
//! (`minDate`, `maxEndDate`, …) in the two forms Spark accepts:
//! `yyyy-MM-dd'T'HH:mm:ss.SSSz` and `yyyy-MM-dd` (GMT).
//!
//! Parsing's calendar arithmetic is jiff's; formatting writes the digits itself
//! for years 0 to 9998 (checked against jiff's in a test). Must not: read the clock or depend on the
//! machine's time zone.

/// `2015-02-03T16:42:59.720GMT` for 1422981779720.
pub fn format_gmt(epoch_ms: i64) -> String {
    let mut out = String::with_capacity(26);
    write_gmt(&mut out, epoch_ms);
    out
}

/// Appends [`format_gmt`]'s text to `out`. Years 0 to 9998 are written
/// directly (an application list writes three dates per attempt, 300,000 for
/// a fleet of 100,000); other instants as jiff writes them (nothing where jiff
/// has no timestamp: from the last days of 9999 on).
pub fn write_gmt(out: &mut String, epoch_ms: i64) {
    let days = epoch_ms.div_euclid(86_400_000);
    let in_day = epoch_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9998).contains(&year) {
        if let Ok(at) = jiff::Timestamp::from_millisecond(epoch_ms) {
            out.push_str(&at.strftime("%Y-%m-%dT%H:%M:%S%.3fGMT").to_string());
        }
        return;
    }
    let fields = [
        (year, 4, b'-'),
        (i64::from(month), 2, b'-'),
        (i64::from(day), 2, b'T'),
        (in_day / 3_600_000, 2, b':'),
        (in_day / 60_000 % 60, 2, b':'),
        (in_day / 1000 % 60, 2, b'.'),
        (in_day % 1000, 3, b'G'),
    ];
    let mut text = [0u8; 26];
    let mut at = 0;
    for (value, digits, after) in fields {
        let mut rest = value;
        for i in (0..digits).rev() {
            // `value` is 0..=9998 and fits its digits, so each is 0..=9.
            text[at + i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        at += digits;
        text[at] = after;
        at += 1;
    }
    text[at..].copy_from_slice(b"MT");
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01
/// (H. Hinnant's `civil_from_days`, exact for every `i64` day jiff can write).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era.saturating_mul(400) + i64::from(month <= 2);
    (year, month, day)
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

    /// jiff's formatting, which `write_gmt` replaces for years 0 to 9998.
    fn by_jiff(epoch_ms: i64) -> String {
        jiff::Timestamp::from_millisecond(epoch_ms)
            .map(|at| at.strftime("%Y-%m-%dT%H:%M:%S%.3fGMT").to_string())
            .unwrap_or_default()
    }

    #[test]
    fn formats_as_jiff_does_over_the_calendar() {
        let edges = [
            0,
            -1,
            1,
            86_399_999,
            86_400_000,
            951_782_400_000,     // 2000-02-29
            4_107_542_400_000,   // 2100-03-01
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001,
            253_370_764_799_999, // 9998-12-31T23:59:59.999
            253_370_764_800_000, // 9999-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999, past jiff's last timestamp
            253_402_300_800_000,
            i64::MIN,
            i64::MAX,
        ];
        for ms in edges {
            assert_eq!(format_gmt(ms), by_jiff(ms), "{ms}");
        }
        // Instants spread over years -100 to 10100, a step that is not a whole number of days.
        let mut ms = -65_300_000_000_000i64;
        while ms < 256_600_000_000_000 {
            assert_eq!(format_gmt(ms), by_jiff(ms), "{ms}");
            ms += 7_919_876_543;
        }
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
