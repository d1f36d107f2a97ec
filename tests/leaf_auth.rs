//! Authentication and TLS of the leaf node link. The hub is always nats-server with a
//! leafnode port; the edge (the leaf) is nats-server (the reference: each case must pass
//! with it) and then edgeleaf, with the same remote configuration. A case is "working"
//! when a hub client's message reaches an edge subscriber and an edge client's message
//! reaches a hub subscriber; a refused edge must log the refusal naming the hub, and retry.
//!
//! Keys, certificates and JWTs are made per test: certificates with rcgen, nkeys with the
//! `nkeys` crate, JWTs by hand (PROTOCOL.md 2.18).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::ConnectOptions;
use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use futures::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{json, Value};
use support::{Broker, Impl, TempDir};

/// The overall limit for a link to come up and carry messages both ways.
const LIMIT: Duration = Duration::from_secs(20);

/// A hub nats-server: client port, monitoring and a leafnode port, all random.
struct Hub {
    b: Broker,
    leaf_port: u16,
}

impl Hub {
    /// `top` goes at the top level of the config, `leaf` inside `leafnodes {}`.
    fn start(top: &str, leaf: &str) -> Hub {
        let cfg = format!(
            "listen: \"127.0.0.1:-1\"\nhttp: \"127.0.0.1:-1\"\n{top}\nleafnodes {{\n  listen: \"127.0.0.1:-1\"\n{leaf}}}\n"
        );
        let b = Broker::start_with_config(Impl::NatsServer, &cfg, &[]);
        let needle = "Listening for leafnode connections on ";
        let leaf_port = b
            .log
            .lock()
            .unwrap()
            .iter()
            .find_map(|l| {
                let rest = &l[l.find(needle)? + needle.len()..];
                rest.trim().rsplit(':').next()?.parse::<u16>().ok()
            })
            .unwrap_or_else(|| panic!("hub: no leafnode port in its log:\n{}", b.log_text()));
        Hub { b, leaf_port }
    }

    /// `host:port` of the leafnode port, as both leafs name it in their logs.
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.leaf_port)
    }
}

/// An edge server of kind `which` with one leaf remote whose body (the inside of `{}`) is
/// `remote`.
fn start_edge(which: Impl, remote: &str) -> Broker {
    let cfg = format!(
        "listen: \"127.0.0.1:-1\"\nleafnodes {{\n  remotes = [\n    {{\n{remote}\n    }}\n  ]\n}}\n"
    );
    Broker::start_with_config(which, &cfg, &[])
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn logs(hub: &Hub, edge: &Broker) -> String {
    format!(
        "--- hub log ---\n{}\n--- edge ({:?}) log ---\n{}",
        hub.b.log_text(),
        edge.which,
        edge.log_text()
    )
}

/// Waits until the hub's /leafz shows one leaf node.
fn wait_for_link(hub: &Hub, edge: &Broker, deadline: Instant) {
    loop {
        let leafz = hub.b.http_get("/leafz");
        if leafz["leafnodes"] == 1 {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{:?} as the leaf: no leaf node on the hub's /leafz within {LIMIT:?}: {leafz}\n{}",
                edge.which,
                logs(hub, edge)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn connect(opts: ConnectOptions, url: String, what: &str) -> async_nats::Client {
    tokio::time::timeout(Duration::from_secs(10), opts.connect(url.clone()))
        .await
        .unwrap_or_else(|_| panic!("{what} client: connect to {url} timed out"))
        .unwrap_or_else(|e| panic!("{what} client: connect to {url}: {e}"))
}

/// Subscribes on `to` and publishes probes on `from` until one arrives (interest crosses
/// the link asynchronously, so early probes may be dropped).
async fn probe(
    from: &async_nats::Client,
    to: &async_nats::Client,
    subject: &str,
    deadline: Instant,
) -> Result<(), String> {
    let mut sub = to.subscribe(subject.to_string()).await.expect("subscribe");
    to.flush().await.expect("flush");
    let mut n = 0u32;
    loop {
        n += 1;
        from.publish(subject.to_string(), format!("probe {n}").into())
            .await
            .expect("publish");
        from.flush().await.expect("flush");
        match tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            Ok(Some(m)) => {
                let text = String::from_utf8_lossy(&m.payload).into_owned();
                if !text.starts_with("probe ") {
                    return Err(format!("unexpected payload {text:?} on {subject}"));
                }
                return Ok(());
            }
            Ok(None) => return Err(format!("subscription on {subject} ended")),
            Err(_) if Instant::now() > deadline => {
                return Err(format!("{n} probes on {subject}, none arrived"))
            }
            Err(_) => {}
        }
    }
}

/// The link is up (hub /leafz) and carries messages hub -> edge and edge -> hub. The hub
/// client connects with `hub_opts` (the same account as the leaf), the edge client
/// without credentials.
fn check_both_ways(hub: &Hub, edge: &Broker, hub_opts: ConnectOptions) {
    let deadline = Instant::now() + LIMIT;
    wait_for_link(hub, edge, deadline);
    let res: Result<(), String> = rt().block_on(async {
        let h = connect(hub_opts, hub.b.url(), "hub").await;
        let e = connect(ConnectOptions::new(), edge.url(), "edge").await;
        probe(&h, &e, "auth.down", deadline)
            .await
            .map_err(|m| format!("hub -> edge: {m}"))?;
        probe(&e, &h, "auth.up", deadline)
            .await
            .map_err(|m| format!("edge -> hub: {m}"))
    });
    if let Err(m) = res {
        panic!(
            "{:?} as the leaf: {m} within {LIMIT:?}\n{}",
            edge.which,
            logs(hub, edge)
        );
    }
}

/// Waits until `n` lines of the edge's log contain all of `needles`; panics otherwise.
/// `EDGELEAF_SHOW_LOGS=1` prints the edge's log when they are there.
fn expect_log_lines(hub: &Hub, edge: &Broker, needles: &[&str], n: usize) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let count = edge
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| needles.iter().all(|w| l.contains(w)))
            .count();
        if count >= n {
            if std::env::var_os("EDGELEAF_SHOW_LOGS").is_some() {
                eprintln!("{:?} as the leaf:\n{}", edge.which, edge.log_text());
            }
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{:?} as the leaf: expected {n} log lines containing {needles:?}, got {count} within {LIMIT:?}\n{}",
                edge.which,
                logs(hub, edge)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The hub never had a leaf node connected.
fn assert_no_link(hub: &Hub, edge: &Broker) {
    let leafz = hub.b.http_get("/leafz");
    assert_eq!(
        leafz["leafnodes"],
        0,
        "{:?} as the leaf: the hub accepted it: {leafz}\n{}",
        edge.which,
        logs(hub, edge)
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p.display().to_string()
}

// ---------------------------------------------------------------------------------------
// 1. TLS

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, as PEM
/// files.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let pki = Pki {
            dir: TempDir::new(),
        };
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "leaf test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA cert");
        write(&pki.dir.path, "ca.pem", &cert.pem());
        let ca = Issuer::new(params, key);
        // A CA that did not sign the hub's certificate.
        let other = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "someone else's CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let cert = params.self_signed(&other).expect("CA cert");
        write(&pki.dir.path, "other-ca.pem", &cert.pem());

        let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("server params");
        server.distinguished_name.push(DnType::CommonName, "hub");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        pki.signed(server, &ca, "server");

        let mut client = CertificateParams::new(Vec::<String>::new()).expect("client params");
        client.distinguished_name.push(DnType::CommonName, "edge");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        pki.signed(client, &ca, "client");
        pki
    }

    fn signed(&self, params: CertificateParams, ca: &Issuer<'_, KeyPair>, name: &str) {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, ca).expect("sign");
        write(&self.dir.path, &format!("{name}.pem"), &cert.pem());
        write(
            &self.dir.path,
            &format!("{name}-key.pem"),
            &key.serialize_pem(),
        );
    }

    fn p(&self, name: &str) -> String {
        self.dir.path.join(name).display().to_string()
    }

    /// The hub's `leafnodes { tls {} }`: mutual TLS.
    fn hub_tls(&self) -> String {
        format!(
            "  tls {{\n    cert_file: \"{}\"\n    key_file: \"{}\"\n    ca_file: \"{}\"\n    verify: true\n    timeout: 2\n  }}\n",
            self.p("server.pem"),
            self.p("server-key.pem"),
            self.p("ca.pem")
        )
    }

    /// The remote's `tls {}`, with or without the client certificate.
    fn remote_tls(&self, client_cert: bool) -> String {
        self.remote_tls_with("ca.pem", client_cert, "")
    }

    /// The remote's `tls {}` trusting `ca`, with `extra` settings.
    fn remote_tls_with(&self, ca: &str, client_cert: bool, extra: &str) -> String {
        let mut s = format!("tls {{ ca_file: \"{}\"{extra}", self.p(ca));
        if client_cert {
            s += &format!(
                ", cert_file: \"{}\", key_file: \"{}\"",
                self.p("client.pem"),
                self.p("client-key.pem")
            );
        }
        s + " }"
    }
}

/// Mutual TLS: `tls://` URLs and `nats-leaf://` URLs with a `tls {}` block both dial
/// with TLS after the hub's plaintext INFO, present the client certificate and work.
#[test]
fn tls_with_client_certificate_carries_messages_both_ways() {
    let pki = Pki::new();
    for which in Impl::both() {
        for scheme in ["tls", "nats-leaf"] {
            let hub = Hub::start("", &pki.hub_tls());
            let edge = start_edge(
                which,
                &format!(
                    "urls: [\"{scheme}://{}\"]\n{}",
                    hub.addr(),
                    pki.remote_tls(true)
                ),
            );
            check_both_ways(&hub, &edge, ConnectOptions::new());
            let leafz = hub.b.http_get("/leafz");
            assert_eq!(leafz["leafs"][0]["account"], "$G", "{which:?}: {leafz}");
        }
    }
}

/// Without a client certificate the hub (verify: true) refuses the TLS handshake; the
/// edge logs it naming the hub and tries again. With TLS 1.3 the leaf's side of the
/// handshake completes before the hub checks the certificate, so the refusal arrives as
/// an alert on the first read: nats-server as the leaf logs no error, only
/// `Leafnode connection created for account: $G` then
/// `Leafnode connection closed: Read Error account: $G` (INF), each time.
#[test]
fn tls_without_client_certificate_is_refused_and_retried() {
    let pki = Pki::new();
    for which in Impl::both() {
        let hub = Hub::start("", &pki.hub_tls());
        let edge = start_edge(
            which,
            &format!(
                "urls: [\"tls://{}\"]\n{}",
                hub.addr(),
                pki.remote_tls(false)
            ),
        );
        let needles: &[&str] = match which {
            Impl::NatsServer => &["Leafnode connection closed"],
            Impl::Edgeleaf => &["ERROR"],
        };
        expect_log_lines(&hub, &edge, &[&[hub.addr().as_str()], needles].concat(), 2);
        assert_no_link(&hub, &edge);
    }
}

/// An edge that does not trust the CA of the hub's certificate refuses the hub; it logs
/// that with the hub's address and tries again.
#[test]
fn tls_hub_certificate_from_an_unknown_ca_is_refused() {
    let pki = Pki::new();
    for which in Impl::both() {
        let hub = Hub::start("", &pki.hub_tls());
        let edge = start_edge(
            which,
            &format!(
                "urls: [\"tls://{}\"]\n{}",
                hub.addr(),
                pki.remote_tls_with("other-ca.pem", true, "")
            ),
        );
        let needles: &[&str] = match which {
            Impl::NatsServer => &["ERR"],
            Impl::Edgeleaf => &["ERROR"],
        };
        expect_log_lines(&hub, &edge, &[&[hub.addr().as_str()], needles].concat(), 2);
        assert_no_link(&hub, &edge);
    }
}

/// `server_name` in the remote's `tls {}` replaces the URL's host when checking the hub's
/// certificate. edgeleaf only: nats-server 2.9 says `error parsing tls config, unknown
/// field ["server_name"]`.
#[test]
fn tls_server_name_is_the_name_checked() {
    let pki = Pki::new();
    for (name, works) in [("localhost", true), ("elsewhere.example", false)] {
        let hub = Hub::start("", &pki.hub_tls());
        let edge = start_edge(
            Impl::Edgeleaf,
            &format!(
                "urls: [\"tls://{}\"]\n{}",
                hub.addr(),
                pki.remote_tls_with("ca.pem", true, &format!(", server_name: \"{name}\""))
            ),
        );
        if works {
            check_both_ways(&hub, &edge, ConnectOptions::new());
        } else {
            expect_log_lines(&hub, &edge, &[&hub.addr(), "ERROR"], 2);
            assert_no_link(&hub, &edge);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Credentials (operator mode)

/// A JWT signed by `signer` (PROTOCOL.md 2.18): header, claims with a jti that hashes
/// the other claims, and an ed25519 signature over "header.claims", all base64url without
/// padding.
fn jwt(signer: &nkeys::KeyPair, sub: &str, name: &str, nats: Value) -> String {
    let header = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({
        "iat": iat,
        "iss": signer.public_key(),
        "name": name,
        "sub": sub,
        "nats": nats,
    });
    let digest = ring::digest::digest(&ring::digest::SHA512_256, claims.to_string().as_bytes());
    claims["jti"] = BASE32_NOPAD.encode(digest.as_ref()).into();
    let signing_input = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let sig = signer.sign(signing_input.as_bytes()).expect("sign JWT");
    format!("{signing_input}.{}", BASE64URL_NOPAD.encode(&sig))
}

fn account_jwt(operator: &nkeys::KeyPair, account: &nkeys::KeyPair, name: &str) -> String {
    let limits = json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
    });
    jwt(
        operator,
        &account.public_key(),
        name,
        json!({"type": "account", "version": 2, "limits": limits}),
    )
}

fn user_jwt(account: &nkeys::KeyPair, user: &nkeys::KeyPair, name: &str) -> String {
    jwt(
        account,
        &user.public_key(),
        name,
        json!({
            "type": "user", "version": 2, "pub": {}, "sub": {},
            "subs": -1, "data": -1, "payload": -1,
        }),
    )
}

/// A .creds file in the layout `nsc` writes.
fn creds_text(user_jwt: &str, user: &nkeys::KeyPair) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        user.seed().expect("seed")
    )
}

/// An operator-mode hub (memory resolver with the APP account preloaded) and a .creds
/// file for a user of APP.
struct Operator {
    dir: TempDir,
    top: String,
    creds: String,
    /// The public key of the account the user belongs to.
    app: String,
}

impl Operator {
    fn new() -> Operator {
        let dir = TempDir::new();
        let operator = nkeys::KeyPair::new_operator();
        let op_jwt = jwt(
            &operator,
            &operator.public_key(),
            "OP",
            json!({"type": "operator", "version": 2}),
        );
        let app = nkeys::KeyPair::new_account();
        let user = nkeys::KeyPair::new_user();
        let creds = write(
            &dir.path,
            "user.creds",
            &creds_text(&user_jwt(&app, &user, "leafuser"), &user),
        );
        // nats-server 2.9 does not insist on a system account for this.
        let top = format!(
            "operator: \"{op_jwt}\"\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{}\"\n}}\n",
            app.public_key(),
            account_jwt(&operator, &app, "APP"),
        );
        Operator {
            dir,
            top,
            creds,
            app: app.public_key(),
        }
    }
}

/// The leaf authenticates with a .creds file (user JWT + signed nonce) and is bound to
/// the user's account: a hub client with the same credentials talks to the edge.
#[test]
fn creds_in_operator_mode_carry_messages_both_ways() {
    let op = Operator::new();
    for which in Impl::both() {
        let hub = Hub::start(&op.top, "");
        let edge = start_edge(
            which,
            &format!(
                "urls: [\"nats-leaf://{}\"]\ncredentials: \"{}\"",
                hub.addr(),
                op.creds
            ),
        );
        let opts = rt()
            .block_on(ConnectOptions::with_credentials_file(op.creds.clone()))
            .expect("read creds");
        check_both_ways(&hub, &edge, opts);
        let leafz = hub.b.http_get("/leafz");
        assert_eq!(leafz["leafs"][0]["account"], op.app, "{which:?}: {leafz}");
    }
}

/// A user signed by an account the hub does not know is refused; the edge logs it with
/// the hub's address and tries again.
#[test]
fn creds_of_an_unknown_account_are_refused() {
    let op = Operator::new();
    // Valid in form, but its account is not in the hub's resolver.
    let stranger = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let bad = write(
        &op.dir.path,
        "stranger.creds",
        &creds_text(&user_jwt(&stranger, &user, "stranger"), &user),
    );
    for which in Impl::both() {
        let hub = Hub::start(&op.top, "");
        let edge = start_edge(
            which,
            &format!(
                "urls: [\"nats-leaf://{}\"]\ncredentials: \"{bad}\"",
                hub.addr()
            ),
        );
        expect_log_lines(&hub, &edge, &[&hub.addr(), "Authorization Violation"], 2);
        assert_no_link(&hub, &edge);
    }
}

// ---------------------------------------------------------------------------------------
// 3. nkey

/// A 2.9 hub whose `leafnodes {}` has no authorization of its own checks a leaf's CONNECT
/// like a client's, so an nkey user of an account works for a leaf (PROTOCOL.md 2.3).
/// edgeleaf only: nats-server 2.9 as a leaf has no `nkey` remote option (`nats-server -t`
/// says `unknown field "nkey"`).
#[test]
fn nkey_seed_file_carries_messages_both_ways() {
    let dir = TempDir::new();
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().expect("seed");
    let seed_file = write(&dir.path, "user.nk", &format!("{seed}\n"));
    let top = format!(
        "accounts {{\n  APP {{ users = [ {{ nkey: \"{}\" }} ] }}\n}}\n",
        user.public_key()
    );
    for remote_nkey in [seed_file.as_str(), seed.as_str()] {
        let hub = Hub::start(&top, "");
        let edge = start_edge(
            Impl::Edgeleaf,
            &format!(
                "urls: [\"nats-leaf://{}\"]\nnkey: \"{remote_nkey}\"",
                hub.addr()
            ),
        );
        check_both_ways(&hub, &edge, ConnectOptions::with_nkey(seed.clone()));
        let leafz = hub.b.http_get("/leafz");
        assert_eq!(leafz["leafs"][0]["account"], "APP", "{leafz}");
    }
}

/// An nkey the hub does not know is refused.
#[test]
fn unknown_nkey_is_refused() {
    let dir = TempDir::new();
    let known = nkeys::KeyPair::new_user();
    let other = nkeys::KeyPair::new_user();
    let seed_file = write(&dir.path, "other.nk", &other.seed().expect("seed"));
    let top = format!(
        "accounts {{\n  APP {{ users = [ {{ nkey: \"{}\" }} ] }}\n}}\n",
        known.public_key()
    );
    let hub = Hub::start(&top, "");
    let edge = start_edge(
        Impl::Edgeleaf,
        &format!(
            "urls: [\"nats-leaf://{}\"]\nnkey: \"{seed_file}\"",
            hub.addr()
        ),
    );
    expect_log_lines(&hub, &edge, &[&hub.addr(), "Authorization Violation"], 2);
    assert_no_link(&hub, &edge);
}

// ---------------------------------------------------------------------------------------
// 4. user and password in the URL

fn user_password_hub() -> Hub {
    Hub::start(
        "accounts {\n  APP { users = [ { user: ce1, password: s3cret } ] }\n}\n",
        "",
    )
}

/// `nats-leaf://user:password@host:port` authenticates the leaf like a client of APP.
/// (nats-server 2.9 remotes have no `user`/`password` keys: `unknown field "user"`.)
#[test]
fn url_user_and_password_carry_messages_both_ways() {
    for which in Impl::both() {
        let hub = user_password_hub();
        let edge = start_edge(
            which,
            &format!("urls: [\"nats-leaf://ce1:s3cret@{}\"]", hub.addr()),
        );
        check_both_ways(
            &hub,
            &edge,
            ConnectOptions::with_user_and_password("ce1".into(), "s3cret".into()),
        );
        let leafz = hub.b.http_get("/leafz");
        assert_eq!(leafz["leafs"][0]["account"], "APP", "{which:?}: {leafz}");
    }
}

/// A wrong password: the hub answers `-ERR 'Authorization Violation'` and closes; the edge
/// logs it with the hub's port and keeps retrying.
#[test]
fn url_bad_password_is_refused_and_retried() {
    for which in Impl::both() {
        let hub = user_password_hub();
        let edge = start_edge(
            which,
            &format!("urls: [\"nats-leaf://ce1:wrong@{}\"]", hub.addr()),
        );
        let port = hub.leaf_port.to_string();
        expect_log_lines(&hub, &edge, &[&port, "Authorization Violation"], 2);
        assert_no_link(&hub, &edge);
        assert!(
            !edge.log_text().contains("wrong"),
            "{which:?} logged the password:\n{}",
            edge.log_text()
        );
    }
}
