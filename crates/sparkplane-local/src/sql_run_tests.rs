//! `run_sql` over a fake host: what is refused before any server is asked,
//! which server answers, and how each failure ends the command.

use std::cell::RefCell;

use super::*;
use crate::connect_client::Column;
use crate::sql_script::{SqlFailure, SqlPosition};

/// Records what was asked; answers with `answer` (rows when None).
#[derive(Default)]
struct Fake {
    calls: RefCell<Vec<String>>,
    answer: Option<fn() -> HostFailure>,
}

impl Fake {
    fn answer(&self, call: String, statements: Statements<'_>) -> Result<QueryResult, HostFailure> {
        self.calls.borrow_mut().push(format!("{call} line={} {:?}", statements.line, statements.texts));
        match self.answer {
            Some(failure) => Err(failure()),
            None => Ok(QueryResult {
                columns: vec![Column { name: "a".into(), data_type: "int".into() }],
                rows: vec![vec![serde_json::json!(1)]],
            }),
        }
    }
}

impl SqlHost for Fake {
    fn query_at(&mut self, url: &str, statements: Statements<'_>) -> Result<QueryResult, HostFailure> {
        self.answer(format!("at {}", connect_client::without_token(url)), statements)
    }

    fn query_on_a_new_local_server(
        &mut self,
        spark: &str,
        statements: Statements<'_>,
    ) -> Result<QueryResult, HostFailure> {
        self.answer(format!("local spark={spark}"), statements)
    }
}

fn run(script: &str, connect: Option<&str>, spark: &str, fake: &mut Fake) -> Result<QueryResult, SqlError> {
    let source = Source::new("q.sql", script);
    run_sql(&SqlRequest { source: &source, connect, spark, parquet: None }, fake)
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn without_connect_a_local_server_runs_every_statement_and_with_it_the_named_one_does() {
    let mut fake = Fake::default();
    let rows = run("CREATE TEMP VIEW v AS SELECT 1 AS a;\nSELECT a FROM v;\n", None, "4.1", &mut fake).expect("rows");
    assert_eq!(rows.rows.len(), 1);
    let url = format!("sc://localhost:15002/;token={TOKEN}");
    run("SELECT 1", Some(&url), "4.1.1", &mut fake).expect("rows");
    assert_eq!(
        fake.calls.into_inner(),
        [
            r#"local spark=4.1 line=4.1 ["CREATE TEMP VIEW v AS SELECT 1 AS a", "SELECT a FROM v"]"#.to_owned(),
            r#"at sc://localhost:15002/ line=4.1 ["SELECT 1"]"#.to_owned(),
        ],
    );
}

#[test]
fn what_no_server_could_mend_is_refused_before_one_is_asked() {
    let cases: [(&str, Option<String>, &str, &str, &str); 5] = [
        ("-- nothing\n", None, "4.1", "sql-empty", "q.sql holds no SQL statement"),
        (
            "SELECT 1",
            Some(format!("http://localhost:15002/;token={TOKEN}")),
            "4.1",
            "connect-url",
            "--connect takes a Spark Connect URL, not `http://localhost:15002/`",
        ),
        (
            "SELECT 1",
            Some("sc://localhost:15002/;token=…".to_owned()),
            "4.1",
            "connect-url",
            "holds a character that is not ASCII",
        ),
        ("SELECT 1", None, "3.5", "no-connect-server", "3.5"),
        ("SELECT 1", None, "9.9", "unsupported-spark-line", "9.9"),
    ];
    for (script, connect, spark, code, message) in cases {
        let mut fake = Fake::default();
        let err = run(script, connect.as_deref(), spark, &mut fake).expect_err(code);
        assert_eq!(err.category, Category::Invalid, "{code}");
        assert_eq!(err.diagnostic.code, code);
        assert!(err.diagnostic.message.contains(message), "{code}: {}", err.diagnostic.message);
        assert!(!err.diagnostic.message.contains(TOKEN), "the token is never shown");
        assert!(fake.calls.borrow().is_empty(), "{code}: no server was asked");
    }
}

#[test]
fn a_parquet_file_in_a_missing_folder_is_refused_before_any_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let parquet = dir.path().join("missing/rows.parquet");
    let source = Source::new("q.sql", "SELECT 1");
    let mut fake = Fake::default();
    let request = SqlRequest { source: &source, connect: None, spark: "4.1", parquet: Some(&parquet) };
    let err = run_sql(&request, &mut fake).expect_err("refused");
    assert_eq!(err.category, Category::Invalid);
    assert_eq!(err.diagnostic.path, "--parquet");
    assert!(err.diagnostic.message.ends_with("missing does not exist"), "{}", err.diagnostic.message);
    assert!(fake.calls.borrow().is_empty());
    let beside = dir.path().join("rows.parquet");
    let request = SqlRequest { parquet: Some(&beside), ..request };
    run_sql(&request, &mut fake).expect("an existing folder is fine");
}

fn statement_failure(sql_state: &str) -> HostFailure {
    HostFailure::Query(QueryError::Sql {
        statement: 1,
        failure: SqlFailure {
            condition: Some("X".into()),
            sql_state: Some(sql_state.into()),
            message: format!("boom. SQLSTATE: {sql_state}"),
            position: Some(SqlPosition::LinePos { line: 1, pos: 7 }),
        },
    })
}

#[test]
fn a_failed_statement_is_shown_at_the_scripts_line_and_is_invalid_only_for_class_42() {
    for (answer, category) in [
        ((|| statement_failure("42601")) as fn() -> HostFailure, Category::Invalid),
        (|| statement_failure("22012"), Category::Failed),
    ] {
        let mut fake = Fake { answer: Some(answer), ..Fake::default() };
        let err = run("SELECT 1;\n\nSELECT oops FROM t;\n", None, "4.1", &mut fake).expect_err("fails");
        assert_eq!(err.category, category);
        assert_eq!(err.diagnostic.code, "sql-failed");
        assert_eq!(err.diagnostic.location().as_deref(), Some("q.sql:3:8"), "the second statement's line");
    }
}

#[test]
fn the_servers_and_clients_failures_end_by_their_category() {
    type Case = (fn() -> HostFailure, Category, &'static str);
    let cases: [Case; 3] = [
        (
            || {
                HostFailure::Query(QueryError::Unreachable {
                    url: "sc://localhost:1/".into(),
                    message: "refused".into(),
                })
            },
            Category::Unreachable,
            "connect-unreachable",
        ),
        (
            || HostFailure::Query(QueryError::Unauthenticated("bad".into())),
            Category::Invalid,
            "connect-unauthenticated",
        ),
        (|| HostFailure::Query(QueryError::Client("no venv".into())), Category::Unreachable, "connect-client"),
    ];
    for (answer, category, code) in cases {
        let mut fake = Fake { answer: Some(answer), ..Fake::default() };
        let err = run("SELECT 1", None, "4.1", &mut fake).expect_err(code);
        assert_eq!((err.category, err.diagnostic.code), (category, code));
    }
}
