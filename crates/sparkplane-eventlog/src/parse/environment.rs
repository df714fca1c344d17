//! The bounded reading of `SparkListenerEnvironmentUpdate`: its top-level
//! fields are read in order until `"Spark Properties"` has been read, and the
//! rest of the line is never scanned.
//!
//! Owns: [`environment_update`], and why it stops early — the event holds the
//! Hadoop and system properties and the classpath too (about 107 KB of the
//! 110 KB event a Spark 4.1 local application writes, more than half of a
//! small log), none of which [`super::EnvironmentUpdate`] keeps; a whole-line
//! parse spent most of a small log's listing time skipping them.
//!
//! Must not: read any other event, or keep what it skips. What is read is
//! validated as JSON; what follows `"Spark Properties"` is not (a line cut off
//! after it still gives its properties; [`super::parse_event`] has already
//! refused a line that does not end with `}`).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{EnvironmentUpdate, ParseError};

/// The key the reading stops after.
const SPARK_PROPERTIES: &str = "Spark Properties";

/// A top-level key, borrowed from the line unless it holds escapes.
#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

/// Reads the `"Spark Properties"` of an environment update line (an empty map
/// when the event has none), skipping the keys before it as JSON values.
/// Errors name the event and the column, as [`super::parse_event`]'s do.
pub(super) fn environment_update<'a>(name: &str, line: &'a str) -> Result<EnvironmentUpdate<'a>, ParseError> {
    let fail = |at: usize, what: &str| ParseError {
        event: Some(name.to_string()),
        message: format!("{name}: {what} (column {})", at + 1),
    };
    let mut at = after_whitespace(line, 0);
    if !line[at..].starts_with('{') {
        return Err(fail(at, "expected a JSON object"));
    }
    at += 1;
    loop {
        at = after_whitespace(line, at);
        if line[at..].starts_with('}') {
            return Ok(EnvironmentUpdate { spark_properties: Default::default() });
        }
        let (key, next) = one_value::<Key<'a>>(name, line, at)?;
        at = after_whitespace(line, next);
        if !line[at..].starts_with(':') {
            return Err(fail(at, "expected `:` after an object key"));
        }
        at += 1;
        if key.0 == SPARK_PROPERTIES {
            let (spark_properties, _) = one_value(name, line, at)?;
            return Ok(EnvironmentUpdate { spark_properties });
        }
        let (IgnoredAny, next) = one_value::<IgnoredAny>(name, line, at)?;
        at = after_whitespace(line, next);
        match line.as_bytes().get(at) {
            Some(b',') => at += 1,
            Some(b'}') => {}
            _ => return Err(fail(at, "expected `,` or `}` after an object value")),
        }
    }
}

/// One JSON value starting at byte `at` (leading whitespace allowed), and the
/// byte offset just after it.
fn one_value<'a, T: Deserialize<'a>>(name: &str, line: &'a str, at: usize) -> Result<(T, usize), ParseError> {
    let mut values = serde_json::Deserializer::from_str(&line[at..]).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Ok((value, at + values.byte_offset())),
        Some(Err(error)) => {
            let text = error.to_string();
            let message = text.rfind(" at line ").map_or(text.as_str(), |end| &text[..end]);
            Err(ParseError {
                event: Some(name.to_string()),
                message: format!("{name}: {message} (column {})", at + error.column()),
            })
        }
        None => Err(ParseError {
            event: Some(name.to_string()),
            message: format!("{name}: the line ends inside the object (column {})", line.len() + 1),
        }),
    }
}

/// The first byte at or after `at` that is not JSON whitespace.
fn after_whitespace(line: &str, at: usize) -> usize {
    let bytes = line.as_bytes();
    let mut at = at;
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "SparkListenerEnvironmentUpdate";

    fn properties(line: &str) -> Result<Vec<(String, String)>, String> {
        environment_update(NAME, line)
            .map(|e| e.spark_properties.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .map_err(|e| e.message)
    }

    #[test]
    fn reads_spark_properties_wherever_they_are_and_stops_there() {
        let spark_order = r#"{"Event":"SparkListenerEnvironmentUpdate","JVM Information":{"Java Home":"/j","Nested":[1,{"a":"}"}]},"Spark Properties":{"spark.master":"local[2]","spark.app.name":"a \"quoted\" name"},"Classpath Entries":{"/x.jar":"System Classpath"}}"#;
        assert_eq!(
            properties(spark_order),
            Ok(vec![
                ("spark.app.name".to_owned(), "a \"quoted\" name".to_owned()),
                ("spark.master".to_owned(), "local[2]".to_owned())
            ])
        );
        // What follows the properties is not read: a tail that is not JSON is not an error.
        let bad_tail = r#"{"Event":"SparkListenerEnvironmentUpdate","Spark Properties":{"k":"v"},"Classpath Entries":{"/x.jar" "no colon"}}"#;
        assert_eq!(properties(bad_tail), Ok(vec![("k".to_owned(), "v".to_owned())]));
        let other_order = r#"{ "Spark Version" : 1 , "Event" : "SparkListenerEnvironmentUpdate" , "Spark Properties" : { "k" : "v" } }"#;
        assert_eq!(properties(other_order), Ok(vec![("k".to_owned(), "v".to_owned())]));
        assert_eq!(properties(r#"{"Event":"SparkListenerEnvironmentUpdate","JVM Information":{}}"#), Ok(vec![]));
        assert_eq!(properties(r#"{}"#), Ok(vec![]));
    }

    #[test]
    fn bad_json_before_or_in_the_properties_names_the_column() {
        assert_eq!(
            properties(r#"{"Event":"SparkListenerEnvironmentUpdate","Spark Properties":{"k":5}}"#),
            Err("SparkListenerEnvironmentUpdate: invalid type: integer `5`, expected a string (column 67)".to_owned())
        );
        assert_eq!(
            properties(r#"{"Event":"SparkListenerEnvironmentUpdate" "Spark Properties":{}}"#),
            Err("SparkListenerEnvironmentUpdate: expected `,` or `}` after an object value (column 43)".to_owned())
        );
        assert_eq!(
            properties(
                r#"{"Event":"SparkListenerEnvironmentUpdate","JVM Information":{"a":tru},"Spark Properties":{}}"#
            ),
            Err("SparkListenerEnvironmentUpdate: expected ident (column 69)".to_owned())
        );
        assert_eq!(
            properties(r#"{"Event":"SparkListenerEnvironmentUpdate","Spark Properties":null}"#),
            Err("SparkListenerEnvironmentUpdate: invalid type: null, expected a map (column 65)".to_owned())
        );
    }
}
