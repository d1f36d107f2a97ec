//! The cloud our users run, for leaf node tests: two nats-server clusters of three nodes
//! (`cluster1` = c1n1..c1n3, `cluster2` = c2n1..c2n3) joined by gateways, JetStream on,
//! a leafnode listener and a monitoring port on every node, accounts SYS and APP.
//! Plus an `Edge` (the leaf under test, either implementation) and message helpers that
//! wait for interest to propagate by probing instead of sleeping.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use async_nats::{Client, Message, Subscriber};
use futures::{FutureExt, StreamExt};

use super::proxy::Proxy;
use super::{Broker, Impl, TempDir};

/// A cloud node: 0..=2 are c1n1..c1n3, 3..=5 are c2n1..c2n3.
pub type Node = usize;
pub const C1N1: Node = 0;
pub const C1N2: Node = 1;
pub const C1N3: Node = 2;
pub const C2N1: Node = 3;
pub const C2N2: Node = 4;
pub const C2N3: Node = 5;
pub const CLUSTER1: [Node; 3] = [C1N1, C1N2, C1N3];
pub const CLUSTER2: [Node; 3] = [C2N1, C2N2, C2N3];
pub const ALL_NODES: [Node; 6] = [C1N1, C1N2, C1N3, C2N1, C2N2, C2N3];

/// The overall limit of every wait in this module.
pub const WAIT: Duration = Duration::from_secs(20);

/// Accounts of the cloud, as in a real deployment.
pub const ACCOUNTS: &str = r#"
accounts {
  SYS { users = [ {user: sys, password: sys} ] }
  APP {
    jetstream: enabled
    users = [
      {user: app, password: app}
      {user: leaf, password: leaf}
      {user: lim, password: lim, permissions: {publish: ["up.>", "_INBOX.>"], subscribe: ["down.>", "_INBOX.>"]}}
    ]
  }
}
system_account: SYS
"#;

// ---------------------------------------------------------------------------------------
// At most N clouds (6 nats-servers each) at a time in one test process.

static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

fn max_clouds() -> usize {
    std::env::var("EDGELEAF_MAX_CLOUDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

struct CloudPermit;

impl CloudPermit {
    fn acquire() -> CloudPermit {
        let mut n = SLOTS.0.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= max_clouds() {
            n = SLOTS.1.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += 1;
        CloudPermit
    }
}

impl Drop for CloudPermit {
    fn drop(&mut self) {
        let mut n = SLOTS.0.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        SLOTS.1.notify_one();
    }
}

/// A loopback port that is free now and was not handed out before in this process.
///
/// Taken below the kernel's ephemeral range (`ip_local_port_range`): ports from
/// `bind(0)` are ephemeral ones, which the many outgoing connections of a running cloud
/// (routes, gateways, leafs, clients) may take as source ports before nats-server binds
/// them ("address already in use"). Below that range only explicit binds compete.
pub fn unique_free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = if low > 12000 { (10000, low) } else { (0, 0) };
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let p = if to > from {
            rand::random::<u16>() % (to - from) + from
        } else {
            super::free_port()
        };
        if given.contains(&p) || std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
            continue;
        }
        given.push(p);
        return p;
    }
    panic!("no free loopback port found");
}

/// GET `path` on a loopback monitoring port; None when the server does not answer.
pub fn http_json(port: u16, path: &str) -> Option<serde_json::Value> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        super::dechunk(body)
    } else {
        body.to_string()
    };
    serde_json::from_str(&body).ok()
}

// ---------------------------------------------------------------------------------------
// The cloud.

struct NodeProc {
    name: String,
    cluster: &'static str,
    client_port: u16,
    http_port: u16,
    route_port: u16,
    gateway_port: u16,
    leaf_port: u16,
    conf: PathBuf,
    broker: Option<Broker>,
}

/// How to build the cloud.
#[derive(Debug, Clone, Default)]
pub struct CloudOptions {
    /// Put a `Proxy` in front of every cluster1 leafnode listener and make each node
    /// advertise its proxy (`leafnodes.advertise`), so the leafnode URLs a leaf learns
    /// from the hub's INFO also go through the proxies: then cutting the proxies really
    /// cuts the edge off (a nats-server leaf otherwise reconnects to a learnt direct URL).
    pub leaf_proxies: bool,
    /// A JetStream domain for every node (`jetstream { domain: ... }`): then a leaf reaches
    /// the cloud's JetStream API as `$JS.<domain>.API.>`, which plain `$JS.API.>` never does.
    pub js_domain: Option<String>,
}

/// Two clusters of three nats-servers joined by gateways; every process is killed on drop.
pub struct Cloud {
    nodes: Mutex<Vec<NodeProc>>,
    proxies: Vec<Proxy>,
    ports: Vec<(u16, u16, u16)>, // (client, http, leaf) per node, readable without the lock
    js_domain: Option<String>,
    _dir: TempDir,
    _permit: CloudPermit,
}

impl Cloud {
    /// Starts the six nodes and waits until the supercluster is formed (2 routes per node,
    /// the other gateway connected outbound).
    pub fn start() -> Cloud {
        Self::start_with(CloudOptions::default())
    }

    pub fn start_with(opts: CloudOptions) -> Cloud {
        let permit = CloudPermit::acquire();
        let dir = TempDir::new();
        // A port picked free may still be taken by someone else before nats-server binds
        // it: then start the whole cloud again on other ports.
        let mut failures = Vec::new();
        let (nodes, proxies) = loop {
            match Self::try_start(&opts, &dir.path) {
                Ok(started) => break started,
                Err(why) if failures.len() < 2 && why.contains("address already in use") => {
                    failures.push(why)
                }
                Err(why) => panic!("the cloud did not start: {why}\n(earlier: {failures:?})"),
            }
        };
        let ports = nodes
            .iter()
            .map(|n| (n.client_port, n.http_port, n.leaf_port))
            .collect();
        let cloud = Cloud {
            nodes: Mutex::new(nodes),
            proxies,
            ports,
            js_domain: opts.js_domain.clone(),
            _dir: dir,
            _permit: permit,
        };
        for n in ALL_NODES {
            cloud.wait_node_joined(n);
        }
        cloud
    }

    fn try_start(
        opts: &CloudOptions,
        root: &std::path::Path,
    ) -> Result<(Vec<NodeProc>, Vec<Proxy>), String> {
        let mut nodes = Vec::new();
        for (i, cluster) in [
            "cluster1", "cluster1", "cluster1", "cluster2", "cluster2", "cluster2",
        ]
        .into_iter()
        .enumerate()
        {
            let name = format!("c{}n{}", i / 3 + 1, i % 3 + 1);
            let conf = root.join(format!("{name}.conf"));
            nodes.push(NodeProc {
                name,
                cluster,
                client_port: unique_free_port(),
                http_port: unique_free_port(),
                route_port: unique_free_port(),
                gateway_port: unique_free_port(),
                leaf_port: unique_free_port(),
                conf,
                broker: None,
            });
        }
        let proxies: Vec<Proxy> = if opts.leaf_proxies {
            CLUSTER1
                .iter()
                .map(|&n| Proxy::start(&format!("127.0.0.1:{}", nodes[n].leaf_port)))
                .collect()
        } else {
            Vec::new()
        };
        for i in 0..nodes.len() {
            let advertise = proxies.get(i).map(|p| p.addr());
            let text = node_config(
                &nodes,
                i,
                root,
                advertise.as_deref(),
                opts.js_domain.as_deref(),
            );
            std::fs::write(&nodes[i].conf, text).expect("write node config");
        }
        // Start all six in parallel: each waits for its own "Server is ready".
        let started: Vec<Result<Broker, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = nodes
                .iter()
                .map(|n| {
                    let conf = n.conf.to_string_lossy().into_owned();
                    s.spawn(move || spawn_node(&conf))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let mut brokers = Vec::new();
        let mut errors = Vec::new();
        for (n, r) in nodes.iter().zip(started) {
            match r {
                Ok(b) => brokers.push(b),
                Err(log) => errors.push(format!("{} failed; log:\n{log}", n.name)),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n")); // the started ones are killed on drop
        }
        for (n, b) in nodes.iter_mut().zip(brokers) {
            n.broker = Some(b);
        }
        Ok((nodes, proxies))
    }

    /// The JetStream domain of the cloud, if it was started with one.
    pub fn js_domain(&self) -> Option<&str> {
        self.js_domain.as_deref()
    }

    pub fn name(&self, node: Node) -> String {
        self.nodes.lock().unwrap()[node].name.clone()
    }

    pub fn client_port(&self, node: Node) -> u16 {
        self.ports[node].0
    }

    pub fn http_port(&self, node: Node) -> u16 {
        self.ports[node].1
    }

    pub fn leaf_port(&self, node: Node) -> u16 {
        self.ports[node].2
    }

    /// `nats://127.0.0.1:P` (no credentials; clients use `client`/`client_as`).
    pub fn client_url(&self, node: Node) -> String {
        format!("nats://127.0.0.1:{}", self.client_port(node))
    }

    /// `127.0.0.1:P` of the node's leafnode listener.
    pub fn leaf_addr(&self, node: Node) -> String {
        format!("127.0.0.1:{}", self.leaf_port(node))
    }

    /// `nats-leaf://user:pass@127.0.0.1:P` for the node's leafnode listener.
    pub fn leaf_url(&self, node: Node, user: &str, pass: &str) -> String {
        format!(
            "nats-leaf://{user}:{pass}@127.0.0.1:{}",
            self.leaf_port(node)
        )
    }

    pub fn leaf_urls_cluster1(&self, user: &str, pass: &str) -> Vec<String> {
        CLUSTER1
            .iter()
            .map(|&n| self.leaf_url(n, user, pass))
            .collect()
    }

    /// The proxy in front of a cluster1 node's leafnode listener (`leaf_proxies` only).
    pub fn leaf_proxy(&self, node: Node) -> &Proxy {
        self.proxies
            .get(node)
            .expect("no leaf proxy: start with CloudOptions { leaf_proxies: true }")
    }

    /// All leaf proxies (one per cluster1 node; empty without `leaf_proxies`).
    pub fn leaf_proxies(&self) -> &[Proxy] {
        &self.proxies
    }

    /// The proxied leaf URLs of all of cluster1 (`leaf_proxies` only).
    pub fn proxied_leaf_urls_cluster1(&self, user: &str, pass: &str) -> Vec<String> {
        CLUSTER1
            .iter()
            .map(|&n| self.proxied_leaf_url(n, user, pass))
            .collect()
    }

    /// Cuts every leaf proxy (the edge loses its link and cannot dial again).
    pub fn cut_leaf_proxies(&self) {
        for p in &self.proxies {
            p.cut();
        }
    }

    /// Lets every leaf proxy carry connections again.
    pub fn resume_leaf_proxies(&self) {
        for p in &self.proxies {
            p.resume();
        }
    }

    /// `nats-leaf://user:pass@<proxy>` for a cluster1 node's leaf proxy.
    pub fn proxied_leaf_url(&self, node: Node, user: &str, pass: &str) -> String {
        format!("nats-leaf://{user}:{pass}@{}", self.leaf_proxy(node).addr())
    }

    /// A client of account APP (user `app`) on `node`.
    pub async fn client(&self, node: Node) -> Client {
        self.client_as(node, "app", "app").await
    }

    pub async fn client_as(&self, node: Node, user: &str, pass: &str) -> Client {
        let url = self.client_url(node);
        let fut = async_nats::ConnectOptions::with_user_and_password(user.into(), pass.into())
            .connect(url.as_str());
        tokio::time::timeout(WAIT, fut)
            .await
            .unwrap_or_else(|_| panic!("connecting to {} timed out", self.name(node)))
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name(node)))
    }

    /// The monitoring endpoint `path` of a running node (panics if it does not answer).
    pub fn node_monitor(&self, node: Node, path: &str) -> serde_json::Value {
        self.try_node_monitor(node, path)
            .unwrap_or_else(|| panic!("{} does not answer {path}", self.name(node)))
    }

    /// As `node_monitor`, None when the node is down or does not answer.
    pub fn try_node_monitor(&self, node: Node, path: &str) -> Option<serde_json::Value> {
        if !self.is_running(node) {
            return None;
        }
        http_json(self.http_port(node), path)
    }

    pub fn is_running(&self, node: Node) -> bool {
        self.nodes.lock().unwrap()[node].broker.is_some()
    }

    /// SIGKILLs the node (its ports and store stay reserved for `restart`).
    pub fn kill(&self, node: Node) {
        let broker = self.nodes.lock().unwrap()[node].broker.take();
        let mut broker = broker.unwrap_or_else(|| panic!("node {node} is not running"));
        broker.signal("KILL");
        broker.wait_exit(WAIT);
    }

    /// Starts a killed node again with the same config, ports and store directory, and
    /// waits until it has rejoined its cluster and the gateway.
    pub fn restart(&self, node: Node) {
        let conf = {
            let nodes = self.nodes.lock().unwrap();
            assert!(nodes[node].broker.is_none(), "node {node} is running");
            nodes[node].conf.to_string_lossy().into_owned()
        };
        // Its ports may be briefly taken (e.g. by a connection's source port): retry.
        let deadline = Instant::now() + WAIT;
        let b = loop {
            match spawn_node(&conf) {
                Ok(b) => break b,
                Err(why) if why.contains("address already in use") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(why) => panic!("restarting node {node} failed: {why}"),
            }
        };
        self.nodes.lock().unwrap()[node].broker = Some(b);
        self.wait_node_joined(node);
    }

    /// The log lines of a running node so far.
    pub fn node_log(&self, node: Node) -> String {
        self.nodes.lock().unwrap()[node]
            .broker
            .as_ref()
            .map(|b| b.log_text())
            .unwrap_or_default()
    }

    /// Polls /routez and /gatewayz until the node has both routes and an outbound
    /// connection to the other gateway.
    pub fn wait_node_joined(&self, node: Node) {
        let name = self.name(node);
        let other = if node < 3 { "cluster2" } else { "cluster1" };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let routes = self
                .try_node_monitor(node, "/routez")
                .and_then(|v| v["num_routes"].as_u64())
                .unwrap_or(0);
            let gw = self
                .try_node_monitor(node, "/gatewayz")
                .map(|v| !v["outbound_gateways"][other].is_null())
                .unwrap_or(false);
            if routes == 2 && gw {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{name} did not join (routes {routes}, gateway to {other}: {gw}); log:\n{}",
                    self.node_log(node)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Leaf connections the node reports in /leafz (empty when it is down).
    pub fn leafs(&self, node: Node) -> Vec<serde_json::Value> {
        self.try_node_monitor(node, "/leafz")
            .and_then(|v| v["leafs"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Sum of `leafnodes` over all running nodes.
    pub fn total_leafs(&self) -> u64 {
        ALL_NODES
            .iter()
            .filter_map(|&n| self.try_node_monitor(n, "/leafz"))
            .map(|v| v["leafnodes"].as_u64().unwrap_or(0))
            .sum()
    }

    /// Polls /leafz of `among` until one of them has a leaf connection from the edge named
    /// `edge_name` and returns that node (the hub). nats-server 2.9.10's /leafz entries
    /// have no `name` (only account, ip, port, rtt, counters, subscriptions); an entry
    /// with a `name` must match it, one without must be bound to account APP.
    pub async fn wait_leaf_connected(&self, among: &[Node], edge_name: &str) -> Node {
        let deadline = Instant::now() + WAIT;
        loop {
            for &n in among {
                let found = self.leafs(n).iter().any(|l| match l["name"].as_str() {
                    Some(name) => name == edge_name,
                    None => l["account"] == "APP",
                });
                if found {
                    return n;
                }
            }
            if Instant::now() > deadline {
                let seen: Vec<_> = among.iter().map(|&n| (n, self.leafs(n))).collect();
                panic!("no leaf connection from {edge_name} on nodes {among:?} within {WAIT:?}: {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until the whole cloud reports exactly `n` leaf connections.
    pub async fn wait_total_leafs(&self, n: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let total = self.total_leafs();
            if total == n {
                return;
            }
            if Instant::now() > deadline {
                let seen: Vec<_> = ALL_NODES.iter().map(|&k| (k, self.leafs(k))).collect();
                panic!("the cloud reports {total} leaf connections, expected {n}: {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Starts nats-server with `conf`; Err carries its log.
fn spawn_node(conf: &str) -> Result<Broker, String> {
    let mut cmd = std::process::Command::new(Impl::NatsServer.program());
    cmd.args(["-c", conf]);
    Broker::spawn(Impl::NatsServer, &mut cmd, None)
        .map_err(|(log, why)| format!("{why}\n{}", log.join("\n")))
}

fn node_config(
    nodes: &[NodeProc],
    i: usize,
    root: &std::path::Path,
    leaf_advertise: Option<&str>,
    js_domain: Option<&str>,
) -> String {
    let me = &nodes[i];
    let store = root.join(format!("{}-js", me.name));
    std::fs::create_dir_all(&store).expect("create store dir");
    let routes: Vec<String> = nodes
        .iter()
        .filter(|n| n.cluster == me.cluster)
        .map(|n| format!("\"nats-route://127.0.0.1:{}\"", n.route_port))
        .collect();
    let gw_urls = |cluster: &str| -> String {
        nodes
            .iter()
            .filter(|n| n.cluster == cluster)
            .map(|n| format!("\"nats://127.0.0.1:{}\"", n.gateway_port))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let advertise = leaf_advertise
        .map(|a| format!("  advertise: \"{a}\"\n"))
        .unwrap_or_default();
    let domain = js_domain
        .map(|d| format!("  domain: {d}\n"))
        .unwrap_or_default();
    format!(
        r#"server_name: {name}
listen: "127.0.0.1:{client}"
http: "127.0.0.1:{http}"
max_payload: 2MB
jetstream {{
  store_dir: "{store}"
  max_mem: 64M
  max_file: 256M
{domain}}}
cluster {{
  name: {cluster}
  listen: "127.0.0.1:{route}"
  routes: [ {routes} ]
}}
gateway {{
  name: {cluster}
  listen: "127.0.0.1:{gw}"
  gateways: [
    {{ name: cluster1, urls: [ {gw1} ] }}
    {{ name: cluster2, urls: [ {gw2} ] }}
  ]
}}
leafnodes {{
  listen: "127.0.0.1:{leaf}"
{advertise}}}
{ACCOUNTS}
"#,
        name = me.name,
        client = me.client_port,
        http = me.http_port,
        store = store.display(),
        cluster = me.cluster,
        route = me.route_port,
        routes = routes.join(", "),
        gw = me.gateway_port,
        gw1 = gw_urls("cluster1"),
        gw2 = gw_urls("cluster2"),
        leaf = me.leaf_port,
    )
}

// ---------------------------------------------------------------------------------------
// The edge: the leaf node under test.

/// The leaf under test (nats-server or edgeleaf) with one remote; killed on drop.
pub struct Edge {
    pub leaf: Impl,
    pub broker: Broker,
    pub config: String,
    /// The config file's name (`server.conf`, or `*.toml` for TOML).
    pub file_name: String,
}

pub const EDGE_NAME: &str = "edge1";

impl Edge {
    /// Starts `leaf` as `edge1` with one remote over `remote_urls`; `extra_conf` is
    /// appended at the top level.
    pub fn start(leaf: Impl, remote_urls: &[String], extra_conf: &str) -> Edge {
        Self::start_with_remote_opts(leaf, remote_urls, "", extra_conf)
    }

    /// As `start`, with `remote_opts` (e.g. `deny_imports: [...]`) inside the remote block.
    pub fn start_with_remote_opts(
        leaf: Impl,
        remote_urls: &[String],
        remote_opts: &str,
        extra_conf: &str,
    ) -> Edge {
        let urls: Vec<String> = remote_urls.iter().map(|u| format!("\"{u}\"")).collect();
        // nats-server 2.9.10 takes `reconnect` as an integer number of seconds; the
        // duration string "1s" is refused ("interface {} is string, not int64").
        let config = format!(
            r#"server_name: {EDGE_NAME}
listen: "127.0.0.1:-1"
http: "127.0.0.1:-1"
max_payload: 2MB
leafnodes {{
  reconnect: 1
  remotes = [
    {{
      urls: [ {urls} ]
      {remote_opts}
    }}
  ]
}}
{extra_conf}
"#,
            urls = urls.join(", "),
        );
        Self::start_config(leaf, config)
    }

    /// Starts `leaf` with the whole config text `config` (nats-server syntax).
    pub fn start_config(leaf: Impl, config: String) -> Edge {
        Self::start_config_named(leaf, "server.conf", config)
    }

    /// Starts `leaf` with the whole config text `config`, written to a file named
    /// `file_name` (edgeleaf reads `*.toml` as TOML).
    pub fn start_config_named(leaf: Impl, file_name: &str, config: String) -> Edge {
        let broker = Broker::start_with_config_named(leaf, file_name, &config, &[]);
        Edge {
            leaf,
            broker,
            config,
            file_name: file_name.to_string(),
        }
    }

    /// SIGKILLs the edge (nothing flushed, no goodbye) and waits until it is gone.
    pub fn kill9(&mut self) {
        if let Ok(None) = self.broker.child.try_wait() {
            self.broker.signal("KILL");
        }
        assert!(
            self.broker.wait_exit(WAIT).is_some(),
            "the edge did not exit after SIGKILL"
        );
    }

    /// Starts the (killed or stopped) edge again from the same config on the same client
    /// and monitoring ports (a `-1` port in the config is replaced by the one it had), so
    /// the same store directory and URLs apply. Retries while a port is still taken.
    pub fn start_again(&mut self) {
        assert!(
            !matches!(self.broker.child.try_wait(), Ok(None)),
            "the edge is still running"
        );
        let mut config = self.config.clone();
        // Both syntaxes: `listen: "..."` and TOML's `listen = "..."`.
        for sep in [": ", " = "] {
            config = config.replace(
                &format!("listen{sep}\"127.0.0.1:-1\""),
                &format!("listen{sep}\"127.0.0.1:{}\"", self.broker.port),
            );
            if let Some(http) = self.broker.http_port {
                config = config.replace(
                    &format!("http{sep}\"127.0.0.1:-1\""),
                    &format!("http{sep}\"127.0.0.1:{http}\""),
                );
            }
        }
        let deadline = Instant::now() + WAIT;
        self.broker = loop {
            match Broker::try_start_with_config_named(self.leaf, &self.file_name, &config, &[]) {
                Ok(b) => break b,
                Err((log, why)) => {
                    let log = log.join("\n");
                    if Instant::now() > deadline || !log.to_lowercase().contains("in use") {
                        panic!("{:?} did not start again ({why}); log:\n{log}", self.leaf);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        };
        self.config = config;
    }

    /// `kill9` then `start_again`.
    pub fn restart_after_kill9(&mut self) {
        self.kill9();
        self.start_again();
    }

    pub fn client_url(&self) -> String {
        self.broker.url()
    }

    /// A client of the edge (no credentials).
    pub async fn client(&self) -> Client {
        let fut = async_nats::connect(self.client_url());
        tokio::time::timeout(WAIT, fut)
            .await
            .expect("connecting to the edge timed out")
            .unwrap_or_else(|e| panic!("connecting to the edge ({:?}): {e}", self.leaf))
    }

    pub fn monitor(&self, path: &str) -> serde_json::Value {
        self.broker.http_get(path)
    }

    pub fn log_text(&self) -> String {
        self.broker.log_text()
    }
}

// ---------------------------------------------------------------------------------------
// Message helpers: probe until interest has propagated, then send the real messages.

/// Payload of probe messages; `next_real` and friends skip them.
pub const PROBE: &[u8] = b"__probe__";

pub fn is_probe(m: &Message) -> bool {
    m.payload.as_ref() == PROBE
}

/// Publishes probes on `subject` every ~50 ms until one of `subs` receives one; returns
/// the index of that subscriber. Panics after `WAIT`. Later probes may still arrive:
/// read with `next_real`/`buffered_real`, which skip them.
pub async fn until_delivered_any(
    publisher: &Client,
    subject: &str,
    subs: &mut [&mut Subscriber],
) -> usize {
    let deadline = Instant::now() + WAIT;
    loop {
        publisher
            .publish(subject.to_string(), PROBE.into())
            .await
            .expect("publish probe");
        publisher.flush().await.expect("flush probe");
        let waits = subs.iter_mut().map(|s| s.next().boxed());
        if let Ok((Some(_), i, _)) = tokio::time::timeout(
            Duration::from_millis(50),
            futures::future::select_all(waits),
        )
        .await
        {
            return i;
        }
        if Instant::now() > deadline {
            panic!(
                "no probe on {subject} was delivered within {WAIT:?} (interest did not propagate)"
            );
        }
    }
}

/// `until_delivered_any` with a single subscriber.
pub async fn until_delivered(publisher: &Client, subject: &str, sub: &mut Subscriber) {
    until_delivered_any(publisher, subject, &mut [sub]).await;
}

/// Sends requests on `subject` (short timeout each, ~50 ms apart) until one is answered;
/// no responders and timeouts are retried. Panics after `WAIT`.
pub async fn until_answered(client: &Client, subject: &str) -> Message {
    let deadline = Instant::now() + WAIT;
    loop {
        let req = async_nats::Request::new()
            .payload(PROBE.into())
            .timeout(Some(Duration::from_millis(500)));
        let last = match client.send_request(subject.to_string(), req).await {
            Ok(m) => return m,
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            panic!("no answer on {subject} within {WAIT:?} (last error: {last})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next non-probe message; panics after `WAIT`.
pub async fn next_real(sub: &mut Subscriber) -> Message {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, sub.next()).await {
            Ok(Some(m)) if is_probe(&m) => continue,
            Ok(Some(m)) => return m,
            Ok(None) => panic!("subscription closed"),
            Err(_) => panic!("no message within {WAIT:?}"),
        }
    }
}

/// Non-probe messages already delivered to the subscription (does not wait).
pub fn buffered_real(sub: &mut Subscriber) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(Some(m)) = sub.next().now_or_never() {
        if !is_probe(&m) {
            out.push(m);
        }
    }
    out
}

/// A subject unique in this process, `<prefix>.<n>`, so probes of one test never reach
/// another.
pub fn unique_subject(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}.u{}", N.fetch_add(1, Ordering::Relaxed))
}
