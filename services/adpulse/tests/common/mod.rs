//! Shared test support for the `adpulse` binary's tests.

pub mod http;
pub mod platform;
pub mod worker;
