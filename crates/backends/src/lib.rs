//! One type per port over its production adapter and its embedded one,
//! chosen once when a service starts: `adpulse gateway|worker|api` pick the
//! production side (Postgres, …), `adpulse up` the embedded side (SQLite,
//! …). Services hold these types and never name an adapter crate, so the
//! same service code runs in both modes.
//!
//! Each type is an enum that forwards every call to the adapter it holds;
//! no policy lives here.

mod archive;
mod live;
mod log;
mod store;

pub use archive::Archive;
pub use live::Live;
pub use log::Log;
pub use store::Store;
