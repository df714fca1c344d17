//! sparkplane's HTTP stack, one owner for what every server and sender
//! needs.
//!
//! Owns: the one server every endpoint and test peer serves through
//! ([`server`]): a handler sees the request's method, path and query apart —
//! never the raw URL, so `/metrics?x=1` is `/metrics` —, its headers, a
//! bounded body and the peer, and answers in memory, from a reader or as a
//! stream, or a router sends it upstream (a reverse proxy); the server stops cleanly (every thread joined) when asked or
//! dropped; and, for what sparkplane sends ([`client`]), the one agent setup
//! and the one retry rule for POSTs to a receiver: a few attempts, waits that
//! double, and which answers are worth another try.
//! Must not: know any route, payload or format — its callers do.

pub mod client;
pub mod server;

pub use client::{Failure, PostError, Retry, agent, agent_config, post, retryable_status, with_retries};
pub use server::{
    Body, BodyWriter, Forward, HeaderMap, HttpServer, Method, Options, Reply, Request, Responder, Route, Router,
    ServeError, serve, start,
};
