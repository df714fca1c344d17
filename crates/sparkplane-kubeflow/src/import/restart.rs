//! The restart policy of an imported `SparkApplication` or `SparkConnect`,
//! as a SparkJob's: its kind, the retries after a failed run and the wait
//! between them. Owns that mapping, which both kinds share; each caller
//! reports the fields only its own kind has.

use sparkplane_api::Duration;
use sparkplane_api::job::{Backoff, RestartKind, RestartPolicy};
use sparkplane_api::kubeflow;

use super::report::Ledger;
use super::roles::whole;
use sparkplane_documents::yaml::FieldPath;

/// The shared fields at `p` as a SparkJob restart policy (the default when none is set).
pub fn restart_policy(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    kind: Option<kubeflow::RestartPolicyType>,
    on_failure_retries: Option<i32>,
    on_failure_retry_interval: Option<i64>,
) -> RestartPolicy {
    let mut policy = RestartPolicy {
        kind: kind.map(|k| match k {
            kubeflow::RestartPolicyType::Never => RestartKind::Never,
            kubeflow::RestartPolicyType::OnFailure => RestartKind::OnFailure,
            kubeflow::RestartPolicyType::Always => RestartKind::Always,
        }),
        retries: whole(ledger, &p.key("onFailureRetries"), on_failure_retries.map(i64::from)),
        backoff: None,
    };
    if let Some(secs) = whole(ledger, &p.key("onFailureRetryInterval"), on_failure_retry_interval) {
        // The operator waits the same interval before every retry.
        policy.backoff =
            Some(Backoff { initial: Some(Duration::from_secs(u64::from(secs))), max: None, multiplier: Some(1.0) });
    }
    policy
}
