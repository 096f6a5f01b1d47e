//! Webhook delivery over real HTTP on loopback, the sender called
//! directly: a name that resolves to a private address is refused for
//! good when private destinations are not allowed (the check after DNS,
//! not only the one when the channel was written); a receiver that hangs
//! costs one time limit and is retried; a redirect is not followed.

use std::time::{Duration, Instant};

use adpulse_alerter::deliver::next_step;
use adpulse_alerter::deliver::send::{SendError, Sender};
use adpulse_config::AlertsConfig;
use adpulse_domain::TenantId;
use adpulse_domain::alert::ChannelKind;
use adpulse_domain::alert::ledger::{DeliveryRecord, DeliveryStatus, DueDelivery, NextStep};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

fn webhook(target: String) -> DueDelivery {
    let now = Utc::now();
    DueDelivery {
        delivery: DeliveryRecord {
            id: Uuid::now_v7(),
            firing: Uuid::now_v7(),
            rule: Uuid::now_v7(),
            channel: Uuid::now_v7(),
            tenant: TenantId::from_uuid(Uuid::now_v7()),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: None,
            payload: json!({"type": "alert.fired", "data": {"message": "m"}}),
            created_at: now,
            updated_at: now,
        },
        kind: ChannelKind::Webhook,
        target,
        secrets: vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
    }
}

/// A server on loopback that answers every request after `delay` with
/// `status` and `location`.
async fn server(delay: Duration, status: u16, location: Option<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        let mut r = axum::http::Response::builder().status(status);
        if let Some(l) = location {
            r = r.header("location", l);
        }
        r.body(axum::body::Body::empty()).expect("response")
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("{port}")
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_for_good() {
    let port = server(Duration::ZERO, 204, None).await;
    let strict = Sender::new(Duration::from_secs(2), false, None).expect("sender");
    // `localhost` passes no check at write time here (the channel could
    // have been written when private destinations were allowed); the
    // resolver refuses 127.0.0.1 before connecting.
    let d = webhook(format!("http://localhost:{port}/hook"));
    let err = strict
        .send(&d, Utc::now().timestamp())
        .await
        .expect_err("refused");
    assert!(matches!(err, SendError::Refused(_)), "{err:?}");
    assert_eq!(
        next_step(&AlertsConfig::default(), &Err(err), 1),
        NextStep::Dead
    );
    // A literal private address too.
    let d = webhook(format!("http://127.0.0.1:{port}/hook"));
    assert!(matches!(
        strict.send(&d, 0).await,
        Err(SendError::Refused(_))
    ));
    // Allowed by the operator: delivered.
    let open = Sender::new(Duration::from_secs(2), true, None).expect("sender");
    let d = webhook(format!("http://localhost:{port}/hook"));
    assert_eq!(
        open.send(&d, Utc::now().timestamp()).await.expect("sent"),
        Some(204)
    );
}

#[tokio::test]
async fn a_hanging_receiver_costs_one_time_limit_and_is_retried() {
    let port = server(Duration::from_secs(30), 204, None).await;
    let sender = Sender::new(Duration::from_millis(300), true, None).expect("sender");
    let started = Instant::now();
    let err = sender
        .send(&webhook(format!("http://127.0.0.1:{port}/slow")), 0)
        .await
        .expect_err("timed out");
    let took = started.elapsed();
    assert!(matches!(err, SendError::Transport(_)), "{err:?}");
    assert!(took < Duration::from_secs(3), "gave up after {took:?}");
    assert!(matches!(
        next_step(&AlertsConfig::default(), &Err(err), 1),
        NextStep::RetryAt(_)
    ));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let port = server(
        Duration::ZERO,
        307,
        Some("http://169.254.169.254/latest/meta-data/"),
    )
    .await;
    let sender = Sender::new(Duration::from_secs(2), true, None).expect("sender");
    let err = sender
        .send(&webhook(format!("http://127.0.0.1:{port}/r")), 0)
        .await
        .expect_err("a redirect is not success");
    assert_eq!(err.status(), Some(307));
}
