//! Owns delivery within one account: one publish in, every delivery out. Each account has
//! its own sublist, so subjects never cross accounts. The router applies the delivery rules
//! nats-server applies: every plain subscriber gets a copy, each queue group one member
//! (picked at random), `echo: false` publishers skip their own subscriptions, and
//! auto-unsubscribe limits (`UNSUB sid max`) are honoured exactly.
//!
//! Deliveries go to a `Sink`: a client connection's outbound buffer, or a remote link (the
//! leaf connection to the hub). A remote link's interest sits in the same sublist, but it
//! gets one copy per message naming the queue groups it should serve, loses every queue
//! pick to a local member, and never gets back what came from it.
//!
//! The account also keeps the count of local interest per subject and queue, which is what
//! a leaf link advertises upstream (`LS+`/`LS-`); watchers (the links) hear every change
//! under the same lock as the sublist, so a link's snapshot and the changes after it never
//! miss or repeat one.
//!
//! The publisher's task does the work and wakes each sink once per read batch through
//! `FlushList`, not once per message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::sublist::{Matches, Stats, Sublist};

/// A message as published, borrowed from the publisher's read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The subject receivers see.
    pub subject: &'a [u8],
    /// The subject it was published to, when that differs: a JetStream delivery is sent
    /// to the consumer's deliver (or request reply) subject but shows the stored
    /// message's own subject. Subscriptions are matched on this one.
    pub via: Option<&'a [u8]>,
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
    /// A link to another server: its subscriptions stand for the interest of the servers
    /// behind it. It gets one `deliver_remote` per message, and queue groups prefer local
    /// members over it.
    fn is_remote(&self) -> bool {
        false
    }
    /// One message for a remote link; `queues` are the groups it should serve there.
    fn deliver_remote(&self, msg: &Message<'_>, queues: &[&[u8]]) -> Delivered {
        let _ = queues;
        self.deliver(b"", msg)
    }
}

/// Hears changes of an account's local interest (what a leaf link advertises upstream).
/// Called with the account's index locked: it must not call back into the account.
pub trait InterestWatcher: Send + Sync {
    /// `count` is the number of local subscriptions on exactly this subject (and queue)
    /// after the change; 0 means the interest is gone.
    fn interest_changed(&self, subject: &[u8], queue: Option<&[u8]>, count: u32);
}

/// Local interest on one exact subject (and queue group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    pub subject: Bytes,
    pub queue: Option<Bytes>,
    pub count: u32,
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

/// Who published: for echo suppression and for messages that came over a link.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub cid: u64,
    /// false: skip the publisher's own subscriptions (a link never gets its own messages
    /// back).
    pub echo: bool,
    /// Set for a message from a link: only these queue groups are served here (an `LMSG`
    /// without queue names reaches no queue subscriber). None: every group (local
    /// publishers).
    pub queues: Option<&'a [Bytes]>,
}

impl Origin<'static> {
    /// A local client's publish.
    pub fn client(cid: u64, echo: bool) -> Self {
        Origin {
            cid,
            echo,
            queues: None,
        }
    }
}

/// One message's copy for a remote link: the link and the queue groups it should serve.
type RemoteCopy<'m> = (&'m Arc<dyn Sink>, Vec<&'m [u8]>);

/// The sublist and the local interest counts, under one lock so that they never disagree.
struct Index {
    sublist: Sublist<Arc<Subscription>>,
    /// Local (non-remote) subscriptions per exact subject + queue.
    interest: HashMap<(Bytes, Option<Bytes>), u32>,
    watchers: Vec<(u64, Arc<dyn InterestWatcher>)>,
}

impl Index {
    fn count(&mut self, sub: &Subscription, delta: i32) {
        if sub.sink.is_remote() {
            return;
        }
        let key = (sub.subject.clone(), sub.queue.clone());
        let n = {
            let e = self.interest.entry(key).or_insert(0);
            *e = e.saturating_add_signed(delta);
            *e
        };
        if n == 0 {
            self.interest
                .remove(&(sub.subject.clone(), sub.queue.clone()));
        }
        for (_, w) in &self.watchers {
            w.interest_changed(&sub.subject, sub.queue.as_deref(), n);
        }
    }
}

/// One account: its name, subscription index and loop-detection subject.
pub struct Account {
    pub name: String,
    /// `$LDS.<random>`: advertised over every leaf link; getting it back means a loop.
    pub loop_subject: String,
    index: Mutex<Index>,
    next_watcher: AtomicU64,
    /// Requests from another cloud cluster can carry a gateway-mapped reply
    /// (`_GR_.<cluster>.<server>.<inbox>`). Local responders see the plain inbox, and
    /// their answer to it goes out under the mapped subject for a short while, as
    /// nats-server's leaf does (its `gwReplyMapping`).
    gateway_replies: Mutex<HashMap<Bytes, (Bytes, std::time::Instant)>>,
    has_gateway_replies: AtomicBool,
}

/// How long an answer to a gateway-mapped request goes out under the mapped subject
/// (nats-server's recent-subscription window, after which the gateway knows the inbox).
const GATEWAY_REPLY_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The inbox behind a gateway-mapped reply: `_GR_.<c>.<s>.<inbox>` (or the older
/// `$GR.<h>.<inbox>`) → `<inbox>`; None if `reply` is not mapped.
pub fn gateway_reply_inbox(reply: &[u8]) -> Option<&[u8]> {
    let skip = if reply.starts_with(b"_GR_.") {
        3
    } else if reply.starts_with(b"$GR.") {
        2
    } else {
        return None;
    };
    let mut dots = reply
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'.')
        .map(|(i, _)| i);
    let at = dots.nth(skip - 1)?;
    let inbox = &reply[at + 1..];
    (!inbox.is_empty()).then_some(inbox)
}

/// A fresh `$LDS.` subject: 22 random alphanumerics, as unique as nats-server's nuids.
fn new_loop_subject() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "$LDS.{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 22)
    )
}

impl Account {
    pub fn new(name: impl Into<String>) -> Self {
        Account {
            name: name.into(),
            loop_subject: new_loop_subject(),
            index: Mutex::new(Index {
                sublist: Sublist::new(),
                interest: HashMap::new(),
                watchers: Vec::new(),
            }),
            next_watcher: AtomicU64::new(1),
            gateway_replies: Mutex::new(HashMap::new()),
            has_gateway_replies: AtomicBool::new(false),
        }
    }

    /// A request with a gateway-mapped reply was delivered here with `inbox` as its reply:
    /// answers to `inbox` go out as `mapped` for a while.
    pub fn note_gateway_reply(&self, inbox: Bytes, mapped: Bytes) {
        let now = std::time::Instant::now();
        let mut map = self.gateway_replies.lock();
        if map.len() >= 1024 {
            map.retain(|_, (_, at)| now.duration_since(*at) < GATEWAY_REPLY_TTL);
        }
        map.insert(inbox, (mapped, now));
        self.has_gateway_replies.store(true, Ordering::Relaxed);
    }

    fn gateway_reply_for(&self, subject: &[u8]) -> Option<Bytes> {
        let mut map = self.gateway_replies.lock();
        let (mapped, at) = map.get(subject)?;
        if at.elapsed() < GATEWAY_REPLY_TTL {
            return Some(mapped.clone());
        }
        map.remove(subject);
        if map.is_empty() {
            self.has_gateway_replies.store(false, Ordering::Relaxed);
        }
        None
    }

    pub fn subscribe(&self, sub: Arc<Subscription>) {
        let subject = sub.subject.clone();
        let queue = sub.queue.clone();
        let mut ix = self.index.lock();
        ix.count(&sub, 1);
        ix.sublist.insert(&subject, queue.as_deref(), sub);
    }

    /// Removes a subscription now.
    pub fn unsubscribe(&self, sub: &Arc<Subscription>) -> bool {
        sub.gone.store(true, Ordering::Relaxed);
        let mut ix = self.index.lock();
        let removed = ix
            .sublist
            .remove(&sub.subject, sub.queue.as_deref(), |s| Arc::ptr_eq(s, sub));
        if removed {
            ix.count(sub, -1);
        }
        removed
    }

    /// Registers a watcher of local interest and returns the interest as it is now, taken
    /// under the same lock: every later change reaches the watcher, none before. The id
    /// is for `unwatch`.
    pub fn watch(&self, watcher: Arc<dyn InterestWatcher>) -> (u64, Vec<Interest>) {
        let id = self.next_watcher.fetch_add(1, Ordering::Relaxed);
        let mut ix = self.index.lock();
        let now = ix
            .interest
            .iter()
            .map(|((subject, queue), n)| Interest {
                subject: subject.clone(),
                queue: queue.clone(),
                count: *n,
            })
            .collect();
        ix.watchers.push((id, watcher));
        (id, now)
    }

    pub fn unwatch(&self, id: u64) {
        self.index.lock().watchers.retain(|(i, _)| *i != id);
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
        self.index.lock().sublist.matches(subject)
    }

    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.index.lock().sublist.all()
    }

    pub fn stats(&self) -> Stats {
        self.index.lock().sublist.stats()
    }

    /// Delivers `msg` to every matching subscription. Returns how many deliveries were made
    /// (a remote link counts once).
    pub fn publish(&self, msg: &Message<'_>, origin: Origin<'_>, flush: &mut FlushList) -> usize {
        if self.has_gateway_replies.load(Ordering::Relaxed) && origin.queues.is_none() {
            if let Some(mapped) = self.gateway_reply_for(msg.via.unwrap_or(msg.subject)) {
                let msg = Message {
                    subject: &mapped,
                    via: None,
                    ..*msg
                };
                return self.route(&msg, origin, flush);
            }
        }
        self.route(msg, origin, flush)
    }

    fn route(&self, msg: &Message<'_>, origin: Origin<'_>, flush: &mut FlushList) -> usize {
        let matches = self.matches(msg.via.unwrap_or(msg.subject));
        if matches.is_empty() {
            return 0;
        }
        let skip = |sub: &Subscription| !origin.echo && sub.sink.cid() == origin.cid;
        let mut count = 0;
        let mut expired: Vec<&Arc<Subscription>> = Vec::new();
        // Remote links hit by this message, each with the queue groups it should serve.
        let mut remotes: Vec<RemoteCopy<'_>> = Vec::new();
        fn note<'m>(
            remotes: &mut Vec<RemoteCopy<'m>>,
            sink: &'m Arc<dyn Sink>,
            queue: Option<&'m [u8]>,
        ) {
            let i = match remotes.iter().position(|(s, _)| s.cid() == sink.cid()) {
                Some(i) => i,
                None => {
                    remotes.push((sink, Vec::new()));
                    remotes.len() - 1
                }
            };
            if let Some(q) = queue {
                remotes[i].1.push(q);
            }
        }
        for sub in &matches.plain {
            if skip(sub) {
                continue;
            }
            if sub.sink.is_remote() {
                note(&mut remotes, &sub.sink, None);
                continue;
            }
            if self.deliver_to(sub, msg, flush, &mut expired) {
                count += 1;
            }
        }
        for (queue, members) in &matches.queues {
            if let Some(allowed) = origin.queues {
                if !allowed.iter().any(|q| q.as_ref() == queue.as_ref()) {
                    continue;
                }
            }
            let n = members.len();
            let start = if n > 1 { pick(n) } else { 0 };
            let mut remote: Option<&Arc<Subscription>> = None;
            let mut served = false;
            for i in 0..n {
                let sub = &members[(start + i) % n];
                if skip(sub) {
                    continue;
                }
                if sub.sink.is_remote() {
                    remote.get_or_insert(sub);
                    continue;
                }
                if self.deliver_to(sub, msg, flush, &mut expired) {
                    count += 1;
                    served = true;
                    break;
                }
            }
            if !served {
                if let Some(r) = remote {
                    note(&mut remotes, &r.sink, Some(queue));
                }
            }
        }
        for (sink, queues) in &remotes {
            match sink.deliver_remote(msg, queues) {
                Delivered::QueuedWake => {
                    flush.push(sink);
                    count += 1;
                }
                Delivered::Queued => count += 1,
                Delivered::Closed | Delivered::Refused => {}
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
            via: None,
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
                acc.publish(&msg(b"x"), Origin::client(99, true), &mut fl),
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
            acc.publish(&msg(b"x"), Origin::client(1, false), &mut fl),
            0
        );
        assert_eq!(acc.publish(&msg(b"x"), Origin::client(1, true), &mut fl), 1);
    }

    /// A remote link as the router sees it: records each copy with its queue names.
    #[derive(Default)]
    struct Link {
        cid: u64,
        got: Mutex<Vec<Vec<Vec<u8>>>>,
    }

    impl Sink for Link {
        fn cid(&self) -> u64 {
            self.cid
        }
        fn deliver(&self, _: &[u8], _: &Message<'_>) -> Delivered {
            panic!("a remote link gets deliver_remote only")
        }
        fn wake(&self) {}
        fn forget(&self, _: &[u8]) {}
        fn is_remote(&self) -> bool {
            true
        }
        fn deliver_remote(&self, _: &Message<'_>, queues: &[&[u8]]) -> Delivered {
            self.got
                .lock()
                .push(queues.iter().map(|q| q.to_vec()).collect());
            Delivered::QueuedWake
        }
    }

    fn link_sub(acc: &Account, l: &Arc<Link>, subject: &'static str, queue: Option<&'static str>) {
        acc.subscribe(Arc::new(Subscription::new(
            l.clone(),
            Bytes::from_static(subject.as_bytes()),
            queue.map(|q| Bytes::from_static(q.as_bytes())),
            Bytes::new(),
        )));
    }

    #[test]
    fn remote_gets_one_copy_naming_unserved_queues() {
        let acc = Account::new("A");
        let link = Arc::new(Link {
            cid: 50,
            ..Default::default()
        });
        link_sub(&acc, &link, "foo", None);
        link_sub(&acc, &link, "*", None);
        link_sub(&acc, &link, "foo", Some("q1"));
        link_sub(&acc, &link, ">", Some("q2"));
        let local = Arc::new(Recorder {
            cid: 1,
            ..Default::default()
        });
        let s = sub(&acc, &local, Some("q1"), "1");
        let mut fl = FlushList::default();
        // q1 has a local member, which wins; q2 only exists upstream.
        for _ in 0..50 {
            acc.publish(&msg(b"x"), Origin::client(9, true), &mut fl);
        }
        assert_eq!(local.got.lock().len(), 50);
        let got = link.got.lock().clone();
        assert_eq!(got.len(), 50);
        assert!(got.iter().all(|qs| qs == &[b"q2".to_vec()]), "{got:?}");
        // Without the local member, upstream serves q1 too.
        acc.unsubscribe(&s);
        link.got.lock().clear();
        acc.publish(&msg(b"x"), Origin::client(9, true), &mut fl);
        let mut qs = link.got.lock()[0].clone();
        qs.sort();
        assert_eq!(qs, vec![b"q1".to_vec(), b"q2".to_vec()]);
    }

    #[test]
    fn message_from_a_link_never_goes_back_and_serves_only_named_queues() {
        let acc = Account::new("A");
        let link = Arc::new(Link {
            cid: 50,
            ..Default::default()
        });
        link_sub(&acc, &link, "foo", None);
        let local = Arc::new(Recorder {
            cid: 1,
            ..Default::default()
        });
        sub(&acc, &local, Some("q1"), "1");
        sub(&acc, &local, Some("q2"), "2");
        sub(&acc, &local, None, "3");
        let mut fl = FlushList::default();
        let named = [Bytes::from_static(b"q2")];
        let from_link = Origin {
            cid: 50,
            echo: false,
            queues: Some(&named),
        };
        assert_eq!(acc.publish(&msg(b"x"), from_link, &mut fl), 2);
        let sids: Vec<Vec<u8>> = local.got.lock().iter().map(|(s, _)| s.clone()).collect();
        assert_eq!(sids, vec![b"3".to_vec(), b"2".to_vec()]);
        assert!(link.got.lock().is_empty());
        // No queue names: plain subscribers only.
        let none = Origin {
            cid: 50,
            echo: false,
            queues: Some(&[]),
        };
        assert_eq!(acc.publish(&msg(b"x"), none, &mut fl), 1);
    }

    #[test]
    fn gateway_replies_are_unwrapped_and_answers_rewrapped() {
        assert_eq!(
            gateway_reply_inbox(b"_GR_.7bCL4u.7FERxt._INBOX.fast1"),
            Some(&b"_INBOX.fast1"[..])
        );
        assert_eq!(
            gateway_reply_inbox(b"$GR.abcd._INBOX.x"),
            Some(&b"_INBOX.x"[..])
        );
        assert_eq!(gateway_reply_inbox(b"_GR_.a.b"), None);
        assert_eq!(gateway_reply_inbox(b"_INBOX.x"), None);
        let acc = Account::new("A");
        let link = Arc::new(Link {
            cid: 50,
            ..Default::default()
        });
        link_sub(&acc, &link, "_GR_.>", None);
        acc.note_gateway_reply(
            Bytes::from_static(b"_INBOX.fast1"),
            Bytes::from_static(b"_GR_.7bCL4u.7FERxt._INBOX.fast1"),
        );
        let mut fl = FlushList::default();
        let answer = Message {
            subject: b"_INBOX.fast1",
            via: None,
            reply: None,
            headers: None,
            payload: b"ok",
        };
        assert_eq!(acc.publish(&answer, Origin::client(1, true), &mut fl), 1);
        assert_eq!(link.got.lock().len(), 1);
    }

    #[derive(Default)]
    struct Watcher(Mutex<Vec<Change>>);
    type Change = (Vec<u8>, Option<Vec<u8>>, u32);

    impl InterestWatcher for Watcher {
        fn interest_changed(&self, subject: &[u8], queue: Option<&[u8]>, count: u32) {
            self.0
                .lock()
                .push((subject.to_vec(), queue.map(<[u8]>::to_vec), count));
        }
    }

    #[test]
    fn watchers_see_snapshot_then_every_local_change() {
        let acc = Account::new("A");
        let r = Arc::new(Recorder {
            cid: 1,
            ..Default::default()
        });
        let a = sub(&acc, &r, None, "1");
        let w = Arc::new(Watcher::default());
        let (id, now) = acc.watch(w.clone());
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].count, 1);
        let b = sub(&acc, &r, None, "2");
        let q = sub(&acc, &r, Some("q"), "3");
        // Remote interest is not local interest.
        let link = Arc::new(Link {
            cid: 50,
            ..Default::default()
        });
        link_sub(&acc, &link, "foo", None);
        acc.unsubscribe(&a);
        acc.unsubscribe(&b);
        acc.unsubscribe(&q);
        acc.unwatch(id);
        sub(&acc, &r, None, "4");
        let seen = w.0.lock().clone();
        let foo = b"foo".to_vec();
        assert_eq!(
            seen,
            vec![
                (foo.clone(), None, 2),
                (foo.clone(), Some(b"q".to_vec()), 1),
                (foo.clone(), None, 1),
                (foo.clone(), None, 0),
                (foo, Some(b"q".to_vec()), 0),
            ]
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
            acc.publish(&msg(b"x"), Origin::client(2, true), &mut fl);
        }
        assert_eq!(r.got.lock().len(), 2);
        assert_eq!(r.forgotten.lock().as_slice(), &[b"7".to_vec()]);
        assert!(acc.subscriptions().is_empty());
    }
}
