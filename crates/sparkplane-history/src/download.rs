//! The `logs` download: an application's event logs, as stored, in one zip
//! streamed to the client in bounded memory.
//!
//! Owns: naming the entries as Spark's History Server names them (a single
//! log file by its file name; a rolling log as its `eventlog_v2_…/` directory
//! followed by `eventlog_v2_…/<part>` for each part), and the two passes over
//! the stored bytes: the first computes each part's size and CRC (so the
//! headers can precede the data and the archive's length is known), the
//! second streams exactly those bytes between the headers from [`crate::zip`].
//! A log that grows in between (in progress) is sent as it was at the first
//! pass; one that shrank ends the stream with an error.
//!
//! Also the download's link, `/api/v1/applications/{app}[/{attempt}]/logs`
//! ([`logs_link`], the list page's "Download"), Spark's `logs` resource,
//! which answers under the application's access rules like every other.
//!
//! Must not: decompress or parse the logs, or hold a log in memory.

use std::collections::VecDeque;
use std::io::{self, Cursor, Read};

use sparkplane_eventlog::{AppLog, Layout, LogPart, ReadError};

use crate::zip::{self, Crc32, ZipEntry, ZipError};

/// Why an archive could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("cannot read {name}: {source}")]
    Io { name: String, source: io::Error },
    #[error(transparent)]
    Zip(#[from] ZipError),
}

/// A zip being streamed: its exact length, and its bytes.
pub struct Archive {
    pub len: u64,
    pub reader: Box<dyn Read + Send>,
}

/// `/api/v1/applications/{app}[/{attempt}]/logs`, the ids percent-encoded:
/// the zip of one attempt's event log (of every attempt without one), as
/// Spark's application list links it.
pub fn logs_link(app_id: &str, attempt_id: Option<&str>) -> String {
    let segment = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    match attempt_id {
        Some(attempt) => format!("/api/v1/applications/{}/{}/logs", segment(app_id), segment(attempt)),
        None => format!("/api/v1/applications/{}/logs", segment(app_id)),
    }
}

fn last_segment(name: &str) -> &str {
    name.trim_end_matches('/').rsplit('/').next().unwrap_or(name)
}

/// Size and CRC of a part's stored bytes (the first pass).
fn measure(part: &LogPart) -> Result<(u64, u32), DownloadError> {
    let name = part.path.display().to_string();
    let mut reader = part.open_stored()?;
    let mut crc = Crc32::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(DownloadError::Io { name, source }),
        };
        crc.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, crc.value()))
}

enum Segment {
    Bytes(Cursor<Vec<u8>>),
    /// A part's stored bytes, exactly `len` of them; opened when the stream reaches it.
    Part {
        part: Box<LogPart>,
        len: u64,
        open: Option<io::Take<Box<dyn Read + Send>>>,
    },
}

struct ZipStream {
    segments: VecDeque<Segment>,
}

impl Read for ZipStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(segment) = self.segments.front_mut() {
            let n = match segment {
                Segment::Bytes(cursor) => cursor.read(buf)?,
                Segment::Part { part, len, open } => {
                    if open.is_none() {
                        let reader = part.open_stored().map_err(io::Error::other)?;
                        *open = Some(reader.take(*len));
                    }
                    let reader = open.as_mut().ok_or_else(|| io::Error::other("part not open"))?;
                    let n = reader.read(buf)?;
                    if n == 0 && reader.limit() > 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{} shrank while it was sent", part.path.display()),
                        ));
                    }
                    n
                }
            };
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.segments.pop_front();
        }
        Ok(0)
    }
}

/// The zip of `logs` (in the order given), ready to stream.
pub fn zip_logs(logs: &[AppLog]) -> Result<Archive, DownloadError> {
    let mut segments = VecDeque::new();
    let mut entries = Vec::new();
    let mut len = 0u64;
    for log in logs {
        let event_log = log.open()?;
        let dos_time = zip::dos_time(log.modified_ms);
        let dir = match event_log.layout {
            Layout::SingleFile => None,
            Layout::Rolling => Some(format!("{}/", last_segment(&log.name))),
        };
        if let Some(dir) = &dir {
            let entry = ZipEntry { name: dir.clone(), size: 0, crc: 0, dos_time };
            segments.push_back(Segment::Bytes(Cursor::new(zip::local_header(&entry)?)));
            len += zip::entry_len(&entry);
            entries.push(entry);
        }
        for part in &event_log.parts {
            let (size, crc) = measure(part)?;
            let file = last_segment(part.path.to_str().unwrap_or_default()).to_owned();
            let file = if file.is_empty() { part.path.display().to_string() } else { file };
            let name = match &dir {
                Some(dir) => format!("{dir}{file}"),
                None => file,
            };
            let entry = ZipEntry { name, size, crc, dos_time };
            segments.push_back(Segment::Bytes(Cursor::new(zip::local_header(&entry)?)));
            segments.push_back(Segment::Part { part: Box::new(part.clone()), len: size, open: None });
            len += zip::entry_len(&entry);
            entries.push(entry);
        }
    }
    let directory = zip::central_directory(&entries)?;
    len += directory.len() as u64;
    segments.push_back(Segment::Bytes(Cursor::new(directory)));
    Ok(Archive { len, reader: Box::new(ZipStream { segments }) })
}
