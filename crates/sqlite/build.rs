//! Rebuilds this crate when a migration is added or changed:
//! `sqlx::migrate!` embeds `migrations/sqlite/` and
//! `migrations/sqlite-archive/` at compile time, and on stable Rust cargo
//! watches neither folder by itself (a new file went unnoticed).

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
    println!("cargo:rerun-if-changed=../../migrations/sqlite-archive");
}
