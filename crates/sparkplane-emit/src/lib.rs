//! What sparkplane sends about a Spark application to other systems, from the
//! one application model (`sparkplane-eventlog`): OpenLineage run events
//! ([`openlineage`], POSTed by [`openlineage_send`]) and OpenTelemetry traces
//! ([`trace`], as OTLP's messages by [`trace_otlp`], sent over HTTP/protobuf
//! or gRPC by [`trace_send`]).
//!
//! Owns: the shape of each outgoing format and its sender. The builders are
//! pure and tested without a network; only the `*_send` modules do I/O, POSTs
//! through `sparkplane_http`'s one retry rule.
//!
//! Must not: read or fold event logs other than through `sparkplane-eventlog`
//! (the trace's task sample folds beside the model through its `LogFold`),
//! judge or price an application (that is `sparkplane-analysis`), or decide
//! exit codes or print (the CLI and the exporter report a send's failure).

pub mod openlineage;
pub mod openlineage_send;
pub mod trace;
pub mod trace_otlp;
pub mod trace_send;
