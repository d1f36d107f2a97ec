//! Smoke test of the static aarch64 build: the binary the device gets, run under
//! qemu-user, must accept an official client (`async-nats`) and route a message, in
//! plain TCP and over mutual TLS (ring's cross-compiled crypto at work).
//!
//! Ignored by a plain `cargo test`: it needs the release binary from
//! `cross/build.sh aarch64` and `qemu-aarch64-static`. `scripts/test.sh` builds it and runs
//!
//! ```text
//! EDGELEAF_AARCH64_BIN=target/aarch64-unknown-linux-musl/release/edgeleaf \
//!     cargo test --test cross_aarch64 -- --ignored
//! ```
//!
//! The process helper below is deliberately local to this file (`QemuBroker`); it will move
//! into `tests/support` once that harness exists.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures::StreamExt;

/// The user-mode emulator that runs the aarch64 binary on an x86_64 host.
const QEMU: &str = "qemu-aarch64-static";
/// Env var naming the static aarch64 binary to test.
const BIN_ENV: &str = "EDGELEAF_AARCH64_BIN";
/// qemu's TCG is slow, and CI may be busy: be generous before declaring the start failed.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Every client-side step (connect, flush, receive) gets this long.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The line nats-server (and so edgeleaf) logs once the client listener is bound.
const LISTENING: &str = "Listening for client connections on ";
/// The line logged once the server accepts clients.
const READY: &str = "Server is ready";

/// A broker process started under qemu. Killed and reaped on drop, so a failing assertion
/// never leaves an emulated broker behind.
struct QemuBroker {
    child: Child,
    port: u16,
    /// Everything the process printed so far (stderr and stdout), for failure messages.
    output: Arc<Mutex<Vec<String>>>,
}

impl QemuBroker {
    /// Starts `qemu-aarch64-static <bin> -a 127.0.0.1 -p -1 -m 0 <extra>` and waits until
    /// the broker logged its client port and readiness.
    fn start(bin: &std::path::Path, extra: &[&str]) -> QemuBroker {
        let mut child = Command::new(QEMU)
            .arg(bin)
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{QEMU} {}`: {e} (is qemu-user-static installed?)",
                    bin.display()
                )
            });

        // Both pipes are drained for the whole life of the process (so it never blocks on a
        // full pipe) and every line is kept for failure messages. Logs go to stderr by
        // contract; stdout is read as well so a broker logging there still gets diagnosed.
        let output = Arc::new(Mutex::new(Vec::new()));
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        spawn_line_reader(stdout, lines_tx.clone(), Arc::clone(&output));
        spawn_line_reader(stderr, lines_tx, Arc::clone(&output));

        // From here on the guard owns the child: any panic below kills it.
        let mut broker = QemuBroker {
            child,
            port: 0,
            output,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut port = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split_once(LISTENING).map(|(_, rest)| rest) {
                        port = Some(parse_port(rest).unwrap_or_else(|| {
                            broker.fail(&format!("cannot parse the port from {line:?}"))
                        }));
                    } else if line.contains(READY) {
                        match port {
                            Some(p) => {
                                broker.port = p;
                                return broker;
                            }
                            None => broker.fail(&format!(
                                "broker said {READY:?} before {LISTENING:?}<host:port>"
                            )),
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => broker.fail(&format!(
                    "no {READY:?} line within {START_TIMEOUT:?} (client port seen: {port:?})"
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = match broker.child.wait() {
                        Ok(status) => status.to_string(),
                        Err(e) => format!("wait failed: {e}"),
                    };
                    broker.fail(&format!("broker exited before it was ready ({status})"))
                }
            }
        }
    }

    /// Panics with `why`, the command and everything the broker printed.
    fn fail(&self, why: &str) -> ! {
        let output = self
            .output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n");
        panic!(
            "{why}\n--- output of {QEMU} (pid {}) ---\n{output}\n---",
            self.child.id()
        );
    }
}

impl Drop for QemuBroker {
    fn drop(&mut self) {
        // qemu-user runs the guest in its own process: killing it ends the broker.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_line_reader(
    pipe: impl Read + Send + 'static,
    lines: mpsc::Sender<String>,
    output: Arc<Mutex<Vec<String>>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            output
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line.clone());
            // The receiver is gone once the broker is ready; keep draining regardless.
            let _ = lines.send(line);
        }
    });
}

/// `127.0.0.1:4222` (possibly followed by more text) -> 4222. Also handles `[::1]:4222`.
fn parse_port(addr: &str) -> Option<u16> {
    let addr = addr.split_whitespace().next()?;
    let (_, port) = addr.rsplit_once(':')?;
    port.parse().ok().filter(|p| *p != 0)
}

fn aarch64_bin() -> PathBuf {
    let bin = std::env::var_os(BIN_ENV).unwrap_or_else(|| {
        panic!(
            "{BIN_ENV} is not set: point it at the static aarch64 binary, e.g. \
             `cross/build.sh aarch64 && {BIN_ENV}=target/aarch64-unknown-linux-musl/release/edgeleaf \
             cargo test --test cross_aarch64 -- --ignored` (scripts/test.sh does this)"
        )
    });
    let bin = PathBuf::from(bin);
    assert!(
        bin.is_file(),
        "{BIN_ENV}={} does not name a file (build it with cross/build.sh aarch64)",
        bin.display()
    );
    bin
}

#[test]
#[ignore = "run by scripts/test.sh after the aarch64 build"]
fn aarch64_static_binary_routes_a_message_under_qemu() {
    let bin = aarch64_bin();
    let broker = QemuBroker::start(&bin, &[]);
    if let Err(why) = round_trip(broker.port, async_nats::ConnectOptions::new()) {
        broker.fail(&why);
    }
}

/// ring's C and assembly, cross-compiled with clang, doing a real mutual TLS handshake on
/// the device's architecture.
#[test]
#[ignore = "run by scripts/test.sh after the aarch64 build"]
fn aarch64_static_binary_serves_mutual_tls_under_qemu() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    let bin = aarch64_bin();
    let dir = std::env::temp_dir().join(format!("edgeleaf-cross-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write PEM");
        path
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "cross test CA");
    let ca_pem = write("ca.pem", &ca.self_signed(&ca_key).expect("CA").pem());
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |names: Vec<String>, file: &str| {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("sign");
        (
            write(&format!("{file}.pem"), &cert.pem()),
            write(&format!("{file}-key.pem"), &key.serialize_pem()),
        )
    };
    let (server_cert, server_key) = leaf(vec!["127.0.0.1".into()], "server");
    let (client_cert, client_key) = leaf(Vec::new(), "client");
    let path = |p: &PathBuf| p.display().to_string();
    let (sc, sk, ca_file) = (path(&server_cert), path(&server_key), path(&ca_pem));
    let broker = QemuBroker::start(
        &bin,
        &[
            "--tlsverify",
            "--tlscert",
            &sc,
            "--tlskey",
            &sk,
            "--tlscacert",
            &ca_file,
        ],
    );
    let opts = async_nats::ConnectOptions::new()
        .require_tls(true)
        .add_root_certificates(ca_pem.clone())
        .add_client_certificate(client_cert, client_key);
    let result = round_trip(broker.port, opts);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(why) = result {
        broker.fail(&why);
    }
}

/// Connects with `opts`, subscribes, publishes and receives one message.
fn round_trip(port: u16, opts: async_nats::ConnectOptions) -> Result<(), String> {
    let url = format!("nats://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let client = tokio::time::timeout(
            CLIENT_TIMEOUT,
            opts.connection_timeout(CLIENT_TIMEOUT)
                .connect(url.as_str()),
        )
        .await
        .map_err(|_| format!("connect to {url} timed out"))?
        .map_err(|e| format!("connect to {url}: {e}"))?;

        let subject = format!("edgeleaf.smoke.{}", std::process::id());
        let mut sub = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| format!("subscribe {subject}: {e}"))?;
        // SUB and PUB travel on the same connection, so the server sees the
        // subscription before the message.
        client
            .publish(subject.clone(), "hello from aarch64".into())
            .await
            .map_err(|e| format!("publish {subject}: {e}"))?;
        tokio::time::timeout(CLIENT_TIMEOUT, client.flush())
            .await
            .map_err(|_| "flush timed out".to_string())?
            .map_err(|e| format!("flush: {e}"))?;

        let msg = tokio::time::timeout(CLIENT_TIMEOUT, sub.next())
            .await
            .map_err(|_| format!("no message on {subject} within {CLIENT_TIMEOUT:?}"))?
            .ok_or_else(|| format!("subscription to {subject} ended without a message"))?;
        if msg.subject.as_str() != subject || msg.payload.as_ref() != b"hello from aarch64" {
            return Err(format!(
                "wrong message: subject {:?}, payload {:?}",
                msg.subject.as_str(),
                String::from_utf8_lossy(&msg.payload)
            ));
        }
        Ok::<(), String>(())
    })
}
