//! One way to read and write where sparkplane's data lives: local folders and
//! object storage (S3 and S3-compatible servers, Google Cloud Storage, Azure
//! Blob Storage) behind object_store.
//!
//! Owns: parsing a location (`s3://bucket/prefix`, `gs://…`, `az://…`,
//! `abfss://…`, or a local path) ([`Location`]), a blocking [`Store`] over
//! one location (list — page by page on object storage, each object with its
//! size, modification time and ETag —, get, ranged reads, a streaming [`ObjectReader`], put,
//! copy), a local file written whole or not at all ([`write_file_atomically`]), and the mapping of storage failures to errors a user can act on
//! with sparkplane's exit codes ([`StorageError`]). Must not: know about
//! event logs, datasets or any other format — its callers do.
//!
//! Credentials come from the environment the way each cloud's own tools read
//! them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` for S3-compatible servers; `GOOGLE_APPLICATION_CREDENTIALS`;
//! `AZURE_STORAGE_ACCOUNT_NAME` and `AZURE_STORAGE_ACCOUNT_KEY`), and are never
//! part of an error or a displayed location.

mod error;
mod file;
mod location;
mod reader;
mod store;

pub use error::StorageError;
pub use file::write_file_atomically;
pub use location::{Location, Scheme};
pub use reader::ObjectReader;
pub use store::{Entry, LIST_PAGE_SIZE, Store};
