//! Headless Chromium driven over the DevTools protocol, for tests and
//! measurements that need more than a dumped DOM: the script errors a page
//! raised, values read from the rendered page with an expression, keys pressed
//! as a keyboard user would, the bytes a page pulled in, when a page became
//! complete, and screenshots.
//!
//! Owns: starting one browser (a fresh profile, headless, killed and its
//! profile removed on drop), the WebSocket framing the protocol runs on (RFC
//! 6455, client side, std only) and the protocol calls used here. Must not:
//! know what a page holds (callers ask with their own expressions), or find
//! the browser itself ([`crate::chromium::binary`] does).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// How long one protocol call may take before the browser counts as hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// What loading a page gave.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// Uncaught exceptions, `console.error` calls and the browser's JavaScript errors, as text.
    pub script_errors: Vec<String>,
    /// Requests that failed or answered 4xx/5xx (`status url`), the page's own included.
    pub failed_requests: Vec<String>,
    /// Bytes received over the network (headers and bodies, as sent) until the load event.
    pub bytes: u64,
    /// Requests made until the load event.
    pub requests: u64,
}

/// One headless Chromium with one page open.
pub struct Browser {
    child: Child,
    socket: Socket,
    next_id: u64,
    /// Events read while waiting for something else, oldest first.
    pending: VecDeque<Value>,
    load: Load,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium (window 1280×1600) on a blank page and attaches to it.
    /// Panics saying what failed: a test that needs a browser fails without one.
    pub fn start() -> Browser {
        let profile = tempfile::tempdir().expect("a profile folder for chromium");
        let mut child = Command::new(crate::chromium::binary())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--window-size=1280,1600",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().expect("chromium's stderr");
        let (found, listening) = mpsc::channel();
        // Chromium names its DevTools port on stderr; the rest is drained so the pipe never fills.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        let browser_url = listening
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("chromium did not open its DevTools port within 60 s"));
        let host = browser_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected DevTools address {browser_url}"))
            .to_owned();
        let page = page_socket_path(&host);
        let socket = Socket::connect(&host, &page).unwrap_or_else(|e| panic!("DevTools connection: {e}"));
        let mut browser =
            Browser { child, socket, next_id: 0, pending: VecDeque::new(), load: Load::default(), _profile: profile };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            browser.call(domain, json!({})).unwrap_or_else(|e| panic!("{domain}: {e}"));
        }
        browser
    }

    /// Sends one protocol command and returns its result (events meanwhile are kept).
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket.send(&message).map_err(|e| format!("{method}: {e}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("{method}: no answer within {} s", CALL_TIMEOUT.as_secs()));
            }
            let Some(message) = self.read_socket(left)? else { continue };
            if message.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(message.get("result").cloned().unwrap_or(Value::Null));
            }
            if message.get("method").is_some() {
                self.pending.push_back(message);
            }
        }
    }

    /// Loads `url` and waits for its load event (at most `timeout`), then for
    /// the network to stay quiet for 200 ms; what the load gave is returned.
    pub fn navigate(&mut self, url: &str, timeout: Duration) -> Load {
        self.start_loading(url);
        self.wait_for_load(timeout)
    }

    /// Waits for the load event of the page being loaded (one a key press or
    /// a script started too), then for the network to stay quiet for 200 ms.
    pub fn wait_for_load(&mut self, timeout: Duration) -> Load {
        self.wait_for_load_event(timeout);
        self.settle(Duration::from_millis(200));
        self.load()
    }

    /// Loads `url` with the page's own scripts off and waits for its load
    /// event only (at most `timeout`): the server's HTML as the browser
    /// builds it, read with [`Browser::evaluate`] (which still runs), without
    /// waiting for requests a script would have made. Scripts are on again after.
    pub fn navigate_without_scripts(&mut self, url: &str, timeout: Duration) -> Load {
        let scripts = |browser: &mut Browser, off: bool| {
            browser
                .call("Emulation.setScriptExecutionDisabled", json!({"value": off}))
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        };
        scripts(self, true);
        self.start_loading(url);
        self.wait_for_load_event(timeout);
        scripts(self, false);
        self.load()
    }

    /// Forgets the last load and asks the browser to load `url`.
    fn start_loading(&mut self, url: &str) {
        self.load = Load::default();
        self.pending.clear();
        let answer = self.call("Page.navigate", json!({"url": url})).unwrap_or_else(|e| panic!("{url}: {e}"));
        if let Some(error) = answer.get("errorText").and_then(Value::as_str) {
            panic!("chromium could not load {url}: {error}");
        }
    }

    /// Reads the browser's events until the page's load event (at most `timeout`).
    fn wait_for_load_event(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the page did not finish loading within {} s", timeout.as_secs());
            if let Some(event) = self.read(left).unwrap_or_else(|e| panic!("{e}")) {
                self.note(&event);
                if event["method"] == "Page.loadEventFired" {
                    return;
                }
            }
        }
    }

    /// Makes pages see `prefers-color-scheme: dark` (or light) from now on.
    pub fn prefer_dark(&mut self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": value}]}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Reads events until none came for `quiet`.
    pub fn settle(&mut self, quiet: Duration) {
        while let Ok(Some(event)) = self.read(quiet) {
            self.note(&event);
        }
    }

    /// What the page loaded so far raised and fetched (since the last [`Browser::navigate`]).
    pub fn load(&mut self) -> Load {
        while let Some(event) = self.pending.pop_front() {
            self.note(&event);
        }
        self.load.clone()
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value as JSON.
    pub fn evaluate(&mut self, expression: &str) -> Result<Value, String> {
        let result = self
            .call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true, "awaitPromise": true}))?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"].as_str().or_else(|| details["text"].as_str());
            return Err(format!("{expression}: {}", text.unwrap_or("threw")));
        }
        Ok(result["result"].get("value").cloned().unwrap_or(Value::Null))
    }

    /// Runs `source` in every document opened from now on, before the page's own scripts.
    pub fn before_each_document(&mut self, source: &str) {
        self.call("Page.addScriptToEvaluateOnNewDocument", json!({"source": source})).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Whether the browser's cache is used (off: every load fetches everything, as a first visit).
    pub fn use_cache(&mut self, on: bool) {
        self.call("Network.setCacheDisabled", json!({"cacheDisabled": !on})).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Presses and releases `key` (`Tab`, `Enter`, `Space`, `ArrowDown`, …), with Shift when `shift`.
    pub fn press(&mut self, key: &str, shift: bool) {
        let (code, key_code, text) = match key {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            "Space" => ("Space", 32, " "),
            "ArrowDown" => ("ArrowDown", 40, ""),
            "ArrowUp" => ("ArrowUp", 38, ""),
            other => panic!("press: no key code for {other}"),
        };
        let key_name = if key == "Space" { " " } else { key };
        let modifiers = if shift { 8 } else { 0 };
        for kind in ["keyDown", "keyUp"] {
            let mut params = json!({"type": kind, "key": key_name, "code": code, "windowsVirtualKeyCode": key_code,
                "nativeVirtualKeyCode": key_code, "modifiers": modifiers});
            if kind == "keyDown" && !text.is_empty() {
                params["text"] = json!(text);
            }
            self.call("Input.dispatchKeyEvent", params).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Writes a PNG of the whole page (beyond the window's height) to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}))
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let data = shot["data"].as_str().unwrap_or_default();
        let png = base64::engine::general_purpose::STANDARD.decode(data).expect("the screenshot is base64");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// The next event: one kept while waiting for an answer, else one from the browser.
    fn read(&mut self, wait: Duration) -> Result<Option<Value>, String> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(Some(event));
        }
        self.read_socket(wait)
    }

    fn read_socket(&mut self, wait: Duration) -> Result<Option<Value>, String> {
        match self.socket.receive(wait)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| format!("DevTools sent {text:.200}: {e}")),
        }
    }

    /// Keeps what an event says about the page being loaded.
    fn note(&mut self, event: &Value) {
        let p = &event["params"];
        match event["method"].as_str().unwrap_or_default() {
            "Runtime.exceptionThrown" => {
                let d = &p["exceptionDetails"];
                let text = d["exception"]["description"].as_str().or_else(|| d["text"].as_str()).unwrap_or("exception");
                self.load.script_errors.push(text.to_owned());
            }
            "Runtime.consoleAPICalled" if matches!(p["type"].as_str(), Some("error" | "assert")) => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["value"].as_str().map_or_else(|| a["description"].to_string(), str::to_owned))
                    .collect();
                self.load.script_errors.push(format!("console.error: {}", args.join(" ")));
            }
            "Log.entryAdded" if p["entry"]["level"] == "error" && p["entry"]["source"] != "network" => {
                self.load.script_errors.push(p["entry"]["text"].as_str().unwrap_or_default().to_owned());
            }
            "Network.requestWillBeSent" => self.load.requests += 1,
            "Network.responseReceived" => {
                let status = p["response"]["status"].as_i64().unwrap_or(0);
                if status >= 400 {
                    let url = p["response"]["url"].as_str().unwrap_or_default();
                    self.load.failed_requests.push(format!("{status} {url}"));
                }
            }
            "Network.loadingFailed" if p["canceled"] != true => {
                self.load.failed_requests.push(format!("failed: {}", p["errorText"].as_str().unwrap_or_default()));
            }
            "Network.loadingFinished" => self.load.bytes += p["encodedDataLength"].as_f64().unwrap_or(0.0) as u64,
            _ => {}
        }
    }
}

/// The WebSocket path of the page target Chromium opened (`/devtools/page/…`).
fn page_socket_path(host: &str) -> String {
    let url = format!("http://{host}/json/list");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let targets: Option<Value> =
            sparkplane_http::agent(None).get(&url).call().ok().and_then(|mut r| r.body_mut().read_json::<Value>().ok());
        let page = targets.as_ref().and_then(Value::as_array).into_iter().flatten().find(|t| t["type"] == "page");
        if let Some(ws) = page.and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
            let path = ws.strip_prefix("ws://").and_then(|rest| rest.find('/').map(|at| rest[at..].to_owned()));
            return path.unwrap_or_else(|| panic!("unexpected page address {ws}"));
        }
        assert!(Instant::now() < deadline, "chromium listed no page at {url}: {targets:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client WebSocket (RFC 6455): text messages out, masked; messages in, reassembled.
struct Socket {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    mask_seed: u32,
}

impl Socket {
    fn connect(host: &str, path: &str) -> Result<Socket, String> {
        let stream = TcpStream::connect(host).map_err(|e| format!("{host}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
        write!(
            writer,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: c3BhcmtwbGFuZS10ZXN0a2l0IQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).map_err(|e| e.to_string())?;
        if !status.contains(" 101 ") {
            return Err(format!("the DevTools WebSocket upgrade was refused: {}", status.trim()));
        }
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            if line.trim().is_empty() {
                break;
            }
        }
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.subsec_nanos());
        Ok(Socket { reader, writer, mask_seed: seed | 1 })
    }

    fn send(&mut self, text: &str) -> Result<(), String> {
        self.frame(0x1, text.as_bytes())
    }

    fn frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), String> {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        // xorshift: a client must mask, the key need not be secret here.
        self.mask_seed ^= self.mask_seed << 13;
        self.mask_seed ^= self.mask_seed >> 17;
        self.mask_seed ^= self.mask_seed << 5;
        let mask = self.mask_seed.to_be_bytes();
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.writer.write_all(&frame).map_err(|e| format!("DevTools socket: {e}"))
    }

    /// The next whole text message, or `None` when none started within `wait`.
    fn receive(&mut self, wait: Duration) -> Result<Option<String>, String> {
        let mut message = Vec::new();
        loop {
            let stream = self.reader.get_ref();
            stream.set_read_timeout(Some(wait.max(Duration::from_millis(1)))).map_err(|e| e.to_string())?;
            match self.reader.fill_buf() {
                Ok([]) => return Err("chromium closed the DevTools connection".to_owned()),
                Ok(_) => {}
                Err(e) if message.is_empty() && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(e) => return Err(format!("DevTools socket: {e}")),
            }
            // A frame has started: read it whole, however long it takes to arrive.
            self.reader.get_ref().set_read_timeout(Some(CALL_TIMEOUT)).map_err(|e| e.to_string())?;
            let mut head = [0u8; 2];
            self.read_exact(&mut head)?;
            let (fin, opcode, short) = (head[0] & 0x80 != 0, head[0] & 0x0f, u64::from(head[1] & 0x7f));
            let length = match short {
                126 => {
                    let mut b = [0u8; 2];
                    self.read_exact(&mut b)?;
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.read_exact(&mut b)?;
                    u64::from_be_bytes(b)
                }
                n => n,
            };
            let mask = if head[1] & 0x80 != 0 {
                let mut m = [0u8; 4];
                self.read_exact(&mut m)?;
                Some(m)
            } else {
                None
            };
            let mut payload = vec![0u8; usize::try_from(length).map_err(|_| "a frame too large".to_owned())?];
            self.read_exact(&mut payload)?;
            if let Some(m) = mask {
                payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
            }
            match opcode {
                0x0..=0x2 => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return String::from_utf8(message).map(Some).map_err(|e| e.to_string());
                    }
                }
                0x8 => return Err("chromium closed the DevTools connection".to_owned()),
                0x9 => self.frame(0xA, &payload)?,
                _ => {}
            }
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.reader.read_exact(buf).map_err(|e| format!("DevTools socket: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_url(html: &str) -> String {
        let encoded = base64::engine::general_purpose::STANDARD.encode(html);
        format!("data:text/html;base64,{encoded}")
    }

    #[test]
    fn a_page_is_loaded_read_typed_into_and_shot_and_its_script_errors_are_seen() {
        let mut browser = Browser::start();
        let quiet = browser.navigate(&data_url("<p id=x>fine</p>"), Duration::from_secs(30));
        assert!(quiet.script_errors.is_empty(), "{:?}", quiet.script_errors);
        let page = "<a id=a href=#b>a</a><input id=b><script>console.error('logged'); notDefinedAnywhere()</script>";
        let load = browser.navigate(&data_url(page), Duration::from_secs(30));
        assert_eq!(load.script_errors.len(), 2, "a console error and an uncaught exception: {:?}", load.script_errors);
        assert!(load.script_errors.iter().any(|e| e.contains("notDefinedAnywhere")), "{:?}", load.script_errors);
        assert_eq!(browser.evaluate("1 + 2").expect("evaluates"), serde_json::json!(3));
        assert_eq!(browser.evaluate("Promise.resolve('later')").expect("awaits"), serde_json::json!("later"));
        assert!(browser.evaluate("notDefinedEither").is_err(), "a throwing expression is an error");
        browser.press("Tab", false);
        assert_eq!(browser.evaluate("document.activeElement.id").expect("focus"), serde_json::json!("a"));
        browser.press("Tab", false);
        assert_eq!(browser.evaluate("document.activeElement.id").expect("focus"), serde_json::json!("b"));
        browser.press("Tab", true);
        assert_eq!(browser.evaluate("document.activeElement.id").expect("focus"), serde_json::json!("a"));
        browser.prefer_dark(true);
        let dark = browser.evaluate("matchMedia('(prefers-color-scheme: dark)').matches").expect("media");
        assert_eq!(dark, serde_json::json!(true));
        let dir = tempfile::tempdir().expect("temp dir");
        let png = dir.path().join("page.png");
        browser.screenshot(&png);
        let bytes = std::fs::read(&png).expect("the screenshot");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    }
}
