//! Each thread's spare read and line buffers: a listing reads a hundred
//! thousand small logs one after another on each core, and taking a fresh
//! buffer of the file's size and a fresh line buffer for each log (and
//! freeing them) cost more than a tenth of the listing's CPU in the
//! allocator (ADR 0016, tenth addendum). A reader or a line buffer taken here
//! goes back to its thread's spare slot when dropped, unless it grew past
//! what a spare may keep.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, Read};

/// The largest read buffer kept spare (a reader's buffer is at most this big).
const MAX_SPARE_READ_BYTES: usize = 256 * 1024;
/// The largest line buffer kept spare: one very long line does not stay with the thread.
const MAX_SPARE_LINE_BYTES: usize = 1024 * 1024;

thread_local! {
    /// This thread's spare read buffer (its length is its usable size: kept initialised).
    static SPARE_READ: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// This thread's spare line buffer.
    static SPARE_LINE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A buffered reader over a local file whose buffer is this thread's spare
/// one, at least `capacity` bytes (and at most [`MAX_SPARE_READ_BYTES`] or
/// `capacity`, whichever is larger); `std::io::BufReader`'s behaviour, reads
/// of the file as large as the buffer.
pub(crate) struct SpareBufReader {
    file: File,
    buffer: Vec<u8>,
    at: usize,
    filled: usize,
}

impl SpareBufReader {
    pub(crate) fn new(file: File, capacity: usize) -> SpareBufReader {
        let spare = SPARE_READ.try_with(|spare| spare.borrow_mut().take()).ok().flatten();
        let mut buffer = spare.unwrap_or_default();
        if buffer.len() < capacity {
            buffer.resize(capacity, 0);
        }
        SpareBufReader { file, buffer, at: 0, filled: 0 }
    }
}

impl Read for SpareBufReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for SpareBufReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.filled {
            self.filled = self.file.read(&mut self.buffer)?;
            self.at = 0;
        }
        Ok(&self.buffer[self.at..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.filled);
    }
}

impl Drop for SpareBufReader {
    fn drop(&mut self) {
        if self.buffer.len() <= MAX_SPARE_READ_BYTES {
            let buffer = std::mem::take(&mut self.buffer);
            // A thread being torn down keeps no spare: the buffer is simply freed.
            let _ = SPARE_READ.try_with(|spare| keep_larger(&mut spare.borrow_mut(), buffer, Vec::len));
        }
    }
}

/// This thread's spare line buffer, empty, or a new one of `capacity` bytes.
pub(crate) fn line_buffer(capacity: usize) -> String {
    let spare = SPARE_LINE.try_with(|spare| spare.borrow_mut().take()).ok().flatten();
    spare.unwrap_or_else(|| String::with_capacity(capacity))
}

/// Hands a line buffer back to this thread's spare slot (emptied), unless it
/// grew past [`MAX_SPARE_LINE_BYTES`].
pub(crate) fn return_line_buffer(mut text: String) {
    if text.capacity() <= MAX_SPARE_LINE_BYTES {
        text.clear();
        let _ = SPARE_LINE.try_with(|spare| keep_larger(&mut spare.borrow_mut(), text, String::capacity));
    }
}

/// Keeps the larger of the spare in `slot` and `offered` (a thread reading
/// logs of several sizes keeps the one that fits most of them).
fn keep_larger<T>(slot: &mut Option<T>, offered: T, size: impl Fn(&T) -> usize) {
    if slot.as_ref().is_none_or(|kept| size(kept) < size(&offered)) {
        *slot = Some(offered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn a_spare_reader_reads_a_file_as_a_bufreader_does_through_a_buffer_smaller_or_larger_than_it() {
        let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        for capacity in [1, 7, 4096, 50_000, 200_000] {
            let (_dir, file) = file_of(&bytes);
            let mut read = Vec::new();
            SpareBufReader::new(file, capacity).read_to_end(&mut read).unwrap();
            assert_eq!(read, bytes, "capacity {capacity}");
        }
        let (_dir, file) = file_of(b"one\ntwo\n\nthree");
        let lines: Vec<String> = SpareBufReader::new(file, 3).lines().map(Result::unwrap).collect();
        assert_eq!(lines, ["one", "two", "", "three"]);
    }

    #[test]
    fn a_dropped_reader_leaves_its_buffer_to_the_next_one_on_the_thread_unless_it_is_too_large() {
        std::thread::spawn(|| {
            let (_dir, file) = file_of(b"abc");
            let first = SpareBufReader::new(file, 10_000);
            let at = first.buffer.as_ptr();
            drop(first);
            let (_dir, file) = file_of(b"abc");
            let second = SpareBufReader::new(file, 20);
            assert_eq!((second.buffer.as_ptr(), second.buffer.len()), (at, 10_000), "the spare is reused whole");
            drop(second);
            let (_dir, file) = file_of(b"abc");
            drop(SpareBufReader::new(file, MAX_SPARE_READ_BYTES + 1));
            let (_dir, file) = file_of(b"abc");
            assert_eq!(SpareBufReader::new(file, 20).buffer.len(), 20, "the spare grown too large was freed");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_line_buffer_comes_back_empty_and_one_grown_too_large_is_freed() {
        std::thread::spawn(|| {
            let mut text = line_buffer(64);
            text.push_str("a line");
            let capacity = text.capacity();
            return_line_buffer(text);
            let again = line_buffer(8);
            assert!(again.is_empty());
            assert_eq!(again.capacity(), capacity);
            return_line_buffer(again);
            return_line_buffer(String::with_capacity(MAX_SPARE_LINE_BYTES + 1));
            assert_eq!(line_buffer(8).capacity(), capacity, "the oversized buffer was not kept");
        })
        .join()
        .unwrap();
    }
}
