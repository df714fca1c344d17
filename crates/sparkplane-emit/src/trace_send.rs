//! Sending traces to an OTLP endpoint (an OpenTelemetry Collector, Jaeger,
//! Tempo, …) over HTTP/protobuf or gRPC.
//!
//! Owns: checking the endpoint URL ([`OtlpEndpoint::parse`]), and the exchange:
//! one `ExportTraceServiceRequest` POSTed as protobuf to `/v1/traces`, or
//! sent through the generated gRPC `TraceService` client, three attempts each.
//! Must not: build spans (that is `trace`) or messages (that is `trace_otlp`),
//! or decide exit codes — [`SendError`] names the URL and why, and the caller
//! reports it. Plain `http://` only: sparkplane's HTTP clients carry no TLS
//! (ADR 0038); an agent or collector beside the job forwards over TLS.

use std::fmt;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use sparkplane_http::Failure;

/// Which OTLP transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// HTTP POST of protobuf to `/v1/traces` (OTLP's default port 4318).
    #[default]
    Http,
    /// gRPC `TraceService/Export` (OTLP's default port 4317).
    Grpc,
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtlpProtocol::Http => "http",
            OtlpProtocol::Grpc => "grpc",
        })
    }
}

/// A checked endpoint: where requests go, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpEndpoint {
    /// The URL requests go to: for HTTP with `/v1/traces` added when the given URL had no path.
    pub url: String,
    /// The transport.
    pub protocol: OtlpProtocol,
}

/// A URL that cannot be an OTLP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{url}` is not an OTLP endpoint: {reason}")]
pub struct EndpointError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

impl OtlpEndpoint {
    /// Checks `url`: `http://host:port` with an optional path (HTTP only; a
    /// URL without a path gets OTLP's `/v1/traces`), no query or fragment.
    pub fn parse(url: &str, protocol: OtlpProtocol) -> Result<OtlpEndpoint, EndpointError> {
        let bad = |reason: &str| EndpointError { url: url.to_owned(), reason: reason.to_owned() };
        let trimmed = url.trim();
        if trimmed.starts_with("https://") {
            return Err(bad("https:// is not supported yet (sparkplane sends OTLP over plain http://)"));
        }
        let Some(rest) = trimmed.strip_prefix("http://") else {
            return Err(bad("it must start with http://"));
        };
        let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        if authority.is_empty() || authority.contains(['@', ' ']) || rest.contains(['?', '#', ' ']) {
            return Err(bad("it needs a host (and port), without user, query or fragment"));
        }
        if let Some((_, port)) = authority.rsplit_once(':')
            && !authority.ends_with(']')
            && port.parse::<u16>().is_err()
        {
            return Err(bad("its port is not a number from 0 to 65535"));
        }
        let url = match protocol {
            OtlpProtocol::Http if path.is_empty() || path == "/" => format!("http://{authority}/v1/traces"),
            OtlpProtocol::Http => format!("http://{authority}{path}"),
            OtlpProtocol::Grpc if path.is_empty() || path == "/" => format!("http://{authority}"),
            OtlpProtocol::Grpc => return Err(bad("a gRPC endpoint is a host and port, without a path")),
        };
        Ok(OtlpEndpoint { url, protocol })
    }
}

/// A request the endpoint did not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot send traces to {url} (OTLP/{protocol}): {reason}")]
pub struct SendError {
    /// The endpoint.
    pub url: String,
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Why the last attempt failed.
    pub reason: String,
}

/// Sends `request` to `endpoint`: three attempts, 200 ms apart then doubling,
/// ten seconds each. Returns the spans sent.
pub fn send(endpoint: &OtlpEndpoint, request: &ExportTraceServiceRequest) -> Result<usize, SendError> {
    let spans = request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
    let failed = |reason: String| SendError { url: endpoint.url.clone(), protocol: endpoint.protocol, reason };
    match endpoint.protocol {
        OtlpProtocol::Http => send_http(&endpoint.url, &request.encode_to_vec()).map_err(failed)?,
        OtlpProtocol::Grpc => send_grpc(&endpoint.url, request).map_err(failed)?,
    }
    Ok(spans)
}

fn send_http(url: &str, body: &[u8]) -> Result<(), String> {
    sparkplane_http::post(&sparkplane_http::Retry::default(), url, "application/x-protobuf", body).map_err(
        |e| match e {
            // OTLP/HTTP: the request itself was refused; a retry would not change that.
            sparkplane_http::PostError::Refused { status } => {
                format!("the endpoint refused the request with HTTP {status}")
            }
            sparkplane_http::PostError::Failed(reason) => reason,
        },
    )
}

fn send_grpc(url: &str, request: &ExportTraceServiceRequest) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the gRPC client: {e}"))?;
    // The one retry rule's attempts and per-attempt time limit, as OTLP/HTTP's POST has them.
    let retry = sparkplane_http::Retry::default();
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| e.to_string())
        .map_err(|e| format!("bad gRPC endpoint: {e}"))?
        .connect_timeout(Duration::from_secs(5).min(retry.timeout))
        .timeout(retry.timeout);
    sparkplane_http::with_retries(&retry, || {
        runtime.block_on(async {
            let channel = endpoint.connect().await.map_err(|e| Failure::Retryable(describe(&e)))?;
            let mut client = TraceServiceClient::new(channel);
            match client.export(request.clone()).await {
                Ok(_) => Ok(()),
                Err(status) if retryable(status.code()) => Err(Failure::Retryable(grpc_reason(&status))),
                Err(status) => {
                    Err(Failure::Final(format!("the endpoint refused the request: {}", grpc_reason(&status))))
                }
            }
        })
    })
}

/// OTLP/gRPC's retryable codes.
fn retryable(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss
            | Code::ResourceExhausted
    )
}

fn grpc_reason(status: &tonic::Status) -> String {
    format!("gRPC status {:?}: {}", status.code(), status.message())
}

/// A transport error with its causes (tonic's own text is only "transport error").
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let http = |url| OtlpEndpoint::parse(url, OtlpProtocol::Http).map(|e| e.url);
        let grpc = |url| OtlpEndpoint::parse(url, OtlpProtocol::Grpc).map(|e| e.url);
        assert_eq!(http("http://collector:4318").as_deref(), Ok("http://collector:4318/v1/traces"));
        assert_eq!(http("http://collector:4318/").as_deref(), Ok("http://collector:4318/v1/traces"));
        assert_eq!(http("http://collector:4318/otlp/v1/traces").as_deref(), Ok("http://collector:4318/otlp/v1/traces"));
        assert_eq!(grpc("http://collector:4317").as_deref(), Ok("http://collector:4317"));
        assert_eq!(http("http://[::1]:4318").as_deref(), Ok("http://[::1]:4318/v1/traces"));
        let reason = |r: Result<String, EndpointError>| r.err().map(|e| e.reason).unwrap_or_default();
        assert_eq!(reason(http("collector:4318")), "it must start with http://");
        assert_eq!(
            reason(http("https://c:4318")),
            "https:// is not supported yet (sparkplane sends OTLP over plain http://)"
        );
        assert_eq!(reason(http("http://c:x")), "its port is not a number from 0 to 65535");
        assert_eq!(reason(http("http://")), "it needs a host (and port), without user, query or fragment");
        assert_eq!(
            reason(http("http://c:4318/v1/traces?x=1")),
            "it needs a host (and port), without user, query or fragment"
        );
        assert_eq!(reason(grpc("http://c:4317/v1/traces")), "a gRPC endpoint is a host and port, without a path");
    }
}
