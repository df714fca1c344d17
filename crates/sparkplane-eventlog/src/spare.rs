//! Each thread's spare read and line buffers: a listing reads a hundred
//! thousand small logs one after another on each core, and taking a fresh
//! buffer of the file's size and a fresh line buffer for each log (and
//! freeing them) cost more than a tenth of the listing's CPU in the
//! allocator (ADR 0016, tenth addendum). A small file is read whole into the
//! spare read buffer ([`read_whole`]) and its lines handed out as slices of
//! it; a buffer goes back to its thread's spare slot when dropped, unless it
//! grew past what a spare may keep.

use std::cell::RefCell;
use std::fs::File;
use std::io;

/// The largest read buffer kept spare.
const MAX_SPARE_READ_BYTES: usize = 512 * 1024;
/// The largest line buffer kept spare: one very long line does not stay with the thread.
const MAX_SPARE_LINE_BYTES: usize = 1024 * 1024;
/// The least room added when a file turns out larger than listed.
const READ_GROWTH_BYTES: usize = 8 * 1024;

thread_local! {
    /// This thread's spare read buffer.
    static SPARE_READ: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// This thread's spare line buffer.
    static SPARE_LINE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A small file's whole text (UTF-8, as read), with how far its lines have
/// been handed out; its buffer goes back to the thread's spare slot when dropped.
pub(crate) struct WholeText {
    pub(crate) text: String,
    /// The byte where the next line starts.
    pub(crate) at: usize,
}

impl Drop for WholeText {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        if bytes.capacity() <= MAX_SPARE_READ_BYTES {
            bytes.clear();
            // A thread being torn down keeps no spare: the buffer is simply freed.
            let _ = SPARE_READ.try_with(|spare| keep_larger(&mut spare.borrow_mut(), bytes, Vec::capacity));
        }
    }
}

/// What [`read_whole`] read of a file.
pub(crate) enum ReadWhole {
    /// The whole file, valid UTF-8, at most the limit.
    Text(WholeText),
    /// The bytes read so far (more than the limit, or not UTF-8) and the file
    /// positioned after them, for the caller to stream line by line.
    Bytes(Vec<u8>, File),
}

/// Reads `file`, of about `size` bytes as listed, into this thread's spare
/// buffer: its text when it is at most `limit` bytes of UTF-8 (a file grown
/// since it was listed is read to its end, up to `limit`).
///
/// A file as large as listed is read in one `read`: offered one byte more
/// than its size, a regular file that returns exactly its size is at its end
/// (Linux returns fewer bytes than asked of a regular file only there). Any
/// other count reads on until the end or past `limit`, so a file that grew or
/// shrank since it was listed is read as it is now.
pub(crate) fn read_whole(file: File, size: usize, limit: usize) -> io::Result<ReadWhole> {
    let spare = SPARE_READ.try_with(|spare| spare.borrow_mut().take()).ok().flatten();
    let mut bytes = spare.unwrap_or_default();
    let bound = limit.saturating_add(1);
    let listed = size.min(limit);
    // Never more room than `limit` + 1 bytes, so no read goes past it.
    if bytes.capacity() > bound {
        bytes = Vec::new();
    }
    bytes.reserve_exact(listed + 1);
    loop {
        if bytes.len() == bytes.capacity() {
            if bytes.len() >= bound {
                break;
            }
            // Grown since listed: room doubles, up to the bound.
            let room = bytes.len().max(READ_GROWTH_BYTES).min(bound - bytes.len());
            bytes.reserve_exact(room);
        }
        let offered = bytes.capacity() - bytes.len();
        match rustix::io::read(&file, rustix::buffer::spare_capacity(&mut bytes)) {
            Ok(0) => break,
            Ok(read) if read < offered && bytes.len() == listed => break,
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
    if bytes.len() > limit {
        return Ok(ReadWhole::Bytes(bytes, file));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(ReadWhole::Text(WholeText { text, at: 0 })),
        Err(not_text) => Ok(ReadWhole::Bytes(not_text.into_bytes(), file)),
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
    use std::io::Read;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn a_small_file_is_read_whole_as_text_and_a_larger_or_binary_one_comes_back_as_bytes_and_its_file() {
        let (_dir, file) = file_of("ünïcode\nline two\n".as_bytes());
        let ReadWhole::Text(whole) = read_whole(file, 4, 100).unwrap() else { panic!("text") };
        assert_eq!(
            (whole.text.as_str(), whole.at),
            ("ünïcode\nline two\n", 0),
            "a file grown since listed is read whole"
        );
        let (_dir, file) = file_of(b"shrunk\n");
        let ReadWhole::Text(whole) = read_whole(file, 4_000, 100).unwrap() else { panic!("text") };
        assert_eq!(whole.text, "shrunk\n", "a file shrunk since listed is read as it is now");
        // Grown far past its listed size, in several reads: every byte, in order.
        let grown: String = (0..9_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let (_dir, file) = file_of(grown.as_bytes());
        let ReadWhole::Text(whole) = read_whole(file, 10, 100_000).unwrap() else { panic!("text") };
        assert_eq!(whole.text, grown);
        // Past the limit: the bytes up to one past it, and the file to read on from there.
        let bytes: Vec<u8> = (0..50_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let (_dir, file) = file_of(&bytes);
        let ReadWhole::Bytes(read, mut rest) = read_whole(file, 50_000, 10_000).unwrap() else { panic!("bytes") };
        assert_eq!(read, bytes[..10_001]);
        let mut tail = Vec::new();
        rest.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, bytes[10_001..]);
        // Not UTF-8: every byte read, nothing left in the file.
        let (_dir, file) = file_of(b"ok\n\xff\xfe\n");
        let ReadWhole::Bytes(read, mut rest) = read_whole(file, 6, 100).unwrap() else { panic!("bytes") };
        assert_eq!(read, b"ok\n\xff\xfe\n");
        assert_eq!(rest.read(&mut [0; 8]).unwrap(), 0);
    }

    #[test]
    fn a_dropped_text_leaves_its_buffer_to_the_next_read_on_the_thread_unless_it_is_too_large() {
        std::thread::spawn(|| {
            let (_dir, file) = file_of(&[b'x'; 20_000]);
            let ReadWhole::Text(first) = read_whole(file, 20_000, 1 << 20).unwrap() else { panic!("text") };
            let (at, capacity) = (first.text.as_ptr(), first.text.capacity());
            drop(first);
            let (_dir, file) = file_of(b"small\n");
            let ReadWhole::Text(second) = read_whole(file, 6, 1 << 20).unwrap() else { panic!("text") };
            assert_eq!((second.text.as_str(), second.text.as_ptr(), second.text.capacity()), ("small\n", at, capacity));
            drop(second);
            let (_dir, file) = file_of(&vec![b'y'; MAX_SPARE_READ_BYTES + 1]);
            drop(read_whole(file, MAX_SPARE_READ_BYTES + 1, 1 << 20).unwrap());
            let (_dir, file) = file_of(b"small\n");
            let ReadWhole::Text(third) = read_whole(file, 6, 1 << 20).unwrap() else { panic!("text") };
            assert!(third.text.capacity() < MAX_SPARE_READ_BYTES, "the spare grown too large was freed");
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
