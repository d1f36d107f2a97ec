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
/// (`<` `>` `&` U+2028 U+2029 as six-character `\u` escapes such as `\u003c`, `\b`/`\f` as
/// `\u0008`/`\u000c`).
pub fn to_go_json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // Our types have string keys only and no fallible Serialize impls, so this cannot fail.
    v.serialize(&mut ser)
        .expect("JSON serialization of API type");
    out
}

/// A JSON string literal with Go escaping (for hand-built payloads such as the PubAck).
/// Appends `s` as Go's encoding/json writes it; names without anything to escape (the
/// usual case) are copied as they are.
fn push_go_json_string(out: &mut Vec<u8>, s: &str) {
    let plain = s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(&to_go_json(s));
    }
}

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

/// Standard padded base64, as Go encodes `[]byte` in JSON.
pub fn base64_encode(data: &[u8]) -> String {
    data_encoding::BASE64.encode(data)
}

/// Decode standard padded base64; `None` if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64.decode(s.as_bytes()).ok()
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

/// `external` of a stream source: the other domain's API prefix and deliver prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExternalStream {
    #[serde(default, deserialize_with = "nd")]
    pub api: String,
    #[serde(default, deserialize_with = "nd")]
    pub deliver: String,
}

/// A `mirror` or `sources[]` entry of a StreamConfig (2.9.10 key order; `{"name":"C"}`,
/// `{"name":"C","filter_subject":"c.a"}` [observed]). Keys this type does not know (2.10's
/// `subject_transforms`...) are kept in `extra` and written back after the known ones.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamSource {
    #[serde(default, deserialize_with = "nd")]
    pub name: String,
    #[serde(default, deserialize_with = "nd", skip_serializing_if = "is_zero_u64")]
    pub opt_start_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<GoTime>,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "String::is_empty"
    )]
    pub filter_subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A stream's configuration: the body of `STREAM.CREATE` / `STREAM.UPDATE` and the `config`
/// of a StreamInfo. Field order and omission follow nats-server 2.9.10's output [observed].
/// `mirror` / `sources` entries are [`StreamSource`]s (typed so that key order matches;
/// unknown keys are passed through).
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
    pub mirror: Option<StreamSource>,
    #[serde(
        default,
        deserialize_with = "nd",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<StreamSource>,
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
    pub external: Option<ExternalStream>,
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

/// `$JS.EVENT.ADVISORY.CONSUMER.CREATED|DELETED.<s>.<c>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerActionAdvisory {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: GoTime,
    pub stream: String,
    pub consumer: String,
    /// `create` or `delete`.
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
}

/// `$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED|MSG_TERMINATED.<s>.<c>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAdvisory {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: GoTime,
    pub stream: String,
    pub consumer: String,
    pub consumer_seq: u64,
    pub stream_seq: u64,
    pub deliveries: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
}

/// `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<s>.<c>`: a message reached max_deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxDeliveriesAdvisory {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: GoTime,
    pub stream: String,
    pub consumer: String,
    pub stream_seq: u64,
    pub deliveries: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
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
    /// 503/10039 [obs] (account info, create, names...)
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
    /// 500/10028 [obs] memory stream max_bytes above the account's max_mem
    pub fn memory_resources_exceeded() -> ApiError {
        ApiError::new(500, 10028, "insufficient memory resources available")
    }
    /// 500/10047 [obs] file stream max_bytes above the account's max_file
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
    /// 400/10031 [obs]
    pub fn mirror_with_sources() -> ApiError {
        ApiError::new(
            400,
            10031,
            "stream mirrors can not also contain other sources",
        )
    }
    /// 400/10021 [obs] a source/mirror `external.api` that collides with the local API.
    pub fn external_api_overlap(prefix: &str, api: &str) -> ApiError {
        ApiError::new(
            400,
            10021,
            format!("stream external api prefix {prefix} must not overlap with {api}"),
        )
    }
    /// 400/10027 [obs]
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
    /// (deny_delete); on a file stream `stream store EOF` (seq past the last, or an empty
    /// stream) and `no message found` (seq 0 or already deleted).
    pub fn msg_delete_failed(description: impl Into<String>) -> ApiError {
        ApiError::new(500, 10057, description)
    }
    /// 500/10057 [obs] `deny_delete`.
    pub fn msg_delete_not_permitted() -> ApiError {
        ApiError::msg_delete_failed("message delete not permitted")
    }
    /// 400/10043 [obs] MSG.DELETE of a missing seq on a **memory** stream. A file stream
    /// answers 500/10057 instead ([`ApiError::msg_delete_failed`]: `stream store EOF` past
    /// the last seq or on an empty stream, `no message found` for an already deleted one).
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
    /// 400/10097 [obs] header larger than 64 KiB.
    pub fn header_too_large() -> ApiError {
        ApiError::new(400, 10097, "header size exceeds maximum allowed of 64k")
    }
    /// 503/10077 [obs, all three texts] store refused the message (discard new); texts:
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
    /// 400/10082 [src] push + ack none + max_ack_pending.
    pub fn consumer_max_pending_needs_ack() -> ApiError {
        ApiError::new(
            400,
            10082,
            "consumer requires ack policy for max ack pending",
        )
    }
    /// 400/10086 [src]
    pub fn consumer_pull_with_rate_limit() -> ApiError {
        ApiError::new(
            400,
            10086,
            "consumer in pull mode can not have rate limit set",
        )
    }
    /// 400/10090 [src]
    pub fn consumer_direct_requires_push() -> ApiError {
        ApiError::new(400, 10090, "consumer direct requires a push based consumer")
    }
    /// 400/10091 [src]
    pub fn consumer_direct_requires_ephemeral() -> ApiError {
        ApiError::new(400, 10091, "consumer direct requires an ephemeral consumer")
    }
    /// 400/10095 [src] `sample_freq` that is not a percentage.
    pub fn consumer_invalid_sampling(detail: &str) -> ApiError {
        ApiError::new(
            400,
            10095,
            format!("failed to parse consumer sampling configuration: {detail}"),
        )
    }
    /// 400/10107 [src]
    pub fn consumer_description_too_long() -> ApiError {
        ApiError::new(
            400,
            10107,
            "consumer description is too long, maximum allowed is 4096",
        )
    }
    /// 400/10112 [src]
    pub fn consumer_invalid_deliver_subject() -> ApiError {
        ApiError::new(400, 10112, "invalid push consumer deliver subject")
    }
    /// 400/10114 [src]
    pub fn consumer_max_request_batch_negative() -> ApiError {
        ApiError::new(400, 10114, "consumer max request batch needs to be > 0")
    }
    /// 400/10115 [src]
    pub fn consumer_max_request_expires_too_small() -> ApiError {
        ApiError::new(
            400,
            10115,
            "consumer max request expires needs to be >= 1ms",
        )
    }
    /// 400/10106 [src] re-binding a push durable with another configuration.
    pub fn consumer_replacement_differs() -> ApiError {
        ApiError::new(
            400,
            10106,
            "consumer replacement durable config not the same",
        )
    }
    /// 400/10127 [src]
    pub fn consumer_name_path_separators() -> ApiError {
        ApiError::new(400, 10127, "Consumer name can not contain path separators")
    }
    /// 400/10102 [src] a durable name over 255 bytes.
    pub fn consumer_name_too_long() -> ApiError {
        ApiError::new(
            400,
            10102,
            "consumer name is too long, maximum allowed is 255",
        )
    }
    /// 400/10103 [src]
    pub fn consumer_bad_durable_name() -> ApiError {
        ApiError::new(400, 10103, "durable name can not contain '.', '*', '>'")
    }
    /// 400/10133 [src]
    pub fn replicas_negative() -> ApiError {
        ApiError::new(400, 10133, "replicas count cannot be negative")
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
    /// 400/10026 [obs] stream max_consumers and account max_consumers alike.
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
        PubAck::encode_ok(&self.stream, &self.domain, self.seq, self.duplicate)
    }

    /// A success PubAck's bytes, written at once: this is one per acked publish.
    pub fn encode_ok(stream: &str, domain: &str, seq: u64, duplicate: bool) -> Vec<u8> {
        use std::io::Write;
        let mut s = Vec::with_capacity(32 + stream.len() + domain.len());
        s.extend_from_slice(b"{\"stream\":");
        push_go_json_string(&mut s, stream);
        if !domain.is_empty() {
            s.extend_from_slice(b", \"domain\":");
            push_go_json_string(&mut s, domain);
        }
        let _ = write!(s, ", \"seq\":{seq}");
        if duplicate {
            s.extend_from_slice(b",\"duplicate\": true");
        }
        s.push(b'}');
        s
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every JSON reply captured from nats-server 2.9.10 (`nats-server -js`, single server)
    /// while provoking the API: responses, PubAcks and errors, one per line (data, verbatim).
    const CAPTURED: &str = r#"
{"type":"io.nats.jetstream.api.v1.account_info_response","memory":0,"storage":0,"streams":0,"consumers":0,"limits":{"max_memory":-1,"max_storage":-1,"max_streams":-1,"max_consumers":-1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false},"api":{"total":0,"errors":0}}
{"type":"io.nats.jetstream.api.v1.stream_names_response","total":0,"offset":0,"limit":1024,"streams":null}
{"type":"io.nats.jetstream.api.v1.stream_list_response","total":0,"offset":0,"limit":256,"streams":[]}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"S","subjects":["s.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:46.048705212Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10065,"description":"subjects overlap with an existing stream"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10056,"description":"stream name in subject does not match request"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"NOSUBJ","subjects":["NOSUBJ"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:49.908913827Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"FULL","description":"d\u003c\u003e\u0026","subjects":["f.*"],"retention":"workqueue","max_consumers":3,"max_msgs":2,"max_bytes":10000,"max_age":60000000000,"max_msgs_per_subject":5,"max_msg_size":100,"discard":"new","storage":"memory","num_replicas":1,"duplicate_window":1000000000,"republish":{"src":"f.\u003e","dest":"rp.\u003e"},"allow_direct":true,"mirror_direct":false,"sealed":false,"deny_delete":true,"deny_purge":true,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:49.952748029Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10074,"description":"replicas \u003e 1 not supported in non-clustered mode"}}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"S","subjects":["s.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:46.048705212Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0}}
{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"},"total":0,"offset":0,"limit":0}
{"type":"io.nats.jetstream.api.v1.stream_names_response","total":3,"offset":0,"limit":1024,"streams":["FULL","NOSUBJ","S"]}
{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":1,"limit":1024,"streams":null}
{"stream":"S", "seq":1}
{"stream":"S", "seq":2}
{"stream":"S", "seq":2,"duplicate": true}
{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"},"stream":"S","seq":0}
{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 2"},"stream":"S","seq":0}
{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 0"},"stream":"S","seq":0}
{"error":{"code":400,"err_code":10070,"description":"wrong last msg ID: m1"},"stream":"S","seq":0}
{"error":{"code":500,"err_code":10111,"description":"rollup not permitted"},"stream":"S","seq":0}
{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"},"stream":"FULL","seq":0}
{"stream":"FULL", "seq":1}
{"stream":"FULL", "seq":2}
{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"FULL","seq":0}
{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":500,"err_code":10110,"description":"stream purge not permitted"},"purged":0}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":500,"err_code":10057,"description":"message delete not permitted"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{"subject":"s.a","seq":1,"data":"aGVsbG8=","time":"2026-11-22T06:41:50.228478959Z"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":404,"err_code":10037,"description":"no message found"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{"subject":"s.a","seq":2,"hdrs":"TkFUUy8xLjANCk5hdHMtTXNnLUlkOiBtMQ0KDQo=","data":"aGVsbG8=","time":"2026-11-22T06:41:50.272524022Z"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":500,"err_code":10057,"description":"stream store EOF"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","success":true}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"S","subjects":["s.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:46.048705212Z","state":{"messages":0,"bytes":0,"first_seq":3,"first_ts":"1970-01-01T00:00:00Z","last_seq":2,"last_ts":"2026-11-22T06:41:50.272524022Z","consumer_count":0}}
{"type":"io.nats.jetstream.api.v1.stream_purge_response","success":true,"purged":0}
{"type":"io.nats.jetstream.api.v1.stream_list_response","total":3,"offset":0,"limit":256,"streams":[{"config":{"name":"FULL","description":"d\u003c\u003e\u0026","subjects":["f.*"],"retention":"workqueue","max_consumers":3,"max_msgs":2,"max_bytes":10000,"max_age":60000000000,"max_msgs_per_subject":5,"max_msg_size":100,"discard":"new","storage":"memory","num_replicas":1,"duplicate_window":1000000000,"republish":{"src":"f.\u003e","dest":"rp.\u003e"},"allow_direct":true,"mirror_direct":false,"sealed":false,"deny_delete":true,"deny_purge":true,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:49.952748029Z","state":{"messages":2,"bytes":40,"first_seq":1,"first_ts":"2026-11-22T06:41:50.632504534Z","last_seq":2,"last_ts":"2026-11-22T06:41:50.676457618Z","num_subjects":2,"consumer_count":0}},{"config":{"name":"NOSUBJ","subjects":["NOSUBJ"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:49.908913827Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0}},{"config":{"name":"S","subjects":["s.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:46.048705212Z","state":{"messages":0,"bytes":0,"first_seq":3,"first_ts":"0001-01-01T00:00:00Z","last_seq":2,"last_ts":"2026-11-22T06:41:50.272524022Z","consumer_count":0}}]}
{"type":"io.nats.jetstream.api.v1.stream_update_response","error":{"code":500,"err_code":10052,"description":"stream configuration update can not change storage type"}}
{"type":"io.nats.jetstream.api.v1.stream_update_response","config":{"name":"S","subjects":["s.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":10,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:41:46.048705212Z","state":{"messages":0,"bytes":0,"first_seq":3,"first_ts":"0001-01-01T00:00:00Z","last_seq":2,"last_ts":"2026-11-22T06:41:50.272524022Z","consumer_count":0}}
{"type":"io.nats.jetstream.api.v1.stream_update_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}
{"type":"io.nats.jetstream.api.v1.stream_delete_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}
{"type":"io.nats.jetstream.api.v1.stream_delete_response","success":true}
{"type":"io.nats.jetstream.api.v1.account_info_response","memory":40,"storage":0,"streams":2,"consumers":0,"limits":{"max_memory":-1,"max_storage":-1,"max_streams":-1,"max_consumers":-1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false},"api":{"total":34,"errors":14}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"stream name is required and can not contain '.', '*', '\u003e'"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"C","subjects":["c.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:42.772614456Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"W","subjects":["w.\u003e"],"retention":"workqueue","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:42.8167584Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"M","subjects":["m.\u003e"],"retention":"limits","max_consumers":1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:42.860643199Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"max age needs to be \u003e= 100ms"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"DW","subjects":["dw"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":60000000000,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":60000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:42.948685285Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"roll-ups require the purge permission"}}
{"type":"io.nats.jetstream.api.v1.consumer_names_response","total":0,"offset":0,"limit":1024,"consumers":[]}
{"type":"io.nats.jetstream.api.v1.consumer_list_response","total":0,"offset":0,"limit":256,"consumers":[]}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"D0","created":"2026-11-22T06:43:43.124610559Z","config":{"durable_name":"D0","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"D1","created":"2026-11-22T06:43:43.168601401Z","config":{"durable_name":"D1","name":"D1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":500,"err_code":10012,"description":"deliver policy can not be updated"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"NAMED1","created":"2026-11-22T06:43:43.300607974Z","config":{"name":"NAMED1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"kMx8yR39","created":"2026-11-22T06:43:43.344678002Z","config":{"deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_ack_pending":1000,"deliver_subject":"dlv.x","inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"etcpGThs","created":"2026-11-22T06:43:43.388582846Z","config":{"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","deliver_subject":"dlv.y","inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"NONE","created":"2026-11-22T06:43:43.432546903Z","config":{"durable_name":"NONE","name":"NONE","deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","max_waiting":512,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"FULLC","created":"2026-11-22T06:43:43.476589313Z","config":{"durable_name":"FULLC","name":"FULLC","description":"dd","deliver_policy":"by_start_sequence","opt_start_seq":5,"ack_policy":"all","ack_wait":1000000000,"max_deliver":5,"backoff":[1000000000,2000000000],"filter_subject":"c.\u003e","replay_policy":"original","sample_freq":"50%","max_waiting":10,"max_ack_pending":20,"headers_only":true,"max_batch":7,"max_expires":9000000000,"max_bytes":1000,"inactive_threshold":60000000000,"num_replicas":1,"mem_storage":true},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"PUSHF","created":"2026-11-22T06:43:43.520708762Z","config":{"durable_name":"PUSHF","name":"PUSHF","deliver_policy":"by_start_time","opt_start_time":"2020-01-01T00:00:00Z","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","rate_limit_bps":1000,"max_ack_pending":1000,"idle_heartbeat":5000000000,"flow_control":true,"deliver_subject":"dlv.z","deliver_group":"q","num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10017,"description":"consumer name in subject does not match durable name in request"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"X","created":"2026-11-22T06:43:43.608592746Z","config":{"durable_name":"X","name":"X","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10131,"description":"Consumer create request did not match filtered subject from create subject"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10020,"description":"consumer expected to be ephemeral but a durable name was set in request"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10056,"description":"stream name in subject does not match request"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10093,"description":"consumer filter subject is not a valid subset of the interest subjects"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10088,"description":"consumer idle heartbeat requires a push based consumer"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10089,"description":"consumer flow control requires a push based consumer"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10108,"description":"consumer with flow control also needs heartbeats"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10080,"description":"consumer in push mode can not set max waiting"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10083,"description":"consumer idle heartbeat needs to be \u003e= 100ms"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10079,"description":"consumer deliver subject has wildcards"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10081,"description":"consumer deliver subject forms a cycle"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10116,"description":"max deliver is required to be \u003e length of backoff values"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10094,"description":"consumer delivery policy is deliver by start sequence, but optional start sequence is not set"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10094,"description":"consumer delivery policy is deliver by start time, but optional start time is not set"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10094,"description":"consumer delivery policy is deliver all, but optional start sequence is also set"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10094,"description":"consumer delivery policy is deliver last per subject, but optional filter subject is not set"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"i73GAYt0","created":"2026-11-22T06:43:44.536539586Z","config":{"deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"deliver_group":"g","inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10087,"description":"consumer max waiting needs to be positive"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10018,"description":"consumer expected to be durable but a durable name was not set"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10084,"description":"consumer in pull mode requires ack policy"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10098,"description":"workqueue stream requires explicit ack"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"W","name":"W1","created":"2026-11-22T06:43:44.844637232Z","config":{"durable_name":"W1","name":"W1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10099,"description":"multiple non-filtered consumers not allowed on workqueue stream"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10100,"description":"filtered consumer not unique on workqueue stream"}}
{"type":"io.nats.jetstream.api.v1.consumer_delete_response","success":true}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"W","name":"W3","created":"2026-11-22T06:43:45.035911171Z","config":{"durable_name":"W3","name":"W3","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"filter_subject":"w.a","replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"M","name":"M1","created":"2026-11-22T06:43:45.168561976Z","config":{"durable_name":"M1","name":"M1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10026,"description":"maximum consumers limit reached"}}
{"stream":"C", "seq":1}
{"stream":"C", "seq":2}
{"type":"io.nats.jetstream.api.v1.consumer_info_response","stream_name":"C","name":"D1","created":"2026-11-22T06:43:43.168601401Z","config":{"durable_name":"D1","name":"D1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2}
{"type":"io.nats.jetstream.api.v1.consumer_info_response","error":{"code":404,"err_code":10014,"description":"consumer not found"}}
{"type":"io.nats.jetstream.api.v1.consumer_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}
{"type":"io.nats.jetstream.api.v1.consumer_names_response","total":10,"offset":0,"limit":1024,"consumers":["D0","D1","FULLC","NAMED1","NONE","PUSHF","X","etcpGThs","i73GAYt0","kMx8yR39"]}
{"type":"io.nats.jetstream.api.v1.consumer_names_response","total":10,"offset":10,"limit":1024,"consumers":[]}
{"type":"io.nats.jetstream.api.v1.consumer_list_response","total":10,"offset":5,"limit":256,"consumers":[{"stream_name":"C","name":"PUSHF","created":"2026-11-22T06:43:43.520708762Z","config":{"durable_name":"PUSHF","name":"PUSHF","deliver_policy":"by_start_time","opt_start_time":"2020-01-01T00:00:00Z","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","rate_limit_bps":1000,"max_ack_pending":1000,"idle_heartbeat":5000000000,"flow_control":true,"deliver_subject":"dlv.z","deliver_group":"q","num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2},{"stream_name":"C","name":"X","created":"2026-11-22T06:43:43.608592746Z","config":{"durable_name":"X","name":"X","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2},{"stream_name":"C","name":"etcpGThs","created":"2026-11-22T06:43:43.388582846Z","config":{"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","deliver_subject":"dlv.y","inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2},{"stream_name":"C","name":"i73GAYt0","created":"2026-11-22T06:43:44.536539586Z","config":{"deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"deliver_group":"g","inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2},{"stream_name":"C","name":"kMx8yR39","created":"2026-11-22T06:43:43.344678002Z","config":{"deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_ack_pending":1000,"deliver_subject":"dlv.x","inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2}]}
{"type":"io.nats.jetstream.api.v1.consumer_list_response","error":{"code":404,"err_code":10059,"description":"stream not found"},"total":0,"offset":0,"limit":0,"consumers":[]}
{"type":"io.nats.jetstream.api.v1.consumer_names_response","error":{"code":404,"err_code":10059,"description":"stream not found"},"total":0,"offset":0,"limit":0,"consumers":[]}
{"type":"io.nats.jetstream.api.v1.consumer_delete_response","error":{"code":404,"err_code":10014,"description":"consumer not found"}}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"C","subjects":["c.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:42.772614456Z","state":{"messages":2,"bytes":68,"first_seq":1,"first_ts":"2026-11-22T06:43:45.256470514Z","last_seq":2,"last_ts":"2026-11-22T06:43:45.300460398Z","num_subjects":2,"consumer_count":9}}
{"type":"io.nats.jetstream.api.v1.consumer_info_response","stream_name":"C","name":"D1","created":"2026-11-22T06:43:43.168601401Z","config":{"durable_name":"D1","name":"D1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":2,"stream_seq":2,"last_active":"2026-11-22T06:43:45.87657996Z"},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":2,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":400,"err_code":10003,"description":"bad request"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":400,"err_code":10003,"description":"bad request"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":500,"err_code":10057,"description":"no message found"}}
{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"},"purged":0}
{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":400,"err_code":10003,"description":"bad request"},"purged":0}
{"type":"io.nats.jetstream.api.v1.stream_names_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"},"total":0,"offset":0,"limit":0,"streams":null}
{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"},"total":0,"offset":0,"limit":0}
{"type":"io.nats.jetstream.api.v1.stream_delete_response","error":{"code":400,"err_code":10038,"description":"expected an empty request payload"}}
{"type":"io.nats.jetstream.api.v1.stream_update_response","error":{"code":500,"err_code":10052,"description":"stream configuration update can not change retention policy"}}
{"type":"io.nats.jetstream.api.v1.stream_update_response","error":{"code":400,"err_code":10056,"description":"stream name in subject does not match request"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10034,"description":"stream mirrors can not contain subjects"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"MIR","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"mirror":{"name":"C"},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:46.624560272Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"SRCS","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"sources":[{"name":"C","filter_subject":"c.a"},{"name":"W"}],"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:46.668563645Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"MIR","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"mirror":{"name":"C"},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:46.624560272Z","state":{"messages":2,"bytes":68,"first_seq":1,"first_ts":"2026-11-22T06:43:45.256470514Z","last_seq":2,"last_ts":"2026-11-22T06:43:45.300460398Z","num_subjects":2,"consumer_count":0},"mirror":{"name":"C","lag":0,"active":86970985}}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"SRCS","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"sources":[{"name":"C","filter_subject":"c.a"},{"name":"W"}],"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:46.668563645Z","state":{"messages":1,"bytes":75,"first_seq":1,"first_ts":"2026-11-22T06:43:46.669515367Z","last_seq":1,"last_ts":"2026-11-22T06:43:46.669515367Z","num_subjects":1,"consumer_count":0},"sources":[{"name":"C","lag":0,"active":87064919},{"name":"W","lag":0,"active":87077393}]}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"stream configuration for create can not be sealed"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"NA","subjects":["na"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":3,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"no_ack":true,"duplicate_window":120000000000,"placement":{"tags":["a"]},"allow_direct":false,"mirror_direct":false,"discard_new_per_subject":true,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:33.556958397Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"NA2","subjects":["na2"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"no_ack":true,"duplicate_window":120000000000,"placement":{"cluster":"x"},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:33.600855766Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"NUL","subjects":["NUL"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:33.644677963Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"NEG","subjects":["neg"],"retention":"limits","max_consumers":-3,"max_msgs":-7,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-2,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:33.688644716Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"UNK","subjects":["unk"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:33.732818929Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"duplicates window can not be larger then max age"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"W2","subjects":["w2.\u003e"],"retention":"workqueue","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:33.820694324Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10101,"description":"consumer must be deliver all on workqueue stream"}}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"AA","created":"2026-11-22T06:49:33.90849927Z","config":{"name":"AA","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"BB","created":"2026-11-22T06:49:33.996642257Z","config":{"name":"BB","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":2}
{"stream":"SL", "seq":1}
{"type":"io.nats.jetstream.api.v1.stream_update_response","config":{"name":"SL","subjects":["sl"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":true,"deny_delete":true,"deny_purge":true,"allow_rollup_hdrs":false},"created":"2026-11-22T06:49:34.12875302Z","state":{"messages":1,"bytes":33,"first_seq":1,"first_ts":"2026-11-22T06:49:34.129323953Z","last_seq":1,"last_ts":"2026-11-22T06:49:34.129323953Z","num_subjects":1,"consumer_count":0}}
{"error":{"code":400,"err_code":10109,"description":"invalid operation on sealed stream"},"stream":"SL","seq":0}
{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":400,"err_code":10109,"description":"invalid operation on sealed stream"},"purged":0}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":400,"err_code":10109,"description":"invalid operation on sealed stream"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{"subject":"sl","seq":1,"data":"MQ==","time":"2026-11-22T06:49:34.129323953Z"}}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":2,"offset":0,"limit":100000,"config":{"name":"C","subjects":["c.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:43:42.772614456Z","state":{"messages":2,"bytes":68,"first_seq":1,"first_ts":"2026-11-22T06:43:45.256470514Z","last_seq":2,"last_ts":"2026-11-22T06:43:45.300460398Z","num_subjects":2,"subjects":{"c.a":1,"c.b":1},"consumer_count":8}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"stream description is too long, maximum allowed is 4096"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"subject \"ov.a\" overlaps with \"ov.*\""}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"invalid subject"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"C","subjects":["c.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:55:44.600959056Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"P1","created":"2026-11-22T06:55:44.648676374Z","config":{"durable_name":"P1","name":"P1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_ack_pending":1000,"deliver_subject":"p1","num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10013,"description":"consumer name already in use"}}
{"type":"io.nats.jetstream.api.v1.consumer_info_response","stream_name":"C","name":"P1","created":"2026-11-22T06:55:44.648676374Z","config":{"durable_name":"P1","name":"P1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_ack_pending":1000,"deliver_subject":"p1","num_replicas":0},"delivered":{"consumer_seq":1,"stream_seq":1,"last_active":"2026-11-22T06:55:44.696826668Z"},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":1,"num_redelivered":0,"num_waiting":0,"num_pending":0,"push_bound":true}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"AN","created":"2026-11-22T06:55:44.840640168Z","config":{"durable_name":"AN","name":"AN","deliver_policy":"all","ack_policy":"none","ack_wait":1000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":5,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":1}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"C","name":"AN","created":"2026-11-22T06:55:44.840640168Z","config":{"durable_name":"AN","name":"AN","deliver_policy":"all","ack_policy":"none","ack_wait":1000000000,"max_deliver":-1,"filter_subject":"c.b","replay_policy":"instant","max_waiting":512,"max_ack_pending":5,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"DM","subjects":["dm"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":true,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:55:44.932631579Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"stream":"DM", "seq":1}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"DM","subjects":["dm"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":true,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:55:44.932631579Z","state":{"messages":1,"bytes":33,"first_seq":1,"first_ts":"2026-11-22T06:55:44.9805057Z","last_seq":1,"last_ts":"2026-11-22T06:55:44.9805057Z","num_subjects":1,"consumer_count":0}}
{"type":"io.nats.jetstream.api.v1.account_info_response","memory":0,"storage":0,"streams":0,"consumers":0,"limits":{"max_memory":2000,"max_storage":100000,"max_streams":2,"max_consumers":1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false},"domain":"hub","api":{"total":0,"errors":0}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"A1","subjects":["a1"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":50000,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:47.076846517Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"A2","subjects":["a2"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":1000,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"memory","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:47.120640108Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10027,"description":"maximum number of streams reached"}}
{"stream":"A1", "domain":"hub", "seq":1}
{"stream":"A1", "domain":"hub", "seq":2}
{"stream":"A1", "domain":"hub", "seq":2,"duplicate": true}
{"error":{"code":400,"err_code":10097,"description":"header size exceeds maximum allowed of 64k"},"stream":"A1","seq":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"A1","name":"X","created":"2026-11-22T06:58:47.504665347Z","config":{"durable_name":"X","name":"X","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":1},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":1}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"MB","subjects":["mb"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":120,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"memory","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:47.636668683Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"stream":"MB", "domain":"hub", "seq":1}
{"error":{"code":503,"err_code":10077,"description":"maximum bytes exceeded"},"stream":"MB","seq":0}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":400,"err_code":10043,"description":"sequence 9 not found"}}
{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":400,"err_code":10043,"description":"sequence 1 not found"}}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"MB","subjects":["mb"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":120,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"memory","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:47.636668683Z","state":{"messages":0,"bytes":0,"first_seq":2,"first_ts":"0001-01-01T00:00:00Z","last_seq":1,"last_ts":"2026-11-22T06:58:47.6804649Z","consumer_count":0},"domain":"hub"}
{"type":"io.nats.jetstream.api.v1.stream_list_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"},"total":0,"offset":0,"limit":0,"streams":[]}
{"type":"io.nats.jetstream.api.v1.consumer_list_response","error":{"code":400,"err_code":10025,"description":"invalid JSON"},"total":0,"offset":0,"limit":0,"consumers":[]}
{"type":"io.nats.jetstream.api.v1.account_info_response","memory":0,"storage":0,"streams":2,"consumers":0,"limits":{"max_memory":2000,"max_storage":100000,"max_streams":2,"max_consumers":1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false},"domain":"hub","api":{"total":25,"errors":13}}
{"type":"io.nats.jetstream.api.v1.account_info_response","error":{"code":503,"err_code":10039,"description":"JetStream not enabled for account"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":503,"err_code":10039,"description":"JetStream not enabled for account"}}
{"type":"io.nats.jetstream.api.v1.stream_names_response","error":{"code":503,"err_code":10039,"description":"JetStream not enabled for account"},"total":0,"offset":0,"limit":0,"streams":null}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10028,"description":"insufficient memory resources available"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10047,"description":"insufficient storage resources available"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"A6","subjects":["a6"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"memory","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:59.400884145Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"MS","subjects":["ms.*"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":1000,"max_age":0,"max_msgs_per_subject":1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"discard_new_per_subject":true,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:59.48865435Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"stream":"MS", "domain":"hub", "seq":1}
{"error":{"code":503,"err_code":10077,"description":"maximum messages per subject exceeded"},"stream":"MS","seq":0}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"MS","name":"N1","created":"2026-11-22T06:58:59.620677926Z","config":{"durable_name":"N1","name":"N1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":1}
{"type":"io.nats.jetstream.api.v1.consumer_create_response","stream_name":"MS","name":"N3","created":"2026-11-22T06:58:59.752641995Z","config":{"name":"N3","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"inactive_threshold":5000000000,"num_replicas":0},"delivered":{"consumer_seq":0,"stream_seq":0},"ack_floor":{"consumer_seq":0,"stream_seq":0},"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":1}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"MS","subjects":["ms.*"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":1000,"max_age":0,"max_msgs_per_subject":1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"discard_new_per_subject":true,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:59.48865435Z","state":{"messages":1,"bytes":35,"first_seq":1,"first_ts":"2026-11-22T06:58:59.532466351Z","last_seq":1,"last_ts":"2026-11-22T06:58:59.532466351Z","num_subjects":1,"consumer_count":1},"domain":"hub"}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10021,"description":"stream external api prefix $JS.API must not overlap with $JS.API"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10031,"description":"stream mirrors can not also contain other sources"}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"MY","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"mirror":{"name":"MS","opt_start_seq":1,"opt_start_time":"2020-01-01T00:00:00Z"},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:58:59.928613856Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"MZ","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"mirror":{"name":"S","filter_subject":"s.a"},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:59:06.464777737Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"MT","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"mirror":{"name":"S","opt_start_seq":2,"external":{"api":"$JS.x.API","deliver":"dx"}},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:59:06.508583996Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"MT","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"mirror":{"name":"S","opt_start_seq":2,"external":{"api":"$JS.x.API","deliver":"dx"}},"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:59:06.508583996Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"mirror":{"name":"S","external":{"api":"$JS.x.API","deliver":"dx"},"lag":0,"active":-1}}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"SX","retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"sources":[{"name":"S","external":{"api":"$JS.x.API","deliver":"dx"}}],"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:59:06.596662764Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"SV","description":"\u0008\u000c\u2028\u003c\u0001\té","subjects":["sv"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false},"created":"2026-11-22T06:59:09.008703073Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"did_create":true}
"#;

    fn rt<T: DeserializeOwned + Serialize>(line: &str) -> Vec<u8> {
        let v: T = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        to_go_json(&v)
    }

    fn reencode(line: &str) -> Vec<u8> {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(t) = v.get("type").and_then(|t| t.as_str()) else {
            let ack: PubAck = serde_json::from_str(line).unwrap();
            return ack.encode();
        };
        match t.strip_prefix(API_TYPE_PREFIX).unwrap() {
            "account_info_response" => rt::<AccountInfoResponse>(line),
            "stream_create_response" => rt::<StreamCreateResponse>(line),
            "stream_update_response" => rt::<StreamUpdateResponse>(line),
            "stream_info_response" => rt::<StreamInfoResponse>(line),
            "stream_names_response" => rt::<StreamNamesResponse>(line),
            "stream_list_response" => rt::<StreamListResponse>(line),
            "stream_delete_response" => rt::<StreamDeleteResponse>(line),
            "stream_purge_response" => rt::<StreamPurgeResponse>(line),
            "stream_msg_get_response" => rt::<StreamMsgGetResponse>(line),
            "stream_msg_delete_response" => rt::<StreamMsgDeleteResponse>(line),
            "consumer_create_response" => rt::<ConsumerCreateResponse>(line),
            "consumer_info_response" => rt::<ConsumerInfoResponse>(line),
            "consumer_names_response" => rt::<ConsumerNamesResponse>(line),
            "consumer_list_response" => rt::<ConsumerListResponse>(line),
            "consumer_delete_response" => rt::<ConsumerDeleteResponse>(line),
            other => panic!("no type for {other}"),
        }
    }

    #[test]
    fn captured_replies_round_trip_byte_for_byte() {
        let mut n = 0;
        for line in CAPTURED.lines().filter(|l| !l.is_empty()) {
            let out = String::from_utf8(reencode(line)).unwrap();
            assert_eq!(out, line);
            n += 1;
        }
        assert!(n > 150, "{n}");
    }

    /// Find the captured reply whose text contains `needle` (first match).
    fn captured(needle: &str) -> &'static str {
        CAPTURED
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no fixture with {needle}"))
    }

    fn stream_cfg(needle: &str) -> StreamConfig {
        let r: StreamCreateResponse = serde_json::from_str(captured(needle)).unwrap();
        r.info.expect("info").config
    }

    fn consumer_cfg(needle: &str) -> ConsumerConfig {
        let r: ConsumerCreateResponse = serde_json::from_str(captured(needle)).unwrap();
        r.info.expect("info").config
    }

    fn req_stream(body: &str) -> StreamConfig {
        parse_request::<StreamCreateRequest>(body.as_bytes())
            .unwrap()
            .with_defaults()
    }

    fn req_consumer(body: &str) -> ConsumerConfig {
        parse_request::<CreateConsumerRequest>(body.as_bytes())
            .unwrap()
            .config
            .with_defaults()
    }

    #[test]
    fn stream_defaults_match_nats_server() {
        let cases = [
            (
                r#"{"name":"S","subjects":["s.>"]}"#,
                r#"{"name":"S","subjects":["s.\u003e"]"#,
            ),
            (r#"{"name":"NOSUBJ"}"#, r#"{"name":"NOSUBJ""#),
            (
                r#"{"name":"DW","subjects":["dw"],"max_age":60000000000}"#,
                r#"{"name":"DW""#,
            ),
            (
                r#"{"name":"MIR","mirror":{"name":"C"}}"#,
                r#"{"name":"MIR""#,
            ),
            (
                r#"{"name":"SRCS","sources":[{"name":"C","filter_subject":"c.a"},{"name":"W"}]}"#,
                r#"{"name":"SRCS""#,
            ),
            (
                r#"{"name":"NEG","subjects":["neg"],"max_msgs":-7,"max_consumers":-3,"max_msg_size":-2,"num_replicas":0,"duplicate_window":0}"#,
                r#"{"name":"NEG""#,
            ),
            (
                r#"{"name":"NUL","subjects":null,"max_msgs":null,"description":null}"#,
                r#"{"name":"NUL""#,
            ),
            (
                r#"{"name":"UNK","subjects":["unk"],"whatever":1}"#,
                r#"{"name":"UNK""#,
            ),
            (
                r#"{"name":"NA","subjects":["na"],"no_ack":true,"template_owner":"","placement":{"cluster":"","tags":["a"]},"discard_new_per_subject":true,"discard":"new","max_msgs_per_subject":3}"#,
                r#"{"name":"NA""#,
            ),
            (
                r#"{"name":"FULL","subjects":["f.*"],"retention":"workqueue","max_consumers":3,"max_msgs":2,"max_bytes":10000,"max_age":60000000000,"max_msgs_per_subject":5,"max_msg_size":100,"discard":"new","storage":"memory","num_replicas":1,"duplicate_window":1000000000,"no_ack":false,"deny_delete":true,"deny_purge":true,"allow_rollup_hdrs":false,"allow_direct":true,"description":"d<>&","republish":{"src":"f.>","dest":"rp.>"}}"#,
                r#"stream_create_response","config":{"name":"FULL""#,
            ),
        ];
        for (req, needle) in cases {
            let want = stream_cfg(&format!(
                "stream_create_response\",\"config\":{}",
                needle.trim_start_matches("stream_create_response\",\"config\":")
            ));
            let got = req_stream(req);
            assert_eq!(got, want, "{req}");
            assert_eq!(to_go_json(&got), to_go_json(&want));
        }
    }

    #[test]
    fn sealed_update_defaults() {
        let got = req_stream(r#"{"name":"SL","subjects":["sl"],"sealed":true}"#);
        let r: StreamUpdateResponse =
            serde_json::from_str(captured(r#"stream_update_response","config":{"name":"SL""#))
                .unwrap();
        assert_eq!(got, r.info.unwrap().config);
    }

    #[test]
    fn consumer_defaults_match_nats_server() {
        // (request body, fixture needle, name the subject handler sets)
        let cases = [
            (
                r#"{"stream_name":"C","config":{"durable_name":"D0","ack_policy":"explicit"}}"#,
                r#""name":"D0","created""#,
                "",
            ),
            (
                r#"{"stream_name":"C","config":{"durable_name":"D1","ack_policy":"explicit"}}"#,
                r#"consumer_create_response","stream_name":"C","name":"D1""#,
                "D1",
            ),
            (
                r#"{"stream_name":"C","config":{"ack_policy":"explicit"}}"#,
                r#""name":"NAMED1","created""#,
                "NAMED1",
            ),
            (
                r#"{"stream_name":"C","config":{"ack_policy":"explicit","deliver_subject":"dlv.x"}}"#,
                r#""deliver_subject":"dlv.x""#,
                "",
            ),
            (
                r#"{"stream_name":"C","config":{"ack_policy":"none","deliver_subject":"dlv.y"}}"#,
                r#""deliver_subject":"dlv.y""#,
                "",
            ),
            (
                r#"{"stream_name":"C","config":{"durable_name":"NONE"}}"#,
                r#""name":"NONE","created""#,
                "NONE",
            ),
            (
                r#"{"stream_name":"C","config":{"durable_name":"FULLC","description":"dd","deliver_policy":"by_start_sequence","opt_start_seq":5,"ack_policy":"all","ack_wait":5000000000,"max_deliver":5,"backoff":[1000000000,2000000000],"filter_subject":"c.>","replay_policy":"original","sample_freq":"50%","max_waiting":10,"max_ack_pending":20,"headers_only":true,"max_batch":7,"max_expires":9000000000,"max_bytes":1000,"inactive_threshold":60000000000,"num_replicas":1,"mem_storage":true}}"#,
                r#"consumer_create_response","stream_name":"C","name":"FULLC""#,
                "FULLC",
            ),
            (
                r#"{"stream_name":"C","config":{"durable_name":"PUSHF","deliver_subject":"dlv.z","deliver_group":"q","ack_policy":"explicit","flow_control":true,"idle_heartbeat":5000000000,"rate_limit_bps":1000,"deliver_policy":"by_start_time","opt_start_time":"2020-01-01T00:00:00Z"}}"#,
                r#"consumer_create_response","stream_name":"C","name":"PUSHF""#,
                "PUSHF",
            ),
            (
                r#"{"stream_name":"C","config":{"ack_policy":"explicit","deliver_group":"g"}}"#,
                r#""deliver_group":"g""#,
                "",
            ),
            (
                r#"{"stream_name":"C","config":{"durable_name":"AN","ack_policy":"none","max_ack_pending":5,"ack_wait":1000000000}}"#,
                r#""name":"AN","created""#,
                "AN",
            ),
        ];
        for (req, needle, name) in cases {
            let mut got = req_consumer(req);
            got.name = name.to_string();
            let want = consumer_cfg(needle);
            assert_eq!(got, want, "{req}");
            assert_eq!(to_go_json(&got), to_go_json(&want));
        }
    }

    #[test]
    fn pub_ack_bytes() {
        assert_eq!(
            PubAck::ok("S", 1, "", false).encode(),
            br#"{"stream":"S", "seq":1}"#
        );
        assert_eq!(
            PubAck::ok("S", 2, "", true).encode(),
            br#"{"stream":"S", "seq":2,"duplicate": true}"#
        );
        assert_eq!(
            PubAck::ok("ORDERS", 1, "hub", false).encode(),
            br#"{"stream":"ORDERS", "domain":"hub", "seq":1}"#
        );
        assert_eq!(
            PubAck::ok("ORDERS", 2, "hub", true).encode(),
            br#"{"stream":"ORDERS", "domain":"hub", "seq":2,"duplicate": true}"#
        );
        assert_eq!(
            PubAck::err("S", ApiError::wrong_last_sequence(2)).encode(),
            br#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 2"},"stream":"S","seq":0}"#
        );
        assert_eq!(
            PubAck::err("FULL", ApiError::store_failed(MAX_MSGS_EXCEEDED)).encode(),
            br#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"FULL","seq":0}"#
        );
        // Names with something to escape take Go's encoding; plain ones are copied.
        for name in [
            "a<b",
            "q\"x",
            "tab\there",
            "caf\u{e9}",
            "del\u{7f}",
            "\u{2028}",
            "plain_Name-1",
        ] {
            let mut want = b"{\"stream\":".to_vec();
            want.extend_from_slice(&to_go_json(name));
            want.extend_from_slice(b", \"seq\":7}");
            assert_eq!(PubAck::encode_ok(name, "", 7, false), want, "{name:?}");
        }
        // Both PubAck forms parse back.
        let a: PubAck =
            serde_json::from_str(r#"{"stream":"S", "seq":2,"duplicate": true}"#).unwrap();
        assert_eq!(a, PubAck::ok("S", 2, "", true));
    }

    #[test]
    fn go_escaping() {
        assert_eq!(to_go_json("a.>"), br#""a.\u003e""#);
        assert_eq!(to_go_json("<&>"), br#""\u003c\u0026\u003e""#);
        assert_eq!(to_go_json("\u{2028}x\u{2029}"), br#""\u2028x\u2029""#);
        assert_eq!(
            to_go_json("\u{8}\u{c}\n\r\t\u{1}\"\\é"),
            "\"\\u0008\\u000c\\n\\r\\t\\u0001\\\"\\\\é\"".as_bytes()
        );
        assert_eq!(
            String::from_utf8(to_go_json(&ApiError::replicas_not_supported())).unwrap(),
            r#"{"code":500,"err_code":10074,"description":"replicas \u003e 1 not supported in non-clustered mode"}"#
        );
    }

    #[test]
    fn error_table_matches_captured() {
        let errs = [
            ApiError::stream_not_found(),
            ApiError::stream_name_in_use(),
            ApiError::subjects_overlap(),
            ApiError::stream_name_mismatch(),
            ApiError::invalid_json(),
            ApiError::bad_request(),
            ApiError::not_empty_request(),
            ApiError::replicas_not_supported(),
            ApiError::stream_invalid_config(STREAM_NAME_INVALID),
            ApiError::stream_invalid_config(MAX_AGE_TOO_SMALL),
            ApiError::stream_invalid_config(ROLLUP_NEEDS_PURGE),
            ApiError::stream_invalid_config(DUPLICATES_GT_MAX_AGE),
            ApiError::stream_invalid_config(DESCRIPTION_TOO_LONG),
            ApiError::stream_invalid_config(CREATE_SEALED),
            ApiError::stream_invalid_config(UPDATE_STORAGE),
            ApiError::stream_invalid_config(UPDATE_RETENTION),
            ApiError::stream_subjects_self_overlap("ov.a", "ov.*"),
            ApiError::stream_invalid_subject(),
            ApiError::mirror_with_subjects(),
            ApiError::stream_sealed(),
            ApiError::purge_not_permitted(),
            ApiError::msg_delete_not_permitted(),
            ApiError::msg_delete_failed(MSG_DELETE_STORE_EOF),
            ApiError::msg_delete_failed("no message found"),
            ApiError::no_message_found(),
            ApiError::expected_stream_mismatch(),
            ApiError::wrong_last_sequence(2),
            ApiError::wrong_last_sequence(0),
            ApiError::wrong_last_msg_id("m1"),
            ApiError::rollup_not_permitted(),
            ApiError::message_too_large(),
            ApiError::store_failed(MAX_MSGS_EXCEEDED),
            ApiError::consumer_not_found(),
            ApiError::consumer_name_in_use(),
            ApiError::consumer_create_failed(CONSUMER_DELIVER_POLICY_UPDATE),
            ApiError::consumer_durable_name_mismatch(),
            ApiError::consumer_durable_name_missing(),
            ApiError::consumer_ephemeral_with_durable_name(),
            ApiError::consumer_filter_mismatch(),
            ApiError::consumer_filter_not_subset(),
            ApiError::consumer_pull_requires_ack(),
            ApiError::consumer_heartbeat_requires_push(),
            ApiError::consumer_flow_control_requires_push(),
            ApiError::consumer_flow_control_needs_heartbeats(),
            ApiError::consumer_push_max_waiting(),
            ApiError::consumer_max_waiting_negative(),
            ApiError::consumer_heartbeat_too_small(),
            ApiError::consumer_deliver_subject_wildcards(),
            ApiError::consumer_deliver_cycle(),
            ApiError::consumer_max_deliver_backoff(),
            ApiError::consumer_invalid_policy(DELIVER_BY_SEQ_WITHOUT_SEQ),
            ApiError::consumer_invalid_policy(DELIVER_BY_TIME_WITHOUT_TIME),
            ApiError::consumer_invalid_policy(DELIVER_ALL_WITH_SEQ),
            ApiError::consumer_invalid_policy(DELIVER_LAST_PER_SUBJECT_WITHOUT_FILTER),
            ApiError::workqueue_requires_explicit_ack(),
            ApiError::workqueue_multiple_unfiltered(),
            ApiError::workqueue_filter_not_unique(),
            ApiError::workqueue_deliver_all(),
            ApiError::maximum_consumers_limit(),
            ApiError::not_enabled_for_account(),
            ApiError::maximum_streams_limit(),
            ApiError::memory_resources_exceeded(),
            ApiError::storage_resources_exceeded(),
            ApiError::sequence_not_found(9),
            ApiError::header_too_large(),
            ApiError::mirror_with_sources(),
            ApiError::external_api_overlap("$JS.API", "$JS.API"),
            ApiError::store_failed(MAX_BYTES_EXCEEDED),
            ApiError::store_failed(MAX_MSGS_PER_SUBJECT_EXCEEDED),
        ];
        for e in errs {
            let json = String::from_utf8(to_go_json(&e)).unwrap();
            let needle = format!("\"error\":{json}");
            assert!(CAPTURED.contains(&needle), "not captured: {needle}");
        }
    }

    #[test]
    fn response_error_forms() {
        let s = |v: Vec<u8>| String::from_utf8(v).unwrap();
        assert_eq!(
            s(StreamInfoResponse::err(ApiError::stream_not_found()).to_json()),
            captured("stream_info_response\",\"error\":{\"code\":404")
        );
        assert_eq!(
            s(StreamNamesResponse::err(ApiError::invalid_json()).to_json()),
            captured("stream_names_response\",\"error\"")
        );
        assert_eq!(
            s(StreamNamesResponse::page(0, 0, vec![]).to_json()),
            r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":0,"offset":0,"limit":1024,"streams":null}"#
        );
        assert_eq!(
            s(ConsumerNamesResponse::err(ApiError::stream_not_found()).to_json()),
            captured("consumer_names_response\",\"error\"")
        );
        assert_eq!(
            s(StreamPurgeResponse::err(ApiError::purge_not_permitted()).to_json()),
            captured("stream purge not permitted")
        );
        assert_eq!(
            s(StreamDeleteResponse {
                success: true,
                ..Default::default()
            }
            .to_json()),
            r#"{"type":"io.nats.jetstream.api.v1.stream_delete_response","success":true}"#
        );
        assert_eq!(
            s(StreamCreateResponse::err(ApiError::stream_name_in_use()).to_json()),
            captured("\"err_code\":10058")
        );
    }

    #[test]
    fn go_time() {
        for t in [
            "0001-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "2026-11-22T06:43:45.87657996Z",
            "2026-11-22T06:41:50.228478959Z",
            "2020-01-01T00:00:00Z",
            "2000-02-29T23:59:59.1Z",
        ] {
            assert_eq!(GoTime::parse(t).unwrap().to_string(), t);
        }
        assert!(GoTime::parse("0001-01-01T00:00:00Z").unwrap().is_zero());
        assert_eq!(GoTime::default().to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(
            GoTime::parse("2020-01-01T02:00:00+02:00").unwrap(),
            GoTime::parse("2020-01-01T00:00:00Z").unwrap()
        );
        let t = GoTime::from_unix_nanos(1_795_312_073_266_936_184);
        assert_eq!(t.unix_nanos(), 1_795_312_073_266_936_184);
        assert_eq!(GoTime::UNIX_EPOCH.unix_nanos(), 0);
        for bad in [
            "2020-13-01T00:00:00Z",
            "2020-02-30T00:00:00Z",
            "2020-01-01 00:00:00Z",
            "x",
        ] {
            assert!(GoTime::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn requests() {
        assert_eq!(NextRequest::parse(b"").unwrap().batch, 1);
        assert_eq!(NextRequest::parse(b"2").unwrap().batch, 2);
        let r = NextRequest::parse(br#"{"batch":10,"expires":1000000000,"no_wait":true,"max_bytes":5,"idle_heartbeat":400000000}"#).unwrap();
        assert_eq!(
            (r.batch, r.expires, r.no_wait, r.max_bytes, r.idle_heartbeat),
            (10, 1_000_000_000, true, 5, 400_000_000)
        );
        assert_eq!(r.check(), None);
        let r =
            NextRequest::parse(br#"{"batch":1,"expires":1000000000,"idle_heartbeat":900000000}"#)
                .unwrap();
        assert_eq!(r.check(), Some("Bad Request - heartbeat value too large"));
        assert!(NextRequest::parse(b"{bad").is_err());

        assert_eq!(
            parse_request::<StreamConfig>(b""),
            Err(ApiError::invalid_json())
        );
        assert_eq!(
            parse_request::<StreamConfig>(b"{bad"),
            Err(ApiError::invalid_json())
        );
        // Unknown enum strings and int32 overflow are invalid JSON on nats-server too.
        assert!(parse_request::<StreamConfig>(br#"{"name":"MS","storage":"bogus"}"#).is_err());
        assert!(
            parse_request::<StreamConfig>(br#"{"name":"B","max_msg_size":99999999999}"#).is_err()
        );
        assert!(parse_request::<CreateConsumerRequest>(
            br#"{"stream_name":"C","config":{"deliver_policy":"bogus"}}"#
        )
        .is_err());

        let p: StreamPurgeRequest =
            parse_optional_request(br#"{"filter":"s.a","keep":1}"#).unwrap();
        assert_eq!((p.filter.as_str(), p.seq, p.keep), ("s.a", 0, 1));
        assert_eq!(
            parse_optional_request::<StreamPurgeRequest>(b"").unwrap(),
            StreamPurgeRequest::default()
        );
        let g: StreamMsgGetRequest = parse_request(br#"{"last_by_subj":"s.a"}"#).unwrap();
        assert_eq!(g.last_by_subj, "s.a");
        let d: StreamMsgDeleteRequest = parse_request(br#"{"seq":2,"no_erase":true}"#).unwrap();
        assert_eq!((d.seq, d.no_erase), (2, true));
        let n: StreamNamesRequest =
            parse_optional_request(br#"{"offset":1,"subject":"s.a"}"#).unwrap();
        assert_eq!((n.offset, n.subject.as_str()), (1, "s.a"));
        let c: ConsumerListRequest = parse_optional_request(br#"{"offset":5}"#).unwrap();
        assert_eq!(c.offset, 5);
        let i: StreamInfoRequest =
            parse_optional_request(br#"{"deleted_details":true,"subjects_filter":">"}"#).unwrap();
        assert!(i.deleted_details && i.subjects_filter == ">");

        assert!(is_empty_request(b""));
        assert!(is_empty_request(b"{}"));
        assert!(!is_empty_request(b"{bad"));
    }

    #[test]
    fn msg_get_payload_base64() {
        let r: StreamMsgGetResponse =
            serde_json::from_str(captured("TkFUUy8xLjANCk5hdHMtTXNnLUlkOiBtMQ0KDQo=")).unwrap();
        let m = r.message.unwrap();
        assert_eq!(m.hdrs, b"NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n");
        assert_eq!(m.data, b"hello");
        assert_eq!(base64_decode(&base64_encode(b"ab")).unwrap(), b"ab");
    }

    #[test]
    fn stream_source_keeps_unknown_keys() {
        let s: StreamSource = serde_json::from_str(
            r#"{"name":"C","filter_subject":"c.a","subject_transforms":[{"src":"a","dest":"b"}],"external":{"api":"$JS.hub.API","deliver":""}}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(to_go_json(&s)).unwrap(),
            r#"{"name":"C","filter_subject":"c.a","external":{"api":"$JS.hub.API","deliver":""},"subject_transforms":[{"dest":"b","src":"a"}]}"#
        );
    }
}
