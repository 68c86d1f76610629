//! The bench's own TLS, made at start: a CA (rcgen, ring), a certificate it issued for
//! `localhost` and `*.hosts.bench.test`, the receiver's server configuration, the ceiling client's configuration
//! trusting that CA alone, and the CA's certificate as a PEM file for hookrelay's
//! `extra_root_certificates`. Nothing here reaches beyond 127.0.0.1.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};

/// The name the certificate is for, and the host of every `tls` webhook URL.
pub const HOST: &str = "localhost";

/// The domain under which `hosts` names its webhooks' hosts (`h<n>.hosts.bench.test`), all on
/// the receiver's TLS listener: the certificate also names `*.hosts.bench.test`, and hookrelay
/// resolves them through its `resolve` setting. `.test` is reserved (RFC 6761): no such name
/// can be anyone's real host.
pub const HOSTS_DOMAIN: &str = "hosts.bench.test";

/// TLS sessions the receiver keeps for resumption. rustls's default keeps 256, which `hosts`
/// (a session per host name, as 2,000 real servers would each keep their own) would turn over
/// before a reconnection could use one.
const SERVER_SESSIONS: usize = 16_384;

/// What the receiver serves and the clients trust.
pub struct BenchTls {
    /// The CA's certificate, PEM: what hookrelay is told to trust.
    pub ca_pem: PathBuf,
    /// The receiver's configuration: the certificate chain, HTTP/1.1 by ALPN.
    pub server: Arc<ServerConfig>,
    /// The ceiling client's: trusts the CA alone, offers HTTP/1.1, resumes sessions (rustls's
    /// default in-memory cache) as hookrelay does.
    pub client: ClientConfig,
    _dir: tempfile::TempDir,
}

impl BenchTls {
    /// A fresh CA and certificate.
    pub fn create() -> anyhow::Result<Self> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "hookrelay-bench CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let key = KeyPair::generate()?;
        let names = vec![HOST.to_owned(), format!("*.{HOSTS_DOMAIN}")];
        let leaf = CertificateParams::new(names)?.signed_by(&key, &ca)?;
        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the receiver's certificate")?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        server.session_storage = rustls::server::ServerSessionMemoryCache::new(SERVER_SESSIONS);
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone())?;
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        let dir = tempfile::tempdir().context("a temp dir for the CA")?;
        let ca_pem = dir.path().join("bench-ca.pem");
        std::fs::write(&ca_pem, ca.pem()).context("writing the CA's certificate")?;
        Ok(Self {
            ca_pem,
            server: Arc::new(server),
            client,
            _dir: dir,
        })
    }
}

/// Connections waiting for `accept` once their handshakes are done.
const HANDSHAKEN_BACKLOG: usize = 1024;

/// Handshakes the TLS listener completed: all of them, and those that resumed a session.
#[derive(Debug, Default)]
pub struct Handshakes {
    completed: std::sync::atomic::AtomicU64,
    resumed: std::sync::atomic::AtomicU64,
}

impl Handshakes {
    /// Completed and resumed handshakes so far.
    pub fn read(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.completed.load(Relaxed), self.resumed.load(Relaxed))
    }
}

/// A TLS listener for `axum::serve`. Each connection's handshake runs in a task of its own, so
/// one slow or failed handshake holds up no other (hookrelay opens its connections at once);
/// `accept` hands out those that completed. A failed handshake drops its connection.
pub struct TlsListener {
    handshaken: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        std::net::SocketAddr,
    )>,
    local: std::net::SocketAddr,
}

impl TlsListener {
    /// Serves `tcp` with `config`, counting into `counts`; the accepting task runs on the
    /// current runtime.
    pub fn new(
        tcp: tokio::net::TcpListener,
        config: Arc<ServerConfig>,
        counts: Arc<Handshakes>,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let (tx, handshaken) = tokio::sync::mpsc::channel(HANDSHAKEN_BACKLOG);
        tokio::spawn(async move {
            loop {
                let Ok((stream, address)) = tcp.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, handed, counts) = (acceptor.clone(), tx.clone(), counts.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        use std::sync::atomic::Ordering::Relaxed;
                        counts.completed.fetch_add(1, Relaxed);
                        if tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
                        {
                            counts.resumed.fetch_add(1, Relaxed);
                        }
                        let _ = handed.send((tls, address)).await;
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Self { handshaken, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(accepted) => accepted,
            // The accepting task ended (only when nothing serves this listener any more).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
