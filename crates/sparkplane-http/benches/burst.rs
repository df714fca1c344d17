//! A burst of short requests while long-lived streams are open (ADR 0088):
//! what an operator opening its watches, or a History Server with slow
//! readers of its big answers, does to everyone else on the same server.
//!
//! Each burst starts a server, opens `HTTP_BENCH_STREAMS` streaming answers
//! on it (default 64; a line every 100 ms, as a watch with events or a
//! followed log), then sends `HTTP_BENCH_REQUESTS` short GETs (default 200)
//! from `HTTP_BENCH_CLIENTS` threads at once (default 50; each request on a
//! connection of its own, as a burst of new clients). Every case gets
//! `HTTP_BENCH_ROUNDS` bursts (default 10), the cases taking turns, in
//! reverse order every other round, so that a busier moment of the machine
//! falls on all of them. A request's latency runs from its connect to the
//! last byte of its answer; one not answered within `HTTP_BENCH_WAIT_MS`
//! (default 5000) counts as unanswered. The case that starves is run once,
//! last.
//!
//! The anchor, in the same run: tiny_http 0.12 as `sparkplane_http::serve`
//! used it before this server (worker threads taking requests from its
//! queue, a streamed answer written on the worker's request), with the
//! History Server's 4 workers and with enough workers for every stream and
//! 4 more. The server measured is this crate's, with the History Server's
//! 4 workers.
//!
//! Then one big answer, as the History Server's list of 100,000 applications
//! (53 MB of unknown length, handed over by the handler's reader 8 KiB at a
//! time, sent in 256 KiB chunks): the time from the request to the last
//! byte, `HTTP_BENCH_BIG_ROUNDS` times a server (default 10), taking turns.
//!
//! `cargo bench -p sparkplane-http --bench burst`; numbers go to docs/benchmarks.md.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sparkplane_http::{Body, HttpServer, Options, Reply, Request, Responder};

/// How often a stream sends a line.
const LINE_EVERY: Duration = Duration::from_millis(100);
const LINE: &[u8] = b"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\"}}\n";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Which server a case runs.
#[derive(Clone, Copy)]
enum Kind {
    Hyper,
    TinyHttp,
}

/// The big answer's size: the History Server's list of 100,000 applications.
const BIG: usize = 53_000_000;

/// A reader of `BIG` bytes handing out at most 8 KiB a read, as a list written record by record.
struct Pieces {
    at: usize,
}

impl Read for Pieces {
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        let n = into.len().min(8192).min(BIG - self.at);
        into[..n].iter_mut().enumerate().for_each(|(i, b)| *b = b'a' + ((self.at + i) % 26) as u8);
        self.at += n;
        Ok(n)
    }
}

/// A server of either kind, serving `/watch` (a stream until `ending`), `/big` and anything else (`ok`).
enum Running {
    Hyper(HttpServer),
    Tiny(Tiny),
}

fn start(kind: Kind, workers: usize, ending: &Arc<AtomicBool>) -> (SocketAddr, Running) {
    match kind {
        Kind::Hyper => {
            let ending = Arc::clone(ending);
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
            let options = Options::new("bench-hyper").workers(workers);
            let server = sparkplane_http::start(listener, options, move |request: Request, responder: Responder| {
                if request.path == "/watch" {
                    let mut out = responder.stream(200, "application/json", &[]);
                    while !ending.load(Ordering::SeqCst) {
                        std::thread::sleep(LINE_EVERY);
                        if out.write_all(LINE).is_err() {
                            return;
                        }
                    }
                } else if request.path == "/big" {
                    let body = Body::Stream { reader: Box::new(Pieces { at: 0 }), length: None };
                    responder.send(Reply {
                        status: 200,
                        content_type: "application/json".into(),
                        headers: vec![],
                        body,
                    });
                } else {
                    responder.send(Reply::text(200, "text/plain", "ok"));
                }
            })
            .expect("serves");
            (server.addr(), Running::Hyper(server))
        }
        Kind::TinyHttp => {
            let tiny = Tiny::start(workers, ending);
            (tiny.addr, Running::Tiny(tiny))
        }
    }
}

impl Running {
    fn stop(self) {
        match self {
            Running::Hyper(server) => server.stop(),
            Running::Tiny(tiny) => tiny.stop(),
        }
    }
}

/// tiny_http as the scaffold ran it: `workers` threads each taking the next
/// request from the server's queue and answering it to the end.
struct Tiny {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Tiny {
    fn start(workers: usize, ending: &Arc<AtomicBool>) -> Tiny {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binds"));
        let addr = server.server_addr().to_ip().expect("an IP address");
        let stopping = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let (server, stopping, ending) = (Arc::clone(&server), Arc::clone(&stopping), Arc::clone(ending));
                std::thread::spawn(move || {
                    while !stopping.load(Ordering::SeqCst) {
                        let Ok(request) = server.recv() else { break };
                        tiny_answer(request, &ending);
                    }
                })
            })
            .collect();
        Tiny { server, addr, stopping, workers }
    }

    fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// A stream written on the request's own connection in chunks, as the
/// scaffold's `send_chunked` did; anything else answered `ok`.
fn tiny_answer(request: tiny_http::Request, ending: &AtomicBool) {
    if request.url() == "/big" {
        let _ = tiny_big(request);
        return;
    }
    if request.url() != "/watch" {
        let _ = request.respond(tiny_http::Response::from_string("ok"));
        return;
    }
    let mut out = request.into_writer();
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    if out.write_all(head).and_then(|()| out.flush()).is_err() {
        return;
    }
    while !ending.load(Ordering::SeqCst) {
        std::thread::sleep(LINE_EVERY);
        let mut chunk = format!("{:x}\r\n", LINE.len()).into_bytes();
        chunk.extend_from_slice(LINE);
        chunk.extend_from_slice(b"\r\n");
        if out.write_all(&chunk).and_then(|()| out.flush()).is_err() {
            return;
        }
    }
    let _ = out.write_all(b"0\r\n\r\n").and_then(|()| out.flush());
}

/// The big answer as the scaffold's `send_chunked` sent a body of unknown
/// length: chunks of 256 KiB, each filled from the reader and written whole.
fn tiny_big(request: tiny_http::Request) -> std::io::Result<()> {
    const CHUNK: usize = 256 << 10;
    let mut out = request.into_writer();
    out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")?;
    let (mut reader, mut chunk, mut frame) = (Pieces { at: 0 }, vec![0; CHUNK], Vec::with_capacity(CHUNK + 16));
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            match reader.read(&mut chunk[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled > 0 {
            frame.clear();
            write!(frame, "{filled:x}\r\n")?;
            frame.extend_from_slice(&chunk[..filled]);
            frame.extend_from_slice(b"\r\n");
            out.write_all(&frame)?;
        }
        if filled < CHUNK {
            break;
        }
    }
    out.write_all(b"0\r\n\r\n")?;
    out.flush()
}

/// The time to receive the big answer whole, on a connection of its own.
fn big_answer(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr).expect("connects");
    socket.write_all(b"GET /big HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").expect("sends");
    let mut answer = Vec::with_capacity(BIG + (1 << 20));
    socket.read_to_end(&mut answer).expect("reads");
    let took = started.elapsed();
    assert!(answer.starts_with(b"HTTP/1.1 200") && answer.len() > BIG, "the whole answer");
    took
}

/// An open stream: its connection and the thread reading it.
struct Stream {
    socket: TcpStream,
    reader: JoinHandle<()>,
}

fn open_stream(addr: SocketAddr) -> Stream {
    let mut socket = TcpStream::connect(addr).expect("connects");
    socket.write_all(b"GET /watch HTTP/1.1\r\nHost: bench\r\n\r\n").expect("sends");
    let mut reading = socket.try_clone().expect("a second handle");
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while matches!(reading.read(&mut buffer), Ok(n) if n > 0) {}
    });
    Stream { socket, reader }
}

/// One GET on a connection of its own: its latency, or `None` when unanswered within `wait`.
fn one_request(addr: SocketAddr, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr).ok()?;
    socket.set_read_timeout(Some(wait)).ok()?;
    socket.write_all(b"GET /ping HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).ok()?;
    (answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"ok")).then(|| started.elapsed())
}

/// A burst: `requests` spread over `clients` threads started together.
/// Every request's latency (`None`: unanswered) and the burst's wall time.
fn burst(addr: SocketAddr, requests: usize, clients: usize, wait: Duration) -> (Vec<Option<Duration>>, Duration) {
    let start = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<JoinHandle<Vec<Option<Duration>>>> = (0..clients)
        .map(|c| {
            let start = Arc::clone(&start);
            let mine = requests / clients + usize::from(c < requests % clients);
            std::thread::spawn(move || {
                start.wait();
                (0..mine).map(|_| one_request(addr, wait)).collect()
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let latencies = threads.into_iter().flat_map(|t| t.join().expect("a client")).collect();
    (latencies, began.elapsed())
}

/// The value at `share` (0.5, 0.99) of sorted `values`, nearest rank.
fn percentile(values: &[Duration], share: f64) -> Duration {
    let rank = ((share * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1));
    values.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Case {
    name: &'static str,
    kind: Kind,
    workers: usize,
    streams: usize,
}

/// What one case measured over its bursts.
#[derive(Default)]
struct Measured {
    answered: Vec<Duration>,
    unanswered: usize,
    /// Each burst's p50, p99 and wall time.
    bursts: Vec<(Duration, Duration, Duration)>,
}

/// Starts the case's server and streams, sends one burst, stops everything.
fn run_once(case: &Case, requests: usize, clients: usize, wait: Duration, into: &mut Measured) {
    let ending = Arc::new(AtomicBool::new(false));
    let (addr, server) = start(case.kind, case.workers, &ending);
    let open: Vec<Stream> = (0..case.streams).map(|_| open_stream(addr)).collect();
    // Let every stream that will be served start.
    std::thread::sleep(Duration::from_millis(500));
    let (latencies, wall) = burst(addr, requests, clients, wait);
    into.unanswered += latencies.iter().filter(|l| l.is_none()).count();
    let mut answered: Vec<Duration> = latencies.into_iter().flatten().collect();
    answered.sort();
    into.bursts.push((percentile(&answered, 0.5), percentile(&answered, 0.99), wall));
    into.answered.extend(answered);
    ending.store(true, Ordering::SeqCst);
    for stream in &open {
        let _ = stream.socket.shutdown(Shutdown::Both);
    }
    for stream in open {
        let _ = stream.reader.join();
    }
    server.stop();
}

/// The median of one figure of the bursts, with its least and most.
fn spread(
    bursts: &[(Duration, Duration, Duration)],
    figure: fn(&(Duration, Duration, Duration)) -> Duration,
) -> String {
    let mut values: Vec<Duration> = bursts.iter().map(figure).collect();
    values.sort();
    match (values.first(), values.last()) {
        (Some(least), Some(most)) => format!("{} [{}–{}]", ms(percentile(&values, 0.5)), ms(*least), ms(*most)),
        _ => "–".to_owned(),
    }
}

fn main() {
    let streams = setting("HTTP_BENCH_STREAMS", 64) as usize;
    let requests = setting("HTTP_BENCH_REQUESTS", 200) as usize;
    let clients = (setting("HTTP_BENCH_CLIENTS", 50) as usize).clamp(1, requests.max(1));
    let rounds = setting("HTTP_BENCH_ROUNDS", 10).max(1) as usize;
    let wait = Duration::from_millis(setting("HTTP_BENCH_WAIT_MS", 5000));
    // Only the `--bench` run measures; `cargo test --benches` runs nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // Each round runs these once, in turn, the order reversed every other
    // round, each on a fresh server with fresh streams.
    let cases = [
        Case { name: "tiny_http (before), no stream open", kind: Kind::TinyHttp, workers: 4, streams: 0 },
        Case { name: "sparkplane-http (hyper), no stream open", kind: Kind::Hyper, workers: 4, streams: 0 },
        Case { name: "tiny_http (before), streams open", kind: Kind::TinyHttp, workers: streams + 4, streams },
        Case { name: "sparkplane-http (hyper), streams open", kind: Kind::Hyper, workers: 4, streams },
    ];
    // Once, last: a burst that waits out every request.
    let starved = Case { name: "tiny_http (before), streams open", kind: Kind::TinyHttp, workers: 4, streams };
    let mut measured: Vec<Measured> = cases.iter().map(|_| Measured::default()).collect();
    for round in 0..rounds {
        let order: Vec<usize> =
            if round % 2 == 0 { (0..cases.len()).collect() } else { (0..cases.len()).rev().collect() };
        for i in order {
            run_once(&cases[i], requests, clients, wait, &mut measured[i]);
        }
    }
    let mut last = Measured::default();
    run_once(&starved, requests, clients, wait, &mut last);
    let big_rounds = setting("HTTP_BENCH_BIG_ROUNDS", 10).max(1) as usize;
    let never = Arc::new(AtomicBool::new(false));
    let servers = [Kind::TinyHttp, Kind::Hyper].map(|kind| start(kind, 4, &never));
    let mut big: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for round in 0..big_rounds {
        for i in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            big[i].push(big_answer(servers[i].0));
        }
    }
    for (_, server) in servers {
        server.stop();
    }
    println!(
        "{requests} GETs from {clients} clients at once, each on a new connection; {rounds} bursts a case, \
         streams writing a line every {} ms",
        LINE_EVERY.as_millis()
    );
    println!(
        "| server | workers | streams open | answered | p50 | p99 | max | p50 of a burst | p99 of a burst | burst's wall time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (case, measured) in cases.iter().chain([&starved]).zip(measured.iter_mut().chain([&mut last])) {
        measured.answered.sort();
        let all = &measured.answered;
        let sent = all.len() + measured.unanswered;
        let figure = |share: f64| if all.is_empty() { "–".to_owned() } else { ms(percentile(all, share)) };
        let (p50, p99, wall) = if all.is_empty() {
            ("–".to_owned(), "–".to_owned(), spread(&measured.bursts, |b| b.2))
        } else {
            (spread(&measured.bursts, |b| b.0), spread(&measured.bursts, |b| b.1), spread(&measured.bursts, |b| b.2))
        };
        println!(
            "| {} | {} | {} | {}/{sent} | {} | {} | {} | {p50} | {p99} | {wall} |",
            case.name,
            case.workers,
            case.streams,
            all.len(),
            figure(0.5),
            figure(0.99),
            figure(1.0),
        );
    }
    println!();
    println!("A body of {BIG} bytes and unknown length, {big_rounds} times a server, taking turns:");
    println!("| server | answered whole (median [least–most]) |");
    println!("|---|---|");
    for (name, mut times) in ["tiny_http (before)", "sparkplane-http (hyper)"].into_iter().zip(big) {
        times.sort();
        let (least, most) = (times.first().copied().unwrap_or_default(), times.last().copied().unwrap_or_default());
        println!("| {name} | {} [{}–{}] |", ms(percentile(&times, 0.5)), ms(least), ms(most));
    }
}
