//! Why an application failed, read from the error text it left: the few
//! causes that have different owners and different runbooks — shuffle fetch
//! failures, lost executors, out-of-memory errors, object storage, the Hive
//! metastore, and everything else.
//!
//! Owns: the closed set of causes and the message rules (which fragments of
//! an exception's class or message name which cause). One owner for both
//! readers of failures: the event-log model (`sparkplane_eventlog::cause`
//! re-exports these and adds Spark's task end reasons) and the operator, which
//! classifies a failed driver's log tail (`sparkplane_lifecycle::cause::application_cause`).
//! Pure: reads the text it is given, nothing else.

use serde::Serialize;

/// A failure's cause. The set is closed so metric labels stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// A reducer could not fetch map output (`FetchFailed`): a lost executor
    /// or node, or an overloaded shuffle service.
    FetchFailed,
    /// The executor running the task went away (`ExecutorLostFailure`):
    /// killed by Kubernetes (OOMKilled, eviction, preemption) or crashed.
    ExecutorLost,
    /// A JVM `OutOfMemoryError` inside the task or driver.
    OutOfMemory,
    /// Object storage refused or failed a request (S3, GCS, Azure clients).
    Storage,
    /// The Hive metastore (or AWS Glue as one) failed or was unreachable.
    Metastore,
    /// Anything else: the application's own exceptions, bad data, …
    Other,
}

impl FailureCause {
    /// Every cause, in label order.
    pub const ALL: [FailureCause; 6] = [
        FailureCause::FetchFailed,
        FailureCause::ExecutorLost,
        FailureCause::OutOfMemory,
        FailureCause::Storage,
        FailureCause::Metastore,
        FailureCause::Other,
    ];

    /// The label value (`fetch_failed`, `storage`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCause::FetchFailed => "fetch_failed",
            FailureCause::ExecutorLost => "executor_lost",
            FailureCause::OutOfMemory => "out_of_memory",
            FailureCause::Storage => "storage",
            FailureCause::Metastore => "metastore",
            FailureCause::Other => "other",
        }
    }

    /// What the cause names, in a user's words (for status messages).
    pub fn what(self) -> &'static str {
        match self {
            FailureCause::FetchFailed => "a shuffle fetch failure",
            FailureCause::ExecutorLost => "a lost executor",
            FailureCause::OutOfMemory => "a JVM OutOfMemoryError",
            FailureCause::Storage => "an object-storage error",
            FailureCause::Metastore => "a Hive metastore error",
            FailureCause::Other => "the application's own error",
        }
    }
}

/// Text fragments (matched case-sensitively, as Java spells them) that name
/// an object-storage client or its errors.
const STORAGE_MARKERS: &[&str] = &[
    "AmazonS3Exception",
    "S3Exception",
    "SdkClientException",
    "com.amazonaws.",
    "software.amazon.awssdk.",
    "org.apache.hadoop.fs.s3a.",
    "S3AFileSystem",
    "AWSClientIOException",
    "NoSuchBucket",
    "SlowDown",
    "AbfsRestOperationException",
    "org.apache.hadoop.fs.azurebfs.",
    "AzureException",
    "GoogleJsonResponseException",
    "com.google.cloud.hadoop.gcsio.",
];

/// Fragments that name the Hive metastore client or its errors. Checked
/// before storage: Glue errors come from the AWS SDK too.
const METASTORE_MARKERS: &[&str] = &[
    "MetaException",
    "HiveException",
    "org.apache.hadoop.hive.metastore.",
    "HiveMetaStoreClient",
    "TTransportException",
    "Unable to instantiate org.apache.hadoop.hive.ql.metadata.SessionHiveMetaStoreClient",
    "AWSGlueException",
    "com.amazonaws.services.glue.",
];

/// The cause named by an exception message or failure reason (a failed job's
/// or stage's text, or a failed driver's error lines).
pub fn of_message(text: &str) -> FailureCause {
    if text.contains("OutOfMemoryError") {
        FailureCause::OutOfMemory
    } else if METASTORE_MARKERS.iter().any(|m| text.contains(m)) {
        FailureCause::Metastore
    } else if STORAGE_MARKERS.iter().any(|m| text.contains(m)) {
        FailureCause::Storage
    } else if text.contains("FetchFailed") || text.contains("MetadataFetchFailedException") {
        FailureCause::FetchFailed
    } else if text.contains("ExecutorLostFailure") {
        FailureCause::ExecutorLost
    } else {
        FailureCause::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_their_cause() {
        let table = [
            ("java.lang.OutOfMemoryError: Java heap space", FailureCause::OutOfMemory),
            (
                "org.apache.hadoop.fs.s3a.AWSClientIOException: getFileStatus on s3a://lake/x: Unable to execute HTTP request",
                FailureCause::Storage,
            ),
            (
                "java.io.IOException: com.amazonaws.services.s3.model.AmazonS3Exception: Slow Down",
                FailureCause::Storage,
            ),
            (
                "org.apache.hadoop.hive.ql.metadata.HiveException: java.lang.RuntimeException: Unable to instantiate",
                FailureCause::Metastore,
            ),
            ("com.amazonaws.services.glue.model.AWSGlueException: Rate exceeded", FailureCause::Metastore),
            (
                "Job aborted due to stage failure: ResultStage 3 has failed the maximum allowable number of times: 4. Most recent failure reason: org.apache.spark.shuffle.FetchFailedException",
                FailureCause::FetchFailed,
            ),
            (
                "org.apache.hadoop.hive.metastore.api.MetaException: Could not connect to meta store",
                FailureCause::Metastore,
            ),
            ("ExecutorLostFailure (executor 2 exited caused by one of the running tasks)", FailureCause::ExecutorLost),
            // Out of memory wins over every other marker; the metastore over storage (Glue is an AWS client).
            ("HiveException: java.lang.OutOfMemoryError: GC overhead limit exceeded", FailureCause::OutOfMemory),
            ("MetaException: com.amazonaws.SdkClientException: Unable to load credentials", FailureCause::Metastore),
            ("division by zero", FailureCause::Other),
            ("", FailureCause::Other),
        ];
        for (text, cause) in table {
            assert_eq!(of_message(text), cause, "{text}");
        }
    }

    #[test]
    fn labels_are_stable() {
        let labels: Vec<&str> = FailureCause::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(labels, ["fetch_failed", "executor_lost", "out_of_memory", "storage", "metastore", "other"]);
    }
}
