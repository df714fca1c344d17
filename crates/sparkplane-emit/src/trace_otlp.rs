//! A [`Trace`] in OTLP's own messages: the `ExportTraceServiceRequest` that
//! both OTLP transports (HTTP/protobuf and gRPC) carry.
//!
//! Owns: the mapping from the typed trace to `opentelemetry-proto`'s generated
//! types — one `ResourceSpans` per application, one scope (`sparkplane`),
//! Spark's timestamps as given (milliseconds to nanoseconds), the hex ids as
//! bytes, statuses and `exception` events. Must not: decide what is in a trace
//! (that is `trace`) or send anything (that is `trace_send`). Pure.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::trace::{self, Attributes, Trace, Value};

/// The instrumentation scope every span is reported under.
pub const SCOPE_NAME: &str = "sparkplane";

/// One request carrying every trace in `traces`.
pub fn export_request(traces: &[Trace]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest { resource_spans: traces.iter().map(resource_spans).collect() }
}

fn resource_spans(trace: &Trace) -> ResourceSpans {
    let trace_id = hex_bytes(&trace.trace_id);
    ResourceSpans {
        resource: Some(Resource { attributes: key_values(&trace.resource), ..Resource::default() }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: SCOPE_NAME.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..InstrumentationScope::default()
            }),
            spans: trace.spans.iter().map(|s| span(&trace_id, s)).collect(),
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

fn span(trace_id: &[u8], s: &trace::Span) -> Span {
    let status = match &s.status {
        trace::Status::Unset => None,
        trace::Status::Error(message) => Some(Status { message: message.clone(), code: StatusCode::Error as i32 }),
    };
    Span {
        trace_id: trace_id.to_vec(),
        span_id: hex_bytes(&s.span_id),
        parent_span_id: s.parent_span_id.as_deref().map(hex_bytes).unwrap_or_default(),
        name: s.name.clone(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: nanos(s.start_ms),
        end_time_unix_nano: nanos(s.end_ms),
        attributes: key_values(&s.attributes),
        events: s
            .events
            .iter()
            .map(|e| Event {
                time_unix_nano: nanos(e.time_ms),
                name: e.name.clone(),
                attributes: key_values(&e.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        status,
        ..Span::default()
    }
}

fn nanos(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

fn key_values(attributes: &Attributes) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(key, value)| KeyValue { key: key.clone(), value: Some(any_value(value)), ..KeyValue::default() })
        .collect()
}

fn any_value(value: &Value) -> AnyValue {
    let value = match value {
        Value::Str(s) => any_value::Value::StringValue(s.clone()),
        Value::Int(i) => any_value::Value::IntValue(*i),
        Value::Double(d) => any_value::Value::DoubleValue(*d),
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Ints(list) => any_value::Value::ArrayValue(ArrayValue {
            values: list.iter().map(|i| AnyValue { value: Some(any_value::Value::IntValue(*i)) }).collect(),
        }),
    };
    AnyValue { value: Some(value) }
}

/// Bytes of a hex id the trace module wrote (always even-length lower-case hex).
fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_become_bytes() {
        assert_eq!(hex_bytes("00ff10"), vec![0, 255, 16]);
        assert_eq!(nanos(1_795_265_044_180), 1_795_265_044_180_000_000);
    }
}
