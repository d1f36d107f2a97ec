//! Authentication, accounts and permissions: the same config file for nats-server and
//! edgeleaf, the same client sessions, the same bytes back.

mod support;

use std::time::Duration;

use futures::StreamExt;
use support::{same_on_both, Broker, Impl, Raw};

fn session(port: u16, steps: &[&str]) -> String {
    let mut c = Raw::connect(port);
    let mut out = String::new();
    for step in steps {
        out += &c.exchange(step.as_bytes());
        out += "|";
    }
    out
}

fn connect_as(user: &str, pass: &str) -> String {
    format!("CONNECT {{\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\n")
}

#[test]
fn token() {
    same_on_both("authorization { token: \"s3cr3t-tok\" }\n", |b| {
        let info = Raw::connect(b.port).info;
        let mut out = format!("auth_required={}|", info["auth_required"]);
        out += &session(b.port, &["CONNECT {\"verbose\":false,\"auth_token\":\"s3cr3t-tok\"}\r\nSUB a 1\r\nPUB a 1\r\nx\r\n"]);
        out += &session(
            b.port,
            &["CONNECT {\"verbose\":false,\"auth_token\":\"wrong\"}\r\n"],
        );
        out += &session(b.port, &["CONNECT {\"verbose\":false}\r\n"]);
        out
    });
}

#[test]
fn users_with_plain_and_bcrypt_passwords() {
    let hash = bcrypt::hash("bpass", 4).unwrap();
    let config = format!(
        "authorization {{ users: [ {{user: alice, password: apass}}, {{user: bob, password: \"{hash}\"}} ] }}\n"
    );
    same_on_both(&config, |b| {
        let mut out = session(
            b.port,
            &[&connect_as("alice", "apass"), "SUB a 1\r\nPUB a 1\r\nx\r\n"],
        );
        out += &session(b.port, &[&connect_as("bob", "bpass")]);
        out += &session(b.port, &[&connect_as("bob", "apass")]);
        out += &session(b.port, &[&connect_as("carol", "apass")]);
        out += &session(b.port, &["PING\r\n"]);
        out
    });
}

#[test]
fn single_user_from_flags_and_async_nats() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for which in Impl::both() {
        let b = Broker::start(which, &["--user", "edge", "--pass", "flag-pass"]);
        rt.block_on(async {
            let good = async_nats::ConnectOptions::with_user_and_password(
                "edge".into(),
                "flag-pass".into(),
            )
            .connect(b.url())
            .await
            .unwrap_or_else(|e| panic!("{which:?}: {e}"));
            let mut sub = good.subscribe("x").await.unwrap();
            good.publish("x", "hi".into()).await.unwrap();
            assert_eq!(sub.next().await.unwrap().payload, "hi");
            let bad =
                async_nats::ConnectOptions::with_user_and_password("edge".into(), "nope".into())
                    .connect(b.url());
            let bad = tokio::time::timeout(Duration::from_secs(10), bad).await;
            assert!(
                !matches!(bad, Ok(Ok(_))),
                "{which:?}: wrong password accepted"
            );
        });
    }
}

#[test]
fn nkey_users_sign_the_nonce() {
    let kp = nkeys::KeyPair::new_user();
    let seed = kp.seed().unwrap();
    let config = format!(
        "authorization {{ users: [ {{nkey: {}}} ] }}\n",
        kp.public_key()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    for which in Impl::both() {
        let b = Broker::start_with_config(which, &config, &["-a", "127.0.0.1", "-p", "-1"]);
        let info = Raw::connect(b.port).info;
        assert_eq!(
            info["nonce"].as_str().map(str::len),
            Some(15),
            "{which:?}: {info}"
        );
        rt.block_on(async {
            let c = async_nats::ConnectOptions::with_nkey(seed.clone())
                .connect(b.url())
                .await
                .unwrap_or_else(|e| panic!("{which:?}: {e}"));
            let mut sub = c.subscribe("n").await.unwrap();
            c.publish("n", "signed".into()).await.unwrap();
            assert_eq!(sub.next().await.unwrap().payload, "signed");
        });
        // A signature by another key is refused.
        let other = nkeys::KeyPair::new_user();
        let mut raw = Raw::connect(b.port);
        let nonce = raw.info["nonce"].as_str().unwrap().to_string();
        let sig = data_encoding::BASE64URL_NOPAD.encode(&other.sign(nonce.as_bytes()).unwrap());
        let reply = raw.exchange(
            format!(
                "CONNECT {{\"verbose\":false,\"nkey\":\"{}\",\"sig\":\"{sig}\"}}\r\n",
                kp.public_key()
            )
            .as_bytes(),
        );
        assert_eq!(
            reply, "-ERR 'Authorization Violation'\r\n<EOF>",
            "{which:?}"
        );
    }
}

#[test]
fn auth_timeout_and_connect_first() {
    same_on_both("authorization { token: t, timeout: 1 }\n", |b| {
        let mut idle = Raw::connect(b.port);
        let mut out = idle.read_until("<never>");
        out += &session(b.port, &["SUB a 1\r\n"]);
        out
    });
}

#[test]
fn no_auth_user() {
    let config = "authorization { users: [ {user: guest, password: g, permissions: {publish: \"public.>\"}} ] }\nno_auth_user: guest\n";
    same_on_both(config, |b| {
        session(
            b.port,
            &[
                "CONNECT {\"verbose\":false,\"protocol\":1}\r\n",
                "SUB public.x 1\r\nPUB public.x 1\r\na\r\n",
                "PUB private 1\r\nb\r\n",
            ],
        )
    });
}

#[test]
fn accounts_are_isolated() {
    let config = "accounts {\n  A: { users: [ {user: a1, password: a1}, {user: a2, password: a2} ] }\n  B: { users: [ {user: b1, password: b1} ] }\n}\n";
    same_on_both(config, |b| {
        let mut a1 = Raw::connect(b.port);
        a1.exchange(format!("{}SUB > 1\r\nSUB shared 2\r\n", connect_as("a1", "a1")).as_bytes());
        let mut b1 = Raw::connect(b.port);
        // Each exchange returns after the server applied the publish (nats-server and
        // edgeleaf both deliver while processing it), so order across connections is known.
        b1.exchange(
            format!(
                "{}SUB shared 9\r\nPUB shared 4\r\nfrom\r\n",
                connect_as("b1", "b1")
            )
            .as_bytes(),
        );
        let mut a2 = Raw::connect(b.port);
        a2.exchange(format!("{}PUB shared 2\r\nok\r\n", connect_as("a2", "a2")).as_bytes());
        let mut out = a1.exchange(b"");
        out += "|";
        out += &b1.exchange(b"");
        out
    });
}

#[test]
fn publish_and_subscribe_permissions() {
    let config = r#"
authorization {
  users: [
    {user: limited, password: l, permissions: {
        publish: {allow: ["allowed.>"], deny: ["allowed.secret"]}
        subscribe: {allow: ["sub.>", "work.* workers"], deny: ["sub.hidden"]}
    }}
    {user: admin, password: a}
  ]
}
"#;
    same_on_both(config, |b| {
        let mut out = session(
            b.port,
            &[
                &connect_as("limited", "l"),
                "PUB allowed.x 1\r\nx\r\n",
                "PUB allowed.secret 1\r\nx\r\n",
                "PUB other 1\r\nx\r\n",
                "SUB other 1\r\n",
                "SUB sub.hidden 2\r\n",
                "SUB work.a workers 3\r\n",
                "SUB work.a others 4\r\n",
                "SUB work.a 5\r\n",
            ],
        );
        // A wildcard subscription over a denied subject does not deliver that subject.
        let mut limited = Raw::connect(b.port);
        limited.exchange(format!("{}SUB sub.> 1\r\n", connect_as("limited", "l")).as_bytes());
        let mut admin = Raw::connect(b.port);
        admin.exchange(
            format!(
                "{}PUB sub.hidden 1\r\nh\r\nPUB sub.open 1\r\no\r\n",
                connect_as("admin", "a")
            )
            .as_bytes(),
        );
        out += &limited.exchange(b"");
        out
    });
}

#[test]
fn allow_responses() {
    let config = r#"
authorization {
  users: [
    {user: svc, password: s, permissions: {subscribe: "requests", allow_responses: {max: 1}}}
    {user: cli, password: c}
  ]
}
"#;
    same_on_both(config, |b| {
        let mut svc = Raw::connect(b.port);
        svc.exchange(format!("{}SUB requests 1\r\n", connect_as("svc", "s")).as_bytes());
        let mut cli = Raw::connect(b.port);
        cli.exchange(
            format!(
                "{}SUB reply.box 7\r\nPUB requests reply.box 1\r\nq\r\n",
                connect_as("cli", "c")
            )
            .as_bytes(),
        );
        let mut out = svc.exchange(b"");
        out += &svc.exchange(b"PUB reply.box 1\r\nr\r\n");
        out += &svc.exchange(b"PUB reply.box 1\r\nr\r\n");
        out += &svc.exchange(b"PUB elsewhere 1\r\nr\r\n");
        out += "|";
        out += &cli.exchange(b"");
        out
    });
}

#[test]
fn secrets_never_reach_the_log_at_any_level() {
    let config = "authorization { users: [ {user: u, password: \"hunter2-pass\"} ] }\n";
    for flags in [&[][..], &["-D"], &["-DV"]] {
        let mut args = vec!["-a", "127.0.0.1", "-p", "-1", "-m", "0"];
        args.extend_from_slice(flags);
        let b = Broker::start_with_config(Impl::Edgeleaf, config, &args);
        session(
            b.port,
            &[&connect_as("u", "hunter2-pass"), "PUB a 1\r\nx\r\n"],
        );
        session(b.port, &[&connect_as("u", "hunter2-wrong")]);
        session(
            b.port,
            &["CONNECT {\"verbose\":false,\"auth_token\":\"tok-secret-9\"}\r\n"],
        );
        assert!(
            b.wait_for_log("authentication error", Duration::from_secs(5)),
            "{flags:?}"
        );
        let log = b.log_text();
        for secret in ["hunter2-pass", "hunter2-wrong", "tok-secret-9"] {
            assert!(!log.contains(secret), "{flags:?} leaked {secret}:\n{log}");
        }
    }
}
