//! Fuzzes the client protocol parser (`edgeleaf::proto::Parser`).
//!
//! The input is the byte stream a client sends. For each of two limit settings (small ones,
//! so the limit paths are reachable with short inputs, and the server defaults) it is
//! parsed twice:
//!
//! * all at once, as if one read returned everything;
//! * in chunks whose sizes are taken from the input itself, so half-sent control lines
//!   and payloads (the incremental paths) are exercised.
//!
//! Checked, besides "never panics":
//! * both feedings give the same ops, and end the same way (an error of the same kind, or
//!   no error): how TCP happens to segment a stream must not change what the server sees;
//! * every PUB/HPUB payload (headers included) is within max_payload;
//! * while the parser waits for more bytes it never holds more than a control line or a
//!   payload's worth (a bounded buffer is what max_control_line and max_payload are for);
//! * re-encoding each op in canonical form and parsing it again gives the same op.
#![no_main]

use bytes::BytesMut;
use edgeleaf::proto::{ClientOp, ParseError, Parser};
use libfuzzer_sys::fuzz_target;

/// (max_control_line, max_payload): small, then nats-server's / edgeleaf's defaults.
const LIMITS: [(usize, usize); 2] = [(256, 1024), (4096, 1024 * 1024)];

fuzz_target!(|data: &[u8]| {
    for (mcl, mp) in LIMITS {
        check(data, mcl, mp);
    }
});

/// How one feeding ended: the ops produced, and the error (if any) that stopped it.
struct Outcome {
    ops: Vec<ClientOp>,
    err: Option<ParseError>,
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
        check_limits(op, mp);
        round_trip(op, mcl, mp);
    }
}

/// Splits `data` into pieces of 1..=32 bytes; each piece's length comes from the byte
/// at its own start (so mutations of the input also move the chunk boundaries).
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
    let mut parser = Parser::new(mcl, mp);
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

fn check_limits(op: &ClientOp, mp: usize) {
    match op {
        ClientOp::Pub { payload, .. } => {
            assert!(payload.len() <= mp, "PUB payload {} > {mp}", payload.len())
        }
        ClientOp::HPub {
            headers, payload, ..
        } => assert!(
            headers.len() + payload.len() <= mp,
            "HPUB headers {} + payload {} > {mp}",
            headers.len(),
            payload.len()
        ),
        _ => {}
    }
}

/// Canonical wire form of an op. Never longer than the control line it was parsed from
/// (single blanks, no leading zeros, no junk after PING/PONG), so the limits still hold.
fn encode(op: &ClientOp, out: &mut Vec<u8>) {
    fn opt(out: &mut Vec<u8>, b: &Option<bytes::Bytes>) {
        if let Some(b) = b {
            out.push(b' ');
            out.extend_from_slice(b);
        }
    }
    match op {
        ClientOp::Connect(json) => {
            out.extend_from_slice(b"CONNECT ");
            out.extend_from_slice(json);
        }
        ClientOp::Pub {
            subject,
            reply,
            payload,
        } => {
            out.extend_from_slice(b"PUB ");
            out.extend_from_slice(subject);
            opt(out, reply);
            out.extend_from_slice(format!(" {}\r\n", payload.len()).as_bytes());
            out.extend_from_slice(payload);
        }
        ClientOp::HPub {
            subject,
            reply,
            headers,
            payload,
        } => {
            out.extend_from_slice(b"HPUB ");
            out.extend_from_slice(subject);
            opt(out, reply);
            let (h, t) = (headers.len(), headers.len() + payload.len());
            out.extend_from_slice(format!(" {h} {t}\r\n").as_bytes());
            out.extend_from_slice(headers);
            out.extend_from_slice(payload);
        }
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => {
            out.extend_from_slice(b"SUB ");
            out.extend_from_slice(subject);
            opt(out, queue);
            out.push(b' ');
            out.extend_from_slice(sid);
        }
        ClientOp::Unsub { sid, max } => {
            out.extend_from_slice(b"UNSUB ");
            out.extend_from_slice(sid);
            if let Some(m) = max {
                out.extend_from_slice(format!(" {m}").as_bytes());
            }
        }
        ClientOp::Ping => out.extend_from_slice(b"PING"),
        ClientOp::Pong => out.extend_from_slice(b"PONG"),
        ClientOp::Ignored => out.extend_from_slice(b"+OK"),
    }
    out.extend_from_slice(b"\r\n");
}

fn round_trip(op: &ClientOp, mcl: usize, mp: usize) {
    let mut wire = Vec::new();
    encode(op, &mut wire);
    let mut parser = Parser::new(mcl, mp);
    let mut buf = BytesMut::from(&wire[..]);
    match parser.parse(&mut buf) {
        Ok(Some(again)) => assert_eq!(&again, op, "re-encoded as {:?}", bytes::Bytes::from(wire)),
        other => panic!(
            "re-encoded {op:?} as {:?}, which parses as {other:?}",
            bytes::Bytes::from(wire)
        ),
    }
    assert!(
        buf.is_empty(),
        "re-encoded {op:?} left {} bytes unparsed",
        buf.len()
    );
}
