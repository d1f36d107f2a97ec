//! Owns the leaf node part of `Config`: the remotes (hubs) edgeleaf dials, read from
//! nats-server's `leafnodes { remotes = [ ... ] }` block or the TOML `[leaf]` table.
//! Only the soliciting side exists: keys that configure a leafnode listener are refused
//! by name. Like the rest of the configuration, a key is checked per source
//! (`normalize`, which knows file lines and `$variables`) and typed after merging
//! (`read`). URL passwords and inline seeds never appear in `Debug` output.

use std::collections::BTreeMap;
use std::time::Duration;

use config::{Map, Value, ValueKind};

use super::auth::GLOBAL_ACCOUNT;
use super::error::ConfigError;
use super::load::{describe, where_of, Reader};

/// `leafnodes { }` (nats-server syntax) or `[leaf]` (TOML): the remotes edgeleaf dials.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafConfig {
    pub remotes: Vec<RemoteConfig>,
    /// `reconnect` (nats-server key, also `reconnect_interval`): wait between attempts; default 1 s.
    pub reconnect: Duration,
    /// `handshake_timeout` (edgeleaf key): how long to wait for the hub's first INFO and, after CONNECT, for its connect_info INFO. Default 2 s. Must be > 0.
    pub handshake_timeout: Duration,
    /// `ping_interval`/`ping_max` inside the leaf block (edgeleaf keys); None = the server's top-level ping_interval / ping_max.
    pub ping_interval: Option<Duration>,
    pub ping_max: Option<u32>,
}

impl LeafConfig {
    /// nats-server's wait between connection attempts to a remote.
    pub const DEFAULT_RECONNECT: Duration = Duration::from_secs(1);
    /// How long the hub's INFOs may take (nats-server waits about as long).
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
}

impl Default for LeafConfig {
    fn default() -> Self {
        LeafConfig {
            remotes: Vec::new(),
            reconnect: Self::DEFAULT_RECONNECT,
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
            ping_interval: None,
            ping_max: None,
        }
    }
}

/// One hub to dial. `Debug` prints passwords and inline seeds as `[REDACTED]`.
#[derive(Clone, PartialEq)]
pub struct RemoteConfig {
    /// `urls` (list) or `url` (single string); at least one.
    pub urls: Vec<LeafUrl>,
    /// `account`: the local account this remote binds; default "$G". Must be "$G" or declared in `accounts { }` (error otherwise, naming the key and file:line like the other errors).
    pub account: String,
    /// `credentials`: path of a .creds file (user JWT + seed). Only the path; read at connect time.
    pub credentials: Option<String>,
    /// `nkey`: a user nkey seed ("SU...") given inline, or a path to a file holding it. Stored as given.
    pub nkey: Option<String>,
    /// `user`/`password` (aliases `username`, `pass`) of the remote; URL userinfo wins per URL.
    pub user: Option<String>,
    pub password: Option<String>,
    /// `tls { }`: TLS to the hub. Also turned on (with defaults) by a `tls://` URL.
    pub tls: Option<RemoteTls>,
    /// `deny_imports` / `deny_exports`: subject patterns (string or list), validated as subjects.
    pub deny_imports: Vec<String>,
    pub deny_exports: Vec<String>,
    /// `no_randomize` / `dont_randomize`: try urls in the given order.
    pub no_randomize: bool,
}

impl Default for RemoteConfig {
    /// No URLs yet, bound to the global account.
    fn default() -> Self {
        RemoteConfig {
            urls: Vec::new(),
            account: crate::config::auth::GLOBAL_ACCOUNT.to_string(),
            credentials: None,
            nkey: None,
            user: None,
            password: None,
            tls: None,
            deny_imports: Vec::new(),
            deny_exports: Vec::new(),
            no_randomize: false,
        }
    }
}

/// Stands for a secret in `Debug` output.
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A path is worth seeing; an inline seed ("SU...") is a secret.
        let nkey = self.nkey.as_deref().map(|n| -> &dyn std::fmt::Debug {
            if n.starts_with('S') && !n.contains(['/', '\\', '.']) {
                &Redacted
            } else {
                &self.nkey
            }
        });
        f.debug_struct("RemoteConfig")
            .field("urls", &self.urls)
            .field("account", &self.account)
            .field("credentials", &self.credentials)
            .field("nkey", &nkey)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .field("tls", &self.tls)
            .field("deny_imports", &self.deny_imports)
            .field("deny_exports", &self.deny_exports)
            .field("no_randomize", &self.no_randomize)
            .finish()
    }
}

/// The `tls { }` block of a remote: this side is the TLS client.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteTls {
    /// `ca_file` (alias `ca`): CAs the hub certificate must chain to. This build has no
    /// system roots, so None means no CA to verify against: the leaf module refuses to
    /// connect then, with a clear message. Stored as given.
    pub ca_file: Option<String>,
    /// `cert_file`/`key_file` (aliases `cert`/`key`): client certificate for mutual TLS; both or neither (error naming the missing one).
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    /// `server_name`: name to verify in the hub certificate; default = the URL host.
    pub server_name: Option<String>,
    /// `timeout`: TLS handshake limit, default 2 s (zero = default). The loader always
    /// stores a non-zero value; `handshake_timeout()` also covers a zero set in code.
    pub timeout: Duration,
}

impl RemoteTls {
    /// nats-server's TLS handshake limit.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// `timeout`, or the default when it is zero.
    pub fn handshake_timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Self::DEFAULT_TIMEOUT
        } else {
            self.timeout
        }
    }
}

/// One hub URL. `Debug` redacts the password; `Display` leaves out the userinfo.
#[derive(Clone, PartialEq)]
pub struct LeafUrl {
    /// true for `tls://` ; `nats-leaf://` and `nats://` are plain (TLS still if the remote has tls{} or the hub demands it).
    pub tls: bool,
    /// IPv6 given as [::1] is stored without brackets.
    pub host: String,
    /// 7422 when absent.
    pub port: u16,
    /// From the userinfo, percent-decoded.
    pub user: Option<String>,
    pub password: Option<String>,
}

impl LeafUrl {
    /// The leafnode port of nats-server.
    pub const DEFAULT_PORT: u16 = 7422;

    /// Parses `nats-leaf://[user[:password]@]host[:port]` (also `nats://` and `tls://`,
    /// schemes case-insensitive). The error says what is wrong, without the password.
    pub fn parse(s: &str) -> Result<LeafUrl, String> {
        const FORM: &str = "nats-leaf://host[:port], nats://host[:port] or tls://host[:port]";
        let s = s.trim();
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(format!("a URL such as {FORM} (no scheme)"));
        };
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "nats-leaf" | "nats" => false,
            "tls" => true,
            "ws" | "wss" => return Err(
                "websocket leaf remotes (ws://, wss://) are not supported by this edgeleaf build"
                    .into(),
            ),
            other => return Err(format!("a URL such as {FORM}, not the scheme {other:?}")),
        };
        // Nothing may follow the authority but an empty path.
        let authority = match rest.find(['/', '?', '#']) {
            Some(i) if &rest[i..] == "/" => &rest[..i],
            Some(_) => return Err(format!("a URL such as {FORM}, without a path or query")),
            None => rest,
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (name, pass) = match u.split_once(':') {
                    Some((n, p)) => (n, Some(p)),
                    None => (u, None),
                };
                let name = percent_decode(name).ok_or("a user name with valid %-escapes")?;
                let pass = pass
                    .map(percent_decode)
                    .map(|p| p.ok_or("a password with valid %-escapes"))
                    .transpose()?;
                (Some(name).filter(|n| !n.is_empty()), pass)
            }
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or("an IPv6 host closed by ']', as in [::1]:7422")?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None => return Err(format!("\":port\" after [{host}]")),
                },
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) if !p.contains(':') => (h, Some(p)),
                Some(_) => return Err("an IPv6 host in brackets, as in [::1]:7422".into()),
                None => (hostport, None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '@') {
            return Err(format!("a URL such as {FORM} with a host"));
        }
        let port = match port {
            None => Self::DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("a port from 1 to 65535, not {p:?}")),
            },
        };
        Ok(LeafUrl {
            tls,
            host: host.to_string(),
            port,
            user,
            password,
        })
    }

    /// "host:port", with an IPv6 host in brackets: what to dial.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for LeafUrl {
    /// `nats-leaf://host:port` or `tls://host:port`: fit for logs, no credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "tls" } else { "nats-leaf" };
        write!(f, "{scheme}://{}", self.host_port())
    }
}

impl std::fmt::Debug for LeafUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafUrl")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// `%XX` escapes → bytes; None when an escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---- per-source key checks -------------------------------------------------------

const LISTENER: &str = "accepting leaf node connections (a leafnode listener)";

/// What a key of a block means.
pub(super) enum Key {
    /// Kept under this canonical key.
    Known(&'static str),
    Unsupported(&'static str),
    Unknown,
}

fn classify_leaf(key: &str) -> Key {
    use Key::*;
    match key {
        "remotes" => Known("remotes"),
        "reconnect" | "reconnect_interval" | "reconnect_delay" => Known("reconnect"),
        "handshake_timeout" => Known("handshake_timeout"),
        "ping_interval" => Known("ping_interval"),
        "ping_max" => Known("ping_max"),
        "listen" | "host" | "net" | "port" | "advertise" | "no_advertise" | "authorization"
        | "tls" | "min_version" | "minimum_version" | "compression" => Unsupported(LISTENER),
        "isolate_leafnode_interest" | "isolate" => Unsupported("leaf interest isolation"),
        _ => Unknown,
    }
}

fn classify_remote(key: &str) -> Key {
    use Key::*;
    match key {
        "url" => Known("url"),
        "urls" => Known("urls"),
        "account" | "local" => Known("account"),
        "credentials" | "creds" => Known("credentials"),
        "nkey" | "seed" => Known("nkey"),
        "user" | "username" => Known("user"),
        "password" | "pass" => Known("password"),
        "tls" => Known("tls"),
        "deny_imports" | "deny_import" => Known("deny_imports"),
        "deny_exports" | "deny_export" => Known("deny_exports"),
        "no_randomize" | "dont_randomize" => Known("no_randomize"),
        "hub" => Unsupported("the hub role on a solicited leaf connection (hub: true)"),
        "ws_compression"
        | "ws_compress"
        | "websocket_compression"
        | "websocket_compress"
        | "ws_no_masking"
        | "websocket_no_masking" => Unsupported("websocket leaf remotes"),
        "compression" => Unsupported("leaf connection compression"),
        "first_info_timeout" => Unsupported(
            "first_info_timeout per remote (edgeleaf has handshake_timeout in the leaf block)",
        ),
        "jetstream_cluster_migrate" | "js_cluster_migrate" => {
            Unsupported("JetStream cluster migration")
        }
        _ => Unknown,
    }
}

fn classify_remote_tls(key: &str) -> Key {
    use Key::*;
    match key {
        "ca_file" | "ca" => Known("ca_file"),
        "cert_file" | "cert" => Known("cert_file"),
        "key_file" | "key" => Known("key_file"),
        "server_name" => Known("server_name"),
        "timeout" => Known("timeout"),
        // Means nothing for the dialing side (the hub is always verified); nats-server
        // accepts it there too.
        "verify" => Known("verify"),
        "insecure" => Unsupported("skipping hub certificate verification (insecure)"),
        "handshake_first" | "first" | "immediate" => {
            Unsupported("TLS before the hub's INFO (handshake_first)")
        }
        "cipher_suites" => Unsupported("choosing cipher suites"),
        "curve_preferences" => Unsupported("choosing key exchange curves"),
        "pinned_certs" => Unsupported("pinned certificates"),
        _ => Unknown,
    }
}

/// Checks a nested value of a known key (`path`, canonical key) and returns it.
pub(super) type CheckValue<'s> = dyn Fn(&str, &str, Value) -> Result<Value, ConfigError> + 's;

/// Key checks of one source.
pub(super) struct Checker<'a> {
    pub(super) source: &'a str,
    /// Whether an unknown key (given as its path) must be reported (see `load::Unknown`).
    pub(super) reject: &'a dyn Fn(Vec<String>) -> bool,
}

impl Checker<'_> {
    /// Checks the keys of one block against `classify`, returning the block with
    /// canonical keys; `sub` then checks each known value (for nested blocks).
    /// `var_path` is the key path a `$variable` definition would have: None inside
    /// arrays, where nats-server's parser does not track them.
    pub(super) fn block(
        &self,
        path: &str,
        value: Value,
        var_path: Option<Vec<String>>,
        classify: fn(&str) -> Key,
        sub: &CheckValue<'_>,
        expected: &str,
    ) -> Result<Value, ConfigError> {
        let source = self.source;
        let origin = value.origin().map(str::to_string);
        let ValueKind::Table(table) = value.kind else {
            return Err(ConfigError::InvalidValue {
                key: path.to_string(),
                origin: where_of(&value, source),
                expected: expected.into(),
                found: describe(&value),
            });
        };
        // Sorted so that, with several bad keys, the same one is reported every time.
        let table: BTreeMap<String, Value> = table.into_iter().collect();
        let mut out = Map::new();
        for (k, v) in table {
            let full = format!("{path}.{k}");
            match classify(&k.to_ascii_lowercase()) {
                Key::Known(canonical) => {
                    if out.contains_key(canonical) {
                        return Err(ConfigError::Conflict(format!(
                            "{}: `{full}` sets `{path}.{canonical}` a second time (an alias of it is set too)",
                            where_of(&v, source)
                        )));
                    }
                    let v = sub(&full, canonical, v)?;
                    out.insert(canonical.to_string(), v);
                }
                Key::Unsupported(feature) => {
                    return Err(ConfigError::Unsupported {
                        key: full,
                        feature: feature.into(),
                        origin: where_of(&v, source),
                    })
                }
                Key::Unknown => {
                    let used = var_path.clone().map(|mut p| {
                        p.push(k.clone());
                        p
                    });
                    if used.is_none_or(self.reject) {
                        return Err(ConfigError::UnknownKey {
                            key: full,
                            origin: where_of(&v, source),
                        });
                    }
                }
            }
        }
        Ok(Value::new(origin.as_ref(), ValueKind::Table(out)))
    }
}

/// Checks the `leafnodes`/`leaf` block (`key` as written) of one source and returns it
/// with canonical lower-case keys. Values are typed later, by `read`.
pub(super) fn normalize(
    key: &str,
    value: Value,
    source: &str,
    reject: &dyn Fn(Vec<String>) -> bool,
) -> Result<Value, ConfigError> {
    let check = Checker { source, reject };
    let remote_key = |path: &str, canonical: &str, v: Value| {
        if canonical != "tls" {
            return Ok(v);
        }
        check.block(
            path,
            v,
            None,
            classify_remote_tls,
            &|_, _, v| Ok(v),
            "a block { ca_file: ..., cert_file: ..., key_file: ... }",
        )
    };
    let leaf_key = |path: &str, canonical: &str, v: Value| {
        if canonical != "remotes" {
            return Ok(v);
        }
        let origin = v.origin().map(str::to_string);
        let ValueKind::Array(items) = v.kind else {
            return Err(ConfigError::InvalidValue {
                key: path.to_string(),
                origin: where_of(&v, source),
                expected: "an array of remote blocks [ { urls: [...] } ]".into(),
                found: describe(&v),
            });
        };
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                check.block(
                    &format!("{path}[{i}]"),
                    item,
                    None,
                    classify_remote,
                    &remote_key,
                    "a block { urls: [...] }",
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::new(origin.as_ref(), ValueKind::Array(items)))
    };
    check.block(
        key,
        value,
        Some(vec![key.to_string()]),
        classify_leaf,
        &leaf_key,
        "a block { remotes: [...] }",
    )
}

// ---- typed reading of the merged values ---------------------------------------------

/// The origin of a block: its own, or (merged blocks keep only their entries' origins)
/// that of its first entry.
pub(super) fn block_origin(v: &Value) -> String {
    if let Some(o) = v.origin() {
        return o.to_string();
    }
    match &v.kind {
        ValueKind::Table(t) => t.values().find_map(Value::origin),
        ValueKind::Array(a) => a.iter().find_map(Value::origin),
        _ => None,
    }
    .unwrap_or("configuration")
    .to_string()
}

pub(super) fn table_of<'a>(
    path: &str,
    v: &'a Value,
    expected: &str,
) -> Result<&'a Map<String, Value>, ConfigError> {
    match &v.kind {
        ValueKind::Table(t) => Ok(t),
        _ => Err(ConfigError::InvalidValue {
            key: path.to_string(),
            origin: where_of(v, "configuration"),
            expected: expected.into(),
            found: describe(v),
        }),
    }
}

/// A string or a list of strings, each non-empty (`urls`, `deny_imports`).
fn string_list(
    r: &Reader<'_>,
    key: &str,
    what: &str,
) -> Result<Vec<(String, String, Value)>, ConfigError> {
    let Some(v) = r.get(key) else {
        return Ok(Vec::new());
    };
    let items: Vec<(String, &Value)> = match &v.kind {
        ValueKind::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{key}[{i}]"), item))
            .collect(),
        _ => vec![(key.to_string(), v)],
    };
    items
        .into_iter()
        .map(|(k, item)| match &item.kind {
            ValueKind::String(s) if !s.trim().is_empty() => {
                Ok((k, s.trim().to_string(), item.clone()))
            }
            _ => Err(r.invalid(&k, item, what)),
        })
        .collect()
}

/// A `ws://` or `wss://` URL.
fn is_websocket(url: &str) -> bool {
    url.trim()
        .split_once("://")
        .is_some_and(|(scheme, _)| ["ws", "wss"].iter().any(|w| scheme.eq_ignore_ascii_case(w)))
}

fn subjects(r: &Reader<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
    const WHAT: &str = "a subject or a list of subjects (wildcards allowed)";
    string_list(r, key, WHAT)?
        .into_iter()
        .map(|(k, s, v)| {
            if crate::subject::is_valid_subject(s.as_bytes()) {
                Ok(s)
            } else {
                Err(r.invalid(&k, &v, WHAT))
            }
        })
        .collect()
}

fn remote_tls(path: &str, v: &Value) -> Result<RemoteTls, ConfigError> {
    let map = table_of(
        path,
        v,
        "a block { ca_file: ..., cert_file: ..., key_file: ... }",
    )?;
    let prefix = format!("{path}.");
    let r = Reader {
        map,
        prefix: &prefix,
    };
    const FILE: &str = "a file name";
    let tls = RemoteTls {
        ca_file: r.text("ca_file", FILE)?,
        cert_file: r.text("cert_file", FILE)?,
        key_file: r.text("key_file", FILE)?,
        server_name: r.text("server_name", "a host name")?,
        timeout: r
            .duration("timeout")?
            .filter(|t| !t.is_zero())
            .unwrap_or(RemoteTls::DEFAULT_TIMEOUT),
    };
    // Accepted for nats-server compatibility; the hub is verified regardless.
    r.boolean("verify")?;
    let missing = match (&tls.cert_file, &tls.key_file) {
        (Some(_), None) => Some("'key_file'"),
        (None, Some(_)) => Some("'cert_file'"),
        _ => None,
    };
    if let Some(missing) = missing {
        return Err(ConfigError::Conflict(format!(
            "{}: missing {missing} in {path} (a client certificate needs both cert_file and key_file)",
            block_origin(v)
        )));
    }
    Ok(tls)
}

fn remote(path: &str, v: &Value, accounts: &[String]) -> Result<RemoteConfig, ConfigError> {
    let map = table_of(path, v, "a block { urls: [...] }")?;
    let prefix = format!("{path}.");
    let r = Reader {
        map,
        prefix: &prefix,
    };
    const URL: &str = "a URL such as nats-leaf://host:7422 or tls://host:7422";
    let mut urls = Vec::new();
    for key in ["urls", "url"] {
        for (k, text, raw) in string_list(&r, key, URL)? {
            match LeafUrl::parse(&text) {
                Ok(u) => urls.push(u),
                Err(_) if is_websocket(&text) => {
                    return Err(ConfigError::Unsupported {
                        key: format!("{prefix}{k}"),
                        feature: "websocket leaf remotes".into(),
                        origin: where_of(&raw, "configuration"),
                    })
                }
                // Not the raw text in the message: it may hold a password.
                Err(why) => {
                    return Err(ConfigError::InvalidValue {
                        key: format!("{prefix}{k}"),
                        origin: where_of(&raw, "configuration"),
                        expected: why,
                        found: LeafUrl::redacted(&text),
                    })
                }
            }
        }
    }
    if urls.is_empty() {
        return Err(ConfigError::InvalidValue {
            key: path.to_string(),
            origin: block_origin(v),
            expected: "a remote with `urls` (a list) or `url`: the hub to connect to".into(),
            found: "a block without any URL".into(),
        });
    }
    let account = match r.text("account", "an account name")? {
        None => GLOBAL_ACCOUNT.to_string(),
        Some(a) => {
            if a != GLOBAL_ACCOUNT && !accounts.contains(&a) {
                let declared = if accounts.is_empty() {
                    "none is declared".to_string()
                } else {
                    format!("declared: {}", accounts.join(", "))
                };
                let raw = r.get("account").expect("just read");
                return Err(r.invalid(
                    "account",
                    raw,
                    format!("\"$G\" or an account declared in accounts {{ }} ({declared})"),
                ));
            }
            a
        }
    };
    let mut tls = r
        .get("tls")
        .map(|t| remote_tls(&format!("{prefix}tls"), t))
        .transpose()?;
    if tls.is_none() && urls.iter().any(|u| u.tls) {
        tls = Some(RemoteTls {
            timeout: RemoteTls::DEFAULT_TIMEOUT,
            ..RemoteTls::default()
        });
    }
    let rc = RemoteConfig {
        urls,
        account,
        credentials: r.text("credentials", "the path of a .creds file")?,
        nkey: r.text(
            "nkey",
            "a user nkey seed (SU...) or the path of a file holding one",
        )?,
        user: r.text("user", "a user name")?,
        password: r.string("password")?,
        tls,
        deny_imports: subjects(&r, "deny_imports")?,
        deny_exports: subjects(&r, "deny_exports")?,
        no_randomize: r.boolean("no_randomize")?.unwrap_or(false),
    };
    if rc.credentials.is_some() && rc.nkey.is_some() {
        return Err(ConfigError::Conflict(format!(
            "{}: {path} sets both `credentials` and `nkey`; use one",
            block_origin(v)
        )));
    }
    if rc.password.is_some() && rc.user.is_none() {
        return Err(ConfigError::Conflict(format!(
            "{}: {path} sets a `password` without a `user`",
            block_origin(v)
        )));
    }
    Ok(rc)
}

/// The merged leaf block (under `root`, the top-level key as written: `leafnodes` or
/// `leaf`) → `LeafConfig`. `accounts` are the declared accounts a remote may bind.
pub(super) fn read(root: &str, v: &Value, accounts: &[String]) -> Result<LeafConfig, ConfigError> {
    let map = table_of(root, v, "a block { remotes: [...] }")?;
    let prefix = format!("{root}.");
    let r = Reader {
        map,
        prefix: &prefix,
    };
    let mut c = LeafConfig::default();
    if let Some(d) = r.duration("reconnect")?.filter(|d| !d.is_zero()) {
        c.reconnect = d;
    }
    if let Some(d) = r.duration("handshake_timeout")? {
        if d.is_zero() {
            let raw = r.get("handshake_timeout").expect("just read");
            return Err(r.invalid("handshake_timeout", raw, "a duration above zero"));
        }
        c.handshake_timeout = d;
    }
    c.ping_interval = r.duration("ping_interval")?.filter(|d| !d.is_zero());
    c.ping_max = r
        .int("ping_max", 0..=i64::from(u32::MAX))?
        .filter(|n| *n > 0)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    if let Some(list) = r.get("remotes") {
        let ValueKind::Array(items) = &list.kind else {
            return Err(r.invalid(
                "remotes",
                list,
                "an array of remote blocks [ { urls: [...] } ]",
            ));
        };
        for (i, item) in items.iter().enumerate() {
            c.remotes
                .push(remote(&format!("{prefix}remotes[{i}]"), item, accounts)?);
        }
    }
    Ok(c)
}

impl LeafUrl {
    /// `s` for an error message, with any password replaced.
    fn redacted(s: &str) -> String {
        let Some((scheme, rest)) = s.split_once("://") else {
            return format!("{s:?}");
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        match rest[..end].rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                let pass = if userinfo.contains(':') {
                    ":[REDACTED]"
                } else {
                    ""
                };
                format!("\"{scheme}://{user}{pass}@{host}{}\"", &rest[end..])
            }
            None => format!("{s:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let u = LeafUrl::parse("nats-leaf://hub.example.com").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (false, "hub.example.com", 7422)
        );
        assert_eq!(u.host_port(), "hub.example.com:7422");
        let u = LeafUrl::parse("TLS://a%40b:p%3Aw@[::1]:7000/").unwrap();
        assert!(u.tls);
        assert_eq!(u.host, "::1");
        assert_eq!(u.host_port(), "[::1]:7000");
        assert_eq!(u.user.as_deref(), Some("a@b"));
        assert_eq!(u.password.as_deref(), Some("p:w"));
        assert_eq!(u.to_string(), "tls://[::1]:7000");
        assert!(!format!("{u:?}").contains("p:w"));
        let u = LeafUrl::parse("nats://10.0.0.1:4000").unwrap();
        assert_eq!((u.tls, u.host_port().as_str()), (false, "10.0.0.1:4000"));
        for bad in [
            "hub:7422",
            "http://hub",
            "ws://hub",
            "nats://",
            "nats://hub:0",
            "nats://hub:99999",
            "nats://::1",
            "nats://[::1",
            "nats://hub/path",
            "nats://u%zz@hub",
        ] {
            assert!(LeafUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            LeafUrl::redacted("nats://u:secret@h:1"),
            "\"nats://u:[REDACTED]@h:1\""
        );
    }
}
