//! A notification receiver on loopback, as a customer's endpoint would
//! be: it records every request (path, headers, body, when), answers
//! each path with the status a test sets (200 by default), and checks
//! Standard Webhooks signatures on its own (HMAC-SHA256, not the
//! alerter's code).

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// Whether `webhook-signature` holds a valid v1 signature by `secret`.
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .expect("base64");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        let signed = format!(
            "{}.{}.",
            self.header("webhook-id"),
            self.header("webhook-timestamp")
        );
        mac.update(signed.as_bytes());
        mac.update(&self.body);
        let want = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.header("webhook-signature")
            .split(' ')
            .any(|s| s == want)
    }
}

#[derive(Default)]
struct Inner {
    got: Vec<Received>,
    status: HashMap<String, u16>,
    /// How long each path takes to answer.
    hang: HashMap<String, Duration>,
}

/// The receiver and what it got.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

async fn record(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (status, hang) = remember(&inner, uri.path(), &headers, &body);
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

/// Records one request; the status to answer and how long to wait first.
fn remember(
    inner: &Mutex<Inner>,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (u16, Option<Duration>) {
    let mut i = inner.lock().unwrap_or_else(PoisonError::into_inner);
    let status = i.status.get(path).copied().unwrap_or(200);
    let hang = i.hang.get(path).copied();
    i.got.push(Received {
        path: path.to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
        at: Instant::now(),
    });
    (status, hang)
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(record)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inner, task }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers `path` with `status` from now on.
    pub fn answer(&self, path: &str, status: u16) {
        self.lock().status.insert(path.to_owned(), status);
    }

    /// Makes `path` take `d` before answering (`None`: answer at once).
    pub fn hang(&self, path: &str, d: Option<Duration>) {
        let mut i = self.lock();
        match d {
            Some(d) => i.hang.insert(path.to_owned(), d),
            None => i.hang.remove(path),
        };
    }

    /// Everything received at `path` so far.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.lock()
            .got
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `path` received at least `n` requests; all it got.
    pub async fn wait(&self, path: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{path} received {} of {n} requests in {within:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
