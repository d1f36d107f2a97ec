//! Owns the authentication and authorization part of `Config`: nats-server's
//! `authorization { }` block (token, one user, a `users` list, default permissions,
//! timeout), `accounts { NAME: { users: [...], jetstream: enabled } }` and `no_auth_user`,
//! read from the merged configuration values. Secrets are wrapped so that no `Debug`
//! output of a `Config` can leak them into a log.

use std::time::Duration;

use config::{Map, Value, ValueKind};

use super::error::ConfigError;

/// A password, token or similar: compared by value, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Publish or subscribe allow/deny lists. An empty `allow` with `allow_set` means
/// nothing is allowed (nats-server's `allow: []`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectPerms {
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
}

/// `allow_responses`: a user may publish to reply subjects of requests it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePerms {
    pub max: usize,
    pub expires: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Option<SubjectPerms>,
    pub subscribe: Option<SubjectPerms>,
    pub allow_responses: Option<ResponsePerms>,
}

/// One user: by name and password, or by nkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConfig {
    pub user: Option<String>,
    /// Plain text, or a bcrypt hash (`$2a$...`).
    pub password: Option<Secret>,
    /// The user's public nkey (`U...`); authenticated by signing the INFO nonce.
    pub nkey: Option<String>,
    /// The account the user belongs to; `$G` (the global account) when none.
    pub account: String,
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    pub token: Option<Secret>,
    pub users: Vec<UserConfig>,
    /// Declared accounts (users may be in none of them: the global account `$G`).
    pub accounts: Vec<String>,
    pub no_auth_user: Option<String>,
    /// `authorization { timeout }`, overriding `auth_timeout`.
    pub timeout: Option<Duration>,
    /// `authorization { permissions }`: for users without their own.
    pub default_permissions: Option<Permissions>,
    /// Accounts declared with `jetstream: enabled` (or `jetstream: true`, or a
    /// `jetstream { }` block with limits — the block is accepted, its limits are
    /// ignored, and nothing is logged about them).
    pub jetstream_accounts: Vec<String>,
}

impl AuthConfig {
    /// Does any client need credentials?
    pub fn required(&self) -> bool {
        self.token.is_some() || !self.users.is_empty()
    }
}

pub const GLOBAL_ACCOUNT: &str = "$G";

fn invalid(path: &str, v: &Value, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: path.into(),
        origin: v.origin().unwrap_or("configuration").to_string(),
        expected: expected.into(),
        found: super::load::describe(v),
    }
}

fn unknown(path: &str, v: &Value) -> ConfigError {
    ConfigError::UnknownKey {
        key: path.into(),
        origin: v.origin().unwrap_or("configuration").to_string(),
    }
}

fn table<'a>(path: &str, v: &'a Value) -> Result<Vec<(String, &'a Value)>, ConfigError> {
    match &v.kind {
        ValueKind::Table(t) => {
            let mut entries: Vec<(String, &Value)> =
                t.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(entries)
        }
        _ => Err(invalid(path, v, "a block { ... }")),
    }
}

fn string(path: &str, v: &Value) -> Result<String, ConfigError> {
    match &v.kind {
        ValueKind::String(s) => Ok(s.clone()),
        ValueKind::I64(n) => Ok(n.to_string()),
        _ => Err(invalid(path, v, "a string")),
    }
}

fn strings(path: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
    match &v.kind {
        ValueKind::Array(items) => items.iter().map(|i| string(path, i)).collect(),
        _ => Ok(vec![string(path, v)?]),
    }
}

fn duration(path: &str, v: &Value) -> Result<Duration, ConfigError> {
    let d = match &v.kind {
        ValueKind::I64(n) if *n >= 0 => Some(Duration::from_secs(*n as u64)),
        ValueKind::Float(f) if *f >= 0.0 => Some(Duration::from_secs_f64(*f)),
        ValueKind::String(s) => super::units::parse_duration(s).ok(),
        _ => None,
    };
    d.ok_or_else(|| invalid(path, v, "a duration such as 2 (seconds) or \"2s\""))
}

fn subject_perms(path: &str, v: &Value) -> Result<SubjectPerms, ConfigError> {
    match &v.kind {
        // `publish: "foo.>"` or `publish: ["a", "b"]` is an allow list.
        ValueKind::String(_) | ValueKind::Array(_) => Ok(SubjectPerms {
            allow: Some(strings(path, v)?),
            deny: Vec::new(),
        }),
        _ => {
            let mut p = SubjectPerms::default();
            for (k, val) in table(path, v)? {
                let sub = format!("{path}.{k}");
                match k.as_str() {
                    "allow" => p.allow = Some(strings(&sub, val)?),
                    "deny" => p.deny = strings(&sub, val)?,
                    _ => return Err(unknown(&sub, val)),
                }
            }
            Ok(p)
        }
    }
}

fn permissions(path: &str, v: &Value) -> Result<Permissions, ConfigError> {
    let mut p = Permissions::default();
    for (k, val) in table(path, v)? {
        let sub = format!("{path}.{k}");
        match k.as_str() {
            "publish" | "pub" | "import" => p.publish = Some(subject_perms(&sub, val)?),
            "subscribe" | "sub" | "export" => p.subscribe = Some(subject_perms(&sub, val)?),
            "allow_responses" | "allow_response" | "responses" => {
                // nats-server's defaults: one response within two minutes.
                let mut r = ResponsePerms {
                    max: 1,
                    expires: Duration::from_secs(120),
                };
                match &val.kind {
                    ValueKind::Boolean(false) => continue,
                    ValueKind::Boolean(true) => {}
                    _ => {
                        for (rk, rv) in table(&sub, val)? {
                            let rpath = format!("{sub}.{rk}");
                            match rk.as_str() {
                                "max" | "max_msgs" | "max_messages" | "max_responses" => {
                                    r.max = match rv.kind {
                                        ValueKind::I64(n) if n >= 0 => n as usize,
                                        _ => return Err(invalid(&rpath, rv, "a count")),
                                    }
                                }
                                "expires" | "expiration" | "ttl" => {
                                    r.expires = duration(&rpath, rv)?
                                }
                                _ => return Err(unknown(&rpath, rv)),
                            }
                        }
                    }
                }
                p.allow_responses = Some(r);
            }
            _ => return Err(unknown(&sub, val)),
        }
    }
    Ok(p)
}

fn user(path: &str, v: &Value, account: &str) -> Result<UserConfig, ConfigError> {
    let mut u = UserConfig {
        user: None,
        password: None,
        nkey: None,
        account: account.to_string(),
        permissions: None,
    };
    for (k, val) in table(path, v)? {
        let sub = format!("{path}.{k}");
        match k.as_str() {
            "user" | "username" => u.user = Some(string(&sub, val)?),
            "pass" | "password" => u.password = Some(Secret(string(&sub, val)?)),
            "nkey" => u.nkey = Some(string(&sub, val)?),
            "permission" | "permissions" => u.permissions = Some(permissions(&sub, val)?),
            "account" if account == GLOBAL_ACCOUNT => u.account = string(&sub, val)?,
            _ => return Err(unknown(&sub, val)),
        }
    }
    if u.user.is_none() && u.nkey.is_none() {
        return Err(invalid(
            path,
            v,
            "a user with `user` and `password`, or an `nkey`",
        ));
    }
    Ok(u)
}

fn users(path: &str, v: &Value, account: &str) -> Result<Vec<UserConfig>, ConfigError> {
    match &v.kind {
        ValueKind::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| user(&format!("{path}[{i}]"), item, account))
            .collect(),
        _ => Err(invalid(path, v, "an array of users")),
    }
}

/// An account's `jetstream`: nats-server's on/off spellings, or a block of per-account
/// limits, which turns it on (edgeleaf does not enforce those limits, so their keys are
/// not checked).
fn account_jetstream(path: &str, v: &Value) -> Result<bool, ConfigError> {
    if let ValueKind::Table(_) = v.kind {
        return Ok(true);
    }
    super::load::jetstream_switch(v).ok_or_else(|| {
        invalid(
            path,
            v,
            "true, false, \"enabled\", \"disabled\" or a block of limits { ... }",
        )
    })
}

/// Reads `authorization`, `accounts` and `no_auth_user` (and the `--user/--pass/--auth`
/// flags' `auth_user`, `auth_pass`, `auth_token`) out of the merged values.
pub fn read(map: &Map<String, Value>) -> Result<AuthConfig, ConfigError> {
    let mut a = AuthConfig::default();
    let mut single_user: Option<String> = None;
    let mut single_pass: Option<Secret> = None;
    if let Some(v) = map.get("authorization") {
        for (k, val) in table("authorization", v)? {
            let path = format!("authorization.{k}");
            match k.as_str() {
                "token" => a.token = Some(Secret(string(&path, val)?)),
                "user" | "username" => single_user = Some(string(&path, val)?),
                "pass" | "password" => single_pass = Some(Secret(string(&path, val)?)),
                "users" => a.users.extend(users(&path, val, GLOBAL_ACCOUNT)?),
                "timeout" => a.timeout = Some(duration(&path, val)?),
                "permission" | "permissions" => {
                    a.default_permissions = Some(permissions(&path, val)?)
                }
                _ => return Err(unknown(&path, val)),
            }
        }
    }
    if let Some(v) = map.get("accounts") {
        for (name, val) in table("accounts", v)? {
            let path = format!("accounts.{name}");
            // Account names keep their case; the lower-cased key is only for matching.
            let real = match &v.kind {
                ValueKind::Table(t) => t
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&name))
                    .cloned()
                    .unwrap_or(name.clone()),
                _ => name.clone(),
            };
            a.accounts.push(real.clone());
            for (k, inner) in table(&path, val)? {
                let sub = format!("{path}.{k}");
                match k.as_str() {
                    "users" => a.users.extend(users(&sub, inner, &real)?),
                    "jetstream" => {
                        if account_jetstream(&sub, inner)? {
                            a.jetstream_accounts.push(real.clone());
                        }
                    }
                    _ => {
                        return Err(ConfigError::Unsupported {
                            key: sub,
                            feature: "account settings other than users and jetstream (imports, exports, limits)".into(),
                            origin: inner.origin().unwrap_or("configuration").to_string(),
                        })
                    }
                }
            }
        }
    }
    // Flags (`--user`, `--pass`, `--auth`) override the file, as in nats-server.
    if let Some(v) = map.get("auth_user") {
        single_user = Some(string("--user", v)?);
    }
    if let Some(v) = map.get("auth_pass") {
        single_pass = Some(Secret(string("--pass", v)?));
    }
    if let Some(v) = map.get("auth_token") {
        a.token = Some(Secret(string("--auth", v)?));
    }
    match (single_user, single_pass) {
        (Some(user), pass) => a.users.push(UserConfig {
            user: Some(user),
            password: pass,
            nkey: None,
            account: GLOBAL_ACCOUNT.into(),
            permissions: None,
        }),
        (None, Some(_)) => {
            return Err(ConfigError::Conflict(
                "a password is configured without a user (authorization.password or --pass needs a user)".into(),
            ))
        }
        (None, None) => {}
    }
    if a.token.is_some() && !a.users.is_empty() {
        return Err(ConfigError::Conflict(
            "authorization: a token cannot be combined with users (nats-server refuses this too)"
                .into(),
        ));
    }
    if let Some(v) = map.get("no_auth_user") {
        let name = string("no_auth_user", v)?;
        if !a.users.iter().any(|u| {
            u.user.as_deref() == Some(name.as_str()) || u.nkey.as_deref() == Some(name.as_str())
        }) {
            return Err(invalid("no_auth_user", v, "the name of a configured user"));
        }
        a.no_auth_user = Some(name);
    }
    for u in &mut a.users {
        if u.account != GLOBAL_ACCOUNT && !a.accounts.contains(&u.account) {
            return Err(ConfigError::Conflict(format!(
                "user {:?} names account {:?}, which is not declared in accounts {{ }}",
                u.user.as_deref().or(u.nkey.as_deref()).unwrap_or(""),
                u.account
            )));
        }
        if u.permissions.is_none() {
            u.permissions = a.default_permissions.clone();
        }
    }
    Ok(a)
}
