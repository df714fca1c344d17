//! Label and field selectors as the API server reads them: equality (`=`,
//! `==`, `!=`), set membership (`in`, `notin`) and existence (`k`, `!k`) for
//! labels; `path=value` and `path!=value` over the object for fields.

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits on commas outside parentheses.
fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

fn set(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
}

impl LabelSelector {
    /// Parses `labelSelector`; None when it is malformed.
    pub fn parse(text: &str) -> Option<LabelSelector> {
        let mut requirements = Vec::new();
        for term in terms(text) {
            let requirement = if let Some((k, v)) = term.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = term.split_once(" notin ") {
                Requirement::NotIn(k.trim().to_owned(), set(v)?)
            } else if let Some((k, v)) = term.split_once(" in ") {
                Requirement::In(k.trim().to_owned(), set(v)?)
            } else if let Some(k) = term.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_owned())
            } else if term.contains(char::is_whitespace) {
                return None;
            } else {
                Requirement::Exists(term)
            };
            requirements.push(requirement);
        }
        Some(LabelSelector(requirements))
    }

    /// Whether an object's labels match.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        })
    }
}

/// A parsed field selector (`metadata.name=x,status.phase!=Failed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `fieldSelector`; None when it is malformed.
    pub fn parse(text: &str) -> Option<FieldSelector> {
        let mut out = Vec::new();
        for term in terms(text) {
            let (path, equal, value) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (k, true, v)
            } else {
                return None;
            };
            out.push((path.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Some(FieldSelector(out))
    }

    /// Whether an object's fields match (a missing field reads as "").
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, equal, value)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let actual = match object.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_follow_the_api_server() {
        let pod = json!({"metadata": {"name": "p", "labels": {"spark-role": "driver", "app": "etl"}}});
        let yes = |s: &str| LabelSelector::parse(s).unwrap_or_else(|| panic!("{s} parses")).matches(&pod);
        assert!(yes(""));
        assert!(yes("spark-role=driver"));
        assert!(yes("spark-role==driver,app"));
        assert!(!yes("spark-role!=driver"));
        assert!(yes("spark-role in (driver, executor)"));
        assert!(!yes("spark-role notin (driver)"));
        assert!(yes("!missing"));
        assert!(!yes("missing"));
        assert!(!yes("app=other"));
        assert!(LabelSelector::parse("a b").is_none());
    }

    #[test]
    fn field_selectors_read_paths() {
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        let yes = |s: &str| FieldSelector::parse(s).unwrap_or_else(|| panic!("{s} parses")).matches(&pod);
        assert!(yes("metadata.name=p"));
        assert!(!yes("metadata.name=q"));
        assert!(yes("status.phase!=Failed,metadata.name==p"));
        assert!(FieldSelector::parse("nonsense").is_none());
    }
}
