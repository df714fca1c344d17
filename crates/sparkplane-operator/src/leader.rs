//! Leader election with a `coordination.k8s.io/v1` Lease, so that of two or
//! more replicas exactly one acts.
//!
//! A replica takes the Lease when nobody holds it or its holder stopped
//! renewing it for the lease duration, and renews it while it leads. Like
//! client-go, a holder is judged by when this replica last saw the Lease
//! change, on its own monotonic clock, never by comparing the holder's
//! timestamps with the local wall clock, so skewed clocks cannot make two
//! leaders. Every write carries the resourceVersion read, so of two
//! replicas racing for an expired Lease one gets 409 and stays standby.
//! A leader that cannot renew within the lease duration stops acting.
//!
//! Owns: the Lease protocol. Must not: reconcile anything.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use sparkplane_kube::error::{KubeError, Operation};

/// How a replica takes part in the election.
#[derive(Clone, Debug)]
pub struct LeaderSettings {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub lease: String,
    /// This replica (its pod name).
    pub identity: String,
    /// How long a Lease holds without renewal.
    pub duration: Duration,
    /// How often the leader renews, and a standby looks.
    pub retry: Duration,
}

impl LeaderSettings {
    /// The defaults: lease `sparkplane-operator`, 15 s, renewed every 2 s.
    pub fn new(namespace: &str, identity: &str) -> LeaderSettings {
        LeaderSettings {
            namespace: namespace.to_owned(),
            lease: "sparkplane-operator".into(),
            identity: identity.to_owned(),
            duration: Duration::from_secs(15),
            retry: Duration::from_secs(2),
        }
    }
}

/// One replica's view of the Lease.
pub struct Elector {
    api: Api<Lease>,
    settings: LeaderSettings,
    server: String,
    /// The holder and renew time last seen, and when this replica saw them change.
    observed: Option<(String, Option<String>, Instant)>,
}

/// The outcome of one try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// This replica holds the Lease.
    Leader,
    /// Another replica holds it.
    Standby,
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

impl Elector {
    /// An elector for `settings`.
    pub fn new(client: kube::Client, settings: LeaderSettings, server: &str) -> Elector {
        let api = Api::namespaced(client, &settings.namespace);
        Elector { api, settings, server: server.to_owned(), observed: None }
    }

    fn operation(&self, verb: &'static str) -> Operation {
        Operation::new(verb, "Lease", format!("{}/{}", self.settings.namespace, self.settings.lease))
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(self.settings.duration.as_secs()).unwrap_or(i32::MAX)),
            acquire_time: Some(acquired.unwrap_or_else(now)),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Tries once to take or renew the Lease.
    pub async fn try_lead(&mut self) -> Result<Role, KubeError> {
        let name = self.settings.lease.clone();
        let current = match self.api.get_opt(&name).await {
            Ok(lease) => lease,
            Err(e) => return Err(KubeError::from_kube(e, self.operation("get"), &self.server)),
        };
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(name), ..ObjectMeta::default() },
                spec: Some(self.spec(0, None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Role::Leader),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Role::Standby),
                Err(e) => Err(KubeError::from_kube(e, self.operation("create"), &self.server)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renewed = spec.renew_time.as_ref().map(|t| t.0.to_string());
        let mine = holder == self.settings.identity;
        let changed = self.observed.as_ref().is_none_or(|(h, r, _)| *h != holder || *r != renewed);
        if changed {
            self.observed = Some((holder.clone(), renewed.clone(), Instant::now()));
        }
        let held_for = self.observed.as_ref().map_or(Duration::ZERO, |(_, _, seen)| seen.elapsed());
        let duration = Duration::from_secs(spec.lease_duration_seconds.map_or(15, |s| u64::try_from(s).unwrap_or(15)));
        let free = holder.is_empty() || held_for >= duration;
        if !mine && !free {
            return Ok(Role::Standby);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        let acquired = if mine { spec.acquire_time.clone() } else { None };
        lease.spec = Some(self.spec(transitions, acquired));
        match self.api.replace(&self.settings.lease, &PostParams::default(), &lease).await {
            Ok(written) => {
                let spec = written.spec.unwrap_or_default();
                self.observed =
                    Some((self.settings.identity.clone(), spec.renew_time.map(|t| t.0.to_string()), Instant::now()));
                Ok(Role::Leader)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Role::Standby),
            Err(e) => Err(KubeError::from_kube(e, self.operation("update"), &self.server)),
        }
    }

    /// Gives the Lease up (on a clean shutdown), so a standby takes over at
    /// once instead of after the lease duration. Best effort.
    pub async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.lease).await else { return };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = Some(now());
        if let Err(error) = self.api.replace(&self.settings.lease, &PostParams::default(), &lease).await {
            tracing::info!(%error, "leader election: the Lease was not released; it expires by itself");
        }
    }

    /// Waits until this replica leads; API errors are retried.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_lead().await {
                Ok(Role::Leader) => return,
                Ok(Role::Standby) => {}
                Err(error) => tracing::warn!(%error, "leader election: cannot read or write the Lease"),
            }
            tokio::time::sleep(self.settings.retry).await;
        }
    }

    /// Renews the Lease until that fails for a whole lease duration or
    /// another replica took it; then returns why.
    pub async fn hold(&mut self) -> String {
        let mut last_success = Instant::now();
        loop {
            tokio::time::sleep(self.settings.retry).await;
            match self.try_lead().await {
                Ok(Role::Leader) => last_success = Instant::now(),
                Ok(Role::Standby) => return format!("another replica holds the Lease {}", self.settings.lease),
                Err(error) => {
                    tracing::warn!(%error, "leader election: cannot renew the Lease");
                    if last_success.elapsed() >= self.settings.duration {
                        return format!("the Lease could not be renewed for {:?}: {error}", self.settings.duration);
                    }
                }
            }
        }
    }
}
