//! Owns the solicited leaf node connections: for each configured remote, a task that dials
//! the hub (the cloud nats-server's leafnode port), runs one `link` at a time and, when it
//! ends, dials again after a backoff with jitter, across the configured URLs and the ones
//! the hub advertised, for as long as the server runs. A remote binds one local account:
//! its interest goes upstream, the hub's interest comes down into that account's sublist.
//!
//! What the monitor shows (`/leafz`, `/varz` `leafnodes`) is read from here.

pub mod creds;
mod link;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use tracing::{error, info, warn};

use crate::config::leaf::{LeafUrl, RemoteConfig};
use crate::router::Account;
use crate::server::Server;
pub use link::{Link, LinkView};

/// After these errors nats-server waits 30 s before dialling again (a loop or a cluster
/// name clash will not fix itself in a second).
const LONG_DELAY: Duration = Duration::from_secs(30);

/// One configured remote and its current connection.
pub struct Remote {
    pub cfg: RemoteConfig,
    pub account: Arc<Account>,
    current: Mutex<Option<Arc<Link>>>,
    /// Hub leafnode URLs learnt from INFO (`leafnode_urls`), tried before the configured
    /// ones as nats-server does.
    learnt: Mutex<Vec<LeafUrl>>,
    /// Bumped whenever the link comes up or goes down (uplinks wait on it).
    link_changed: tokio::sync::watch::Sender<u64>,
    /// Subjects captured by uplinked streams, per stream: a local publish on them reaches
    /// the cloud through its uplink only, never also as a core message (DESIGN.md
    /// invariant 3).
    uplinked: Mutex<HashMap<String, Vec<Bytes>>>,
    /// The values of `uplinked`, flattened for the publish path.
    excluded: parking_lot::RwLock<Vec<Bytes>>,
}

impl Remote {
    fn new(cfg: RemoteConfig, account: Arc<Account>) -> Remote {
        Remote {
            account,
            cfg,
            current: Mutex::new(None),
            learnt: Mutex::new(Vec::new()),
            link_changed: tokio::sync::watch::channel(0).0,
            uplinked: Mutex::new(HashMap::new()),
            excluded: parking_lot::RwLock::new(Vec::new()),
        }
    }

    /// The open connection, if any.
    pub fn link(&self) -> Option<Arc<Link>> {
        self.current.lock().clone()
    }

    /// Changes whenever the link comes up or goes down.
    pub fn watch_link(&self) -> tokio::sync::watch::Receiver<u64> {
        self.link_changed.subscribe()
    }

    pub(crate) fn set_link(&self, link: Option<Arc<Link>>) {
        *self.current.lock() = link;
        self.link_changed.send_modify(|n| *n += 1);
    }

    /// Clears the link if it is still `cid`.
    pub(crate) fn clear_link(&self, cid: u64) {
        let cleared = {
            let mut cur = self.current.lock();
            let is = cur.as_ref().is_some_and(|l| l.cid == cid);
            if is {
                *cur = None;
            }
            is
        };
        if cleared {
            self.link_changed.send_modify(|n| *n += 1);
        }
    }

    /// Sets the subjects stream `stream`'s uplink forwards (empty: none).
    pub fn set_uplinked(&self, stream: &str, subjects: &[String]) {
        let mut u = self.uplinked.lock();
        if subjects.is_empty() {
            u.remove(stream);
        } else {
            u.insert(
                stream.to_string(),
                subjects.iter().map(|s| Bytes::from(s.clone())).collect(),
            );
        }
        *self.excluded.write() = u.values().flatten().cloned().collect();
    }

    /// Is `subject` forwarded by an uplink (and so not sent as a core message)?
    pub(crate) fn is_uplinked(&self, subject: &[u8]) -> bool {
        let ex = self.excluded.read();
        !ex.is_empty() && ex.iter().any(|p| crate::subject::matches(p, subject))
    }

    pub(crate) fn learn_urls(&self, urls: &[String], template: &LeafUrl) {
        let mut learnt = self.learnt.lock();
        learnt.clear();
        for u in urls {
            let Some((host, port)) = split_host_port(u) else {
                continue;
            };
            // Credentials and scheme come from the URL that reached this cluster.
            let mut url = template.clone();
            url.host = host;
            url.port = port;
            if !learnt.iter().any(|l| l.host_port() == url.host_port()) {
                learnt.push(url);
            }
        }
    }
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

/// Starts one task per configured remote. Returns the remotes for monitoring.
pub fn start(server: &Arc<Server>) -> Vec<Arc<Remote>> {
    let mut remotes = Vec::new();
    for cfg in &server.config.leaf.remotes {
        let remote = Arc::new(Remote::new(cfg.clone(), server.auth.account(&cfg.account)));
        let urls: Vec<String> = cfg.urls.iter().map(|u| u.to_string()).collect();
        info!(
            "Leafnode remote for account {:?}: {}",
            cfg.account,
            urls.join(", ")
        );
        tokio::spawn(run(server.clone(), remote.clone()));
        remotes.push(remote);
    }
    remotes
}

/// The order in which to try URLs: learnt ones first, then the configured ones (shuffled
/// unless `no_randomize`), without repeats.
fn rotation(remote: &Remote) -> Vec<LeafUrl> {
    let mut configured = remote.cfg.urls.clone();
    if !remote.cfg.no_randomize {
        use rand::seq::SliceRandom;
        configured.shuffle(&mut rand::thread_rng());
    }
    let mut all: Vec<LeafUrl> = remote.learnt.lock().clone();
    for u in configured {
        if !all.iter().any(|l| l.host_port() == u.host_port()) {
            all.push(u);
        }
    }
    all
}

/// The wait before the next dial: the reconnect interval, doubled for every full round of
/// URLs that failed in a row (at most 8 times the interval, so a link that comes back is
/// found within seconds), plus up to 25% jitter so that a fleet of edges does not dial in
/// step after a cloud outage.
fn backoff(reconnect: Duration, failed_rounds: u32) -> Duration {
    let base = reconnect * 2u32.pow(failed_rounds.min(3));
    let jitter = rand::thread_rng().gen_range(0.0..0.25);
    base + base.mul_f64(jitter)
}

/// The URL after `last` in the current rotation (the first one if `last` is not in it), so
/// that after a failure or a lost link the next attempt goes to another node.
fn next_url(remote: &Remote, last: Option<&str>) -> Option<LeafUrl> {
    let list = rotation(remote);
    let at = last.and_then(|l| list.iter().position(|u| u.host_port() == l));
    match at {
        Some(i) => list.get((i + 1) % list.len()).cloned(),
        None => list.first().cloned(),
    }
}

async fn run(server: Arc<Server>, remote: Arc<Remote>) {
    let reconnect = server.config.leaf.reconnect;
    let mut failures: u32 = 0;
    let mut last: Option<String> = None;
    loop {
        let Some(url) = next_url(&remote, last.as_deref()) else {
            return;
        };
        last = Some(url.host_port());
        if server.is_shutting_down() {
            return;
        }
        let outcome = link::connect_and_run(&server, &remote, &url).await;
        if server.is_shutting_down() {
            return;
        }
        let delay = match outcome {
            link::Outcome::Failed(why) => {
                failures += 1;
                error!("Error trying to connect as leafnode to remote server {url}: {why}");
                let round = remote.cfg.urls.len().max(1) as u32;
                backoff(reconnect, (failures - 1) / round)
            }
            link::Outcome::Closed { reason, long_delay } => {
                failures = 0;
                warn!("Leafnode connection to {url} closed: {reason}");
                if long_delay {
                    LONG_DELAY
                } else {
                    backoff(reconnect, 0)
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = server.shutdown_started() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_with_jitter() {
        let r = Duration::from_secs(1);
        for _ in 0..50 {
            let first = backoff(r, 0);
            assert!(first >= r && first <= r.mul_f64(1.25));
            let capped = backoff(r, 30);
            assert!(capped >= r * 8 && capped <= (r * 8).mul_f64(1.25));
        }
    }

    #[test]
    fn learnt_urls_go_first_without_repeats() {
        let cfg = RemoteConfig {
            urls: vec![
                LeafUrl::parse("nats-leaf://u:p@127.0.0.1:7001").unwrap(),
                LeafUrl::parse("nats-leaf://u:p@127.0.0.1:7002").unwrap(),
            ],
            no_randomize: true,
            ..RemoteConfig::default()
        };
        let remote = Remote::new(cfg.clone(), Arc::new(Account::new("$G")));
        remote.learn_urls(
            &["127.0.0.1:7003".into(), "127.0.0.1:7002".into()],
            &cfg.urls[0],
        );
        let order: Vec<String> = rotation(&remote).iter().map(|u| u.host_port()).collect();
        assert_eq!(
            order,
            ["127.0.0.1:7003", "127.0.0.1:7002", "127.0.0.1:7001"]
        );
        // Learnt URLs carry the credentials of the URL that reached the cluster.
        assert_eq!(rotation(&remote)[0].user.as_deref(), Some("u"));
    }
}
