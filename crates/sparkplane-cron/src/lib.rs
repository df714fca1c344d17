//! Cron expressions as a Kubernetes CronJob reads them.
//!
//! A schedule is checked against the grammar of Kubernetes' CronJob parser
//! (robfig/cron's standard parser): exactly five fields (minute, hour,
//! day of month, month, day of week), `*` and `?`, numbers, ranges `a-b`,
//! steps `*/n`, `a-b/n` and `a/n`, lists `a,b`, the names JAN–DEC and
//! SUN–SAT, and the descriptors `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight` and `@hourly`. Quartz's `L`, `W` and `#`,
//! day of week 7, six fields and `TZ=` prefixes are refused, since the API
//! server would refuse them at apply. Kubeflow's `@every <duration>` is
//! turned into the five-field expression that fires at the same interval when
//! there is one ([`every_to_cron`]).
//!
//! Owns: which cron expressions a schedule may hold, and the one parse into
//! a `croner::Cron` that validation, import and the operator share, and the
//! longest gap between two ticks ([`longest_gap`], which backup checks and
//! the operator's schedule both read). Must not: decide what runs at a tick
//! (`sparkplane_lifecycle::schedule`) or know about documents and spans
//! (callers attach the field path and location).

use std::fmt;
use std::time::Duration;

use croner::Cron;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Why an expression is not a schedule Kubernetes accepts, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CronError {}

const FIVE_FIELDS_HELP: &str = "write five fields, e.g. \"0 3 * * *\", or @hourly/@daily/@weekly/@monthly";

fn error(message: impl Into<String>, help: impl Into<String>) -> CronError {
    CronError { message: message.into(), help: help.into() }
}

/// One field of a five-field expression.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[] },
    Field { name: "hour", min: 0, max: 23, names: &[] },
    Field { name: "day of month", min: 1, max: 31, names: &[] },
    Field { name: "month", min: 1, max: 12, names: MONTHS },
    Field { name: "day of week", min: 0, max: 6, names: WEEKDAYS },
];

/// The five-field form of a descriptor Kubernetes accepts (matched exactly, as Kubernetes does).
fn descriptor(text: &str) -> Option<&'static str> {
    Some(match text {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// Checks `text` as Kubernetes would and parses it for computing ticks.
/// `@every` is refused here (a SparkJob writes the cron form; see [`every_to_cron`]).
pub fn parse(text: &str) -> Result<croner::Cron, CronError> {
    let five = check(text)?;
    five.parse::<croner::Cron>().map_err(|e| error(e.to_string(), FIVE_FIELDS_HELP))
}

/// Checks `text` against Kubernetes' CronJob grammar; returns its five-field
/// form as croner reads it the same way (descriptors spelled out, names as
/// numbers, `?` as `*`, `a/n` as `a-max/n`).
pub fn check(text: &str) -> Result<String, CronError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error("it is empty", FIVE_FIELDS_HELP));
    }
    if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
        return Err(error(
            "Kubernetes refuses a time zone inside the expression",
            "remove the `TZ=` prefix and set `spec.schedule.timeZone` instead",
        ));
    }
    if trimmed.starts_with('@') {
        if let Some(five) = descriptor(trimmed) {
            return Ok(five.to_owned());
        }
        if let Some(interval) = trimmed.strip_prefix("@every") {
            let help = match every_to_cron(trimmed) {
                Ok(five) => format!("write `{five}`, which fires at the same interval on the clock"),
                Err(why) => why.help,
            };
            return Err(error(
                format!("`@every{interval}` is an interval, which a SparkJob schedule does not take"),
                help,
            ));
        }
        return Err(error(
            format!("`{trimmed}` is not a descriptor Kubernetes knows"),
            "use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly (lower case), or five fields",
        ));
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(error(
            format!(
                "it has {} fields; Kubernetes CronJobs take 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            ),
            FIVE_FIELDS_HELP,
        ));
    }
    let mut five = Vec::with_capacity(5);
    for (text, field) in fields.iter().zip(&FIELDS) {
        five.push(check_field(text, field)?);
    }
    Ok(five.join(" "))
}

fn check_field(text: &str, field: &Field) -> Result<String, CronError> {
    let mut parts = Vec::new();
    for part in text.split(',') {
        let part = check_part(part, field).map_err(|why| {
            let help = match why.help.is_empty() {
                true => range_help(field),
                false => why.help,
            };
            error(format!("the {} field `{text}`: {}", field.name, why.message), help)
        })?;
        parts.push(part);
    }
    Ok(parts.join(","))
}

fn range_help(field: &Field) -> String {
    let names = match field.names.first().zip(field.names.last()) {
        Some((first, last)) => format!(" or the names {}–{}", first.to_uppercase(), last.to_uppercase()),
        None => String::new(),
    };
    format!(
        "write five fields, e.g. \"0 3 * * *\"; the {} field takes *, ?, numbers {}–{}{names}, ranges a-b, steps */n or a-b/n, and lists a,b",
        field.name, field.min, field.max
    )
}

fn check_part(part: &str, field: &Field) -> Result<String, CronError> {
    if let Some(what) = quartz_extension(part, field) {
        return Err(error(
            format!("{what} is a Quartz extension that Kubernetes does not accept"),
            "write the days explicitly, e.g. `28-31` or `1-7` with a day of week, or run the job more often and check the date in it",
        ));
    }
    if part.is_empty() {
        return Err(error("an empty list item", ""));
    }
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => {
            if step.contains('/') {
                return Err(error("more than one `/`", ""));
            }
            let step = number(step)?;
            if step == 0 {
                return Err(error("a step of 0", "a step is a positive number, e.g. */5"));
            }
            (range, Some(step))
        }
        None => (part, None),
    };
    let step_text = step.map(|n| format!("/{n}")).unwrap_or_default();
    if range == "*" || range == "?" {
        return Ok(format!("*{step_text}"));
    }
    let (start, end) = match range.split_once('-') {
        Some((low, high)) => {
            if high.contains('-') {
                return Err(error("more than one `-`", ""));
            }
            (value(low, field)?, value(high, field)?)
        }
        None => {
            let start = value(range, field)?;
            (start, if step.is_some() { field.max } else { start })
        }
    };
    if start < field.min {
        return Err(error(format!("{start} is below the minimum of {}", field.min), ""));
    }
    if end > field.max {
        return Err(error(format!("{end} is above the maximum of {}", field.max), ""));
    }
    if start > end {
        return Err(error(format!("the range starts at {start}, after its end {end}"), ""));
    }
    Ok(if start == end && step.is_none() { start.to_string() } else { format!("{start}-{end}{step_text}") })
}

/// Quartz's `L`, `W` and `#` (which croner accepts and Kubernetes does not), named.
fn quartz_extension(part: &str, field: &Field) -> Option<&'static str> {
    if part.contains('#') {
        return Some("`#` (nth weekday of the month)");
    }
    part.split(['-', '/']).find_map(|token| {
        if field.names.iter().any(|n| n.eq_ignore_ascii_case(token)) {
            return None;
        }
        let upper = token.to_ascii_uppercase();
        let digits = upper.trim_end_matches(['L', 'W']);
        if digits.len() == upper.len() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(if upper.ends_with('W') { "`W` (nearest weekday)" } else { "`L` (last)" })
    })
}

fn number(text: &str) -> Result<u32, CronError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error(format!("`{text}` is not a number"), ""));
    }
    text.parse::<u32>().map_err(|_| error(format!("`{text}` is too large"), ""))
}

fn value(text: &str, field: &Field) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(field.min + i as u32);
    }
    number(text).map_err(|_| match field.names.is_empty() {
        true => error(format!("`{text}` is not a number"), ""),
        false => error(format!("`{text}` is neither a number nor a {} name", field.name), ""),
    })
}

/// Turns Kubeflow's `@every <duration>` (Go's duration syntax) into the
/// five-field expression that fires at the same interval, aligned to the
/// clock: `@every 5m` → `*/5 * * * *`, `@every 1h` → `0 * * * *`, `@every 24h`
/// → `0 0 * * *`, `@every 168h` → `0 0 * * 0`. Intervals a cron expression
/// cannot keep (7 minutes, 90 seconds, 5 hours, 2 days) are errors that say why.
pub fn every_to_cron(text: &str) -> Result<String, CronError> {
    let text = text.trim();
    let interval = text.strip_prefix("@every").map(str::trim).unwrap_or(text);
    let shown = format!("@every {interval}");
    const HELP: &str = "use an interval that divides an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes), whole hours that divide a day (1, 2, 3, 4, 6, 8 or 12h), 24h or 168h, or write a cron expression";
    let nanos = go_duration_nanos(interval).map_err(|why| {
        error(format!("`{shown}`: `{interval}` is not a duration: {why}"), "write a duration such as 5m, 1h or 24h")
    })?;
    const MINUTE: u128 = 60_000_000_000;
    if nanos == 0 || !nanos.is_multiple_of(MINUTE) {
        return Err(error(
            format!(
                "`{shown}` cannot be a cron schedule: it is not a whole number of minutes, and cron counts minutes"
            ),
            HELP,
        ));
    }
    let minutes = nanos / MINUTE;
    if minutes < 60 {
        return match 60 % minutes {
            0 if minutes == 1 => Ok("* * * * *".to_owned()),
            0 => Ok(format!("*/{minutes} * * * *")),
            _ => Err(error(
                format!(
                    "`{shown}` cannot be a cron schedule: {minutes} minutes does not divide an hour, and a cron step starts again at every hour"
                ),
                HELP,
            )),
        };
    }
    if !minutes.is_multiple_of(60) {
        return Err(error(
            format!("`{shown}` cannot be a cron schedule: it is over an hour but not a whole number of hours"),
            HELP,
        ));
    }
    let hours = minutes / 60;
    match hours {
        1 => Ok("0 * * * *".to_owned()),
        h if h < 24 && 24u128.is_multiple_of(h) => Ok(format!("0 */{h} * * *")),
        h if h < 24 => Err(error(
            format!(
                "`{shown}` cannot be a cron schedule: {h} hours does not divide a day, and a cron step starts again at every midnight"
            ),
            HELP,
        )),
        24 => Ok("0 0 * * *".to_owned()),
        168 => Ok("0 0 * * 0".to_owned()),
        h => Err(error(
            format!(
                "`{shown}` cannot be a cron schedule: only one day (24h) and one week (168h) are intervals over a day that cron keeps exactly, not {h}h"
            ),
            HELP,
        )),
    }
}

/// A Go duration (`time.ParseDuration`: e.g. `1h30m`, `90s`, `1.5h`) in nanoseconds.
fn go_duration_nanos(text: &str) -> Result<u128, String> {
    if text == "0" {
        return Ok(0);
    }
    if text.starts_with('-') {
        return Err("it is negative".into());
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err("it is empty".into());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (amount, tail) = rest.split_at(digits);
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("`{amount}` has no unit (ns, us, ms, s, m or h)")),
            other => return Err(format!("unknown unit `{other}` (use ns, us, ms, s, m or h)")),
        };
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') || whole.len() + fraction.len() > 24 {
            return Err(format!("`{amount}` is not a number"));
        }
        let whole: u128 =
            if whole.is_empty() { 0 } else { whole.parse().map_err(|_| format!("`{amount}` is not a number"))? };
        let mut part = whole.checked_mul(scale).ok_or("it is too long")?;
        if !fraction.is_empty() {
            let digits: u128 = fraction.parse().map_err(|_| format!("`{amount}` is not a number"))?;
            let denominator = 10u128.pow(fraction.len() as u32);
            part += digits.checked_mul(scale).ok_or("it is too long")? / denominator;
        }
        total = total.checked_add(part).ok_or("it is too long")?;
        rest = tail;
    }
    Ok(total)
}

/// The longest time between two consecutive ticks among the first `fires`
/// after `from`, or None when the schedule fires fewer than twice. Bounded:
/// it looks at most `fires` ticks and 400 days ahead.
pub fn longest_gap(cron: &Cron, zone: &TimeZone, from: Timestamp, fires: usize) -> Option<Duration> {
    let horizon = from.checked_add(jiff::SignedDuration::from_hours(400 * 24)).ok()?;
    let mut cursor = from.to_zoned(zone.clone());
    let mut previous: Option<Timestamp> = None;
    let mut longest: Option<Duration> = None;
    for _ in 0..fires {
        let Ok(next) = cron.find_next_occurrence(&cursor, false) else { break };
        let tick = next.timestamp();
        if tick > horizon {
            break;
        }
        if let Some(before) = previous {
            let gap = Duration::from_secs(u64::try_from(tick.as_second() - before.as_second()).unwrap_or(0));
            longest = Some(longest.map_or(gap, |l| l.max(gap)));
        }
        previous = Some(tick);
        cursor = next;
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_between_ticks() {
        let gap = |text: &str| {
            let cron = parse(text).expect("cron");
            longest_gap(&cron, &TimeZone::UTC, "2026-01-01T00:00:00Z".parse().expect("timestamp"), 1_000)
                .map(|d| d.as_secs())
        };
        assert_eq!(gap("@daily"), Some(24 * 3600));
        assert_eq!(gap("*/5 * * * *"), Some(300));
        // Weekdays only: Friday to Monday is the longest wait.
        assert_eq!(gap("0 2 * * 1-5"), Some(3 * 24 * 3600));
        // The 29th of February fires once in the next 400 days: no gap to measure.
        assert_eq!(gap("0 0 29 2 *"), None);
    }

    #[test]
    fn accepts_what_kubernetes_accepts() {
        for ok in [
            "0 3 * * *",
            "*/5 * * * *",
            "0 0 1,15 * ?",
            "30 2 ? JAN-MAR mon-fri",
            "0 12 * dec SUN",
            "5/15 0-23/2 1-31 1-12 0-6",
            "  0  3 * * *  ",
            "@hourly",
            "@daily",
            "@midnight",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok).err());
        }
        assert_eq!(check("@midnight").unwrap(), "0 0 * * *");
        assert_eq!(check("5/15 ? * JAN-mar,dec sun").unwrap(), "5-59/15 * * 1-3,12 0");
    }

    #[test]
    fn refuses_what_kubernetes_refuses() {
        let cases = [
            (
                "0 0 L * *",
                "the day of month field `L`: `L` (last) is a Quartz extension that Kubernetes does not accept",
            ),
            (
                "0 0 15W * *",
                "the day of month field `15W`: `W` (nearest weekday) is a Quartz extension that Kubernetes does not accept",
            ),
            (
                "0 0 * * 5#3",
                "the day of week field `5#3`: `#` (nth weekday of the month) is a Quartz extension that Kubernetes does not accept",
            ),
            (
                "0 0 * * 5L",
                "the day of week field `5L`: `L` (last) is a Quartz extension that Kubernetes does not accept",
            ),
            ("0 0 * * 7", "the day of week field `7`: 7 is above the maximum of 6"),
            ("60 * * * *", "the minute field `60`: 60 is above the maximum of 59"),
            ("0 0 0 * *", "the day of month field `0`: 0 is below the minimum of 1"),
            ("0 5-2 * * *", "the hour field `5-2`: the range starts at 5, after its end 2"),
            ("*/0 * * * *", "the minute field `*/0`: a step of 0"),
            ("0 0 * foo *", "the month field `foo`: `foo` is neither a number nor a month name"),
            ("0 0 * * * *", "it has 6 fields; Kubernetes CronJobs take 5 (minute hour day-of-month month day-of-week)"),
            ("@DAILY", "`@DAILY` is not a descriptor Kubernetes knows"),
            ("TZ=UTC 0 3 * * *", "Kubernetes refuses a time zone inside the expression"),
            ("1,,2 * * * *", "the minute field `1,,2`: an empty list item"),
            ("@every 5m", "`@every 5m` is an interval, which a SparkJob schedule does not take"),
        ];
        for (text, message) in cases {
            assert_eq!(parse(text).map(|_| ()).unwrap_err().message, message, "{text}");
        }
        assert_eq!(
            parse("@every 5m").unwrap_err().help,
            "write `*/5 * * * *`, which fires at the same interval on the clock"
        );
    }

    #[test]
    fn every_becomes_cron_where_cron_can_keep_the_interval() {
        for (every, cron) in [
            ("@every 1m", "* * * * *"),
            ("@every 5m", "*/5 * * * *"),
            ("@every 300s", "*/5 * * * *"),
            ("@every 30m", "*/30 * * * *"),
            ("@every 60m", "0 * * * *"),
            ("@every 1h", "0 * * * *"),
            ("@every 0.5h", "*/30 * * * *"),
            ("@every 6h", "0 */6 * * *"),
            ("@every 24h", "0 0 * * *"),
            ("@every 168h", "0 0 * * 0"),
        ] {
            assert_eq!(every_to_cron(every).unwrap(), cron, "{every}");
        }
        let why = |text: &str| every_to_cron(text).unwrap_err().message;
        assert_eq!(
            why("@every 7m"),
            "`@every 7m` cannot be a cron schedule: 7 minutes does not divide an hour, and a cron step starts again at every hour"
        );
        assert_eq!(
            why("@every 90s"),
            "`@every 90s` cannot be a cron schedule: it is not a whole number of minutes, and cron counts minutes"
        );
        assert_eq!(
            why("@every 1h30m"),
            "`@every 1h30m` cannot be a cron schedule: it is over an hour but not a whole number of hours"
        );
        assert_eq!(
            why("@every 5h"),
            "`@every 5h` cannot be a cron schedule: 5 hours does not divide a day, and a cron step starts again at every midnight"
        );
        assert!(why("@every 48h").contains("not 48h"));
        assert_eq!(
            why("@every 5 minutes"),
            "`@every 5 minutes`: `5 minutes` is not a duration: unknown unit ` minutes` (use ns, us, ms, s, m or h)"
        );
        assert!(why("@every -5m").contains("negative"));
    }
}
