//! sparkplane's HTTP plumbing, one owner for what every server and sender
//! needs.
//!
//! Owns: a small threaded server that hands a handler the request's method,
//! path and query — never the raw URL, so `/metrics?x=1` is `/metrics` — and
//! stops cleanly (every thread joined) when asked or dropped ([`server`]);
//! and the one retry rule for POSTs to a receiver: a few attempts, waits that
//! double, and which answers are worth another try ([`client`]).
//! Must not: know any route, payload or format — its callers do.

pub mod client;
pub mod server;

pub use client::{Failure, PostError, Retry, post, retryable_status, with_retries};
pub use server::{Body, HttpServer, Method, Reply, Request, ServeError, serve};
