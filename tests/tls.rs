//! TLS for client connections and the monitoring port, run against nats-server and
//! edgeleaf with the same config file: a difference is a failing case. Each test makes a
//! throwaway CA with rcgen: a server certificate for 127.0.0.1 and localhost, a good
//! client certificate, one from an unknown CA and an expired one.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use support::{Broker, Impl, Raw, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The throwaway PKI of one test, as PEM files in a temp dir.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let pki = Pki {
            dir: TempDir::new(),
        };
        let ca = pki.ca("edgeleaf test CA", "ca");
        let other_ca = pki.ca("someone else's CA", "other-ca");

        let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("server params");
        server
            .distinguished_name
            .push(DnType::CommonName, "edge server");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        pki.leaf(server, &ca, "server");

        pki.leaf(client_params(), &ca, "client");
        pki.leaf(client_params(), &other_ca, "unknown");
        let mut expired = client_params();
        expired.not_before = rcgen::date_time_ymd(2000, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2001, 1, 1);
        pki.leaf(expired, &ca, "expired");
        // For verify_and_map: the certificate's e-mail address names the user.
        let mut mapped = client_params();
        mapped.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            "alice@acme.example".try_into().expect("ia5"),
        )];
        pki.leaf(mapped, &ca, "mapped");
        pki
    }

    fn ca(&self, name: &str, file: &str) -> Issuer<'static, KeyPair> {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA cert");
        self.write(&format!("{file}.pem"), &cert.pem());
        Issuer::new(params, key)
    }

    fn leaf(&self, params: CertificateParams, ca: &Issuer<'_, KeyPair>, file: &str) {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, ca).expect("sign");
        self.write(&format!("{file}.pem"), &cert.pem());
        self.write(&format!("{file}-key.pem"), &key.serialize_pem());
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path.join(name), text).expect("write PEM");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path.join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// A config file with a plain monitoring port (for /connz) and this TLS block body.
    fn config(&self, tls_extra: &str) -> String {
        format!(
            "listen: \"127.0.0.1:-1\"\nhttp: \"127.0.0.1:-1\"\ntls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n{tls_extra}}}\n",
            self.p("server.pem"),
            self.p("server-key.pem"),
        )
    }

    fn verify_config(&self) -> String {
        self.config(&format!(
            "  ca_file: \"{}\"\n  verify: true\n",
            self.p("ca.pem")
        ))
    }
}

/// A client certificate whose subject has standard attributes and one (DC) Go prints as
/// hex, to compare how both servers show it.
fn client_params() -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("client params");
    p.distinguished_name.push(DnType::OrganizationName, "Acme");
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "Edge Gateways");
    p.distinguished_name.push(DnType::CommonName, "alice");
    p.distinguished_name.push(
        DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
        DnValue::Ia5String("example".try_into().expect("ia5")),
    );
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// async-nats over TLS trusting the test CA, with an optional client certificate.
async fn connect(
    b: &Broker,
    pki: &Pki,
    client: Option<&str>,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut opts = async_nats::ConnectOptions::new()
        .add_root_certificates(pki.path("ca.pem"))
        .require_tls(true);
    if let Some(name) = client {
        opts = opts.add_client_certificate(
            pki.path(&format!("{name}.pem")),
            pki.path(&format!("{name}-key.pem")),
        );
    }
    tokio::time::timeout(Duration::from_secs(20), opts.connect(b.url()))
        .await
        .unwrap_or_else(|_| panic!("{:?}: connect timed out", b.which))
}

/// Publishes and receives one message, i.e. the connection really works.
async fn round_trip(c: &async_nats::Client, which: Impl) {
    let mut sub = c.subscribe("tls.check").await.expect("subscribe");
    c.flush().await.expect("flush");
    c.publish("tls.check", "over tls".into())
        .await
        .expect("publish");
    let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap_or_else(|_| panic!("{which:?}: no message"))
        .expect("message");
    assert_eq!(msg.payload, "over tls", "{which:?}");
}

/// The INFO a raw TCP client gets first (plaintext, also from a TLS server).
fn raw_info(b: &Broker) -> Value {
    Raw::connect(b.port).info
}

/// Closed connections' reasons, sorted.
fn closed_reasons(b: &Broker) -> Vec<String> {
    let connz = b.http_get("/connz?state=closed");
    let mut reasons: Vec<String> = connz["connections"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["reason"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    reasons.sort();
    reasons
}

/// Waits until `n` connections are closed (the server records a close a little after
/// the client saw it).
fn wait_closed(b: &Broker, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reasons = closed_reasons(b);
        if reasons.len() >= n || std::time::Instant::now() > deadline {
            return reasons;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tls_pub_sub_info_and_connz_match_nats_server() {
    let pki = Pki::new();
    let rt = rt();
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &pki.config(""), &[]);
        let info = raw_info(&b);
        assert_eq!(info["tls_required"], true, "{which:?}: {info}");
        assert_eq!(info.get("tls_verify"), None, "{which:?}: {info}");
        let connz = rt.block_on(async {
            let c = connect(&b, &pki, None)
                .await
                .unwrap_or_else(|e| panic!("{which:?}: {e}\n{}", b.log_text()));
            round_trip(&c, which).await;
            let connz = b.http_get("/connz");
            drop(c);
            connz
        });
        let conn = connz["connections"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["lang"] == "rust"))
            .cloned()
            .unwrap_or_else(|| panic!("{which:?}: no client in {connz}"));
        let varz = b.http_get("/varz");
        seen.push((
            conn["tls_version"].clone(),
            conn["tls_cipher_suite"].clone(),
            conn.get("tls_peer_certs").cloned(),
            varz["tls_required"].clone(),
            varz.get("tls_verify").cloned(),
            varz["tls_timeout"].clone(),
            varz["auth_timeout"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1], "nats-server vs edgeleaf");
    assert_eq!(seen[0].0, "1.3");
    assert_eq!(seen[0].3, true);
}

#[test]
fn mtls_good_cert_in_unknown_ca_and_expired_out() {
    let pki = Pki::new();
    let rt = rt();
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &pki.verify_config(), &[]);
        let info = raw_info(&b);
        assert_eq!(
            (&info["tls_required"], &info["tls_verify"]),
            (&Value::Bool(true), &Value::Bool(true)),
            "{which:?}: {info}"
        );
        let peer_certs = rt.block_on(async {
            let c = connect(&b, &pki, Some("client"))
                .await
                .unwrap_or_else(|e| panic!("{which:?}: good cert refused: {e}\n{}", b.log_text()));
            round_trip(&c, which).await;
            let connz = b.http_get("/connz?auth=true");
            for (cert, why) in [
                (Some("unknown"), "unknown CA"),
                (Some("expired"), "expired"),
                (None, "no client certificate"),
            ] {
                let res = connect(&b, &pki, cert).await;
                assert!(res.is_err(), "{which:?}: {why} accepted");
            }
            drop(c);
            connz["connections"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["lang"] == "rust"))
                .map(|c| c["tls_peer_certs"].clone())
                .unwrap_or_default()
        });
        let reasons = wait_closed(&b, 4);
        let failures = reasons
            .iter()
            .filter(|r| *r == "TLS Handshake Failure")
            .count();
        seen.push((peer_certs, failures));
    }
    assert_eq!(seen[0], seen[1], "nats-server vs edgeleaf");
    let certs = &seen[0].0;
    assert_eq!(
        certs[0]["subject"],
        "CN=alice,OU=Edge Gateways,O=Acme,0.9.2342.19200300.100.1.25=#13076578616d706c65",
        "{certs}"
    );
    // The three refused clients, and the raw probe that read INFO and left.
    assert_eq!(seen[0].1, 4, "rejected handshakes");
}

#[test]
fn plaintext_client_is_closed_without_an_answer() {
    let pki = Pki::new();
    let rt = rt();
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &pki.verify_config(), &[]);
        // After the plaintext INFO a client that does not start TLS is closed silently.
        let mut raw = Raw::connect(b.port);
        let connect = raw.exchange(b"CONNECT {\"verbose\":false}\r\n");
        let mut raw = Raw::connect(b.port);
        let ping = raw.exchange(b"");
        // A client that does not trust the server's certificate gives up, too.
        let untrusting = rt.block_on(async {
            async_nats::ConnectOptions::new()
                .require_tls(true)
                .connect(b.url())
                .await
                .is_err()
        });
        let reasons = wait_closed(&b, 3);
        seen.push((connect, ping, untrusting, reasons));
    }
    assert_eq!(seen[0], seen[1], "nats-server vs edgeleaf");
    assert_eq!(seen[0].0, "<EOF>");
    assert!(seen[0].2, "untrusting client connected");
}

#[test]
fn handshake_timeout_closes_and_sets_auth_timeout() {
    let pki = Pki::new();
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &pki.config("  timeout: 0.5\n"), &[]);
        // Say nothing after INFO: the server gives up on the handshake.
        let mut raw = Raw::connect(b.port);
        let heard = raw.read_until("<never>");
        let varz = b.http_get("/varz");
        seen.push((
            heard,
            wait_closed(&b, 1),
            varz["tls_timeout"].clone(),
            varz["auth_timeout"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1], "nats-server vs edgeleaf");
    assert_eq!(seen[0].0, "<EOF>");
    assert_eq!(seen[0].1, vec!["TLS Handshake Failure".to_string()]);
    assert_eq!(
        (seen[0].2.as_f64(), seen[0].3.as_f64()),
        (Some(0.5), Some(1.5))
    );
}

#[test]
fn tls_flags_enable_and_verify() {
    let pki = Pki::new();
    let rt = rt();
    let (cert, key, ca) = (
        pki.p("server.pem"),
        pki.p("server-key.pem"),
        pki.p("ca.pem"),
    );
    for which in Impl::both() {
        let b = Broker::start(
            which,
            &[
                "--tlsverify",
                "--tlscert",
                &cert,
                "--tlskey",
                &key,
                "--tlscacert",
                &ca,
            ],
        );
        let info = raw_info(&b);
        assert_eq!(info["tls_verify"], true, "{which:?}: {info}");
        rt.block_on(async {
            let c = connect(&b, &pki, Some("client"))
                .await
                .unwrap_or_else(|e| panic!("{which:?}: {e}\n{}", b.log_text()));
            round_trip(&c, which).await;
            assert!(connect(&b, &pki, None).await.is_err(), "{which:?}");
        });
        // --tls alone (no certificate) is refused by both.
        let out = std::process::Command::new(which.program())
            .args(["-a", "127.0.0.1", "-p", "-1", "--tls"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{which:?}: {err}");
        assert!(
            err.contains("TLS Server certificate must be present and valid"),
            "{which:?}: {err}"
        );
    }
}

#[test]
fn bad_certificate_files_are_named_and_exit_1() {
    let pki = Pki::new();
    let dir = TempDir::new();
    let missing = dir.path.join("missing.pem").display().to_string();
    let cases = [
        (
            pki.config("").replace(&pki.p("server.pem"), &missing),
            missing.clone(),
        ),
        (
            pki.config("").replace(&pki.p("server-key.pem"), &missing),
            missing.clone(),
        ),
        // A private key where the certificate belongs.
        (
            pki.config("")
                .replace(&pki.p("server.pem"), &pki.p("client-key.pem")),
            pki.p("client-key.pem"),
        ),
    ];
    for which in Impl::both() {
        for (i, (config, file)) in cases.iter().enumerate() {
            let path = dir.path.join(format!("bad{i}.conf"));
            std::fs::write(&path, config).expect("write");
            let out = std::process::Command::new(which.program())
                .arg("-c")
                .arg(&path)
                .output()
                .expect("run");
            let err = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "{which:?} case {i}: {err}");
            if which == Impl::Edgeleaf || i < 2 {
                // nats-server names a missing file; for a bad one it only says why.
                assert!(err.contains(file.as_str()), "{which:?} case {i}: {err}");
            }
            assert!(!err.contains("Server is ready"), "{which:?} case {i}");
        }
    }
}

/// GET over TLS with a rustls client that trusts the test CA.
async fn https_get(port: u16, pki: &Pki, path: &str) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(pki.path("ca.pem"))?;
    for cert in rustls_pemfile_certs(&pem) {
        roots
            .add(cert)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| std::io::Error::other(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost")
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut resp = Vec::new();
    // Go's server may end without close_notify; what arrived counts.
    let _ = tls.read_to_end(&mut resp).await;
    Ok(String::from_utf8_lossy(&resp).into_owned())
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .expect("CA PEM")
}

#[test]
fn https_monitoring_serves_varz_over_tls() {
    let pki = Pki::new();
    let rt = rt();
    let config = format!(
        "listen: \"127.0.0.1:-1\"\nhttps: \"127.0.0.1:-1\"\ntls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n}}\n",
        pki.p("server.pem"),
        pki.p("server-key.pem"),
        pki.p("ca.pem"),
    );
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &config, &[]);
        assert!(
            b.log_text()
                .contains("Starting https monitor on 127.0.0.1:"),
            "{which:?}: {}",
            b.log_text()
        );
        assert_eq!(b.http_port, None, "{which:?}: plain monitoring is off");
        let port = b
            .https_port
            .unwrap_or_else(|| panic!("{which:?}: no https port"));
        // No client certificate needed on the monitoring port, even with verify on.
        let resp = rt
            .block_on(https_get(port, &pki, "/varz"))
            .unwrap_or_else(|e| panic!("{which:?}: {e}"));
        assert!(resp.starts_with("HTTP/1.1 200 OK"), "{which:?}: {resp}");
        let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let varz: Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{which:?}: {e}: {body}"));
        // Plain HTTP on the HTTPS port gets no JSON.
        let mut raw = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        std::io::Write::write_all(&mut raw, b"GET /varz HTTP/1.1\r\nHost: x\r\n\r\n").ok();
        raw.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut plain = Vec::new();
        let _ = std::io::Read::read_to_end(&mut raw, &mut plain);
        assert!(
            !String::from_utf8_lossy(&plain).contains("server_id"),
            "{which:?}"
        );
        seen.push((
            varz["https_port"].clone(),
            varz["http_port"].clone(),
            varz["tls_required"].clone(),
            varz["tls_verify"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1], "nats-server vs edgeleaf");
    assert_eq!(seen[0].0, -1);
}

#[test]
fn verify_and_map_names_the_user_by_certificate() {
    let pki = Pki::new();
    let rt = rt();
    let config = format!(
        "{}authorization {{ users: [ {{user: \"alice@acme.example\", permissions: {{publish: \"tls.>\", subscribe: \"tls.>\"}}}} ] }}\n",
        pki.config(&format!("  ca_file: \"{}\"\n  verify_and_map: true\n", pki.p("ca.pem")))
    );
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &config, &[]);
        let outcome = rt.block_on(async {
            let mapped = connect(&b, &pki, Some("mapped")).await;
            let mapped_ok = match &mapped {
                Ok(c) => {
                    round_trip(c, which).await;
                    true
                }
                Err(_) => false,
            };
            // Verified, but its names match no user.
            let unmapped = connect(&b, &pki, Some("client")).await.is_ok();
            let user = b.http_get("/connz?auth=true")["connections"]
                .as_array()
                .and_then(|a| a.first().map(|c| c["authorized_user"].clone()))
                .unwrap_or_default();
            (mapped_ok, unmapped, user)
        });
        seen.push(outcome);
    }
    assert_eq!(seen[1], seen[0], "edgeleaf (right) vs nats-server (left)");
    assert!(seen[0].0, "mapped certificate accepted");
    assert!(!seen[0].1, "unmapped certificate refused");
}
