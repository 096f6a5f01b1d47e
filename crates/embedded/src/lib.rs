//! Embedded adapters: what `adpulse up` runs the ports on, in one process,
//! with every byte under one data folder.
//!
//! Each module implements a port of `adpulse_domain::ports` (or of a
//! service) the way its production adapter does, with the same guarantees:
//! the conformance suites run against both.
//!
//! - [`log`]: the event log, a partitioned append-only file log with group
//!   commit (an append resolves once its records are on disk) and recovery
//!   that cuts a torn tail after a crash.
//! - [`source`]: the worker's side of it, a group member owning every
//!   partition, with its resume hints in the log's folder.
//! - [`live`]: live counters and the live series in process memory.

pub mod live;
pub mod log;
pub mod source;

pub use live::MemoryLive;
pub use log::{LocalLog, LocalLogConfig, LogError, StoredRecord};
pub use source::LocalSource;
