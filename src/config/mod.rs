//! Owns the one `Config` the broker runs with, and how it is built:
//! embedded defaults < config file (TOML, or nats-server's own syntax) < environment
//! (`EDGELEAF_...`) < command-line flags (nats-server's spellings).
//!
//! Field names follow nats-server's configuration keys so that an existing nats-server
//! config for the features edgeleaf has loads unchanged.

use std::time::Duration;

pub mod auth;
mod error;
mod flags;
pub mod leaf;
mod load;
pub mod natsconf;
pub(crate) mod units;
pub mod uplink;

pub use error::ConfigError;
pub use load::Invocation;
pub use natsconf::{NatsConf, NatsConfError};

/// Everything the broker needs to run. Built by `Config::load` (see `load.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Client listener host (`listen`, `host`, `-a/--addr`).
    pub host: String,
    /// Client listener port; -1 means a random free port (`-p -1`). `load` never
    /// yields 0: like nats-server it reads an explicit 0 as the default 4222.
    pub port: i32,
    /// Monitoring listener host (`http` host part, `http_host`).
    pub http_host: String,
    /// Monitoring port; 0 = off, -1 = random (`-m`, `http_port`, `http`).
    pub http_port: i32,
    /// Monitoring over TLS with the client TLS certificate; 0 = off, -1 = random
    /// (`-ms`, `https_port`, `https`). Setting it turns plain `http_port` off unless that
    /// was set too, which is an error (nats-server refuses both).
    pub https_port: i32,
    /// `server_name` / `-n`; when None the server id is used, as nats-server does.
    pub server_name: Option<String>,
    /// Data directory (`-sd`, `jetstream.store_dir`), default `./data`.
    pub store_dir: String,
    pub max_payload: u32,
    pub max_control_line: u32,
    /// Per-connection outbound buffer limit (slow consumer above it).
    pub max_pending: u64,
    pub write_deadline: Duration,
    pub max_connections: u32,
    /// 0 = unlimited.
    pub max_subscriptions: u32,
    pub ping_interval: Duration,
    pub ping_max: u32,
    pub auth_timeout: Duration,
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,
    pub debug: bool,
    pub trace: bool,
    /// `logtime`, `-T/--logtime`: timestamp log lines (default true, as nats-server).
    pub log_time: bool,
    /// `-l/--log`, `log_file`: log to this file instead of stderr.
    pub log_file: Option<String>,
    /// `-P/--pid`, `pid_file`.
    pub pid_file: Option<String>,
    /// Users, accounts and permissions (`authorization`, `accounts`, `no_auth_user`,
    /// `--user/--pass/--auth`).
    pub auth: auth::AuthConfig,
    /// TLS for client connections (`tls { }` block or the `--tls*` flags); None = plain
    /// TCP only.
    pub tls: Option<TlsConfig>,
    /// Leaf node remotes to dial (`leafnodes { remotes: [...] }`, TOML `[leaf]`).
    pub leaf: leaf::LeafConfig,
    /// JetStream; None = off (the default, as nats-server).
    pub jetstream: Option<JetStreamConfig>,
    /// Streams forwarded to the cloud (`uplink: [ ... ]`, TOML `[[uplink]]`).
    pub uplinks: Vec<uplink::UplinkConfig>,
}

/// JetStream, when turned on by `-js`, `jetstream: enabled` or a `jetstream { }` block
/// (TOML `[jetstream]`) without `enabled: false`. The storage directory is
/// `Config::store_dir`, whichever way it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct JetStreamConfig {
    /// `max_memory_store` (`max_mem_store`, `max_mem`): None = no limit of our own.
    pub max_memory: Option<u64>,
    /// `max_file_store` (`max_file`): None = no limit of our own.
    pub max_file: Option<u64>,
    /// `domain`: the API also answers on `$JS.<domain>.API.>`; validated as a single
    /// subject token.
    pub domain: Option<String>,
    /// edgeleaf key `sync_before_ack` (default true): a PubAck only after the message is
    /// flushed to disk. false trades durability for speed.
    pub sync_before_ack: bool,
    /// edgeleaf key `cache_size` (default 16MB): sled's page cache. Queue workloads read
    /// each stored batch about once (and the store keeps the batch it read last decoded),
    /// so a larger cache mostly costs RSS: a 1M-message uplink drain peaked at 60 MiB with
    /// 64 MB and 48 MiB with 16 MB, at the same rate.
    pub cache_size: u64,
}

impl JetStreamConfig {
    /// `cache_size` when none (or 0) is configured.
    pub const DEFAULT_CACHE_SIZE: u64 = 16 * 1024 * 1024;
}

impl Default for JetStreamConfig {
    /// JetStream on with nothing configured: no limits of our own, no domain, sync
    /// before every PubAck.
    fn default() -> Self {
        JetStreamConfig {
            max_memory: None,
            max_file: None,
            domain: None,
            sync_before_ack: true,
            cache_size: Self::DEFAULT_CACHE_SIZE,
        }
    }
}

/// The client `tls { }` block, with nats-server 2.9's meaning. Only paths here: the files
/// are read when the server starts (`server::tls`), where a bad file is reported by name.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsConfig {
    /// Server certificate chain, PEM (`cert_file`, `--tlscert`).
    pub cert_file: String,
    /// Its private key, PEM (`key_file`, `--tlskey`).
    pub key_file: String,
    /// CA certificates that client certificates must chain to, PEM (`ca_file`,
    /// `--tlscacert`).
    pub ca_file: Option<String>,
    /// Require a client certificate signed by `ca_file` (`verify`, `--tlsverify`).
    pub verify: bool,
    /// `verify_and_map`: verify, and the client certificate names the user (the
    /// authorization part maps the certificate's subject or SANs to a user).
    pub verify_and_map: bool,
    /// The TLS handshake must finish within this (`timeout`, default 2 s).
    pub timeout: Duration,
}

impl TlsConfig {
    /// nats-server's TLS handshake timeout when none is configured.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "0.0.0.0".into(),
            port: 4222,
            http_host: "0.0.0.0".into(),
            http_port: 8222,
            https_port: 0,
            server_name: None,
            store_dir: "./data".into(),
            max_payload: 1024 * 1024,
            max_control_line: 4096,
            max_pending: 64 * 1024 * 1024,
            write_deadline: Duration::from_secs(10),
            max_connections: 65536,
            max_subscriptions: 0,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            auth_timeout: Duration::from_secs(2),
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
            debug: false,
            trace: false,
            log_time: true,
            log_file: None,
            pid_file: None,
            auth: auth::AuthConfig::default(),
            tls: None,
            leaf: leaf::LeafConfig::default(),
            jetstream: None,
            uplinks: Vec::new(),
        }
    }
}
