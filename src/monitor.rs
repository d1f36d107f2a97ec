//! Owns the HTTP monitoring listener (`-m`): `/varz`, `/connz`, `/subsz`
//! (`/subscriptionsz`), `/healthz`, with nats-server's field names so existing dashboards
//! and the `nats` tooling read them. A deliberately small HTTP/1.1 server (GET only,
//! `Connection: close`): monitoring is a few requests a minute and a full HTTP stack would
//! cost binary size on the device.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, info};

use crate::router::Subscription;
use crate::server::client::Client;
use crate::server::info::NATS_VERSION;
use crate::server::{Server, StartError};

/// Request counts per path (`/varz` `http_req_stats`).
#[derive(Default)]
pub struct Monitor {
    req_stats: Mutex<BTreeMap<String, u64>>,
}

/// Binds the monitoring port (`http_port`, or `https_port` over TLS with the client
/// certificate; 0 = off, -1 = random) and serves it. Returns the bound address, or None
/// when monitoring is off.
pub async fn start(server: Arc<Server>) -> Result<Option<SocketAddr>, StartError> {
    let cfg = &server.config;
    let (port, secure) = match (cfg.http_port, cfg.https_port) {
        (0, 0) => return Ok(None),
        (0, p) => (p, true),
        (p, 0) => (p, false),
        (h, s) => {
            return Err(StartError::Monitor(format!(
                "can't specify both HTTP ({h}) and HTTPs ({s}) ports"
            )))
        }
    };
    if secure && server.tls.is_none() {
        return Err(StartError::Monitor(
            "TLS cert and key required for HTTPS".into(),
        ));
    }
    let port = if port == -1 { 0 } else { port as u16 };
    let (listener, local) = crate::server::bind(&cfg.http_host, port).await?;
    info!(
        "Starting {} monitor on {}",
        if secure { "https" } else { "http" },
        local
    );
    let monitor = Arc::new(Monitor::default());
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let (server, monitor) = (server.clone(), monitor.clone());
                    tokio::spawn(async move {
                        let served = match (&server.tls, secure) {
                            (Some(tls), true) => {
                                match tls.accept_monitor(stream, REQUEST_TIMEOUT).await {
                                    Ok(stream) => handle(&server, &monitor, stream).await,
                                    Err(e) => {
                                        debug!(%peer, "monitoring TLS handshake failed: {e}");
                                        Ok(())
                                    }
                                }
                            }
                            _ => handle(&server, &monitor, stream).await,
                        };
                        if let Err(e) = served {
                            debug!(%peer, "monitoring request failed: {e}");
                        }
                    });
                }
                Err(e) => {
                    debug!("monitoring accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(Some(local))
}

/// How long a client has for the TLS handshake and for sending its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    server: &Server,
    monitor: &Monitor,
    mut stream: S,
) -> std::io::Result<()> {
    let mut req = Vec::with_capacity(1024);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut chunk = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16 * 1024 {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            req.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if !matches!(read, Ok(Ok(()))) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&req);
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = parse_query(query);
    let (status, body) = if method != "GET" && method != "HEAD" {
        (
            405,
            json!({"error": format!("method {method} not allowed; expected GET")}),
        )
    } else {
        route(server, monitor, path, &query)
    };
    let mut body = serde_json::to_string_pretty(&body).unwrap_or_default();
    let mut ctype = "application/json";
    if let Some(cb) = query.get("callback") {
        body = format!("{cb}({body})");
        ctype = "application/javascript";
    }
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

fn route(
    server: &Server,
    monitor: &Monitor,
    path: &str,
    q: &BTreeMap<String, String>,
) -> (u16, Value) {
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let known = matches!(
        path,
        "/" | "/varz"
            | "/connz"
            | "/subsz"
            | "/subscriptionsz"
            | "/healthz"
            | "/leafz"
            | "/jsz"
            | "/uplinkz"
    );
    if known {
        *monitor
            .req_stats
            .lock()
            .entry(path.to_string())
            .or_default() += 1;
    }
    match path {
        "/" => (
            200,
            json!({"endpoints": ["/varz", "/connz", "/subsz", "/leafz", "/jsz", "/uplinkz", "/healthz"]}),
        ),
        "/leafz" => (200, leafz(server, q)),
        "/jsz" => (200, jsz(server)),
        "/uplinkz" => (200, uplinkz(server)),
        "/varz" => (200, varz(server, monitor)),
        "/connz" => (200, connz(server, q)),
        "/subsz" | "/subscriptionsz" => (200, subsz(server, q)),
        "/healthz" => (200, json!({"status": "ok"})),
        _ => (
            404,
            json!({"error": format!("no monitoring endpoint at {path}")}),
        ),
    }
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// `/uplinkz` (edgeleaf's own): each uplink's state, backlog and progress; what
/// `edgeleaf status` prints.
fn uplinkz(server: &Server) -> Value {
    let list: Vec<Value> = server
        .uplinks()
        .iter()
        .map(|u| u.view.lock().to_json())
        .collect();
    json!({
        "server_id": server.id,
        "now": rfc3339(SystemTime::now()),
        "uplinks": list,
    })
}

/// `/leafz`: the leaf connections, with nats-server's field names (2.10's `name` and
/// `is_spoke` included: we are always the spoke). `?subs=1` lists the hub's interest.
fn leafz(server: &Server, q: &BTreeMap<String, String>) -> Value {
    let with_subs = matches!(q.get("subs").map(String::as_str), Some("1" | "true"));
    let leafs: Vec<Value> = server
        .leaf_remotes()
        .iter()
        .filter_map(|r| r.link())
        .map(|l| {
            let v = l.view();
            let mut j = json!({
                "name": v.hub_name,
                "is_spoke": true,
                "account": v.account,
                "ip": v.ip,
                "port": v.port,
                "rtt": v.rtt.map(go_duration).unwrap_or_default(),
                "in_msgs": v.in_msgs,
                "out_msgs": v.out_msgs,
                "in_bytes": v.in_bytes,
                "out_bytes": v.out_bytes,
                "subscriptions": v.subscriptions.len(),
            });
            if with_subs {
                j["subscriptions_list"] = json!(v.subscriptions);
            }
            j
        })
        .collect();
    json!({
        "server_id": server.id,
        "now": rfc3339(SystemTime::now()),
        "leafnodes": leafs.len(),
        "leafs": leafs,
    })
}

/// JetStream totals over its accounts, with nats-server's `/jsz` field names.
fn js_totals(server: &Server) -> Option<Value> {
    let js = server.jetstream()?;
    let cfg = server.config.jetstream.as_ref()?;
    let (mut streams, mut consumers, mut messages, mut bytes, mut total, mut errors) =
        (0, 0, 0u64, 0u64, 0u64, 0u64);
    for a in &js.accounts {
        let v = a.view.lock().clone();
        streams += v.streams;
        consumers += v.consumers;
        messages += v.messages;
        bytes += v.bytes;
        total += v.api_total;
        errors += v.api_errors;
    }
    let mut config = json!({
        "max_memory": cfg.max_memory.map_or(-1, |v| v as i64),
        "max_storage": cfg.max_file.map_or(-1, |v| v as i64),
        "store_dir": std::path::Path::new(&server.config.store_dir).join("jetstream"),
    });
    if let Some(d) = &cfg.domain {
        config["domain"] = json!(d);
    }
    Some(json!({
        "config": config,
        "memory": 0,
        "storage": bytes,
        "accounts": js.accounts.len(),
        "streams": streams,
        "consumers": consumers,
        "messages": messages,
        "bytes": bytes,
        "api": {"total": total, "errors": errors},
    }))
}

/// `/jsz`: whether JetStream runs, and its totals.
fn jsz(server: &Server) -> Value {
    let mut v = js_totals(server).unwrap_or_else(|| json!({"disabled": true}));
    v["server_id"] = json!(server.id);
    v["now"] = json!(rfc3339(SystemTime::now()));
    if v.get("disabled").is_none() {
        v["disabled"] = json!(false);
    }
    v
}

fn varz(server: &Server, monitor: &Monitor) -> Value {
    let cfg = &server.config;
    let s = &server.stats;
    let now = SystemTime::now();
    let subs: u64 = server.auth.accounts().iter().map(|a| a.stats().count).sum();
    let mut totals = server.totals();
    let links: Vec<_> = server
        .leaf_remotes()
        .iter()
        .filter_map(|r| r.link())
        .map(|l| l.view())
        .collect();
    for l in &links {
        totals.in_msgs += l.in_msgs;
        totals.in_bytes += l.in_bytes;
        totals.out_msgs += l.out_msgs;
        totals.out_bytes += l.out_bytes;
    }
    let leaf_remotes: Vec<Value> = cfg
        .leaf
        .remotes
        .iter()
        .map(|r| {
            json!({
                "local_account": r.account,
                "urls": r.urls.iter().map(|u| u.host_port()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut v = json!({
        "server_id": server.id,
        "server_name": server.name,
        "version": NATS_VERSION,
        "edgeleaf_version": env!("CARGO_PKG_VERSION"),
        "proto": 1,
        "go": format!("edgeleaf{}", env!("CARGO_PKG_VERSION")),
        "host": cfg.host,
        "port": server.client_addr().map_or(0, |a| a.port()),
        "max_connections": cfg.max_connections,
        "ping_interval": cfg.ping_interval.as_nanos() as u64,
        "ping_max": cfg.ping_max,
        "http_host": cfg.http_host,
        "http_port": cfg.http_port,
        "http_base_path": "",
        "https_port": cfg.https_port,
        "auth_timeout": go_float(cfg.auth_timeout.as_secs_f64()),
        "max_control_line": cfg.max_control_line,
        "max_payload": cfg.max_payload,
        "max_pending": cfg.max_pending,
        "cluster": {},
        "gateway": {},
        "leaf": if leaf_remotes.is_empty() { json!({}) } else { json!({"remotes": leaf_remotes}) },
        "mqtt": {},
        "websocket": {},
        "jetstream": js_totals(server).map_or(json!({}), |t| json!({"config": t["config"], "stats": t})),
        "tls_timeout": go_float(cfg.tls.as_ref().map_or(2.0, |t| t.timeout.as_secs_f64())),
        "write_deadline": cfg.write_deadline.as_nanos() as u64,
        "start": rfc3339(server.started),
        "now": rfc3339(now),
        "uptime": go_duration(now.duration_since(server.started).unwrap_or_default()),
        "mem": rss_bytes(),
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "gomaxprocs": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cpu": cpu_percent(server),
        "connections": server.num_clients(),
        "total_connections": s.total_connections.load(Ordering::Relaxed),
        "routes": 0,
        "remotes": 0,
        "leafnodes": links.len(),
        "in_msgs": totals.in_msgs,
        "out_msgs": totals.out_msgs,
        "in_bytes": totals.in_bytes,
        "out_bytes": totals.out_bytes,
        "slow_consumers": s.slow_consumers.load(Ordering::Relaxed),
        "subscriptions": subs,
        "http_req_stats": *monitor.req_stats.lock(),
        "config_load_time": rfc3339(server.started),
        "system_account": "",
    });
    if server.auth_required() {
        v["auth_required"] = json!(true);
    }
    if cfg.max_subscriptions > 0 {
        // nats-server omits it when unlimited.
        v["max_subscriptions"] = json!(cfg.max_subscriptions);
    }
    if let Some(tls) = &server.tls {
        // Omitted when false, as nats-server's.
        v["tls_required"] = json!(true);
        if tls.verify {
            v["tls_verify"] = json!(true);
        }
    }
    v
}

fn conn_json(c: &Client, now: SystemTime, subs: &str, auth: bool) -> Value {
    let meta = c.meta.lock().clone();
    let counts = c.counts();
    let end = meta.stop.unwrap_or(now);
    let mut v = json!({
        "cid": c.cid,
        "kind": "Client",
        "type": "nats",
        "ip": meta.ip,
        "port": meta.port,
        "start": rfc3339(meta.start),
        "last_activity": rfc3339(meta.last_activity),
        "rtt": meta.rtt.map(go_duration).unwrap_or_default(),
        "uptime": go_duration(end.duration_since(meta.start).unwrap_or_default()),
        "idle": go_duration(now.duration_since(meta.last_activity).unwrap_or_default()),
        "pending_bytes": c.pending_bytes(),
        "in_msgs": counts.in_msgs,
        "out_msgs": counts.out_msgs,
        "in_bytes": counts.in_bytes,
        "out_bytes": counts.out_bytes,
        "subscriptions": c.subscription_count(),
    });
    let Value::Object(obj) = &mut v else {
        return v;
    };
    for (k, val) in [
        ("name", &meta.name),
        ("lang", &meta.lang),
        ("version", &meta.version),
    ] {
        if !val.is_empty() {
            obj.insert(k.into(), json!(val));
        }
    }
    if auth {
        if let Some(user) = &meta.user {
            obj.insert("authorized_user".into(), json!(user));
        }
        obj.insert("account".into(), json!(meta.account));
    }
    if let Some(tls) = &meta.tls {
        obj.insert("tls_version".into(), json!(tls.version));
        obj.insert("tls_cipher_suite".into(), json!(tls.cipher_suite));
        if auth && !tls.peer_certs.is_empty() {
            let certs: Vec<Value> = tls
                .peer_certs
                .iter()
                .map(|p| {
                    json!({
                        "subject": p.subject,
                        "spki_sha256": p.spki_sha256,
                        "cert_sha256": p.cert_sha256,
                    })
                })
                .collect();
            obj.insert("tls_peer_certs".into(), json!(certs));
        }
    }
    if let Some(stop) = meta.stop {
        obj.insert("stop".into(), json!(rfc3339(stop)));
    }
    if let Some(reason) = meta.reason {
        if meta.stop.is_some() {
            obj.insert("reason".into(), json!(reason.as_str()));
        }
    }
    let list = c.subscriptions();
    if !list.is_empty() {
        match subs {
            "detail" => {
                let detail: Vec<Value> =
                    list.iter().map(|s| sub_detail(s, &meta.account)).collect();
                obj.insert("subscriptions_list_detail".into(), json!(detail));
            }
            "1" | "true" => {
                let names: Vec<String> = list
                    .iter()
                    .map(|s| String::from_utf8_lossy(&s.subject).into_owned())
                    .collect();
                obj.insert("subscriptions_list".into(), json!(names));
            }
            _ => {}
        }
    }
    v
}

fn connz(server: &Server, q: &BTreeMap<String, String>) -> Value {
    let now = SystemTime::now();
    let state = q.get("state").map_or("open", String::as_str);
    let mut conns: Vec<Arc<Client>> = match state {
        "closed" => server.closed_clients(),
        "all" => {
            let mut v = server.clients();
            v.extend(server.closed_clients());
            v
        }
        _ => server.clients(),
    };
    if let Some(cid) = q.get("cid").and_then(|c| c.parse::<u64>().ok()) {
        conns.retain(|c| c.cid == cid);
    }
    let sort = q.get("sort").map_or("cid", String::as_str);
    let key = |c: &Arc<Client>| -> u64 {
        match sort {
            "subs" => c.subscription_count() as u64,
            "pending" => c.pending_bytes() as u64,
            "msgs_to" => c.counts().out_msgs,
            "msgs_from" => c.counts().in_msgs,
            "bytes_to" => c.counts().out_bytes,
            "bytes_from" => c.counts().in_bytes,
            _ => c.cid,
        }
    };
    conns.sort_by_key(|c| c.cid);
    if sort != "cid" && sort != "start" {
        // nats-server sorts these descending (largest first).
        conns.sort_by_key(|c| std::cmp::Reverse(key(c)));
    }
    let total = conns.len();
    let (offset, limit) = paging(q);
    let subs = q.get("subs").map_or("", String::as_str);
    // Go's strconv.ParseBool spellings of true.
    let auth = matches!(
        q.get("auth").map(String::as_str),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    );
    let page: Vec<Value> = conns
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| conn_json(c, now, subs, auth))
        .collect();
    json!({
        "server_id": server.id,
        "now": rfc3339(now),
        "num_connections": page.len(),
        "total": total,
        "offset": offset,
        "limit": limit,
        "connections": page,
    })
}

fn subsz(server: &Server, q: &BTreeMap<String, String>) -> Value {
    let accounts = server.auth.accounts();
    let mut st = crate::sublist::Stats::default();
    let mut all = Vec::new();
    for a in &accounts {
        let s = a.stats();
        st.count += s.count;
        st.inserts += s.inserts;
        st.removes += s.removes;
        st.matches += s.matches;
        st.cache_hits += s.cache_hits;
        st.cache_entries += s.cache_entries;
        all.extend(
            a.subscriptions()
                .into_iter()
                .map(|sub| (a.name.clone(), sub)),
        );
    }
    let hit_rate = if st.matches == 0 {
        0.0
    } else {
        st.cache_hits as f64 / st.matches as f64
    };
    let mut v = json!({
        "server_id": server.id,
        "now": rfc3339(SystemTime::now()),
        "num_subscriptions": st.count,
        "num_cache": st.cache_entries,
        "num_inserts": st.inserts,
        "num_removes": st.removes,
        "num_matches": st.matches,
        "cache_hit_rate": hit_rate,
        "max_fanout": 0,
        "avg_fanout": 0.0,
    });
    let want_list = matches!(
        q.get("subs").map(String::as_str),
        Some("1" | "true" | "detail")
    );
    if want_list || q.contains_key("test") {
        let mut list: Vec<_> = all
            .iter()
            .filter(|(_, s)| {
                q.get("test")
                    .is_none_or(|t| crate::subject::matches(&s.subject, t.as_bytes()))
            })
            .collect();
        list.sort_by_key(|(_, s)| (s.sink.cid(), s.sid.clone()));
        let total = list.len();
        let (offset, limit) = paging(q);
        let page: Vec<Value> = list
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(acc, s)| sub_detail(s, acc))
            .collect();
        v["total"] = json!(total);
        v["offset"] = json!(offset);
        v["limit"] = json!(limit);
        v["subscriptions_list"] = json!(page);
    }
    v
}

/// `offset` and `limit` query parameters, with nats-server's default page of 1024.
fn paging(q: &BTreeMap<String, String>) -> (usize, usize) {
    let get = |k: &str, default| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    (get("offset", 0), get("limit", 1024))
}

/// One subscription as `/connz?subs=detail` and `/subsz?subs=1` show it.
fn sub_detail(s: &Subscription, account: &str) -> Value {
    let mut d = json!({
        "account": account,
        "subject": String::from_utf8_lossy(&s.subject),
        "sid": String::from_utf8_lossy(&s.sid),
        "msgs": s.delivered(),
        "cid": s.sink.cid(),
    });
    if let Some(q) = &s.queue {
        d["qgroup"] = json!(String::from_utf8_lossy(q));
    }
    if s.max() > 0 {
        d["max"] = json!(s.max());
    }
    d
}

/// A float64 as Go's JSON encoder writes it: whole numbers without a fraction (`2`, not
/// `2.0`), so clients comparing JSON values see what nats-server sends.
fn go_float(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// Resident set size in bytes, from /proc.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Average CPU use since start, in percent of one core (as nats-server's `cpu`).
fn cpu_percent(server: &Server) -> f64 {
    let Some(ticks) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
    else {
        return 0.0;
    };
    let elapsed = SystemTime::now()
        .duration_since(server.started)
        .unwrap_or_default()
        .as_secs_f64();
    if elapsed <= 0.0 {
        return 0.0;
    }
    ((ticks as f64 / 100.0) / elapsed * 1000.0).round() / 10.0
}

/// RFC 3339 UTC time with nanoseconds, as Go's JSON encoding of time.Time.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// A duration the way Go prints one (`1m38s`, `684µs`), as nats-server's JSON has them.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", trim_float(ns as f64 / 1e3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", trim_float(ns as f64 / 1e6));
    }
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let frac = d.subsec_millis();
    let secs = if frac > 0 {
        format!("{s}.{frac:03}").trim_end_matches('0').to_string()
    } else {
        s.to_string()
    };
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(2.0).to_string(), "2");
        assert_eq!(go_float(1.5).to_string(), "1.5");
        assert_eq!(go_float(0.5).to_string(), "0.5");
    }

    #[test]
    fn times_print_like_go() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_312_073)),
            "2026-11-22T01:47:53.000000000Z"
        );
        assert_eq!(go_duration(Duration::from_secs(98)), "1m38s");
        assert_eq!(go_duration(Duration::from_micros(684)), "684µs");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3725)), "1h2m5s");
    }
}
