//! JUnit XML, the one writer of it: CI systems read a report of policy
//! checks (`policy check --junit`) or data-quality checks (`dq check
//! --junit`) as a test suite.
//!
//! Owns: the XML shape (one `testsuite` of `testcase`s, each passed, passed
//! with output in `system-out`, skipped with why, or failed with a `failure`) and the suite's
//! counts; escaping is `crate::markup`'s. Callers say what each case is; they never write XML.
//! Must not: decide what passes or fails, or do I/O.

use std::fmt::Write as _;

/// One test suite: a policy verdict or a data-quality report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestSuite {
    /// The suite's `name`.
    pub name: String,
    /// Its cases, in order.
    pub cases: Vec<TestCase>,
}

/// One test case: a policy or a check.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    /// The case's `classname`.
    pub classname: String,
    /// The case's `name`.
    pub name: String,
    /// How it went.
    pub result: CaseResult,
}

/// How a test case went.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseResult {
    /// Passed, nothing to say: an empty element.
    Passed,
    /// Passed (or only warned), with text for `system-out`.
    Output(String),
    /// Not run, with why: counted in the suite's `skipped`.
    Skipped(String),
    /// Failed: counted in the suite's `failures`.
    Failure {
        /// The failure's `type`.
        kind: String,
        /// The failure's `message` (one line).
        message: String,
        /// The failure's text.
        body: String,
    },
}

/// Escapes element content: [`crate::markup::text`], under the name callers
/// of this module have used.
pub use crate::markup::text as escape;

use crate::markup::{attribute, text};

impl TestSuite {
    /// The suite as a JUnit XML document. Never fails: every text is escaped.
    pub fn to_xml(&self) -> String {
        let failures = self.cases.iter().filter(|c| matches!(c.result, CaseResult::Failure { .. })).count();
        let skipped = self.cases.iter().filter(|c| matches!(c.result, CaseResult::Skipped(_))).count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
            attribute(&self.name),
            self.cases.len()
        );
        for case in &self.cases {
            let _ = write!(
                out,
                "  <testcase classname=\"{}\" name=\"{}\"",
                attribute(&case.classname),
                attribute(&case.name)
            );
            match &case.result {
                CaseResult::Passed => out.push_str("/>\n"),
                CaseResult::Skipped(why) => {
                    let _ = writeln!(out, ">\n    <skipped message=\"{}\"/>\n  </testcase>", attribute(why));
                }
                CaseResult::Output(output) => {
                    let _ = writeln!(out, ">\n    <system-out>{}</system-out>\n  </testcase>", text(output));
                }
                CaseResult::Failure { kind, message, body } => {
                    let _ = writeln!(
                        out,
                        ">\n    <failure type=\"{}\" message=\"{}\">{}</failure>\n  </testcase>",
                        attribute(kind),
                        attribute(message),
                        text(body)
                    );
                }
            }
        }
        out.push_str("</testsuite>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, result: CaseResult) -> TestCase {
        TestCase { classname: "sparkplane.test".into(), name: name.into(), result }
    }

    #[test]
    fn a_suite_counts_its_failures_and_escapes_every_text() {
        let suite = TestSuite {
            name: "suite<1>".into(),
            cases: vec![
                case("quiet", CaseResult::Passed),
                case("said", CaseResult::Output("warn: a & b".into())),
                case("later", CaseResult::Skipped("no <tests>".into())),
                case(
                    "broke",
                    CaseResult::Failure {
                        kind: "deny".into(),
                        message: "\"x\"".into(),
                        body: "line\u{1}\nfix: y".into(),
                    },
                ),
            ],
        };
        assert_eq!(
            suite.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuite name=\"suite&lt;1&gt;\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\">\n  \
             <testcase classname=\"sparkplane.test\" name=\"quiet\"/>\n  \
             <testcase classname=\"sparkplane.test\" name=\"said\">\n    \
             <system-out>warn: a &amp; b</system-out>\n  </testcase>\n  \
             <testcase classname=\"sparkplane.test\" name=\"later\">\n    <skipped message=\"no &lt;tests&gt;\"/>\n  </testcase>\n  \
             <testcase classname=\"sparkplane.test\" name=\"broke\">\n    \
             <failure type=\"deny\" message=\"&quot;x&quot;\">line\u{FFFD}\nfix: y</failure>\n  </testcase>\n\
             </testsuite>\n"
        );
    }

    #[test]
    fn attributes_keep_their_line_breaks_as_references_and_content_keeps_them_as_they_are() {
        let suite = TestSuite {
            name: "it's".into(),
            cases: vec![case("two\nlines", CaseResult::Output("two\nlines\u{7}".into()))],
        };
        let xml = suite.to_xml();
        assert!(xml.contains("<testsuite name=\"it&#39;s\""), "{xml}");
        assert!(xml.contains("name=\"two&#10;lines\">"), "{xml}");
        assert!(xml.contains("<system-out>two\nlines\u{FFFD}</system-out>"), "{xml}");
    }
}
