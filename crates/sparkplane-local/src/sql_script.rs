//! Spark SQL text as `sparkplane sql` runs it: a script split into statements
//! (each keeping where it starts in the file), and Spark's error positions
//! (a parse error's `line L, pos P`, an analysis error's character offset into
//! the statement) turned into a span of the script, so a failed query is
//! reported at the file's own line and column.
//!
//! Pure (beside the Connect client that reports these errors): it never
//! runs SQL or reads files. The statement rule is the one the
//! SQL job runner (`run_sql.py`) follows: a statement ends with `;` at the end
//! of a line; `--` comment lines before a statement are skipped.

use sparkplane_documents::diagnostic::Diagnostic;
use sparkplane_documents::source::{LineCol, Source, Span};

/// One statement of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement as Spark gets it: without its closing `;`, trimmed.
    pub text: String,
    /// Byte offset of its first character in the script.
    pub start: usize,
}

/// Splits a script into statements (see the module's rule). Empty statements
/// (a lone `;`) are dropped.
pub fn split_statements(script: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    // Byte range of the statement being gathered: from its first line's start.
    let mut current: Option<usize> = None;
    let mut offset = 0;
    let push = |from: usize, to: usize, out: &mut Vec<Statement>| {
        let raw = &script[from..to];
        let lead = raw.len() - raw.trim_start().len();
        let text = raw.trim().trim_end_matches(';').trim_end().to_owned();
        if !text.is_empty() {
            out.push(Statement { text, start: from + lead });
        }
    };
    for line in script.split_inclusive('\n') {
        let stripped = line.trim();
        let start = offset;
        offset += line.len();
        if current.is_none() && (stripped.is_empty() || stripped.starts_with("--")) {
            continue;
        }
        let from = *current.get_or_insert(start);
        if stripped.ends_with(';') {
            push(from, start + line.trim_end().len(), &mut out);
            current = None;
        }
    }
    if let Some(from) = current {
        push(from, script.len(), &mut out);
    }
    out
}

/// Where in a statement Spark says an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlPosition {
    /// A character offset from the statement's start (0-based), as an
    /// analysis error's query context gives it.
    Offset(usize),
    /// A 1-based line and 0-based character position in it, as a parse
    /// error's `(line L, pos P)` gives it.
    LinePos {
        /// Line in the statement, from 1.
        line: usize,
        /// Character in the line, from 0.
        pos: usize,
    },
}

/// Finds Spark's `line L, pos P` (or `(line L, pos P)`, `line L pos P`) in
/// an error message.
pub fn position_in_message(message: &str) -> Option<SqlPosition> {
    let at = message.find("line ")?;
    let rest = &message[at + 5..];
    let digits = |s: &str| -> Option<(usize, usize)> {
        let n = s.chars().take_while(char::is_ascii_digit).count();
        s[..n].parse().ok().map(|v| (v, n))
    };
    let (line, n) = digits(rest)?;
    let rest = rest[n..].trim_start_matches([',', ' ']);
    let rest = rest.strip_prefix("pos ")?;
    let (pos, _) = digits(rest)?;
    Some(SqlPosition::LinePos { line, pos })
}

/// The span in `source` of a position inside `statement` (one of
/// [`split_statements`]`(source.text)`, or the whole text of an inline query).
pub fn span_in_script(source: &Source, statement: &Statement, position: SqlPosition) -> Span {
    let text = &statement.text;
    // The byte offset inside the statement the position names.
    let inner = match position {
        SqlPosition::Offset(chars) => text.char_indices().nth(chars).map_or(text.len(), |(b, _)| b),
        SqlPosition::LinePos { line, pos } => {
            let mut byte = 0;
            for (i, l) in text.split_inclusive('\n').enumerate() {
                if i + 1 == line {
                    byte += l.char_indices().nth(pos).map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
                    break;
                }
                byte += l.len();
            }
            byte.min(text.len())
        }
    };
    let start = (statement.start + inner).min(source.text.len());
    Span { source: source.clone(), start, end: start, at: line_col(&source.text, start) }
}

/// The 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> LineCol {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    LineCol { line, column: before[line_start..].chars().count() + 1 }
}

/// A failed statement as Spark reported it through Connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlFailure {
    /// Spark's error condition, e.g. `PARSE_SYNTAX_ERROR`.
    pub condition: Option<String>,
    /// Its SQLSTATE, e.g. `42601`.
    pub sql_state: Option<String>,
    /// Spark's message (its first paragraph; the JVM stack trace left out).
    pub message: String,
    /// Where in the statement, when Spark said.
    pub position: Option<SqlPosition>,
}

/// The diagnostic of a failed statement: Spark's message at the script's line
/// and column, with a hint by SQLSTATE class.
pub fn failure_diagnostic(source: &Source, statement: &Statement, failure: &SqlFailure) -> Diagnostic {
    let position = failure.position.or_else(|| position_in_message(&failure.message));
    let span = position.map(|p| span_in_script(source, statement, p));
    let help = match failure.sql_state.as_deref() {
        // Said in words: the marked source line shows on a terminal only.
        Some("42601") => match &span {
            Some(span) => format!("fix the SQL syntax at line {}, column {}", span.at.line, span.at.column),
            None => "fix the SQL syntax near what Spark's message names".to_owned(),
        },
        Some("42P01") => "create the table or view first (or qualify its name with its catalog and schema)".to_owned(),
        Some("42703") => "use one of the columns the query's inputs have (Spark lists the nearest)".to_owned(),
        _ => match &failure.condition {
            Some(condition) => format!(
                "see Spark's error condition {condition} in https://spark.apache.org/docs/latest/sql-error-conditions.html"
            ),
            None => "check the statement; Spark's message says what it refused".to_owned(),
        },
    };
    Diagnostic::error("sql-failed", "", plain_message(&failure.message)).with_span(span).with_help(help)
}

/// Whether a failed statement is invalid input (exit 2) rather than a failed
/// query (exit 1): SQLSTATE class 42, "syntax error or access rule
/// violation" — Spark's parse and analysis errors, which no rerun mends. Other
/// classes (division by zero, a file gone while reading) failed while running.
pub fn is_invalid_statement(failure: &SqlFailure) -> bool {
    failure.sql_state.as_deref().is_some_and(|state| state.starts_with("42"))
}

/// Spark's message up to its SQLSTATE: what follows (the statement-relative
/// `line L, pos P`, the `== SQL ==` excerpt, the analyzed plan) is replaced by
/// the span, which points into the user's own file.
pub fn plain_message(message: &str) -> String {
    let message = message.trim();
    if let Some(at) = message.find("SQLSTATE: ") {
        let code_end =
            message[at + 10..].find(|c: char| !c.is_ascii_alphanumeric()).map_or(message.len(), |n| at + 10 + n);
        return message[..code_end].trim_end().to_owned();
    }
    message.split("\n\n== SQL ==").next().unwrap_or(message).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_with_a_semicolon_at_a_line_end_and_keep_their_offsets() {
        let script = "-- header\n\nCREATE TEMP VIEW v AS\n  SELECT 1 AS a;\nSELECT 'x;y' AS s, a FROM v;\n\nSELECT 3\n";
        let statements = split_statements(script);
        let texts: Vec<&str> = statements.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["CREATE TEMP VIEW v AS\n  SELECT 1 AS a", "SELECT 'x;y' AS s, a FROM v", "SELECT 3"]);
        for statement in &statements {
            assert!(script[statement.start..].starts_with(&statement.text), "{statement:?}");
        }
        assert_eq!(split_statements("  ;\n-- only a comment\n"), []);
    }

    #[test]
    fn spark_positions_are_found_in_parse_and_analysis_messages() {
        let parse =
            "[PARSE_SYNTAX_ERROR] Syntax error at or near 't': extra input 't'. SQLSTATE: 42601 (line 1, pos 14)";
        assert_eq!(position_in_message(parse), Some(SqlPosition::LinePos { line: 1, pos: 14 }));
        let analysis = "[UNRESOLVED_COLUMN.WITH_SUGGESTION] ... SQLSTATE: 42703; line 2 pos 2;";
        assert_eq!(position_in_message(analysis), Some(SqlPosition::LinePos { line: 2, pos: 2 }));
        assert_eq!(position_in_message("no position here"), None);
        assert_eq!(position_in_message("a line without pos"), None);
    }

    #[test]
    fn positions_map_to_the_files_line_and_column() {
        let source = Source::new("q.sql", "-- report\nSELECT 1;\n\nSELECT a,\n  nope FROM t;\n");
        let statements = split_statements(&source.text);
        let second = &statements[1];
        // Parse error: line 2 of the statement, pos 2 → file line 5, column 3.
        let span = span_in_script(&source, second, SqlPosition::LinePos { line: 2, pos: 2 });
        assert_eq!(span.location(), "q.sql:5:3");
        // Analysis error: character 12 of the statement is the same place.
        let span = span_in_script(&source, second, SqlPosition::Offset(12));
        assert_eq!(span.location(), "q.sql:5:3");
        // On the statement's first line the column counts from the file's line start.
        let inline = Source::new("<query>", "SELECT 1 FORM t");
        let whole = &split_statements(&inline.text)[0];
        let span = span_in_script(&inline, whole, SqlPosition::LinePos { line: 1, pos: 14 });
        assert_eq!(span.location(), "<query>:1:15");
    }

    #[test]
    fn parse_and_analysis_errors_are_invalid_input_and_runtime_errors_are_not() {
        let with = |state: Option<&str>| SqlFailure {
            condition: None,
            sql_state: state.map(str::to_owned),
            message: String::new(),
            position: None,
        };
        for (state, invalid) in
            [(Some("42601"), true), (Some("42703"), true), (Some("42P01"), true), (Some("22012"), false), (None, false)]
        {
            assert_eq!(is_invalid_statement(&with(state)), invalid, "{state:?}");
        }
    }

    #[test]
    fn a_syntax_error_without_a_position_names_no_mark() {
        let source = Source::new("<query>", "SELEC 1");
        let statements = split_statements(&source.text);
        let failure = SqlFailure {
            condition: Some("PARSE_SYNTAX_ERROR".into()),
            sql_state: Some("42601".into()),
            message: "[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601".into(),
            position: None,
        };
        let d = failure_diagnostic(&source, &statements[0], &failure);
        assert_eq!(
            d.to_plain(),
            "error: [PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601\n  help: fix the SQL syntax near what Spark's message names"
        );
    }

    #[test]
    fn a_failure_becomes_a_diagnostic_at_its_position() {
        let source = Source::new("q.sql", "SELECT 1;\nSELECT 1 FORM t;\n");
        let statements = split_statements(&source.text);
        let failure = SqlFailure {
            condition: Some("PARSE_SYNTAX_ERROR".into()),
            sql_state: Some("42601".into()),
            message: "[PARSE_SYNTAX_ERROR] Syntax error at or near 't'. SQLSTATE: 42601 (line 1, pos 14)".into(),
            position: None,
        };
        let d = failure_diagnostic(&source, &statements[1], &failure);
        assert_eq!(
            d.to_plain(),
            "q.sql:2:15: error: [PARSE_SYNTAX_ERROR] Syntax error at or near 't'. SQLSTATE: 42601\n  help: fix the SQL syntax at line 2, column 15"
        );
        let analysis = "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `nope` cannot be resolved. SQLSTATE: 42703; line 2 pos 2;\n'Project [1 AS 1#10, 'nope]";
        assert_eq!(
            plain_message(analysis),
            "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `nope` cannot be resolved. SQLSTATE: 42703"
        );
        assert_eq!(plain_message("no state\n\n== SQL ==\nSELECT"), "no state");
    }
}
