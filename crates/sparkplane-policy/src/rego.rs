//! Custom policies in Rego, evaluated with regorus over one input document,
//! and Rego policy tests run the way `opa test` runs them.
//!
//! Owns: loading Rego sources (parse and compile errors become diagnostics
//! at `file:line:column`), the conventions a policy file follows, the input
//! document ([`input_document`]), turning `deny`/`warn` findings into
//! [`Violation`]s, and the test runner ([`run_tests`]). Must not read files:
//! callers hand in [`RegoFile`]s.
//!
//! The conventions (documented in docs/guide.md and ADR 0009):
//! - one policy per package; a package is a policy when it declares `deny`
//!   and/or `warn`, partial sets whose elements are strings (the message) or
//!   objects `{msg, path?, fix?}` (`message` is accepted for `msg`; `path`
//!   is a job field path such as `spec.executor.cores`, which gives the
//!   finding the line in the job file);
//! - an optional `metadata := {"id", "title", "rationale", "fix"}` object;
//!   the id defaults to the package's last segment with `_` as `-`;
//! - files ending in `_test.rego` hold tests (`test_*` rules, `with input as`)
//!   and are loaded only by the test runner;
//! - modules are Rego v1 (`if`, `contains`); `import rego.v1` is accepted, and
//!   keeps a file readable by older OPA (Gatekeeper) parsers too.

use std::sync::Mutex;

use regorus::{Engine, Value as RegoValue};
use serde_json::{Value, json};

use crate::{Policy, PolicyContext, PolicySeverity, Violation, field_span};
use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::FieldPath;

/// One Rego source: its path (for messages) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegoFile {
    /// The path, as shown in messages.
    pub name: String,
    /// The text.
    pub text: String,
}

impl RegoFile {
    /// A file named `name` holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> RegoFile {
        RegoFile { name: name.into(), text: text.into() }
    }

    /// Whether it holds tests (`*_test.rego`).
    pub fn is_test(&self) -> bool {
        self.name.ends_with("_test.rego")
    }
}

/// A policy declared by a Rego package.
#[derive(Clone, Debug, PartialEq)]
pub struct RegoPolicy {
    /// The policy as reports show it; deny when the package declares `deny`.
    pub policy: Policy,
    /// The package, without `data.` (`sparkplane.no_latest_tag`).
    pub package: String,
    /// The file declaring it.
    pub file: String,
    /// The file's text (the Gatekeeper export carries it).
    pub text: String,
    /// Whether it declares `deny`.
    pub has_deny: bool,
    /// Whether it declares `warn`.
    pub has_warn: bool,
}

/// Loaded, compiled Rego policies, ready to evaluate many jobs.
#[derive(Debug)]
pub struct RegoPolicies {
    engine: Mutex<Engine>,
    policies: Vec<RegoPolicy>,
}

/// Where a regorus error message points (`--> file:line:column`), when it says: `(line, column)`.
fn error_location(message: &str, file: &str) -> Option<(usize, usize)> {
    for line in message.lines() {
        let line = line.trim_start().trim_start_matches("-->").trim_start();
        let Some(rest) = line.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else { continue };
        let mut parts = rest.splitn(3, ':');
        let (Some(l), Some(c)) = (parts.next(), parts.next()) else { continue };
        if let (Ok(l), Ok(c)) = (l.trim().parse(), c.trim().parse()) {
            return Some((l, c));
        }
    }
    None
}

/// What a regorus error says is wrong: its `error: …` line, else its first line.
fn error_summary(message: &str) -> String {
    let lines = || message.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines().find_map(|l| l.strip_prefix("error:")) {
        Some(what) => what.trim().to_owned(),
        None => lines().next().unwrap_or(message).to_owned(),
    }
}

/// A span at a 1-based line and column of `file`.
pub(crate) fn span_at(file: &RegoFile, line: usize, column: usize) -> Span {
    let source = Source::new(file.name.clone(), file.text.clone());
    let mut start = 0;
    for (i, text) in file.text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            start += text.char_indices().nth(column.saturating_sub(1)).map_or(text.len(), |(b, _)| b);
            break;
        }
        start += text.len();
    }
    let start = start.min(file.text.len());
    Span { source, start, end: start, at: LineCol { line, column } }
}

/// A diagnostic for a regorus error in `file` (parse or compile), pointing at
/// the line and column the error names.
fn rego_error(code: &'static str, file: &RegoFile, error: &str) -> Diagnostic {
    let summary = error_summary(error);
    // With a location the span says where (`file:line:column: error: …`); without, the message names the file.
    let (message, span) = match error_location(error, &file.name) {
        Some((line, column)) => (summary, Some(span_at(file, line, column))),
        None => (format!("{}: {summary}", file.name), None),
    };
    Diagnostic::error(code, "", message)
        .with_span(span)
        .with_help("fix the Rego (policies are Rego v1: `deny contains msg if { … }`); `sparkplane policy test DIR` checks a directory")
}

/// The file a compile error names, among `files`.
fn file_named<'a>(error: &str, files: &'a [RegoFile]) -> Option<&'a RegoFile> {
    files.iter().find(|f| error.contains(&format!("{}:", f.name)))
}

/// Parses every file into one engine. All parse errors are reported at once.
fn parse_all(files: &[RegoFile]) -> Result<(Engine, Vec<String>), Diagnostics> {
    let mut engine = Engine::new();
    let mut packages = Vec::new();
    let mut problems = Diagnostics::new();
    for file in files {
        match engine.add_policy(file.name.clone(), file.text.clone()) {
            Ok(package) => packages.push(package.strip_prefix("data.").unwrap_or(&package).to_owned()),
            Err(err) => {
                problems.push(rego_error("rego-parse", file, &format!("{err:#}")));
                packages.push(String::new());
            }
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    Ok((engine, packages))
}

/// A compile error found when the engine first prepares the modules.
fn compile_error(files: &[RegoFile], text: &str) -> Diagnostics {
    match file_named(text, files) {
        Some(file) => rego_error("rego-compile", file, text).into(),
        None => Diagnostic::error("rego-compile", "", format!("the Rego policies do not compile: {text}"))
            .with_help("fix the Rego; `sparkplane policy test DIR` checks a directory")
            .into(),
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

impl RegoPolicies {
    /// Loads policy files (test files are skipped), compiles them and reads
    /// each policy's metadata. Every problem is reported at once, each at its
    /// `file:line:column` when regorus says where.
    pub fn load(files: &[RegoFile]) -> Result<RegoPolicies, Diagnostics> {
        let files: Vec<RegoFile> = files.iter().filter(|f| !f.is_test()).cloned().collect();
        let (mut engine, packages) = parse_all(&files)?;
        let mut problems = Diagnostics::new();
        let mut policies: Vec<RegoPolicy> = Vec::new();
        // Preparing the engine compiles every module; an error names its file.
        if let Err(err) = engine.eval_query("true".to_owned(), false) {
            return Err(compile_error(&files, &format!("{err:#}")));
        }
        for (file, package) in files.iter().zip(&packages) {
            let declares =
                |engine: &Engine, rule: &str| engine.has_declared_rule_rooted_at(&file.name, rule).unwrap_or(false);
            let (has_deny, has_warn) = (declares(&engine, "deny"), declares(&engine, "warn"));
            if !has_deny && !has_warn {
                continue; // a helper module
            }
            let default_id = package.rsplit('.').next().unwrap_or(package).replace('_', "-");
            let mut meta = json!({});
            if declares(&engine, "metadata") {
                match engine.eval_rule(format!("data.{package}.metadata")) {
                    Ok(value) => meta = to_json(&value),
                    Err(err) => {
                        problems.push(rego_error("rego-metadata", file, &format!("{err:#}")));
                        continue;
                    }
                }
            }
            let text_of = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_owned);
            let id = text_of("id").unwrap_or(default_id);
            let at_package = || {
                let line = file.text.lines().position(|l| l.trim_start().starts_with("package ")).map_or(1, |i| i + 1);
                Some(span_at(file, line, 1))
            };
            if !is_kebab(&id) {
                problems.push(
                    Diagnostic::error("bad-policy-id", "", format!("policy id `{id}` is not kebab-case"))
                        .with_span(at_package())
                        .with_help("set metadata.id to lower-case words joined by `-`, e.g. `no-gpu-in-dev`"),
                );
                continue;
            }
            if let Some(other) = crate::policy(&id)
                .map(|_| "a built-in policy".to_owned())
                .or_else(|| policies.iter().find(|p| p.policy.id == id).map(|p| format!("the policy in {}", p.file)))
            {
                problems.push(
                    Diagnostic::error("duplicate-policy-id", "", format!("policy id `{id}` is already {other}'s"))
                        .with_span(at_package())
                        .with_help("give the policy its own id in `metadata.id` (ids must be unique across built-in and Rego policies)"),
                );
                continue;
            }
            let title = text_of("title").unwrap_or_else(|| format!("Rego policy {package}"));
            let policy = Policy {
                id: id.into(),
                severity: if has_deny { PolicySeverity::Deny } else { PolicySeverity::Warn },
                title: title.into(),
                rationale: text_of("rationale").unwrap_or_else(|| format!("a platform policy in {}", file.name)).into(),
                fix: text_of("fix").unwrap_or_else(|| format!("see {}", file.name)).into(),
                origin: Some(file.name.clone()),
            };
            policies.push(RegoPolicy {
                policy,
                package: package.clone(),
                file: file.name.clone(),
                text: file.text.clone(),
                has_deny,
                has_warn,
            });
        }
        if problems.has_errors() {
            return Err(problems);
        }
        Ok(RegoPolicies { engine: Mutex::new(engine), policies })
    }

    /// The policies, in file order.
    pub fn policies(&self) -> &[RegoPolicy] {
        &self.policies
    }

    /// Evaluates every policy's `deny` and `warn` over `input` (see
    /// [`input_document`]). Findings come in policy order, then in Rego's
    /// (sorted) set order. A runtime error is reported, never passed over.
    pub fn evaluate(&self, job: &ResolvedJob, input: &Value) -> Result<Vec<Violation>, Diagnostics> {
        let mut engine = self.engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        engine.set_input(RegoValue::from(input.clone()));
        let mut out = Vec::new();
        let mut problems = Diagnostics::new();
        for rego in &self.policies {
            let rules = [(rego.has_deny, "deny", PolicySeverity::Deny), (rego.has_warn, "warn", PolicySeverity::Warn)];
            for (_, rule, severity) in rules.into_iter().filter(|(declared, _, _)| *declared) {
                let value = match engine.eval_rule(format!("data.{}.{rule}", rego.package)) {
                    Ok(value) => value,
                    Err(err) => {
                        let text = format!("{err:#}");
                        problems.push(
                            Diagnostic::error(
                                "rego-eval",
                                "",
                                format!("{}: policy `{}` failed: {}", rego.file, rego.policy.id, error_summary(&text)),
                            )
                            .with_help("fix the policy; an error never counts as a pass"),
                        );
                        continue;
                    }
                };
                for finding in findings(&value) {
                    out.push(violation(job, rego, severity, &finding));
                }
            }
        }
        if problems.has_errors() {
            return Err(problems);
        }
        Ok(out)
    }
}

fn to_json(value: &RegoValue) -> Value {
    value.to_json_str().ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or(Value::Null)
}

/// The elements of a `deny`/`warn` set (undefined: none).
fn findings(value: &RegoValue) -> Vec<Value> {
    match value {
        RegoValue::Undefined => Vec::new(),
        RegoValue::Set(items) => items.iter().map(to_json).collect(),
        RegoValue::Array(items) => items.iter().map(to_json).collect(),
        other => vec![to_json(other)],
    }
}

fn violation(job: &ResolvedJob, rego: &RegoPolicy, severity: PolicySeverity, finding: &Value) -> Violation {
    let text = |key: &str| finding.get(key).and_then(Value::as_str).map(str::to_owned);
    let message = match finding {
        Value::String(s) => s.clone(),
        _ => text("msg").or_else(|| text("message")).unwrap_or_else(|| finding.to_string()),
    };
    let path = text("path").unwrap_or_default();
    let span = FieldPath::parse(&path).ok().filter(|p| !p.0.is_empty()).and_then(|p| field_span(job, &p));
    let mut policy = rego.policy.clone();
    policy.severity = severity;
    Violation { policy, message, path, span, fix: text("fix") }
}

/// The document Rego policies see as `input`:
///
/// ```json
/// {"job": <the resolved SparkJob>, "objects": [<rendered objects>],
///  "environment": "prod" | null, "tenant": <the Tenant> | null,
///  "specHash": "<sha256 of the resolved spec>"}
/// ```
///
/// The Gatekeeper export builds the same shape from an admission review
/// (`objects` = the one object under review, no `job`).
pub fn input_document(job: &ResolvedJob, objects: &[RenderedObject], ctx: &PolicyContext<'_>) -> Value {
    json!({
        "job": serde_json::to_value(&job.job).unwrap_or(Value::Null),
        "objects": objects.iter().map(|o| &o.body).collect::<Vec<_>>(),
        "environment": ctx.environment,
        "tenant": ctx.tenant.map(|t| serde_json::to_value(t).unwrap_or(Value::Null)),
        "specHash": job.spec_hash(),
    })
}

/// How one Rego test ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestOutcome {
    /// The rule was true.
    Pass,
    /// The rule was false or undefined.
    Fail,
    /// Evaluating the rule failed; the error's text.
    Error(String),
}

/// One Rego test's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// The file declaring the test.
    pub file: String,
    /// Its package, without `data.`.
    pub package: String,
    /// The rule name (`test_…`).
    pub name: String,
    /// How it ended.
    pub outcome: TestOutcome,
}

/// The names of the `test_*` rules a module declares, in source order, once each.
fn test_rules(module: &regorus::unstable::Module) -> Vec<String> {
    use regorus::unstable::{Rule, RuleHead};
    let mut names: Vec<String> = Vec::new();
    for rule in &module.policy {
        let Rule::Spec { head, .. } = rule.as_ref() else { continue };
        let refr = match head {
            RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } => refr,
            RuleHead::Func { .. } => continue,
        };
        let name = refr.span().text().trim().to_owned();
        if name.starts_with("test_") && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Runs every `test_*` rule of every file (policies and `*_test.rego` files
/// loaded together, as `opa test DIR` does). A test passes when its rule is
/// true; false, undefined or an error fails it. Parse and compile errors are
/// returned as diagnostics instead.
pub fn run_tests(files: &[RegoFile]) -> Result<Vec<TestResult>, Diagnostics> {
    let (mut engine, _) = parse_all(files)?;
    if let Err(err) = engine.eval_query("true".to_owned(), false) {
        return Err(compile_error(files, &format!("{err:#}")));
    }
    let mut tests = Vec::new();
    for module in engine.get_modules().clone().iter() {
        let file = module.package.span.source.file().to_string();
        let package = module.package.refr.span().text().trim().to_owned();
        for name in test_rules(module) {
            tests.push((file.clone(), package.clone(), name));
        }
    }
    let mut results = Vec::new();
    for (file, package, name) in tests {
        let outcome = match engine.eval_rule(format!("data.{package}.{name}")) {
            Ok(RegoValue::Bool(true)) => TestOutcome::Pass,
            Ok(_) => TestOutcome::Fail,
            Err(err) => TestOutcome::Error(error_summary(&format!("{err:#}"))),
        };
        results.push(TestResult { file, package, name, outcome });
    }
    Ok(results)
}
