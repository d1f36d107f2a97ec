//! One consumer's delivery state: where it is in the stream, what it delivered and is
//! waiting to hear back about, the pull requests waiting for messages, and the ack rules
//! (explicit, all, none; ack_wait redelivery, max_deliver, NAK with delay, in-progress,
//! terminate, backoff), the start of a `last_per_subject` consumer, and the runtime state of
//! a push consumer (interest, flow control, heartbeats, replay and rate pacing) and of an
//! ephemeral's inactivity. No I/O: the JetStream task asks it what to send and tells it
//! what came back.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::api::ConsumerConfig;

/// A delivered message not acknowledged yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub consumer_seq: u64,
    /// How many times it was delivered.
    pub deliveries: u64,
    /// Unix nanoseconds of the last delivery (persisted so restarts keep ack_wait).
    pub sent_ns: i64,
    /// Not redelivered before this (NAK with delay, in-progress); unix nanoseconds.
    pub not_before_ns: i64,
}

/// What survives a restart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Last consumer sequence handed out.
    pub delivered_consumer: u64,
    /// Highest stream sequence handed out (the next new message comes after it).
    pub delivered_stream: u64,
    pub ack_floor_consumer: u64,
    pub ack_floor_stream: u64,
    pub pending: BTreeMap<u64, Pending>,
    pub num_redelivered: u64,
    /// Unix nanoseconds of the last delivery.
    pub last_active_ns: i64,
}

/// A waiting pull request (`CONSUMER.MSG.NEXT`).
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub reply: Bytes,
    /// Messages still wanted.
    pub batch: u64,
    /// Messages it got so far.
    pub sent: u64,
    pub max_bytes: u64,
    pub sent_bytes: u64,
    pub expires: Option<Instant>,
    pub no_wait: bool,
    /// `idle_heartbeat` of the request: a `100 Idle Heartbeat` goes to its reply when
    /// nothing did for that long (clients take two missing ones as a lost request).
    pub heartbeat: Option<Duration>,
    pub hb_at: Option<Instant>,
}

pub struct Consumer {
    pub name: String,
    pub config: ConsumerConfig,
    pub created: SystemTime,
    pub progress: Progress,
    pub waiting: VecDeque<PullRequest>,
    /// Changed since last saved.
    pub dirty: bool,
    /// `last_per_subject`: the last message of each subject at creation, delivered before
    /// anything newer than `skip_resume` (not persisted: after a restart the consumer goes
    /// on from `delivered_stream`, as nats-server's does).
    pub skip: VecDeque<u64>,
    pub skip_resume: u64,
    /// A push consumer's runtime state (its pacing part serves pull consumers too).
    pub push: PushState,
    /// Deleted when this passes (inactive_threshold); None: not counting down.
    pub idle_deadline: Option<Instant>,
    /// Messages still to come, kept up to date instead of counted for every delivery.
    pending_count: Option<PendingCount>,
}

/// `count` messages the filter takes are present in (`base`, `through`]; `base` is
/// `delivered_stream`, `first` the stream's first sequence when last checked.
#[derive(Debug, Clone, Copy)]
struct PendingCount {
    base: u64,
    through: u64,
    count: u64,
    first: u64,
}

/// Flow control window as nats-server sizes it: a 32 MiB ceiling, starting at a sixteenth
/// and doubling with every answered request.
pub const FC_MAX_PENDING: i64 = 32 * 1024 * 1024;

/// Replay original skips gaps shorter than this, as nats-server does.
const REPLAY_MIN_GAP_NS: i64 = 1_000_000;

/// What a push consumer keeps while running (never persisted); the pacing part (replay
/// original) serves pull consumers too.
#[derive(Debug, Default)]
pub struct PushState {
    /// Someone is subscribed to the deliver subject (in the deliver group, if one is set).
    pub active: bool,
    /// Bytes delivered and not yet covered by an answered flow-control request.
    pub fc_bytes: i64,
    /// Current window (0: no flow control).
    pub fc_window: i64,
    /// The reply subject of the outstanding flow-control request.
    pub fc_id: Option<String>,
    /// Bytes the outstanding request covers.
    pub fc_size: i64,
    /// When the next idle heartbeat is due.
    pub hb_at: Option<Instant>,
    /// Replay original: pace by stored times until the stream's last sequence at start.
    pub replay_until: Option<u64>,
    /// Store time of the last delivered message (replay pacing).
    pub last_ts: i64,
    /// The next delivery waits until then (replay gap or rate limit).
    pub not_before: Option<Instant>,
    /// The pacing of the held message is already paid for.
    pub paced: bool,
    /// rate_limit_bps as a token bucket: bytes available and when last refilled.
    pub tokens: f64,
    pub refilled: Option<Instant>,
}

impl PushState {
    /// Whether flow control holds deliveries back.
    pub fn stalled(&self) -> bool {
        self.fc_window > 0 && self.fc_bytes > self.fc_window
    }

    /// Counts a delivery of `size` bytes; returns true when a flow-control request should
    /// follow it (more than half the window is out and none is outstanding).
    pub fn note_sent(&mut self, size: i64) -> bool {
        if self.fc_window == 0 {
            return false;
        }
        self.fc_bytes += size;
        if self.fc_id.is_none() && self.fc_bytes > self.fc_window / 2 {
            return true;
        }
        if self.fc_id.is_some() && self.fc_bytes - self.fc_size >= self.fc_window {
            self.fc_size += size;
        }
        false
    }

    /// The client answered flow-control request `id`: the window grows, what it covered
    /// is no longer outstanding. False if `id` is not the outstanding one.
    pub fn answered(&mut self, id: &str) -> bool {
        if self.fc_id.as_deref() != Some(id) {
            return false;
        }
        self.fc_window = (self.fc_window * 2).min(FC_MAX_PENDING);
        self.fc_bytes = (self.fc_bytes - self.fc_size).max(0);
        self.fc_id = None;
        self.fc_size = 0;
        true
    }

    /// Takes `size` bytes from the rate bucket (`bps` bits per second, `burst` bytes);
    /// returns how long the delivery has to wait for them.
    pub fn reserve(&mut self, bps: u64, burst: f64, size: usize) -> Duration {
        let rate = (bps / 8).max(1) as f64;
        let now = Instant::now();
        let elapsed = self
            .refilled
            .map_or(f64::INFINITY, |t| now.duration_since(t).as_secs_f64());
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.refilled = Some(now);
        self.tokens -= size as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate)
        }
    }
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Consumer {
    pub fn new(name: String, config: ConsumerConfig, created: SystemTime) -> Consumer {
        Consumer {
            name,
            config,
            created,
            progress: Progress::default(),
            waiting: VecDeque::new(),
            dirty: true,
            skip: VecDeque::new(),
            skip_resume: 0,
            push: PushState::default(),
            idle_deadline: None,
            pending_count: None,
        }
    }

    /// Forget the kept count of messages to come (after a purge or a delete, which may
    /// take some of them away).
    pub fn recount_pending(&mut self) {
        self.pending_count = None;
    }

    /// How many messages the filter takes are still to come after what was delivered
    /// (the last token of the ack reply). Counted once, then only new messages are
    /// looked at; removals from the front make it count again.
    pub fn num_pending(
        &mut self,
        msgs: &crate::store::Messages,
        matches: &dyn Fn(&str) -> bool,
    ) -> u64 {
        let st = msgs.state();
        let count_in = |from: u64, to: u64| {
            let mut n = 0;
            let mut seq = from;
            while let Ok(Some(m)) = msgs.next(seq, matches) {
                if m.seq > to {
                    break;
                }
                n += 1;
                seq = m.seq + 1;
            }
            n
        };
        if !self.skip.is_empty() {
            // Only at the start of a last_per_subject consumer: no need to keep it.
            return self.skip.len() as u64 + count_in(self.skip_resume + 1, st.last_seq);
        }
        let base = self.progress.delivered_stream;
        let stale = match self.pending_count {
            None => true,
            Some(p) => p.base != base || (st.first_seq > p.first && st.first_seq > base + 1),
        };
        if stale {
            self.pending_count = Some(PendingCount {
                base,
                through: st.last_seq.max(base),
                count: count_in(base + 1, st.last_seq),
                first: st.first_seq,
            });
        } else if let Some(p) = self.pending_count.as_mut() {
            if st.last_seq > p.through {
                p.count += count_in(p.through + 1, st.last_seq);
                p.through = st.last_seq;
            }
            p.first = st.first_seq;
        }
        self.pending_count.map_or(0, |p| p.count)
    }

    /// Nothing the filter takes is left up to `last`: delivery goes on after it.
    pub fn caught_up(&mut self, last: u64) {
        if self.progress.delivered_stream < last {
            self.progress.delivered_stream = last;
            self.dirty = true;
        }
        if let Some(p) = self.pending_count.as_mut() {
            if p.through <= last {
                *p = PendingCount {
                    base: last,
                    through: last,
                    count: 0,
                    first: p.first,
                };
            } else {
                self.pending_count = None;
            }
        }
    }

    /// How long without activity before an ephemeral (or a durable that sets
    /// inactive_threshold) is deleted; None: never.
    pub fn inactive_threshold(&self) -> Option<Duration> {
        (self.config.inactive_threshold > 0)
            .then(|| Duration::from_nanos(self.config.inactive_threshold as u64))
    }

    /// Activity (a pull request, a delivery to a pull consumer, an ack) postpones the
    /// deletion of an idle consumer; a push consumer only counts down while unbound.
    pub fn touch(&mut self) {
        if let Some(t) = self.inactive_threshold() {
            if !self.config.is_push() || self.idle_deadline.is_some() {
                self.idle_deadline = Some(Instant::now() + t);
            }
        }
    }

    /// Pacing of replay original and rate_limit_bps: whether message `seq` (stored at
    /// `time_ns`, `size` bytes on the wire) may go now. If not, `push.not_before` says
    /// when, and that message (or whatever is due then) goes without waiting again.
    pub fn may_send(
        &mut self,
        seq: u64,
        time_ns: i64,
        redelivery: bool,
        burst: f64,
        size: usize,
    ) -> bool {
        let p = &mut self.push;
        if let Some(t) = p.not_before {
            if Instant::now() < t {
                return false;
            }
        }
        if p.paced {
            p.paced = false;
            p.not_before = None;
            p.last_ts = time_ns;
            return true;
        }
        let mut wait = Duration::ZERO;
        if let Some(until) = p.replay_until {
            if !redelivery && seq > until {
                // Caught up with what was there at the start: instant from now on.
                p.replay_until = None;
            } else if !redelivery && p.last_ts > 0 {
                let gap = time_ns - p.last_ts;
                if gap > REPLAY_MIN_GAP_NS {
                    wait = Duration::from_nanos(gap as u64);
                }
            }
        }
        if wait.is_zero() && self.config.rate_limit_bps > 0 {
            wait = p.reserve(self.config.rate_limit_bps, burst, size);
        }
        if wait.is_zero() {
            p.last_ts = time_ns;
            return true;
        }
        p.not_before = Some(Instant::now() + wait);
        p.paced = true;
        false
    }

    /// The next stream message this consumer has not seen: the `last_per_subject` list
    /// first, then whatever follows `delivered_stream` and the filter takes.
    pub fn next_new(
        &mut self,
        msgs: &crate::store::Messages,
        matches: &dyn Fn(&str) -> bool,
    ) -> Option<crate::store::StoredMsg> {
        while let Some(seq) = self.skip.front().copied() {
            if let Ok(Some(m)) = msgs.get(seq) {
                return Some(m);
            }
            // Removed meanwhile: skip it.
            self.skip.pop_front();
            self.finish_skip();
        }
        let from = self.progress.delivered_stream + 1;
        msgs.next(from, matches).ok().flatten()
    }

    /// After the last message of the `last_per_subject` list the consumer goes on after
    /// the stream's last sequence at creation.
    fn finish_skip(&mut self) {
        if self.skip.is_empty() && self.skip_resume > 0 {
            self.pending_count = None;
            self.progress.delivered_stream = self.progress.delivered_stream.max(self.skip_resume);
            self.skip_resume = 0;
        }
    }

    pub fn ack_wait(&self) -> Duration {
        let ns = self.config.ack_wait;
        if ns <= 0 {
            Duration::from_secs(30)
        } else {
            Duration::from_nanos(ns as u64)
        }
    }

    pub fn acks_needed(&self) -> bool {
        self.config.ack_policy != super::api::AckPolicy::None
    }

    /// Records a delivery of stream message `seq`; returns (consumer seq, delivery count).
    pub fn note_delivery(&mut self, seq: u64, redelivery: bool) -> (u64, u64) {
        let now = now_ns();
        self.dirty = true;
        self.progress.last_active_ns = now;
        // A redelivery of a message no longer pending (acked meanwhile) counts as new.
        if let (true, Some(p)) = (redelivery, self.progress.pending.get_mut(&seq)) {
            p.deliveries += 1;
            p.sent_ns = now;
            p.not_before_ns = 0;
            self.progress.num_redelivered += 1;
            self.progress.delivered_consumer += 1;
            return (self.progress.delivered_consumer, p.deliveries);
        }
        self.progress.delivered_consumer += 1;
        if let Some(p) = self.pending_count.as_mut() {
            // The message handed out was the first one to come: one less.
            if p.base == self.progress.delivered_stream && seq > p.base {
                if seq <= p.through {
                    p.count = p.count.saturating_sub(1);
                    p.base = seq;
                } else {
                    self.pending_count = None;
                }
            }
        }
        self.progress.delivered_stream = self.progress.delivered_stream.max(seq);
        if self.skip.front() == Some(&seq) {
            self.skip.pop_front();
            self.finish_skip();
        }
        let cseq = self.progress.delivered_consumer;
        if self.acks_needed() {
            self.progress.pending.insert(
                seq,
                Pending {
                    consumer_seq: cseq,
                    deliveries: 1,
                    sent_ns: now,
                    not_before_ns: 0,
                },
            );
        } else {
            self.progress.ack_floor_consumer = cseq;
            self.progress.ack_floor_stream = seq;
        }
        (cseq, 1)
    }

    /// Unix nanoseconds at which a pending message is redelivered: after a NAK delay or
    /// in-progress reset, else `ack_wait` after its last delivery, or with `backoff` the
    /// entry for this attempt (the last entry for every later one), as nats-server does.
    fn due_at(&self, p: &Pending) -> i64 {
        if p.not_before_ns > 0 {
            return p.not_before_ns;
        }
        let backoff = &self.config.backoff;
        let wait = if backoff.is_empty() {
            self.ack_wait().as_nanos() as i64
        } else {
            let i = (p.deliveries.max(1) - 1).min(backoff.len() as u64 - 1) as usize;
            backoff[i].max(0)
        };
        p.sent_ns + wait
    }

    /// A pending message whose ack_wait (or NAK delay) is over, oldest first.
    pub fn due_redelivery(&self) -> Option<u64> {
        let now = now_ns();
        self.progress
            .pending
            .iter()
            .find(|(_, p)| now >= self.due_at(p))
            .map(|(s, _)| *s)
    }

    /// When the next redelivery falls due.
    pub fn next_due(&self) -> Option<Instant> {
        let at = self
            .progress
            .pending
            .values()
            .map(|p| self.due_at(p))
            .min()?;
        let in_ns = (at - now_ns()).max(0) as u64;
        Some(Instant::now() + Duration::from_nanos(in_ns))
    }

    /// Whether `deliveries` reached max_deliver (-1 or 0: unlimited).
    pub fn exhausted(&self, deliveries: u64) -> bool {
        self.config.max_deliver > 0 && deliveries >= self.config.max_deliver as u64
    }

    /// An ack for stream seq `seq`. Returns the stream sequences now acknowledged (for
    /// work-queue removal).
    pub fn ack(&mut self, seq: u64) -> Vec<u64> {
        let mut done = Vec::new();
        match self.config.ack_policy {
            super::api::AckPolicy::All => {
                let acked: Vec<u64> = self
                    .progress
                    .pending
                    .range(..=seq)
                    .map(|(s, _)| *s)
                    .collect();
                for s in acked {
                    self.progress.pending.remove(&s);
                    done.push(s);
                }
            }
            _ => {
                if self.progress.pending.remove(&seq).is_some() {
                    done.push(seq);
                }
            }
        }
        if !done.is_empty() {
            self.dirty = true;
            self.update_floor();
        }
        done
    }

    /// Terminate: stop redelivering it (counts as handled).
    pub fn term(&mut self, seq: u64) -> bool {
        let gone = self.progress.pending.remove(&seq).is_some();
        if gone {
            self.dirty = true;
            self.update_floor();
        }
        gone
    }

    pub fn nak(&mut self, seq: u64, delay: Option<Duration>) {
        if let Some(p) = self.progress.pending.get_mut(&seq) {
            // Due now (or after the delay).
            p.not_before_ns = now_ns() + delay.map_or(1, |d| d.as_nanos() as i64);
            self.dirty = true;
        }
    }

    pub fn in_progress(&mut self, seq: u64) {
        if let Some(p) = self.progress.pending.get_mut(&seq) {
            p.sent_ns = now_ns();
            p.not_before_ns = 0;
            self.dirty = true;
        }
    }

    /// The ack floor: everything at or below it is acknowledged.
    fn update_floor(&mut self) {
        match self.progress.pending.iter().next() {
            Some((s, p)) => {
                self.progress.ack_floor_stream = s - 1;
                self.progress.ack_floor_consumer = p.consumer_seq.saturating_sub(1);
            }
            None => {
                self.progress.ack_floor_stream = self.progress.delivered_stream;
                self.progress.ack_floor_consumer = self.progress.delivered_consumer;
            }
        }
    }

    /// max_ack_pending reached: no new deliveries until acks come.
    pub fn ack_pending_full(&self) -> bool {
        self.acks_needed()
            && self.config.max_ack_pending > 0
            && self.progress.pending.len() as i64 >= self.config.max_ack_pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jetstream::api::AckPolicy;

    fn consumer(policy: AckPolicy) -> Consumer {
        let config = ConsumerConfig {
            ack_policy: policy,
            ..ConsumerConfig::default()
        };
        Consumer::new("c".into(), config, SystemTime::now())
    }

    #[test]
    fn explicit_acks_move_the_floor_in_order() {
        let mut c = consumer(AckPolicy::Explicit);
        for s in 1..=3 {
            c.note_delivery(s, false);
        }
        assert_eq!(c.ack(2), vec![2]);
        assert_eq!(c.progress.ack_floor_stream, 0);
        assert_eq!(c.ack(1), vec![1]);
        assert_eq!(c.progress.ack_floor_stream, 2);
        assert_eq!(c.ack(3), vec![3]);
        assert_eq!(c.progress.ack_floor_stream, 3);
        assert_eq!(c.progress.ack_floor_consumer, 3);
        assert!(c.progress.pending.is_empty());
    }

    #[test]
    fn ack_all_acknowledges_everything_below() {
        let mut c = consumer(AckPolicy::All);
        for s in 1..=4 {
            c.note_delivery(s, false);
        }
        assert_eq!(c.ack(3), vec![1, 2, 3]);
        assert_eq!(c.progress.pending.len(), 1);
    }

    #[test]
    fn rate_limit_lets_a_burst_through_then_paces() {
        let mut p = PushState::default();
        // 800 bits/s = 100 bytes/s, burst 100 bytes.
        assert_eq!(p.reserve(800, 100.0, 100), Duration::ZERO);
        let wait = p.reserve(800, 100.0, 50);
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
    }

    #[test]
    fn replay_original_holds_by_the_stored_gaps_until_caught_up() {
        let mut c = consumer(AckPolicy::None);
        c.push.replay_until = Some(3);
        let ms = 1_000_000;
        assert!(
            c.may_send(1, 1000 * ms, false, 0.0, 0),
            "the first goes at once"
        );
        assert!(
            !c.may_send(2, 1050 * ms, false, 0.0, 0),
            "50 ms later in the stream"
        );
        let held = c.push.not_before.expect("held until");
        assert!(held > Instant::now() + Duration::from_millis(30));
        assert!(!c.may_send(2, 1050 * ms, false, 0.0, 0), "still early");
        c.push.not_before = Some(Instant::now());
        assert!(c.may_send(2, 1050 * ms, false, 0.0, 0), "its time came");
        assert!(
            c.may_send(4, 9000 * ms, false, 0.0, 0),
            "past the start's end: instant"
        );
        assert_eq!(c.push.replay_until, None);
    }

    #[test]
    fn backoff_sets_each_attempts_wait() {
        let config = ConsumerConfig {
            ack_policy: AckPolicy::Explicit,
            backoff: vec![1_000_000_000, 5_000_000_000],
            ..ConsumerConfig::default()
        };
        let c = Consumer::new("c".into(), config, SystemTime::now());
        let p = |deliveries| Pending {
            consumer_seq: 1,
            deliveries,
            sent_ns: 0,
            not_before_ns: 0,
        };
        assert_eq!(c.due_at(&p(1)), 1_000_000_000);
        assert_eq!(c.due_at(&p(2)), 5_000_000_000);
        assert_eq!(
            c.due_at(&p(7)),
            5_000_000_000,
            "the last one for later attempts"
        );
    }

    #[test]
    fn last_per_subject_list_then_what_follows() {
        let mut c = consumer(AckPolicy::None);
        c.skip = vec![3, 5].into();
        c.skip_resume = 9;
        c.progress.delivered_stream = 2;
        c.note_delivery(3, false);
        assert_eq!(c.progress.delivered_stream, 3);
        c.note_delivery(5, false);
        assert!(c.skip.is_empty());
        assert_eq!(
            c.progress.delivered_stream, 9,
            "goes on after the resume point"
        );
    }

    #[test]
    fn pending_is_counted_once_then_kept() {
        let store = crate::store::Store::memory().expect("memory store");
        let msgs = store.messages("p").expect("messages");
        let put = |seq: u64, subject: &str| {
            msgs.append(&[crate::store::StoredMsg {
                seq,
                time_ns: seq as i64,
                subject: subject.into(),
                headers: None,
                payload: Vec::new(),
            }])
            .expect("append");
        };
        for (seq, subject) in [(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "a")] {
            put(seq, subject);
        }
        let takes = |s: &str| s == "a";
        let mut c = consumer(AckPolicy::None);
        assert_eq!(c.num_pending(&msgs, &takes), 3);
        c.note_delivery(1, false);
        assert_eq!(c.num_pending(&msgs, &takes), 2);
        put(6, "a");
        put(7, "b");
        assert_eq!(c.num_pending(&msgs, &takes), 3, "new messages counted");
        c.note_delivery(3, false);
        assert_eq!(c.num_pending(&msgs, &takes), 2);
        // Undelivered ones taken from the front: counted again.
        for seq in 1..=5 {
            msgs.remove(seq).unwrap();
        }
        assert_eq!(c.num_pending(&msgs, &takes), 1);
        c.caught_up(7);
        assert_eq!(c.num_pending(&msgs, &takes), 0);
    }

    #[test]
    fn nak_makes_it_due_and_redelivery_counts() {
        let mut c = consumer(AckPolicy::Explicit);
        c.note_delivery(1, false);
        assert_eq!(c.due_redelivery(), None);
        c.nak(1, None);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(c.due_redelivery(), Some(1));
        assert_eq!(c.note_delivery(1, true), (2, 2));
        assert_eq!(c.progress.num_redelivered, 1);
    }
}
