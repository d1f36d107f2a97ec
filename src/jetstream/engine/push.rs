//! Push consumers and consumer clean-up, on the account's JetStream task: deliveries to
//! `deliver_subject` while someone (in `deliver_group`, if set) is subscribed to it, flow
//! control (`100 FlowControl Request` with a `$JS.FC.<stream>.<consumer>.<id>` reply, a
//! window that stalls deliveries until the client answers), idle heartbeats (with
//! `Nats-Consumer-Stalled` while a flow-control answer is missing), `headers_only`,
//! `replay_policy: original` and `rate_limit_bps` pacing, the deletion of consumers idle
//! for `inactive_threshold`, and the idle heartbeats of pull requests that ask for them.
//! The rules follow nats-server 2.9.10's consumer.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use super::{remove_if_everyone_acked, store_name, Engine};
use crate::jetstream::api::{self, ApiError};
use crate::jetstream::consumer::{now_ns, Consumer, FC_MAX_PENDING};
use crate::jetstream::respond;
use crate::jetstream::sinks::{Incoming, Kind};
use crate::router::{Account, InterestWatcher, Message, Origin};
use crate::subject;

/// nats-server's default max_payload, the rate limiter's burst when the stream sets no
/// max_msg_size (it takes the account's or server's max_payload).
const DEFAULT_BURST: f64 = 1024.0 * 1024.0;

/// How often interest over links (not heard by the watcher) is looked at, as nats-server
/// looks at gateway interest.
const INTEREST_POLL: Duration = Duration::from_secs(1);

/// Hears interest changes on the deliver subjects of push consumers and tells the
/// JetStream task, which then looks again at who is subscribed. Called under the
/// account's index lock, so it only queues a note.
pub struct DeliverWatch {
    subjects: RwLock<HashSet<Bytes>>,
    tx: mpsc::Sender<Incoming>,
    /// When the task last looked at every deliver subject itself (for interest that
    /// arrives over a link, which watchers do not hear).
    polled: Mutex<Option<Instant>>,
}

impl DeliverWatch {
    pub fn new(tx: mpsc::Sender<Incoming>) -> Arc<DeliverWatch> {
        Arc::new(DeliverWatch {
            subjects: RwLock::new(HashSet::new()),
            tx,
            polled: Mutex::new(None),
        })
    }

    fn set(&self, subjects: HashSet<Bytes>) {
        *self.subjects.write() = subjects;
    }

    /// True at most once a second: time to look at every deliver subject again.
    fn poll_due(&self, now: Instant) -> bool {
        let mut polled = self.polled.lock();
        if polled.is_some_and(|t| now.duration_since(t) < INTEREST_POLL) {
            return false;
        }
        *polled = Some(now);
        true
    }
}

impl InterestWatcher for DeliverWatch {
    fn interest_changed(&self, subject: &[u8], _queue: Option<&[u8]>, _count: u32) {
        if !self.subjects.read().contains(subject) {
            return;
        }
        // A full queue drops the note; the task's once-a-second look catches up.
        let _ = self.tx.try_send(Incoming::control(Kind::Interest, subject));
    }
}

/// Is a push consumer bound: a subscription on exactly its deliver subject, plain when it
/// has no deliver group, else in that queue group? Wildcard subscriptions do not count
/// (nats-server's interest notifications are for the literal subject). Subscriptions of
/// a leaf link count: the hub's clients are interest too.
fn bound(account: &Account, deliver: &str, group: &str) -> bool {
    let m = account.matches(deliver.as_bytes());
    if group.is_empty() {
        m.plain
            .iter()
            .any(|s| s.subject.as_ref() == deliver.as_bytes())
    } else {
        m.queues.iter().any(|(q, members)| {
            q.as_ref() == group.as_bytes()
                && members
                    .iter()
                    .any(|s| s.subject.as_ref() == deliver.as_bytes())
        })
    }
}

/// `$JS.FC.<stream>.<consumer>.<4 random base-62 chars>`.
fn fc_reply(stream: &str, consumer: &str) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    let id = Alphanumeric.sample_string(&mut rand::thread_rng(), 4);
    format!("$JS.FC.{stream}.{consumer}.{id}")
}

/// `headers_only`: the stored headers (or a bare `NATS/1.0`) plus `Nats-Msg-Size`.
fn headers_only(headers: Option<&[u8]>, payload_len: usize) -> Vec<u8> {
    let mut h = match headers {
        Some(h) if h.ends_with(b"\r\n\r\n") => h[..h.len() - 2].to_vec(),
        _ => b"NATS/1.0\r\n".to_vec(),
    };
    h.extend_from_slice(format!("Nats-Msg-Size: {payload_len}\r\n\r\n").as_bytes());
    h
}

/// The idle heartbeat's header block.
fn heartbeat(last_consumer: u64, last_stream: u64, stalled: Option<&str>) -> Vec<u8> {
    let mut h = format!(
        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {last_consumer}\r\nNats-Last-Stream: {last_stream}\r\n"
    );
    if let Some(fc) = stalled {
        h.push_str(&format!("Nats-Consumer-Stalled: {fc}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// What a client did with a delivery that monitors hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// `-NAK`: `MSG_NAKED`.
    Nak,
    /// `+TERM`: `MSG_TERMINATED`.
    Term,
}

/// One message for the deliver subject.
struct Out {
    subject: Bytes,
    via: Option<Bytes>,
    reply: Option<Bytes>,
    headers: Option<Bytes>,
    payload: Bytes,
}

impl Engine {
    /// Publishes messages built while the stream was borrowed.
    fn send_out(&mut self, out: Vec<Out>) {
        for o in out {
            let msg = Message {
                subject: &o.subject,
                via: o.via.as_deref(),
                reply: o.reply.as_deref(),
                headers: o.headers.as_deref(),
                payload: &o.payload,
            };
            self.acc
                .account
                .publish(&msg, Origin::client(self.acc.cid, true), &mut self.flush);
        }
    }

    /// The deliver subjects the interest watcher listens for.
    fn refresh_deliver_watch(&self) {
        let subjects = self
            .streams
            .values()
            .flat_map(|s| s.consumers.values())
            .filter(|c| c.config.is_push())
            .map(|c| Bytes::from(c.config.deliver_subject.clone()))
            .collect();
        self.deliver_watch.set(subjects);
    }

    /// Registers the interest watcher with the account, once, when the task starts; it
    /// stays as long as the account and its task do (the life of the server).
    pub(super) fn watch_deliver_subjects(&mut self) {
        let _ = self.acc.account.watch(self.deliver_watch.clone());
        self.refresh_deliver_watch();
    }

    /// Sets up a new, updated or recovered consumer's runtime state: the flow-control
    /// window, the heartbeat timer, replay pacing, whether it is bound, the idle timer.
    pub(super) fn start_consumer(&mut self, sname: &str, cname: &str) {
        let Some(stream) = self.streams.get_mut(sname) else {
            return;
        };
        let last = stream.msgs.state().last_seq;
        let Some(c) = stream.consumers.get_mut(cname) else {
            return;
        };
        let now = Instant::now();
        if c.config.replay_policy == api::ReplayPolicy::Original {
            c.push.replay_until = Some(last);
        }
        if c.config.is_push() {
            let p = &mut c.push;
            p.fc_window = if c.config.flow_control {
                FC_MAX_PENDING / 16
            } else {
                0
            };
            p.hb_at = (c.config.idle_heartbeat > 0)
                .then(|| now + Duration::from_nanos(c.config.idle_heartbeat as u64));
            p.active = false;
            self.refresh_deliver_watch();
            self.update_interest(sname, cname);
        } else if let Some(t) = c.inactive_threshold() {
            c.idle_deadline = Some(now + t);
        }
    }

    /// A subscription on some deliver subject came or went.
    pub(super) fn on_interest(&mut self, subject: &[u8]) {
        let hit: Vec<(String, String)> = self
            .streams
            .iter()
            .flat_map(|(s, st)| {
                st.consumers
                    .values()
                    .filter(|c| c.config.deliver_subject.as_bytes() == subject)
                    .map(move |c| (s.clone(), c.name.clone()))
            })
            .collect();
        for (s, c) in hit {
            self.update_interest(&s, &c);
        }
    }

    /// Looks at who is subscribed: a consumer that became bound delivers, one that lost
    /// its subscribers starts counting down to deletion when it has an inactive_threshold.
    fn update_interest(&mut self, sname: &str, cname: &str) {
        let account = self.acc.account.clone();
        let Some(c) = self
            .streams
            .get_mut(sname)
            .and_then(|s| s.consumers.get_mut(cname))
        else {
            return;
        };
        if !c.config.is_push() {
            return;
        }
        let now_bound = bound(&account, &c.config.deliver_subject, &c.config.deliver_group);
        let was = c.push.active;
        c.push.active = now_bound;
        if now_bound {
            c.idle_deadline = None;
        } else if c.idle_deadline.is_none() {
            c.idle_deadline = c.inactive_threshold().map(|t| Instant::now() + t);
        }
        if now_bound && !was {
            self.deliver_push(sname, cname);
        }
    }

    /// A publish to `$JS.FC.<stream>.<consumer>.<id>`: the client answered (or, for a
    /// stalled consumer, reacted to a heartbeat's `Nats-Consumer-Stalled`).
    pub(super) fn on_flow_control(&mut self, subject: &[u8]) {
        let Ok(text) = std::str::from_utf8(subject) else {
            return;
        };
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 5 {
            return;
        }
        let (sname, cname) = (parts[2], parts[3]);
        let Some(c) = self
            .streams
            .get_mut(sname)
            .and_then(|s| s.consumers.get_mut(cname))
        else {
            return;
        };
        if c.push.answered(text) {
            self.deliver_push(sname, cname);
        }
    }

    /// Delivers to a push consumer's deliver subject what it may have now: redeliveries
    /// that fell due first, then new messages, while it is bound, not stalled by flow
    /// control or max_ack_pending, and not held back by replay or rate pacing.
    pub(super) fn deliver_push(&mut self, sname: &str, cname: &str) {
        let mut out: Vec<Out> = Vec::new();
        let mut drop_after: Vec<u64> = Vec::new();
        let mut exceeded: Vec<(u64, u64)> = Vec::new();
        {
            let Some(stream) = self.streams.get_mut(sname) else {
                return;
            };
            let msgs = stream.msgs.clone();
            let last = msgs.state().last_seq;
            // Interest and work-queue streams let go of what an ack-none consumer sent once
            // no other consumer still needs it (a source reading a work queue takes it).
            let drops = stream.config.retention != api::RetentionPolicy::Limits;
            let burst = if stream.config.max_msg_size > 0 {
                f64::from(stream.config.max_msg_size)
            } else {
                DEFAULT_BURST
            };
            let Some(c) = stream.consumers.get_mut(cname) else {
                return;
            };
            if !c.config.is_push() {
                return;
            }
            let deliver = Bytes::from(c.config.deliver_subject.clone());
            let filter = c.config.filter_subject.clone();
            let matches =
                |s: &str| filter.is_empty() || subject::matches(filter.as_bytes(), s.as_bytes());
            let mut redeliveries = c.next_due().is_some_and(|at| at <= Instant::now());
            let mut sent = false;
            loop {
                if !c.push.active || c.push.stalled() {
                    break;
                }
                let due = if redeliveries {
                    c.due_redelivery()
                } else {
                    None
                };
                redeliveries = due.is_some();
                let (m, redelivery) = if let Some(seq) = due {
                    match msgs.get(seq) {
                        Ok(Some(m)) => (m, true),
                        _ => {
                            c.progress.pending.remove(&seq);
                            continue;
                        }
                    }
                } else if c.ack_pending_full() {
                    break;
                } else {
                    match c.next_new(&msgs, &matches) {
                        Some(m) => (m, false),
                        None => {
                            // Caught up: nothing the filter takes up to the stream's end
                            // (what nats-server's heartbeats and info then show).
                            if c.skip.is_empty() {
                                c.caught_up(last);
                            }
                            c.push.replay_until = None;
                            break;
                        }
                    }
                };
                if redelivery {
                    let deliveries = c.progress.pending.get(&m.seq).map_or(0, |p| p.deliveries);
                    if c.exhausted(deliveries) {
                        c.progress.pending.remove(&m.seq);
                        exceeded.push((m.seq, deliveries));
                        continue;
                    }
                }
                let size =
                    deliver.len() + m.headers.as_ref().map_or(0, Vec::len) + m.payload.len() + 64;
                if !c.may_send(m.seq, m.time_ns, redelivery, burst, size) {
                    break;
                }
                let (cseq, deliveries) = c.note_delivery(m.seq, redelivery);
                let pending = c.num_pending(&msgs, &matches);
                let ack = format!(
                    "$JS.ACK.{sname}.{cname}.{deliveries}.{}.{cseq}.{}.{pending}",
                    m.seq, m.time_ns
                );
                let (headers, payload) = if c.config.headers_only {
                    (
                        Some(headers_only(m.headers.as_deref(), m.payload.len())),
                        Vec::new(),
                    )
                } else {
                    (m.headers, m.payload)
                };
                let size = deliver.len()
                    + ack.len()
                    + headers.as_ref().map_or(0, Vec::len)
                    + payload.len();
                out.push(Out {
                    subject: Bytes::from(m.subject),
                    via: Some(deliver.clone()),
                    reply: Some(Bytes::from(ack)),
                    headers: headers.map(Bytes::from),
                    payload: Bytes::from(payload),
                });
                if c.push.note_sent(size as i64) {
                    let id = fc_reply(sname, cname);
                    c.push.fc_size = c.push.fc_bytes;
                    c.push.fc_id = Some(id.clone());
                    out.push(Out {
                        subject: deliver.clone(),
                        via: None,
                        reply: Some(Bytes::from(id)),
                        headers: Some(Bytes::from_static(
                            b"NATS/1.0 100 FlowControl Request\r\n\r\n",
                        )),
                        payload: Bytes::new(),
                    });
                }
                if !c.acks_needed() && drops {
                    drop_after.push(m.seq);
                }
                sent = true;
            }
            if sent && c.config.idle_heartbeat > 0 {
                c.push.hb_at =
                    Some(Instant::now() + Duration::from_nanos(c.config.idle_heartbeat as u64));
            }
            for seq in drop_after {
                remove_if_everyone_acked(stream, seq);
            }
        }
        self.send_out(out);
        self.max_deliveries_advisories(sname, cname, &exceeded);
    }

    /// `$JS.EVENT.ADVISORY.CONSUMER.CREATED.<s>.<c>` (`created`) or `DELETED` (not):
    /// what monitoring tools follow.
    pub(super) fn consumer_action_advisory(&mut self, stream: &str, consumer: &str, created: bool) {
        let (what, action) = if created {
            ("CREATED", "create")
        } else {
            ("DELETED", "delete")
        };
        let event = api::ConsumerActionAdvisory {
            kind: "io.nats.jetstream.advisory.v1.consumer_action".into(),
            id: respond::event_id(),
            timestamp: api::GoTime::now(),
            stream: stream.to_string(),
            consumer: consumer.to_string(),
            action: action.into(),
            domain: self.acc.domain.clone().unwrap_or_default(),
        };
        self.send_out(vec![Out {
            subject: Bytes::from(format!(
                "$JS.EVENT.ADVISORY.CONSUMER.{what}.{stream}.{consumer}"
            )),
            via: None,
            reply: None,
            headers: None,
            payload: Bytes::from(api::to_go_json(&event)),
        }]);
    }

    /// `$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED|MSG_TERMINATED.<s>.<c>` for a NAK or TERM
    /// of stream message `seq` (consumer sequence `cseq`, its `deliveries`th delivery).
    pub(super) fn delivery_advisory(
        &mut self,
        kind: DeliveryEvent,
        stream: &str,
        consumer: &str,
        cseq: u64,
        seq: u64,
        deliveries: u64,
    ) {
        let (what, kind) = match kind {
            DeliveryEvent::Nak => ("MSG_NAKED", "io.nats.jetstream.advisory.v1.nak"),
            DeliveryEvent::Term => ("MSG_TERMINATED", "io.nats.jetstream.advisory.v1.terminated"),
        };
        let event = api::DeliveryAdvisory {
            kind: kind.into(),
            id: respond::event_id(),
            timestamp: api::GoTime::now(),
            stream: stream.to_string(),
            consumer: consumer.to_string(),
            consumer_seq: cseq,
            stream_seq: seq,
            deliveries,
            domain: self.acc.domain.clone().unwrap_or_default(),
        };
        self.send_out(vec![Out {
            subject: Bytes::from(format!(
                "$JS.EVENT.ADVISORY.CONSUMER.{what}.{stream}.{consumer}"
            )),
            via: None,
            reply: None,
            headers: None,
            payload: Bytes::from(api::to_go_json(&event)),
        }]);
    }

    /// `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>` for each message
    /// (stream sequence, deliveries) that reached max_deliver and will not come again:
    /// what dead-letter handlers listen for.
    pub(super) fn max_deliveries_advisories(
        &mut self,
        stream: &str,
        consumer: &str,
        exceeded: &[(u64, u64)],
    ) {
        if exceeded.is_empty() {
            return;
        }
        let subject = format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}");
        let out = exceeded
            .iter()
            .map(|&(seq, deliveries)| {
                let event = api::MaxDeliveriesAdvisory {
                    kind: "io.nats.jetstream.advisory.v1.max_deliver".into(),
                    id: respond::event_id(),
                    timestamp: api::GoTime::now(),
                    stream: stream.to_string(),
                    consumer: consumer.to_string(),
                    stream_seq: seq,
                    deliveries,
                    domain: self.acc.domain.clone().unwrap_or_default(),
                };
                Out {
                    subject: Bytes::from(subject.clone()),
                    via: None,
                    reply: None,
                    headers: None,
                    payload: Bytes::from(api::to_go_json(&event)),
                }
            })
            .collect();
        self.send_out(out);
    }

    /// Heartbeats (of push consumers and of pull requests that asked for them), paced
    /// and due deliveries, interest over links, idle consumers.
    pub(super) fn push_timers(&mut self) {
        let now = Instant::now();
        let mut idle: Vec<(String, String)> = Vec::new();
        let mut poll: Vec<(String, String)> = Vec::new();
        let mut due: Vec<(String, String)> = Vec::new();
        let poll_now = self.deliver_watch.poll_due(now);
        let mut out: Vec<Out> = Vec::new();
        for (sname, s) in &mut self.streams {
            for c in s.consumers.values_mut() {
                if c.idle_deadline.is_some_and(|d| d <= now) {
                    // A pull consumer with requests still waiting is not idle.
                    if !c.config.is_push() && !c.waiting.is_empty() {
                        c.touch();
                    } else {
                        idle.push((sname.clone(), c.name.clone()));
                        continue;
                    }
                }
                if !c.config.is_push() {
                    // Pull requests that asked for idle heartbeats.
                    for r in c.waiting.iter_mut() {
                        if let (Some(at), Some(every)) = (r.hb_at, r.heartbeat) {
                            if at <= now {
                                out.push(Out {
                                    subject: r.reply.clone(),
                                    via: None,
                                    reply: None,
                                    headers: Some(Bytes::from(heartbeat(
                                        c.progress.delivered_consumer,
                                        c.progress.delivered_stream,
                                        None,
                                    ))),
                                    payload: Bytes::new(),
                                });
                                r.hb_at = Some(now + every);
                            }
                        }
                    }
                    continue;
                }
                if poll_now {
                    poll.push((sname.clone(), c.name.clone()));
                }
                if c.push.active
                    && (c.push.not_before.is_some_and(|t| t <= now)
                        || c.next_due().is_some_and(|t| t <= now))
                {
                    due.push((sname.clone(), c.name.clone()));
                }
                if let Some(at) = c.push.hb_at {
                    if at <= now {
                        if c.push.active {
                            out.push(Out {
                                subject: Bytes::from(c.config.deliver_subject.clone()),
                                via: None,
                                reply: None,
                                headers: Some(Bytes::from(heartbeat(
                                    c.progress.delivered_consumer,
                                    c.progress.delivered_stream,
                                    c.push.fc_id.as_deref(),
                                ))),
                                payload: Bytes::new(),
                            });
                        }
                        c.push.hb_at =
                            Some(now + Duration::from_nanos(c.config.idle_heartbeat as u64));
                    }
                }
            }
        }
        self.send_out(out);
        for (s, c) in idle {
            tracing::debug!("JetStream consumer {c:?} of stream {s:?} inactive, deleted");
            let _ = self.remove_consumer(&s, &c);
        }
        // Interest that arrives over a link is not heard by the watcher: look again.
        for (s, c) in poll {
            self.update_interest(&s, &c);
        }
        for (s, c) in due {
            self.deliver_push(&s, &c);
        }
    }

    /// The earliest push timer: a heartbeat, a paced delivery, a redelivery, an idle
    /// consumer's deletion.
    pub(super) fn push_next_timer(&self) -> Option<Instant> {
        let mut at: Option<Instant> = None;
        let mut note = |t: Option<Instant>| {
            if let Some(t) = t {
                at = Some(at.map_or(t, |a| a.min(t)));
            }
        };
        for s in self.streams.values() {
            for c in s.consumers.values() {
                note(c.idle_deadline);
                if !c.config.is_push() && !c.waiting.is_empty() {
                    note(c.push.not_before);
                    for r in &c.waiting {
                        note(r.hb_at);
                    }
                }
                if c.config.is_push() && c.push.active {
                    note(c.push.hb_at);
                    note(c.push.not_before);
                    note(c.next_due());
                }
            }
        }
        at
    }

    /// Deletes a consumer (API request or inactivity) with its stored state; see
    /// `consumer_gone` for who hears of it.
    pub(super) fn remove_consumer(&mut self, stream: &str, name: &str) -> Result<(), ApiError> {
        let s = self
            .streams
            .get_mut(stream)
            .ok_or_else(ApiError::stream_not_found)?;
        let Some(c) = s.consumers.remove(name) else {
            return Err(ApiError::consumer_not_found());
        };
        let memory = s.memory;
        let key = store_name(&self.acc.account.name, stream);
        let deleted = self
            .store(memory)
            .delete_consumer(&key, name)
            .map_err(|e| ApiError::store_failed(e.to_string()));
        self.consumer_gone(stream, &c);
        deleted
    }

    /// A consumer was deleted (by itself or with its stream): its waiting pull requests
    /// get `409 Consumer Deleted`, monitors the DELETED advisory, and its deliver subject
    /// is no longer watched.
    pub(super) fn consumer_gone(&mut self, stream: &str, c: &Consumer) {
        if c.config.is_push() {
            self.refresh_deliver_watch();
        }
        let gone: Vec<Out> = c
            .waiting
            .iter()
            .map(|r| Out {
                subject: r.reply.clone(),
                via: None,
                reply: None,
                headers: Some(Bytes::from_static(b"NATS/1.0 409 Consumer Deleted\r\n\r\n")),
                payload: Bytes::new(),
            })
            .collect();
        self.send_out(gone);
        self.consumer_action_advisory(stream, &c.name, false);
    }

    /// An existing consumer created again: apply what may change (nats-server's update
    /// rules are checked by the caller). A new deliver subject redelivers what is pending.
    pub(super) fn update_consumer(
        &mut self,
        stream: &str,
        name: &str,
        cfg: api::ConsumerConfig,
    ) -> bool {
        let Some(c) = self
            .streams
            .get_mut(stream)
            .and_then(|s| s.consumers.get_mut(name))
        else {
            return false;
        };
        if c.config == cfg {
            return false;
        }
        let new_deliver = c.config.deliver_subject != cfg.deliver_subject;
        let new_threshold = c.config.inactive_threshold != cfg.inactive_threshold;
        if new_deliver {
            let now = now_ns();
            for p in c.progress.pending.values_mut() {
                p.not_before_ns = now;
            }
        }
        c.config = cfg;
        c.dirty = true;
        if new_threshold {
            c.idle_deadline = None;
        }
        let push = c.config.is_push();
        if new_deliver || new_threshold {
            if push {
                self.refresh_deliver_watch();
                self.update_interest(stream, name);
            } else {
                self.start_consumer(stream, name);
            }
        }
        true
    }

    /// Whether any subscription (a wildcard one too) is on a push consumer's deliver
    /// subject: such a consumer keeps its deliver subject (nats-server's check).
    pub(super) fn deliver_subject_in_use(&self, c: &Consumer) -> bool {
        c.config.is_push()
            && !self
                .acc
                .account
                .matches(c.config.deliver_subject.as_bytes())
                .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_only_keeps_headers_and_adds_the_size() {
        assert_eq!(
            headers_only(None, 5),
            b"NATS/1.0\r\nNats-Msg-Size: 5\r\n\r\n".to_vec()
        );
        assert_eq!(
            headers_only(Some(b"NATS/1.0\r\nA: b\r\n\r\n"), 0),
            b"NATS/1.0\r\nA: b\r\nNats-Msg-Size: 0\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn heartbeat_bytes() {
        assert_eq!(
            heartbeat(5, 7, None),
            b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\nNats-Last-Stream: 7\r\n\r\n"
                .to_vec()
        );
        assert_eq!(
            heartbeat(1, 2, Some("$JS.FC.S.C.ab12")),
            b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\nNats-Last-Stream: 2\r\nNats-Consumer-Stalled: $JS.FC.S.C.ab12\r\n\r\n"
                .to_vec()
        );
    }

    #[test]
    fn flow_control_window_stalls_and_grows() {
        let mut p = crate::jetstream::consumer::PushState {
            fc_window: 100,
            ..Default::default()
        };
        assert!(!p.note_sent(40));
        assert!(p.note_sent(20), "over half the window asks");
        p.fc_id = Some("x".into());
        p.fc_size = p.fc_bytes;
        assert!(!p.note_sent(50));
        assert!(p.stalled(), "a full window is out");
        assert!(!p.answered("y"), "only the outstanding request counts");
        assert!(p.answered("x"));
        assert_eq!((p.fc_window, p.fc_bytes), (200, 50));
        assert!(!p.stalled());
    }
}
