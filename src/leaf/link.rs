//! One leaf connection to the hub, from dial to close: the handshake in nats-server 2.9's
//! order (hub INFO in plaintext, TLS if the URL, the remote or the hub asks for it,
//! CONNECT with the signed nonce, the hub's `connect_info` INFO with the link's
//! permissions), then the interest exchange and traffic.
//!
//! The `Link` is the router's `Sink` for the hub's interest: every `LS+` from the hub is a
//! subscription in the bound account owned by the link, and local publishes that match
//! reach the hub as one `LMSG`/`HMSG` naming the queue groups it should serve. It is also
//! the account's `InterestWatcher`: local interest changes go up as `LS+`/`LS-`.
//! Messages from the hub are published into the account with the link as origin, so they
//! never go back up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};

use super::{creds, Remote};
use crate::config::auth::{Permissions, SubjectPerms};
use crate::config::leaf::LeafUrl;
use crate::proto::encode;
use crate::proto::leaf::{self as wire, LeafOp, LeafParser};
use crate::router::{Delivered, FlushList, InterestWatcher, Message, Origin, Sink, Subscription};
use crate::server::auth::Perms;
use crate::server::info::NATS_VERSION;
use crate::server::Server;
use crate::subject;

/// Subjects that never cross a leaf link between an edge and an application account in
/// the cloud: JetStream's API, KV and object store (nats-server adds the same deny on both
/// ends when JetStream is not shared over the link), and edgeleaf's own operator requests
/// (`$EDGELEAF.>`: skipping a message the cloud refused is for the device's operator).
const JS_DENY: [&str; 4] = ["$JS.API.>", "$KV.>", "$OBJ.>", "$EDGELEAF.>"];

/// Leaf control lines carry a subject, a reply and queue names; nats-server does not
/// limit them, but a bound keeps a broken hub from growing our buffer without end.
const MAX_CONTROL_LINE: usize = 64 * 1024;

/// How one connection attempt ended.
pub enum Outcome {
    /// It never got to a working link (dial, TLS, handshake or authentication failed).
    Failed(String),
    /// A working link closed. `long_delay`: the hub reported a loop or a cluster name
    /// clash, which a quick retry would only repeat.
    Closed { reason: String, long_delay: bool },
}

/// The hub's INFO, the fields a leaf uses.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HubInfo {
    server_id: String,
    server_name: String,
    cluster: Option<String>,
    nonce: String,
    tls_required: bool,
    headers: bool,
    max_payload: u64,
    client_id: u64,
    leafnode_urls: Option<Vec<String>>,
    connect_info: bool,
    remote_account: String,
    import: Option<HubPerms>,
    export: Option<HubPerms>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HubPerms {
    allow: Option<Vec<String>>,
    deny: Vec<String>,
}

/// What `/leafz` shows about a link.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub cid: u64,
    pub url: String,
    pub ip: String,
    pub port: u16,
    pub hub_name: String,
    pub hub_id: String,
    pub remote_account: String,
    pub account: String,
    pub start: SystemTime,
    pub rtt: Option<Duration>,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    /// The hub's interest as it sent it (`subject` or `subject queue`).
    pub subscriptions: Vec<String>,
}

struct Out {
    buf: Vec<u8>,
    wake_pending: bool,
    open: bool,
    out_msgs: u64,
    out_bytes: u64,
}

/// The permissions of the link: what may go up (the hub user's publish permissions,
/// our `deny_exports`, JetStream's deny) and what may come down and be asked for (its
/// subscribe permissions, our `deny_imports`, JetStream's deny).
fn link_perms(import: Option<HubPerms>, export: Option<HubPerms>, remote: &Remote) -> Perms {
    let side = |hub: Option<HubPerms>, ours: &[String]| {
        let hub = hub.unwrap_or_default();
        let mut deny = hub.deny;
        deny.extend(ours.iter().cloned());
        deny.extend(JS_DENY.iter().map(|s| s.to_string()));
        SubjectPerms {
            allow: hub.allow,
            deny,
        }
    };
    Perms::compile(&Permissions {
        publish: Some(side(export, &remote.cfg.deny_exports)),
        subscribe: Some(side(import, &remote.cfg.deny_imports)),
        allow_responses: None,
    })
}

/// One connection to the hub (see the module comment).
pub struct Link {
    pub cid: u64,
    remote: Arc<Remote>,
    out: Mutex<Out>,
    wake: Notify,
    closed: Notify,
    close_reason: Mutex<Option<(String, bool)>>,
    max_pending: usize,
    /// The hub's max_payload: bigger messages would make it close the link.
    hub_max_payload: usize,
    hub_headers: bool,
    perms: OnceLock<Perms>,
    /// The hub's interest, keyed as the hub keys it: `subject` or `subject queue`.
    hub_subs: Mutex<HashMap<Bytes, Arc<Subscription>>>,
    in_msgs: AtomicU64,
    in_bytes: AtomicU64,
    meta: Mutex<Meta>,
}

struct Meta {
    url: String,
    ip: String,
    port: u16,
    hub_name: String,
    hub_id: String,
    remote_account: String,
    start: SystemTime,
    rtt: Option<Duration>,
}

impl Link {
    /// Appends protocol bytes; wakes the writer if it is not already due.
    fn send(&self, f: impl FnOnce(&mut Vec<u8>)) {
        let wake = {
            let mut out = self.out.lock();
            if !out.open {
                return;
            }
            f(&mut out.buf);
            !std::mem::replace(&mut out.wake_pending, true)
        };
        if wake {
            self.wake.notify_one();
        }
    }

    /// Starts closing; the first reason given is the one logged.
    fn close(&self, reason: impl Into<String>, long_delay: bool) {
        self.close_reason
            .lock()
            .get_or_insert_with(|| (reason.into(), long_delay));
        self.out.lock().open = false;
        self.wake.notify_one();
        self.closed.notify_one();
    }

    /// Sends one message to the hub whatever its interest (an uplink publishing into a
    /// cloud stream, or asking the cloud's JetStream API). Err says why it cannot go.
    pub fn send_direct(
        &self,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), String> {
        if let Some(p) = self.perms.get() {
            if !p.may_publish(subject) {
                return Err(format!(
                    "publishing on {:?} is not allowed on the leaf link (the hub user's permissions or deny_exports)",
                    String::from_utf8_lossy(subject)
                ));
            }
        }
        if headers.is_some() && !self.hub_headers {
            return Err("the hub does not support headers".into());
        }
        let size = payload.len() + headers.map_or(0, <[u8]>::len);
        if size > self.hub_max_payload {
            return Err(format!(
                "message of {size} bytes is larger than the hub's max_payload of {}",
                self.hub_max_payload
            ));
        }
        let wake = {
            let mut out = self.out.lock();
            if !out.open {
                return Err("the leaf link is closed".into());
            }
            wire::msg(&mut out.buf, subject, reply, &[], headers, payload);
            out.out_msgs += 1;
            out.out_bytes += size as u64;
            !std::mem::replace(&mut out.wake_pending, true)
        };
        if wake {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Bytes buffered for the hub and not yet written (uplinks pace themselves on it).
    pub fn pending_bytes(&self) -> usize {
        self.out.lock().buf.len()
    }

    /// Server shutdown: flush what is buffered and close.
    pub fn shut_down(&self) {
        self.close("Server Shutdown", false);
    }

    fn is_open(&self) -> bool {
        self.out.lock().open
    }

    /// The link is closing or closed (the remote may not have noticed yet).
    pub fn is_closed(&self) -> bool {
        !self.is_open()
    }

    pub fn view(&self) -> LinkView {
        let meta = self.meta.lock();
        let (out_msgs, out_bytes) = {
            let o = self.out.lock();
            (o.out_msgs, o.out_bytes)
        };
        let mut subscriptions: Vec<String> = self
            .hub_subs
            .lock()
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        subscriptions.sort();
        LinkView {
            cid: self.cid,
            url: meta.url.clone(),
            ip: meta.ip.clone(),
            port: meta.port,
            hub_name: meta.hub_name.clone(),
            hub_id: meta.hub_id.clone(),
            remote_account: meta.remote_account.clone(),
            account: self.remote.account.name.clone(),
            start: meta.start,
            rtt: meta.rtt,
            in_msgs: self.in_msgs.load(Ordering::Relaxed),
            in_bytes: self.in_bytes.load(Ordering::Relaxed),
            out_msgs,
            out_bytes,
            subscriptions,
        }
    }

    /// May local interest on `subject` be advertised to the hub?
    fn may_advertise(&self, subject: &[u8]) -> bool {
        self.perms
            .get()
            .is_none_or(|p| p.may_subscribe(subject, None))
    }

    fn send_interest(&self, buf: &mut Vec<u8>, subject: &[u8], queue: Option<&[u8]>, n: u32) {
        if !self.may_advertise(subject) {
            return;
        }
        match (queue, n) {
            (None, 0) => wire::unsub(buf, subject, None),
            (None, 1) => wire::sub(buf, subject, None),
            // A second local subscriber on the same subject changes nothing upstream.
            (None, _) => {}
            (Some(q), 0) => wire::unsub(buf, subject, Some(q)),
            // Queue weights follow the member count, as nats-server sends them.
            (Some(q), n) => wire::sub(buf, subject, Some((q, n))),
        }
    }
}

impl Sink for Link {
    fn cid(&self) -> u64 {
        self.cid
    }

    fn deliver(&self, _: &[u8], msg: &Message<'_>) -> Delivered {
        self.deliver_remote(msg, &[])
    }

    fn wake(&self) {
        self.wake.notify_one();
    }

    fn forget(&self, _: &[u8]) {}

    fn is_remote(&self) -> bool {
        true
    }

    fn deliver_remote(&self, msg: &Message<'_>, queues: &[&[u8]]) -> Delivered {
        if let Some(p) = self.perms.get() {
            if !p.may_publish(msg.subject) {
                return Delivered::Refused;
            }
        }
        if msg.via.is_none() && self.remote.is_uplinked(msg.subject) {
            return Delivered::Refused;
        }
        let headers = if self.hub_headers { msg.headers } else { None };
        let size = msg.payload.len() + headers.map_or(0, <[u8]>::len);
        if size > self.hub_max_payload {
            debug!(
                cid = self.cid,
                "Not forwarding {} bytes on {:?} to the hub: its max_payload is {}",
                size,
                String::from_utf8_lossy(msg.subject),
                self.hub_max_payload
            );
            return Delivered::Refused;
        }
        let mut out = self.out.lock();
        if !out.open {
            return Delivered::Closed;
        }
        match msg.via {
            // A JetStream delivery crosses as its deliver subject, with the stored
            // subject after an `@` in the ack reply (PROTOCOL.md 2.9).
            Some(via) => {
                let mut reply = msg.reply.map(<[u8]>::to_vec);
                if let Some(r) = reply.as_mut().filter(|r| r.starts_with(b"$JS.ACK.")) {
                    r.push(b'@');
                    r.extend_from_slice(msg.subject);
                }
                wire::msg(
                    &mut out.buf,
                    via,
                    reply.as_deref(),
                    queues,
                    headers,
                    msg.payload,
                );
            }
            None => wire::msg(
                &mut out.buf,
                msg.subject,
                msg.reply,
                queues,
                headers,
                msg.payload,
            ),
        }
        if out.buf.len() > self.max_pending {
            drop(out);
            warn!(
                cid = self.cid,
                "Slow Consumer Detected: MaxPending of {} Exceeded on the leafnode link",
                self.max_pending
            );
            self.close("Slow Consumer (Pending Bytes)", false);
            return Delivered::Closed;
        }
        out.out_msgs += 1;
        out.out_bytes += size as u64;
        if std::mem::replace(&mut out.wake_pending, true) {
            Delivered::Queued
        } else {
            Delivered::QueuedWake
        }
    }
}

impl InterestWatcher for Link {
    fn interest_changed(&self, subject: &[u8], queue: Option<&[u8]>, count: u32) {
        let mut line = Vec::new();
        self.send_interest(&mut line, subject, queue, count);
        if !line.is_empty() {
            self.send(|b| b.extend_from_slice(&line));
        }
    }
}

/// Reads ops until one arrives, or fails with what was wrong.
async fn next_op<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    parser: &mut LeafParser,
) -> Result<LeafOp, String> {
    loop {
        match parser.parse(buf) {
            Ok(Some(op)) => return Ok(op),
            Ok(None) => {}
            Err(e) => return Err(format!("protocol error from the hub: {e}")),
        }
        match r.read_buf(buf).await {
            Ok(0) => return Err("connection closed by the hub".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("read error: {e}")),
        }
    }
}

/// The CONNECT a 2.9 leaf sends, with the credentials of this remote and URL.
fn connect_json(
    server: &Server,
    remote: &Remote,
    url: &LeafUrl,
    nonce: &str,
    tls: bool,
) -> Result<Vec<u8>, String> {
    let mut c = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        c.insert(k.to_string(), v);
    };
    put("version", NATS_VERSION.into());
    if let Some(path) = &remote.cfg.credentials {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read credentials file {path}: {e}"))?;
        let cr = creds::parse_creds(&text).map_err(|e| format!("credentials file {path}: {e}"))?;
        let sig = creds::sign_nonce(&cr.seed, nonce)
            .map_err(|e| format!("credentials file {path}: {e}"))?;
        put("jwt", cr.jwt.clone().into());
        put("sig", sig.into());
    } else if let Some(nkey) = &remote.cfg.nkey {
        let seed = if nkey.starts_with('S') {
            nkey.clone()
        } else {
            std::fs::read_to_string(nkey)
                .map_err(|e| format!("cannot read nkey seed file {nkey}: {e}"))?
                .trim()
                .to_string()
        };
        let public = creds::public_key(&seed).map_err(|e| format!("nkey: {e}"))?;
        let sig = creds::sign_nonce(&seed, nonce).map_err(|e| format!("nkey: {e}"))?;
        put("nkey", public.into());
        put("sig", sig.into());
    } else if let Some(user) = url.user.as_ref().or(remote.cfg.user.as_ref()) {
        let pass = if url.user.is_some() {
            url.password.clone()
        } else {
            remote.cfg.password.clone()
        };
        put("user", user.clone().into());
        if let Some(p) = pass {
            put("pass", p.into());
        }
    }
    put("tls_required", tls.into());
    put("server_id", server.id.clone().into());
    put("name", server.name.clone().into());
    // A standalone server uses its name as its cluster name; the hub tags our interest
    // with it and refuses a name equal to its own cluster's.
    put("cluster", server.name.clone().into());
    put("headers", true.into());
    if !remote.cfg.deny_imports.is_empty() {
        put("deny_pub", remote.cfg.deny_imports.clone().into());
    }
    serde_json::to_vec(&c).map_err(|e| e.to_string())
}

/// Dials `url`, runs the link until it closes, and says how it ended.
pub async fn connect_and_run(server: &Arc<Server>, remote: &Arc<Remote>, url: &LeafUrl) -> Outcome {
    let handshake = server.config.leaf.handshake_timeout;
    let addr = url.host_port();
    let tcp = match tokio::time::timeout(handshake, TcpStream::connect(&addr)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Outcome::Failed(format!("dial {addr}: {e}")),
        Err(_) => return Outcome::Failed(format!("dial {addr}: no answer within {handshake:?}")),
    };
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().ok();
    let mut tcp = tcp;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    // Until the hub's INFO says otherwise, take our own limit for its messages.
    let mut parser = LeafParser::new(MAX_CONTROL_LINE, server.config.max_payload as usize);
    let first = tokio::time::timeout(handshake, next_op(&mut tcp, &mut buf, &mut parser)).await;
    let info = match first {
        Err(_) => {
            return Outcome::Failed(format!("no INFO from the hub within {handshake:?}"));
        }
        Ok(Err(e)) => return Outcome::Failed(e),
        Ok(Ok(LeafOp::Info(json))) => match serde_json::from_slice::<HubInfo>(&json) {
            Ok(i) => i,
            Err(e) => return Outcome::Failed(format!("unreadable INFO from the hub: {e}")),
        },
        Ok(Ok(_)) => return Outcome::Failed("the hub did not start with INFO".into()),
    };
    if info.client_id == 0 || info.leafnode_urls.is_none() {
        return Outcome::Failed(format!(
            "attempted to connect to wrong port: {addr} is not a leafnode port (its INFO has no leafnode_urls)"
        ));
    }
    if let Some(cluster) = &info.cluster {
        if *cluster == server.name {
            return Outcome::Failed(format!(
                "the hub's cluster is named {cluster:?} like this server: give edgeleaf another server_name"
            ));
        }
    }
    let tls = url.tls || remote.cfg.tls.is_some() || info.tls_required;
    if tls {
        let stream = match start_tls(remote, url, tcp).await {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(e),
        };
        handshake_and_run(server, remote, url, peer, stream, buf, parser, info, true).await
    } else {
        handshake_and_run(server, remote, url, peer, tcp, buf, parser, info, false).await
    }
}

async fn start_tls(
    remote: &Remote,
    url: &LeafUrl,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tls_cfg = remote.cfg.tls.clone().unwrap_or_default();
    let cert_key = match (&tls_cfg.cert_file, &tls_cfg.key_file) {
        (Some(c), Some(k)) => Some((c.as_str(), k.as_str())),
        _ => None,
    };
    let config = crate::server::tls::client_config(tls_cfg.ca_file.as_deref(), cert_key)
        .map_err(|e| e.to_string())?;
    let name = tls_cfg
        .server_name
        .clone()
        .unwrap_or_else(|| url.host.clone());
    let server_name = rustls_pki_types::ServerName::try_from(name.clone())
        .map_err(|e| format!("TLS server name {name:?}: {e}"))?;
    let timeout = if tls_cfg.timeout.is_zero() {
        Duration::from_secs(2)
    } else {
        tls_cfg.timeout
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(timeout, connector.connect(server_name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!("TLS handshake with {}: {e}", url.host_port())),
        Err(_) => Err(format!(
            "TLS handshake with {} did not finish within {timeout:?}",
            url.host_port()
        )),
    }
}

#[allow(clippy::too_many_arguments)]
async fn handshake_and_run<S>(
    server: &Arc<Server>,
    remote: &Arc<Remote>,
    url: &LeafUrl,
    peer: Option<std::net::SocketAddr>,
    stream: S,
    mut buf: BytesMut,
    mut parser: LeafParser,
    info: HubInfo,
    tls: bool,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = server.config.leaf.handshake_timeout;
    let connect = match connect_json(server, remote, url, &info.nonce, tls) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let (mut r, mut w) = tokio::io::split(stream);
    let mut first = Vec::with_capacity(connect.len() + 16);
    wire::connect(&mut first, &connect);
    match tokio::time::timeout(handshake, w.write_all(&first)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Outcome::Failed(format!("write CONNECT: {e}")),
        Err(_) => return Outcome::Failed("write CONNECT timed out".into()),
    }
    // The hub answers CONNECT with a second INFO (connect_info), or an -ERR and a close.
    let deadline = tokio::time::Instant::now() + handshake;
    let answer = loop {
        let op =
            match tokio::time::timeout_at(deadline, next_op(&mut r, &mut buf, &mut parser)).await {
                Err(_) => {
                    let _ = w
                        .write_all(b"-ERR 'Stale Leaf Node Connection - Closing'\r\n")
                        .await;
                    return Outcome::Failed(format!(
                        "the hub did not accept CONNECT within {handshake:?}"
                    ));
                }
                Ok(Err(e)) => return Outcome::Failed(e),
                Ok(Ok(op)) => op,
            };
        match op {
            LeafOp::Info(json) => match serde_json::from_slice::<HubInfo>(&json) {
                Ok(i) if i.connect_info => break i,
                Ok(_) => {}
                Err(e) => return Outcome::Failed(format!("unreadable INFO from the hub: {e}")),
            },
            LeafOp::Err(text) => return Outcome::Failed(format!("the hub refused us: {text}")),
            LeafOp::Ping => {
                let _ = w.write_all(encode::PONG).await;
            }
            _ => {}
        }
    };

    let hub_max_payload = if info.max_payload == 0 {
        1024 * 1024
    } else {
        info.max_payload as usize
    };
    // The hub may send anything up to its own limit.
    parser = LeafParser::new(
        MAX_CONTROL_LINE,
        hub_max_payload.max(server.config.max_payload as usize),
    );
    let cid = server.next_cid();
    let link = Arc::new(Link {
        cid,
        remote: remote.clone(),
        out: Mutex::new(Out {
            buf: Vec::with_capacity(4096),
            wake_pending: false,
            open: true,
            out_msgs: 0,
            out_bytes: 0,
        }),
        wake: Notify::new(),
        closed: Notify::new(),
        close_reason: Mutex::new(None),
        max_pending: server.config.max_pending as usize,
        hub_max_payload,
        hub_headers: info.headers,
        perms: OnceLock::new(),
        hub_subs: Mutex::new(HashMap::new()),
        in_msgs: AtomicU64::new(0),
        in_bytes: AtomicU64::new(0),
        meta: Mutex::new(Meta {
            url: url.to_string(),
            ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            port: peer.map_or(url.port, |p| p.port()),
            hub_name: if info.server_name.is_empty() {
                info.server_id.clone()
            } else {
                info.server_name.clone()
            },
            hub_id: info.server_id.clone(),
            remote_account: answer.remote_account.clone(),
            start: SystemTime::now(),
            rtt: None,
        }),
    });
    let _ = link
        .perms
        .set(link_perms(answer.import, answer.export, remote));
    if let Some(urls) = answer
        .leafnode_urls
        .as_ref()
        .or(info.leafnode_urls.as_ref())
    {
        remote.learn_urls(urls, url);
    }

    // Our interest: the loop detection subject, then every local subscription, taken
    // together with the watch so no change falls between.
    let account = remote.account.clone();
    {
        let mut out = link.out.lock();
        wire::sub(&mut out.buf, account.loop_subject.as_bytes(), None);
    }
    let (watch_id, now) = account.watch(link.clone());
    {
        let mut lines = Vec::new();
        for i in &now {
            // Plain interest is advertised once however many local subscribers share it.
            let n = if i.queue.is_some() { i.count } else { 1 };
            link.send_interest(&mut lines, &i.subject, i.queue.as_deref(), n);
        }
        link.send(|b| b.extend_from_slice(&lines));
    }
    remote.set_link(Some(link.clone()));
    info!(
        "Leafnode connection created for account: {} (hub {:?} at {}, remote account {:?}){}",
        account.name,
        link.meta.lock().hub_name,
        url,
        answer.remote_account,
        if tls { ", TLS" } else { "" }
    );

    let writer = tokio::spawn(write_loop(link.clone(), w, server.config.write_deadline));
    read_loop(server, &link, &mut r, buf, parser).await;

    // Teardown: interest first so no publisher delivers into a dead link.
    account.unwatch(watch_id);
    let subs: Vec<Arc<Subscription>> = link.hub_subs.lock().drain().map(|(_, s)| s).collect();
    for s in &subs {
        account.unsubscribe(s);
    }
    remote.clear_link(cid);
    link.close("Client Closed", false);
    // The writer flushes what is left; a dead peer must not hold up the reconnect.
    if tokio::time::timeout(Duration::from_secs(1), writer)
        .await
        .is_err()
    {
        debug!(cid, "leafnode writer did not finish flushing in time");
    }
    let (reason, long_delay) = link
        .close_reason
        .lock()
        .clone()
        .unwrap_or_else(|| ("closed".into(), false));
    Outcome::Closed { reason, long_delay }
}

fn first_ping_delay() -> Duration {
    // nats-server pings a new leaf link after about a second, with up to 20% jitter.
    use rand::Rng;
    Duration::from_millis(1000 + rand::thread_rng().gen_range(0..200))
}

async fn read_loop<R: AsyncRead + Unpin>(
    server: &Arc<Server>,
    link: &Arc<Link>,
    r: &mut R,
    mut buf: BytesMut,
    mut parser: LeafParser,
) {
    let interval = server
        .config
        .leaf
        .ping_interval
        .unwrap_or(server.config.ping_interval);
    let ping_max = server
        .config
        .leaf
        .ping_max
        .unwrap_or(server.config.ping_max);
    let mut next_ping = tokio::time::Instant::now() + first_ping_delay();
    let mut pings_out: u32 = 0;
    let mut ping_sent: Option<Instant> = None;
    let mut flush = FlushList::default();
    loop {
        // Ops already buffered (the hub's LS+ set often arrives with its INFO).
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => {
                    if let Some(pong) = handle(server, link, op, &mut flush) {
                        if pong {
                            pings_out = 0;
                            if let Some(at) = ping_sent.take() {
                                link.meta.lock().rtt = Some(at.elapsed());
                            }
                        }
                    }
                    if !link.is_open() {
                        flush.wake_all();
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error!(cid = link.cid, "Leafnode protocol error from the hub: {e}");
                    link.close(format!("Parse Error: {e}"), false);
                    flush.wake_all();
                    return;
                }
            }
        }
        flush.wake_all();
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        tokio::select! {
            res = r.read_buf(&mut buf) => match res {
                Ok(0) => {
                    link.close("Connection closed by the hub", false);
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    link.close(format!("Read Error: {e}"), false);
                    return;
                }
            },
            _ = tokio::time::sleep_until(next_ping) => {
                // The leaf side pings every interval even while traffic flows, so a
                // dead link is found although local messages keep arriving.
                if pings_out + 1 > ping_max {
                    link.send(|b| encode::err(b, "Stale Connection"));
                    link.close("Stale Connection", false);
                    return;
                }
                pings_out += 1;
                ping_sent = Some(Instant::now());
                link.send(|b| b.extend_from_slice(encode::PING));
                next_ping = tokio::time::Instant::now() + interval;
            }
            _ = link.closed.notified() => return,
        }
    }
}

/// The hub's key for a piece of interest: `subject`, or `subject queue`.
fn interest_key(subject: &Bytes, queue: Option<&Bytes>) -> Bytes {
    match queue {
        Some(q) => {
            let mut k = Vec::with_capacity(subject.len() + 1 + q.len());
            k.extend_from_slice(subject);
            k.push(b' ');
            k.extend_from_slice(q);
            Bytes::from(k)
        }
        None => subject.clone(),
    }
}

/// Handles one op from the hub. Returns Some(true) for a PONG.
fn handle(
    server: &Arc<Server>,
    link: &Arc<Link>,
    op: LeafOp,
    flush: &mut FlushList,
) -> Option<bool> {
    let account = &link.remote.account;
    match op {
        LeafOp::Ping => link.send(|b| b.extend_from_slice(encode::PONG)),
        LeafOp::Pong => return Some(true),
        LeafOp::Ok => {}
        LeafOp::Info(json) => {
            // Later INFOs update the cluster's leafnode URLs.
            if let Ok(i) = serde_json::from_slice::<HubInfo>(&json) {
                if let Some(urls) = i.leafnode_urls {
                    if let Ok(url) = LeafUrl::parse(&link.meta.lock().url) {
                        link.remote.learn_urls(&urls, &url);
                    }
                }
            }
        }
        LeafOp::Err(text) => {
            error!(cid = link.cid, "Leafnode error from the hub: {text}");
            let long = text.contains("Loop detected") || text.contains("same cluster name");
            link.close(format!("hub error: {text}"), long);
        }
        LeafOp::Sub {
            subject,
            queue,
            weight: _,
        } => {
            if subject.as_ref() == account.loop_subject.as_bytes() {
                let text = format!(
                    "Loop detected for leafnode account={:?}. Delaying attempt to reconnect for 30s",
                    account.name
                );
                error!(cid = link.cid, "{text}");
                link.send(|b| encode::err(b, &text));
                link.close("Loop Detected", true);
                return None;
            }
            if subject.starts_with(b"$LDS.") {
                // The hub's own loop detection subject: never delivered, never passed on.
                return None;
            }
            if !subject::is_valid_subject(&subject)
                || queue
                    .as_ref()
                    .is_some_and(|q| !subject::is_valid_queue_name(q))
            {
                link.send(|b| encode::err(b, "Invalid Subscription"));
                return None;
            }
            // Interest in a subject we may never send up is of no use (a wildcard may
            // still cover allowed subjects: those are checked per message).
            if subject::is_literal(&subject)
                && link.perms.get().is_some_and(|p| !p.may_publish(&subject))
            {
                return None;
            }
            let key = interest_key(&subject, queue.as_ref());
            let mut subs = link.hub_subs.lock();
            if subs.contains_key(&key) {
                // A repeat is a weight update for a queue; routing needs no weights.
                return None;
            }
            let sub = Arc::new(Subscription::new(link.clone(), subject, queue, key.clone()));
            subs.insert(key, sub.clone());
            drop(subs);
            account.subscribe(sub);
        }
        LeafOp::Unsub { subject, queue } => {
            let key = interest_key(&subject, queue.as_ref());
            if let Some(sub) = link.hub_subs.lock().remove(&key) {
                account.unsubscribe(&sub);
            }
        }
        LeafOp::Msg {
            subject,
            reply,
            queues,
            headers,
            payload,
        } => {
            let size = payload.len() + headers.as_ref().map_or(0, |h| h.len());
            link.in_msgs.fetch_add(1, Ordering::Relaxed);
            link.in_bytes.fetch_add(size as u64, Ordering::Relaxed);
            if link
                .perms
                .get()
                .is_some_and(|p| !p.may_subscribe(&subject, None))
            {
                debug!(
                    cid = link.cid,
                    "Not delivering {:?} from the hub: not allowed on this link",
                    String::from_utf8_lossy(&subject)
                );
                return None;
            }
            // A gateway-mapped reply reaches local responders as the plain inbox; their
            // answer is mapped back on the way up (see `Account::note_gateway_reply`).
            let mut reply = reply;
            if let Some(r) = &reply {
                if let Some(inbox) = crate::router::gateway_reply_inbox(r) {
                    let inbox = r.slice_ref(inbox);
                    account.note_gateway_reply(inbox.clone(), r.clone());
                    reply = Some(inbox);
                }
            }
            // `$JS.ACK...@<subject>`: a JetStream delivery; receivers see the stored
            // subject, the reply without the suffix (PROTOCOL.md 2.9).
            let mut shown: Option<Bytes> = None;
            if let Some(r) = reply.clone().filter(|r| r.starts_with(b"$JS.ACK.")) {
                if let Some(at) = r.iter().rposition(|c| *c == b'@') {
                    if at + 1 < r.len() {
                        shown = Some(r.slice(at + 1..));
                        reply = Some(r.slice(..at));
                    }
                }
            }
            let msg = Message {
                subject: shown.as_deref().unwrap_or(&subject),
                via: shown.is_some().then_some(&subject[..]),
                reply: reply.as_deref(),
                headers: headers.as_deref(),
                payload: &payload,
            };
            let origin = Origin {
                cid: link.cid,
                echo: false,
                queues: Some(&queues),
            };
            account.publish(&msg, origin, flush);
            let _ = server;
        }
    }
    None
}

/// Writes whatever the link has buffered whenever woken.
async fn write_loop<W: AsyncWrite + Unpin>(link: Arc<Link>, mut w: W, deadline: Duration) {
    let mut batch: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let open = {
            let mut out = link.out.lock();
            std::mem::swap(&mut out.buf, &mut batch);
            out.wake_pending = false;
            out.open
        };
        if batch.is_empty() {
            if !open {
                break;
            }
            link.wake.notified().await;
            continue;
        }
        match tokio::time::timeout(deadline, w.write_all(&batch)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                link.close(format!("Write Error: {e}"), false);
                break;
            }
            Err(_) => {
                warn!(
                    cid = link.cid,
                    "Slow Consumer Detected: WriteDeadline of {deadline:?} exceeded on the leafnode link"
                );
                link.close("Slow Consumer (Write Deadline)", false);
                break;
            }
        }
        batch.clear();
        if batch.capacity() > 1024 * 1024 {
            batch = Vec::with_capacity(64 * 1024);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), w.shutdown()).await;
}
