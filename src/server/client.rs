//! Owns one client connection: the reader task that parses and applies ops (CONNECT, PUB,
//! SUB, ...), the outbound buffer that every publisher appends deliveries to, and the writer
//! task that flushes that buffer to the socket. Also the per-connection policies: verbose
//! and pedantic modes, ping/stale detection, slow-consumer closing, reserved subjects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tracing::{debug, error, info, trace, warn};

use super::auth::{self, Perms};
use super::info::{ConnectOpts, Info};
use super::tls::TlsState;
use super::Server;
use crate::proto::{encode, ClientOp, ParseError, Parser};
use crate::router::{Account, Delivered, FlushList, Message, Origin, Sink, Subscription};
use crate::subject;

/// Why a connection closed, with nats-server's `/connz` wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    ClientClosed,
    AuthTimeout,
    AuthFailure,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    WriteError,
    ReadError,
    ParseError,
    StaleConnection,
    ProtocolViolation,
    BadClientProtocolVersion,
    MaxConnectionsExceeded,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    NoRespondersRequiresHeaders,
    ServerShutdown,
    TlsHandshakeError,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "Client Closed",
            CloseReason::AuthTimeout => "Authentication Timeout",
            CloseReason::AuthFailure => "Authentication Failure",
            CloseReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            CloseReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            CloseReason::WriteError => "Write Error",
            CloseReason::ReadError => "Read Error",
            CloseReason::ParseError => "Parse Error",
            CloseReason::StaleConnection => "Stale Connection",
            CloseReason::ProtocolViolation => "Protocol Violation",
            CloseReason::BadClientProtocolVersion => "Bad Client Protocol Version",
            CloseReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            CloseReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            CloseReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            CloseReason::NoRespondersRequiresHeaders => "No Responders Requires Headers",
            CloseReason::ServerShutdown => "Server Shutdown",
            CloseReason::TlsHandshakeError => "TLS Handshake Failure",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutState {
    Open,
    /// Write what is buffered, then close.
    Closing,
    /// Close without writing what is buffered (slow consumer, write failure).
    Dropped,
}

struct Out {
    buf: Vec<u8>,
    wake_pending: bool,
    state: OutState,
    /// Delivery counters live under the lock every delivery takes anyway, instead of in
    /// atomics that would add two locked instructions per message.
    out_msgs: u64,
    out_bytes: u64,
}

/// A connection's message and byte counts at one moment.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
}

/// Message and byte counters (of closed connections, server-wide).
#[derive(Debug, Default)]
pub struct ConnStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
}

/// What `/connz` shows about a connection beyond its counters.
#[derive(Debug, Clone)]
pub struct ConnMeta {
    pub ip: String,
    pub port: u16,
    pub start: SystemTime,
    pub last_activity: SystemTime,
    pub stop: Option<SystemTime>,
    pub reason: Option<CloseReason>,
    pub rtt: Option<Duration>,
    pub name: String,
    pub lang: String,
    pub version: String,
    /// Who the client authenticated as, and its account (`/connz?auth=1`).
    pub user: Option<String>,
    pub account: String,
    /// Version, cipher suite and client certificates of a TLS connection.
    pub tls: Option<TlsState>,
    /// The verified client certificate's subject as nats-server's `verify_and_map`
    /// matches it (Go's `Subject.ToRDNSequence().String()`, e.g. `CN=alice,OU=Edge,O=Acme`);
    /// the SANs and all attributes are in `tls`.
    pub tls_subject: Option<String>,
}

/// The shared half of a connection: what publishers on other tasks and monitoring see.
pub struct Client {
    pub cid: u64,
    out: Mutex<Out>,
    wake: Notify,
    closed: Notify,
    max_pending: usize,
    headers: AtomicBool,
    pub stats: ConnStats,
    pub meta: Mutex<ConnMeta>,
    subs: Mutex<HashMap<Bytes, Arc<Subscription>>>,
    /// The account the client was bound to at CONNECT.
    account: Mutex<Arc<Account>>,
    /// Permissions of the authenticated user, if it has any.
    perms: OnceLock<Arc<Perms>>,
    server: Arc<Server>,
}

impl Client {
    /// Appends server-originated bytes (PONG, +OK, -ERR, INFO) to the outbound buffer.
    /// Returns true if the writer needs waking.
    fn send(&self, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut out = self.out.lock();
        if out.state != OutState::Open {
            return false;
        }
        f(&mut out.buf);
        !std::mem::replace(&mut out.wake_pending, true)
    }

    /// Sends and wakes the writer at once (for ops outside a read batch).
    pub fn send_now(&self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.send(f) {
            self.wake.notify_one();
        }
    }

    /// Starts closing: buffered bytes are flushed (or dropped) and the reader stops.
    pub fn close(&self, reason: CloseReason, flush: bool) {
        {
            let mut out = self.out.lock();
            if out.state != OutState::Open {
                return;
            }
            out.state = if flush {
                OutState::Closing
            } else {
                OutState::Dropped
            };
            if !flush {
                out.buf = Vec::new();
            }
        }
        {
            let mut meta = self.meta.lock();
            meta.reason.get_or_insert(reason);
        }
        self.wake.notify_one();
        self.closed.notify_one();
    }

    pub fn is_open(&self) -> bool {
        self.out.lock().state == OutState::Open
    }

    pub fn pending_bytes(&self) -> usize {
        self.out.lock().buf.len()
    }

    /// Messages and bytes in (published) and out (delivered) so far.
    pub fn counts(&self) -> Counts {
        let out = self.out.lock();
        Counts {
            in_msgs: self.stats.in_msgs.load(Ordering::Relaxed),
            in_bytes: self.stats.in_bytes.load(Ordering::Relaxed),
            out_msgs: out.out_msgs,
            out_bytes: out.out_bytes,
        }
    }

    pub fn subscription_count(&self) -> usize {
        self.subs.lock().len()
    }

    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.subs.lock().values().cloned().collect()
    }

    /// Sends an INFO with `ldm: true` so clients move to another server (lame duck mode).
    pub fn send_lame_duck_info(&self, info: &Info) {
        let mut info = info.clone();
        info.ldm = true;
        info.client_id = self.cid;
        if let Ok(json) = serde_json::to_vec(&info) {
            self.send_now(|b| encode::info(b, &json));
        }
    }
}

impl Sink for Client {
    fn cid(&self) -> u64 {
        self.cid
    }

    fn deliver(&self, sid: &[u8], msg: &Message<'_>) -> Delivered {
        if let Some(p) = self.perms.get() {
            if p.delivery_denied(msg.subject) {
                return Delivered::Refused;
            }
            if let (Some(reply), true) = (msg.reply, p.tracks_replies()) {
                p.note_reply(reply);
            }
        }
        let headers = if self.headers.load(Ordering::Relaxed) {
            msg.headers
        } else {
            None
        };
        let mut out = self.out.lock();
        if out.state != OutState::Open {
            return Delivered::Closed;
        }
        encode::msg(
            &mut out.buf,
            msg.subject,
            sid,
            msg.reply,
            headers,
            msg.payload,
        );
        if out.buf.len() > self.max_pending {
            drop(out);
            self.server
                .stats
                .slow_consumers
                .fetch_add(1, Ordering::Relaxed);
            warn!(
                cid = self.cid,
                "Slow Consumer Detected: MaxPending of {} Exceeded", self.max_pending
            );
            self.close(CloseReason::SlowConsumerPendingBytes, false);
            return Delivered::Closed;
        }
        let size = (msg.payload.len() + headers.map_or(0, <[u8]>::len)) as u64;
        out.out_msgs += 1;
        out.out_bytes += size;
        if std::mem::replace(&mut out.wake_pending, true) {
            Delivered::Queued
        } else {
            Delivered::QueuedWake
        }
    }

    fn wake(&self) {
        self.wake.notify_one();
    }

    fn forget(&self, sid: &[u8]) {
        self.subs.lock().remove(sid);
    }
}

/// The reader's own view of the connection: options from CONNECT and ping state.
struct Session {
    opts: ConnectOpts,
    /// Published messages and bytes of the current read batch, added to the shared
    /// counters once per batch.
    in_msgs: u64,
    in_bytes: u64,
    account: Arc<Account>,
    perms: Option<Arc<Perms>>,
    /// The nonce sent in INFO, signed by nkey users.
    nonce: String,
    connected: bool,
    pings_out: u32,
    last_in: Instant,
    last_ping_in: Option<Instant>,
    ping_sent_at: Option<Instant>,
    rtt_measured: bool,
}

/// What the reader should do after an op.
enum Flow {
    Continue,
    /// Send `-ERR` (if any) and close.
    Close(Option<&'static str>, CloseReason),
}

/// Runs one client connection to its end. nats-server's order: INFO (plaintext, also
/// when TLS is required), the connection limit, then the TLS upgrade if configured, then
/// the protocol on the (possibly TLS) stream. INFO is not repeated after the upgrade.
pub async fn serve(server: Arc<Server>, mut tcp: TcpStream, peer: std::net::SocketAddr) {
    let client = Client::new(&server, peer);
    let cid = client.cid;
    let mut info = server.info();
    info.client_id = cid;
    info.client_ip = peer.ip().to_string();
    if server.auth.needs_nonce() {
        info.nonce = auth::new_nonce();
    }
    let nonce = info.nonce.clone();
    let info = serde_json::to_vec(&info).unwrap_or_default();
    debug!(cid, %peer, "Client connection created");

    let Some(tls) = &server.tls else {
        client.send_now(|b| encode::info(b, &info));
        if !server.register(&client) {
            reject_max_connections(&client, peer);
        }
        run(&server, &client, tcp, nonce).await;
        return finish(&server, &client, peer);
    };

    // TLS: the writer task belongs to the TLS stream, which does not exist yet, so the
    // plaintext part is written here directly.
    let mut plain = Vec::with_capacity(info.len() + 64);
    encode::info(&mut plain, &info);
    let registered = server.register(&client);
    if !registered {
        reject_max_connections(&client, peer);
        encode::err(&mut plain, "maximum connections exceeded");
    }
    let written = tokio::time::timeout(server.config.write_deadline, tcp.write_all(&plain)).await;
    if !matches!(written, Ok(Ok(()))) {
        client.close(CloseReason::WriteError, false);
    }
    if !client.is_open() {
        return finish(&server, &client, peer);
    }
    debug!(cid, %peer, "Starting TLS client connection handshake");
    let handshake = tokio::select! {
        res = tls.accept_client(tcp) => res,
        // Shutdown or lame duck closing this connection mid-handshake.
        _ = client.closed.notified() => return finish(&server, &client, peer),
    };
    match handshake {
        Ok(stream) => {
            let state = TlsState::of(&stream);
            debug!(cid, %peer, "TLS handshake complete");
            debug!(cid, %peer, "TLS version {}, cipher suite {}", state.version, state.cipher_suite);
            {
                let mut meta = client.meta.lock();
                meta.tls_subject = state.peer_certs.first().map(|c| c.rdn_subject.clone());
                meta.tls = Some(state);
            }
            run(&server, &client, stream, nonce).await;
        }
        Err(e) => {
            error!(cid, %peer, "TLS handshake error: {e}");
            client.close(CloseReason::TlsHandshakeError, false);
        }
    }
    finish(&server, &client, peer)
}

fn reject_max_connections(client: &Client, peer: std::net::SocketAddr) {
    warn!(cid = client.cid, %peer, "Maximum connections exceeded");
    client.send_now(|b| encode::err(b, "maximum connections exceeded"));
    client.close(CloseReason::MaxConnectionsExceeded, true);
}

impl Client {
    fn new(server: &Arc<Server>, peer: std::net::SocketAddr) -> Arc<Client> {
        let now = SystemTime::now();
        Arc::new(Client {
            cid: server.next_cid(),
            out: Mutex::new(Out {
                buf: Vec::with_capacity(1024),
                wake_pending: false,
                state: OutState::Open,
                out_msgs: 0,
                out_bytes: 0,
            }),
            wake: Notify::new(),
            closed: Notify::new(),
            max_pending: server.config.max_pending as usize,
            headers: AtomicBool::new(false),
            stats: ConnStats::default(),
            meta: Mutex::new(ConnMeta {
                ip: peer.ip().to_string(),
                port: peer.port(),
                start: now,
                last_activity: now,
                stop: None,
                reason: None,
                rtt: None,
                name: String::new(),
                lang: String::new(),
                version: String::new(),
                tls: None,
                tls_subject: None,
                user: None,
                account: server.account.name.clone(),
            }),
            subs: Mutex::new(HashMap::new()),
            account: Mutex::new(server.account.clone()),
            perms: OnceLock::new(),
            server: server.clone(),
        })
    }
}

/// The protocol on an established stream: writer task, reader loop, then teardown of the
/// subscriptions and a final flush. Skips reading when the connection is already closing
/// (e.g. over the connection limit: INFO and -ERR are flushed, then it closes).
async fn run<S>(server: &Arc<Server>, client: &Arc<Client>, stream: S, nonce: String)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    let writer_task = tokio::spawn(write_loop(
        client.clone(),
        writer,
        server.config.write_deadline,
    ));
    if client.is_open() {
        read_loop(server, client, reader, nonce).await;
    }
    // Subscriptions go first so no publisher delivers into a dead buffer.
    let subs: Vec<Arc<Subscription>> = client.subs.lock().drain().map(|(_, s)| s).collect();
    let account = client.account.lock().clone();
    for s in &subs {
        account.unsubscribe(s);
    }
    client.close(CloseReason::ClientClosed, true);
    let _ = writer_task.await;
}

/// Records the end of a connection (registered or not) for `/connz?state=closed`.
fn finish(server: &Server, client: &Arc<Client>, peer: std::net::SocketAddr) {
    client.close(CloseReason::ClientClosed, false);
    client.meta.lock().stop = Some(SystemTime::now());
    server.unregister(client);
    let reason = client.meta.lock().reason.map_or("", CloseReason::as_str);
    debug!(cid = client.cid, %peer, reason, "Client connection closed");
}

async fn read_loop<R: AsyncRead + Unpin>(
    server: &Arc<Server>,
    client: &Arc<Client>,
    mut reader: R,
    nonce: String,
) {
    let cfg = &server.config;
    let mut parser = Parser::new(cfg.max_control_line as usize, cfg.max_payload as usize);
    let mut buf = BytesMut::with_capacity(32 * 1024);
    let mut flush = FlushList::default();
    let mut session = Session {
        opts: ConnectOpts::default(),
        in_msgs: 0,
        in_bytes: 0,
        account: server.account.clone(),
        perms: None,
        nonce,
        connected: false,
        pings_out: 0,
        last_in: Instant::now(),
        last_ping_in: None,
        ping_sent_at: None,
        rtt_measured: false,
    };
    let auth_deadline = server
        .auth_required()
        .then(|| tokio::time::Instant::now() + cfg.auth_timeout);
    // No ping timer until CONNECT; then the first one comes early (2 s, as nats-server).
    let mut next_ping: Option<tokio::time::Instant> = None;
    let client_sink: Arc<dyn Sink> = client.clone();

    loop {
        let ping_at = next_ping.unwrap_or_else(far_future);
        let auth_at = match (auth_deadline, session.connected) {
            (Some(d), false) => d,
            _ => far_future(),
        };
        tokio::select! {
            res = reader.read_buf(&mut buf) => {
                match res {
                    Ok(0) => {
                        client.close(CloseReason::ClientClosed, true);
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        debug!(cid = client.cid, error = %e, "read error");
                        client.close(CloseReason::ReadError, false);
                        return;
                    }
                }
                session.last_in = Instant::now();
                let flow = process_buffer(server, client, &client_sink, &mut parser, &mut buf, &mut session, &mut flush);
                flush.wake_all();
                if session.connected && next_ping.is_none() {
                    next_ping = Some(tokio::time::Instant::now() + first_ping_delay(cfg.ping_interval));
                }
                if let Flow::Close(err, reason) = flow {
                    if let Some(text) = err {
                        client.send_now(|b| encode::err(b, text));
                    }
                    client.close(reason, true);
                    return;
                }
                if buf.capacity() > 1024 * 1024 && buf.is_empty() {
                    // A burst of large messages grew the buffer; give the memory back.
                    buf = BytesMut::with_capacity(32 * 1024);
                }
            }
            _ = tokio::time::sleep_until(ping_at) => {
                if let Some(reason) = ping_timer(server, client, &mut session) {
                    client.send_now(|b| encode::err(b, "Stale Connection"));
                    client.close(reason, true);
                    return;
                }
                next_ping = Some(tokio::time::Instant::now() + cfg.ping_interval);
            }
            _ = tokio::time::sleep_until(auth_at) => {
                client.send_now(|b| encode::err(b, "Authentication Timeout"));
                client.close(CloseReason::AuthTimeout, true);
                return;
            }
            _ = client.closed.notified() => {
                return;
            }
        }
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86400 * 365)
}

/// nats-server sends its first PING to a client 2 s after CONNECT (plus up to 20% jitter),
/// or at the ping interval if that is shorter.
fn first_ping_delay(interval: Duration) -> Duration {
    use rand::Rng;
    let base = interval.min(Duration::from_secs(2));
    let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 5);
    base + Duration::from_millis(jitter)
}

/// The ping timer fired: returns a close reason if the client is stale.
fn ping_timer(server: &Server, client: &Client, s: &mut Session) -> Option<CloseReason> {
    let interval = server.config.ping_interval;
    let now = Instant::now();
    // Like nats-server: skip the PING when the client was active within the interval,
    // unless we still need a round-trip time measurement.
    let active = now.duration_since(s.last_in) < interval
        || s.last_ping_in
            .is_some_and(|t| now.duration_since(t) < interval);
    if active && s.rtt_measured {
        return None;
    }
    if s.pings_out + 1 > server.config.ping_max {
        debug!(cid = client.cid, "Stale Client Connection - Closing");
        return Some(CloseReason::StaleConnection);
    }
    s.pings_out += 1;
    s.ping_sent_at = Some(now);
    client.send_now(|b| b.extend_from_slice(encode::PING));
    None
}

fn process_buffer(
    server: &Arc<Server>,
    client: &Arc<Client>,
    sink: &Arc<dyn Sink>,
    parser: &mut Parser,
    buf: &mut BytesMut,
    s: &mut Session,
    flush: &mut FlushList,
) -> Flow {
    loop {
        let op = match parser.parse(buf) {
            Ok(Some(op)) => op,
            Ok(None) => {
                // Replies to this client (+OK, -ERR, PONG) are flushed with the batch.
                flush.push(sink);
                add_in_counts(client, s);
                return Flow::Continue;
            }
            Err(e) => {
                add_in_counts(client, s);
                return parse_failure(client, e);
            }
        };
        trace!(cid = client.cid, op = ?op_name(&op), "<<-");
        // Authentication comes before anything else (DESIGN invariant 6): with auth
        // required the first op must be CONNECT, unless a no_auth_user stands in.
        if !s.connected
            && server.auth_required()
            && !server.auth.has_no_auth_user()
            && !matches!(op, ClientOp::Connect(_))
        {
            return Flow::Close(Some("Authorization Violation"), CloseReason::AuthFailure);
        }
        let flow = match op {
            ClientOp::Connect(json) => connect(server, client, s, &json),
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => publish(client, s, flush, &subject, reply.as_deref(), None, &payload),
            ClientOp::HPub {
                subject,
                reply,
                headers,
                payload,
            } => {
                if !s.opts.headers {
                    // nats-server closes without -ERR when headers were not negotiated.
                    debug!(cid = client.cid, "HPUB without headers support");
                    Flow::Close(None, CloseReason::ProtocolViolation)
                } else {
                    publish(
                        client,
                        s,
                        flush,
                        &subject,
                        reply.as_deref(),
                        Some(&headers),
                        &payload,
                    )
                }
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => {
                subscribe(server, client, sink, s, subject, queue, sid);
                Flow::Continue
            }
            ClientOp::Unsub { sid, max } => {
                unsubscribe(s, client, &sid, max);
                ok_if_verbose(client, s);
                Flow::Continue
            }
            ClientOp::Ping => {
                s.last_ping_in = Some(Instant::now());
                client.send(|b| b.extend_from_slice(encode::PONG));
                Flow::Continue
            }
            ClientOp::Pong => {
                s.pings_out = 0;
                if let Some(sent) = s.ping_sent_at.take() {
                    client.meta.lock().rtt = Some(sent.elapsed());
                    s.rtt_measured = true;
                }
                Flow::Continue
            }
            ClientOp::Ignored => Flow::Continue,
        };
        if !matches!(flow, Flow::Continue) {
            add_in_counts(client, s);
            return flow;
        }
    }
}

fn add_in_counts(client: &Client, s: &mut Session) {
    if s.in_msgs > 0 {
        client
            .stats
            .in_msgs
            .fetch_add(std::mem::take(&mut s.in_msgs), Ordering::Relaxed);
        client
            .stats
            .in_bytes
            .fetch_add(std::mem::take(&mut s.in_bytes), Ordering::Relaxed);
    }
}

fn op_name(op: &ClientOp) -> &'static str {
    match op {
        ClientOp::Connect(_) => "CONNECT",
        ClientOp::Pub { .. } => "PUB",
        ClientOp::HPub { .. } => "HPUB",
        ClientOp::Sub { .. } => "SUB",
        ClientOp::Unsub { .. } => "UNSUB",
        ClientOp::Ping => "PING",
        ClientOp::Pong => "PONG",
        ClientOp::Ignored => "INFO/+OK",
    }
}

fn parse_failure(client: &Client, e: ParseError) -> Flow {
    let reason = match e {
        ParseError::MaxControlLine { .. } => CloseReason::MaxControlLineExceeded,
        ParseError::MaxPayload { .. } => CloseReason::MaxPayloadExceeded,
        ParseError::BadArgs { .. } | ParseError::PeerError(_) => CloseReason::ProtocolViolation,
        _ => CloseReason::ParseError,
    };
    let meta = client.meta.lock();
    info!(cid = client.cid, peer = %format!("{}:{}", meta.ip, meta.port), "Client parser ERROR: {e}");
    Flow::Close(e.err_text(), reason)
}

fn ok_if_verbose(client: &Client, s: &Session) {
    if s.opts.verbose {
        client.send(|b| b.extend_from_slice(encode::OK));
    }
}

fn err(client: &Client, text: &str) {
    client.send(|b| encode::err(b, text));
}

fn connect(server: &Server, client: &Client, s: &mut Session, json: &[u8]) -> Flow {
    let opts = match ConnectOpts::from_json(json) {
        Ok(o) => o,
        Err(e) => {
            debug!(cid = client.cid, error = %e, "CONNECT with invalid JSON");
            return Flow::Close(None, CloseReason::ProtocolViolation);
        }
    };
    trace!(cid = client.cid, opts = %opts.redacted(), "CONNECT");
    if !(0..=1).contains(&opts.protocol) {
        return Flow::Close(
            Some("invalid client protocol"),
            CloseReason::BadClientProtocolVersion,
        );
    }
    if opts.no_responders && !opts.headers {
        return Flow::Close(
            Some("no responders requires headers support"),
            CloseReason::NoRespondersRequiresHeaders,
        );
    }
    // verify_and_map: the verified client certificate names the user, in nats-server's
    // order: e-mail addresses, URIs, DNS names, then the subject.
    let cert_names = server
        .config
        .tls
        .as_ref()
        .filter(|t| t.verify_and_map)
        .map(|_| {
            let meta = client.meta.lock();
            let leaf = meta.tls.as_ref().and_then(|t| t.peer_certs.first());
            leaf.map(|c| {
                let mut names: Vec<String> = Vec::new();
                names.extend(c.emails.iter().cloned());
                names.extend(c.uris.iter().cloned());
                names.extend(c.dns_names.iter().cloned());
                names.push(c.rdn_subject.clone());
                names
            })
            .unwrap_or_default()
        });
    let identity = match server
        .auth
        .authenticate(&opts, &s.nonce, cert_names.as_deref())
    {
        Ok(id) => id,
        Err(e) => {
            // The reason is logged for the operator; the client only learns it failed.
            let meta = client.meta.lock();
            warn!(cid = client.cid, peer = %format!("{}:{}", meta.ip, meta.port), "authentication error: {e}");
            return Flow::Close(Some("Authorization Violation"), CloseReason::AuthFailure);
        }
    };
    if s.connected && !Arc::ptr_eq(&identity.account, &s.account) && client.subscription_count() > 0
    {
        // A second CONNECT may not move existing subscriptions to another account.
        return Flow::Close(Some("Authorization Violation"), CloseReason::AuthFailure);
    }
    client.headers.store(opts.headers, Ordering::Relaxed);
    *client.account.lock() = identity.account.clone();
    if let Some(p) = &identity.perms {
        let _ = client.perms.set(p.clone());
    }
    {
        let mut meta = client.meta.lock();
        meta.name = opts.name.clone();
        meta.lang = opts.lang.clone();
        meta.version = opts.version.clone();
        meta.user = identity.user.clone();
        meta.account = identity.account.name.clone();
    }
    s.account = identity.account;
    s.perms = identity.perms;
    s.opts = opts;
    s.connected = true;
    ok_if_verbose(client, s);
    Flow::Continue
}

/// A CLIENT may not use reply subjects reserved for service imports, JetStream acks and
/// gateway routing.
fn is_reserved_reply(reply: &[u8]) -> bool {
    reply.starts_with(b"_R_.") || reply.starts_with(b"$JS.ACK.") || reply.starts_with(b"_GR_.")
}

fn publish(
    client: &Arc<Client>,
    s: &mut Session,
    flush: &mut FlushList,
    subj: &[u8],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    payload: &[u8],
) -> Flow {
    let size = (payload.len() + headers.map_or(0, <[u8]>::len)) as u64;
    s.in_msgs += 1;
    s.in_bytes += size;
    if s.opts.pedantic && !subject::is_valid_publish_subject(subj) {
        err(client, "Invalid Publish Subject");
    }
    if subj.starts_with(b"_GR_.") {
        err(
            client,
            &format!(
                "Permissions Violation for Publish to \"{}\"",
                String::from_utf8_lossy(subj)
            ),
        );
        return Flow::Continue;
    }
    if let Some(p) = &s.perms {
        if !p.may_publish(subj) {
            let text = format!(
                "Permissions Violation for Publish to \"{}\"",
                String::from_utf8_lossy(subj)
            );
            debug!(cid = client.cid, "{text}");
            err(client, &text);
            return Flow::Continue;
        }
    }
    if let Some(r) = reply {
        if is_reserved_reply(r) {
            err(
                client,
                &format!(
                    "Permissions Violation for Publish with Reply of \"{}\"",
                    String::from_utf8_lossy(r)
                ),
            );
            return Flow::Continue;
        }
    }
    ok_if_verbose(client, s);
    let msg = Message {
        subject: subj,
        via: None,
        reply,
        headers,
        payload,
    };
    let origin = Origin::client(client.cid, s.opts.echo);
    let delivered = s.account.publish(&msg, origin, flush);
    if delivered == 0 && s.opts.no_responders {
        if let Some(r) = reply {
            no_responders(&s.account, client, r, flush);
        }
    }
    Flow::Continue
}

/// Nobody received a request: tell the requester with a 503 status on its own reply
/// subscription, as nats-server does for clients that asked for it.
fn no_responders(account: &Account, client: &Arc<Client>, reply: &[u8], flush: &mut FlushList) {
    let matches = account.matches(reply);
    let Some(sub) = matches
        .plain
        .iter()
        .find(|sub| sub.sink.cid() == client.cid)
    else {
        return;
    };
    let status = Message {
        subject: reply,
        via: None,
        reply: None,
        headers: Some(encode::NO_RESPONDERS_HDR),
        payload: b"",
    };
    if let Delivered::QueuedWake = sub.sink.deliver(&sub.sid, &status) {
        flush.push(&sub.sink);
    }
}

fn subscribe(
    server: &Server,
    client: &Arc<Client>,
    sink: &Arc<dyn Sink>,
    s: &Session,
    subj: Bytes,
    queue: Option<Bytes>,
    sid: Bytes,
) {
    if let Some(p) = &s.perms {
        if !p.may_subscribe(&subj, queue.as_deref()) {
            let mut text = format!(
                "Permissions Violation for Subscription to \"{}\"",
                String::from_utf8_lossy(&subj)
            );
            if let Some(q) = &queue {
                text += &format!(" using queue \"{}\"", String::from_utf8_lossy(q));
            }
            debug!(cid = client.cid, "{text}");
            err(client, &text);
            return;
        }
    }
    let max = server.config.max_subscriptions as usize;
    let mut subs = client.subs.lock();
    if max > 0 && subs.len() >= max {
        drop(subs);
        warn!(
            cid = client.cid,
            "Maximum Subscriptions Exceeded (max={max})"
        );
        err(client, "maximum subscriptions exceeded");
        return;
    }
    if !subject::is_valid_subject(&subj)
        || queue
            .as_ref()
            .is_some_and(|q| !subject::is_valid_queue_name(q))
    {
        drop(subs);
        err(client, "Invalid Subject");
        return;
    }
    if subs.contains_key(&sid) {
        // nats-server keeps the existing subscription for a reused sid.
        drop(subs);
        ok_if_verbose(client, s);
        return;
    }
    let sub = Arc::new(Subscription::new(sink.clone(), subj, queue, sid.clone()));
    subs.insert(sid, sub.clone());
    drop(subs);
    s.account.subscribe(sub);
    ok_if_verbose(client, s);
}

fn unsubscribe(s: &Session, client: &Client, sid: &[u8], max: Option<u64>) {
    let sub = client.subs.lock().get(sid).cloned();
    let Some(sub) = sub else { return };
    match max {
        Some(n) if n > 0 => {
            if s.account.set_max(&sub, n) {
                client.subs.lock().remove(sid);
            }
        }
        _ => {
            s.account.unsubscribe(&sub);
            client.subs.lock().remove(sid);
        }
    }
}

/// Flushes the outbound buffer whenever woken. Publishers append and wake; this task owns
/// the socket's write half, so a slow socket never blocks a publisher.
async fn write_loop<W: AsyncWrite + Unpin>(client: Arc<Client>, mut w: W, deadline: Duration) {
    let mut batch: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let state = {
            let mut out = client.out.lock();
            std::mem::swap(&mut out.buf, &mut batch);
            out.wake_pending = false;
            out.state
        };
        if state == OutState::Dropped {
            break;
        }
        if batch.is_empty() {
            if state == OutState::Closing {
                break;
            }
            client.wake.notified().await;
            continue;
        }
        match tokio::time::timeout(deadline, w.write_all(&batch)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(cid = client.cid, error = %e, "write error");
                client.close(CloseReason::WriteError, false);
                break;
            }
            Err(_) => {
                client
                    .server
                    .stats
                    .slow_consumers
                    .fetch_add(1, Ordering::Relaxed);
                warn!(
                    cid = client.cid,
                    "Slow Consumer Detected: WriteDeadline of {:?} exceeded", deadline
                );
                client.close(CloseReason::SlowConsumerWriteDeadline, false);
                break;
            }
        }
        batch.clear();
        if batch.capacity() > 1024 * 1024 {
            // Keep memory bounded after a burst (DESIGN invariant 4).
            batch = Vec::with_capacity(64 * 1024);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), w.shutdown()).await;
}
