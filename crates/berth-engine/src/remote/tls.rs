//! An engine over TCP with TLS, as `dockerd --tlsverify` serves it: the engine's certificate is
//! checked against the CA the user gave (and only that CA), and Berth shows its own client
//! certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::EngineError;

/// The three files of a TLS engine, as the docker CLI takes them (`--tlscacert`, `--tlscert`,
/// `--tlskey`) and keeps them in a context (`ca.pem`, `cert.pem`, `key.pem`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The files as the docker CLI names them in a directory (a context's `tls/.../docker`,
    /// `DOCKER_CERT_PATH`).
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    /// All three exist.
    pub fn exist(&self) -> bool {
        [&self.ca, &self.cert, &self.key]
            .iter()
            .all(|p| p.is_file())
    }

    /// Reads and checks the three files: a CA with at least one certificate, a client
    /// certificate chain and its private key that belong together.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, EngineError> {
        let bad = |field: &str, path: &Path, reason: String| {
            EngineError::invalid(field, format!("{}: {reason}", path.display()))
        };
        let ca_pem = read(&self.ca)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&ca_pem) {
            let cert = cert.map_err(|e| bad("TLS CA certificate", &self.ca, e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| bad("TLS CA certificate", &self.ca, e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad(
                "TLS CA certificate",
                &self.ca,
                "no certificate in it".into(),
            ));
        }
        let chain = CertificateDer::pem_slice_iter(&read(&self.cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("TLS certificate", &self.cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(bad(
                "TLS certificate",
                &self.cert,
                "no certificate in it".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&self.key)?)
            .map_err(|e| bad("TLS key", &self.key, e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| EngineError::invalid("TLS", e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| {
                bad(
                    "TLS key",
                    &self.key,
                    format!("does not fit the certificate: {e}"),
                )
            })
    }

    /// An HTTPS connector for these files, connecting within `connect_timeout`.
    pub fn connector(
        &self,
        connect_timeout: Duration,
    ) -> Result<HttpsConnector<HttpConnector>, EngineError> {
        let config = self.client_config()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_http1()
            .wrap_connector(http))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EngineError> {
    std::fs::read(path).map_err(|e| EngineError::io(path, e))
}

/// Why a TLS handshake with an engine failed, in words a user can act on; `None` when the
/// error holds no TLS failure.
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let failure = find_rustls_error(error)?;
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error as E};
    Some(match failure {
        E::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => {
            "the engine's certificate is not signed by the CA given (unknown CA)".into()
        }
        E::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            "the engine's certificate is not for this host name".into()
        }
        E::InvalidCertificate(Cert::Expired | Cert::ExpiredContext { .. }) => {
            "the engine's certificate has expired".into()
        }
        E::InvalidCertificate(other) => {
            format!("the engine's certificate is not valid ({other:?})")
        }
        E::AlertReceived(
            Alert::BadCertificate
            | Alert::UnknownCA
            | Alert::CertificateRequired
            | Alert::CertificateUnknown
            | Alert::AccessDenied
            | Alert::DecryptError,
        ) => "the engine refused Berth's client certificate (not signed by a CA it trusts)".into(),
        E::InvalidMessage(_) => {
            "the engine did not answer in TLS (is it plain tcp:// without TLS?)".into()
        }
        other => format!("TLS handshake failed: {other}"),
    })
}

/// The rustls error somewhere in `error`'s chain. An `io::Error` hides the error it wraps from
/// `source()` (it returns that error's source), so each one is opened by hand.
fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = find_rustls_error(inner) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_a_dir_have_the_clis_names() {
        let f = TlsFiles::in_dir(Path::new("/c"));
        assert_eq!(f.ca, Path::new("/c/ca.pem"));
        assert_eq!(f.cert, Path::new("/c/cert.pem"));
        assert_eq!(f.key, Path::new("/c/key.pem"));
        assert!(!f.exist());
    }

    #[test]
    fn missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::in_dir(dir.path());
        let err = files.client_config().unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Io);
        assert!(err.to_string().contains("ca.pem"), "{err}");
        std::fs::write(&files.ca, "not a pem\n").unwrap();
        let err = files.client_config().unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        assert!(err.to_string().contains("no certificate"), "{err}");
    }

    #[test]
    fn rustls_errors_are_found_inside_io_errors() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        let words = tls_failure(&io).unwrap();
        assert!(words.contains("unknown CA"), "{words}");
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, alert);
        assert!(tls_failure(&io).unwrap().contains("client certificate"));
        let plain = std::io::Error::other("connection refused");
        assert_eq!(tls_failure(&plain), None);
    }
}
