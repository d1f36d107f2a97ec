use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;

fn msg(seq: u64, subject: &str, payload: &[u8]) -> StoredMsg {
    StoredMsg {
        seq,
        time_ns: 1_000 + seq as i64,
        subject: subject.to_string(),
        headers: if seq % 3 == 0 {
            Some(b"NATS/1.0\r\nA: b\r\n\r\n".to_vec())
        } else {
            None
        },
        payload: payload.to_vec(),
    }
}

fn all(_: &str) -> bool {
    true
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgeleaf-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The chunk trees of `stream`, in either naming.
fn chunk_count(s: &Store, stream: &str) -> usize {
    let p = prefix(stream).unwrap();
    let tagged = messages::stream_tag(&s.sh.tombs, &p).unwrap();
    messages::chunk_trees(&s.sh.db, &p, tagged.as_deref()).len()
}

/// sled releases its file lock from a background thread after the last handle is
/// dropped, so an immediate reopen in the same process can find it still held.
fn open(d: &Path) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(d, 8 << 20) {
            Ok(s) => return s,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn append_get_next_last_state() {
    let s = Store::memory().unwrap();
    let m = s.messages("S").unwrap();
    assert_eq!(m.state(), MsgsState::default());
    let batch: Vec<_> = (1..=10)
        .map(|i| msg(i, if i % 2 == 0 { "a.even" } else { "a.odd" }, b"xy"))
        .collect();
    m.append(&batch).unwrap();
    let st = m.state();
    assert_eq!(st.msgs, 10);
    assert_eq!(st.bytes, batch.iter().map(|m| m.size()).sum::<u64>());
    assert_eq!((st.first_seq, st.last_seq), (1, 10));
    assert_eq!((st.first_ts, st.last_ts), (1001, 1010));
    assert_eq!(m.get(3).unwrap(), Some(batch[2].clone()));
    assert_eq!(m.get(11).unwrap(), None);
    assert_eq!(m.get(0).unwrap(), None);
    assert_eq!(m.next(4, &|s| s == "a.odd").unwrap().unwrap().seq, 5);
    assert_eq!(m.next(11, &all).unwrap(), None);
    assert_eq!(m.last(&|s| s == "a.odd").unwrap().unwrap().seq, 9);
    assert_eq!(m.last(&|s| s == "none").unwrap(), None);
    assert_eq!(m.subject_count("a.even"), 5);
    // Out of order appends are refused and change nothing.
    assert!(matches!(
        m.append(&[msg(10, "x", b"")]),
        Err(StoreError::OutOfOrder {
            seq: 10,
            last_seq: 10,
            ..
        })
    ));
    assert_eq!(m.state(), st);
    // Same handle for the same stream.
    assert_eq!(s.messages("S").unwrap().state(), st);
}

#[test]
fn remove_moves_first_and_empty_reports_last_plus_one() {
    let s = Store::memory().unwrap();
    let m = s.messages("S").unwrap();
    m.append(&(1..=5).map(|i| msg(i, "q", b"p")).collect::<Vec<_>>())
        .unwrap();
    assert!(m.remove(3).unwrap());
    assert!(!m.remove(3).unwrap());
    assert!(!m.remove(9).unwrap());
    assert_eq!(m.get(3).unwrap(), None);
    assert_eq!(m.next(3, &all).unwrap().unwrap().seq, 4);
    assert!(m.remove(1).unwrap());
    assert_eq!(m.state().first_seq, 2);
    for i in [2, 4, 5] {
        assert!(m.remove(i).unwrap());
    }
    let st = m.state();
    assert_eq!((st.msgs, st.bytes, st.first_seq, st.last_seq), (0, 0, 6, 5));
    s.flush().unwrap();
    assert_eq!(m.state(), st);
    m.append(&[msg(6, "q", b"")]).unwrap();
    assert_eq!((m.state().first_seq, m.state().last_seq), (6, 6));
}

#[test]
fn purge_variants() {
    let s = Store::memory().unwrap();
    let m = s.messages("S").unwrap();
    let subj = |i: u64| if i % 2 == 0 { "e" } else { "o" };
    m.append(&(1..=20).map(|i| msg(i, subj(i), b"p")).collect::<Vec<_>>())
        .unwrap();
    // below
    assert_eq!(m.purge(Some(5), None, &all).unwrap(), 4);
    assert_eq!(m.state().first_seq, 5);
    // filter + keep: keep the newest 2 "e"
    assert_eq!(m.purge(None, Some(2), &|s| s == "e").unwrap(), 6);
    assert_eq!(m.subject_count("e"), 2);
    assert_eq!(m.next(0, &|s| s == "e").unwrap().unwrap().seq, 18);
    // keep more than there are: nothing
    assert_eq!(m.purge(None, Some(100), &all).unwrap(), 0);
    // keep 3 of everything
    assert_eq!(m.purge(None, Some(3), &all).unwrap(), 7);
    let st = m.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (3, 18, 20));
    // everything: keeps last_seq
    assert_eq!(m.purge(None, None, &all).unwrap(), 3);
    let st = m.state();
    assert_eq!(
        (st.msgs, st.bytes, st.first_seq, st.last_seq),
        (0, 0, 21, 20)
    );
    // a purge to seq=N beyond the end: the engine sets last_seq = N-1
    m.set_last_seq(99).unwrap();
    let st = m.state();
    assert_eq!((st.first_seq, st.last_seq), (100, 99));
    assert!(m.append(&[msg(99, "x", b"")]).is_err());
    m.append(&[msg(100, "x", b"")]).unwrap();
}

#[test]
fn reopen_recovers_state_messages_floor_and_consumers() {
    let d = tmpdir("reopen");
    let want;
    {
        let s = open(&d);
        s.save_stream_meta("S", b"meta-s").unwrap();
        s.save_stream_meta("T", b"meta-t").unwrap();
        s.save_consumer("S", "c1", b"one").unwrap();
        s.save_consumer("S", "c2", b"two").unwrap();
        s.save_consumer("T", "c1", b"t-one").unwrap();
        let m = s.messages("S").unwrap();
        for b in 0..10u64 {
            m.append(
                &(1..=100)
                    .map(|i| msg(b * 100 + i, "x.y", &[b as u8; 50]))
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        }
        for seq in (1..=1000).filter(|s| s % 7 == 0 || *s < 150) {
            m.remove(seq).unwrap();
        }
        let t = s.messages("T").unwrap();
        t.append(&[msg(1, "t", b"1"), msg(2, "t", b"2")]).unwrap();
        t.purge(None, None, &all).unwrap();
        s.flush().unwrap();
        want = (
            m.state(),
            t.state(),
            m.get(500).unwrap(),
            m.get(700).unwrap(),
        );
    }
    let s = open(&d);
    let m = s.messages("S").unwrap();
    let t = s.messages("T").unwrap();
    assert_eq!(
        (
            m.state(),
            t.state(),
            m.get(500).unwrap(),
            m.get(700).unwrap()
        ),
        want
    );
    assert_eq!(t.state().first_seq, 3);
    assert_eq!(t.state().last_seq, 2);
    assert_eq!(m.subject_count("x.y"), m.state().msgs);
    let mut metas = s.stream_metas().unwrap();
    metas.sort();
    assert_eq!(
        metas,
        vec![
            ("S".into(), b"meta-s".to_vec()),
            ("T".into(), b"meta-t".to_vec())
        ]
    );
    assert_eq!(
        s.consumers("S").unwrap(),
        vec![
            ("c1".into(), b"one".to_vec()),
            ("c2".into(), b"two".to_vec())
        ]
    );
    s.delete_consumer("S", "c1").unwrap();
    assert_eq!(
        s.consumers("S").unwrap(),
        vec![("c2".into(), b"two".to_vec())]
    );
    assert_eq!(
        s.consumers("T").unwrap(),
        vec![("c1".into(), b"t-one".to_vec())]
    );
    drop((m, t, s));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn delete_stream_removes_everything_and_staleness_is_reported() {
    let s = Store::memory().unwrap();
    s.save_stream_meta("S", b"m").unwrap();
    s.save_stream_meta("S2", b"m2").unwrap();
    s.save_consumer("S", "c", b"d").unwrap();
    s.save_consumer("S2", "c", b"d2").unwrap();
    let m = s.messages("S").unwrap();
    m.append(&[msg(1, "a", b"1"), msg(2, "a", b"2")]).unwrap();
    m.remove(1).unwrap();
    let m2 = s.messages("S2").unwrap();
    m2.append(&[msg(1, "a", b"1")]).unwrap();
    s.delete_stream("S").unwrap();
    assert!(matches!(m.get(2), Err(StoreError::Deleted { .. })));
    assert_eq!(
        s.stream_metas().unwrap(),
        vec![("S2".into(), b"m2".to_vec())]
    );
    assert!(s.consumers("S").unwrap().is_empty());
    let fresh = s.messages("S").unwrap();
    assert_eq!(fresh.state(), MsgsState::default());
    assert_eq!(fresh.next(0, &all).unwrap(), None);
    // A recreated stream reuses the chunk tree names of the deleted one.
    fresh.append(&[msg(1, "new", b"n")]).unwrap();
    assert_eq!(fresh.get(1).unwrap().unwrap().subject, "new");
    assert_eq!(fresh.state().msgs, 1);
    s.flush().unwrap();
    assert_eq!(m2.state().msgs, 1);
    assert_eq!(s.consumers("S2").unwrap().len(), 1);
}

#[test]
fn large_appends_split_and_batches_are_dropped_when_drained() {
    let s = Store::memory().unwrap();
    let m = s.messages("S").unwrap();
    let n = 1000u64;
    m.append(&(1..=n).map(|i| msg(i, "s", &[7; 1000])).collect::<Vec<_>>())
        .unwrap();
    for i in 1..=n {
        assert_eq!(m.get(i).unwrap().unwrap().seq, i);
    }
    for i in 1..=n {
        assert!(m.remove(i).unwrap());
        if i % 256 == 0 {
            s.flush().unwrap();
        }
    }
    s.flush().unwrap();
    assert_eq!(chunk_count(&s, "S"), 0, "every chunk tree is dropped");
    let p = prefix("S").unwrap();
    let left: Vec<u8> =
        s.sh.tombs
            .scan_prefix(&p)
            .keys()
            .map(|k| k.unwrap()[p.len()])
            .collect();
    assert_eq!(left, b"fi", "only the floor and the stream's tag are left");
}

#[derive(Debug, Clone)]
enum Op {
    Append(u8, u8),
    Remove(u16),
    Purge(Option<u16>, Option<u8>, Option<u8>),
    Flush,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..40, 0u8..4).prop_map(|(n, s)| Op::Append(n, s)),
        4 => (0u16..400).prop_map(Op::Remove),
        1 => (proptest::option::of(0u16..400), proptest::option::of(0u8..10), proptest::option::of(0u8..4))
            .prop_map(|(b, k, f)| Op::Purge(b, k, f)),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn model_check(ops in proptest::collection::vec(op(), 1..60)) {
        let d = tmpdir(&format!("prop-{}", rand::random::<u32>()));
        let mut store = open(&d);
        let mut m = store.messages("P").unwrap();
        let mut model: BTreeMap<u64, StoredMsg> = BTreeMap::new();
        let mut last = 0u64;
        let subj = |s: u8| format!("s.{s}");
        for op in ops {
            match op {
                Op::Append(n, s) => {
                    let b: Vec<_> = (1..=n as u64).map(|i| msg(last + i, &subj((s + i as u8) % 4), &[s; 5])).collect();
                    m.append(&b).unwrap();
                    for x in b { model.insert(x.seq, x); }
                    last += n as u64;
                }
                Op::Remove(seq) => {
                    let seq = seq as u64;
                    prop_assert_eq!(m.remove(seq).unwrap(), model.remove(&seq).is_some());
                }
                Op::Purge(below, keep, f) => {
                    let fs = f.map(subj);
                    let pass = |s: &str| fs.as_deref().is_none_or(|f| f == s);
                    let below = below.map(|b| b as u64);
                    let mut cands: Vec<u64> = model.values()
                        .filter(|x| below.is_none_or(|b| x.seq < b) && pass(&x.subject))
                        .map(|x| x.seq).collect();
                    let keep_n = keep.map_or(0, |k| k as usize).min(cands.len());
                    cands.truncate(cands.len() - keep_n);
                    let got = m.purge(below, keep.map(|k| k as u64), &pass).unwrap();
                    prop_assert_eq!(got, cands.len() as u64);
                    for c in cands { model.remove(&c); }
                }
                Op::Flush => store.flush().unwrap(),
                Op::Reopen => {
                    store.flush().unwrap();
                    drop(m);
                    drop(store);
                    store = open(&d);
                    m = store.messages("P").unwrap();
                }
            }
            let st = m.state();
            prop_assert_eq!(st.msgs, model.len() as u64);
            prop_assert_eq!(st.bytes, model.values().map(|x| x.size()).sum::<u64>());
            prop_assert_eq!(st.last_seq, last);
            let first = model.keys().next().copied().unwrap_or(if last == 0 { 0 } else { last + 1 });
            prop_assert_eq!(st.first_seq, first);
            prop_assert_eq!(st.first_ts, model.values().next().map_or(0, |x| x.time_ns));
            prop_assert_eq!(m.next(0, &all).unwrap(), model.values().next().cloned());
            prop_assert_eq!(m.last(&all).unwrap(), model.values().next_back().cloned());
            for s in 0..4u8 {
                let n = model.values().filter(|x| x.subject == subj(s)).count() as u64;
                prop_assert_eq!(m.subject_count(&subj(s)), n);
            }
        }
        // Full content check at the end, after one more reopen.
        store.flush().unwrap();
        drop(m);
        drop(store);
        let store = open(&d);
        let m = store.messages("P").unwrap();
        let mut got = Vec::new();
        let mut from = 0;
        while let Some(x) = m.next(from, &all).unwrap() {
            from = x.seq + 1;
            got.push(x);
        }
        prop_assert_eq!(got, model.values().cloned().collect::<Vec<_>>());
        for seq in 0..=last + 1 {
            prop_assert_eq!(m.get(seq).unwrap(), model.get(&seq).cloned());
        }
        drop(m);
        drop(store);
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn batch_encoding_round_trips_and_rejects_garbage() {
    use super::batch::{encode, rec_of, BatchView};
    let mut msgs = vec![
        msg(5, "a", b""),
        msg(7, "b.c", b"payload"),
        msg(u64::MAX - 1, "", b"x"),
    ];
    msgs[1].time_ns = -3; // clocks may step back
    msgs[2].headers = Some(Vec::new()); // empty header block is not "no headers"
    msgs[2].time_ns = i64::MAX;
    let v = encode(msgs.iter().map(rec_of));
    let view = BatchView::new(&v).unwrap();
    let back: Vec<_> = (0..view.len()).map(|i| view.rec(i).to_msg()).collect();
    assert_eq!(back, msgs);
    assert_eq!(view.lower_bound(6), 1);
    assert_eq!(view.lower_bound(u64::MAX), 3);
    for cut in 1..v.len() {
        assert!(BatchView::new(&v[..cut]).is_none(), "truncated at {cut}");
    }
}

#[test]
fn drained_chunks_are_dropped_and_state_recovered() {
    let d = tmpdir("husks");
    let s = open(&d);
    let m = s.messages("H").unwrap();
    for i in 1..=700u64 {
        m.append(&[msg(i, "h", b"x")]).unwrap();
    }
    for i in 1..=690u64 {
        assert!(m.remove(i).unwrap());
        if i % 10 == 0 {
            s.flush().unwrap();
        }
    }
    s.flush().unwrap();
    let chunks = chunk_count(&s, "H");
    assert!(chunks <= 3, "{chunks} chunk trees hold the last 10 batches");
    let st = m.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (10, 691, 700));
    drop((m, s));
    let s = open(&d);
    let m = s.messages("H").unwrap();
    assert_eq!(m.state(), st);
    assert_eq!(m.next(0, &all).unwrap().unwrap().seq, 691);
    assert_eq!(m.get(690).unwrap(), None);
    for i in 691..=700u64 {
        assert!(m.remove(i).unwrap());
    }
    s.flush().unwrap();
    drop((m, s));
    let s = open(&d);
    let st = s.messages("H").unwrap().state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 701, 700));
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
}

/// Invariant 1 at the store level: a child process appends, removes in order (work
/// queue) and flushes, printing what each flush made durable; it is killed with SIGKILL
/// mid-run, and the reopened store must hold every flushed message and a state that
/// agrees with the messages that are there.
#[test]
fn kill_9_keeps_every_flushed_message_and_a_consistent_state() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    const BATCH: u64 = 50;
    const DRAIN: u64 = 40;
    if let Ok(dir) = std::env::var("EDGELEAF_STORE_CRASH_CHILD") {
        let s = Store::open(Path::new(&dir), 8 << 20).unwrap();
        let m = s.messages("K").unwrap();
        let (mut last, mut removed) = (0u64, 0u64);
        loop {
            let b: Vec<_> = (last + 1..=last + BATCH)
                .map(|i| msg(i, &format!("k.{}", i % 5), &[i as u8; 100]))
                .collect();
            m.append(&b).unwrap();
            last += BATCH;
            for seq in removed + 1..=removed + DRAIN {
                m.remove(seq).unwrap();
            }
            removed += DRAIN;
            s.flush().unwrap();
            println!("ack {last} {removed}");
        }
    }
    let d = tmpdir("kill9");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::kill_9_keeps_every_flushed_message_and_a_consistent_state",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EDGELEAF_STORE_CRASH_CHILD", &d)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ack ") {
            let mut it = rest.split(' ').map(|v| v.parse::<u64>().unwrap());
            acked = (it.next().unwrap(), it.next().unwrap());
            if acked.0 >= 40_000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let s = open(&d);
    let m = s.messages("K").unwrap();
    let st = m.state();
    let (mut n, mut bytes, mut first, mut from) = (0u64, 0u64, None, 0u64);
    while let Some(x) = m.next(from, &all).unwrap() {
        n += 1;
        bytes += x.size();
        first.get_or_insert(x.seq);
        from = x.seq + 1;
    }
    assert_eq!(
        (st.msgs, st.bytes),
        (n, bytes),
        "state agrees with the messages"
    );
    assert_eq!(Some(st.first_seq), first);
    assert!(
        st.last_seq >= acked.0,
        "last {} < acked {}",
        st.last_seq,
        acked.0
    );
    // Removals issued after the last acked flush may or may not have landed.
    for seq in acked.1 + DRAIN + 1..=acked.0 {
        assert!(m.get(seq).unwrap().is_some(), "acked seq {seq} lost");
    }
    drop((m, s));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn range_reads_in_order_across_batches_skipping_removed_and_stops_at_limits() {
    let s = Store::memory().unwrap();
    let m = s.messages("R").unwrap();
    // Three appended batches, so the read crosses batch (and chunk) boundaries.
    for b in 0..3u64 {
        let batch: Vec<_> = (1..=10)
            .map(|i| msg(b * 10 + i, "r.x", b"0123456789"))
            .collect();
        m.append(&batch).unwrap();
    }
    assert!(m.remove(5).unwrap());
    assert!(m.remove(11).unwrap());
    let seqs = |v: Vec<StoredMsg>| v.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    let want: Vec<u64> = (3..=30).filter(|s| *s != 5 && *s != 11).collect();
    assert_eq!(seqs(m.range(3, 1000, u64::MAX).unwrap()), want);
    assert_eq!(seqs(m.range(4, 3, u64::MAX).unwrap()), vec![4, 6, 7]);
    // The byte limit stops after the message that reaches it.
    let one = msg(1, "r.x", b"0123456789").size();
    assert_eq!(seqs(m.range(10, 100, one + 1).unwrap()), vec![10, 12]);
    assert!(m.range(31, 10, u64::MAX).unwrap().is_empty());
    assert!(m.range(1, 0, u64::MAX).unwrap().is_empty());
}

/// A store written before chunk trees were named by tag (`'m' ++ P(stream) ++ be(key)`,
/// as a device upgraded in the field has it) is read, appended to, drained and deleted.
#[test]
fn chunks_named_the_old_way_still_load_drain_and_delete() {
    let d = tmpdir("legacy");
    {
        let s = open(&d);
        for (first, n) in [(1u64, 3u64), (4, 2)] {
            let mut name = vec![b'm'];
            name.extend_from_slice(&prefix("L").unwrap());
            name.extend_from_slice(&first.to_be_bytes());
            let t = s.sh.db.open_tree(name).unwrap();
            let recs: Vec<StoredMsg> = (first..first + n).map(|i| msg(i, "l.x", b"old")).collect();
            t.insert(
                first.to_be_bytes(),
                batch::encode(recs.iter().map(batch::rec_of)),
            )
            .unwrap();
        }
        s.flush().unwrap();
    }
    let s = open(&d);
    let m = s.messages("L").unwrap();
    let st = m.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (5, 1, 5));
    assert_eq!(m.get(4).unwrap().unwrap().payload, b"old");
    // Bigger than a chunk holds, so it cannot join the last old chunk.
    let big = vec![b'n'; 200 * 1024];
    m.append(&[msg(6, "l.x", &big)]).unwrap();
    assert_eq!(chunk_count(&s, "L"), 3, "two old chunks and one new");
    let tagged = messages::stream_tag(&s.sh.tombs, &prefix("L").unwrap()).unwrap();
    assert!(tagged.is_some(), "the new chunk gave the stream a tag");
    for i in 1..=3 {
        assert!(m.remove(i).unwrap());
    }
    s.flush().unwrap();
    assert_eq!(chunk_count(&s, "L"), 2, "the drained old chunk is dropped");
    drop((m, s));
    let s = open(&d);
    let m = s.messages("L").unwrap();
    let st = m.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (3, 4, 6));
    assert_eq!(m.get(6).unwrap().unwrap().payload, big);
    s.delete_stream("L").unwrap();
    assert_eq!(chunk_count(&s, "L"), 0);
    let mut names: Vec<String> =
        s.sh.db
            .tree_names()
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
    names.sort();
    assert_eq!(
        names,
        ["__sled__default", "consumers", "streams", "tombs"],
        "no chunk tree of either naming is left"
    );
}

/// Tags are never reused: a stream deleted and created again (or another stream) does
/// not take the old one's chunks, and one tag's names never match another's.
#[test]
fn a_recreated_stream_gets_a_new_tag_and_streams_keep_their_own_chunks() {
    let s = Store::memory().unwrap();
    let a = s.messages("A").unwrap();
    let b = s.messages("B").unwrap();
    // Enough streams that tags need two varint bytes, so prefix-freeness is exercised.
    for i in 0..130 {
        let name = format!("X{i}");
        s.messages(&name)
            .unwrap()
            .append(&[msg(1, "x", b"x")])
            .unwrap();
        s.delete_stream(&name).unwrap();
    }
    a.append(&[msg(1, "a", b"a1")]).unwrap();
    b.append(&[msg(1, "b", b"b1"), msg(2, "b", b"b2")]).unwrap();
    let tag_a = messages::stream_tag(&s.sh.tombs, &prefix("A").unwrap()).unwrap();
    s.delete_stream("A").unwrap();
    let a = s.messages("A").unwrap();
    assert_eq!(a.state(), MsgsState::default());
    a.append(&[msg(1, "a", b"again")]).unwrap();
    let tag_a2 = messages::stream_tag(&s.sh.tombs, &prefix("A").unwrap()).unwrap();
    assert_ne!(tag_a, tag_a2);
    assert_eq!(chunk_count(&s, "A"), 1);
    assert_eq!(chunk_count(&s, "B"), 1);
    assert_eq!(a.get(1).unwrap().unwrap().payload, b"again");
    assert_eq!(b.state().msgs, 2);
}
