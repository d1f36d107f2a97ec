//! Owns the broker process's network side: the client listener, one task pair per
//! connection (see `client`), the server-wide counters, connection registry, lame duck
//! mode and orderly shutdown. Routing is delegated to `router`, HTTP to `monitor`.

pub mod auth;
pub mod client;
pub mod info;
pub mod tls;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::router::Account;
use client::{Client, CloseReason, ConnStats};
use info::{Info, NATS_VERSION};
use tls::{TlsError, TlsSetup};

/// Closed connections kept for `/connz?state=closed`, as nats-server keeps a ring of them.
const CLOSED_KEEP: usize = 1000;

/// Server-wide counters (`/varz`). Message and byte counts are kept per connection only
/// (no server-wide atomic on the hot path that every publisher would contend on); these
/// hold what closed connections counted, and `Server::totals` adds the open ones.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub closed: ConnStats,
    pub slow_consumers: AtomicU64,
    pub total_connections: AtomicU64,
}

/// Message and byte totals across all connections, open and closed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
}

/// Why the server could not start. Each says what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Error listening on port: {addr}, \"{source}\"")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("Can't start monitoring: {0}")]
    Monitor(String),
    #[error("Can't start JetStream: {0}")]
    JetStream(String),
}

/// Binds a TCP listener, with nats-server's wording when the port is taken.
pub async fn bind(host: &str, port: u16) -> Result<(TcpListener, SocketAddr), StartError> {
    let addr = format!("{host}:{port}");
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.clone(),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    Ok((listener, local))
}

pub struct Server {
    pub config: Config,
    pub id: String,
    pub name: String,
    pub started: SystemTime,
    /// Users, accounts and permissions.
    pub auth: auth::Authenticator,
    /// The global account (`$G`), where clients land when no account is configured.
    pub account: Arc<Account>,
    /// Client (and HTTPS monitoring) TLS, when configured.
    pub tls: Option<TlsSetup>,
    pub stats: ServerStats,
    clients: Mutex<BTreeMap<u64, Arc<Client>>>,
    closed: Mutex<VecDeque<Arc<Client>>>,
    next_cid: AtomicU64,
    client_addr: Mutex<Option<SocketAddr>>,
    lame_duck: AtomicBool,
    stop_accepting: Notify,
    shutting_down: AtomicBool,
    shutdown_begun: Notify,
    /// The leaf remotes (`leafnodes { remotes }`), once started.
    leafs: std::sync::OnceLock<Vec<Arc<crate::leaf::Remote>>>,
    /// JetStream, when enabled and started.
    jetstream: std::sync::OnceLock<Arc<crate::jetstream::JetStream>>,
    /// The uplinks, once started.
    uplinks: std::sync::OnceLock<Vec<Arc<crate::uplink::Uplink>>>,
}

impl Server {
    /// Builds the server; fails only when the TLS files cannot be used.
    pub fn new(config: Config) -> Result<Arc<Server>, StartError> {
        let tls = config.tls.as_ref().map(TlsSetup::load).transpose()?;
        let id = info::new_server_id();
        let name = config.server_name.clone().unwrap_or_else(|| id.clone());
        let auth = auth::Authenticator::new(&config.auth);
        let account = auth.global();
        Ok(Arc::new(Server {
            auth,
            account,
            config,
            id,
            name,
            started: SystemTime::now(),
            tls,
            stats: ServerStats::default(),
            clients: Mutex::new(BTreeMap::new()),
            closed: Mutex::new(VecDeque::new()),
            next_cid: AtomicU64::new(1),
            client_addr: Mutex::new(None),
            lame_duck: AtomicBool::new(false),
            stop_accepting: Notify::new(),
            shutting_down: AtomicBool::new(false),
            shutdown_begun: Notify::new(),
            leafs: std::sync::OnceLock::new(),
            jetstream: std::sync::OnceLock::new(),
            uplinks: std::sync::OnceLock::new(),
        }))
    }

    pub(crate) fn next_cid(&self) -> u64 {
        self.next_cid.fetch_add(1, Ordering::Relaxed)
    }

    pub fn auth_required(&self) -> bool {
        self.auth.required()
    }

    /// The INFO every client gets on accept (without its per-connection fields).
    pub fn info(&self) -> Info {
        let addr = *self.client_addr.lock();
        Info {
            server_id: self.id.clone(),
            server_name: self.name.clone(),
            version: NATS_VERSION.into(),
            proto: 1,
            go: format!("edgeleaf{}", env!("CARGO_PKG_VERSION")),
            host: self.config.host.clone(),
            port: addr.map_or(0, |a| a.port()),
            headers: true,
            auth_required: self.auth_required(),
            nonce: String::new(),
            tls_required: self.tls.is_some(),
            tls_verify: self.tls.as_ref().is_some_and(|t| t.verify),
            max_payload: self.config.max_payload,
            client_id: 0,
            client_ip: String::new(),
            ldm: self.lame_duck.load(Ordering::Relaxed),
        }
    }

    pub fn client_addr(&self) -> Option<SocketAddr> {
        *self.client_addr.lock()
    }

    /// Adds a connection to the registry; false if `max_connections` is reached.
    pub(crate) fn register(&self, client: &Arc<Client>) -> bool {
        let mut clients = self.clients.lock();
        if clients.len() >= self.config.max_connections as usize {
            return false;
        }
        clients.insert(client.cid, client.clone());
        self.stats.total_connections.fetch_add(1, Ordering::Relaxed);
        true
    }

    pub(crate) fn unregister(&self, client: &Arc<Client>) {
        // Fold the counters in under the registry lock, so totals never count a
        // connection twice or not at all.
        let mut clients = self.clients.lock();
        if clients.remove(&client.cid).is_some() {
            let (from, to) = (client.counts(), &self.stats.closed);
            to.in_msgs.fetch_add(from.in_msgs, Ordering::Relaxed);
            to.in_bytes.fetch_add(from.in_bytes, Ordering::Relaxed);
            to.out_msgs.fetch_add(from.out_msgs, Ordering::Relaxed);
            to.out_bytes.fetch_add(from.out_bytes, Ordering::Relaxed);
        }
        drop(clients);
        let mut closed = self.closed.lock();
        if closed.len() >= CLOSED_KEEP {
            closed.pop_front();
        }
        closed.push_back(client.clone());
    }

    /// Message and byte counts of every connection since start.
    pub fn totals(&self) -> Totals {
        let clients = self.clients.lock();
        let mut t = Totals::default();
        let closed = &self.stats.closed;
        t.in_msgs = closed.in_msgs.load(Ordering::Relaxed);
        t.in_bytes = closed.in_bytes.load(Ordering::Relaxed);
        t.out_msgs = closed.out_msgs.load(Ordering::Relaxed);
        t.out_bytes = closed.out_bytes.load(Ordering::Relaxed);
        for c in clients.values() {
            let n = c.counts();
            t.in_msgs += n.in_msgs;
            t.in_bytes += n.in_bytes;
            t.out_msgs += n.out_msgs;
            t.out_bytes += n.out_bytes;
        }
        t
    }

    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.clients.lock().values().cloned().collect()
    }

    pub fn closed_clients(&self) -> Vec<Arc<Client>> {
        self.closed.lock().iter().cloned().collect()
    }

    pub fn num_clients(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_lame_duck(&self) -> bool {
        self.lame_duck.load(Ordering::Relaxed)
    }

    /// Binds the client listener and starts accepting. Returns the bound address.
    pub async fn start_clients(self: &Arc<Self>) -> Result<SocketAddr, StartError> {
        let port = match self.config.port {
            -1 => 0,
            0 => 4222,
            p => p as u16,
        };
        let (listener, local) = bind(&self.config.host, port).await?;
        *self.client_addr.lock() = Some(local);
        info!("Listening for client connections on {}", local);
        if self.tls.is_some() {
            info!("TLS required for client connections");
        }
        let server = self.clone();
        tokio::spawn(async move { server.accept_loop(listener).await });
        Ok(local)
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            tokio::select! {
                res = listener.accept() => match res {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let server = self.clone();
                        tokio::spawn(client::serve(server, stream, peer));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        error!("Error accepting client connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = self.stop_accepting.notified() => {
                    info!("Stopped accepting client connections");
                    return;
                }
            }
        }
    }

    /// Opens the JetStream store and recovers streams and consumers (before clients can
    /// publish into them).
    pub fn start_jetstream(self: &Arc<Self>) -> Result<(), StartError> {
        match crate::jetstream::JetStream::start(self) {
            Ok(Some(js)) => {
                let _ = self.jetstream.set(js);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(StartError::JetStream(e.to_string())),
        }
    }

    pub fn jetstream(&self) -> Option<&Arc<crate::jetstream::JetStream>> {
        self.jetstream.get()
    }

    /// Starts dialling the configured leaf remotes.
    pub fn start_leafs(self: &Arc<Self>) {
        let _ = self.leafs.set(crate::leaf::start(self));
    }

    /// Starts the uplinks (after JetStream and the leaf remotes they use).
    pub fn start_uplinks(self: &Arc<Self>) {
        let _ = self.uplinks.set(crate::uplink::start(self));
    }

    pub fn uplinks(&self) -> &[Arc<crate::uplink::Uplink>] {
        self.uplinks.get().map_or(&[], Vec::as_slice)
    }

    pub fn leaf_remotes(&self) -> &[Arc<crate::leaf::Remote>] {
        self.leafs.get().map_or(&[], Vec::as_slice)
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Resolves once shutdown has begun (for tasks that sleep between attempts).
    pub async fn shutdown_started(&self) {
        let notified = self.shutdown_begun.notified();
        if self.is_shutting_down() {
            return;
        }
        notified.await;
    }

    /// SIGTERM/SIGINT: stop accepting, flush and close every connection, and return once
    /// they are gone or `deadline` has passed.
    pub async fn shutdown(&self, deadline: Duration) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        info!("Initiating Shutdown...");
        self.shutdown_begun.notify_waiters();
        self.stop_accepting.notify_one();
        for remote in self.leaf_remotes() {
            if let Some(link) = remote.link() {
                link.shut_down();
            }
        }
        for c in self.clients() {
            c.close(CloseReason::ServerShutdown, true);
        }
        let until = tokio::time::Instant::now() + deadline;
        while self.num_clients() > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        info!("Server Exiting..");
    }

    /// SIGUSR2: lame duck mode as nats-server does it. Stop accepting, tell clients (INFO
    /// with `ldm`), wait the grace period, then close clients spread over the rest of the
    /// lame duck duration so they do not all reconnect elsewhere at once.
    pub async fn lame_duck(&self) {
        if self.lame_duck.swap(true, Ordering::SeqCst) {
            return;
        }
        let cfg = &self.config;
        info!("Entering lame duck mode, stop accepting new clients");
        self.stop_accepting.notify_one();
        let info = self.info();
        for c in self.clients() {
            c.send_lame_duck_info(&info);
        }
        let grace = cfg.lame_duck_grace_period.min(cfg.lame_duck_duration);
        tokio::time::sleep(grace).await;
        let clients = self.clients();
        if !clients.is_empty() {
            let spread = cfg.lame_duck_duration.saturating_sub(grace);
            let step = spread / clients.len() as u32;
            info!("Closing existing clients");
            let last = clients.len() - 1;
            for (i, c) in clients.into_iter().enumerate() {
                c.close(CloseReason::ServerShutdown, true);
                if i < last && !step.is_zero() {
                    tokio::time::sleep(step).await;
                }
            }
        }
        self.shutdown(Duration::from_secs(2)).await;
    }

    pub fn warn_config(&self) {
        if self.config.max_payload > 8 * 1024 * 1024 {
            warn!("Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance");
        }
    }
}
