//! The TLS client configuration HTTPS deliveries share: ring's crypto (nothing that builds C),
//! the built-in webpki (Mozilla) roots plus the operator's own CA certificates
//! (`extra_root_certificates`). The process builds it once: a configuration carries the session
//! cache, so one shared by every connection lets a reconnection to a host resume its TLS session
//! instead of repeating the full handshake.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

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
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
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
