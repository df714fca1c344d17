//! The zip archive of Spark's `logs` download, as bytes around the stored files.
//!
//! Owns: the CRC-32 of a file's bytes ([`Crc32`]), the DOS date of an entry,
//! and the framing of a zip archive whose entries are *stored* (not deflated:
//! the logs are usually compressed already) — each entry's local header
//! ([`local_header`]) and, after the last file, the central directory and its
//! end record ([`central_directory`]). Sizes and CRCs are known before a file
//! is sent, so no data descriptors are written and any zip reader (Java's
//! `ZipInputStream` included) reads the archive while it streams.
//!
//! Must not: read files (the caller hands in sizes and CRCs and streams the
//! bytes between the headers), or write zip64: an archive past 4 GiB or 65,535
//! entries is refused with [`ZipError`].

/// The standard CRC-32 (IEEE 802.3, reflected, as zip uses), fed in pieces.
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

impl Crc32 {
    pub fn new() -> Crc32 {
        Crc32(0xFFFF_FFFF)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.0;
        for &b in bytes {
            c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    pub fn value(&self) -> u32 {
        self.0 ^ 0xFFFF_FFFF
    }
}

/// Why an archive cannot be framed without zip64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("{name} is {size} bytes; archives past 4 GiB are not written yet")]
    TooLarge { name: String, size: u64 },
    #[error("more than 65,535 files")]
    TooManyEntries,
}

/// One entry: a file (its bytes streamed by the caller) or a directory (`name` ends with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub size: u64,
    pub crc: u32,
    /// MS-DOS time and date (see [`dos_time`]).
    pub dos_time: (u16, u16),
}

const VERSION: u16 = 10; // 1.0: stored entries and directories need nothing newer.
const FLAG_UTF8: u16 = 1 << 11;
const LIMIT: u64 = 0xFFFF_FFFE;

/// MS-DOS (time, date) of a UTC instant in epoch milliseconds; 1980-01-01 00:00
/// for instants the format cannot hold (before 1980 or after 2107).
pub fn dos_time(epoch_ms: Option<i64>) -> (u16, u16) {
    let earliest = (0, (1 << 5) | 1);
    let Some(ms) = epoch_ms else { return earliest };
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else { return earliest };
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let year = i32::from(dt.year());
    if !(1980..=2107).contains(&year) {
        return earliest;
    }
    let as_u16 = |v: i32| u16::try_from(v).unwrap_or(0);
    let time = (as_u16(i32::from(dt.hour())) << 11)
        | (as_u16(i32::from(dt.minute())) << 5)
        | as_u16(i32::from(dt.second()) / 2);
    let date = (as_u16(year - 1980) << 9) | (as_u16(i32::from(dt.month())) << 5) | as_u16(i32::from(dt.day()));
    (time, date)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn small(entry: &ZipEntry) -> Result<u32, ZipError> {
    if entry.size > LIMIT {
        return Err(ZipError::TooLarge { name: entry.name.clone(), size: entry.size });
    }
    Ok(entry.size as u32)
}

fn name_len(entry: &ZipEntry) -> Result<u16, ZipError> {
    u16::try_from(entry.name.len()).map_err(|_| ZipError::TooLarge { name: entry.name.clone(), size: entry.size })
}

/// The local header that precedes an entry's bytes.
pub fn local_header(entry: &ZipEntry) -> Result<Vec<u8>, ZipError> {
    let size = small(entry)?;
    let mut out = Vec::with_capacity(30 + entry.name.len());
    put32(&mut out, 0x0403_4B50);
    put16(&mut out, VERSION);
    put16(&mut out, FLAG_UTF8);
    put16(&mut out, 0); // stored
    put16(&mut out, entry.dos_time.0);
    put16(&mut out, entry.dos_time.1);
    put32(&mut out, entry.crc);
    put32(&mut out, size);
    put32(&mut out, size);
    put16(&mut out, name_len(entry)?);
    put16(&mut out, 0);
    out.extend_from_slice(entry.name.as_bytes());
    Ok(out)
}

/// Bytes taken by an entry in the archive before the central directory: its header and data.
pub fn entry_len(entry: &ZipEntry) -> u64 {
    30 + entry.name.len() as u64 + entry.size
}

/// The central directory and its end record, written after every entry (in the same order).
pub fn central_directory(entries: &[ZipEntry]) -> Result<Vec<u8>, ZipError> {
    let count = u16::try_from(entries.len()).map_err(|_| ZipError::TooManyEntries)?;
    let mut out = Vec::new();
    let mut offset: u64 = 0;
    for entry in entries {
        let size = small(entry)?;
        let at = u32::try_from(offset)
            .ok()
            .filter(|o| u64::from(*o) <= LIMIT)
            .ok_or_else(|| ZipError::TooLarge { name: entry.name.clone(), size: offset })?;
        put32(&mut out, 0x0201_4B50);
        put16(&mut out, VERSION);
        put16(&mut out, VERSION);
        put16(&mut out, FLAG_UTF8);
        put16(&mut out, 0);
        put16(&mut out, entry.dos_time.0);
        put16(&mut out, entry.dos_time.1);
        put32(&mut out, entry.crc);
        put32(&mut out, size);
        put32(&mut out, size);
        put16(&mut out, name_len(entry)?);
        put16(&mut out, 0); // extra
        put16(&mut out, 0); // comment
        put16(&mut out, 0); // disk
        put16(&mut out, 0); // internal attributes
        put32(&mut out, if entry.name.ends_with('/') { 0x10 } else { 0 }); // MS-DOS directory bit
        put32(&mut out, at);
        out.extend_from_slice(entry.name.as_bytes());
        offset += entry_len(entry);
    }
    let directory_at = u32::try_from(offset)
        .ok()
        .filter(|o| u64::from(*o) <= LIMIT)
        .ok_or(ZipError::TooLarge { name: "the archive".to_owned(), size: offset })?;
    let directory_len = u32::try_from(out.len()).map_err(|_| ZipError::TooManyEntries)?;
    put32(&mut out, 0x0605_4B50);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, directory_len);
    put32(&mut out, directory_at);
    put16(&mut out, 0);
    Ok(out)
}

/// A whole archive in memory (for small archives and tests).
pub fn archive(files: &[(&str, &[u8])], dos_time: (u16, u16)) -> Result<Vec<u8>, ZipError> {
    let mut out = Vec::new();
    let mut entries = Vec::new();
    for (name, bytes) in files {
        let mut crc = Crc32::new();
        crc.update(bytes);
        let entry = ZipEntry { name: (*name).to_owned(), size: bytes.len() as u64, crc: crc.value(), dos_time };
        out.extend(local_header(&entry)?);
        out.extend_from_slice(bytes);
        entries.push(entry);
    }
    out.extend(central_directory(&entries)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_has_the_standard_check_value() {
        let mut crc = Crc32::new();
        crc.update(b"1234");
        crc.update(b"56789");
        assert_eq!(crc.value(), 0xCBF4_3926);
        assert_eq!(Crc32::new().value(), 0);
    }

    #[test]
    fn dos_time_of_an_instant_and_of_instants_it_cannot_hold() {
        // 2015-05-06T13:03:00.950Z: 13:03:00, 2015-05-06.
        assert_eq!(dos_time(Some(1_430_917_380_950)), ((13 << 11) | (3 << 5), (35 << 9) | (5 << 5) | 6));
        assert_eq!(dos_time(Some(0)), (0, (1 << 5) | 1));
        assert_eq!(dos_time(None), (0, (1 << 5) | 1));
    }

    /// Pinned bytes, checked when written with `unzip -t`, Python's `zipfile`
    /// and Java's `ZipInputStream` (the reader Spark's own suite uses).
    #[test]
    fn an_archive_of_a_directory_and_a_file_is_byte_exact() {
        let bytes = archive(&[("d/", b""), ("d/a", b"hi\n")], (0, (1 << 5) | 1)).expect("small");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, PINNED);
    }

    const PINNED: &str = concat!(
        "504b03040a00000800000000210000000000000000000000000002000000642f504b03040a0000080000000021007a7a",
        "6fed030000000300000003000000642f6168690a504b01020a000a000008000000002100000000000000000000000000",
        "020000000000000000001000000000000000642f504b01020a000a0000080000000021007a7a6fed0300000003000000",
        "030000000000000000000000000020000000642f61504b0506000000000200020061000000440000000000",
    );

    #[test]
    fn sizes_past_zip32_are_refused() {
        let entry = ZipEntry { name: "big".into(), size: 1 << 32, crc: 0, dos_time: (0, 33) };
        assert_eq!(local_header(&entry), Err(ZipError::TooLarge { name: "big".into(), size: 1 << 32 }));
        assert!(central_directory(&[entry]).is_err());
    }
}
