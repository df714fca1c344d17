//! sparkplane's data types and nothing else: the SparkJob spec (also the CRD),
//! presets and environment overlays, node pools, data-quality specs, and typed quantities.
//!
//! This crate holds no behaviour beyond parsing and printing its own values;
//! loading, merging, validation, sizing and rendering live in `sparkplane-core`.

pub mod backup;
pub mod budget;
pub mod crd;
pub mod dq;
pub mod job;
pub mod kubeflow;
pub mod labels;
pub mod layer;
pub mod nodes;
pub mod quantity;
pub mod queues;
pub mod tenant;

pub use dq::DqSpec;
pub use job::{API_VERSION, SparkJob, SparkJobSpec};
pub use layer::{Environment, JobTemplate, Preset};
pub use nodes::{NodePool, NodePools};
pub use quantity::{CpuAmount, Duration, MemorySize, SparkSizeUnit};
pub use queues::Queues;
