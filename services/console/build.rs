//! Compiles the console's built files (`web/dist`, or the folder in
//! `ADPULSE_CONSOLE_DIST`) into the crate: a table of every file with its
//! type, an ETag and, for text, a gzip copy made here once (the best
//! compression; nothing is compressed per request).
//!
//! Without a built console the table is empty and the crate serves a page
//! that says how to build it (`scripts/web`); `scripts/up` and
//! `scripts/test` build it first.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

fn mime(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/") || mime.contains("json") || mime.contains("svg")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = std::env::var_os("ADPULSE_CONSOLE_DIST")
        .map_or_else(|| manifest.join("../../web/dist"), PathBuf::from);
    println!("cargo:rerun-if-env-changed=ADPULSE_CONSOLE_DIST");
    // A folder is scanned whole; a missing one makes Cargo look again at
    // every build, so building the console later is noticed.
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut paths = Vec::new();
    files(&dist, &mut paths);
    paths.sort();
    if paths.is_empty() {
        println!(
            "cargo:warning=the web console is not built ({} is empty): the binary will serve a page saying so; run scripts/web",
            dist.display()
        );
    }
    let mut table = String::from("&[\n");
    for (i, p) in paths.iter().enumerate() {
        let rel = p
            .strip_prefix(&dist)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let body = std::fs::read(p).unwrap();
        let mime = mime(p);
        let etag: String = Sha256::digest(&body)[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let gzip = if compressible(mime) && body.len() > 512 {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&body).unwrap();
            let gz = e.finish().unwrap();
            (gz.len() < body.len()).then(|| {
                let gz_path = out.join(format!("console-{i}.gz"));
                std::fs::write(&gz_path, gz).unwrap();
                format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
            })
        } else {
            None
        };
        writeln!(
            table,
            "    File {{ path: {:?}, mime: {mime:?}, etag: {:?}, body: include_bytes!({:?}), gzip: {} }},",
            format!("/{rel}"),
            format!("\"{etag}\""),
            p.canonicalize().unwrap().display().to_string(),
            gzip.unwrap_or_else(|| "None".into()),
        )
        .unwrap();
    }
    table.push(']');
    std::fs::write(out.join("console_files.rs"), table).unwrap();
}
