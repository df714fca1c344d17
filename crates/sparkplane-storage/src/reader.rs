//! A `std::io::Read` over an object, fetched in ranged requests.

use std::io::{self, Read};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use object_store::path::Path as KeyPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::task::JoinHandle;

/// Streams one object: one ranged request per chunk, the next chunk already
/// on its way while the caller reads the current one.
pub struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    runtime: Arc<tokio::runtime::Runtime>,
    path: KeyPath,
    url: String,
    size: u64,
    chunk: u64,
    /// Offset of the next chunk not yet requested.
    next: u64,
    current: Bytes,
    pending: Option<JoinHandle<object_store::Result<Bytes>>>,
}

impl ObjectReader {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        runtime: Arc<tokio::runtime::Runtime>,
        path: KeyPath,
        url: String,
        size: u64,
        chunk: usize,
    ) -> ObjectReader {
        let mut reader = ObjectReader {
            store,
            runtime,
            path,
            url,
            size,
            chunk: chunk.max(64 * 1024) as u64,
            next: 0,
            current: Bytes::new(),
            pending: None,
        };
        reader.request_next();
        reader
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn request_next(&mut self) {
        if self.next >= self.size {
            return;
        }
        let end = (self.next + self.chunk).min(self.size);
        let (store, path, range) = (Arc::clone(&self.store), self.path.clone(), self.next..end);
        self.pending = Some(self.runtime.spawn(async move { store.get_range(&path, range).await }));
        self.next = end;
    }
}

impl Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.current.has_remaining() {
            let Some(pending) = self.pending.take() else { return Ok(0) };
            let fetched = self
                .runtime
                .block_on(pending)
                .map_err(|e| io::Error::other(format!("{}: {e}", self.url)))?
                .map_err(|e| io::Error::other(crate::StorageError::from_store(self.url.clone(), e)))?;
            self.current = fetched;
            self.request_next();
        }
        let n = out.len().min(self.current.remaining());
        self.current.copy_to_slice(&mut out[..n]);
        Ok(n)
    }
}
