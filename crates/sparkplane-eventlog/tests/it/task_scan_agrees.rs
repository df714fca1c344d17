//! The direct reading of task events (`scan_task_detail`) must give exactly
//! serde's reading (`serde_task_detail`) or decline, on every task line of
//! real logs — this crate's fixtures (Spark 3.5.9 and 4.x, every codec) and
//! Spark's own History Server test logs (Spark 1.x to 3.x, kept by
//! sparkplane-history; origin and license in its tests/data/spark-history/NOTICE.md)
//! — and on thousands of corruptions of those lines. The fuzz target
//! `parse_line` holds the same on arbitrary input.

use std::path::{Path, PathBuf};

use sparkplane_eventlog::parse::task_detail::{TaskDetailEvent, scan_task_detail, serde_task_detail};
use sparkplane_eventlog::{EventLog, list_app_logs};

fn logs_in(dir: &Path) -> Vec<PathBuf> {
    list_app_logs(dir).unwrap_or_else(|e| panic!("lists {}: {e}", dir.display()))
}

/// Every line of the logs, decompressed, with where it came from.
fn lines_of(logs: &[PathBuf]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in logs {
        let log = EventLog::open(path).expect("opens");
        let mut lines = log.lines().expect("reads");
        while let Some(line) = lines.next_line() {
            out.push((format!("{}:{}", line.file.display(), line.number), line.text.to_owned()));
        }
    }
    out
}

fn is_task_event(line: &str) -> bool {
    line.contains(r#""Event":"SparkListenerTaskStart""#) || line.contains(r#""Event":"SparkListenerTaskEnd""#)
}

/// The property: declined, or equal to serde's successful reading.
fn agrees(line: &str) -> Result<bool, String> {
    let Some(direct) = scan_task_detail(line) else { return Ok(false) };
    match serde_task_detail(line) {
        Ok(Some(reference)) if reference == direct => Ok(true),
        other => Err(format!("direct reading {direct:?}\nserde's reading {other:?}")),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn spark_test_logs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events")
}

#[test]
fn task_lines_spark_wrote_are_read_directly_and_as_serde_reads_them() {
    let mut logs = Vec::new();
    for dir in ["spark-3.5.9", "spark-4.3.0", "codecs", "trips-etl"] {
        logs.extend(logs_in(&fixtures().join(dir)));
    }
    let (mut direct, mut declined) = (0, 0);
    for (at, line) in lines_of(&logs).iter().filter(|(_, line)| is_task_event(line)) {
        match agrees(line) {
            Ok(true) => direct += 1,
            // Spark 3.5 and 4.x write nothing the direct reading declines but an escaped string
            // (a stack trace, a quoted message).
            Ok(false) => {
                assert!(line.contains('\\'), "{at}: a line Spark wrote was declined: {line}");
                declined += 1;
            }
            Err(why) => panic!("{at}: {why}"),
        }
    }
    assert!(direct > 200, "task lines read directly: {direct}");
    assert!(declined > 0, "the fixtures' failed tasks carry escaped stack traces");
}

#[test]
fn spark_s_own_test_logs_from_older_versions_read_the_same_either_way() {
    let lines = lines_of(&logs_in(&spark_test_logs()));
    let (mut direct, mut task_lines) = (0, 0);
    for (at, line) in lines.iter().filter(|(_, line)| is_task_event(line)) {
        task_lines += 1;
        if agrees(line).unwrap_or_else(|why| panic!("{at}: {why}")) {
            direct += 1;
        }
    }
    assert!(task_lines > 500, "{task_lines}");
    // Spark 1.x–3.x wrote the same shape: nearly all are read directly.
    assert!(direct * 10 > task_lines * 9, "{direct} of {task_lines} read directly");
}

/// A small deterministic generator (xorshift), so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const REPLACEMENTS: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "0",
    "-",
    ".",
    "e",
    " ",
    "\t",
    "\u{1}",
    "null",
    "true",
    "1.5",
    "-0",
    "01",
    "99999999999999999999",
    "\"x\"",
    "[]",
    "{}",
    "é",
    "\\n",
];

fn mutate(line: &str, rng: &mut Rng) -> String {
    let mut text = line.to_owned();
    for _ in 0..=rng.below(2) {
        let mut at = rng.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        match rng.below(4) {
            // Delete a run of bytes.
            0 => {
                let mut end = (at + 1 + rng.below(6)).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, "");
            }
            // Replace a byte with a token.
            1 if at < text.len() => {
                let mut end = at + 1;
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, REPLACEMENTS[rng.below(REPLACEMENTS.len())]);
            }
            // Insert a token.
            2 => text.insert_str(at, REPLACEMENTS[rng.below(REPLACEMENTS.len())]),
            // Repeat a field of the object the cursor is in, or any earlier key.
            _ => {
                if let Some(key_start) = text[..at].rfind(",\"") {
                    let field_end = text[key_start + 1..].find([',', '}']).map(|e| key_start + 1 + e);
                    if let Some(end) = field_end {
                        let field = text[key_start..end].to_owned();
                        text.insert_str(end, &field);
                    }
                }
            }
        }
    }
    text
}

#[test]
fn corrupted_task_lines_are_declined_or_read_as_serde_reads_them() {
    let mut logs = logs_in(&fixtures().join("spark-4.3.0"));
    logs.extend(logs_in(&fixtures().join("spark-3.5.9")));
    let lines: Vec<String> = lines_of(&logs).into_iter().map(|(_, line)| line).filter(|l| is_task_event(l)).collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut direct, mut tried) = (0, 0);
    for case in 0..40_000 {
        let original = &lines[rng.below(lines.len())];
        let mutant = mutate(original, &mut rng);
        tried += 1;
        match agrees(&mutant) {
            Ok(true) => direct += 1,
            Ok(false) => {}
            Err(why) => panic!("case {case}: {why}\nmutant: {mutant}\noriginal: {original}"),
        }
    }
    // Many corruptions leave a valid event (a changed digit or name): those must be read, not only declined.
    assert!(direct > tried / 20, "{direct} of {tried} corruptions were read directly");
}

#[test]
fn the_shapes_serde_reads_but_the_direct_reading_declines() {
    let end = |task_info: &str| {
        format!(r#"{{"Event":"SparkListenerTaskEnd","Stage ID":1,"Stage Attempt ID":0,"Task Info":{task_info}}}"#)
    };
    for line in [
        // An escape in a string: serde unescapes it into an owned string.
        end(r#"{"Task ID":1,"Host":"h\u0041"}"#),
        // A value serde keeps as its JSON text.
        end(r#"{"Task ID":1,"Accumulables":[{"ID":1,"Update":1.5,"Value":[1]}]}"#),
        // `-0` is a float to serde (refused for an integer field; kept as text in an accumulable).
        end(r#"{"Task ID":1,"Accumulables":[{"ID":1,"Update":-0}]}"#),
        // A struct written as a list (serde reads its fields in order).
        r#"{"Event":"SparkListenerTaskEnd","Stage ID":1,"Task Info":{"Task ID":1},"Task Metrics":[1,2]}"#.to_owned(),
    ] {
        assert!(scan_task_detail(&line).is_none(), "{line}");
        assert!(matches!(serde_task_detail(&line), Ok(Some(TaskDetailEvent::End(_)))), "{line}");
    }
    // And a duplicate field, which both refuse: serde with its message.
    let twice = end(r#"{"Task ID":1,"Task ID":2}"#);
    assert!(scan_task_detail(&twice).is_none());
    let message = serde_task_detail(&twice).err().map(|e| e.message).unwrap_or_default();
    assert!(message.starts_with("SparkListenerTaskEnd: duplicate field `Task ID`"), "{message}");
}
