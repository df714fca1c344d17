//! snappy-java's stream (`SnappyOutputStream`), which Spark's `snappy` codec writes.
//!
//! Owns: the stream header, the length-prefixed chunks, headers of streams appended to
//! the same file, and decompressing each chunk with a raw Snappy decoder.
//!
//! Must not: accept Snappy's *framing* format (stream identifier `ff 06 00 00 sNaPpY`,
//! CRC-32C per chunk) nor a bare raw-Snappy file: Spark writes neither for event logs.
//!
//! The format, as snappy-java reads it: a 16-byte header — the 8 bytes `82 'SNAPPY' 00`,
//! then a big-endian 32-bit version and minimum compatible version (both 1 today) —
//! followed by chunks, each a big-endian 32-bit length and that many bytes of one raw
//! Snappy block. There is no end marker: the stream ends where the file ends. A chunk
//! length equal to the header's first four bytes starts another appended stream.

use std::io::{self, Read};

use super::{BlockFormat, corrupt, read_block_bytes, read_up_to, truncated};

const CODEC: &str = "snappy";
const MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const HEADER_LEN: usize = 16;
/// The lowest stream version snappy-java accepts (`SnappyCodec.MINIMUM_COMPATIBLE_VERSION`).
const MIN_VERSION: i32 = 1;
/// Bound on one chunk, compressed or not. snappy-java writes 32 KiB blocks by default
/// (Spark's `spark.io.compression.snappy.blockSize`); anything near this is corrupt.
const MAX_CHUNK_BYTES: usize = 64 << 20;

/// Decoder state for one snappy-java stream.
#[derive(Debug, Default)]
pub(crate) struct SnappyJavaStream {
    compressed: Vec<u8>,
    decoder: snap::raw::Decoder,
    /// Bytes of compressed input consumed so far, for error messages.
    offset: u64,
    header_seen: bool,
}

impl SnappyJavaStream {
    /// A decoder at the start of a stream (before its header).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Checks a full header; `at` is where it starts.
    fn check_header(header: &[u8; HEADER_LEN], at: u64) -> io::Result<()> {
        if &header[..8] != MAGIC {
            return Err(corrupt(CODEC, at, "no snappy-java stream header (expected 82 'SNAPPY' 00)"));
        }
        let version = i32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        if version < MIN_VERSION {
            return Err(corrupt(CODEC, at, &format!("unsupported snappy-java stream version {version}")));
        }
        Ok(())
    }
}

impl BlockFormat for SnappyJavaStream {
    fn next_block(&mut self, input: &mut dyn Read, out: &mut Vec<u8>) -> io::Result<bool> {
        let at = self.offset;
        if !self.header_seen {
            let mut header = [0u8; HEADER_LEN];
            let got = read_up_to(input, &mut header)?;
            if got == 0 {
                return Ok(false); // an empty file: nothing was written yet
            }
            let seen = got.min(MAGIC.len());
            if header[..seen] != MAGIC[..seen] {
                return Err(corrupt(CODEC, at, "no snappy-java stream header (expected 82 'SNAPPY' 00)"));
            }
            if got < HEADER_LEN {
                return Err(truncated(CODEC, at, &format!("the header needs {HEADER_LEN} bytes, {got} remain")));
            }
            Self::check_header(&header, at)?;
            self.header_seen = true;
            self.offset += HEADER_LEN as u64;
            return Ok(true);
        }
        let mut length = [0u8; 4];
        match read_up_to(input, &mut length)? {
            0 => return Ok(false),
            4 => {}
            got => return Err(truncated(CODEC, at, &format!("a chunk length needs 4 bytes, {got} remain"))),
        }
        if length == MAGIC[..4] {
            // Another stream appended to this one: its header, then its chunks.
            let mut header = [0u8; HEADER_LEN];
            header[..4].copy_from_slice(&length);
            let got = read_up_to(input, &mut header[4..])?;
            if got < HEADER_LEN - 4 {
                return Err(truncated(CODEC, at, "an appended stream's header is cut off"));
            }
            Self::check_header(&header, at)?;
            self.offset += HEADER_LEN as u64;
            return Ok(true);
        }
        let chunk_len = i32::from_be_bytes(length);
        let Ok(chunk_len) = usize::try_from(chunk_len) else {
            return Err(corrupt(CODEC, at, &format!("negative chunk length {chunk_len}")));
        };
        if chunk_len > MAX_CHUNK_BYTES {
            return Err(corrupt(CODEC, at, &format!("chunk length {chunk_len} is beyond any snappy-java block")));
        }
        self.offset += 4;
        read_block_bytes(input, &mut self.compressed, chunk_len, CODEC, self.offset)?;
        self.offset += chunk_len as u64;
        let decompressed_len = snap::raw::decompress_len(&self.compressed)
            .map_err(|error| corrupt(CODEC, at, &format!("the chunk is not raw Snappy ({error})")))?;
        if decompressed_len > MAX_CHUNK_BYTES {
            return Err(corrupt(CODEC, at, &format!("the chunk claims {decompressed_len} decompressed bytes")));
        }
        out.clear();
        out.resize(decompressed_len, 0);
        let written = self
            .decoder
            .decompress(&self.compressed, out)
            .map_err(|error| corrupt(CODEC, at, &format!("the chunk does not decompress ({error})")))?;
        out.truncate(written);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BlockReader;

    fn header() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&1i32.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
        out
    }

    fn chunk(data: &[u8]) -> Vec<u8> {
        let payload = snap::raw::Encoder::new().compress_vec(data).unwrap_or_default();
        let mut out = (payload.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&payload);
        out
    }

    fn decode(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        BlockReader::new(bytes, SnappyJavaStream::new()).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_chunks_and_appended_streams() {
        let mut stream = header();
        stream.extend(chunk(b"first line\n"));
        stream.extend(chunk(&b"x".repeat(1000)));
        stream.extend(header());
        stream.extend(chunk(b"\nappended\n"));
        let mut expected = b"first line\n".to_vec();
        expected.extend(b"x".repeat(1000));
        expected.extend(b"\nappended\n");
        assert_eq!(decode(&stream).ok(), Some(expected));
        assert_eq!(decode(b"").ok(), Some(Vec::new()));
        assert_eq!(decode(&header()).ok(), Some(Vec::new()));
    }

    #[test]
    fn cut_streams_are_truncation() {
        let mut stream = header();
        stream.extend(chunk(b"first line\n"));
        for cut in [5, HEADER_LEN + 2, stream.len() - 1] {
            let error = decode(&stream[..cut]).err();
            assert_eq!(error.map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof), "cut at {cut}");
        }
    }

    #[test]
    fn corruption_is_invalid_data() {
        let mut stream = header();
        stream.extend(chunk(b"first line\n"));
        let mut bad_magic = stream.clone();
        bad_magic[1] = b's';
        assert_eq!(decode(&bad_magic).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        let mut negative = stream.clone();
        negative[HEADER_LEN] = 0xF0;
        assert_eq!(decode(&negative).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        let mut garbage = header();
        garbage.extend_from_slice(&3i32.to_be_bytes());
        garbage.extend_from_slice(&[0xFF, 0xFF, 0xFF]);
        assert_eq!(decode(&garbage).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
    }
}
