//! The client protocol parser: bytes from a client connection in, `ClientOp`s out.
//!
//! Incremental: `Parser::parse` takes what has arrived so far and returns `Ok(None)` until a
//! whole op (control line plus payload) is buffered, so a half-sent frame simply waits for
//! more bytes. Zero-copy: subjects, sids and payloads are `Bytes` slices of the read buffer.
//! Error kinds mirror nats-server's parser so the server can answer with the same `-ERR`
//! wording and the same close-or-keep decision.

use bytes::{Bytes, BytesMut};

/// One operation sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp {
    Connect(Bytes),
    Pub {
        subject: Bytes,
        reply: Option<Bytes>,
        payload: Bytes,
    },
    /// `headers` is the header block (with its terminating empty line), `payload` the rest.
    HPub {
        subject: Bytes,
        reply: Option<Bytes>,
        headers: Bytes,
        payload: Bytes,
    },
    Sub {
        subject: Bytes,
        queue: Option<Bytes>,
        sid: Bytes,
    },
    Unsub {
        sid: Bytes,
        max: Option<u64>,
    },
    Ping,
    Pong,
    /// `INFO`, `+OK` and `-ERR` from a client are accepted and have no effect, as in
    /// nats-server.
    Ignored,
}

/// Why the byte stream could not be parsed. `err_text` gives the `-ERR` line nats-server
/// sends for it (None: it closes silently); every kind closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown protocol operation near {0:?}")]
    UnknownOp(String),
    #[error("control line of {found} bytes exceeds max_control_line {limit}")]
    MaxControlLine { found: usize, limit: usize },
    #[error("payload of {found} bytes exceeds max_payload {limit}")]
    MaxPayload { found: usize, limit: usize },
    #[error("{op}: invalid arguments {args:?}")]
    BadArgs { op: &'static str, args: String },
    #[error("payload not followed by CRLF")]
    MissingPayloadTerminator,
    /// A client sent `-ERR`: nats-server logs it and closes the connection.
    #[error("client sent -ERR {0}")]
    PeerError(String),
}

impl ParseError {
    /// The `-ERR` text nats-server sends before closing, if any.
    pub fn err_text(&self) -> Option<&'static str> {
        match self {
            ParseError::UnknownOp(_) | ParseError::MissingPayloadTerminator => {
                Some("Unknown Protocol Operation")
            }
            ParseError::MaxControlLine { .. } => Some("maximum control line exceeded"),
            ParseError::MaxPayload { .. } => Some("Maximum Payload Violation"),
            ParseError::BadArgs { .. } | ParseError::PeerError(_) => None,
        }
    }
}

#[derive(Debug)]
enum State {
    Line,
    /// A PUB/HPUB control line was read; `total` payload bytes (+CRLF) are awaited.
    Payload {
        subject: Bytes,
        reply: Option<Bytes>,
        hdr: Option<usize>,
        total: usize,
    },
}

/// Incremental parser for one client connection.
#[derive(Debug)]
pub struct Parser {
    max_control_line: usize,
    max_payload: usize,
    state: State,
}

impl Parser {
    pub fn new(max_control_line: usize, max_payload: usize) -> Self {
        Parser {
            max_control_line,
            max_payload,
            state: State::Line,
        }
    }

    /// Changes the payload limit (e.g. after CONNECT when an account limit applies).
    pub fn set_max_payload(&mut self, max_payload: usize) {
        self.max_payload = max_payload;
    }

    /// Takes the next whole op off the front of `buf`, or returns `Ok(None)` if more bytes
    /// are needed. After an error the connection must be closed; the parser state is
    /// undefined.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        loop {
            match &self.state {
                State::Payload { total, .. } => {
                    let total = *total;
                    if buf.len() < total + 2 {
                        return Ok(None);
                    }
                    if &buf[total..total + 2] != b"\r\n" {
                        return Err(ParseError::MissingPayloadTerminator);
                    }
                    let mut data = buf.split_to(total + 2).freeze();
                    data.truncate(total);
                    let State::Payload {
                        subject,
                        reply,
                        hdr,
                        ..
                    } = std::mem::replace(&mut self.state, State::Line)
                    else {
                        unreachable!("matched Payload above")
                    };
                    return Ok(Some(match hdr {
                        None => ClientOp::Pub {
                            subject,
                            reply,
                            payload: data,
                        },
                        Some(h) => {
                            let payload = data.split_off(h);
                            ClientOp::HPub {
                                subject,
                                reply,
                                headers: data,
                                payload,
                            }
                        }
                    }));
                }
                State::Line => {
                    let Some(nl) = memchr(b'\n', buf) else {
                        // Like nats-server's byte-at-a-time parser, reject a line as
                        // soon as it cannot become a known op, without waiting for CRLF.
                        if !could_be_op(buf) {
                            return Err(ParseError::UnknownOp(preview(buf)));
                        }
                        if buf.len() > self.max_control_line + 1 {
                            match op_of(buf) {
                                // What follows PING, PONG and +OK is ignored and exempt
                                // from the limit (as for a whole line, and in
                                // nats-server): drop it rather than hold it.
                                Some(op) if !op.has_args() => buf.truncate(op.name_len()),
                                _ => return Err(self.control_line_error(buf)),
                            }
                        }
                        return Ok(None);
                    };
                    let mut end = nl;
                    if end > 0 && buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    let mut line = buf.split_to(nl + 1).freeze();
                    line.truncate(end);
                    if line.is_empty() {
                        // nats-server treats a bare line break as an unknown op.
                        return Err(ParseError::UnknownOp(String::new()));
                    }
                    if let Some(op) = self.parse_line(line)? {
                        return Ok(Some(op));
                    }
                    // A PUB/HPUB line set up the payload state: loop to read the payload.
                }
            }
        }
    }

    fn control_line_error(&self, line: &[u8]) -> ParseError {
        // nats-server only enforces the limit on ops that carry arguments; an unknown op
        // is reported as such first.
        match op_of(line) {
            Some(_) => ParseError::MaxControlLine {
                found: line.len(),
                limit: self.max_control_line,
            },
            None => ParseError::UnknownOp(preview(line)),
        }
    }

    fn parse_line(&mut self, line: Bytes) -> Result<Option<ClientOp>, ParseError> {
        let Some(op) = op_of(&line) else {
            return Err(ParseError::UnknownOp(preview(&line)));
        };
        if line.len() > self.max_control_line && op.has_args() {
            return Err(ParseError::MaxControlLine {
                found: line.len(),
                limit: self.max_control_line,
            });
        }
        let rest_start = op.name_len();
        if op.has_args() {
            // At least one blank must separate the op from its arguments.
            match line.get(rest_start) {
                Some(b' ') | Some(b'\t') => {}
                _ => return Err(ParseError::UnknownOp(preview(&line))),
            }
        }
        let rest = &line[rest_start..];
        // Arguments are ranges into `line`: slicing only the ones an op keeps saves a
        // reference-count update per argument on the hot path.
        let args = Args::split(&line, rest_start);
        let arg = |i: usize| line.slice(args.range(i));
        match op {
            Op::Ping => Ok(Some(ClientOp::Ping)),
            Op::Pong => Ok(Some(ClientOp::Pong)),
            Op::Ok | Op::Info => Ok(Some(ClientOp::Ignored)),
            Op::Err => Err(ParseError::PeerError(preview(rest))),
            Op::Connect => {
                let start = rest_start
                    + rest
                        .iter()
                        .position(|c| !is_blank(*c))
                        .unwrap_or(rest.len());
                let end = rest
                    .iter()
                    .rposition(|c| !is_blank(*c))
                    .map_or(start, |e| rest_start + e + 1);
                Ok(Some(ClientOp::Connect(line.slice(start..end.max(start)))))
            }
            Op::Sub => match args.n {
                2 => Ok(Some(ClientOp::Sub {
                    subject: arg(0),
                    queue: None,
                    sid: arg(1),
                })),
                3 => Ok(Some(ClientOp::Sub {
                    subject: arg(0),
                    queue: Some(arg(1)),
                    sid: arg(2),
                })),
                _ => Err(bad_args("SUB", rest)),
            },
            Op::Unsub => match args.n {
                1 => Ok(Some(ClientOp::Unsub {
                    sid: arg(0),
                    max: None,
                })),
                2 => {
                    let max =
                        parse_size(&line[args.range(1)]).ok_or_else(|| bad_args("UNSUB", rest))?;
                    Ok(Some(ClientOp::Unsub {
                        sid: arg(0),
                        max: Some(max as u64),
                    }))
                }
                _ => Err(bad_args("UNSUB", rest)),
            },
            Op::Pub => {
                let (reply, size) = match args.n {
                    2 => (None, 1),
                    3 => (Some(1), 2),
                    _ => return Err(bad_args("PUB", rest)),
                };
                let total =
                    parse_size(&line[args.range(size)]).ok_or_else(|| bad_args("PUB", rest))?;
                self.expect_payload(arg(0), reply.map(arg), None, total)
            }
            Op::HPub => {
                let (reply, hdr, total) = match args.n {
                    3 => (None, 1, 2),
                    4 => (Some(1), 2, 3),
                    _ => return Err(bad_args("HPUB", rest)),
                };
                let hdr =
                    parse_size(&line[args.range(hdr)]).ok_or_else(|| bad_args("HPUB", rest))?;
                let total =
                    parse_size(&line[args.range(total)]).ok_or_else(|| bad_args("HPUB", rest))?;
                if hdr > total {
                    return Err(bad_args("HPUB", rest));
                }
                self.expect_payload(arg(0), reply.map(arg), Some(hdr), total)
            }
        }
    }

    fn expect_payload(
        &mut self,
        subject: Bytes,
        reply: Option<Bytes>,
        hdr: Option<usize>,
        total: usize,
    ) -> Result<Option<ClientOp>, ParseError> {
        if total > self.max_payload {
            return Err(ParseError::MaxPayload {
                found: total,
                limit: self.max_payload,
            });
        }
        self.state = State::Payload {
            subject,
            reply,
            hdr,
            total,
        };
        Ok(None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Connect,
    Pub,
    HPub,
    Sub,
    Unsub,
    Ping,
    Pong,
    Ok,
    Err,
    Info,
}

impl Op {
    fn name_len(self) -> usize {
        match self {
            Op::Connect => 7,
            Op::Pub | Op::Sub | Op::Ok => 3,
            Op::HPub | Op::Ping | Op::Pong | Op::Err | Op::Info => 4,
            Op::Unsub => 5,
        }
    }
    fn has_args(self) -> bool {
        !matches!(self, Op::Ping | Op::Pong | Op::Ok)
    }
}

const OPS: [(&[u8], Op); 10] = [
    (b"CONNECT", Op::Connect),
    (b"PUB", Op::Pub),
    (b"HPUB", Op::HPub),
    (b"SUB", Op::Sub),
    (b"UNSUB", Op::Unsub),
    (b"PING", Op::Ping),
    (b"PONG", Op::Pong),
    (b"+OK", Op::Ok),
    (b"-ERR", Op::Err),
    (b"INFO", Op::Info),
];

/// Recognises the op name at the start of a line (case-insensitive). Ops with arguments
/// need a blank after the name; nats-server ignores whatever follows PING, PONG and +OK.
fn op_of(line: &[u8]) -> Option<Op> {
    OPS.iter().find_map(|(name, op)| {
        let n = name.len();
        let head = line.get(..n)?;
        let boundary = !op.has_args() || line.get(n).is_none_or(|b| is_blank(*b) || *b == b'\r');
        (head.eq_ignore_ascii_case(name) && boundary).then_some(*op)
    })
}

/// Could this incomplete line still become a known op once more bytes arrive?
fn could_be_op(partial: &[u8]) -> bool {
    OPS.iter().any(|(name, op)| {
        let n = name.len().min(partial.len());
        partial[..n].eq_ignore_ascii_case(&name[..n])
            && (partial.len() <= name.len()
                || !op.has_args()
                || is_blank(partial[name.len()])
                || partial[name.len()] == b'\r')
    })
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Up to five blank-separated arguments of a control line, as byte ranges; `n` is 6 when
/// there were more (every op then rejects the line).
struct Args {
    n: usize,
    ranges: [(usize, usize); 5],
}

impl Args {
    fn split(line: &[u8], from: usize) -> Args {
        let mut args = Args {
            n: 0,
            ranges: [(0, 0); 5],
        };
        let len = line.len();
        let mut i = from;
        loop {
            while i < len && is_blank(line[i]) {
                i += 1;
            }
            if i == len {
                return args;
            }
            if args.n == args.ranges.len() {
                args.n += 1;
                return args;
            }
            let start = i;
            while i < len && !is_blank(line[i]) {
                i += 1;
            }
            args.ranges[args.n] = (start, i);
            args.n += 1;
        }
    }

    fn range(&self, i: usize) -> std::ops::Range<usize> {
        let (s, e) = self.ranges[i.min(self.ranges.len() - 1)];
        s..e
    }
}

/// Parses a decimal size as nats-server does: digits only, no sign, bounded.
pub fn parse_size(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 12 {
        return None;
    }
    let mut n: usize = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as usize;
    }
    Some(n)
}

fn bad_args(op: &'static str, rest: &[u8]) -> ParseError {
    ParseError::BadArgs {
        op,
        args: preview(rest),
    }
}

fn preview(b: &[u8]) -> String {
    let cut = &b[..b.len().min(64)];
    String::from_utf8_lossy(cut).into_owned()
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> Result<Vec<ClientOp>, ParseError> {
        let mut p = Parser::new(4096, 1024 * 1024);
        let mut buf = BytesMut::from(input);
        let mut ops = vec![];
        while let Some(op) = p.parse(&mut buf)? {
            ops.push(op);
        }
        Ok(ops)
    }

    #[test]
    fn parses_every_client_op() {
        let ops = parse_all(
            b"CONNECT {\"verbose\":false}\r\nPUB foo 5\r\nhello\r\nPUB foo bar 2\r\nhi\r\n\
              HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nsub foo q 1\r\nSUB\tfoo\t2\nUNSUB 1 5\r\n\
              UNSUB 2\r\nping\r\nPONG\r\n+OK\r\n",
        )
        .unwrap();
        assert_eq!(
            ops[0],
            ClientOp::Connect(Bytes::from_static(b"{\"verbose\":false}"))
        );
        assert_eq!(
            ops[1],
            ClientOp::Pub {
                subject: "foo".into(),
                reply: None,
                payload: "hello".into()
            }
        );
        assert_eq!(
            ops[2],
            ClientOp::Pub {
                subject: "foo".into(),
                reply: Some("bar".into()),
                payload: "hi".into()
            }
        );
        assert_eq!(
            ops[3],
            ClientOp::HPub {
                subject: "foo".into(),
                reply: None,
                headers: "NATS/1.0\r\n\r\n".into(),
                payload: "hi".into()
            }
        );
        assert_eq!(
            ops[4],
            ClientOp::Sub {
                subject: "foo".into(),
                queue: Some("q".into()),
                sid: "1".into()
            }
        );
        assert_eq!(
            ops[5],
            ClientOp::Sub {
                subject: "foo".into(),
                queue: None,
                sid: "2".into()
            }
        );
        assert_eq!(
            ops[6],
            ClientOp::Unsub {
                sid: "1".into(),
                max: Some(5)
            }
        );
        assert_eq!(
            ops[7],
            ClientOp::Unsub {
                sid: "2".into(),
                max: None
            }
        );
        assert_eq!(
            &ops[8..],
            &[ClientOp::Ping, ClientOp::Pong, ClientOp::Ignored]
        );
    }

    #[test]
    fn waits_for_half_sent_frames() {
        let mut p = Parser::new(4096, 1024);
        let mut buf = BytesMut::from(&b"PUB foo 5\r\nhel"[..]);
        assert_eq!(p.parse(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"lo\r");
        assert_eq!(p.parse(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\nPI");
        assert!(matches!(
            p.parse(&mut buf).unwrap(),
            Some(ClientOp::Pub { .. })
        ));
        assert_eq!(p.parse(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"NG\r\n");
        assert_eq!(p.parse(&mut buf).unwrap(), Some(ClientOp::Ping));
    }

    #[test]
    fn errors_carry_nats_server_wording() {
        let err = |input: &[u8]| parse_all(input).unwrap_err();
        assert_eq!(
            err(b"FOO\r\n").err_text(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(
            err(b"PUBX foo 1\r\n").err_text(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(err(b"PUB foo\r\n").err_text(), None);
        assert_eq!(err(b"PUB foo -1\r\n").err_text(), None);
        assert_eq!(err(b"HPUB foo 5 2\r\n").err_text(), None);
        assert_eq!(
            err(b"PUB foo 2\r\nabc\r\n").err_text(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(
            err(b"PUB foo 2000000\r\n").err_text(),
            Some("Maximum Payload Violation")
        );
        let long = format!("PUB {} 1\r\n", "a".repeat(5000));
        assert_eq!(
            err(long.as_bytes()).err_text(),
            Some("maximum control line exceeded")
        );
        assert_eq!(err(b"PUBX").err_text(), Some("Unknown Protocol Operation"));
        assert_eq!(
            err(b"GARBAGE").err_text(),
            Some("Unknown Protocol Operation")
        );
        assert_eq!(err(b"-ERR 'x'\r\n").err_text(), None);
        assert_eq!(parse_all(b"PING x\r\n").unwrap(), vec![ClientOp::Ping]);
    }

    /// Found by `cargo fuzz` (client_parser): what follows PING is ignored and exempt from
    /// max_control_line when the line arrives whole, so it must be when it arrives in
    /// pieces too (and must not be buffered while waiting for the line end).
    #[test]
    fn long_ping_line_is_the_same_whole_or_in_pieces() {
        let line = format!("PING {}\r\n", "x".repeat(40));
        let mut p = Parser::new(16, 1024);
        let mut buf = BytesMut::from(line.as_bytes());
        assert_eq!(p.parse(&mut buf).unwrap(), Some(ClientOp::Ping));

        let mut p = Parser::new(16, 1024);
        let mut buf = BytesMut::from(&line.as_bytes()[..30]);
        assert_eq!(p.parse(&mut buf).unwrap(), None);
        assert!(buf.len() <= 17, "holds {} bytes of a PING line", buf.len());
        buf.extend_from_slice(&line.as_bytes()[30..]);
        assert_eq!(p.parse(&mut buf).unwrap(), Some(ClientOp::Ping));
        assert!(buf.is_empty());
    }

    fn op_strategy() -> impl Strategy<Value = ClientOp> {
        let tok = "[a-zA-Z0-9_]{1,8}";
        let bytes = proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from);
        prop_oneof![
            (tok, proptest::option::of(tok), bytes.clone()).prop_map(|(s, r, p)| {
                ClientOp::Pub {
                    subject: s.into(),
                    reply: r.map(Into::into),
                    payload: p,
                }
            }),
            (tok, proptest::option::of(tok), "[a-z]{1,5}", bytes).prop_map(|(s, r, h, p)| {
                ClientOp::HPub {
                    subject: s.into(),
                    reply: r.map(Into::into),
                    headers: format!("NATS/1.0\r\nA: {h}\r\n\r\n").into(),
                    payload: p,
                }
            }),
            (tok, proptest::option::of(tok), tok).prop_map(|(s, q, sid)| ClientOp::Sub {
                subject: s.into(),
                queue: q.map(Into::into),
                sid: sid.into(),
            }),
            (tok, proptest::option::of(0u64..1000)).prop_map(|(sid, max)| ClientOp::Unsub {
                sid: sid.into(),
                max
            }),
            Just(ClientOp::Ping),
            Just(ClientOp::Pong),
        ]
    }

    fn encode(op: &ClientOp, out: &mut Vec<u8>) {
        let s = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
        match op {
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => {
                let r = reply
                    .as_ref()
                    .map(|r| format!(" {}", s(r)))
                    .unwrap_or_default();
                out.extend(format!("PUB {}{} {}\r\n", s(subject), r, payload.len()).bytes());
                out.extend_from_slice(payload);
                out.extend_from_slice(b"\r\n");
            }
            ClientOp::HPub {
                subject,
                reply,
                headers,
                payload,
            } => {
                let r = reply
                    .as_ref()
                    .map(|r| format!(" {}", s(r)))
                    .unwrap_or_default();
                let (h, t) = (headers.len(), headers.len() + payload.len());
                out.extend(format!("HPUB {}{} {h} {t}\r\n", s(subject), r).bytes());
                out.extend_from_slice(headers);
                out.extend_from_slice(payload);
                out.extend_from_slice(b"\r\n");
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => {
                let q = queue
                    .as_ref()
                    .map(|q| format!(" {}", s(q)))
                    .unwrap_or_default();
                out.extend(format!("SUB {}{} {}\r\n", s(subject), q, s(sid)).bytes());
            }
            ClientOp::Unsub { sid, max } => {
                let m = max.map(|m| format!(" {m}")).unwrap_or_default();
                out.extend(format!("UNSUB {}{}\r\n", s(sid), m).bytes());
            }
            ClientOp::Ping => out.extend_from_slice(b"PING\r\n"),
            ClientOp::Pong => out.extend_from_slice(b"PONG\r\n"),
            _ => {}
        }
    }

    proptest! {
        /// Encoding ops and feeding the bytes in arbitrary chunks gives the same ops back.
        #[test]
        fn round_trip_in_any_chunking(ops in proptest::collection::vec(op_strategy(), 1..20),
                                      chunk in 1usize..50) {
            let mut wire = Vec::new();
            for op in &ops { encode(op, &mut wire); }
            let mut p = Parser::new(4096, 1 << 20);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(op) = p.parse(&mut buf).unwrap() { got.push(op); }
            }
            prop_assert_eq!(got, ops);
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut p = Parser::new(128, 256);
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(_)) = p.parse(&mut buf) {}
        }
    }
}
