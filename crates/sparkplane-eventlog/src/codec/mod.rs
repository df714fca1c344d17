//! Streaming decompression of the block formats Spark's JVM codecs write.
//!
//! Owns: the framing of lz4-java's `LZ4BlockOutputStream` ([`lz4`]), snappy-java's
//! `SnappyOutputStream` ([`snappy`]) and compress-lzf's `LZFOutputStream` ([`lzf`]),
//! each checked as strictly as the Java reader checks it, and one shared [`BlockReader`]
//! that turns any of them into a [`BufRead`] holding at most one compressed and one
//! decompressed block at a time.
//!
//! Must not: know about files, paths, lines or warnings (its reader's business),
//! read a whole stream into memory, or trust a length field before bounding it.
//! A stream cut off inside a block fails with [`io::ErrorKind::UnexpectedEof`];
//! bytes that cannot be what the writer wrote fail with [`io::ErrorKind::InvalidData`].
//! Both messages name the codec and the byte offset, so the caller can turn them into
//! a warning on the right file.

pub(crate) mod lz4;
pub(crate) mod lzf;
pub(crate) mod snappy;

use std::io::{self, BufRead, Read};

/// One block-structured compressed format: knows how to pull the next block out of a byte stream.
pub(crate) trait BlockFormat {
    /// Decodes the next block into `out` (which arrives empty). Returns `Ok(false)` at the
    /// clean end of the stream and `Ok(true)` otherwise (the block may be empty).
    fn next_block(&mut self, input: &mut dyn Read, out: &mut Vec<u8>) -> io::Result<bool>;
}

/// A decompressing reader over one [`BlockFormat`]: hands out each decoded block through
/// [`BufRead`] without copying it again. After an error it reports end of stream.
pub(crate) struct BlockReader<R, F> {
    input: R,
    format: F,
    block: Vec<u8>,
    position: usize,
    done: bool,
}

impl<R: Read, F: BlockFormat> BlockReader<R, F> {
    /// Decodes `input` (compressed bytes, ideally buffered) with `format`.
    pub(crate) fn new(input: R, format: F) -> Self {
        BlockReader { input, format, block: Vec::new(), position: 0, done: false }
    }
}

impl<R: Read, F: BlockFormat> BufRead for BlockReader<R, F> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position >= self.block.len() && !self.done {
            self.block.clear();
            self.position = 0;
            match self.format.next_block(&mut self.input, &mut self.block) {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(error) => {
                    self.done = true;
                    self.block.clear();
                    return Err(error);
                }
            }
        }
        Ok(self.block.get(self.position..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.block.len());
    }
}

impl<R: Read, F: BlockFormat> Read for BlockReader<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

/// Reads into `buf` until it is full or the input ends; returns how many bytes were read.
/// Unlike `read_exact`, a short read is not an error, so callers can tell a clean end
/// (nothing read) from a cut-off header (some bytes read).
pub(crate) fn read_up_to(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Replaces `out`'s contents with exactly `len` bytes from `input`, or fails with
/// [`io::ErrorKind::UnexpectedEof`] naming the codec and offset if the input ends first.
pub(crate) fn read_block_bytes(
    input: &mut dyn Read,
    out: &mut Vec<u8>,
    len: usize,
    codec: &str,
    offset: u64,
) -> io::Result<()> {
    out.clear();
    out.resize(len, 0);
    let got = read_up_to(input, out)?;
    if got < len {
        return Err(truncated(codec, offset, &format!("a block needs {len} bytes but only {got} remain")));
    }
    Ok(())
}

/// The error for a stream that ends in the middle of a block or header.
pub(crate) fn truncated(codec: &str, offset: u64, detail: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, format!("{codec} stream is cut off at byte {offset}: {detail}"))
}

/// The error for bytes that cannot have been written by the codec's Java writer.
pub(crate) fn corrupt(codec: &str, offset: u64, detail: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt {codec} stream at byte {offset}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out fixed blocks, then ends or fails.
    struct Scripted {
        blocks: Vec<&'static [u8]>,
        fail_at_end: bool,
    }

    impl BlockFormat for Scripted {
        fn next_block(&mut self, _input: &mut dyn Read, out: &mut Vec<u8>) -> io::Result<bool> {
            if self.blocks.is_empty() {
                return if self.fail_at_end { Err(corrupt("test", 7, "bad")) } else { Ok(false) };
            }
            out.extend_from_slice(self.blocks.remove(0));
            Ok(true)
        }
    }

    #[test]
    fn empty_blocks_are_skipped_and_errors_end_the_stream() {
        let format = Scripted { blocks: vec![b"ab", b"", b"c\n"], fail_at_end: true };
        let mut reader = BlockReader::new(io::empty(), format);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).ok(), Some(4));
        assert_eq!(line, "abc\n");
        let error = reader.fill_buf().err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("corrupt test stream at byte 7: bad"));
        assert_eq!(reader.fill_buf().ok().map(<[u8]>::len), Some(0));
    }

    #[test]
    fn short_reads_are_told_apart_from_errors() {
        let mut input: &[u8] = b"abc";
        let mut buf = [0u8; 5];
        assert_eq!(read_up_to(&mut input, &mut buf).ok(), Some(3));
        let mut out = Vec::new();
        let mut input: &[u8] = b"abc";
        let error = read_block_bytes(&mut input, &mut out, 5, "lzf", 10).err();
        assert_eq!(error.map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof));
    }
}
