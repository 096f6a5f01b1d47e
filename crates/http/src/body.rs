//! Request bodies with a deadline: from the handler's first read, a body
//! has `body_timeout_ms` plus one second per `body_min_bytes_per_sec`
//! bytes received. The clock starts at the first read, not at the request,
//! so a handler that answers first (401) or waits on something else before
//! reading never blames the client for its own time.
//!
//! The deadline is looked at only when the body has nothing to give: bytes
//! already buffered are always handed over. A late body yields
//! [`BodyTimeout`] to whoever reads it and marks its request, so the
//! connection answers 408 and closes (`conn`).

use std::error::Error;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::{Limits, metrics};

type BoxError = Box<dyn Error + Send + Sync>;

/// A request body did not arrive within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimeout;

/// Whether `e`, or an error it wraps, is a [`BodyTimeout`]: a service
/// that reads bodies itself can answer 408 in its own shape.
pub fn is_body_timeout(e: &(dyn Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<BodyTimeout>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// A request body (hyper's) with the deadline.
pub(crate) struct TimedBody<B = Incoming> {
    inner: B,
    /// Started at the first read.
    clock: Option<Clock>,
    grace: Duration,
    rate: u64,
    /// Set when the deadline passed; read by the connection's service.
    late: Arc<AtomicBool>,
    name: &'static str,
}

struct Clock {
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
}

impl<B> TimedBody<B> {
    pub(crate) fn new(inner: B, limits: Limits, late: Arc<AtomicBool>, name: &'static str) -> Self {
        Self {
            inner,
            clock: None,
            grace: limits.body,
            rate: limits.body_rate,
            late,
            name,
        }
    }
}

/// When a body read from `started` that has `received` bytes so far is
/// due: `grace` plus one second per `rate` bytes (no allowance at 0).
fn due(started: Instant, received: u64, grace: Duration, rate: u64) -> Instant {
    let allowance = if rate == 0 {
        Duration::ZERO
    } else {
        let nanos = u128::from(received) * 1_000_000_000 / u128::from(rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    };
    let far = Duration::from_secs(100 * 365 * 86_400);
    started
        .checked_add(grace.saturating_add(allowance))
        .unwrap_or(started + far)
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.late.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        let (grace, rate) = (this.grace, this.rate);
        let clock = this.clock.get_or_insert_with(|| {
            let started = Instant::now();
            Clock {
                started,
                received: 0,
                timer: Box::pin(tokio::time::sleep_until(due(started, 0, grace, rate))),
            }
        });
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    clock.received = clock.received.saturating_add(data.len() as u64);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = due(clock.started, clock.received, grace, rate);
                if clock.timer.deadline() != deadline {
                    clock.timer.as_mut().reset(deadline);
                }
                if clock.timer.as_mut().poll(cx).is_ready() {
                    this.late.store(true, Ordering::Release);
                    metrics::timed_out(this.name, "body");
                    return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tokio::sync::mpsc;

    use super::*;

    /// A body fed by hand.
    struct Fed(mpsc::UnboundedReceiver<Bytes>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.get_mut()
                .0
                .poll_recv(cx)
                .map(|b| b.map(|b| Ok(Frame::data(b))))
        }
    }

    fn timed(
        grace_ms: u64,
        rate: u64,
    ) -> (
        mpsc::UnboundedSender<Bytes>,
        TimedBody<Fed>,
        Arc<AtomicBool>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let late = Arc::new(AtomicBool::new(false));
        let limits = Limits {
            header: Duration::ZERO,
            idle: Duration::ZERO,
            body: Duration::from_millis(grace_ms),
            body_rate: rate,
            max_connections: 1,
        };
        (
            tx,
            TimedBody::new(Fed(rx), limits, Arc::clone(&late), "test"),
            late,
        )
    }

    /// Reads `body` to its end or its first error: bytes read, whether it
    /// failed, and when (from the call).
    async fn drain(body: &mut TimedBody<Fed>) -> (usize, bool, Duration) {
        use http_body_util::BodyExt as _;
        let started = Instant::now();
        let mut read = 0;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => read += f.data_ref().map_or(0, Bytes::len),
                Err(e) => {
                    assert!(is_body_timeout(&*e));
                    return (read, true, started.elapsed());
                }
            }
        }
        (read, false, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_fails_at_the_grace_and_marks_its_request() {
        let (_tx, mut body, late) = timed(300, 10);
        // The clock starts at the first read, not when the body is made.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(
            drain(&mut body).await,
            (0, true, Duration::from_millis(300))
        );
        assert!(late.load(Ordering::Acquire));
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_received_extend_the_deadline() {
        // 5 bytes at 10 B/s: half a second more than the grace.
        let (tx, mut body, _) = timed(300, 10);
        tx.send(Bytes::from_static(b"12345")).expect("send");
        assert_eq!(
            drain(&mut body).await,
            (5, true, Duration::from_millis(800))
        );
        // No allowance at 0.
        let (tx, mut body, _) = timed(300, 0);
        tx.send(Bytes::from_static(b"12345")).expect("send");
        assert_eq!(
            drain(&mut body).await,
            (5, true, Duration::from_millis(300))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_the_rate_or_ends_is_not_cut() {
        let (tx, mut body, late) = timed(300, 10);
        let feed = async move {
            for _ in 0..20 {
                tx.send(Bytes::from_static(b"ab")).expect("send");
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        };
        let ((read, failed, _), ()) = tokio::join!(drain(&mut body), feed);
        assert_eq!((read, failed), (40, false), "13 B/s against 10 B/s");
        assert!(!late.load(Ordering::Acquire));
    }

    #[test]
    fn the_deadline_grows_with_bytes_received() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(10);
        assert_eq!(due(t0, 0, grace, 8192), t0 + grace);
        assert_eq!(
            due(t0, 8192, grace, 8192),
            t0 + grace + Duration::from_secs(1)
        );
        assert_eq!(
            due(t0, 4096, grace, 8192),
            t0 + grace + Duration::from_millis(500)
        );
        assert_eq!(due(t0, 1 << 30, grace, 0), t0 + grace, "0: no allowance");
        assert!(due(t0, u64::MAX, Duration::MAX, 1) > t0, "no overflow");
    }

    #[test]
    fn timeouts_are_found_inside_wrappers() {
        let wrapped = axum::Error::new(BodyTimeout);
        assert!(is_body_timeout(&wrapped));
        let boxed: BoxError = Box::new(BodyTimeout);
        assert!(is_body_timeout(&*axum::Error::new(boxed).into_inner()));
        assert!(!is_body_timeout(&std::io::Error::other("x")));
    }
}
