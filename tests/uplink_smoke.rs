//! Smoke: an edge stream forwarded to a cloud stream in cluster2 through the uplink.

mod support;

use std::time::{Duration, Instant};

use support::cloud::*;
use support::Impl;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_uplink_forwards_in_order() {
    let cloud = Cloud::start();
    let app = cloud.client(C2N1).await;
    let cjs = async_nats::jetstream::new(app.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = cjs
            .create_stream(async_nats::jetstream::stream::Config {
                name: "mysqldb2".into(),
                subjects: vec!["mysqldb2.>".into()],
                retention: async_nats::jetstream::stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await;
        match r {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                println!("cloud stream create: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let dir = std::env::temp_dir().join(format!("uplink-smoke-{}", std::process::id()));
    let extra = format!(
        "jetstream {{ store_dir: \"{}\" }}\nuplink: [ {{ stream: mysqldb2 }} ]\n",
        dir.display()
    );
    let edge = Edge::start(
        Impl::Edgeleaf,
        &cloud.leaf_urls_cluster1("leaf", "leaf"),
        &extra,
    );
    let c = edge.client().await;
    let js = async_nats::jetstream::new(c.clone());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "mysqldb2".into(),
        subjects: vec!["mysqldb2.>".into()],
        retention: async_nats::jetstream::stream::RetentionPolicy::WorkQueue,
        ..Default::default()
    })
    .await
    .unwrap();
    let n = 2000u64;
    let mut acks = Vec::new();
    for i in 0..n {
        acks.push(
            js.publish("mysqldb2.1", format!("m{i}").into())
                .await
                .unwrap(),
        );
    }
    for a in acks {
        a.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = cjs.get_stream("mysqldb2").await.unwrap();
        let info = s.info().await.unwrap();
        if info.state.messages >= n {
            assert_eq!(info.state.messages, n);
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "cloud has {} of {n}; uplinkz {}",
                info.state.messages,
                edge.monitor("/uplinkz")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let u = edge.monitor("/uplinkz");
    println!("{u}");
    let _ = std::fs::remove_dir_all(&dir);
}
