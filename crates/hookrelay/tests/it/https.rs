//! HTTPS deliveries: a receiver on 127.0.0.1 serving a certificate for `localhost` (and for the
//! address 127.0.0.1) issued by a CA this test creates. hookrelay trusts it only through
//! `extra_root_certificates`; without the setting the handshake fails, and the attempt says it
//! was TLS. Deliveries go over the host slots' own HTTP/1.1 connections with TLS: one connection
//! carries a host's deliveries one after another, SNI names the URL's host, a reconnection
//! resumes its session, a handshake that fails is retried on the webhook's schedule, and a host
//! that takes HTTP/2 alone is still reached (over the pooled client). The receiver's side of
//! every handshake is recorded, so these are observed from the receiver, not inferred.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, HandshakeKind, ServerConfig};

use crate::helpers::{Backend, TestApp, TestReceiver};

/// Each behaviour on both backends, with the app trusting a fresh [`TestCa`].
macro_rules! https_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

https_tests!(
    https_deliveries_trust_the_extra_root_certificates_and_share_one_connection,
    without_the_extra_roots_an_https_delivery_fails_with_a_tls_error,
    sni_names_the_urls_host_and_an_ip_address_url_sends_none,
    a_reconnection_resumes_the_tls_session,
    a_failed_handshake_is_retried_on_the_webhooks_schedule,
    a_receiver_that_speaks_only_http2_still_receives,
);

/// A CA of the test's own and a server certificate it issued for `localhost`, 127.0.0.1 and
/// `*.hooks.test` (names the `resolve` tests point at 127.0.0.1).
pub struct TestCa {
    /// The CA's certificate, PEM, in a file of its own.
    pub pem_file: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// What the receiver saw of one completed handshake.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// Whether the client resumed an earlier session.
    pub resumed: bool,
}

/// An HTTPS [`TestReceiver`] and the handshakes it completed, in order.
pub struct TlsReceiver {
    pub receiver: TestReceiver,
    pub handshakes: Arc<Mutex<Vec<Handshake>>>,
    /// TCP connections accepted, whether or not their handshake completed.
    pub connections: Arc<AtomicUsize>,
}

impl TlsReceiver {
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes.lock().unwrap().clone()
    }
}

impl std::ops::Deref for TlsReceiver {
    type Target = TestReceiver;

    fn deref(&self) -> &TestReceiver {
        &self.receiver
    }
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "hookrelay test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        // rcgen takes a name that parses as an address for an IP address SAN.
        let names = ["localhost", "127.0.0.1", "*.hooks.test"].map(str::to_owned);
        let leaf = CertificateParams::new(names.to_vec())
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem_file = dir.path().join("ca.pem");
        std::fs::write(&pem_file, ca.pem()).unwrap();
        TestCa {
            pem_file,
            chain: vec![leaf.der().clone(), ca.der().clone()],
            key: key.serialize_der(),
            _dir: dir,
        }
    }

    /// The receiver's TLS configuration, offering `alpn`.
    fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .unwrap();
        server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(server)
    }

    /// A receiver serving HTTPS (HTTP/1.1) with this CA's certificate, at
    /// `https://localhost:<port>`.
    pub async fn receiver(&self) -> TlsReceiver {
        self.receiver_with(&[b"http/1.1"], Vec::new()).await
    }

    /// A receiver offering `alpn`; its first connections are served with `first` (one
    /// configuration each) before its own.
    async fn receiver_with(&self, alpn: &[&[u8]], first: Vec<Arc<ServerConfig>>) -> TlsReceiver {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let listener = TlsListener {
            tcp,
            first,
            acceptor: TlsAcceptor::from(self.server_config(alpn)),
            handshakes: handshakes.clone(),
            connections: connections.clone(),
        };
        TlsReceiver {
            receiver: TestReceiver::serve(listener, format!("https://localhost:{port}")),
            handshakes,
            connections,
        }
    }
}

/// Accepts TCP connections and completes their TLS handshakes, recording each; one that fails
/// is dropped.
struct TlsListener {
    tcp: TcpListener,
    /// Configurations for the next connections, one each, before `acceptor`'s.
    first: Vec<Arc<ServerConfig>>,
    acceptor: TlsAcceptor,
    handshakes: Arc<Mutex<Vec<Handshake>>>,
    connections: Arc<AtomicUsize>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, address)) = self.tcp.accept().await else {
                continue;
            };
            self.connections.fetch_add(1, Ordering::SeqCst);
            let acceptor = if self.first.is_empty() {
                self.acceptor.clone()
            } else {
                TlsAcceptor::from(self.first.remove(0))
            };
            if let Ok(tls) = acceptor.accept(tcp).await {
                let (_, session) = tls.get_ref();
                self.handshakes.lock().unwrap().push(Handshake {
                    sni: session.server_name().map(str::to_owned),
                    resumed: session.handshake_kind() == Some(HandshakeKind::Resumed),
                });
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// An app on `backend` trusting `ca`.
async fn app_trusting(backend: Backend, ca: &TestCa) -> Option<TestApp> {
    TestApp::spawn_with(backend, |c| {
        c.extra_root_certificates = Some(ca.pem_file.clone());
    })
    .await
}

async fn deliver_one(app: &TestApp, url: &str, status: &str) -> serde_json::Value {
    let webhook = app
        .create_webhook(json!({"url": url, "retry_schedule": []}))
        .await;
    app.publish(json!({"type": "order.created", "data": {"n": 1}}))
        .await;
    app.wait_for_delivery(webhook["id"].as_str().unwrap(), status)
        .await
}

/// Publishes `n` events to the webhook `id` one after another, each once the last has been
/// recorded as delivered (so its host slot has ended and kept its connection: waiting only for
/// the receiver to have it would race the slot's end).
async fn publish_one_by_one(app: &TestApp, id: &str, n: usize) {
    for i in 0..n {
        app.publish(json!({"type": "order.created", "data": {"n": i}}))
            .await;
        app.wait_all_succeeded(id, i + 1).await;
    }
}

async fn https_deliveries_trust_the_extra_root_certificates_and_share_one_connection(
    backend: Backend,
) {
    let ca = TestCa::new();
    let receiver = ca.receiver().await;
    let Some(app) = app_trusting(backend, &ca).await else {
        return;
    };
    let webhook = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    publish_one_by_one(&app, id, 5).await;
    let deliveries = app.wait_all_succeeded(id, 5).await;
    let one = app
        .get(&format!(
            "/v1/deliveries/{}",
            deliveries[0]["id"].as_str().unwrap()
        ))
        .await
        .1;
    assert_eq!(one["attempts"][0]["status_code"], 200, "{one}");
    let received = receiver.received();
    assert_eq!(received.len(), 5);
    for r in &received {
        assert_eq!(r.version, axum::http::Version::HTTP_11);
        assert!(!r.header("webhook-signature").is_empty());
    }
    assert_eq!(received[0].json()["data"]["n"], 0);
    // Slot connections carried the deliveries one after another, not one handshake each (two
    // at most, as for plain HTTP in connections.rs: a publish's hand-off and a claim may each
    // start a slot), and a second connection resumed the first one's session.
    let handshakes = receiver.handshakes();
    assert!(handshakes.len() <= 2, "{handshakes:?}");
    assert!(
        handshakes.iter().skip(1).all(|h| h.resumed),
        "{handshakes:?}"
    );
    app.teardown().await;
}

async fn without_the_extra_roots_an_https_delivery_fails_with_a_tls_error(backend: Backend) {
    let ca = TestCa::new();
    let receiver = ca.receiver().await;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let delivery = deliver_one(&app, &receiver.url("/h"), "failed").await;
    let attempt = &delivery["attempts"][0];
    assert!(attempt["status_code"].is_null(), "{delivery}");
    let error = attempt["error"].as_str().unwrap();
    assert!(error.starts_with("tls:"), "{error}");
    assert!(error.contains("certificate"), "{error}");
    assert!(receiver.received().is_empty());
    assert!(receiver.handshakes().is_empty(), "no handshake completed");
    app.teardown().await;
}

async fn sni_names_the_urls_host_and_an_ip_address_url_sends_none(backend: Backend) {
    let ca = TestCa::new();
    let by_name = ca.receiver().await;
    let by_address = ca.receiver().await;
    let Some(app) = app_trusting(backend, &ca).await else {
        return;
    };
    deliver_one(&app, &by_name.url("/h"), "succeeded").await;
    let port = by_address.address.port();
    deliver_one(&app, &format!("https://127.0.0.1:{port}/h"), "succeeded").await;
    let named = by_name.handshakes();
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].sni.as_deref(), Some("localhost"));
    // TLS names no IP address in SNI; the certificate's address SAN is checked instead.
    let addressed = by_address.handshakes();
    assert_eq!(addressed.len(), 1, "{addressed:?}");
    assert_eq!(addressed[0].sni, None);
    app.teardown().await;
}

async fn a_reconnection_resumes_the_tls_session(backend: Backend) {
    let ca = TestCa::new();
    let receiver = ca.receiver().await;
    // Every answer closes its connection, so every delivery opens one.
    receiver.set_header("connection", "close");
    let Some(app) = app_trusting(backend, &ca).await else {
        return;
    };
    let webhook = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    publish_one_by_one(&app, webhook["id"].as_str().unwrap(), 3).await;
    let handshakes = receiver.handshakes();
    assert_eq!(handshakes.len(), 3, "{handshakes:?}");
    assert!(!handshakes[0].resumed, "the first is a full handshake");
    assert!(
        handshakes[1..].iter().all(|h| h.resumed),
        "the later ones resume: {handshakes:?}"
    );
    app.teardown().await;
}

async fn a_failed_handshake_is_retried_on_the_webhooks_schedule(backend: Backend) {
    let ca = TestCa::new();
    // The first connection gets a certificate of a CA hookrelay does not trust.
    let stranger = TestCa::new().server_config(&[b"http/1.1"]);
    let receiver = ca.receiver_with(&[b"http/1.1"], vec![stranger]).await;
    let Some(app) = app_trusting(backend, &ca).await else {
        return;
    };
    let webhook = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [1]}))
        .await;
    app.publish(json!({"type": "order.created", "data": {"n": 1}}))
        .await;
    let delivery = app
        .wait_for_delivery(webhook["id"].as_str().unwrap(), "succeeded")
        .await;
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{delivery}");
    let first = attempts
        .iter()
        .find(|a| a["attempt"] == 1)
        .unwrap_or(&attempts[0]);
    let error = first["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("tls:"), "{delivery}");
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 2);
    assert_eq!(receiver.received().len(), 1);
    app.teardown().await;
}

async fn a_receiver_that_speaks_only_http2_still_receives(backend: Backend) {
    let ca = TestCa::new();
    let receiver = ca.receiver_with(&[b"h2"], Vec::new()).await;
    let Some(app) = app_trusting(backend, &ca).await else {
        return;
    };
    let webhook = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    let id = webhook["id"].as_str().unwrap();
    publish_one_by_one(&app, id, 3).await;
    let deliveries = app.wait_all_succeeded(id, 3).await;
    assert!(
        deliveries.iter().all(|d| d["attempt_count"] == 1),
        "each on its first attempt: {deliveries:?}"
    );
    let received = receiver.received();
    assert!(
        received
            .iter()
            .all(|r| r.version == axum::http::Version::HTTP_2),
        "{:?}",
        received.iter().map(|r| r.version).collect::<Vec<_>>()
    );
    // The refused HTTP/1.1 offer, then one HTTP/2 connection for all three.
    assert_eq!(
        receiver.connections.load(Ordering::SeqCst),
        2,
        "{:?}",
        receiver.handshakes()
    );
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_extra_root_file_stops_the_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for path in [dir.path().join("missing.pem"), not_pem] {
        let Some(database) = crate::helpers::ScratchDatabase::create(Backend::Sqlite).await else {
            return;
        };
        let mut config = crate::helpers::test_config(database.url());
        config.extra_root_certificates = Some(path.clone());
        let err = hookrelay::App::build(config)
            .await
            .err()
            .expect("refused at start");
        let err = format!("{err:#}");
        assert!(err.starts_with("extra_root_certificates"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        database.remove().await;
    }
}
