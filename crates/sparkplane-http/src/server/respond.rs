//! Answering one request: a [`Reply`] turned into the response hyper sends,
//! its body in memory, read from the handler's reader in chunks of
//! [`STREAM_CHUNK`], or written by the handler through a [`BodyWriter`],
//! each write one chunk sent at once.
//!
//! Owns: the [`Responder`] a handler answers through, the response bodies
//! ([`ResponseBody`]: in memory, or frames passed from the handler's thread
//! over a small bounded channel, so a slow client slows its handler rather
//! than filling memory), and what a HEAD or an HTTP/1.0 request changes in
//! an answer. Must not: read a request or touch a socket (`connections`
//! does).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::{Body, Reply};

/// Bytes per chunk of a streamed body of unknown length. tiny_http's own
/// encoder sent 8 KiB chunks: a list of 100,000 applications (53 MB) went
/// as 6,500 chunks and as many writes, and Python's `http.client`, which
/// reads chunk by chunk, took half as long again to receive it as in 64 KiB
/// chunks (ADR 0016, tenth addendum), and a fifth longer in 64 KiB chunks
/// than in 256 KiB ones (ADR 0062, second addendum).
pub(crate) const STREAM_CHUNK: usize = 256 << 10;

/// Frames in flight between a handler's thread and the connection: two
/// chunks of a reader's body (512 KiB), or as many of a writer's pieces.
const IN_FLIGHT: usize = 2;

/// A response's body: in memory, or frames from the handler's thread. A
/// boxed body, so that an upstream's streamed body can be one too.
pub(crate) type ResponseBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// A response as the connection sends it.
pub(crate) type Response = http::Response<ResponseBody>;

/// Frames sent from a handler's thread; an error ends the response without
/// its last chunk, so the client sees a body cut short, not a whole one.
type FrameSender = mpsc::Sender<io::Result<Bytes>>;

/// How a handler answers its request, once: [`Responder::send`] a
/// [`Reply`], or [`Responder::stream`] a body written as it happens.
/// Dropped unanswered (a handler that panicked), the request is answered
/// 500.
pub struct Responder {
    answer: oneshot::Sender<Response>,
    /// A HEAD request: the head alone goes out, no body is read or written.
    head_only: bool,
    /// An HTTP/1.0 request: it knows no chunks, so a body of unknown length
    /// read from a reader is read whole and sent with its length.
    http_1_0: bool,
    /// The handler's slot among the server's workers, freed once the head is sent.
    slot: Option<OwnedSemaphorePermit>,
    /// Answered on the connection's own thread ([`super::Options::inline`]),
    /// which must not wait for the client: nothing is sent piece by piece.
    inline: bool,
}

impl Responder {
    pub(crate) fn new(
        answer: oneshot::Sender<Response>,
        head_only: bool,
        http_1_0: bool,
        slot: Option<OwnedSemaphorePermit>,
        inline: bool,
    ) -> Responder {
        Responder { answer, head_only, http_1_0, slot, inline }
    }

    /// Answers with `reply`. A body from a reader is read here, on the
    /// handler's thread, and sent as it is read.
    pub fn send(self, reply: Reply) {
        let Reply { status, content_type, headers, body } = reply;
        let head = head(status, &content_type, &headers);
        match body {
            Body::Bytes(bytes) => self.answer(head, full(bytes)),
            Body::Stream { length, .. } if self.head_only => {
                let mut head = head;
                if let Some(length) = length {
                    head.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
                }
                self.answer(head, full(Vec::new()))
            }
            // HTTP/1.0 knows no chunks; an inline answer cannot wait for its client.
            Body::Stream { mut reader, length } if self.inline || (self.http_1_0 && length.is_none()) => {
                let mut whole = Vec::new();
                match reader.read_to_end(&mut whole) {
                    Ok(_) => self.answer(head, full(whole)),
                    // Nothing sent yet: the reader's failure is the server's.
                    Err(_) => self.answer(status_only(StatusCode::INTERNAL_SERVER_ERROR), full(Vec::new())),
                }
            }
            Body::Stream { mut reader, length } => {
                let mut head = head;
                if let Some(length) = length {
                    head.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
                }
                let (frames, body) = channel();
                self.answer(head, body);
                send_read(reader.as_mut(), &frames);
            }
        }
    }

    /// Answers with `status`, `content_type` and `headers`, and a body of
    /// unknown length that the returned writer writes: each write goes out
    /// at once as one chunk (a watch's event, a followed log's lines); the
    /// body ends when the writer is dropped. A write fails once the client
    /// has gone.
    pub fn stream(self, status: u16, content_type: &str, headers: &[(&str, &str)]) -> BodyWriter {
        let owned: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        let head = head(status, content_type, &owned);
        let (frames, body) = channel();
        let inline = self.inline;
        self.answer(head, body);
        BodyWriter { frames, inline }
    }

    fn answer(self, head: http::Response<()>, body: ResponseBody) {
        let Responder { answer, slot, .. } = self;
        // A connection that went away meanwhile takes no answer; nothing else to do.
        let _ = answer.send(head.map(|()| body));
        drop(slot);
    }
}

/// The body of a [`Responder::stream`]ed answer: each write is one chunk,
/// sent at once; dropping it ends the body (cut short if its thread is
/// panicking).
pub struct BodyWriter {
    frames: FrameSender,
    /// The request is answered on the connection's own thread, which is the
    /// one that would send these pieces: a write fails rather than wait.
    inline: bool,
}

impl Write for BodyWriter {
    fn write(&mut self, piece: &[u8]) -> io::Result<usize> {
        if piece.is_empty() {
            return Ok(0);
        }
        if self.inline {
            let why = "a request answered inline (Options::inline) cannot be streamed: its handler must answer at once";
            return Err(io::Error::new(io::ErrorKind::Unsupported, why));
        }
        self.frames
            .blocking_send(Ok(Bytes::copy_from_slice(piece)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(piece.len())
    }

    /// Every write is already on its way.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.frames.try_send(Err(io::Error::other("the handler panicked mid-answer")));
        }
    }
}

/// The 500 a request gets when its handler dropped its responder unanswered.
pub(crate) fn unanswered() -> Response {
    status_only(StatusCode::INTERNAL_SERVER_ERROR).map(|()| full(b"the handler gave no answer\n".to_vec()))
}

/// A plain-text answer the server gives itself (413, 500).
pub(crate) fn plain(status: StatusCode, text: String) -> Response {
    let mut head = status_only(status);
    head.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    head.map(|()| full(text.into_bytes()))
}

fn status_only(status: StatusCode) -> http::Response<()> {
    let mut head = http::Response::new(());
    *head.status_mut() = status;
    head
}

/// The status and headers of `reply` (no `Content-Type` when it is empty);
/// a header whose name or value cannot be sent is left out, and the body's
/// framing is the server's.
fn head(status: u16, content_type: &str, headers: &[(String, String)]) -> http::Response<()> {
    let mut head = status_only(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    let kind = Some(("content-type", content_type)).filter(|(_, kind)| !kind.is_empty());
    let named = kind.into_iter().chain(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    for (name, value) in named {
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) else {
            continue;
        };
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            head.headers_mut().append(name, value);
        }
    }
    head
}

fn full(bytes: Vec<u8>) -> ResponseBody {
    http_body_util::Full::new(Bytes::from(bytes)).map_err(|never| match never {}).boxed()
}

fn channel() -> (FrameSender, ResponseBody) {
    let (frames, receiver) = mpsc::channel(IN_FLIGHT);
    (frames, Frames { receiver }.boxed())
}

/// Reads `reader` in chunks of [`STREAM_CHUNK`] and sends each; a read that
/// fails cuts the body short.
fn send_read(reader: &mut dyn Read, frames: &FrameSender) {
    loop {
        let mut chunk = vec![0; STREAM_CHUNK];
        let filled = match fill(reader, &mut chunk) {
            Ok(filled) => filled,
            Err(error) => {
                let _ = frames.blocking_send(Err(error));
                return;
            }
        };
        if filled > 0 {
            chunk.truncate(filled);
            if frames.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                // The client went away.
                return;
            }
        }
        if filled < STREAM_CHUNK {
            return;
        }
    }
}

/// Reads into `buffer` until it is full or the reader ends; how much it holds.
fn fill(reader: &mut dyn Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// A body of frames sent from a handler's thread; it ends when the sender is dropped.
struct Frames {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
}

impl HttpBody for Frames {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        self.receiver.poll_recv(cx).map(|frame| frame.map(|frame| frame.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
