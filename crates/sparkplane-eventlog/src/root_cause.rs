//! Failure messages as people read them: the first line, cut to a readable
//! length, and the root cause a long Python or JVM message buries.
//!
//! Owns: [`root_cause`], [`first_line`] and [`clip`] (also used for stage names,
//! and by `sparkplane-emit`'s traces for their exception events).
//!
//! Must not: classify failures (that is `cause`) or look at anything
//! but the text it is given.

/// Longest failure message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 1_000;

/// The first line of `text`, trimmed and cut to a readable length.
pub fn first_line(text: &str) -> String {
    clip(text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or(""))
}

/// `text` cut to a readable length, with `…` where it was cut.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The error a long failure message buries: the last line of a Python traceback,
/// else the last `Caused by:` of a JVM stack.
pub fn root_cause(message: &str) -> Option<String> {
    if let Some(at) = message.find("Traceback (most recent call last):") {
        // Frames and source lines are indented; the exception line is not. Spark 4
        // follows it with an indented " SQLSTATE: …", and the JVM stack with "\tat ".
        let exception = message[at..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("\tat ") && !l.starts_with("Caused by:"))
            .filter(|l| !l.trim().is_empty() && !l.starts_with(char::is_whitespace))
            .filter(|l| !is_python_chain_line(l))
            .last();
        if let Some(line) = exception {
            return Some(clip(line.trim()));
        }
    }
    let cause = message.lines().rev().find_map(|l| l.trim().strip_prefix("Caused by: "))?;
    Some(clip(cause.trim()))
}

/// The lines Python prints between chained exceptions.
fn is_python_chain_line(line: &str) -> bool {
    line.starts_with("Traceback (most recent call last):")
        || line.starts_with("During handling of the above exception")
        || line.starts_with("The above exception was the direct cause")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_cause_of_a_python_traceback() {
        let message = "Job aborted due to stage failure: Task 1 failed: org.apache.spark.api.python.PythonException: \
                       Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    raise ValueError(\"bad\")\n\
                       ValueError: bad\n\n\tat org.apache.spark.api.python.X.y(X.scala:1)\n";
        assert_eq!(root_cause(message).as_deref(), Some("ValueError: bad"));
    }

    #[test]
    fn root_cause_of_a_spark_4_python_error() {
        let message = "[PYTHON_EXCEPTION] An exception was thrown from the Python worker: Traceback (most recent call \
                       last):\n  File \"x.py\", line 3, in f\n    raise KeyError(1)\nKeyError: 1\n\nDuring handling of \
                       the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \
                       \"x.py\", line 5, in f\nValueError: bad record\n SQLSTATE: 38000";
        assert_eq!(root_cause(message).as_deref(), Some("ValueError: bad record"));
    }

    #[test]
    fn root_cause_of_a_jvm_chain() {
        let message = "Job aborted: boom\n\tat a.b(C.java:1)\nCaused by: java.io.IOException: disk\n\tat x\n\
                       Caused by: java.lang.OutOfMemoryError: Java heap space\n\tat y";
        assert_eq!(root_cause(message).as_deref(), Some("java.lang.OutOfMemoryError: Java heap space"));
        assert_eq!(root_cause("plain message"), None);
    }
}
