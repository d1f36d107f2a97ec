//! Owns `Config::load`: layering embedded defaults < config file < `EDGELEAF_*`
//! environment < flags with the `config` crate's builder, then checking and converting
//! the merged values into a `Config`.
//!
//! Every source is normalized before merging: keys are matched case-insensitively (as
//! nats-server does), aliases (`net`, `max_conn`, `logfile`, ...) become one canonical
//! key, `listen`/`http` are split into host and port, and a key that belongs to a
//! feature this build lacks, or (in a file) is unknown, is an error naming the key and
//! where it was set. Unknown `EDGELEAF_*` variables are ignored: the environment is
//! shared with other tools and inherited by every child process.
//!
//! This per-source key table plays the role of `#[serde(deny_unknown_fields)]`, but it
//! can also say which file line or environment variable held the bad key, which a serde
//! error on the merged tree cannot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{FileFormat, Map, Source, Value, ValueKind};

use super::flags::{
    self, FlagValue, JETSTREAM_ENABLED, TLS_FLAG_CA, TLS_FLAG_CERT, TLS_FLAG_ENABLE, TLS_FLAG_KEY,
    TLS_FLAG_VERIFY,
};
use super::natsconf;
use super::units;
use super::{Config, ConfigError, JetStreamConfig, TlsConfig};

/// What the command line asks the binary to do.
// Built once at startup, so the size of the `Run` variant costs nothing; boxing it
// would only make callers' matches clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Run the broker with this configuration.
    Run(Config),
    /// `-v/--version`: print the version and exit 0.
    Version,
    /// `-h/--help`: print this text and exit 0.
    Help(String),
}

/// Prefix of the environment variables that set configuration keys.
const ENV_PREFIX: &str = "EDGELEAF_";

impl Config {
    /// Builds the configuration from `args`, the whole command line as
    /// `std::env::args()` gives it (the first element, the program name, is skipped),
    /// and the process environment.
    pub fn load(args: &[String]) -> Result<Invocation, ConfigError> {
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::load_with_env(args, &env)
    }

    /// `load` with the environment given explicitly: it supplies both the `EDGELEAF_*`
    /// settings and the values of `$VARIABLE`s in nats-server style files. Tests use it
    /// so they need not change the process environment. `args` as for `load`, program
    /// name first.
    pub fn load_with_env(
        args: &[String],
        env: &HashMap<String, String>,
    ) -> Result<Invocation, ConfigError> {
        let flags = flags::parse(args.get(1..).unwrap_or_default())?;
        if flags.version {
            return Ok(Invocation::Version);
        }
        if flags.help {
            return Ok(Invocation::Help(flags::help_text()));
        }
        if flags.help_tls {
            return Ok(Invocation::Help(flags::help_tls_text()));
        }

        let mut builder = config::Config::builder();
        if let Some(file) = &flags.config_file {
            let path = PathBuf::from(file);
            if !path.is_file() {
                let reason = match std::fs::metadata(&path) {
                    Err(e) => e.to_string(),
                    Ok(_) => "not a regular file".to_string(),
                };
                return Err(ConfigError::Read {
                    file: file.clone(),
                    reason,
                });
            }
            let is_toml = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
            builder = if is_toml {
                builder.add_source(TomlFile { path })
            } else {
                builder.add_source(NatsConfFile {
                    path,
                    env: env.clone(),
                })
            };
        }
        let vars: BTreeMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        builder = builder.add_source(EnvSource { vars });
        builder = builder.add_source(FlagSource {
            settings: flags.settings,
        });

        let merged = builder
            .build()
            .and_then(|c| c.collect())
            .map_err(from_config_error)?;
        convert(&merged).map(Invocation::Run)
    }
}

/// Brings our own errors back out of the `config` crate's wrapper.
fn from_config_error(e: config::ConfigError) -> ConfigError {
    match e {
        config::ConfigError::Foreign(inner) => match inner.downcast::<ConfigError>() {
            Ok(ours) => *ours,
            Err(other) => ConfigError::Other(other.to_string()),
        },
        config::ConfigError::FileParse { uri, cause } => match cause.downcast::<ConfigError>() {
            Ok(ours) => *ours,
            Err(cause) => ConfigError::Toml {
                file: uri.unwrap_or_else(|| "(string)".into()),
                message: cause.to_string().trim_end().to_string(),
            },
        },
        other => ConfigError::Other(other.to_string()),
    }
}

fn foreign(e: ConfigError) -> config::ConfigError {
    config::ConfigError::Foreign(Box::new(e))
}

/// A nats-server style file, read directly (rather than through `config::File`) so the
/// parser also reports which keys were used as `$variables` and resolves variables
/// from the environment given to `load_with_env`.
#[derive(Debug, Clone)]
struct NatsConfFile {
    path: PathBuf,
    env: HashMap<String, String>,
}

impl Source for NatsConfFile {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let file = self.path.display().to_string();
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            foreign(ConfigError::Read {
                file: file.clone(),
                reason: e.to_string(),
            })
        })?;
        let env = |name: &str| self.env.get(name).cloned();
        let read = |p: &Path| std::fs::read_to_string(p);
        let doc = natsconf::parse_with(natsconf::strip_bom(&text), Some(&self.path), &read, &env)
            .map_err(|e| foreign(ConfigError::Parse(e)))?;
        normalize(
            doc.table,
            &file,
            Unknown::RejectUnlessUsed(&doc.used_variables),
        )
        .map_err(foreign)
    }
}

/// A TOML file, parsed by the `config` crate, with the same key rules.
#[derive(Debug, Clone)]
struct TomlFile {
    path: PathBuf,
}

impl Source for TomlFile {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let file = self.path.display().to_string();
        let table = config::File::new(&file, FileFormat::Toml).collect()?;
        normalize(table, &file, Unknown::RejectUnlessUsed(&BTreeSet::new())).map_err(foreign)
    }
}

/// `EDGELEAF_<KEY>` variables; each value is labelled with its variable's name.
#[derive(Debug, Clone)]
struct EnvSource {
    vars: BTreeMap<String, String>,
}

impl Source for EnvSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let mut table = Map::new();
        for (name, value) in &self.vars {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            let origin = format!("environment variable {name}");
            table.insert(
                key,
                Value::new(Some(&origin), ValueKind::String(value.clone())),
            );
        }
        normalize(table, "the environment", Unknown::Ignore).map_err(foreign)
    }
}

/// Flag settings, already under canonical keys; later flags win.
#[derive(Debug, Clone)]
struct FlagSource {
    settings: Vec<(&'static str, FlagValue, String)>,
}

impl Source for FlagSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let mut table = Map::new();
        for (key, value, flag) in &self.settings {
            let origin = format!("flag {flag}");
            let kind = match value {
                FlagValue::Bool(b) => ValueKind::Boolean(*b),
                FlagValue::Text(s) => ValueKind::String(s.clone()),
            };
            table.insert((*key).to_string(), Value::new(Some(&origin), kind));
        }
        Ok(table)
    }
}

/// What a (lower-cased) top-level key means.
enum KeyKind {
    /// Stored under this canonical key.
    Direct(&'static str),
    /// `listen`: host and port.
    Listen,
    /// `http`: monitoring host and port.
    Http,
    /// `https`: monitoring host and HTTPS port.
    Https,
    /// The client `tls { }` block.
    Tls,
    /// `leafnodes { }` / `leaf { }`: the remotes to dial.
    Leaf,
    Jetstream,
    /// `uplink`: edgeleaf's store-and-forward uplinks.
    Uplink,
    /// A nats-server key for this feature, which edgeleaf does not have yet.
    Unsupported(&'static str),
    Unknown,
}

fn classify(key: &str) -> KeyKind {
    use KeyKind::*;
    match key {
        "listen" => Listen,
        "host" | "net" | "addr" => Direct("host"),
        "port" => Direct("port"),
        "http" => Http,
        "http_host" => Direct("http_host"),
        "http_port" | "monitor_port" => Direct("http_port"),
        "https" => Https,
        "https_port" => Direct("https_port"),
        "tls" => Tls,
        "server_name" => Direct("server_name"),
        "store_dir" | "storedir" => Direct("store_dir"),
        "max_payload" => Direct("max_payload"),
        "max_control_line" => Direct("max_control_line"),
        "max_pending" => Direct("max_pending"),
        "write_deadline" => Direct("write_deadline"),
        "max_connections" | "max_conn" => Direct("max_connections"),
        "max_subscriptions" | "max_subs" => Direct("max_subscriptions"),
        "ping_interval" => Direct("ping_interval"),
        "ping_max" => Direct("ping_max"),
        "auth_timeout" => Direct("auth_timeout"),
        "lame_duck_duration" => Direct("lame_duck_duration"),
        "lame_duck_grace_period" => Direct("lame_duck_grace_period"),
        "debug" => Direct("debug"),
        "trace" => Direct("trace"),
        "logtime" | "log_time" => Direct("log_time"),
        "log_file" | "logfile" => Direct("log_file"),
        "pid_file" | "pidfile" => Direct("pid_file"),
        "jetstream" => Jetstream,
        "uplink" | "uplinks" => Uplink,
        "authorization" => Direct("authorization"),
        "no_auth_user" => Direct("no_auth_user"),
        "accounts" => Direct("accounts"),
        "auth_user" => Direct("auth_user"),
        "auth_pass" => Direct("auth_pass"),
        "auth_token" => Direct("auth_token"),
        "system_account" | "system" => Unsupported("the system account"),
        "allow_non_tls" => Unsupported("plain clients beside TLS clients"),
        "ocsp" => Unsupported("OCSP stapling"),
        "cluster" => Unsupported("clustering"),
        "gateway" => Unsupported("gateways"),
        "leafnodes" | "leaf" => Leaf,
        "websocket" | "ws" => Unsupported("websocket"),
        "mqtt" => Unsupported("MQTT"),
        "operator" | "operators" | "root" | "roots" | "root_operator" | "root_operators"
        | "resolver" | "resolver_tls" | "resolver_preload" | "trusted" | "trusted_keys" => {
            Unsupported("operator/JWT mode")
        }
        "mappings" | "maps" => Unsupported("subject mappings"),
        "default_js_domain" => Unsupported("JetStream domains"),
        "client_advertise" => Unsupported("client advertise URLs"),
        "trace_verbose" => Unsupported("verbose tracing"),
        "syslog" | "remote_syslog" => Unsupported("syslog"),
        "logfile_size_limit" | "log_size_limit" => Unsupported("log file rotation"),
        "http_base_path" => Unsupported("a monitoring base path"),
        "ports_file_dir" => Unsupported("the ports file"),
        "prof_port" => Unsupported("the profiling port"),
        "max_traced_msg_len" => Unsupported("limiting traced message length"),
        "max_sub_tokens" | "max_subscription_tokens" => Unsupported("subject token limits"),
        "disable_sublist_cache" | "no_sublist_cache" => Unsupported("disabling the sublist cache"),
        "max_closed_clients" => Unsupported("closed-connection history limits"),
        "connect_error_reports" | "reconnect_error_reports" => {
            Unsupported("connection error report intervals")
        }
        _ => Unknown,
    }
}

/// Canonical keys of the `jetstream` setting; only `normalize` (and, for
/// `JETSTREAM_ENABLED`, the `-js` flag) produces them, from values it has checked. Flat
/// rather than one table, so that a later source's `jetstream: false` or `-js` replaces
/// only the on/off switch and never merges into or over an earlier source's block.
const JS_MAX_MEMORY: &str = "jetstream_max_memory";
const JS_MAX_FILE: &str = "jetstream_max_file";
const JS_DOMAIN: &str = "jetstream_domain";
const JS_SYNC_BEFORE_ACK: &str = "jetstream_sync_before_ack";
const JS_CACHE_SIZE: &str = "jetstream_cache_size";

/// What a (lower-cased) key of the `jetstream { }` block means.
enum JsKey {
    StoreDir,
    /// Stored under this canonical key.
    Setting(&'static str),
    /// A nats-server JetStream setting edgeleaf does not have.
    Unsupported(&'static str),
    Unknown,
}

fn classify_jetstream(key: &str) -> JsKey {
    use JsKey::*;
    match key {
        "store_dir" | "store" | "storedir" => StoreDir,
        "enable" | "enabled" => Setting(JETSTREAM_ENABLED),
        "max_memory_store" | "max_mem_store" | "max_mem" => Setting(JS_MAX_MEMORY),
        "max_file_store" | "max_file" => Setting(JS_MAX_FILE),
        "domain" => Setting(JS_DOMAIN),
        // edgeleaf's own.
        "sync_before_ack" => Setting(JS_SYNC_BEFORE_ACK),
        "cache_size" => Setting(JS_CACHE_SIZE),
        "key" | "ek" | "encryption_key" | "cipher" => Unsupported("encrypted JetStream storage"),
        "extension_hint" => Unsupported("JetStream extension hints"),
        "unique_tag" => Unsupported("JetStream unique tags (clustered placement)"),
        "max_outstanding_catchup" => Unsupported("JetStream cluster catchup limits"),
        "limits" => Unsupported("server-wide JetStream limits"),
        // 2.10's `sync_interval`, `max_buffered_msgs`, `strict`, ... are unknown to
        // nats-server 2.9 too.
        _ => Unknown,
    }
}

/// nats-server's spellings of JetStream on and off as a plain value
/// (`jetstream: enabled`); None for anything else.
pub(super) fn jetstream_switch(v: &Value) -> Option<bool> {
    match &v.kind {
        ValueKind::Boolean(b) => Some(*b),
        ValueKind::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "enabled" | "enable" | "true" | "yes" | "on" => Some(true),
            "disabled" | "disable" | "false" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The settings of one source's `jetstream { }` block, checked and typed, under their
/// canonical keys (the switch included: on unless `enabled: false`), and its store_dir
/// values for the caller's once-only check. Errors name the key as written.
fn jetstream_block(
    key: &str,
    origin: Option<&String>,
    block: Map<String, Value>,
    source: &str,
    reject: &dyn Fn(Vec<String>) -> bool,
) -> Result<(Map<String, Value>, Vec<Value>), ConfigError> {
    let block: BTreeMap<String, Value> = block.into_iter().collect();
    let prefix = format!("{key}.");
    let mut out = Map::new();
    let mut dirs = Vec::new();
    // Canonical key -> the spelling that set it, for aliases used twice.
    let mut seen: HashMap<&'static str, Value> = HashMap::new();
    for (k, v) in block {
        let full = format!("{key}.{k}");
        let canonical = match classify_jetstream(&k.to_ascii_lowercase()) {
            JsKey::StoreDir => {
                dirs.push(v);
                continue;
            }
            JsKey::Setting(canonical) => canonical,
            JsKey::Unsupported(feature) => {
                return Err(ConfigError::Unsupported {
                    key: full,
                    feature: feature.into(),
                    origin: where_of(&v, source),
                })
            }
            JsKey::Unknown => {
                if reject(vec![key.to_string(), k.clone()]) {
                    return Err(ConfigError::UnknownKey {
                        key: full,
                        origin: where_of(&v, source),
                    });
                }
                continue;
            }
        };
        if let Some(first) = seen.insert(canonical, v.clone()) {
            return Err(ConfigError::Conflict(format!(
                "{}: `{full}` is set more than once in the jetstream block (also at {}, under another spelling)",
                where_of(&v, source),
                where_of(&first, source)
            )));
        }
        let one: Map<String, Value> = [(k.clone(), v.clone())].into_iter().collect();
        let r = Reader {
            map: &one,
            prefix: &prefix,
        };
        let present = |found: Option<ValueKind>| found.unwrap_or(ValueKind::Nil);
        let kind = match canonical {
            JS_MAX_MEMORY | JS_MAX_FILE => {
                // -1 is nats-server's "no limit set" (it then sizes the limit itself).
                present(r.size(&k, -1..=i64::MAX)?.map(ValueKind::I64))
            }
            JS_CACHE_SIZE => present(r.size(&k, 0..=i64::MAX)?.map(ValueKind::I64)),
            JS_DOMAIN => ValueKind::String(jetstream_domain(&r, &k, &v)?),
            _ => present(r.boolean(&k)?.map(ValueKind::Boolean)),
        };
        let at = v.origin().map(str::to_string);
        out.insert(canonical.to_string(), Value::new(at.as_ref(), kind));
    }
    if !out.contains_key(JETSTREAM_ENABLED) {
        out.insert(
            JETSTREAM_ENABLED.to_string(),
            Value::new(origin, ValueKind::Boolean(true)),
        );
    }
    Ok((out, dirs))
}

/// `domain`: one subject token, since the API answers on `$JS.<domain>.API.>`.
fn jetstream_domain(r: &Reader<'_>, key: &str, v: &Value) -> Result<String, ConfigError> {
    match &v.kind {
        ValueKind::String(s)
            if !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace()) =>
        {
            Ok(s.clone())
        }
        _ => Err(r.invalid(
            key,
            v,
            "a domain name usable as one subject token (not empty; no '.', '*', '>' or whitespace)",
        )),
    }
}

pub(super) fn where_of(v: &Value, fallback: &str) -> String {
    v.origin().unwrap_or(fallback).to_string()
}

/// What to do with a key that names nothing.
enum Unknown<'a> {
    /// Reject it, unless it is one of these key paths that a nats-server file
    /// referenced as `$variables`: those are variable definitions, not mistakes
    /// (nats-server agrees).
    RejectUnlessUsed(&'a BTreeSet<Vec<String>>),
    /// Skip it. Used for the environment, which is shared: tools and test harnesses
    /// set their own `EDGELEAF_*` variables, and every child process inherits them.
    Ignore,
}

/// Checks one source's keys and maps them onto canonical keys.
fn normalize(
    table: Map<String, Value>,
    source: &str,
    unknown: Unknown<'_>,
) -> Result<Map<String, Value>, ConfigError> {
    // Whether an unknown key (given as its path) must be reported.
    let reject = |path: Vec<String>| match unknown {
        Unknown::RejectUnlessUsed(used) => !used.contains(&path),
        Unknown::Ignore => false,
    };
    // Sorted so that, with several bad keys, the same one is reported every time.
    let entries: BTreeMap<String, Value> = table.into_iter().collect();
    // Values from `listen`/`http` yield to explicit host/port keys in the same source.
    let mut implied = Map::new();
    let mut explicit = Map::new();
    let mut store_dir_from: Option<String> = None;
    let mut set_store_dir = |v: Value, explicit: &mut Map<String, Value>| {
        let here = where_of(&v, source);
        if let Some(first) = store_dir_from.replace(here.clone()) {
            return Err(ConfigError::Conflict(format!(
                "{here}: store_dir is set more than once (also at {first}); set it either at the top level or in the jetstream block"
            )));
        }
        explicit.insert("store_dir".to_string(), v);
        Ok(())
    };
    for (key, value) in entries {
        let here = where_of(&value, source);
        match classify(&key.to_ascii_lowercase()) {
            KeyKind::Direct("store_dir") => set_store_dir(value, &mut explicit)?,
            KeyKind::Direct(canonical) => {
                explicit.insert(canonical.to_string(), value);
            }
            KeyKind::Listen => split_listen(&key, value, "host", "port", &mut implied)?,
            KeyKind::Http => split_listen(&key, value, "http_host", "http_port", &mut implied)?,
            KeyKind::Https => split_listen(&key, value, "http_host", "https_port", &mut implied)?,
            KeyKind::Tls => {
                let block = tls_block(&key, value, source, &reject)?;
                explicit.insert("tls".to_string(), block);
            }
            KeyKind::Leaf => {
                // Kept under the name as written (lower-cased) so that later errors use
                // the user's spelling; the two names are one setting.
                let name = key.to_ascii_lowercase();
                let other = if name == "leaf" { "leafnodes" } else { "leaf" };
                if let Some(first) = explicit.get(other).or(explicit.get(&name)) {
                    return Err(ConfigError::Conflict(format!(
                        "{here}: the leaf node block is set more than once (also at {}); `leafnodes` and `leaf` are the same setting",
                        where_of(first, source)
                    )));
                }
                let block = super::leaf::normalize(&key, value, source, &reject)?;
                explicit.insert(name, block);
            }
            KeyKind::Uplink => {
                if let Some(first) = explicit.get("uplink") {
                    return Err(ConfigError::Conflict(format!(
                        "{here}: the uplinks are set more than once (also at {}); list them all in one `uplink: [ ... ]`",
                        where_of(first, source)
                    )));
                }
                let block = super::uplink::normalize(&key, value, source, &reject)?;
                explicit.insert("uplink".to_string(), block);
            }
            KeyKind::Jetstream => {
                if let Some(first) = explicit.get(JETSTREAM_ENABLED) {
                    return Err(ConfigError::Conflict(format!(
                        "{here}: jetstream is set more than once (also at {})",
                        where_of(first, source)
                    )));
                }
                let origin = value.origin().map(str::to_string);
                let enabled = jetstream_switch(&value);
                match value.kind {
                    ValueKind::Table(block) => {
                        let (settings, dirs) =
                            jetstream_block(&key, origin.as_ref(), block, source, &reject)?;
                        for dir in dirs {
                            set_store_dir(dir, &mut explicit)?;
                        }
                        explicit.extend(settings);
                    }
                    _ => {
                        let Some(on) = enabled else {
                            return Err(ConfigError::InvalidValue {
                                key,
                                origin: here,
                                expected: "true, false, \"enabled\", \"disabled\" or a block { store_dir: ..., max_file_store: ... }"
                                    .into(),
                                found: describe(&value),
                            });
                        };
                        explicit.insert(
                            JETSTREAM_ENABLED.to_string(),
                            Value::new(origin.as_ref(), ValueKind::Boolean(on)),
                        );
                    }
                }
            }
            KeyKind::Unsupported(feature) => {
                return Err(ConfigError::Unsupported {
                    key,
                    feature: feature.into(),
                    origin: here,
                })
            }
            KeyKind::Unknown => {
                if reject(vec![key.clone()]) {
                    return Err(ConfigError::UnknownKey { key, origin: here });
                }
            }
        }
    }
    implied.extend(explicit);
    Ok(implied)
}

/// What a key of the client `tls { }` block means (nats-server 2.9 `parseTLS`).
enum TlsKey {
    /// Stored under this canonical key.
    Known(&'static str),
    /// A nats-server TLS setting edgeleaf does not have.
    Unsupported(&'static str),
    Unknown,
}

fn classify_tls(key: &str) -> TlsKey {
    use TlsKey::*;
    match key {
        "cert_file" => Known("cert_file"),
        "key_file" => Known("key_file"),
        "ca_file" => Known("ca_file"),
        "verify" => Known("verify"),
        "verify_and_map" => Known("verify_and_map"),
        "timeout" => Known("timeout"),
        "cipher_suites" => Unsupported("choosing cipher suites"),
        "curve_preferences" => Unsupported("choosing key exchange curves"),
        "pinned_certs" => Unsupported("pinned client certificates"),
        "connection_rate_limit" => Unsupported("TLS connection rate limits"),
        // Client-side settings in nats-server's shared TLS parser; a server port has no
        // use for them.
        "insecure" => Unsupported("skipping certificate verification (insecure)"),
        "verify_cert_and_check_known_urls" => {
            Unsupported("checking certificates against known URLs")
        }
        // 2.10's `min_version`, `handshake_first`, `cert_store`, `cert_match`,
        // `ocsp_peer`, ... are unknown to nats-server 2.9 too.
        _ => Unknown,
    }
}

/// Checks the `tls { }` block of one source and returns it with canonical, lower-case
/// keys. Values are type-checked later, in `convert`, like every other key.
fn tls_block(
    key: &str,
    value: Value,
    source: &str,
    reject: &dyn Fn(Vec<String>) -> bool,
) -> Result<Value, ConfigError> {
    let origin = value.origin().map(str::to_string);
    let ValueKind::Table(table) = value.kind else {
        return Err(ConfigError::InvalidValue {
            key: key.to_string(),
            origin: where_of(&value, source),
            expected: "a block { cert_file: ..., key_file: ... }".into(),
            found: describe(&value),
        });
    };
    let table: BTreeMap<String, Value> = table.into_iter().collect();
    let mut out = Map::new();
    for (k, v) in table {
        let full = format!("{key}.{k}");
        match classify_tls(&k.to_ascii_lowercase()) {
            TlsKey::Known(canonical) => {
                out.insert(canonical.to_string(), v);
            }
            TlsKey::Unsupported(feature) => {
                return Err(ConfigError::Unsupported {
                    key: full,
                    feature: feature.into(),
                    origin: where_of(&v, source),
                })
            }
            TlsKey::Unknown => {
                if reject(vec![key.to_string(), k.clone()]) {
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

/// `listen`/`http`: a port, "port", ":port", "host:port" or "[v6]:port". An empty host
/// leaves the host setting alone.
fn split_listen(
    key: &str,
    value: Value,
    host_key: &str,
    port_key: &str,
    out: &mut Map<String, Value>,
) -> Result<(), ConfigError> {
    let origin = value.origin().map(str::to_string);
    let bad = |value: &Value| ConfigError::InvalidValue {
        key: key.to_string(),
        origin: origin.clone().unwrap_or_else(|| "configuration".into()),
        expected: "a port, \"host:port\" or \":port\" with a port from -1 to 65535".into(),
        found: describe(value),
    };
    let (host, port) = match &value.kind {
        ValueKind::I64(n) => (None, *n),
        ValueKind::String(s) => {
            let s = s.trim();
            let (host, port) = if let Ok(n) = s.parse::<i64>() {
                (None, n)
            } else {
                let (h, p) = split_host_port(s).ok_or_else(|| bad(&value))?;
                (Some(h), p.parse::<i64>().map_err(|_| bad(&value))?)
            };
            (host, port)
        }
        _ => return Err(bad(&value)),
    };
    if !(-1..=65535).contains(&port) {
        return Err(bad(&value));
    }
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        out.insert(
            host_key.to_string(),
            Value::new(origin.as_ref(), ValueKind::String(h)),
        );
    }
    out.insert(
        port_key.to_string(),
        Value::new(origin.as_ref(), ValueKind::I64(port)),
    );
    Ok(())
}

fn split_host_port(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host.to_string(), after.strip_prefix(':')?));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host.to_string(), port))
}

/// How a value looks in an error message.
pub(super) fn describe(v: &Value) -> String {
    match &v.kind {
        ValueKind::Nil => "nothing".into(),
        ValueKind::Boolean(b) => format!("the boolean {b}"),
        ValueKind::I64(n) => format!("the integer {n}"),
        ValueKind::I128(n) => format!("the integer {n}"),
        ValueKind::U64(n) => format!("the integer {n}"),
        ValueKind::U128(n) => format!("the integer {n}"),
        ValueKind::Float(f) => format!("the number {f}"),
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::Table(_) => "a block".into(),
        ValueKind::Array(_) => "an array".into(),
    }
}

/// Reads typed values out of the merged table, naming key and origin on failure.
pub(super) struct Reader<'a> {
    pub(super) map: &'a Map<String, Value>,
    /// Put before key names in errors (`tls.` inside the tls block).
    pub(super) prefix: &'a str,
}

impl<'a> Reader<'a> {
    pub(super) fn invalid(&self, key: &str, v: &Value, expected: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            key: format!("{}{key}", self.prefix),
            origin: where_of(v, "configuration"),
            expected: expected.into(),
            found: describe(v),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match &v.kind {
            ValueKind::String(s) => Ok(Some(s.clone())),
            _ => Err(self.invalid(key, v, "a string")),
        }
    }

    /// A string that must not be empty.
    pub(super) fn text(&self, key: &str, what: &str) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match &v.kind {
            ValueKind::String(s) if !s.trim().is_empty() => Ok(Some(s.clone())),
            _ => Err(self.invalid(key, v, what)),
        }
    }

    pub(super) fn boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let b = match &v.kind {
            ValueKind::Boolean(b) => Some(*b),
            ValueKind::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" | "t" => Some(true),
                "false" | "no" | "off" | "0" | "f" => Some(false),
                _ => None,
            },
            _ => None,
        };
        b.map(Some)
            .ok_or_else(|| self.invalid(key, v, "true or false (also yes/no, on/off)"))
    }

    /// An integer within `range`; strings holding an integer count (environment and
    /// flag values are strings).
    pub(super) fn int(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let expected = || format!("an integer from {} to {}", range.start(), range.end());
        let n = match &v.kind {
            ValueKind::I64(n) => Some(*n),
            ValueKind::I128(n) => i64::try_from(*n).ok(),
            ValueKind::U64(n) => i64::try_from(*n).ok(),
            ValueKind::U128(n) => i64::try_from(*n).ok(),
            ValueKind::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(self.invalid(key, v, expected())),
        }
    }

    /// A size in bytes within `range`: an integer or a string such as "64MB".
    pub(super) fn size(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let expected = || {
            format!(
                "a size from {} to {} bytes (an integer, or a string such as \"64MB\" or \"1k\")",
                range.start(),
                range.end()
            )
        };
        let n = match &v.kind {
            ValueKind::I64(n) => Ok(*n),
            ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_) => Err(String::new()),
            ValueKind::String(s) => units::parse_size(s),
            _ => Err(String::new()),
        };
        match n {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            Ok(_) => Err(self.invalid(key, v, expected())),
            Err(detail) if detail.is_empty() => Err(self.invalid(key, v, expected())),
            Err(detail) => Err(self.invalid(key, v, format!("{} ({detail})", expected()))),
        }
    }

    /// A duration: a number of seconds (integer or float, as nats-server reads
    /// integers) or a Go-style string such as "2s", "500ms" or "1h30m".
    pub(super) fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        const EXPECTED: &str =
            "a duration such as \"2s\", \"500ms\" or \"1h30m\", or a number of seconds";
        let secs = |f: f64| Duration::try_from_secs_f64(f).map_err(|_| String::new());
        let d = match &v.kind {
            ValueKind::I64(n) => u64::try_from(*n)
                .map(Duration::from_secs)
                .map_err(|_| String::new()),
            ValueKind::U64(n) => Ok(Duration::from_secs(*n)),
            ValueKind::Float(f) => secs(*f),
            ValueKind::String(s) => {
                let t = s.trim();
                if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    t.parse::<f64>().map_err(|_| String::new()).and_then(secs)
                } else {
                    units::parse_duration(t)
                }
            }
            _ => Err(String::new()),
        };
        match d {
            Ok(d) => Ok(Some(d)),
            Err(detail) if detail.is_empty() => Err(self.invalid(key, v, EXPECTED)),
            Err(detail) => Err(self.invalid(key, v, format!("{EXPECTED} ({detail})"))),
        }
    }
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Merged, canonical keys → `Config`, with nats-server's rules: a zero limit or
/// duration means "the default", port 0 means 4222, the monitoring host follows the
/// client host unless set, and the checks nats-server makes at startup.
fn convert(map: &Map<String, Value>) -> Result<Config, ConfigError> {
    let r = Reader { map, prefix: "" };
    let d = Config::default();
    let mut c = Config::default();
    const I32_MAX: i64 = i32::MAX as i64;

    if let Some(h) = r.text("host", "a host name or address")? {
        c.host = h;
    }
    if let Some(p) = r.int("port", -1..=65535)? {
        c.port = if p == 0 { d.port } else { p as i32 };
    }
    match r.text("http_host", "a host name or address")? {
        Some(h) => c.http_host = h,
        None if r.get("host").is_some() => c.http_host = c.host.clone(),
        None => {}
    }
    if let Some(p) = r.int("http_port", -1..=65535)? {
        c.http_port = p as i32;
    }
    if let Some(name) = r.string("server_name")? {
        c.server_name = Some(name).filter(|n| !n.is_empty());
    }
    if let Some(dir) = r.text("store_dir", "a directory path")? {
        c.store_dir = dir;
    }
    if let Some(n) = r.size("max_payload", 0..=I32_MAX)? {
        c.max_payload = if n == 0 { d.max_payload } else { to_u32(n) };
    }
    if let Some(n) = r.size("max_control_line", 0..=I32_MAX)? {
        c.max_control_line = if n == 0 {
            d.max_control_line
        } else {
            to_u32(n)
        };
    }
    if let Some(n) = r.size("max_pending", 0..=i64::MAX)? {
        c.max_pending = if n == 0 {
            d.max_pending
        } else {
            n.unsigned_abs()
        };
    }
    if let Some(n) = r.int("max_connections", 0..=i64::from(u32::MAX))? {
        c.max_connections = if n == 0 { d.max_connections } else { to_u32(n) };
    }
    if let Some(n) = r.int("max_subscriptions", 0..=i64::from(u32::MAX))? {
        c.max_subscriptions = to_u32(n);
    }
    if let Some(n) = r.int("ping_max", 0..=i64::from(u32::MAX))? {
        c.ping_max = if n == 0 { d.ping_max } else { to_u32(n) };
    }
    let or_default = |v: Duration, default: Duration| if v.is_zero() { default } else { v };
    if let Some(v) = r.duration("write_deadline")? {
        c.write_deadline = or_default(v, d.write_deadline);
    }
    if let Some(v) = r.duration("ping_interval")? {
        c.ping_interval = or_default(v, d.ping_interval);
    }
    let auth_timeout = r.duration("auth_timeout")?.filter(|v| !v.is_zero());
    if let Some(v) = r.duration("lame_duck_duration")? {
        if !v.is_zero() && v < Duration::from_secs(30) {
            if let Some(raw) = r.get("lame_duck_duration") {
                return Err(r.invalid(
                    "lame_duck_duration",
                    raw,
                    "at least 30s (the minimum nats-server allows)",
                ));
            }
        }
        c.lame_duck_duration = or_default(v, d.lame_duck_duration);
    }
    if let Some(v) = r.duration("lame_duck_grace_period")? {
        c.lame_duck_grace_period = or_default(v, d.lame_duck_grace_period);
    }
    if let Some(b) = r.boolean("debug")? {
        c.debug = b;
    }
    if let Some(b) = r.boolean("trace")? {
        c.trace = b;
    }
    if let Some(b) = r.boolean("log_time")? {
        c.log_time = b;
    }
    if let Some(f) = r.string("log_file")? {
        c.log_file = Some(f).filter(|f| !f.is_empty());
    }
    if let Some(f) = r.string("pid_file")? {
        c.pid_file = Some(f).filter(|f| !f.is_empty());
    }
    c.auth = super::auth::read(map)?;
    for root in ["leafnodes", "leaf"] {
        if let Some(v) = r.get(root) {
            c.leaf = super::leaf::read(root, v, &c.auth.accounts)?;
        }
    }
    if let Some(v) = r.get("uplink") {
        c.uplinks = super::uplink::read("uplink", v, &c.auth.accounts)?;
    }

    if r.boolean(JETSTREAM_ENABLED)? == Some(true) {
        // Checked per source by `jetstream_block`; -1 (nats-server's "not set") is None.
        let limit = |k: &str| -> Result<Option<u64>, ConfigError> {
            Ok(r.size(k, -1..=i64::MAX)?
                .and_then(|n| u64::try_from(n).ok()))
        };
        let d = JetStreamConfig::default();
        c.jetstream = Some(JetStreamConfig {
            max_memory: limit(JS_MAX_MEMORY)?,
            max_file: limit(JS_MAX_FILE)?,
            domain: r.string(JS_DOMAIN)?,
            sync_before_ack: r.boolean(JS_SYNC_BEFORE_ACK)?.unwrap_or(d.sync_before_ack),
            cache_size: limit(JS_CACHE_SIZE)?
                .filter(|n| *n > 0)
                .unwrap_or(d.cache_size),
        });
    }

    let file_tls = r.get("tls").map(tls_config).transpose()?;
    c.tls = apply_tls_flags(&r, file_tls)?;
    // nats-server gives TLS clients the handshake timeout plus a second to authenticate.
    // `authorization { timeout }` wins over `auth_timeout`, as in nats-server.
    c.auth_timeout = match (c.auth.timeout.or(auth_timeout), &c.tls) {
        (Some(v), _) => v,
        (None, Some(tls)) => tls.timeout + Duration::from_secs(1),
        (None, None) => d.auth_timeout,
    };
    if let Some(p) = r.int("https_port", -1..=65535)? {
        c.https_port = p as i32;
    }
    if c.https_port != 0 {
        // edgeleaf serves plain monitoring by default (nats-server does not): HTTPS
        // replaces that default, but both set explicitly is nats-server's error.
        if r.get("http_port").is_some() && c.http_port != 0 {
            return Err(ConfigError::Conflict(format!(
                "can't specify both HTTP ({}) and HTTPs ({}) ports",
                c.http_port, c.https_port
            )));
        }
        c.http_port = 0;
        if c.tls.is_none() {
            return Err(ConfigError::Conflict(format!(
                "TLS cert and key required for HTTPS (https_port {}): add a tls block with cert_file and key_file, or --tlscert and --tlskey",
                c.https_port
            )));
        }
    }

    if c.lame_duck_grace_period >= c.lame_duck_duration {
        return Err(ConfigError::Conflict(format!(
            "lame_duck_grace_period ({:?}) must be shorter than lame_duck_duration ({:?})",
            c.lame_duck_grace_period, c.lame_duck_duration
        )));
    }
    // nats-server's own wording for this check.
    if u64::from(c.max_payload) > c.max_pending {
        return Err(ConfigError::Conflict(format!(
            "max_payload ({}) cannot be higher than max_pending ({})",
            c.max_payload, c.max_pending
        )));
    }
    if let Some(u) = c.uplinks.first() {
        if c.jetstream.is_none() {
            return Err(ConfigError::Conflict(format!(
                "uplink of stream {:?}: an uplink forwards a JetStream stream, but JetStream is off (add `jetstream: enabled` or -js)",
                u.stream
            )));
        }
        if c.leaf.remotes.is_empty() {
            return Err(ConfigError::Conflict(format!(
                "uplink of stream {:?}: an uplink forwards to the cloud over a leaf node connection, but `leafnodes {{ remotes: [...] }}` has none",
                u.stream
            )));
        }
    }
    Ok(c)
}

/// The merged `tls { }` block → `TlsConfig`, with nats-server's rules: both files are
/// needed, `verify_and_map` implies `verify`, a zero timeout means the default.
fn tls_config(v: &Value) -> Result<TlsConfig, ConfigError> {
    let ValueKind::Table(map) = &v.kind else {
        return Err(ConfigError::InvalidValue {
            key: "tls".into(),
            origin: where_of(v, "configuration"),
            expected: "a block { cert_file: ..., key_file: ... }".into(),
            found: describe(v),
        });
    };
    let r = Reader {
        map,
        prefix: "tls.",
    };
    const FILE: &str = "a file name";
    let cert = r.text("cert_file", FILE)?;
    let key = r.text("key_file", FILE)?;
    let ca_file = r.text("ca_file", FILE)?;
    let verify_and_map = r.boolean("verify_and_map")?.unwrap_or(false);
    let verify = r.boolean("verify")?.unwrap_or(false) || verify_and_map;
    let timeout = r
        .duration("timeout")?
        .filter(|t| !t.is_zero())
        .unwrap_or(TlsConfig::DEFAULT_TIMEOUT);
    // Merged blocks keep their entries' origins, not their own: name the file and line
    // of a setting in the block.
    let origin = v
        .origin()
        .or_else(|| map.values().find_map(Value::origin))
        .unwrap_or("configuration")
        .to_string();
    let (cert_file, key_file) = match (cert, key) {
        (Some(c), Some(k)) => (c, k),
        (c, k) => {
            let missing = match (c, k) {
                (None, None) => "'cert_file' and 'key_file'",
                (Some(_), None) => "'key_file'",
                _ => "'cert_file'",
            };
            return Err(ConfigError::Conflict(format!(
                "{origin}: missing {missing} in TLS configuration (the tls block needs the server certificate and its key)"
            )));
        }
    };
    Ok(TlsConfig {
        cert_file,
        key_file,
        ca_file,
        verify,
        verify_and_map,
        timeout,
    })
}

/// The `--tls*` flags as nats-server applies them (`overrideTLS`): `--tls=false` turns
/// TLS off whatever else is set; otherwise any TLS flag replaces certificate, key, CA and
/// verify with the flags' values (`--tlsverify` alone turns TLS on and verifies), keeping
/// only the file's `timeout` and `verify_and_map`.
fn apply_tls_flags(
    r: &Reader<'_>,
    file: Option<TlsConfig>,
) -> Result<Option<TlsConfig>, ConfigError> {
    let enable = r.boolean(TLS_FLAG_ENABLE)?;
    if enable == Some(false) {
        return Ok(None);
    }
    let verify = r.boolean(TLS_FLAG_VERIFY)?;
    let nonempty = |k: &str| -> Result<Option<String>, ConfigError> {
        Ok(r.string(k)?.filter(|s| !s.is_empty()))
    };
    let (cert, key, ca) = (
        nonempty(TLS_FLAG_CERT)?,
        nonempty(TLS_FLAG_KEY)?,
        nonempty(TLS_FLAG_CA)?,
    );
    let given: Vec<&str> = [
        TLS_FLAG_ENABLE,
        TLS_FLAG_VERIFY,
        TLS_FLAG_CERT,
        TLS_FLAG_KEY,
        TLS_FLAG_CA,
    ]
    .into_iter()
    .filter_map(|k| r.get(k).and_then(Value::origin))
    .collect();
    if given.is_empty() {
        return Ok(file);
    }
    let by = given.join(", ");
    let Some(cert_file) = cert else {
        return Err(ConfigError::Conflict(format!(
            "TLS Server certificate must be present and valid: {by} enables TLS, which needs --tlscert <file>"
        )));
    };
    let Some(key_file) = key else {
        return Err(ConfigError::Conflict(format!(
            "TLS Server private key must be present and valid: {by} enables TLS, which needs --tlskey <file>"
        )));
    };
    Ok(Some(TlsConfig {
        cert_file,
        key_file,
        ca_file: ca,
        verify: verify.unwrap_or(false),
        verify_and_map: file.as_ref().is_some_and(|f| f.verify_and_map),
        timeout: file.map_or(TlsConfig::DEFAULT_TIMEOUT, |f| f.timeout),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory per test (so tests can run in parallel), removed on drop.
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    fn temp_dir() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "edgeleaf-config-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }

    /// A command line as `std::env::args()` gives it: program name first.
    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once("edgeleaf")
            .chain(list.iter().copied())
            .map(str::to_string)
            .collect()
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(list: &[&str], pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        match Config::load_with_env(&args(list), &env(pairs))? {
            Invocation::Run(c) => Ok(c),
            other => panic!("expected Run, got {other:?}"),
        }
    }

    fn ok(list: &[&str], pairs: &[(&str, &str)]) -> Config {
        match run(list, pairs) {
            Ok(c) => c,
            Err(e) => panic!("{list:?} {pairs:?}: {e}"),
        }
    }

    fn fails(list: &[&str], pairs: &[(&str, &str)]) -> ConfigError {
        match run(list, pairs) {
            Ok(c) => panic!("{list:?} {pairs:?} loaded: {c:?}"),
            Err(e) => e,
        }
    }

    fn conf(text: &str) -> Result<Config, ConfigError> {
        let dir = temp_dir();
        let file = write(&dir, "edge.conf", text);
        run(&["-c", &file], &[])
    }

    fn conf_err(text: &str) -> String {
        match conf(text) {
            Ok(c) => panic!("{text:?} loaded: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_without_anything() {
        assert_eq!(ok(&[], &[]), Config::default());
        assert!(Config::default().log_time);
        // Not even a program name.
        assert_eq!(
            Config::load_with_env(&[], &env(&[])).ok(),
            Some(Invocation::Run(Config::default()))
        );
    }

    #[test]
    fn program_name_is_skipped() {
        let full = vec!["/usr/bin/edgeleaf".to_string(), "-p".into(), "4999".into()];
        match Config::load_with_env(&full, &env(&[])) {
            Ok(Invocation::Run(c)) => assert_eq!(c.port, 4999),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_and_help_skip_loading() {
        let a = args(&["-v", "-c", "/nonexistent.conf"]);
        assert_eq!(
            Config::load_with_env(&a, &env(&[])).ok(),
            Some(Invocation::Version)
        );
        match Config::load_with_env(&args(&["--help"]), &env(&[])) {
            Ok(Invocation::Help(text)) => assert!(text.contains("--config")),
            other => panic!("{other:?}"),
        }
        // Version wins over help, as in nats-server.
        assert_eq!(
            Config::load_with_env(&args(&["-h", "-v"]), &env(&[])).ok(),
            Some(Invocation::Version)
        );
    }

    #[test]
    fn realistic_nats_server_file() {
        let c = conf(
            "port: 4333\nhttp: 8333\nserver_name: edge1\nmax_payload: 2MB\nping_interval: \"30s\"\nwrite_deadline: \"5s\"\n# comment\n",
        )
        .expect("loads");
        assert_eq!(c.port, 4333);
        assert_eq!(c.http_port, 8333);
        assert_eq!(c.server_name.as_deref(), Some("edge1"));
        assert_eq!(c.max_payload, 2 * 1024 * 1024);
        assert_eq!(c.ping_interval, Duration::from_secs(30));
        assert_eq!(c.write_deadline, Duration::from_secs(5));
        assert_eq!(
            Config {
                port: 4333,
                http_port: 8333,
                server_name: Some("edge1".into()),
                max_payload: 2 * 1024 * 1024,
                ping_interval: Duration::from_secs(30),
                write_deadline: Duration::from_secs(5),
                ..Config::default()
            },
            c
        );
    }

    /// The same file must also pass `nats-server -t`, when nats-server is installed.
    #[test]
    fn nats_server_accepts_the_realistic_file() {
        let bin = Path::new("/usr/sbin/nats-server");
        if !bin.exists() {
            return;
        }
        let dir = temp_dir();
        let file = write(
            &dir,
            "edge.conf",
            "port: 4333\nhttp: 8333\nserver_name: edge1\nmax_payload: 2MB\nping_interval: \"30s\"\nwrite_deadline: \"5s\"\n# comment\nlisten: 127.0.0.1:4333\nmax_conn: 100\nlogtime: false\njetstream { store_dir: \"/tmp/x\" }\nlame_duck_duration: \"45s\"\n",
        );
        let out = std::process::Command::new(bin)
            .args(["-t", "-c", &file])
            .output()
            .expect("runs nats-server");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = ok(&["-c", &file], &[]);
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 4333));
        assert_eq!(c.max_connections, 100);
        assert!(!c.log_time);
        assert_eq!(c.store_dir, "/tmp/x");
        assert_eq!(c.jetstream, Some(JetStreamConfig::default()));
        assert_eq!(c.lame_duck_duration, Duration::from_secs(45));
    }

    #[test]
    fn every_accepted_key() {
        let c = conf(concat!(
            "listen: \"10.0.0.1:5000\"\n",
            "http: \"127.0.0.1:9000\"\n",
            "server_name: \"edge 7\"\n",
            "max_payload: 512KB\n",
            "max_control_line: 8KB\n",
            "max_pending: 32MB\n",
            "write_deadline: \"3s\"\n",
            "max_connections: 10\n",
            "max_subscriptions: 20\n",
            "ping_interval: 60\n",
            "ping_max: 4\n",
            "auth_timeout: 1.5\n",
            "lame_duck_duration: \"1m\"\n",
            "lame_duck_grace_period: \"5s\"\n",
            "debug: true\n",
            "trace: yes\n",
            "logtime: off\n",
            "log_file: \"/var/log/edge.log\"\n",
            "pid_file: /run/edge.pid\n",
            "store_dir: /var/lib/edge\n",
        ))
        .expect("loads");
        let want = Config {
            host: "10.0.0.1".into(),
            port: 5000,
            http_host: "127.0.0.1".into(),
            http_port: 9000,
            server_name: Some("edge 7".into()),
            store_dir: "/var/lib/edge".into(),
            max_payload: 512 * 1024,
            max_control_line: 8 * 1024,
            max_pending: 32 * 1024 * 1024,
            write_deadline: Duration::from_secs(3),
            max_connections: 10,
            max_subscriptions: 20,
            ping_interval: Duration::from_secs(60),
            ping_max: 4,
            auth_timeout: Duration::from_millis(1500),
            lame_duck_duration: Duration::from_secs(60),
            lame_duck_grace_period: Duration::from_secs(5),
            debug: true,
            trace: true,
            log_time: false,
            log_file: Some("/var/log/edge.log".into()),
            pid_file: Some("/run/edge.pid".into()),
            auth: Default::default(),
            https_port: 0,
            tls: None,
            leaf: Default::default(),
            jetstream: None,
            uplinks: Vec::new(),
        };
        assert_eq!(c, want);
    }

    #[test]
    fn aliases_and_case_insensitive_keys() {
        let c = conf("NET: 10.1.1.1\nPort: 4999\nmonitor_port: 9100\nmax_conn: 7\nmax_subs: 8\nlogfile: a.log\npidfile: a.pid\nstoredir: /s\n")
            .expect("loads");
        assert_eq!(c.host, "10.1.1.1");
        // The monitoring host follows the client host unless set, as in nats-server.
        assert_eq!(c.http_host, "10.1.1.1");
        assert_eq!((c.port, c.http_port), (4999, 9100));
        assert_eq!((c.max_connections, c.max_subscriptions), (7, 8));
        assert_eq!(c.log_file.as_deref(), Some("a.log"));
        assert_eq!(c.pid_file.as_deref(), Some("a.pid"));
        assert_eq!(c.store_dir, "/s");
        let c = conf("host: h1\naddr: h1\nhttp_host: 127.0.0.1\nhttp_port: 0\n").expect("loads");
        assert_eq!(
            (c.host.as_str(), c.http_host.as_str(), c.http_port),
            ("h1", "127.0.0.1", 0)
        );
    }

    #[test]
    fn listen_forms() {
        let c = conf("listen: 4555\n").expect("int");
        assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 4555));
        let c = conf("listen: \":4556\"\n").expect(":port");
        assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 4556));
        let c = conf("listen: \"4557\"\n").expect("port string");
        assert_eq!(c.port, 4557);
        let c = conf("listen: 127.0.0.1:4558\n").expect("bare host:port");
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 4558));
        let c = conf("listen: \"[::1]:4559\"\n").expect("v6");
        assert_eq!((c.host.as_str(), c.port), ("::1", 4559));
        // An explicit port beats the port inside listen.
        let c = conf("listen: 127.0.0.1:4558\nport: 4600\n").expect("both");
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 4600));
        let c = conf("http: 8444\n").expect("http int");
        assert_eq!((c.http_host.as_str(), c.http_port), ("0.0.0.0", 8444));
        let c = conf("port: 0\n").expect("zero port");
        assert_eq!(c.port, 4222);
        let c = conf("port: -1\n").expect("random port");
        assert_eq!(c.port, -1);
        for bad in [
            "listen: \"a:b:c\"\n",
            "listen: \"host\"\n",
            "listen: 70000\n",
            "listen: [1]\n",
            "http: true\n",
        ] {
            let e = conf_err(bad);
            assert!(
                e.contains("invalid value for `listen`") || e.contains("invalid value for `http`"),
                "{e}"
            );
        }
    }

    #[test]
    fn zero_means_default_like_nats() {
        let c = conf("max_payload: 0\nmax_pending: 0\nmax_connections: 0\nping_max: 0\nping_interval: 0\nwrite_deadline: \"0s\"\nauth_timeout: 0\nmax_control_line: 0\nlame_duck_duration: 0\nlame_duck_grace_period: 0\n")
            .expect("loads");
        assert_eq!(c, Config::default());
    }

    #[test]
    fn durations_in_every_form() {
        for (text, want) in [
            ("ping_interval: 45\n", Duration::from_secs(45)),
            ("ping_interval: 0.5\n", Duration::from_millis(500)),
            ("ping_interval: \"2s\"\n", Duration::from_secs(2)),
            ("ping_interval: 2s\n", Duration::from_secs(2)),
            ("ping_interval: \"500ms\"\n", Duration::from_millis(500)),
            ("ping_interval: 500ms\n", Duration::from_millis(500)),
            ("ping_interval: \"1m\"\n", Duration::from_secs(60)),
            ("ping_interval: \"1h30m\"\n", Duration::from_secs(5400)),
            ("ping_interval: 1h30m\n", Duration::from_secs(5400)),
            ("ping_interval: '1m30s'\n", Duration::from_secs(90)),
        ] {
            assert_eq!(
                conf(text).map(|c| c.ping_interval).ok(),
                Some(want),
                "{text}"
            );
        }
        let e = conf_err("port: 4222\nwrite_deadline: \"soon\"\n");
        assert!(e.contains("edge.conf:2"), "{e}");
        assert!(e.contains("write_deadline"), "{e}");
        assert!(e.contains("\"soon\""), "{e}");
        let e = conf_err("auth_timeout: -1\n");
        assert!(e.contains("auth_timeout"), "{e}");
        let e = conf_err("auth_timeout: \"-1s\"\n");
        assert!(e.contains("negative"), "{e}");
        let e = conf_err("lame_duck_duration: \"10s\"\n");
        assert!(e.contains("at least 30s"), "{e}");
        let e = conf_err("lame_duck_duration: \"40s\"\nlame_duck_grace_period: \"40s\"\n");
        assert!(e.contains("lame_duck_grace_period"), "{e}");
    }

    #[test]
    fn sizes_in_every_form() {
        for (text, want) in [
            ("max_payload: 1048576\n", 1 << 20),
            ("max_payload: 1MB\n", 1 << 20),
            ("max_payload: \"1MB\"\n", 1 << 20),
            ("max_payload: \"512kb\"\n", 512 << 10),
            ("max_payload: 1M\n", 1_000_000),
            ("max_payload: 2k\n", 2000),
        ] {
            assert_eq!(conf(text).map(|c| c.max_payload).ok(), Some(want), "{text}");
        }
        let c = conf("max_pending: \"64MB\"\n").expect("pending");
        assert_eq!(c.max_pending, 64 << 20);
        let e = conf_err("max_payload: 4GB\n");
        assert!(e.contains("max_payload"), "{e}");
        let e = conf_err("max_payload: -5\n");
        assert!(e.contains("max_payload"), "{e}");
        let e = conf_err("max_payload: \"lots\"\n");
        assert!(e.contains("\"lots\""), "{e}");
        let e = conf_err("max_payload: 1.5\n");
        assert!(e.contains("the number 1.5"), "{e}");
    }

    #[test]
    fn max_payload_must_fit_max_pending() {
        let e = conf_err("max_payload: 8MB\nmax_pending: 4MB\n");
        assert_eq!(
            e,
            "invalid configuration: max_payload (8388608) cannot be higher than max_pending (4194304)"
        );
        conf("max_payload: 4MB\nmax_pending: 4MB\n").expect("equal is fine");
    }

    #[test]
    fn ports_are_range_checked() {
        for text in [
            "port: 65536\n",
            "port: -2\n",
            "http_port: 70000\n",
            "port: \"x\"\n",
            "port: true\n",
        ] {
            let e = conf_err(text);
            assert!(e.contains("from -1 to 65535"), "{text}: {e}");
        }
        let e = fails(&["-p", "99999"], &[]);
        assert_eq!(
            e.to_string(),
            "flag -p: invalid value for `port`: expected an integer from -1 to 65535, found \"99999\""
        );
    }

    #[test]
    fn type_errors_name_key_and_line() {
        let e = conf_err("port: 4222\n\nserver_name: 5\n");
        assert!(e.contains("edge.conf:3"), "{e}");
        assert!(e.contains("`server_name`"), "{e}");
        assert!(e.contains("expected a string"), "{e}");
        assert!(e.contains("the integer 5"), "{e}");
        let e = conf_err("debug: \"perhaps\"\n");
        assert!(e.contains("`debug`"), "{e}");
        let e = conf_err("store_dir: \"\"\n");
        assert!(e.contains("`store_dir`"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named_with_file_and_line() {
        let e = conf_err("port: 4222\nprot: 4333\n");
        assert!(e.contains("unknown configuration key `prot`"), "{e}");
        assert!(e.contains("edge.conf:2"), "{e}");
        let e = conf_err("jetstream { store_dir: /d, stor_dir: /e }\n");
        assert!(e.contains("`jetstream.stor_dir`"), "{e}");
        // A key used as a $variable is a definition, as nats-server treats it.
        let c = conf("SIZE: 4MB\nmax_payload: $SIZE\njetstream { DIR: /x, store_dir: $DIR }\n")
            .expect("variables");
        assert_eq!(c.max_payload, 4 << 20);
        assert_eq!(c.store_dir, "/x");
        // ... but an unused one is still unknown.
        let e = conf_err("SIZE: 4MB\n");
        assert!(e.contains("`SIZE`"), "{e}");
    }

    #[test]
    fn unsupported_keys_are_rejected_by_name() {
        for (text, key) in [
            ("system_account: SYS\n", "system_account"),
            ("allow_non_tls: true\n", "allow_non_tls"),
            (
                "tls { cert_file: a, key_file: b, cipher_suites: [x] }\n",
                "tls.cipher_suites",
            ),
            ("tls { pinned_certs: [] }\n", "tls.pinned_certs"),
            ("tls { insecure: true }\n", "tls.insecure"),
            ("cluster { port: 6222 }\n", "cluster"),
            ("gateway { port: 7222 }\n", "gateway"),
            ("leafnodes { port: 7422 }\n", "leafnodes.port"),
            ("leaf { listen: \"0.0.0.0:7422\" }\n", "leaf.listen"),
            ("websocket { port: 8080 }\n", "websocket"),
            ("mqtt { port: 1883 }\n", "mqtt"),
            (
                "jetstream { max_memory_store: 1GB, key: s3cret }\n",
                "jetstream.key",
            ),
            ("jetstream { ek: s3cret }\n", "jetstream.ek"),
            ("jetstream { cipher: aes }\n", "jetstream.cipher"),
            (
                "jetstream { extension_hint: will_extend }\n",
                "jetstream.extension_hint",
            ),
            ("jetstream { unique_tag: az }\n", "jetstream.unique_tag"),
            (
                "jetstream { max_outstanding_catchup: 1MB }\n",
                "jetstream.max_outstanding_catchup",
            ),
            (
                "jetstream { limits { max_ack_pending: 5 } }\n",
                "jetstream.limits",
            ),
        ] {
            let e = conf_err(text);
            assert!(e.contains(&format!("`{key}`")), "{text}: {e}");
            assert!(e.contains("not supported yet"), "{text}: {e}");
            assert!(e.contains("edge.conf:1"), "{text}: {e}");
        }
        for key in ["key", "encryption_key", "ek", "cipher"] {
            let e = conf_err(&format!("jetstream {{ {key}: x }}\n"));
            assert!(e.contains("encrypted JetStream storage"), "{key}: {e}");
        }
        // Never the key's value in the message.
        assert!(!conf_err("jetstream { key: s3cret }\n").contains("s3cret"));
    }

    #[test]
    fn store_dir_twice_is_an_error() {
        let e = conf_err("store_dir: /a\njetstream { store_dir: /b }\n");
        assert!(e.contains("store_dir is set more than once"), "{e}");
        let c = conf("jetstream {\n  store_dir: \"/b\"\n}\n").expect("block");
        assert_eq!(c.store_dir, "/b");
        // A block turns JetStream on, as in nats-server.
        assert_eq!(c.jetstream, Some(JetStreamConfig::default()));
        let e = conf_err("jetstream { store_dir: /a, store: /b }\n");
        assert!(e.contains("store_dir is set more than once"), "{e}");
    }

    fn js(text: &str) -> Option<JetStreamConfig> {
        conf(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .jetstream
    }

    #[test]
    fn jetstream_is_off_by_default() {
        assert_eq!(Config::default().jetstream, None);
        assert_eq!(js("port: 4222\n"), None);
        // A store_dir alone does not turn it on (nor does -sd).
        assert_eq!(js("store_dir: /x\n"), None);
        assert_eq!(ok(&["-sd", "/x"], &[]).jetstream, None);
    }

    #[test]
    fn jetstream_every_spelling_on_and_off() {
        let on = Some(JetStreamConfig::default());
        for text in [
            "jetstream: enabled\n",
            "jetstream: enable\n",
            "jetstream: Enabled\n",
            "jetstream: \"enabled\"\n",
            "jetstream: true\n",
            "jetstream: \"true\"\n",
            "jetstream: yes\n",
            "jetstream: on\n",
            "JetStream: enabled\n",
            "jetstream {}\n",
            "jetstream { store_dir: /x }\n",
            "jetstream { enabled: true }\n",
            "jetstream { enable: true }\n",
            "jetstream { Enabled: \"yes\" }\n",
            "jetstream: { max_mem: -1 }\n",
        ] {
            assert_eq!(js(text), on, "{text}");
        }
        for text in [
            "jetstream: disabled\n",
            "jetstream: disable\n",
            "jetstream: \"DISABLED\"\n",
            "jetstream: false\n",
            "jetstream: no\n",
            "jetstream: off\n",
            "jetstream { enabled: false }\n",
            "jetstream { enable: false, max_mem: 1G, domain: hub }\n",
        ] {
            assert_eq!(js(text), None, "{text}");
        }
        // The store_dir of a disabled block still counts.
        let c = conf("jetstream { enabled: false, store_dir: /d }\n").expect("off");
        assert_eq!((c.jetstream, c.store_dir.as_str()), (None, "/d"));
        for (text, found) in [
            ("jetstream: 5\n", "the integer 5"),
            ("jetstream: maybe\n", "\"maybe\""),
            ("jetstream: [true]\n", "an array"),
        ] {
            let e = conf_err(text);
            assert!(e.contains("invalid value for `jetstream`"), "{e}");
            assert!(e.contains("edge.conf:1") && e.contains(found), "{e}");
        }
        let e = conf_err("jetstream { enabled: maybe }\n");
        assert!(e.contains("invalid value for `jetstream.enabled`"), "{e}");
        // Twice in one file, under two spellings of the key.
        let e = conf_err("jetstream: enabled\nJETSTREAM { max_mem: 1G }\n");
        assert!(e.contains("jetstream is set more than once"), "{e}");
    }

    #[test]
    fn jetstream_block_with_limits() {
        let c = conf(concat!(
            "jetstream {\n",
            "  store_dir: /var/lib/edge\n",
            "  max_memory_store: 1GB\n",
            "  max_file_store: \"10GB\"\n",
            "  domain: edge-7\n",
            "  sync_before_ack: false\n",
            "  cache_size: 128MB\n",
            "}\n",
        ))
        .expect("loads");
        assert_eq!(c.store_dir, "/var/lib/edge");
        assert_eq!(
            c.jetstream,
            Some(JetStreamConfig {
                max_memory: Some(1 << 30),
                max_file: Some(10 << 30),
                domain: Some("edge-7".into()),
                sync_before_ack: false,
                cache_size: 128 << 20,
            })
        );
        // nats-server's aliases, plain numbers, and its -1 for "not set".
        let j = js("jetstream { max_mem_store: 1048576, max_file: 2k }\n").expect("on");
        assert_eq!((j.max_memory, j.max_file), (Some(1 << 20), Some(2000)));
        let j = js("jetstream { MAX_MEM: 5MB, max_file_store: -1 }\n").expect("on");
        assert_eq!((j.max_memory, j.max_file), (Some(5 << 20), None));
        // 0 is a real limit (no storage of that kind), as in nats-server ...
        let j = js("jetstream { max_memory_store: 0 }\n").expect("on");
        assert_eq!(j.max_memory, Some(0));
        // ... while a zero cache size means the default, like edgeleaf's other sizes.
        let j = js("jetstream { cache_size: 0, sync_before_ack: yes }\n").expect("on");
        assert_eq!(j.cache_size, JetStreamConfig::DEFAULT_CACHE_SIZE);
        assert!(j.sync_before_ack);
        assert_eq!(JetStreamConfig::DEFAULT_CACHE_SIZE, 16 << 20);
        for (text, key) in [
            (
                "jetstream {\n  max_file_store: lots\n}\n",
                "jetstream.max_file_store",
            ),
            ("jetstream {\n  max_mem: -2\n}\n", "jetstream.max_mem"),
            ("jetstream {\n  max_mem: 1.5\n}\n", "jetstream.max_mem"),
            ("jetstream {\n  cache_size: -1\n}\n", "jetstream.cache_size"),
            (
                "jetstream {\n  sync_before_ack: later\n}\n",
                "jetstream.sync_before_ack",
            ),
        ] {
            let e = conf_err(text);
            assert!(e.contains(&format!("invalid value for `{key}`")), "{e}");
            assert!(e.contains("edge.conf:2"), "{e}");
        }
        // One setting under two of its names.
        let e = conf_err("jetstream {\n  max_mem: 1G\n  max_memory_store: 2G\n}\n");
        assert!(e.contains("set more than once"), "{e}");
        let e = conf_err("jetstream { domian: x }\n");
        assert!(
            e.contains("unknown configuration key `jetstream.domian`"),
            "{e}"
        );
    }

    #[test]
    fn jetstream_domain_is_one_subject_token() {
        for bad in [
            "\"\"",
            "\"a.b\"",
            "\"hub.*\"",
            "\"a>\"",
            "\">\"",
            "\"a b\"",
            "\"a\\tb\"",
            "5",
        ] {
            let text = format!("port: 4222\njetstream {{\n  domain: {bad}\n}}\n");
            let e = conf_err(&text);
            assert!(e.contains("invalid value for `jetstream.domain`"), "{e}");
            assert!(e.contains("edge.conf:3"), "{e}");
            assert!(e.contains("one subject token"), "{e}");
        }
        // The key as written.
        let e = conf_err("JetStream { Domain: \"a.b\" }\n");
        assert!(e.contains("`JetStream.Domain`"), "{e}");
        let j = js("jetstream { domain: \"HUB_1-$x\" }\n").expect("on");
        assert_eq!(j.domain.as_deref(), Some("HUB_1-$x"));
    }

    #[test]
    fn jetstream_flags_and_precedence() {
        let c = ok(&["-js", "--store_dir", "x"], &[]);
        assert_eq!(c.jetstream, Some(JetStreamConfig::default()));
        assert_eq!(c.store_dir, "x");
        assert_eq!(
            ok(&["--jetstream"], &[]).jetstream,
            Some(JetStreamConfig::default())
        );
        let dir = temp_dir();
        // The file says off, the flag on: on, with the file's settings.
        let off = write(
            &dir,
            "off.conf",
            "jetstream { enabled: false, max_mem: 1G, domain: hub }\n",
        );
        let j = ok(&["-c", &off, "-js"], &[]).jetstream.expect("on");
        // "1G" is 10^9 in nats' size syntax ("1GB" is 2^30).
        assert_eq!(
            (j.max_memory, j.domain.as_deref()),
            (Some(1_000_000_000), Some("hub"))
        );
        let off = write(&dir, "off2.conf", "jetstream: disabled\n");
        assert!(ok(&["-c", &off, "-js"], &[]).jetstream.is_some());
        assert!(ok(&["-c", &off], &[("EDGELEAF_JETSTREAM", "on")])
            .jetstream
            .is_some());
        // ... and the other way round.
        let on = write(&dir, "on.conf", "jetstream { max_file: 1G }\n");
        assert!(ok(&["-c", &on], &[]).jetstream.is_some());
        assert_eq!(ok(&["-c", &on, "-js=false"], &[]).jetstream, None);
        assert_eq!(
            ok(&["-c", &on], &[("EDGELEAF_JETSTREAM", "false")]).jetstream,
            None
        );
        // The environment beats the file, the flag beats the environment.
        assert!(ok(&["-js"], &[("EDGELEAF_JETSTREAM", "false")])
            .jetstream
            .is_some());
        // Only the switch comes from flags and the environment: its settings are
        // not top-level keys.
        let e = conf_err("jetstream_enabled: true\n");
        assert!(
            e.contains("unknown configuration key `jetstream_enabled`"),
            "{e}"
        );
        let e = conf_err("max_memory_store: 1G\n");
        assert!(e.contains("`max_memory_store`"), "{e}");
    }

    #[test]
    fn jetstream_in_toml() {
        let dir = temp_dir();
        let load = |name: &str, text: &str| {
            let file = write(&dir, name, text);
            run(&["-c", &file], &[])
        };
        let c = load("a.toml", "jetstream = true\n").expect("bool");
        assert_eq!(c.jetstream, Some(JetStreamConfig::default()));
        let c = load("b.toml", "jetstream = \"enabled\"\n").expect("string");
        assert!(c.jetstream.is_some());
        let c = load("c.toml", "jetstream = false\n").expect("off");
        assert_eq!(c.jetstream, None);
        let c = load(
            "d.toml",
            "[jetstream]\nstore_dir = \"/js\"\nmax_memory_store = \"1GB\"\nmax_file_store = 1073741824\ndomain = \"hub\"\nsync_before_ack = false\ncache_size = \"32MB\"\n",
        )
        .expect("table");
        assert_eq!(c.store_dir, "/js");
        assert_eq!(
            c.jetstream,
            Some(JetStreamConfig {
                max_memory: Some(1 << 30),
                max_file: Some(1 << 30),
                domain: Some("hub".into()),
                sync_before_ack: false,
                cache_size: 32 << 20,
            })
        );
        let c = load(
            "e.toml",
            "[jetstream]\nenabled = false\nstore_dir = \"/js\"\n",
        )
        .expect("table off");
        assert_eq!((c.jetstream, c.store_dir.as_str()), (None, "/js"));
        let c = load("f.toml", "[jetstream]\nenabled = true\n").expect("table on");
        assert!(c.jetstream.is_some());
        let e = load("g.toml", "[jetstream]\ndomain = \"a.b\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`jetstream.domain`") && e.contains("g.toml"),
            "{e}"
        );
        let e = load("h.toml", "[jetstream]\nkey = \"k\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("encrypted JetStream storage"), "{e}");
    }

    #[test]
    fn jetstream_accounts() {
        let c = conf(concat!(
            "jetstream: enabled\n",
            "accounts {\n",
            "  App: { jetstream: enabled, users: [ {user: a, password: b} ] }\n",
            "  BLOCK: { jetstream: { max_mem: 1G, max_file: 10G, max_streams: 10, max_consumers: 100 } }\n",
            "  off: { jetstream: disabled }\n",
            "  t: { jetstream: true }\n",
            "  f: { jetstream: false }\n",
            "  plain: { users: [ {user: c, password: d} ] }\n",
            "}\n",
        ))
        .expect("loads");
        let mut names = c.auth.jetstream_accounts.clone();
        names.sort();
        assert_eq!(names, ["App", "BLOCK", "t"]);
        assert_eq!(c.auth.accounts.len(), 6);
        assert_eq!(c.auth.users.len(), 2);
        // Collected whether or not JetStream is on for the server.
        let c = conf("accounts { A: { jetstream: enabled } }\n").expect("loads");
        assert_eq!(c.auth.jetstream_accounts, ["A"]);
        assert_eq!(c.jetstream, None);
        assert!(conf("accounts { A: {} }\n")
            .expect("loads")
            .auth
            .jetstream_accounts
            .is_empty());
        let dir = temp_dir();
        let file = write(
            &dir,
            "a.toml",
            "[accounts.APP]\njetstream = \"enabled\"\n[accounts.B.jetstream]\nmax_mem = \"1G\"\n",
        );
        let mut names = ok(&["-c", &file], &[]).auth.jetstream_accounts;
        names.sort();
        assert_eq!(names, ["APP", "B"]);
    }

    /// nats-server accepts the JetStream settings edgeleaf shares with it.
    #[test]
    fn nats_server_accepts_the_jetstream_file() {
        let bin = Path::new("/usr/sbin/nats-server");
        if !bin.exists() {
            return;
        }
        let dir = temp_dir();
        let text = format!(
            "jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 1GB\n  max_file_store: 10GB\n  domain: edge\n}}\naccounts {{\n  APP: {{ jetstream: enabled, users: [ {{user: a, password: b}} ] }}\n  LIM: {{ jetstream: {{ max_mem: 1G, max_file: 1G, max_streams: 10 }} }}\n}}\n",
            dir.display()
        );
        let file = write(&dir, "js.conf", &text);
        let out = std::process::Command::new(bin)
            .args(["-t", "-c", &file])
            .output()
            .expect("runs nats-server");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = ok(&["-c", &file], &[]);
        let j = c.jetstream.expect("on");
        assert_eq!(
            (j.max_memory, j.max_file, j.domain.as_deref()),
            (Some(1 << 30), Some(10 << 30), Some("edge"))
        );
        let mut names = c.auth.jetstream_accounts;
        names.sort();
        assert_eq!(names, ["APP", "LIM"]);
    }

    #[test]
    fn parse_errors_carry_file_and_line() {
        let dir = temp_dir();
        let file = write(
            &dir,
            "bad.conf",
            "port: 4222\nhttp: 8222\nping_interval: 1m30s\n",
        );
        let e = fails(&["-c", &file], &[]);
        assert!(matches!(e, ConfigError::Parse(_)), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("{file}: Parse error on line 3: ")),
            "{msg}"
        );
        assert!(msg.contains("ping_interval"), "{msg}");
    }

    #[test]
    fn include_and_env_variables_in_files() {
        let dir = temp_dir();
        write(
            &dir,
            "limits.conf",
            "max_payload: 2MB\nmax_pending: $EDGE_TEST_PENDING\n",
        );
        let file = write(
            &dir,
            "main.conf",
            "include ./limits.conf\nserver_name: $EDGE_TEST_NAME\n",
        );
        let c = ok(
            &["-c", &file],
            &[("EDGE_TEST_NAME", "edge-9"), ("EDGE_TEST_PENDING", "8MB")],
        );
        assert_eq!(c.server_name.as_deref(), Some("edge-9"));
        assert_eq!(c.max_payload, 2 << 20);
        assert_eq!(c.max_pending, 8 << 20);
        let e = fails(&["-c", &file], &[]);
        assert!(e.to_string().contains("$EDGE_TEST_PENDING"), "{e}");
        assert!(e.to_string().contains("limits.conf"), "{e}");
    }

    #[test]
    fn toml_file() {
        let dir = temp_dir();
        let file = write(
            &dir,
            "edge.toml",
            "port = 4333\nhttp = \"127.0.0.1:8333\"\nserver_name = \"edge1\"\nmax_payload = \"2MB\"\nping_interval = \"30s\"\nwrite_deadline = 5\nlogtime = false\n[jetstream]\nstore_dir = \"/var/edge\"\n",
        );
        let c = ok(&["-c", &file], &[]);
        assert_eq!(c.port, 4333);
        assert_eq!((c.http_host.as_str(), c.http_port), ("127.0.0.1", 8333));
        assert_eq!(c.server_name.as_deref(), Some("edge1"));
        assert_eq!(c.max_payload, 2 << 20);
        assert_eq!(c.ping_interval, Duration::from_secs(30));
        assert_eq!(c.write_deadline, Duration::from_secs(5));
        assert!(!c.log_time);
        assert_eq!(c.store_dir, "/var/edge");
        assert_eq!(c.jetstream, Some(JetStreamConfig::default()));

        let bad = write(&dir, "bad.toml", "port = 4333\nprot = 1\n");
        let e = fails(&["-c", &bad], &[]).to_string();
        assert!(e.contains("unknown configuration key `prot`"), "{e}");
        assert!(e.contains("bad.toml"), "{e}");
        let broken = write(&dir, "broken.toml", "port = = 4\n");
        match fails(&["-c", &broken], &[]) {
            ConfigError::Toml { file, message } => {
                assert!(file.contains("broken.toml"));
                assert!(message.contains('1'), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let tls = write(
            &dir,
            "tls.toml",
            "[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nverify = true\ntimeout = \"1.5s\"\n",
        );
        let t = ok(&["-c", &tls], &[]).tls.expect("tls");
        assert_eq!(
            (t.cert_file.as_str(), t.key_file.as_str()),
            ("c.pem", "k.pem")
        );
        assert!(t.verify);
        assert_eq!(t.timeout, Duration::from_millis(1500));
    }

    #[test]
    fn missing_config_file() {
        match fails(&["-c", "/nonexistent/edge.conf"], &[]) {
            e @ ConfigError::Read { .. } => {
                assert!(e.to_string().contains("/nonexistent/edge.conf"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let dir = temp_dir();
        let d = dir.0.display().to_string();
        assert!(matches!(fails(&["-c", &d], &[]), ConfigError::Read { .. }));
    }

    #[test]
    fn file_without_extension_is_nats_syntax() {
        let dir = temp_dir();
        let file = write(&dir, "edgeleaf", "port 4777\n");
        assert_eq!(ok(&["-c", &file], &[]).port, 4777);
    }

    #[test]
    fn precedence_defaults_file_env_flags() {
        let dir = temp_dir();
        let file = write(
            &dir,
            "edge.conf",
            "port: 1111\nserver_name: from-file\nmax_payload: 1KB\nhost: 10.0.0.1\ndebug: true\n",
        );
        // File over defaults.
        let c = ok(&["-c", &file], &[]);
        assert_eq!(
            (c.port, c.server_name.as_deref()),
            (1111, Some("from-file"))
        );
        assert_eq!(c.ping_max, Config::default().ping_max);
        // Environment over file.
        let e = [
            ("EDGELEAF_PORT", "2222"),
            ("EDGELEAF_SERVER_NAME", "from-env"),
        ];
        let c = ok(&["-c", &file], &e);
        assert_eq!((c.port, c.server_name.as_deref()), (2222, Some("from-env")));
        assert_eq!(c.max_payload, 1024);
        // Flags over environment.
        let c = ok(&["-c", &file, "-p", "3333"], &e);
        assert_eq!((c.port, c.server_name.as_deref()), (3333, Some("from-env")));
        let c = ok(
            &[
                "-c",
                &file,
                "--name=from-flag",
                "-a",
                "127.0.0.1",
                "-D=false",
            ],
            &e,
        );
        assert_eq!(c.server_name.as_deref(), Some("from-flag"));
        assert_eq!(c.host, "127.0.0.1");
        assert!(!c.debug);
        // A later layer's listen beats an earlier layer's port.
        let c = ok(&["-c", &file], &[("EDGELEAF_LISTEN", "127.0.0.2:5555")]);
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.2", 5555));
        // Later flags win over earlier ones.
        assert_eq!(ok(&["-p", "1", "--port", "2"], &[]).port, 2);
    }

    #[test]
    fn every_flag_reaches_config() {
        let c = ok(
            &[
                "-a",
                "127.0.0.9",
                "-p",
                "-1",
                "-m",
                "8999",
                "-n",
                "fl",
                "-sd=/flags",
                "-DV",
                "-l",
                "f.log",
                "-P",
                "f.pid",
                "-T=false",
            ],
            &[],
        );
        assert_eq!(c.host, "127.0.0.9");
        assert_eq!(c.http_host, "127.0.0.9");
        assert_eq!((c.port, c.http_port), (-1, 8999));
        assert_eq!(c.server_name.as_deref(), Some("fl"));
        assert_eq!(c.store_dir, "/flags");
        assert!(c.debug && c.trace && !c.log_time);
        assert_eq!(c.log_file.as_deref(), Some("f.log"));
        assert_eq!(c.pid_file.as_deref(), Some("f.pid"));
        let c = ok(
            &["--debug", "--trace", "--store_dir", "/x", "--http_port=0"],
            &[],
        );
        assert!(c.debug && c.trace);
        assert_eq!((c.store_dir.as_str(), c.http_port), ("/x", 0));
    }

    #[test]
    fn environment_values_are_checked_and_named() {
        let c = ok(
            &[],
            &[
                ("EDGELEAF_DEBUG", "true"),
                ("EDGELEAF_MAX_PAYLOAD", "2MB"),
                ("EDGELEAF_PING_INTERVAL", "30s"),
                ("EDGELEAF_AUTH_TIMEOUT", "3"),
                ("EDGELEAF_STORE_DIR", "/env"),
                ("EDGELEAF_HTTP", "9222"),
                ("EDGELEAF_LOGTIME", "no"),
                ("OTHER_PORT", "1"),
            ],
        );
        assert!(c.debug && !c.log_time);
        assert_eq!(c.max_payload, 2 << 20);
        assert_eq!(c.ping_interval, Duration::from_secs(30));
        assert_eq!(c.auth_timeout, Duration::from_secs(3));
        assert_eq!(c.store_dir, "/env");
        assert_eq!(c.http_port, 9222);
        let e = fails(&[], &[("EDGELEAF_PORT", "abc")]).to_string();
        assert!(
            e.starts_with("environment variable EDGELEAF_PORT: invalid value for `port`"),
            "{e}"
        );
        // Other tools' EDGELEAF_* variables (e.g. EDGELEAF_AARCH64_BIN in the test
        // scripts) reach the broker too, so unknown ones are left alone...
        let c = ok(
            &[],
            &[("EDGELEAF_AARCH64_BIN", "x"), ("EDGELEAF_PROT", "1")],
        );
        assert_eq!(c, Config::default());
        // ... while a feature this build lacks is still refused.
        let e = fails(&[], &[("EDGELEAF_ALLOW_NON_TLS", "1")]).to_string();
        assert!(
            e.contains("EDGELEAF_ALLOW_NON_TLS") && e.contains("not supported yet"),
            "{e}"
        );
        // A block cannot come from one variable.
        let e = fails(&[], &[("EDGELEAF_TLS", "1")]).to_string();
        assert!(
            e.contains("EDGELEAF_TLS") && e.contains("expected a block"),
            "{e}"
        );
        // JetStream's switch is an ordinary key.
        let c = ok(&[], &[("EDGELEAF_JETSTREAM", "true")]);
        assert_eq!(c.jetstream, Some(JetStreamConfig::default()));
        let c = ok(&[], &[("EDGELEAF_JETSTREAM", "disabled")]);
        assert_eq!(c.jetstream, None);
        let e = fails(&[], &[("EDGELEAF_JETSTREAM", "maybe")]).to_string();
        assert!(
            e.starts_with("environment variable EDGELEAF_JETSTREAM: invalid value for `jetstream`"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_flag_fails_before_files() {
        let e = fails(&["--cluster", "nats://x", "-c", "/nonexistent.conf"], &[]);
        assert!(matches!(e, ConfigError::UnsupportedFlag { .. }), "{e:?}");
    }

    #[test]
    fn load_reads_the_process_environment() {
        // Only `Config::load` reads the real environment (other tests inject theirs), so
        // setting a variable here cannot disturb them.
        std::env::set_var("EDGELEAF_WRITE_DEADLINE", "not-a-duration");
        let e = Config::load(&args(&[]))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        std::env::remove_var("EDGELEAF_WRITE_DEADLINE");
        assert!(e.contains("EDGELEAF_WRITE_DEADLINE"), "{e}");
    }

    #[test]
    fn natsconf_format_through_config_file_source() {
        let dir = temp_dir();
        let file = write(&dir, "fmt.conf", "port: 4111\nb { c: [1, 2] }\n");
        let built = config::Config::builder()
            .add_source(config::File::new(&file, natsconf::NatsConf))
            .build()
            .expect("builds");
        assert_eq!(built.get_int("port").ok(), Some(4111));
        assert_eq!(built.get_array("b.c").map(|a| a.len()).ok(), Some(2));
    }

    use crate::config::auth::{Secret, GLOBAL_ACCOUNT};
    use crate::config::leaf::{LeafConfig, LeafUrl, RemoteConfig, RemoteTls};
    use std::time::Duration;

    #[test]
    fn authorization_users_accounts_and_permissions() {
        let c = conf(
            r#"
            authorization {
              timeout: 3
              users: [
                {user: alice, password: "$2a$11$abc", permissions: {publish: "a.>", subscribe: {allow: ["b.>"], deny: "b.secret"}}}
                {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}
              ]
            }
            accounts {
              Tenant1: { users: [ {user: t1, password: p1, permissions: {allow_responses: {max: 3, expires: "1m"}}} ] }
            }
            no_auth_user: t1
            "#,
        )
        .unwrap();
        let a = &c.auth;
        assert!(a.required());
        assert_eq!(c.auth_timeout, Duration::from_secs(3));
        assert_eq!(a.accounts, vec!["Tenant1".to_string()]);
        assert_eq!(a.users.len(), 3);
        let alice = a
            .users
            .iter()
            .find(|u| u.user.as_deref() == Some("alice"))
            .unwrap();
        assert_eq!(alice.account, GLOBAL_ACCOUNT);
        let p = alice.permissions.as_ref().unwrap();
        assert_eq!(
            p.publish.as_ref().unwrap().allow,
            Some(vec!["a.>".to_string()])
        );
        assert_eq!(
            p.subscribe.as_ref().unwrap().deny,
            vec!["b.secret".to_string()]
        );
        let t1 = a
            .users
            .iter()
            .find(|u| u.user.as_deref() == Some("t1"))
            .unwrap();
        assert_eq!(t1.account, "Tenant1");
        assert_eq!(t1.password, Some(Secret("p1".into())));
        let r = t1.permissions.as_ref().unwrap().allow_responses.unwrap();
        assert_eq!((r.max, r.expires), (3, Duration::from_secs(60)));
        assert_eq!(a.no_auth_user.as_deref(), Some("t1"));
        // Secrets never show in Debug output (which is what a log would print).
        assert!(!format!("{c:?}").contains("p1\""), "{c:?}");
    }

    #[test]
    fn token_and_single_user_and_flags() {
        let c = conf("authorization { token: s3cr3t }\n").unwrap();
        assert_eq!(c.auth.token, Some(Secret("s3cr3t".into())));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let c = conf("authorization { user: bob, password: pw }\n").unwrap();
        assert_eq!(c.auth.users[0].user.as_deref(), Some("bob"));
        let c = run(&["--user", "u", "--pass", "p"], &[]).unwrap();
        assert_eq!(c.auth.users[0].password, Some(Secret("p".into())));
        let c = run(&["--auth", "tok"], &[]).unwrap();
        assert_eq!(c.auth.token, Some(Secret("tok".into())));
    }

    #[test]
    fn bad_authorization_is_named() {
        let e = conf_err("authorization { tokn: x }\n");
        assert!(e.contains("authorization.tokn"), "{e}");
        let e = conf_err("authorization { users: [ {user: a, password: b, perms: {}} ] }\n");
        assert!(e.contains("perms"), "{e}");
        let e = conf_err("authorization { users: [ {user: a, account: NOPE} ] }\n");
        assert!(e.contains("NOPE"), "{e}");
        let e = conf_err("authorization { user: a, password: b }\nno_auth_user: zed\n");
        assert!(e.contains("no_auth_user"), "{e}");
        let e = conf_err("accounts { A: { jetstream: maybe } }\n");
        assert!(
            e.contains("invalid value for `accounts.a.jetstream`"),
            "{e}"
        );
        assert!(e.contains("edge.conf:1") && e.contains("\"maybe\""), "{e}");
        let e = conf_err("accounts { A: { jetstream: 5 } }\n");
        assert!(e.contains("`accounts.a.jetstream`"), "{e}");
        let e = conf_err("accounts { A: { imports: [] } }\n");
        assert!(
            e.contains("`accounts.a.imports`") && e.contains("not supported yet"),
            "{e}"
        );
    }

    #[test]
    fn tls_block() {
        let c = conf(
            "tls {\n  cert_file: \"/c/server.pem\"\n  key_file: /c/server-key.pem\n  ca_file: /c/ca.pem\n  verify: true\n  timeout: 3\n}\n",
        )
        .expect("tls");
        assert_eq!(
            c.tls,
            Some(TlsConfig {
                cert_file: "/c/server.pem".into(),
                key_file: "/c/server-key.pem".into(),
                ca_file: Some("/c/ca.pem".into()),
                verify: true,
                verify_and_map: false,
                timeout: Duration::from_secs(3),
            })
        );
        // nats-server: the auth timeout follows the TLS timeout unless set.
        assert_eq!(c.auth_timeout, Duration::from_secs(4));
        let c = conf("auth_timeout: 5\ntls { cert_file: c, key_file: k, timeout: \"500ms\" }\n")
            .expect("tls");
        assert_eq!(c.auth_timeout, Duration::from_secs(5));
        assert_eq!(c.tls.map(|t| t.timeout), Some(Duration::from_millis(500)));
        // Defaults, and verify_and_map implies verify; keys are case-insensitive.
        let t = conf("TLS { Cert_File: c, KEY_FILE: k, verify_and_map: true }\n")
            .expect("tls")
            .tls
            .expect("tls");
        assert!(t.verify && t.verify_and_map);
        assert_eq!(t.timeout, TlsConfig::DEFAULT_TIMEOUT);
        assert_eq!(t.ca_file, None);
        let c = conf("tls { cert_file: c, key_file: k, timeout: 0 }\n").expect("tls");
        assert_eq!(c.auth_timeout, Duration::from_secs(3));
        assert_eq!(Config::default().tls, None);
    }

    #[test]
    fn tls_block_errors_name_key_and_line() {
        let e = conf_err("port: 1\ntls {\n  cert_file: c\n}\n");
        assert!(e.contains("missing 'key_file'"), "{e}");
        assert!(e.contains("edge.conf:3"), "{e}");
        let e = conf_err("tls { key_file: k }\n");
        assert!(e.contains("missing 'cert_file'"), "{e}");
        let e = conf_err("tls {}\n");
        assert!(e.contains("'cert_file' and 'key_file'"), "{e}");
        let e = conf_err("tls {\n  cert_file: c\n  key_file: k\n  min_version: \"1.3\"\n}\n");
        assert!(
            e.contains("unknown configuration key `tls.min_version`"),
            "{e}"
        );
        assert!(e.contains("edge.conf:4"), "{e}");
        let e = conf_err("tls { cert_file: c, key_file: k, verify: maybe }\n");
        assert!(e.contains("`tls.verify`"), "{e}");
        let e = conf_err("tls { cert_file: c, key_file: k, timeout: \"soon\" }\n");
        assert!(e.contains("`tls.timeout`"), "{e}");
        let e = conf_err("tls { cert_file: 5, key_file: k }\n");
        assert!(
            e.contains("`tls.cert_file`") && e.contains("a file name"),
            "{e}"
        );
        let e = conf_err("tls: true\n");
        assert!(e.contains("`tls`") && e.contains("expected a block"), "{e}");
        // A variable defined inside the block is a definition, not a mistake.
        let c = conf("tls { DIR: /certs, cert_file: $DIR, key_file: k }\n").expect("vars");
        assert_eq!(c.tls.map(|t| t.cert_file), Some("/certs".to_string()));
    }

    #[test]
    fn tls_flags_replace_the_block_like_nats_server() {
        let c = ok(&["--tlscert", "c.pem", "--tlskey", "k.pem"], &[]);
        let t = c.tls.expect("tls");
        assert_eq!(
            (t.cert_file.as_str(), t.key_file.as_str()),
            ("c.pem", "k.pem")
        );
        assert!(!t.verify && t.ca_file.is_none());
        assert_eq!(c.auth_timeout, Duration::from_secs(3));
        // --tlsverify turns TLS on and verifies.
        let t = ok(
            &["-tlsverify", "-tlscert=c", "-tlskey=k", "-tlscacert=ca"],
            &[],
        )
        .tls
        .expect("tls");
        assert!(t.verify);
        assert_eq!(t.ca_file.as_deref(), Some("ca"));
        // Flags replace cert, key, CA and verify of the file; timeout and map stay.
        let dir = temp_dir();
        let file = write(
            &dir,
            "tls.conf",
            "tls { cert_file: fc, key_file: fk, ca_file: fca, verify_and_map: true, timeout: 5 }\n",
        );
        let t = ok(
            &["-c", &file, "--tls", "--tlscert", "c", "--tlskey", "k"],
            &[],
        )
        .tls
        .expect("tls");
        assert_eq!(
            (
                t.cert_file.as_str(),
                t.key_file.as_str(),
                t.ca_file.as_deref()
            ),
            ("c", "k", None)
        );
        assert!(!t.verify && t.verify_and_map);
        assert_eq!(t.timeout, Duration::from_secs(5));
        // Without TLS flags the file's block stands; --tls=false turns it off.
        assert_eq!(
            ok(&["-c", &file], &[]).tls.map(|t| t.cert_file),
            Some("fc".into())
        );
        let c = ok(&["-c", &file, "--tls=false", "--tlsverify"], &[]);
        assert_eq!(c.tls, None);
        assert_eq!(c.auth_timeout, Duration::from_secs(2));
        // Certificate and key are required, with nats-server's words and the flag named.
        let e = fails(&["--tlsverify"], &[]).to_string();
        assert!(
            e.contains("TLS Server certificate must be present and valid"),
            "{e}"
        );
        assert!(e.contains("flag --tlsverify"), "{e}");
        let e = fails(&["--tls", "--tlscert", "c"], &[]).to_string();
        assert!(
            e.contains("TLS Server private key must be present and valid"),
            "{e}"
        );
        let e = fails(&["--tls", "--tlscert=", "--tlskey", "k"], &[]).to_string();
        assert!(e.contains("certificate must be present"), "{e}");
        let e = fails(&["--tls=maybe"], &[]).to_string();
        assert!(e.contains("--tls"), "{e}");
    }

    #[test]
    fn https_monitoring_port() {
        let c =
            conf("https: \"127.0.0.1:8443\"\ntls { cert_file: c, key_file: k }\n").expect("https");
        assert_eq!(
            (c.http_host.as_str(), c.https_port, c.http_port),
            ("127.0.0.1", 8443, 0)
        );
        let c = conf("https_port: -1\ntls { cert_file: c, key_file: k }\n").expect("https");
        assert_eq!((c.https_port, c.http_port), (-1, 0));
        let c = ok(&["-ms", "8443", "--tlscert", "c", "--tlskey", "k"], &[]);
        assert_eq!((c.https_port, c.http_port), (8443, 0));
        // nats-server refuses both, and HTTPS without a certificate.
        let e = conf_err("http: 8222\nhttps: 8443\ntls { cert_file: c, key_file: k }\n");
        assert_eq!(
            e,
            "invalid configuration: can't specify both HTTP (8222) and HTTPs (8443) ports"
        );
        conf("http: 0\nhttps: 8443\ntls { cert_file: c, key_file: k }\n").expect("http off");
        let e = conf_err("https_port: 8443\n");
        assert!(e.contains("TLS cert and key required for HTTPS"), "{e}");
        let e = conf_err("https_port: 70000\n");
        assert!(e.contains("`https_port`"), "{e}");
    }

    #[test]
    fn example_configs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let standalone = dir.join("standalone.conf").display().to_string();
        assert_eq!(ok(&["-c", &standalone], &[]).port, 4222);
        let tls = dir.join("tls.conf").display().to_string();
        let c = ok(&["-c", &tls], &[]);
        assert_eq!((c.https_port, c.http_port), (8443, 0));
        assert!(c.tls.is_some_and(|t| t.verify && t.ca_file.is_some()));
    }

    /// Two remotes as an edge gateway would have them, in nats-server's syntax.
    const LEAF_CONF: &str = r#"
accounts {
  APP: { users: [ {user: app, password: apppw} ] }
}
leafnodes {
  reconnect: 2
  handshake_timeout: 500ms
  remotes = [
    {
      urls: [ "nats-leaf://edge1:s3cret%21@hub1.example.com:7422", "nats://hub2.example.com" ]
      account: APP
      deny_imports: ["secret.>", "admin.*"]
      deny_exports: "local.>"
      no_randomize: true
    }
    {
      url: "tls://[2001:db8::1]:7443"
      credentials: "/etc/edgeleaf/hub.creds"
      tls {
        ca_file: "/etc/edgeleaf/ca.pem"
        cert_file: "/etc/edgeleaf/client.pem"
        key_file: "/etc/edgeleaf/client-key.pem"
        timeout: 3
      }
    }
  ]
}
"#;

    const LEAF_TOML: &str = r#"
[accounts.APP]
users = [ { user = "app", password = "apppw" } ]

[leaf]
reconnect = "2s"
handshake_timeout = "500ms"

[[leaf.remotes]]
urls = [ "nats-leaf://edge1:s3cret%21@hub1.example.com:7422", "nats://hub2.example.com" ]
account = "APP"
deny_imports = ["secret.>", "admin.*"]
deny_exports = "local.>"
dont_randomize = true

[[leaf.remotes]]
url = "tls://[2001:db8::1]:7443"
credentials = "/etc/edgeleaf/hub.creds"
[leaf.remotes.tls]
ca = "/etc/edgeleaf/ca.pem"
cert_file = "/etc/edgeleaf/client.pem"
key_file = "/etc/edgeleaf/client-key.pem"
timeout = 3
"#;

    fn want_leaf() -> LeafConfig {
        LeafConfig {
            remotes: vec![
                RemoteConfig {
                    urls: vec![
                        LeafUrl {
                            tls: false,
                            host: "hub1.example.com".into(),
                            port: 7422,
                            user: Some("edge1".into()),
                            password: Some("s3cret!".into()),
                        },
                        LeafUrl {
                            tls: false,
                            host: "hub2.example.com".into(),
                            port: 7422,
                            user: None,
                            password: None,
                        },
                    ],
                    account: "APP".into(),
                    credentials: None,
                    nkey: None,
                    user: None,
                    password: None,
                    tls: None,
                    deny_imports: vec!["secret.>".into(), "admin.*".into()],
                    deny_exports: vec!["local.>".into()],
                    no_randomize: true,
                },
                RemoteConfig {
                    urls: vec![LeafUrl {
                        tls: true,
                        host: "2001:db8::1".into(),
                        port: 7443,
                        user: None,
                        password: None,
                    }],
                    account: GLOBAL_ACCOUNT.into(),
                    credentials: Some("/etc/edgeleaf/hub.creds".into()),
                    nkey: None,
                    user: None,
                    password: None,
                    tls: Some(RemoteTls {
                        ca_file: Some("/etc/edgeleaf/ca.pem".into()),
                        cert_file: Some("/etc/edgeleaf/client.pem".into()),
                        key_file: Some("/etc/edgeleaf/client-key.pem".into()),
                        server_name: None,
                        timeout: Duration::from_secs(3),
                    }),
                    deny_imports: vec![],
                    deny_exports: vec![],
                    no_randomize: false,
                },
            ],
            reconnect: Duration::from_secs(2),
            handshake_timeout: Duration::from_millis(500),
            ping_interval: None,
            ping_max: None,
        }
    }

    #[test]
    fn leaf_remotes_in_nats_server_syntax() {
        let c = conf(LEAF_CONF).expect("loads");
        assert_eq!(c.leaf, want_leaf());
        assert_eq!(c.leaf.remotes[1].urls[0].host_port(), "[2001:db8::1]:7443");
        assert_eq!(
            c.leaf.remotes[0].urls[0].to_string(),
            "nats-leaf://hub1.example.com:7422"
        );
        // Neither the URL password nor the remote's own shows in Debug output.
        let c = conf(
            "LEAF { remotes: [ {url: \"nats://u:urlpw@h\", user: bob, pass: remotepw, nkey: SUAKSEED} ], ping_interval: 5, ping_max: 3, reconnect_interval: 0 }\n",
        )
        .expect("loads");
        let debug = format!("{c:?}");
        for secret in ["urlpw", "remotepw", "SUAKSEED", "apppw"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("[REDACTED]"), "{debug}");
        let l = &c.leaf;
        assert_eq!(l.ping_interval, Some(Duration::from_secs(5)));
        assert_eq!(l.ping_max, Some(3));
        assert_eq!(l.reconnect, LeafConfig::DEFAULT_RECONNECT);
        assert_eq!(l.handshake_timeout, Duration::from_secs(2));
        let r = &l.remotes[0];
        assert_eq!(
            (r.user.as_deref(), r.password.as_deref(), r.nkey.as_deref()),
            (Some("bob"), Some("remotepw"), Some("SUAKSEED"))
        );
        assert_eq!(r.account, GLOBAL_ACCOUNT);
        assert_eq!(r.tls, None);
        // A tls:// URL turns TLS on with defaults.
        let c = conf("leafnodes { remotes: [ {url: \"tls://hub\"} ] }\n").expect("loads");
        let t = c.leaf.remotes[0].tls.clone().expect("tls");
        assert_eq!(t.timeout, RemoteTls::DEFAULT_TIMEOUT);
        assert_eq!(t.ca_file, None);
        assert_eq!(Config::default().leaf, LeafConfig::default());
        assert!(conf("leafnodes { remotes: [] }\n")
            .expect("no remotes")
            .leaf
            .remotes
            .is_empty());
    }

    #[test]
    fn leaf_remotes_in_toml_are_the_same() {
        let dir = temp_dir();
        let file = write(&dir, "edge.toml", LEAF_TOML);
        assert_eq!(ok(&["-c", &file], &[]).leaf, want_leaf());
    }

    #[test]
    fn leaf_errors_name_key_and_line() {
        let e = conf_err(
            "leafnodes {\n  remotes: [\n    { url: \"nats://hub\", account: NOPE }\n  ]\n}\n",
        );
        assert!(e.contains("`leafnodes.remotes[0].account`"), "{e}");
        assert!(e.contains("edge.conf:3"), "{e}");
        assert!(e.contains("\"NOPE\""), "{e}");
        let e = conf_err("leafnodes {\n  remotes: [\n    { urls: [\"nats://a\", \"http://user:pw@b\"] }\n  ]\n}\n");
        assert!(
            e.contains("invalid value for `leafnodes.remotes[0].urls[1]`"),
            "{e}"
        );
        assert!(e.contains("edge.conf:3"), "{e}");
        assert!(e.contains("\"http\"") && !e.contains(":pw@"), "{e}");
        let e = conf_err("leaf { remotes: [ { url: \"wss://hub:443\" } ] }\n");
        assert!(e.contains("`leaf.remotes[0].url`"), "{e}");
        assert!(
            e.contains("websocket leaf remotes") && e.contains("not supported yet"),
            "{e}"
        );
        let e = conf_err("leafnodes {\n  remotes: [\n    { account: \"$G\" }\n  ]\n}\n");
        assert!(
            e.contains("`leafnodes.remotes[0]`") && e.contains("urls"),
            "{e}"
        );
        assert!(e.contains("edge.conf:3"), "{e}");
        let e =
            conf_err("leafnodes {\n  remotes: []\n  authorization { user: a, password: b }\n}\n");
        assert!(e.contains("`leafnodes.authorization`"), "{e}");
        assert!(
            e.contains("leafnode listener") && e.contains("edge.conf:3"),
            "{e}"
        );
        let e = conf_err("leafnodes {\n  remotes: [ {\n    url: \"tls://hub\"\n    tls { cert_file: c.pem }\n  } ]\n}\n");
        assert!(e.contains("missing 'key_file'"), "{e}");
        assert!(e.contains("leafnodes.remotes[0].tls"), "{e}");
        assert!(e.contains("edge.conf:4"), "{e}");
        let e =
            conf_err("leafnodes { remotes: [ { url: \"nats://h\", tls: { insecure: true } } ] }\n");
        assert!(
            e.contains("`leafnodes.remotes[0].tls.insecure`") && e.contains("not supported yet"),
            "{e}"
        );
        let e = conf_err("leafnodes { remotes: [ { url: \"nats://h\", hub: true } ] }\n");
        assert!(e.contains("`leafnodes.remotes[0].hub`"), "{e}");
        let e = conf_err("leafnodes { remotes: [ { url: \"nats://h\", urlz: x } ] }\n");
        assert!(
            e.contains("unknown configuration key `leafnodes.remotes[0].urlz`"),
            "{e}"
        );
        let e =
            conf_err("leafnodes { remotes: [ { url: \"nats://h\", deny_imports: \"a..b\" } ] }\n");
        assert!(e.contains("`leafnodes.remotes[0].deny_imports`"), "{e}");
        let e = conf_err("leafnodes { handshake_timeout: 0 }\n");
        assert!(e.contains("`leafnodes.handshake_timeout`"), "{e}");
        let e = conf_err(
            "leafnodes { remotes: [ { url: \"nats://h\", credentials: a.creds, nkey: SUX } ] }\n",
        );
        assert!(e.contains("`credentials` and `nkey`"), "{e}");
        let e = conf_err("leafnodes { remotes: [] }\nleaf { reconnect: 1 }\n");
        assert!(e.contains("same setting"), "{e}");
        // A variable defined in the leaf block is a definition, as elsewhere.
        let c = conf("leafnodes { HUB: \"nats://hub:7000\", remotes: [ { url: $HUB } ] }\n")
            .expect("variable");
        assert_eq!(c.leaf.remotes[0].urls[0].port, 7000);
        // TOML: the same rules, with the file named.
        let dir = temp_dir();
        let bad = write(
            &dir,
            "bad.toml",
            "[[leaf.remotes]]\nurls = [\"nats://h\"]\naccount = \"X\"\n",
        );
        let e = fails(&["-c", &bad], &[]).to_string();
        assert!(
            e.contains("`leaf.remotes[0].account`") && e.contains("bad.toml"),
            "{e}"
        );
        let e = fails(&[], &[("EDGELEAF_LEAF", "x")]).to_string();
        assert!(
            e.contains("EDGELEAF_LEAF") && e.contains("expected a block"),
            "{e}"
        );
    }

    /// nats-server accepts the leaf remotes file too (it checks the same keys, minus our
    /// own `handshake_timeout`).
    #[test]
    fn nats_server_accepts_the_leaf_file() {
        let bin = Path::new("/usr/sbin/nats-server");
        if !bin.exists() {
            return;
        }
        let dir = temp_dir();
        // nats-server reads the certificate files while checking.
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["hub".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        write(&dir, "ca.pem", &cert.pem());
        write(&dir, "client.pem", &cert.pem());
        write(&dir, "client-key.pem", &key.serialize_pem());
        let base = format!("{}/", dir.display());
        let text = LEAF_CONF
            .replace("  handshake_timeout: 500ms\n", "")
            .replace("/etc/edgeleaf/", &base);
        let file = write(&dir, "leaf.conf", &text);
        let out = std::process::Command::new(bin)
            .args(["-t", "-c", &file])
            .output()
            .expect("runs nats-server");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut want = want_leaf().remotes;
        let tls = want[1].tls.as_mut().expect("tls");
        for path in [&mut tls.ca_file, &mut tls.cert_file, &mut tls.key_file] {
            *path = path.as_ref().map(|p| p.replace("/etc/edgeleaf/", &base));
        }
        want[1].credentials = Some(format!("{base}hub.creds"));
        assert_eq!(ok(&["-c", &file], &[]).leaf.remotes, want);
    }

    #[test]
    fn every_example_config_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut leaf = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy().into_owned();
            if !(name.ends_with(".conf") || name.ends_with(".toml")) {
                continue;
            }
            let c = run(&["-c", &name], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            if name.contains("/leaf.") {
                leaf.push(c);
            }
        }
        // The two spellings of the leaf example mean the same remotes.
        assert_eq!(leaf.len(), 2);
        assert_eq!(leaf[0].leaf.remotes, leaf[1].leaf.remotes);
        assert_eq!(leaf[0].leaf.remotes[0].urls.len(), 3);
    }

    // ---- the `uplink` setting in both file syntaxes, and its errors ----
    use crate::config::uplink::UplinkConfig;

    const UPLINK_EDGE: &str =
        "jetstream: enabled\nleafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:7422\" } ] }\n";

    #[test]
    fn nats_syntax_list_and_single_block_and_toml() {
        let c = conf_ok_u(&format!(
            "{UPLINK_EDGE}uplink: [ {{ stream: mysqldb2, cloud_domain: hub, subject_prefix: edge1, max_in_flight: 64, ack_timeout: \"2s\", max_bytes_per_sec: 1MB }}, {{ stream: other, api_prefix: \"$JS.x.API\", cloud_stream: AGG }} ]\n"
        ));
        assert_eq!(
            c.uplinks,
            vec![
                UplinkConfig {
                    stream: "mysqldb2".into(),
                    account: None,
                    subject_prefix: Some("edge1.".into()),
                    api_prefix: Some("$JS.hub.API".into()),
                    cloud_stream: "mysqldb2".into(),
                    max_in_flight: 64,
                    max_bytes_per_sec: 1024 * 1024,
                    ack_timeout: Duration::from_secs(2),
                },
                UplinkConfig {
                    stream: "other".into(),
                    account: None,
                    subject_prefix: None,
                    api_prefix: Some("$JS.x.API".into()),
                    cloud_stream: "AGG".into(),
                    max_in_flight: UplinkConfig::DEFAULT_MAX_IN_FLIGHT,
                    max_bytes_per_sec: 0,
                    ack_timeout: UplinkConfig::DEFAULT_ACK_TIMEOUT,
                },
            ]
        );
        let single = conf_ok_u(&format!("{UPLINK_EDGE}uplink {{ stream: mysqldb2 }}\n"));
        assert_eq!(single.uplinks.len(), 1);
        assert_eq!(single.uplinks[0].api_prefix, None);
        let toml = toml_ok_u(
            "[jetstream]\n[[leaf.remotes]]\nurls = [\"nats-leaf://127.0.0.1:7422\"]\n[[uplink]]\nstream = \"mysqldb2\"\nsubject_prefix = \"edge1.\"\n",
        );
        assert_eq!(toml.uplinks[0].stream, "mysqldb2");
        assert_eq!(toml.uplinks[0].subject_prefix.as_deref(), Some("edge1."));
    }

    #[test]
    fn errors_name_the_key_and_what_was_expected() {
        let e = conf_err(&format!("{UPLINK_EDGE}uplink: [ {{ stream: \"a.b\" }} ]\n"));
        assert!(
            e.contains("uplink[0].stream") && e.contains("stream name"),
            "{e}"
        );
        let e = conf_err(&format!(
            "{UPLINK_EDGE}uplink: [ {{ cloud_domain: hub }} ]\n"
        ));
        assert!(e.contains("without `stream`"), "{e}");
        let e = conf_err(&format!(
            "{UPLINK_EDGE}uplink: [ {{ stream: s, strem: x }} ]\n"
        ));
        assert!(e.contains("uplink[0].strem"), "{e}");
        let e = conf_err(&format!(
            "{UPLINK_EDGE}uplink: [ {{ stream: s, cloud_domain: a, api_prefix: \"$JS.a.API\" }} ]\n"
        ));
        assert!(e.contains("both `cloud_domain` and `api_prefix`"), "{e}");
        let e = conf_err(&format!(
            "{UPLINK_EDGE}uplink: [ {{ stream: s }}, {{ stream: s }} ]\n"
        ));
        assert!(e.contains("one uplink per stream"), "{e}");
        let e = conf_err(&format!(
            "{UPLINK_EDGE}uplink: [ {{ stream: s, subject_prefix: \"a.*\" }} ]\n"
        ));
        assert!(e.contains("subject_prefix"), "{e}");
        let e = conf_err("leafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:7422\" } ] }\nuplink: [ { stream: s } ]\n");
        assert!(e.contains("JetStream is off"), "{e}");
        let e = conf_err("jetstream: enabled\nuplink: [ { stream: s } ]\n");
        assert!(e.contains("leaf node connection"), "{e}");
    }

    fn conf_ok_u(text: &str) -> Config {
        conf(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn toml_ok_u(text: &str) -> Config {
        let dir = temp_dir();
        let file = write(&dir, "edge.toml", text);
        ok(&["-c", &file], &[])
    }
}
