//! Fuzzes the leafnode protocol parser (`edgeleaf::proto::leaf::LeafParser`).
//!
//! The input is the byte stream a hub (or a leaf) sends on a leaf link. For each of two
//! limit settings (small ones, so the limit paths are reachable with short inputs, and
//! the defaults) it is parsed twice:
//!
//! * all at once, as if one read returned everything;
//! * in chunks whose sizes are taken from the input itself, so half-sent control lines
//!   and payloads (the incremental paths) are exercised.
//!
//! Checked, besides "never panics":
//! * both feedings give the same ops, and end the same way (an error of the same kind, or
//!   no error): TCP segmentation must not change what the link sees;
//! * every LMSG/HMSG (headers included) is within max_payload;
//! * while the parser waits for more bytes it never holds more than a control line or a
//!   payload's worth;
//! * each op re-encoded with the module's encoders (canonical form) parses back to itself.
#![no_main]

use bytes::{Bytes, BytesMut};
use edgeleaf::proto::leaf::{self, LeafOp, LeafParseError, LeafParser};
use libfuzzer_sys::fuzz_target;

/// (max_control_line, max_payload): small, then the defaults.
const LIMITS: [(usize, usize); 2] = [(256, 1024), (4096, 1024 * 1024)];

fuzz_target!(|data: &[u8]| {
    for (mcl, mp) in LIMITS {
        check(data, mcl, mp);
    }
});

/// How one feeding ended: the ops produced, and the error (if any) that stopped it.
struct Outcome {
    ops: Vec<LeafOp>,
    err: Option<LeafParseError>,
}

fn check(data: &[u8], mcl: usize, mp: usize) {
    let whole = feed(std::iter::once(data), mcl, mp);
    let chunked = feed(chunks(data), mcl, mp);

    assert_eq!(
        whole.ops, chunked.ops,
        "ops differ between whole and chunked feeding (limits {mcl}/{mp})"
    );
    assert_eq!(
        whole.err.as_ref().map(std::mem::discriminant),
        chunked.err.as_ref().map(std::mem::discriminant),
        "whole feeding ended with {:?}, chunked with {:?} (limits {mcl}/{mp})",
        whole.err,
        chunked.err
    );

    for op in &whole.ops {
        if let LeafOp::Msg {
            headers, payload, ..
        } = op
        {
            let total = headers.as_ref().map_or(0, Bytes::len) + payload.len();
            assert!(total <= mp, "message of {total} bytes > max_payload {mp}");
        }
        round_trip(op, mcl, mp);
    }
}

/// Splits `data` into pieces of 1..=32 bytes; each piece's length comes from the byte at
/// its own start (so mutations of the input also move the chunk boundaries).
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = (1 + (rest[0] as usize % 32)).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        Some(piece)
    })
}

fn feed<'a>(pieces: impl Iterator<Item = &'a [u8]>, mcl: usize, mp: usize) -> Outcome {
    let mut parser = LeafParser::new(mcl, mp);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(e) => return Outcome { ops, err: Some(e) },
            }
        }
        // Waiting for more: what is buffered is a partial control line (at most
        // max_control_line plus its CR) or a partial payload (less than max_payload + CRLF).
        assert!(
            buf.len() <= (mcl + 1).max(mp + 1),
            "parser waits with {} bytes buffered (limits {mcl}/{mp})",
            buf.len()
        );
    }
    Outcome { ops, err: None }
}

/// Canonical wire form of an op: the module's encoders for LS+/LS-/LMSG/HMSG, single
/// blanks elsewhere. Never longer than the line it was parsed from, except that a -ERR
/// text may gain quotes or grow where invalid UTF-8 was replaced.
fn encode(op: &LeafOp, out: &mut Vec<u8>) {
    match op {
        LeafOp::Info(json) => {
            out.extend_from_slice(b"INFO ");
            out.extend_from_slice(json);
            out.extend_from_slice(b"\r\n");
        }
        LeafOp::Ping => out.extend_from_slice(b"PING\r\n"),
        LeafOp::Pong => out.extend_from_slice(b"PONG\r\n"),
        LeafOp::Ok => out.extend_from_slice(b"+OK\r\n"),
        LeafOp::Err(text) => {
            let t = text.as_bytes();
            // Quoted only where the unquoted form would read back differently.
            let quote = t.first().is_some_and(|b| *b == b' ' || *b == b'\t')
                || t.last().is_some_and(|b| *b == b' ' || *b == b'\t')
                || (t.len() >= 2 && t[0] == b'\'' && t[t.len() - 1] == b'\'');
            out.extend_from_slice(b"-ERR ");
            if quote {
                out.push(b'\'');
            }
            out.extend_from_slice(t);
            if quote {
                out.push(b'\'');
            }
            out.extend_from_slice(b"\r\n");
        }
        LeafOp::Sub {
            subject,
            queue,
            weight,
        } => leaf::sub(out, subject, queue.as_ref().map(|q| (&q[..], *weight))),
        LeafOp::Unsub { subject, queue } => leaf::unsub(out, subject, queue.as_deref()),
        LeafOp::Msg {
            subject,
            reply,
            queues,
            headers,
            payload,
        } => {
            let qs: Vec<&[u8]> = queues.iter().map(|q| &q[..]).collect();
            leaf::msg(
                out,
                subject,
                reply.as_deref(),
                &qs,
                headers.as_deref(),
                payload,
            );
        }
    }
}

fn round_trip(op: &LeafOp, mcl: usize, mp: usize) {
    let mut wire = Vec::new();
    encode(op, &mut wire);
    // Lossy UTF-8 replacement can triple a -ERR text's length.
    let mcl = if matches!(op, LeafOp::Err(_)) {
        mcl * 3 + 8
    } else {
        mcl
    };
    let mut parser = LeafParser::new(mcl, mp);
    let mut buf = BytesMut::from(&wire[..]);
    match parser.parse(&mut buf) {
        Ok(Some(again)) => assert_eq!(&again, op, "re-encoded as {:?}", Bytes::from(wire)),
        other => panic!(
            "re-encoded {op:?} as {:?}, which parses as {other:?}",
            Bytes::from(wire)
        ),
    }
    assert!(
        buf.is_empty(),
        "re-encoded {op:?} left {} bytes unparsed",
        buf.len()
    );
}
