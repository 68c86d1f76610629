//! The bench's own TLS, made at start: a CA (rcgen, ring), a certificate it issued for
//! `localhost`, the receiver's server configuration, the ceiling client's configuration
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

/// The name the certificate is for, and the host of every HTTPS webhook URL.
pub const HOST: &str = "localhost";

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
        let leaf = CertificateParams::new(vec![HOST.to_owned()])?.signed_by(&key, &ca)?;
        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the receiver's certificate")?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
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
    /// Serves `tcp` with `config`; the accepting task runs on the current runtime.
    pub fn new(tcp: tokio::net::TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let (tx, handshaken) = tokio::sync::mpsc::channel(HANDSHAKEN_BACKLOG);
        tokio::spawn(async move {
            loop {
                let Ok((stream, address)) = tcp.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, handed) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
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
