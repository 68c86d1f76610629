//! The byte stream under a host slot's HTTP/1.1 connection: TCP for `http://`, TLS over TCP for
//! `https://`. [`Connector::open`] resolves the host through the address [`guard`](super::guard)
//! (the address checked is the address connected to, for HTTPS exactly as for HTTP), connects to
//! the first allowed address that answers and, for HTTPS, shakes hands with the process's one
//! client configuration (`tls.rs`): SNI is the URL's host, ALPN offers HTTP/1.1 alone, and the
//! session cache it shares with every other connection lets a reconnection resume instead of
//! repeating the full handshake.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::failure::{Failure, FailureKind, io_failure, rustls_error};
use super::guard::{AddressPolicy, Forbidden, Guard};

/// How long establishing a connection may take, and its TLS handshake as long again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection's bytes, plain or encrypted.
pub enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://` (boxed: a TLS session's state is large beside a socket).
    Tls(Box<TlsStream<TcpStream>>),
}

/// Opens slot connections: the address guard and, for HTTPS, the TLS configuration.
pub struct Connector {
    guard: Arc<Guard>,
    tls: TlsConnector,
}

impl Connector {
    /// A connector resolving through `guard`, shaking hands with `tls` (whose ALPN it sets to
    /// HTTP/1.1 alone; its session cache stays the one `tls` shares).
    pub fn new(guard: Arc<Guard>, tls: &rustls::ClientConfig) -> Self {
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            guard,
            tls: TlsConnector::from(Arc::new(tls)),
        }
    }

    /// The address policy every connection obeys.
    pub fn policy(&self) -> &AddressPolicy {
        self.guard.policy()
    }

    /// How names are resolved (and judged) for every connection.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// A connection to `url`'s host: TCP to its first allowed address that answers, then TLS
    /// if it is HTTPS.
    pub async fn open(&self, url: &reqwest::Url) -> Result<Stream, Failure> {
        let (host, tcp) = self.connect(url).await?;
        if url.scheme() != "https" {
            return Ok(Stream::Plain(tcp));
        }
        let name = ServerName::try_from(host.to_owned()).map_err(|e| Failure {
            kind: FailureKind::Tls,
            reason: format!("tls: {host} is no valid server name: {e}"),
            retryable: false,
        })?;
        match tokio::time::timeout(CONNECT_TIMEOUT, self.tls.connect(name, tcp)).await {
            Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
            Ok(Err(e)) => Err(handshake_failure(&e)),
            Err(_) => Err(Failure::retryable(
                FailureKind::Timeout,
                "timeout: TLS handshake",
            )),
        }
    }

    /// Resolves `url`'s host through the policy and connects to the first allowed address
    /// that answers; answers the host as TLS names it (no IPv6 brackets) and the socket.
    async fn connect<'u>(&self, url: &'u reqwest::Url) -> Result<(&'u str, TcpStream), Failure> {
        let host = url.host_str().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = url.port_or_known_default().unwrap_or(80);
        let allowed: Vec<SocketAddr> = self
            .guard
            .lookup(host, port)
            .await
            .map_err(|e| Failure::retryable(FailureKind::Dns, format!("dns: {e}")))?;
        if allowed.is_empty() {
            return Err(Failure {
                kind: FailureKind::RefusedAddress,
                reason: Forbidden(host.to_owned()).to_string(),
                retryable: false,
            });
        }
        let mut last = None;
        for addr in allowed {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok((host, stream));
                }
                Ok(Err(e)) => last = Some(io_failure(&e)),
                Err(_) => last = Some(Failure::retryable(FailureKind::Timeout, "timeout")),
            }
        }
        Err(last.unwrap_or_else(|| Failure::retryable(FailureKind::Connect, "connect: no address")))
    }
}

/// A failed handshake, described as the pooled client's are (`tls: …`). A host that refuses
/// HTTP/1.1 by ALPN is told apart: it takes HTTP/2 alone.
fn handshake_failure(e: &io::Error) -> Failure {
    match rustls_error(e) {
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)) => {
            Failure::retryable(
                FailureKind::Http2Only,
                "tls: the host refused HTTP/1.1 (ALPN)",
            )
        }
        Some(tls) => Failure::retryable(FailureKind::Tls, format!("tls: {tls}")),
        // The peer closed or reset the connection mid-handshake (it may not speak TLS at all).
        None => Failure::retryable(FailureKind::Tls, format!("tls: handshake: {e}")),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    // Both write vectors whole: hyper hands a request's head and body over in one call, which
    // TLS encrypts as one record.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
