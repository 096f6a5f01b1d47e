//! The contracts between crates: what one process writes and another reads
//! back, typed once here so neither side spells a header name, a JSON field
//! or a reason code of its own.
//!
//! - [`envelope`]: an accepted event as a record of the events stream (key,
//!   payload, headers), encoded by the gateway and decoded by the worker.
//! - [`rejected`]: a row of the rejected stream, written by the gateway and
//!   by the worker, and [`reason`]: the codes rows and metrics carry.
//! - [`window`]: a window result on the campaign-metrics stream, read by
//!   consumers outside adpulse.
//!
//! The JSON of rows and window results is written with its object keys in
//! sorted order, nested objects included: that is what the inline
//! `serde_json::json!` values they replace wrote (`serde_json` without
//! `preserve_order` keeps objects in a `BTreeMap`), and consumers outside
//! adpulse read those bytes. Tests in each module pin them.

pub mod envelope;
pub mod reason;
pub mod rejected;
pub mod window;

use serde::Serialize;

/// `value` as JSON text with every object's keys sorted (see the module
/// docs). Serializing plain data types into memory cannot fail (every map
/// key is a string, no serializer is fallible), so a failure writes nothing
/// rather than panic.
fn sorted_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_value(value)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default()
}
