//! JetStream on the device: streams and consumers of one account, persisted through
//! `store` (sled), reached through the `$JS.API` subjects as nats-server 2.9 answers them.
//!
//! One task per JetStream account does all the work in order: it takes publishes caught
//! by the streams' internal subscriptions, API requests and acks from a queue (see
//! `sinks`), writes each batch of publishes to the store with one flush for all of them
//! (group commit), and only then sends their PubAcks; then it serves waiting pull
//! requests and redeliveries. Nothing on the publisher's path waits for the disk.

pub mod api;
mod consumer;
mod engine;
pub mod feed;
mod respond;
mod sinks;

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{error, info};

use crate::server::Server;
use crate::store::Store;
pub use engine::{JsAccount, JsView};

/// JetStream of the whole server: one engine per account that has it.
pub struct JetStream {
    pub accounts: Vec<Arc<engine::JsAccount>>,
    pub domain: Option<String>,
}

impl JetStream {
    /// Opens the store and recovers every stream and consumer, then starts one task per
    /// JetStream account. None when JetStream is off.
    pub fn start(server: &Arc<Server>) -> Result<Option<Arc<JetStream>>, crate::store::StoreError> {
        let Some(js) = server.config.jetstream.clone() else {
            return Ok(None);
        };
        let dir = std::path::Path::new(&server.config.store_dir).join("jetstream");
        let file = Store::open(&dir, js.cache_size)?;
        let memory = Store::memory()?;
        info!("Starting JetStream");
        info!("  Store directory: {:?}", dir);
        if let Some(d) = &js.domain {
            info!("  Domain: {d}");
        }
        let mut names = server.config.auth.jetstream_accounts.clone();
        if names.is_empty() {
            names.push(crate::config::auth::GLOBAL_ACCOUNT.to_string());
        }
        let mut accounts = Vec::new();
        for name in names {
            let account = server.auth.account(&name);
            let (tx, rx) = mpsc::channel(64 * 1024);
            let acc = engine::JsAccount::new(server, account, tx, js.domain.clone());
            let mut eng = engine::Engine::new(
                acc.clone(),
                file.clone(),
                memory.clone(),
                js.sync_before_ack,
                (js.max_memory, js.max_file),
            );
            if let Err(e) = eng.recover() {
                error!("JetStream account {name:?}: recovery failed: {e}");
                return Err(e);
            }
            acc.subscribe_api();
            info!("  JetStream enabled for account {name:?}");
            tokio::spawn(eng.run(rx));
            accounts.push(acc);
        }
        // Accounts without JetStream answer its API with an error, as nats-server does.
        for account in server.auth.accounts() {
            if accounts
                .iter()
                .any(|a: &Arc<engine::JsAccount>| Arc::ptr_eq(&a.account, &account))
            {
                continue;
            }
            let sink = Arc::new(sinks::NotEnabled {
                cid: server.next_cid(),
                account: Arc::downgrade(&account),
            });
            account.subscribe(Arc::new(crate::router::Subscription::new(
                sink,
                bytes::Bytes::from_static(b"$JS.API.>"),
                None,
                bytes::Bytes::from_static(b"js-disabled"),
            )));
        }
        Ok(Some(Arc::new(JetStream {
            accounts,
            domain: js.domain,
        })))
    }
}
