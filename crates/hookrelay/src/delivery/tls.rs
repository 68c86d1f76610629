//! The TLS client configuration HTTPS deliveries share: ring's crypto (nothing that builds C),
//! the built-in webpki (Mozilla) roots plus the operator's own CA certificates
//! (`extra_root_certificates`). The process builds it once: a configuration carries the session
//! cache, so one shared by every connection (slot connections and the pooled client clone it,
//! each setting its own ALPN, and the clones share the cache) lets a reconnection to a host
//! resume its TLS session instead of repeating the full handshake.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::client::Resumption;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// Hosts whose TLS sessions are kept for resumption. rustls's default keeps 256 tickets, at
/// most 8 a host: 32 hosts, which a busy operator's thousands of endpoints would turn over
/// (the cache forgets the host stored first) before a reconnection could use them. An entry is
/// the host's tickets (a few hundred bytes each) and the certificate chains of the handshakes
/// they came from (shared between tickets, commonly 2 to 5 KB): about 10 KB a host that keeps
/// reconnecting, so 4,096 hosts stay well under the tens of MB, and a host met once costs less.
const SESSION_CACHE_HOSTS: usize = 4096;

/// Tickets rustls keeps per host (its `ClientSessionMemoryCache` sizes by tickets).
const TICKETS_PER_HOST: usize = 8;

/// Reads every certificate of the PEM file at `path`. A missing or unreadable file, a malformed
/// PEM section or a file without a single certificate is an error.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {} as PEM", path.display()))?;
    if certificates.is_empty() {
        bail!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE----- sections)",
            path.display()
        );
    }
    Ok(certificates)
}

/// A client configuration trusting the built-in roots and `extra_roots`, without ALPN (the
/// caller says which protocols it speaks). Fails if one of `extra_roots` is not a usable CA
/// certificate.
pub fn client_config(extra_roots: &[CertificateDer<'static>]) -> anyhow::Result<ClientConfig> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (i, certificate) in extra_roots.iter().enumerate() {
        roots
            .add(certificate.clone())
            .with_context(|| format!("certificate {} is not a usable CA certificate", i + 1))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = Resumption::in_memory_sessions(SESSION_CACHE_HOSTS * TICKETS_PER_HOST);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = read_certificates(&empty).expect_err("no certificate");
        assert!(
            format!("{err:#}").contains("holds no certificate"),
            "{err:#}"
        );

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let err = read_certificates(&broken).expect_err("malformed");
        assert!(format!("{err:#}").contains("as PEM"), "{err:#}");

        let err = read_certificates(&dir.path().join("missing.pem")).expect_err("missing");
        assert!(format!("{err:#}").contains("reading"), "{err:#}");
    }

    #[test]
    fn a_certificate_that_is_no_ca_is_refused() {
        let err = client_config(&[CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00])])
            .expect_err("garbage DER");
        assert!(format!("{err:#}").contains("certificate 1"), "{err:#}");
        client_config(&[]).expect("the built-in roots alone");
    }
}
