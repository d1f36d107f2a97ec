//! The JetStream API's wire types: the JSON requests and responses of `$JS.API.>`, the
//! hand-built PubAck, and the API error table, as nats-server 2.9.10 writes and reads them.
//!
//! Everything here is plain data: no I/O, no async. The types were written from JSON observed
//! on a real nats-server 2.9.10 (`-js`, single server), not from its source. Conventions:
//!
//! * field order is the order nats-server emits (serde writes struct fields in declaration
//!   order), and `skip_serializing_if` mirrors which fields nats-server omits when zero/empty;
//! * durations are `i64` nanoseconds; times are [`GoTime`] (RFC 3339, nanoseconds, UTC, with
//!   Go's zero time `0001-01-01T00:00:00Z`);
//! * output JSON must go through [`to_go_json`] so that `<`, `>`, `&` come out as `\u003c`,
//!   `\u003e`, `\u0026` like Go's `encoding/json` (`"subjects":["s.\u003e"]`);
//! * request types accept `null` for any field (Go leaves the zero value) and ignore unknown
//!   keys, like nats-server does.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// Prefix of every response `type` string.
pub const API_TYPE_PREFIX: &str = "io.nats.jetstream.api.v1.";

/// One second in nanoseconds.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// nats-server's default stream `duplicate_window`: 2 minutes.
pub const DEFAULT_DUPLICATE_WINDOW: i64 = 120 * NANOS_PER_SEC;
/// nats-server's default consumer `ack_wait` when acks are required: 30 s.
pub const DEFAULT_ACK_WAIT: i64 = 30 * NANOS_PER_SEC;
/// Default `max_ack_pending` when acks are required.
pub const DEFAULT_MAX_ACK_PENDING: i64 = 1000;
/// Default `max_waiting` of a pull consumer.
pub const DEFAULT_MAX_WAITING: i64 = 512;
/// Default `inactive_threshold` of an ephemeral (or named, non-durable) consumer: 5 s.
pub const DEFAULT_INACTIVE_THRESHOLD: i64 = 5 * NANOS_PER_SEC;
/// Page size of `STREAM.NAMES` / `CONSUMER.NAMES`.
pub const NAMES_LIMIT: usize = 1024;
/// Page size of `STREAM.LIST` / `CONSUMER.LIST`.
pub const LIST_LIMIT: usize = 256;
/// `limit` reported by `STREAM.INFO` when a `subjects_filter` was given.
pub const SUBJECTS_LIMIT: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// Go-compatible JSON output
// ---------------------------------------------------------------------------------------------

/// serde_json formatter that escapes strings the way Go's `encoding/json` does (HTML-safe).
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            let esc: &[u8] = match ch {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc)?;
            start = i + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        use serde_json::ser::CharEscape::*;
        let s: &[u8] = match char_escape {
            Quote => b"\\\"",
            ReverseSolidus => b"\\\\",
            Solidus => b"\\/",
            // Go (as used by nats-server 2.9) writes \b and \f as \u0008 / \u000c.
            Backspace => b"\\u0008",
            FormFeed => b"\\u000c",
            LineFeed => b"\\n",
            CarriageReturn => b"\\r",
            Tab => b"\\t",
            AsciiControl(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let buf = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ];
                return writer.write_all(&buf);
            }
        };
        writer.write_all(s)
    }
}

/// Serialize `v` as compact JSON with Go's `encoding/json` string escaping
/// (`<` `>` `&` U+2028 U+2029 as `\uXXXX`, `\b`/`\f` as `\u0008`/`\u000c`).
pub fn to_go_json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // Our types have string keys only and no fallible Serialize impls, so this cannot fail.
    v.serialize(&mut ser)
        .expect("JSON serialization of API type");
    out
}

/// A JSON string literal with Go escaping (for hand-built payloads such as the PubAck).
pub fn go_json_string(s: &str) -> String {
    String::from_utf8(to_go_json(s)).expect("JSON is UTF-8")
}

// ---------------------------------------------------------------------------------------------
// Request parsing helpers
// ---------------------------------------------------------------------------------------------

/// Deserialize `null` as the type's default (Go leaves the zero value on `null`).
fn nd<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// Parse a request body that must be JSON (`STREAM.CREATE`, `CONSUMER.CREATE`, ...).
/// An empty or malformed body is `invalid JSON` (400/10025) [observed on 2.9.10].
pub fn parse_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::invalid_json())
}

/// Parse a request body that may be empty (`STREAM.NAMES`, `STREAM.INFO`, `STREAM.PURGE`...):
/// empty or all-whitespace gives the default; malformed JSON is 400/10025.
pub fn parse_optional_request<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    parse_request(body)
}

/// Whether a body counts as "empty" for requests that take none (`STREAM.DELETE`,
/// `CONSUMER.DELETE`): empty/whitespace or a JSON object without keys. Anything else gets
/// [`ApiError::not_empty_request`] (400/10038) [observed: `{}` accepted, `{bad` rejected].
pub fn is_empty_request(body: &[u8]) -> bool {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return true;
    }
    matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(m)) if m.is_empty()
    )
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/// Seconds between Go's zero time (0001-01-01T00:00:00Z) and the Unix epoch.
const GO_ZERO_UNIX_SECS: i64 = -62_135_596_800;

/// A wall-clock instant, serialized like Go's `time.Time` in UTC (RFC 3339 with up to nine
/// fractional digits, trailing zeros trimmed). [`GoTime::ZERO`] is Go's zero time and prints as
/// `0001-01-01T00:00:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoTime {
    /// Seconds since the Unix epoch (negative before 1970).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Default for GoTime {
    fn default() -> Self {
        GoTime::ZERO
    }
}

impl GoTime {
    /// Go's zero `time.Time`.
    pub const ZERO: GoTime = GoTime {
        secs: GO_ZERO_UNIX_SECS,
        nanos: 0,
    };
    /// The Unix epoch (`1970-01-01T00:00:00Z`, which nats-server 2.9.10 prints as `first_ts`
    /// right after the last message of a file stream was deleted [observed]).
    pub const UNIX_EPOCH: GoTime = GoTime { secs: 0, nanos: 0 };

    /// From nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(ns: i64) -> GoTime {
        GoTime {
            secs: ns.div_euclid(NANOS_PER_SEC),
            nanos: ns.rem_euclid(NANOS_PER_SEC) as u32,
        }
    }

    /// Nanoseconds since the Unix epoch (saturating outside the i64 range, e.g. for ZERO).
    pub fn unix_nanos(&self) -> i64 {
        let v = self.secs as i128 * NANOS_PER_SEC as i128 + self.nanos as i128;
        v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// The current time.
    pub fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == GoTime::ZERO
    }

    /// Parse RFC 3339 (`Z` or `±hh:mm` offset, optional fraction of 1-9 digits).
    pub fn parse(s: &str) -> Option<GoTime> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = &s[r];
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
            return None;
        }
        if se > 59 {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            if digits == 0 || digits > 9 {
                return None;
            }
            nanos = s[start..i].parse::<u32>().ok()? * 10u32.pow((9 - digits) as u32);
        }
        let offset = match &b[i..] {
            [b'Z'] | [b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
                if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
            {
                let oh = ((*h1 - b'0') as i64) * 10 + (*h2 - b'0') as i64;
                let om = ((*m1 - b'0') as i64) * 10 + (*m2 - b'0') as i64;
                let off = oh * 3600 + om * 60;
                if *sign == b'+' {
                    off
                } else {
                    -off
                }
            }
            _ => return None,
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
        Some(GoTime { secs, nanos })
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            y,
            m,
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        match s {
            None => Ok(GoTime::ZERO),
            Some(s) => GoTime::parse(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid time {s:?}"))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// base64 (standard alphabet, padded) for STREAM.MSG.GET payloads
// ---------------------------------------------------------------------------------------------

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64, as Go encodes `[]byte` in JSON.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = match chunk.len() {
            3 => (chunk[0] as u32) << 16 | (chunk[1] as u32) << 8 | chunk[2] as u32,
            2 => (chunk[0] as u32) << 16 | (chunk[1] as u32) << 8,
            _ => (chunk[0] as u32) << 16,
        };
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard padded base64; `None` if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let last = ci == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

mod b64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::base64_encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(s) => {
                super::base64_decode(&s).ok_or_else(|| serde::de::Error::custom("invalid base64"))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/// Stream retention. Unknown strings are a JSON error (400/10025) [observed for `storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RetentionPolicy {
    #[default]
    #[serde(rename = "limits")]
    Limits,
    #[serde(rename = "interest")]
    Interest,
    #[serde(rename = "workqueue")]
    WorkQueue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscardPolicy {
    #[default]
    Old,
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    #[default]
    File,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverPolicy {
    #[default]
    All,
    Last,
    New,
    ByStartSequence,
    ByStartTime,
    LastPerSubject,
}

/// Ack policy. Omitted in a request means `none` on 2.9.10 [observed].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckPolicy {
    #[default]
    None,
    All,
    Explicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayPolicy {
    #[default]
    Instant,
    Original,
}

// ---------------------------------------------------------------------------------------------
// StreamConfig
// ---------------------------------------------------------------------------------------------

/// `placement` of a stream (`cluster` and `tags`, both omitted when empty) [observed].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Placement {
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
}

/// `republish` of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RePublish {
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub src: String,
    #[serde(default, deserialize_with = "nd")]
    pub dest: String,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub headers_only: bool,
}

/// A stream's configuration: the body of `STREAM.CREATE` / `STREAM.UPDATE` and the `config`
/// of a StreamInfo. Field order and omission follow nats-server 2.9.10's output [observed].
/// `mirror` / `sources` entries are kept as raw JSON (StreamSource: `name`, `opt_start_seq`,
/// `opt_start_time`, `filter_subject`, `external{api,deliver}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamConfig {
    #[serde(default, deserialize_with = "nd")]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subjects: Vec<String>,
    #[serde(default, deserialize_with = "nd")]
    pub retention: RetentionPolicy,
    #[serde(default, deserialize_with = "nd")]
    pub max_consumers: i64,
    #[serde(default, deserialize_with = "nd")]
    pub max_msgs: i64,
    #[serde(default, deserialize_with = "nd")]
    pub max_bytes: i64,
    /// Nanoseconds; 0 = unlimited.
    #[serde(default, deserialize_with = "nd")]
    pub max_age: i64,
    #[serde(default, deserialize_with = "nd")]
    pub max_msgs_per_subject: i64,
    /// Go int32: values outside i32 are invalid JSON (10025) [observed].
    #[serde(default, deserialize_with = "nd")]
    pub max_msg_size: i32,
    #[serde(default, deserialize_with = "nd")]
    pub discard: DiscardPolicy,
    #[serde(default, deserialize_with = "nd")]
    pub storage: StorageType,
    #[serde(default, deserialize_with = "nd")]
    pub num_replicas: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub no_ack: bool,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub template_owner: String,
    /// Nanoseconds; omitted when 0 (mirrors) [observed].
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub duplicate_window: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<serde_json::Value>,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub republish: Option<RePublish>,
    #[serde(default, deserialize_with = "nd")]
    pub allow_direct: bool,
    #[serde(default, deserialize_with = "nd")]
    pub mirror_direct: bool,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub discard_new_per_subject: bool,
    #[serde(default, deserialize_with = "nd")]
    pub sealed: bool,
    #[serde(default, deserialize_with = "nd")]
    pub deny_delete: bool,
    #[serde(default, deserialize_with = "nd")]
    pub deny_purge: bool,
    #[serde(default, deserialize_with = "nd")]
    pub allow_rollup_hdrs: bool,
}

impl StreamConfig {
    /// Apply the defaults nats-server 2.9.10 fills in on create/update [observed]:
    /// zero limits become -1 (negative values are kept as given), `num_replicas` 0 -> 1,
    /// `duplicate_window` 0 -> 2 min (or `max_age` if smaller; stays 0 for a mirror),
    /// no subjects and no mirror/sources -> `[name]`, an empty placement is dropped.
    /// A sealed stream (allowed only by update) also gets discard new, deny_delete and
    /// deny_purge [observed on update]. Validation is not done here.
    pub fn with_defaults(mut self) -> StreamConfig {
        for v in [
            &mut self.max_consumers,
            &mut self.max_msgs,
            &mut self.max_bytes,
            &mut self.max_msgs_per_subject,
        ] {
            if *v == 0 {
                *v = -1;
            }
        }
        if self.max_msg_size == 0 {
            self.max_msg_size = -1;
        }
        if self.num_replicas == 0 {
            self.num_replicas = 1;
        }
        if self.duplicate_window == 0 && self.mirror.is_none() {
            self.duplicate_window = if self.max_age > 0 && self.max_age < DEFAULT_DUPLICATE_WINDOW {
                self.max_age
            } else {
                DEFAULT_DUPLICATE_WINDOW
            };
        }
        if self.subjects.is_empty() && self.mirror.is_none() && self.sources.is_empty() {
            self.subjects = vec![self.name.clone()];
        }
        if self
            .placement
            .as_ref()
            .is_some_and(|p| p.cluster.is_empty() && p.tags.is_empty())
        {
            self.placement = None;
        }
        if self.sealed {
            self.discard = DiscardPolicy::New;
            self.deny_delete = true;
            self.deny_purge = true;
        }
        self
    }
}

/// Body of `STREAM.CREATE.<s>` and `STREAM.UPDATE.<s>`.
pub type StreamCreateRequest = StreamConfig;
/// Body of `STREAM.UPDATE.<s>`.
pub type StreamUpdateRequest = StreamConfig;

// ---------------------------------------------------------------------------------------------
// ConsumerConfig
// ---------------------------------------------------------------------------------------------

/// A consumer's configuration (`config` of consumer create requests and ConsumerInfo).
/// Field order and omission follow nats-server 2.9.10 [observed]; durations are nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerConfig {
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub durable_name: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(default, deserialize_with = "nd")]
    pub deliver_policy: DeliverPolicy,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub opt_start_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<GoTime>,
    #[serde(default, deserialize_with = "nd")]
    pub ack_policy: AckPolicy,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub ack_wait: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_deliver: i64,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub backoff: Vec<i64>,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub filter_subject: String,
    #[serde(default, deserialize_with = "nd")]
    pub replay_policy: ReplayPolicy,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub rate_limit_bps: u64,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub sample_freq: String,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_waiting: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_ack_pending: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub idle_heartbeat: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub flow_control: bool,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub headers_only: bool,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_batch: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_expires: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_bytes: i64,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub deliver_subject: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub deliver_group: String,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub inactive_threshold: i64,
    /// 0 = inherit from the stream; always emitted (as 0) [observed].
    #[serde(default, deserialize_with = "nd")]
    pub num_replicas: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub mem_storage: bool,
    /// Internal (sourcing/mirroring consumers).
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub direct: bool,
}

impl ConsumerConfig {
    /// A push consumer has a deliver subject.
    pub fn is_push(&self) -> bool {
        !self.deliver_subject.is_empty()
    }

    /// Durable consumers have `durable_name`; everything else (including a consumer named by
    /// `CONSUMER.CREATE.<s>.<c>` without `durable_name`) is ephemeral.
    pub fn is_durable(&self) -> bool {
        !self.durable_name.is_empty()
    }

    /// Apply the defaults nats-server 2.9.10 fills in [observed]:
    /// `max_deliver` 0 -> -1; with ack policy explicit/all: `ack_wait` 0 -> 30 s and
    /// `max_ack_pending` 0 -> 1000 (ack none keeps what was sent, possibly 0 = omitted);
    /// a non-empty `backoff` makes `ack_wait` its first value, even over an explicit ack_wait;
    /// pull: `max_waiting` 0 -> 512; non-durable: `inactive_threshold` 0 -> 5 s.
    /// `name` is not touched: the handler of `CONSUMER.CREATE.<s>.<c>` sets it to `<c>`,
    /// the legacy `CONSUMER.DURABLE.CREATE` leaves it empty, ephemerals get a random one.
    pub fn with_defaults(mut self) -> ConsumerConfig {
        if self.max_deliver == 0 {
            self.max_deliver = -1;
        }
        if self.ack_policy != AckPolicy::None {
            if self.ack_wait == 0 {
                self.ack_wait = DEFAULT_ACK_WAIT;
            }
            if self.max_ack_pending == 0 {
                self.max_ack_pending = DEFAULT_MAX_ACK_PENDING;
            }
        }
        if let Some(first) = self.backoff.first() {
            self.ack_wait = *first;
        }
        if !self.is_push() && self.max_waiting == 0 {
            self.max_waiting = DEFAULT_MAX_WAITING;
        }
        if !self.is_durable() && self.inactive_threshold == 0 {
            self.inactive_threshold = DEFAULT_INACTIVE_THRESHOLD;
        }
        self
    }
}

/// Body of `CONSUMER.CREATE.<s>[.<c>[.<filter>]]` and `CONSUMER.DURABLE.CREATE.<s>.<c>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateConsumerRequest {
    #[serde(default, deserialize_with = "nd")]
    pub stream_name: String,
    #[serde(default, deserialize_with = "nd")]
    pub config: ConsumerConfig,
}

// ---------------------------------------------------------------------------------------------
// Infos
// ---------------------------------------------------------------------------------------------

/// `{"name","leader","replicas"}` of a clustered stream/consumer; every key omitted when empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterInfo {
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub leader: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub replicas: Vec<PeerInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PeerInfo {
    #[serde(default, deserialize_with = "nd")]
    pub name: String,
    #[serde(default, deserialize_with = "nd")]
    pub current: bool,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub offline: bool,
    /// Nanoseconds since last activity.
    #[serde(default, deserialize_with = "nd")]
    pub active: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub lag: u64,
}

/// `lost` of a StreamState.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LostStreamData {
    #[serde(default, deserialize_with = "nd")]
    pub msgs: Vec<u64>,
    #[serde(default, deserialize_with = "nd")]
    pub bytes: u64,
}

/// `state` of a StreamInfo [observed key order].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamState {
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ts: GoTime,
    pub last_seq: u64,
    pub last_ts: GoTime,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub num_subjects: u64,
    /// Only when `subjects_filter` was requested (subject -> count), sorted like Go maps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subjects: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub num_deleted: u64,
    /// Only with `deleted_details`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<LostStreamData>,
    pub consumer_count: u64,
}

/// `mirror` / `sources[]` of a StreamInfo: `{"name":"C","lag":0,"active":86970985}` [observed];
/// `active` is nanoseconds since last contact, -1 if never.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamSourceInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<serde_json::Value>,
    pub lag: u64,
    pub active: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// `alternates[]` of a StreamInfo (mirrors with direct get).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamAlternate {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default)]
    pub cluster: String,
}

/// StreamInfo: `config`, `created`, `state`, then the optional parts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamInfo {
    pub config: StreamConfig,
    pub created: GoTime,
    pub state: StreamState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSourceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSourceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternates: Vec<StreamAlternate>,
}

/// `delivered` / `ack_floor` of a ConsumerInfo; `last_active` omitted until there was any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SequenceInfo {
    pub consumer_seq: u64,
    pub stream_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active: Option<GoTime>,
}

/// ConsumerInfo [observed key order].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerInfo {
    pub stream_name: String,
    pub name: String,
    pub created: GoTime,
    pub config: ConsumerConfig,
    pub delivered: SequenceInfo,
    pub ack_floor: SequenceInfo,
    pub num_ack_pending: u64,
    pub num_redelivered: u64,
    pub num_waiting: u64,
    pub num_pending: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub push_bound: bool,
}

/// `limits` of the account info [observed: all -1 / false when unlimited].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLimits {
    pub max_memory: i64,
    pub max_storage: i64,
    pub max_streams: i64,
    pub max_consumers: i64,
    pub max_ack_pending: i64,
    pub memory_max_stream_bytes: i64,
    pub storage_max_stream_bytes: i64,
    pub max_bytes_required: bool,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            max_memory: -1,
            max_storage: -1,
            max_streams: -1,
            max_consumers: -1,
            max_ack_pending: -1,
            memory_max_stream_bytes: -1,
            storage_max_stream_bytes: -1,
            max_bytes_required: false,
        }
    }
}

/// `api` of the account info: API calls served and how many failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApiStats {
    pub total: u64,
    pub errors: u64,
}

/// Payload of `$JS.API.INFO` [observed key order; `domain` omitted when none].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountInfo {
    pub memory: u64,
    pub storage: u64,
    pub streams: u64,
    pub consumers: u64,
    pub limits: AccountLimits,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    pub api: ApiStats,
}

/// `message` of `stream_msg_get_response`: `hdrs` (omitted when none) and `data` are base64.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoredMsg {
    pub subject: String,
    pub seq: u64,
    #[serde(default, with = "b64_bytes", skip_serializing_if = "Vec::is_empty")]
    pub hdrs: Vec<u8>,
    #[serde(default, with = "b64_bytes", skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<u8>,
    pub time: GoTime,
}

// ---------------------------------------------------------------------------------------------
// Other requests
// ---------------------------------------------------------------------------------------------

/// Body of `STREAM.INFO.<s>` (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamInfoRequest {
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub deleted_details: bool,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub subjects_filter: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "is_zero_usize"
    )]
    pub offset: usize,
}

/// Body of `STREAM.PURGE.<s>` (may be empty). `seq` and `keep` together are a bad request
/// (400/10003) [observed].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamPurgeRequest {
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub filter: String,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub seq: u64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub keep: u64,
}

/// Body of `STREAM.MSG.GET.<s>` (and `DIRECT.GET.<s>`). Empty body or `{}` is a bad request
/// (400/10003) [observed].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamMsgGetRequest {
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub seq: u64,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub last_by_subj: String,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub next_by_subj: String,
}

/// Body of `STREAM.MSG.DELETE.<s>`. Empty body: 400/10003 [observed].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamMsgDeleteRequest {
    #[serde(default, deserialize_with = "nd")]
    pub seq: u64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub no_erase: bool,
}

/// Body of `STREAM.NAMES` (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamNamesRequest {
    #[serde(default, deserialize_with = "nd")]
    pub offset: usize,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub subject: String,
}

/// Body of `STREAM.LIST` (may be empty).
pub type StreamListRequest = StreamNamesRequest;

/// Body of `CONSUMER.LIST.<s>` / `CONSUMER.NAMES.<s>` (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerListRequest {
    #[serde(default, deserialize_with = "nd")]
    pub offset: usize,
}

/// Body of `CONSUMER.NAMES.<s>`.
pub type ConsumerNamesRequest = ConsumerListRequest;

/// A pull request (`CONSUMER.MSG.NEXT.<s>.<c>`): empty body = batch 1, a bare integer = batch,
/// or JSON. Durations in nanoseconds. 0 `expires` = until fulfilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextRequest {
    #[serde(default, deserialize_with = "nd")]
    pub batch: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub expires: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_false")]
    pub no_wait: bool,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub max_bytes: i64,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_i64")]
    pub idle_heartbeat: i64,
}

impl Default for NextRequest {
    fn default() -> Self {
        NextRequest {
            batch: 1,
            expires: 0,
            no_wait: false,
            max_bytes: 0,
            idle_heartbeat: 0,
        }
    }
}

impl NextRequest {
    /// Parse a pull request body. On malformed JSON the error text is for a status reply
    /// `NATS/1.0 400 Bad Request - <text>` (nats-server puts Go's JSON error there; ours differs).
    /// A batch below 1 is raised to 1.
    pub fn parse(body: &[u8]) -> Result<NextRequest, String> {
        let text = std::str::from_utf8(body).map_err(|e| e.to_string())?.trim();
        let mut req = if text.is_empty() {
            NextRequest::default()
        } else if text.bytes().all(|b| b.is_ascii_digit()) {
            NextRequest {
                batch: text
                    .parse()
                    .map_err(|e: std::num::ParseIntError| e.to_string())?,
                ..NextRequest::default()
            }
        } else {
            serde_json::from_str::<NextRequest>(text).map_err(|e| e.to_string())?
        };
        if req.batch < 1 {
            req.batch = 1;
        }
        Ok(req)
    }

    /// The rule nats-server applies to `idle_heartbeat` [observed `expires` 1 s with heartbeat
    /// 0.9 s -> `400 Bad Request - heartbeat value too large`]: at most half of `expires`.
    /// Returns the status description to send when violated.
    pub fn check(&self) -> Option<&'static str> {
        if self.idle_heartbeat > 0 && self.idle_heartbeat.saturating_mul(2) > self.expires {
            return Some("Bad Request - heartbeat value too large");
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The `error` object of API responses and PubAcks: HTTP-like `code`, stable JetStream
/// `err_code`, and `description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: u16,
    #[serde(default, skip_serializing_if = "is_zero_u16")]
    pub err_code: u16,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (code {}, err_code {})",
            self.description, self.code, self.err_code
        )
    }
}

impl std::error::Error for ApiError {}

/// Constructors for the errors nats-server 2.9.10 returns. `[obs]` = provoked on a real
/// nats-server 2.9.10 and copied from its reply; `[doc]` = read from PROTOCOL.md §3.2 only.
impl ApiError {
    pub fn new(code: u16, err_code: u16, description: impl Into<String>) -> ApiError {
        ApiError {
            code,
            err_code,
            description: description.into(),
        }
    }

    // --- generic ---------------------------------------------------------------------------
    /// 400/10003 [obs] e.g. MSG.GET with `{}` or empty body, PURGE with seq and keep.
    pub fn bad_request() -> ApiError {
        ApiError::new(400, 10003, "bad request")
    }
    /// 400/10025 [obs] empty or malformed JSON, unknown enum string, int out of range.
    pub fn invalid_json() -> ApiError {
        ApiError::new(400, 10025, "invalid JSON")
    }
    /// 400/10038 [obs] STREAM.DELETE with a non-empty body.
    pub fn not_empty_request() -> ApiError {
        ApiError::new(400, 10038, "expected an empty request payload")
    }
    /// 503/10039 [doc]
    pub fn not_enabled_for_account() -> ApiError {
        ApiError::new(503, 10039, "JetStream not enabled for account")
    }
    /// 503/10076 [doc]
    pub fn not_enabled() -> ApiError {
        ApiError::new(503, 10076, "JetStream not enabled")
    }
    /// 503/10023 [doc]
    pub fn insufficient_resources() -> ApiError {
        ApiError::new(503, 10023, "insufficient resources")
    }
    /// 500/10028 [doc]
    pub fn memory_resources_exceeded() -> ApiError {
        ApiError::new(500, 10028, "insufficient memory resources available")
    }
    /// 500/10047 [doc]
    pub fn storage_resources_exceeded() -> ApiError {
        ApiError::new(500, 10047, "insufficient storage resources available")
    }
    /// 500/10074 [obs] `num_replicas` > 1.
    pub fn replicas_not_supported() -> ApiError {
        ApiError::new(
            500,
            10074,
            "replicas > 1 not supported in non-clustered mode",
        )
    }

    // --- streams -------------------------------------------------------------------------
    /// 404/10059 [obs]
    pub fn stream_not_found() -> ApiError {
        ApiError::new(404, 10059, "stream not found")
    }
    /// 400/10058 [obs] create of an existing stream with a different config.
    pub fn stream_name_in_use() -> ApiError {
        ApiError::new(
            400,
            10058,
            "stream name already in use with a different configuration",
        )
    }
    /// 400/10065 [obs]
    pub fn subjects_overlap() -> ApiError {
        ApiError::new(400, 10065, "subjects overlap with an existing stream")
    }
    /// 400/10056 [obs] body `name` (also missing) differs from the subject's, also for
    /// consumer create's `stream_name`.
    pub fn stream_name_mismatch() -> ApiError {
        ApiError::new(400, 10056, "stream name in subject does not match request")
    }
    /// 500/10052 [obs] invalid stream config; the text varies, observed texts:
    /// [`STREAM_NAME_INVALID`], [`MAX_AGE_TOO_SMALL`], [`ROLLUP_NEEDS_PURGE`],
    /// [`DUPLICATES_GT_MAX_AGE`], [`DESCRIPTION_TOO_LONG`], [`CREATE_SEALED`],
    /// `subject "ov.a" overlaps with "ov.*"` ([`ApiError::stream_subjects_self_overlap`]),
    /// `invalid subject`, and for updates [`UPDATE_STORAGE`], [`UPDATE_RETENTION`].
    pub fn stream_invalid_config(description: impl Into<String>) -> ApiError {
        ApiError::new(500, 10052, description)
    }
    /// 500/10052 [obs] two subjects of the same stream overlap.
    pub fn stream_subjects_self_overlap(a: &str, b: &str) -> ApiError {
        ApiError::stream_invalid_config(format!("subject {a:?} overlaps with {b:?}"))
    }
    /// 500/10052 [obs] a subject that is not a valid subject.
    pub fn stream_invalid_subject() -> ApiError {
        ApiError::stream_invalid_config("invalid subject")
    }
    /// 400/10034 [obs]
    pub fn mirror_with_subjects() -> ApiError {
        ApiError::new(400, 10034, "stream mirrors can not contain subjects")
    }
    /// 400/10031 [doc]
    pub fn mirror_with_sources() -> ApiError {
        ApiError::new(
            400,
            10031,
            "stream mirrors can not also contain other sources",
        )
    }
    /// 400/10033 [doc]
    pub fn mirror_with_start_seq_and_time() -> ApiError {
        ApiError::new(
            400,
            10033,
            "stream mirrors can not have both start seq and start time configured",
        )
    }
    /// 400/10027 [doc]
    pub fn maximum_streams_limit() -> ApiError {
        ApiError::new(400, 10027, "maximum number of streams reached")
    }
    /// 400/10109 [obs] publish, purge or delete on a sealed stream.
    pub fn stream_sealed() -> ApiError {
        ApiError::new(400, 10109, "invalid operation on sealed stream")
    }
    /// 500/10110 [obs] purge on a `deny_purge` stream (purge response also carries
    /// `"purged":0`).
    pub fn purge_not_permitted() -> ApiError {
        ApiError::new(500, 10110, "stream purge not permitted")
    }
    /// 500/10057 [obs] MSG.DELETE failed; observed texts: `message delete not permitted`
    /// (deny_delete), `stream store EOF` (seq beyond last on a file store, and on a stream
    /// with no messages), `no message found` (seq 0).
    pub fn msg_delete_failed(description: impl Into<String>) -> ApiError {
        ApiError::new(500, 10057, description)
    }
    /// 500/10057 [obs] `deny_delete`.
    pub fn msg_delete_not_permitted() -> ApiError {
        ApiError::msg_delete_failed("message delete not permitted")
    }
    /// 400/10043 [doc] (2.9.10 answered 10057 `stream store EOF` for a missing seq [obs]).
    pub fn sequence_not_found(seq: u64) -> ApiError {
        ApiError::new(400, 10043, format!("sequence {seq} not found"))
    }
    /// 404/10037 [obs] MSG.GET miss.
    pub fn no_message_found() -> ApiError {
        ApiError::new(404, 10037, "no message found")
    }

    // --- publish (PubAck errors) ---------------------------------------------------------
    /// 400/10060 [obs] Nats-Expected-Stream.
    pub fn expected_stream_mismatch() -> ApiError {
        ApiError::new(400, 10060, "expected stream does not match")
    }
    /// 400/10071 [obs] Nats-Expected-Last-Sequence / -Last-Subject-Sequence; `actual` is the
    /// stream's (or subject's) real last sequence.
    pub fn wrong_last_sequence(actual: u64) -> ApiError {
        ApiError::new(400, 10071, format!("wrong last sequence: {actual}"))
    }
    /// 400/10070 [obs] Nats-Expected-Last-Msg-Id; `actual` is the last message's id ("" if none).
    pub fn wrong_last_msg_id(actual: &str) -> ApiError {
        ApiError::new(400, 10070, format!("wrong last msg ID: {actual}"))
    }
    /// 500/10111 [obs] Nats-Rollup without allow_rollup_hdrs (note 500).
    pub fn rollup_not_permitted() -> ApiError {
        ApiError::new(500, 10111, "rollup not permitted")
    }
    /// 400/10054 [obs] header+payload larger than max_msg_size.
    pub fn message_too_large() -> ApiError {
        ApiError::new(400, 10054, "message size exceeds maximum allowed")
    }
    /// 400/10097 [doc] header larger than 64 KiB.
    pub fn header_too_large() -> ApiError {
        ApiError::new(400, 10097, "header size exceeds maximum allowed of 64k")
    }
    /// 503/10077 [obs for `maximum messages exceeded`] store refused the message; texts:
    /// [`MAX_MSGS_EXCEEDED`], [`MAX_BYTES_EXCEEDED`], [`MAX_MSGS_PER_SUBJECT_EXCEEDED`].
    pub fn store_failed(description: impl Into<String>) -> ApiError {
        ApiError::new(503, 10077, description)
    }

    // --- consumers -----------------------------------------------------------------------
    /// 404/10014 [obs]
    pub fn consumer_not_found() -> ApiError {
        ApiError::new(404, 10014, "consumer not found")
    }
    /// 400/10013 [obs] changing the deliver subject of a bound push durable.
    pub fn consumer_name_in_use() -> ApiError {
        ApiError::new(400, 10013, "consumer name already in use")
    }
    /// 500/10012 [obs] consumer create failed; observed text `deliver policy can not be
    /// updated` ([`CONSUMER_DELIVER_POLICY_UPDATE`]).
    pub fn consumer_create_failed(description: impl Into<String>) -> ApiError {
        ApiError::new(500, 10012, description)
    }
    /// 400/10017 [obs] `CONSUMER.CREATE.<s>.<c>` / `DURABLE.CREATE.<s>.<c>` with another
    /// `durable_name` in the body.
    pub fn consumer_durable_name_mismatch() -> ApiError {
        ApiError::new(
            400,
            10017,
            "consumer name in subject does not match durable name in request",
        )
    }
    /// 400/10018 [obs] `DURABLE.CREATE` without `durable_name`.
    pub fn consumer_durable_name_missing() -> ApiError {
        ApiError::new(
            400,
            10018,
            "consumer expected to be durable but a durable name was not set",
        )
    }
    /// 400/10016 [doc]
    pub fn consumer_durable_name_not_in_subject() -> ApiError {
        ApiError::new(
            400,
            10016,
            "consumer expected to be durable but no durable name set in subject",
        )
    }
    /// 400/10019 [doc]
    pub fn consumer_ephemeral_with_durable_in_subject() -> ApiError {
        ApiError::new(
            400,
            10019,
            "consumer expected to be ephemeral but detected a durable name set in subject",
        )
    }
    /// 400/10020 [obs] `CONSUMER.CREATE.<s>` (no name) with `durable_name` in the body.
    pub fn consumer_ephemeral_with_durable_name() -> ApiError {
        ApiError::new(
            400,
            10020,
            "consumer expected to be ephemeral but a durable name was set in request",
        )
    }
    /// 400/10131 [obs] `CONSUMER.CREATE.<s>.<c>.<filter>` with another filter_subject.
    pub fn consumer_filter_mismatch() -> ApiError {
        ApiError::new(
            400,
            10131,
            "Consumer create request did not match filtered subject from create subject",
        )
    }
    /// 400/10132 [doc] (2.9.10 did not raise it for `CONSUMER.CREATE.C.X` with durable X and
    /// name Z; it used X [obs]).
    pub fn consumer_name_durable_mismatch() -> ApiError {
        ApiError::new(
            400,
            10132,
            "Consumer Durable and Name have to be equal if both are provided",
        )
    }
    /// 400/10093 [obs]
    pub fn consumer_filter_not_subset() -> ApiError {
        ApiError::new(
            400,
            10093,
            "consumer filter subject is not a valid subset of the interest subjects",
        )
    }
    /// 400/10084 [obs] pull + ack none on a workqueue stream.
    pub fn consumer_pull_requires_ack() -> ApiError {
        ApiError::new(400, 10084, "consumer in pull mode requires ack policy")
    }
    /// 400/10088 [obs]
    pub fn consumer_heartbeat_requires_push() -> ApiError {
        ApiError::new(
            400,
            10088,
            "consumer idle heartbeat requires a push based consumer",
        )
    }
    /// 400/10089 [obs]
    pub fn consumer_flow_control_requires_push() -> ApiError {
        ApiError::new(
            400,
            10089,
            "consumer flow control requires a push based consumer",
        )
    }
    /// 400/10108 [obs]
    pub fn consumer_flow_control_needs_heartbeats() -> ApiError {
        ApiError::new(
            400,
            10108,
            "consumer with flow control also needs heartbeats",
        )
    }
    /// 400/10080 [obs]
    pub fn consumer_push_max_waiting() -> ApiError {
        ApiError::new(400, 10080, "consumer in push mode can not set max waiting")
    }
    /// 400/10087 [obs] negative max_waiting.
    pub fn consumer_max_waiting_negative() -> ApiError {
        ApiError::new(400, 10087, "consumer max waiting needs to be positive")
    }
    /// 400/10083 [obs] idle_heartbeat below 100 ms.
    pub fn consumer_heartbeat_too_small() -> ApiError {
        ApiError::new(400, 10083, "consumer idle heartbeat needs to be >= 100ms")
    }
    /// 400/10079 [obs]
    pub fn consumer_deliver_subject_wildcards() -> ApiError {
        ApiError::new(400, 10079, "consumer deliver subject has wildcards")
    }
    /// 400/10081 [obs] deliver subject inside the stream's subjects.
    pub fn consumer_deliver_cycle() -> ApiError {
        ApiError::new(400, 10081, "consumer deliver subject forms a cycle")
    }
    /// 400/10116 [obs]
    pub fn consumer_max_deliver_backoff() -> ApiError {
        ApiError::new(
            400,
            10116,
            "max deliver is required to be > length of backoff values",
        )
    }
    /// 400/10094 [obs] deliver policy vs opt_start_*; observed texts:
    /// [`DELIVER_BY_SEQ_WITHOUT_SEQ`], [`DELIVER_BY_TIME_WITHOUT_TIME`],
    /// [`DELIVER_ALL_WITH_SEQ`], [`DELIVER_LAST_PER_SUBJECT_WITHOUT_FILTER`].
    pub fn consumer_invalid_policy(description: impl Into<String>) -> ApiError {
        ApiError::new(400, 10094, description)
    }
    /// 400/10098 [obs] ack policy none/all on a workqueue stream (push).
    pub fn workqueue_requires_explicit_ack() -> ApiError {
        ApiError::new(400, 10098, "workqueue stream requires explicit ack")
    }
    /// 400/10099 [obs]
    pub fn workqueue_multiple_unfiltered() -> ApiError {
        ApiError::new(
            400,
            10099,
            "multiple non-filtered consumers not allowed on workqueue stream",
        )
    }
    /// 400/10100 [obs] also for a filter overlapping an existing one (`w.>` vs `w.a`).
    pub fn workqueue_filter_not_unique() -> ApiError {
        ApiError::new(
            400,
            10100,
            "filtered consumer not unique on workqueue stream",
        )
    }
    /// 400/10101 [obs]
    pub fn workqueue_deliver_all() -> ApiError {
        ApiError::new(
            400,
            10101,
            "consumer must be deliver all on workqueue stream",
        )
    }
    /// 400/10105 [doc]
    pub fn consumer_exists_and_active() -> ApiError {
        ApiError::new(400, 10105, "consumer already exists and is still active")
    }
    /// 400/10026 [obs]
    pub fn maximum_consumers_limit() -> ApiError {
        ApiError::new(400, 10026, "maximum consumers limit reached")
    }
}

// Texts of the variable-text errors above [all observed on 2.9.10].
pub const STREAM_NAME_INVALID: &str = "stream name is required and can not contain '.', '*', '>'";
pub const MAX_AGE_TOO_SMALL: &str = "max age needs to be >= 100ms";
pub const ROLLUP_NEEDS_PURGE: &str = "roll-ups require the purge permission";
pub const DUPLICATES_GT_MAX_AGE: &str = "duplicates window can not be larger then max age";
pub const DESCRIPTION_TOO_LONG: &str = "stream description is too long, maximum allowed is 4096";
pub const CREATE_SEALED: &str = "stream configuration for create can not be sealed";
pub const UPDATE_STORAGE: &str = "stream configuration update can not change storage type";
pub const UPDATE_RETENTION: &str = "stream configuration update can not change retention policy";
pub const MAX_MSGS_EXCEEDED: &str = "maximum messages exceeded";
pub const MAX_BYTES_EXCEEDED: &str = "maximum bytes exceeded";
pub const MAX_MSGS_PER_SUBJECT_EXCEEDED: &str = "maximum messages per subject exceeded";
pub const CONSUMER_DELIVER_POLICY_UPDATE: &str = "deliver policy can not be updated";
pub const DELIVER_BY_SEQ_WITHOUT_SEQ: &str =
    "consumer delivery policy is deliver by start sequence, but optional start sequence is not set";
pub const DELIVER_BY_TIME_WITHOUT_TIME: &str =
    "consumer delivery policy is deliver by start time, but optional start time is not set";
pub const DELIVER_ALL_WITH_SEQ: &str =
    "consumer delivery policy is deliver all, but optional start sequence is also set";
pub const DELIVER_LAST_PER_SUBJECT_WITHOUT_FILTER: &str =
    "consumer delivery policy is deliver last per subject, but optional filter subject is not set";
pub const MSG_DELETE_STORE_EOF: &str = "stream store EOF";

// ---------------------------------------------------------------------------------------------
// PubAck
// ---------------------------------------------------------------------------------------------

/// The reply to a publish into a stream. nats-server 2.9.10 builds the success form by hand:
/// `{"stream":"S", "seq":1}`, `{"stream":"S", "domain":"hub", "seq":1}`, with
/// `,"duplicate": true` before the `}` for duplicates; the error form is plain JSON
/// `{"error":{...},"stream":"S","seq":0}` [observed]. Use [`PubAck::encode`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PubAck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(default)]
    pub stream: String,
    #[serde(default)]
    pub seq: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub duplicate: bool,
}

impl PubAck {
    pub fn ok(stream: &str, seq: u64, domain: &str, duplicate: bool) -> PubAck {
        PubAck {
            error: None,
            stream: stream.to_string(),
            seq,
            domain: domain.to_string(),
            duplicate,
        }
    }

    pub fn err(stream: &str, error: ApiError) -> PubAck {
        PubAck {
            error: Some(error),
            stream: stream.to_string(),
            ..PubAck::default()
        }
    }

    /// nats-server's exact bytes.
    pub fn encode(&self) -> Vec<u8> {
        if self.error.is_some() {
            return to_go_json(self);
        }
        let mut s = String::with_capacity(48);
        s.push_str("{\"stream\":");
        s.push_str(&go_json_string(&self.stream));
        if !self.domain.is_empty() {
            s.push_str(", \"domain\":");
            s.push_str(&go_json_string(&self.domain));
        }
        s.push_str(", \"seq\":");
        s.push_str(&self.seq.to_string());
        if self.duplicate {
            s.push_str(",\"duplicate\": true");
        }
        s.push('}');
        s.into_bytes()
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

macro_rules! api_response {
    ($(#[$m:meta])* $name:ident, $ty:literal { $($(#[$fm:meta])* $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The response `type` string ([`Self::TYPE`]).
            #[serde(rename = "type")]
            pub kind: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub error: Option<ApiError>,
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $name {
            pub const TYPE: &'static str = concat!("io.nats.jetstream.api.v1.", $ty);

            /// The error form of this response.
            pub fn err(error: ApiError) -> Self {
                Self {
                    error: Some(error),
                    ..Self::default()
                }
            }

            /// Go-escaped JSON bytes of this response.
            pub fn to_json(&self) -> Vec<u8> {
                to_go_json(self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    kind: Self::TYPE.to_string(),
                    error: None,
                    $($f: Default::default(),)*
                }
            }
        }
    };
}

api_response!(
    /// `$JS.API.INFO`.
    AccountInfoResponse, "account_info_response" {
        #[serde(flatten)]
        info: Option<AccountInfo>,
    }
);

api_response!(
    /// `STREAM.CREATE`: StreamInfo + `did_create` (2.9.10 says true again for an identical
    /// re-create [observed]).
    StreamCreateResponse, "stream_create_response" {
        #[serde(flatten)]
        info: Option<StreamInfo>,
        #[serde(default, skip_serializing_if = "is_false")]
        did_create: bool,
    }
);

api_response!(
    /// `STREAM.UPDATE`.
    StreamUpdateResponse, "stream_update_response" {
        #[serde(flatten)]
        info: Option<StreamInfo>,
    }
);

api_response!(
    /// `STREAM.INFO`: paging fields always present, also on errors (all 0) [observed]; they
    /// are 0/0/0 unless a `subjects_filter` was given (then total = subjects, limit 100000).
    StreamInfoResponse, "stream_info_response" {
        #[serde(default)]
        total: usize,
        #[serde(default)]
        offset: usize,
        #[serde(default)]
        limit: usize,
        #[serde(flatten)]
        info: Option<StreamInfo>,
    }
);

api_response!(
    /// `STREAM.NAMES`: `streams` is `null` when the page is empty (also past the end and on
    /// errors) [observed]; use [`StreamNamesResponse::page`].
    StreamNamesResponse, "stream_names_response" {
        #[serde(default)]
        total: usize,
        #[serde(default)]
        offset: usize,
        #[serde(default)]
        limit: usize,
        #[serde(default)]
        streams: Option<Vec<String>>,
    }
);

impl StreamNamesResponse {
    /// One page: `total` matching names and the page's names; `offset` as requested
    /// (observed echoed as 1 with total 1; clamping past the end not observed for streams).
    pub fn page(total: usize, offset: usize, names: Vec<String>) -> Self {
        StreamNamesResponse {
            total,
            offset,
            limit: NAMES_LIMIT,
            streams: if names.is_empty() { None } else { Some(names) },
            ..Self::default()
        }
    }
}

api_response!(
    /// `STREAM.LIST`: `streams` is `[]` when empty [observed].
    StreamListResponse, "stream_list_response" {
        #[serde(default)]
        total: usize,
        #[serde(default)]
        offset: usize,
        #[serde(default)]
        limit: usize,
        #[serde(default)]
        streams: Vec<StreamInfo>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<String>,
    }
);

api_response!(
    /// `STREAM.DELETE`: `{"success":true}`; `success` omitted on error.
    StreamDeleteResponse, "stream_delete_response" {
        #[serde(default, skip_serializing_if = "is_false")]
        success: bool,
    }
);

api_response!(
    /// `STREAM.PURGE`: `purged` is always present (`"purged":0` on errors) [observed].
    StreamPurgeResponse, "stream_purge_response" {
        #[serde(default, skip_serializing_if = "is_false")]
        success: bool,
        #[serde(default)]
        purged: u64,
    }
);

api_response!(
    /// `STREAM.MSG.GET`.
    StreamMsgGetResponse, "stream_msg_get_response" {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<StoredMsg>,
    }
);

api_response!(
    /// `STREAM.MSG.DELETE`.
    StreamMsgDeleteResponse, "stream_msg_delete_response" {
        #[serde(default, skip_serializing_if = "is_false")]
        success: bool,
    }
);

api_response!(
    /// `CONSUMER.CREATE` / `CONSUMER.DURABLE.CREATE`.
    ConsumerCreateResponse, "consumer_create_response" {
        #[serde(flatten)]
        info: Option<ConsumerInfo>,
    }
);

api_response!(
    /// `CONSUMER.INFO`.
    ConsumerInfoResponse, "consumer_info_response" {
        #[serde(flatten)]
        info: Option<ConsumerInfo>,
    }
);

api_response!(
    /// `CONSUMER.NAMES`: `consumers` is `[]` when empty, also on errors (with 0 paging)
    /// [observed]; past the end `offset` is clamped to `total` [observed offset 100 -> 10].
    ConsumerNamesResponse, "consumer_names_response" {
        #[serde(default)]
        total: usize,
        #[serde(default)]
        offset: usize,
        #[serde(default)]
        limit: usize,
        #[serde(default)]
        consumers: Vec<String>,
    }
);

api_response!(
    /// `CONSUMER.LIST`: like NAMES with ConsumerInfo entries.
    ConsumerListResponse, "consumer_list_response" {
        #[serde(default)]
        total: usize,
        #[serde(default)]
        offset: usize,
        #[serde(default)]
        limit: usize,
        #[serde(default)]
        consumers: Vec<ConsumerInfo>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<String>,
    }
);

api_response!(
    /// `CONSUMER.DELETE`.
    ConsumerDeleteResponse, "consumer_delete_response" {
        #[serde(default, skip_serializing_if = "is_false")]
        success: bool,
    }
);
