//! Shutting down with live streams open: SIGTERM ends every server-sent
//! event stream (the page reconnects, through the balancer, to a replica
//! that stays) and the process exits, instead of the stream holding the
//! drain until the orchestrator's grace runs out and it is killed.

mod common;

use std::time::Duration;

use common::platform::Platform;
use http_body_util::BodyExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_live_streams_and_the_process_exits() {
    let mut p = Platform::embedded().await;
    let t = p.tenant("streams", 1).await;
    let auth = format!("Bearer {}", t.token);
    let res = p
        .api
        .open(
            &format!("/api/v1/campaigns/{}/realtime/stream", t.campaigns[0]),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the current view at once")
        .expect("a frame")
        .expect("no error");
    assert!(first.data_ref().is_some_and(|d| !d.is_empty()), "an event");

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &p.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // The stream ends: its remaining frames, then the end (or the
    // connection closed after its last frame).
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(_)) = body.frame().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end on SIGTERM");
    let status = p.wait_exit(Duration::from_secs(20)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "adpulse up exits cleanly after SIGTERM: {status:?}\n{}",
        p.logs()
    );
}
