//! Frequency capping: how often one person may see a campaign (or each of
//! its ads) per hour, day or week.
//!
//! - [`window`]: the counting window of a decision, calendar (in the
//!   campaign's time zone, DST-correct) or rolling;
//! - [`sketch`]: a count-min sketch with conservative update that sizes
//!   itself from the expected active (person, campaign) pairs and a target
//!   over-cap rate, and never lets a person past the cap;
//! - [`memory`]: the exact in-memory store (for `adpulse up` and tests);
//! - [`identity`]: which person a request is about, across devices.
//!
//! A decision reserves atomically: check and increment are one step, so
//! concurrent requests from one person's devices can never pass at N-1
//! together.

pub mod decide;
pub mod identity;
pub mod memory;
pub mod plan;
pub mod sketch;
pub mod store;
pub mod window;

pub use store::{CapStore, StoreError};
pub use window::Window;

/// What a reservation decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the impression may be served (and was counted).
    pub allow: bool,
    /// Impressions counted in the window, this one included if allowed.
    pub count: u32,
}
