//! The store-and-forward uplink: each configured stream is forwarded to the cloud
//! supercluster's JetStream over the leaf link, in order and exactly once, and a message
//! leaves the device's disk only after the cloud's PubAck (DESIGN.md invariants 2-3).
//!
//! One task per uplink. It waits for its stream (`jetstream::feed`) and for the leaf
//! link, then finds where the cloud stopped, then forwards: it reads the stream's log from
//! disk in order, publishes each message to the hub with `Nats-Msg-Id:
//! <incarnation>:<seq>` and a reply inbox of its own, keeps a window of messages in
//! flight, and reports the contiguous acknowledged sequence back to the stream, which
//! records it (and, for a work queue, removes the messages). A cloud error stops the
//! uplink at that message with the cloud's reason; it retries with backoff and never
//! skips data.
//!
//! Finding where the cloud stopped needs the cloud's JetStream API, which crosses a leaf
//! link only under a JetStream domain (`$JS.<domain>.API`, PROTOCOL.md 2.13). With one
//! configured, the uplink reads the last message of ours in the cloud stream and resumes
//! after it; without, it resends from its own record and relies on the cloud stream's
//! duplicate window, and says so.

pub mod cli;
pub mod status;
mod wire;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::config::uplink::UplinkConfig;
use crate::jetstream::feed::{Feed, FeedState};
use crate::jetstream::JsAccount;
use crate::leaf::{Link, Remote};
use crate::router::{Delivered, FlushList, Message, Sink, Subscription};
use crate::server::Server;
pub use status::{State, UplinkView};

/// Most bytes in flight whatever the window: the hub link's buffer must stay far below
/// its slow-consumer limit, and memory bounded (invariant 4).
const MAX_BYTES_IN_FLIGHT: u64 = 4 * 1024 * 1024;
/// How long an API request to the cloud may take.
const API_TIMEOUT: Duration = Duration::from_secs(3);
/// Retry waits after a failure: doubling from the first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// While waiting or blocked, the monitoring view is refreshed this often.
const VIEW_EVERY: Duration = Duration::from_millis(250);

/// One configured uplink, as monitoring sees it.
pub struct Uplink {
    pub cfg: UplinkConfig,
    pub account: String,
    pub view: Mutex<UplinkView>,
}

/// Starts one task per configured uplink. Needs JetStream and the leaf remotes started.
pub fn start(server: &Arc<Server>) -> Vec<Arc<Uplink>> {
    let mut out = Vec::new();
    for cfg in &server.config.uplinks {
        let remotes = server.leaf_remotes();
        // The stream's account: as configured, else the one the (first) remote binds.
        let account = cfg
            .account
            .clone()
            .or_else(|| remotes.first().map(|r| r.cfg.account.clone()))
            .unwrap_or_else(|| crate::config::auth::GLOBAL_ACCOUNT.to_string());
        let remote = remotes
            .iter()
            .find(|r| r.cfg.account == account)
            .or(remotes.first())
            .cloned();
        let js = server.jetstream().and_then(|js| {
            js.accounts
                .iter()
                .find(|a| a.account.name == account)
                .cloned()
        });
        let up = Arc::new(Uplink {
            cfg: cfg.clone(),
            account: account.clone(),
            view: Mutex::new(UplinkView::new(cfg, &account)),
        });
        match (remote, js) {
            (Some(remote), Some(js)) => {
                if cfg.api_prefix.is_none() {
                    warn!(
                        "Uplink of stream {:?}: no cloud JetStream domain (cloud_domain) configured, so after an outage it cannot ask the cloud where it stopped; it resends what was unacknowledged and relies on the cloud stream's duplicate window",
                        cfg.stream
                    );
                }
                info!(
                    "Uplink of stream {:?} (account {:?}) to cloud stream {:?}{}",
                    cfg.stream,
                    account,
                    cfg.cloud_stream,
                    cfg.subject_prefix
                        .as_deref()
                        .map(|p| format!(", subjects prefixed with {p:?}"))
                        .unwrap_or_default()
                );
                tokio::spawn(run(server.clone(), up.clone(), remote, js));
            }
            (_, None) => {
                let why = format!("JetStream is not enabled for account {account:?}");
                warn!("Uplink of stream {:?}: {why}", cfg.stream);
                up.view.lock().set_state(State::Blocked, Some(why));
            }
            (None, _) => {
                let why = "no leaf node remote to forward over".to_string();
                warn!("Uplink of stream {:?}: {why}", cfg.stream);
                up.view.lock().set_state(State::Blocked, Some(why));
            }
        }
        out.push(up);
    }
    out
}

/// What comes back on the uplink's inbox.
#[derive(Debug)]
enum Reply {
    /// The cloud's answer for the message with this local seq: Ok when it stored the
    /// message in the expected stream, else why not. Checked as it arrives, on the link's
    /// task, so a PubAck is never copied.
    Ack {
        seq: u64,
        stored: Result<(), String>,
    },
    /// The answer to API request number `id`.
    Api { id: u64, payload: Bytes },
    /// The local PubAck for a message moved aside.
    Local {
        id: u64,
        headers: Option<Bytes>,
        payload: Bytes,
    },
    /// An operator's request to move a refused message aside (`$EDGELEAF.UPLINK.SKIP.<stream>`).
    Skip { body: Bytes, reply: Option<Bytes> },
}

/// Where the operator's skip requests for `stream` arrive.
pub fn skip_subject(stream: &str) -> String {
    format!("$EDGELEAF.UPLINK.SKIP.{stream}")
}

/// Where a message moved aside is published; a local stream on it keeps them.
pub fn rejected_subject(stream: &str) -> String {
    format!("edgeleaf.rejected.{stream}")
}

/// The sink of the uplink's inbox subscription: `<inbox>.a.<seq>` for PubAcks and
/// `<inbox>.q.<id>` for API answers.
struct Inbox {
    cid: u64,
    prefix: Vec<u8>,
    /// The cloud stream PubAcks must name.
    cloud_stream: String,
    tx: mpsc::UnboundedSender<Reply>,
}

impl Sink for Inbox {
    fn cid(&self) -> u64 {
        self.cid
    }

    fn deliver(&self, _: &[u8], msg: &Message<'_>) -> Delivered {
        let subject = msg.via.unwrap_or(msg.subject);
        let Some(rest) = subject.strip_prefix(&self.prefix[..]) else {
            return Delivered::Refused;
        };
        let text = std::str::from_utf8(rest).unwrap_or("");
        let reply = match text.split_once('.') {
            Some(("a", n)) => n.parse().ok().map(|seq| Reply::Ack {
                seq,
                stored: wire::pub_ack(msg.headers, msg.payload, &self.cloud_stream),
            }),
            Some(("q", n)) => n.parse().ok().map(|id| Reply::Api {
                id,
                payload: Bytes::copy_from_slice(msg.payload),
            }),
            Some(("s", n)) => n.parse().ok().map(|id| Reply::Local {
                id,
                headers: msg.headers.map(Bytes::copy_from_slice),
                payload: Bytes::copy_from_slice(msg.payload),
            }),
            _ => None,
        };
        match reply {
            Some(r) => match self.tx.send(r) {
                Ok(()) => Delivered::Queued,
                Err(_) => Delivered::Closed,
            },
            None => Delivered::Refused,
        }
    }

    fn wake(&self) {}

    fn forget(&self, _: &[u8]) {}
}

/// The sink of the operator's skip requests.
struct SkipRequests {
    cid: u64,
    tx: mpsc::UnboundedSender<Reply>,
}

impl Sink for SkipRequests {
    fn cid(&self) -> u64 {
        self.cid
    }

    fn deliver(&self, _: &[u8], msg: &Message<'_>) -> Delivered {
        let r = Reply::Skip {
            body: Bytes::copy_from_slice(msg.payload),
            reply: msg.reply.map(Bytes::copy_from_slice),
        };
        match self.tx.send(r) {
            Ok(()) => Delivered::Queued,
            Err(_) => Delivered::Closed,
        }
    }

    fn wake(&self) {}

    fn forget(&self, _: &[u8]) {}
}

/// Why a forwarding session ended.
enum Stop {
    /// The link went down (or was never up): wait for it.
    LinkDown,
    /// The stream was deleted or re-created: start over from the feed.
    StreamChanged,
    /// The cloud refused or did not answer: blocked with this reason, retry later.
    Blocked(String),
    /// The cloud refused the message with this seq: blocked as above, and the operator
    /// may move that message aside.
    Refused(u64, String),
}

/// The per-uplink task's state.
struct Forwarder {
    server: Arc<Server>,
    up: Arc<Uplink>,
    remote: Arc<Remote>,
    js: Arc<JsAccount>,
    feed: Arc<Feed>,
    inbox: String,
    rx: mpsc::UnboundedReceiver<Reply>,
    next_api: u64,
    /// Forwarded up to here (as recorded locally or learnt from the cloud).
    forwarded: u64,
    /// Rate over the last few seconds: (when, forwarded count then).
    rate_mark: (Instant, u64),
    total_forwarded: u64,
    dropped: u64,
    /// When the monitoring view was last brought up to date (it reads the store).
    refreshed: Option<Instant>,
    /// The message the cloud refused, while blocked on it.
    refused: Option<(u64, String)>,
    next_local: u64,
    flush: FlushList,
}

async fn run(server: Arc<Server>, up: Arc<Uplink>, remote: Arc<Remote>, js: Arc<JsAccount>) {
    // Invariant 3: the leaf learns which subjects only the uplink may send as soon as the
    // engine creates or changes the stream.
    let hook_remote = remote.clone();
    let hook_stream = up.cfg.stream.clone();
    let feed = js
        .feed(
            &up.cfg.stream,
            Box::new(move |subjects| hook_remote.set_uplinked(&hook_stream, subjects)),
        )
        .await;
    let (tx, rx) = mpsc::unbounded_channel();
    let sub_tx = tx.clone();
    let inbox = format!("_INBOX.{}", crate::jetstream::feed::random_token(22));
    let sink = Arc::new(Inbox {
        cid: server.next_cid(),
        prefix: format!("{inbox}.").into_bytes(),
        cloud_stream: up.cfg.cloud_stream.clone(),
        tx,
    });
    // In the remote's account: that is where the hub's answers arrive, and the interest
    // goes up with the link's snapshot before anything the uplink sends.
    let sub = Arc::new(Subscription::new(
        sink,
        Bytes::from(format!("{inbox}.>")),
        None,
        Bytes::from_static(b"uplink"),
    ));
    remote.account.subscribe(sub.clone());
    // Local PubAcks (a message moved aside) come from the stream's account.
    let local_sub = (!Arc::ptr_eq(&remote.account, &js.account)).then(|| {
        let s = Arc::new(Subscription::new(
            sub.sink.clone(),
            sub.subject.clone(),
            None,
            Bytes::from_static(b"uplink-local"),
        ));
        js.account.subscribe(s.clone());
        s
    });
    let skip_sub = Arc::new(Subscription::new(
        Arc::new(SkipRequests {
            cid: server.next_cid(),
            tx: sub_tx,
        }),
        Bytes::from(skip_subject(&up.cfg.stream)),
        None,
        Bytes::from_static(b"uplink-skip"),
    ));
    js.account.subscribe(skip_sub.clone());
    let mut f = Forwarder {
        server: server.clone(),
        up,
        remote,
        js,
        feed,
        inbox,
        rx,
        next_api: 0,
        forwarded: 0,
        rate_mark: (Instant::now(), 0),
        total_forwarded: 0,
        dropped: 0,
        refreshed: None,
        refused: None,
        next_local: 0,
        flush: FlushList::default(),
    };
    tokio::select! {
        _ = f.run() => {}
        _ = server.shutdown_started() => {}
    }
    f.remote.set_uplinked(&f.up.cfg.stream, &[]);
    f.remote.account.unsubscribe(&sub);
    f.js.account.unsubscribe(&skip_sub);
    if let Some(s) = local_sub {
        f.js.account.unsubscribe(&s);
    }
}

impl Forwarder {
    fn set_state(&self, state: State, reason: Option<String>) {
        let mut v = self.up.view.lock();
        if v.state != state || v.reason != reason {
            match (&reason, state) {
                (Some(r), State::Blocked) => {
                    warn!("Uplink of stream {:?} blocked: {r}", self.up.cfg.stream)
                }
                _ => info!(
                    "Uplink of stream {:?}: {}",
                    self.up.cfg.stream,
                    state.text()
                ),
            }
        }
        v.set_state(state, reason);
    }

    async fn run(&mut self) {
        let mut feed_rx = self.feed.subscribe();
        let mut link_rx = self.remote.watch_link();
        let mut retry = RETRY_FIRST;
        loop {
            // The stream.
            let st = self.feed.state();
            let Some(log) = st.log.clone() else {
                self.remote.set_uplinked(&self.up.cfg.stream, &[]);
                self.set_state(State::WaitingForStream, None);
                self.refreshed = None;
                self.refresh(&st, 0);
                let _ = feed_rx.changed().await;
                continue;
            };
            self.remote.set_uplinked(&self.up.cfg.stream, &st.subjects);
            self.forwarded = self.forwarded.max(st.forwarded);
            // The link.
            let Some(link) = self.remote.link().filter(|l| !l.is_closed()) else {
                self.set_state(State::WaitingForLink, None);
                self.refresh(&st, 0);
                // New messages change the feed; the view is brought up to date at least
                // every VIEW_EVERY however fast they come.
                tokio::select! {
                    _ = link_rx.changed() => {}
                    _ = feed_rx.changed() => {}
                    _ = tokio::time::sleep(VIEW_EVERY) => {}
                }
                continue;
            };
            link_rx.borrow_and_update();
            feed_rx.borrow_and_update();
            // Where the cloud is.
            self.set_state(State::Resuming, None);
            let incarnation = st.incarnation.clone();
            self.refused = None;
            match self.resume(&link, &st).await {
                Ok(()) => {}
                Err(Stop::Blocked(why)) | Err(Stop::Refused(_, why)) => {
                    self.set_state(State::Blocked, Some(why));
                    self.refreshed = None;
                    self.refresh(&self.feed.state(), 0);
                    self.pause(&mut retry, &mut link_rx, &mut feed_rx).await;
                    continue;
                }
                Err(_) => continue,
            }
            let stop = self
                .forward(&link, log, &incarnation, &mut feed_rx, &mut link_rx)
                .await;
            match stop {
                Stop::LinkDown | Stop::StreamChanged => retry = RETRY_FIRST,
                Stop::Blocked(why) => {
                    self.set_state(State::Blocked, Some(why));
                    self.refreshed = None;
                    self.refresh(&self.feed.state(), 0);
                    self.pause(&mut retry, &mut link_rx, &mut feed_rx).await;
                }
                Stop::Refused(seq, why) => {
                    self.refused = Some((seq, why.clone()));
                    self.up.view.lock().refused_seq = Some(seq);
                    self.set_state(State::Blocked, Some(why));
                    self.refreshed = None;
                    self.refresh(&self.feed.state(), 0);
                    self.pause(&mut retry, &mut link_rx, &mut feed_rx).await;
                    self.refused = None;
                    self.up.view.lock().refused_seq = None;
                }
            }
        }
    }

    /// Waits before a retry (doubling each time), or until the link or stream changes.
    async fn pause(
        &mut self,
        retry: &mut Duration,
        link_rx: &mut tokio::sync::watch::Receiver<u64>,
        feed_rx: &mut tokio::sync::watch::Receiver<u64>,
    ) {
        let wait = *retry;
        *retry = (*retry * 2).min(RETRY_MAX);
        let until = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return,
                _ = tokio::time::sleep(VIEW_EVERY) => {
                    let st = self.feed.state();
                    self.refresh(&st, 0);
                }
                r = link_rx.changed() => if r.is_ok() { return },
                // New messages change the feed too; only a re-created stream ends the wait.
                r = feed_rx.changed() => {
                    if r.is_err() || self.feed.state().log.is_none() {
                        return;
                    }
                }
                r = self.rx.recv() => match r {
                    Some(Reply::Skip { body, reply }) => {
                        if self.skip(&body, reply).await {
                            *retry = RETRY_FIRST;
                            return;
                        }
                    }
                    Some(_) => {}
                    None => return,
                },
            }
        }
    }

    /// Answers an operator's request on its reply subject.
    fn answer(&mut self, reply: Option<&Bytes>, body: &serde_json::Value) {
        let Some(to) = reply else { return };
        let payload = body.to_string();
        let msg = Message {
            subject: to,
            via: None,
            reply: None,
            headers: None,
            payload: payload.as_bytes(),
        };
        self.js.account.publish(
            &msg,
            crate::router::Origin::client(0, true),
            &mut self.flush,
        );
        self.flush.wake_all();
    }

    /// Refuses a skip request that arrived while not blocked on a refused message.
    fn not_blocked(&mut self, reply: Option<Bytes>) {
        let state = self.up.view.lock().state;
        let body = serde_json::json!({
            "error": format!(
                "uplink of stream {:?} is not blocked on a message the cloud refused (state: {})",
                self.up.cfg.stream,
                state.key()
            )
        });
        self.answer(reply.as_ref(), &body);
    }

    /// The operator's skip: the message the cloud refused is moved aside (stored by a local
    /// stream on `edgeleaf.rejected.<stream>`, with the cloud's reason), and the uplink
    /// goes on after it. Never done without this request. Returns whether it was moved.
    async fn skip(&mut self, body: &[u8], reply: Option<Bytes>) -> bool {
        #[derive(serde::Deserialize)]
        struct Req {
            seq: u64,
        }
        let stream = self.up.cfg.stream.clone();
        let fail = |f: &mut Self, why: String| {
            warn!("Uplink of stream {stream:?}: skip request refused: {why}");
            f.answer(reply.as_ref(), &serde_json::json!({ "error": why }));
            false
        };
        let seq = match serde_json::from_slice::<Req>(body) {
            Ok(r) => r.seq,
            Err(e) => {
                return fail(
                    self,
                    format!("expected {{\"seq\": <the refused message's seq>}}: {e}"),
                )
            }
        };
        let Some((at, why)) = self.refused.clone() else {
            self.not_blocked(reply);
            return false;
        };
        if seq != at {
            return fail(
                self,
                format!("the uplink is blocked at seq {at}, not {seq}; only that message can be moved aside"),
            );
        }
        let Some(log) = self.feed.state().log else {
            return fail(self, "the stream does not exist".into());
        };
        let m = match log.get(seq) {
            Ok(Some(m)) => m,
            Ok(None) => return fail(self, format!("seq {seq} is no longer in the stream")),
            Err(e) => return fail(self, format!("reading seq {seq} failed: {e}")),
        };
        let headers = wire::rejected_headers(m.headers.as_deref(), &m.subject, &why, seq);
        self.next_local += 1;
        let id = self.next_local;
        let to = rejected_subject(&stream);
        let ack_to = format!("{}.s.{id}", self.inbox);
        let msg = Message {
            subject: to.as_bytes(),
            via: None,
            reply: Some(ack_to.as_bytes()),
            headers: Some(&headers),
            payload: &m.payload,
        };
        let n = self.js.account.publish(
            &msg,
            crate::router::Origin::client(0, true),
            &mut self.flush,
        );
        self.flush.wake_all();
        if n == 0 {
            return fail(
                self,
                format!("no local stream captures {to:?}; create one (e.g. subjects [\"edgeleaf.rejected.>\"]) to keep refused messages"),
            );
        }
        let deadline = tokio::time::Instant::now() + API_TIMEOUT;
        let stored = loop {
            let r = tokio::select! {
                r = self.rx.recv() => r,
                _ = tokio::time::sleep_until(deadline) => None,
            };
            match r {
                Some(Reply::Local {
                    id: got,
                    headers,
                    payload,
                }) if got == id => {
                    break wire::pub_ack_of(headers.as_deref(), &payload);
                }
                Some(Reply::Skip { reply, .. }) => self.not_blocked(reply),
                Some(_) => {}
                None => {
                    break Err(format!(
                        "no PubAck from a local stream on {to:?} within {API_TIMEOUT:?}"
                    ))
                }
            }
        };
        let (kept_in, kept_seq) = match stored {
            Ok(v) => v,
            Err(e) => return fail(self, format!("storing seq {seq} on {to:?} failed: {e}")),
        };
        warn!(
            "Uplink of stream {stream:?}: seq {seq} (refused by the cloud: {why}) moved aside by the operator into stream {kept_in:?} as seq {kept_seq}"
        );
        self.forwarded = self.forwarded.max(seq);
        self.js.forwarded(&stream, seq).await;
        self.refused = None;
        self.up.view.lock().skipped_msgs += 1;
        self.answer(
            reply.as_ref(),
            &serde_json::json!({ "skipped": seq, "stream": kept_in, "seq": kept_seq }),
        );
        true
    }

    /// Sends an API request to the cloud and waits for its answer.
    async fn api(&mut self, link: &Link, what: &str, body: &[u8]) -> Result<Bytes, Stop> {
        let Some(prefix) = self.up.cfg.api_prefix.clone() else {
            return Err(Stop::Blocked("no cloud API prefix".into()));
        };
        self.next_api += 1;
        let id = self.next_api;
        let subject = format!("{prefix}.{what}");
        let reply = format!("{}.q.{id}", self.inbox);
        if let Err(e) = link.send_direct(subject.as_bytes(), Some(reply.as_bytes()), None, body) {
            return Err(Stop::Blocked(e));
        }
        let deadline = tokio::time::Instant::now() + API_TIMEOUT;
        loop {
            let r = tokio::select! {
                r = self.rx.recv() => r,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Stop::Blocked(format!(
                        "no answer from the cloud's JetStream API on {subject:?} within {API_TIMEOUT:?} (is {prefix:?} the cloud's API prefix, and its domain set?)"
                    )));
                }
            };
            match r {
                Some(Reply::Api { id: got, payload }) if got == id => return Ok(payload),
                Some(Reply::Skip { reply, .. }) => self.not_blocked(reply),
                // Late answers to earlier requests, and PubAcks of an earlier session.
                Some(_) => continue,
                None => return Err(Stop::LinkDown),
            }
        }
    }

    /// Finds where the cloud stopped: with the cloud's API, the last message of this
    /// stream's incarnation stored there; otherwise our own record.
    async fn resume(&mut self, link: &Arc<Link>, st: &FeedState) -> Result<(), Stop> {
        // Acks of an earlier session are of no use now.
        while self.rx.try_recv().is_ok() {}
        let mode = if self.up.cfg.api_prefix.is_some() {
            status::Resume::Exact
        } else {
            status::Resume::DuplicateWindow
        };
        self.up.view.lock().resume = mode;
        if self.up.cfg.api_prefix.is_none() {
            return Ok(());
        }
        let cloud = self.up.cfg.cloud_stream.clone();
        let info = self.api(link, &format!("STREAM.INFO.{cloud}"), b"").await?;
        if let Some(e) = wire::api_error(&info) {
            return Err(Stop::Blocked(format!("cloud stream {cloud:?}: {e}")));
        }
        let mut found: Option<u64> = None;
        for subject in &st.subjects {
            let filter = format!(
                "{}{}",
                self.up.cfg.subject_prefix.as_deref().unwrap_or(""),
                subject
            );
            let body = serde_json::json!({ "last_by_subj": filter }).to_string();
            let got = self
                .api(link, &format!("STREAM.MSG.GET.{cloud}"), body.as_bytes())
                .await?;
            if let Some(seq) = wire::our_seq_in_msg_get(&got, &st.incarnation) {
                found = Some(found.map_or(seq, |f: u64| f.max(seq)));
            }
        }
        if let Some(seq) = found {
            if seq > self.forwarded {
                info!(
                    "Uplink of stream {:?}: the cloud already holds up to seq {seq} (recorded here: {}); resuming after it",
                    self.up.cfg.stream, self.forwarded
                );
                self.forwarded = seq;
                self.js.forwarded(&self.up.cfg.stream, seq).await;
            }
        }
        Ok(())
    }

    /// Forwards until something stops it. Sends from `self.forwarded + 1`.
    async fn forward(
        &mut self,
        link: &Arc<Link>,
        log: crate::store::Messages,
        incarnation: &str,
        feed_rx: &mut tokio::sync::watch::Receiver<u64>,
        link_rx: &mut tokio::sync::watch::Receiver<u64>,
    ) -> Stop {
        let cfg = self.up.cfg.clone();
        let window = cfg.max_in_flight;
        let prefix = cfg.subject_prefix.clone().unwrap_or_default();
        // seq -> (bytes, sent at)
        let mut inflight: BTreeMap<u64, (u64, Instant)> = BTreeMap::new();
        let mut bytes_in_flight = 0u64;
        let mut next = self.forwarded + 1;
        let mut last_sent = self.forwarded;
        // Rate limit: bytes allowed to go now, refilled per second.
        let mut budget_at = Instant::now();
        let mut budget: f64 = cfg.max_bytes_per_sec as f64;
        let mut encode = wire::Encoder::default();
        // Reused for every message: the subject, and the reply `<inbox>.a.<seq>`.
        let mut subject = String::new();
        let mut reply = format!("{}.a.", self.inbox);
        let reply_base = reply.len();
        loop {
            if self.feed.state().incarnation != incarnation {
                return Stop::StreamChanged;
            }
            // Fill the window.
            let durable = self.feed.state().durable_last;
            let mut throttled: Option<Duration> = None;
            while inflight.len() < window
                && bytes_in_flight < MAX_BYTES_IN_FLIGHT
                && next <= durable
            {
                let room = window - inflight.len();
                let msgs = match log.range(next, room, MAX_BYTES_IN_FLIGHT - bytes_in_flight) {
                    Ok(m) => m,
                    Err(crate::store::StoreError::Deleted { .. }) => return Stop::StreamChanged,
                    Err(e) => {
                        return Stop::Blocked(format!("reading the local stream failed: {e}"))
                    }
                };
                if msgs.is_empty() {
                    // Everything up to the durable end was removed locally.
                    self.dropped += durable + 1 - next;
                    next = durable + 1;
                    break;
                }
                let sent_at = Instant::now();
                for m in msgs {
                    // A gap: removed locally (limits, deletes) before it was forwarded.
                    if m.seq > next {
                        self.dropped += m.seq - next;
                    }
                    let size = m.size();
                    if cfg.max_bytes_per_sec > 0 {
                        let now = Instant::now();
                        let rate = cfg.max_bytes_per_sec as f64;
                        budget =
                            (budget + now.duration_since(budget_at).as_secs_f64() * rate).min(rate);
                        budget_at = now;
                        // A message larger than a second's worth waits for a full bucket
                        // (and leaves it in debt), so it cannot block the uplink forever.
                        let need = (size as f64).min(rate);
                        if budget < need {
                            throttled = Some(Duration::from_secs_f64((need - budget) / rate));
                            break;
                        }
                        budget -= size as f64;
                    }
                    subject.clear();
                    subject.push_str(&prefix);
                    subject.push_str(&m.subject);
                    reply.truncate(reply_base);
                    let _ = write!(reply, "{}", m.seq);
                    let headers = encode.headers(m.headers.as_deref(), incarnation, m.seq);
                    if let Err(e) = link.send_direct(
                        subject.as_bytes(),
                        Some(reply.as_bytes()),
                        Some(headers),
                        &m.payload,
                    ) {
                        if link.is_closed() {
                            return Stop::LinkDown;
                        }
                        return Stop::Refused(m.seq, format!("seq {} cannot go up: {e}", m.seq));
                    }
                    inflight.insert(m.seq, (size, sent_at));
                    bytes_in_flight += size;
                    next = m.seq + 1;
                    last_sent = m.seq;
                }
                if throttled.is_some() {
                    break;
                }
            }
            // Where we are, for monitoring.
            let state = if inflight.is_empty() && next > durable {
                State::Connected
            } else {
                State::Forwarding
            };
            self.set_state(state, None);
            if state == State::Connected {
                // Caught up: the view must show the final numbers, not the throttled ones.
                self.refreshed = None;
            }
            self.refresh(&self.feed.state(), inflight.len());

            let oldest = inflight.values().map(|(_, t)| *t).min();
            let timeout_at = oldest.map(|t| t + cfg.ack_timeout);
            let wake_at = match (timeout_at, throttled) {
                (Some(t), Some(d)) => Some(t.min(Instant::now() + d)),
                (Some(t), None) => Some(t),
                (None, Some(d)) => Some(Instant::now() + d),
                (None, None) => None,
            };
            let sleep = async {
                match wake_at {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.rx.recv() => {
                    let Some(first) = r else { return Stop::LinkDown };
                    // Take everything that is there: one engine round per batch of acks.
                    let mut replies = vec![first];
                    while let Ok(r) = self.rx.try_recv() {
                        replies.push(r);
                    }
                    for r in replies {
                        let (seq, stored) = match r {
                            Reply::Ack { seq, stored } => (seq, stored),
                            Reply::Skip { reply, .. } => {
                                self.not_blocked(reply);
                                continue;
                            }
                            _ => continue,
                        };
                        if !inflight.contains_key(&seq) {
                            continue;
                        }
                        match stored {
                            Ok(()) => {
                                if let Some((size, _)) = inflight.remove(&seq) {
                                    bytes_in_flight -= size;
                                }
                            }
                            Err(why) => {
                                // Everything from here on stays, and is sent again later.
                                self.ack_through(&inflight, last_sent).await;
                                return Stop::Refused(seq, format!("the cloud refused seq {seq}: {why}"));
                            }
                        }
                    }
                    self.ack_through(&inflight, last_sent).await;
                }
                r = feed_rx.changed() => {
                    if r.is_err() {
                        return Stop::StreamChanged;
                    }
                    if self.feed.state().log.is_none() {
                        return Stop::StreamChanged;
                    }
                }
                _ = link_rx.changed() => {
                    return Stop::LinkDown;
                }
                // Keeps the view current while waiting for acks.
                _ = tokio::time::sleep(VIEW_EVERY) => {}
                _ = sleep => {
                    if timeout_at.is_some_and(|t| Instant::now() >= t) {
                        let seq = inflight.keys().next().copied().unwrap_or(0);
                        let why = format!(
                            "no PubAck from the cloud for seq {seq} within {:?} (does a cloud stream capture its subject?)",
                            cfg.ack_timeout
                        );
                        if self.up.cfg.api_prefix.is_some() && !self.server.is_shutting_down() {
                            warn!("Uplink of stream {:?}: {why}; checking where the cloud is", cfg.stream);
                        }
                        return Stop::Blocked(why);
                    }
                }
            }
        }
    }

    /// Records the contiguous acknowledged prefix with the stream.
    async fn ack_through(&mut self, inflight: &BTreeMap<u64, (u64, Instant)>, last_sent: u64) {
        let upto = match inflight.keys().next() {
            Some(first) => first - 1,
            None => last_sent,
        };
        if upto > self.forwarded {
            self.total_forwarded += upto - self.forwarded;
            self.forwarded = upto;
            self.js.forwarded(&self.up.cfg.stream, upto).await;
        }
    }

    /// Updates the monitoring view, at most a few times a second (it reads the store).
    fn refresh(&mut self, st: &FeedState, in_flight: usize) {
        let now = Instant::now();
        if self
            .refreshed
            .is_some_and(|t| now.duration_since(t) < VIEW_EVERY / 2)
        {
            self.up.view.lock().in_flight = in_flight;
            return;
        }
        self.refreshed = Some(now);
        let (backlog_msgs, backlog_bytes, oldest) = match &st.log {
            Some(log) => {
                let s = log.state();
                // Messages after what the cloud acknowledged.
                let (msgs, bytes) = if st.forwarded >= s.last_seq {
                    (0, 0)
                } else if st.forwarded < s.first_seq {
                    (s.msgs, s.bytes)
                } else {
                    // Limits retention keeps forwarded messages: count what is after.
                    let after = s.last_seq - st.forwarded;
                    let avg = s.bytes.checked_div(s.msgs).unwrap_or(0);
                    (after.min(s.msgs), after.min(s.msgs) * avg)
                };
                let oldest = if msgs > 0 {
                    log.range(st.forwarded + 1, 1, u64::MAX)
                        .ok()
                        .and_then(|v| v.first().map(|m| m.time_ns))
                } else {
                    None
                };
                (msgs, bytes, oldest)
            }
            None => (0, 0, None),
        };
        let now = Instant::now();
        let elapsed = now.duration_since(self.rate_mark.0);
        let mut v = self.up.view.lock();
        if elapsed >= Duration::from_secs(1) {
            v.rate = (self.total_forwarded - self.rate_mark.1) as f64 / elapsed.as_secs_f64();
            self.rate_mark = (now, self.total_forwarded);
        }
        v.incarnation = st.incarnation.clone();
        v.backlog_msgs = backlog_msgs;
        v.backlog_bytes = backlog_bytes;
        v.oldest_unsent_ns = oldest;
        v.last_acked_seq = self.forwarded.max(st.forwarded);
        v.forwarded_msgs = self.total_forwarded;
        v.dropped_msgs = self.dropped;
        v.in_flight = in_flight;
        v.updated = SystemTime::now();
    }
}
