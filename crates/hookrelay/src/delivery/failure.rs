//! Why an attempt got no (whole) response, as data: a [`FailureKind`] that metrics count without
//! reading messages, a short stable reason for the log, and whether trying again could help.
//! Shared by the slot connections (`stream`, `http1`) and the pooled client (`pooled`).

/// What kind of failure left an attempt without a (whole) response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// No response within the webhook's timeout.
    Timeout,
    /// No connection could be made (refused, unreachable).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The address guard refused every address of the host.
    RefusedAddress,
    /// The host refused a TLS connection offering HTTP/1.1 alone (ALPN): it speaks HTTP/2
    /// only. Not an attempt's result: the sender sends the attempt over the pooled client.
    Http2Only,
    /// A broker answered but did not take the message (no stream captures the subject, an
    /// unroutable AMQP message, a negative acknowledgement, an error reply). The connection
    /// is sound: it stays in use.
    Rejected,
    /// Anything else: a connection that broke mid-request, an unrenderable payload.
    Other,
}

/// Why an attempt got no response, and whether trying again could help.
#[derive(Debug)]
pub struct Failure {
    pub kind: FailureKind,
    pub reason: String,
    pub retryable: bool,
}

impl Failure {
    /// A failure that trying again may get past.
    pub fn retryable(kind: FailureKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            retryable: true,
        }
    }
}

/// A failed connection attempt, by what the system said.
pub fn io_failure(e: &std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            Failure::retryable(FailureKind::Connect, "connection refused")
        }
        std::io::ErrorKind::ConnectionReset => {
            Failure::retryable(FailureKind::Other, "connection reset")
        }
        _ => Failure::retryable(FailureKind::Connect, format!("connect: {e}")),
    }
}

/// The TLS error inside (possibly nested) `io::Error`s, whose `source()` skips their payload.
pub fn rustls_error(io: &std::io::Error) -> Option<&rustls::Error> {
    let mut payload = io.get_ref();
    while let Some(inner) = payload {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        payload = inner.downcast_ref::<std::io::Error>()?.get_ref();
    }
    None
}
