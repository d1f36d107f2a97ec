//! Encoding what the server sends to clients: MSG/HMSG frames written straight into an
//! outbound buffer (no intermediate allocation), and the fixed control lines.

pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";
pub const OK: &[u8] = b"+OK\r\n";

/// The header block of a no-responders status message (16 bytes, as nats-server sends).
pub const NO_RESPONDERS_HDR: &[u8] = b"NATS/1.0 503\r\n\r\n";

/// Appends `-ERR '<text>'\r\n`.
pub fn err(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"-ERR '");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"'\r\n");
}

/// Appends `INFO <json> \r\n` (with nats-server's space before CRLF).
pub fn info(out: &mut Vec<u8>, json: &[u8]) {
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json);
    out.extend_from_slice(b" \r\n");
}

/// Appends one delivery. With `headers` present (and non-empty) it is an HMSG, otherwise
/// a MSG. Returns the number of bytes written.
pub fn msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    payload: &[u8],
) -> usize {
    let start = out.len();
    let hdr_len = headers.map_or(0, <[u8]>::len);
    out.reserve(
        subject.len() + sid.len() + reply.map_or(0, <[u8]>::len) + 40 + hdr_len + payload.len(),
    );
    if hdr_len > 0 {
        out.extend_from_slice(b"HMSG ");
    } else {
        out.extend_from_slice(b"MSG ");
    }
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    if hdr_len > 0 {
        push_usize(out, hdr_len);
        out.push(b' ');
        push_usize(out, hdr_len + payload.len());
    } else {
        push_usize(out, payload.len());
    }
    out.extend_from_slice(b"\r\n");
    if let Some(h) = headers {
        out.extend_from_slice(h);
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    out.len() - start
}

/// Appends a decimal number without allocating.
pub fn push_usize(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let mut out = vec![];
        msg(&mut out, b"foo", b"1", Some(b"bar"), None, b"hello");
        assert_eq!(out, b"MSG foo 1 bar 5\r\nhello\r\n");
        out.clear();
        msg(
            &mut out,
            b"foo",
            b"2",
            None,
            Some(b"NATS/1.0\r\nA: B\r\n\r\n"),
            b"hello",
        );
        assert_eq!(
            out,
            b"HMSG foo 2 18 23\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n"
        );
        out.clear();
        err(&mut out, "Invalid Subject");
        assert_eq!(out, b"-ERR 'Invalid Subject'\r\n");
        out.clear();
        push_usize(&mut out, 0);
        push_usize(&mut out, 1234567890);
        assert_eq!(out, b"01234567890");
    }
}
