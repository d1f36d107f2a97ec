//! Owns `ConfigError`: every way building the `Config` can fail. Each message says what
//! was expected, what was found and where (file:line, environment variable or flag), so
//! the binary can print it and exit 1.

use super::natsconf::NatsConfError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A syntax error in a nats-server style file (its Display carries file and line).
    #[error("{0}")]
    Parse(#[from] NatsConfError),

    /// A syntax error in a TOML file.
    #[error("config file {file}: {message}")]
    Toml { file: String, message: String },

    /// The config file could not be opened or read.
    #[error("cannot read config file {file}: {reason}")]
    Read { file: String, reason: String },

    /// A key in a config file that no part of edgeleaf (nor nats-server) knows.
    /// `origin` is "file:line" (nats-server syntax) or the file (TOML).
    #[error("{origin}: unknown configuration key `{key}`")]
    UnknownKey { key: String, origin: String },

    /// A nats-server key for a feature this build does not have yet; never ignored,
    /// since silently running without e.g. TLS or authorization would be unsafe.
    #[error(
        "{origin}: configuration key `{key}`{} is not supported yet by this edgeleaf build",
        feature_note(.key, .feature)
    )]
    Unsupported {
        key: String,
        feature: String,
        origin: String,
    },

    /// A known key with a value of the wrong type or out of range.
    #[error("{origin}: invalid value for `{key}`: expected {expected}, found {found}")]
    InvalidValue {
        key: String,
        origin: String,
        expected: String,
        found: String,
    },

    /// Settings that are fine one by one but not together (e.g. max_payload above
    /// max_pending).
    #[error("invalid configuration: {0}")]
    Conflict(String),

    /// A flag without its value, or with a value that is not valid for it.
    #[error("flag {flag}: {message}")]
    Flag { flag: String, message: String },

    /// A nats-server flag for a feature this build does not have yet.
    #[error("flag {flag}: {feature} is not supported yet by this edgeleaf build")]
    UnsupportedFlag { flag: String, feature: String },

    /// A flag neither edgeleaf nor nats-server has.
    #[error("unknown flag {flag} (see --help for the flags edgeleaf accepts)")]
    UnknownFlag { flag: String },

    /// A command-line word that is not a flag (edgeleaf takes no positional arguments).
    #[error("unexpected argument {arg:?}: edgeleaf takes only flags (see --help)")]
    UnexpectedArgument { arg: String },

    /// Any other failure reported by the `config` crate while merging sources.
    #[error("configuration error: {0}")]
    Other(String),
}

/// " (feature)" after a key, unless the key already says it.
fn feature_note(key: &str, feature: &str) -> String {
    if key.eq_ignore_ascii_case(feature) {
        String::new()
    } else {
        format!(" ({feature})")
    }
}
