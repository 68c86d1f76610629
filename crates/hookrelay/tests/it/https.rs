//! HTTPS deliveries: a receiver on 127.0.0.1 serving a certificate for `localhost` issued by a
//! CA this test creates. hookrelay trusts it only through `extra_root_certificates`; without the
//! setting the handshake fails, and the attempt says it was TLS. Which certificates are trusted
//! touches no storage, so these run on SQLite only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::helpers::{Backend, TestApp, TestReceiver};

/// A CA of the test's own and a server certificate it issued for `localhost`.
pub struct TestCa {
    /// The CA's certificate, PEM, in a file of its own.
    pub pem_file: PathBuf,
    server: Arc<ServerConfig>,
    _dir: tempfile::TempDir,
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
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let dir = tempfile::tempdir().unwrap();
        let pem_file = dir.path().join("ca.pem");
        std::fs::write(&pem_file, ca.pem()).unwrap();
        TestCa {
            pem_file,
            server: Arc::new(server),
            _dir: dir,
        }
    }

    /// A receiver serving HTTPS with this CA's certificate, at `https://localhost:<port>`.
    pub async fn receiver(&self) -> TestReceiver {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(self.server.clone()),
        };
        TestReceiver::serve(listener, format!("https://localhost:{port}"))
    }
}

/// Accepts TCP connections and completes their TLS handshakes; one that fails is dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, address)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn deliver_one(app: &TestApp, receiver: &TestReceiver, status: &str) -> serde_json::Value {
    let webhook = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": []}))
        .await;
    app.publish(json!({"type": "order.created", "data": {"n": 1}}))
        .await;
    app.wait_for_delivery(webhook["id"].as_str().unwrap(), status)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_deliveries_trust_the_extra_root_certificates() {
    let ca = TestCa::new();
    let receiver = ca.receiver().await;
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.extra_root_certificates = Some(ca.pem_file.clone());
    })
    .await
    else {
        return;
    };
    let delivery = deliver_one(&app, &receiver, "succeeded").await;
    assert_eq!(delivery["attempts"][0]["status_code"], 200, "{delivery}");
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].json()["data"]["n"], 1);
    assert!(!received[0].header("webhook-signature").is_empty());
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_extra_roots_an_https_delivery_fails_with_a_tls_error() {
    let ca = TestCa::new();
    let receiver = ca.receiver().await;
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let delivery = deliver_one(&app, &receiver, "failed").await;
    let attempt = &delivery["attempts"][0];
    assert!(attempt["status_code"].is_null(), "{delivery}");
    let error = attempt["error"].as_str().unwrap();
    assert!(error.starts_with("tls:"), "{error}");
    assert!(error.contains("certificate"), "{error}");
    assert!(receiver.received().is_empty());
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
