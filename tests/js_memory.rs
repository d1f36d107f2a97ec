//! JetStream memory stays bounded (DESIGN.md invariant 4): filling a stream with 1,000,000
//! messages and reading all of it back through a consumer, edgeleaf's RSS stops growing
//! (consumers page from disk; nothing is kept per stored message). Driven over raw
//! protocol so the test client is not the bottleneck.
//!
//! It also checks the level RSS settles at: no more than the configured sled cache plus a
//! small constant above idle. (sled 0.34 evicts only when a shard of its LRU has queued 64
//! page accesses; before the store made sure that happens, see `settle` in
//! src/store/messages.rs, this run settled 90-100 MiB above idle whatever the cache size.
//! Now a debug build idles at about 36 MiB and peaks about 24 MiB above that.)

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use support::{Broker, Impl, TempDir};

const MSGS: u64 = 1_000_000;
const CACHE_MB: u64 = 16;
/// RSS may grow this much between the half-way point and the end of filling, and of
/// consuming: a leak of 34 bytes per message would exceed it.
const GROWTH_MB: u64 = 16;
/// What RSS may exceed idle by beyond the sled cache: sled's page table, its I/O buffers,
/// the newest page of each LRU shard, the engine's own state (measured: 8 MiB).
const CONSTANT_MB: u64 = 24;

fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} not in /proc/{pid}/status"))
}

struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        Conn::open_inbox(port, "_R")
    }

    /// A connection whose replies arrive under `inbox.>`.
    fn open_inbox(port: u16, inbox: &str) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("INFO"), "{line}");
        let mut w = s;
        write!(
            w,
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true}}\r\nSUB {inbox}.> 1\r\n"
        )
        .unwrap();
        Conn { w, r }
    }

    /// Reads one MSG: (subject, reply, payload).
    fn msg(&mut self) -> (String, Option<String>, Vec<u8>) {
        loop {
            let mut line = String::new();
            assert!(
                self.r.read_line(&mut line).unwrap() > 0,
                "connection closed"
            );
            let l = line.trim_end();
            if l == "PING" {
                self.w.write_all(b"PONG\r\n").unwrap();
                continue;
            }
            let p: Vec<&str> = l.split(' ').collect();
            if p[0] == "HMSG" {
                // Status messages (e.g. 408 for an expired pull) are not expected here.
                panic!("unexpected status message {l}");
            }
            assert_eq!(p[0], "MSG", "unexpected line {l}");
            let n: usize = p.last().unwrap().parse().unwrap();
            let mut data = vec![0u8; n + 2];
            self.r.read_exact(&mut data).unwrap();
            data.truncate(n);
            let reply = (p.len() == 5).then(|| p[3].to_string());
            return (p[1].to_string(), reply, data);
        }
    }

    /// Reads one MSG as (subject, reply), or None for a status message (408: a pull
    /// request expired).
    fn msg_or_status(&mut self) -> Option<(String, Option<String>)> {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.r.read_line(&mut line).unwrap() > 0,
                "connection closed"
            );
            if line.trim_end() == "PING" {
                self.w.write_all(b"PONG\r\n").unwrap();
                continue;
            }
            break;
        }
        let l = line.trim_end().to_string();
        let p: Vec<&str> = l.split(' ').collect();
        let n: usize = p.last().unwrap().parse().unwrap();
        let mut data = vec![0u8; n + 2];
        self.r.read_exact(&mut data).unwrap();
        match p[0] {
            "HMSG" => None,
            "MSG" => Some((p[1].to_string(), (p.len() == 5).then(|| p[3].to_string()))),
            other => panic!("unexpected line {other}: {l}"),
        }
    }

    fn request(&mut self, subject: &str, body: &str) -> String {
        write!(self.w, "PUB {subject} _R.api {}\r\n{body}\r\n", body.len()).unwrap();
        String::from_utf8(self.msg().2).unwrap()
    }
}

#[test]
fn rss_stops_growing_while_a_million_messages_are_stored_and_consumed() {
    let dir = TempDir::new();
    let conf = format!(
        "listen: \"127.0.0.1:-1\"\njetstream {{ store_dir: \"{}\", cache_size: {CACHE_MB}MB }}\n",
        dir.path.display()
    );
    let server = Broker::start_with_config(Impl::Edgeleaf, &conf, &[]);
    let pid = server.child.id();
    let mut c = Conn::open(server.port);
    let created = c.request(
        "$JS.API.STREAM.CREATE.BIG",
        r#"{"name":"BIG","subjects":["big.>"],"storage":"file"}"#,
    );
    assert!(
        created.contains("stream_create_response") && !created.contains("error"),
        "{created}"
    );
    let idle = status_kib(pid, "VmRSS:");

    // Fill: acked publishes, 1000 in flight.
    let payload = [b'x'; 64];
    let mut sent = 0u64;
    let mut acked = 0u64;
    let mut half_filled = 0;
    let mut half_consumed = 0;
    while acked < MSGS {
        let mut buf = Vec::new();
        while sent < MSGS && sent - acked < 1000 {
            write!(buf, "PUB big.{} _R.a {}\r\n", sent % 100, payload.len()).unwrap();
            buf.extend_from_slice(&payload);
            buf.extend_from_slice(b"\r\n");
            sent += 1;
        }
        c.w.write_all(&buf).unwrap();
        let (_, _, ack) = c.msg();
        assert!(
            ack.starts_with(b"{\"stream\":\"BIG\""),
            "{}",
            String::from_utf8_lossy(&ack)
        );
        acked += 1;
        if acked == MSGS / 2 {
            half_filled = status_kib(pid, "VmRSS:");
        }
    }
    let filled = status_kib(pid, "VmRSS:");
    let info = c.request("$JS.API.STREAM.INFO.BIG", "");
    assert!(info.contains(&format!("\"messages\":{MSGS}")), "{info}");

    // Drain: a pull consumer acking everything, 500 per request.
    let created = c.request(
        "$JS.API.CONSUMER.DURABLE.CREATE.BIG.C",
        r#"{"stream_name":"BIG","config":{"durable_name":"C","ack_policy":"explicit","max_ack_pending":-1}}"#,
    );
    assert!(!created.contains("\"error\""), "{created}");
    let mut got = 0u64;
    while got < MSGS {
        let want = 500.min(MSGS - got);
        let body = format!("{{\"batch\":{want}}}");
        write!(
            c.w,
            "PUB $JS.API.CONSUMER.MSG.NEXT.BIG.C _R.p {}\r\n{body}\r\n",
            body.len()
        )
        .unwrap();
        let mut acks = Vec::new();
        for _ in 0..want {
            let (subject, reply, _) = c.msg();
            assert!(subject.starts_with("big."), "{subject}");
            let reply = reply.expect("an ack subject");
            write!(acks, "PUB {reply} 0\r\n\r\n").unwrap();
            got += 1;
            if got == MSGS / 2 {
                half_consumed = status_kib(pid, "VmRSS:");
            }
        }
        c.w.write_all(&acks).unwrap();
    }
    let consumed = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    let mib = |k: u64| k / 1024;
    println!(
        "RSS MiB: idle {}, half filled {}, filled {}, half consumed {}, consumed {}, peak {} (sled cache {CACHE_MB})",
        mib(idle),
        mib(half_filled),
        mib(filled),
        mib(half_consumed),
        mib(consumed),
        mib(peak)
    );
    assert!(
        mib(filled.saturating_sub(half_filled)) <= GROWTH_MB,
        "RSS grew from {} to {} MiB while the second half million was stored",
        mib(half_filled),
        mib(filled)
    );
    assert!(
        mib(consumed.saturating_sub(half_consumed)) <= GROWTH_MB,
        "RSS grew from {} to {} MiB while the second half million was consumed",
        mib(half_consumed),
        mib(consumed)
    );
    assert!(
        mib(peak.saturating_sub(idle)) <= CACHE_MB + CONSTANT_MB,
        "peak RSS {} MiB is more than the sled cache ({CACHE_MB} MiB) plus {CONSTANT_MB} MiB above idle ({} MiB)",
        mib(peak),
        mib(idle)
    );
}

/// Publishing and consuming at the same time (a live uplink or a worker keeping up with a
/// producer): the disk syncs that publishes wait for run beside the consumer's reads, and
/// RSS must stay within the same bound.
#[test]
fn rss_stays_bounded_while_publishing_and_consuming_at_once() {
    let dir = TempDir::new();
    let conf = format!(
        "listen: \"127.0.0.1:-1\"\njetstream {{ store_dir: \"{}\", cache_size: {CACHE_MB}MB }}\n",
        dir.path.display()
    );
    let server = Broker::start_with_config(Impl::Edgeleaf, &conf, &[]);
    let pid = server.child.id();
    let mut c = Conn::open(server.port);
    let created = c.request(
        "$JS.API.STREAM.CREATE.MIX",
        r#"{"name":"MIX","subjects":["mix.>"],"storage":"file","retention":"workqueue"}"#,
    );
    assert!(!created.contains("\"error\""), "{created}");
    let created = c.request(
        "$JS.API.CONSUMER.DURABLE.CREATE.MIX.C",
        r#"{"stream_name":"MIX","config":{"durable_name":"C","ack_policy":"explicit","max_ack_pending":-1}}"#,
    );
    assert!(!created.contains("\"error\""), "{created}");
    let idle = status_kib(pid, "VmRSS:");

    let port = server.port;
    let publisher = std::thread::spawn(move || {
        let mut p = Conn::open_inbox(port, "_P");
        let payload = [b'x'; 64];
        let (mut sent, mut acked) = (0u64, 0u64);
        while acked < MSGS {
            let mut buf = Vec::new();
            while sent < MSGS && sent - acked < 1000 {
                write!(buf, "PUB mix.{} _P.a {}\r\n", sent % 100, payload.len()).unwrap();
                buf.extend_from_slice(&payload);
                buf.extend_from_slice(b"\r\n");
                sent += 1;
            }
            p.w.write_all(&buf).unwrap();
            let (_, _, ack) = p.msg();
            assert!(
                ack.starts_with(b"{\"stream\":\"MIX\""),
                "{}",
                String::from_utf8_lossy(&ack)
            );
            acked += 1;
        }
    });
    // Consume as they come: pull requests that wait up to a second for 500 messages.
    let mut got = 0u64;
    let mut half = 0;
    while got < MSGS {
        let want = 500.min(MSGS - got);
        let body = format!("{{\"batch\":{want},\"expires\":1000000000}}");
        write!(
            c.w,
            "PUB $JS.API.CONSUMER.MSG.NEXT.MIX.C _R.p {}\r\n{body}\r\n",
            body.len()
        )
        .unwrap();
        let mut acks = Vec::new();
        let mut n = 0;
        while n < want {
            match c.msg_or_status() {
                Some((subject, reply)) => {
                    assert!(subject.starts_with("mix."), "{subject}");
                    write!(acks, "PUB {} 0\r\n\r\n", reply.expect("an ack subject")).unwrap();
                    n += 1;
                    got += 1;
                    if got == MSGS / 2 {
                        half = status_kib(pid, "VmRSS:");
                    }
                }
                // The request expired before `want` messages came: ask again.
                None => break,
            }
        }
        c.w.write_all(&acks).unwrap();
    }
    publisher.join().expect("publisher");
    let end = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    let mib = |k: u64| k / 1024;
    println!(
        "RSS MiB: idle {}, half way {}, end {}, peak {} (sled cache {CACHE_MB})",
        mib(idle),
        mib(half),
        mib(end),
        mib(peak)
    );
    assert!(
        mib(peak.saturating_sub(idle)) <= CACHE_MB + CONSTANT_MB,
        "peak RSS {} MiB is more than the sled cache ({CACHE_MB} MiB) plus {CONSTANT_MB} MiB above idle ({} MiB)",
        mib(peak),
        mib(idle)
    );
}
