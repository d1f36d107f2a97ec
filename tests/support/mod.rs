//! Test support: starts edgeleaf or the reference nats-server on free loopback ports, finds
//! the ports from their startup log lines (as operators' tools do), and stops them on drop.
//! Also a raw-socket client for byte-level comparisons of the two servers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod cloud;
pub mod proxy;

/// Which server a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Edgeleaf,
    NatsServer,
}

impl Impl {
    pub fn both() -> [Impl; 2] {
        [Impl::NatsServer, Impl::Edgeleaf]
    }

    pub fn program(self) -> PathBuf {
        match self {
            Impl::Edgeleaf => PathBuf::from(env!("CARGO_BIN_EXE_edgeleaf")),
            Impl::NatsServer => which("nats-server").unwrap_or_else(|| {
                panic!("nats-server is not installed: run scripts/test.sh, which installs it")
            }),
        }
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/usr/bin"])
    {
        let p = PathBuf::from(dir).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    None
}

/// A running server process; killed when dropped.
pub struct Broker {
    pub which: Impl,
    pub child: Child,
    pub port: u16,
    pub http_port: Option<u16>,
    /// The HTTPS monitoring port, when `https`/`https_port` is configured.
    pub https_port: Option<u16>,
    pub log: Arc<Mutex<Vec<String>>>,
    lines: mpsc::Receiver<String>,
    _dir: Option<TempDir>,
}

impl Broker {
    /// Starts a server on 127.0.0.1 with a random client port, no monitoring, plus `extra`
    /// arguments.
    pub fn start(which: Impl, extra: &[&str]) -> Broker {
        let mut args = vec!["-a", "127.0.0.1", "-p", "-1"];
        // edgeleaf turns monitoring on by default; nats-server does not.
        if which == Impl::Edgeleaf && !extra.iter().any(|a| *a == "-m" || *a == "--http_port") {
            args.extend(["-m", "0"]);
        }
        args.extend_from_slice(extra);
        Self::start_raw(which, &args, None)
    }

    /// Starts a server with a config file (written to a temp dir) and extra arguments.
    pub fn start_with_config(which: Impl, config: &str, extra: &[&str]) -> Broker {
        Self::start_with_config_named(which, "server.conf", config, extra)
    }

    /// As `start_with_config`, the file named `file_name` (edgeleaf reads a name ending in
    /// `.toml` as TOML).
    pub fn start_with_config_named(
        which: Impl,
        file_name: &str,
        config: &str,
        extra: &[&str],
    ) -> Broker {
        match Self::try_start_with_config_named(which, file_name, config, extra) {
            Ok(b) => b,
            Err((log, why)) => panic!("{which:?} did not start ({why}); log:\n{}", log.join("\n")),
        }
    }

    /// As `start_with_config_named`; Err carries the log when the server did not start.
    pub fn try_start_with_config_named(
        which: Impl,
        file_name: &str,
        config: &str,
        extra: &[&str],
    ) -> Result<Broker, (Vec<String>, String)> {
        let dir = TempDir::new();
        let path = dir.path.join(file_name);
        std::fs::write(&path, config).expect("write config");
        let path = path.to_string_lossy().into_owned();
        let mut args = vec!["-c", path.as_str()];
        args.extend_from_slice(extra);
        // As in `start`: edgeleaf's default monitoring port (0.0.0.0:8222) would collide
        // with any other test or server on this machine.
        let monitoring = config.contains("http")
            || extra
                .iter()
                .any(|a| matches!(*a, "-m" | "--http_port" | "-ms" | "--https_port"));
        if which == Impl::Edgeleaf && !monitoring {
            args.extend(["-m", "0"]);
        }
        Self::spawn(which, Command::new(which.program()).args(&args), Some(dir))
    }

    pub fn start_raw(which: Impl, args: &[&str], dir: Option<TempDir>) -> Broker {
        Self::spawn(which, Command::new(which.program()).args(args), dir).unwrap_or_else(
            |(log, why)| panic!("{which:?} did not start ({why}); log:\n{}", log.join("\n")),
        )
    }

    /// Spawns the command and waits for "Server is ready". Err carries the log so far.
    pub fn spawn(
        which: Impl,
        cmd: &mut Command,
        dir: Option<TempDir>,
    ) -> Result<Broker, (Vec<String>, String)> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", which.program()));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut broker = Broker {
            which,
            child,
            port: 0,
            http_port: None,
            https_port: None,
            log,
            lines: rx,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match broker.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(p) = port_after(&line, "Listening for client connections on ") {
                        broker.port = p;
                    }
                    if let Some(p) = port_after(&line, "Starting http monitor on ") {
                        broker.http_port = Some(p);
                    }
                    if let Some(p) = port_after(&line, "Starting https monitor on ") {
                        broker.https_port = Some(p);
                    }
                    if line.contains("Server is ready") {
                        return Ok(broker);
                    }
                }
                Err(_) => {
                    let log = broker.log.lock().unwrap().clone();
                    return Err((log, "no \"Server is ready\" line".into()));
                }
            }
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Waits for a log line containing `needle` (already seen lines count).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        if self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(needle) {
                return true;
            }
        }
        false
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, returning its exit code, or None on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// GET on the monitoring port, returning the parsed JSON body.
    pub fn http_get(&self, path: &str) -> serde_json::Value {
        let port = self.http_port.expect("monitoring port not enabled");
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect monitor");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let body = if resp
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad JSON from {path}: {e}: {body}"))
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_after(line: &str, prefix: &str) -> Option<u16> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    let addr = rest.split_whitespace().next()?;
    let port = addr.rsplit(':').next()?;
    port.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// Runs `run` against nats-server and then edgeleaf, each started with the same `config`
/// file on a random loopback port; what `run` returns (a transcript) must be the same.
/// `EDGELEAF_SHOW_TRANSCRIPTS=1` prints both.
pub fn same_on_both(config: &str, run: impl Fn(&Broker) -> String) {
    let mut out = Vec::new();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, config, &["-a", "127.0.0.1", "-p", "-1"]);
        out.push(run(&b));
    }
    if std::env::var_os("EDGELEAF_SHOW_TRANSCRIPTS").is_some() {
        eprintln!("{out:?}");
    }
    assert_eq!(
        out[1], out[0],
        "edgeleaf (right) differs from nats-server (left)"
    );
}

/// A directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "edgeleaf-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A raw protocol session: what the server sent back, as text, with the INFO line replaced
/// by `INFO\r\n` so transcripts of both servers can be compared.
pub struct Raw {
    pub stream: TcpStream,
    pub info: serde_json::Value,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut raw = Raw {
            stream,
            info: serde_json::Value::Null,
            buf: Vec::new(),
        };
        let line = raw.read_line().expect("INFO line");
        let json = line.strip_prefix("INFO ").expect("INFO first").trim_end();
        raw.info = serde_json::from_str(json).expect("INFO json");
        raw
    }

    /// Connects without expecting an INFO (the server may refuse or close at once).
    pub fn connect_raw(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Raw {
            stream,
            info: serde_json::Value::Null,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// One line (with CRLF), or None at EOF.
    pub fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads until the text `end` has arrived or the connection closes; returns everything
    /// read, with `<EOF>` appended when it closed.
    pub fn read_until(&mut self, end: &str) -> String {
        let needle = end.as_bytes();
        let mut searched: usize = 0;
        loop {
            let from = searched.saturating_sub(needle.len());
            if let Some(i) = self.buf[from..]
                .windows(needle.len())
                .position(|w| w == needle)
            {
                let upto = from + i + needle.len();
                let taken: Vec<u8> = self.buf.drain(..upto).collect();
                return String::from_utf8_lossy(&taken).into_owned();
            }
            searched = self.buf.len();
            if !self.fill() {
                let text = String::from_utf8_lossy(&self.buf).into_owned();
                self.buf.clear();
                return text + "<EOF>";
            }
        }
    }

    /// Sends `bytes` then a PING, and returns everything up to the PONG (or to EOF if the
    /// server closed the connection): an event to wait for instead of a sleep.
    pub fn exchange(&mut self, bytes: &[u8]) -> String {
        self.send(bytes);
        self.send(b"PING\r\n");
        self.read_until("PONG\r\n")
    }
}
