//! The store-and-forward uplink (issue 6): a local work-queue stream on the edge is
//! forwarded to a stream of the real cloud supercluster (support/cloud.rs), every message
//! once and in publish order, across link cuts, a flapping link, kill -9 of the edge, the
//! loss of the hub node, a cloud stream that does not exist yet and a reflashed device
//! (the issue's eight scenarios); plus local limits while the link is down, the TOML form
//! with a subject prefix (and invariant 3: no second path), and `/uplinkz` throughout.
//!
//! Each scenario runs against two clouds: one without a JetStream domain (the uplink can
//! only resume through the cloud stream's duplicate window) and one with the domain `hub`
//! and `cloud_domain: hub` on the uplink (it asks the cloud where it stopped). Link cuts go
//! through the leaf proxies the test controls. No timing is asserted: every wait polls with
//! a deadline that moves while there is progress and fails with what it saw.
//!
//! The cloud streams are placed in cluster2, so that killing a cluster1 node (the hub the
//! edge is attached to) never takes the stream down, and every uplinked message crosses a
//! gateway as in a real supercluster.
//!
//! `EDGELEAF_UPLINK_MSGS` sets the backlog of the large scenarios (default `DEFAULT_MSGS`).
//! Measured on 2 cores with debug builds against the first uplink (main at 692f358): a
//! 100,000-message backlog is published in 3-5 s and drained in 2-4 s, so the file takes
//! a few minutes with two clouds at a time; a failing wait costs up to a minute (`STALL`).
//! The `harness_*` tests check the cloud half and the checks themselves with a stand-in
//! (a client on a nats-server leaf sending what the uplink sends); they pass without the
//! uplink.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::{self, consumer, stream};
use async_nats::{Client, HeaderMap};
use futures::StreamExt;
use serde_json::Value;
use support::cloud::*;
use support::{Impl, TempDir};

/// The local stream, the cloud stream, and the subject the edge's programs publish on.
const STREAM: &str = "mysqldb2";
const SUBJECT: &str = "mysqldb2.1";
/// The cloud's JetStream domain in the domain variant.
const DOMAIN: &str = "hub";
/// Bytes of every test payload (`<tag>-<index>` padded with dots).
const PAYLOAD: usize = 64;
/// Acked publishes one edge publisher keeps in flight.
const PUB_WINDOW: usize = 256;
/// The backlog of the outage, flapping, kill and hub-loss scenarios.
const DEFAULT_MSGS: u64 = 100_000;
/// A wait fails when nothing moved for this long ...
const STALL: Duration = Duration::from_secs(60);
/// ... or after this long in all.
const WAIT_CAP: Duration = Duration::from_secs(600);

fn big_n() -> u64 {
    std::env::var("EDGELEAF_UPLINK_MSGS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(DEFAULT_MSGS)
}

/// The backlog of the scenarios that are about states, not volume.
fn small_n() -> u64 {
    (big_n() / 20).clamp(100, 2_000)
}

// ---------------------------------------------------------------------------------------
// The two clouds.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// No JetStream domain in the cloud: resume through the duplicate window.
    NoDomain,
    /// Domain `hub`, uplink `cloud_domain: hub`: exact resume.
    Domain,
}

impl Variant {
    fn cloud(self, leaf_proxies: bool) -> Cloud {
        Cloud::start_with(CloudOptions {
            leaf_proxies,
            js_domain: (self == Variant::Domain).then(|| DOMAIN.to_string()),
        })
    }

    /// What `/uplinkz` must say in `resume`.
    fn resume(self) -> &'static str {
        match self {
            Variant::NoDomain => "duplicate_window",
            Variant::Domain => "exact",
        }
    }

    /// The keys this variant adds to the uplink block.
    fn uplink_keys(self) -> String {
        match self {
            Variant::NoDomain => String::new(),
            Variant::Domain => format!(", cloud_domain: {DOMAIN}"),
        }
    }
}

/// Declares a scenario's two tests, one per cloud.
macro_rules! both_clouds {
    ($scenario:ident, $plain:ident, $domain:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $plain() {
            $scenario(Variant::NoDomain).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $domain() {
            $scenario(Variant::Domain).await
        }
    };
}

// ---------------------------------------------------------------------------------------
// Setup: the cloud, its stream, an edgeleaf edge with a local work-queue stream uplinked.

/// A cloud client's node: cluster2, which no scenario kills.
const CLOUD_CLIENT_NODE: Node = C2N1;

struct Setup {
    variant: Variant,
    cloud: Cloud,
    /// JetStream of account APP, through a cluster2 node.
    cloud_js: jetstream::Context,
    edge: Edge,
    edge_js: jetstream::Context,
    edge_nc: Client,
    /// The edge's store directory; declared after `edge` so the edge is killed first.
    store: TempDir,
}

#[derive(Clone, Copy)]
struct CloudStream {
    retention: stream::RetentionPolicy,
    duplicate_window: Option<Duration>,
}

const LIMITS: CloudStream = CloudStream {
    retention: stream::RetentionPolicy::Limits,
    duplicate_window: None,
};

fn cloud_stream_config(name: &str, subjects: &[&str], cs: CloudStream) -> stream::Config {
    stream::Config {
        name: name.into(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        retention: cs.retention,
        storage: stream::StorageType::File,
        num_replicas: 1,
        // 0 lets the server pick its default (2 minutes).
        duplicate_window: cs.duplicate_window.unwrap_or_default(),
        placement: Some(stream::Placement {
            cluster: Some("cluster2".into()),
            tags: vec![],
        }),
        ..Default::default()
    }
}

/// Waits until the cloud's JetStream answers (its meta leader is elected), so the edge
/// never meets a cloud that is still starting.
async fn wait_cloud_jetstream(js: &jetstream::Context) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match js.query_account().await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                eprintln!("the cloud's JetStream: {e}; asking again");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("the cloud's JetStream never answered: {e}"),
        }
    }
}

/// Creates a cloud stream, retrying while the cloud's JetStream is still electing its
/// leaders (right after the cloud started).
async fn create_cloud_stream(js: &jetstream::Context, cfg: stream::Config) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match js.create_stream(cfg.clone()).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                eprintln!("creating cloud stream {}: {e}; retrying", cfg.name);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("the cloud did not create stream {}: {e}", cfg.name),
        }
    }
}

/// The edge's work-queue stream, as the device's programs would create it.
fn local_stream_config() -> stream::Config {
    stream::Config {
        name: STREAM.into(),
        subjects: vec!["mysqldb2.>".into()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

async fn create_local_stream(js: &jetstream::Context) {
    js.create_stream(local_stream_config())
        .await
        .unwrap_or_else(|e| panic!("creating the local stream on the edge: {e}"));
}

/// The edge's config beyond the leaf remote: JetStream in `store` and the uplink of
/// `mysqldb2`, in nats-server syntax.
/// The edge's JetStream and uplink config; `keys` go into the uplink block too.
fn edge_extra(variant: Variant, store: &TempDir, keys: &str) -> String {
    format!(
        "jetstream {{ store_dir: \"{}\" }}\nuplink: [ {{ stream: {STREAM}{}{keys} }} ]\n",
        store.path.display(),
        variant.uplink_keys()
    )
}

/// Starts the cloud (with leaf proxies when `proxies`; the edge then dials through them)
/// and, if `cloud_stream` is given, the cloud stream; then the edge with the uplink, waits
/// for its link and creates the local stream.
async fn setup(variant: Variant, proxies: bool, cloud_stream: Option<CloudStream>) -> Setup {
    setup_with(variant, proxies, cloud_stream, local_stream_config(), "").await
}

/// As `setup`, with `local` as the edge's stream and `uplink_keys` (`, key: value`...)
/// added to the uplink block.
async fn setup_with(
    variant: Variant,
    proxies: bool,
    cloud_stream: Option<CloudStream>,
    local: stream::Config,
    uplink_keys: &str,
) -> Setup {
    let cloud = variant.cloud(proxies);
    let cloud_js = jetstream::new(cloud.client(CLOUD_CLIENT_NODE).await);
    wait_cloud_jetstream(&cloud_js).await;
    if let Some(cs) = cloud_stream {
        create_cloud_stream(&cloud_js, cloud_stream_config(STREAM, &["mysqldb2.>"], cs)).await;
    }
    let store = TempDir::new();
    let urls = if proxies {
        cloud.proxied_leaf_urls_cluster1("leaf", "leaf")
    } else {
        cloud.leaf_urls_cluster1("leaf", "leaf")
    };
    let edge = Edge::start(
        Impl::Edgeleaf,
        &urls,
        &edge_extra(variant, &store, uplink_keys),
    );
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let edge_nc = edge.client().await;
    let edge_js = jetstream::new(edge_nc.clone());
    edge_js
        .create_stream(local)
        .await
        .unwrap_or_else(|e| panic!("creating the local stream on the edge: {e}"));
    Setup {
        variant,
        cloud,
        cloud_js,
        edge,
        edge_js,
        edge_nc,
        store,
    }
}

impl Setup {
    /// Cuts the link and waits until both sides see it gone.
    async fn cut(&self) {
        self.cloud.cut_leaf_proxies();
        self.cloud.wait_total_leafs(0).await;
        wait_edge_leafs(&self.edge, 0).await;
    }

    async fn resume(&self) {
        self.cloud.resume_leaf_proxies();
        self.cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    }

    /// Clients again after the edge was restarted.
    async fn reconnect_edge_clients(&mut self) {
        self.edge_nc = self.edge.client().await;
        self.edge_js = jetstream::new(self.edge_nc.clone());
    }
}

/// Waits until the edge's own /leafz reports `n` leaf connections.
async fn wait_edge_leafs(edge: &Edge, n: u64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = edge.monitor("/leafz");
        if v["leafnodes"].as_u64() == Some(n) {
            return;
        }
        if Instant::now() > deadline {
            panic!("edge /leafz never showed {n} leafnodes: {v}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Publishing on the edge.

/// `<tag>-<index, 8 digits>-` padded with dots to `PAYLOAD` bytes.
fn payload(tag: &str, i: u64) -> bytes::Bytes {
    let mut p = format!("{tag}-{i:08}-");
    while p.len() < PAYLOAD {
        p.push('.');
    }
    p.into()
}

/// (tag, index) of a payload made by `payload`.
fn parse_payload(p: &[u8]) -> Option<(String, u64)> {
    let text = std::str::from_utf8(p).ok()?;
    let mut parts = text.splitn(3, '-');
    let tag = parts.next()?.to_string();
    let idx = parts.next()?.parse().ok()?;
    Some((tag, idx))
}

/// Every even message carries a header of its own (it must reach the cloud unchanged),
/// every odd one none: both kinds of frames go up.
fn app_headers(i: u64) -> Option<HeaderMap> {
    (i % 2 == 0).then(|| {
        let mut h = HeaderMap::new();
        h.insert("X-Idx", i.to_string().as_str());
        h
    })
}

/// Publishes messages `idx` (payload indexes) on `SUBJECT` through the edge's JetStream,
/// `PUB_WINDOW` acks in flight; every PubAck must come from the local stream with the
/// next local sequence, starting at `first_seq`. The link state does not matter.
async fn publish_acked(js: &jetstream::Context, tag: &str, idx: Range<u64>, first_seq: u64) {
    let mut pending = std::collections::VecDeque::new();
    let start = idx.start;
    let (t0, count) = (Instant::now(), idx.end - idx.start);
    let check = |i: u64, ack: Result<jetstream::publish::PublishAck, PublishError>| {
        let ack = ack.unwrap_or_else(|e| panic!("publish {tag}-{i} on the edge: no PubAck: {e}"));
        assert_eq!(
            (ack.stream.as_str(), ack.sequence, ack.duplicate),
            (STREAM, first_seq + (i - start), false),
            "PubAck of {tag}-{i} on the edge: {ack:?}"
        );
    };
    for i in idx {
        let fut = match app_headers(i) {
            Some(h) => js.publish_with_headers(SUBJECT, h, payload(tag, i)).await,
            None => js.publish(SUBJECT, payload(tag, i)).await,
        }
        .unwrap_or_else(|e| panic!("publish {tag}-{i} on the edge: {e}"));
        pending.push_back((i, fut));
        if pending.len() >= PUB_WINDOW {
            let (i, fut) = pending.pop_front().unwrap();
            check(i, fut.await);
        }
    }
    for (i, fut) in pending {
        check(i, fut.await);
    }
    eprintln!(
        "published {count} ({tag}) on the edge in {:?}",
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// What the edge says: /uplinkz.

/// The first uplink of the edge's /uplinkz, or why there is none.
fn uplink_status(edge: &Edge) -> Result<Value, String> {
    let port = edge
        .broker
        .http_port
        .ok_or("the edge has no monitoring port")?;
    let v = http_json(port, "/uplinkz").ok_or_else(|| {
        "the edge's monitoring port does not answer /uplinkz with JSON (no uplink in this build?)"
            .to_string()
    })?;
    if let Some(e) = v["error"].as_str() {
        return Err(format!(
            "the edge answers /uplinkz with an error (no uplink in this build?): {e}"
        ));
    }
    v["uplinks"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["stream"] == STREAM).cloned())
        .ok_or_else(|| format!("/uplinkz lists no uplink of stream {STREAM}: {v}"))
}

/// Polls /uplinkz until `pred` holds for the uplink of `mysqldb2`.
async fn wait_uplink(edge: &Edge, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + STALL;
    loop {
        let last = uplink_status(edge);
        if let Ok(u) = &last {
            if pred(u) {
                return u.clone();
            }
        }
        if Instant::now() > deadline {
            panic!(
                "/uplinkz never showed {what} within {STALL:?}; last: {}\nedge log ends:\n{}",
                match last {
                    Ok(u) => u.to_string(),
                    Err(e) => e,
                },
                log_tail(edge)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log_tail(edge: &Edge) -> String {
    let log = edge.log_text();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// While the link is down: the backlog is counted and the state says why nothing flows.
async fn expect_waiting_for_link(s: &Setup, backlog: u64) {
    let u = wait_uplink(
        &s.edge,
        &format!("state waiting_for_link with a backlog of {backlog}"),
        |u| u["state"] == "waiting_for_link" && u["backlog_msgs"].as_u64() == Some(backlog),
    )
    .await;
    assert!(
        u["backlog_bytes"].as_u64().unwrap_or(0) >= backlog * PAYLOAD as u64,
        "backlog_bytes: {u}"
    );
    assert!(
        u["oldest_unsent_age_ms"].as_u64().is_some(),
        "oldest_unsent_age_ms must be a number while messages wait: {u}"
    );
    assert_eq!(u["resume"], s.variant.resume(), "{u}");
}

/// After a drain: connected, nothing left, the last local sequence acked by the cloud.
async fn expect_caught_up(s: &Setup, last_seq: u64, incarnation: &str) {
    expect_caught_up_dropped(s, last_seq, incarnation, 0).await
}

/// As `expect_caught_up`, with `dropped` messages the local limits discarded unsent.
async fn expect_caught_up_dropped(s: &Setup, last_seq: u64, incarnation: &str, dropped: u64) {
    let u = wait_uplink(
        &s.edge,
        &format!("state connected, backlog 0, last_acked_seq {last_seq}"),
        |u| {
            u["state"] == "connected"
                && u["backlog_msgs"].as_u64() == Some(0)
                && u["in_flight"].as_u64() == Some(0)
                && u["last_acked_seq"].as_u64() == Some(last_seq)
        },
    )
    .await;
    assert_eq!(u["resume"], s.variant.resume(), "{u}");
    assert_eq!(
        u["incarnation"], incarnation,
        "/uplinkz vs Nats-Msg-Id: {u}"
    );
    assert_eq!(u["account"], "$G", "{u}");
    assert_eq!(u["cloud_stream"], STREAM, "{u}");
    assert!(u["reason"].is_null(), "a reason while not blocked: {u}");
    assert!(
        u["oldest_unsent_age_ms"].is_null(),
        "oldest_unsent_age_ms with nothing unsent: {u}"
    );
    assert_eq!(u["dropped_msgs"].as_u64(), Some(dropped), "{u}");
}

// ---------------------------------------------------------------------------------------
// Waiting for the cloud and checking what it holds.

async fn stream_msgs(js: &jetstream::Context, name: &str) -> Result<u64, String> {
    let mut s = js.get_stream(name).await.map_err(|e| e.to_string())?;
    let info = s.info().await.map_err(|e| e.to_string())?;
    Ok(info.state.messages)
}

/// Waits until the cloud stream holds at least `n` messages and then until the edge's
/// work-queue stream is empty (everything acked by the cloud, so nothing more goes up).
/// Fails when neither count moved for `STALL`, with both counts, /uplinkz and the log.
async fn wait_drained(s: &Setup, cloud_stream: &str, n: u64) {
    let t0 = Instant::now();
    wait_cloud_msgs(s, cloud_stream, n).await;
    wait_local_msgs(s, 0).await;
    eprintln!(
        "{n} in the cloud, the edge's stream empty, after {:?}",
        t0.elapsed()
    );
}

/// Polls the cloud stream until it holds at least `n` messages (progress-based deadline).
async fn wait_cloud_msgs(s: &Setup, cloud_stream: &str, n: u64) -> u64 {
    poll_progress(
        s,
        &format!("cloud stream {cloud_stream} holds {n}"),
        || async {
            let have = stream_msgs(&s.cloud_js, cloud_stream).await;
            (have.as_ref().is_ok_and(|&h| h >= n), have)
        },
    )
    .await
    .unwrap_or(0)
}

/// Polls the edge's local stream until it holds exactly `n` messages.
async fn wait_local_msgs(s: &Setup, n: u64) {
    let _ = poll_progress(s, &format!("the edge's stream holds {n}"), || async {
        let have = stream_msgs(&s.edge_js, STREAM).await;
        (have.as_ref().is_ok_and(|&h| h == n), have)
    })
    .await;
}

/// Calls `probe` every 200 ms until it says done. The deadline moves while the observed
/// value changes; on failure the message has the last value, /uplinkz, the cloud and
/// local counts and the edge's log tail.
async fn poll_progress<F, Fut>(s: &Setup, what: &str, probe: F) -> Result<u64, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (bool, Result<u64, String>)>,
{
    let start = Instant::now();
    let mut last_change = Instant::now();
    let mut last: Option<Result<u64, String>> = None;
    loop {
        let (done, seen) = probe().await;
        if done {
            return seen;
        }
        if last.as_ref() != Some(&seen) {
            last_change = Instant::now();
            last = Some(seen.clone());
        }
        if last_change.elapsed() > STALL || start.elapsed() > WAIT_CAP {
            let cloud = stream_msgs(&s.cloud_js, STREAM).await;
            let local = stream_msgs(&s.edge_js, STREAM).await;
            panic!(
                "{:?} cloud: waited {:?} for: {what}; last seen {seen:?} (unchanged for {:?})\n\
                 cloud stream {STREAM}: {cloud:?}, edge stream: {local:?}\n/uplinkz: {}\n\
                 edge log ends:\n{}",
                s.variant,
                start.elapsed(),
                last_change.elapsed(),
                match uplink_status(&s.edge) {
                    Ok(u) => u.to_string(),
                    Err(e) => e,
                },
                log_tail(&s.edge)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One message as the cloud stored it.
#[derive(Debug, Clone)]
struct Stored {
    stream_seq: u64,
    subject: String,
    headers: HashMap<String, String>,
    payload: Vec<u8>,
}

/// Every message of a (limits) cloud stream, in stream order, through an ordered consumer.
async fn read_cloud_stream(js: &jetstream::Context, name: &str) -> Vec<Stored> {
    let mut st = js
        .get_stream(name)
        .await
        .unwrap_or_else(|e| panic!("cloud stream {name}: {e}"));
    let n = st.info().await.expect("cloud stream info").state.messages as usize;
    // After a cloud node was killed, its JetStream may still be electing leaders: the
    // create is retried for a while, as the stream's was.
    let deadline = Instant::now() + Duration::from_secs(60);
    let consumer = loop {
        match st
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                println!("ordered consumer on cloud stream {name}: {e}; asking again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("ordered consumer on cloud stream {name}: {e}"),
        }
    };
    let mut msgs = consumer
        .messages()
        .await
        .expect("ordered consumer messages");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let m = tokio::time::timeout(WAIT, msgs.next())
            .await
            .unwrap_or_else(|_| panic!("read {} of {n} from cloud stream {name}", out.len()))
            .expect("ordered consumer ended")
            .expect("ordered consumer message");
        out.push(to_stored(&m));
    }
    out
}

fn to_stored(m: &jetstream::Message) -> Stored {
    let mut headers = HashMap::new();
    if let Some(h) = &m.headers {
        for (k, vs) in h.iter() {
            if let Some(v) = vs.first() {
                headers.insert(k.to_string(), v.as_str().to_string());
            }
        }
    }
    Stored {
        stream_seq: m.info().map(|i| i.stream_sequence).unwrap_or(0),
        subject: m.subject.to_string(),
        headers,
        payload: m.payload.to_vec(),
    }
}

/// A run of messages published on the edge: payload indexes `idx` with tag `tag`, local
/// sequences from `first_seq`, all of one stream incarnation.
#[derive(Debug, Clone)]
struct Run {
    tag: String,
    idx: Range<u64>,
    first_seq: u64,
}

impl Run {
    fn new(tag: &str, idx: Range<u64>, first_seq: u64) -> Run {
        Run {
            tag: tag.into(),
            idx,
            first_seq,
        }
    }
}

/// Checks that `got` is exactly the runs' messages in order: subject `subject`, payload and
/// application headers kept, `Edgeleaf-Seq` the local sequence, `Nats-Msg-Id`
/// `<incarnation>:<local seq>` with one incarnation per run and a different one for each
/// run. Returns the incarnation of each run, or every problem found (the first few in
/// detail, then counts of duplicates, gaps and misplaced messages).
fn check_cloud(got: &[Stored], runs: &[Run], subject: &str) -> Result<Vec<String>, String> {
    let want: Vec<(usize, u64, u64)> = runs
        .iter()
        .enumerate()
        .flat_map(|(r, run)| {
            run.idx
                .clone()
                .map(move |i| (r, i, run.first_seq + (i - run.idx.start)))
        })
        .collect();
    let mut problems = Vec::new();
    let mut incarnations: Vec<Option<String>> = vec![None; runs.len()];
    // Duplicates and gaps first: they say the most.
    let mut seen: BTreeMap<(String, u64), u32> = BTreeMap::new();
    for g in got {
        if let Some(k) = parse_payload(&g.payload) {
            *seen.entry(k).or_default() += 1;
        }
    }
    let dups: Vec<_> = seen.iter().filter(|(_, &c)| c > 1).collect();
    let missing: Vec<_> = want
        .iter()
        .filter(|(r, i, _)| !seen.contains_key(&(runs[*r].tag.clone(), *i)))
        .collect();
    if got.len() != want.len() {
        problems.push(format!(
            "the cloud stream holds {} messages, expected {}",
            got.len(),
            want.len()
        ));
    }
    if !dups.is_empty() {
        problems.push(format!(
            "{} messages stored more than once, e.g. {:?}",
            dups.len(),
            dups.iter().take(5).collect::<Vec<_>>()
        ));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "{} messages missing, e.g. {:?}",
            missing.len(),
            missing
                .iter()
                .take(5)
                .map(|(r, i, _)| format!("{}-{i}", runs[*r].tag))
                .collect::<Vec<_>>()
        ));
    }
    let mut detail = 0;
    for (k, (g, &(r, i, seq))) in got.iter().zip(&want).enumerate() {
        let mut bad = Vec::new();
        let tag = &runs[r].tag;
        if g.payload != payload(tag, i) {
            bad.push(format!(
                "payload {:?}, expected {:?}",
                String::from_utf8_lossy(&g.payload),
                String::from_utf8_lossy(&payload(tag, i))
            ));
        }
        if g.subject != subject {
            bad.push(format!("subject {}, expected {subject}", g.subject));
        }
        let h = |name: &str| g.headers.get(name).map(String::as_str);
        if h("Edgeleaf-Seq") != Some(seq.to_string().as_str()) {
            bad.push(format!(
                "Edgeleaf-Seq {:?}, expected {seq}",
                h("Edgeleaf-Seq")
            ));
        }
        match h("Nats-Msg-Id").and_then(|id| id.rsplit_once(':')) {
            Some((inc, s)) if s == seq.to_string() && !inc.is_empty() => match &incarnations[r] {
                None => incarnations[r] = Some(inc.to_string()),
                Some(known) if known != inc => bad.push(format!(
                    "incarnation {inc} in Nats-Msg-Id, earlier messages of the run had {known}"
                )),
                _ => {}
            },
            _ => bad.push(format!(
                "Nats-Msg-Id {:?}, expected <incarnation>:{seq}",
                h("Nats-Msg-Id")
            )),
        }
        let want_idx = app_headers(i).map(|_| i.to_string());
        if h("X-Idx").map(str::to_string) != want_idx {
            bad.push(format!(
                "application header X-Idx {:?}, expected {want_idx:?}",
                h("X-Idx")
            ));
        }
        if !bad.is_empty() {
            detail += 1;
            if detail <= 5 {
                problems.push(format!(
                    "cloud message #{k} (stream seq {}), expected {tag}-{i}: {}",
                    g.stream_seq,
                    bad.join("; ")
                ));
            }
        }
    }
    if detail > 5 {
        problems.push(format!("... {} messages differ in all", detail));
    }
    let incs: Vec<String> = incarnations.into_iter().flatten().collect();
    for a in 0..incs.len() {
        for b in a + 1..incs.len() {
            if incs[a] == incs[b] {
                problems.push(format!(
                    "runs {} and {} share the incarnation {} (a recreated stream must get a new one)",
                    runs[a].tag, runs[b].tag, incs[a]
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(incs)
    } else {
        Err(problems.join("\n"))
    }
}

/// Reads the cloud stream and checks it against `runs` (see `check_cloud`); returns the
/// incarnations.
async fn expect_cloud(s: &Setup, cloud_stream: &str, runs: &[Run], subject: &str) -> Vec<String> {
    let got = read_cloud_stream(&s.cloud_js, cloud_stream).await;
    check_cloud(&got, runs, subject).unwrap_or_else(|e| {
        panic!(
            "{:?} cloud: stream {cloud_stream} is not every message once, in order:\n{e}",
            s.variant
        )
    })
}

/// The common end of a large scenario: everything arrives, once, in order, the local
/// stream is empty and /uplinkz says so.
async fn expect_all_forwarded(s: &Setup, n: u64) {
    wait_drained(s, STREAM, n).await;
    let incs = expect_cloud(s, STREAM, &[Run::new("m", 0..n, 1)], SUBJECT).await;
    expect_caught_up(s, n, &incs[0]).await;
}

// ---------------------------------------------------------------------------------------
// 1. The cloud-edge scenario: local PubAcks while the cloud is unreachable, then the
//    cloud's pull consumer gets the messages in order.

both_clouds!(
    cloud_edge_scenario,
    cloud_edge_scenario_no_domain,
    cloud_edge_scenario_domain
);
async fn cloud_edge_scenario(variant: Variant) {
    let s = setup(
        variant,
        true,
        Some(CloudStream {
            retention: stream::RetentionPolicy::WorkQueue,
            duplicate_window: None,
        }),
    )
    .await;
    let cloud_stream = s.cloud_js.get_stream(STREAM).await.expect("cloud stream");
    let consumer = cloud_stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(STREAM.into()),
            filter_subject: SUBJECT.into(),
            deliver_policy: consumer::DeliverPolicy::All,
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("cloud pull consumer");

    s.cut().await;
    let n = 10u64;
    for k in 1..=n {
        // Plain requests, as the issue's scenario makes them; every other one carries an
        // application header, which must reach the cloud too.
        let reply = match app_headers(k - 1) {
            Some(h) => {
                s.edge_nc
                    .request_with_headers(SUBJECT, h, payload("m", k - 1))
                    .await
            }
            None => s.edge_nc.request(SUBJECT, payload("m", k - 1)).await,
        }
        .unwrap_or_else(|e| panic!("request {k} on the edge while the cloud is cut off: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&reply.payload),
            format!(r#"{{"stream":"{STREAM}", "seq":{k}}}"#),
            "the edge's own PubAck"
        );
    }
    expect_waiting_for_link(&s, n).await;

    s.resume().await;
    let mut got = Vec::new();
    let mut last_change = Instant::now();
    while (got.len() as u64) < n {
        let mut batch = consumer
            .fetch()
            .max_messages(n as usize - got.len())
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .expect("fetch from the cloud consumer");
        while let Some(m) = batch.next().await {
            let m = m.expect("cloud message");
            got.push(to_stored(&m));
            m.double_ack().await.expect("ack on the cloud");
            last_change = Instant::now();
        }
        assert!(
            last_change.elapsed() < STALL,
            "{variant:?} cloud: the cloud consumer got {} of {n} within {STALL:?} of the link's return\n/uplinkz: {:?}\nedge log ends:\n{}",
            got.len(),
            uplink_status(&s.edge),
            log_tail(&s.edge)
        );
    }
    let incs = check_cloud(&got, &[Run::new("m", 0..n, 1)], SUBJECT)
        .unwrap_or_else(|e| panic!("{variant:?} cloud: the consumer's messages:\n{e}"));
    wait_local_msgs(&s, 0).await;
    expect_caught_up(&s, n, &incs[0]).await;
    let all = http_json(s.edge.broker.http_port.unwrap(), "/uplinkz").expect("/uplinkz");
    assert!(
        all["server_id"].as_str().is_some_and(|id| !id.is_empty()) && all["now"].is_string(),
        "/uplinkz: {all}"
    );

    // With the link up, a new message goes up at once (no poll interval to wait for).
    publish_acked(&s.edge_js, "m", n..n + 1, n + 1).await;
    let mut batch = consumer
        .fetch()
        .max_messages(1)
        .expires(WAIT)
        .messages()
        .await
        .expect("fetch");
    let m = batch
        .next()
        .await
        .unwrap_or_else(|| {
            panic!("{variant:?} cloud: a live message did not arrive within {WAIT:?}")
        })
        .expect("cloud message");
    check_cloud(&[to_stored(&m)], &[Run::new("m", n..n + 1, n + 1)], SUBJECT)
        .unwrap_or_else(|e| panic!("{variant:?} cloud: the live message:\n{e}"));
    m.double_ack().await.expect("ack");
    // The cloud's work queue empties as the consumer acks.
    let _ = poll_progress(&s, "the cloud work queue is empty", || async {
        let have = stream_msgs(&s.cloud_js, STREAM).await;
        (have == Ok(0), have)
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 2. Outage: a large backlog while the link is cut, drained once it is back.

both_clouds!(outage, outage_no_domain, outage_domain);
async fn outage(variant: Variant) {
    let s = setup(variant, true, Some(LIMITS)).await;
    let n = big_n();
    s.cut().await;
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    wait_local_msgs(&s, n).await;
    expect_waiting_for_link(&s, n).await;
    assert_eq!(
        stream_msgs(&s.cloud_js, STREAM).await.unwrap(),
        0,
        "messages reached the cloud while the link was cut"
    );
    s.resume().await;
    expect_all_forwarded(&s, n).await;
    let u = uplink_status(&s.edge).expect("/uplinkz");
    assert!(
        u["forwarded_msgs"].as_u64().is_some_and(|f| f >= n),
        "forwarded_msgs after forwarding {n}: {u}"
    );
    if variant == Variant::NoDomain {
        // Without the cloud's domain the uplink can only lean on the duplicate window, and
        // must say so at startup.
        assert!(
            s.edge.log_text().to_lowercase().contains("duplicate"),
            "no word in the edge's log about relying on the cloud's duplicate window:\n{}",
            log_tail(&s.edge)
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. A flapping link: cut and restored every few hundred ms during the transfer, while
//    half of the messages are still being published.

both_clouds!(flapping_link, flapping_link_no_domain, flapping_link_domain);
async fn flapping_link(variant: Variant) {
    use rand::Rng;
    let s = setup(variant, true, Some(LIMITS)).await;
    let n = big_n();
    let half = n / 2;
    s.cut().await;
    publish_acked(&s.edge_js, "m", 0..half, 1).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flaps = {
        let stop = stop.clone();
        let s = &s;
        async move {
            let mut flaps = 0u32;
            let proxies = s.cloud.leaf_proxies();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && flaps < 30 {
                let before: u64 = proxies.iter().map(|p| p.accepted()).sum();
                s.cloud.resume_leaf_proxies();
                // Up until the edge has dialled again, then a few hundred ms more ...
                let dial_deadline = Instant::now() + WAIT;
                while proxies.iter().map(|p| p.accepted()).sum::<u64>() == before
                    && Instant::now() < dial_deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let up = rand::thread_rng().gen_range(150..600);
                tokio::time::sleep(Duration::from_millis(up)).await;
                // ... then down for a few hundred ms.
                s.cloud.cut_leaf_proxies();
                flaps += 1;
                let down = rand::thread_rng().gen_range(100..400);
                tokio::time::sleep(Duration::from_millis(down)).await;
            }
            s.cloud.resume_leaf_proxies();
            flaps
        }
    };
    let publish_rest = async {
        publish_acked(&s.edge_js, "m", half..n, half + 1).await;
        // Keep flapping until most of the backlog went up through the flapping link.
        wait_cloud_msgs(&s, STREAM, n * 3 / 4).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (flaps, ()) = tokio::join!(flaps, publish_rest);
    eprintln!("{variant:?} cloud: the link was cut {flaps} times during the transfer");
    expect_all_forwarded(&s, n).await;
}

// ---------------------------------------------------------------------------------------
// 4. kill -9 of the edge during the drain, restart on the same store and ports.

both_clouds!(
    kill_9_edge_during_drain,
    kill_9_edge_during_drain_no_domain,
    kill_9_edge_during_drain_domain
);
async fn kill_9_edge_during_drain(variant: Variant) {
    let mut s = setup(variant, true, Some(LIMITS)).await;
    let n = big_n();
    s.cut().await;
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    s.resume().await;
    for fraction in [5, 2] {
        let at = wait_cloud_msgs(&s, STREAM, n / fraction).await;
        s.edge.kill9();
        eprintln!("{variant:?} cloud: edge killed with {at} of {n} in the cloud");
        if at >= n {
            eprintln!("(the drain was over before the kill: a weaker run)");
        }
        s.edge.start_again();
        s.reconnect_edge_clients().await;
    }
    expect_all_forwarded(&s, n).await;
}

// ---------------------------------------------------------------------------------------
// 5. The cloud node the leaf is attached to dies during the drain: the uplink goes on
//    through another cluster1 node (the remote lists all three).

both_clouds!(
    hub_node_killed_during_drain,
    hub_node_killed_during_drain_no_domain,
    hub_node_killed_during_drain_domain
);
async fn hub_node_killed_during_drain(variant: Variant) {
    let s = setup(variant, true, Some(LIMITS)).await;
    let n = big_n();
    s.cut().await;
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    s.cloud.resume_leaf_proxies();
    let hub = s.cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let at = wait_cloud_msgs(&s, STREAM, n / 5).await;
    s.cloud.kill(hub);
    eprintln!(
        "{variant:?} cloud: hub {} killed with {at} of {n} in the cloud",
        s.cloud.name(hub)
    );
    let others: Vec<Node> = CLUSTER1.iter().copied().filter(|&x| x != hub).collect();
    let new_hub = s.cloud.wait_leaf_connected(&others, EDGE_NAME).await;
    eprintln!(
        "{variant:?} cloud: the edge is now attached to {}",
        s.cloud.name(new_hub)
    );
    expect_all_forwarded(&s, n).await;
}

// ---------------------------------------------------------------------------------------
// 6. Cloud domain configured, outages longer than the cloud stream's 2 s duplicate window
//    while messages are in flight: still no duplicate (the uplink asked where the cloud
//    stopped instead of relying on the window).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_longer_than_duplicate_window_domain() {
    let window = Duration::from_secs(2);
    let s = setup(
        Variant::Domain,
        true,
        Some(CloudStream {
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: Some(window),
        }),
    )
    .await;
    let n = big_n();
    s.cut().await;
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    s.resume().await;
    for quarter in 1..=3 {
        let at = wait_cloud_msgs(&s, STREAM, n * quarter / 4).await;
        // Cut mid-drain: PubAcks in flight are lost with the connection.
        s.cloud.cut_leaf_proxies();
        let acked = uplink_status(&s.edge)
            .ok()
            .and_then(|u| u["last_acked_seq"].as_u64());
        let stored = stream_msgs(&s.cloud_js, STREAM).await.ok();
        eprintln!(
            "cut at {at} of {n} in the cloud; edge last_acked_seq {acked:?}, cloud holds {stored:?}"
        );
        if at >= n {
            eprintln!("(the drain was over before the cut: a weaker run)");
        }
        // Longer than the duplicate window: the cloud forgets the Nats-Msg-Ids it saw.
        tokio::time::sleep(window * 2).await;
        s.resume().await;
    }
    expect_all_forwarded(&s, n).await;
}

// ---------------------------------------------------------------------------------------
// 7. The cloud stream does not exist: the backlog stays, the status says why; once the
//    stream is created it drains.

both_clouds!(
    cloud_stream_missing,
    cloud_stream_missing_no_domain,
    cloud_stream_missing_domain
);
async fn cloud_stream_missing(variant: Variant) {
    let s = setup(variant, true, None).await;
    let n = small_n();
    // The link is up the whole time.
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    let u = wait_uplink(
        &s.edge,
        &format!("state blocked with a reason and a backlog of {n}"),
        |u| {
            u["state"] == "blocked"
                && u["reason"].as_str().is_some_and(|r| !r.trim().is_empty())
                && u["backlog_msgs"].as_u64() == Some(n)
        },
    )
    .await;
    eprintln!("{variant:?} cloud: blocked: {}", u["reason"]);
    assert_eq!(u["dropped_msgs"].as_u64(), Some(0), "{u}");
    assert_eq!(
        stream_msgs(&s.edge_js, STREAM).await.unwrap(),
        n,
        "backlog kept"
    );

    // The human view says the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgeleaf"))
        .args([
            "status",
            "--monitor",
            &format!("http://127.0.0.1:{}", s.edge.broker.http_port.unwrap()),
        ])
        .output()
        .expect("run edgeleaf status");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // It may exit non-zero to tell scripts that data is not flowing; it must have asked
    // edgeleaf and shown the uplink.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "edgeleaf status could not show the uplinks ({}):\n{text}",
        out.status
    );
    assert!(
        text.contains(STREAM) && text.to_lowercase().contains("blocked"),
        "edgeleaf status does not show the blocked uplink:\n{text}"
    );

    create_cloud_stream(
        &s.cloud_js,
        cloud_stream_config(STREAM, &["mysqldb2.>"], LIMITS),
    )
    .await;
    expect_all_forwarded(&s, n).await;
}

// ---------------------------------------------------------------------------------------
// 8. A reflashed device: the store deleted, the stream created again, the same local
//    sequences published again: the cloud stores them (a new incarnation), none is taken
//    for a duplicate of the old ones.

both_clouds!(
    reflashed_device,
    reflashed_device_no_domain,
    reflashed_device_domain
);
async fn reflashed_device(variant: Variant) {
    let mut s = setup(variant, true, Some(LIMITS)).await;
    let n = small_n();
    publish_acked(&s.edge_js, "g1", 0..n, 1).await;
    wait_drained(&s, STREAM, n).await;
    let old = uplink_status(&s.edge).map(|u| u["incarnation"].clone());

    s.edge.kill9();
    std::fs::remove_dir_all(&s.store.path).expect("delete the edge's store");
    std::fs::create_dir_all(&s.store.path).expect("an empty store");
    s.edge.start_again();
    s.reconnect_edge_clients().await;
    s.cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    // The uplink is configured, its stream is not there (yet): the status says so.
    wait_uplink(&s.edge, "state waiting_for_stream", |u| {
        u["state"] == "waiting_for_stream"
    })
    .await;
    create_local_stream(&s.edge_js).await;
    publish_acked(&s.edge_js, "g2", 0..n, 1).await;

    wait_drained(&s, STREAM, 2 * n).await;
    let runs = [Run::new("g1", 0..n, 1), Run::new("g2", 0..n, 1)];
    let incs = expect_cloud(&s, STREAM, &runs, SUBJECT).await;
    if let Ok(old) = old {
        assert_eq!(old, incs[0], "/uplinkz incarnation before the reflash");
    }
    expect_caught_up(&s, n, &incs[1]).await;
}

// ---------------------------------------------------------------------------------------
// Local limits still apply while the link is down: with discard old the oldest unsent
// messages go (and are counted), with discard new the publisher is refused.

both_clouds!(
    local_limits_discard_old,
    local_limits_discard_old_no_domain,
    local_limits_discard_old_domain
);
async fn local_limits_discard_old(variant: Variant) {
    let max = 100u64;
    let s = setup_with(
        variant,
        true,
        Some(LIMITS),
        stream::Config {
            max_messages: max as i64,
            discard: stream::DiscardPolicy::Old,
            ..local_stream_config()
        },
        "",
    )
    .await;
    s.cut().await;
    let n = max + max / 2;
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    wait_local_msgs(&s, max).await;
    expect_waiting_for_link(&s, max).await;
    s.resume().await;
    wait_drained(&s, STREAM, max).await;
    // The newest `max`: payload indexes n-max.., local sequences n-max+1..
    let incs = expect_cloud(
        &s,
        STREAM,
        &[Run::new("m", n - max..n, n - max + 1)],
        SUBJECT,
    )
    .await;
    // The dropped ones are counted (by the end, at the latest).
    expect_caught_up_dropped(&s, n, &incs[0], n - max).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_limits_discard_new_no_domain() {
    let max = 100u64;
    let s = setup_with(
        Variant::NoDomain,
        true,
        Some(LIMITS),
        stream::Config {
            max_messages: max as i64,
            discard: stream::DiscardPolicy::New,
            ..local_stream_config()
        },
        "",
    )
    .await;
    s.cut().await;
    publish_acked(&s.edge_js, "m", 0..max, 1).await;
    let refused = s
        .edge_js
        .publish(SUBJECT, payload("m", max))
        .await
        .expect("publish")
        .await;
    assert!(
        refused.is_err(),
        "a full discard-new stream took one more: {refused:?}"
    );
    expect_waiting_for_link(&s, max).await;
    s.resume().await;
    expect_all_forwarded(&s, max).await;
}

// ---------------------------------------------------------------------------------------
// The TOML form, with a subject prefix, another cloud stream name and `api_prefix`.

// ---------------------------------------------------------------------------------------
// `max_bytes_per_sec`: the uplink never sends more than the configured rate allows (a
// bucket of one second's bytes, refilled continuously; a message always goes when none is
// in flight). The check is one-sided: a slow machine forwards less, never more.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_bytes_per_sec_bounds_the_forwarding_rate() {
    const RATE: u64 = 2000;
    // Stored size of one message (msg_size: subject, headers, payload) is at least this.
    const MIN_SIZE: u64 = (SUBJECT.len() + PAYLOAD) as u64;
    // About 6 KB: forwarded in about 2 s, all of it at once without the limit.
    let n = 80u64;
    let s = setup_with(
        Variant::Domain,
        false,
        Some(LIMITS),
        local_stream_config(),
        &format!(", max_bytes_per_sec: {RATE}"),
    )
    .await;
    // Whatever the uplink sent before `t0`'s bucket was at most one second's worth.
    let t0 = Instant::now();
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    let mut samples = Vec::new();
    loop {
        let got = stream_msgs(&s.cloud_js, STREAM).await.unwrap_or(0);
        let t = t0.elapsed().as_secs_f64();
        // Bytes sent by t <= RATE (the bucket) + RATE * t + one message beyond the bucket.
        let allowed = ((RATE as f64 * (1.0 + t)) / MIN_SIZE as f64).floor() as u64 + 1;
        samples.push(format!("{t:.2}s: {got} (allowed {allowed})"));
        assert!(
            got <= allowed,
            "the uplink forwarded {got} messages of at least {MIN_SIZE} B within {t:.2} s at max_bytes_per_sec {RATE}: at most {allowed} may have gone; samples: {samples:?}"
        );
        if got >= n {
            break;
        }
        assert!(
            t0.elapsed() < WAIT,
            "the rate-limited uplink did not finish: {samples:?}\n{}",
            log_tail(&s.edge)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_drained(&s, STREAM, n).await;
    expect_cloud(&s, STREAM, &[Run::new("m", 0..n, 1)], SUBJECT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toml_config_prefix_and_cloud_stream_name() {
    let variant = Variant::Domain;
    let cloud = variant.cloud(false);
    let cloud_js = jetstream::new(cloud.client(CLOUD_CLIENT_NODE).await);
    let cloud_name = "EDGE1";
    create_cloud_stream(
        &cloud_js,
        cloud_stream_config(cloud_name, &["edge1.>"], LIMITS),
    )
    .await;
    let store = TempDir::new();
    let urls: Vec<String> = cloud
        .leaf_urls_cluster1("leaf", "leaf")
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect();
    let config = format!(
        r#"server_name = "{EDGE_NAME}"
listen = "127.0.0.1:-1"
http = "127.0.0.1:-1"

[jetstream]
store_dir = "{store}"

[leaf]
reconnect = "1s"

[[leaf.remotes]]
urls = [{urls}]

[[uplink]]
stream = "{STREAM}"
subject_prefix = "edge1."
api_prefix = "$JS.{DOMAIN}.API"
cloud_stream = "{cloud_name}"
max_in_flight = 64
max_bytes_per_sec = 0
ack_timeout = "5s"
"#,
        store = store.path.display(),
        urls = urls.join(", "),
    );
    let edge = Edge::start_config_named(Impl::Edgeleaf, "edge.toml", config);
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let edge_nc = edge.client().await;
    let edge_js = jetstream::new(edge_nc.clone());
    create_local_stream(&edge_js).await;
    let s = Setup {
        variant,
        cloud,
        cloud_js,
        edge,
        edge_js,
        edge_nc,
        store,
    };
    // Invariant 3, one path per message: with the prefix, nothing may ever show up in the
    // cloud under the original subject (a core copy over the leaf would). The probe
    // subscription is made after the watched one on the same connection: once the probe's
    // interest reached the edge, so has the watched one's.
    let watcher = s.cloud.client(C1N1).await;
    let mut watched = watcher
        .subscribe("mysqldb2.>")
        .await
        .expect("cloud subscription");
    let probe = unique_subject("uplinkprobe");
    let mut probe_sub = watcher.subscribe(probe.clone()).await.expect("probe sub");
    watcher.flush().await.expect("flush");
    until_delivered(&s.edge_nc, &probe, &mut probe_sub).await;

    let n = small_n();
    publish_acked(&s.edge_js, "m", 0..n, 1).await;
    wait_drained(&s, cloud_name, n).await;
    // Everything went up; anything on the original subject would have arrived by now,
    // ahead of a last probe along the same path.
    until_delivered(&s.edge_nc, &probe, &mut probe_sub).await;
    let leaked: Vec<String> = std::iter::from_fn(|| {
        futures::FutureExt::now_or_never(watched.next())
            .flatten()
            .map(|m| m.subject.to_string())
    })
    .collect();
    assert!(
        leaked.is_empty(),
        "{} messages reached the cloud under the original subject (a second path besides the uplink), e.g. {:?}",
        leaked.len(),
        leaked.iter().take(3).collect::<Vec<_>>()
    );
    let incs = expect_cloud(
        &s,
        cloud_name,
        &[Run::new("m", 0..n, 1)],
        &format!("edge1.{SUBJECT}"),
    )
    .await;
    let u = wait_uplink(&s.edge, "caught up", |u| {
        u["state"] == "connected" && u["backlog_msgs"].as_u64() == Some(0)
    })
    .await;
    assert_eq!(u["cloud_stream"], cloud_name, "{u}");
    assert_eq!(u["incarnation"], incs[0].as_str(), "{u}");
    assert_eq!(u["resume"], "exact", "{u}");
}

// ---------------------------------------------------------------------------------------
// The harness itself, without the uplink: the cloud stores what an uplink sends through a
// nats-server leaf (headers, PubAcks, the domain's API across the leaf), and the checks
// above catch a duplicate, a gap and a reused incarnation.

both_clouds!(
    harness_cloud_and_checks,
    harness_cloud_and_checks_no_domain,
    harness_cloud_and_checks_domain
);
async fn harness_cloud_and_checks(variant: Variant) {
    let cloud = variant.cloud(false);
    let cloud_js = jetstream::new(cloud.client(CLOUD_CLIENT_NODE).await);
    create_cloud_stream(
        &cloud_js,
        cloud_stream_config(STREAM, &["mysqldb2.>"], LIMITS),
    )
    .await;
    // A nats-server edge without JetStream: its clients' JetStream publishes go to the
    // cloud stream over the leaf.
    let edge = Edge::start(
        Impl::NatsServer,
        &cloud.leaf_urls_cluster1("leaf", "leaf"),
        "",
    );
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let nc = edge.client().await;
    let js = jetstream::new(nc.clone());
    let send = |inc: &'static str, tag: &'static str, i: u64, seq: u64| {
        let js = js.clone();
        async move {
            let mut h = app_headers(i).unwrap_or_default();
            h.insert("Nats-Msg-Id", format!("{inc}:{seq}").as_str());
            h.insert("Edgeleaf-Seq", seq.to_string().as_str());
            js.publish_with_headers(SUBJECT, h, payload(tag, i))
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        }
    };
    // Until the cloud stream's interest reached the edge.
    let deadline = Instant::now() + WAIT;
    loop {
        match send("inc1", "m", 0, 1).await {
            Ok(ack) => {
                assert_eq!(ack.stream, STREAM);
                if variant == Variant::Domain {
                    assert_eq!(ack.domain, DOMAIN);
                }
                break;
            }
            Err(e) if Instant::now() < deadline => {
                eprintln!("first publish through the nats-server leaf: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the cloud stream never acked through the leaf: {e}"),
        }
    }
    let n = 300u64;
    for i in 1..n {
        send("inc1", "m", i, i + 1).await.expect("PubAck");
    }
    // A resend within the duplicate window is dropped by the cloud.
    let dup = send("inc1", "m", 5, 6).await.expect("PubAck");
    assert!(dup.duplicate, "{dup:?}");

    let s = Setup {
        variant,
        cloud,
        cloud_js,
        edge_js: js.clone(),
        edge_nc: nc.clone(),
        edge,
        store: TempDir::new(),
    };
    wait_cloud_msgs(&s, STREAM, n).await;
    let got = read_cloud_stream(&s.cloud_js, STREAM).await;
    let incs = check_cloud(&got, &[Run::new("m", 0..n, 1)], SUBJECT).expect("a clean run");
    assert_eq!(incs, vec!["inc1".to_string()]);
    // Wrong expectations are reported.
    let e = check_cloud(&got, &[Run::new("m", 0..n + 1, 1)], SUBJECT).unwrap_err();
    assert!(e.contains("1 messages missing"), "{e}");
    let e = check_cloud(&got, &[Run::new("m", 0..n, 1)], "edge1.mysqldb2.1").unwrap_err();
    assert!(
        e.contains("subject mysqldb2.1, expected edge1.mysqldb2.1"),
        "{e}"
    );

    // Another incarnation with the same sequences is stored (new ids) ...
    for i in 0..3 {
        send("inc2", "g2", i, i + 1).await.expect("PubAck");
    }
    // ... and a copy under a fresh id is a duplicate the checks must see, as is a reused
    // incarnation.
    send("inc3", "m", 7, 8).await.expect("PubAck");
    let got = read_cloud_stream(&s.cloud_js, STREAM).await;
    let runs = [Run::new("m", 0..n, 1), Run::new("g2", 0..3, 1)];
    let e = check_cloud(&got, &runs, SUBJECT).unwrap_err();
    assert!(e.contains("1 messages stored more than once"), "{e}");
    assert!(
        check_cloud(&got[..got.len() - 1], &runs, SUBJECT).is_ok(),
        "without the copy the runs check out"
    );
    // A recreated stream that reused its incarnation would be caught too.
    let mut reused = got[..got.len() - 1].to_vec();
    for m in &mut reused[n as usize..] {
        let seq = m.headers["Edgeleaf-Seq"].clone();
        m.headers
            .insert("Nats-Msg-Id".into(), format!("inc1:{seq}"));
    }
    let e = check_cloud(&reused, &runs, SUBJECT).unwrap_err();
    assert!(e.contains("share the incarnation inc1"), "{e}");
    // Why it must not: the cloud takes an old id for a duplicate and drops the message.
    let ack = send("inc1", "g3", 0, 1).await.expect("PubAck");
    assert!(ack.duplicate, "{ack:?}");

    if variant == Variant::Domain {
        // What exact resume needs: the cloud's JetStream API through the leaf, by domain.
        let m = nc
            .request(format!("$JS.{DOMAIN}.API.STREAM.INFO.{STREAM}"), "".into())
            .await
            .expect("the cloud domain's API across the leaf");
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["state"]["messages"], n + 4, "{v}");
        let m = nc
            .request(
                format!("$JS.{DOMAIN}.API.STREAM.MSG.GET.{STREAM}"),
                format!(r#"{{"last_by_subj":"{SUBJECT}"}}"#).into(),
            )
            .await
            .expect("last message by subject across the leaf");
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert!(v["message"]["hdrs"].is_string(), "{v}");
    }
}
