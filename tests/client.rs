//! Behaviour through the official Rust client (async-nats), run against nats-server and
//! edgeleaf alike: a difference is a failing case.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt;
use support::{Broker, Impl};

async fn connect(b: &Broker) -> async_nats::Client {
    let which = b.which;
    async_nats::ConnectOptions::new()
        .event_callback(move |e| async move { eprintln!("{which:?} client event: {e}") })
        .connect(b.url())
        .await
        .unwrap_or_else(|e| panic!("connect {:?} {}: {e:?}\n{}", b.which, b.url(), b.log_text()))
}

/// Waits until the server has processed everything this client sent before. async-nats'
/// `flush` only writes the socket, so it is no barrier; a request nobody answers is: the
/// server's no-responders status comes back after all earlier ops were applied.
async fn sync(c: &async_nats::Client) {
    let err = c
        .request("edgeleaf.test.barrier", "".into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

/// Runs the same async scenario against both servers.
fn on_both<F, Fut>(f: F)
where
    F: Fn(Broker) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Runtime::new().unwrap();
    for which in Impl::both() {
        let b = Broker::start(which, &[]);
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), f(b))
                .await
                .unwrap_or_else(|_| panic!("{which:?}: scenario timed out"))
        });
    }
}

#[test]
fn publish_subscribe_with_wildcards() {
    on_both(|b| async move {
        let c = connect(&b).await;
        let mut exact = c.subscribe("orders.new").await.unwrap();
        let mut star = c.subscribe("orders.*").await.unwrap();
        let mut full = c.subscribe("orders.>").await.unwrap();
        sync(&c).await;
        c.publish("orders.new", "a".into()).await.unwrap();
        c.publish("orders.eu.new", "b".into()).await.unwrap();
        c.flush().await.unwrap();
        assert_eq!(exact.next().await.unwrap().payload, "a");
        assert_eq!(star.next().await.unwrap().payload, "a");
        let m1 = full.next().await.unwrap();
        let m2 = full.next().await.unwrap();
        assert_eq!(
            (m1.subject.as_str(), m2.subject.as_str()),
            ("orders.new", "orders.eu.new")
        );
    });
}

#[test]
fn headers_and_one_mebibyte_payloads_survive() {
    on_both(|b| async move {
        let c = connect(&b).await;
        let mut sub = c.subscribe("big").await.unwrap();
        sync(&c).await;
        let mut headers = HeaderMap::new();
        headers.insert("X-Trace", "t-1");
        headers.append("X-Trace", "t-2");
        let payload = vec![7u8; 1024 * 1024 - 200];
        c.publish_with_headers("big", headers, payload.clone().into())
            .await
            .unwrap();
        let m = sub.next().await.unwrap();
        assert_eq!(m.payload.len(), payload.len());
        let h = m.headers.expect("headers");
        let vals: Vec<String> = h.get_all("X-Trace").map(|v| v.to_string()).collect();
        assert_eq!(vals, vec!["t-1", "t-2"]);
    });
}

#[test]
fn queue_group_delivers_each_message_once_and_spreads() {
    on_both(|b| async move {
        let c = connect(&b).await;
        let mut members = Vec::new();
        for _ in 0..4 {
            members.push(c.queue_subscribe("work", "workers".into()).await.unwrap());
        }
        let mut plain = c.subscribe("work").await.unwrap();
        sync(&c).await;
        let n = 400;
        for i in 0..n {
            c.publish("work", i.to_string().into()).await.unwrap();
        }
        c.flush().await.unwrap();
        for _ in 0..n {
            plain.next().await.unwrap();
        }
        // Every message reached the plain subscriber; now count the group's copies.
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut per_member = Vec::new();
        for m in members.iter_mut() {
            let mut count = 0;
            while let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(300), m.next()).await
            {
                *seen
                    .entry(String::from_utf8_lossy(&msg.payload).into_owned())
                    .or_default() += 1;
                count += 1;
            }
            per_member.push(count);
        }
        assert_eq!(seen.len(), n, "every message once to the group");
        assert!(seen.values().all(|c| *c == 1), "no message twice");
        assert!(
            per_member.iter().all(|c| *c > 0),
            "spread across members: {per_member:?}"
        );
    });
}

#[test]
fn request_reply_and_no_responders() {
    on_both(|b| async move {
        let c = connect(&b).await;
        let mut svc = c.subscribe("svc.echo").await.unwrap();
        let responder = c.clone();
        let task = tokio::spawn(async move {
            if let Some(m) = svc.next().await {
                let reply = m.reply.expect("reply subject");
                responder.publish(reply, m.payload).await.unwrap();
                responder.flush().await.unwrap();
            }
        });
        sync(&c).await;
        let resp = c.request("svc.echo", "ping".into()).await.unwrap();
        assert_eq!(resp.payload, "ping");
        task.await.unwrap();
        let err = c.request("svc.nobody", "x".into()).await.unwrap_err();
        assert_eq!(
            err.kind(),
            async_nats::RequestErrorKind::NoResponders,
            "{err}"
        );
    });
}

#[test]
fn auto_unsubscribe_and_echo_off() {
    on_both(|b| async move {
        let c = connect(&b).await;
        let mut sub = c.subscribe("count").await.unwrap();
        sub.unsubscribe_after(3).await.unwrap();
        for i in 0..5 {
            c.publish("count", i.to_string().into()).await.unwrap();
        }
        c.flush().await.unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(sub.next().await.unwrap().payload);
        }
        assert_eq!(got, vec!["0", "1", "2"]);
        // The exact server-side cut-off is checked byte for byte in tests/protocol.rs; here
        // the client must simply not see a fourth message.
        let fourth = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
        assert!(!matches!(fourth, Ok(Some(_))), "a fourth message arrived");

        let quiet = async_nats::ConnectOptions::new()
            .no_echo()
            .connect(b.url())
            .await
            .unwrap();
        let mut own = quiet.subscribe("echo.test").await.unwrap();
        let mut other = c.subscribe("echo.test").await.unwrap();
        sync(&quiet).await;
        sync(&c).await;
        quiet.publish("echo.test", "mine".into()).await.unwrap();
        c.publish("echo.test", "theirs".into()).await.unwrap();
        quiet.flush().await.unwrap();
        c.flush().await.unwrap();
        let mut both = vec![
            other.next().await.unwrap().payload,
            other.next().await.unwrap().payload,
        ];
        both.sort();
        assert_eq!(both, vec!["mine", "theirs"]);
        // The no-echo connection only sees the other connection's message.
        assert_eq!(own.next().await.unwrap().payload, "theirs");
        quiet
            .publish("echo.test", "mine again".into())
            .await
            .unwrap();
        c.publish("echo.test", "last".into()).await.unwrap();
        quiet.flush().await.unwrap();
        c.flush().await.unwrap();
        assert_eq!(own.next().await.unwrap().payload, "last");
    });
}

#[test]
fn many_subscribers_fan_out() {
    on_both(|b| async move {
        let pubc = connect(&b).await;
        let mut subs = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..8 {
            let c = connect(&b).await;
            subs.push(c.subscribe("fan").await.unwrap());
            sync(&c).await;
            clients.push(c);
        }
        for i in 0..100 {
            pubc.publish("fan", i.to_string().into()).await.unwrap();
        }
        pubc.flush().await.unwrap();
        for (k, s) in subs.iter_mut().enumerate() {
            for i in 0..100 {
                let m = tokio::time::timeout(Duration::from_secs(5), s.next()).await;
                let m = m.unwrap_or_else(|_| panic!("sub {k} msg {i} timed out"));
                assert_eq!(m.unwrap().payload, i.to_string());
            }
        }
    });
}
