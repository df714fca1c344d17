//! Delivering CDEvents to a sink over HTTP: one POST per event in CloudEvents'
//! structured JSON mode, a bounded number of attempts with backoff, and a
//! report of what could not be delivered. A failed delivery never fails the
//! step that emitted it: the caller prints the report as a warning.

use std::time::Duration;

use crate::cdevents::{self, Step};

/// Where events go and how hard to try.
#[derive(Clone, Debug)]
pub struct Sink {
    url: String,
    source: String,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
}

/// One event that did not arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    /// The event's CDEvents type.
    pub ty: String,
    /// The event's subject id.
    pub subject: String,
    /// Why the last attempt failed (or why the event could not be built).
    pub reason: String,
}

/// What happened to a batch of events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Events the sink accepted (a 2xx answer).
    pub delivered: usize,
    /// Events it did not, after every attempt.
    pub undelivered: Vec<Undelivered>,
}

impl Delivery {
    /// The warning a command prints when some events were lost, if any were.
    pub fn warning(&self, url: &str) -> Option<String> {
        let first = self.undelivered.first()?;
        Some(format!(
            "{} of {} CDEvents not delivered to {url} (first: {} for {}: {}); the step's own result is unchanged",
            self.undelivered.len(),
            self.undelivered.len() + self.delivered,
            first.ty,
            first.subject,
            first.reason
        ))
    }
}

impl Sink {
    /// A sink at `url` (http or https), events emitted as `source`
    /// (e.g. `/sparkplane/cli`): three attempts, 200 ms apart then doubling,
    /// five seconds per attempt at most.
    pub fn new(url: impl Into<String>, source: impl Into<String>) -> Self {
        Sink {
            url: url.into(),
            source: source.into(),
            attempts: 3,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        }
    }

    /// The same sink with `attempts` tries (at least one) starting `backoff` apart.
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// The sink's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Builds and sends one event per step, in order, stamped `at`.
    pub fn send(&self, steps: &[Step], at: jiff::Timestamp) -> Delivery {
        let mut delivery = Delivery::default();
        for step in steps {
            let built = cdevents::event(step, &self.source, at);
            let (ty, subject) = match &built {
                Ok(e) => (e.ty().to_owned(), e.subject().id().to_string()),
                Err(_) => (String::from("(unbuilt)"), String::new()),
            };
            let body = built.and_then(cdevents::cloudevent_json);
            let result = match body {
                Ok(body) => self.post(&body),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) => delivery.delivered += 1,
                Err(reason) => delivery.undelivered.push(Undelivered { ty, subject, reason }),
            }
        }
        delivery
    }

    fn post(&self, body: &[u8]) -> Result<(), String> {
        let retry = sparkplane_http::Retry { attempts: self.attempts, first_wait: self.backoff, timeout: self.timeout };
        sparkplane_http::post(&retry, &self.url, "application/cloudevents+json", body).map_err(|e| match e {
            // The event itself was refused: a retry would not change that.
            sparkplane_http::PostError::Refused { status } => format!("the sink refused it with HTTP {status}"),
            sparkplane_http::PostError::Failed(reason) => reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn server(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        sparkplane_testkit::http::receiver("/events", statuses)
    }

    fn step() -> Step {
        Step::RunStarted { run: "r1".into(), job: "orders".into(), uri: None }
    }

    #[test]
    fn a_sink_that_fails_twice_gets_the_same_event_three_times() {
        let (url, handle) = server(vec![503, 500, 202]);
        let sink = Sink::new(&url, "/sparkplane/test").with_retries(3, Duration::from_millis(1));
        let delivery = sink.send(&[step()], jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(delivery, Delivery { delivered: 1, undelivered: vec![] });
        let bodies = handle.join().expect("server");
        assert_eq!(bodies.len(), 3);
        assert!(bodies.iter().all(|b| b == &bodies[0]), "a retry resends the same event (same id)");
    }

    #[test]
    fn a_refused_event_is_not_retried_and_is_reported() {
        let (url, handle) = server(vec![400]);
        let sink = Sink::new(&url, "/sparkplane/test").with_retries(3, Duration::from_millis(1));
        let delivery = sink.send(&[step()], jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(handle.join().expect("server").len(), 1);
        assert_eq!(delivery.delivered, 0);
        assert_eq!(
            delivery.warning(&url).expect("a warning"),
            format!(
                "1 of 1 CDEvents not delivered to {url} (first: dev.cdevents.taskrun.started.0.3.0 for r1: \
                 the sink refused it with HTTP 400); the step's own result is unchanged"
            )
        );
    }

    #[test]
    fn an_unreachable_sink_is_reported_after_every_attempt() {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let url = format!("http://127.0.0.1:{port}/events");
        let sink = Sink::new(&url, "/sparkplane/test").with_retries(2, Duration::from_millis(1));
        let delivery = sink.send(&[step(), step()], jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(delivery.undelivered.len(), 2);
        assert!(delivery.undelivered[0].reason.ends_with("after 2 attempts"), "{:?}", delivery.undelivered[0]);
        assert!(delivery.warning(&url).is_some());
    }
}
