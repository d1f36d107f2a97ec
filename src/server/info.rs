//! The JSON bodies of the client handshake: the INFO the server sends and the CONNECT
//! options a client sends, with nats-server's field names and defaults.

use serde::{Deserialize, Serialize};

/// The nats-server protocol level edgeleaf matches. Clients gate features (headers,
/// JetStream API styles) on INFO `version`, so we advertise the reference we are tested
/// against; our own version is in `/varz` as `edgeleaf_version` and in `--version`.
pub const NATS_VERSION: &str = "2.9.10";

/// INFO sent on accept (and again on lame duck mode).
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: u8,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auth_required: bool,
    /// The client must start TLS right after this INFO.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_required: bool,
    /// ... and present a certificate the server verifies.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_verify: bool,
    pub max_payload: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ldm: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// CONNECT options. nats-server pre-fills verbose, pedantic and echo with `true` and lets
/// the JSON override only the keys present, so `CONNECT {}` is verbose. Like Go's JSON
/// decoding, a `null` leaves the default in place (clients send `"user":null`).
#[derive(Debug, Clone)]
pub struct ConnectOpts {
    pub verbose: bool,
    pub pedantic: bool,
    pub echo: bool,
    pub tls_required: bool,
    pub headers: bool,
    pub no_responders: bool,
    pub protocol: i64,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub auth_token: Option<String>,
    pub nkey: Option<String>,
    pub sig: Option<String>,
    pub jwt: Option<String>,
    pub account: Option<String>,
    pub new_account: Option<bool>,
}

impl Default for ConnectOpts {
    fn default() -> Self {
        ConnectOpts {
            verbose: true,
            pedantic: true,
            echo: true,
            tls_required: false,
            headers: false,
            no_responders: false,
            protocol: 0,
            name: String::new(),
            lang: String::new(),
            version: String::new(),
            user: None,
            pass: None,
            auth_token: None,
            nkey: None,
            sig: None,
            jwt: None,
            account: None,
            new_account: None,
        }
    }
}

/// The wire form: every key optional and nullable.
#[derive(Deserialize)]
struct RawConnect {
    verbose: Option<bool>,
    pedantic: Option<bool>,
    echo: Option<bool>,
    tls_required: Option<bool>,
    headers: Option<bool>,
    no_responders: Option<bool>,
    protocol: Option<i64>,
    name: Option<String>,
    lang: Option<String>,
    version: Option<String>,
    user: Option<String>,
    pass: Option<String>,
    auth_token: Option<String>,
    nkey: Option<String>,
    sig: Option<String>,
    jwt: Option<String>,
    account: Option<String>,
    new_account: Option<bool>,
}

impl ConnectOpts {
    /// Parses a CONNECT body over the defaults.
    pub fn from_json(json: &[u8]) -> Result<ConnectOpts, serde_json::Error> {
        let r: RawConnect = serde_json::from_slice(json)?;
        let d = ConnectOpts::default();
        Ok(ConnectOpts {
            verbose: r.verbose.unwrap_or(d.verbose),
            pedantic: r.pedantic.unwrap_or(d.pedantic),
            echo: r.echo.unwrap_or(d.echo),
            tls_required: r.tls_required.unwrap_or(d.tls_required),
            headers: r.headers.unwrap_or(d.headers),
            no_responders: r.no_responders.unwrap_or(d.no_responders),
            protocol: r.protocol.unwrap_or(d.protocol),
            name: r.name.unwrap_or_default(),
            lang: r.lang.unwrap_or_default(),
            version: r.version.unwrap_or_default(),
            user: r.user,
            pass: r.pass,
            auth_token: r.auth_token,
            nkey: r.nkey,
            sig: r.sig,
            jwt: r.jwt,
            account: r.account,
            new_account: r.new_account,
        })
    }

    /// Credentials must never reach a log: this is what Debug output of a connection shows.
    pub fn redacted(&self) -> String {
        format!(
            "name={:?} lang={:?} version={:?} protocol={} verbose={} pedantic={} echo={} headers={} no_responders={} user={:?} credentials={}",
            self.name,
            self.lang,
            self.version,
            self.protocol,
            self.verbose,
            self.pedantic,
            self.echo,
            self.headers,
            self.no_responders,
            self.user,
            if self.pass.is_some() || self.auth_token.is_some() || self.sig.is_some() || self.jwt.is_some() {
                "[redacted]"
            } else {
                "none"
            }
        )
    }
}

/// A new server id in nats-server's form: a server nkey public key (56 characters, starting
/// with `N`): base32 of a prefix byte, 32 random bytes and a CRC-16 checksum.
pub fn new_server_id() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 35];
    raw[0] = 13 << 3; // nkey prefix byte for servers ('N')
    rand::thread_rng().fill_bytes(&mut raw[1..33]);
    let crc = crc16(&raw[..33]);
    raw[33..].copy_from_slice(&crc.to_le_bytes());
    base32(&raw)
}

fn crc16(data: &[u8]) -> u16 {
    // CRC-16/XMODEM, the checksum nkeys use.
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_id_looks_like_an_nkey() {
        let id = new_server_id();
        assert_eq!(id.len(), 56);
        assert!(id.starts_with('N'));
        assert_ne!(id, new_server_id());
    }

    #[test]
    fn connect_defaults_like_nats_server() {
        let o = ConnectOpts::from_json(b"{}").unwrap();
        assert!(o.verbose && o.pedantic && o.echo && !o.headers);
        let o = ConnectOpts::from_json(br#"{"verbose":null,"user":null,"name":"x"}"#).unwrap();
        assert!(o.verbose && o.user.is_none());
        let o = ConnectOpts::from_json(br#"{"verbose":false,"pass":"s3cret"}"#).unwrap();
        assert!(!o.verbose && o.pedantic);
        assert!(!o.redacted().contains("s3cret"));
    }
}
