//! The gateway against real Kafka and Postgres: where accepted events land,
//! what every kind of bad input gets, rate limits, revocation, and 503 when
//! the log fails.
//!
//! Each module is one topic; the gateway and its tenants are built in
//! `common` (shared with the gateway's other suites).

#[path = "../common/mod.rs"]
mod common;

mod accepted;
mod bad_input;
mod lifecycle;
mod limits;

use std::io::Write as _;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

fn header<'a>(r: &'a common::Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}
