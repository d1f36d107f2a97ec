//! Owns who a client is and what it may do: checking CONNECT credentials (token,
//! user/password with plain or bcrypt passwords, nkey signatures over the INFO nonce,
//! `no_auth_user`), binding the client to its account, and the compiled publish/subscribe
//! permissions with `allow_responses`. nats-server's rules and error texts throughout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::info::ConnectOpts;
use crate::config::auth::{
    AuthConfig, Permissions, ResponsePerms, SubjectPerms, UserConfig, GLOBAL_ACCOUNT,
};
use crate::router::Account;
use crate::subject;

/// One allow/deny entry: a subject pattern, optionally limited to a queue group
/// (`"foo.> workers"`), as nats-server's subscribe permissions allow.
#[derive(Debug, Clone)]
struct Entry {
    subject: Vec<u8>,
    queue: Option<Vec<u8>>,
}

impl Entry {
    fn parse(text: &str) -> Entry {
        let mut parts = text.split_whitespace();
        let subject = parts.next().unwrap_or("").as_bytes().to_vec();
        let queue = parts.next().map(|q| q.as_bytes().to_vec());
        Entry { subject, queue }
    }

    /// Does this entry cover `subj` (a wildcard subject's tokens are matched literally,
    /// so `foo.*` is covered by `foo.*`, `foo.>` and `>`, as in nats-server)?
    fn covers(&self, subj: &[u8], queue: Option<&[u8]>) -> bool {
        if !subject::matches(&self.subject, subj) {
            return false;
        }
        match (&self.queue, queue) {
            (None, _) => true,
            (Some(q), Some(have)) => subject::matches(q, have),
            (Some(_), None) => false,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct List {
    /// None: everything not denied is allowed. Some(empty): nothing is.
    allow: Option<Vec<Entry>>,
    deny: Vec<Entry>,
}

impl List {
    fn compile(p: &SubjectPerms) -> List {
        List {
            allow: p
                .allow
                .as_ref()
                .map(|a| a.iter().map(|s| Entry::parse(s)).collect()),
            deny: p.deny.iter().map(|s| Entry::parse(s)).collect(),
        }
    }

    fn allows(&self, subj: &[u8], queue: Option<&[u8]>) -> bool {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|a| a.iter().any(|e| e.covers(subj, queue)));
        allowed && !self.deny.iter().any(|e| e.covers(subj, queue))
    }
}

/// A user's permissions, compiled for checking on every PUB and SUB.
#[derive(Debug)]
pub struct Perms {
    publish: Option<List>,
    subscribe: Option<List>,
    responses: Option<ResponsePerms>,
    /// Reply subjects this client may answer (allow_responses): remaining count, deadline.
    replies: Mutex<HashMap<Vec<u8>, (usize, Instant)>>,
}

impl Perms {
    pub fn compile(p: &Permissions) -> Perms {
        let mut publish = p.publish.as_ref().map(List::compile);
        if p.allow_responses.is_some() {
            // With allow_responses and no publish allow list, a user may publish nothing
            // but responses (nats-server does the same).
            let list = publish.get_or_insert_with(List::default);
            list.allow.get_or_insert_with(Vec::new);
        }
        Perms {
            publish,
            subscribe: p.subscribe.as_ref().map(List::compile),
            responses: p.allow_responses,
            replies: Mutex::new(HashMap::new()),
        }
    }

    /// May this client publish to `subj`? Uses up one allowed response if that is what
    /// makes it allowed.
    pub fn may_publish(&self, subj: &[u8]) -> bool {
        if self.publish.as_ref().is_none_or(|l| l.allows(subj, None)) {
            return true;
        }
        if self.responses.is_none() {
            return false;
        }
        let mut replies = self.replies.lock();
        let now = Instant::now();
        replies.retain(|_, (_, deadline)| *deadline > now);
        match replies.get_mut(subj) {
            Some((left, _)) if *left > 0 => {
                *left -= 1;
                if *left == 0 {
                    replies.remove(subj);
                }
                true
            }
            _ => false,
        }
    }

    pub fn may_subscribe(&self, subj: &[u8], queue: Option<&[u8]>) -> bool {
        self.subscribe
            .as_ref()
            .is_none_or(|l| l.allows(subj, queue))
    }

    /// A wildcard subscription may cover denied subjects: those deliveries are dropped.
    pub fn delivery_denied(&self, subj: &[u8]) -> bool {
        self.subscribe.as_ref().is_some_and(|l| {
            l.deny
                .iter()
                .any(|e| e.queue.is_none() && subject::matches(&e.subject, subj))
        })
    }

    /// Whether deliveries need `note_reply` (only with allow_responses).
    pub fn tracks_replies(&self) -> bool {
        self.responses.is_some()
    }

    /// A request was delivered to this client: it may answer on `reply`.
    pub fn note_reply(&self, reply: &[u8]) {
        if let Some(r) = self.responses {
            let deadline = Instant::now() + r.expires;
            let max = if r.max == 0 { 1 } else { r.max };
            let mut replies = self.replies.lock();
            if replies.len() > 100_000 {
                // Bound memory if a client receives requests it never answers.
                let now = Instant::now();
                replies.retain(|_, (_, d)| *d > now);
            }
            replies.insert(reply.to_vec(), (max, deadline));
        }
    }
}

/// Who a connection authenticated as.
pub struct Identity {
    pub user: Option<String>,
    pub account: Arc<Account>,
    pub perms: Option<Arc<Perms>>,
}

/// Why authentication failed (logged, never sent: the client only sees
/// 'Authorization Violation', as with nats-server).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials given")]
    Missing,
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error("wrong password for user {0:?}")]
    BadPassword(String),
    #[error("invalid token")]
    BadToken,
    #[error("unknown nkey {0:?}")]
    UnknownNkey(String),
    #[error("bad nkey signature for {0:?}")]
    BadSignature(String),
    #[error("clients may not choose their account")]
    AccountInConnect,
    #[error("no user matches the client certificate (tried {0:?})")]
    NoCertUser(Vec<String>),
}

/// The server's users and accounts.
pub struct Authenticator {
    cfg: AuthConfig,
    accounts: HashMap<String, Arc<Account>>,
    perms: Vec<Option<Arc<Permissions>>>,
}

impl Authenticator {
    pub fn new(cfg: &AuthConfig) -> Authenticator {
        let mut accounts = HashMap::new();
        accounts.insert(
            GLOBAL_ACCOUNT.to_string(),
            Arc::new(Account::new(GLOBAL_ACCOUNT)),
        );
        for name in &cfg.accounts {
            accounts
                .entry(name.clone())
                .or_insert_with(|| Arc::new(Account::new(name.clone())));
        }
        let perms = cfg
            .users
            .iter()
            .map(|u| u.permissions.clone().map(Arc::new))
            .collect();
        Authenticator {
            cfg: cfg.clone(),
            accounts,
            perms,
        }
    }

    pub fn required(&self) -> bool {
        self.cfg.required()
    }

    /// nkey users sign the INFO nonce; only then does INFO carry one.
    pub fn needs_nonce(&self) -> bool {
        self.cfg.users.iter().any(|u| u.nkey.is_some())
    }

    pub fn has_no_auth_user(&self) -> bool {
        self.cfg.no_auth_user.is_some()
    }

    pub fn global(&self) -> Arc<Account> {
        self.account(GLOBAL_ACCOUNT)
    }

    pub fn account(&self, name: &str) -> Arc<Account> {
        match self.accounts.get(name) {
            Some(a) => a.clone(),
            // Config validation guarantees users only name declared accounts.
            None => self.accounts[GLOBAL_ACCOUNT].clone(),
        }
    }

    pub fn accounts(&self) -> Vec<Arc<Account>> {
        let mut v: Vec<Arc<Account>> = self.accounts.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn identity(&self, i: usize) -> Identity {
        let u = &self.cfg.users[i];
        Identity {
            user: u.user.clone().or_else(|| u.nkey.clone()),
            account: self.account(&u.account),
            perms: self.perms[i].as_ref().map(|p| Arc::new(Perms::compile(p))),
        }
    }

    /// Checks a CONNECT against the configured credentials. With TLS `verify_and_map`,
    /// `cert_names` are the names the verified client certificate offers (in the order
    /// they are tried) and the first that is a configured user is who the client is.
    pub fn authenticate(
        &self,
        opts: &ConnectOpts,
        nonce: &str,
        cert_names: Option<&[String]>,
    ) -> Result<Identity, AuthError> {
        if opts.account.is_some() || opts.new_account.is_some() {
            return Err(AuthError::AccountInConnect);
        }
        if let Some(names) = cert_names {
            if self.cfg.users.is_empty() {
                // Nothing to map to: the verified certificate is the whole check.
                return Ok(Identity {
                    user: None,
                    account: self.global(),
                    perms: None,
                });
            }
            return names
                .iter()
                .find_map(|n| {
                    self.cfg
                        .users
                        .iter()
                        .position(|u| u.user.as_deref() == Some(n.as_str()))
                })
                .map(|i| self.identity(i))
                .ok_or_else(|| AuthError::NoCertUser(names.to_vec()));
        }
        if !self.required() {
            return Ok(Identity {
                user: None,
                account: self.global(),
                perms: None,
            });
        }
        if let Some(token) = &self.cfg.token {
            return match &opts.auth_token {
                Some(t) if constant_time_eq(t.as_bytes(), token.0.as_bytes()) => Ok(Identity {
                    user: None,
                    account: self.global(),
                    perms: None,
                }),
                Some(_) => Err(AuthError::BadToken),
                None => Err(AuthError::Missing),
            };
        }
        if let Some(nkey) = &opts.nkey {
            let i = self
                .cfg
                .users
                .iter()
                .position(|u| u.nkey.as_deref() == Some(nkey.as_str()))
                .ok_or_else(|| AuthError::UnknownNkey(nkey.clone()))?;
            let sig = opts.sig.as_deref().unwrap_or("");
            if !verify_nkey(nkey, nonce, sig) {
                return Err(AuthError::BadSignature(nkey.clone()));
            }
            return Ok(self.identity(i));
        }
        if let Some(name) = &opts.user {
            let i = self
                .cfg
                .users
                .iter()
                .position(|u| u.user.as_deref() == Some(name.as_str()))
                .ok_or_else(|| AuthError::UnknownUser(name.clone()))?;
            if !password_ok(&self.cfg.users[i], opts.pass.as_deref().unwrap_or("")) {
                return Err(AuthError::BadPassword(name.clone()));
            }
            return Ok(self.identity(i));
        }
        if let Some(name) = &self.cfg.no_auth_user {
            if opts.auth_token.is_none() && opts.jwt.is_none() {
                if let Some(i) = self.cfg.users.iter().position(|u| {
                    u.user.as_deref() == Some(name.as_str())
                        || u.nkey.as_deref() == Some(name.as_str())
                }) {
                    return Ok(self.identity(i));
                }
            }
        }
        Err(AuthError::Missing)
    }
}

fn password_ok(u: &UserConfig, given: &str) -> bool {
    let Some(want) = &u.password else {
        return given.is_empty();
    };
    let want = want.0.as_str();
    if want.starts_with("$2a$") || want.starts_with("$2b$") || want.starts_with("$2y$") {
        return bcrypt::verify(given, want).unwrap_or(false);
    }
    constant_time_eq(given.as_bytes(), want.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies an nkey signature over the nonce string as sent in INFO. Clients encode the
/// signature as base64 URL-safe without padding; standard base64 is accepted too.
fn verify_nkey(public: &str, nonce: &str, sig: &str) -> bool {
    let Ok(kp) = nkeys::KeyPair::from_public_key(public) else {
        return false;
    };
    let decoded = data_encoding::BASE64URL_NOPAD
        .decode(sig.trim_end_matches('=').as_bytes())
        .or_else(|_| data_encoding::BASE64.decode(sig.as_bytes()));
    match decoded {
        Ok(bytes) => kp.verify(nonce.as_bytes(), &bytes).is_ok(),
        Err(_) => false,
    }
}

/// A fresh nonce for INFO: 11 random bytes, base64 URL-safe without padding (15
/// characters), like nats-server's.
pub fn new_nonce() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 11];
    rand::thread_rng().fill_bytes(&mut raw);
    data_encoding::BASE64URL_NOPAD.encode(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::auth::Secret;
    use std::time::Duration;

    fn user(name: &str, pass: &str) -> UserConfig {
        UserConfig {
            user: Some(name.into()),
            password: Some(Secret(pass.into())),
            nkey: None,
            account: GLOBAL_ACCOUNT.into(),
            permissions: None,
        }
    }

    fn opts(json: &str) -> ConnectOpts {
        ConnectOpts::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn passwords_plain_and_bcrypt() {
        let hash = bcrypt::hash("pw2", 4).unwrap();
        let cfg = AuthConfig {
            users: vec![user("a", "pw1"), user("b", &hash)],
            ..Default::default()
        };
        let auth = Authenticator::new(&cfg);
        assert!(auth
            .authenticate(&opts(r#"{"user":"a","pass":"pw1"}"#), "", None)
            .is_ok());
        assert!(auth
            .authenticate(&opts(r#"{"user":"a","pass":"nope"}"#), "", None)
            .is_err());
        assert!(auth
            .authenticate(&opts(r#"{"user":"b","pass":"pw2"}"#), "", None)
            .is_ok());
        assert!(auth
            .authenticate(&opts(r#"{"user":"b","pass":"pw1"}"#), "", None)
            .is_err());
        assert!(auth.authenticate(&opts(r#"{}"#), "", None).is_err());
    }

    #[test]
    fn nkey_signature_over_the_nonce() {
        let kp = nkeys::KeyPair::new_user();
        let cfg = AuthConfig {
            users: vec![UserConfig {
                user: None,
                password: None,
                nkey: Some(kp.public_key()),
                account: GLOBAL_ACCOUNT.into(),
                permissions: None,
            }],
            ..Default::default()
        };
        let auth = Authenticator::new(&cfg);
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 15);
        let sig = data_encoding::BASE64URL_NOPAD.encode(&kp.sign(nonce.as_bytes()).unwrap());
        let good = format!(r#"{{"nkey":"{}","sig":"{sig}"}}"#, kp.public_key());
        assert!(auth.authenticate(&opts(&good), &nonce, None).is_ok());
        assert!(auth.authenticate(&opts(&good), "othernonce", None).is_err());
    }

    #[test]
    fn permissions_with_queues_and_responses() {
        let p = Permissions {
            publish: Some(SubjectPerms {
                allow: Some(vec!["pub.>".into()]),
                deny: vec!["pub.secret".into()],
            }),
            subscribe: Some(SubjectPerms {
                allow: Some(vec!["sub.>".into(), "work.* workers".into()]),
                deny: vec!["sub.hidden".into()],
            }),
            allow_responses: Some(ResponsePerms {
                max: 1,
                expires: Duration::from_secs(60),
            }),
        };
        let perms = Perms::compile(&p);
        assert!(perms.may_publish(b"pub.a"));
        assert!(!perms.may_publish(b"pub.secret"));
        assert!(!perms.may_publish(b"other"));
        perms.note_reply(b"_INBOX.r1");
        assert!(perms.may_publish(b"_INBOX.r1"));
        assert!(!perms.may_publish(b"_INBOX.r1"), "one response only");
        assert!(perms.may_subscribe(b"sub.x", None));
        assert!(perms.may_subscribe(b"sub.>", None));
        assert!(!perms.may_subscribe(b"sub.hidden", None));
        assert!(perms.delivery_denied(b"sub.hidden"));
        assert!(perms.may_subscribe(b"work.a", Some(b"workers")));
        assert!(!perms.may_subscribe(b"work.a", Some(b"others")));
        assert!(!perms.may_subscribe(b"work.a", None));
        assert!(!perms.may_subscribe(b">", None));
    }
}
