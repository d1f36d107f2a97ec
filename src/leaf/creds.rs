//! Credentials for the leaf CONNECT (PROTOCOL.md §2.18): reading a `.creds` file, signing
//! the hub's nonce with the user's nkey seed, and the seed's public key.
//!
//! Pure functions, no I/O. Nothing here ever puts seed text into an error message or a
//! `Debug` output.

use std::fmt;

use nkeys::{KeyPair, KeyPairType};

/// The user JWT and nkey seed of a `.creds` file.
#[derive(Clone, PartialEq, Eq)]
pub struct Creds {
    pub jwt: String,
    pub seed: String,
}

/// Shows only the lengths: neither the seed nor the JWT (a bearer credential for some
/// accounts) belongs in logs.
impl fmt::Debug for Creds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Creds")
            .field("jwt", &format_args!("<{} bytes, redacted>", self.jwt.len()))
            .field("seed", &format_args!("<redacted>"))
            .finish()
    }
}

/// What is wrong with a `.creds` file or a seed. The messages say what was expected and
/// what was found, without ever quoting the seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredsError {
    #[error(
        "creds: expected a user JWT between a -----BEGIN ...----- and an ------END ...------ \
         line, found no such block"
    )]
    MissingJwt,
    #[error(
        "creds: expected a second block (the nkey seed, -----BEGIN USER NKEY SEED-----) after \
         the JWT, found none"
    )]
    MissingSeed,
    #[error("creds: expected content in the block that starts on line {line}, found none")]
    EmptyBlock { line: usize },
    #[error("creds: expected the first block to be a JWT (three dot-separated parts), found {parts} part(s)")]
    BadJwt { parts: usize },
    #[error("nkey seed: expected a user seed (\"SU...\", 58 characters), found {len} characters that do not decode ({reason})")]
    BadSeed { len: usize, reason: &'static str },
    #[error("nkey seed: expected a user seed (\"SU...\"), found a seed of type {kind}")]
    NotUserSeed { kind: &'static str },
    #[error("nkey seed: signing the nonce failed ({reason})")]
    Sign { reason: &'static str },
}

/// The user JWT and seed from a `.creds` file's text.
///
/// Lenient, as nats-server is: a block is what lies between a marker line of three or
/// more dashes (`-----BEGIN NATS USER JWT-----`) and the next marker line (`------END
/// NATS USER JWT------`); the first block is the JWT and the second the seed. Text outside
/// blocks (the "IMPORTANT" notice) is ignored, blank lines and surrounding whitespace
/// inside a block too, and both `\n` and `\r\n` line ends are accepted. The seed is
/// checked to be a well-formed user seed.
pub fn parse_creds(text: &str) -> Result<Creds, CredsError> {
    let mut blocks: Vec<String> = Vec::with_capacity(2);
    // The line number (1-based) the open block started on, and its content so far.
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if is_marker(line) {
            match open.take() {
                Some((start, content)) => {
                    if content.is_empty() {
                        return Err(CredsError::EmptyBlock { line: start });
                    }
                    blocks.push(content);
                    if blocks.len() == 2 {
                        break;
                    }
                    // A BEGIN line where an END was expected closes the block and opens
                    // the next one.
                    if !is_end_marker(line) {
                        open = Some((i + 1, String::new()));
                    }
                }
                None if !is_end_marker(line) => open = Some((i + 1, String::new())),
                None => {}
            }
        } else if let Some((_, content)) = open.as_mut() {
            content.push_str(line);
        }
    }
    // A last block without its END line (a truncated file) still counts.
    if blocks.len() < 2 {
        if let Some((start, content)) = open {
            if content.is_empty() {
                return Err(CredsError::EmptyBlock { line: start });
            }
            blocks.push(content);
        }
    }
    let mut blocks = blocks.into_iter();
    let jwt = blocks.next().ok_or(CredsError::MissingJwt)?;
    let seed = blocks.next().ok_or(CredsError::MissingSeed)?;
    let parts = jwt.split('.').count();
    if parts != 3 {
        return Err(CredsError::BadJwt { parts });
    }
    user_key_pair(&seed)?;
    Ok(Creds { jwt, seed })
}

/// The base64url (no padding) ed25519 signature of `nonce` (its bytes as sent in INFO)
/// made with the user seed, as CONNECT's `sig` wants it.
pub fn sign_nonce(seed: &str, nonce: &str) -> Result<String, CredsError> {
    let kp = user_key_pair(seed)?;
    let sig = kp.sign(nonce.as_bytes()).map_err(|e| CredsError::Sign {
        reason: e.kind().as_str(),
    })?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&sig))
}

/// The public key (`U...`) of a user seed, as CONNECT's `nkey` wants it.
pub fn public_key(seed: &str) -> Result<String, CredsError> {
    Ok(user_key_pair(seed)?.public_key())
}

fn user_key_pair(seed: &str) -> Result<KeyPair, CredsError> {
    let kp = KeyPair::from_seed(seed.trim()).map_err(|e| CredsError::BadSeed {
        len: seed.trim().len(),
        // Only the kind: nkeys' description of a bad prefix quotes the seed's first
        // character, and nothing of the seed goes into messages.
        reason: e.kind().as_str(),
    })?;
    match kp.key_pair_type() {
        KeyPairType::User => Ok(kp),
        other => Err(CredsError::NotUserSeed {
            kind: match other {
                KeyPairType::Server => "server",
                KeyPairType::Cluster => "cluster",
                KeyPairType::Operator => "operator",
                KeyPairType::Account => "account",
                KeyPairType::User => "user",
                KeyPairType::Module => "module",
                KeyPairType::Service => "service",
                KeyPairType::Curve => "curve",
            },
        }),
    }
}

/// A line of three or more dashes, some text, and three or more dashes.
fn is_marker(line: &str) -> bool {
    line.len() >= 6 && line.starts_with("---") && line.ends_with("---")
}

fn is_end_marker(line: &str) -> bool {
    let inner = line.trim_matches('-');
    inner
        .split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("END"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln";

    /// A `.creds` file with the layout nsc writes (PROTOCOL.md §2.18).
    fn creds_text(jwt: &str, seed: &str) -> String {
        format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n"
        )
    }

    fn user_seed() -> String {
        KeyPair::new_user().seed().unwrap()
    }

    /// The seed with one character in the key part changed: fails its checksum.
    fn mangle(seed: &str) -> String {
        let mut b = seed.as_bytes().to_vec();
        b[10] = if b[10] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn parses_the_nsc_layout() {
        let seed = user_seed();
        assert!(seed.starts_with("SU"));
        let creds = parse_creds(&creds_text(JWT, &seed)).unwrap();
        assert_eq!(creds.jwt, JWT);
        assert_eq!(creds.seed, seed);
    }

    #[test]
    fn parses_windows_line_endings_and_stray_whitespace() {
        let seed = user_seed();
        let text = creds_text(JWT, &seed).replace('\n', "\r\n");
        let creds = parse_creds(&text).unwrap();
        assert_eq!(
            (creds.jwt.as_str(), creds.seed.as_str()),
            (JWT, seed.as_str())
        );

        let text = format!(
            "  ---BEGIN JWT---  \r\n\r\n  {JWT}  \r\n---END JWT---\r\n---BEGIN SEED---\r\n\t{seed}\r\n"
        );
        let creds = parse_creds(&text).unwrap();
        assert_eq!(
            (creds.jwt.as_str(), creds.seed.as_str()),
            (JWT, seed.as_str())
        );
    }

    #[test]
    fn missing_or_bad_blocks_are_errors() {
        let seed = user_seed();
        assert_eq!(parse_creds(""), Err(CredsError::MissingJwt));
        assert_eq!(parse_creds("just text\n"), Err(CredsError::MissingJwt));
        let jwt_only = "-----BEGIN NATS USER JWT-----\nA.B.C\n------END NATS USER JWT------\n";
        assert_eq!(parse_creds(jwt_only), Err(CredsError::MissingSeed));
        let empty_seed =
            format!("{jwt_only}-----BEGIN USER NKEY SEED-----\n\n------END USER NKEY SEED------\n");
        assert_eq!(
            parse_creds(&empty_seed),
            Err(CredsError::EmptyBlock { line: 4 })
        );
        assert_eq!(
            parse_creds(&creds_text("not-a-jwt", &seed)),
            Err(CredsError::BadJwt { parts: 1 })
        );
        let account_seed = KeyPair::new_account().seed().unwrap();
        assert_eq!(
            parse_creds(&creds_text(JWT, &account_seed)),
            Err(CredsError::NotUserSeed { kind: "account" })
        );
        let mangled = mangle(&seed);
        assert!(matches!(
            parse_creds(&creds_text(JWT, &mangled)),
            Err(CredsError::BadSeed { len: 58, .. })
        ));
    }

    #[test]
    fn signature_verifies_with_the_public_key() {
        let seed = user_seed();
        let nonce = "xT8Q3ZnrJ3Jb5gY";
        let sig = sign_nonce(&seed, nonce).unwrap();
        assert!(!sig.contains('=') && !sig.contains('+') && !sig.contains('/'));
        let raw = data_encoding::BASE64URL_NOPAD
            .decode(sig.as_bytes())
            .unwrap();
        assert_eq!(raw.len(), 64);

        let public = public_key(&seed).unwrap();
        assert!(public.starts_with('U'));
        assert_eq!(public, KeyPair::from_seed(&seed).unwrap().public_key());
        let verifier = KeyPair::from_public_key(&public).unwrap();
        verifier.verify(nonce.as_bytes(), &raw).unwrap();
        assert!(verifier.verify(b"another nonce", &raw).is_err());
    }

    #[test]
    fn messages_and_debug_never_show_the_seed() {
        let seed = user_seed();
        let creds = parse_creds(&creds_text(JWT, &seed)).unwrap();
        let debug = format!("{creds:?}");
        assert!(!debug.contains(&seed) && !debug.contains(JWT), "{debug}");

        let secret_part = &seed[2..20];
        let mut errors = vec![];
        let mangled = mangle(&seed);
        let truncated = &seed[..40];
        for bad in [mangled.as_str(), truncated, &seed[1..], "SU"] {
            errors.push(sign_nonce(bad, "nonce").unwrap_err());
            errors.push(public_key(bad).unwrap_err());
            errors.push(parse_creds(&creds_text(JWT, bad)).unwrap_err());
        }
        let account_seed = KeyPair::new_account().seed().unwrap();
        errors.push(sign_nonce(&account_seed, "nonce").unwrap_err());
        errors.push(parse_creds(&creds_text("x", &seed)).unwrap_err());
        for e in errors {
            let (msg, dbg) = (e.to_string(), format!("{e:?}"));
            for s in [&msg, &dbg] {
                assert!(
                    !s.contains(secret_part) && !s.contains(&account_seed[2..20]),
                    "{s}"
                );
            }
        }
    }
}
