//! Custom SQL predicate checks (`sql: "amount >= 0 AND refund_id IS NOT NULL"`):
//! the predicate is parsed once with `sqlparser` into a small expression
//! tree of our own, and evaluated batch by batch with arrow's vectorized
//! kernels (comparison, boolean, arithmetic, LIKE) in the same pass as the
//! other checks.
//!
//! Semantics are SQL's, as in a `CHECK` constraint: three-valued logic, and a
//! row fails only when the predicate is FALSE — a NULL (unknown) result
//! passes. Write `col IS NOT NULL AND …` to make nulls fail.
//!
//! Supported: column names (plain or "quoted"), number, string, boolean and
//! NULL literals; `= <> != < <= > >=`; `+ - * / %`; unary `-` and `NOT`;
//! `AND`, `OR`; `IS [NOT] NULL`, `IS [NOT] TRUE/FALSE`; `[NOT] IN (…)`;
//! `[NOT] BETWEEN … AND …`; `[NOT] LIKE` / `ILIKE`; parentheses; and the
//! functions `length`, `lower`, `upper`, `trim`, `abs`, `coalesce`.
//!
//! Owns: parsing, checking and evaluating predicates. Must not: read data.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, NullArray, RecordBatch, Scalar, StringArray,
};
use arrow_schema::{ArrowError, DataType};
use sparkplane_api::dq::DqSpec;
use sqlparser::ast::{self, BinaryOperator, Expr as Ast, UnaryOperator, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::DqError;

/// A parse or type problem in a predicate, with its place in the SQL text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// What is wrong.
    pub message: String,
    /// 1-based line and column in the SQL text, when known.
    pub at: Option<(usize, usize)>,
    /// What to write instead.
    pub help: String,
}

const SUPPORTED: &str = "use comparisons (= <> < <= > >=), + - * / %, AND/OR/NOT, IS [NOT] NULL, [NOT] IN (…), \
[NOT] BETWEEN, [NOT] LIKE/ILIKE, and length/lower/upper/trim/abs/coalesce";

fn unsupported(what: String, at: Option<(usize, usize)>) -> SqlError {
    SqlError { message: format!("{what} is not supported in a check predicate"), at, help: SUPPORTED.to_owned() }
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// NULL.
    Null,
    /// TRUE or FALSE.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A string.
    Text(String),
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `=`
    Eq,
    /// `<>`, `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// Scalar functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// Characters of a string.
    Length,
    /// Lower-case.
    Lower,
    /// Upper-case.
    Upper,
    /// Without leading and trailing spaces.
    Trim,
    /// Absolute value (as a double).
    Abs,
    /// The first non-null argument.
    Coalesce,
}

/// A predicate's expression tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column, with where its name is in the SQL text.
    Column(String, Option<(usize, usize)>),
    /// A literal.
    Literal(Literal),
    /// NOT.
    Not(Box<Expr>),
    /// Unary minus.
    Negate(Box<Expr>),
    /// AND (Kleene).
    And(Box<Expr>, Box<Expr>),
    /// OR (Kleene).
    Or(Box<Expr>, Box<Expr>),
    /// A comparison.
    Compare(Compare, Box<Expr>, Box<Expr>),
    /// Arithmetic.
    Arith(Arith, Box<Expr>, Box<Expr>),
    /// IS NULL (`true`) or IS NOT NULL (`false`).
    IsNull(Box<Expr>, bool),
    /// IS TRUE / IS FALSE (never NULL), with `negated` for IS NOT.
    IsBool(Box<Expr>, bool, bool),
    /// `[NOT] IN (list)`.
    InList(Box<Expr>, Vec<Expr>, bool),
    /// LIKE (`case_insensitive` for ILIKE), `negated` for NOT.
    Like { expr: Box<Expr>, pattern: Box<Expr>, negated: bool, case_insensitive: bool },
    /// A function call.
    Call(Function, Vec<Expr>),
}

/// A parsed predicate.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The text as written.
    pub sql: String,
    /// The tree.
    pub expr: Expr,
}

fn location(span: &sqlparser::tokenizer::Span) -> Option<(usize, usize)> {
    (span.start.line > 0).then_some((span.start.line as usize, span.start.column as usize))
}

/// Parses a predicate.
pub fn parse(sql: &str) -> Result<Predicate, SqlError> {
    let dialect = GenericDialect {};
    let syntax = |e: sqlparser::parser::ParserError| {
        let text = e.to_string();
        let text = text.strip_prefix("sql parser error: ").unwrap_or(&text).to_owned();
        let at = parse_position(&text);
        SqlError {
            message: format!("not a valid SQL expression: {text}"),
            at,
            help:
                "write a boolean SQL expression over the dataset's columns, e.g. \"amount >= 0 AND status <> 'void'\""
                    .to_owned(),
        }
    };
    let mut parser = Parser::new(&dialect).try_with_sql(sql).map_err(syntax)?;
    let ast = parser.parse_expr().map_err(syntax)?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(SqlError {
            message: format!("unexpected `{}` after the expression", next.token),
            at: location(&next.span),
            help: "a check predicate is one boolean expression; join conditions with AND / OR".to_owned(),
        });
    }
    Ok(Predicate { sql: sql.to_owned(), expr: convert(&ast)? })
}

/// `... at Line: 1, Column: 7` in sqlparser's messages.
fn parse_position(text: &str) -> Option<(usize, usize)> {
    let (_, rest) = text.rsplit_once("Line: ")?;
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

fn boxed(ast: &Ast) -> Result<Box<Expr>, SqlError> {
    convert(ast).map(Box::new)
}

fn convert(ast: &Ast) -> Result<Expr, SqlError> {
    Ok(match ast {
        Ast::Identifier(ident) => Expr::Column(ident.value.clone(), location(&ident.span)),
        Ast::CompoundIdentifier(parts) => {
            let at = parts.first().and_then(|p| location(&p.span));
            return Err(SqlError {
                message: format!(
                    "`{}` names a table or struct field; only the dataset's own columns can be used",
                    parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".")
                ),
                at,
                help: "write the column name alone; quote names with dots as \"a.b\"".to_owned(),
            });
        }
        Ast::Value(v) => Expr::Literal(literal(v)?),
        Ast::Nested(inner) => convert(inner)?,
        Ast::UnaryOp { op: UnaryOperator::Not, expr } => Expr::Not(boxed(expr)?),
        Ast::UnaryOp { op: UnaryOperator::Minus, expr } => match convert(expr)? {
            Expr::Literal(Literal::Int(i)) => Expr::Literal(Literal::Int(-i)),
            Expr::Literal(Literal::Float(f)) => Expr::Literal(Literal::Float(-f)),
            other => Expr::Negate(Box::new(other)),
        },
        Ast::UnaryOp { op: UnaryOperator::Plus, expr } => convert(expr)?,
        Ast::BinaryOp { left, op, right } => {
            let (l, r) = (boxed(left)?, boxed(right)?);
            match op {
                BinaryOperator::And => Expr::And(l, r),
                BinaryOperator::Or => Expr::Or(l, r),
                BinaryOperator::Eq => Expr::Compare(Compare::Eq, l, r),
                BinaryOperator::NotEq => Expr::Compare(Compare::NotEq, l, r),
                BinaryOperator::Lt => Expr::Compare(Compare::Lt, l, r),
                BinaryOperator::LtEq => Expr::Compare(Compare::LtEq, l, r),
                BinaryOperator::Gt => Expr::Compare(Compare::Gt, l, r),
                BinaryOperator::GtEq => Expr::Compare(Compare::GtEq, l, r),
                BinaryOperator::Plus => Expr::Arith(Arith::Add, l, r),
                BinaryOperator::Minus => Expr::Arith(Arith::Sub, l, r),
                BinaryOperator::Multiply => Expr::Arith(Arith::Mul, l, r),
                BinaryOperator::Divide => Expr::Arith(Arith::Div, l, r),
                BinaryOperator::Modulo => Expr::Arith(Arith::Rem, l, r),
                other => return Err(unsupported(format!("the operator `{other}`"), first_position(left))),
            }
        }
        Ast::IsNull(e) => Expr::IsNull(boxed(e)?, true),
        Ast::IsNotNull(e) => Expr::IsNull(boxed(e)?, false),
        Ast::IsTrue(e) => Expr::IsBool(boxed(e)?, true, false),
        Ast::IsNotTrue(e) => Expr::IsBool(boxed(e)?, true, true),
        Ast::IsFalse(e) => Expr::IsBool(boxed(e)?, false, false),
        Ast::IsNotFalse(e) => Expr::IsBool(boxed(e)?, false, true),
        Ast::InList { expr, list, negated } => {
            Expr::InList(boxed(expr)?, list.iter().map(convert).collect::<Result<_, _>>()?, *negated)
        }
        Ast::Between { expr, negated, low, high } => {
            let value = convert(expr)?;
            let inside = Expr::And(
                Box::new(Expr::Compare(Compare::GtEq, Box::new(value.clone()), boxed(low)?)),
                Box::new(Expr::Compare(Compare::LtEq, Box::new(value), boxed(high)?)),
            );
            if *negated { Expr::Not(Box::new(inside)) } else { inside }
        }
        Ast::Like { negated, any: false, expr, pattern, escape_char: None } => {
            Expr::Like { expr: boxed(expr)?, pattern: boxed(pattern)?, negated: *negated, case_insensitive: false }
        }
        Ast::ILike { negated, any: false, expr, pattern, escape_char: None } => {
            Expr::Like { expr: boxed(expr)?, pattern: boxed(pattern)?, negated: *negated, case_insensitive: true }
        }
        Ast::Function(f) => function(f)?,
        other => {
            let text = other.to_string();
            let kind = text.split_whitespace().next().unwrap_or_default().to_owned();
            return Err(unsupported(format!("`{kind}…`"), first_position(other)));
        }
    })
}

fn first_position(ast: &Ast) -> Option<(usize, usize)> {
    use sqlparser::ast::Spanned;
    location(&ast.span())
}

fn literal(v: &ast::ValueWithSpan) -> Result<Literal, SqlError> {
    Ok(match &v.value {
        Value::Null => Literal::Null,
        Value::Boolean(b) => Literal::Bool(*b),
        Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Literal::Int(i),
            Err(_) => {
                Literal::Float(n.parse::<f64>().map_err(|_| unsupported(format!("the number {n}"), location(&v.span)))?)
            }
        },
        Value::SingleQuotedString(s) => Literal::Text(s.clone()),
        other => return Err(unsupported(format!("the literal {other}"), location(&v.span))),
    })
}

fn function(f: &ast::Function) -> Result<Expr, SqlError> {
    let name = f.name.to_string().to_ascii_lowercase();
    let at = f.name.0.first().and_then(|p| p.as_ident()).and_then(|i| location(&i.span));
    let which = match name.as_str() {
        "length" | "char_length" | "character_length" => Function::Length,
        "lower" => Function::Lower,
        "upper" => Function::Upper,
        "trim" => Function::Trim,
        "abs" => Function::Abs,
        "coalesce" => Function::Coalesce,
        other => return Err(unsupported(format!("the function `{other}`"), at)),
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(unsupported(format!("`{name}` without an argument list"), at));
    };
    let mut args = Vec::new();
    for arg in &list.args {
        match arg {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(convert(e)?),
            _ => return Err(unsupported(format!("this argument of `{name}`"), at)),
        }
    }
    let arity_ok = match which {
        Function::Coalesce => !args.is_empty(),
        _ => args.len() == 1,
    };
    if !arity_ok || list.duplicate_treatment.is_some() || f.over.is_some() || f.filter.is_some() {
        return Err(SqlError {
            message: format!(
                "`{name}` takes {}",
                if which == Function::Coalesce { "one or more arguments" } else { "one argument" }
            ),
            at,
            help: format!("write e.g. {name}(column)"),
        });
    }
    Ok(Expr::Call(which, args))
}

impl Expr {
    fn columns<'a>(&'a self, out: &mut Vec<(&'a str, Option<(usize, usize)>)>) {
        match self {
            Expr::Column(name, at) => out.push((name, *at)),
            Expr::Literal(_) => {}
            Expr::Not(e) | Expr::Negate(e) | Expr::IsNull(e, _) | Expr::IsBool(e, _, _) => e.columns(out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Compare(_, a, b) | Expr::Arith(_, a, b) => {
                a.columns(out);
                b.columns(out);
            }
            Expr::InList(e, list, _) => {
                e.columns(out);
                list.iter().for_each(|x| x.columns(out));
            }
            Expr::Like { expr, pattern, .. } => {
                expr.columns(out);
                pattern.columns(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|x| x.columns(out)),
        }
    }
}

impl Predicate {
    /// The columns the predicate reads, sorted, without repeats.
    pub fn columns(&self) -> BTreeSet<String> {
        let mut out = Vec::new();
        self.expr.columns(&mut out);
        out.into_iter().map(|(name, _)| name.to_owned()).collect()
    }

    /// The first column the dataset does not have, with where it is in the SQL text.
    pub fn unknown_column<'a>(&'a self, known: &dyn Fn(&str) -> bool) -> Option<(&'a str, Option<(usize, usize)>)> {
        let mut out = Vec::new();
        self.expr.columns(&mut out);
        out.into_iter().find(|(name, _)| !known(name))
    }

    /// Evaluates the predicate over a batch: one boolean per row (NULL where
    /// the result is unknown). `column` gives a column's array by name.
    pub fn evaluate(&self, rows: usize, column: &dyn Fn(&str) -> Option<ArrayRef>) -> Result<BooleanArray, ArrowError> {
        let value = eval(&self.expr, rows, column)?;
        let array = value.into_array(rows);
        match array.data_type() {
            DataType::Boolean => Ok(array.as_boolean().clone()),
            DataType::Null => Ok(BooleanArray::new_null(rows)),
            other => Err(ArrowError::InvalidArgumentError(format!(
                "the predicate gives {} values, not true/false",
                crate::columns::spark_type(other)
            ))),
        }
    }
}

/// Every `sql` check of a spec, parsed, by check index.
pub fn compile_checks(spec: &DqSpec) -> Result<BTreeMap<usize, Predicate>, DqError> {
    let mut out = BTreeMap::new();
    for (i, check) in spec.checks.iter().enumerate() {
        if let Some(sql) = &check.sql {
            let predicate = parse(sql.predicate()).map_err(|e| DqError::Spec {
                field: format!("checks[{i}].sql"),
                at: e.at,
                message: e.message,
                help: e.help,
            })?;
            out.insert(i, predicate);
        }
    }
    Ok(out)
}

/// An intermediate result: a column, or one value for every row.
enum Val {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Val {
    fn array(&self) -> &ArrayRef {
        match self {
            Val::Array(a) | Val::Scalar(a) => a,
        }
    }

    fn into_array(self, rows: usize) -> ArrayRef {
        match self {
            Val::Array(a) => a,
            Val::Scalar(a) => {
                let indices = arrow_array::UInt32Array::from(vec![0u32; rows]);
                arrow_select::take::take(a.as_ref(), &indices, None).unwrap_or(a)
            }
        }
    }

    fn map(self, f: impl FnOnce(&ArrayRef) -> Result<ArrayRef, ArrowError>) -> Result<Val, ArrowError> {
        Ok(match self {
            Val::Array(a) => Val::Array(f(&a)?),
            Val::Scalar(a) => Val::Scalar(f(&a)?),
        })
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Val::Scalar(_))
    }
}

fn datum(v: &Val) -> Box<dyn arrow_array::Datum> {
    match v {
        Val::Array(a) => Box::new(Arc::clone(a)),
        Val::Scalar(a) => Box::new(Scalar::new(Arc::clone(a))),
    }
}

fn literal_array(l: &Literal) -> ArrayRef {
    match l {
        Literal::Null => Arc::new(NullArray::new(1)),
        Literal::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        Literal::Int(i) => Arc::new(Int64Array::from(vec![*i])),
        Literal::Float(f) => Arc::new(Float64Array::from(vec![*f])),
        Literal::Text(s) => Arc::new(StringArray::from(vec![s.as_str()])),
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        || matches!(t, DataType::Dictionary(_, v) if is_string(v))
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _))
}

/// The type both sides of a comparison or arithmetic are brought to.
fn common_type(a: &DataType, b: &DataType) -> Result<DataType, ArrowError> {
    if a == b && !matches!(a, DataType::Dictionary(_, _)) {
        return Ok(a.clone());
    }
    if is_string(a) && is_string(b) {
        return Ok(DataType::Utf8);
    }
    if is_integer(a) && is_integer(b) {
        return Ok(DataType::Int64);
    }
    if a.is_numeric() && b.is_numeric() {
        return Ok(DataType::Float64);
    }
    if is_temporal(a) && is_string(b) {
        return Ok(a.clone());
    }
    if is_string(a) && is_temporal(b) {
        return Ok(b.clone());
    }
    Err(ArrowError::InvalidArgumentError(format!(
        "cannot compare or combine {} with {}",
        crate::columns::spark_type(a),
        crate::columns::spark_type(b)
    )))
}

fn cast_to(v: Val, to: &DataType) -> Result<Val, ArrowError> {
    if v.array().data_type() == to {
        return Ok(v);
    }
    v.map(|a| arrow_cast::cast(a.as_ref(), to))
}

fn both(a: Val, b: Val) -> Result<(Val, Val), ArrowError> {
    let t = common_type(a.array().data_type(), b.array().data_type())?;
    Ok((cast_to(a, &t)?, cast_to(b, &t)?))
}

fn wrap(result: ArrayRef, scalar: bool) -> Val {
    if scalar { Val::Scalar(result) } else { Val::Array(result) }
}

fn boolean(v: Val, rows: usize) -> Result<BooleanArray, ArrowError> {
    let array = v.into_array(rows);
    match array.data_type() {
        DataType::Boolean => Ok(array.as_boolean().clone()),
        DataType::Null => Ok(BooleanArray::new_null(array.len())),
        other => Err(ArrowError::InvalidArgumentError(format!(
            "AND, OR and NOT need true/false operands, not {}",
            crate::columns::spark_type(other)
        ))),
    }
}

fn null_result(rows: usize, scalar: bool) -> Val {
    wrap(Arc::new(BooleanArray::new_null(if scalar { 1 } else { rows })), scalar)
}

fn eval(expr: &Expr, rows: usize, column: &dyn Fn(&str) -> Option<ArrayRef>) -> Result<Val, ArrowError> {
    Ok(match expr {
        Expr::Column(name, _) => Val::Array(
            column(name).ok_or_else(|| ArrowError::InvalidArgumentError(format!("column `{name}` not found")))?,
        ),
        Expr::Literal(l) => Val::Scalar(literal_array(l)),
        Expr::Not(e) => {
            let v = eval(e, rows, column)?;
            let scalar = v.is_scalar();
            let b = boolean(v, if scalar { 1 } else { rows })?;
            wrap(Arc::new(not(&b)?), scalar)
        }
        // 0 - x rather than -x: SQL has no negative zero, and arrow orders -0.0 below 0.0.
        Expr::Negate(e) => eval(e, rows, column)?.map(|a| {
            let zero = arrow_cast::cast(&Int64Array::from(vec![0]), a.data_type())?;
            arrow_arith::numeric::sub(&Scalar::new(zero), a)
        })?,
        Expr::And(a, b) | Expr::Or(a, b) => {
            let (x, y) = (eval(a, rows, column)?, eval(b, rows, column)?);
            let scalar = x.is_scalar() && y.is_scalar();
            let n = if scalar { 1 } else { rows };
            let (x, y) = (boolean(x, n)?, boolean(y, n)?);
            let out = if matches!(expr, Expr::And(..)) { and_kleene(&x, &y)? } else { or_kleene(&x, &y)? };
            wrap(Arc::new(out), scalar)
        }
        Expr::Compare(op, a, b) => {
            let (x, y) = (eval(a, rows, column)?, eval(b, rows, column)?);
            let scalar = x.is_scalar() && y.is_scalar();
            if x.array().data_type() == &DataType::Null || y.array().data_type() == &DataType::Null {
                return Ok(null_result(rows, scalar));
            }
            let (x, y) = both(x, y)?;
            let (l, r) = (datum(&x), datum(&y));
            let out = match op {
                Compare::Eq => arrow_ord::cmp::eq(l.as_ref(), r.as_ref())?,
                Compare::NotEq => arrow_ord::cmp::neq(l.as_ref(), r.as_ref())?,
                Compare::Lt => arrow_ord::cmp::lt(l.as_ref(), r.as_ref())?,
                Compare::LtEq => arrow_ord::cmp::lt_eq(l.as_ref(), r.as_ref())?,
                Compare::Gt => arrow_ord::cmp::gt(l.as_ref(), r.as_ref())?,
                Compare::GtEq => arrow_ord::cmp::gt_eq(l.as_ref(), r.as_ref())?,
            };
            wrap(Arc::new(out), scalar)
        }
        Expr::Arith(op, a, b) => {
            let (x, y) = (eval(a, rows, column)?, eval(b, rows, column)?);
            let scalar = x.is_scalar() && y.is_scalar();
            if x.array().data_type() == &DataType::Null || y.array().data_type() == &DataType::Null {
                return Ok(wrap(Arc::new(NullArray::new(if scalar { 1 } else { rows })), scalar));
            }
            let (x, y) = both(x, y)?;
            if !x.array().data_type().is_numeric() {
                return Err(ArrowError::InvalidArgumentError(format!(
                    "arithmetic needs numbers, not {}",
                    crate::columns::spark_type(x.array().data_type())
                )));
            }
            // Division by zero is NULL in SQL engines such as Spark's, not an error.
            let y = if matches!(op, Arith::Div | Arith::Rem) { y.map(zero_to_null)? } else { y };
            let (l, r) = (datum(&x), datum(&y));
            let out = match op {
                Arith::Add => arrow_arith::numeric::add(l.as_ref(), r.as_ref())?,
                Arith::Sub => arrow_arith::numeric::sub(l.as_ref(), r.as_ref())?,
                Arith::Mul => arrow_arith::numeric::mul(l.as_ref(), r.as_ref())?,
                Arith::Div => arrow_arith::numeric::div(l.as_ref(), r.as_ref())?,
                Arith::Rem => arrow_arith::numeric::rem(l.as_ref(), r.as_ref())?,
            };
            wrap(out, scalar)
        }
        Expr::IsNull(e, want_null) => {
            let v = eval(e, rows, column)?;
            let scalar = v.is_scalar();
            let a = v.array();
            let out = if *want_null { is_null(a.as_ref())? } else { is_not_null(a.as_ref())? };
            wrap(Arc::new(out), scalar)
        }
        Expr::IsBool(e, target, negated) => {
            let v = eval(e, rows, column)?;
            let scalar = v.is_scalar();
            let b = boolean(v, if scalar { 1 } else { rows })?;
            let out: BooleanArray = b.iter().map(|x| Some((x == Some(*target)) != *negated)).collect();
            wrap(Arc::new(out), scalar)
        }
        Expr::InList(e, list, negated) => {
            // x IN (a, b) is x = a OR x = b, with SQL's NULL rules.
            let mut any: Option<Expr> = None;
            for item in list {
                let eq = Expr::Compare(Compare::Eq, e.clone(), Box::new(item.clone()));
                any = Some(match any {
                    None => eq,
                    Some(prev) => Expr::Or(Box::new(prev), Box::new(eq)),
                });
            }
            let any = any.unwrap_or(Expr::Literal(Literal::Bool(false)));
            let tree = if *negated { Expr::Not(Box::new(any)) } else { any };
            eval(&tree, rows, column)?
        }
        Expr::Like { expr: e, pattern, negated, case_insensitive } => {
            let (x, y) = (eval(e, rows, column)?, eval(pattern, rows, column)?);
            let scalar = x.is_scalar() && y.is_scalar();
            if x.array().data_type() == &DataType::Null || y.array().data_type() == &DataType::Null {
                return Ok(null_result(rows, scalar));
            }
            let (x, y) = (cast_to(x, &DataType::Utf8)?, cast_to(y, &DataType::Utf8)?);
            let (l, r) = (datum(&x), datum(&y));
            let out = match (negated, case_insensitive) {
                (false, false) => arrow_string::like::like(l.as_ref(), r.as_ref())?,
                (true, false) => arrow_string::like::nlike(l.as_ref(), r.as_ref())?,
                (false, true) => arrow_string::like::ilike(l.as_ref(), r.as_ref())?,
                (true, true) => arrow_string::like::nilike(l.as_ref(), r.as_ref())?,
            };
            wrap(Arc::new(out), scalar)
        }
        Expr::Call(f, args) => call(*f, args, rows, column)?,
    })
}

fn zero_to_null(a: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let zero = arrow_cast::cast(&Int64Array::from(vec![0]), a.data_type())?;
    let is_zero = arrow_ord::cmp::eq(a, &Scalar::new(zero))?;
    let nulls = arrow_array::new_null_array(a.data_type(), 1);
    arrow_select::zip::zip(&is_zero, &Scalar::new(nulls), a)
}

fn strings(v: Val, f: impl Fn(&str) -> String) -> Result<Val, ArrowError> {
    v.map(|a| {
        let text = arrow_cast::cast(a.as_ref(), &DataType::Utf8)?;
        let out: StringArray = text.as_string::<i32>().iter().map(|s| s.map(&f)).collect();
        Ok(Arc::new(out) as ArrayRef)
    })
}

fn call(f: Function, args: &[Expr], rows: usize, column: &dyn Fn(&str) -> Option<ArrayRef>) -> Result<Val, ArrowError> {
    let mut values = args.iter().map(|a| eval(a, rows, column)).collect::<Result<Vec<_>, _>>()?;
    if f == Function::Coalesce {
        let scalar = values.iter().all(Val::is_scalar);
        let n = if scalar { 1 } else { rows };
        let mut out: Option<ArrayRef> = None;
        for v in values {
            let a = v.into_array(n);
            out = Some(match out {
                None => a,
                Some(prev) if prev.data_type() == &DataType::Null => a,
                Some(prev) if a.data_type() == &DataType::Null => prev,
                Some(prev) => {
                    let t = common_type(prev.data_type(), a.data_type())?;
                    let (prev, a) = (arrow_cast::cast(&prev, &t)?, arrow_cast::cast(&a, &t)?);
                    let keep = is_not_null(prev.as_ref())?;
                    arrow_select::zip::zip(&keep, &prev, &a)?
                }
            });
        }
        return Ok(wrap(out.unwrap_or_else(|| Arc::new(NullArray::new(n))), scalar));
    }
    let v = values.pop().ok_or_else(|| ArrowError::InvalidArgumentError("missing argument".to_owned()))?;
    match f {
        Function::Lower => strings(v, str::to_lowercase),
        Function::Upper => strings(v, str::to_uppercase),
        Function::Trim => strings(v, |s| s.trim_matches(' ').to_owned()),
        Function::Length => v.map(|a| {
            let text = arrow_cast::cast(a.as_ref(), &DataType::Utf8)?;
            let out: Int64Array = text.as_string::<i32>().iter().map(|s| s.map(|s| s.chars().count() as i64)).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
        Function::Abs => v.map(|a| {
            if !a.data_type().is_numeric() {
                return Err(ArrowError::InvalidArgumentError(format!(
                    "abs needs a number, not {}",
                    crate::columns::spark_type(a.data_type())
                )));
            }
            let d = arrow_cast::cast(a.as_ref(), &DataType::Float64)?;
            let out: Float64Array = d.as_primitive::<arrow_array::types::Float64Type>().unary(f64::abs);
            Ok(Arc::new(out) as ArrayRef)
        }),
        Function::Coalesce => Ok(v),
    }
}

/// Evaluates a predicate over a record batch's columns (for tests and tools).
pub fn evaluate_batch(predicate: &Predicate, batch: &RecordBatch) -> Result<BooleanArray, ArrowError> {
    predicate.evaluate(batch.num_rows(), &|name| batch.column_by_name(name).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, Int32Array};

    fn batch() -> RecordBatch {
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("amount", Arc::new(Float64Array::from(vec![Some(10.0), Some(-1.0), None, Some(0.0), Some(5.5)]))),
            ("qty", Arc::new(Int32Array::from(vec![Some(1), Some(2), Some(3), None, Some(0)]))),
            (
                "status",
                Arc::new(StringArray::from(vec![Some("paid"), Some("refunded"), Some("refunded"), None, Some("Void")])),
            ),
            ("refund_id", Arc::new(StringArray::from(vec![None, Some("r1"), None, None, None]))),
            ("day", Arc::new(Date32Array::from(vec![Some(20_777), Some(20_778), None, Some(20_000), Some(20_777)]))),
        ];
        RecordBatch::try_from_iter(columns).unwrap_or_else(|e| panic!("{e}"))
    }

    fn results(sql: &str) -> Vec<Option<bool>> {
        let predicate = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        evaluate_batch(&predicate, &batch()).unwrap_or_else(|e| panic!("{sql}: {e}")).iter().collect()
    }

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);
    const N: Option<bool> = None;

    #[test]
    fn predicates_evaluate_with_sql_three_valued_logic() {
        let cases: &[(&str, [Option<bool>; 5])] = &[
            ("amount >= 0", [T, F, N, T, T]),
            ("amount >= 0 AND qty > 0", [T, F, N, N, F]),
            ("amount >= 0 OR qty > 0", [T, T, T, T, T]),
            ("NOT amount > 0", [F, T, N, T, F]),
            ("amount IS NULL", [F, F, T, F, F]),
            ("refund_id IS NOT NULL", [F, T, F, F, F]),
            ("status <> 'refunded' OR refund_id IS NOT NULL", [T, T, F, N, T]),
            ("status IN ('paid', 'refunded')", [T, T, T, N, F]),
            ("status NOT IN ('paid', NULL)", [F, N, N, N, N]),
            ("amount BETWEEN 0 AND 6", [F, F, N, T, T]),
            ("amount NOT BETWEEN 0 AND 6", [T, T, N, F, F]),
            ("status LIKE 're%'", [F, T, T, N, F]),
            ("status ILIKE 'v_id'", [F, F, F, N, T]),
            ("status NOT LIKE '%d'", [F, F, F, N, F]),
            ("status NOT LIKE 'p%'", [F, T, T, N, T]),
            ("amount * qty + 1 > 5", [T, F, N, N, F]),
            ("amount / qty >= 0", [T, F, N, N, N]),
            ("qty % 2 = 1", [T, F, T, N, F]),
            ("-amount < 0", [T, F, N, F, T]),
            ("length(status) = 4", [T, F, F, N, T]),
            ("lower(status) = 'void'", [F, F, F, N, T]),
            ("upper(status) = 'PAID'", [T, F, F, N, F]),
            ("abs(amount) = 1", [F, T, N, F, F]),
            ("coalesce(refund_id, status) <> 'refunded'", [T, T, F, N, T]),
            ("coalesce(qty, 0) >= 1", [T, T, T, F, F]),
            ("day >= '2026-11-20'", [T, T, N, F, T]),
            ("(amount > 0) IS TRUE", [T, F, F, F, T]),
            ("(amount > 0) IS NOT FALSE", [T, F, T, F, T]),
            ("NULL = NULL", [N, N, N, N, N]),
            ("1 = 1", [T, T, T, T, T]),
        ];
        for (sql, expected) in cases {
            assert_eq!(results(sql), expected.to_vec(), "{sql}");
        }
    }

    #[test]
    fn columns_are_collected_once_in_order() {
        let p = parse("b > 1 AND (a IS NULL OR b < coalesce(c, a))").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.columns().into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn unsupported_sql_says_where_and_what_instead() {
        type Case<'a> = (&'a str, &'a str, Option<(usize, usize)>);
        let cases: &[Case] = &[
            ("amount > (SELECT 1)", "`(SELECT…` is not supported in a check predicate", Some((1, 11))),
            ("foo(amount) > 1", "the function `foo` is not supported in a check predicate", Some((1, 1))),
            (
                "t.amount > 1",
                "`t.amount` names a table or struct field; only the dataset's own columns can be used",
                Some((1, 1)),
            ),
            ("amount > 1 amount", "unexpected `amount` after the expression", Some((1, 12))),
            ("amount >", "not a valid SQL expression: Expected: an expression, found: EOF", None),
        ];
        for (sql, message, at) in cases {
            let err = parse(sql).err().unwrap_or_else(|| panic!("{sql} parsed"));
            assert_eq!(&err.message, message, "{sql}");
            if at.is_some() {
                assert_eq!(err.at, *at, "{sql}");
            }
        }
    }

    #[test]
    fn unknown_columns_are_found_with_their_place() {
        let p = parse("amount >= 0 AND\n  stauts = 'x'").unwrap_or_else(|e| panic!("{e:?}"));
        let known = |c: &str| c == "amount" || c == "status";
        assert_eq!(p.unknown_column(&known), Some(("stauts", Some((2, 3)))));
        // Double quotes name a column, as in standard SQL.
        let quoted = parse("status = \"paid\"").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(quoted.unknown_column(&known), Some(("paid", Some((1, 10)))));
    }

    #[test]
    fn type_errors_are_errors_not_failures() {
        let p = parse("status + 1 > 0").unwrap_or_else(|e| panic!("{e:?}"));
        let err = evaluate_batch(&p, &batch()).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("Invalid argument error: cannot compare or combine string with long"));
    }
}
