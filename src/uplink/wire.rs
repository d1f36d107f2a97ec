//! The uplink's share of the wire: the header block each forwarded message carries, and
//! reading the cloud's PubAcks and JetStream API answers. Pure functions, no I/O.

use serde::Deserialize;

/// The header naming the local sequence of a forwarded message.
pub const SEQ_HEADER: &str = "Edgeleaf-Seq";

/// Builds header blocks into one reused buffer.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// The publisher's headers without the ones that steer the *local* stream
    /// (`Nats-Msg-Id`, `Nats-Expected-*`: the cloud must not apply them to its own
    /// stream), plus `Nats-Msg-Id: <incarnation>:<seq>` and `Edgeleaf-Seq: <seq>`.
    pub fn headers(&mut self, original: Option<&[u8]>, incarnation: &str, seq: u64) -> &[u8] {
        use std::io::Write;
        self.buf.clear();
        self.buf.extend_from_slice(b"NATS/1.0\r\n");
        if let Some(block) = original {
            let text = String::from_utf8_lossy(block);
            for line in text.split("\r\n").skip(1) {
                let Some((name, _)) = line.split_once(':') else {
                    continue;
                };
                let name = name.trim();
                if name.eq_ignore_ascii_case("Nats-Msg-Id")
                    || name
                        .get(..14)
                        .is_some_and(|p| p.eq_ignore_ascii_case("Nats-Expected-"))
                    || name.eq_ignore_ascii_case(SEQ_HEADER)
                {
                    continue;
                }
                self.buf.extend_from_slice(line.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
        let _ = write!(
            self.buf,
            "Nats-Msg-Id: {incarnation}:{seq}\r\n{SEQ_HEADER}: {seq}\r\n\r\n"
        );
        &self.buf
    }
}

#[derive(Deserialize)]
struct ApiErr {
    #[serde(default)]
    code: u16,
    #[serde(default)]
    err_code: u32,
    #[serde(default)]
    description: String,
}

impl ApiErr {
    fn text(&self) -> String {
        format!(
            "{} (code {}, err_code {})",
            self.description, self.code, self.err_code
        )
    }
}

#[derive(Deserialize)]
struct Ack {
    stream: Option<String>,
    seq: Option<u64>,
    error: Option<ApiErr>,
}

/// The status line of a header block, when it has one (`NATS/1.0 503`).
fn status(headers: Option<&[u8]>) -> Option<String> {
    let block = headers?;
    let first = block.split(|c| *c == b'\r').next()?;
    let text = String::from_utf8_lossy(first);
    let rest = text.strip_prefix("NATS/1.0")?.trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// A header value must not break the header block: line breaks become spaces.
fn one_line(v: &str) -> String {
    v.replace(['\r', '\n'], " ")
}

/// The header block of a message moved aside: its own headers, plus the subject it had,
/// the cloud's reason and its seq in the uplinked stream.
pub fn rejected_headers(original: Option<&[u8]>, subject: &str, reason: &str, seq: u64) -> Vec<u8> {
    let mut out = match original {
        Some(h) if h.ends_with(b"\r\n\r\n") => h[..h.len() - 2].to_vec(),
        _ => b"NATS/1.0\r\n".to_vec(),
    };
    out.extend_from_slice(
        format!(
            "Edgeleaf-Rejected-Subject: {}\r\nEdgeleaf-Rejected-Reason: {}\r\n{SEQ_HEADER}: {seq}\r\n\r\n",
            one_line(subject),
            one_line(reason)
        )
        .as_bytes(),
    );
    out
}

/// Reads a PubAck: the stream that stored the message and its seq there.
pub fn pub_ack_of(headers: Option<&[u8]>, payload: &[u8]) -> Result<(String, u64), String> {
    if let Some(s) = status(headers) {
        if s.starts_with("503") {
            return Err("no stream captures this subject (503 no responders)".into());
        }
        return Err(format!("status {s} instead of a PubAck"));
    }
    let ack: Ack = serde_json::from_slice(payload).map_err(|e| {
        format!(
            "expected a PubAck, found {:?} ({e})",
            String::from_utf8_lossy(&payload[..payload.len().min(200)])
        )
    })?;
    if let Some(e) = ack.error {
        return Err(e.text());
    }
    match (ack.stream, ack.seq) {
        (Some(s), Some(q)) => Ok((s, q)),
        _ => Err(format!(
            "expected a PubAck, found {:?}",
            String::from_utf8_lossy(&payload[..payload.len().min(200)])
        )),
    }
}

/// The common case of [`pub_ack`] without a JSON parse: nats-server writes a PubAck as
/// `{"stream":"<name>", "seq":<n>` or, from a cloud with a JetStream domain,
/// `{"stream":"<name>", "domain":"<domain>", "seq":<n>`, then optional fields; an error
/// never starts so. False means "parse it properly", not "refused". (A domain cloud's acks
/// all took the JSON parse before: 5% of the edge's CPU in the drain.)
fn plain_pub_ack(payload: &[u8], expected_stream: &str) -> bool {
    let Some(mut rest) = payload
        .strip_prefix(b"{\"stream\":\"")
        .and_then(|r| r.strip_prefix(expected_stream.as_bytes()))
        .and_then(|r| r.strip_prefix(b"\""))
    else {
        return false;
    };
    if let Some(r) = rest.strip_prefix(b", \"domain\":\"") {
        // A domain with an escape in it takes the parse.
        let Some(end) = r.iter().position(|&c| c == b'"' || c == b'\\') else {
            return false;
        };
        if r[end] != b'"' {
            return false;
        }
        rest = &r[end + 1..];
    }
    let Some(rest) = rest.strip_prefix(b", \"seq\":") else {
        return false;
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && matches!(rest.get(digits), Some(b'}' | b','))
}

/// Checks a PubAck: Ok when the cloud stored the message (or already had it) in the
/// expected stream; Err with the cloud's reason otherwise.
pub fn pub_ack(
    headers: Option<&[u8]>,
    payload: &[u8],
    expected_stream: &str,
) -> Result<(), String> {
    if headers.is_none() && plain_pub_ack(payload, expected_stream) {
        return Ok(());
    }
    match pub_ack_of(headers, payload) {
        Ok((s, _)) if s == expected_stream => Ok(()),
        Ok((s, _)) => Err(format!(
            "stored by cloud stream {s:?}, expected {expected_stream:?} (check cloud_stream or the cloud's subjects)"
        )),
        Err(_) if status(headers).is_some_and(|s| s.starts_with("503")) => {
            Err("no cloud stream captures this subject (503 no responders)".into())
        }
        Err(e) => Err(e),
    }
}

/// The error of a JetStream API answer, if it is one.
pub fn api_error(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Resp {
        error: Option<ApiErr>,
    }
    match serde_json::from_slice::<Resp>(payload) {
        Ok(r) => r.error.map(|e| e.text()),
        Err(e) => Some(format!(
            "unreadable answer {:?} ({e})",
            String::from_utf8_lossy(&payload[..payload.len().min(200)])
        )),
    }
}

/// From a `STREAM.MSG.GET` answer: the local seq of the message if it is one of ours
/// (its `Nats-Msg-Id` is `<incarnation>:<seq>`). None for errors (no message) and for
/// messages of another incarnation or publisher.
pub fn our_seq_in_msg_get(payload: &[u8], incarnation: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Stored {
        hdrs: Option<String>,
    }
    #[derive(Deserialize)]
    struct Resp {
        message: Option<Stored>,
    }
    let r: Resp = serde_json::from_slice(payload).ok()?;
    let hdrs = r.message?.hdrs?;
    let block = data_encoding::BASE64.decode(hdrs.as_bytes()).ok()?;
    let text = String::from_utf8(block).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k.trim() != "Nats-Msg-Id" {
            return None;
        }
        let (inc, seq) = v.trim().rsplit_once(':')?;
        (inc == incarnation).then(|| seq.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_replace_local_steering_and_keep_the_rest() {
        let mut e = Encoder::default();
        let orig = b"NATS/1.0\r\nA: 1\r\nNats-Msg-Id: x\r\nNats-Expected-Last-Sequence: 4\r\nB: two\r\n\r\n";
        let h = e.headers(Some(orig), "INC", 17).to_vec();
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "NATS/1.0\r\nA: 1\r\nB: two\r\nNats-Msg-Id: INC:17\r\nEdgeleaf-Seq: 17\r\n\r\n"
        );
        let h = e.headers(None, "INC", 1).to_vec();
        assert_eq!(
            h,
            b"NATS/1.0\r\nNats-Msg-Id: INC:1\r\nEdgeleaf-Seq: 1\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn pub_acks_errors_and_wrong_streams() {
        assert_eq!(pub_ack(None, br#"{"stream":"S", "seq":3}"#, "S"), Ok(()));
        assert_eq!(
            pub_ack(None, br#"{"stream":"S", "seq":3, "duplicate": true}"#, "S"),
            Ok(())
        );
        let e = pub_ack(None, br#"{"stream":"T", "seq":3}"#, "S").unwrap_err();
        assert!(e.contains("\"T\"") && e.contains("\"S\""), "{e}");
        let e = pub_ack(
            None,
            br#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}"#,
            "S",
        )
        .unwrap_err();
        assert_eq!(e, "maximum messages exceeded (code 503, err_code 10077)");
        let e = pub_ack(Some(b"NATS/1.0 503\r\n\r\n"), b"", "S").unwrap_err();
        assert!(e.contains("no responders"), "{e}");
        assert_eq!(
            pub_ack_of(None, br#"{"stream":"R", "seq":9}"#),
            Ok(("R".to_string(), 9))
        );
        let h = rejected_headers(Some(b"NATS/1.0\r\nA: 1\r\n\r\n"), "s.1", "too\r\nbig", 4);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "NATS/1.0\r\nA: 1\r\nEdgeleaf-Rejected-Subject: s.1\r\nEdgeleaf-Rejected-Reason: too  big\r\nEdgeleaf-Seq: 4\r\n\r\n"
        );
        assert!(e.contains("no responders"), "{e}");
        assert!(pub_ack(None, b"garbage", "S").is_err());
        // The fast path takes only a whole PubAck of the expected stream.
        assert_eq!(
            pub_ack(None, br#"{"stream":"S", "seq":3, "domain":"hub"}"#, "S"),
            Ok(())
        );
        assert!(pub_ack(None, br#"{"stream":"S", "seq":}"#, "S").is_err());
        assert!(pub_ack(None, br#"{"stream":"SS", "seq":3}"#, "S").is_err());
    }

    #[test]
    fn the_plain_pub_ack_path_takes_nats_servers_acks_with_and_without_a_domain() {
        // The bytes nats-server 2.9.10 writes (the jetstream tests compare ours to them).
        assert!(plain_pub_ack(br#"{"stream":"U", "seq":7}"#, "U"));
        assert!(plain_pub_ack(
            br#"{"stream":"U", "domain":"hub", "seq":7}"#,
            "U"
        ));
        assert!(plain_pub_ack(
            br#"{"stream":"U", "domain":"hub", "seq":7,"duplicate": true}"#,
            "U"
        ));
        // Anything else takes the parse (which still accepts what is a PubAck).
        assert!(!plain_pub_ack(
            br#"{"stream":"V", "domain":"hub", "seq":7}"#,
            "U"
        ));
        assert!(!plain_pub_ack(
            br#"{"stream":"U", "domain":"h\"b", "seq":7}"#,
            "U"
        ));
        assert!(!plain_pub_ack(br#"{"stream":"U", "domain":"hub"}"#, "U"));
        assert!(!plain_pub_ack(
            br#"{"stream":"U", "domain":"hub", "seq":}"#,
            "U"
        ));
        assert!(!plain_pub_ack(br#"{"error":{"code":503}}"#, "U"));
        assert_eq!(
            pub_ack(None, br#"{"stream":"U", "domain":"h\"b", "seq":7}"#, "U"),
            Ok(())
        );
    }

    #[test]
    fn msg_get_finds_our_seq_only_for_our_incarnation() {
        let hdrs = data_encoding::BASE64
            .encode(b"NATS/1.0\r\nNats-Msg-Id: INC:42\r\nEdgeleaf-Seq: 42\r\n\r\n");
        let body = format!(
            r#"{{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{{"subject":"a","seq":9,"hdrs":"{hdrs}","data":"","time":"2026-01-01T00:00:00Z"}}}}"#
        );
        assert_eq!(our_seq_in_msg_get(body.as_bytes(), "INC"), Some(42));
        assert_eq!(our_seq_in_msg_get(body.as_bytes(), "OTHER"), None);
        let none = br#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":404,"err_code":10037,"description":"no message found"}}"#;
        assert_eq!(our_seq_in_msg_get(none, "INC"), None);
        assert_eq!(
            api_error(none).as_deref(),
            Some("no message found (code 404, err_code 10037)")
        );
        assert_eq!(api_error(br#"{"type":"x","config":{}}"#), None);
    }
}
