//! The process as operators and tools see it: startup lines, ports, exit codes, signals,
//! lame duck mode, flags and config errors, monitoring, and secrets kept out of logs.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{free_port, Broker, Impl, Raw, TempDir};

fn edgeleaf() -> Command {
    Command::new(Impl::Edgeleaf.program())
}

#[test]
fn startup_lines_announce_random_ports() {
    let b = Broker::start(Impl::Edgeleaf, &["-m", "-1"]);
    assert_ne!(b.port, 0);
    let http = b.http_port.expect("monitoring line");
    assert_ne!(http, 0);
    let log = b.log_text();
    assert!(
        log.contains(&format!(
            "Listening for client connections on 127.0.0.1:{}",
            b.port
        )),
        "{log}"
    );
    assert!(log.contains("Server is ready"));
    assert_eq!(b.http_get("/healthz")["status"], "ok");
}

#[test]
fn port_in_use_exits_1_like_nats_server() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for which in Impl::both() {
        let out = Command::new(which.program())
            .args(["-a", "127.0.0.1", "-p", &port, "-m", "0"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{which:?}: {err}");
        assert!(
            err.contains("address already in use") || err.contains("Address already in use"),
            "{which:?}: {err}"
        );
        assert!(err.contains(&port), "{which:?} names the port: {err}");
    }
}

#[test]
fn sigterm_flushes_and_exits_0() {
    for which in Impl::both() {
        let mut b = Broker::start(which, &[]);
        let mut c = Raw::connect(b.port);
        c.exchange(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\n");
        b.signal("TERM");
        assert_eq!(c.read_until("<never>"), "<EOF>", "{which:?} closes clients");
        let code = b.wait_exit(Duration::from_secs(5));
        // nats-server 2.9 exits 1 after SIGTERM; the issue asks for 0 (a clean stop for
        // systemd), a deliberate difference.
        let want = if which == Impl::Edgeleaf {
            Some(0)
        } else {
            Some(1)
        };
        assert_eq!(code, want, "{which:?} exits within 5 s");
    }
}

#[test]
fn sigusr2_lame_duck_tells_clients_then_exits() {
    let config = "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n";
    for which in Impl::both() {
        let mut b = Broker::start_with_config(which, config, &["-a", "127.0.0.1", "-p", "-1"]);
        let mut c = Raw::connect(b.port);
        c.exchange(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\n");
        b.signal("USR2");
        let info = c.read_until("\r\n");
        assert!(info.starts_with("INFO "), "{which:?}: {info}");
        let json: serde_json::Value = serde_json::from_str(info[5..].trim()).unwrap();
        assert_eq!(json["ldm"], true, "{which:?}: {info}");
        // New connections are refused while in lame duck mode.
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", b.port)).is_err() || {
                let mut s = Raw::connect_raw(b.port);
                s.read_until("<never>").ends_with("<EOF>")
            },
            "{which:?} still accepts"
        );
        // After the grace period the client is closed and the server exits.
        assert!(c.read_until("<never>").ends_with("<EOF>"));
        assert!(
            b.wait_exit(Duration::from_secs(10)).is_some(),
            "{which:?} exits after lame duck"
        );
    }
}

#[test]
fn version_and_help() {
    let out = edgeleaf().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = edgeleaf().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--port"));
}

#[test]
fn parts_not_built_yet_are_refused_not_ignored() {
    for flags in [
        &["-t"][..],
        &["--cluster", "nats://127.0.0.1:6222"],
        &["--routes", "nats://127.0.0.1:6222"],
        &["--cluster_name", "c"],
        &["--no-such-flag"],
    ] {
        let out = edgeleaf()
            .args(flags)
            .args(["-p", "-1", "-m", "0"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {err}");
        assert!(err.contains(flags[0]), "{flags:?} is named: {err}");
        assert!(!err.contains("Server is ready"), "{flags:?}");
    }
}

#[test]
fn bad_config_files_say_where_and_exit_1() {
    let dir = TempDir::new();
    let cases = [
        ("port: 4222\nnot_a_key: 1\n", "not_a_key"),
        (
            "port: 4222\nauthorization { token: s3cret, tokn: x }\n",
            "authorization.tokn",
        ),
        ("port: 4222\ncluster { name: c }\n", "cluster"),
        ("port: 4222\nmax_payload: {\n", "line"),
        ("port = [1, 2\n", "line"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.path.join(format!("bad{i}.conf"));
        std::fs::write(&path, text).unwrap();
        let out = edgeleaf().arg("-c").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text:?}: {err}");
        assert!(
            err.contains(needle),
            "{text:?} should mention {needle}: {err}"
        );
        assert!(!err.contains("s3cret"), "secret leaked: {err}");
    }
}

#[test]
fn config_precedence_file_env_flags() {
    let dir = TempDir::new();
    let path = dir.path.join("edge.conf");
    let (p1, p2, p3) = (free_port(), free_port(), free_port());
    std::fs::write(
        &path,
        format!("listen: 127.0.0.1:{p1}\nhttp: 0\nserver_name: from_file\n"),
    )
    .unwrap();
    let path = path.to_string_lossy().into_owned();
    // File alone.
    let b = Broker::spawn(Impl::Edgeleaf, edgeleaf().args(["-c", &path]), None).unwrap();
    assert_eq!(b.port, p1);
    drop(b);
    // Environment beats the file.
    let b = Broker::spawn(
        Impl::Edgeleaf,
        edgeleaf()
            .args(["-c", &path])
            .env("EDGELEAF_PORT", p2.to_string()),
        None,
    )
    .unwrap();
    assert_eq!(b.port, p2);
    assert_eq!(Raw::connect(b.port).info["server_name"], "from_file");
    drop(b);
    // Flags beat both.
    let b = Broker::spawn(
        Impl::Edgeleaf,
        edgeleaf()
            .args(["-c", &path, "-p", &p3.to_string(), "-n", "from_flag"])
            .env("EDGELEAF_PORT", p2.to_string()),
        None,
    )
    .unwrap();
    assert_eq!(b.port, p3);
    assert_eq!(Raw::connect(b.port).info["server_name"], "from_flag");
}

#[test]
fn monitoring_counts_and_fields_match_nats_server() {
    let mut seen = Vec::new();
    for which in Impl::both() {
        let b = Broker::start(which, &["-m", "-1"]);
        let mut c = Raw::connect(b.port);
        c.exchange(b"CONNECT {\"verbose\":false,\"protocol\":1,\"name\":\"probe\"}\r\nSUB foo 1\r\nSUB bar q 2\r\n");
        c.exchange(b"PUB foo 5\r\nhello\r\nPUB foo 5\r\nhello\r\n");
        let varz = b.http_get("/varz");
        assert_eq!(varz["in_msgs"], 2, "{which:?}");
        assert_eq!(varz["out_msgs"], 2, "{which:?}");
        assert_eq!(varz["in_bytes"], 10, "{which:?}");
        assert_eq!(varz["connections"], 1, "{which:?}");
        assert!(varz["subscriptions"].as_u64().unwrap() >= 2, "{which:?}");
        let connz = b.http_get("/connz?subs=1");
        let conn = &connz["connections"][0];
        assert_eq!(conn["name"], "probe", "{which:?}");
        assert_eq!(conn["subscriptions"], 2, "{which:?}");
        assert_eq!(conn["out_msgs"], 2, "{which:?}");
        let subsz = b.http_get("/subsz?subs=1");
        assert!(
            subsz["num_subscriptions"].as_u64().unwrap() >= 2,
            "{which:?}"
        );
        assert_eq!(b.http_get("/healthz")["status"], "ok");
        seen.push((varz, connz, subsz));
    }
    // Every key edgeleaf reports for these is a key nats-server reports too.
    let (nv, nc, ns) = &seen[0];
    let (ev, ec, es) = &seen[1];
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for k in keys(ev) {
        assert!(
            nv.get(&k).is_some() || k == "edgeleaf_version",
            "/varz key {k} is not nats-server's"
        );
    }
    for k in keys(&ec["connections"][0]) {
        assert!(
            nc["connections"][0].get(&k).is_some(),
            "/connz key {k} is not nats-server's"
        );
    }
    for k in keys(es) {
        assert!(ns.get(&k).is_some(), "/subsz key {k} is not nats-server's");
    }
    let closed = {
        let b = Broker::start(Impl::Edgeleaf, &["-m", "-1"]);
        let mut c = Raw::connect(b.port);
        c.exchange(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nFOO\r\n");
        // Wait for the registry to record the close (an event, polled on the endpoint).
        let mut closed = serde_json::Value::Null;
        for _ in 0..200 {
            closed = b.http_get("/connz?state=closed");
            if closed["total"] == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        closed
    };
    assert_eq!(
        closed["connections"][0]["reason"], "Parse Error",
        "{closed}"
    );
}

#[test]
fn secrets_never_reach_the_log() {
    let b = Broker::start(Impl::Edgeleaf, &["-DV"]);
    let mut c = Raw::connect(b.port);
    c.exchange(b"CONNECT {\"verbose\":false,\"protocol\":1,\"user\":\"u\",\"pass\":\"hunter2-secret\",\"auth_token\":\"tok-secret\"}\r\n");
    c.exchange(b"PUB foo 1\r\nx\r\n");
    assert!(b.wait_for_log("PUB", Duration::from_secs(5)));
    let log = b.log_text();
    assert!(log.contains("CONNECT"), "trace logging is on: {log}");
    assert!(
        !log.contains("hunter2-secret") && !log.contains("tok-secret"),
        "{log}"
    );
}

#[test]
fn systemd_notify_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = TempDir::new();
    let sock_path = dir.path.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut b = Broker::spawn(
        Impl::Edgeleaf,
        edgeleaf()
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", "0"])
            .env("NOTIFY_SOCKET", &sock_path)
            .env("WATCHDOG_USEC", "200000"),
        None,
    )
    .unwrap();
    let recv = || {
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(recv(), "READY=1");
    // The watchdog is petted at half the interval while the runtime is alive.
    assert_eq!(recv(), "WATCHDOG=1");
    b.signal("TERM");
    let mut seen = recv();
    while seen == "WATCHDOG=1" {
        seen = recv();
    }
    assert_eq!(seen, "STOPPING=1");
    assert_eq!(b.wait_exit(Duration::from_secs(5)), Some(0));
}
