//! HTTP/1.1 connections owned by host slots, plain or over TLS (`stream.rs`). A host slot sends
//! its host's deliveries one after another; here it owns its connection and drives it inside
//! its own task, so a request and its connection never wait on each other across threads.
//! Through a pooled client, every request was handed to a connection task (which tokio may run
//! on the other core) and the response handed back: on this 2-core machine that hop cost a
//! fifth of the delivery CPU (bench/README.md). Between slots, connections wait in a small
//! per-host idle pool (`idle.rs`), kept as their bare streams ([`Parked`]).
//!
//! Hosts that take HTTP/2 alone (they refuse HTTP/1.1 by ALPN) go through the pooled `reqwest`
//! client instead (`pooled.rs`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;

use super::failure::{Failure, FailureKind, io_failure};
use super::retry_after;
use super::stream::{Connector, Stream};

/// The driven half of a connection.
type Driven = Pin<Box<Connection<TokioIo<Stream>, Full<Bytes>>>>;

/// One connection to one `host:port`.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    conn: Driven,
    /// Whether it is encrypted: it carries `https://` requests, and only those.
    tls: bool,
}

/// A connection between host slots: its stream alone. hyper's read and write buffers and its
/// request channel (about 25 KB, most of an idle TLS connection's memory) are dropped while it
/// waits and made again when a slot takes it up: with thousands of hosts, thousands of
/// connections wait at once.
pub struct Parked {
    io: Stream,
    /// When it was put aside (see `idle.rs`).
    pub(super) idle_since: Instant,
}

impl Conn {
    /// The connection as its bare stream, if it is between exchanges: open, its last response
    /// read to the end, nothing received beyond it. Anything else is closed (dropped).
    pub(super) fn park(mut self) -> Option<Parked> {
        if self.sender.is_closed() {
            return None;
        }
        // One poll of the connection ends its last exchange and has it ask for the next
        // request; a connection still writing or reading is not reused.
        let mut cx = Context::from_waker(Waker::noop());
        if self.conn.as_mut().poll(&mut cx).is_ready()
            || !matches!(self.sender.poll_ready(&mut cx), Poll::Ready(Ok(())))
        {
            return None;
        }
        drop(self.sender);
        let parts = Pin::into_inner(self.conn).into_parts();
        parts.read_buf.is_empty().then(|| Parked {
            io: parts.io.into_inner(),
            idle_since: Instant::now(),
        })
    }
}

impl Parked {
    /// The connection taken up again, ready for HTTP/1.1 (no I/O: the handshake only makes
    /// hyper's state).
    pub(super) async fn resume(self) -> Option<Conn> {
        let tls = !matches!(self.io, Stream::Plain(_));
        attach(self.io, tls).await.ok()
    }
}

/// What arrived: the status, the first `excerpt` bytes of the body and, on a `429`/`503`, the
/// wait its `Retry-After` asked for.
pub struct Answer {
    pub status: u16,
    pub body: Option<String>,
    pub retry_after: Option<Duration>,
}

/// A POST for [`post`]: the URL (`http://` or `https://`), its headers and body.
pub struct Post<'a> {
    pub url: &'a reqwest::Url,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// Sends `request` over `slot`'s connection, opening one if there is none or it has closed.
///
/// A connection taken up again may have been closed by the server an instant before (its
/// keep-alive ran out) without this side having seen it yet. A request on such a connection
/// that gets no response at all (refused before it was written, the connection ending before
/// the first byte of a response) is sent once more on a new connection. Had the server seen it,
/// the receiver gets it twice, which webhook receivers dedupe by `webhook-id` (delivery is
/// at-least-once anyway); the alternative is a failed attempt that did nothing wrong.
pub async fn post(
    slot: &mut Option<Conn>,
    connector: &Connector,
    request: Post<'_>,
    excerpt: usize,
) -> Result<Answer, Failure> {
    let Post {
        url,
        mut headers,
        body,
    } = request;
    let body = Bytes::from(body);
    let mut resent = false;
    loop {
        let mut reused = false;
        let tls = url.scheme() == "https";
        if let Some(mut conn) = slot.take()
            && conn.tls == tls
            && ready(&mut conn).await
        {
            *slot = Some(conn);
            reused = true;
        }
        if slot.is_none() {
            *slot = Some(connect(url, connector).await?);
        }
        let Some(conn) = slot.as_mut() else {
            return Err(Failure::retryable(
                FailureKind::Other,
                "request failed: no connection",
            ));
        };
        let may_resend = reused && !resent;
        // Only a request that may be sent again needs its headers kept.
        let headers = if may_resend {
            headers.clone()
        } else {
            std::mem::take(&mut headers)
        };
        let request = build(url, headers, body.clone())?;
        let sent = drive(&mut conn.conn, conn.sender.send_request(request)).await;
        let response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                *slot = None;
                if may_resend && unanswered(&e) {
                    resent = true;
                    continue;
                }
                return Err(failure(&e));
            }
            Err(ended) => {
                *slot = None;
                if may_resend {
                    resent = true;
                    continue;
                }
                return Err(ended);
            }
        };
        let status = response.status().as_u16();
        let retry_after = retry_after::parse(status, response.headers(), SystemTime::now());
        let body = read_excerpt(conn, response.into_body(), excerpt).await;
        if body.is_err() {
            *slot = None;
        }
        return Ok(Answer {
            status,
            body: body.unwrap_or_default(),
            retry_after,
        });
    }
}

/// Whether `e` means the server never answered: the request was refused before it was
/// written, or the connection closed or reset before a response began.
fn unanswered(e: &hyper::Error) -> bool {
    if e.is_canceled() || e.is_incomplete_message() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            );
        }
        source = err.source();
    }
    false
}

fn build(
    url: &reqwest::Url,
    headers: http::HeaderMap,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>, Failure> {
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut request = http::Request::post(target)
        .body(Full::new(body))
        .map_err(|e| Failure {
            kind: FailureKind::Other,
            reason: format!("invalid request: {e}"),
            retryable: false,
        })?;
    *request.headers_mut() = headers;
    let host = url.host_str().unwrap_or_default();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let headers = request.headers_mut();
    if let Ok(value) = http::HeaderValue::try_from(authority) {
        headers.insert(http::header::HOST, value);
    }
    headers.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(concat!("hookrelay/", env!("CARGO_PKG_VERSION"))),
    );
    headers
        .entry(http::header::ACCEPT)
        .or_insert(http::HeaderValue::from_static("*/*"));
    Ok(request)
}

/// Whether a connection taken up again can carry a request (it has not been closed).
async fn ready(conn: &mut Conn) -> bool {
    !conn.sender.is_closed()
        && matches!(drive(&mut conn.conn, conn.sender.ready()).await, Ok(Ok(())))
}

/// A new connection to `url`'s host (see [`Connector::open`]), ready for HTTP/1.1.
async fn connect(url: &reqwest::Url, connector: &Connector) -> Result<Conn, Failure> {
    let stream = connector.open(url).await?;
    let tls = !matches!(stream, Stream::Plain(_));
    attach(stream, tls).await.map_err(|e| failure(&e))
}

/// hyper's HTTP/1.1 client over `stream`.
async fn attach(stream: Stream, tls: bool) -> hyper::Result<Conn> {
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    Ok(Conn {
        sender,
        conn: Box::pin(conn),
        tls,
    })
}

/// Reads at most `excerpt` bytes of the body (the rest is read and dropped, so the connection
/// can carry the next request), driving the connection meanwhile.
async fn read_excerpt(
    conn: &mut Conn,
    mut body: hyper::body::Incoming,
    excerpt: usize,
) -> Result<Option<String>, Failure> {
    let mut buf = Vec::new();
    loop {
        match drive(&mut conn.conn, body.frame()).await? {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let room = excerpt.saturating_sub(buf.len());
                    buf.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(e)) => return Err(failure(&e)),
            None => break,
        }
    }
    Ok((!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned()))
}

/// Polls `fut` while driving the connection it needs; fails if the connection ends first.
async fn drive<F: Future>(conn: &mut Driven, fut: F) -> Result<F::Output, Failure> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match conn.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            // The connection ended; what it delivered last may still complete `fut`.
            Poll::Ready(ended) => Poll::Ready(match fut.as_mut().poll(cx) {
                Poll::Ready(out) => Ok(out),
                Poll::Pending => Err(match ended {
                    Ok(()) => Failure::retryable(FailureKind::Other, "connection closed"),
                    Err(e) => failure(&e),
                }),
            }),
        }
    })
    .await
}

/// The same short descriptions `pooled.rs` gives `reqwest`'s errors.
fn failure(e: &hyper::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut innermost = e.to_string();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionRefused
            )
        {
            return io_failure(io);
        }
        innermost = err.to_string();
        source = err.source();
    }
    Failure::retryable(FailureKind::Other, format!("request failed: {innermost}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::delivery::guard::{AddressPolicy, Guard};

    /// A server on 127.0.0.1 answering every request with `answer`; counts its connections.
    async fn server(answer: &'static [u8]) -> (reqwest::Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/h", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, SeqCst);
                tokio::spawn(answer_each(socket, answer));
            }
        });
        (url.parse().unwrap(), accepted)
    }

    async fn answer_each(mut socket: TcpStream, answer: &'static [u8]) {
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        loop {
            // A request is whole once its head and `content-length` bytes of body are in.
            while let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let length: usize = (head.lines())
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() < end + 4 + length {
                    break;
                }
                got.drain(..end + 4 + length);
                if socket.write_all(answer).await.is_err() {
                    return;
                }
            }
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn connector() -> Connector {
        let policy = AddressPolicy {
            allow_all: true,
            allowed: Vec::new(),
            allowed_only: false,
        };
        let tls = crate::delivery::tls::client_config(&[]).unwrap();
        Connector::new(Arc::new(Guard::from(policy)), &tls)
    }

    async fn send(slot: &mut Option<Conn>, url: &reqwest::Url) -> u16 {
        let request = Post {
            url,
            headers: http::HeaderMap::new(),
            body: b"{}".to_vec(),
        };
        post(slot, &connector(), request, 64).await.unwrap().status
    }

    #[tokio::test]
    async fn a_parked_connection_carries_the_next_request_without_reconnecting() {
        let (url, accepted) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        let mut slot = None;
        assert_eq!(send(&mut slot, &url).await, 200);
        let parked = slot.take().unwrap().park().expect("between exchanges");
        let mut slot = parked.resume().await;
        assert!(slot.is_some());
        assert_eq!(send(&mut slot, &url).await, 200);
        assert_eq!(accepted.load(SeqCst), 1);
    }

    #[tokio::test]
    async fn a_connection_the_server_closes_or_sends_more_on_is_not_parked() {
        for answer in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"[..],
            // Bytes no request asked for: the connection is out of step.
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",
        ] {
            let (url, _) = server(answer).await;
            let mut slot = None;
            assert_eq!(send(&mut slot, &url).await, 200);
            let conn = slot.take().unwrap();
            assert!(conn.park().is_none(), "{}", String::from_utf8_lossy(answer));
        }
    }
}
