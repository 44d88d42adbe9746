//! TLS for arkc's own replication client (rustls with the ring provider, as mysql_async uses),
//! and the words that explain a failed TLS connection, for every path that connects.
//!
//! `required` encrypts and checks nothing about the certificate (the handshake signatures are still
//! checked, so the peer holds the key of the certificate it sent); `verify_ca` checks that the
//! certificate chains to the configured CA and names the host connected to. The name is checked
//! because every other path checks it: mysql_async 0.37's "skip domain validation" looks for
//! rustls's old error text and so never skips with rustls 0.23.46, and the backup tools need
//! `ssl-verify-server-cert` (see jobs::credentials); one verdict for every path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TlsMode;

/// What a connection asks of TLS: the mode and, for `verify_ca`, the CA file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPolicy {
    pub mode: TlsMode,
    pub ca: Option<PathBuf>,
}

impl TlsPolicy {
    pub fn off() -> TlsPolicy {
        TlsPolicy {
            mode: TlsMode::Off,
            ca: None,
        }
    }

    pub fn is_on(&self) -> bool {
        self.mode != TlsMode::Off
    }

    /// The rustls client configuration for this policy (None when TLS is off).
    pub fn client_config(&self) -> anyhow::Result<Option<Arc<ClientConfig>>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            TlsMode::Off => return Ok(None),
            TlsMode::Required => Arc::new(AnyCertificate(provider.clone())),
            TlsMode::VerifyCa => {
                let ca = self
                    .ca
                    .as_deref()
                    .context("tls = \"verify_ca\" needs `ca` (a PEM file)")?;
                let roots = Arc::new(load_ca(ca)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .with_context(|| format!("ca = {}: no usable CA certificate", ca.display()))?;
                webpki
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("the TLS provider offers no protocol version")?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(Arc::new(config)))
    }
}

/// The name rustls checks the certificate against with `verify_ca` (and sends as SNI).
pub fn server_name(host: &str) -> anyhow::Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|_| anyhow::anyhow!("`{host}` is neither a host name nor an IP address"))
}

fn load_ca(path: &Path) -> anyhow::Result<RootCertStore> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read ca = {}", path.display()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.with_context(|| format!("ca = {}: not a PEM file", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("ca = {}: not a usable CA certificate", path.display()))?;
    }
    if roots.is_empty() {
        bail!(
            "ca = {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(roots)
}

/// `required`: any certificate, but the handshake must be signed by its key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What to do about a failed TLS connection, in words, when the failure's text says what it
/// was (rustls's certificate errors, the tools' OpenSSL messages); None for other failures.
pub fn failure_hint(policy: &TlsPolicy, error_text: &str) -> Option<String> {
    let ca = || {
        policy
            .ca
            .as_deref()
            .map_or_else(|| "(no ca set)".to_string(), |p| p.display().to_string())
    };
    let text = error_text.to_ascii_lowercase();
    if policy.is_on()
        && (text.contains("server doesn't support")
            || text.contains("server does not support")
            || text.contains("does not have this capability")
            || text.contains("offers no tls")
            || text.contains("ssl connection is required"))
    {
        return Some(format!(
            "the server does not offer TLS (have_ssl is not YES); give it ssl-cert and ssl-key, \
             or set tls = \"off\" (was \"{}\")",
            policy.mode
        ));
    }
    if policy.mode == TlsMode::VerifyCa
        && [
            "unknownissuer",
            "self-signed certificate",
            "unable to get local issuer",
            "certificate verify failed",
            "badsignature",
        ]
        .iter()
        .any(|k| text.contains(k))
    {
        return Some(format!(
            "the server's certificate is not signed by ca = {}; set `ca` to the CA that signed \
             the server's ssl-cert (tls = \"verify_ca\")",
            ca()
        ));
    }
    if policy.mode == TlsMode::VerifyCa
        && (text.contains("not valid for name")
            || text.contains("notvalidforname")
            || text.contains("validation of ssl server certificate failed"))
    {
        return Some(format!(
            "the server's certificate does not name the host arkc connects to, or is not signed \
             by ca = {}; set `host` to a name or IP in its subjectAltName, or re-issue it with \
             that name (tls = \"verify_ca\" checks both)",
            ca()
        ));
    }
    if policy.mode == TlsMode::VerifyCa
        && (text.contains("expired") || text.contains("notvalidyet"))
    {
        return Some(
            "the server's certificate is expired or not yet valid; renew the server's ssl-cert"
                .into(),
        );
    }
    // mariadb-backup says only "SSL connection error: error:00000000:lib(0)::reason(0)".
    if policy.mode == TlsMode::VerifyCa && text.contains("ssl connection error") {
        return Some(format!(
            "the TLS handshake failed; check that ca = {} signed the server's ssl-cert",
            ca()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let policy = TlsPolicy {
            mode: TlsMode::VerifyCa,
            ca: Some(ca.clone()),
        };
        let e = format!("{:#}", policy.client_config().unwrap_err());
        assert!(e.contains(&ca.display().to_string()), "{e}");
        let missing = TlsPolicy {
            mode: TlsMode::VerifyCa,
            ca: Some(dir.path().join("gone.pem")),
        };
        assert!(format!("{:#}", missing.client_config().unwrap_err()).contains("gone.pem"));
        assert!(TlsPolicy::off().client_config().unwrap().is_none());
        let required = TlsPolicy {
            mode: TlsMode::Required,
            ca: None,
        };
        assert!(required.client_config().unwrap().is_some());
    }

    #[test]
    fn hints_name_the_ca_and_the_fix() {
        let policy = TlsPolicy {
            mode: TlsMode::VerifyCa,
            ca: Some("/etc/arkc/ca.pem".into()),
        };
        let hint = failure_hint(&policy, "TLS: invalid peer certificate: UnknownIssuer").unwrap();
        assert!(
            hint.contains("not signed by ca = /etc/arkc/ca.pem"),
            "{hint}"
        );
        let tools = "TLS/SSL error: self-signed certificate in certificate chain";
        assert!(failure_hint(&policy, tools).is_some());
        assert!(failure_hint(&policy, "Access denied for user").is_none());
        let name = "invalid peer certificate: certificate not valid for name \"localhost\"";
        assert!(failure_hint(&policy, name)
            .unwrap()
            .contains("does not name the host"));
        let required = TlsPolicy {
            mode: TlsMode::Required,
            ca: None,
        };
        assert!(failure_hint(&required, "UnknownIssuer").is_none());
        let hint = failure_hint(
            &required,
            "Client requested SSL but server doesn't support it",
        );
        assert!(hint.unwrap().contains("does not offer TLS"));
    }
}
