//! Owns what a NATS subject is: token splitting, validation (for subscriptions and for
//! publishes, with nats-server's rules) and wildcard matching of one pattern against one
//! subject. No I/O; the sublist builds on this.

/// True if `subject` is a valid subscription subject: non-empty tokens separated by `.`,
/// `>` only as the last token, no whitespace. A token is a wildcard only when it is
/// exactly `*` or `>` (`foo*` is a literal token), as in nats-server.
pub fn is_valid_subject(subject: &[u8]) -> bool {
    if subject.is_empty() {
        return false;
    }
    let mut tokens = subject.split(|&b| b == b'.').peekable();
    while let Some(tok) = tokens.next() {
        if tok.is_empty() || tok.iter().any(|b| b.is_ascii_whitespace()) {
            return false;
        }
        if tok == b">" && tokens.peek().is_some() {
            return false;
        }
    }
    true
}

/// True if the subject is valid and has no wildcard token: what a publish may target.
pub fn is_valid_publish_subject(subject: &[u8]) -> bool {
    is_valid_subject(subject) && is_literal(subject)
}

/// True if no token is exactly `*` or `>`.
pub fn is_literal(subject: &[u8]) -> bool {
    !subject
        .split(|&b| b == b'.')
        .any(|tok| tok == b"*" || tok == b">")
}

/// Does the subscription `pattern` match the published `subject`? Both are assumed valid.
/// A published wildcard token is matched like an ordinary token, as nats-server does.
pub fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    let mut p = pattern.split(|&b| b == b'.');
    let mut s = subject.split(|&b| b == b'.');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(b">"), Some(_)) => return true,
            (Some(pt), Some(st)) => {
                if pt != b"*" && pt != st {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Could any subject matched by pattern `a` also be matched by pattern `b`? Used to find
/// which cached match results a new or removed subscription affects.
pub fn patterns_overlap(a: &[u8], b: &[u8]) -> bool {
    let mut x = a.split(|&c| c == b'.');
    let mut y = b.split(|&c| c == b'.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(b">"), Some(_)) | (Some(_), Some(b">")) => return true,
            (Some(s), Some(t)) => {
                if s != b"*" && t != b"*" && s != t {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// A valid stream, consumer or queue-group style name: non-empty, no whitespace.
pub fn is_valid_queue_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.iter().any(|b| b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn validity_follows_nats_server() {
        for ok in [
            "foo", "foo.bar", "foo.*", "foo.>", ">", "*", "foo*", "a>b", "*.*.>",
        ] {
            assert!(is_valid_subject(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "foo.",
            ".foo",
            "foo..bar",
            "foo.>.bar",
            "> .a",
            "a b",
        ] {
            assert!(!is_valid_subject(bad.as_bytes()), "{bad:?}");
        }
        assert!(is_valid_publish_subject(b"foo*.bar"));
        assert!(!is_valid_publish_subject(b"foo.*"));
        assert!(!is_valid_publish_subject(b">"));
    }

    #[test]
    fn wildcard_matching() {
        assert!(matches(b"foo.*", b"foo.bar"));
        assert!(!matches(b"foo.*", b"foo.bar.baz"));
        assert!(matches(b"foo.>", b"foo.bar.baz"));
        assert!(!matches(b"foo.>", b"foo"));
        assert!(matches(b">", b"a"));
        assert!(matches(b"*.b.*", b"a.b.c"));
        assert!(!matches(b"foo.bar", b"foo.baz"));
        assert!(matches(b"foo.*", b"foo.*"));
        assert!(!matches(b"foo.bar", b"foo.*"));
    }

    #[test]
    fn overlap() {
        assert!(patterns_overlap(b"foo.*", b"foo.bar"));
        assert!(patterns_overlap(b"foo.>", b"*.bar.baz"));
        assert!(!patterns_overlap(b"foo.*", b"bar.*"));
        assert!(!patterns_overlap(b"foo.*", b"foo.a.b"));
    }

    fn subject() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..4)
            .prop_map(|v| v.join("."))
    }
    fn pattern() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("*")], 0..3),
            any::<bool>(),
        )
            .prop_map(|(mut v, full)| {
                if full || v.is_empty() {
                    v.push(">");
                }
                v.join(".")
            })
    }

    proptest! {
        #[test]
        fn overlap_is_implied_by_a_match(p in pattern(), s in subject()) {
            if matches(p.as_bytes(), s.as_bytes()) {
                prop_assert!(patterns_overlap(p.as_bytes(), s.as_bytes()));
            }
        }
    }
}
