//! A blocking handle on one location, for sparkplane's synchronous commands.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path as KeyPath;
use object_store::{ClientConfigKey, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use crate::{Location, ObjectReader, Scheme, StorageError};

/// One object found under a [`Store`]'s location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Key relative to the store's location (`/`-separated); empty when the
    /// location itself is the object.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// The store's entity tag for this version of the object, when it gives
    /// one (S3, GCS and Azure do; a local folder does not): it changes when
    /// the content is rewritten, even to the same size within the same second.
    pub e_tag: Option<String>,
}

/// Keys asked for per page of a paginated listing: S3's own maximum.
pub const LIST_PAGE_SIZE: usize = 1000;

/// Blocking access to everything under one [`Location`].
///
/// Calls block the current thread; do not call them from inside an async
/// runtime.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// The same store's page-by-page listing (S3, GCS, Azure), so a listing
    /// that fails can say on which page; `None` for a local folder.
    pages: Option<Pages>,
    page_size: usize,
    root: KeyPath,
    location: Location,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Store {
    /// Opens a location with credentials and settings from the environment.
    pub fn open(location: &Location) -> Result<Store, StorageError> {
        Store::open_with(location, &[])
    }

    /// Opens a location with extra object_store settings (`("aws_endpoint",
    /// "http://127.0.0.1:8333")`, …) on top of the environment's. HTTP client
    /// settings among them (object_store's `ClientConfigKey` names, such as
    /// `("timeout", "30s")`) override sparkplane's defaults of 5 s to connect
    /// and 120 s per request.
    pub fn open_with(location: &Location, options: &[(&str, &str)]) -> Result<Store, StorageError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sparkplane-storage")
            .enable_all()
            .build()
            .map_err(|e| StorageError::Local { url: location.to_string(), detail: format!("no I/O runtime: {e}") })?;
        let (inner, pages, root) = build(location, options)?;
        let runtime = Arc::new(runtime);
        Ok(Store { inner, pages, page_size: LIST_PAGE_SIZE, root, location: location.clone(), runtime })
    }

    /// The same store, listing `size` keys per page (at least 1; the default
    /// is [`LIST_PAGE_SIZE`]). Smaller pages mean more requests; tests use them
    /// to list in several pages without a thousand objects.
    pub fn with_list_page_size(mut self, size: usize) -> Store {
        self.page_size = size.max(1);
        self
    }

    /// The location this store was opened on.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The location of `key` below this store's, for messages.
    pub fn describe(&self, key: &str) -> String {
        self.location.join(key).to_string()
    }

    fn key(&self, key: &str) -> KeyPath {
        let key = key.trim_matches('/');
        if key.is_empty() {
            return self.root.clone();
        }
        key.split('/').filter(|part| !part.is_empty()).fold(self.root.clone(), |path, part| path.clone().join(part))
    }

    fn relative(&self, path: &KeyPath) -> String {
        path.prefix_match(&self.root)
            .map(|parts| parts.map(|p| p.as_ref().to_owned()).collect::<Vec<_>>().join("/"))
            .unwrap_or_else(|| path.to_string())
    }

    /// Every object under the location, sorted by key. When the location is
    /// itself one object, that object (with an empty key). Object storage is
    /// listed page by page; a failing page fails the whole listing, and the
    /// error says which page and how many objects had been listed before it
    /// (a partial listing is never returned: callers would take the objects
    /// it misses for deleted).
    pub fn list(&self) -> Result<Vec<Entry>, StorageError> {
        let url = self.location.to_string();
        let listed: Vec<object_store::ObjectMeta> = match &self.pages {
            Some(Pages(pages)) => self.list_pages(pages.as_ref())?,
            None => self
                .runtime
                .block_on(self.inner.list(Some(&self.root)).try_collect())
                .map_err(|e| StorageError::from_store(url.clone(), e))?,
        };
        let mut entries: Vec<Entry> = listed.iter().map(|meta| self.entry(meta)).collect();
        if entries.is_empty() {
            // A prefix with nothing below it may be an object itself.
            match self.head("") {
                Ok(entry) => entries.push(entry),
                Err(StorageError::NotFound { .. }) => return Err(StorageError::NotFound { url }),
                Err(other) => return Err(other),
            }
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    /// Every object below the root, one page of [`Store::with_list_page_size`]
    /// keys per request, following the store's continuation tokens.
    fn list_pages(&self, pages: &dyn PaginatedListStore) -> Result<Vec<object_store::ObjectMeta>, StorageError> {
        // Unlike `ObjectStore::list`, a paginated listing takes the prefix as is: the
        // trailing `/` keeps `logs` from matching `logs2/…`.
        let prefix = (!self.root.as_ref().is_empty()).then(|| format!("{}/", self.root));
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        for page in 1usize.. {
            let opts =
                PaginatedListOptions { max_keys: Some(self.page_size), page_token: token.take(), ..Default::default() };
            let answer = self.runtime.block_on(pages.list_paginated(prefix.as_deref(), opts)).map_err(|e| {
                let error = StorageError::from_store(self.location.to_string(), e);
                if page == 1 { error } else { error.on_page(page, objects.len()) }
            })?;
            objects.extend(answer.result.objects);
            match answer.page_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        Ok(objects)
    }

    fn entry(&self, meta: &object_store::ObjectMeta) -> Entry {
        Entry {
            key: self.relative(&meta.location),
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
            e_tag: meta.e_tag.clone(),
        }
    }

    /// Size and modification time of one object.
    pub fn head(&self, key: &str) -> Result<Entry, StorageError> {
        let meta = self
            .runtime
            .block_on(self.inner.head(&self.key(key)))
            .map_err(|e| StorageError::from_store(self.describe(key), e))?;
        Ok(Entry { key: key.trim_matches('/').to_owned(), ..self.entry(&meta) })
    }

    /// A whole object in memory. For large objects prefer [`Store::reader`].
    pub fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let path = self.key(key);
        self.runtime
            .block_on(async { self.inner.get(&path).await?.bytes().await })
            .map_err(|e| StorageError::from_store(self.describe(key), e))
    }

    /// The bytes of `range` of one object.
    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        self.runtime
            .block_on(self.inner.get_range(&self.key(key), range))
            .map_err(|e| StorageError::from_store(self.describe(key), e))
    }

    /// A streaming reader over one object: ranged requests of `chunk` bytes,
    /// the next one fetched while the current one is read, so memory stays
    /// at two chunks whatever the object's size.
    pub fn reader(&self, key: &str, chunk: usize) -> Result<ObjectReader, StorageError> {
        let size = self.head(key)?.size;
        Ok(ObjectReader::new(
            Arc::clone(&self.inner),
            Arc::clone(&self.runtime),
            self.key(key),
            self.describe(key),
            size,
            chunk,
        ))
    }

    /// Writes one object, atomically (readers see all of it or none).
    pub fn put(&self, key: &str, data: impl Into<Bytes>) -> Result<(), StorageError> {
        let payload = object_store::PutPayload::from_bytes(data.into());
        self.runtime
            .block_on(self.inner.put(&self.key(key), payload))
            .map(|_| ())
            .map_err(|e| StorageError::from_store(self.describe(key), e))
    }

    /// Writes one object from `reader` in parts of `part` bytes (at least
    /// 5 MiB for S3), never holding the whole object in memory; readers see
    /// all of it or none (the upload completes only after the last byte, and
    /// is aborted when reading fails). Returns the bytes written.
    pub fn put_from(&self, key: &str, reader: &mut dyn std::io::Read, part: usize) -> Result<u64, StorageError> {
        let path = self.key(key);
        let fail = |e| StorageError::from_store(self.describe(key), e);
        let upload = self.runtime.block_on(self.inner.put_multipart(&path)).map_err(fail)?;
        // Parts are uploaded by tasks the writer spawns: they need the runtime as context.
        let _context = self.runtime.enter();
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, part);
        let mut buffer = vec![0u8; 256 * 1024];
        let mut written = 0u64;
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = self.runtime.block_on(writer.abort());
                    return Err(StorageError::Local {
                        url: self.describe(key),
                        detail: format!("reading the data: {e}"),
                    });
                }
            };
            if let Err(e) = self.runtime.block_on(writer.wait_for_capacity(2)) {
                return Err(fail(e));
            }
            writer.write(&buffer[..read]);
            written += read as u64;
        }
        self.runtime.block_on(writer.finish()).map_err(fail)?;
        Ok(written)
    }

    /// Copies one object to `to_key` in `target` (server-side when both are
    /// the same store, through this machine otherwise). Never deletes.
    pub fn copy_to(&self, key: &str, target: &Store, to_key: &str) -> Result<(), StorageError> {
        if Arc::ptr_eq(&self.inner, &target.inner) {
            let (from, to) = (self.key(key), target.key(to_key));
            return self
                .runtime
                .block_on(self.inner.copy(&from, &to))
                .map_err(|e| StorageError::from_store(self.describe(key), e));
        }
        let data = self.get(key)?;
        target.put(to_key, data)
    }

    /// Removes one object. Callers that move data copy first and delete only
    /// after the copy is confirmed.
    pub fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.runtime
            .block_on(self.inner.delete(&self.key(key)))
            .map_err(|e| StorageError::from_store(self.describe(key), e))
    }

    /// A store on `relative` below this one, sharing the connection.
    pub fn child(&self, relative: &str) -> Store {
        Store {
            inner: Arc::clone(&self.inner),
            pages: self.pages.clone(),
            page_size: self.page_size,
            root: self.key(relative),
            location: self.location.join(relative),
            runtime: Arc::clone(&self.runtime),
        }
    }
}

/// Bounded patience: a dead endpoint fails in seconds, not the library's
/// default minutes of retries.
fn retry() -> RetryConfig {
    RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(20), ..RetryConfig::default() }
}

/// sparkplane's HTTP client defaults, then every option that names a client
/// setting (`timeout`, `connect_timeout`, `aws_allow_http`, …): the builders'
/// own `with_client_options` would otherwise replace the ones the caller gave.
fn client(allow_http: bool, options: &[(&str, &str)]) -> ClientOptions {
    let mut client = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(120));
    for (key, value) in options {
        let bare = ["aws_", "google_", "azure_"].iter().find_map(|p| key.strip_prefix(p)).unwrap_or(key);
        if let Ok(setting) = bare.parse::<ClientConfigKey>() {
            client = client.with_config(setting, *value);
        }
    }
    client
}

/// A built store, its paginated listing (object storage only) and the root key.
type Built = (Arc<dyn ObjectStore>, Option<Pages>, KeyPath);

/// A store's paginated listing.
#[derive(Clone)]
struct Pages(Arc<dyn PaginatedListStore>);

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

fn build(location: &Location, options: &[(&str, &str)]) -> Result<Built, StorageError> {
    let fail = |e: object_store::Error| StorageError::BadLocation {
        input: location.to_string(),
        reason: format!("cannot configure the object store: {e}"),
    };
    match location {
        Location::Local(path) => {
            let absolute = std::path::absolute(path)
                .map_err(|e| StorageError::Local { url: path.display().to_string(), detail: e.to_string() })?;
            let root = KeyPath::from_absolute_path(&absolute)
                .map_err(|e| StorageError::BadLocation { input: path.display().to_string(), reason: e.to_string() })?;
            Ok((Arc::new(object_store::local::LocalFileSystem::new()), None, root))
        }
        Location::Remote { scheme, url, bucket, prefix } => {
            let root = KeyPath::from(prefix.as_str());
            let (store, pages): (Arc<dyn ObjectStore>, Arc<dyn PaginatedListStore>) = match scheme {
                Scheme::S3 => {
                    let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                    for (key, value) in options {
                        let key = key.parse().map_err(fail)?;
                        builder = builder.with_config(key, *value);
                    }
                    let endpoint =
                        builder.get_config_value(&object_store::aws::AmazonS3ConfigKey::Endpoint).unwrap_or_default();
                    if builder.get_config_value(&object_store::aws::AmazonS3ConfigKey::Region).is_none() {
                        // S3-compatible servers accept any region; AWS itself redirects.
                        builder = builder.with_region("us-east-1");
                    }
                    let built = builder
                        .with_client_options(client(endpoint.starts_with("http://"), options))
                        .with_retry(retry())
                        .build()
                        .map_err(fail)?;
                    both(built)
                }
                Scheme::Gcs => {
                    let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
                    for (key, value) in options {
                        builder = builder.with_config(key.parse().map_err(fail)?, *value);
                    }
                    both(
                        builder
                            .with_client_options(client(false, options))
                            .with_retry(retry())
                            .build()
                            .map_err(fail)?,
                    )
                }
                Scheme::Azure => {
                    let mut builder = object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url.as_str());
                    for (key, value) in options {
                        builder = builder.with_config(key.parse().map_err(fail)?, *value);
                    }
                    both(
                        builder
                            .with_client_options(client(false, options))
                            .with_retry(retry())
                            .build()
                            .map_err(fail)?,
                    )
                }
            };
            Ok((store, Some(Pages(pages)), root))
        }
    }
}

/// One cloud store behind both of its listing interfaces.
fn both<S: ObjectStore + PaginatedListStore>(store: S) -> (Arc<dyn ObjectStore>, Arc<dyn PaginatedListStore>) {
    let store = Arc::new(store);
    (Arc::clone(&store) as Arc<dyn ObjectStore>, store)
}
