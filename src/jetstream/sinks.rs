//! How JetStream hears the router: internal subscriptions whose sink copies the message
//! into the account's JetStream task. The copy happens on the publisher's task; all the
//! work (store, acks, API) happens on the JetStream task, in order.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::router::{Delivered, Message, Sink};

/// A message for the JetStream task. Subject, reply, headers and payload share one
/// buffer that the engine stores as it is (a staged publish keeps the `Incoming`): one
/// allocation per caught publish, where four `Bytes` slices and the store's own copy
/// cost five more allocations and a promotion to a shared buffer (malloc and free were a
/// fifth of edgeleaf's CPU in the acked-publish profile).
#[derive(Debug)]
pub struct Incoming {
    pub kind: Kind,
    buf: Vec<u8>,
    /// Where reply, headers and payload start in `buf` (the subject starts at 0).
    reply_at: usize,
    headers_at: usize,
    payload_at: usize,
    has_reply: bool,
    has_headers: bool,
}

impl Incoming {
    /// `subject` is the concatenation of `subject_parts` (a mapped API prefix and the rest).
    /// A subject that is not UTF-8 (the protocol does not forbid it) is kept as its lossy
    /// text: that is what the store keeps and what the API and ack parsers read.
    pub fn new(
        kind: Kind,
        subject_parts: [&[u8]; 2],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> Incoming {
        if std::str::from_utf8(subject_parts[0]).is_err()
            || std::str::from_utf8(subject_parts[1]).is_err()
        {
            let mut raw = subject_parts[0].to_vec();
            raw.extend_from_slice(subject_parts[1]);
            let text = String::from_utf8_lossy(&raw).into_owned();
            return Incoming::new(kind, [text.as_bytes(), b""], reply, headers, payload);
        }
        let (r, h) = (reply.unwrap_or_default(), headers.unwrap_or_default());
        let mut buf = Vec::with_capacity(
            subject_parts[0].len() + subject_parts[1].len() + r.len() + h.len() + payload.len(),
        );
        for part in [subject_parts[0], subject_parts[1], r, h, payload] {
            buf.extend_from_slice(part);
        }
        let reply_at = subject_parts[0].len() + subject_parts[1].len();
        let headers_at = reply_at + r.len();
        let payload_at = headers_at + h.len();
        Incoming {
            kind,
            buf,
            reply_at,
            headers_at,
            payload_at,
            has_reply: reply.is_some(),
            has_headers: headers.is_some(),
        }
    }

    /// A control message: only its kind (and maybe a subject) matters.
    pub fn control(kind: Kind, subject: &[u8]) -> Incoming {
        Incoming::new(kind, [subject, b""], None, None, b"")
    }

    pub fn subject(&self) -> &[u8] {
        &self.buf[..self.reply_at]
    }

    pub fn reply(&self) -> Option<&[u8]> {
        self.has_reply
            .then(|| &self.buf[self.reply_at..self.headers_at])
    }

    pub fn headers(&self) -> Option<&[u8]> {
        self.has_headers
            .then(|| &self.buf[self.headers_at..self.payload_at])
    }

    pub fn payload(&self) -> &[u8] {
        &self.buf[self.payload_at..]
    }

    /// The subject as text (always UTF-8, see [`Incoming::new`]).
    pub fn subject_str(&self) -> &str {
        std::str::from_utf8(self.subject()).unwrap_or_default()
    }
}

/// Which internal subscription caught it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `$JS.API.>` (or `$JS.<domain>.API.>`, already mapped back to `$JS.API.`).
    Api,
    /// A stream's subjects (shared: cloned for every caught publish).
    Stream(Arc<str>),
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
        let item = Incoming::new(
            self.kind.clone(),
            [head, rest],
            msg.reply,
            msg.headers,
            msg.payload,
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incoming_gives_back_each_part_and_tells_absent_from_empty() {
        let m = Incoming::new(
            Kind::Api,
            [b"$JS.API.", b"INFO"],
            Some(b"_INBOX.1"),
            Some(b""),
            b"{}",
        );
        assert_eq!(m.subject(), b"$JS.API.INFO");
        assert_eq!(m.reply(), Some(&b"_INBOX.1"[..]));
        assert_eq!(m.headers(), Some(&b""[..]));
        assert_eq!(m.payload(), b"{}");

        let c = Incoming::control(Kind::Interest, b"deliver.here");
        assert_eq!(c.subject(), b"deliver.here");
        assert_eq!(
            (c.reply(), c.headers(), c.payload()),
            (None, None, &b""[..])
        );
    }

    #[test]
    fn a_subject_that_is_not_utf8_is_stored_as_its_lossy_text_and_the_rest_is_kept() {
        let m = Incoming::new(
            Kind::Stream("S".into()),
            [b"", b"s.\xff"],
            None,
            Some(b"NATS/1.0\r\n\r\n"),
            b"data",
        );
        assert_eq!(m.subject_str(), "s.\u{fffd}");
        assert_eq!(m.reply(), None);
        assert_eq!(m.headers(), Some(&b"NATS/1.0\r\n\r\n"[..]));
        assert_eq!(m.payload(), b"data");
        assert_eq!(m.kind, Kind::Stream("S".into()));
    }
}
