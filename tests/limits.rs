//! Limits and timers configured through the same config file for nats-server and edgeleaf:
//! the raw bytes a client sees must be the same.

mod support;

use support::{same_on_both, Raw};

const CONNECT: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n";

#[test]
fn stale_connection_after_unanswered_pings() {
    same_on_both("ping_interval: \"1s\"\nping_max: 2\n", |b| {
        let mut c = Raw::connect(b.port);
        c.send(CONNECT);
        c.read_until("<never>")
    });
}

#[test]
fn maximum_connections() {
    same_on_both("max_connections: 1\n", |b| {
        let mut first = Raw::connect(b.port);
        let mut out = first.exchange(CONNECT);
        let mut second = Raw::connect(b.port);
        out += &second.read_until("<never>");
        out
    });
}

#[test]
fn maximum_subscriptions_keeps_the_connection() {
    same_on_both("max_subscriptions: 2\n", |b| {
        let mut c = Raw::connect(b.port);
        c.exchange(CONNECT);
        c.exchange(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPUB c 1\r\nx\r\nPUB a 1\r\ny\r\n")
    });
}

#[test]
fn configured_max_payload() {
    same_on_both("max_payload: 100\n", |b| {
        let mut c = Raw::connect(b.port);
        let mut out = format!("max_payload={}|", c.info["max_payload"]);
        out += &c.exchange(CONNECT);
        out += &c.exchange(b"SUB a 1\r\n");
        let mut ok = b"PUB a 100\r\n".to_vec();
        ok.extend([b'x'; 100]);
        ok.extend_from_slice(b"\r\n");
        out += &c.exchange(&ok).len().to_string();
        out += &c.exchange(b"PUB a 101\r\n");
        out
    });
}

#[test]
fn slow_consumer_is_closed_without_err() {
    same_on_both(
        "max_payload: 1024\nmax_pending: 65536\nwrite_deadline: \"1s\"\nhttp: \"127.0.0.1:-1\"\n",
        |b| {
            let mut slow = Raw::connect(b.port);
            slow.exchange(
                b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\nSUB flood 1\r\n",
            );
            let mut publisher = Raw::connect(b.port);
            publisher.exchange(CONNECT);
            // Far more than the socket buffers plus max_pending can hold, in bounded batches.
            let mut batch = Vec::new();
            for _ in 0..1000 {
                batch.extend_from_slice(b"PUB flood 1000\r\n");
                batch.extend(std::iter::repeat_n(b'x', 1000));
                batch.extend_from_slice(b"\r\n");
            }
            // nats-server stalls this fast producer for a while before it cuts the consumer.
            for _ in 0..6 {
                publisher.send(&batch);
            }
            publisher.exchange(b"");
            let text = slow.read_until("<never>");
            let varz = b.http_get("/varz");
            format!(
                "err={} eof={} slow_consumers>0={}",
                text.contains("-ERR"),
                text.ends_with("<EOF>"),
                varz["slow_consumers"].as_u64().unwrap_or(0) > 0
            )
        },
    );
}
