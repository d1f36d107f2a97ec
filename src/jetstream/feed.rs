//! What the uplink sees of one stream, and the one thing it tells the stream back.
//!
//! The engine task owns streams; the uplink runs on its own task. A `Feed` is their
//! meeting point: the engine publishes the stream's message log (the uplink reads it
//! directly, from disk, in order), its incarnation id and how far it is durable; the
//! uplink answers with `JsAccount::forwarded` once the cloud has stored messages, and the
//! engine records that and removes them where the retention policy says so. A feed exists
//! from the moment an uplink is configured, so an uplink can wait for its stream.

use parking_lot::Mutex;
use tokio::sync::watch;

use super::api::RetentionPolicy;
use crate::store::Messages;

/// The stream as the uplink needs it. `log` is None while the stream does not exist.
#[derive(Clone)]
pub struct FeedState {
    pub log: Option<Messages>,
    /// Random per stream creation: a reflashed device never reuses an old message id.
    pub incarnation: String,
    pub subjects: Vec<String>,
    pub retention: RetentionPolicy,
    /// The last seq known durable (flushed); the uplink never sends beyond it.
    pub durable_last: u64,
    /// The last seq the cloud acknowledged, as recorded in the store.
    pub forwarded: u64,
}

/// What the uplink wants to hear at once of the captured subjects (see `Feed::update`).
pub type SubjectsHook = Box<dyn Fn(&[String]) + Send + Sync>;

/// One uplinked stream's feed.
pub struct Feed {
    pub stream: String,
    state: Mutex<FeedState>,
    changed: watch::Sender<u64>,
    on_subjects: Mutex<Option<SubjectsHook>>,
}

impl Feed {
    pub(super) fn new(stream: &str) -> Feed {
        Feed {
            stream: stream.to_string(),
            state: Mutex::new(FeedState {
                log: None,
                incarnation: String::new(),
                subjects: Vec::new(),
                retention: RetentionPolicy::Limits,
                durable_last: 0,
                forwarded: 0,
            }),
            changed: watch::channel(0).0,
            on_subjects: Mutex::new(None),
        }
    }

    /// Installs the hook `update` calls with the stream's captured subjects.
    pub(super) fn set_on_subjects(&self, hook: SubjectsHook) {
        *self.on_subjects.lock() = Some(hook);
    }

    pub fn state(&self) -> FeedState {
        self.state.lock().clone()
    }

    /// Changes whenever the state does (new durable messages, stream created or gone).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Changes the state (the engine attaching, changing or removing the stream). The
    /// subjects hook runs here, on the engine's task, before the API request that caused
    /// it is answered: the leaf stops sending those subjects as core messages before any
    /// client can publish into the new stream, not when the uplink's task next runs.
    pub(super) fn update(&self, f: impl FnOnce(&mut FeedState)) {
        let subjects = {
            let mut st = self.state.lock();
            f(&mut st);
            if st.log.is_some() {
                st.subjects.clone()
            } else {
                Vec::new()
            }
        };
        if let Some(hook) = self.on_subjects.lock().as_ref() {
            hook(&subjects);
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Moves `durable_last` forward; wakes the uplink only when it did move.
    pub(super) fn durable_to(&self, last: u64) {
        let moved = {
            let mut s = self.state.lock();
            let moved = s.log.is_some() && last != s.durable_last;
            s.durable_last = last;
            moved
        };
        if moved {
            self.changed.send_modify(|n| *n += 1);
        }
    }
}

/// A fresh incarnation id: 16 random characters.
pub(super) fn new_incarnation() -> String {
    random_token(16)
}

/// `n` random characters that are safe in a subject token and a message id.
pub fn random_token(n: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
