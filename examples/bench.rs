//! The project's benchmark: edgeleaf against nats-server on the same machine, in one run.
//!
//! Run it through `scripts/bench.sh` (see bench/README.md). Each scenario is run `--repeats`
//! times per server, alternating the order (A B, B A, A B, ...) so that slow drifts in
//! machine load hit both servers alike; every run gets a fresh server process. The client is
//! raw TCP NATS protocol (no client library in the hot loop): a pipelined publisher writing
//! large batches of `PUB` frames and subscribers that count `MSG` frames with a small scanner.
//! The publisher is held back by a window of undelivered messages, so it never pushes a
//! subscriber into a slow-consumer disconnect; a subscriber that is disconnected anyway, or
//! messages that never arrive, make the run FAILED (reported, excluded from the medians).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const CONNECT: &[u8] =
    b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n";
/// Bytes of undelivered frames a publisher may have in flight per subscriber. Far below the
/// servers' default max_pending (64 MiB), so a run measures throughput, not disconnects.
/// `--window-mib` changes it.
const WINDOW_MIB: usize = 8;
/// How long subscribers may take to drain after the publisher stopped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Options

#[derive(Debug, Clone)]
struct Opts {
    repeats: usize,
    msgs: u64,
    secs: f64,
    requests: u64,
    window_mib: usize,
    only: Vec<Scenario>,
    servers: Vec<Kind>,
    edgeleaf: PathBuf,
    nats_server: PathBuf,
}

const USAGE: &str = "\
usage: scripts/bench.sh [options]
  --repeats N        runs per server and scenario, alternating order (default 4)
  --msgs N           messages published per throughput run (default 5000000)
  --secs S           time bound per run in seconds (default 10)
  --requests N       requests per request/reply run (default 20000)
  --window-mib N     undelivered bytes a publisher may have in flight per receiver (default 8)
  --only LIST        comma-separated subset of: pubsub16,pubsub128,fanout,queue,reqreply,
                     leaf_up16,leaf_up128,leaf_down16,leaf_interest,js_pub1,js_pub4,js_pull,
                     js_ack_latency,uplink_drain; `leaf` names the four leaf scenarios, `js`
                     the four JetStream ones, `local` the five core ones, `uplink` the
                     uplink drain (not run by default)
                     (JetStream runs publish --msgs / 25 messages, at least 1000; the
                     uplink drain's backlog is --msgs / 5, 1,000,000 by default)
  --servers LIST     run only these (nats-server,edgeleaf; default both), e.g. for profiling
  --edgeleaf PATH    edgeleaf binary (default: target/release/edgeleaf next to this example)
  --nats-server PATH nats-server binary (default: nats-server on PATH, else /usr/sbin/nats-server)";

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        repeats: 4,
        msgs: 5_000_000,
        secs: 10.0,
        requests: 20_000,
        window_mib: WINDOW_MIB,
        only: Scenario::DEFAULT.to_vec(),
        servers: vec![Kind::Nats, Kind::Edgeleaf],
        edgeleaf: default_edgeleaf(),
        nats_server: default_nats_server(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--repeats" => o.repeats = num(&val(&a)?, &a)?,
            "--msgs" => o.msgs = num(&val(&a)?, &a)?,
            "--secs" => o.secs = num(&val(&a)?, &a)?,
            "--requests" => o.requests = num(&val(&a)?, &a)?,
            "--window-mib" => o.window_mib = num(&val(&a)?, &a)?,
            "--only" => {
                let mut only: Vec<Scenario> = Vec::new();
                for s in val(&a)?.split(',').map(str::trim) {
                    let picked: Vec<Scenario> = match s {
                        "leaf" => Scenario::ALL
                            .into_iter()
                            .filter(|sc| sc.is_leaf())
                            .collect(),
                        "local" => Scenario::ALL
                            .into_iter()
                            .filter(|sc| sc.is_local())
                            .collect(),
                        "js" => Scenario::ALL.into_iter().filter(|sc| sc.is_js()).collect(),
                        "uplink" => vec![Scenario::UplinkDrain],
                        _ => vec![Scenario::ALL
                            .into_iter()
                            .find(|sc| sc.key() == s)
                            .ok_or_else(|| format!("--only: unknown scenario {s:?}"))?],
                    };
                    for sc in picked {
                        if !only.contains(&sc) {
                            only.push(sc);
                        }
                    }
                }
                o.only = only;
            }
            "--servers" => {
                o.servers = val(&a)?
                    .split(',')
                    .map(|s| match s.trim() {
                        "nats-server" => Ok(Kind::Nats),
                        "edgeleaf" => Ok(Kind::Edgeleaf),
                        other => Err(format!("--servers: unknown server {other:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--edgeleaf" => o.edgeleaf = PathBuf::from(val(&a)?),
            "--nats-server" => o.nats_server = PathBuf::from(val(&a)?),
            _ => return Err(format!("unknown argument {a:?}\n{USAGE}")),
        }
    }
    if o.servers.is_empty() {
        return Err("--servers: name at least one server".into());
    }
    if o.repeats == 0 || o.msgs == 0 || o.requests == 0 || o.window_mib == 0 || o.secs <= 0.0 {
        return Err(
            "--repeats, --msgs, --requests, --window-mib and --secs must be positive".into(),
        );
    }
    Ok(o)
}

fn num<T: std::str::FromStr>(s: &str, name: &str) -> Result<T, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("{name}: expected a number, found {s:?}"))
}

fn default_edgeleaf() -> PathBuf {
    // target/<profile>/examples/bench -> target/<profile>/edgeleaf (honours CARGO_TARGET_DIR).
    std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("edgeleaf")))
        .unwrap_or_else(|| PathBuf::from("target/release/edgeleaf"))
}

fn default_nats_server() -> PathBuf {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("nats-server");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("/usr/sbin/nats-server")
}

// ---------------------------------------------------------------------------------------
// Server processes: started on loopback with a random port, always killed and reaped.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Nats,
    Edgeleaf,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Nats => "nats-server",
            Kind::Edgeleaf => "edgeleaf",
        }
    }
}

/// Every child we started and have not reaped yet; the panic hook and Ctrl-C kill them.
fn children() -> &'static Mutex<HashMap<u32, Child>> {
    static C: OnceLock<Mutex<HashMap<u32, Child>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

fn kill_all_children() {
    if let Ok(mut map) = children().lock() {
        for (_, mut c) in map.drain() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Server {
    kind: Kind,
    pid: u32,
    port: u16,
    slow_consumer_lines: Arc<AtomicU64>,
    log_tail: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let child = children().lock().ok().and_then(|mut m| m.remove(&self.pid));
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Server {
    fn start(kind: Kind, opts: &Opts) -> Result<Server, String> {
        match kind {
            Kind::Nats => Server::launch(kind, opts, &["-a", "127.0.0.1", "-p", "-1"]),
            Kind::Edgeleaf => {
                Server::launch(kind, opts, &["-a", "127.0.0.1", "-p", "-1", "-m", "0"])
            }
        }
    }

    /// Starts `kind` with these arguments and waits until it reported its client port and
    /// readiness.
    fn launch(kind: Kind, opts: &Opts, args: &[&str]) -> Result<Server, String> {
        let mut cmd = Command::new(match kind {
            Kind::Nats => &opts.nats_server,
            Kind::Edgeleaf => &opts.edgeleaf,
        });
        cmd.args(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
        let pid = child.id();
        let (tx, rx) = mpsc::channel::<String>();
        let slow = Arc::new(AtomicU64::new(0));
        let tail = Arc::new(Mutex::new(Vec::new()));
        // Drain both pipes for the whole life of the process (a full pipe would stall it).
        let pipes: Vec<Box<dyn Read + Send>> = vec![
            Box::new(child.stdout.take().expect("piped stdout")),
            Box::new(child.stderr.take().expect("piped stderr")),
        ];
        for pipe in pipes {
            let (tx, slow, tail) = (tx.clone(), slow.clone(), tail.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("Slow Consumer") {
                        slow.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(mut t) = tail.lock() {
                        if t.len() >= 40 {
                            t.remove(0);
                        }
                        t.push(line.clone());
                    }
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        children().lock().expect("children lock").insert(pid, child);
        let mut server = Server {
            kind,
            pid,
            port: 0,
            slow_consumer_lines: slow,
            log_tail: tail,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut ready = false;
        while !(ready && server.port != 0) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).map_err(|e| {
                let tail = server.tail();
                match e {
                    // Both pipes closed: the process is gone. Its last words say why.
                    mpsc::RecvTimeoutError::Disconnected => format!(
                        "{} exited at start: {}\nits output:\n{tail}",
                        kind.name(),
                        tail.lines().last().unwrap_or("(no output)")
                    ),
                    mpsc::RecvTimeoutError::Timeout => format!(
                        "{} did not report readiness within 10 s; its output:\n{tail}",
                        kind.name()
                    ),
                }
            })?;
            const LISTEN: &str = "Listening for client connections on 127.0.0.1:";
            if let Some(i) = line.find(LISTEN) {
                let port = line[i + LISTEN.len()..].trim();
                server.port = port
                    .parse()
                    .map_err(|_| format!("{}: cannot parse port from {line:?}", kind.name()))?;
            }
            if line.contains("Server is ready") {
                ready = true;
            }
        }
        Ok(server)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn tail(&self) -> String {
        self.log_tail
            .lock()
            .map(|t| t.join("\n"))
            .unwrap_or_default()
    }

    /// (utime, stime) of the server process, in seconds.
    fn cpu_secs(&self) -> (f64, f64) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return (f64::NAN, f64::NAN);
        };
        // The command name (field 2) may hold spaces; fields after ')' are space-separated.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            return (f64::NAN, f64::NAN);
        };
        let f: Vec<&str> = rest.split(' ').collect();
        // rest starts at field 3 (state); utime is field 14, stime field 15.
        let utime: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        let stime: f64 = f.get(12).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        (utime / clk_tck(), stime / clk_tck())
    }

    /// SIGTERM, then up to `wait` for the process to exit (it is killed on drop anyway).
    fn stop(&self, wait: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            let exited = children()
                .lock()
                .ok()
                .and_then(|mut m| m.get_mut(&self.pid).map(|c| c.try_wait()))
                .map(|r| !matches!(r, Ok(None)))
                .unwrap_or(true);
            if exited {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resets the process's peak RSS (VmHWM) to its current RSS, so that a later VmHWM
    /// covers only what came after. False where the kernel does not allow it.
    fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM).
    fn status_kib(&self, field: &str) -> f64 {
        let Ok(s) = std::fs::read_to_string(format!("/proc/{}/status", self.pid)) else {
            return f64::NAN;
        };
        s.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(f64::NAN)
    }
}

fn clk_tck() -> f64 {
    static T: OnceLock<f64> = OnceLock::new();
    *T.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

// ---------------------------------------------------------------------------------------
// Raw NATS connections

async fn connect(addr: &str) -> Result<(OwnedReadHalf, OwnedWriteHalf), String> {
    connect_as(addr, None).await
}

/// Connects with `user`/`pass` when given (the leaf hub's clients).
async fn connect_as(
    addr: &str,
    auth: Option<(&str, &str)>,
) -> Result<(OwnedReadHalf, OwnedWriteHalf), String> {
    let s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = s.set_nodelay(true);
    let (mut r, mut w) = s.into_split();
    // INFO first.
    let mut buf = Vec::new();
    read_line(&mut r, &mut buf).await?;
    let connect = match auth {
        None => CONNECT.to_vec(),
        Some((user, pass)) => format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\n"
        )
        .into_bytes(),
    };
    w.write_all(&connect).await.map_err(|e| e.to_string())?;
    Ok((r, w))
}

/// Reads until `buf` holds one full line; returns it (without CRLF) and keeps the rest.
async fn read_line(r: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> Result<String, String> {
    loop {
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..nl]).trim_end().to_string();
            buf.drain(..=nl);
            return Ok(line);
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), r.read(&mut chunk))
            .await
            .map_err(|_| "timed out reading from server".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("server closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends PING and waits for PONG: every op sent before it has been processed.
async fn barrier(r: &mut OwnedReadHalf, w: &mut OwnedWriteHalf) -> Result<(), String> {
    w.write_all(b"PING\r\n").await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    loop {
        let line = read_line(r, &mut buf).await?;
        match line.as_str() {
            "PONG" => return Ok(()),
            l if l.starts_with("-ERR") => return Err(format!("server said {l}")),
            _ => {}
        }
    }
}

/// What the scanner found in a chunk of server output.
#[derive(Default)]
struct Scan {
    msgs: u64,
    pings: u32,
    err: Option<String>,
}

/// Counts complete MSG/HMSG frames at the start of `buf`; returns the bytes consumed (a
/// partial frame at the end is left for the next read).
fn scan(buf: &[u8], out: &mut Scan) -> usize {
    let mut pos = 0;
    let len = buf.len();
    while pos < len {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line_end = pos + nl + 1;
        match buf[pos] {
            b'M' | b'H' => {
                // The last token of the control line is the total size.
                let mut i = pos + nl;
                if i > pos && buf[i - 1] == b'\r' {
                    i -= 1;
                }
                let mut size = 0usize;
                let mut mul = 1usize;
                while i > pos && buf[i - 1].is_ascii_digit() {
                    i -= 1;
                    size += (buf[i] - b'0') as usize * mul;
                    mul *= 10;
                }
                let end = line_end + size + 2;
                if end > len {
                    break;
                }
                out.msgs += 1;
                pos = end;
            }
            b'P' if buf[pos..].starts_with(b"PING") => {
                out.pings += 1;
                pos = line_end;
            }
            b'-' => {
                out.err = Some(String::from_utf8_lossy(&buf[pos..line_end]).trim().into());
                pos = line_end;
            }
            _ => pos = line_end, // INFO, +OK, PONG
        }
    }
    pos
}

// ---------------------------------------------------------------------------------------
// Throughput runs

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scenario {
    PubSub16,
    PubSub128,
    FanOut,
    Queue,
    ReqReply,
    /// Leaf node: publisher on the edge, subscriber on the hub.
    LeafUp16,
    LeafUp128,
    /// Leaf node: publisher on the hub, subscriber on the edge.
    LeafDown16,
    /// Leaf node: time until 10,000 edge subscriptions are known at the hub.
    LeafInterest,
    /// JetStream: one publisher, acked publishes, window of 256.
    JsPub1,
    /// JetStream: four such publishers at once.
    JsPub4,
    /// JetStream: a durable pull consumer, batches of 256, every message acked.
    JsPull,
    /// JetStream: one publish at a time, publish -> PubAck latency.
    JsAckLatency,
    /// Store and forward: a backlog built on the edge while its link was down, drained
    /// into a cloud stream once it is up (edgeleaf's uplink vs a nats-server edge sourced
    /// by the cloud stream).
    UplinkDrain,
}

impl Scenario {
    const ALL: [Scenario; 14] = [
        Scenario::PubSub16,
        Scenario::PubSub128,
        Scenario::FanOut,
        Scenario::Queue,
        Scenario::ReqReply,
        Scenario::LeafUp16,
        Scenario::LeafUp128,
        Scenario::LeafDown16,
        Scenario::LeafInterest,
        Scenario::JsPub1,
        Scenario::JsPub4,
        Scenario::JsPull,
        Scenario::JsAckLatency,
        Scenario::UplinkDrain,
    ];
    /// What runs without `--only`: the uplink drain takes minutes per run, so it is asked
    /// for by name (`--only uplink`).
    const DEFAULT: [Scenario; 13] = [
        Scenario::PubSub16,
        Scenario::PubSub128,
        Scenario::FanOut,
        Scenario::Queue,
        Scenario::ReqReply,
        Scenario::LeafUp16,
        Scenario::LeafUp128,
        Scenario::LeafDown16,
        Scenario::LeafInterest,
        Scenario::JsPub1,
        Scenario::JsPub4,
        Scenario::JsPull,
        Scenario::JsAckLatency,
    ];
    fn is_uplink(self) -> bool {
        self == Scenario::UplinkDrain
    }
    /// A single server on its own (the core scenarios).
    fn is_local(self) -> bool {
        !self.is_leaf() && !self.is_js() && !self.is_uplink()
    }
    fn is_js(self) -> bool {
        matches!(
            self,
            Scenario::JsPub1 | Scenario::JsPub4 | Scenario::JsPull | Scenario::JsAckLatency
        )
    }
    fn is_leaf(self) -> bool {
        matches!(
            self,
            Scenario::LeafUp16
                | Scenario::LeafUp128
                | Scenario::LeafDown16
                | Scenario::LeafInterest
        )
    }
    /// Throughput scenarios (the others measure latency or time).
    fn is_throughput(self) -> bool {
        !matches!(
            self,
            Scenario::ReqReply
                | Scenario::LeafInterest
                | Scenario::JsAckLatency
                | Scenario::UplinkDrain
        )
    }
    fn key(self) -> &'static str {
        match self {
            Scenario::PubSub16 => "pubsub16",
            Scenario::PubSub128 => "pubsub128",
            Scenario::FanOut => "fanout",
            Scenario::Queue => "queue",
            Scenario::ReqReply => "reqreply",
            Scenario::LeafUp16 => "leaf_up16",
            Scenario::LeafUp128 => "leaf_up128",
            Scenario::LeafDown16 => "leaf_down16",
            Scenario::LeafInterest => "leaf_interest",
            Scenario::JsPub1 => "js_pub1",
            Scenario::JsPub4 => "js_pub4",
            Scenario::JsPull => "js_pull",
            Scenario::JsAckLatency => "js_ack_latency",
            Scenario::UplinkDrain => "uplink_drain",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Scenario::PubSub16 => "1->1 pub/sub, 16 B",
            Scenario::PubSub128 => "1->1 pub/sub, 128 B",
            Scenario::FanOut => "1->4 fan-out, 16 B",
            Scenario::Queue => "queue group of 4, 16 B",
            Scenario::ReqReply => "request/reply, 16 B",
            Scenario::LeafUp16 => "leaf up: edge pub -> hub sub, 16 B",
            Scenario::LeafUp128 => "leaf up: edge pub -> hub sub, 128 B",
            Scenario::LeafDown16 => "leaf down: hub pub -> edge sub, 16 B",
            Scenario::LeafInterest => "leaf interest: 10,000 edge subs at the hub",
            Scenario::JsPub1 => "JetStream: 1 publisher, acked, 256 in flight, 128 B",
            Scenario::JsPub4 => "JetStream: 4 publishers, acked, 256 in flight each, 128 B",
            Scenario::JsPull => "JetStream: pull consumer, batch 256, explicit acks, 128 B",
            Scenario::JsAckLatency => "JetStream: publish -> PubAck, one at a time, 128 B",
            Scenario::UplinkDrain => "uplink: drain an edge backlog into the cloud stream, 256 B",
        }
    }
    /// (payload size, subscribers, queue group?)
    fn shape(self) -> (usize, usize, bool) {
        match self {
            Scenario::PubSub16 => (16, 1, false),
            Scenario::PubSub128 => (128, 1, false),
            Scenario::FanOut => (16, 4, false),
            Scenario::Queue => (16, 4, true),
            Scenario::ReqReply => (16, 1, false),
            Scenario::LeafUp16 => (16, 1, false),
            Scenario::LeafUp128 => (128, 1, false),
            Scenario::LeafDown16 => (16, 1, false),
            Scenario::LeafInterest => (0, 0, false),
            Scenario::JsPub1 | Scenario::JsPub4 | Scenario::JsPull | Scenario::JsAckLatency => {
                (JS_PAYLOAD, 0, false)
            }
            Scenario::UplinkDrain => (UPLINK_PAYLOAD, 0, false),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Sample {
    /// Delivered messages per second (throughput runs).
    rate: f64,
    delivered: u64,
    /// Server CPU seconds (user + system) per million delivered messages.
    cpu_per_m: f64,
    /// The system (kernel) part of `cpu_per_m`.
    sys_per_m: f64,
    /// Request/reply latency percentiles in microseconds.
    p50_us: f64,
    p99_us: f64,
    idle_rss_kib: f64,
    peak_rss_kib: f64,
    /// Leaf interest: milliseconds until the hub knows every edge subscription, after
    /// subscribing on a linked edge and after a hub restart.
    interest_ms: f64,
    reconnect_ms: f64,
    /// Uplink drain: seconds from "the link is up and the cloud stream exists" until the
    /// cloud stream holds the whole backlog, and the acked publish rate of the fill.
    drain_secs: f64,
    fill_rate: f64,
    /// Uplink drain: the rate of live acked publishes with `Nats-Msg-Id`, from a client on
    /// the edge through the leaf link into a second cloud stream (`uplink_ceiling`).
    ceiling_rate: f64,
}

struct SubState {
    received: AtomicU64,
    failed: Mutex<Option<String>>,
}

struct Shared {
    subs: Vec<SubState>,
    queue: bool,
    progress: Notify,
    /// Nanoseconds since `t0` of the last byte any subscriber read.
    last_recv_ns: AtomicU64,
    t0: Instant,
    stop: AtomicBool,
}

impl Shared {
    /// Messages the slowest receiver has taken (all of them for a queue group).
    fn progress(&self) -> u64 {
        let it = self.subs.iter().map(|s| s.received.load(Ordering::Relaxed));
        if self.queue {
            it.sum()
        } else {
            it.min().unwrap_or(0)
        }
    }
    fn total(&self) -> u64 {
        self.subs
            .iter()
            .map(|s| s.received.load(Ordering::Relaxed))
            .sum()
    }
    fn failure(&self) -> Option<String> {
        self.subs.iter().enumerate().find_map(|(i, s)| {
            Some(format!(
                "subscriber {i}: {}",
                s.failed.lock().ok()?.clone()?
            ))
        })
    }
}

async fn subscriber(shared: Arc<Shared>, idx: usize, mut r: OwnedReadHalf, mut w: OwnedWriteHalf) {
    let me = &shared.subs[idx];
    let fail = |why: String| {
        if let Ok(mut f) = me.failed.lock() {
            f.get_or_insert(why);
        }
        shared.progress.notify_one();
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut have = 0usize;
    loop {
        if have == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = match r.read(&mut buf[have..]).await {
            Ok(0) => {
                if !shared.stop.load(Ordering::Relaxed) {
                    fail("disconnected by the server (slow consumer?)".into());
                }
                return;
            }
            Ok(n) => n,
            Err(e) => {
                if !shared.stop.load(Ordering::Relaxed) {
                    fail(format!("read error: {e}"));
                }
                return;
            }
        };
        have += n;
        let mut sc = Scan::default();
        let used = scan(&buf[..have], &mut sc);
        buf.copy_within(used..have, 0);
        have -= used;
        if sc.msgs > 0 {
            me.received.fetch_add(sc.msgs, Ordering::Relaxed);
            let ns = shared.t0.elapsed().as_nanos() as u64;
            shared.last_recv_ns.fetch_max(ns, Ordering::Relaxed);
            shared.progress.notify_one();
        }
        for _ in 0..sc.pings {
            let _ = w.write_all(b"PONG\r\n").await;
        }
        if let Some(e) = sc.err {
            fail(format!("server said {e}"));
            return;
        }
    }
}

/// Where a throughput run's clients connect, and which server it measures (CPU, memory).
struct Ends<'a> {
    pub_addr: String,
    pub_auth: Option<(&'static str, &'static str)>,
    sub_addr: String,
    sub_auth: Option<(&'static str, &'static str)>,
    measured: &'a Server,
    /// Interest has to cross a leaf link: publish probes until every subscriber got one
    /// (see `probe_until_delivered`) before measuring.
    probe: bool,
}

impl<'a> Ends<'a> {
    /// Publisher and subscribers on the same single server.
    fn local(server: &'a Server) -> Ends<'a> {
        Ends {
            pub_addr: server.addr(),
            pub_auth: None,
            sub_addr: server.addr(),
            sub_auth: None,
            measured: server,
            probe: false,
        }
    }
}

async fn throughput_run(ends: &Ends<'_>, sc: Scenario, opts: &Opts) -> Result<Sample, String> {
    let (payload, nsubs, queue) = sc.shape();
    let subject = format!("bench.{}", sc.key());
    let server = ends.measured;
    let mut conns = Vec::new();
    for i in 0..nsubs {
        let (mut r, mut w) = connect_as(&ends.sub_addr, ends.sub_auth).await?;
        let sub = if queue {
            format!("SUB {subject} workers {}\r\n", i + 1)
        } else {
            format!("SUB {subject} {}\r\n", i + 1)
        };
        w.write_all(sub.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        barrier(&mut r, &mut w).await?;
        conns.push((r, w));
    }
    let (mut pr, mut pw) = connect_as(&ends.pub_addr, ends.pub_auth).await?;
    barrier(&mut pr, &mut pw).await?;
    if ends.probe {
        probe_until_delivered(&mut conns, &mut pw, &subject).await?;
    }

    let shared = Arc::new(Shared {
        subs: (0..nsubs)
            .map(|_| SubState {
                received: AtomicU64::new(0),
                failed: Mutex::new(None),
            })
            .collect(),
        queue,
        progress: Notify::new(),
        last_recv_ns: AtomicU64::new(0),
        t0: Instant::now(),
        stop: AtomicBool::new(false),
    });
    let mut tasks = Vec::new();
    for (i, (r, w)) in conns.into_iter().enumerate() {
        tasks.push(tokio::spawn(subscriber(shared.clone(), i, r, w)));
    }
    // The publisher's own input: answer PINGs, notice -ERR and disconnects.
    let pub_pings = Arc::new(AtomicU64::new(0));
    let pub_failed: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    {
        let (pings, failed, shared) = (pub_pings.clone(), pub_failed.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut have = 0;
            loop {
                let n = match pr.read(&mut buf[have..]).await {
                    Ok(0) | Err(_) => {
                        if !shared.stop.load(Ordering::Relaxed) {
                            *failed.lock().unwrap() = Some("publisher disconnected".into());
                            shared.progress.notify_one();
                        }
                        return;
                    }
                    Ok(n) => n,
                };
                have += n;
                let mut s = Scan::default();
                let used = scan(&buf[..have], &mut s);
                buf.copy_within(used..have, 0);
                have -= used;
                if have == buf.len() {
                    have = 0; // a line longer than the buffer: not ours to understand
                }
                pings.fetch_add(s.pings as u64, Ordering::Relaxed);
                if let Some(e) = s.err {
                    *failed.lock().unwrap() = Some(format!("publisher got {e}"));
                    shared.progress.notify_one();
                }
            }
        }));
    }

    // One batch of ready-made PUB frames, written again and again.
    let frame = {
        let mut f = format!("PUB {subject} {payload}\r\n").into_bytes();
        f.extend(std::iter::repeat_n(b'x', payload));
        f.extend_from_slice(b"\r\n");
        f
    };
    let per_batch = (64 * 1024 / frame.len()).max(1) as u64;
    let batch: Vec<u8> = frame.repeat(per_batch as usize);
    let deliver_frame = payload + subject.len() + 16;
    let window = ((opts.window_mib << 20) / deliver_frame).max(1000) as u64;

    let cpu0 = server.cpu_secs();
    let t_start = shared.t0.elapsed();
    let deadline = Instant::now() + Duration::from_secs_f64(opts.secs);
    let mut published = 0u64;
    let mut answered_pings = 0u64;
    let mut failure = None;
    'publish: while published < opts.msgs {
        // Flow control: never more than `window` undelivered messages per receiver.
        loop {
            if let Some(f) = shared
                .failure()
                .or_else(|| pub_failed.lock().unwrap().clone())
            {
                failure = Some(f);
                break 'publish;
            }
            if published.saturating_sub(shared.progress()) <= window {
                break;
            }
            if Instant::now() >= deadline {
                break 'publish;
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(20), shared.progress.notified()).await;
        }
        if Instant::now() >= deadline {
            break;
        }
        let pings = pub_pings.load(Ordering::Relaxed);
        while answered_pings < pings {
            pw.write_all(b"PONG\r\n")
                .await
                .map_err(|e| format!("publisher write: {e}"))?;
            answered_pings += 1;
        }
        let n = per_batch.min(opts.msgs - published);
        let res = pw.write_all(&batch[..n as usize * frame.len()]).await;
        if let Err(e) = res {
            failure = Some(format!("publisher write: {e}"));
            break;
        }
        published += n;
    }

    // Wait until every published message has arrived at every receiver (bounded).
    let expected = if queue {
        published
    } else {
        published * nsubs as u64
    };
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while failure.is_none() && shared.total() < expected {
        if let Some(f) = shared.failure() {
            failure = Some(f);
            break;
        }
        if Instant::now() >= drain_deadline {
            failure = Some(format!(
                "only {} of {expected} messages arrived within {DRAIN_TIMEOUT:?} after publishing stopped",
                shared.total()
            ));
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), shared.progress.notified()).await;
    }
    let cpu1 = server.cpu_secs();
    let delivered = shared.total();
    let elapsed = Duration::from_nanos(shared.last_recv_ns.load(Ordering::Relaxed))
        .saturating_sub(t_start)
        .as_secs_f64();
    let peak = server.status_kib("VmHWM");
    shared.stop.store(true, Ordering::Relaxed);
    for t in &tasks {
        t.abort();
    }
    drop(pw);
    if let Some(f) = failure {
        return Err(f);
    }
    if delivered == 0 || elapsed <= 0.0 {
        return Err("no message was delivered".into());
    }
    Ok(Sample {
        rate: delivered as f64 / elapsed,
        delivered,
        cpu_per_m: (cpu1.0 + cpu1.1 - cpu0.0 - cpu0.1) / delivered as f64 * 1e6,
        sys_per_m: (cpu1.1 - cpu0.1) / delivered as f64 * 1e6,
        peak_rss_kib: peak,
        ..Sample::default()
    })
}

// ---------------------------------------------------------------------------------------
// Leaf node scenarios: a nats-server hub (the "cloud") and the server under test as its
// leaf (the "edge"), both started from config files on free loopback ports.

/// The hub's client account user (the edge links as `leaf`/`leaf`).
const HUB_USER: (&str, &str) = ("app", "app");
/// Subscriptions made on the edge in the interest scenario.
const INTEREST_SUBS: usize = 10_000;
/// How long the edge may take to link to the hub, and the hub to learn the subscriptions.
const LINK_TIMEOUT: Duration = Duration::from_secs(10);
const INTEREST_TIMEOUT: Duration = Duration::from_secs(30);

/// `n` distinct free loopback ports (all bound at once, then released).
fn free_ports<const N: usize>() -> Result<[u16; N], String> {
    let listeners = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("no free port: {e}"))?;
    let mut ports = [0u16; N];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l.local_addr().map_err(|e| e.to_string())?.port();
    }
    Ok(ports)
}

/// Config files and ports of one hub + edge pair. The edge's config is the same text for
/// nats-server and edgeleaf. The directory is removed on drop.
struct LeafSetup {
    dir: PathBuf,
    hub_http: u16,
}

impl Drop for LeafSetup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl LeafSetup {
    fn new() -> Result<LeafSetup, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let [hub_port, hub_leaf, hub_http, edge_port, edge_http] = free_ports::<5>()?;
        let setup = LeafSetup {
            dir: std::env::temp_dir().join(format!(
                "edgeleaf-bench-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            )),
            hub_http,
        };
        std::fs::create_dir_all(&setup.dir).map_err(|e| format!("{}: {e}", setup.dir.display()))?;
        let hub = format!(
            "listen: 127.0.0.1:{hub_port}\n\
             http: 127.0.0.1:{hub_http}\n\
             leafnodes {{ listen: 127.0.0.1:{hub_leaf} }}\n\
             accounts {{ APP {{ users = [{{user: leaf, password: leaf}}, {{user: app, password: app}}] }} }}\n"
        );
        // nats-server 2.9.10 wants the leaf reconnect interval as a number of seconds.
        let edge = format!(
            "server_name: edge1\n\
             listen: 127.0.0.1:{edge_port}\n\
             http: 127.0.0.1:{edge_http}\n\
             leafnodes {{ reconnect: 1, remotes = [ {{ urls: [\"nats-leaf://leaf:leaf@127.0.0.1:{hub_leaf}\"] }} ] }}\n"
        );
        for (name, text) in [("hub.conf", hub), ("edge.conf", edge)] {
            let path = setup.dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(setup)
    }

    fn conf(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The hub is always nats-server (same ports on every start of this setup).
    fn start_hub(&self, opts: &Opts) -> Result<Server, String> {
        Server::launch(Kind::Nats, opts, &["-c", &self.conf("hub.conf")])
            .map_err(|e| format!("hub: {e}"))
    }

    fn start_edge(&self, kind: Kind, opts: &Opts) -> Result<Server, String> {
        // Errors name the config file: the temporary directory is noise in the table.
        let dir = format!("{}/", self.dir.display());
        Server::launch(kind, opts, &["-c", &self.conf("edge.conf")])
            .map_err(|e| e.replace(&dir, ""))
    }

    /// Polls the hub's /leafz until it has one leaf connection.
    async fn wait_link(&self, edge: &Server) -> Result<(), String> {
        let deadline = Instant::now() + LINK_TIMEOUT;
        loop {
            let body = http_get(self.hub_http, "/leafz").await?;
            if json_number(&body, "leafnodes") == Some(1) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let tail = edge.tail();
                return Err(format!(
                    "the edge did not link to the hub within {LINK_TIMEOUT:?} (hub /leafz leafnodes {:?}); edge output ends: {}\nedge output:\n{tail}",
                    json_number(&body, "leafnodes"),
                    tail.lines().last().unwrap_or("(nothing)")
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls the hub's /leafz?subs=1 every 10 ms until it lists `want` subscriptions
    /// starting with `prefix`; returns when it saw them.
    async fn wait_hub_subs(&self, prefix: &str, want: usize) -> Result<Instant, String> {
        let deadline = Instant::now() + INTEREST_TIMEOUT;
        let needle = format!("\"{prefix}");
        loop {
            let body = http_get(self.hub_http, "/leafz?subs=1").await?;
            let have = body.matches(&needle).count();
            if have >= want {
                return Ok(Instant::now());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the hub knows only {have} of {want} edge subscriptions after {INTEREST_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A plain HTTP/1.0 GET on the loopback monitoring port; returns the whole response.
async fn http_get(port: u16, path: &str) -> Result<String, String> {
    let fetch = async {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("monitoring port {port}: {e}"))?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        s.read_to_end(&mut body).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .map_err(|_| format!("GET {path} on port {port} timed out"))?
}

/// The number after `"key":` in a JSON text (enough for the monitoring counters).
fn json_number(body: &str, key: &str) -> Option<u64> {
    let i = body.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = body[i..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Publishes numbered probe messages on `subject` until every subscriber received one (the
/// interest crossed the leaf link), then one last probe, and reads every subscriber up to
/// that one. Messages keep their order along the path, so no probe is left in flight to be
/// counted by the measured run.
async fn probe_until_delivered(
    subs: &mut [(OwnedReadHalf, OwnedWriteHalf)],
    pw: &mut OwnedWriteHalf,
    subject: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + INTEREST_TIMEOUT;
    let probe = |n: u64| {
        let p = format!("probe-{n}");
        format!("PUB {subject} {}\r\n{p}\r\n", p.len())
    };
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); subs.len()];
    let mut seen = vec![false; subs.len()];
    let mut n = 0u64;
    while !seen.iter().all(|&s| s) {
        if Instant::now() >= deadline {
            return Err(format!(
                "no probe message reached the subscriber within {INTEREST_TIMEOUT:?} (interest not propagated?)"
            ));
        }
        pw.write_all(probe(n).as_bytes())
            .await
            .map_err(|e| format!("publisher write: {e}"))?;
        n += 1;
        for (i, (r, _)) in subs.iter_mut().enumerate() {
            if !seen[i] {
                let got = read_payloads(r, &mut bufs[i], Duration::from_millis(10)).await?;
                seen[i] = !got.is_empty();
            }
        }
    }
    let last = format!("probe-{n}");
    pw.write_all(probe(n).as_bytes())
        .await
        .map_err(|e| format!("publisher write: {e}"))?;
    for (i, (r, _)) in subs.iter_mut().enumerate() {
        loop {
            if Instant::now() >= deadline {
                return Err("the last probe message did not arrive".into());
            }
            let got = read_payloads(r, &mut bufs[i], Duration::from_millis(50)).await?;
            if got.iter().any(|p| p == last.as_bytes()) {
                break;
            }
        }
    }
    Ok(())
}

/// Reads what arrives within `wait` into `buf`, and takes the payloads of the complete
/// MSG frames out of it (other lines are dropped; -ERR is an error).
async fn read_payloads(
    r: &mut OwnedReadHalf,
    buf: &mut Vec<u8>,
    wait: Duration,
) -> Result<Vec<Vec<u8>>, String> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(wait, r.read(&mut chunk)).await {
        Err(_) => {}
        Ok(Ok(0)) => return Err("subscriber disconnected while probing".into()),
        Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        Ok(Err(e)) => return Err(format!("subscriber read: {e}")),
    }
    let mut out = Vec::new();
    while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&buf[..nl]).trim_end().to_string();
        if line.starts_with("MSG ") {
            let size: usize = line
                .rsplit(' ')
                .next()
                .and_then(|x| x.parse().ok())
                .ok_or_else(|| format!("bad MSG line {line:?}"))?;
            let end = nl + 1 + size + 2;
            if buf.len() < end {
                break;
            }
            out.push(buf[nl + 1..nl + 1 + size].to_vec());
            buf.drain(..end);
        } else if line.starts_with("-ERR") {
            return Err(format!("subscriber got {line}"));
        } else {
            buf.drain(..=nl);
        }
    }
    Ok(out)
}

/// A run fails when any of its servers logged a slow consumer.
fn no_slow_consumers(res: Result<Sample, String>, servers: &[&Server]) -> Result<Sample, String> {
    for s in servers {
        let slow = s.slow_consumer_lines.load(Ordering::Relaxed);
        if res.is_ok() && slow > 0 {
            return Err(format!(
                "{} logged {slow} slow consumer line(s):\n{}",
                s.kind.name(),
                s.tail()
            ));
        }
    }
    res
}

/// leaf_up*/leaf_down*: a throughput run across the leaf link; CPU and memory are the edge's.
async fn leaf_throughput_run(kind: Kind, sc: Scenario, opts: &Opts) -> Result<Sample, String> {
    let setup = LeafSetup::new()?;
    let hub = setup.start_hub(opts)?;
    let edge = setup.start_edge(kind, opts)?;
    setup.wait_link(&edge).await?;
    let idle = edge.status_kib("VmRSS");
    let at_hub = (hub.addr(), Some(HUB_USER));
    let at_edge = (edge.addr(), None);
    let ((pub_addr, pub_auth), (sub_addr, sub_auth)) = if sc == Scenario::LeafDown16 {
        (at_hub, at_edge)
    } else {
        (at_edge, at_hub)
    };
    let ends = Ends {
        pub_addr,
        pub_auth,
        sub_addr,
        sub_auth,
        measured: &edge,
        probe: true,
    };
    let res = throughput_run(&ends, sc, opts).await;
    no_slow_consumers(res, &[&hub, &edge]).map(|mut s| {
        s.idle_rss_kib = idle;
        s
    })
}

/// leaf_interest: 10,000 subscriptions on a linked edge, time until the hub lists them all;
/// then the hub is killed and started again on the same ports, time from its readiness until
/// it lists them all again.
async fn leaf_interest_run(kind: Kind, opts: &Opts) -> Result<Sample, String> {
    let setup = LeafSetup::new()?;
    let hub = setup.start_hub(opts)?;
    let edge = setup.start_edge(kind, opts)?;
    setup.wait_link(&edge).await?;
    let idle = edge.status_kib("VmRSS");
    let (mut r, mut w) = connect(&edge.addr()).await?;
    barrier(&mut r, &mut w).await?;
    let mut subs = String::with_capacity(INTEREST_SUBS * 24);
    for i in 0..INTEREST_SUBS {
        subs.push_str(&format!("SUB bench.i.{i} {}\r\n", i + 1));
    }
    let t0 = Instant::now();
    w.write_all(subs.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let seen = setup.wait_hub_subs("bench.i.", INTEREST_SUBS).await?;
    let interest = seen.duration_since(t0);
    barrier(&mut r, &mut w).await?;

    drop(hub);
    let hub = setup.start_hub(opts)?;
    let ready = Instant::now();
    let seen = setup
        .wait_hub_subs("bench.i.", INTEREST_SUBS)
        .await
        .map_err(|e| format!("after the hub restart: {e}"))?;
    let again = seen.duration_since(ready);
    barrier(&mut r, &mut w).await?;
    let res = Ok(Sample {
        interest_ms: interest.as_secs_f64() * 1e3,
        reconnect_ms: again.as_secs_f64() * 1e3,
        idle_rss_kib: idle,
        peak_rss_kib: edge.status_kib("VmHWM"),
        ..Sample::default()
    });
    no_slow_consumers(res, &[&hub, &edge])
}

// ---------------------------------------------------------------------------------------
// Request/reply latency

async fn reqreply_run(server: &Server, opts: &Opts) -> Result<Sample, String> {
    let addr = server.addr();
    let (mut rr, mut rw) = connect(&addr).await?;
    rw.write_all(b"SUB bench.rr 1\r\n")
        .await
        .map_err(|e| e.to_string())?;
    barrier(&mut rr, &mut rw).await?;
    let responder = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut have = 0usize;
        let mut out = Vec::with_capacity(4096);
        loop {
            let n = match rr.read(&mut buf[have..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            have += n;
            let mut pos = 0;
            while let Some(nl) = buf[pos..have].iter().position(|&b| b == b'\n') {
                let line = &buf[pos..pos + nl + 1];
                if line.starts_with(b"MSG ") {
                    // MSG <subject> <sid> <reply> <size>
                    let text = std::str::from_utf8(line).unwrap_or("").trim_end();
                    let toks: Vec<&str> = text.split_ascii_whitespace().collect();
                    let size: usize = toks.last().and_then(|s| s.parse().ok()).unwrap_or(0);
                    let end = pos + nl + 1 + size + 2;
                    if end > have {
                        break;
                    }
                    if toks.len() == 5 {
                        out.extend_from_slice(format!("PUB {} {size}\r\n", toks[3]).as_bytes());
                        out.extend_from_slice(&buf[pos + nl + 1..end]);
                    }
                    pos = end;
                } else {
                    if line.starts_with(b"PING") {
                        out.extend_from_slice(b"PONG\r\n");
                    }
                    pos += nl + 1;
                }
            }
            buf.copy_within(pos..have, 0);
            have -= pos;
            if !out.is_empty() {
                if rw.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
        }
    });

    let result = async {
        let (mut qr, mut qw) = connect(&addr).await?;
        qw.write_all(b"SUB _INBOX.bench.* 1\r\n")
            .await
            .map_err(|e| e.to_string())?;
        barrier(&mut qr, &mut qw).await?;
        let payload = "x".repeat(16);
        let mut buf = vec![0u8; 64 * 1024];
        let mut have = 0usize;
        let warmup = (opts.requests / 10).clamp(100, 2000);
        let mut lat_ns: Vec<u64> = Vec::with_capacity(opts.requests as usize);
        let deadline = Instant::now() + Duration::from_secs_f64(opts.secs);
        for i in 0..warmup + opts.requests {
            if Instant::now() >= deadline {
                break;
            }
            let req = format!("PUB bench.rr _INBOX.bench.{i} 16\r\n{payload}\r\n");
            let t = Instant::now();
            qw.write_all(req.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            // Wait for exactly one reply frame.
            loop {
                let mut sc = Scan::default();
                let used = scan(&buf[..have], &mut sc);
                buf.copy_within(used..have, 0);
                have -= used;
                if let Some(e) = sc.err {
                    return Err(format!("requester got {e}"));
                }
                for _ in 0..sc.pings {
                    qw.write_all(b"PONG\r\n").await.map_err(|e| e.to_string())?;
                }
                if sc.msgs > 0 {
                    break;
                }
                let n = tokio::time::timeout(Duration::from_secs(5), qr.read(&mut buf[have..]))
                    .await
                    .map_err(|_| format!("no reply to request {i} within 5 s"))?
                    .map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("requester disconnected".into());
                }
                have += n;
            }
            if i >= warmup {
                lat_ns.push(t.elapsed().as_nanos() as u64);
            }
        }
        if lat_ns.len() < 100 {
            return Err(format!("only {} requests completed", lat_ns.len()));
        }
        lat_ns.sort_unstable();
        let pct = |p: f64| {
            let idx = ((lat_ns.len() as f64 - 1.0) * p).round() as usize;
            lat_ns[idx] as f64 / 1000.0
        };
        Ok(Sample {
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            delivered: lat_ns.len() as u64,
            peak_rss_kib: server.status_kib("VmHWM"),
            ..Sample::default()
        })
    }
    .await;
    responder.abort();
    result
}

// ---------------------------------------------------------------------------------------
// JetStream scenarios: both servers with `-js -sd <fresh temp dir>`, stream B on `b.>`
// (file storage) created through the raw API before every run.

/// Un-acked publishes a JetStream publisher keeps in flight.
const JS_WINDOW: u64 = 256;
/// Messages per pull request.
const JS_BATCH: u64 = 256;
/// Payload of every JetStream publish.
const JS_PAYLOAD: usize = 128;
/// Timed publishes of js_ack_latency (after a warm-up of 500).
const JS_LAT_PUBS: usize = 5_000;
const JS_LAT_WARMUP: usize = 500;
/// How long a JetStream client waits for any answer before the run fails.
const JS_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
const JS_STREAM: &str = r#"{"name":"B","subjects":["b.>"],"storage":"file"}"#;
const JS_CONSUMER: &str =
    r#"{"stream_name":"B","config":{"durable_name":"C","ack_policy":"explicit"}}"#;

/// Messages per JetStream throughput run: `--msgs` / 25 (the default 5,000,000 gives
/// 200,000), at least 1,000.
fn js_msgs(opts: &Opts) -> u64 {
    (opts.msgs / 25).max(1000)
}

/// A fresh store directory, removed on drop (declare it before the server that uses it, so
/// the server is killed first).
struct JsDir(PathBuf);

impl Drop for JsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl JsDir {
    fn new() -> Result<JsDir, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "edgeleaf-bench-js-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(JsDir(dir))
    }
}

/// What a JetStream client reads: a message (payload = headers + body), or a control line.
enum Item {
    Msg {
        reply: Option<String>,
        /// An HMSG whose header is a status line (`NATS/1.0 408 ...`): no stored message.
        status: Option<String>,
        payload: Vec<u8>,
    },
    Pong,
}

/// A client connection with its own read buffer; answers PINGs, turns -ERR into an error.
struct JsConn {
    r: OwnedReadHalf,
    w: OwnedWriteHalf,
    buf: Vec<u8>,
    have: usize,
}

impl JsConn {
    /// Connects and subscribes to `inbox` (sid 1); returns once the SUB is in place.
    async fn open(addr: &str, inbox: &str) -> Result<JsConn, String> {
        Self::open_as(addr, inbox, None).await
    }

    /// As `open`, as `user`/`pass` when given.
    async fn open_as(
        addr: &str,
        inbox: &str,
        auth: Option<(&str, &str)>,
    ) -> Result<JsConn, String> {
        let (r, w) = connect_as(addr, auth).await?;
        let mut c = JsConn {
            r,
            w,
            buf: vec![0u8; 256 * 1024],
            have: 0,
        };
        c.send(format!("SUB {inbox} 1\r\n").as_bytes()).await?;
        c.barrier().await?;
        Ok(c)
    }

    async fn send(&mut self, b: &[u8]) -> Result<(), String> {
        self.w.write_all(b).await.map_err(|e| format!("write: {e}"))
    }

    /// Reads once (waiting at most JS_REPLY_TIMEOUT) and returns the complete items.
    async fn read_items(&mut self, what: &str) -> Result<Vec<Item>, String> {
        loop {
            if self.have == self.buf.len() {
                let len = self.buf.len();
                self.buf.resize(len * 2, 0);
            }
            let n = tokio::time::timeout(JS_REPLY_TIMEOUT, self.r.read(&mut self.buf[self.have..]))
                .await
                .map_err(|_| format!("no {what} within {JS_REPLY_TIMEOUT:?}"))?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "disconnected by the server while waiting for {what}"
                ));
            }
            self.have += n;
            let mut items = Vec::new();
            let mut pings = 0;
            let used = parse_items(&self.buf[..self.have], &mut items, &mut pings)?;
            self.buf.copy_within(used..self.have, 0);
            self.have -= used;
            for _ in 0..pings {
                self.send(b"PONG\r\n").await?;
            }
            if !items.is_empty() {
                return Ok(items);
            }
        }
    }

    /// PING/PONG: everything sent before has been processed. Messages read meanwhile are
    /// dropped (call it only when none are expected or they no longer matter).
    async fn barrier(&mut self) -> Result<(), String> {
        self.send(b"PING\r\n").await?;
        loop {
            if self
                .read_items("PONG")
                .await?
                .iter()
                .any(|i| matches!(i, Item::Pong))
            {
                return Ok(());
            }
        }
    }

    /// A JetStream API request answered on `_INBOX.api.<n>` (the conn must be subscribed to
    /// `_INBOX.api.*`); an answer with an `error` fails.
    async fn api(&mut self, subject: &str, body: &str) -> Result<String, String> {
        self.send(format!("PUB {subject} _INBOX.api.1 {}\r\n{body}\r\n", body.len()).as_bytes())
            .await?;
        loop {
            for item in self.read_items(&format!("answer to {subject}")).await? {
                if let Item::Msg {
                    status, payload, ..
                } = item
                {
                    if let Some(s) = status {
                        return Err(format!("{subject}: {s}"));
                    }
                    let text = String::from_utf8_lossy(&payload).into_owned();
                    if text.contains("\"error\"") {
                        return Err(format!("{subject}: {text}"));
                    }
                    return Ok(text);
                }
            }
        }
    }
}

/// Parses complete MSG/HMSG frames and control lines at the start of `buf`; returns the
/// bytes consumed.
fn parse_items(buf: &[u8], out: &mut Vec<Item>, pings: &mut u32) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
        let line_end = pos + nl + 1;
        let line = std::str::from_utf8(&buf[pos..pos + nl])
            .map_err(|_| "a control line that is not UTF-8".to_string())?
            .trim_end();
        let mut tok = line.split_ascii_whitespace();
        match tok.next() {
            Some(op @ ("MSG" | "HMSG")) => {
                let t: Vec<&str> = tok.collect();
                // MSG subj sid [reply] size; HMSG subj sid [reply] hdr total.
                let with_reply = if op == "MSG" { 4 } else { 5 };
                let reply = (t.len() == with_reply).then(|| t[2].to_string());
                let size: usize = t
                    .last()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("bad frame {line:?}"))?;
                let hdr: usize = if op == "HMSG" {
                    t[t.len() - 2]
                        .parse()
                        .map_err(|_| format!("bad frame {line:?}"))?
                } else {
                    0
                };
                let end = line_end + size + 2;
                if end > buf.len() {
                    break;
                }
                let payload = buf[line_end..line_end + size].to_vec();
                let status = (hdr > 0)
                    .then(|| {
                        let h = String::from_utf8_lossy(&payload[..hdr]);
                        let first = h.lines().next().unwrap_or("").to_string();
                        first
                            .strip_prefix("NATS/1.0 ")
                            .filter(|s| s.starts_with(|c: char| c.is_ascii_digit()))
                            .map(|s| s.trim().to_string())
                    })
                    .flatten();
                out.push(Item::Msg {
                    reply,
                    status,
                    payload,
                });
                pos = end;
            }
            Some("PING") => {
                *pings += 1;
                pos = line_end;
            }
            Some("PONG") => {
                out.push(Item::Pong);
                pos = line_end;
            }
            Some(l) if l.starts_with("-ERR") => return Err(format!("server said {line}")),
            _ => pos = line_end, // INFO, +OK
        }
    }
    Ok(pos)
}

/// A PubAck that is not one fails the run.
fn check_puback(status: Option<String>, payload: &[u8]) -> Result<(), String> {
    if let Some(s) = status {
        return Err(format!("publish answered with status {s}"));
    }
    if payload.windows(7).any(|w| w == b"\"error\"") {
        let text: String = String::from_utf8_lossy(payload).chars().take(200).collect();
        return Err(format!("publish answered {text}"));
    }
    Ok(())
}

/// Publishes up to `n` messages on `b.x`, each with its own reply subject
/// `_INBOX.p<id>.<seq>`, keeping `JS_WINDOW` un-acked in flight; stops sending at
/// `deadline` and waits for the outstanding acks. Returns (acked, time of the last ack).
async fn js_publisher(
    c: JsConn,
    id: usize,
    n: u64,
    deadline: Instant,
) -> Result<(u64, Instant), String> {
    js_publisher_on(c, id, n, deadline, "b.x", JS_PAYLOAD, JS_WINDOW, false).await
}

/// As `js_publisher`, on `subject` with `size`-byte payloads and `window` in flight; with
/// `msg_ids`, each publish carries a `Nats-Msg-Id` header, as the uplink's do.
#[allow(clippy::too_many_arguments)]
async fn js_publisher_on(
    mut c: JsConn,
    id: usize,
    n: u64,
    deadline: Instant,
    subject: &str,
    size: usize,
    window: u64,
    msg_ids: bool,
) -> Result<(u64, Instant), String> {
    let body = vec![b'x'; size];
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut last = Instant::now();
    let mut out = Vec::with_capacity(window.min(4096) as usize * (size + 96));
    loop {
        let stop = Instant::now() >= deadline;
        out.clear();
        while !stop && sent < n && sent - acked < window {
            if msg_ids {
                let hdr = format!("NATS/1.0\r\nNats-Msg-Id: bench-{id}:{sent}\r\n\r\n");
                out.extend_from_slice(
                    format!(
                        "HPUB {subject} _INBOX.p{id}.{sent} {} {}\r\n{hdr}",
                        hdr.len(),
                        hdr.len() + size
                    )
                    .as_bytes(),
                );
            } else {
                out.extend_from_slice(
                    format!("PUB {subject} _INBOX.p{id}.{sent} {size}\r\n").as_bytes(),
                );
            }
            out.extend_from_slice(&body);
            out.extend_from_slice(b"\r\n");
            sent += 1;
        }
        if !out.is_empty() {
            c.send(&out).await?;
        }
        if acked >= sent && (stop || sent >= n) {
            return Ok((acked, last));
        }
        let what = format!("PubAck ({acked} of {sent} acked)");
        for item in c.read_items(&what).await? {
            if let Item::Msg {
                status, payload, ..
            } = item
            {
                check_puback(status, &payload)?;
                acked += 1;
                last = Instant::now();
            }
        }
    }
}

async fn js_run(kind: Kind, sc: Scenario, opts: &Opts) -> Result<Sample, String> {
    let dir = JsDir::new()?;
    let sd = dir.0.to_string_lossy().into_owned();
    let mut args = vec!["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", &sd];
    if kind == Kind::Edgeleaf {
        args.extend(["-m", "0"]);
    }
    let server = Server::launch(kind, opts, &args).map_err(|e| e.replace(&sd, "<sd>"))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = server.status_kib("VmRSS");
    let res = js_workload(&server, sc, opts).await;
    let res = no_slow_consumers(res, &[&server]).map(|mut s| {
        s.idle_rss_kib = idle;
        s.peak_rss_kib = server.status_kib("VmHWM");
        s
    });
    drop(server);
    drop(dir);
    res
}

async fn js_workload(server: &Server, sc: Scenario, opts: &Opts) -> Result<Sample, String> {
    let addr = server.addr();
    let mut ctl = JsConn::open(&addr, "_INBOX.api.*").await?;
    ctl.api("$JS.API.STREAM.CREATE.B", JS_STREAM).await?;
    let n = js_msgs(opts);
    let cap = Duration::from_secs_f64(opts.secs);
    match sc {
        Scenario::JsPub1 | Scenario::JsPub4 => {
            let pubs = if sc == Scenario::JsPub1 { 1 } else { 4 };
            let mut conns = Vec::new();
            for i in 0..pubs {
                conns.push(JsConn::open(&addr, &format!("_INBOX.p{i}.*")).await?);
            }
            let cpu0 = server.cpu_secs();
            let t0 = Instant::now();
            let deadline = t0 + cap;
            let tasks: Vec<_> = conns
                .into_iter()
                .enumerate()
                .map(|(i, c)| tokio::spawn(js_publisher(c, i, n / pubs as u64, deadline)))
                .collect();
            let mut acked = 0;
            let mut last = t0;
            let mut failure = None;
            for t in tasks {
                match t.await.map_err(|e| format!("publisher task: {e}"))? {
                    Ok((a, l)) => {
                        acked += a;
                        last = last.max(l);
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            let cpu1 = server.cpu_secs();
            if let Some(e) = failure {
                return Err(e);
            }
            js_sample(acked, (last - t0).as_secs_f64(), cpu0, cpu1)
        }
        Scenario::JsPull => {
            // Fill the stream first (not measured), bounded by twice the time cap.
            let c = JsConn::open(&addr, "_INBOX.p0.*").await?;
            let (filled, _) = js_publisher(c, 0, n, Instant::now() + cap * 2).await?;
            ctl.api("$JS.API.CONSUMER.DURABLE.CREATE.B.C", JS_CONSUMER)
                .await?;
            let mut p = JsConn::open(&addr, "_INBOX.pull").await?;
            let cpu0 = server.cpu_secs();
            let t0 = Instant::now();
            let deadline = t0 + cap;
            let (mut consumed, mut outstanding) = (0u64, 0u64);
            let mut last = t0;
            let mut acks = Vec::new();
            while consumed < filled && Instant::now() < deadline {
                if outstanding == 0 {
                    outstanding = JS_BATCH.min(filled - consumed);
                    let req = format!("{{\"batch\":{outstanding},\"expires\":5000000000}}");
                    p.send(
                        format!(
                            "PUB $JS.API.CONSUMER.MSG.NEXT.B.C _INBOX.pull {}\r\n{req}\r\n",
                            req.len()
                        )
                        .as_bytes(),
                    )
                    .await?;
                }
                acks.clear();
                let what = format!("pulled message ({consumed} of {filled} consumed)");
                for item in p.read_items(&what).await? {
                    let Item::Msg { reply, status, .. } = item else {
                        continue;
                    };
                    if status.is_some() {
                        // 404/408/409: this request is over; ask again.
                        outstanding = 0;
                        continue;
                    }
                    let reply = reply.ok_or("a pulled message without an ack subject")?;
                    acks.extend_from_slice(format!("PUB {reply} 0\r\n\r\n").as_bytes());
                    consumed += 1;
                    outstanding = outstanding.saturating_sub(1);
                    last = Instant::now();
                }
                if !acks.is_empty() {
                    p.send(&acks).await?;
                }
            }
            // Every ack has been processed before the CPU is read.
            p.barrier().await?;
            let cpu1 = server.cpu_secs();
            js_sample(consumed, (last - t0).as_secs_f64(), cpu0, cpu1)
        }
        Scenario::JsAckLatency => {
            let mut c = JsConn::open(&addr, "_INBOX.p0.*").await?;
            let body = [b'x'; JS_PAYLOAD];
            let deadline = Instant::now() + cap;
            let mut lat_ns = Vec::with_capacity(JS_LAT_PUBS);
            for i in 0..JS_LAT_WARMUP + JS_LAT_PUBS {
                if Instant::now() >= deadline {
                    break;
                }
                let mut frame = format!("PUB b.x _INBOX.p0.{i} {JS_PAYLOAD}\r\n").into_bytes();
                frame.extend_from_slice(&body);
                frame.extend_from_slice(b"\r\n");
                let t = Instant::now();
                c.send(&frame).await?;
                'wait: loop {
                    for item in c.read_items("PubAck").await? {
                        if let Item::Msg {
                            status, payload, ..
                        } = item
                        {
                            check_puback(status, &payload)?;
                            break 'wait;
                        }
                    }
                }
                if i >= JS_LAT_WARMUP {
                    lat_ns.push(t.elapsed().as_nanos() as u64);
                }
            }
            if lat_ns.len() < 100 {
                return Err(format!("only {} publishes acked in time", lat_ns.len()));
            }
            lat_ns.sort_unstable();
            let pct = |p: f64| {
                let idx = ((lat_ns.len() as f64 - 1.0) * p).round() as usize;
                lat_ns[idx] as f64 / 1000.0
            };
            Ok(Sample {
                p50_us: pct(0.50),
                p99_us: pct(0.99),
                delivered: lat_ns.len() as u64,
                ..Sample::default()
            })
        }
        _ => Err(format!("{} is not a JetStream scenario", sc.key())),
    }
}

fn js_sample(count: u64, secs: f64, cpu0: (f64, f64), cpu1: (f64, f64)) -> Result<Sample, String> {
    if count == 0 || secs <= 0.0 {
        return Err("no message was acknowledged".into());
    }
    Ok(Sample {
        rate: count as f64 / secs,
        delivered: count,
        cpu_per_m: (cpu1.0 + cpu1.1 - cpu0.0 - cpu0.1) / count as f64 * 1e6,
        sys_per_m: (cpu1.1 - cpu0.1) / count as f64 * 1e6,
        ..Sample::default()
    })
}

// ---------------------------------------------------------------------------------------
// Uplink drain: store and forward. The edge builds a backlog of acked messages in a local
// stream while its leaf link is down (the hub is not running); then the hub comes up and
// the backlog drains into a cloud stream. Measured from the moment draining can start (the
// link is up and the cloud stream exists) until the cloud stream holds the whole backlog.
//
// - edgeleaf: a work-queue stream `U` with `uplink: [ { stream: U, cloud_domain: hub } ]`;
//   the cloud stream `U` (subjects `u.>`) exists before the link comes up (the hub is
//   started once without a leafnode listener to create it, then again with one).
// - nats-server: an edge with its own JetStream domain `edge` and a limits stream `U`; once
//   the link is up the cloud stream `U` is created sourcing it through `$JS.edge.API`.
//
// The cloud is one nats-server with JetStream (domain `hub`) in both cases.

/// Payload of every backlog message.
const UPLINK_PAYLOAD: usize = 256;
/// edgeleaf's default uplink window (`max_in_flight`), used by the ceiling publisher.
const UPLINK_WINDOW: u64 = 4096;
/// A drain fails when the cloud stream did not grow for this long.
const DRAIN_STALL: Duration = Duration::from_secs(60);
/// How long the edge may take to link once the hub is up (edgeleaf backs off up to 8 s
/// between attempts after a long outage).
const UPLINK_LINK_TIMEOUT: Duration = Duration::from_secs(30);

/// Messages in the backlog: `--msgs` / 5 (1,000,000 by default), at least 1,000.
fn uplink_msgs(opts: &Opts) -> u64 {
    (opts.msgs / 5).max(1000)
}

/// Config files, ports and store directories of one cloud + edge pair; removed on drop
/// (declare it before the servers that use it, so they are killed first).
struct UplinkSetup {
    dir: PathBuf,
    hub_port: u16,
    hub_http: u16,
    edge_port: u16,
}

impl Drop for UplinkSetup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl UplinkSetup {
    fn new() -> Result<UplinkSetup, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let [hub_port, hub_leaf, hub_http, edge_port, edge_http] = free_ports::<5>()?;
        let dir = std::env::temp_dir().join(format!(
            "edgeleaf-bench-uplink-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let setup = UplinkSetup {
            dir,
            hub_port,
            hub_http,
            edge_port,
        };
        let d = setup.dir.display();
        let hub = format!(
            "server_name: cloud1\n\
             listen: 127.0.0.1:{hub_port}\n\
             http: 127.0.0.1:{hub_http}\n\
             jetstream {{ store_dir: \"{d}/hub\", domain: hub }}\n\
             accounts {{ APP {{ jetstream: enabled, users = [{{user: leaf, password: leaf}}, {{user: app, password: app}}] }} }}\n"
        );
        let hub_leafs = format!("{hub}leafnodes {{ listen: 127.0.0.1:{hub_leaf} }}\n");
        let edge = |js: &str, uplink: &str| {
            format!(
                "server_name: edge1\n\
                 listen: 127.0.0.1:{edge_port}\n\
                 http: 127.0.0.1:{edge_http}\n\
                 jetstream {{ store_dir: \"{d}/edge\"{js} }}\n\
                 leafnodes {{ reconnect: 1, remotes = [ {{ urls: [\"nats-leaf://leaf:leaf@127.0.0.1:{hub_leaf}\"] }} ] }}\n\
                 {uplink}"
            )
        };
        for (name, text) in [
            ("hub-noleaf.conf", hub.clone()),
            ("hub.conf", hub_leafs),
            (
                "edge-edgeleaf.conf",
                edge("", "uplink: [ { stream: U, cloud_domain: hub } ]\n"),
            ),
            ("edge-nats.conf", edge(", domain: edge", "")),
        ] {
            let path = setup.dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(setup)
    }

    fn conf(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    fn start(&self, kind: Kind, conf: &str, opts: &Opts) -> Result<Server, String> {
        let dir = format!("{}/", self.dir.display());
        Server::launch(kind, opts, &["-c", &self.conf(conf)])
            .map_err(|e| format!("{conf}: {}", e.replace(&dir, "")))
    }

    fn hub_addr(&self) -> String {
        format!("127.0.0.1:{}", self.hub_port)
    }

    fn edge_addr(&self) -> String {
        format!("127.0.0.1:{}", self.edge_port)
    }

    /// Polls the hub's /leafz every 10 ms until the edge is linked.
    async fn wait_link(&self, edge: &Server) -> Result<Instant, String> {
        let deadline = Instant::now() + UPLINK_LINK_TIMEOUT;
        loop {
            let body = http_get(self.hub_http, "/leafz").await?;
            if json_number(&body, "leafnodes") == Some(1) {
                return Ok(Instant::now());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the edge did not link to the hub within {UPLINK_LINK_TIMEOUT:?}; edge output:\n{}",
                    edge.tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A JetStream API request that may meet a JetStream still starting up: retried for 10 s.
async fn api_retry(c: &mut JsConn, subject: &str, body: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.api(subject, body).await {
            Ok(r) => return Ok(r),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Fills stream `U` on the edge with `n` acked publishes on `u.x`; returns the rate.
async fn uplink_fill(edge: &Server, n: u64) -> Result<f64, String> {
    acked_publish_rate(&edge.addr(), n, "u.x", JS_WINDOW, false).await
}

/// `n` acked publishes of 256 B on `subject` from a new client of `addr`, `window` in
/// flight (with `msg_ids`, each has its own `Nats-Msg-Id`); returns the rate.
async fn acked_publish_rate(
    addr: &str,
    n: u64,
    subject: &str,
    window: u64,
    msg_ids: bool,
) -> Result<f64, String> {
    let c = JsConn::open(addr, "_INBOX.p0.*").await?;
    let t0 = Instant::now();
    let far = t0 + Duration::from_secs(3600);
    let (acked, last) =
        js_publisher_on(c, 0, n, far, subject, UPLINK_PAYLOAD, window, msg_ids).await?;
    if acked != n {
        return Err(format!(
            "only {acked} of {n} publishes on {subject} were acked"
        ));
    }
    Ok(n as f64 / (last - t0).as_secs_f64())
}

/// The ceiling of any drain that sends acknowledged publishes with `Nats-Msg-Id` (as the
/// uplink must): `n` live publishes of 256 B from a client on the edge, on `c.x`, through
/// the leaf link into a second cloud stream `C`, with the uplink's default window (4096)
/// in flight. Run after the drain, on the same processes; returns the rate.
async fn uplink_ceiling(setup: &UplinkSetup, ctl: &mut JsConn, n: u64) -> Result<f64, String> {
    api_retry(
        ctl,
        "$JS.API.STREAM.CREATE.C",
        r#"{"name":"C","subjects":["c.>"],"storage":"file","retention":"limits"}"#,
    )
    .await
    .map_err(|e| format!("cloud stream C: {e}"))?;
    // The hub's interest in c.> reaches the edge over the link: wait for a first PubAck
    // (a publish sent before the interest arrived is dropped without an answer).
    let mut tries = 0;
    loop {
        let mut warm = JsConn::open(&setup.edge_addr(), "_INBOX.api.*").await?;
        match tokio::time::timeout(Duration::from_secs(1), warm.api("c.warm", "")).await {
            Ok(Ok(_)) => break,
            Ok(Err(e)) if tries >= 10 => {
                return Err(format!(
                    "no PubAck from cloud stream C through the edge: {e}"
                ))
            }
            Err(_) if tries >= 10 => {
                return Err("no PubAck from cloud stream C through the edge within 10 s".into())
            }
            _ => tries += 1,
        }
    }
    acked_publish_rate(&setup.edge_addr(), n, "c.x", UPLINK_WINDOW, true).await
}

/// Polls the cloud stream `U` every 20 ms until it holds `n` messages, sampling the edge's
/// RSS meanwhile; returns (the time it got there, the highest RSS sampled in KiB).
async fn wait_cloud_stream(
    ctl: &mut JsConn,
    edge: &Server,
    n: u64,
) -> Result<(Instant, f64), String> {
    let mut have = 0;
    let mut moved = Instant::now();
    let mut max_rss = f64::NAN;
    loop {
        max_rss = max_rss.max(edge.status_kib("VmRSS"));
        let info = ctl.api("$JS.API.STREAM.INFO.U", "").await?;
        let now = json_number(&info, "messages").unwrap_or(0);
        if now >= n {
            return Ok((Instant::now(), max_rss));
        }
        if now != have {
            have = now;
            moved = Instant::now();
        }
        if moved.elapsed() > DRAIN_STALL {
            return Err(format!(
                "the cloud stream stopped at {have} of {n} messages (nothing for {DRAIN_STALL:?}); edge output ends:\n{}",
                edge.tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn uplink_run(kind: Kind, opts: &Opts) -> Result<Sample, String> {
    let setup = UplinkSetup::new()?;
    let n = uplink_msgs(opts);
    let mut edge_conf = "edge-nats.conf";
    if kind == Kind::Edgeleaf {
        // The cloud stream first, while nothing can link.
        edge_conf = "edge-edgeleaf.conf";
        let hub = setup.start(Kind::Nats, "hub-noleaf.conf", opts)?;
        let mut ctl = JsConn::open_as(&setup.hub_addr(), "_INBOX.api.*", Some(HUB_USER)).await?;
        api_retry(
            &mut ctl,
            "$JS.API.STREAM.CREATE.U",
            r#"{"name":"U","subjects":["u.>"],"storage":"file","retention":"limits"}"#,
        )
        .await
        .map_err(|e| format!("cloud stream: {e}"))?;
        hub.stop(Duration::from_secs(10));
    }
    // The edge and its backlog; the hub is not running, so the link is down.
    let edge = setup.start(kind, edge_conf, opts)?;
    let mut ectl = JsConn::open(&setup.edge_addr(), "_INBOX.api.*").await?;
    let retention = if kind == Kind::Edgeleaf {
        "workqueue"
    } else {
        "limits"
    };
    ectl.api(
        "$JS.API.STREAM.CREATE.U",
        &format!(r#"{{"name":"U","subjects":["u.>"],"storage":"file","retention":"{retention}"}}"#),
    )
    .await
    .map_err(|e| format!("edge stream: {e}"))?;
    let fill_rate = uplink_fill(&edge, n).await?;
    drop(ectl);

    // The drain. The peak RSS counts from here.
    let reset = edge.reset_peak_rss();
    let hub = setup.start(Kind::Nats, "hub.conf", opts)?;
    let linked = setup.wait_link(&edge).await?;
    let mut ctl = JsConn::open_as(&setup.hub_addr(), "_INBOX.api.*", Some(HUB_USER)).await?;
    let cpu0 = edge.cpu_secs();
    let t0 = if kind == Kind::Nats {
        api_retry(
            &mut ctl,
            "$JS.API.STREAM.CREATE.U",
            r#"{"name":"U","storage":"file","retention":"limits","sources":[{"name":"U","external":{"api":"$JS.edge.API","deliver":""}}]}"#,
        )
        .await
        .map_err(|e| format!("cloud stream sourcing the edge: {e}"))?;
        Instant::now()
    } else {
        linked
    };
    let (t1, sampled) = wait_cloud_stream(&mut ctl, &edge, n).await?;
    let cpu1 = edge.cpu_secs();
    let hwm = edge.status_kib("VmHWM");
    let secs = (t1 - t0).as_secs_f64();
    let mut sample = js_sample(n, secs, cpu0, cpu1)?;
    sample.drain_secs = secs;
    sample.fill_rate = fill_rate;
    sample.peak_rss_kib = if reset { hwm.max(sampled) } else { sampled };
    sample.ceiling_rate = uplink_ceiling(&setup, &mut ctl, (n / 5).max(1000)).await?;
    let res = no_slow_consumers(Ok(sample), &[&hub, &edge]);
    drop(hub);
    drop(edge);
    res
}

// ---------------------------------------------------------------------------------------
// Reporting

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fmt_rate(x: f64) -> String {
    if !x.is_finite() {
        "n/a".into()
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else {
        format!("{:.0} k", x / 1e3)
    }
}

fn fmt_num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "n/a".into()
    }
}

/// Two decimals, or three when two would show the target bound itself (0.80 that misses 0.8).
fn fmt_ratio(ratio: f64, bound: Option<f64>) -> String {
    let two = fmt_num(ratio, 2);
    match bound {
        Some(b) if two == fmt_num(b, 2) && ratio != b => fmt_num(ratio, 3),
        _ => two,
    }
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

/// Size of the binary after `strip` (a temporary copy), or as is when it has no symbols.
fn stripped_size(p: &Path) -> Option<u64> {
    let tmp = std::env::temp_dir().join(format!("edgeleaf-bench-strip-{}", std::process::id()));
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&tmp)
        .arg(p)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let size = if ok { file_size(&tmp) } else { None };
    let _ = std::fs::remove_file(&tmp);
    size.or_else(|| file_size(p))
}

fn load_note() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fuzz = Command::new("pgrep")
        .args(["-fa", "fuzz"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut s = format!(
        "loadavg {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if !fuzz.is_empty() {
        s.push_str(&format!(
            "; fuzzer running: {}",
            fuzz.lines().next().unwrap_or("")
        ));
    }
    s
}

// ---------------------------------------------------------------------------------------

type Results = HashMap<(Scenario, Kind), Vec<Result<Sample, String>>>;

async fn one_run(kind: Kind, sc: Scenario, opts: &Opts) -> Result<Sample, String> {
    match sc {
        Scenario::LeafInterest => return leaf_interest_run(kind, opts).await,
        Scenario::UplinkDrain => return uplink_run(kind, opts).await,
        _ if sc.is_leaf() => return leaf_throughput_run(kind, sc, opts).await,
        _ if sc.is_js() => return js_run(kind, sc, opts).await,
        _ => {}
    }
    let server = Server::start(kind, opts)?;
    // Let the runtime settle (GC, thread start-up) before taking the idle RSS.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = server.status_kib("VmRSS");
    let res = match sc {
        Scenario::ReqReply => reqreply_run(&server, opts).await,
        _ => throughput_run(&Ends::local(&server), sc, opts).await,
    };
    let slow = server.slow_consumer_lines.load(Ordering::Relaxed);
    let res = match res {
        Ok(_) if slow > 0 => Err(format!(
            "server logged {slow} slow consumer line(s):\n{}",
            server.tail()
        )),
        other => other,
    };
    debug_assert_eq!(server.kind, kind);
    drop(server);
    res.map(|mut s| {
        s.idle_rss_kib = idle;
        s
    })
}

fn describe(sc: Scenario, s: &Result<Sample, String>) -> String {
    match s {
        Err(e) => format!("FAILED: {e}"),
        Ok(s) if sc == Scenario::LeafInterest => format!(
            "all {INTEREST_SUBS} subs at the hub {:>7.1} ms, again after hub restart {:>7.1} ms  edge RSS linked {:.1} MiB  peak {:.1} MiB",
            s.interest_ms,
            s.reconnect_ms,
            s.idle_rss_kib / 1024.0,
            s.peak_rss_kib / 1024.0
        ),
        Ok(s) if sc.is_uplink() => format!(
            "drain {:>9} msgs/s  {} msgs in {:.2} s  edge cpu {:.3} s/M msgs (sys {:.3})  edge peak RSS during the drain {:.1} MiB  (fill {} msgs/s acked, live acked with Msg-Id into the cloud {} msgs/s)",
            fmt_rate(s.rate),
            s.delivered,
            s.drain_secs,
            s.cpu_per_m,
            s.sys_per_m,
            s.peak_rss_kib / 1024.0,
            fmt_rate(s.fill_rate),
            fmt_rate(s.ceiling_rate),
        ),
        Ok(s) if sc.is_leaf() => format!(
            "{:>9} msgs/s  {:>9} delivered  edge cpu {:>6.3} s/M msgs (sys {:.3})  edge RSS linked {:.1} MiB  peak {:.1} MiB",
            fmt_rate(s.rate),
            s.delivered,
            s.cpu_per_m,
            s.sys_per_m,
            s.idle_rss_kib / 1024.0,
            s.peak_rss_kib / 1024.0,
        ),
        Ok(s) if sc == Scenario::ReqReply || sc == Scenario::JsAckLatency => format!(
            "p50 {:>7.1} us  p99 {:>7.1} us  ({} {})  idle RSS {:.1} MiB  peak {:.1} MiB",
            s.p50_us,
            s.p99_us,
            s.delivered,
            if sc == Scenario::ReqReply {
                "requests"
            } else {
                "publishes"
            },
            s.idle_rss_kib / 1024.0,
            s.peak_rss_kib / 1024.0
        ),
        Ok(s) => format!(
            "{:>9} msgs/s  {:>9} delivered  cpu {:>6.3} s/M msgs (sys {:.3})  idle RSS {:.1} MiB  peak {:.1} MiB",
            fmt_rate(s.rate),
            s.delivered,
            s.cpu_per_m,
            s.sys_per_m,
            s.idle_rss_kib / 1024.0,
            s.peak_rss_kib / 1024.0,
        ),
    }
}

#[tokio::main]
async fn main() {
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all_children();
        prev_hook(info);
    }));
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            kill_all_children();
            eprintln!("bench: interrupted");
            std::process::exit(130);
        }
    });

    for (what, p) in [
        ("edgeleaf", &opts.edgeleaf),
        ("nats-server", &opts.nats_server),
    ] {
        if !p.is_file() {
            eprintln!("bench: {what} binary not found at {}", p.display());
            std::process::exit(2);
        }
    }
    let ns_version = Command::new(&opts.nats_server)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("edgeleaf bench: edgeleaf vs nats-server on the same machine");
    println!(
        "  edgeleaf:    {}\n  nats-server: {} ({ns_version})",
        opts.edgeleaf.display(),
        opts.nats_server.display()
    );
    println!(
        "  repeats {} per server (alternating), {} msgs or {} s per throughput run, {} requests per request/reply run",
        opts.repeats, opts.msgs, opts.secs, opts.requests
    );
    println!(
        "  cpus {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_note()
    );
    println!();

    let mut results: Results = HashMap::new();
    let mut failures = 0;
    for &sc in &opts.only {
        println!("== {}", sc.title());
        for r in 0..opts.repeats {
            // A B, B A, A B, ...: drifts in machine load hit both servers alike.
            let mut order = opts.servers.clone();
            if r % 2 == 1 {
                order.reverse();
            }
            for kind in order {
                let res = one_run(kind, sc, &opts).await;
                if res.is_err() {
                    failures += 1;
                }
                println!("  #{} {:<11} {}", r + 1, kind.name(), describe(sc, &res));
                results.entry((sc, kind)).or_default().push(res);
            }
        }
    }

    // Medians over the successful runs.
    let med = |sc: Scenario, kind: Kind, f: &dyn Fn(&Sample) -> f64| -> f64 {
        median(
            results
                .get(&(sc, kind))
                .map(|v| v.iter().filter_map(|r| r.as_ref().ok()).map(f).collect())
                .unwrap_or_default(),
        )
    };
    // Memory rows are about a server on its own: the leaf runs' edges are left out.
    let all = |kind: Kind, f: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
        results
            .iter()
            .filter(|((sc, k), _)| *k == kind && sc.is_local())
            .flat_map(|(_, v)| v.iter().filter_map(|r| r.as_ref().ok()).map(f))
            .collect()
    };

    println!();
    println!("== medians (edgeleaf/nats-server ratio)");
    struct Row {
        metric: String,
        nats: f64,
        edge: f64,
        fmt: fn(f64) -> String,
        target: Option<(bool, f64)>, // (higher is better, bound on ratio)
        /// The scenario whose runs the row summarizes: a server whose runs all failed shows
        /// "failed: <reason>" instead of a number.
        sc: Option<Scenario>,
        /// A bound on edgeleaf's own value (in the row's raw unit) and how to show it.
        edge_max: Option<(f64, &'static str)>,
    }
    // The first line of the first failure, when every run of this server failed.
    let failed = |sc: Option<Scenario>, kind: Kind| -> Option<String> {
        let runs = results.get(&(sc?, kind))?;
        if runs.is_empty() || runs.iter().any(|r| r.is_ok()) {
            return None;
        }
        let why = runs.iter().find_map(|r| r.as_ref().err())?;
        let mut line: String = why
            .lines()
            .next()
            .unwrap_or("")
            .replace('|', "/")
            .chars()
            .take(80)
            .collect();
        if line.len() < why.lines().next().unwrap_or("").len() {
            line.push('…');
        }
        Some(format!("{}: failed: {line}", kind.name()))
    };
    let cell = |row: &Row, kind: Kind| -> String {
        let v = if kind == Kind::Nats {
            row.nats
        } else {
            row.edge
        };
        match failed(row.sc, kind) {
            Some(f) if !v.is_finite() => f,
            _ => (row.fmt)(v),
        }
    };
    let mut rows: Vec<Row> = Vec::new();
    let rate_fmt: fn(f64) -> String = fmt_rate;
    let us_fmt: fn(f64) -> String = |x| fmt_num(x, 1);
    let cpu_fmt: fn(f64) -> String = |x| fmt_num(x, 3);
    let mib_fmt: fn(f64) -> String = |x| fmt_num(x / 1024.0, 1);
    for &sc in &opts.only {
        if !sc.is_throughput() {
            continue;
        }
        let unit = match sc {
            Scenario::FanOut => "msgs/s delivered",
            Scenario::JsPub1 | Scenario::JsPub4 => "msgs/s acked",
            Scenario::JsPull => "msgs/s consumed and acked",
            _ => "msgs/s",
        };
        rows.push(Row {
            metric: format!("{} ({unit})", sc.title()),
            nats: med(sc, Kind::Nats, &|s| s.rate),
            edge: med(sc, Kind::Edgeleaf, &|s| s.rate),
            fmt: rate_fmt,
            target: Some((true, 1.0)),
            sc: Some(sc),
            edge_max: None,
        });
    }
    if opts.only.contains(&Scenario::ReqReply) {
        let sc = Scenario::ReqReply;
        rows.push(Row {
            metric: "request/reply latency p50 (us)".into(),
            nats: med(sc, Kind::Nats, &|s| s.p50_us),
            edge: med(sc, Kind::Edgeleaf, &|s| s.p50_us),
            fmt: us_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
        rows.push(Row {
            metric: "request/reply latency p99 (us)".into(),
            nats: med(sc, Kind::Nats, &|s| s.p99_us),
            edge: med(sc, Kind::Edgeleaf, &|s| s.p99_us),
            fmt: us_fmt,
            target: Some((false, 1.0)),
            sc: Some(sc),
            edge_max: None,
        });
    }
    if opts.only.contains(&Scenario::JsAckLatency) {
        let sc = Scenario::JsAckLatency;
        rows.push(Row {
            metric: "JetStream publish -> PubAck latency p50 (us, lower is better)".into(),
            nats: med(sc, Kind::Nats, &|s| s.p50_us),
            edge: med(sc, Kind::Edgeleaf, &|s| s.p50_us),
            fmt: us_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
        rows.push(Row {
            metric: "JetStream publish -> PubAck latency p99 (us, lower is better)".into(),
            nats: med(sc, Kind::Nats, &|s| s.p99_us),
            edge: med(sc, Kind::Edgeleaf, &|s| s.p99_us),
            fmt: us_fmt,
            // Reported, not a target (the JetStream issue sets targets on throughput only):
            // edgeleaf's PubAck waits for a disk sync, nats-server's by default does not,
            // so this ratio mostly measures the disk.
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
    }
    if opts.only.contains(&Scenario::LeafInterest) {
        let sc = Scenario::LeafInterest;
        let ms_fmt: fn(f64) -> String = |x| fmt_num(x, 1);
        rows.push(Row {
            metric: "leaf interest: 10,000 edge subs known at the hub (ms, lower is better)".into(),
            nats: med(sc, Kind::Nats, &|s| s.interest_ms),
            edge: med(sc, Kind::Edgeleaf, &|s| s.interest_ms),
            fmt: ms_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
        rows.push(Row {
            metric:
                "leaf interest: 10,000 subs known again after hub restart (ms, lower is better)"
                    .into(),
            nats: med(sc, Kind::Nats, &|s| s.reconnect_ms),
            edge: med(sc, Kind::Edgeleaf, &|s| s.reconnect_ms),
            fmt: ms_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
    }
    for &sc in &opts.only {
        if !sc.is_throughput() {
            continue;
        }
        // Across a leaf link it is the edge's CPU; no target there (yet).
        let (what, target) = if sc.is_leaf() {
            ("edge", None)
        } else if sc.is_js() {
            ("server", None)
        } else {
            ("server", Some((false, 0.8)))
        };
        rows.push(Row {
            metric: format!("{what} CPU s per M msgs, {}", sc.title()),
            nats: med(sc, Kind::Nats, &|s| s.cpu_per_m),
            edge: med(sc, Kind::Edgeleaf, &|s| s.cpu_per_m),
            fmt: cpu_fmt,
            target,
            sc: Some(sc),
            edge_max: None,
        });
    }
    // Memory rows only when a single-server scenario ran.
    let local = opts.only.iter().any(|sc| sc.is_local());
    if local {
        rows.push(Row {
            metric: "idle RSS (MiB)".into(),
            nats: median(all(Kind::Nats, &|s| s.idle_rss_kib)),
            edge: median(all(Kind::Edgeleaf, &|s| s.idle_rss_kib)),
            fmt: mib_fmt,
            target: Some((false, 0.5)),
            sc: None,
            edge_max: None,
        });
        let peak = |kind| {
            all(kind, &|s| s.peak_rss_kib)
                .into_iter()
                .filter(|x| x.is_finite())
                .fold(f64::NAN, f64::max)
        };
        rows.push(Row {
            metric: "peak RSS under load, max of all runs (MiB)".into(),
            nats: peak(Kind::Nats),
            edge: peak(Kind::Edgeleaf),
            fmt: mib_fmt,
            target: None,
            sc: None,
            edge_max: None,
        });
    }
    // JetStream runs hold a store: their memory is shown apart from the core runs'.
    if opts.only.iter().any(|sc| sc.is_js()) {
        let js = |kind: Kind, f: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
            results
                .iter()
                .filter(|((sc, k), _)| *k == kind && sc.is_js())
                .flat_map(|(_, v)| v.iter().filter_map(|r| r.as_ref().ok()).map(f))
                .collect()
        };
        rows.push(Row {
            metric: "JetStream idle RSS, -js (MiB)".into(),
            nats: median(js(Kind::Nats, &|s| s.idle_rss_kib)),
            edge: median(js(Kind::Edgeleaf, &|s| s.idle_rss_kib)),
            fmt: mib_fmt,
            target: None,
            sc: None,
            edge_max: None,
        });
        let peak = |kind| {
            js(kind, &|s| s.peak_rss_kib)
                .into_iter()
                .filter(|x| x.is_finite())
                .fold(f64::NAN, f64::max)
        };
        rows.push(Row {
            metric: "JetStream peak RSS, max of the JetStream runs (MiB)".into(),
            nats: peak(Kind::Nats),
            edge: peak(Kind::Edgeleaf),
            fmt: mib_fmt,
            target: None,
            sc: None,
            edge_max: None,
        });
    }
    if opts.only.contains(&Scenario::UplinkDrain) {
        let sc = Scenario::UplinkDrain;
        let secs_fmt: fn(f64) -> String = |x| fmt_num(x, 2);
        let n = uplink_msgs(&opts);
        rows.push(Row {
            metric: "uplink drain: edge backlog -> cloud stream, 256 B (msgs/s)".into(),
            nats: med(sc, Kind::Nats, &|s| s.rate),
            edge: med(sc, Kind::Edgeleaf, &|s| s.rate),
            fmt: rate_fmt,
            target: Some((true, 1.5)),
            sc: Some(sc),
            edge_max: None,
        });
        rows.push(Row {
            metric: format!("uplink drain: time to empty a backlog of {n} (s, lower is better)"),
            nats: med(sc, Kind::Nats, &|s| s.drain_secs),
            edge: med(sc, Kind::Edgeleaf, &|s| s.drain_secs),
            fmt: secs_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
        let peak = |kind| {
            results
                .get(&(sc, kind))
                .map(|v| {
                    v.iter()
                        .filter_map(|r| r.as_ref().ok())
                        .map(|s| s.peak_rss_kib)
                        .filter(|x| x.is_finite())
                        .fold(f64::NAN, f64::max)
                })
                .unwrap_or(f64::NAN)
        };
        rows.push(Row {
            metric: "uplink drain: edge peak RSS during the drain, max of the runs (MiB)".into(),
            nats: peak(Kind::Nats),
            edge: peak(Kind::Edgeleaf),
            fmt: mib_fmt,
            target: None,
            sc: Some(sc),
            edge_max: Some((64.0 * 1024.0, "edgeleaf < 64 MiB")),
        });
        rows.push(Row {
            metric: "uplink drain: edge CPU s per M msgs drained".into(),
            nats: med(sc, Kind::Nats, &|s| s.cpu_per_m),
            edge: med(sc, Kind::Edgeleaf, &|s| s.cpu_per_m),
            fmt: cpu_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
        rows.push(Row {
            metric: "uplink fill: acked publishes into the edge stream, link down, 256 B (msgs/s)"
                .into(),
            nats: med(sc, Kind::Nats, &|s| s.fill_rate),
            edge: med(sc, Kind::Edgeleaf, &|s| s.fill_rate),
            fmt: rate_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
        rows.push(Row {
            metric: "uplink ceiling: live acked publishes with Nats-Msg-Id, edge client -> cloud stream through the leaf, 4096 in flight, 256 B (msgs/s)"
                .into(),
            nats: med(sc, Kind::Nats, &|s| s.ceiling_rate),
            edge: med(sc, Kind::Edgeleaf, &|s| s.ceiling_rate),
            fmt: rate_fmt,
            target: None,
            sc: Some(sc),
            edge_max: None,
        });
    }
    let size_fmt: fn(f64) -> String = |x| fmt_num(x / (1024.0 * 1024.0), 2);
    rows.push(Row {
        metric: "binary size, stripped (MiB)".into(),
        nats: stripped_size(&opts.nats_server).map_or(f64::NAN, |x| x as f64),
        edge: stripped_size(&opts.edgeleaf).map_or(f64::NAN, |x| x as f64),
        fmt: size_fmt,
        target: None,
        sc: None,
        edge_max: None,
    });

    for row in &rows {
        println!(
            "  {:<52} nats-server {:>10}   edgeleaf {:>10}   ratio {:>5}",
            row.metric,
            cell(row, Kind::Nats),
            cell(row, Kind::Edgeleaf),
            fmt_num(row.edge / row.nats, 2)
        );
    }
    if let Some(size) = file_size(&opts.edgeleaf) {
        println!(
            "  edgeleaf binary: {} bytes on disk, {} bytes stripped",
            size,
            stripped_size(&opts.edgeleaf).unwrap_or(size)
        );
    }

    println!();
    println!(
        "== summary (markdown; medians of {} runs per server, {})",
        opts.repeats,
        load_note()
    );
    println!();
    println!("| metric | nats-server | edgeleaf | edgeleaf / nats-server | target | met |");
    println!("|---|---:|---:|---:|---|:-:|");
    let mut missed = 0;
    let mut unknown = 0;
    for row in &rows {
        let ratio = row.edge / row.nats;
        let (target, met) = match row.target {
            None if row.edge_max.is_some() => {
                let (max, what) = row.edge_max.unwrap_or((f64::NAN, ""));
                let met = if !row.edge.is_finite() {
                    unknown += 1;
                    "?".to_string()
                } else if row.edge < max {
                    "yes".to_string()
                } else {
                    missed += 1;
                    "**no**".to_string()
                };
                (what.to_string(), met)
            }
            None => ("—".to_string(), "".to_string()),
            Some((higher, bound)) => {
                let ok = if higher {
                    ratio >= bound
                } else {
                    ratio <= bound
                };
                if !ratio.is_finite() {
                    unknown += 1;
                } else if !ok {
                    missed += 1;
                }
                (
                    format!("{} {bound:.1}", if higher { "≥" } else { "≤" }),
                    if !ratio.is_finite() {
                        "?".into()
                    } else if ok {
                        "yes".into()
                    } else {
                        "**no**".into()
                    },
                )
            }
        };
        println!(
            "| {} | {} | {} | {} | {target} | {met} |",
            row.metric,
            cell(row, Kind::Nats),
            cell(row, Kind::Edgeleaf),
            fmt_ratio(ratio, row.target.map(|t| t.1))
        );
    }
    println!();
    println!("targets missed: {missed}; not measured: {unknown}; failed runs: {failures}");
    kill_all_children();
    if failures > 0 {
        std::process::exit(1);
    }
}
