//! Owns TLS on the server's listeners: the rustls server configurations built from the
//! `tls` settings (certificate chain and key, client CA, client certificate verification;
//! TLS 1.2 and 1.3 only, nats-server's cipher suites in Go's order), the client port's
//! upgrade after the plaintext INFO with its handshake timeout (nats-server 2.9's order),
//! and what `/connz` shows of a TLS connection. Certificates are read from disk once, at
//! start; a bad file stops the server with an error naming it.

pub mod cert;

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use cert::PeerCert;

/// Why the TLS setup could not be built. Each names the file and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS {what} file {file}: {reason}")]
    File {
        what: &'static str,
        file: String,
        reason: String,
    },
    #[error("TLS certificate {cert} and private key {key} cannot be used together: {reason}")]
    Pair {
        cert: String,
        key: String,
        reason: String,
    },
    #[error("TLS client certificate verification (verify) needs ca_file (--tlscacert): edgeleaf does not verify against the system's CA store")]
    VerifyWithoutCa,
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

/// Why a client's TLS handshake failed (logged as nats-server does, then the connection
/// closes without a word, as nats-server's does).
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("tls: first record does not look like a TLS handshake")]
    NotTls,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The server's TLS, ready to accept connections.
pub struct TlsSetup {
    /// The client port: asks for and verifies a client certificate when `verify` is on.
    clients: TlsAcceptor,
    /// The HTTPS monitoring port: the same certificate, never a client certificate (as
    /// nats-server's monitoring listener).
    monitor: TlsAcceptor,
    pub verify: bool,
    pub timeout: Duration,
}

/// What `/connz` shows of a TLS connection, and the verified client certificates.
#[derive(Debug, Clone)]
pub struct TlsState {
    /// "1.2" or "1.3", as nats-server prints it.
    pub version: String,
    /// Go's name of the cipher suite, e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The client's certificate chain, leaf first (empty without client verification).
    pub peer_certs: Vec<PeerCert>,
}

/// ring with nats-server's cipher suites in Go's preference order (Go servers choose by
/// their own order, so the server decides here too): AES-128-GCM first, then
/// AES-256-GCM, then ChaCha20-Poly1305. For TLS 1.2 only ECDHE suites, as nats-server's
/// defaults.
fn provider() -> CryptoProvider {
    use rustls::crypto::ring::{cipher_suite as cs, default_provider};
    CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS13_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..default_provider()
    }
}

fn read_file(what: &'static str, file: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(file).map_err(|e| TlsError::File {
        what,
        file: file.to_string(),
        reason: e.to_string(),
    })
}

/// Every `CERTIFICATE` block of a PEM file; at least one.
fn read_certs(what: &'static str, file: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_file(what, file)?;
    let bad = |reason: String| TlsError::File {
        what,
        file: file.to_string(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate found: expected a PEM block \"-----BEGIN CERTIFICATE-----\"".into(),
        ));
    }
    Ok(certs)
}

fn read_key(file: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_file("private key", file)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::File {
        what: "private key",
        file: file.to_string(),
        reason: format!(
            "no usable private key ({e}): expected a PEM block \"-----BEGIN PRIVATE KEY-----\" (PKCS#8), \"-----BEGIN RSA PRIVATE KEY-----\" or \"-----BEGIN EC PRIVATE KEY-----\""
        ),
    })
}

impl TlsSetup {
    /// Reads the certificate, key and CA files and builds both server configurations.
    pub fn load(cfg: &TlsConfig) -> Result<TlsSetup, TlsError> {
        let provider = Arc::new(provider());
        let certs = read_certs("certificate", &cfg.cert_file)?;
        let key = read_key(&cfg.key_file)?;
        // nats-server reads and checks ca_file even when it does not verify.
        let roots = match &cfg.ca_file {
            Some(file) => {
                let mut roots = RootCertStore::empty();
                for ca in read_certs("CA certificate", file)? {
                    roots.add(ca).map_err(|e| TlsError::File {
                        what: "CA certificate",
                        file: file.clone(),
                        reason: format!("not a usable CA certificate: {e}"),
                    })?;
                }
                Some(Arc::new(roots))
            }
            None => None,
        };
        let versions: &[&rustls::SupportedProtocolVersion] =
            &[&rustls::version::TLS13, &rustls::version::TLS12];
        let builder = || {
            ServerConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(versions)
                .map_err(|e| TlsError::Setup(e.to_string()))
        };
        let pair = |e: rustls::Error| TlsError::Pair {
            cert: cfg.cert_file.clone(),
            key: cfg.key_file.clone(),
            reason: e.to_string(),
        };
        let clients = if cfg.verify {
            let roots = roots.ok_or(TlsError::VerifyWithoutCa)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| TlsError::Setup(format!("client certificate verifier: {e}")))?;
            builder()?.with_client_cert_verifier(verifier)
        } else {
            builder()?.with_no_client_auth()
        };
        let mut clients = clients
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(pair)?;
        clients.ignore_client_order = true;
        let mut monitor = builder()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(pair)?;
        monitor.ignore_client_order = true;
        Ok(TlsSetup {
            clients: TlsAcceptor::from(Arc::new(clients)),
            monitor: TlsAcceptor::from(Arc::new(monitor)),
            verify: cfg.verify,
            timeout: cfg.timeout,
        })
    }

    /// The server side of a client's upgrade, after the plaintext INFO. Like Go's TLS
    /// server, a first record that is not a TLS handshake (e.g. a plaintext `CONNECT`)
    /// fails without an answer, and so does a handshake still unfinished at the timeout.
    pub async fn accept_client(
        &self,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, HandshakeError> {
        let handshake = async {
            let mut first = [0u8; 1];
            match tcp.peek(&mut first).await? {
                0 => {
                    return Err(HandshakeError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "EOF",
                    )))
                }
                // Handshake (22) or alert (21) records only.
                _ if !matches!(first[0], 0x16 | 0x15) => {
                    // Go read what had arrived before it gave up; closing with unread
                    // bytes would reset the connection instead of a plain close.
                    let mut sink = [0u8; 4096];
                    while matches!(tcp.try_read(&mut sink), Ok(n) if n > 0) {}
                    return Err(HandshakeError::NotTls);
                }
                _ => {}
            }
            Ok(self.clients.accept(tcp).await?)
        };
        tokio::time::timeout(self.timeout, handshake)
            .await
            .map_err(|_| HandshakeError::Timeout(self.timeout))?
    }

    /// The server side of an HTTPS monitoring connection.
    pub async fn accept_monitor(
        &self,
        tcp: TcpStream,
        timeout: Duration,
    ) -> Result<TlsStream<TcpStream>, HandshakeError> {
        tokio::time::timeout(timeout, self.monitor.accept(tcp))
            .await
            .map_err(|_| HandshakeError::Timeout(timeout))?
            .map_err(HandshakeError::Io)
    }
}

/// The client side of TLS to a leaf hub: the hub's certificate must chain to `ca_file`
/// (edgeleaf carries no system CA store), and `cert_key` is the client certificate for
/// mutual TLS. TLS 1.2 and 1.3 with the same suites as the server side.
pub fn client_config(
    ca_file: Option<&str>,
    cert_key: Option<(&str, &str)>,
) -> Result<rustls::ClientConfig, TlsError> {
    let Some(ca_file) = ca_file else {
        return Err(TlsError::Setup(
            "TLS to the leaf hub needs ca_file (the CA that signed the hub's certificate): edgeleaf does not use a system CA store".into(),
        ));
    };
    let mut roots = RootCertStore::empty();
    for ca in read_certs("CA certificate", ca_file)? {
        roots.add(ca).map_err(|e| TlsError::File {
            what: "CA certificate",
            file: ca_file.to_string(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let versions: &[&rustls::SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots);
    match cert_key {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let certs = read_certs("certificate", cert)?;
            let k = read_key(key)?;
            builder
                .with_client_auth_cert(certs, k)
                .map_err(|e| TlsError::Pair {
                    cert: cert.to_string(),
                    key: key.to_string(),
                    reason: e.to_string(),
                })
        }
    }
}

impl TlsState {
    /// What a finished handshake agreed on, and the client's certificates. A certificate
    /// rustls accepted but our reader cannot read is left out (and logged).
    pub fn of(stream: &TlsStream<TcpStream>) -> TlsState {
        let conn = stream.get_ref().1;
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "1.2".to_string(),
            Some(other) => format!("Unknown [0x{:x}]", u16::from(other)),
            None => String::new(),
        };
        let cipher_suite = conn
            .negotiated_cipher_suite()
            .map(|s| cipher_name(u16::from(s.suite())))
            .unwrap_or_default();
        let peer_certs = conn
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .filter_map(|der| match PeerCert::from_der(der) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::debug!("client certificate not readable: {e}");
                    None
                }
            })
            .collect();
        TlsState {
            version,
            cipher_suite,
            peer_certs,
        }
    }
}

/// Go's (and so nats-server's) name of a cipher suite.
pub fn cipher_name(id: u16) -> String {
    match id {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        other => return format!("Unknown [0x{other:x}]"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("edgeleaf-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        Dir(d)
    }

    fn write(d: &Dir, name: &str, text: &str) -> String {
        let p = d.0.join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }

    fn cfg(cert: &str, key: &str, ca: Option<&str>, verify: bool) -> TlsConfig {
        TlsConfig {
            cert_file: cert.into(),
            key_file: key.into(),
            ca_file: ca.map(str::to_string),
            verify,
            verify_and_map: false,
            timeout: TlsConfig::DEFAULT_TIMEOUT,
        }
    }

    fn err(c: &TlsConfig) -> String {
        match TlsSetup::load(c) {
            Ok(_) => panic!("{c:?} loaded"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn loads_a_good_pair_and_names_bad_files() {
        let d = dir("files");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let (c, k) = (
            write(&d, "c.pem", &cert.pem()),
            write(&d, "k.pem", &key.serialize_pem()),
        );
        let setup = TlsSetup::load(&cfg(&c, &k, None, false)).expect("loads");
        assert!(!setup.verify);
        assert!(TlsSetup::load(&cfg(&c, &k, Some(&c), true)).is_ok());

        let missing = d.0.join("nope.pem").display().to_string();
        let e = err(&cfg(&missing, &k, None, false));
        assert!(
            e.starts_with(&format!("TLS certificate file {missing}: ")),
            "{e}"
        );
        let e = err(&cfg(&c, &missing, None, false));
        assert!(
            e.starts_with(&format!("TLS private key file {missing}: ")),
            "{e}"
        );
        // A key where the certificate belongs, and the other way round.
        let e = err(&cfg(&k, &k, None, false));
        assert!(e.contains("no certificate found"), "{e}");
        let e = err(&cfg(&c, &c, None, false));
        assert!(e.contains(&format!("TLS private key file {c}")), "{e}");
        let garbage = write(
            &d,
            "g.pem",
            "-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n",
        );
        let e = err(&cfg(&garbage, &k, None, false));
        assert!(e.contains(&garbage), "{e}");
        // A key of another certificate.
        let other = rcgen::KeyPair::generate().expect("key");
        let k2 = write(&d, "k2.pem", &other.serialize_pem());
        let e = err(&cfg(&c, &k2, None, false));
        assert!(e.contains("cannot be used together"), "{e}");
        // Verification needs a CA file; a CA file must hold certificates.
        assert_eq!(
            err(&cfg(&c, &k, None, true)),
            TlsError::VerifyWithoutCa.to_string()
        );
        let e = err(&cfg(&c, &k, Some(&k), true));
        assert!(
            e.starts_with(&format!("TLS CA certificate file {k}: ")),
            "{e}"
        );
    }

    #[test]
    fn cipher_names_like_go() {
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(
            cipher_name(0xcca9),
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        );
        assert_eq!(cipher_name(0x0a0a), "Unknown [0xa0a]");
        // Every suite we offer has a name.
        for s in provider().cipher_suites {
            assert!(!cipher_name(u16::from(s.suite())).starts_with("Unknown"));
        }
    }
}
