//! Owns the subscription index of one account: a trie of subject tokens whose nodes hold
//! plain and queue subscriptions, plus a bounded cache of match results keyed by the
//! published subject. No I/O; the router wraps it in a lock.
//!
//! Why a cache: most traffic repeats a small set of subjects, and a cached result is one
//! hash lookup and an `Arc` clone. Inserts and removes only drop the cached entries their
//! pattern could match, so unrelated subjects stay warm.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::subject;

/// Subscriptions matching one published subject. Queue subscriptions are grouped by queue
/// name across all matching patterns, since one message goes to one member per group.
#[derive(Debug)]
pub struct Matches<T> {
    pub plain: Vec<T>,
    pub queues: Vec<(Box<[u8]>, Vec<T>)>,
}

impl<T> Matches<T> {
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }
}

#[derive(Debug)]
struct Node<T> {
    next: Option<Box<Level<T>>>,
    plain: Vec<T>,
    queues: Vec<(Box<[u8]>, Vec<T>)>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            next: None,
            plain: Vec::new(),
            queues: Vec::new(),
        }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.plain.is_empty()
            && self.queues.is_empty()
            && self.next.as_ref().is_none_or(|l| l.is_empty())
    }
}

#[derive(Debug)]
struct Level<T> {
    literal: HashMap<Box<[u8]>, Node<T>>,
    star: Option<Box<Node<T>>>,
    full: Option<Box<Node<T>>>,
}

impl<T> Default for Level<T> {
    fn default() -> Self {
        Level {
            literal: HashMap::new(),
            star: None,
            full: None,
        }
    }
}

impl<T> Level<T> {
    fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.star.is_none() && self.full.is_none()
    }
}

/// Counters shown by `/subsz`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub count: u64,
    pub inserts: u64,
    pub removes: u64,
    pub matches: u64,
    pub cache_hits: u64,
    pub cache_entries: usize,
}

/// Tokens a subject may have before `matches` splits it onto the heap.
const STACK_TOKENS: usize = 16;

/// Maximum cached subjects; past it the cache is swept down to half.
const CACHE_MAX: usize = 4096;

/// Slots of the filter in front of the cache (`Sublist::seen`).
const SEEN_SLOTS: usize = 1024;

#[derive(Debug)]
pub struct Sublist<T> {
    root: Level<T>,
    cache: HashMap<Box<[u8]>, Arc<Matches<T>>>,
    /// Hashes of subjects that missed the cache once, one per slot: a subject is cached
    /// only when it misses again while still remembered. Reply subjects (PubAcks, request
    /// and reply, an uplink's cloud acks) are unique, and caching them only cost an
    /// allocation, an insert and later a drop per message.
    seen: Box<[u64]>,
    stats: Stats,
}

impl<T> Default for Sublist<T> {
    fn default() -> Self {
        Sublist {
            root: Level::default(),
            cache: HashMap::new(),
            seen: vec![0; SEEN_SLOTS].into_boxed_slice(),
            stats: Stats::default(),
        }
    }
}

impl<T: Clone> Sublist<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a subscription. The subject must be valid (`subject::is_valid_subject`).
    pub fn insert(&mut self, subj: &[u8], queue: Option<&[u8]>, sub: T) {
        let mut level = &mut self.root;
        let mut tokens = subj.split(|&b| b == b'.').peekable();
        let node = loop {
            let Some(tok) = tokens.next() else {
                unreachable!("split yields at least one token")
            };
            let node: &mut Node<T> = match tok {
                b"*" => level.star.get_or_insert_with(Default::default),
                b">" => level.full.get_or_insert_with(Default::default),
                _ => level.literal.entry(tok.into()).or_default(),
            };
            if tokens.peek().is_none() {
                break node;
            }
            level = node.next.get_or_insert_with(Default::default);
        };
        match queue {
            None => node.plain.push(sub),
            Some(q) => match node.queues.iter_mut().find(|(name, _)| &**name == q) {
                Some((_, members)) => members.push(sub),
                None => node.queues.push((q.into(), vec![sub])),
            },
        }
        self.stats.count += 1;
        self.stats.inserts += 1;
        self.invalidate(subj);
    }

    /// Removes the first subscription at `subj`/`queue` for which `is_it` is true.
    pub fn remove(
        &mut self,
        subj: &[u8],
        queue: Option<&[u8]>,
        is_it: impl Fn(&T) -> bool,
    ) -> bool {
        let tokens: Vec<&[u8]> = subj.split(|&b| b == b'.').collect();
        let removed = remove_in(&mut self.root, &tokens, queue, &is_it);
        if removed {
            self.stats.count -= 1;
            self.stats.removes += 1;
            self.invalidate(subj);
        }
        removed
    }

    /// All subscriptions matching a published subject.
    pub fn matches(&mut self, subj: &[u8]) -> Arc<Matches<T>> {
        self.stats.matches += 1;
        if let Some(m) = self.cache.get(subj) {
            self.stats.cache_hits += 1;
            return m.clone();
        }
        let mut out = Matches {
            plain: Vec::new(),
            queues: Vec::new(),
        };
        // Most subjects have a few tokens: split them on the stack (a miss is the common
        // case for reply subjects, which are unique per request).
        let mut on_stack: [&[u8]; STACK_TOKENS] = [&[]; STACK_TOKENS];
        let mut n = 0;
        let mut spilled: Vec<&[u8]> = Vec::new();
        for tok in subj.split(|&b| b == b'.') {
            if n < STACK_TOKENS {
                on_stack[n] = tok;
            } else {
                if spilled.is_empty() {
                    spilled.extend_from_slice(&on_stack);
                }
                spilled.push(tok);
            }
            n += 1;
        }
        let tokens = if n <= STACK_TOKENS {
            &on_stack[..n]
        } else {
            &spilled[..]
        };
        collect(&self.root, tokens, &mut out);
        let out = Arc::new(out);
        let h = self.cache.hasher().hash_one(subj);
        let slot = &mut self.seen[h as usize % SEEN_SLOTS];
        if *slot != h {
            *slot = h;
            return out;
        }
        if self.cache.len() >= CACHE_MAX {
            // Cheap sweep: drop every other entry (HashMap order is effectively random),
            // in place: unique reply subjects fill the cache every CACHE_MAX / 2 misses.
            let mut keep = false;
            self.cache.retain(|_, _| {
                keep = !keep;
                keep
            });
        }
        self.cache.insert(subj.into(), out.clone());
        out
    }

    /// Every subscription, for monitoring.
    pub fn all(&self) -> Vec<T> {
        let mut out = Vec::new();
        walk(&self.root, &mut |n: &Node<T>| {
            out.extend(n.plain.iter().cloned());
            for (_, members) in &n.queues {
                out.extend(members.iter().cloned());
            }
        });
        out
    }

    pub fn count(&self) -> u64 {
        self.stats.count
    }

    pub fn stats(&self) -> Stats {
        Stats {
            cache_entries: self.cache.len(),
            ..self.stats
        }
    }

    fn invalidate(&mut self, pattern: &[u8]) {
        if subject::is_literal(pattern) {
            self.cache.remove(pattern);
        } else {
            self.cache.retain(|k, _| !subject::matches(pattern, k));
        }
    }
}

fn remove_in<T>(
    level: &mut Level<T>,
    tokens: &[&[u8]],
    queue: Option<&[u8]>,
    is_it: &dyn Fn(&T) -> bool,
) -> bool {
    let Some((tok, rest)) = tokens.split_first() else {
        return false;
    };
    let node = match *tok {
        b"*" => level.star.as_deref_mut(),
        b">" => level.full.as_deref_mut(),
        t => level.literal.get_mut(t),
    };
    let Some(node) = node else { return false };
    let removed = if rest.is_empty() {
        match queue {
            None => take_first(&mut node.plain, is_it),
            Some(q) => match node.queues.iter().position(|(name, _)| &**name == q) {
                Some(i) => {
                    let removed = take_first(&mut node.queues[i].1, is_it);
                    if node.queues[i].1.is_empty() {
                        node.queues.swap_remove(i);
                    }
                    removed
                }
                None => false,
            },
        }
    } else {
        match node.next.as_deref_mut() {
            Some(next) => remove_in(next, rest, queue, is_it),
            None => false,
        }
    };
    if removed && node.is_empty() {
        // Prune empty nodes so a long-running server does not keep dead subjects.
        match *tok {
            b"*" => level.star = None,
            b">" => level.full = None,
            t => {
                level.literal.remove(t);
            }
        }
    } else if removed {
        if let Some(next) = &node.next {
            if next.is_empty() {
                node.next = None;
            }
        }
    }
    removed
}

fn take_first<T>(v: &mut Vec<T>, is_it: &dyn Fn(&T) -> bool) -> bool {
    match v.iter().position(is_it) {
        Some(i) => {
            v.remove(i);
            true
        }
        None => false,
    }
}

fn collect<T: Clone>(level: &Level<T>, tokens: &[&[u8]], out: &mut Matches<T>) {
    let Some((tok, rest)) = tokens.split_first() else {
        return;
    };
    if let Some(full) = &level.full {
        add(full, out);
    }
    if let Some(star) = &level.star {
        visit(star, rest, out);
    }
    if let Some(lit) = level.literal.get(*tok) {
        visit(lit, rest, out);
    }
}

fn visit<T: Clone>(node: &Node<T>, rest: &[&[u8]], out: &mut Matches<T>) {
    if rest.is_empty() {
        add(node, out);
    } else if let Some(next) = &node.next {
        collect(next, rest, out);
    }
}

fn add<T: Clone>(node: &Node<T>, out: &mut Matches<T>) {
    out.plain.extend(node.plain.iter().cloned());
    for (name, members) in &node.queues {
        match out.queues.iter_mut().find(|(n, _)| n == name) {
            Some((_, group)) => group.extend(members.iter().cloned()),
            None => out.queues.push((name.clone(), members.clone())),
        }
    }
}

fn walk<T>(level: &Level<T>, f: &mut dyn FnMut(&Node<T>)) {
    let nodes = level
        .literal
        .values()
        .chain(level.star.as_deref())
        .chain(level.full.as_deref());
    for node in nodes {
        f(node);
        if let Some(next) = &node.next {
            walk(next, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(m: &Matches<u32>) -> Vec<u32> {
        let mut v = m.plain.clone();
        v.sort();
        v
    }

    #[test]
    fn literal_and_wildcards() {
        let mut s = Sublist::new();
        s.insert(b"foo.bar", None, 1);
        s.insert(b"foo.*", None, 2);
        s.insert(b"foo.>", None, 3);
        s.insert(b">", None, 4);
        s.insert(b"*.bar", None, 5);
        s.insert(b"foo", None, 6);
        assert_eq!(ids(&s.matches(b"foo.bar")), vec![1, 2, 3, 4, 5]);
        assert_eq!(ids(&s.matches(b"foo.baz")), vec![2, 3, 4]);
        assert_eq!(ids(&s.matches(b"foo.bar.baz")), vec![3, 4]);
        assert_eq!(ids(&s.matches(b"foo")), vec![4, 6]);
        assert!(s.remove(b"foo.*", None, |x| *x == 2));
        assert!(!s.remove(b"foo.*", None, |x| *x == 2));
        assert_eq!(ids(&s.matches(b"foo.bar")), vec![1, 3, 4, 5]);
        assert_eq!(s.count(), 5);
    }

    #[test]
    fn queue_groups_merge_across_patterns() {
        let mut s = Sublist::new();
        s.insert(b"foo.bar", Some(b"q"), 1);
        s.insert(b"foo.*", Some(b"q"), 2);
        s.insert(b"foo.*", Some(b"r"), 3);
        let m = s.matches(b"foo.bar");
        assert!(m.plain.is_empty());
        assert_eq!(m.queues.len(), 2);
        let q = m.queues.iter().find(|(n, _)| &**n == b"q").unwrap();
        assert_eq!(q.1.len(), 2);
        assert!(s.remove(b"foo.*", Some(b"r"), |x| *x == 3));
        assert_eq!(s.matches(b"foo.bar").queues.len(), 1);
    }

    #[test]
    fn cache_is_invalidated_by_inserts_and_removes() {
        let mut s = Sublist::new();
        assert!(s.matches(b"a.b").is_empty());
        s.insert(b"a.*", None, 1);
        assert_eq!(ids(&s.matches(b"a.b")), vec![1]);
        assert_eq!(ids(&s.matches(b"a.b")), vec![1]);
        assert!(s.stats().cache_hits >= 1);
        s.remove(b"a.*", None, |x| *x == 1);
        assert!(s.matches(b"a.b").is_empty());
        assert!(s.all().is_empty());
    }

    #[test]
    fn subjects_longer_than_the_stack_split_still_match() {
        let mut s = Sublist::new();
        let deep: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
        let subj = deep.join(".");
        s.insert(subj.as_bytes(), None, 1);
        s.insert(format!("{}.>", deep[..17].join(".")).as_bytes(), None, 2);
        s.insert(format!("{}.*", deep[..39].join(".")).as_bytes(), None, 3);
        s.insert(format!("{}.*", deep[..15].join(".")).as_bytes(), None, 4);
        assert_eq!(ids(&s.matches(subj.as_bytes())), vec![1, 2, 3]);
        let sixteen = deep[..16].join(".");
        assert_eq!(ids(&s.matches(sixteen.as_bytes())), vec![4]);
        let seventeen = deep[..17].join(".");
        assert!(s.matches(seventeen.as_bytes()).is_empty());
    }

    #[test]
    fn a_full_cache_is_swept_to_half_and_keeps_answering_right() {
        let mut s = Sublist::new();
        s.insert(b"r.*", None, 1);
        for i in 0..(3 * CACHE_MAX) {
            let subj = format!("r.{i}");
            // The second miss caches it.
            for _ in 0..2 {
                assert_eq!(ids(&s.matches(subj.as_bytes())), vec![1]);
            }
            assert!(s.stats().cache_entries <= CACHE_MAX);
        }
        assert!(s.stats().cache_entries >= CACHE_MAX / 2);
        s.insert(b"r.5", None, 2);
        assert_eq!(ids(&s.matches(b"r.5")), vec![1, 2]);
    }

    #[test]
    fn a_subject_seen_once_is_not_cached_but_a_repeated_one_is() {
        let mut s = Sublist::new();
        s.insert(b"_INBOX.x.*", None, 1);
        for i in 0..100 {
            assert_eq!(ids(&s.matches(format!("_INBOX.x.{i}").as_bytes())), vec![1]);
        }
        assert_eq!(s.stats().cache_entries, 0);
        for _ in 0..3 {
            assert_eq!(ids(&s.matches(b"_INBOX.x.again")), vec![1]);
        }
        assert_eq!(s.stats().cache_entries, 1);
        assert_eq!(s.stats().cache_hits, 1);
    }

    fn token() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("a"), Just("b"), Just("c")]
    }
    fn pattern() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(prop_oneof![token(), Just("*")], 1..4),
            any::<bool>(),
        )
            .prop_map(|(mut v, full)| {
                if full {
                    v.push(">");
                }
                v.join(".")
            })
    }

    proptest! {
        /// The trie (with its cache) gives exactly what a linear scan with
        /// `subject::matches` gives, through any sequence of inserts and removes.
        #[test]
        fn agrees_with_linear_scan(
            ops in proptest::collection::vec((pattern(), any::<bool>()), 1..40),
            probes in proptest::collection::vec(proptest::collection::vec(token(), 1..5), 1..10),
        ) {
            let mut s = Sublist::new();
            let mut live: Vec<(String, u32)> = Vec::new();
            for (i, (p, add)) in ops.iter().enumerate() {
                if *add || live.is_empty() {
                    s.insert(p.as_bytes(), None, i as u32);
                    live.push((p.clone(), i as u32));
                } else {
                    let (p, id) = live.remove(i % live.len());
                    prop_assert!(s.remove(p.as_bytes(), None, |x| *x == id));
                }
                for probe in &probes {
                    let subj = probe.join(".");
                    let mut want: Vec<u32> = live.iter()
                        .filter(|(p, _)| subject::matches(p.as_bytes(), subj.as_bytes()))
                        .map(|(_, id)| *id).collect();
                    want.sort();
                    prop_assert_eq!(ids(&s.matches(subj.as_bytes())), want);
                }
            }
        }
    }
}
