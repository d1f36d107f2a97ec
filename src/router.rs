//! Owns delivery within one account: one publish in, every delivery out. Each account has
//! its own sublist, so subjects never cross accounts. The router applies the delivery rules
//! nats-server applies: every plain subscriber gets a copy, each queue group one member
//! (picked at random), `echo: false` publishers skip their own subscriptions, and
//! auto-unsubscribe limits (`UNSUB sid max`) are honoured exactly.
//!
//! Deliveries go to a `Sink` (a client connection's outbound buffer today; leaf links and
//! internal services later). The publisher's task does the work and wakes each sink once per
//! read batch through `FlushList`, not once per message.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::sublist::{Matches, Stats, Sublist};

/// A message as published, borrowed from the publisher's read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    /// The header block, when the publisher sent one (HPUB).
    pub headers: Option<&'a [u8]>,
    pub payload: &'a [u8],
}

/// What happened to one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// Queued; the sink needs a wake-up at the end of the batch.
    QueuedWake,
    /// Queued; a wake-up is already pending.
    Queued,
    /// The sink is closed (or just closed as a slow consumer); try another queue member.
    Closed,
    /// The receiver may not see this subject (a wildcard subscription over a denied
    /// subject); try another queue member.
    Refused,
}

/// Somewhere deliveries go: a connection's outbound buffer, a leaf link, a service.
pub trait Sink: Send + Sync {
    /// Connection id, used for echo suppression and monitoring.
    fn cid(&self) -> u64;
    fn deliver(&self, sid: &[u8], msg: &Message<'_>) -> Delivered;
    /// Wakes the writer after a batch of deliveries.
    fn wake(&self);
    /// The router removed this subscription (auto-unsubscribe limit reached).
    fn forget(&self, sid: &[u8]);
}

/// One subscription as the sublist holds it.
pub struct Subscription {
    pub sink: Arc<dyn Sink>,
    pub subject: Bytes,
    pub queue: Option<Bytes>,
    pub sid: Bytes,
    /// Auto-unsubscribe limit; 0 = none.
    max: AtomicU64,
    delivered: AtomicU64,
    gone: AtomicBool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("cid", &self.sink.cid())
            .field("subject", &self.subject)
            .field("queue", &self.queue)
            .field("sid", &self.sid)
            .finish()
    }
}

impl Subscription {
    pub fn new(sink: Arc<dyn Sink>, subject: Bytes, queue: Option<Bytes>, sid: Bytes) -> Self {
        Subscription {
            sink,
            subject,
            queue,
            sid,
            max: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            gone: AtomicBool::new(false),
        }
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Claims one delivery slot. Returns (allowed, reached_limit).
    fn claim(&self) -> (bool, bool) {
        let max = self.max.load(Ordering::Relaxed);
        let n = self.delivered.fetch_add(1, Ordering::Relaxed) + 1;
        if max == 0 {
            return (true, false);
        }
        (n <= max, n == max)
    }
}

/// Sinks touched during one read batch; each is woken once at the end.
#[derive(Default)]
pub struct FlushList(Vec<Arc<dyn Sink>>);

impl FlushList {
    pub fn push(&mut self, sink: &Arc<dyn Sink>) {
        self.0.push(sink.clone());
    }
    pub fn wake_all(&mut self) {
        for s in self.0.drain(..) {
            s.wake();
        }
    }
}

/// A uniformly spread index below `n` for choosing a queue member. A per-thread xorshift:
/// the choice needs to spread load, not to be unpredictable, and the publish path should
/// not pay for a cryptographic generator.
fn pick(n: usize) -> usize {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(rand::random::<u64>() | 1);
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        ((x >> 32).wrapping_mul(n as u64) >> 32) as usize
    })
}

/// Who published: for echo suppression.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub cid: u64,
    pub echo: bool,
}

/// One account: its name and subscription index.
pub struct Account {
    pub name: String,
    sublist: Mutex<Sublist<Arc<Subscription>>>,
}

impl Account {
    pub fn new(name: impl Into<String>) -> Self {
        Account {
            name: name.into(),
            sublist: Mutex::new(Sublist::new()),
        }
    }

    pub fn subscribe(&self, sub: Arc<Subscription>) {
        let subject = sub.subject.clone();
        let queue = sub.queue.clone();
        self.sublist.lock().insert(&subject, queue.as_deref(), sub);
    }

    /// Removes a subscription now.
    pub fn unsubscribe(&self, sub: &Arc<Subscription>) -> bool {
        sub.gone.store(true, Ordering::Relaxed);
        self.sublist
            .lock()
            .remove(&sub.subject, sub.queue.as_deref(), |s| Arc::ptr_eq(s, sub))
    }

    /// Sets an auto-unsubscribe limit. Returns true if the subscription already reached it
    /// and was removed.
    pub fn set_max(&self, sub: &Arc<Subscription>, max: u64) -> bool {
        sub.max.store(max, Ordering::Relaxed);
        if max > 0 && sub.delivered() >= max {
            self.unsubscribe(sub);
            return true;
        }
        false
    }

    pub fn matches(&self, subject: &[u8]) -> Arc<Matches<Arc<Subscription>>> {
        self.sublist.lock().matches(subject)
    }

    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.sublist.lock().all()
    }

    pub fn stats(&self) -> Stats {
        self.sublist.lock().stats()
    }

    /// Delivers `msg` to every matching subscription. Returns how many deliveries were made.
    pub fn publish(&self, msg: &Message<'_>, origin: Origin, flush: &mut FlushList) -> usize {
        let matches = self.matches(msg.subject);
        if matches.is_empty() {
            return 0;
        }
        let mut count = 0;
        let mut expired: Vec<&Arc<Subscription>> = Vec::new();
        for sub in &matches.plain {
            if !origin.echo && sub.sink.cid() == origin.cid {
                continue;
            }
            if self.deliver_to(sub, msg, flush, &mut expired) {
                count += 1;
            }
        }
        if !matches.queues.is_empty() {
            for (_, members) in &matches.queues {
                let n = members.len();
                let start = if n > 1 { pick(n) } else { 0 };
                for i in 0..n {
                    let sub = &members[(start + i) % n];
                    if !origin.echo && sub.sink.cid() == origin.cid {
                        continue;
                    }
                    if self.deliver_to(sub, msg, flush, &mut expired) {
                        count += 1;
                        break;
                    }
                }
            }
        }
        for sub in expired {
            if self.unsubscribe(sub) {
                sub.sink.forget(&sub.sid);
            }
        }
        count
    }

    fn deliver_to<'m>(
        &self,
        sub: &'m Arc<Subscription>,
        msg: &Message<'_>,
        flush: &mut FlushList,
        expired: &mut Vec<&'m Arc<Subscription>>,
    ) -> bool {
        if sub.gone.load(Ordering::Relaxed) {
            return false;
        }
        let (allowed, reached) = sub.claim();
        if reached {
            expired.push(sub);
        }
        if !allowed {
            return false;
        }
        match sub.sink.deliver(&sub.sid, msg) {
            Delivered::QueuedWake => {
                flush.push(&sub.sink);
                true
            }
            Delivered::Queued => true,
            Delivered::Closed | Delivered::Refused => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        cid: u64,
        got: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
        forgotten: Mutex<Vec<Vec<u8>>>,
    }

    impl Sink for Recorder {
        fn cid(&self) -> u64 {
            self.cid
        }
        fn deliver(&self, sid: &[u8], msg: &Message<'_>) -> Delivered {
            self.got.lock().push((sid.to_vec(), msg.payload.to_vec()));
            Delivered::QueuedWake
        }
        fn wake(&self) {}
        fn forget(&self, sid: &[u8]) {
            self.forgotten.lock().push(sid.to_vec());
        }
    }

    fn msg(payload: &[u8]) -> Message<'_> {
        Message {
            subject: b"foo",
            reply: None,
            headers: None,
            payload,
        }
    }

    fn sub(
        acc: &Account,
        r: &Arc<Recorder>,
        queue: Option<&'static str>,
        sid: &'static str,
    ) -> Arc<Subscription> {
        let s = Arc::new(Subscription::new(
            r.clone(),
            Bytes::from_static(b"foo"),
            queue.map(|q| Bytes::from_static(q.as_bytes())),
            Bytes::from_static(sid.as_bytes()),
        ));
        acc.subscribe(s.clone());
        s
    }

    #[test]
    fn queue_group_gets_one_copy_and_spreads() {
        let acc = Account::new("A");
        let rs: Vec<Arc<Recorder>> = (1..=4)
            .map(|cid| {
                Arc::new(Recorder {
                    cid,
                    ..Default::default()
                })
            })
            .collect();
        for r in &rs {
            sub(&acc, r, Some("q"), "1");
        }
        let mut fl = FlushList::default();
        for _ in 0..400 {
            assert_eq!(
                acc.publish(
                    &msg(b"x"),
                    Origin {
                        cid: 99,
                        echo: true
                    },
                    &mut fl
                ),
                1
            );
        }
        let counts: Vec<usize> = rs.iter().map(|r| r.got.lock().len()).collect();
        assert_eq!(counts.iter().sum::<usize>(), 400);
        assert!(counts.iter().all(|c| *c > 40), "spread: {counts:?}");
    }

    #[test]
    fn echo_off_skips_own_subscriptions() {
        let acc = Account::new("A");
        let me = Arc::new(Recorder {
            cid: 1,
            ..Default::default()
        });
        sub(&acc, &me, None, "1");
        let mut fl = FlushList::default();
        assert_eq!(
            acc.publish(
                &msg(b"x"),
                Origin {
                    cid: 1,
                    echo: false
                },
                &mut fl
            ),
            0
        );
        assert_eq!(
            acc.publish(&msg(b"x"), Origin { cid: 1, echo: true }, &mut fl),
            1
        );
    }

    #[test]
    fn auto_unsubscribe_after_max() {
        let acc = Account::new("A");
        let r = Arc::new(Recorder {
            cid: 1,
            ..Default::default()
        });
        let s = sub(&acc, &r, None, "7");
        assert!(!acc.set_max(&s, 2));
        let mut fl = FlushList::default();
        for _ in 0..3 {
            acc.publish(&msg(b"x"), Origin { cid: 2, echo: true }, &mut fl);
        }
        assert_eq!(r.got.lock().len(), 2);
        assert_eq!(r.forgotten.lock().as_slice(), &[b"7".to_vec()]);
        assert!(acc.subscriptions().is_empty());
    }
}
