//! The uplink as its operator meets it, against the real cloud (support/cloud.rs): one
//! path per message to the cloud (DESIGN.md invariant 3), `edgeleaf status`, and a
//! message the cloud refuses, which blocks the uplink until the operator moves it aside
//! with `edgeleaf uplink skip`. The delivery scenarios of the issue (outages, flapping,
//! kill -9, ...) are in tests/uplink.rs.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use support::cloud::*;
use support::Impl;

const WAIT: Duration = Duration::from_secs(60);

/// Creates a stream, retrying while the cloud's JetStream is still electing its leaders.
async fn create_stream(js: &jetstream::Context, cfg: stream::Config) {
    let deadline = Instant::now() + WAIT;
    loop {
        match js.create_stream(cfg.clone()).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                println!("create stream {}: {e}; retrying", cfg.name);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("create stream {}: {e}", cfg.name),
        }
    }
}

async fn messages(js: &jetstream::Context, name: &str) -> u64 {
    let mut s = js.get_stream(name).await.expect("stream exists");
    s.info().await.expect("stream info").state.messages
}

/// Waits until `name` holds `n` messages; fails with what it holds and the uplink's view.
async fn until_messages(js: &jetstream::Context, name: &str, n: u64, edge: &Edge) {
    let deadline = Instant::now() + WAIT;
    loop {
        let have = messages(js, name).await;
        if have == n {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "stream {name} holds {have} messages, expected {n}: {}\nuplinkz: {}\nedge log ends:\n{}",
                contents(js, name).await,
                edge.monitor("/uplinkz"),
                edge.log_text().lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a stream holds, one line per message: seq, subject, message id, size.
async fn contents(js: &jetstream::Context, name: &str) -> String {
    let mut s = js.get_stream(name).await.expect("stream exists");
    let state = s.info().await.expect("stream info").state.clone();
    let mut out = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        match s.get_raw_message(seq).await {
            Ok(m) => out.push(format!(
                "#{seq} {} id={:?} {} B",
                m.subject,
                m.headers.get("Nats-Msg-Id").map(|v| v.to_string()),
                m.payload.len()
            )),
            Err(e) => out.push(format!("#{seq} ({e})")),
        }
    }
    out.join("; ")
}

/// Waits until `/uplinkz` shows the first uplink with `pred` true.
async fn until_uplink(
    edge: &Edge,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = edge.monitor("/uplinkz");
        let u = v["uplinks"][0].clone();
        if pred(&u) {
            return u;
        }
        assert!(Instant::now() < deadline, "uplink never {what}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn edgeleaf(args: &[&str]) -> (i32, String) {
    let out = Command::new(Impl::Edgeleaf.program())
        .args(args)
        .output()
        .expect("run edgeleaf");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn work_queue(name: &str, subjects: &str) -> stream::Config {
    stream::Config {
        name: name.into(),
        subjects: vec![subjects.into()],
        retention: stream::RetentionPolicy::WorkQueue,
        ..Default::default()
    }
}

fn edge_with_uplink(cloud: &Cloud, dir: &support::TempDir) -> Edge {
    let extra = format!(
        "jetstream {{ store_dir: \"{}\" }}\nuplink: [ {{ stream: mysqldb2 }} ]\n",
        dir.path.display()
    );
    Edge::start(
        Impl::Edgeleaf,
        &cloud.leaf_urls_cluster1("leaf", "leaf"),
        &extra,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_message_reaches_the_cloud_once_through_the_uplink_and_status_says_so() {
    let cloud = Cloud::start();
    // The stream and a plain subscriber in the other cluster: what crosses the gateway.
    let app = cloud.client(C2N1).await;
    let cjs = jetstream::new(app.clone());
    create_stream(&cjs, work_queue("mysqldb2", "mysqldb2.>")).await;
    let mut watch = app.subscribe("mysqldb2.>").await.unwrap();
    app.flush().await.unwrap();

    let dir = support::TempDir::new();
    let edge = edge_with_uplink(&cloud, &dir);
    let c = edge.client().await;
    let js = jetstream::new(c.clone());
    js.create_stream(work_queue("mysqldb2", "mysqldb2.>"))
        .await
        .unwrap();
    let n = 500u64;
    let mut acks = Vec::new();
    for i in 1..=n {
        acks.push(
            js.publish("mysqldb2.1", format!("m{i}").into())
                .await
                .unwrap(),
        );
    }
    for (i, a) in acks.into_iter().enumerate() {
        assert_eq!(a.await.unwrap().sequence, i as u64 + 1);
    }
    until_messages(&cjs, "mysqldb2", n, &edge).await;
    // Every message the cloud saw came through the uplink (it carries the local seq), in
    // order; a core copy over the leaf would show up here without one.
    for i in 1..=n {
        let m = tokio::time::timeout(WAIT, watch.next())
            .await
            .unwrap()
            .unwrap();
        let h = m.headers.as_ref().expect("uplinked messages carry headers");
        assert_eq!(
            h.get("Edgeleaf-Seq").map(|v| v.as_str()),
            Some(i.to_string().as_str())
        );
        assert_eq!(m.payload, format!("m{i}").as_bytes());
    }
    c.flush().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), watch.next())
            .await
            .is_err(),
        "the cloud saw a message twice"
    );
    assert_eq!(messages(&cjs, "mysqldb2").await, n);
    // Forwarded work-queue messages leave the device.
    until_messages(&js, "mysqldb2", 0, &edge).await;
    let u = until_uplink(&edge, "connected", |u| u["state"] == "connected").await;
    assert_eq!(u["last_acked_seq"], n);
    assert_eq!(u["backlog_msgs"], 0);
    assert_eq!(u["resume"], "duplicate_window");
    let monitor = format!("http://127.0.0.1:{}", edge.broker.http_port.unwrap());
    let (code, text) = edgeleaf(&["status", "--monitor", &monitor]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("uplink mysqldb2 -> cloud stream mysqldb2"),
        "{text}"
    );
    assert!(text.contains("OK: connected and caught up"), "{text}");
    assert!(
        text.contains(&format!("last acknowledged seq {n}")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_blocks_the_uplink_until_the_operator_moves_it_aside() {
    let cloud = Cloud::start();
    let app = cloud.client(C1N2).await;
    let cjs = jetstream::new(app.clone());
    create_stream(
        &cjs,
        stream::Config {
            max_message_size: 160,
            ..work_queue("mysqldb2", "mysqldb2.>")
        },
    )
    .await;
    let dir = support::TempDir::new();
    let edge = edge_with_uplink(&cloud, &dir);
    let c = edge.client().await;
    let js = jetstream::new(c.clone());
    js.create_stream(work_queue("mysqldb2", "mysqldb2.>"))
        .await
        .unwrap();
    for body in [
        "small-1".to_string(),
        "x".repeat(200),
        "small-3".to_string(),
    ] {
        js.publish("mysqldb2.1", body.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let u = until_uplink(&edge, "blocked on seq 2", |u| {
        u["state"] == "blocked" && u["refused_seq"] == 2
    })
    .await;
    assert!(
        u["reason"]
            .as_str()
            .unwrap()
            .contains("message size exceeds maximum allowed"),
        "{u}"
    );
    // Seq 3 may have been in flight behind seq 2 and stored: it is sent again after the
    // skip, and the cloud's duplicate window keeps it once.
    let stored = messages(&cjs, "mysqldb2").await;
    assert!(stored == 1 || stored == 2, "the cloud holds {stored}");
    // Not moved aside automatically: still blocked, backlog kept.
    assert_eq!(messages(&js, "mysqldb2").await, 2);
    let monitor = format!("http://127.0.0.1:{}", edge.broker.http_port.unwrap());
    let (code, text) = edgeleaf(&["status", "--monitor", &monitor]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("BLOCKED: the cloud refused seq 2"), "{text}");
    assert!(text.contains("edgeleaf uplink skip mysqldb2 2"), "{text}");

    let server = edge.client_url();
    // The wrong seq, and no local stream to keep it in: refused, nothing lost.
    let (code, text) = edgeleaf(&["uplink", "skip", "mysqldb2", "3", "--server", &server]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("blocked at seq 2, not 3"), "{text}");
    let (code, text) = edgeleaf(&["uplink", "skip", "mysqldb2", "2", "--server", &server]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no local stream captures"), "{text}");
    assert_eq!(messages(&js, "mysqldb2").await, 2);

    js.create_stream(stream::Config {
        name: "REJECTED".into(),
        subjects: vec!["edgeleaf.rejected.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let (code, text) = edgeleaf(&["uplink", "skip", "mysqldb2", "2", "--server", &server]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("moved aside into stream REJECTED as seq 1"),
        "{text}"
    );
    until_messages(&cjs, "mysqldb2", 2, &edge).await;
    until_messages(&js, "mysqldb2", 0, &edge).await;
    let kept = js.get_stream("REJECTED").await.unwrap();
    let m = kept.get_raw_message(1).await.unwrap();
    assert_eq!(m.subject.as_str(), "edgeleaf.rejected.mysqldb2");
    assert_eq!(m.payload.len(), 200);
    let h = m.headers;
    assert_eq!(
        h.get("Edgeleaf-Rejected-Subject").map(|v| v.as_str()),
        Some("mysqldb2.1")
    );
    assert!(h
        .get("Edgeleaf-Rejected-Reason")
        .unwrap()
        .as_str()
        .contains("message size"));
    let u = until_uplink(&edge, "connected", |u| u["state"] == "connected").await;
    assert_eq!(u["skipped_msgs"], 1);
    // And a skip now is refused: nothing is blocked.
    let (code, text) = edgeleaf(&["uplink", "skip", "mysqldb2", "3", "--server", &server]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not blocked"), "{text}");
}
