//! The edge as a leaf node of the cloud (two 3-node nats-server clusters joined by
//! gateways, see support/cloud.rs). Every scenario runs with nats-server as the leaf (the
//! reference) and with edgeleaf as the leaf, from the same nats-server-syntax config.
//! No sleeps as synchronisation: interest propagation is awaited by probing.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap, Subscriber};
use futures::StreamExt;
use support::cloud::*;
use support::proxy::Proxy;
use support::Impl;

/// Declares the nats-server and the edgeleaf variant of a scenario as two tests.
macro_rules! both {
    ($scenario:ident, $nats:ident, $edgeleaf:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $nats() {
            $scenario(Impl::NatsServer).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $edgeleaf() {
            $scenario(Impl::Edgeleaf).await
        }
    };
}

/// The cloud, an edge with the three cluster1 leaf URLs (user `leaf`), and the cluster1
/// node the edge is attached to.
async fn setup(leaf: Impl) -> (Cloud, Edge, Node) {
    let cloud = Cloud::start();
    let edge = Edge::start(leaf, &cloud.leaf_urls_cluster1("leaf", "leaf"), "");
    let hub = cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    (cloud, edge, hub)
}

/// A cluster1 node that is not `hub`.
fn other_cluster1(hub: Node) -> Node {
    *CLUSTER1.iter().find(|&&n| n != hub).unwrap()
}

async fn subscribe(c: &Client, subject: &str) -> Subscriber {
    let s = c.subscribe(subject.to_string()).await.expect("subscribe");
    c.flush().await.expect("flush");
    s
}

async fn publish(c: &Client, subject: &str, payload: impl Into<bytes::Bytes>) {
    c.publish(subject.to_string(), payload.into())
        .await
        .expect("publish");
}

/// Publishes `msgs` on `subject` and expects them, in order, on `sub`.
async fn send_and_expect(publisher: &Client, subject: &str, sub: &mut Subscriber, msgs: &[&str]) {
    for m in msgs {
        publish(publisher, subject, m.to_string()).await;
    }
    publisher.flush().await.unwrap();
    for m in msgs {
        let got = next_real(sub).await;
        assert_eq!(got.subject.as_str(), subject);
        assert_eq!(std::str::from_utf8(&got.payload).unwrap(), *m);
    }
}

// ---------------------------------------------------------------------------------------
// 1. Messages both ways.

both!(
    edge_publish_reaches_cluster2,
    edge_publish_reaches_cluster2_nats,
    edge_publish_reaches_cluster2_edgeleaf
);
async fn edge_publish_reaches_cluster2(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let subject = unique_subject("up");
    let c2 = cloud.client(C2N2).await;
    let mut sub = subscribe(&c2, &subject).await;
    let e = edge.client().await;
    until_delivered(&e, &subject, &mut sub).await;
    send_and_expect(&e, &subject, &mut sub, &["m0", "m1", "m2", "m3", "m4"]).await;
}

both!(
    cloud_publish_reaches_edge,
    cloud_publish_reaches_edge_nats,
    cloud_publish_reaches_edge_edgeleaf
);
async fn cloud_publish_reaches_edge(leaf: Impl) {
    let (cloud, edge, hub) = setup(leaf).await;
    let subject = unique_subject("down");
    let e = edge.client().await;
    let mut sub = subscribe(&e, &subject).await;
    // From a cluster1 node that is not the hub (over a route), then from cluster2 (over
    // the gateway and a route or directly to the hub).
    for node in [other_cluster1(hub), C2N1] {
        let c = cloud.client(node).await;
        until_delivered(&c, &subject, &mut sub).await;
        let name = cloud.name(node);
        let msgs = [format!("{name}-a"), format!("{name}-b")];
        let msgs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        send_and_expect(&c, &subject, &mut sub, &msgs).await;
    }
}

both!(
    wildcard_interest_both_ways,
    wildcard_interest_both_ways_nats,
    wildcard_interest_both_ways_edgeleaf
);
async fn wildcard_interest_both_ways(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let e = edge.client().await;
    let c2 = cloud.client(C2N3).await;
    let base = unique_subject("foo");
    // (publisher, subscriber) pairs: cloud -> edge subscribers, edge -> cloud subscribers.
    for (label, publisher, subscriber) in [("down", &c2, &e), ("up", &e, &c2)] {
        let prefix = format!("{base}.{label}");
        let mut star = subscribe(subscriber, &format!("{prefix}.*")).await;
        let mut gt = subscribe(subscriber, &format!("{prefix}.>")).await;
        until_delivered(publisher, &format!("{prefix}.probe"), &mut star).await;
        until_delivered(publisher, &format!("{prefix}.probe.deep"), &mut gt).await;
        publish(publisher, &format!("{prefix}.a"), "one").await;
        publish(publisher, &format!("{prefix}.a.b"), "two").await;
        publisher.flush().await.unwrap();
        let m = next_real(&mut gt).await;
        assert_eq!(
            (m.subject.as_str(), &m.payload[..]),
            (&*format!("{prefix}.a"), &b"one"[..])
        );
        let m = next_real(&mut gt).await;
        assert_eq!(
            (m.subject.as_str(), &m.payload[..]),
            (&*format!("{prefix}.a.b"), &b"two"[..])
        );
        let m = next_real(&mut star).await;
        assert_eq!(
            (m.subject.as_str(), &m.payload[..]),
            (&*format!("{prefix}.a"), &b"one"[..])
        );
        // `a.b` does not match `*`: nothing else is buffered for it (it was delivered to
        // the same client connection before the `>` copy that we already have).
        let extra = buffered_real(&mut star);
        assert!(
            extra.is_empty(),
            "{label}: {prefix}.* got {:?}",
            extra
                .iter()
                .map(|m| m.subject.to_string())
                .collect::<Vec<_>>()
        );
    }
}

both!(
    headers_survive_both_ways,
    headers_survive_both_ways_nats,
    headers_survive_both_ways_edgeleaf
);
async fn headers_survive_both_ways(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let e = edge.client().await;
    let c2 = cloud.client(C2N1).await;
    for (label, publisher, subscriber) in [("down", &c2, &e), ("up", &e, &c2)] {
        let subject = unique_subject(&format!("hdr.{label}"));
        let mut sub = subscribe(subscriber, &subject).await;
        until_delivered(publisher, &subject, &mut sub).await;
        let mut h = HeaderMap::new();
        h.insert("X-Direction", label);
        h.append("X-Multi", "first");
        h.append("X-Multi", "second value");
        publisher
            .publish_with_headers(subject.clone(), h, "with headers".into())
            .await
            .unwrap();
        publisher.flush().await.unwrap();
        let m = next_real(&mut sub).await;
        assert_eq!(&m.payload[..], b"with headers", "{label}");
        let h = m.headers.expect("headers lost");
        assert_eq!(h.get("X-Direction").map(|v| v.as_str()), Some(label));
        let multi: Vec<&str> = h.get_all("X-Multi").map(|v| v.as_str()).collect();
        assert_eq!(multi, ["first", "second value"], "{label}");
    }
}

both!(
    large_payloads_both_ways,
    large_payloads_both_ways_nats,
    large_payloads_both_ways_edgeleaf
);
async fn large_payloads_both_ways(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let e = edge.client().await;
    let c2 = cloud.client(C2N2).await;
    // 1 MiB exactly, plus a header: above nats-server's default max_payload (1 MB), so
    // the cloud and the edge are configured with max_payload 2MB.
    let big: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let big = bytes::Bytes::from(big);
    for (label, publisher, subscriber) in [("down", &c2, &e), ("up", &e, &c2)] {
        let subject = unique_subject(&format!("big.{label}"));
        let mut sub = subscribe(subscriber, &subject).await;
        until_delivered(publisher, &subject, &mut sub).await;
        let mut h = HeaderMap::new();
        h.insert("X-Size", "1MiB");
        publisher
            .publish_with_headers(subject.clone(), h, big.clone())
            .await
            .unwrap();
        publisher
            .publish(subject.clone(), big.clone())
            .await
            .unwrap();
        publisher.flush().await.unwrap();
        for with_header in [true, false] {
            let m = next_real(&mut sub).await;
            assert_eq!(m.payload.len(), big.len(), "{label}");
            assert!(m.payload == big, "{label}: payload corrupted");
            assert_eq!(m.headers.is_some(), with_header, "{label}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Request/reply.

/// Answers every request on `subject` with `<tag>:<payload>` until the client is dropped.
async fn serve(c: &Client, subject: &str, tag: &'static str) {
    let mut sub = subscribe(c, subject).await;
    let c = c.clone();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                let mut out = format!("{tag}:").into_bytes();
                out.extend_from_slice(&m.payload);
                let _ = c.publish(reply, out.into()).await;
            }
        }
    });
}

async fn request_ok(c: &Client, subject: &str, payload: &str) -> String {
    let m = tokio::time::timeout(
        WAIT,
        c.request(subject.to_string(), payload.to_string().into()),
    )
    .await
    .unwrap_or_else(|_| panic!("request on {subject} hung"))
    .unwrap_or_else(|e| panic!("request on {subject}: {e}"));
    String::from_utf8(m.payload.to_vec()).unwrap()
}

both!(
    edge_service_answers_cluster2,
    edge_service_answers_cluster2_nats,
    edge_service_answers_cluster2_edgeleaf
);
async fn edge_service_answers_cluster2(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let subject = unique_subject("svc.edge");
    let e = edge.client().await;
    serve(&e, &subject, "edge").await;
    let c2 = cloud.client(C2N3).await;
    until_answered(&c2, &subject).await;
    for i in 0..5 {
        assert_eq!(
            request_ok(&c2, &subject, &format!("q{i}")).await,
            format!("edge:q{i}")
        );
    }
}

both!(
    cloud_service_answers_edge,
    cloud_service_answers_edge_nats,
    cloud_service_answers_edge_edgeleaf
);
async fn cloud_service_answers_edge(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let subject = unique_subject("svc.cloud");
    let c2 = cloud.client(C2N2).await;
    serve(&c2, &subject, "cloud").await;
    let e = edge.client().await;
    until_answered(&e, &subject).await;
    for i in 0..5 {
        assert_eq!(
            request_ok(&e, &subject, &format!("q{i}")).await,
            format!("cloud:q{i}")
        );
    }
}

both!(
    no_responders_from_edge,
    no_responders_from_edge_nats,
    no_responders_from_edge_edgeleaf
);
async fn no_responders_from_edge(leaf: Impl) {
    let (cloud, edge, _hub) = setup(leaf).await;
    let e = edge.client().await;
    // The link works (a cloud service answers) ...
    let served = unique_subject("svc.there");
    let c2 = cloud.client(C2N1).await;
    serve(&c2, &served, "cloud").await;
    until_answered(&e, &served).await;
    // ... and a subject nobody serves anywhere gets "no responders", not a timeout.
    let nobody = unique_subject("svc.nobody");
    let req = async_nats::Request::new()
        .payload("anyone?".into())
        .timeout(Some(WAIT));
    let err = e
        .send_request(nobody.clone(), req)
        .await
        .expect_err("nobody serves this subject");
    assert_eq!(
        err.kind(),
        async_nats::RequestErrorKind::NoResponders,
        "expected no responders on {nobody}, got: {err}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Queue groups spanning the edge, cluster1 and cluster2.

const QUEUE: &str = "workers";
const N: usize = 40;

async fn queue_member(c: &Client) -> Subscriber {
    let s = c
        .queue_subscribe("jobs.>".to_string(), QUEUE.to_string())
        .await
        .expect("queue subscribe");
    c.flush().await.unwrap();
    s
}

/// Collects the non-probe messages of `members` until `ids` have all arrived; returns, per
/// id, which members got it (so duplicates show). Panics after `WAIT`.
async fn collect_queue(
    members: &mut [(&str, &mut Subscriber)],
    ids: &BTreeSet<String>,
    diagnostics: impl Fn() -> String,
) -> BTreeMap<String, Vec<String>> {
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    while !ids.iter().all(|i| got.contains_key(i)) {
        let waits = members.iter_mut().map(|(_, s)| Box::pin(s.next()));
        let left = deadline.saturating_duration_since(Instant::now());
        let (m, i, _) = tokio::time::timeout(left, futures::future::select_all(waits))
            .await
            .unwrap_or_else(|_| {
                let missing: Vec<_> = ids.iter().filter(|i| !got.contains_key(*i)).collect();
                panic!(
                    "queue messages missing after {WAIT:?}: {missing:?}\n{}",
                    diagnostics()
                )
            });
        let m = m.expect("subscription closed");
        if is_probe(&m) {
            continue;
        }
        let id = String::from_utf8(m.payload.to_vec()).unwrap();
        got.entry(id).or_default().push(members[i].0.to_string());
    }
    // Whatever else is already buffered counts too (a duplicate would show here).
    for (name, s) in members.iter_mut() {
        for m in buffered_real(s) {
            let id = String::from_utf8(m.payload.to_vec()).unwrap();
            got.entry(id).or_default().push(name.to_string());
        }
    }
    got
}

/// The leaf link as both ends and the cloud see it, for failure messages.
fn link_state(cloud: &Cloud, edge: &Edge) -> String {
    let mut out = format!("edge /leafz: {}\n", edge.monitor("/leafz?subs=1"));
    for n in ALL_NODES {
        let leafz = cloud.try_node_monitor(n, "/leafz?subs=1");
        let subs = cloud.try_node_monitor(n, "/subsz?subs=1&test=jobs.x");
        let list = subs.map(|v| v["subscriptions_list"].clone());
        out += &format!(
            "{} /leafz: {leafz:?}\n  subs matching jobs.x: {list:?}\n",
            cloud.name(n)
        );
    }
    out
}

fn assert_exactly_once(got: &BTreeMap<String, Vec<String>>, ids: &BTreeSet<String>, phase: &str) {
    let unexpected: Vec<_> = got.keys().filter(|k| !ids.contains(*k)).collect();
    assert!(
        unexpected.is_empty(),
        "{phase}: unexpected messages {unexpected:?}"
    );
    let dups: Vec<_> = got.iter().filter(|(_, v)| v.len() != 1).collect();
    assert!(
        dups.is_empty(),
        "{phase}: delivered more than once: {dups:?}"
    );
    assert_eq!(
        got.values().map(Vec::len).sum::<usize>(),
        ids.len(),
        "{phase}"
    );
}

both!(
    queue_groups_span_edge_and_cloud,
    queue_groups_span_edge_and_cloud_nats,
    queue_groups_span_edge_and_cloud_edgeleaf
);
async fn queue_groups_span_edge_and_cloud(leaf: Impl) {
    let (cloud, edge, hub) = setup(leaf).await;
    let c1 = cloud.client(other_cluster1(hub)).await;
    let c2 = cloud.client(C2N2).await;
    let mut m_c1 = queue_member(&c1).await;
    let mut m_c2 = queue_member(&c2).await;
    let e_pub = edge.client().await;
    // The edge knows about the cloud members before its own members exist.
    until_delivered_any(&e_pub, "jobs.probe", &mut [&mut m_c1, &mut m_c2]).await;

    // Phase 1: edge members present -> every edge publish goes to an edge member.
    let e1 = edge.client().await;
    let e2 = edge.client().await;
    let mut m_e1 = queue_member(&e1).await;
    let mut m_e2 = queue_member(&e2).await;
    // Both members' subscriptions were flushed by their own connections, but a clean-clone
    // run once saw nats-server as the leaf send a whole phase to the cloud: wait until the
    // publisher's own path reaches an edge member (probes are ignored by the collection).
    until_delivered_any(&e_pub, "jobs.probe", &mut [&mut m_e1, &mut m_e2]).await;
    let ids: BTreeSet<String> = (0..N).map(|i| format!("p1-{i}")).collect();
    for id in &ids {
        publish(&e_pub, &format!("jobs.{id}"), id.clone()).await;
    }
    e_pub.flush().await.unwrap();
    let got = {
        let mut members = [
            ("edge1", &mut m_e1),
            ("edge2", &mut m_e2),
            ("c1", &mut m_c1),
            ("c2", &mut m_c2),
        ];
        collect_queue(&mut members, &ids, || link_state(&cloud, &edge)).await
    };
    assert_exactly_once(&got, &ids, "edge publish, edge members present");
    let remote: Vec<_> = got
        .iter()
        .filter(|(_, who)| who.iter().any(|w| w.starts_with('c')))
        .collect();
    assert!(
        remote.is_empty(),
        "edge members are preferred, but the cloud got {remote:?}"
    );

    // Phase 2: edge members gone -> the cloud members get every message exactly once.
    m_e1.unsubscribe().await.unwrap();
    m_e2.unsubscribe().await.unwrap();
    e1.flush().await.unwrap();
    e2.flush().await.unwrap();
    let before = link_state(&cloud, &edge);
    let ids: BTreeSet<String> = (0..N).map(|i| format!("p2-{i}")).collect();
    for id in &ids {
        publish(&e_pub, &format!("jobs.{id}"), id.clone()).await;
    }
    e_pub.flush().await.unwrap();
    let got = {
        let mut members = [("c1", &mut m_c1), ("c2", &mut m_c2)];
        collect_queue(&mut members, &ids, || {
            format!("before:\n{before}\nnow:\n{}", link_state(&cloud, &edge))
        })
        .await
    };
    assert_exactly_once(&got, &ids, "edge publish, only cloud members");

    // Phase 3: an edge member again, messages published in the cloud (on the hub, which
    // has no member of its own): exactly once across the edge and both clusters.
    let mut m_e3 = queue_member(&e1).await;
    let hub_client = cloud.client(hub).await;
    until_delivered_any(
        &hub_client,
        "jobs.probe",
        &mut [&mut m_e3, &mut m_c1, &mut m_c2],
    )
    .await;
    let ids: BTreeSet<String> = (0..N).map(|i| format!("p3-{i}")).collect();
    for id in &ids {
        publish(&hub_client, &format!("jobs.{id}"), id.clone()).await;
    }
    hub_client.flush().await.unwrap();
    let got = {
        let mut members = [("edge3", &mut m_e3), ("c1", &mut m_c1), ("c2", &mut m_c2)];
        collect_queue(&mut members, &ids, || link_state(&cloud, &edge)).await
    };
    assert_exactly_once(&got, &ids, "cloud publish");
    let mut per_member: BTreeMap<&str, usize> = BTreeMap::new();
    for who in got.values().flatten() {
        *per_member.entry(who.as_str()).or_default() += 1;
    }
    eprintln!("{leaf:?}: cloud publish on the hub, deliveries per member: {per_member:?}");
}

// ---------------------------------------------------------------------------------------
// 4. Failover to another cluster1 node.

both!(
    failover_to_another_hub,
    failover_to_another_hub_nats,
    failover_to_another_hub_edgeleaf
);
async fn failover_to_another_hub(leaf: Impl) {
    let (cloud, edge, hub) = setup(leaf).await;
    let down = unique_subject("down");
    let up = unique_subject("up");
    let e = edge.client().await;
    let c2 = cloud.client(C2N1).await;
    // Subscriptions made before the hub dies.
    let mut e_sub = subscribe(&e, &down).await;
    let mut c2_sub = subscribe(&c2, &up).await;
    until_delivered(&c2, &down, &mut e_sub).await;
    until_delivered(&e, &up, &mut c2_sub).await;

    cloud.kill(hub);
    let others: Vec<Node> = CLUSTER1.iter().copied().filter(|&n| n != hub).collect();
    let new_hub = cloud.wait_leaf_connected(&others, EDGE_NAME).await;
    assert_ne!(new_hub, hub);
    until_delivered(&c2, &down, &mut e_sub).await;
    send_and_expect(&c2, &down, &mut e_sub, &["after-failover-down"]).await;
    until_delivered(&e, &up, &mut c2_sub).await;
    send_and_expect(&e, &up, &mut c2_sub, &["after-failover-up"]).await;

    cloud.restart(hub);
    // No dangling leaf connection anywhere: exactly one in the whole cloud.
    cloud.wait_total_leafs(1).await;
    until_delivered(&c2, &down, &mut e_sub).await;
    send_and_expect(&c2, &down, &mut e_sub, &["after-restart-down"]).await;
    until_delivered(&e, &up, &mut c2_sub).await;
    send_and_expect(&e, &up, &mut c2_sub, &["after-restart-up"]).await;
    assert_eq!(cloud.total_leafs(), 1);
}

// ---------------------------------------------------------------------------------------
// 5. The link through a proxy: cut and resume; high latency.

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

both!(
    link_cut_and_resume,
    link_cut_and_resume_nats,
    link_cut_and_resume_edgeleaf
);
async fn link_cut_and_resume(leaf: Impl) {
    // Every cluster1 leafnode listener is behind a proxy and advertised as such, so the
    // edge has no direct path to the cloud: cutting the proxies cuts the link.
    let cloud = Cloud::start_with(CloudOptions {
        leaf_proxies: true,
        ..Default::default()
    });
    let edge = Edge::start(leaf, &[cloud.proxied_leaf_url(C1N1, "leaf", "leaf")], "");
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let down = unique_subject("down");
    let up = unique_subject("up");
    let e = edge.client().await;
    let c2 = cloud.client(C2N2).await;
    let mut e_sub = subscribe(&e, &down).await;
    let mut c2_sub = subscribe(&c2, &up).await;
    until_delivered(&c2, &down, &mut e_sub).await;
    until_delivered(&e, &up, &mut c2_sub).await;

    for p in cloud.leaf_proxies() {
        p.cut();
    }
    cloud.wait_total_leafs(0).await;
    wait_edge_leafs(&edge, 0).await;
    // The edge keeps serving its clients: the subscription still exists locally.
    send_and_expect(&e, &down, &mut e_sub, &["local-during-cut"]).await;

    for p in cloud.leaf_proxies() {
        p.resume();
    }
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    // Interest of the subscriptions made before the cut is restored both ways.
    until_delivered(&c2, &down, &mut e_sub).await;
    send_and_expect(&c2, &down, &mut e_sub, &["after-resume-down"]).await;
    until_delivered(&e, &up, &mut c2_sub).await;
    send_and_expect(&e, &up, &mut c2_sub, &["after-resume-up"]).await;
    assert_eq!(cloud.total_leafs(), 1);
}

both!(
    dead_link_found_by_ping,
    dead_link_found_by_ping_nats,
    dead_link_found_by_ping_edgeleaf
);
/// A path that dies silently (nothing closes, nothing arrives) is found by the leaf's
/// PINGs, which go out every interval even while local traffic keeps the edge busy; the
/// edge then dials again and interest and traffic come back.
async fn dead_link_found_by_ping(leaf: Impl) {
    let cloud = Cloud::start_with(CloudOptions {
        leaf_proxies: true,
        ..Default::default()
    });
    let edge = Edge::start(
        leaf,
        &[cloud.proxied_leaf_url(C1N1, "leaf", "leaf")],
        "ping_interval: \"1s\"\nping_max: 2\n",
    );
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let down = unique_subject("down");
    let up = unique_subject("up");
    let local = unique_subject("local");
    let e = edge.client().await;
    let c2 = cloud.client(C2N2).await;
    let mut e_sub = subscribe(&e, &down).await;
    let mut c2_sub = subscribe(&c2, &up).await;
    let mut local_sub = subscribe(&e, &local).await;
    until_delivered(&c2, &down, &mut e_sub).await;
    until_delivered(&e, &up, &mut c2_sub).await;

    let before: u64 = cloud.leaf_proxies().iter().map(Proxy::accepted).sum();
    for p in cloud.leaf_proxies() {
        p.freeze();
    }
    // Local traffic flows the whole time; the edge must still notice the dead link.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut n = 0u64;
    loop {
        let now: u64 = cloud.leaf_proxies().iter().map(Proxy::accepted).sum();
        if now > before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{leaf:?} never dialled again after its link went silent; log:\n{}",
            edge.log_text()
        );
        n += 1;
        send_and_expect(&e, &local, &mut local_sub, &[&format!("local-{n}")]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    until_delivered(&c2, &down, &mut e_sub).await;
    send_and_expect(&c2, &down, &mut e_sub, &["after-dead-link-down"]).await;
    until_delivered(&e, &up, &mut c2_sub).await;
    send_and_expect(&e, &up, &mut c2_sub, &["after-dead-link-up"]).await;
}

both!(
    high_latency_link,
    high_latency_link_nats,
    high_latency_link_edgeleaf
);
async fn high_latency_link(leaf: Impl) {
    let cloud = Cloud::start_with(CloudOptions {
        leaf_proxies: true,
        ..Default::default()
    });
    for p in cloud.leaf_proxies() {
        p.set_latency(Duration::from_millis(250)); // 500 ms round trip
    }
    let edge = Edge::start(leaf, &[cloud.proxied_leaf_url(C1N2, "leaf", "leaf")], "");
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
    let down = unique_subject("down");
    let up = unique_subject("up");
    let e = edge.client().await;
    let c2 = cloud.client(C2N3).await;
    let mut e_sub = subscribe(&e, &down).await;
    let mut c2_sub = subscribe(&c2, &up).await;
    until_delivered(&c2, &down, &mut e_sub).await;
    send_and_expect(&c2, &down, &mut e_sub, &["slow-down"]).await;
    until_delivered(&e, &up, &mut c2_sub).await;
    send_and_expect(&e, &up, &mut c2_sub, &["slow-up"]).await;
    // One handshake: the slow link was not dropped and re-established on the way.
    let accepted: u64 = cloud.leaf_proxies().iter().map(Proxy::accepted).sum();
    assert_eq!(accepted, 1, "the edge reconnected over the slow link");
    assert_eq!(cloud.total_leafs(), 1);
}

// ---------------------------------------------------------------------------------------
// 6. Wrong credentials.

both!(
    wrong_credentials_are_logged,
    wrong_credentials_are_logged_nats,
    wrong_credentials_are_logged_edgeleaf
);
async fn wrong_credentials_are_logged(leaf: Impl) {
    let cloud = Cloud::start();
    let edge = Edge::start(leaf, &[cloud.leaf_url(C1N3, "leaf", "wrong")], "");
    let hub_addr = cloud.leaf_addr(C1N3);
    // nats-server 2.9.10 as leaf logs, on every attempt:
    //   [ERR] 127.0.0.1:<hub port> - lid:N - Leafnode Error 'Authorization Violation'
    // The hub's first INFO lists the leafnode URLs of all of cluster1 and a nats-server
    // leaf then tries those too (with the configured credentials), so later lines may
    // name another cluster1 node: the first must name the configured hub.
    let addrs: Vec<String> = CLUSTER1.iter().map(|&n| cloud.leaf_addr(n)).collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let log = edge.log_text();
        let hits: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("Authorization Violation"))
            .filter(|l| addrs.iter().any(|a| l.contains(a.as_str())))
            .collect();
        if hits.len() >= 2 {
            assert!(
                hits[0].contains(&hub_addr),
                "first violation does not name {hub_addr}: {}",
                hits[0]
            );
            break;
        }
        if Instant::now() > deadline {
            panic!("the edge did not log \"Authorization Violation\" with a cluster1 leaf address twice (first {hub_addr}); log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cloud.total_leafs(), 0);
}

// ---------------------------------------------------------------------------------------
// 7. Permissions of the hub user the edge binds as.

both!(
    permissions_of_bound_user,
    permissions_of_bound_user_nats,
    permissions_of_bound_user_edgeleaf
);
async fn permissions_of_bound_user(leaf: Impl) {
    let cloud = Cloud::start();
    let edge = Edge::start(leaf, &[cloud.leaf_url(C1N1, "lim", "lim")], "");
    cloud.wait_leaf_connected(&[C1N1], EDGE_NAME).await;
    let leaf_port = |cloud: &Cloud| cloud.leafs(C1N1)[0]["port"].clone();
    let link = leaf_port(&cloud);
    let e = edge.client().await;
    let hub = cloud.client(C1N1).await;

    // Allowed: cloud -> edge on down.>, edge -> cloud on up.>.
    let mut e_down = subscribe(&e, "down.x").await;
    until_delivered(&hub, "down.x", &mut e_down).await;
    send_and_expect(&hub, "down.x", &mut e_down, &["allowed-down"]).await;
    let mut c_up = subscribe(&hub, "up.x").await;
    let mut c_other = subscribe(&hub, "other.up").await;
    until_delivered(&e, "up.x", &mut c_up).await;
    send_and_expect(&e, "up.x", &mut c_up, &["allowed-up"]).await;

    // Not allowed to receive other.x: an edge subscriber gets nothing from the cloud.
    let mut e_other = subscribe(&e, "other.x").await;
    // The up.x marker travels the link after the subscription's interest would have.
    send_and_expect(&e, "up.x", &mut c_up, &["after-other-sub"]).await;
    publish(&hub, "other.x", "forbidden-down").await;
    send_and_expect(&hub, "down.x", &mut e_down, &["marker-down"]).await;
    let leaked = buffered_real(&mut e_other);
    assert!(
        leaked.is_empty(),
        "other.x reached the edge: {:?}",
        leaked[0].payload
    );

    // Not allowed to send other.up: the cloud subscriber gets nothing from the edge.
    publish(&e, "other.up", "forbidden-up").await;
    send_and_expect(&e, "up.x", &mut c_up, &["marker-up"]).await;
    let leaked = buffered_real(&mut c_other);
    assert!(
        leaked.is_empty(),
        "other.up reached the cloud: {:?}",
        leaked[0].payload
    );

    // The link stayed up all along: same connection, one leaf in the cloud.
    assert_eq!(cloud.total_leafs(), 1);
    assert_eq!(
        leaf_port(&cloud),
        link,
        "the leaf connection was re-established"
    );
}

both!(own_deny_lists, own_deny_lists_nats, own_deny_lists_edgeleaf);
/// The remote's own `deny_exports` / `deny_imports` (an unrestricted hub user): denied
/// subjects do not cross in either direction, everything else does, on the same link.
async fn own_deny_lists(leaf: Impl) {
    let cloud = Cloud::start();
    let edge = Edge::start_with_remote_opts(
        leaf,
        &[cloud.leaf_url(C1N1, "leaf", "leaf")],
        r#"deny_exports: ["secret.>"]
      deny_imports: ["noisy.>"]"#,
        "",
    );
    cloud.wait_leaf_connected(&[C1N1], EDGE_NAME).await;
    let e = edge.client().await;
    let hub = cloud.client(C1N2).await;
    let mut e_down = subscribe(&e, "fine.down").await;
    let mut e_noisy = subscribe(&e, "noisy.x").await;
    let mut c_up = subscribe(&hub, "fine.up").await;
    let mut c_secret = subscribe(&hub, "secret.x").await;
    until_delivered(&hub, "fine.down", &mut e_down).await;
    until_delivered(&e, "fine.up", &mut c_up).await;

    publish(&hub, "noisy.x", "denied-import").await;
    send_and_expect(&hub, "fine.down", &mut e_down, &["marker-down"]).await;
    let leaked = buffered_real(&mut e_noisy);
    assert!(
        leaked.is_empty(),
        "noisy.x reached the edge: {:?}",
        leaked[0].payload
    );

    publish(&e, "secret.x", "denied-export").await;
    send_and_expect(&e, "fine.up", &mut c_up, &["marker-up"]).await;
    let leaked = buffered_real(&mut c_secret);
    assert!(
        leaked.is_empty(),
        "secret.x reached the cloud: {:?}",
        leaked[0].payload
    );
    assert_eq!(cloud.total_leafs(), 1);
}

both!(
    edge_jetstream_domain_reachable_from_the_cloud,
    edge_jetstream_domain_reachable_from_the_cloud_nats,
    edge_jetstream_domain_reachable_from_the_cloud_edgeleaf
);
/// With a JetStream domain on the edge, the cloud manages the edge's streams through
/// `$JS.<domain>.API.>` over the leaf link, while plain `$JS.API.>` never crosses: an edge
/// client's `$JS.API.INFO` is answered by the edge itself.
async fn edge_jetstream_domain_reachable_from_the_cloud(leaf: Impl) {
    let cloud = Cloud::start();
    let dir = support::TempDir::new();
    let extra = format!(
        "jetstream {{ domain: edge, store_dir: \"{}\" }}\n",
        dir.path.display()
    );
    let edge = Edge::start(leaf, &[cloud.leaf_url(C1N1, "leaf", "leaf")], &extra);
    cloud.wait_leaf_connected(&[C1N1], EDGE_NAME).await;
    let e = edge.client().await;
    let c2 = cloud.client(C2N1).await;
    // The edge creates a stream locally.
    let created = e
        .request(
            "$JS.API.STREAM.CREATE.EDGE",
            r#"{"name":"EDGE","subjects":["edge.>"]}"#.into(),
        )
        .await
        .expect("create on the edge");
    let v: serde_json::Value = serde_json::from_slice(&created.payload).unwrap();
    assert_eq!(v["config"]["name"], "EDGE", "{v}");
    // The cloud (another cluster) lists it through the edge's domain.
    let deadline = Instant::now() + Duration::from_secs(20);
    let v: serde_json::Value = loop {
        let req = async_nats::Request::new()
            .payload("".into())
            .timeout(Some(Duration::from_millis(500)));
        if let Ok(m) = c2
            .send_request("$JS.edge.API.STREAM.NAMES".to_string(), req)
            .await
        {
            break serde_json::from_slice(&m.payload).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the cloud never reached the edge's domain"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(v["streams"], serde_json::json!(["EDGE"]), "{v}");
    // The edge's own $JS.API.INFO is answered locally, with its domain.
    let info = e
        .request("$JS.API.INFO", "".into())
        .await
        .expect("local JetStream");
    let v: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(v["domain"], "edge", "{v}");
}

both!(
    loop_is_detected_through_lds,
    loop_is_detected_through_lds_nats,
    loop_is_detected_through_lds_edgeleaf
);
/// Two remotes binding the same local account into the same hub account make a loop: the
/// hub passes one link's `$LDS.` interest to the other, the leaf sees its own loop subject
/// come back and says so (then waits 30 s before dialling that remote again).
async fn loop_is_detected_through_lds(leaf: Impl) {
    let cloud = Cloud::start();
    let url = cloud.leaf_url(C1N1, "leaf", "leaf");
    let config = format!(
        r#"server_name: {EDGE_NAME}
listen: "127.0.0.1:-1"
http: "127.0.0.1:-1"
leafnodes {{
  reconnect: 1
  remotes = [ {{ urls: ["{url}"] }}, {{ urls: ["{url}"] }} ]
}}
"#
    );
    let edge = support::Broker::start_with_config(leaf, &config, &[]);
    assert!(
        edge.wait_for_log("Loop detected", Duration::from_secs(20)),
        "{leaf:?} did not report the loop; log:\n{}",
        edge.log_text()
    );
}

/// edgeleaf only (nats-server has no such key): `handshake_timeout` bounds the wait for
/// the hub's INFO, so a link slower than it is refused and logged, and one within it works.
#[tokio::test]
async fn handshake_timeout_is_configurable() {
    let cloud = Cloud::start_with(CloudOptions {
        leaf_proxies: true,
        ..Default::default()
    });
    for p in cloud.leaf_proxies() {
        p.set_latency(Duration::from_millis(250));
    }
    let url = cloud.proxied_leaf_url(C1N1, "leaf", "leaf");
    let conf = |timeout: &str| {
        format!(
            r#"server_name: {EDGE_NAME}
listen: "127.0.0.1:-1"
http: "127.0.0.1:-1"
leafnodes {{
  reconnect: 1
  handshake_timeout: "{timeout}"
  remotes = [ {{ urls: ["{url}"] }} ]
}}
"#
        )
    };
    let short = support::Broker::start_with_config(Impl::Edgeleaf, &conf("100ms"), &[]);
    assert!(
        short.wait_for_log("no INFO from the hub within", Duration::from_secs(20)),
        "log:\n{}",
        short.log_text()
    );
    drop(short);
    let _long = support::Broker::start_with_config(Impl::Edgeleaf, &conf("3s"), &[]);
    cloud.wait_leaf_connected(&CLUSTER1, EDGE_NAME).await;
}
