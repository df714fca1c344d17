//! Reading an application's event log, from the local filesystem or object storage.
//!
//! Owns: recognising Spark's two layouts (a single file, or the rolling
//! `eventlog_v2_<app>` directory) from a listing of names — the same rules
//! whether the names come from `std::fs` or an object-store listing —,
//! choosing the parts to read and their order, choosing
//! the decompressor for each part (the block formats themselves live in
//! [`crate::codec`]), the in-progress marker, and splitting the bytes into
//! numbered lines without ever holding more than one line.
//!
//! Must not: interpret the JSON on a line (that is [`crate::parse`]), keep
//! lines after handing them out, or fail the whole read for a problem that
//! only loses part of the log — those become [`Warning`]s and reading goes on.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sparkplane_storage::{StorageError, Store};

use crate::codec::BlockReader;
use crate::codec::lz4::Lz4BlockStream;
use crate::codec::lzf::LzfStream;
use crate::codec::snappy::SnappyJavaStream;
use crate::model::Warning;

/// Prefix of the directory Spark writes when `spark.eventLog.rolling.enabled` is set.
pub const ROLLING_DIR_PREFIX: &str = "eventlog_v2_";
/// Prefix of each part file inside a rolling directory.
const EVENTS_PREFIX: &str = "events_";
/// Prefix of the marker file inside a rolling directory that says whether the app still runs.
const APPSTATUS_PREFIX: &str = "appstatus_";
/// Suffix Spark puts on logs (and the rolling marker) while the application runs.
const IN_PROGRESS_SUFFIX: &str = ".inprogress";
/// Suffix of a rolling part written by Spark's event-log compactor.
const COMPACT_SUFFIX: &str = ".compact";
/// Read buffer per open part; large enough that reading is not the bottleneck.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// The largest uncompressed local part read whole (its lines handed out as
/// slices of its text, not copied one by one into a line buffer).
const WHOLE_PART_BYTES: usize = READ_BUFFER_BYTES;
/// The line buffer's first size; it grows to the longest line read.
const LINE_BUFFER_BYTES: usize = 8 * 1024;
/// Bytes per ranged request when a part is streamed from object storage. The
/// reader holds at most two chunks (one read, one prefetched), so memory per
/// open remote part stays at 16 MiB whatever the object's size.
pub const REMOTE_CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Longest line kept. Spark's largest events (SQL plans) stay far below this;
/// anything longer is corrupt or hostile and is skipped with a warning.
pub const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;

/// A compression codec Spark can write event logs with (`spark.eventLog.compression.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Zstandard: Spark 4's default and what sparkplane's local runs write.
    Zstd,
    /// lz4-java's block stream (`LZ4BlockOutputStream`), Spark 3's default codec.
    Lz4,
    /// snappy-java's stream (`SnappyOutputStream`): a header, then length-prefixed raw Snappy blocks.
    Snappy,
    /// compress-lzf's chunk stream (`LZFOutputStream`).
    Lzf,
}

impl Codec {
    /// The codec named by a file extension as Spark spells it (`zstd`, `lz4`, `snappy`, `lzf`);
    /// `zst`, the zstd tool's own extension, is accepted too for logs compressed by hand.
    pub fn from_extension(extension: &str) -> Option<Codec> {
        match extension {
            "zstd" | "zst" => Some(Codec::Zstd),
            "lz4" => Some(Codec::Lz4),
            "snappy" => Some(Codec::Snappy),
            "lzf" => Some(Codec::Lzf),
            _ => None,
        }
    }

    /// Spark's short name of the codec.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Lz4 => "lz4",
            Codec::Snappy => "snappy",
            Codec::Lzf => "lzf",
        }
    }

    /// Whether this crate can decompress the codec. Every codec Spark offers is read now;
    /// this stays so callers need not change when Spark adds one.
    pub fn is_supported(self) -> bool {
        matches!(self, Codec::Zstd | Codec::Lz4 | Codec::Snappy | Codec::Lzf)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an event log could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The filesystem refused an operation on `path`.
    #[error("cannot read event log {}: {source}", path.display())]
    Io {
        /// The file or directory being read.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is compressed with a codec this crate does not read yet.
    #[error(
        "event log {} is compressed with {codec}, which sparkplane does not read yet (it reads uncompressed, zstd, lz4, snappy and lzf logs)",
        path.display()
    )]
    UnsupportedCodec {
        /// The part that cannot be read.
        path: PathBuf,
        /// Its codec.
        codec: Codec,
    },
    /// The path exists but is not laid out like a Spark event log.
    #[error("{} is not a Spark event log: {reason}", path.display())]
    NotAnEventLog {
        /// The path given.
        path: PathBuf,
        /// What was expected instead.
        reason: String,
    },
    /// Object storage (or the location text) failed; the message names the URL, never a credential.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ReadError {
    /// How this failure ends a command: `Unreachable` when object storage is
    /// unreachable or refuses access, `Invalid` for everything the user fixes
    /// in the command (a missing or malformed location, a file that is not an
    /// event log).
    pub fn category(&self) -> sparkplane_category::Category {
        match self {
            ReadError::Storage(error) => error.category(),
            ReadError::Io { .. } | ReadError::UnsupportedCodec { .. } | ReadError::NotAnEventLog { .. } => {
                sparkplane_category::Category::Invalid
            }
        }
    }
}

/// How the log is stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One file: `<appId>[_<attempt>][.<codec>][.inprogress]`.
    SingleFile,
    /// A directory `eventlog_v2_<appId>[_<attempt>]/` of numbered `events_<N>_…` parts.
    Rolling,
}

/// One file of an event log and how it is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPart {
    /// Where the file is: its local path, or the object's URL (`s3://bucket/key`)
    /// for a log in object storage. Warnings name the part by it.
    pub path: PathBuf,
    /// Its codec, `None` for plain text.
    pub codec: Option<Codec>,
    /// The object to stream when the part lives in object storage; `None` for a local file.
    object: Option<RemoteObject>,
    /// Its size as a listing found it, to size the read buffer without asking again; `None`: ask.
    size: Option<u64>,
}

/// An object in a store, read by ranged requests.
#[derive(Debug, Clone)]
pub(crate) struct RemoteObject {
    /// The store the log was listed from (the connection is shared by every part).
    pub(crate) store: Store,
    /// The key relative to the store's location.
    pub(crate) key: String,
}

impl PartialEq for RemoteObject {
    fn eq(&self, other: &Self) -> bool {
        self.store.describe(&self.key) == other.store.describe(&other.key)
    }
}

impl Eq for RemoteObject {}

/// One entry of a listing, local or remote, as the layout rules see it.
#[derive(Debug, Clone)]
pub(crate) struct ListedFile {
    /// The file or object name (last path segment).
    pub(crate) name: String,
    /// Its local path or URL, for messages.
    pub(crate) path: PathBuf,
    /// The object, for a remote listing.
    pub(crate) object: Option<RemoteObject>,
}

/// An application's event log, located and laid out but not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    /// The application id (with the attempt, if any) as spelled in the file or directory name.
    pub log_name: String,
    /// Single file or rolling directory.
    pub layout: Layout,
    /// The parts to read, in order.
    pub parts: Vec<LogPart>,
    /// True while Spark still writes the log (`.inprogress`), or when a rolling
    /// directory has no status marker; its last line may then be cut short.
    pub in_progress: bool,
    /// Problems noticed while locating the parts (for example a compacted rolling log).
    pub notes: Vec<Warning>,
}

impl EventLog {
    /// Locates the event log at `path`: a single log file or a rolling `eventlog_v2_*` directory.
    pub fn open(path: &Path) -> Result<EventLog, ReadError> {
        let meta = fs::metadata(path).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
        if !meta.is_dir() {
            return Ok(EventLog::open_file(path));
        }
        let io_error = |source| ReadError::Io { path: path.to_path_buf(), source };
        let mut listing = Vec::new();
        for entry in fs::read_dir(path).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            listing.push(ListedFile { name, path: entry.path(), object: None });
        }
        rolling_log(path, listing)
    }

    /// The event log that is the single file at `path`, known to be one (a
    /// listing said so): laid out from its name, nothing read. A file gone
    /// since fails when its lines are read, as [`EventLog::open`] would.
    pub fn open_file(path: &Path) -> EventLog {
        single_file_log(ListedFile { name: file_name(path), path: path.to_path_buf(), object: None })
    }

    /// As [`EventLog::open_file`], with the file's size as the listing found it
    /// (its read buffer is sized by it, without a second look at the file).
    pub(crate) fn open_file_of_size(path: &Path, size: u64) -> EventLog {
        let mut log = EventLog::open_file(path);
        for part in &mut log.parts {
            part.size = Some(size);
        }
        log
    }

    /// Starts reading the parts in order. Fails if the first part cannot be opened or
    /// any part uses a codec this crate cannot read yet; later problems become warnings.
    pub fn lines(&self) -> Result<EventLogLines, ReadError> {
        let unsupported = self.parts.iter().find_map(|p| p.codec.filter(|c| !c.is_supported()).map(|c| (p, c)));
        if let Some((part, codec)) = unsupported {
            return Err(ReadError::UnsupportedCodec { path: part.path.clone(), codec });
        }
        let mut lines = EventLogLines {
            parts: self.parts.clone(),
            next_part: 0,
            current: None,
            line_number: 0,
            in_progress: self.in_progress,
            text: crate::spare::line_buffer(LINE_BUFFER_BYTES),
            warnings: self.notes.clone(),
        };
        if let Some(first) = self.parts.first() {
            let reader = open_part(first)?;
            lines.current = Some(reader);
            lines.next_part = 1;
        }
        Ok(lines)
    }
}

/// One line of the log, borrowed until the next call to [`EventLogLines::next_line`].
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The text without its line ending.
    pub text: &'a str,
    /// The part it came from.
    pub file: &'a Path,
    /// 1-based line number within that part.
    pub number: u64,
}

/// A streaming reader over all parts of an event log, one line at a time.
///
/// Reading problems that lose only part of the log (an unreadable later part,
/// a corrupt compressed stream, a line that is not UTF-8, the cut-off last line
/// of an in-progress log) are recorded as warnings; take them with
/// [`EventLogLines::take_warnings`].
pub struct EventLogLines {
    parts: Vec<LogPart>,
    next_part: usize,
    current: Option<Current>,
    line_number: u64,
    in_progress: bool,
    /// The current line; its allocation is reused for the next one.
    text: String,
    warnings: Vec<Warning>,
}

/// The part being read.
enum Current {
    /// A stream read a line at a time into [`EventLogLines`]'s line buffer.
    Stream(Box<dyn BufRead + Send>),
    /// A small local part's whole text ([`WHOLE_PART_BYTES`] at most): each
    /// line is a slice of it.
    Whole(crate::spare::WholeText),
}

/// What one step of [`EventLogLines::advance`] produced.
enum Step {
    /// `text` holds a line to hand out.
    Line,
    /// The line to hand out is this byte range of the current part's whole text.
    InText(usize, usize),
    /// Nothing to hand out this time (end of a part, a skipped or bad line); go on.
    Skipped,
    /// No parts left.
    End,
}

/// What [`read_line_bounded`] found.
#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    /// The buffer holds a line (with its `\n`, unless the stream ended first).
    Line,
    /// The line exceeded the limit; it was consumed and dropped.
    TooLong,
    /// The stream had no more bytes.
    Eof,
}

/// Like `BufRead::read_until(b'\n')`, but a line longer than `limit` is consumed
/// without being stored, so one corrupt or absurd line cannot exhaust memory.
fn read_line_bounded(reader: &mut dyn BufRead, buffer: &mut Vec<u8>, limit: usize) -> io::Result<LineRead> {
    let mut seen_any = false;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            break;
        }
        seen_any = true;
        let (taken, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if buffer.len() + taken > limit {
                too_long = true;
                buffer.clear();
            } else {
                buffer.extend_from_slice(&available[..taken]);
            }
        }
        reader.consume(taken);
        if done {
            break;
        }
    }
    Ok(match (seen_any, too_long) {
        (false, _) => LineRead::Eof,
        (true, true) => LineRead::TooLong,
        (true, false) => LineRead::Line,
    })
}

/// Keeps a byte buffer's allocation as an empty String for the next line.
fn recycle(mut bytes: Vec<u8>) -> String {
    bytes.clear();
    String::from_utf8(bytes).unwrap_or_default()
}

impl Drop for EventLogLines {
    fn drop(&mut self) {
        crate::spare::return_line_buffer(std::mem::take(&mut self.text));
    }
}

impl fmt::Debug for EventLogLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLogLines")
            .field("parts", &self.parts)
            .field("next_part", &self.next_part)
            .field("line_number", &self.line_number)
            .field("in_progress", &self.in_progress)
            .finish_non_exhaustive()
    }
}

impl EventLogLines {
    /// The next non-empty line, or `None` at the end of the last part.
    pub fn next_line(&mut self) -> Option<Line<'_>> {
        let span = loop {
            match self.advance() {
                Step::Line => break None,
                Step::InText(start, end) => break Some((start, end)),
                Step::Skipped => continue,
                Step::End => return None,
            }
        };
        let path = &self.parts[self.next_part.saturating_sub(1)].path;
        let text = match (span, &self.current) {
            // The range ends at a line's end and starts after one: both on character boundaries of the text.
            (Some((start, end)), Some(Current::Whole(whole))) => whole.text.get(start..end).unwrap_or_default(),
            _ => self.text.as_str(),
        };
        Some(Line { text, file: path, number: self.line_number })
    }

    /// The next line of a part read whole, as [`EventLogLines::advance`]
    /// reads one from a stream: the same line numbers, the same skipped
    /// blank lines and the same warning for a cut-off last line.
    fn advance_in_text(&mut self, part_index: usize, is_last_part: bool) -> Step {
        let Some(Current::Whole(whole)) = &mut self.current else { return Step::Skipped };
        let bytes = whole.text.as_bytes();
        let start = whole.at;
        if start >= bytes.len() {
            self.current = None;
            return Step::Skipped;
        }
        let (end, terminated) = match memchr::memchr(b'\n', &bytes[start..]) {
            Some(at) => (start + at, true),
            None => (bytes.len(), false),
        };
        whole.at = if terminated { end + 1 } else { end };
        self.line_number += 1;
        if !terminated && self.in_progress && is_last_part {
            let message = "ignored the cut-off last line of an in-progress log".to_string();
            self.warnings.push(Warning::at(&self.parts[part_index].path, self.line_number, message));
            return Step::Skipped;
        }
        let end = if terminated && end > start && bytes[end - 1] == b'\r' { end - 1 } else { end };
        if bytes[start..end].iter().all(u8::is_ascii_whitespace) {
            return Step::Skipped;
        }
        Step::InText(start, end)
    }

    /// Reads one raw line into `self.text`; says whether it is a line to hand out.
    fn advance(&mut self) -> Step {
        if self.current.is_none() && !self.open_next_part() {
            return Step::End;
        }
        let part_index = self.next_part.saturating_sub(1);
        let is_last_part = self.next_part >= self.parts.len();
        let reader = match &mut self.current {
            Some(Current::Stream(reader)) => reader.as_mut(),
            Some(Current::Whole(_)) => return self.advance_in_text(part_index, is_last_part),
            None => return Step::Skipped,
        };
        // Reuse one allocation for every line: the String handed out last time becomes the byte buffer.
        let mut buffer = std::mem::take(&mut self.text).into_bytes();
        buffer.clear();
        let read = read_line_bounded(reader, &mut buffer, MAX_LINE_BYTES);
        let path = &self.parts[part_index].path;
        match read {
            Ok(LineRead::Eof) => {
                self.current = None;
                self.text = recycle(buffer);
                return Step::Skipped;
            }
            Ok(LineRead::Line) => {}
            Ok(LineRead::TooLong) => {
                self.line_number += 1;
                let message = format!("line is longer than {} MiB and was skipped", MAX_LINE_BYTES >> 20);
                self.warnings.push(Warning::at(path, self.line_number, message));
                self.text = recycle(buffer);
                return Step::Skipped;
            }
            Err(error) => {
                // A cut-off tail is expected while Spark still writes; bytes no writer could
                // have produced (InvalidData from the block decoders) are corruption either way.
                let message = if self.in_progress && is_last_part && error.kind() != io::ErrorKind::InvalidData {
                    format!("the log is still being written and ends mid-stream ({error}); read up to here")
                } else {
                    format!("cannot read past this line ({error}); the rest of this file is skipped")
                };
                self.warnings.push(Warning::at(path, self.line_number, message));
                self.current = None;
                self.text = recycle(buffer);
                return Step::Skipped;
            }
        }
        self.line_number += 1;
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
        } else if self.in_progress && is_last_part {
            let message = "ignored the cut-off last line of an in-progress log".to_string();
            self.warnings.push(Warning::at(path, self.line_number, message));
            self.text = recycle(buffer);
            return Step::Skipped;
        }
        if buffer.iter().all(u8::is_ascii_whitespace) {
            self.text = recycle(buffer);
            return Step::Skipped;
        }
        match String::from_utf8(buffer) {
            Ok(text) => {
                self.text = text;
                Step::Line
            }
            Err(error) => {
                let message = format!("line is not UTF-8 ({})", error.utf8_error());
                self.warnings.push(Warning::at(path, self.line_number, message));
                self.text = recycle(error.into_bytes());
                Step::Skipped
            }
        }
    }

    /// Warnings recorded so far; later ones keep accumulating.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Opens the next part; false when there is none left.
    fn open_next_part(&mut self) -> bool {
        while let Some(part) = self.parts.get(self.next_part) {
            self.next_part += 1;
            self.line_number = 0;
            match open_part(part) {
                Ok(reader) => {
                    self.current = Some(reader);
                    return true;
                }
                Err(error) => {
                    // The warning names the part already; keep only what went wrong.
                    let cause = match error {
                        ReadError::Io { source, .. } => source.to_string(),
                        other => other.to_string(),
                    };
                    let message = format!("cannot open this part of the log ({cause}); it is skipped");
                    self.warnings.push(Warning::in_file(&part.path, message));
                }
            }
        }
        false
    }
}

impl LogPart {
    /// The part's bytes as stored, still compressed: for handing a log on unchanged
    /// (the History Server's `logs` download), never for parsing.
    pub fn open_stored(&self) -> Result<Box<dyn Read + Send>, ReadError> {
        match &self.object {
            None => match File::open(&self.path) {
                Ok(file) => Ok(Box::new(file)),
                Err(source) => Err(ReadError::Io { path: self.path.clone(), source }),
            },
            Some(object) => Ok(Box::new(object.store.reader(&object.key, REMOTE_CHUNK_BYTES)?)),
        }
    }
}

/// Opens one part — a local file, or an object streamed in ranged requests —
/// with its decompressor and a read buffer; an uncompressed local file of up
/// to [`WHOLE_PART_BYTES`] is read whole, as text.
fn open_part(part: &LogPart) -> Result<Current, ReadError> {
    let io_error = |source| ReadError::Io { path: part.path.clone(), source };
    match &part.object {
        None => {
            let file = crate::folder::open_log_file(&part.path).map_err(io_error)?;
            if part.codec.is_none() {
                // The size is the listing's, else the open file's.
                let size = match part.size {
                    Some(size) => size,
                    None => file.metadata().map_or(u64::MAX, |meta| meta.len()),
                };
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if size > WHOLE_PART_BYTES {
                    return Ok(Current::Stream(Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, file))));
                }
                return Ok(match crate::spare::read_whole(file, size, WHOLE_PART_BYTES).map_err(io_error)? {
                    crate::spare::ReadWhole::Text(whole) => Current::Whole(whole),
                    // Grown past the limit since listed, or not UTF-8: streamed a line at a time from what was read.
                    crate::spare::ReadWhole::Bytes(read, file) => Current::Stream(Box::new(BufReader::with_capacity(
                        READ_BUFFER_BYTES,
                        io::Cursor::new(read).chain(file),
                    ))),
                });
            }
            decode(file, part.codec).map(Current::Stream).map_err(io_error)
        }
        Some(object) => {
            let reader = object.store.reader(&object.key, REMOTE_CHUNK_BYTES)?;
            decode(reader, part.codec).map(Current::Stream).map_err(io_error)
        }
    }
}

/// The raw bytes of a part behind the decompressor its codec needs.
fn decode<R: Read + Send + 'static>(raw: R, codec: Option<Codec>) -> io::Result<Box<dyn BufRead + Send>> {
    match codec {
        None => Ok(Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, raw))),
        Some(Codec::Zstd) => {
            let decoder = zstd::stream::read::Decoder::new(raw)?;
            Ok(Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, decoder)))
        }
        // The block decoders hand out whole decompressed blocks, so they need no buffer of their own.
        Some(Codec::Lz4) => Ok(Box::new(BlockReader::new(buffered(raw), Lz4BlockStream::new()))),
        Some(Codec::Snappy) => Ok(Box::new(BlockReader::new(buffered(raw), SnappyJavaStream::new()))),
        Some(Codec::Lzf) => Ok(Box::new(BlockReader::new(buffered(raw), LzfStream::new()))),
    }
}

/// The compressed bytes behind a block decoder, read in large pieces.
fn buffered<R: Read>(raw: R) -> BufReader<R> {
    BufReader::with_capacity(READ_BUFFER_BYTES, raw)
}

/// A file name split into the parts Spark composes it from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameParts<'a> {
    /// What is left: the app id (and attempt), or `events_<N>_<app>` for a rolling part.
    stem: &'a str,
    codec: Option<Codec>,
    in_progress: bool,
    compact: bool,
}

/// Splits `name` into stem, codec, `.inprogress` and `.compact`, in the order Spark appends them.
fn split_name(name: &str) -> NameParts<'_> {
    let mut stem = name;
    let compact = strip(&mut stem, COMPACT_SUFFIX);
    let in_progress = strip(&mut stem, IN_PROGRESS_SUFFIX);
    let mut codec = None;
    if let Some((head, extension)) = stem.rsplit_once('.')
        && let Some(found) = Codec::from_extension(extension)
    {
        codec = Some(found);
        stem = head;
    }
    NameParts { stem, codec, in_progress, compact }
}

fn strip(stem: &mut &str, suffix: &str) -> bool {
    match stem.strip_suffix(suffix) {
        Some(rest) => {
            *stem = rest;
            true
        }
        None => false,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The log that is one file (`<appId>[_<attempt>][.<codec>][.inprogress]`), local or remote.
pub(crate) fn single_file_log(file: ListedFile) -> EventLog {
    let parts = split_name(&file.name);
    EventLog {
        log_name: parts.stem.to_string(),
        layout: Layout::SingleFile,
        parts: vec![LogPart { path: file.path, codec: parts.codec, object: file.object, size: None }],
        in_progress: parts.in_progress,
        notes: Vec::new(),
    }
}

/// A rolling part as found in the directory.
struct RollingPart {
    index: u64,
    compact: bool,
    part: LogPart,
}

/// Whether Spark's `appstatus_*` markers among `names` say the application still
/// runs: `Some(true)` for an `.inprogress` marker, `Some(false)` for a finished
/// one, `None` when there is no marker.
fn rolling_status<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<bool> {
    let mut status = None;
    for name in names {
        if let Some(rest) = name.strip_prefix(APPSTATUS_PREFIX) {
            status = Some(status.unwrap_or(false) || rest.ends_with(IN_PROGRESS_SUFFIX));
        }
    }
    status
}

/// The rolling log in directory `dir` (a local path or a prefix's URL) from the
/// files listed directly in it: `events_<N>_…` parts in numeric order, starting
/// at the newest compacted part, and the `appstatus_*` marker. Local and
/// object-store logs go through this one function.
pub(crate) fn rolling_log(dir: &Path, listing: Vec<ListedFile>) -> Result<EventLog, ReadError> {
    let dir_name = file_name(dir);
    let log_name = dir_name.strip_prefix(ROLLING_DIR_PREFIX).unwrap_or(&dir_name).to_string();
    // Hadoop's hidden .crc checksum files are not part of the log.
    let visible: Vec<ListedFile> = listing.into_iter().filter(|file| !file.name.starts_with('.')).collect();
    let status = rolling_status(visible.iter().map(|file| file.name.as_str()));
    let mut found = Vec::new();
    for file in visible {
        let Some(rest) = file.name.strip_prefix(EVENTS_PREFIX) else { continue };
        let Some((index, _)) = rest.split_once('_') else { continue };
        let Ok(index) = index.parse::<u64>() else { continue };
        let parts = split_name(&file.name);
        let (codec, compact) = (parts.codec, parts.compact);
        found.push(RollingPart {
            index,
            compact,
            part: LogPart { path: file.path, codec, object: file.object, size: None },
        });
    }
    if found.is_empty() {
        return Err(ReadError::NotAnEventLog {
            path: dir.to_path_buf(),
            reason: format!("the directory holds no {EVENTS_PREFIX}<N>_<appId> files"),
        });
    }
    found.sort_by(|a, b| a.index.cmp(&b.index).then(a.compact.cmp(&b.compact)));
    let mut notes = Vec::new();
    // Spark's compactor replaces parts 1..=N with one `events_N_….compact` file;
    // reading starts at the newest compacted file, as the History Server does.
    if let Some(start) = found.iter().rposition(|p| p.compact) {
        notes.push(Warning::in_file(
            &found[start].part.path,
            "the log was compacted: events of finished jobs before this part were dropped by Spark, \
             so totals cover only what remains"
                .to_string(),
        ));
        let compacted_up_to = found[start].index;
        found.drain(..start);
        found.retain(|p| p.compact || p.index > compacted_up_to);
    }
    Ok(EventLog {
        log_name,
        layout: Layout::Rolling,
        parts: found.into_iter().map(|p| p.part).collect(),
        in_progress: status.unwrap_or(true),
        notes,
    })
}

/// Finds the event log of application `app_id` in an event-log directory
/// (`spark.eventLog.dir`), in either layout, with or without an attempt suffix,
/// codec extension or `.inprogress`.
///
/// When several match, the highest attempt wins; for the same attempt a rolling
/// directory beats a single file and a finished log beats an in-progress one.
pub fn find_app_log(dir: &Path, app_id: &str) -> Option<PathBuf> {
    let entries = fs::read_dir(dir).ok()?;
    let mut best: Option<((u64, bool, bool), PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (rolling, rest) = match name.strip_prefix(ROLLING_DIR_PREFIX) {
            Some(rest) => (true, rest),
            None => (false, name.as_str()),
        };
        let parts = split_name(rest);
        let Some(attempt) = attempt_of(parts.stem, app_id) else { continue };
        let path = entry.path();
        if rolling != path.is_dir() {
            continue;
        }
        let in_progress = if rolling { rolling_in_progress(&path) } else { parts.in_progress };
        let rank = (attempt, rolling, !in_progress);
        if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
            best = Some((rank, path));
        }
    }
    best.map(|(_, path)| path)
}

/// The attempt number encoded in `stem` if it names `app_id` (0 for no attempt suffix).
fn attempt_of(stem: &str, app_id: &str) -> Option<u64> {
    let rest = stem.strip_prefix(app_id)?;
    if rest.is_empty() {
        return Some(0);
    }
    rest.strip_prefix('_')?.parse::<u64>().ok()
}

fn rolling_in_progress(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else { return true };
    let names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    rolling_status(names.iter().map(String::as_str)).unwrap_or(true)
}

/// Whether an entry named `name` in an event-log directory is an application's
/// log: a file other than Hadoop's `.crc` checksums, hidden files and
/// `appstatus_*` markers, or an `eventlog_v2_*` directory (other directories are
/// not logs). The one rule for local directories and object-store prefixes.
pub(crate) fn is_app_log(name: &str, is_dir: bool) -> bool {
    if name.starts_with('.') || name.ends_with(".crc") || name.starts_with("appstatus") {
        return false;
    }
    !is_dir || name.starts_with(ROLLING_DIR_PREFIX)
}

/// The application logs in `dir`: single log files and rolling `eventlog_v2_*`
/// directories, in name order. Hidden files (Hadoop's `.crc`), `.crc` files,
/// `appstatus_*` markers and other directories are not logs.
pub fn list_app_logs(dir: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    Ok(read_app_dir(dir)?.into_iter().map(|log| log.path).collect())
}

/// One application log found in a local directory by [`read_app_dir`].
#[derive(Debug)]
pub(crate) struct DirLog {
    pub path: PathBuf,
    /// Its directory entry, whose metadata is read relative to the directory
    /// (no second lookup of the whole path) by whoever needs it, on any
    /// thread; `None` for a symbolic link, which is followed later, or a log
    /// not found in a directory.
    pub entry: Option<fs::DirEntry>,
}

impl DirLog {
    /// Its metadata as read relative to its directory; `None` for a link, a
    /// log not found in a directory, or when it cannot be read there.
    pub fn meta(&self) -> Option<fs::Metadata> {
        self.entry.as_ref().and_then(|entry| entry.metadata().ok())
    }
}

/// Reads `dir` once: its application logs, each with its entry (whose
/// metadata is read later: [`DirLog::meta`]), sorted by file name: within
/// one directory that is the order of their paths, without comparing paths
/// component by component.
pub(crate) fn read_app_dir(dir: &Path) -> io::Result<Vec<DirLog>> {
    let mut logs = AppDir::open(dir)?.collect::<io::Result<Vec<DirLog>>>()?;
    // By name: every path is `dir` joined with its name, so the paths' bytes sort as the names do.
    logs.sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    Ok(logs)
}

/// A local directory read one entry at a time, in the directory's own
/// order: its application logs ([`is_app_log`]) as they come, and its other
/// folders that are not hidden (per-team folders) gathered on the way.
/// [`read_app_dir`] reads one whole; a listing of many logs lets several
/// threads take its entries in turns while it is read.
pub(crate) struct AppDir {
    entries: fs::ReadDir,
    /// The folders met so far, in the order met.
    pub folders: Vec<PathBuf>,
}

impl AppDir {
    pub fn open(dir: &Path) -> io::Result<AppDir> {
        Ok(AppDir { entries: fs::read_dir(dir)?, folders: Vec::new() })
    }
}

impl Iterator for AppDir {
    type Item = io::Result<DirLog>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let entry = match self.entries.next()? {
                Ok(entry) => entry,
                Err(error) => return Some(Err(error)),
            };
            let name = entry.file_name();
            let file_type = entry.file_type().ok();
            let is_dir = file_type.is_some_and(|t| t.is_dir());
            let text = name.to_string_lossy();
            if is_app_log(&text, is_dir) {
                let path = entry.path();
                let entry = file_type.filter(|t| !t.is_symlink()).map(|_| entry);
                return Some(Ok(DirLog { path, entry }));
            }
            if is_dir && !text.starts_with('.') {
                self.folders.push(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_spark_file_names() {
        let p = split_name("local-1700000000000.zstd.inprogress");
        assert_eq!(
            p,
            NameParts { stem: "local-1700000000000", codec: Some(Codec::Zstd), in_progress: true, compact: false }
        );
        let p = split_name("events_3_local-1.zstd.compact");
        assert_eq!(p.stem, "events_3_local-1");
        assert!(p.compact);
        assert_eq!(split_name("application_1_0001_1.lz4").codec, Some(Codec::Lz4));
        assert_eq!(split_name("local-1").codec, None);
    }

    #[test]
    fn attempts_match_only_whole_ids() {
        assert_eq!(attempt_of("local-1", "local-1"), Some(0));
        assert_eq!(attempt_of("local-1_2", "local-1"), Some(2));
        assert_eq!(attempt_of("local-12", "local-1"), None);
        assert_eq!(attempt_of("local-1_x", "local-1"), None);
    }

    #[test]
    fn a_directory_is_read_once_into_its_logs_by_name_with_their_metadata_and_its_folders() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for name in ["local-2", "local-10", ".local-1.crc", "local-3.crc", "appstatus_x"] {
            fs::write(root.join(name), b"{}\n").expect("write");
        }
        for folder in ["eventlog_v2_local-1", "team-b", "team-a", ".hidden"] {
            fs::create_dir(root.join(folder)).expect("mkdir");
        }
        std::os::unix::fs::symlink(root.join("local-2"), root.join("local-0")).expect("symlink");
        let logs = read_app_dir(root).expect("lists");
        let names: Vec<String> = logs.iter().map(|log| file_name(&log.path)).collect();
        assert_eq!(names, ["eventlog_v2_local-1", "local-0", "local-10", "local-2"], "by name, as paths sort");
        let metas: Vec<Option<bool>> = logs.iter().map(|log| log.meta().map(|m| m.is_dir())).collect();
        assert_eq!(metas, [Some(true), None, Some(false), Some(false)], "a link is looked at through its target later");
        assert_eq!(logs[3].meta().as_ref().map(fs::Metadata::len), Some(3));
        assert_eq!(list_app_logs(root).expect("lists"), logs.iter().map(|l| l.path.clone()).collect::<Vec<_>>());
        // Read an entry at a time, the same logs in the directory's order and the other folders met on the way.
        let mut dir = AppDir::open(root).expect("opens");
        let mut one_by_one: Vec<String> = dir.by_ref().map(|log| file_name(&log.expect("entry").path)).collect();
        one_by_one.sort();
        assert_eq!(one_by_one, names);
        dir.folders.sort();
        assert_eq!(dir.folders, [root.join("team-a"), root.join("team-b")], "not hidden, not a rolling log");
    }

    #[test]
    fn bounded_lines_skip_overlong_ones() {
        let mut input: &[u8] = b"short\nthis one is far too long\nend";
        let mut buffer = Vec::new();
        assert_eq!(read_line_bounded(&mut input, &mut buffer, 10).ok(), Some(LineRead::Line));
        assert_eq!(buffer, b"short\n");
        buffer.clear();
        assert_eq!(read_line_bounded(&mut input, &mut buffer, 10).ok(), Some(LineRead::TooLong));
        buffer.clear();
        assert_eq!(read_line_bounded(&mut input, &mut buffer, 10).ok(), Some(LineRead::Line));
        assert_eq!(buffer, b"end");
        buffer.clear();
        assert_eq!(read_line_bounded(&mut input, &mut buffer, 10).ok(), Some(LineRead::Eof));
    }
}
