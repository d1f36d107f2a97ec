//! The JetStream task of one account: streams with their stored messages and consumers,
//! the API handlers, publish with group commit, pull delivery, acks and redelivery
//! (push delivery and consumer clean-up are in `push`).

mod push;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tracing::{debug, error, warn};

use super::api::{self, ApiError, ConsumerConfig, StreamConfig};
use super::consumer::{now_ns, Consumer, Progress, PullRequest};
use super::feed::{new_incarnation, Feed};
use super::respond;
use super::sinks::{Catcher, Incoming, Kind};
use crate::router::{Account, FlushList, Message, Origin, Subscription};
use crate::server::Server;
use crate::store::{Messages, Record, Store, StoreError, StoredMsg};
use crate::subject;

/// Most publishes written per group commit.
const BATCH: usize = 256;

/// Consumer progress written but not flushed is flushed after this long.
const CONSUMER_FLUSH_EVERY: Duration = Duration::from_millis(200);

/// A JetStream account as the rest of the server sees it.
pub struct JsAccount {
    pub account: Arc<Account>,
    cid: u64,
    tx: mpsc::Sender<Incoming>,
    domain: Option<String>,
    /// What `/jsz` and `$JS.API.INFO` show, refreshed by the task.
    pub view: Mutex<JsView>,
    api_subs: Mutex<Vec<Arc<Subscription>>>,
    /// Uplinked streams, by name (see `feed`).
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
}

/// Counts for monitoring.
#[derive(Debug, Clone, Default)]
pub struct JsView {
    pub streams: usize,
    pub consumers: usize,
    pub messages: u64,
    pub bytes: u64,
    pub api_total: u64,
    pub api_errors: u64,
}

impl JsAccount {
    pub fn new(
        server: &Server,
        account: Arc<Account>,
        tx: mpsc::Sender<Incoming>,
        domain: Option<String>,
    ) -> Arc<JsAccount> {
        Arc::new(JsAccount {
            account,
            cid: server.next_cid(),
            tx,
            domain,
            view: Mutex::new(JsView::default()),
            api_subs: Mutex::new(Vec::new()),
            feeds: Mutex::new(HashMap::new()),
        })
    }

    /// The feed of `stream` for its uplink, created on first use; the engine fills it in
    /// now if the stream exists and whenever it is created or deleted later, and then
    /// calls `on_subjects` with the subjects the stream captures (none while it is gone).
    pub async fn feed(&self, stream: &str, on_subjects: super::feed::SubjectsHook) -> Arc<Feed> {
        let feed = self
            .feeds
            .lock()
            .entry(stream.to_string())
            .or_insert_with(|| Arc::new(Feed::new(stream)))
            .clone();
        feed.set_on_subjects(on_subjects);
        self.control(Kind::Feed(stream.to_string())).await;
        feed
    }

    /// The cloud has stored every message of `stream` up to `seq`: the engine records it
    /// and removes them where the retention policy says so (work queue: all of them).
    pub async fn forwarded(&self, stream: &str, seq: u64) {
        self.control(Kind::Forwarded(stream.to_string(), seq)).await;
    }

    async fn control(&self, kind: Kind) {
        let _ = self.tx.send(Incoming::control(kind, b"")).await;
    }

    /// Subscribes the API subjects: `$JS.API.>`, and `$JS.<domain>.API.>` when a domain is
    /// configured (that is the one offered to the hub over a leaf link).
    pub fn subscribe_api(&self) {
        let mut subs = self.api_subs.lock();
        let plain = Catcher::new(self.cid, Kind::Api, self.tx.clone());
        let sub = Arc::new(Subscription::new(
            plain,
            Bytes::from_static(b"$JS.API.>"),
            None,
            Bytes::from_static(b"api"),
        ));
        self.account.subscribe(sub.clone());
        subs.push(sub);
        if let Some(d) = &self.domain {
            let prefix = format!("$JS.{d}.API.");
            let catcher = Arc::new(Catcher {
                cid: self.cid,
                kind: Kind::Api,
                domain_prefix: Some(Bytes::from(prefix.clone())),
                tx: self.tx.clone(),
            });
            let sub = Arc::new(Subscription::new(
                catcher,
                Bytes::from(format!("{prefix}>")),
                None,
                Bytes::from_static(b"api-domain"),
            ));
            self.account.subscribe(sub.clone());
            subs.push(sub);
        }
    }
}

/// nats-server counts a stored message as subject + headers + payload plus a fixed
/// overhead: 30 bytes in its file store, 16 in its memory store. The store counts 16;
/// streams report (and limit by) nats-server's numbers so `bytes` and `max_bytes` mean
/// the same on both.
const FILE_EXTRA_PER_MSG: u64 = 14;

impl Stream {
    fn bytes(&self) -> u64 {
        let st = self.msgs.state();
        if self.memory {
            st.bytes
        } else {
            st.bytes + st.msgs * FILE_EXTRA_PER_MSG
        }
    }

    /// Consumers other than direct ones (sources' and mirrors'), which nats-server leaves
    /// out of consumer counts, lists and limits.
    fn public_consumers(&self) -> impl Iterator<Item = &Consumer> {
        self.consumers.values().filter(|c| !c.config.direct)
    }

    fn extra_per_msg(&self) -> u64 {
        if self.memory {
            16
        } else {
            16 + FILE_EXTRA_PER_MSG
        }
    }
}

/// An accepted publish waiting for the group commit: the buffer it arrived in (its
/// subject made text), with the seq and time it is stored under.
struct Staged {
    seq: u64,
    time_ns: i64,
    msg: Incoming,
}

impl Record for Staged {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn time_ns(&self) -> i64 {
        self.time_ns
    }
    fn subject(&self) -> &str {
        self.msg.subject_str()
    }
    fn headers(&self) -> Option<&[u8]> {
        self.msg.headers()
    }
    fn payload(&self) -> &[u8] {
        self.msg.payload()
    }
}

struct Stream {
    config: StreamConfig,
    created: SystemTime,
    msgs: Messages,
    subs: Vec<Arc<Subscription>>,
    /// Nats-Msg-Id → seq within the duplicate window.
    dedupe: Dedupe,
    consumers: BTreeMap<String, Consumer>,
    memory: bool,
    /// Accepted publishes waiting for the group commit: the store takes them as one batch
    /// (one value per batch is what keeps write amplification low).
    staged: Vec<Staged>,
    /// Sum of `size() - 16` over `staged`: what the byte limits count before the commit
    /// (summed once per publish, not over the whole stage each time).
    staged_bytes: u64,
    /// The `Nats-Msg-Id` of the last publish that had one (`Nats-Expected-Last-Msg-Id`).
    last_msg_id: Option<String>,
    /// Random per creation; the uplink's message ids carry it (see `feed`).
    incarnation: String,
    /// Has an uplink: interest retention then also waits for the cloud.
    uplinked: bool,
    /// The last seq the cloud has stored (saved under `UPLINK_RECORD`).
    uplink_forwarded: u64,
    uplink_dirty: bool,
}

/// The `Nats-Msg-Id`s stored within the duplicate window, oldest first, so expiring looks
/// only at the front (a scan of every id per publish made publishing with ids cost in
/// proportion to the ids in the window).
#[derive(Default)]
struct Dedupe {
    seqs: HashMap<Arc<str>, u64>,
    /// (unix ns, seq, id) in the order stored.
    order: VecDeque<(i64, u64, Arc<str>)>,
}

impl Dedupe {
    /// Forgets ids stored `window` ns or longer before `now`.
    fn expire(&mut self, now: i64, window: i64) {
        while let Some((at, seq, id)) = self.order.front() {
            if now - *at < window {
                break;
            }
            // The id may have been stored again since (after it had expired).
            if self.seqs.get(id) == Some(seq) {
                self.seqs.remove(id);
            }
            self.order.pop_front();
        }
    }

    fn get(&self, id: &str) -> Option<u64> {
        self.seqs.get(id).copied()
    }

    fn insert(&mut self, id: &str, seq: u64, now: i64) {
        let id: Arc<str> = Arc::from(id);
        self.seqs.insert(id.clone(), seq);
        self.order.push_back((now, seq, id));
    }
}

/// What the store keeps about a stream.
#[derive(serde::Serialize, serde::Deserialize)]
struct StreamMeta {
    config: StreamConfig,
    created_ns: i64,
    /// Absent in stores written before uplinks existed: one is made on recovery.
    #[serde(default)]
    incarnation: String,
}

/// The uplink's progress is kept beside the stream's consumers under this name, which no
/// API consumer can have (control characters are refused in names).
const UPLINK_RECORD: &str = "\u{1f}uplink";

#[derive(serde::Serialize, serde::Deserialize)]
struct ConsumerMeta {
    config: ConsumerConfig,
    created_ns: i64,
    progress: Progress,
}

fn time_of(ns: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64)
}

fn ns_of(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The store key of a stream: account and stream name, which cannot contain the separator.
fn store_name(account: &str, stream: &str) -> String {
    format!("{account}\u{1f}{stream}")
}

pub struct Engine {
    acc: Arc<JsAccount>,
    file: Store,
    memory: Store,
    sync_before_ack: bool,
    /// `max_memory_store` / `max_file_store`: bytes all streams of a storage type may use.
    max_memory: Option<u64>,
    max_file: Option<u64>,
    /// Confirmed acks to answer after their state is saved.
    confirms: Vec<Bytes>,
    /// When consumer progress was first written without a flush since.
    unflushed_since: Option<Instant>,
    streams: BTreeMap<String, Stream>,
    flush: FlushList,
    api_total: u64,
    api_errors: u64,
    /// Tells the task when subscriptions on push consumers' deliver subjects change.
    deliver_watch: Arc<push::DeliverWatch>,
    /// Stored publishes whose PubAcks wait for a disk sync that has not started yet.
    unsynced: Vec<Acked>,
    /// Confirmed acks whose state waits for a disk sync that has not started yet.
    unsynced_confirms: Vec<Bytes>,
    /// Something was written that a sync should cover soon (consumer progress).
    sync_wanted: bool,
    /// The disk syncs running on blocking threads, oldest first (at most `MAX_SYNCS`).
    syncing: VecDeque<Sync>,
    /// The newest sync's sled flush is still writing the log: the next sync waits for it
    /// (sled runs its flushes one at a time), not for its `fdatasync`.
    writing: bool,
    /// Each sync sends one message here once its sled flush is over (`writing`).
    written_tx: mpsc::UnboundedSender<()>,
    written_rx: mpsc::UnboundedReceiver<()>,
    /// Syncs in `syncing` to be taken as failed whatever they report: they ran when an
    /// earlier one failed, and after a failed `fdatasync` a later one may succeed without
    /// the earlier writes being on disk (the kernel reports a write error once).
    poisoned: usize,
    /// Per file stream, (incarnation, last seq) known durable: what uplinks may forward.
    durable: HashMap<String, (String, u64)>,
}

/// Disk syncs in flight at once: one `fdatasync`ing while the next one's sled flush writes
/// the log. Measured with one publisher keeping 256 PubAcks in flight (bench js_pub1),
/// where a sled flush took about 265 us and the `fdatasync` after it 190 us: one sync at a
/// time left the disk idle while PubAcks, the next publishes and the next flush waited
/// their turn.
const MAX_SYNCS: usize = 2;

/// A disk sync in flight and what waits for it.
struct Sync {
    done: tokio::task::JoinHandle<Result<(), StoreError>>,
    waiting: SyncWaiters,
}

/// What a disk sync answers: everything stored before it started.
struct SyncWaiters {
    acks: Vec<Acked>,
    confirms: Vec<Bytes>,
    /// Per file stream, (incarnation, last seq) when the sync started.
    durable: Vec<(String, String, u64)>,
}

/// A publish waiting for the group commit before its PubAck goes out.
struct Acked {
    reply: Option<Bytes>,
    body: Vec<u8>,
    /// Stored in a file stream (a memory stream's PubAck waits for no sync).
    file: bool,
}

impl Engine {
    pub fn new(
        acc: Arc<JsAccount>,
        file: Store,
        memory: Store,
        sync_before_ack: bool,
        limits: (Option<u64>, Option<u64>),
    ) -> Engine {
        let deliver_watch = push::DeliverWatch::new(acc.tx.clone());
        let (written_tx, written_rx) = mpsc::unbounded_channel();
        Engine {
            acc,
            file,
            memory,
            sync_before_ack,
            max_memory: limits.0,
            max_file: limits.1,
            confirms: Vec::new(),
            unflushed_since: None,
            streams: BTreeMap::new(),
            flush: FlushList::default(),
            api_total: 0,
            api_errors: 0,
            deliver_watch,
            unsynced: Vec::new(),
            unsynced_confirms: Vec::new(),
            sync_wanted: false,
            syncing: VecDeque::new(),
            writing: false,
            written_tx,
            written_rx,
            poisoned: 0,
            durable: HashMap::new(),
        }
    }

    fn store(&self, memory: bool) -> &Store {
        if memory {
            &self.memory
        } else {
            &self.file
        }
    }

    /// Loads every stream and consumer of this account from the file store.
    pub fn recover(&mut self) -> Result<(), StoreError> {
        let prefix = store_name(&self.acc.account.name, "");
        for (key, meta) in self.file.stream_metas()? {
            let Some(name) = key.strip_prefix(&prefix) else {
                continue;
            };
            let meta: StreamMeta = match serde_json::from_slice(&meta) {
                Ok(m) => m,
                Err(e) => {
                    error!(
                        "JetStream stream {name:?}: stored configuration unreadable, skipped: {e}"
                    );
                    continue;
                }
            };
            let msgs = self.file.messages(&key)?;
            let StreamMeta {
                config,
                created_ns,
                incarnation,
            } = meta;
            let incarnation = if incarnation.is_empty() {
                let meta = StreamMeta {
                    config: config.clone(),
                    created_ns,
                    incarnation: new_incarnation(),
                };
                if let Ok(data) = serde_json::to_vec(&meta) {
                    self.file.save_stream_meta(&key, &data)?;
                }
                meta.incarnation
            } else {
                incarnation
            };
            let mut stream = Stream {
                config,
                created: time_of(created_ns),
                msgs,
                subs: Vec::new(),
                dedupe: Dedupe::default(),
                consumers: BTreeMap::new(),
                memory: false,
                staged: Vec::new(),
                staged_bytes: 0,
                last_msg_id: None,
                incarnation,
                uplinked: false,
                uplink_forwarded: 0,
                uplink_dirty: false,
            };
            for (cname, data) in self.file.consumers(&key)? {
                if cname == UPLINK_RECORD {
                    if let Ok(b) = <[u8; 8]>::try_from(&data[..]) {
                        stream.uplink_forwarded = u64::from_le_bytes(b);
                    }
                    continue;
                }
                match serde_json::from_slice::<ConsumerMeta>(&data) {
                    Ok(m) => {
                        let mut c = Consumer::new(cname.clone(), m.config, time_of(m.created_ns));
                        c.progress = m.progress;
                        c.dirty = false;
                        stream.consumers.insert(cname, c);
                    }
                    Err(e) => error!(
                        "JetStream consumer {cname:?} of stream {name:?}: stored state unreadable, skipped: {e}"
                    ),
                }
            }
            self.capture(&mut stream);
            // What was recovered is on disk.
            self.durable.insert(
                name.to_string(),
                (stream.incarnation.clone(), stream.msgs.state().last_seq),
            );
            debug!("JetStream recovered stream {name:?}");
            let consumers: Vec<String> = stream.consumers.keys().cloned().collect();
            self.streams.insert(name.to_string(), stream);
            for c in consumers {
                self.start_consumer(name, &c);
            }
        }
        self.refresh_view();
        Ok(())
    }

    /// Subscribes a stream's subjects and its ack subject.
    fn capture(&self, stream: &mut Stream) {
        for s in std::mem::take(&mut stream.subs) {
            self.acc.account.unsubscribe(&s);
        }
        let name = stream.config.name.clone();
        let subjects = captured_subjects(&stream.config);
        // Every internal subscription of a stream feeds the engine's queue; `kind` says
        // which one caught a message.
        let mut internal = |kind: Kind, subject: String, sid: String| {
            let c = Catcher::new(self.acc.cid, kind, self.acc.tx.clone());
            let sub = Arc::new(Subscription::new(
                c,
                Bytes::from(subject),
                None,
                Bytes::from(sid),
            ));
            self.acc.account.subscribe(sub.clone());
            stream.subs.push(sub);
        };
        for subj in subjects {
            internal(
                Kind::Stream(name.as_str().into()),
                subj,
                format!("stream.{name}"),
            );
        }
        internal(
            Kind::Ack,
            format!("$JS.ACK.{name}.>"),
            format!("ack.{name}"),
        );
        internal(
            Kind::FlowControl,
            format!("$JS.FC.{name}.>"),
            format!("fc.{name}"),
        );
    }

    fn refresh_view(&mut self) {
        let mut v = JsView {
            streams: self.streams.len(),
            api_total: self.api_total,
            api_errors: self.api_errors,
            ..JsView::default()
        };
        for s in self.streams.values() {
            let st = s.msgs.state();
            v.consumers += s.consumers.len();
            v.messages += st.msgs;
            v.bytes += s.bytes();
        }
        *self.acc.view.lock() = v;
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Incoming>) {
        self.watch_deliver_subjects();
        let mut batch: Vec<Incoming> = Vec::with_capacity(BATCH);
        loop {
            let wake = self.next_timer();
            // PubAcks go out in the order of the syncs: only the oldest one's end counts.
            let syncing = &mut self.syncing;
            let synced = async {
                match syncing.front_mut() {
                    Some(s) => Some((&mut s.done).await),
                    None => std::future::pending().await,
                }
            };
            let written_rx = &mut self.written_rx;
            let first = tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => Some(m),
                    None => {
                        self.finish_syncs().await;
                        return;
                    }
                },
                r = synced => {
                    if let Some(r) = r {
                        self.synced(r);
                    }
                    None
                }
                Some(()) = written_rx.recv() => {
                    // The next sync may start (below).
                    self.writing = false;
                    None
                }
                _ = tokio::time::sleep_until(wake.into()) => None,
            };
            batch.extend(first);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            self.process(&mut batch);
            self.timers();
            self.save_consumers();
            self.start_sync();
            self.feeds_durable();
            self.flush.wake_all();
            self.refresh_view();
        }
    }

    /// Starts a disk sync covering everything stored so far, unless one is running (the
    /// next starts when it ends) or nothing waits for one. The sync runs on a blocking
    /// thread, so while the disk works the task stages and stores the next publishes:
    /// one publisher's window is not idle for the sync, and the next group commit grows.
    fn start_sync(&mut self) {
        if self.writing
            || self.syncing.len() >= MAX_SYNCS
            || (self.unsynced.is_empty() && self.unsynced_confirms.is_empty() && !self.sync_wanted)
        {
            return;
        }
        let syncer = match self.file.prepare_sync() {
            Ok(s) => s,
            Err(e) => {
                error!(
                    "JetStream store flush failed, {} PubAcks withheld: {e}",
                    self.unsynced.len()
                );
                self.unsynced.clear();
                return;
            }
        };
        let durable = self
            .streams
            .iter()
            .filter(|(_, s)| !s.memory)
            .map(|(n, s)| (n.clone(), s.incarnation.clone(), s.msgs.state().last_seq))
            .collect();
        self.sync_wanted = false;
        self.unflushed_since = None;
        let waiting = SyncWaiters {
            acks: std::mem::take(&mut self.unsynced),
            confirms: std::mem::take(&mut self.unsynced_confirms),
            durable,
        };
        if waiting.acks.is_empty() {
            // No publisher waits: sync here, as before pipelining. Measured: syncing on
            // another thread while a consumer read the stream raised RSS by about 60 MiB
            // (tests/js_memory.rs peaked 119 MiB instead of 59; not with MALLOC_ARENA_MAX=1
            // either). Where sled keeps that memory is not found yet. Publishers are what
            // gain from the overlap.
            let r = syncer.sync();
            self.answer(waiting, r.map_err(|e| e.to_string()));
            return;
        }
        let written = self.written_tx.clone();
        self.writing = true;
        self.syncing.push_back(Sync {
            done: tokio::task::spawn_blocking(move || {
                let mut told = false;
                let r = syncer.sync_then(|| {
                    let _ = written.send(());
                    told = true;
                });
                if !told {
                    let _ = written.send(());
                }
                r
            }),
            waiting,
        });
    }

    /// A disk sync ended: what waited for it is answered (PubAcks in the order the
    /// publishes were stored), and uplinks may forward up to where it reached. On failure
    /// nothing is answered: the publishers get no PubAck and retry, as the contract says.
    fn synced(&mut self, r: Result<Result<(), StoreError>, tokio::task::JoinError>) {
        let Some(job) = self.syncing.pop_front() else {
            return;
        };
        let mut r = match r {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the sync did not finish: {e}")),
        };
        if self.poisoned > 0 {
            self.poisoned -= 1;
            if r.is_ok() {
                r = Err("an earlier sync running beside it failed".to_string());
            }
        } else if r.is_err() {
            self.poisoned = self.syncing.len();
        }
        self.answer(job.waiting, r);
        self.start_sync();
        self.flush.wake_all();
    }

    /// Answers what waited for a sync that ended with `r`.
    fn answer(&mut self, job: SyncWaiters, r: Result<(), String>) {
        match r {
            Ok(()) => {
                for (name, incarnation, seq) in job.durable {
                    let d = self.durable.entry(name).or_default();
                    if d.0 != incarnation {
                        *d = (incarnation, seq);
                    } else {
                        d.1 = d.1.max(seq);
                    }
                }
                for a in job.acks {
                    if let Some(r) = a.reply {
                        self.respond(&r, &a.body);
                    }
                }
                for r in job.confirms {
                    self.respond(&r, b"");
                }
            }
            Err(e) => {
                let (file, memory): (Vec<Acked>, Vec<Acked>) =
                    job.acks.into_iter().partition(|a| a.file);
                error!(
                    "JetStream store flush failed, {} PubAcks withheld: {e}",
                    file.len()
                );
                for a in memory {
                    if let Some(r) = a.reply {
                        self.respond(&r, &a.body);
                    }
                }
            }
        }
        self.feeds_durable();
        self.flush.wake_all();
    }

    /// On shutdown: lets the running syncs and one covering the rest end, and answers them.
    async fn finish_syncs(&mut self) {
        loop {
            let Some(job) = self.syncing.front_mut() else {
                // Whatever the syncs' flushes report, none is writing any more.
                self.writing = false;
                self.start_sync();
                if self.syncing.is_empty() {
                    return;
                }
                continue;
            };
            let r = (&mut job.done).await;
            self.synced(r);
        }
    }

    /// Handles a batch in arrival order, but publishes share one flush: their PubAcks go
    /// out after it, before anything else that came later is answered.
    fn process(&mut self, batch: &mut Vec<Incoming>) {
        let mut acks: Vec<Acked> = Vec::with_capacity(batch.len());
        let mut touched: Vec<String> = Vec::new();
        for m in batch.drain(..) {
            match &m.kind {
                Kind::Stream(name) => {
                    let name = name.clone();
                    if let Some(a) = self.store_publish(&name, m) {
                        acks.push(a);
                        if !touched.iter().any(|t| **t == *name) {
                            touched.push(name.to_string());
                        }
                    }
                }
                Kind::Ack => {
                    self.commit(&mut acks);
                    // Deliveries the acks make possible go out once, after the batch.
                    if let Some(name) = self.on_ack(&m) {
                        if !touched.contains(&name) {
                            touched.push(name);
                        }
                    }
                }
                Kind::Api => {
                    self.commit(&mut acks);
                    self.api(&m);
                }
                Kind::Feed(name) => self.attach_feed(name),
                Kind::Forwarded(name, seq) => {
                    self.commit(&mut acks);
                    self.on_forwarded(name, *seq);
                }
                Kind::FlowControl => self.on_flow_control(m.subject()),
                Kind::Interest => self.on_interest(m.subject()),
            }
        }
        self.commit(&mut acks);
        for name in touched {
            self.deliver_stream(&name);
        }
    }

    /// The group commit: one flush for every publish of the batch, then their PubAcks.
    fn commit(&mut self, acks: &mut Vec<Acked>) {
        if acks.is_empty() {
            return;
        }
        let mut failed = false;
        for (name, stream) in &mut self.streams {
            if stream.staged.is_empty() {
                continue;
            }
            // The next stage is about as large as this one: no regrowing it publish by publish.
            let hint = stream.staged.len();
            let batch = std::mem::replace(&mut stream.staged, Vec::with_capacity(hint));
            stream.staged_bytes = 0;
            if let Err(e) = stream.msgs.append(&batch) {
                // Not stored: its publishers get no PubAck and retry.
                error!("JetStream stream {name:?}: store failed: {e}");
                failed = true;
                continue;
            }
            let mut subjects: Vec<&str> = batch.iter().map(Record::subject).collect();
            subjects.sort_unstable();
            subjects.dedup();
            for subj in &subjects {
                enforce_limits(stream, subj);
            }
            if stream.config.retention == api::RetentionPolicy::Interest && !stream.uplinked {
                // Interest retention keeps nothing nobody is interested in (it is still
                // acknowledged, as nats-server does).
                for m in &batch {
                    if !stream
                        .consumers
                        .values()
                        .any(|c| takes(&c.config.filter_subject, m.subject()))
                    {
                        let _ = stream.msgs.remove(m.seq);
                    }
                }
            }
        }
        if failed {
            error!(
                "JetStream: {} PubAcks withheld after a store failure",
                acks.len()
            );
            acks.clear();
            return;
        }
        if self.sync_before_ack && (acks.iter().any(|a| a.file) || !self.unsynced.is_empty()) {
            // Answered when a sync that starts after this point ends (`start_sync`).
            // Anything answered meanwhile (API replies, deliveries) already sees these
            // messages in the stream; only the PubAck promises they are on disk. So an API
            // reply may overtake earlier publishes' PubAcks: it describes state that
            // already includes them. Consumers may get them before the sync, as from
            // nats-server (whose store does not sync before delivering either); uplinks
            // may not (`feeds_durable`): after a crash the seq of a lost message is reused,
            // and the cloud would dedupe the new one away as `<incarnation>:<seq>`.
            self.unsynced.append(acks);
            return;
        }
        if let Some(job) = self
            .syncing
            .iter_mut()
            .rev()
            .find(|j| !j.waiting.acks.is_empty())
        {
            // Only memory streams' PubAcks here: they need no sync, but a publisher gets
            // its PubAcks in the order its publishes were stored, so they go out right
            // behind those of the running sync (whatever its outcome, see `answer`).
            job.waiting.acks.append(acks);
            return;
        }
        for a in acks.drain(..) {
            if let Some(r) = a.reply {
                self.respond(&r, &a.body);
            }
        }
    }

    fn respond(&mut self, to: &[u8], body: &[u8]) {
        let msg = Message {
            subject: to,
            via: None,
            reply: None,
            headers: None,
            payload: body,
        };
        self.acc
            .account
            .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
    }

    fn respond_error(&mut self, to: Option<&Bytes>, kind: &str, e: ApiError) {
        self.api_errors += 1;
        if let Some(r) = to {
            let body = respond::error_response(kind, &e);
            self.respond(r, &body);
        }
    }

    /// Stores one publish, or answers why not. Returns the PubAck to send after the flush.
    fn store_publish(&mut self, name: &str, m: Incoming) -> Option<Acked> {
        let acc = self.acc.clone();
        let domain = acc.domain.as_deref();
        let memory = self.streams.get(name)?.memory;
        let limit = if memory {
            self.max_memory
        } else {
            self.max_file
        };
        let used: u64 = match limit {
            Some(_) => self
                .streams
                .values()
                .filter(|s| s.memory == memory)
                .map(|s| s.bytes() + s.staged_bytes + s.staged.len() as u64 * s.extra_per_msg())
                .sum(),
            None => 0,
        };
        let stream = self.streams.get_mut(name)?;
        let no_ack = stream.config.no_ack;
        let ack_to = if no_ack {
            None
        } else {
            m.reply().map(Bytes::copy_from_slice)
        };
        let fail = |e: ApiError| -> Option<Acked> {
            Some(Acked {
                reply: ack_to.clone(),
                body: respond::pub_ack_error(name, &e),
                file: !memory,
            })
        };
        let subject = m.subject_str();
        let headers = m.headers();
        let size = subject.len() + m.payload().len() + headers.map_or(0, <[u8]>::len);
        if stream.config.max_msg_size > 0 && size as i64 > i64::from(stream.config.max_msg_size) {
            return fail(ApiError::message_too_large());
        }
        if let Some(l) = limit {
            if used + size as u64 + stream.extra_per_msg() > l {
                return fail(if memory {
                    ApiError::memory_resources_exceeded()
                } else {
                    ApiError::storage_resources_exceeded()
                });
            }
        }
        let hdr = |key: &str| headers.and_then(|h| header_value(h, key));
        // The stream as it will be once the staged publishes are written.
        let mut state = stream.msgs.state();
        if let Some(last) = stream.staged.last() {
            state.last_seq = last.seq;
        }
        state.msgs += stream.staged.len() as u64;
        if let Some(want) = hdr("Nats-Expected-Stream") {
            if want != stream.config.name {
                return fail(ApiError::expected_stream_mismatch());
            }
        }
        if let Some(want) = hdr("Nats-Expected-Last-Sequence") {
            if want.parse::<u64>().ok() != Some(state.last_seq) {
                return fail(ApiError::wrong_last_sequence(state.last_seq));
            }
        }
        if let Some(want) = hdr("Nats-Expected-Last-Subject-Sequence") {
            let last = match stream.staged.iter().rev().find(|m| m.subject() == subject) {
                Some(m) => m.seq,
                None => stream
                    .msgs
                    .last(&|s| s == subject)
                    .ok()
                    .flatten()
                    .map_or(0, |m| m.seq),
            };
            if want.parse::<u64>().ok() != Some(last) {
                return fail(ApiError::wrong_last_sequence(last));
            }
        }
        let now = now_ns();
        let window = stream.config.duplicate_window.max(0);
        let msg_id = hdr("Nats-Msg-Id").map(str::to_string);
        if let Some(id) = &msg_id {
            stream.dedupe.expire(now, window);
            if let Some(seq) = stream.dedupe.get(id) {
                // Waits for the sync too: the first copy may not be on disk yet.
                return Some(Acked {
                    reply: ack_to,
                    body: respond::pub_ack(&stream.config.name, seq, true, domain),
                    file: !memory,
                });
            }
        }
        if let Some(want) = hdr("Nats-Expected-Last-Msg-Id") {
            let last = stream.last_msg_id.as_deref().unwrap_or("");
            if want != last {
                return fail(ApiError::wrong_last_msg_id(last));
            }
        }
        // Limits that refuse instead of making room (discard new).
        let discard_new = stream.config.discard == api::DiscardPolicy::New;
        if discard_new {
            let staged_bytes =
                stream.staged_bytes + stream.staged.len() as u64 * stream.extra_per_msg();
            let full_msgs =
                stream.config.max_msgs > 0 && state.msgs as i64 >= stream.config.max_msgs;
            let full_bytes = stream.config.max_bytes > 0
                && (stream.bytes() + staged_bytes + size as u64 + stream.extra_per_msg()) as i64
                    > stream.config.max_bytes;
            if full_msgs {
                return fail(ApiError::store_failed(api::MAX_MSGS_EXCEEDED));
            }
            if full_bytes {
                return fail(ApiError::store_failed(api::MAX_BYTES_EXCEEDED));
            }
            if stream.config.max_msgs_per_subject > 0
                && (stream.msgs.subject_count(subject)
                    + stream
                        .staged
                        .iter()
                        .filter(|m| m.subject() == subject)
                        .count() as u64) as i64
                    >= stream.config.max_msgs_per_subject
            {
                return fail(ApiError::store_failed(api::MAX_MSGS_PER_SUBJECT_EXCEEDED));
            }
        }
        let seq = state.last_seq + 1;
        stream.staged_bytes += size as u64;
        stream.staged.push(Staged {
            seq,
            time_ns: now,
            msg: m,
        });
        if let Some(id) = msg_id {
            stream.dedupe.insert(&id, seq, now);
            stream.last_msg_id = Some(id);
        }
        Some(Acked {
            reply: ack_to,
            body: respond::pub_ack(&stream.config.name, seq, false, domain),
            file: !memory,
        })
    }

    /// Applies an ack; returns the stream whose consumers may now deliver more.
    fn on_ack(&mut self, m: &Incoming) -> Option<String> {
        // $JS.ACK.<stream>.<consumer>.<deliveries>.<stream seq>.<consumer seq>.<ts>.<pending>
        let text = m.subject_str();
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() < 9 {
            return None;
        }
        let (sname, cname) = (parts[2], parts[3]);
        let (Ok(deliveries), Ok(seq), Ok(cseq)) = (
            parts[4].parse::<u64>(),
            parts[5].parse::<u64>(),
            parts[6].parse::<u64>(),
        ) else {
            return None;
        };
        let body = m.payload();
        let stream = self.streams.get_mut(sname)?;
        let retention = stream.config.retention;
        let c = stream.consumers.get_mut(cname)?;
        c.touch();
        let mut removed = Vec::new();
        let mut next: Option<Vec<u8>> = None;
        // NAK and TERM are announced (dead-letter handlers and monitors listen).
        let mut advisory: Option<push::DeliveryEvent> = None;
        if body.is_empty() || body.starts_with(b"+ACK") {
            removed = c.ack(seq);
        } else if body.starts_with(b"-NAK") {
            let delay = nak_delay(&body[4..]);
            if c.progress.pending.contains_key(&seq) {
                advisory = Some(push::DeliveryEvent::Nak);
            }
            c.nak(seq, delay);
        } else if body.starts_with(b"+WPI") {
            c.in_progress(seq);
        } else if body.starts_with(b"+TERM") {
            if c.term(seq) {
                removed.push(seq);
            }
            advisory = Some(push::DeliveryEvent::Term);
        } else if let Some(rest) = body.strip_prefix(b"+NXT") {
            // Ack, and a pull request (its body after the verb) to the ack's reply.
            removed = c.ack(seq);
            next = Some(rest.to_vec());
        }
        let cname = cname.to_string();
        match retention {
            // A source's direct consumer on a work queue also has to have sent it.
            api::RetentionPolicy::WorkQueue
                if stream.consumers.values().any(|c| c.config.direct) =>
            {
                for s in removed {
                    remove_if_everyone_acked(stream, s);
                }
            }
            api::RetentionPolicy::WorkQueue => {
                for s in removed {
                    let _ = stream.msgs.remove(s);
                }
            }
            api::RetentionPolicy::Interest => {
                for s in removed {
                    remove_if_everyone_acked(stream, s);
                }
            }
            _ => {}
        }
        if let Some(kind) = advisory {
            self.delivery_advisory(kind, sname, &cname, cseq, seq, deliveries);
        }
        if let (Some(body), Some(r)) = (next, m.reply()) {
            self.next_request(sname, &cname, &Bytes::copy_from_slice(r), &body);
        } else if let Some(r) = m.reply() {
            // An ack that asks for confirmation gets an empty reply once it is applied
            // and durable (after this round's save and flush).
            self.confirms.push(Bytes::copy_from_slice(r));
        }
        Some(sname.to_string())
    }

    /// Serves waiting pull requests of every consumer of a stream.
    fn deliver_stream(&mut self, name: &str) {
        let Some(stream) = self.streams.get_mut(name) else {
            return;
        };
        let names: Vec<String> = stream.consumers.keys().cloned().collect();
        for cname in names {
            self.deliver_consumer(name, &cname);
        }
    }

    fn deliver_consumer(&mut self, sname: &str, cname: &str) {
        let push = self
            .streams
            .get(sname)
            .and_then(|s| s.consumers.get(cname))
            .is_some_and(|c| c.config.is_push());
        if push {
            return self.deliver_push(sname, cname);
        }
        let mut out: Vec<(Bytes, StoredMsg, Bytes)> = Vec::new();
        let mut statuses: Vec<(Bytes, Vec<u8>)> = Vec::new();
        let mut exceeded: Vec<(u64, u64)> = Vec::new();
        {
            let Some(stream) = self.streams.get_mut(sname) else {
                return;
            };
            let msgs = stream.msgs.clone();
            let Some(c) = stream.consumers.get_mut(cname) else {
                return;
            };
            // Scanning the pending acks is only worth it when one may be due.
            let mut redeliveries = c.next_due().is_some_and(|at| at <= Instant::now());
            let filter = c.config.filter_subject.clone();
            let matches =
                |s: &str| filter.is_empty() || subject::matches(filter.as_bytes(), s.as_bytes());
            while let Some(req) = c.waiting.front() {
                let no_wait = req.no_wait;
                if req.batch == 0 {
                    c.waiting.pop_front();
                    continue;
                }
                // Redeliveries first, then new messages.
                let due = if redeliveries {
                    c.due_redelivery()
                } else {
                    None
                };
                redeliveries = due.is_some();
                let next = if let Some(seq) = due {
                    match msgs.get(seq) {
                        Ok(Some(m)) => Some((m, true)),
                        _ => {
                            c.progress.pending.remove(&seq);
                            continue;
                        }
                    }
                } else if c.ack_pending_full() {
                    None
                } else {
                    let found = c.next_new(&msgs, &matches);
                    if found.is_none() && c.skip.is_empty() {
                        // Nothing it takes up to the stream's end: a waiting request
                        // moves it there, as nats-server's look-up does.
                        c.caught_up(msgs.state().last_seq);
                    }
                    found.map(|m| (m, false))
                };
                let Some((m, redelivery)) = next else {
                    // A no_wait request ends when nothing is there now: with a 408 once it
                    // got something, with a 404 if it got nothing and has no expiry; with
                    // an expiry and nothing yet it waits for the first message (nats-server
                    // 2.9's one-shot request).
                    let r = c.waiting.front().expect("front exists");
                    if no_wait && (r.sent > 0 || r.expires.is_none()) {
                        let r = c.waiting.pop_front().expect("front exists");
                        let status = if r.sent > 0 {
                            request_timeout(&r)
                        } else {
                            b"NATS/1.0 404 No Messages\r\n\r\n".to_vec()
                        };
                        statuses.push((r.reply, status));
                        continue;
                    }
                    break;
                };
                if redelivery {
                    let deliveries = c.progress.pending.get(&m.seq).map_or(0, |p| p.deliveries);
                    if c.exhausted(deliveries) {
                        // max_deliver reached: no more redeliveries of it.
                        c.progress.pending.remove(&m.seq);
                        exceeded.push((m.seq, deliveries));
                        continue;
                    }
                }
                // Replay original holds it back until its time (pull takes no rate limit).
                if !c.may_send(m.seq, m.time_ns, redelivery, 0.0, 0) {
                    break;
                }
                let (cseq, deliveries) = c.note_delivery(m.seq, redelivery);
                c.touch();
                let pending = c.num_pending(&msgs, &matches);
                let ack = format!(
                    "$JS.ACK.{sname}.{cname}.{deliveries}.{}.{cseq}.{}.{pending}",
                    m.seq, m.time_ns
                );
                let req = c.waiting.front_mut().expect("front exists");
                req.batch -= 1;
                req.sent += 1;
                req.sent_bytes += m.payload.len() as u64;
                req.hb_at = req.heartbeat.map(|h| Instant::now() + h);
                let reply = req.reply.clone();
                if req.batch == 0 || (req.max_bytes > 0 && req.sent_bytes >= req.max_bytes) {
                    c.waiting.pop_front();
                }
                out.push((reply, m, Bytes::from(ack)));
            }
        }
        for (to, m, ack) in out {
            let msg = Message {
                subject: m.subject.as_bytes(),
                via: Some(&to),
                reply: Some(&ack),
                headers: m.headers.as_deref(),
                payload: &m.payload,
            };
            self.acc
                .account
                .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
        }
        self.max_deliveries_advisories(sname, cname, &exceeded);
        for (to, status) in statuses {
            let msg = Message {
                subject: &to,
                via: None,
                reply: None,
                headers: Some(&status),
                payload: b"",
            };
            self.acc
                .account
                .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
        }
    }

    /// Expired pull requests, redeliveries that fell due, max_age.
    fn timers(&mut self) {
        let now = Instant::now();
        let names: Vec<String> = self.streams.keys().cloned().collect();
        for sname in &names {
            let mut expired: Vec<(Bytes, Vec<u8>)> = Vec::new();
            if let Some(stream) = self.streams.get_mut(sname) {
                expire_by_age(stream);
                for c in stream.consumers.values_mut() {
                    c.waiting.retain(|r| {
                        let gone = r.expires.is_some_and(|e| e <= now);
                        if gone {
                            expired.push((r.reply.clone(), request_timeout(r)));
                        }
                        !gone
                    });
                }
            }
            for (r, status) in expired {
                let msg = Message {
                    subject: &r,
                    via: None,
                    reply: None,
                    headers: Some(&status),
                    payload: b"",
                };
                self.acc
                    .account
                    .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
            }
            self.deliver_stream(sname);
        }
        self.push_timers();
    }

    fn next_timer(&self) -> Instant {
        let mut at = Instant::now() + Duration::from_secs(1);
        for s in self.streams.values() {
            for c in s.consumers.values() {
                if c.waiting.is_empty() {
                    continue;
                }
                for r in &c.waiting {
                    if let Some(e) = r.expires {
                        at = at.min(e);
                    }
                }
                if let Some(d) = c.next_due() {
                    at = at.min(d);
                }
            }
        }
        if let Some(t) = self.unflushed_since {
            at = at.min(t + CONSUMER_FLUSH_EVERY);
        }
        if let Some(t) = self.push_next_timer() {
            at = at.min(t);
        }
        at.max(Instant::now() + Duration::from_millis(1))
    }

    /// Fills in (or empties) the feed of `name`, if it has an uplink.
    fn attach_feed(&mut self, name: &str) {
        let Some(feed) = self.acc.feeds.lock().get(name).cloned() else {
            return;
        };
        if let Some(s) = self.streams.get_mut(name) {
            s.uplinked = true;
        }
        match self.streams.get(name) {
            Some(s) => {
                let subjects = captured_subjects(&s.config);
                let (log, incarnation) = (s.msgs.clone(), s.incarnation.clone());
                let (retention, forwarded) = (s.config.retention, s.uplink_forwarded);
                let last = self.durable_seq(name, s);
                feed.update(|f| {
                    f.log = Some(log);
                    f.incarnation = incarnation;
                    f.subjects = subjects;
                    f.retention = retention;
                    f.durable_last = last;
                    f.forwarded = forwarded;
                });
            }
            None => feed.update(|f| {
                f.log = None;
                f.forwarded = 0;
                f.durable_last = 0;
            }),
        }
    }

    /// Tells the uplinks how far their streams are durable: for a file stream, as far as
    /// the last completed disk sync reached (never what is only stored), so nothing
    /// unflushed is ever forwarded; a memory stream, or one without sync before ack, as
    /// far as it is stored.
    fn feeds_durable(&self) {
        let feeds: Vec<Arc<Feed>> = self.acc.feeds.lock().values().cloned().collect();
        for feed in feeds {
            if let Some(s) = self.streams.get(&feed.stream) {
                feed.durable_to(self.durable_seq(&feed.stream, s));
            }
        }
    }

    /// The last seq of stream `name` (`s`) that is on disk, as far as uplinks are told.
    fn durable_seq(&self, name: &str, s: &Stream) -> u64 {
        if s.memory || !self.sync_before_ack {
            return s.msgs.state().last_seq;
        }
        match self.durable.get(name) {
            Some((inc, seq)) if *inc == s.incarnation => *seq,
            // Created since the last sync: nothing of it is known durable yet.
            _ => 0,
        }
    }

    /// The cloud stored everything up to `seq`: record it, and drop what retention says
    /// is done. A work queue's uplink is its consumer, so all of it goes.
    fn on_forwarded(&mut self, name: &str, seq: u64) {
        let Some(s) = self.streams.get_mut(name) else {
            return;
        };
        if seq <= s.uplink_forwarded {
            return;
        }
        let from = s.uplink_forwarded + 1;
        s.uplink_forwarded = seq;
        // The record goes to the store before the removals: sled recovers a prefix of its
        // writes, so after a crash removed messages are never mistaken for messages lost
        // before they were forwarded.
        let store = if s.memory { &self.memory } else { &self.file };
        let key = store_name(&self.acc.account.name, name);
        if let Err(e) = store.save_consumer(&key, UPLINK_RECORD, &seq.to_le_bytes()) {
            warn!("JetStream stream {name:?}: saving the uplink's progress failed: {e}");
            s.uplink_dirty = true;
        }
        self.unflushed_since.get_or_insert_with(Instant::now);
        match s.config.retention {
            api::RetentionPolicy::WorkQueue => {
                if let Err(e) = s.msgs.purge(Some(seq + 1), None, &|_| true) {
                    warn!("JetStream stream {name:?}: removing forwarded messages failed: {e}");
                }
            }
            api::RetentionPolicy::Interest => {
                let first = s.msgs.state().first_seq.max(from);
                for q in first..=seq {
                    remove_if_everyone_acked(s, q);
                }
            }
            api::RetentionPolicy::Limits => {}
        }
        if let Some(feed) = self.acc.feeds.lock().get(name) {
            feed.update(|f| f.forwarded = f.forwarded.max(seq));
        }
    }

    /// Consumer progress goes to the store once per batch, not once per ack.
    fn save_consumers(&mut self) {
        let acc = self.acc.account.name.clone();
        let mut wrote = false;
        for (sname, s) in &mut self.streams {
            let store = if s.memory { &self.memory } else { &self.file };
            if std::mem::take(&mut s.uplink_dirty) {
                let key = store_name(&acc, sname);
                let data = s.uplink_forwarded.to_le_bytes();
                if let Err(e) = store.save_consumer(&key, UPLINK_RECORD, &data) {
                    warn!("JetStream stream {sname:?}: saving the uplink's progress failed: {e}");
                }
                wrote = true;
            }
            for c in s.consumers.values_mut() {
                // Direct consumers (a source's or mirror's) keep no state, as in nats-server.
                if !c.dirty || c.config.direct {
                    continue;
                }
                c.dirty = false;
                let meta = ConsumerMeta {
                    config: c.config.clone(),
                    created_ns: ns_of(c.created),
                    progress: c.progress.clone(),
                };
                if let Ok(data) = serde_json::to_vec(&meta) {
                    if let Err(e) = store.save_consumer(&store_name(&acc, sname), &c.name, &data) {
                        warn!("JetStream consumer {:?}: saving state failed: {e}", c.name);
                    }
                    wrote = true;
                }
            }
        }
        // Plain acks are not answered, so their state may reach the disk a little later
        // (a crash then redelivers, which ack semantics allow); confirmed acks wait for it.
        if wrote {
            self.unflushed_since.get_or_insert_with(Instant::now);
        }
        let due = self
            .unflushed_since
            .is_some_and(|t| t.elapsed() >= CONSUMER_FLUSH_EVERY);
        if !self.sync_before_ack {
            self.unflushed_since = None;
            for r in std::mem::take(&mut self.confirms) {
                self.respond(&r, b"");
            }
            return;
        }
        // Confirmed acks are answered after a sync that starts after their state was
        // written (`start_sync`, at the end of this round).
        if due || !self.confirms.is_empty() {
            self.sync_wanted = true;
        }
        self.unsynced_confirms.append(&mut self.confirms);
    }

    // ---- the API ---------------------------------------------------------------------

    fn api(&mut self, m: &Incoming) {
        let subject = m.subject_str();
        let Some(op) = subject.strip_prefix("$JS.API.") else {
            return;
        };

        // nats-server answers nothing without a reply subject.
        let Some(reply) = m.reply().map(Bytes::copy_from_slice) else {
            return;
        };
        let body = m.payload();
        let tokens: Vec<&str> = op.split('.').collect();
        let result: Option<(&str, Result<Vec<u8>, ApiError>)> = match tokens.as_slice() {
            ["INFO"] => Some(("account_info_response", Ok(self.account_info()))),
            ["STREAM", "CREATE", name] => {
                Some(("stream_create_response", self.stream_create(name, body)))
            }
            ["STREAM", "UPDATE", name] => {
                Some(("stream_update_response", self.stream_update(name, body)))
            }
            ["STREAM", "INFO", name] => Some(("stream_info_response", self.stream_info(name))),
            ["STREAM", "DELETE", name] => {
                Some(("stream_delete_response", self.stream_delete(name)))
            }
            ["STREAM", "PURGE", name] => {
                Some(("stream_purge_response", self.stream_purge(name, body)))
            }
            ["STREAM", "NAMES"] => Some(("stream_names_response", self.stream_names(body))),
            ["STREAM", "LIST"] => Some(("stream_list_response", self.stream_list(body))),
            ["STREAM", "MSG", "GET", name] => {
                Some(("stream_msg_get_response", self.msg_get(name, body)))
            }
            ["STREAM", "MSG", "DELETE", name] => {
                Some(("stream_msg_delete_response", self.msg_delete(name, body)))
            }
            ["CONSUMER", "CREATE", stream] => Some((
                "consumer_create_response",
                self.consumer_create(stream, respond::CreateForm::LegacyEphemeral, body),
            )),
            // The 2.9 form may add the filter subject after the name.
            ["CONSUMER", "CREATE", stream, name, filter @ ..] => {
                let filter = filter.join(".");
                let form = respond::CreateForm::Named(
                    name,
                    Some(filter.as_str()).filter(|f| !f.is_empty()),
                );
                Some((
                    "consumer_create_response",
                    self.consumer_create(stream, form, body),
                ))
            }
            ["CONSUMER", "DURABLE", "CREATE", stream, name] => Some((
                "consumer_create_response",
                self.consumer_create(stream, respond::CreateForm::LegacyDurable(name), body),
            )),
            ["CONSUMER", "INFO", stream, name] => {
                Some(("consumer_info_response", self.consumer_info(stream, name)))
            }
            ["CONSUMER", "DELETE", stream, name] => Some((
                "consumer_delete_response",
                self.consumer_delete(stream, name),
            )),
            ["CONSUMER", "NAMES", stream] => {
                Some(("consumer_names_response", self.consumer_names(stream, body)))
            }
            ["CONSUMER", "LIST", stream] => {
                Some(("consumer_list_response", self.consumer_list(stream, body)))
            }
            ["CONSUMER", "MSG", "NEXT", stream, name] => {
                // No reply at all for a missing consumer (nats-server 2.9.10).
                self.next_request(stream, name, &reply, body);
                None
            }
            // Unknown API subjects get no answer from 2.9.10 either.
            _ => None,
        };
        // As nats-server 2.9.10 counts [observed]: a request is counted after it is
        // answered (so INFO does not see itself), and successful message gets not at all.
        let get = op.starts_with("STREAM.MSG.GET.");
        match result {
            Some((kind, res)) => match res {
                Ok(body) => {
                    self.respond(&reply, &body);
                    if !get {
                        self.api_total += 1;
                    }
                }
                Err(e) => {
                    self.respond_error(Some(&reply), kind, e);
                    self.api_total += 1;
                }
            },
            None => self.api_total += 1,
        }
    }

    fn account_info(&self) -> Vec<u8> {
        let mut memory = 0;
        let mut storage = 0;
        let mut consumers = 0;
        for s in self.streams.values() {
            if s.memory {
                memory += s.bytes();
            } else {
                storage += s.bytes();
            }
            consumers += s.consumers.len();
        }
        respond::account_info(
            memory,
            storage,
            self.streams.len(),
            consumers,
            self.api_total,
            self.api_errors,
            self.acc.domain.as_deref(),
        )
    }

    fn stream_info_of(&self, name: &str) -> Result<api::StreamInfo, ApiError> {
        let s = self
            .streams
            .get(name)
            .ok_or_else(ApiError::stream_not_found)?;
        let mut st = s.msgs.state();
        st.bytes = s.bytes();
        let mut info = respond::stream_info(
            s.config.clone(),
            s.created,
            st,
            s.public_consumers().count(),
            self.acc.domain.as_deref(),
        );
        info.state.num_subjects = s.msgs.subjects_len() as u64;
        Ok(info)
    }

    fn stream_create(&mut self, name: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let cfg = respond::parse_stream_config(body, name)?;
        if let Some(existing) = self.streams.get(name) {
            // Same configuration: idempotent, answered with the current info.
            if existing.config == cfg {
                return Ok(respond::stream_info_response(&self.stream_info_of(name)?));
            }
            return Err(ApiError::stream_name_in_use());
        }
        for s in self.streams.values() {
            let theirs = captured_subjects(&s.config);
            for a in &cfg.subjects {
                if theirs
                    .iter()
                    .any(|b| subject::patterns_overlap(a.as_bytes(), b.as_bytes()))
                {
                    return Err(ApiError::subjects_overlap());
                }
            }
        }
        let memory = cfg.storage == api::StorageType::Memory;
        let key = store_name(&self.acc.account.name, name);
        let store = self.store(memory).clone();
        let created = SystemTime::now();
        let meta = StreamMeta {
            config: cfg.clone(),
            created_ns: ns_of(created),
            incarnation: new_incarnation(),
        };
        let save = serde_json::to_vec(&meta).map_err(|e| ApiError::store_failed(e.to_string()))?;
        store
            .save_stream_meta(&key, &save)
            .map_err(|e| ApiError::store_failed(e.to_string()))?;
        let msgs = store
            .messages(&key)
            .map_err(|e| ApiError::store_failed(e.to_string()))?;
        let _ = store.flush();
        let mut stream = Stream {
            config: cfg,
            created,
            msgs,
            subs: Vec::new(),
            dedupe: Dedupe::default(),
            consumers: BTreeMap::new(),
            memory,
            staged: Vec::new(),
            staged_bytes: 0,
            last_msg_id: None,
            incarnation: meta.incarnation,
            uplinked: false,
            uplink_forwarded: 0,
            uplink_dirty: false,
        };
        self.capture(&mut stream);
        self.streams.insert(name.to_string(), stream);
        self.attach_feed(name);
        Ok(respond::stream_create_response(&self.stream_info_of(name)?))
    }

    fn stream_update(&mut self, name: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let cfg = respond::parse_stream_config(body, name)?;
        let Some(s) = self.streams.get(name) else {
            return Err(ApiError::stream_not_found());
        };
        respond::check_stream_update(&s.config, &cfg)?;
        let key = store_name(&self.acc.account.name, name);
        let memory = s.memory;
        let created = s.created;
        let meta = StreamMeta {
            config: cfg.clone(),
            created_ns: ns_of(created),
            incarnation: s.incarnation.clone(),
        };
        let save = serde_json::to_vec(&meta).map_err(|e| ApiError::store_failed(e.to_string()))?;
        self.store(memory)
            .save_stream_meta(&key, &save)
            .map_err(|e| ApiError::store_failed(e.to_string()))?;
        let mut s = self.streams.remove(name).expect("checked above");
        s.config = cfg;
        self.capture(&mut s);
        enforce_limits(&mut s, "");
        self.streams.insert(name.to_string(), s);
        self.attach_feed(name);
        Ok(respond::stream_update_response(&self.stream_info_of(name)?))
    }

    fn stream_info(&self, name: &str) -> Result<Vec<u8>, ApiError> {
        Ok(respond::stream_info_response(&self.stream_info_of(name)?))
    }

    fn stream_delete(&mut self, name: &str) -> Result<Vec<u8>, ApiError> {
        let Some(s) = self.streams.remove(name) else {
            return Err(ApiError::stream_not_found());
        };
        for sub in &s.subs {
            self.acc.account.unsubscribe(sub);
        }
        for c in s.consumers.values() {
            self.consumer_gone(name, c);
        }
        let key = store_name(&self.acc.account.name, name);
        self.store(s.memory)
            .delete_stream(&key)
            .map_err(|e| ApiError::store_failed(e.to_string()))?;
        let _ = self.store(s.memory).flush();
        self.attach_feed(name);
        Ok(respond::success_response("stream_delete_response"))
    }

    fn stream_purge(&mut self, name: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let req: api::StreamPurgeRequest = api::parse_optional_request(body)?;
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(ApiError::stream_not_found)?;
        if s.config.deny_purge {
            return Err(ApiError::purge_not_permitted());
        }
        let filter = req.filter.clone();
        let matches =
            |subj: &str| filter.is_empty() || subject::matches(filter.as_bytes(), subj.as_bytes());
        let purged = s
            .msgs
            .purge(
                (req.seq > 0).then_some(req.seq),
                (req.keep > 0).then_some(req.keep),
                &matches,
            )
            .map_err(|e| ApiError::store_failed(e.to_string()))?;
        let memory = s.memory;
        for c in s.consumers.values_mut() {
            let first = s.msgs.state().first_seq;
            c.progress.pending.retain(|seq, _| *seq >= first);
            if c.progress.delivered_stream + 1 < first {
                c.progress.delivered_stream = first.saturating_sub(1);
                c.progress.ack_floor_stream = c.progress.delivered_stream;
            }
            c.recount_pending();
            c.dirty = true;
        }
        let _ = self.store(memory).flush();
        Ok(respond::purge_response(purged))
    }

    fn stream_names(&self, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let req: api::StreamNamesRequest = api::parse_optional_request(body)?;
        let filter = Some(req.subject.clone()).filter(|s| !s.is_empty());
        let names: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| {
                filter.as_ref().is_none_or(|f| {
                    s.config
                        .subjects
                        .iter()
                        .any(|x| subject::patterns_overlap(x.as_bytes(), f.as_bytes()))
                })
            })
            .map(|(n, _)| n.clone())
            .collect();
        Ok(respond::stream_names_response(&names, req.offset))
    }

    fn stream_list(&self, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let req: api::StreamListRequest = api::parse_optional_request(body)?;
        let infos: Vec<api::StreamInfo> = self
            .streams
            .keys()
            .filter_map(|n| self.stream_info_of(n).ok())
            .collect();
        Ok(respond::stream_list_response(&infos, req.offset))
    }

    fn msg_get(&self, name: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let s = self
            .streams
            .get(name)
            .ok_or_else(ApiError::stream_not_found)?;
        let req: api::StreamMsgGetRequest = api::parse_request(body)?;
        let found = if !req.last_by_subj.is_empty() {
            let subj = req.last_by_subj.clone();
            s.msgs
                .last(&|x| subject::matches(subj.as_bytes(), x.as_bytes()))
                .map_err(|e| ApiError::store_failed(e.to_string()))?
        } else {
            s.msgs
                .get(req.seq)
                .map_err(|e| ApiError::store_failed(e.to_string()))?
        };
        let m = found.ok_or_else(ApiError::no_message_found)?;
        Ok(respond::msg_get_response(&m))
    }

    fn msg_delete(&mut self, name: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(ApiError::stream_not_found)?;
        if s.config.deny_delete {
            return Err(ApiError::msg_delete_not_permitted());
        }
        let seq = api::parse_request::<api::StreamMsgDeleteRequest>(body)?.seq;
        let removed = s
            .msgs
            .remove(seq)
            .map_err(|e| ApiError::store_failed(e.to_string()))?;
        let memory = s.memory;
        if !removed {
            return Err(ApiError::no_message_found());
        }
        for c in s.consumers.values_mut() {
            c.recount_pending();
        }
        let _ = self.store(memory).flush();
        Ok(respond::success_response("stream_msg_delete_response"))
    }

    fn consumer_info_of(&self, stream: &str, name: &str) -> Result<api::ConsumerInfo, ApiError> {
        let s = self
            .streams
            .get(stream)
            .ok_or_else(ApiError::stream_not_found)?;
        let c = s
            .consumers
            .get(name)
            .ok_or_else(ApiError::consumer_not_found)?;
        let filter = c.config.filter_subject.clone();
        // A last_per_subject consumer still has its list to go, then what came after.
        let from = if c.skip.is_empty() {
            c.progress.delivered_stream + 1
        } else {
            c.skip_resume + 1
        };
        // Messages not yet delivered that the filter takes.
        let mut num_pending = c.skip.len() as u64;
        let mut seq = from;
        let st = s.msgs.state();
        if filter.is_empty() {
            num_pending += if st.msgs == 0 || from > st.last_seq {
                0
            } else {
                // Present messages at or after `from`.
                let mut n = 0;
                while let Ok(Some(m)) = s.msgs.next(seq, &|_| true) {
                    n += 1;
                    seq = m.seq + 1;
                }
                n
            };
        } else {
            while let Ok(Some(m)) = s
                .msgs
                .next(seq, &|x| subject::matches(filter.as_bytes(), x.as_bytes()))
            {
                num_pending += 1;
                seq = m.seq + 1;
            }
        }
        let mut info = respond::consumer_info(
            stream,
            name,
            c.created,
            c.config.clone(),
            &c.progress,
            c.waiting.len(),
            num_pending,
        );
        info.push_bound = c.config.is_push() && c.push.active;
        Ok(info)
    }

    fn consumer_create(
        &mut self,
        stream: &str,
        form: respond::CreateForm<'_>,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let cfg = respond::parse_consumer_create(body, stream, form)?;
        let s = self
            .streams
            .get(stream)
            .ok_or_else(ApiError::stream_not_found)?;
        respond::check_consumer_config(&cfg, &s.config)?;
        let name = if !cfg.durable_name.is_empty() {
            cfg.durable_name.clone()
        } else if !cfg.name.is_empty() {
            cfg.name.clone()
        } else {
            // A legacy ephemeral: a random name, which its configuration does not show
            // (nats-server names the consumer, not the copy of the config it keeps).
            let mut n = respond::random_name();
            while s.consumers.contains_key(&n) {
                n = respond::random_name();
            }
            n
        };
        if let Some(existing) = s.consumers.get(&name) {
            let in_use = self.deliver_subject_in_use(existing);
            respond::check_consumer_update(&existing.config, &cfg, in_use)?;
            if self.update_consumer(stream, &name, cfg) {
                self.save_consumers();
            }
            let info = self.consumer_info_of(stream, &name)?;
            return Ok(respond::consumer_create_response(&info));
        }
        if s.config.max_consumers > 0
            && s.public_consumers().count() as i64 >= s.config.max_consumers
        {
            return Err(ApiError::maximum_consumers_limit());
        }
        if s.config.retention == api::RetentionPolicy::WorkQueue && !cfg.direct {
            respond::check_workqueue_consumer(&cfg, s.consumers.values().map(|c| &c.config))?;
        }
        if cfg.durable_name.len() > 255 {
            return Err(ApiError::consumer_name_too_long());
        }
        if !respond::valid_consumer_name(&name) {
            return Err(ApiError::consumer_bad_durable_name());
        }
        let mut c = Consumer::new(name.clone(), cfg.clone(), SystemTime::now());
        // Where delivery starts.
        let st = s.msgs.state();
        let filter = cfg.filter_subject.clone();
        let takes_it =
            |x: &str| filter.is_empty() || subject::matches(filter.as_bytes(), x.as_bytes());
        let start = match cfg.deliver_policy {
            api::DeliverPolicy::All => 0,
            api::DeliverPolicy::New => st.last_seq,
            api::DeliverPolicy::Last => s
                .msgs
                .last(&takes_it)
                .ok()
                .flatten()
                .map_or(st.last_seq, |m| m.seq - 1),
            api::DeliverPolicy::LastPerSubject => {
                // The last message of every subject the filter takes, oldest first, then
                // whatever comes after the stream's current end.
                let mut last: HashMap<String, u64> = HashMap::new();
                let mut seq = 0;
                while let Ok(Some(m)) = s.msgs.next(seq + 1, &takes_it) {
                    seq = m.seq;
                    last.insert(m.subject, m.seq);
                }
                let mut seqs: Vec<u64> = last.into_values().collect();
                seqs.sort_unstable();
                match seqs.first() {
                    Some(first) => {
                        let start = first - 1;
                        c.skip = seqs.into();
                        c.skip_resume = st.last_seq;
                        start
                    }
                    None => st.last_seq,
                }
            }
            api::DeliverPolicy::ByStartSequence => cfg.opt_start_seq.saturating_sub(1),
            api::DeliverPolicy::ByStartTime => {
                let at = cfg.opt_start_time.map_or(0, |t| t.unix_nanos());
                let mut seq = 0;
                while let Ok(Some(m)) = s.msgs.next(seq + 1, &|_| true) {
                    if m.time_ns >= at {
                        break;
                    }
                    seq = m.seq;
                }
                seq
            }
        };
        c.progress.delivered_stream = start;
        c.progress.ack_floor_stream = start;
        if let Some(s) = self.streams.get_mut(stream) {
            s.consumers.insert(name.clone(), c);
        }
        self.save_consumers();
        self.consumer_action_advisory(stream, &name, true);
        self.start_consumer(stream, &name);
        let info = self.consumer_info_of(stream, &name)?;
        Ok(respond::consumer_create_response(&info))
    }

    fn consumer_info(&self, stream: &str, name: &str) -> Result<Vec<u8>, ApiError> {
        Ok(respond::consumer_info_response(
            &self.consumer_info_of(stream, name)?,
        ))
    }

    fn consumer_delete(&mut self, stream: &str, name: &str) -> Result<Vec<u8>, ApiError> {
        self.remove_consumer(stream, name)?;
        Ok(respond::success_response("consumer_delete_response"))
    }

    fn consumer_names(&self, stream: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let req: api::ConsumerNamesRequest = api::parse_optional_request(body)?;
        let s = self
            .streams
            .get(stream)
            .ok_or_else(ApiError::stream_not_found)?;
        let names: Vec<String> = s.public_consumers().map(|c| c.name.clone()).collect();
        Ok(respond::consumer_names_response(&names, req.offset))
    }

    fn consumer_list(&self, stream: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let req: api::ConsumerListRequest = api::parse_optional_request(body)?;
        let s = self
            .streams
            .get(stream)
            .ok_or_else(ApiError::stream_not_found)?;
        let infos: Vec<api::ConsumerInfo> = s
            .public_consumers()
            .filter_map(|c| self.consumer_info_of(stream, &c.name).ok())
            .collect();
        Ok(respond::consumer_list_response(&infos, req.offset))
    }

    fn next_request(&mut self, stream: &str, name: &str, reply: &Bytes, body: &[u8]) {
        let Some(s) = self.streams.get_mut(stream) else {
            return;
        };
        let Some(c) = s.consumers.get_mut(name) else {
            return;
        };
        if c.config.is_push() {
            let msg = Message {
                subject: reply,
                via: None,
                reply: None,
                headers: Some(b"NATS/1.0 409 Consumer is push based\r\n\r\n"),
                payload: b"",
            };
            self.acc
                .account
                .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
            return;
        }
        c.touch();
        // A request nats-server cannot read gets a 400 status (its text after the dash is
        // Go's JSON error there, serde's here).
        let checked = match api::NextRequest::parse(body) {
            Ok(req) => match req.check() {
                None => pull_limits(&c.config, &req, c.waiting.len()).map_or(Ok(req), Err),
                Some(why) => Err(format!("400 {why}")),
            },
            Err(e) => Err(format!("400 Bad Request - {e}")),
        };
        let req = match checked {
            Ok(req) => req,
            Err(why) => {
                let status = format!("NATS/1.0 {why}\r\n\r\n");
                let msg = Message {
                    subject: reply,
                    via: None,
                    reply: None,
                    headers: Some(status.as_bytes()),
                    payload: b"",
                };
                self.acc
                    .account
                    .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
                return;
            }
        };
        let heartbeat =
            (req.idle_heartbeat > 0).then(|| Duration::from_nanos(req.idle_heartbeat as u64));
        c.waiting.push_back(PullRequest {
            reply: reply.clone(),
            batch: req.batch.max(1) as u64,
            max_bytes: req.max_bytes.max(0) as u64,
            sent: 0,
            sent_bytes: 0,
            expires: (req.expires > 0)
                .then(|| Instant::now() + Duration::from_nanos(req.expires as u64)),
            no_wait: req.no_wait,
            heartbeat,
            hb_at: heartbeat.map(|h| Instant::now() + h),
        });
        self.deliver_consumer(stream, name);
    }
}

/// A pull request over the consumer's limits (max_batch, max_expires, max_bytes,
/// max_waiting): the 409 status nats-server answers it with.
fn pull_limits(cfg: &ConsumerConfig, req: &api::NextRequest, waiting: usize) -> Option<String> {
    if cfg.max_batch > 0 && req.batch > cfg.max_batch {
        return Some(format!("409 Exceeded MaxRequestBatch of {}", cfg.max_batch));
    }
    if req.expires > 0 && cfg.max_expires > 0 && req.expires > cfg.max_expires {
        let max = crate::monitor::go_duration(Duration::from_nanos(cfg.max_expires as u64));
        return Some(format!("409 Exceeded MaxRequestExpires of {max}"));
    }
    if req.max_bytes > 0 && cfg.max_bytes > 0 && req.max_bytes > cfg.max_bytes {
        return Some(format!(
            "409 Exceeded MaxRequestMaxBytes of {}",
            cfg.max_bytes
        ));
    }
    if cfg.max_waiting > 0 && waiting as i64 >= cfg.max_waiting {
        return Some("409 Exceeded MaxWaiting".to_string());
    }
    None
}

/// The status that ends a pull request that timed out (or a no_wait one that got
/// something), with what it did not get.
fn request_timeout(r: &PullRequest) -> Vec<u8> {
    let bytes_left = r.max_bytes.saturating_sub(r.sent_bytes);
    format!(
        "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: {}\r\nNats-Pending-Bytes: {bytes_left}\r\n\r\n",
        r.batch
    )
    .into_bytes()
}

/// Does a consumer with this filter take messages on `subject`?
/// The subjects a stream captures: its `subjects`, or its name when it has none.
fn captured_subjects(cfg: &StreamConfig) -> Vec<String> {
    if cfg.subjects.is_empty() {
        vec![cfg.name.clone()]
    } else {
        cfg.subjects.clone()
    }
}

fn takes(filter: &str, subject: &str) -> bool {
    filter.is_empty() || subject::matches(filter.as_bytes(), subject.as_bytes())
}

/// Interest retention: a message goes once every consumer that takes it has acked it.
fn remove_if_everyone_acked(s: &mut Stream, seq: u64) {
    let Ok(Some(m)) = s.msgs.get(seq) else {
        return;
    };
    if s.uplinked && seq > s.uplink_forwarded {
        return;
    }
    let done = s.consumers.values().all(|c| {
        !takes(&c.config.filter_subject, &m.subject)
            || (seq <= c.progress.delivered_stream && !c.progress.pending.contains_key(&seq))
    });
    if done {
        let _ = s.msgs.remove(seq);
    }
}

/// Applies max_msgs, max_bytes, max_msgs_per_subject by removing the oldest (discard old).
fn enforce_limits(s: &mut Stream, subject: &str) {
    if s.config.discard == api::DiscardPolicy::New {
        return;
    }
    let cfg = &s.config;
    loop {
        let st = s.msgs.state();
        let over_msgs = cfg.max_msgs > 0 && st.msgs as i64 > cfg.max_msgs;
        let over_bytes = cfg.max_bytes > 0 && s.bytes() as i64 > cfg.max_bytes;
        if !(over_msgs || over_bytes) || st.msgs == 0 {
            break;
        }
        let _ = s.msgs.remove(st.first_seq);
        if s.msgs.state().first_seq == st.first_seq {
            break;
        }
    }
    if cfg.max_msgs_per_subject > 0 && !subject.is_empty() {
        while s.msgs.subject_count(subject) as i64 > cfg.max_msgs_per_subject {
            match s.msgs.next(0, &|x| x == subject) {
                Ok(Some(m)) => {
                    let _ = s.msgs.remove(m.seq);
                }
                _ => break,
            }
        }
    }
}

fn expire_by_age(s: &mut Stream) {
    let max_age = s.config.max_age;
    if max_age <= 0 {
        return;
    }
    let cutoff = now_ns() - max_age;
    while let Ok(Some(m)) = s.msgs.next(0, &|_| true) {
        if m.time_ns > cutoff {
            break;
        }
        let _ = s.msgs.remove(m.seq);
    }
}

/// A header's value from a NATS header block (case-sensitive names, as nats-server).
fn header_value<'h>(block: &'h [u8], key: &str) -> Option<&'h str> {
    let text = std::str::from_utf8(block).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// `-NAK {"delay": ns}` or `-NAK <Go duration>` (`-NAK 5s`), as nats-server reads it;
/// anything else is a plain NAK.
fn nak_delay(rest: &[u8]) -> Option<Duration> {
    let text = std::str::from_utf8(rest).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with('{') {
        let v = serde_json::from_str::<serde_json::Value>(text).ok()?;
        let ns = v.get("delay").and_then(|d| d.as_i64())?;
        return (ns > 0).then(|| Duration::from_nanos(ns as u64));
    }
    crate::config::units::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_forgets_ids_once_out_of_the_window_but_not_a_newer_copy() {
        let mut d = Dedupe::default();
        d.insert("a", 1, 100);
        d.insert("b", 2, 150);
        d.expire(199, 100);
        assert_eq!((d.get("a"), d.get("b")), (Some(1), Some(2)));
        d.expire(200, 100);
        assert_eq!((d.get("a"), d.get("b")), (None, Some(2)));
        // "b" stored again after it expired: the old entry's expiry keeps the new one.
        d.expire(260, 100);
        d.insert("b", 3, 260);
        d.expire(300, 100);
        assert_eq!(d.get("b"), Some(3));
        d.expire(360, 100);
        assert_eq!(d.get("b"), None);
        assert!(d.order.is_empty() && d.seqs.is_empty());
    }

    #[test]
    fn headers_are_found_by_exact_name() {
        let block = b"NATS/1.0\r\nNats-Msg-Id: abc\r\nX: 1\r\n\r\n";
        assert_eq!(header_value(block, "Nats-Msg-Id"), Some("abc"));
        assert_eq!(header_value(block, "nats-msg-id"), None);
    }

    #[test]
    fn nak_delay_in_json() {
        assert_eq!(
            nak_delay(br#" {"delay": 2000000000}"#),
            Some(Duration::from_secs(2))
        );
        assert_eq!(nak_delay(b""), None);
        assert_eq!(nak_delay(b" 1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(nak_delay(b" soon"), None);
    }
}
