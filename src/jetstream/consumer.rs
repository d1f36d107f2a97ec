//! One consumer's delivery state: where it is in the stream, what it delivered and is
//! waiting to hear back about, the pull requests waiting for messages, and the ack rules
//! (explicit, all, none; ack_wait redelivery, max_deliver, NAK with delay, in-progress,
//! terminate). No I/O: the JetStream task asks it what to send and tells it what came back.

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
    pub batch: u64,
    pub max_bytes: u64,
    pub sent_bytes: u64,
    pub expires: Option<Instant>,
    pub no_wait: bool,
}

pub struct Consumer {
    pub name: String,
    pub config: ConsumerConfig,
    pub created: SystemTime,
    pub progress: Progress,
    pub waiting: VecDeque<PullRequest>,
    /// Changed since last saved.
    pub dirty: bool,
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
        self.progress.delivered_stream = self.progress.delivered_stream.max(seq);
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

    /// A pending message whose ack_wait (or NAK delay) is over, oldest first.
    pub fn due_redelivery(&self) -> Option<u64> {
        let now = now_ns();
        let wait = self.ack_wait().as_nanos() as i64;
        self.progress
            .pending
            .iter()
            .find(|(_, p)| {
                let due = if p.not_before_ns > 0 {
                    p.not_before_ns
                } else {
                    p.sent_ns + wait
                };
                now >= due
            })
            .map(|(s, _)| *s)
    }

    /// When the next redelivery falls due.
    pub fn next_due(&self) -> Option<Instant> {
        let wait = self.ack_wait().as_nanos() as i64;
        let at = self
            .progress
            .pending
            .values()
            .map(|p| {
                if p.not_before_ns > 0 {
                    p.not_before_ns
                } else {
                    p.sent_ns + wait
                }
            })
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
