//! Hostile HTTP/1 clients on raw sockets, for the listener defences
//! (`adpulse-http`): a client that stops mid-head, trickles headers, sits
//! idle on a kept-alive connection, or opens more connections than the cap.
//! The scenarios take the timeouts the listener under test was configured
//! with (short ones: a few hundred milliseconds) and assert both bounds:
//! closed no earlier than the timeout (it is the timer, not something
//! else) and no later than the timeout plus [`SLACK`].

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How late past its timeout a close may come on a busy test machine.
pub const SLACK: Duration = Duration::from_millis(2_000);

/// Timers never fire early, but the client's and the server's clocks start
/// a little apart.
const EARLY: Duration = Duration::from_millis(5);

/// One raw connection and what it has received so far.
pub struct Raw {
    stream: TcpStream,
    received: Vec<u8>,
    closed: bool,
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`, or up to the close).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Raw {
    /// Connects to `addr` (the kernel completes the handshake whether or
    /// not the server has accepted yet).
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self {
            stream,
            received: Vec::new(),
            closed: false,
        }
    }

    /// Sends `bytes`; false if the server has closed the connection.
    pub async fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok() && self.stream.flush().await.is_ok()
    }

    /// Reads until the server closes the connection or `within` passes;
    /// how long the close took from now, or `None` if it is still open.
    pub async fn closed_within(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        let deadline = started + within;
        while !self.closed {
            if !self.read_some(deadline).await {
                return None;
            }
        }
        Some(started.elapsed())
    }

    /// The next response, if a whole one arrives within `within`.
    pub async fn response(&mut self, within: Duration) -> Option<RawResponse> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((response, used)) = parse(&self.received, self.closed) {
                self.received.drain(..used);
                return Some(response);
            }
            if self.closed || !self.read_some(deadline).await {
                return None;
            }
        }
    }

    /// One read; false when `deadline` passed first.
    async fn read_some(&mut self, deadline: Instant) -> bool {
        let mut buf = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
            Err(_) => false,
            Ok(Ok(0) | Err(_)) => {
                self.closed = true;
                true
            }
            Ok(Ok(n)) => {
                self.received.extend_from_slice(&buf[..n]);
                true
            }
        }
    }
}

/// A whole response at the start of `buf`, and how many bytes it took.
fn parse(buf: &[u8], closed: bool) -> Option<(RawResponse, usize)> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let end = match length {
        Some(n) if buf.len() >= head_end + n => head_end + n,
        Some(_) => return None,
        None if closed => buf.len(),
        None => return None,
    };
    Some((
        RawResponse {
            status,
            headers,
            body: buf[head_end..end].to_vec(),
        },
        end,
    ))
}

/// A request's bytes: `head_lines` (the request line first, no line ends)
/// and a blank line.
pub fn head(head_lines: &[&str]) -> Vec<u8> {
    let mut out = head_lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// A plain GET of `path`.
pub fn get(path: &str) -> Vec<u8> {
    head(&[&format!("GET {path} HTTP/1.1"), "Host: test"])
}

fn assert_timed(what: &str, took: Option<Duration>, timeout: Duration) {
    let took = took.unwrap_or_else(|| {
        panic!("{what}: the connection is still open {SLACK:?} past its {timeout:?} timeout")
    });
    assert!(
        took + EARLY >= timeout,
        "{what}: closed after {took:?}, before its {timeout:?} timeout"
    );
}

/// A request line and one header, then silence: the connection is closed
/// `header_timeout` after connecting, unanswered.
pub async fn slow_headers(addr: SocketAddr, path: &str, header_timeout: Duration) {
    let started = Instant::now();
    let mut c = Raw::connect(addr).await;
    assert!(
        c.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n").as_bytes())
            .await
    );
    let closed = c
        .closed_within(header_timeout + SLACK)
        .await
        .map(|_| started.elapsed());
    assert_timed("request line and one header", closed, header_timeout);
    assert!(
        c.received.is_empty(),
        "closed unanswered, not with {:?}",
        String::from_utf8_lossy(&c.received)
    );
}

/// Header lines a third of `header_timeout` apart, more than fit in it:
/// the connection is closed `header_timeout` after connecting, before the
/// headers end.
pub async fn trickled_headers(addr: SocketAddr, path: &str, header_timeout: Duration) {
    let started = Instant::now();
    let mut c = Raw::connect(addr).await;
    let step = header_timeout / 3;
    let lines = (header_timeout + SLACK).as_millis() / step.as_millis().max(1) + 3;
    let mut sent = 0;
    let mut closed = None;
    c.send(format!("GET {path} HTTP/1.1\r\n").as_bytes()).await;
    while sent < lines {
        if !c
            .send(format!("X-Trickle-{sent}: yes\r\n").as_bytes())
            .await
        {
            closed = Some(started.elapsed());
            break;
        }
        sent += 1;
        if c.closed_within(step).await.is_some() {
            closed = Some(started.elapsed());
            break;
        }
    }
    assert!(sent < lines, "every header line was taken");
    assert!(
        closed.is_some_and(|t| t <= header_timeout + SLACK),
        "trickled headers: closed after {closed:?}, timeout {header_timeout:?}"
    );
    assert_timed("trickled headers", closed, header_timeout);
}

/// A request served on a kept-alive connection, then nothing: the
/// connection is closed `idle_timeout` after the response.
pub async fn idle_keep_alive(addr: SocketAddr, path: &str, idle_timeout: Duration) {
    let mut c = Raw::connect(addr).await;
    assert!(c.send(&get(path)).await);
    let r = c.response(SLACK).await.expect("a response");
    assert_eq!(r.status, 200, "{}", r.text());
    let closed = c.closed_within(idle_timeout + SLACK).await;
    assert_timed("idle keep-alive connection", closed, idle_timeout);
}

/// `cap` connections served and held open (idle, kept alive), then two
/// more: those are not served while the cap is held, each is served once a
/// held connection closes, and a new connection is served afterwards. The
/// listener's header and idle timeouts must be well above a second.
pub async fn connection_cap(addr: SocketAddr, path: &str, cap: usize) {
    let mut held = Vec::new();
    for i in 0..cap {
        let mut c = Raw::connect(addr).await;
        assert!(c.send(&get(path)).await);
        let r = c
            .response(SLACK)
            .await
            .unwrap_or_else(|| panic!("held connection {i} of {cap} was not served"));
        assert_eq!(r.status, 200, "{}", r.text());
        held.push(c);
    }
    let mut extra = Vec::new();
    for _ in 0..2 {
        let mut c = Raw::connect(addr).await;
        assert!(c.send(&get(path)).await, "the backlog takes the request");
        extra.push(c);
    }
    for (i, c) in extra.iter_mut().enumerate() {
        assert!(
            c.response(Duration::from_millis(300)).await.is_none(),
            "connection {} past the cap of {cap} was served while the cap was held",
            i + 1
        );
    }
    for (i, c) in extra.iter_mut().enumerate() {
        drop(held.pop());
        let r = c.response(SLACK).await.unwrap_or_else(|| {
            panic!(
                "connection {} past the cap was not served after a slot freed",
                i + 1
            )
        });
        assert_eq!(r.status, 200, "{}", r.text());
    }
    drop(held);
    drop(extra);
    let mut fresh = Raw::connect(addr).await;
    assert!(fresh.send(&get(path)).await);
    let r = fresh
        .response(SLACK)
        .await
        .expect("the listener serves new connections after the flood");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_responses_by_length_or_close() {
        let wire = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 2\r\nX-A: b\r\n\r\nokHTTP/1.1 200 OK\r\n";
        let (r, used) = parse(wire, false).expect("one");
        assert_eq!((r.status, r.text().as_str()), (413, "ok"));
        assert_eq!(r.header("x-a"), Some("b"));
        assert_eq!(&wire[used..], b"HTTP/1.1 200 OK\r\n");
        assert!(parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab", false).is_none());
        let (r, _) = parse(b"HTTP/1.1 200 OK\r\n\r\nrest", true).expect("closed");
        assert_eq!(r.text(), "rest");
    }
}
