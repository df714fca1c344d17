//! sparkplane's History Server: Spark's `/api/v1` REST API answered from event
//! logs in a folder or under an object-store prefix.
//!
//! The pipeline is `index` → replay → `api`: [`index`] lists the location
//! incrementally and keeps one small record per application attempt (built
//! from `sparkplane_eventlog`'s `AppSummary`); the replay into the jobs,
//! stages, tasks and executors Spark's status store would hold is
//! `sparkplane_appstatus`'s, run here on demand, parsed on every core by
//! [`pipeline`] and cached within a memory budget; [`records`] holds
//! the listing's records compactly; [`persist`] keeps the
//! index's records on local disk across restarts; [`api`] is a pure function from a
//! request to Spark's JSON answer. [`server`] is the handler the one HTTP
//! scaffold (`sparkplane_http`) serves, and the rescans; every answer it
//! gives is made from [`viewed`], the index as the request's viewer sees it
//! (each record keeps its application's access facts, and an application
//! the viewer may not see answers as an unknown one, ADR 0090); [`time`]
//! formats and parses Spark's dates, [`units`] its sizes and grouped counts;
//! [`download`] streams the `logs` zip, framed by [`zip`]. The Parquet facts export (`sparkplane history export`)
//! is its own crate, `sparkplane-facts`, which reads each log through this
//! crate's one pass ([`index::read_once`]).

pub mod api;
pub mod download;
pub mod gate;
pub mod index;
pub mod live;
pub mod metrics;
pub mod page;
pub mod persist;
pub mod pipeline;
pub mod records;
pub mod server;
pub mod time;
pub mod ui;
pub mod units;
pub mod viewed;
pub mod zip;

pub use api::{AttemptInfo, Catalog, Download, Response, SPARK_API_VERSION, respond};
pub use index::{DEFAULT_CACHE_BYTES, Entry, EntryLog, Index, IndexStats, SkippedLog};
pub use live::{KillLinks, LiveApp, LiveSource, LiveUi};
pub use metrics::RequestStats;
pub use server::{
    Admit, DEFAULT_LISTEN, Extras, Gate, HistoryServer, ServeError, Surface, serve, serve_door, serve_with,
};
pub use viewed::Viewed;
