//! Owns the uplink part of `Config`: which local streams are forwarded to the cloud, read
//! from TOML `[[uplink]]` tables or nats-server-syntax `uplink: [ { ... } ]` (a single
//! `uplink { }` block is one uplink). nats-server has no such key; it lives beside
//! `jetstream` and `leafnodes` so that one file configures a whole edge. Keys are checked
//! per source (`normalize`) and typed after merging (`read`), like the leaf block.

use std::time::Duration;

use config::{Value, ValueKind};

use super::error::ConfigError;
use super::leaf::{block_origin, table_of, Checker, Key};
use super::load::{describe, where_of, Reader};

/// One forwarded stream.
#[derive(Debug, Clone, PartialEq)]
pub struct UplinkConfig {
    /// `stream`: the local JetStream stream to forward.
    pub stream: String,
    /// `account`: the local account of that stream; None = the account the leaf remote
    /// binds (the global account without one).
    pub account: Option<String>,
    /// `subject_prefix`: put before each subject on the way up (ends with a `.`).
    pub subject_prefix: Option<String>,
    /// The cloud's JetStream API prefix (`api_prefix`, or `$JS.<cloud_domain>.API`); with
    /// it the uplink asks the cloud where it stopped and resumes exactly.
    pub api_prefix: Option<String>,
    /// `cloud_stream`: the stream the cloud's PubAcks must name (default: `stream`).
    pub cloud_stream: String,
    /// `max_in_flight`: messages sent and not yet acknowledged by the cloud.
    pub max_in_flight: usize,
    /// `max_bytes_per_sec`: 0 = no limit.
    pub max_bytes_per_sec: u64,
    /// `ack_timeout`: a PubAck later than this makes the uplink check where the cloud is.
    pub ack_timeout: Duration,
}

impl UplinkConfig {
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;
    pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);
}

fn classify(key: &str) -> Key {
    use Key::*;
    match key {
        "stream" => Known("stream"),
        "account" => Known("account"),
        "subject_prefix" | "prefix" => Known("subject_prefix"),
        "cloud_domain" | "domain" => Known("cloud_domain"),
        "api_prefix" => Known("api_prefix"),
        "cloud_stream" => Known("cloud_stream"),
        "max_in_flight" => Known("max_in_flight"),
        "max_bytes_per_sec" => Known("max_bytes_per_sec"),
        "ack_timeout" => Known("ack_timeout"),
        _ => Unknown,
    }
}

/// Checks the `uplink` value (`key` as written) of one source: an array of blocks or one
/// block. Returns an array of blocks with canonical keys.
pub(super) fn normalize(
    key: &str,
    value: Value,
    source: &str,
    reject: &dyn Fn(Vec<String>) -> bool,
) -> Result<Value, ConfigError> {
    let check = Checker { source, reject };
    let origin = value.origin().map(str::to_string);
    let items: Vec<(String, Value)> = match value.kind {
        ValueKind::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{key}[{i}]"), v))
            .collect(),
        ValueKind::Table(_) => vec![(key.to_string(), value)],
        _ => {
            return Err(ConfigError::InvalidValue {
                key: key.to_string(),
                origin: where_of(&value, source),
                expected:
                    "a list of uplink blocks [ { stream: ... } ] or one block { stream: ... }"
                        .into(),
                found: describe(&value),
            })
        }
    };
    let items = items
        .into_iter()
        .map(|(path, v)| {
            check.block(
                &path,
                v,
                None,
                classify,
                &|_, _, v| Ok(v),
                "a block { stream: ... }",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::new(origin.as_ref(), ValueKind::Array(items)))
}

/// A JetStream name: what nats-server accepts as a stream name.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
}

fn one(path: &str, v: &Value, accounts: &[String]) -> Result<UplinkConfig, ConfigError> {
    let map = table_of(path, v, "a block { stream: ... }")?;
    let prefix = format!("{path}.");
    let r = Reader {
        map,
        prefix: &prefix,
    };
    const NAME: &str = "a stream name (no spaces, '.', '*', '>', '/' or '\\')";
    let Some(stream) = r.text("stream", NAME)? else {
        return Err(ConfigError::InvalidValue {
            key: path.to_string(),
            origin: block_origin(v),
            expected: "an uplink with `stream`: the local stream to forward".into(),
            found: "a block without `stream`".into(),
        });
    };
    if !is_name(&stream) {
        return Err(r.invalid("stream", r.get("stream").expect("just read"), NAME));
    }
    let account = r.text("account", "an account name")?;
    if let Some(a) = &account {
        if a != super::auth::GLOBAL_ACCOUNT && !accounts.contains(a) {
            return Err(r.invalid(
                "account",
                r.get("account").expect("just read"),
                "\"$G\" or an account declared in accounts { }",
            ));
        }
    }
    const PREFIX: &str = "subject tokens such as \"edge1.\" (no wildcards)";
    let subject_prefix = match r.text("subject_prefix", PREFIX)? {
        None => None,
        Some(p) => {
            let p = p.trim().to_string();
            let body = p.strip_suffix('.').unwrap_or(&p);
            if !crate::subject::is_literal(body.as_bytes())
                || !crate::subject::is_valid_subject(body.as_bytes())
            {
                return Err(r.invalid(
                    "subject_prefix",
                    r.get("subject_prefix").expect("just read"),
                    PREFIX,
                ));
            }
            Some(format!("{body}."))
        }
    };
    let domain = r.text("cloud_domain", "a JetStream domain name")?;
    if let Some(d) = &domain {
        if !is_name(d) {
            return Err(r.invalid(
                "cloud_domain",
                r.get("cloud_domain").expect("just read"),
                "a JetStream domain (one subject token)",
            ));
        }
    }
    const API: &str = "a subject prefix such as \"$JS.hub.API\" (no wildcards)";
    let api = r.text("api_prefix", API)?;
    if let Some(a) = &api {
        let a = a.trim_end_matches('.');
        if !crate::subject::is_literal(a.as_bytes())
            || !crate::subject::is_valid_subject(a.as_bytes())
        {
            return Err(r.invalid("api_prefix", r.get("api_prefix").expect("just read"), API));
        }
    }
    let api_prefix = match (domain, api) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Conflict(format!(
                "{}: {path} sets both `cloud_domain` and `api_prefix`; use one",
                block_origin(v)
            )))
        }
        (Some(d), None) => Some(format!("$JS.{d}.API")),
        (None, Some(a)) => Some(a.trim_end_matches('.').to_string()),
        (None, None) => None,
    };
    let cloud_stream = r
        .text("cloud_stream", NAME)?
        .unwrap_or_else(|| stream.clone());
    if !is_name(&cloud_stream) {
        return Err(r.invalid(
            "cloud_stream",
            r.get("cloud_stream").expect("just read"),
            NAME,
        ));
    }
    let max_in_flight = r
        .int("max_in_flight", 1..=65536)?
        .map_or(UplinkConfig::DEFAULT_MAX_IN_FLIGHT, |n| n as usize);
    let max_bytes_per_sec = r
        .size("max_bytes_per_sec", 0..=i64::MAX)?
        .map_or(0, |n| n as u64);
    let ack_timeout = match r.duration("ack_timeout")? {
        Some(d) if d.is_zero() => {
            return Err(r.invalid(
                "ack_timeout",
                r.get("ack_timeout").expect("just read"),
                "a duration above zero",
            ))
        }
        Some(d) => d,
        None => UplinkConfig::DEFAULT_ACK_TIMEOUT,
    };
    Ok(UplinkConfig {
        stream,
        account,
        subject_prefix,
        api_prefix,
        cloud_stream,
        max_in_flight,
        max_bytes_per_sec,
        ack_timeout,
    })
}

/// The merged `uplink` value → one config per uplink. Two uplinks of one stream would
/// race for the same messages, so that is refused.
pub(super) fn read(
    root: &str,
    v: &Value,
    accounts: &[String],
) -> Result<Vec<UplinkConfig>, ConfigError> {
    let items: Vec<(String, &Value)> = match &v.kind {
        ValueKind::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{root}[{i}]"), item))
            .collect(),
        _ => vec![(root.to_string(), v)],
    };
    let mut out: Vec<UplinkConfig> = Vec::new();
    for (path, item) in items {
        let u = one(&path, item, accounts)?;
        if out
            .iter()
            .any(|o| o.stream == u.stream && o.account == u.account)
        {
            return Err(ConfigError::Conflict(format!(
                "{}: {path} forwards stream {:?} a second time; one uplink per stream",
                block_origin(item),
                u.stream
            )));
        }
        out.push(u);
    }
    Ok(out)
}
