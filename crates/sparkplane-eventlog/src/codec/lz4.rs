//! lz4-java's block stream (`LZ4BlockOutputStream`), which Spark's `lz4` codec writes.
//!
//! Owns: parsing and checking each block header, decompressing the payload with an LZ4
//! block decoder, verifying the per-block checksum, and the end-of-stream block.
//!
//! Must not: accept the LZ4 *frame* format (magic `04 22 4D 18`, what the `lz4` command
//! line tool writes): Spark never writes it, and a frame file fails here as corrupt.
//!
//! The format, as lz4-java reads it: each block is a 21-byte header — the 8 bytes
//! `LZ4Block`, a token byte (high nibble: method, `0x10` stored raw or `0x20` LZ4;
//! low nibble: level, the block holding at most `1 << (10 + level)` bytes), then three
//! little-endian 32-bit integers: compressed length, decompressed length, and the XXH32
//! (seed `0x9747b28c`) of the decompressed bytes masked to its low 28 bits — followed by
//! the payload. A block with both lengths and the checksum zero ends the stream; Spark
//! reads on past it, so several streams may follow each other in one file.

use std::io::{self, Read};

use super::{BlockFormat, corrupt, read_block_bytes, read_up_to, truncated};

const CODEC: &str = "lz4";
const MAGIC: &[u8; 8] = b"LZ4Block";
const HEADER_LEN: usize = 8 + 1 + 4 + 4 + 4;
const METHOD_RAW: u8 = 0x10;
const METHOD_LZ4: u8 = 0x20;
const LEVEL_BASE: u32 = 10;
/// Seed of lz4-java's default block checksum (`LZ4BlockOutputStream.DEFAULT_SEED`).
const CHECKSUM_SEED: u32 = 0x9747_b28c;
/// lz4-java's `StreamingXXHash32.asChecksum()` keeps only the low 28 bits.
const CHECKSUM_MASK: u32 = 0x0FFF_FFFF;

/// Decoder state for one lz4-java block stream.
#[derive(Debug, Default)]
pub(crate) struct Lz4BlockStream {
    compressed: Vec<u8>,
    /// Bytes of compressed input consumed so far, for error messages.
    offset: u64,
    /// Whether the last block read was an end-of-stream block.
    at_end_mark: bool,
}

impl Lz4BlockStream {
    /// A decoder at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Masked XXH32 of `data` as lz4-java stores it.
pub(crate) fn block_checksum(data: &[u8]) -> u32 {
    twox_hash::XxHash32::oneshot(CHECKSUM_SEED, data) & CHECKSUM_MASK
}

/// Largest LZ4 encoding of `len` bytes (LZ4's compress bound).
fn compress_bound(len: usize) -> usize {
    len + len / 255 + 16
}

impl BlockFormat for Lz4BlockStream {
    fn next_block(&mut self, input: &mut dyn Read, out: &mut Vec<u8>) -> io::Result<bool> {
        let at = self.offset;
        let mut header = [0u8; HEADER_LEN];
        let got = read_up_to(input, &mut header)?;
        if got == 0 {
            if self.at_end_mark {
                return Ok(false);
            }
            return Err(truncated(CODEC, at, "the stream ends without lz4-java's end-of-stream block"));
        }
        let seen = got.min(MAGIC.len());
        if header[..seen] != MAGIC[..seen] {
            return Err(corrupt(CODEC, at, "a block does not start with \"LZ4Block\" (not lz4-java's block stream)"));
        }
        if got < HEADER_LEN {
            return Err(truncated(
                CODEC,
                at,
                &format!("a block header needs {HEADER_LEN} bytes but only {got} remain"),
            ));
        }
        let token = header[8];
        let method = token & 0xF0;
        let max_len = 1u64 << (LEVEL_BASE + u32::from(token & 0x0F));
        let compressed_len = le_u32(&header, 9);
        let original_len = le_u32(&header, 13);
        let check = le_u32(&header, 17);
        if method != METHOD_RAW && method != METHOD_LZ4 {
            return Err(corrupt(CODEC, at, &format!("unknown compression method 0x{method:02x}")));
        }
        let bad_lengths = u64::from(original_len) > max_len
            || compressed_len > i32::MAX as u32
            || (original_len == 0) != (compressed_len == 0)
            || (method == METHOD_RAW && original_len != compressed_len)
            || compressed_len as usize > compress_bound(original_len as usize);
        if bad_lengths {
            return Err(corrupt(
                CODEC,
                at,
                &format!("impossible block lengths (compressed {compressed_len}, decompressed {original_len})"),
            ));
        }
        self.offset += HEADER_LEN as u64;
        if original_len == 0 {
            if check != 0 {
                return Err(corrupt(CODEC, at, "the end-of-stream block has a non-zero checksum"));
            }
            self.at_end_mark = true;
            return Ok(true);
        }
        self.at_end_mark = false;
        let (compressed_len, original_len) = (compressed_len as usize, original_len as usize);
        if method == METHOD_RAW {
            read_block_bytes(input, out, original_len, CODEC, self.offset)?;
        } else {
            read_block_bytes(input, &mut self.compressed, compressed_len, CODEC, self.offset)?;
            out.clear();
            out.resize(original_len, 0);
            let written = lz4_flex::block::decompress_into(&self.compressed, out)
                .map_err(|error| corrupt(CODEC, at, &format!("the block does not decompress ({error})")))?;
            if written != original_len {
                return Err(corrupt(
                    CODEC,
                    at,
                    &format!("the block decompresses to {written} bytes, its header says {original_len}"),
                ));
            }
        }
        self.offset += compressed_len as u64;
        if block_checksum(out) != check {
            return Err(corrupt(CODEC, at, "block checksum mismatch"));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BlockReader;

    /// Frames `data` as one lz4-java block (compressed with lz4_flex unless `raw`).
    fn block(data: &[u8], raw: bool) -> Vec<u8> {
        let payload = if raw { data.to_vec() } else { lz4_flex::block::compress(data) };
        let mut out = MAGIC.to_vec();
        out.push(if raw { METHOD_RAW } else { METHOD_LZ4 } | 6); // 64 KiB blocks
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&block_checksum(data).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    fn end_mark() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(METHOD_RAW | 6);
        out.extend_from_slice(&[0; 12]);
        out
    }

    fn decode(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        BlockReader::new(bytes, Lz4BlockStream::new()).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_compressed_raw_and_concatenated_streams() {
        let text = b"{\"Event\":\"SparkListenerLogStart\"}\n".repeat(50);
        let mut stream = block(&text, false);
        stream.extend(block(b"raw bytes\n", true));
        stream.extend(end_mark());
        stream.extend(block(b"second stream\n", false));
        stream.extend(end_mark());
        let mut expected = text.clone();
        expected.extend_from_slice(b"raw bytes\nsecond stream\n");
        assert_eq!(decode(&stream).ok(), Some(expected));
    }

    #[test]
    fn missing_end_mark_and_cut_blocks_are_truncation() {
        let mut stream = block(b"line\n", false);
        assert_eq!(decode(&stream).err().map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof));
        stream.extend(end_mark());
        for cut in [3, HEADER_LEN - 1, HEADER_LEN + 1, stream.len() - 1] {
            let error = decode(&stream[..cut]).err();
            assert_eq!(error.map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof), "cut at {cut}");
        }
    }

    #[test]
    fn corruption_is_invalid_data() {
        let mut stream = block(b"some text that is long enough\n", true);
        stream.extend(end_mark());
        let mut flipped = stream.clone();
        flipped[HEADER_LEN + 2] ^= 0x20; // payload byte: checksum mismatch
        let error = decode(&flipped).err();
        assert!(error.as_ref().is_some_and(|e| e.to_string().contains("checksum")), "{error:?}");
        let mut bad_magic = stream.clone();
        bad_magic[0] = b'X';
        assert_eq!(decode(&bad_magic).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        let mut huge = stream.clone();
        huge[13..17].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        let frame = [0x04, 0x22, 0x4D, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode(&frame).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        // Too short for a header, but already not lz4-java's: corrupt, not cut off.
        assert_eq!(decode(&frame[..4]).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
    }
}
