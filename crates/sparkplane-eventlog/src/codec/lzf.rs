//! compress-lzf's chunk stream (`LZFOutputStream`), which Spark's `lzf` codec writes.
//!
//! Owns: the chunk headers and the LZF decompression of a chunk's payload (LZF is small
//! enough that sparkplane carries its own bounds-checked decoder).
//!
//! Must not: read liblzf's `lzf` command-line format or anything but `ZV` chunks.
//!
//! The format, as compress-lzf reads it: chunks of at most 65,535 decompressed bytes,
//! each starting with `Z` `V` and a type byte. Type 0 (stored): a big-endian 16-bit
//! length and the bytes. Type 1 (compressed): big-endian 16-bit compressed length and
//! decompressed length, then the LZF payload. The stream ends where the file ends.
//!
//! An LZF payload is a sequence of instructions, each starting with a control byte `c`:
//! below 32 it copies the next `c + 1` input bytes; otherwise it repeats earlier output:
//! the length is `c >> 5` (if 7, plus the next byte) plus 2, and the distance back is
//! `(c & 0x1f) << 8` plus the next byte plus 1; the copy may overlap what it writes.

use std::io::{self, Read};

use super::{BlockFormat, corrupt, read_block_bytes, read_up_to, truncated};

const CODEC: &str = "lzf";
const TYPE_STORED: u8 = 0;
const TYPE_COMPRESSED: u8 = 1;

/// Decoder state for one compress-lzf stream.
#[derive(Debug, Default)]
pub(crate) struct LzfStream {
    compressed: Vec<u8>,
    /// Bytes of compressed input consumed so far, for error messages.
    offset: u64,
}

impl LzfStream {
    /// A decoder at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl BlockFormat for LzfStream {
    fn next_block(&mut self, input: &mut dyn Read, out: &mut Vec<u8>) -> io::Result<bool> {
        let at = self.offset;
        let mut header = [0u8; 5];
        let got = read_up_to(input, &mut header)?;
        if got == 0 {
            return Ok(false);
        }
        let seen = got.min(2);
        if header[..seen] != b"ZV"[..seen] {
            return Err(corrupt(CODEC, at, "a chunk does not start with \"ZV\""));
        }
        if got < header.len() {
            return Err(truncated(CODEC, at, &format!("a chunk header needs at least 5 bytes, {got} remain")));
        }
        let first_len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        match header[2] {
            TYPE_STORED => {
                self.offset += 5;
                read_block_bytes(input, out, first_len, CODEC, self.offset)?;
                self.offset += first_len as u64;
            }
            TYPE_COMPRESSED => {
                let mut more = [0u8; 2];
                if read_up_to(input, &mut more)? < 2 {
                    return Err(truncated(CODEC, at, "a compressed chunk's header is cut off"));
                }
                let decompressed_len = usize::from(u16::from_be_bytes(more));
                self.offset += 7;
                read_block_bytes(input, &mut self.compressed, first_len, CODEC, self.offset)?;
                self.offset += first_len as u64;
                out.clear();
                out.resize(decompressed_len, 0);
                decompress(&self.compressed, out).map_err(|detail| corrupt(CODEC, at, detail))?;
            }
            other => return Err(corrupt(CODEC, at, &format!("unknown chunk type {other}"))),
        }
        Ok(true)
    }
}

/// Decompresses one LZF payload into `out`, which must be exactly its decompressed size.
/// Fails if the payload would read or write out of bounds or does not fill `out` exactly.
pub(crate) fn decompress(input: &[u8], out: &mut [u8]) -> Result<(), &'static str> {
    let (mut ip, mut op) = (0usize, 0usize);
    while ip < input.len() {
        let control = usize::from(input[ip]);
        ip += 1;
        if control < 32 {
            let run = control + 1;
            let (Some(source), Some(target)) = (input.get(ip..ip + run), out.get_mut(op..op + run)) else {
                return Err("a literal run goes past the end of the chunk");
            };
            target.copy_from_slice(source);
            ip += run;
            op += run;
            continue;
        }
        let mut len = control >> 5;
        if len == 7 {
            let Some(&extra) = input.get(ip) else { return Err("a back-reference is cut off") };
            len += usize::from(extra);
            ip += 1;
        }
        len += 2;
        let Some(&low) = input.get(ip) else { return Err("a back-reference is cut off") };
        ip += 1;
        let distance = ((control & 0x1f) << 8) + usize::from(low) + 1;
        let Some(from) = op.checked_sub(distance) else {
            return Err("a back-reference points before the start of the chunk");
        };
        if op + len > out.len() {
            return Err("a back-reference goes past the end of the chunk");
        }
        if distance >= len {
            out.copy_within(from..from + len, op);
        } else {
            // Overlapping copy: each byte may be one this copy just wrote.
            for i in 0..len {
                out[op + i] = out[from + i];
            }
        }
        op += len;
    }
    if op != out.len() {
        return Err("the chunk decompresses to fewer bytes than its header says");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BlockReader;

    fn decode(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        BlockReader::new(bytes, LzfStream::new()).read_to_end(&mut out)?;
        Ok(out)
    }

    /// "abcabcabcabc": the literal "abc", then a back-reference of 7 + 0 + 2 = 9 bytes
    /// at distance (0 << 8) + 2 + 1 = 3, which overlaps what it writes.
    const PAYLOAD: [u8; 7] = [2, b'a', b'b', b'c', 7 << 5, 0, 2];

    fn compressed_chunk(payload: &[u8], decompressed_len: u16) -> Vec<u8> {
        let mut out = vec![b'Z', b'V', TYPE_COMPRESSED];
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(&decompressed_len.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_literals_and_overlapping_references() {
        let mut out = [0u8; 12];
        assert_eq!(decompress(&PAYLOAD, &mut out), Ok(()));
        assert_eq!(&out, b"abcabcabcabc");
        // Short reference: length 1 + 2 = 3 at distance 2, overlapping by one byte.
        let mut out = [0u8; 5];
        assert_eq!(decompress(&[1, b'x', b'y', 1 << 5, 1], &mut out), Ok(()));
        assert_eq!(&out, b"xyxyx");
        let mut short = [0u8; 3];
        assert!(decompress(&[1, b'x', b'y', 1 << 5, 1], &mut short).is_err());
        let mut long = [0u8; 6];
        assert!(decompress(&[1, b'x', b'y', 1 << 5, 1], &mut long).is_err());
    }

    #[test]
    fn reads_stored_and_compressed_chunks() {
        let mut stream = vec![b'Z', b'V', TYPE_STORED, 0, 3, b'h', b'i', b'\n'];
        stream.extend(compressed_chunk(&PAYLOAD, 12));
        assert_eq!(decode(&stream).ok(), Some(b"hi\nabcabcabcabc".to_vec()));
        for cut in [2, 6, 10, stream.len() - 1] {
            let error = decode(&stream[..cut]).err();
            assert_eq!(error.map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof), "cut at {cut}");
        }
    }

    #[test]
    fn corruption_is_invalid_data() {
        let kind = |bytes: &[u8]| decode(bytes).err().map(|e| e.kind());
        assert_eq!(kind(b"ZX\x00\x00\x01a"), Some(io::ErrorKind::InvalidData));
        assert_eq!(kind(b"ZV\x05\x00\x01a"), Some(io::ErrorKind::InvalidData));
        // Reference before the start of the output.
        assert_eq!(kind(&compressed_chunk(&[1 << 5, 9], 3)), Some(io::ErrorKind::InvalidData));
        // Header promises more output than the payload makes.
        assert_eq!(kind(&compressed_chunk(&PAYLOAD, 13)), Some(io::ErrorKind::InvalidData));
    }
}
