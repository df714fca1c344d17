//! Spark's own rendered pages beside ours: where Spark's UI computes a number
//! itself rather than showing a REST field (a job's or stage's Duration in its
//! tables, the progress counts, sizes with its rounding and units, the
//! application list's Duration, Started and Completed, which its page's script
//! formats), the page is opened at Spark's History Server in the same headless
//! Chromium and each cell is read by its column header (or, for Spark's
//! `<li><strong>Label:</strong> value</li>` summaries, by its label), then
//! compared with the cell under the same label on our page, by row (job,
//! stage attempt, SQL execution, application), as text: the same number with
//! Spark's rounding and units.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The tables and labelled facts of a rendered page: each table's header
/// labels and its rows' cell texts (with `data-v` where ours has it), and each
/// summary label's value (Spark's `li > strong`, our `table.facts` rows).
pub const TABLES: &str = r#"(() => {
  const norm = s => (s || '').replace(/[\u25B4\u25BE\u25B2\u25BC]/g, '').replace(/\s+/g, ' ').trim();
  const tables = [...document.querySelectorAll('table')].filter(t => !t.classList.contains('facts')).map(t => ({
    heads: [...t.querySelectorAll('thead th')].map(th => norm(th.textContent)),
    rows: [...t.querySelectorAll('tbody tr')].map(tr => [...tr.children].map(td =>
      ({text: norm(td.textContent), v: td.dataset.v === undefined ? null : Number(td.dataset.v)})))}));
  const facts = {};
  document.querySelectorAll('li strong').forEach(s => {
    const li = s.closest('li'); const label = norm(s.textContent);
    facts[label.replace(/:$/, '')] = norm(norm(li.textContent).slice(label.length));
  });
  // Spark 4.3's SQL execution page: its facts as a one-row table its script fills from the REST API.
  document.querySelectorAll('#sql-execution-table').forEach(t => {
    const heads = [...t.querySelectorAll('thead th')].map(th => norm(th.textContent));
    const cells = [...t.querySelectorAll('tbody tr:first-child td')].map(td => norm(td.textContent));
    heads.forEach((h, i) => { if (cells[i] !== undefined) facts[h] = cells[i]; });
  });
  document.querySelectorAll('table.facts tr').forEach(tr => {
    const th = tr.querySelector('th'), td = tr.querySelector('td');
    if (th && td) facts[norm(th.textContent)] = norm(td.textContent);
  });
  return {tables, facts};
})()"#;

/// Waits (at most 30 s) until Spark's application list, which its script
/// fills from the REST API after the load, shows its rows.
pub const LIST_READY: &str = r#"new Promise(done => { const t0 = Date.now(); const poll = () =>
  (document.querySelector('#history-summary-table tbody tr td') || Date.now() - t0 > 30000)
    ? done(!!document.querySelector('#history-summary-table tbody tr td')) : setTimeout(poll, 100); poll(); })"#;

/// Whether Spark's page (loaded without scripts) leaves its table to a
/// script: Spark 4.3's SQL list and SQL execution page are a placeholder its
/// script fills from the REST API (`sql/sqlTable`, `sql/<id>`) after the load.
pub const SCRIPT_BUILT: &str = "!!document.querySelector('#sql-executions-table, #sql-execution-table')";

/// Waits (at most 30 s) until such a script-built table shows its rows (or
/// says it has none): true when it did.
pub const SCRIPT_TABLE_READY: &str = r#"new Promise(done => { const t0 = Date.now(); const ready = () =>
  !!document.querySelector('#sql-table tbody tr td, #sql-execution-table tbody tr td')
    && ![...document.querySelectorAll('.dataTables_processing')].some(p => p.offsetParent !== null);
  const poll = () => (ready() || Date.now() - t0 > 30000) ? done(ready()) : setTimeout(poll, 100); poll(); })"#;

/// The page of Spark's UI that shows what our page `rel` (relative to
/// `/history/<app>/`) shows at the same URL, when Spark computes numbers on it
/// (its tables and summaries; the stage page's quantiles and task table, the
/// executors, environment and storage pages are Spark's script over its REST
/// answers, compared through them).
pub fn rendered_counterpart(rel: &str) -> bool {
    let path = rel.split('?').next().unwrap_or_default();
    matches!(path, "jobs/" | "jobs/job/" | "stages/" | "stages/stage/" | "SQL/" | "SQL/execution/")
}

/// The kind of row whose table a page `rel` (relative to `/history/<app>/`)
/// shows: jobs on the jobs list, stage attempts on the stages list and a
/// job's page, SQL executions on the SQL list (`id`); none on the other pages.
pub fn row_kind(rel: &str) -> &'static str {
    match rel.split('?').next().unwrap_or_default() {
        "jobs/" => "job",
        "stages/" | "jobs/job/" => "stage",
        "SQL/" => "id",
        _ => "none",
    }
}

/// A header or summary label in one spelling: lower case, one space, and
/// where the two UIs word the same column differently, Spark's words.
fn label(raw: &str) -> String {
    let lower = raw.to_lowercase().trim().trim_end_matches(':').trim().to_owned();
    match lower.as_str() {
        // The row's key columns.
        "job" | "job id" => "job".into(),
        "stage" | "stage id" => "stage".into(),
        "application" | "app id" => "app".into(),
        // Ours says "Tasks: succeeded/total" on the jobs table too; Spark adds "(for all stages)".
        "tasks (for all stages): succeeded/total" => "tasks: succeeded/total".into(),
        // Ours writes the zone the server wrote the dates in; Spark's script writes the browser's (UTC here).
        "started (gmt)" => "started".into(),
        "completed (gmt)" => "completed".into(),
        "submitted time" => "submitted".into(),
        // A stage's summed executor run time: Spark's stage page calls it so, ours names what it sums.
        "total time across all tasks" => "executor run time (all tasks)".into(),
        _ => lower,
    }
}

/// How a label's cells are compared: the same text (durations, dates), the
/// counts of a progress bar, or a size that Spark leaves blank when zero.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Progress,
    Size,
}

/// The table columns compared, by label; every other column is not a number
/// both show (descriptions, links, statuses' words) or is ours alone.
const COLUMNS: [(&str, Kind); 9] = [
    ("duration", Kind::Text),
    ("started", Kind::Text),
    ("completed", Kind::Text),
    ("tasks: succeeded/total", Kind::Progress),
    ("stages: succeeded/total", Kind::Progress),
    ("input", Kind::Size),
    ("output", Kind::Size),
    ("shuffle read", Kind::Size),
    ("shuffle write", Kind::Size),
];

/// Summary labels compared as text (a job's, a stage's and an SQL
/// execution's facts) where both pages show them (Spark's stage page shows a
/// size and its records only when they are not zero).
const FACTS: [&str; 17] = [
    "duration",
    "status",
    "completed stages",
    "skipped stages",
    "failed stages",
    "active stages",
    "executor run time (all tasks)",
    "input",
    "input records",
    "output",
    "output records",
    "shuffle read",
    "shuffle read records",
    "shuffle write",
    "shuffle write records",
    "spill (memory)",
    "spill (disk)",
];

#[derive(Clone, Debug, PartialEq)]
struct Cell {
    text: String,
    v: Option<f64>,
}

/// Every row of the page's tables whose key column is of the kind `want` (`job`, `stage`
/// for a stage attempt, `id` for an SQL execution, `app`), keyed `<kind> <id>` (a stage's retry kept: `stage 3 (retry 1)`),
/// as label → cell.
fn rows(page: &Value, want: &str) -> BTreeMap<String, BTreeMap<String, Cell>> {
    let mut out = BTreeMap::new();
    for table in page["tables"].as_array().into_iter().flatten() {
        let heads: Vec<String> =
            table["heads"].as_array().into_iter().flatten().map(|h| label(h.as_str().unwrap_or_default())).collect();
        // The key column: the first whose label names a row kind (Spark's list starts with its Version).
        let Some(at) = heads.iter().position(|h| ["job", "stage", "app", "id"].contains(&h.as_str())) else {
            continue;
        };
        let kind = heads[at].clone();
        if kind != want || !heads.iter().any(|h| h == "duration") {
            continue;
        }
        for row in table["rows"].as_array().into_iter().flatten() {
            let cells: Vec<Cell> = row
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| Cell { text: c["text"].as_str().unwrap_or_default().to_owned(), v: c["v"].as_f64() })
                .collect();
            let Some(id) = cells.get(at).and_then(|c| row_id(&kind, &c.text)) else { continue };
            let by_label = heads.iter().cloned().zip(cells).collect();
            out.insert(format!("{kind} {id}"), by_label);
        }
    }
    out
}

/// The row's id from its first cell: an application's id, or the leading
/// number (with a stage's ` (retry N)`).
fn row_id(kind: &str, text: &str) -> Option<String> {
    if kind == "app" {
        return text.split_whitespace().next().map(str::to_owned);
    }
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let rest = text[digits.len()..].trim_start();
    match rest.strip_prefix("(retry ").and_then(|r| r.split(')').next()) {
        Some(n) if kind == "stage" => Some(format!("{digits} (retry {n})")),
        _ => Some(digits),
    }
}

/// A progress bar's counts as written on it: `done/total` and each `(N failed|skipped|killed…)`
/// (Spark writes the kill's reasons after `killed:`, ours the counts alone, comma-separated).
fn progress_counts(text: &str) -> Vec<String> {
    let text = text.find(" killed: ").map_or(text, |at| &text[..at + " killed".len()]);
    let mut out: Vec<String> = text.split_whitespace().take(1).map(str::to_owned).collect();
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || "(),:".contains(c)).filter(|w| !w.is_empty()).collect();
    for pair in words.windows(2) {
        if pair[0].chars().all(|c| c.is_ascii_digit()) && ["failed", "skipped", "killed"].contains(&pair[1]) {
            out.push(format!("{} {}", pair[0], pair[1]));
        }
    }
    out.sort();
    out
}

/// Compares our rendered page with Spark's of the same URL: every compared
/// column of every row of the tables of `rows_of` (see [`row_kind`]), rows present on one side only, and the summary facts
/// both show; each difference names the page, label, row, Spark's value and ours.
/// Returns how many cells were compared.
pub fn compare(page: &str, rows_of: &str, spark: &Value, ours: &Value, out: &mut Vec<String>) -> usize {
    let (theirs, mine) = (rows(spark, rows_of), rows(ours, rows_of));
    let mut compared = 0;
    let keys: BTreeSet<&String> = theirs.keys().chain(mine.keys()).collect();
    for key in keys {
        let (Some(t), Some(o)) = (theirs.get(key), mine.get(key)) else {
            let side = if theirs.contains_key(key) { "Spark's page only" } else { "our page only" };
            out.push(format!("{page}: row {key} is on {side}"));
            continue;
        };
        for (column, kind) in COLUMNS {
            let (Some(tc), Some(oc)) = (t.get(column), o.get(column)) else { continue };
            compared += 1;
            let same = match kind {
                Kind::Text if column == "duration" => same_duration(&tc.text, &oc.text),
                Kind::Text => tc.text == oc.text,
                Kind::Progress => progress_counts(&tc.text) == progress_counts(&oc.text),
                // Spark's stage tables leave a size of zero blank.
                Kind::Size => tc.text == oc.text || (tc.text.is_empty() && oc.v == Some(0.0)),
            };
            if !same {
                out.push(format!("{page}: \"{column}\" of row {key}: Spark's page {:?}, ours {:?}", tc.text, oc.text));
            }
        }
    }
    let (tf, of) = (facts(spark), facts(ours));
    for fact in FACTS {
        if let (Some(t), Some(o)) = (tf.get(fact), of.get(fact)) {
            compared += 1;
            if t != o && !(fact == "duration" && same_duration(t, o)) {
                out.push(format!("{page}: \"{fact}\": Spark's page {t:?}, ours {o:?}"));
            }
        }
    }
    compared
}

/// A duration as Spark's pages write it (`42 ms`; Spark 4.3's SQL pages
/// write `42.0 ms`), as a number of its unit.
fn duration_value(text: &str) -> Option<(f64, &str)> {
    let (number, unit) = text.trim().split_once(' ')?;
    let factor = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some((number.parse::<f64>().ok()? * factor, unit))
}

/// Two durations show the same number in the same unit (`42.0 ms` and `42 ms`), or the same text.
fn same_duration(spark: &str, ours: &str) -> bool {
    match (duration_value(spark), duration_value(ours)) {
        (Some((a, ua)), Some((b, ub))) => ua == ub && a == b,
        _ => spark == ours,
    }
}

/// The page's summary facts, by label; Spark's `Input Size / Records: 1.2 KiB / 300`
/// as its two facts, `input` and `input records`.
fn facts(page: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in page["facts"].as_object().into_iter().flatten() {
        let (key, value) = (label(k), v.as_str().unwrap_or_default().to_owned());
        match (key.strip_suffix(" size / records"), value.split_once(" / ")) {
            (Some(what), Some((size, records))) => {
                out.insert(what.to_owned(), size.to_owned());
                out.insert(format!("{what} records"), records.to_owned());
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_bar_reads_as_its_counts() {
        assert_eq!(progress_counts("3/4 (1 failed) (2 killed: Stage cancelled)"), ["1 failed", "2 killed", "3/4"]);
        assert_eq!(progress_counts("1/1 (1 skipped)"), ["1 skipped", "1/1"]);
        assert_eq!(progress_counts("0/2 (1 failed, 1 killed)"), ["0/2", "1 failed", "1 killed"]);
        assert_eq!(
            progress_counts("0/2 (1 failed) (1 killed: Task 1 in stage 1.0 failed 2 times)"),
            ["0/2", "1 failed", "1 killed"]
        );
    }

    #[test]
    fn a_duration_is_the_same_number_in_the_same_unit_whichever_way_a_line_writes_it() {
        assert!(same_duration("42.0 ms", "42 ms"));
        assert!(same_duration("0.4 s", "0.4 s"));
        assert!(!same_duration("42.0 ms", "43 ms"));
        assert!(!same_duration("1.0 s", "1000 ms"), "a different unit is a different text on the page");
        assert!(!same_duration("2 s", "2 min"));
        assert!(same_duration("Unknown", "Unknown") && !same_duration("Unknown", "2 s"));
    }

    #[test]
    fn a_row_is_keyed_by_its_id_and_retry() {
        assert_eq!(row_id("stage", "3 (retry 1) critical path").as_deref(), Some("3 (retry 1)"));
        assert_eq!(row_id("job", "12 (group)").as_deref(), Some("12"));
        assert_eq!(row_id("job", "No data"), None);
    }
}
