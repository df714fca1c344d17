//! Opening a folder's logs relative to it: a listing opens a hundred
//! thousand logs of one folder on each core, and opening each by its whole
//! path walks every folder above it again (ADR 0016, eleventh addendum).
//!
//! Inside [`reading_folders`] a thread that opens a second log of the
//! folder it opened the last one in keeps a handle on that folder
//! (`O_PATH`) and opens the folder's next logs by their names alone. The
//! handle goes when the work returns: a folder replaced between two
//! listings is always found anew by its path, never read through a handle
//! kept from before.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

thread_local! {
    /// Whether this thread is inside [`reading_folders`].
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// The folder this thread opened its last log in, and its handle once a
    /// second log was opened there.
    static LAST: RefCell<Option<(PathBuf, Option<OwnedFd>)>> = const { RefCell::new(None) };
}

/// Runs `work`, in which this thread opens logs relative to the folder it
/// keeps reading from (see the module's doc); every handle kept for it is
/// closed when `work` returns or panics.
pub fn reading_folders<T>(work: impl FnOnce() -> T) -> T {
    /// Puts the thread back as it was: outside every scope, nothing kept.
    struct Leave(bool);
    impl Drop for Leave {
        fn drop(&mut self) {
            let _ = ACTIVE.try_with(|active| active.set(self.0));
            if !self.0 {
                let _ = LAST.try_with(|last| last.borrow_mut().take());
            }
        }
    }
    let outer = ACTIVE.with(|active| active.replace(true));
    let _leave = Leave(outer);
    work()
}

/// Opens the local log file at `path` to read, as [`File::open`] does;
/// inside [`reading_folders`], relative to its folder's handle when the
/// thread keeps one.
pub(crate) fn open_log_file(path: &Path) -> io::Result<File> {
    let (Some(folder), Some(name)) = (path.parent().filter(|p| !p.as_os_str().is_empty()), path.file_name()) else {
        return File::open(path);
    };
    if !ACTIVE.try_with(Cell::get).unwrap_or(false) {
        return File::open(path);
    }
    LAST.with_borrow_mut(|last| {
        let same = last.as_ref().is_some_and(|(kept, _)| kept.as_os_str() == folder.as_os_str());
        if !same {
            *last = Some((folder.to_path_buf(), None));
            return File::open(path);
        }
        let Some((_, handle)) = last else { return File::open(path) };
        if handle.is_none() {
            // A folder that cannot be held is read by whole paths, whose errors name the file.
            *handle = rustix::fs::open(folder, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok();
        }
        match handle {
            Some(handle) => rustix::fs::openat(&*handle, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map(File::from)
                .map_err(io::Error::from),
            None => File::open(path),
        }
    })
}

/// Whether this thread holds a folder's handle (for the tests).
#[cfg(test)]
fn holds_a_folder() -> bool {
    LAST.with_borrow(|last| last.as_ref().is_some_and(|(_, handle)| handle.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn text_of(path: &Path) -> String {
        let mut text = String::new();
        open_log_file(path).unwrap().read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn logs_are_read_through_a_folder_handle_only_inside_the_scope_and_a_replaced_folder_is_found_anew() {
        std::thread::spawn(|| {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            for (folder, tag) in [(&a, "a"), (&b, "b")] {
                std::fs::create_dir(folder).unwrap();
                for i in 0..3 {
                    std::fs::write(folder.join(format!("local-{i}")), format!("{tag}{i}\n")).unwrap();
                }
            }
            assert_eq!(text_of(&a.join("local-0")), "a0\n");
            assert!(!holds_a_folder(), "outside the scope nothing is kept");
            reading_folders(|| {
                // Folders taken in turn and in runs: every file is its own.
                for (folder, tag, i) in
                    [(&a, "a", 0), (&b, "b", 0), (&b, "b", 1), (&b, "b", 2), (&a, "a", 1), (&a, "a", 2)]
                {
                    assert_eq!(text_of(&folder.join(format!("local-{i}"))), format!("{tag}{i}\n"));
                }
                assert!(holds_a_folder(), "a second log of one folder keeps its handle");
                let missing = open_log_file(&a.join("local-9")).unwrap_err();
                assert_eq!(missing.kind(), io::ErrorKind::NotFound);
                // A nested scope leaves the outer one's handle in place.
                reading_folders(|| ());
                assert!(holds_a_folder());
            });
            assert!(!holds_a_folder(), "the handle is closed when the work returns");
            // The folder replaced between two scopes: the new one's file is read, not the old one's.
            std::fs::rename(&a, dir.path().join("a.old")).unwrap();
            std::fs::create_dir(&a).unwrap();
            for i in 0..2 {
                std::fs::write(a.join(format!("local-{i}")), format!("new{i}\n")).unwrap();
            }
            reading_folders(|| {
                assert_eq!(text_of(&a.join("local-0")), "new0\n");
                assert_eq!(text_of(&a.join("local-1")), "new1\n");
            });
            // A panic inside the scope closes the handle too.
            let panicked = std::panic::catch_unwind(|| {
                reading_folders(|| {
                    text_of(&a.join("local-0"));
                    text_of(&a.join("local-1"));
                    panic!("inside");
                })
            });
            assert!(panicked.is_err());
            assert!(!holds_a_folder());
            // A bare file name has no folder to hold and opens as given.
            let err = reading_folders(|| open_log_file(Path::new("no-such-log-here")).unwrap_err());
            assert_eq!(err.kind(), io::ErrorKind::NotFound);
        })
        .join()
        .unwrap();
    }
}
