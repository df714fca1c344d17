//! The CI's Spark SQL check: a SQL file parsed statement by statement with
//! a Spark-compatible dialect, and its table and column references checked
//! against the tables the job declares.
//!
//! Owns: splitting a file into statements, Spark's data-source views
//! (`CREATE [OR REPLACE] [GLOBAL] TEMPORARY VIEW v USING fmt OPTIONS (…)`, which
//! sqlparser does not parse), `${var}` placeholders, and which references
//! are unknown. Everything is reported at `file:line:col`.
//! Must not: read files or run Spark: it sees text and the declared tables.
//!
//! Dialect: sqlparser's Databricks dialect. Databricks SQL is Spark SQL, and
//! the dialect takes Spark's syntax the Hive dialect refuses (e.g.
//! `struct(1 AS a)`, lambdas), while both take backticks, `LATERAL VIEW`,
//! `DISTRIBUTE BY`/`SORT BY` and `INSERT OVERWRITE … PARTITION`.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectName, OrderByKind, Query,
    SelectItem, SetExpr, Statement, TableFactor,
};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};

use crate::ci_report::{Finding, Location, Severity};

/// The tables a job's SQL may read: lower-cased name to lower-cased columns
/// (`None`: the table is known, its columns are not).
pub type Tables = BTreeMap<String, Option<BTreeSet<String>>>;

/// Checks one SQL file. `declared` are the job's declared tables; when it is
/// empty only the syntax is checked (there is nothing to check references against).
pub fn check_sql(file: &str, text: &str, declared: &Tables) -> Vec<Finding> {
    let masked = mask_placeholders(text);
    let dialect = DatabricksDialect {};
    let tokens = match Tokenizer::new(&dialect, &masked).tokenize_with_location() {
        Ok(tokens) => tokens,
        Err(e) => {
            return vec![syntax(file, e.message.clone(), e.location.line, e.location.column)];
        }
    };
    let mut known = declared.clone();
    let check_refs = !declared.is_empty();
    let mut findings = Vec::new();
    for statement in split(tokens) {
        if let Some(view) = data_source_view(&statement) {
            let columns = declared.get(&view).cloned().flatten();
            known.insert(view, columns);
            continue;
        }
        let first = statement.first().map(|t| (t.span.start.line, t.span.start.column)).unwrap_or((1, 1));
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(with_eof(statement));
        let parsed = parser.parse_statement().and_then(|s| match parser.peek_token().token {
            Token::EOF => Ok(s),
            other => Err(sqlparser::parser::ParserError::ParserError(format!(
                "Expected: end of statement, found: {other} at Line: {}, Column: {}",
                parser.peek_token().span.start.line,
                parser.peek_token().span.start.column
            ))),
        });
        match parsed {
            Err(e) => {
                let (message, line, column) = split_location(&e.to_string(), first);
                findings.push(syntax(file, message, line, column));
            }
            Ok(statement) => {
                let mut refs = References { file, known: &known, findings: Vec::new(), check: check_refs };
                let created = refs.statement(&statement);
                findings.extend(refs.findings);
                if let Some((name, columns)) = created {
                    known.insert(name, columns);
                }
            }
        }
    }
    findings
}

/// `${name}` replaced by as many `_` so positions stay (Spark substitutes them before parsing).
fn mask_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.extend(std::iter::repeat_n('_', rest[start..start + end + 1].chars().count()));
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Statements: tokens between semicolons, without whitespace and comments, empty ones dropped.
fn split(tokens: Vec<TokenWithSpan>) -> Vec<Vec<TokenWithSpan>> {
    let mut statements = vec![Vec::new()];
    for token in tokens {
        match &token.token {
            Token::SemiColon => statements.push(Vec::new()),
            Token::Whitespace(_) | Token::EOF => {}
            _ => statements.last_mut().map(|s| s.push(token)).unwrap_or_default(),
        }
    }
    statements.retain(|s| !s.is_empty());
    statements
}

fn with_eof(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let end = tokens.last().map(|t| t.span.end).unwrap_or(sqlparser::tokenizer::Location { line: 1, column: 1 });
    tokens.push(TokenWithSpan::new(Token::EOF, sqlparser::tokenizer::Span::new(end, end)));
    tokens
}

fn keyword(token: Option<&TokenWithSpan>, word: &str) -> bool {
    matches!(token.map(|t| &t.token), Some(Token::Word(Word { value, quote_style: None, .. })) if value.eq_ignore_ascii_case(word))
}

/// Spark's `CREATE [OR REPLACE] [GLOBAL] TEMP[ORARY] VIEW name [(cols)] USING fmt …`: the view's name.
fn data_source_view(tokens: &[TokenWithSpan]) -> Option<String> {
    let mut i = 0;
    let mut at = |word: &str| {
        if keyword(tokens.get(i), word) {
            i += 1;
            true
        } else {
            false
        }
    };
    if !at("CREATE") {
        return None;
    }
    if at("OR") && !at("REPLACE") {
        return None;
    }
    at("GLOBAL");
    if !(at("TEMPORARY") || at("TEMP")) || !at("VIEW") {
        return None;
    }
    let name = match tokens.get(i).map(|t| &t.token) {
        Some(Token::Word(w)) => w.value.to_lowercase(),
        _ => return None,
    };
    tokens[i + 1..].iter().any(|t| keyword(Some(t), "USING")).then_some(name)
}

/// sqlparser's "… at Line: L, Column: C" split into the message and the place.
fn split_location(message: &str, fallback: (u64, u64)) -> (String, u64, u64) {
    let message = message.strip_prefix("sql parser error: ").unwrap_or(message);
    if let Some((text, place)) = message.rsplit_once(" at Line: ")
        && let Some((line, column)) = place.split_once(", Column: ")
        && let (Ok(line), Ok(column)) = (line.trim().parse(), column.trim().parse())
    {
        return (text.to_owned(), line, column);
    }
    (message.to_owned(), fallback.0, fallback.1)
}

fn location(file: &str, line: u64, column: u64) -> Option<Location> {
    let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).max(1);
    Some(Location { file: file.to_owned(), line: n(line), column: n(column) })
}

fn syntax(file: &str, message: String, line: u64, column: u64) -> Finding {
    Finding {
        severity: Severity::Error,
        code: "sql-syntax".into(),
        message: format!("Spark SQL does not parse: {message}"),
        help: Some("fix the statement; `${name}` placeholders are read as identifiers".into()),
        field: None,
        location: location(file, line, column),
    }
}

/// Walks one parsed statement's queries for unknown tables and columns.
struct References<'a> {
    file: &'a str,
    known: &'a Tables,
    findings: Vec<Finding>,
    check: bool,
}

impl References<'_> {
    /// Checks a statement; a view or table it creates is returned with its columns.
    fn statement(&mut self, statement: &Statement) -> Option<(String, Option<BTreeSet<String>>)> {
        match statement {
            Statement::Query(query) => {
                self.query(query, &BTreeSet::new());
                None
            }
            Statement::CreateView(view) => {
                let columns = self.query(&view.query, &BTreeSet::new());
                Some((object_name(&view.name), columns))
            }
            Statement::Insert(insert) => {
                if let Some(source) = &insert.source {
                    self.query(source, &BTreeSet::new());
                }
                None
            }
            _ => None,
        }
    }

    /// Checks a query; returns its output columns when they are all known by name.
    fn query(&mut self, query: &Query, outer_ctes: &BTreeSet<String>) -> Option<BTreeSet<String>> {
        let mut ctes = outer_ctes.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.query(&cte.query, &ctes);
                ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        let (output, scope) = self.set_expr(&query.body, &ctes);
        if let (Some(order_by), Some(scope)) = (&query.order_by, scope)
            && let OrderByKind::Expressions(items) = &order_by.kind
        {
            let mut allowed = scope;
            allowed.extend(output.iter().flatten().cloned());
            for item in items {
                self.expr(&item.expr, &allowed);
            }
        }
        output
    }

    /// Output columns and the columns in scope (for ORDER BY) of a query body.
    fn set_expr(
        &mut self,
        body: &SetExpr,
        ctes: &BTreeSet<String>,
    ) -> (Option<BTreeSet<String>>, Option<BTreeSet<String>>) {
        let select = match body {
            SetExpr::Select(select) => select,
            SetExpr::Query(query) => return (self.query(query, ctes), None),
            SetExpr::SetOperation { left, right, .. } => {
                let out = self.set_expr(left, ctes).0;
                self.set_expr(right, ctes);
                return (out, None);
            }
            _ => return (None, None),
        };
        // The columns in scope, known only when every table in FROM has known columns.
        let mut scope: Option<BTreeSet<String>> = Some(BTreeSet::new());
        let mut aliases = BTreeSet::new();
        for table in &select.from {
            for factor in std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation)) {
                let columns = self.table_factor(factor, ctes, &mut aliases);
                scope = match (scope, columns) {
                    (Some(mut all), Some(columns)) => {
                        all.extend(columns);
                        Some(all)
                    }
                    _ => None,
                };
            }
        }
        if select.from.is_empty() || !select.lateral_views.is_empty() {
            scope = None;
        }
        let mut output = Some(BTreeSet::new());
        let mut select_aliases = BTreeSet::new();
        for item in &select.projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => {
                    select_aliases.insert(alias.value.to_lowercase());
                }
                SelectItem::UnnamedExpr(Expr::Identifier(ident)) => {
                    select_aliases.insert(ident.value.to_lowercase());
                }
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                    if let Some(last) = parts.last() {
                        select_aliases.insert(last.value.to_lowercase());
                    }
                }
                _ => output = None,
            }
        }
        if let Some(out) = &mut output {
            out.extend(select_aliases.iter().cloned());
        }
        if let Some(columns) = &scope {
            let mut allowed = columns.clone();
            allowed.extend(aliases.iter().map(|a| format!("{a}.")));
            for item in &select.projection {
                match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => self.expr(e, &allowed),
                    _ => {}
                }
            }
            if let Some(selection) = &select.selection {
                self.expr(selection, &allowed);
            }
            // Spark resolves GROUP BY and HAVING against the select list's aliases too.
            allowed.extend(select_aliases.iter().cloned());
            if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
                for e in exprs {
                    self.expr(e, &allowed);
                }
            }
            if let Some(having) = &select.having {
                self.expr(having, &allowed);
            }
            scope = Some(allowed);
        }
        (output, scope)
    }

    /// A table in FROM: reports it when unknown; its columns when known.
    fn table_factor(
        &mut self,
        factor: &TableFactor,
        ctes: &BTreeSet<String>,
        aliases: &mut BTreeSet<String>,
    ) -> Option<BTreeSet<String>> {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let key = object_name(name);
                aliases.insert(alias.as_ref().map(|a| a.name.value.to_lowercase()).unwrap_or_else(|| key.clone()));
                if ctes.contains(&key) {
                    return None;
                }
                // `parquet.`/path``: a file read directly.
                if name.0.len() == 2 && ident_of(name, 1).is_some_and(|i| i.quote_style == Some('`')) {
                    return None;
                }
                match self.known.get(&key) {
                    Some(columns) => columns.clone(),
                    None => {
                        if self.check {
                            let at = ident_of(name, 0).map(|i| (i.span.start.line, i.span.start.column));
                            self.unknown("sql-unknown-table", format!("table `{key}` is not declared"), at, || {
                                format!(
                                    "declare it under spec.ci.tables (known: {})",
                                    self.known.keys().cloned().collect::<Vec<_>>().join(", ")
                                )
                            });
                        }
                        None
                    }
                }
            }
            TableFactor::Derived { subquery, alias, .. } => {
                if let Some(alias) = alias {
                    aliases.insert(alias.name.value.to_lowercase());
                }
                self.query(subquery, ctes)
            }
            _ => None,
        }
    }

    /// Column references in an expression, against `allowed` (names, and `alias.` prefixes).
    fn expr(&mut self, expr: &Expr, allowed: &BTreeSet<String>) {
        match expr {
            Expr::Identifier(ident) => self.column(ident, allowed),
            Expr::CompoundIdentifier(parts)
                if parts.len() == 2 && allowed.contains(&format!("{}.", parts[0].value.to_lowercase())) =>
            {
                self.column(&parts[1], allowed);
            }
            Expr::BinaryOp { left, right, .. } => {
                self.expr(left, allowed);
                self.expr(right, allowed);
            }
            Expr::UnaryOp { expr, .. }
            | Expr::Nested(expr)
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::Cast { expr, .. } => self.expr(expr, allowed),
            Expr::Between { expr, low, high, .. } => {
                for e in [expr, low, high] {
                    self.expr(e, allowed);
                }
            }
            Expr::InList { expr, list, .. } => {
                self.expr(expr, allowed);
                for e in list {
                    self.expr(e, allowed);
                }
            }
            Expr::Like { expr, pattern, .. } => {
                self.expr(expr, allowed);
                self.expr(pattern, allowed);
            }
            Expr::Case { operand, conditions, else_result, .. } => {
                for e in operand.iter().chain(else_result.iter()) {
                    self.expr(e, allowed);
                }
                for when in conditions {
                    self.expr(&when.condition, allowed);
                    self.expr(&when.result, allowed);
                }
            }
            Expr::Function(function) => {
                if let FunctionArguments::List(list) = &function.args {
                    for arg in &list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
                            self.expr(e, allowed);
                        }
                    }
                }
            }
            // Subqueries, lambdas and the rest: not followed (no false alarms).
            _ => {}
        }
    }

    fn column(&mut self, ident: &Ident, allowed: &BTreeSet<String>) {
        let name = ident.value.to_lowercase();
        if !self.check || allowed.contains(&name) {
            return;
        }
        let at = Some((ident.span.start.line, ident.span.start.column));
        let mut candidates: Vec<&String> = allowed.iter().filter(|c| !c.ends_with('.')).collect();
        candidates.sort_by_key(|c| std::cmp::Reverse((strsim_like(&name, c) * 1000.0) as i64));
        let best = candidates.first().map(|c| c.to_string());
        self.unknown(
            "sql-unknown-column",
            format!("column `{name}` is not in the tables it reads"),
            at,
            || match best {
                Some(best) => format!("did you mean `{best}`? columns: {}", join(allowed)),
                None => "declare its table's columns under spec.ci.tables".into(),
            },
        );
    }

    fn unknown(&mut self, code: &str, message: String, at: Option<(u64, u64)>, help: impl FnOnce() -> String) {
        let (line, column) = at.unwrap_or((1, 1));
        self.findings.push(Finding {
            severity: Severity::Error,
            code: code.into(),
            message,
            help: Some(help()),
            field: None,
            location: location(self.file, line, column),
        });
    }
}

fn join(allowed: &BTreeSet<String>) -> String {
    allowed.iter().filter(|c| !c.ends_with('.')).cloned().collect::<Vec<_>>().join(", ")
}

/// Similarity of two names in [0, 1]: shared prefix and length (enough for a suggestion).
fn strsim_like(a: &str, b: &str) -> f64 {
    let prefix = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let common = a.chars().filter(|c| b.contains(*c)).count();
    (prefix * 2 + common) as f64 / (a.len() + b.len()).max(1) as f64
}

fn ident_of(name: &ObjectName, i: usize) -> Option<&Ident> {
    name.0.get(i).and_then(|p| p.as_ident())
}

fn object_name(name: &ObjectName) -> String {
    name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.to_lowercase()).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> Tables {
        let columns = ["zone", "trips", "fare_total", "distance_avg_km", "pickup_date"];
        BTreeMap::from([("daily".to_owned(), Some(columns.iter().map(|c| c.to_string()).collect()))])
    }

    fn plain(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| {
                format!(
                    "{}: {}: {}",
                    f.location.as_ref().map(ToString::to_string).unwrap_or_default(),
                    f.code,
                    f.message
                )
            })
            .collect()
    }

    #[test]
    fn the_example_report_parses_and_reads_only_declared_columns() {
        let text = include_str!("../../../examples/trips-report/report.sql");
        assert_eq!(plain(&check_sql("report.sql", text, &declared())), Vec::<String>::new());
    }

    #[test]
    fn every_statement_is_checked_and_each_problem_is_placed() {
        let text = "CREATE TEMPORARY VIEW daily USING parquet OPTIONS (path '${p}');\n\
                    SELECT zone, SUM(trips AS n FROM daily;\n\
                    SELECT zone, fares FROM daily WHERE pickup_date > '2026-01-01' ORDER BY n;\n\
                    SELECT * FROM trips_raw;\n\
                    SELECT d.zone, COUNT(*) AS c FROM daily d GROUP BY d.zone ORDER BY c;\n";
        assert_eq!(
            plain(&check_sql("q.sql", text, &declared())),
            vec![
                "q.sql:2:24: sql-syntax: Spark SQL does not parse: Expected: ), found: AS",
                "q.sql:3:14: sql-unknown-column: column `fares` is not in the tables it reads",
                "q.sql:3:73: sql-unknown-column: column `n` is not in the tables it reads",
                "q.sql:4:15: sql-unknown-table: table `trips_raw` is not declared",
            ]
        );
    }

    #[test]
    fn without_declared_tables_only_syntax_is_checked() {
        let findings = check_sql("q.sql", "SELECT a FROM t;\nSELEC 1", &Tables::new());
        assert_eq!(
            plain(&findings),
            vec!["q.sql:2:1: sql-syntax: Spark SQL does not parse: Expected: an SQL statement, found: SELEC"]
        );
    }

    #[test]
    fn views_created_from_queries_carry_their_columns() {
        let text = "CREATE TEMPORARY VIEW z AS SELECT zone, trips AS n FROM daily;\nSELECT zone, n, fare_total FROM z";
        assert_eq!(
            plain(&check_sql("v.sql", text, &declared())),
            vec!["v.sql:2:17: sql-unknown-column: column `fare_total` is not in the tables it reads"]
        );
    }

    #[test]
    fn placeholders_keep_their_width() {
        assert_eq!(mask_placeholders("a '${x}' ${yy} ${"), "a '____' _____ ${");
    }
}
