//! The webhook receiver: records when the first webhook of each (campaign,
//! rule) arrived and the payload's `timestamp` (the window result's time).
//! On a thread and runtime of its own, so its clock reads do not queue
//! behind the load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use adpulse_domain::CampaignId;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::{Res, err};

/// A webhook as received.
#[derive(Clone, Copy)]
pub struct Got {
    pub at: Instant,
    /// The payload's `timestamp`: the window result's time (the worker's
    /// clock as it starts writing the live counters, then publishing).
    pub published: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Inbox {
    /// (campaign, rule name) → the first one.
    first: HashMap<(String, String), Got>,
    total: u64,
}

type Running = (oneshot::Sender<()>, std::thread::JoinHandle<()>);

pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    inbox: Arc<Mutex<Inbox>>,
    running: Mutex<Option<Running>>,
}

/// Serves `inbox` on a loopback port (sent back through `tx`) until
/// `stopped`.
fn serve(
    inbox: Arc<Mutex<Inbox>>,
    tx: std::sync::mpsc::Sender<Result<String, String>>,
    stopped: oneshot::Receiver<()>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Err(e.to_string()));
            return;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
        let _ = tx.send(listener.local_addr().map(|a| a.to_string()).map_err(err));
        let app = axum::Router::new().fallback(receive).with_state(inbox);
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
}

async fn receive(
    axum::extract::State(inbox): axum::extract::State<Arc<Mutex<Inbox>>>,
    body: Bytes,
) -> axum::http::StatusCode {
    let at = Instant::now();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let campaign = v["data"]["campaign"]["id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let rule = v["data"]["rule"]["name"].as_str().unwrap_or("").to_owned();
    let published = v["timestamp"].as_str().and_then(|t| t.parse().ok());
    let mut i = inbox.lock().unwrap_or_else(PoisonError::into_inner);
    i.total += 1;
    i.first
        .entry((campaign, rule))
        .or_insert(Got { at, published });
    axum::http::StatusCode::NO_CONTENT
}

impl Receiver {
    pub fn start() -> Res<Self> {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let (stop, stopped) = oneshot::channel::<()>();
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = Arc::clone(&inbox);
        let thread = std::thread::Builder::new()
            .name("receiver".into())
            .spawn(move || serve(shared, tx, stopped))?;
        let addr = rx.recv()??;
        Ok(Self {
            url: format!("http://{addr}"),
            inbox,
            running: Mutex::new(Some((stop, thread))),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first webhook of `rule` naming `campaign`, waiting for it until
    /// `deadline`.
    pub async fn wait(&self, campaign: CampaignId, rule: &str, deadline: Instant) -> Option<Got> {
        let key = (campaign.to_string(), rule.to_owned());
        loop {
            if let Some(g) = self.lock().first.get(&key) {
                return Some(*g);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Webhooks received so far.
    pub fn total(&self) -> u64 {
        self.lock().total
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = running {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}
