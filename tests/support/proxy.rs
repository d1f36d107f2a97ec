//! A TCP proxy on 127.0.0.1 for link tests: it can cut every connection (and refuse new
//! ones) until resumed, turn the connections it has into black holes (bytes read and
//! dropped, nothing closed: a dead path that only pings can find), and can delay each
//! direction by a fixed one-way latency while keeping the byte order. Plain std threads, so it keeps running while a test blocks.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

struct Shared {
    stop: AtomicBool,
    cut: AtomicBool,
    /// One-way delay in microseconds, applied to each chunk when it is read.
    latency_us: AtomicU64,
    /// Every socket of every live connection (both ends), to shut them down on cut/drop.
    sockets: Mutex<Vec<TcpStream>>,
    accepted: AtomicU64,
    /// Connections numbered up to this one (1-based, in accept order) forward nothing.
    frozen_upto: AtomicU64,
}

/// A proxy from `127.0.0.1:port` to `target`; its threads stop when it is dropped.
pub struct Proxy {
    pub port: u16,
    pub target: String,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `target`
    /// (`host:port`).
    pub fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            latency_us: AtomicU64::new(0),
            sockets: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            frozen_upto: AtomicU64::new(0),
        });
        let sh = shared.clone();
        let tgt = target.to_string();
        let acceptor = std::thread::spawn(move || accept_loop(listener, tgt, sh));
        Proxy {
            port,
            target: target.to_string(),
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `host:port` of the proxy's listening side.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Drops every current connection and closes new ones at once until `resume`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shutdown_all();
    }

    /// Lets new connections through again.
    pub fn resume(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Delays every chunk by `one_way` in each direction (RTT = 2 × `one_way`).
    pub fn set_latency(&self, one_way: Duration) {
        self.shared
            .latency_us
            .store(one_way.as_micros() as u64, Ordering::SeqCst);
    }

    /// Every current connection stays open but silently drops what it carries from now
    /// on, both ways; new connections work normally.
    pub fn freeze(&self) {
        self.shared.frozen_upto.store(
            self.shared.accepted.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }

    /// How many connections were accepted and forwarded so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    fn shutdown_all(&self) {
        let socks = std::mem::take(&mut *self.shared.sockets.lock().unwrap());
        for s in socks {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shutdown_all();
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, target: String, shared: Arc<Shared>) {
    let mut pumps: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if shared.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let _ = client.set_nonblocking(false);
                let Ok(server) =
                    TcpStream::connect_timeout(&target.parse().unwrap(), Duration::from_secs(2))
                else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut socks = shared.sockets.lock().unwrap();
                    socks.push(client.try_clone().unwrap());
                    socks.push(server.try_clone().unwrap());
                }
                let number = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                pumps.extend(pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    &shared,
                    number,
                ));
                pumps.extend(pump(server, client, &shared, number));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
        pumps.retain(|h| !h.is_finished());
    }
    for s in std::mem::take(&mut *shared.sockets.lock().unwrap()) {
        let _ = s.shutdown(Shutdown::Both);
    }
    for h in pumps {
        let _ = h.join();
    }
}

/// One direction: a reader thread stamps each chunk with its due time, a writer thread
/// writes chunks in order once due. When either side fails, both sockets are shut down.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    shared: &Arc<Shared>,
    number: u64,
) -> [JoinHandle<()>; 2] {
    type Queue = (Mutex<(VecDeque<(Instant, Vec<u8>)>, bool)>, Condvar);
    let queue: Arc<Queue> = Arc::new((Mutex::new((VecDeque::new(), false)), Condvar::new()));
    let (q1, sh1) = (queue.clone(), shared.clone());
    let from2 = from.try_clone().unwrap();
    let to2 = to.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) if sh1.frozen_upto.load(Ordering::SeqCst) >= number => {}
                Ok(n) => {
                    let delay = Duration::from_micros(sh1.latency_us.load(Ordering::SeqCst));
                    let mut q = q1.0.lock().unwrap();
                    q.0.push_back((Instant::now() + delay, buf[..n].to_vec()));
                    q1.1.notify_one();
                }
            }
        }
        q1.0.lock().unwrap().1 = true;
        q1.1.notify_one();
    });
    let q2 = queue;
    let writer = std::thread::spawn(move || {
        loop {
            let (due, chunk) = {
                let mut q = q2.0.lock().unwrap();
                loop {
                    if let Some(item) = q.0.pop_front() {
                        break item;
                    }
                    if q.1 {
                        // Reader finished and everything was written: close both ways.
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from2.shutdown(Shutdown::Both);
                        return;
                    }
                    q = q2.1.wait(q).unwrap();
                }
            };
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                let _ = to2.shutdown(Shutdown::Both);
                let _ = from2.shutdown(Shutdown::Both);
                return;
            }
        }
    });
    [reader, writer]
}
