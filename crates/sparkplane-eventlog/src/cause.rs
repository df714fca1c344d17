//! Why a task or an application in an event log failed: Spark's task end
//! reasons first, then the message rules.
//!
//! Owns: reading a failed task attempt's `Task End Reason`. The causes and
//! the message rules are `sparkplane_core::failure_cause`'s (one owner, shared
//! with the operator, which classifies failed drivers' logs by them);
//! they are re-exported here so the event-log model's callers name them as before.
//! Pure: classification reads the reason, exception class and message Spark
//! logs; it never looks at anything else.

pub use sparkplane_core::failure_cause::{FailureCause, of_message};

/// The cause of one failed task attempt, from its `Task End Reason`.
pub fn of_task(reason: &str, class_name: Option<&str>, description: Option<&str>) -> FailureCause {
    match reason {
        "FetchFailed" => FailureCause::FetchFailed,
        "ExecutorLostFailure" => FailureCause::ExecutorLost,
        _ => of_message(&format!("{} {}", class_name.unwrap_or_default(), description.unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_reasons_come_first() {
        assert_eq!(of_task("FetchFailed", None, None), FailureCause::FetchFailed);
        assert_eq!(of_task("ExecutorLostFailure", None, Some("exit code 137")), FailureCause::ExecutorLost);
        assert_eq!(of_task("TaskResultLost", None, None), FailureCause::Other);
    }

    #[test]
    fn exception_failures_are_classified_by_class_and_message() {
        let cases = [
            ("java.lang.OutOfMemoryError", "Java heap space", FailureCause::OutOfMemory),
            (
                "org.apache.hadoop.fs.s3a.AWSClientIOException",
                "getFileStatus on s3a://lake/x: Unable to execute HTTP request",
                FailureCause::Storage,
            ),
            (
                "org.apache.hadoop.hive.ql.metadata.HiveException",
                "java.lang.RuntimeException: Unable to instantiate",
                FailureCause::Metastore,
            ),
            ("org.apache.spark.api.python.PythonException", "ValueError: bad row", FailureCause::Other),
        ];
        for (class, message, cause) in cases {
            assert_eq!(of_task("ExceptionFailure", Some(class), Some(message)), cause, "{class}: {message}");
        }
    }
}
