//! Local Spark: managed runtimes, Java checks, the local runner, progress,
//! run history, the whole local-run workflow over them (`workflow`), and a
//! local Spark Connect server and its SQL client (`connect*`), `sql`'s
//! workflow over them (`sql_run`) and its scripts (`sql_script`), and the Spark
//! properties of a PostgreSQL-backed Hive metastore (`metastore`) and of
//! Hadoop's S3A connector (`s3a`). The I/O around the core's local plan.
pub mod connect;
pub mod connect_client;
pub mod connect_launch;
pub mod connect_server;
pub mod connect_session;
pub mod history;
pub mod java;
pub mod live;
pub mod metastore;
pub mod progress;
pub mod runner;
pub mod runtime;
pub mod s3a;
pub mod sql_run;
pub mod sql_script;
pub mod summary;
pub mod workflow;
