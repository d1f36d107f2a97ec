//! How JetStream hears the router: internal subscriptions whose sink copies the message
//! into the account's JetStream task. The copy happens on the publisher's task; all the
//! work (store, acks, API) happens on the JetStream task, in order.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::router::{Delivered, Message, Sink};

/// A message for the JetStream task.
#[derive(Debug)]
pub struct Incoming {
    pub kind: Kind,
    /// The subject it was published to.
    pub subject: Bytes,
    pub reply: Option<Bytes>,
    pub headers: Option<Bytes>,
    pub payload: Bytes,
}

/// Which internal subscription caught it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `$JS.API.>` (or `$JS.<domain>.API.>`, already mapped back to `$JS.API.`).
    Api,
    /// A stream's subjects.
    Stream(String),
    /// `$JS.ACK.<stream>.>`.
    Ack,
    /// From an uplink: attach the feed of this stream (`JsAccount::feed`).
    Feed(String),
    /// From an uplink: the cloud stored this stream up to this seq.
    Forwarded(String, u64),
    /// `$JS.FC.<stream>.>`: answers to push consumers' flow-control requests.
    FlowControl,
    /// Not a message: a subscription on a push consumer's deliver subject came or went.
    Interest,
}

/// The sink behind JetStream's internal subscriptions.
pub struct Catcher {
    pub cid: u64,
    pub kind: Kind,
    /// `$JS.<domain>.API.` prefix to map back to `$JS.API.` (None: no domain).
    pub domain_prefix: Option<Bytes>,
    pub tx: mpsc::Sender<Incoming>,
}

impl Catcher {
    pub fn new(cid: u64, kind: Kind, tx: mpsc::Sender<Incoming>) -> Arc<Catcher> {
        Arc::new(Catcher {
            cid,
            kind,
            domain_prefix: None,
            tx,
        })
    }
}

impl Sink for Catcher {
    fn cid(&self) -> u64 {
        self.cid
    }

    fn deliver(&self, _: &[u8], msg: &Message<'_>) -> Delivered {
        let to = msg.via.unwrap_or(msg.subject);
        let (head, rest): (&[u8], &[u8]) = match &self.domain_prefix {
            Some(p) if to.starts_with(p) => (b"$JS.API.", &to[p.len()..]),
            _ => (b"", to),
        };
        // One allocation for all four parts (the engine copies what it stores anyway):
        // malloc and free were a fifth of edgeleaf's CPU in the acked-publish profile.
        let reply = msg.reply.unwrap_or_default();
        let headers = msg.headers.unwrap_or_default();
        let mut buf = BytesMut::with_capacity(
            head.len() + rest.len() + reply.len() + headers.len() + msg.payload.len(),
        );
        for part in [head, rest, reply, headers, msg.payload] {
            buf.extend_from_slice(part);
        }
        let all = buf.freeze();
        let s_end = head.len() + rest.len();
        let r_end = s_end + reply.len();
        let h_end = r_end + headers.len();
        let item = Incoming {
            kind: self.kind.clone(),
            subject: all.slice(..s_end),
            reply: msg.reply.map(|_| all.slice(s_end..r_end)),
            headers: msg.headers.map(|_| all.slice(r_end..h_end)),
            payload: all.slice(h_end..),
        };
        // A full queue means JetStream is far behind: the publisher gets no PubAck and
        // retries, as with an overloaded nats-server.
        match self.tx.try_send(item) {
            Ok(()) => Delivered::Queued,
            Err(_) => Delivered::Refused,
        }
    }

    fn wake(&self) {}

    fn forget(&self, _: &[u8]) {}
}

/// `$JS.API.>` in an account without JetStream while the server has it: every request
/// with a reply gets nats-server's "JetStream not enabled for account" at once.
pub struct NotEnabled {
    pub cid: u64,
    pub account: std::sync::Weak<crate::router::Account>,
}

impl Sink for NotEnabled {
    fn cid(&self) -> u64 {
        self.cid
    }

    fn deliver(&self, _: &[u8], msg: &Message<'_>) -> Delivered {
        let (Some(reply), Some(account)) = (msg.reply, self.account.upgrade()) else {
            return Delivered::Queued;
        };
        // Answered in the publisher's task: the router holds no lock while delivering.
        let body =
            super::api::AccountInfoResponse::err(super::api::ApiError::not_enabled_for_account())
                .to_json();
        let answer = Message {
            subject: reply,
            via: None,
            reply: None,
            headers: None,
            payload: &body,
        };
        let mut flush = crate::router::FlushList::default();
        account.publish(
            &answer,
            crate::router::Origin::client(self.cid, true),
            &mut flush,
        );
        flush.wake_all();
        Delivered::Queued
    }

    fn wake(&self) {}

    fn forget(&self, _: &[u8]) {}
}
