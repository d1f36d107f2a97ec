//! Byte-level conformance: the same raw client sessions against nats-server 2.9.10 and
//! edgeleaf must produce the same bytes back (INFO aside), including every -ERR wording and
//! whether the connection is closed afterwards.

mod support;

use support::{Broker, Impl, Raw};

const HDRS: &str =
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n";
const PLAIN: &str = "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n";

/// One scenario: a function of the server's port that returns a transcript.
type Scenario = (&'static str, fn(u16) -> String);

fn one(port: u16, steps: &[&[u8]]) -> String {
    let mut c = Raw::connect(port);
    let mut out = String::new();
    for step in steps {
        out += &c.exchange(step);
        out += "|";
    }
    out
}

/// Same, but the order of lines within each step does not matter (fan-out order differs).
fn one_unordered(port: u16, steps: &[&[u8]]) -> String {
    let mut c = Raw::connect(port);
    let mut out = String::new();
    for step in steps {
        let text = c.exchange(step);
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        lines.sort();
        out += &lines.concat();
        out += "|";
    }
    out
}

const SCENARIOS: &[Scenario] = &[
    ("verbose session", |p| {
        one(
            p,
            &[
                b"CONNECT {\"verbose\":true,\"pedantic\":true,\"headers\":true,\"protocol\":1}\r\n",
                b"SUB foo 1\r\n",
                b"PUB foo 5\r\nhello\r\n",
                b"PUB foo bar 5\r\nhello\r\n",
                b"UNSUB 1\r\nUNSUB 99\r\n",
            ],
        )
    }),
    ("empty CONNECT means verbose and pedantic", |p| {
        one(p, &[b"CONNECT {}\r\n", b"PUB foo.* 1\r\nx\r\n"])
    }),
    ("ping before connect", |p| one(p, &[b"", b"PING\r\n"])),
    ("lowercase ops, tabs and bare LF", |p| {
        one(
            p,
            &[
                PLAIN.as_bytes(),
                b"sub\tfoo\t1\n",
                b"pub foo 2\nhi\r\n",
                b"ping\n",
            ],
        )
    }),
    ("headers both ways", |p| {
        one(
            p,
            &[
                HDRS.as_bytes(),
                b"SUB foo 1\r\nSUB foo q1 2\r\n",
                b"HPUB foo 18 23\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n",
                b"HPUB foo rep 12 12\r\nNATS/1.0\r\n\r\n\r\n",
            ],
        )
    }),
    (
        "header-less receiver gets MSG without the header block",
        |p| {
            let mut rx = Raw::connect(p);
            rx.exchange(format!("{PLAIN}SUB foo 1\r\n").as_bytes());
            let mut tx = Raw::connect(p);
            let mut out = tx.exchange(
                format!("{HDRS}HPUB foo 18 23\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n").as_bytes(),
            );
            out += &rx.exchange(b"");
            out
        },
    ),
    ("no responders", |p| {
        one(p, &[
            b"CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\n",
            b"SUB _INBOX.x 7\r\n",
            b"PUB svc _INBOX.x 2\r\nhi\r\n",
            b"SUB svc 8\r\nPUB svc _INBOX.x 2\r\nhi\r\n",
        ])
    }),
    ("no responders requires headers", |p| {
        one(
            p,
            &[b"CONNECT {\"verbose\":false,\"no_responders\":true,\"protocol\":1}\r\n"],
        )
    }),
    ("invalid client protocol", |p| {
        one(p, &[b"CONNECT {\"verbose\":false,\"protocol\":2}\r\n"])
    }),
    ("CONNECT with bad JSON", |p| {
        one(p, &[b"CONNECT {\"verbose\":\r\n"])
    }),
    ("auto-unsubscribe", |p| {
        one(
            p,
            &[
                PLAIN.as_bytes(),
                b"SUB foo 1\r\nUNSUB 1 2\r\n",
                b"PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n",
                b"SUB bar 2\r\nPUB bar 1\r\nd\r\nUNSUB 2 1\r\nPUB bar 1\r\ne\r\n",
            ],
        )
    }),
    ("invalid subjects keep the connection", |p| {
        one(
            p,
            &[
                b"CONNECT {\"verbose\":true,\"protocol\":1}\r\n",
                b"SUB foo..bar 1\r\n",
                b"SUB foo.>.bar 2\r\n",
                b"SUB .foo 3\r\n",
                b"SUB foo* 4\r\n",
            ],
        )
    }),
    ("pedantic publish to a wildcard", |p| {
        one(
            p,
            &[
                b"CONNECT {\"verbose\":false,\"pedantic\":true,\"protocol\":1}\r\n",
                b"SUB foo.* 1\r\n",
                b"PUB foo.* 1\r\nx\r\n",
                b"PUB foo..bar 1\r\nx\r\n",
            ],
        )
    }),
    (
        "non-pedantic wildcard publish reaches wildcard subs only",
        |p| {
            one_unordered(
                p,
                &[
                    PLAIN.as_bytes(),
                    b"SUB foo.* 1\r\nSUB foo.bar 2\r\nSUB foo.> 3\r\n",
                    b"PUB foo.* 1\r\nx\r\n",
                ],
            )
        },
    ),
    ("wildcard matching", |p| {
        one_unordered(
            p,
            &[
                PLAIN.as_bytes(),
                b"SUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nSUB *.bar 4\r\nSUB foo 5\r\n",
                b"PUB foo.bar 1\r\na\r\n",
                b"PUB foo.bar.baz 1\r\nb\r\n",
                b"PUB foo 1\r\nc\r\n",
            ],
        )
    }),
    ("echo off", |p| {
        one(
            p,
            &[
                b"CONNECT {\"verbose\":false,\"echo\":false,\"protocol\":1}\r\n",
                b"SUB foo 1\r\nPUB foo 1\r\nx\r\n",
            ],
        )
    }),
    ("queue and plain subscription on one connection", |p| {
        one_unordered(
            p,
            &[
                PLAIN.as_bytes(),
                b"SUB foo 1\r\nSUB foo q 2\r\nPUB foo 1\r\nx\r\n",
            ],
        )
    }),
    ("reused sid keeps the first subscription", |p| {
        one(
            p,
            &[
                PLAIN.as_bytes(),
                b"SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nx\r\nPUB foo 1\r\ny\r\n",
            ],
        )
    }),
    ("reserved reply subjects", |p| {
        one(
            p,
            &[
                PLAIN.as_bytes(),
                b"SUB foo 1\r\n",
                b"PUB foo $JS.ACK.x.y 1\r\nx\r\n",
                b"PUB foo _R_.abc 1\r\nx\r\n",
                b"PUB foo _GR_.a.b 1\r\nx\r\n",
                b"PUB _GR_.abc.def 1\r\nx\r\n",
                b"PUB foo _INBOX.ok 1\r\nx\r\n",
            ],
        )
    }),
    ("unknown op closes", |p| {
        one(p, &[PLAIN.as_bytes(), b"FOO bar\r\n"])
    }),
    ("route op on a client port closes", |p| {
        one(p, &[PLAIN.as_bytes(), b"LS+ foo\r\n"])
    }),
    ("PUB with missing size closes silently", |p| {
        one(p, &[PLAIN.as_bytes(), b"PUB foo\r\n"])
    }),
    ("PUB with bad size closes silently", |p| {
        one(p, &[PLAIN.as_bytes(), b"PUB foo bar baz\r\n"])
    }),
    ("SUB with too many args closes silently", |p| {
        one(p, &[PLAIN.as_bytes(), b"SUB a b c d\r\n"])
    }),
    ("payload without CRLF", |p| {
        one(p, &[PLAIN.as_bytes(), b"PUB foo 2\r\nabcd\r\n"])
    }),
    ("HPUB with header larger than total", |p| {
        one(p, &[HDRS.as_bytes(), b"HPUB foo 10 5\r\n"])
    }),
    ("HPUB without headers negotiated", |p| {
        one(
            p,
            &[
                PLAIN.as_bytes(),
                b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
            ],
        )
    }),
    ("maximum payload", |p| {
        one(p, &[PLAIN.as_bytes(), b"PUB foo 1048577\r\n"])
    }),
    ("payload at the maximum is fine", |p| {
        let mut c = Raw::connect(p);
        let mut out = c.exchange(format!("{PLAIN}SUB big 1\r\n").as_bytes());
        let mut msg = b"PUB big 1048576\r\n".to_vec();
        msg.extend(std::iter::repeat_n(b'x', 1048576));
        msg.extend_from_slice(b"\r\n");
        let reply = c.exchange(&msg);
        out += &reply[..reply.find("\r\n").unwrap_or(0)];
        out
    }),
    ("maximum control line", |p| {
        let long = format!("SUB {} 1\r\n", "a".repeat(5000));
        one(p, &[PLAIN.as_bytes(), long.as_bytes()])
    }),
    ("client -ERR closes", |p| {
        one(p, &[PLAIN.as_bytes(), b"-ERR 'oops'\r\n"])
    }),
    ("client +OK and INFO are ignored", |p| {
        one(p, &[PLAIN.as_bytes(), b"+OK\r\nINFO {}\r\n"])
    }),
    ("garbage bytes", |p| one(p, &[b"\x00\x01\x02\xff\r\n"])),
    ("half-sent frame completes", |p| {
        let mut c = Raw::connect(p);
        c.send(format!("{PLAIN}SUB foo 1\r\nPUB foo 5\r\nhel").as_bytes());
        c.exchange(b"lo\r\n")
    }),
];

#[test]
fn raw_sessions_match_nats_server() {
    let nats = Broker::start(Impl::NatsServer, &[]);
    let ours = Broker::start(Impl::Edgeleaf, &[]);
    let mut failures = Vec::new();
    for (name, run) in SCENARIOS {
        let want = run(nats.port);
        let got = run(ours.port);
        if std::env::var_os("EDGELEAF_SHOW_TRANSCRIPTS").is_some() {
            eprintln!("{name}: {want:?}");
        }
        if want != got {
            failures.push(format!(
                "{name}:\n  nats-server: {want:?}\n  edgeleaf:    {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn info_has_nats_server_fields() {
    let nats = Broker::start(Impl::NatsServer, &[]);
    let ours = Broker::start(Impl::Edgeleaf, &[]);
    let a = Raw::connect(nats.port).info;
    let b = Raw::connect(ours.port).info;
    for key in [
        "server_id",
        "server_name",
        "version",
        "proto",
        "go",
        "host",
        "port",
        "headers",
        "max_payload",
        "client_id",
        "client_ip",
    ] {
        assert!(a.get(key).is_some(), "nats-server INFO lacks {key}");
        assert!(b.get(key).is_some(), "edgeleaf INFO lacks {key}: {b}");
    }
    assert_eq!(b["port"], serde_json::json!(ours.port));
    assert_eq!(b["max_payload"], a["max_payload"]);
    assert_eq!(b["headers"], true);
    assert_eq!(b["proto"], 1);
    assert_eq!(b["server_id"].as_str().unwrap().len(), 56);
}
