//! One stream's message log: batch values + tombstone bitmaps in the shared `msgs` tree.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use parking_lot::Mutex;
use sled::Transactional;

use super::batch::{self, BatchView, Rec, Tomb, MAX_BATCH_BYTES, MAX_BATCH_MSGS};
use super::{prefix, MsgsState, Record, StoreError, StoredMsg};

const TOMB: u8 = b't';
const FLOOR: u8 = b'f';
/// Batches per chunk tree: below sled's PAGE_CONSOLIDATION_THRESHOLD (10 updates) and
/// its leaf split (more than 16 entries), so a batch value is written once, not
/// rewritten by consolidations and splits (measured: 1.14x instead of 3.1x of the value
/// bytes with one tree). Four, not eight, so that 4 appends + the 4 removals of the clear
/// before `drop_tree` stay below 10 updates too (with 8 the clear made sled rewrite the
/// leaf: drain 1.96x instead of 1.2x for 128-byte payloads).
const CHUNK_BATCHES: usize = 4;
/// Small batches (a slow publisher's group commits hold a message or a few) fill a chunk
/// beyond `CHUNK_BATCHES`, up to the bytes four full batches would take. Every chunk is a
/// sled tree, and sled rewrites its whole table of tree names whenever one is created or
/// dropped: a chunk per four one-message appends made that table, and the time and disk
/// writes per new chunk, grow with the backlog (a million-message outage of a slow
/// publisher would have been a quarter million trees). A chunk of small batches spans
/// several leaves (sled splits past 16 entries) whose consolidations rewrite only small
/// values. Measured (examples/store_wa.rs, 100k x 256 B, an append and a flush per 4
/// messages): append 18.3x -> 8.9x written per payload byte, on disk 12.9x -> 1.7x, drain
/// 43x -> 24x (the rest is the file system's cost of a sync per 1 KB). With 12 KiB here,
/// 64-message appends of 128 B wrote 6.6x instead of 2.7x (big leaves consolidated).
const SMALL_BATCH_BYTES: usize = 2 * 1024;
const CHUNK_BYTES: usize = CHUNK_BATCHES * MAX_BATCH_BYTES;

/// Chunk trees named before session 6: `'m' ++ P(stream) ++ be(chunk key)`. Still read,
/// and dropped when drained or when the stream is deleted, so a store written by an
/// older image keeps working after a field upgrade; no new chunk gets such a name.
fn legacy_chunk_prefix(stream_prefix: &[u8]) -> Vec<u8> {
    let mut n = Vec::with_capacity(stream_prefix.len() + 9);
    n.push(b'm');
    n.extend_from_slice(stream_prefix);
    n
}

/// Chunk trees are named `'c' ++ varint(tag) ++ varint(chunk key)`, where the tag is a
/// number given to the stream when it gets its first chunk (tombs key `P(stream) ++
/// 'i'`; the last tag given is under [`LAST_TAG`]). Why short names: sled 0.34 rewrites
/// its whole table of tree names, an entry per tree, whenever one is created or dropped,
/// so with a long backlog that table is most of what a new chunk writes. For stream
/// "WA" an entry went from 18 to about 10 bytes; for longer stream names the saving is
/// larger. Tags are never reused (a deleted stream's leftover trees cannot be taken for a
/// new stream's), and varints are prefix-free, so one tag's names never start another's.
const CHUNK: u8 = b'c';
/// Tombs key of a stream's tag (after `P(stream)`).
const TAG: u8 = b'i';
/// Tombs key of the last tag given. No stream key is this short (`P` is 2 bytes + name).
const LAST_TAG: &[u8] = &[0xff, 0xff];

fn tag_prefix(tag: u64) -> Vec<u8> {
    let mut n = vec![CHUNK];
    batch::put_varint(&mut n, tag);
    n
}

fn tag_key(stream_prefix: &[u8]) -> Vec<u8> {
    let mut k = stream_prefix.to_vec();
    k.push(TAG);
    k
}

/// The chunk key a tree name stands for, if the name is one of this stream's chunks.
fn chunk_key_of(name: &[u8], legacy: &[u8], tagged: Option<&[u8]>) -> Option<u64> {
    if name.len() == legacy.len() + 8 && name.starts_with(legacy) {
        return Some(seq_of(&name[legacy.len()..]));
    }
    let rest = name.strip_prefix(tagged?)?;
    match batch::read_varint(rest) {
        Some((key, n)) if n == rest.len() => Some(key),
        _ => None,
    }
}

/// `'c' ++ varint(tag)` of a stream, if it has been given a tag.
pub(crate) fn stream_tag(
    tombs: &sled::Tree,
    stream_prefix: &[u8],
) -> sled::Result<Option<Vec<u8>>> {
    Ok(tombs
        .get(tag_key(stream_prefix))?
        .and_then(|v| batch::read_varint(&v))
        .map(|(t, _)| tag_prefix(t)))
}

/// A stream's chunk trees (chunk key, tree name), in either naming.
pub(crate) fn chunk_trees(
    db: &sled::Db,
    stream_prefix: &[u8],
    tagged: Option<&[u8]>,
) -> Vec<(u64, sled::IVec)> {
    let legacy = legacy_chunk_prefix(stream_prefix);
    db.tree_names()
        .into_iter()
        .filter_map(|n| chunk_key_of(&n, &legacy, tagged).map(|k| (k, n)))
        .collect()
}

/// Page accesses that [`settle`] records: sled 0.34's LRU queues accesses per shard (page id
/// mod 256) in blocks of this many and evicts only when a block is full.
const SETTLE_TOUCHES: usize = 64;

/// Lets sled evict what the page cache holds beyond its capacity, after a chunk's pages
/// were written or read.
///
/// sled 0.34 evicts only while it processes recorded page accesses, and a shard processes
/// its accesses only once 64 of them are queued. A batch value is written a few times and
/// read about once, so most shards never reach 64 and sled kept every page it had touched,
/// whatever `cache_capacity` said: 142 MiB RSS after 1M x 256 B with a 16 MiB cache
/// (examples/store_wa.rs). Reading the chunk's pages 64 more times fills their shards'
/// blocks, sled processes them and evicts down to capacity (keeping only the newest page
/// of a shard beyond it): 42 MiB. A read of an in-memory page is a lookup, no I/O, but 64
/// of them per append or read were 5-7% of edgeleaf's CPU, so appends settle a chunk once,
/// when the next chunk starts (the tail chunk's page stays resident meanwhile), and
/// readers once when they move to another chunk ([`Log::settle_read`]).
fn settle(tree: &sled::Tree) {
    for _ in 0..SETTLE_TOUCHES {
        let _ = tree.get([]);
    }
}

fn be(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn seq_of(k: &[u8]) -> u64 {
    k.get(..8)
        .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()))
}

/// The message log of one stream. Cheap to clone; all methods take `&self` and are
/// thread-safe (one mutex per stream).
#[derive(Clone)]
pub struct Messages {
    sh: Arc<Log>,
}

struct Log {
    stream: String,
    prefix: Vec<u8>,
    db: sled::Db,
    /// Tombstone bitmaps and the floor.
    tombs: sled::Tree,
    inner: Mutex<Inner>,
    /// The batch read last, decoded: consumers read, redeliver and remove message after
    /// message of the same batch, and each would otherwise cost sled lookups and a decode
    /// of the whole batch. Only used under the `inner` lock; dropped whenever removals are
    /// written (batches can be rewritten or dropped then).
    cache: Mutex<Option<Arc<CachedBatch>>>,
    /// The chunks readers settled last (see [`Log::settle_read`]), and the slot the next
    /// one takes.
    settled: [std::sync::atomic::AtomicU64; SETTLED_SLOTS],
    settled_next: std::sync::atomic::AtomicUsize,
}

/// Chunks remembered as settled. More than one: a draining work queue reads in several
/// chunks at once (the uplink ahead, the removals and the first-message scan at the
/// head), and one reader should not make another settle its chunk again. Counted in a
/// 1M x 256 B fill and drain: about 13,000 settles with these four slots and with one
/// slot per kind of reader alike, i.e. about one per chunk per reader. settle is about 9%
/// of the edge's CPU in the drain (9.2% with one slot, 8.8% with four) because there are
/// that many chunks: a chunk is four group commits of one publisher, a few hundred
/// messages.
const SETTLED_SLOTS: usize = 4;

/// One record's place in a cached batch value.
struct Idx {
    seq: u64,
    time_ns: i64,
    subject: (u32, u32),
    headers: Option<(u32, u32)>,
    payload: (u32, u32),
}

/// A decoded batch value with its bitmap as stored (`Inner::dirty` takes precedence).
struct CachedBatch {
    key: u64,
    last: u64,
    data: sled::IVec,
    recs: Vec<Idx>,
    tomb: Tomb,
}

impl CachedBatch {
    /// Offsets are taken relative to `data` itself (a small IVec keeps its bytes inline,
    /// so a clone of it lives elsewhere).
    fn new(key: u64, data: sled::IVec, tomb: Tomb) -> Option<CachedBatch> {
        let view = BatchView::new(&data)?;
        let base = data.as_ptr() as usize;
        let span = |b: &[u8]| {
            let at = b.as_ptr() as usize - base;
            (at as u32, (at + b.len()) as u32)
        };
        let recs: Vec<Idx> = (0..view.len())
            .map(|i| {
                let r = view.rec(i);
                Idx {
                    seq: r.seq,
                    time_ns: r.time_ns,
                    subject: span(r.subject.as_bytes()),
                    headers: r.headers.map(span),
                    payload: span(r.payload),
                }
            })
            .collect();
        Some(CachedBatch {
            key,
            last: recs.last().map_or(0, |r| r.seq),
            data,
            recs,
            tomb,
        })
    }

    fn rec(&self, i: usize) -> Rec<'_> {
        let x = &self.recs[i];
        let at = |(a, b): (u32, u32)| &self.data[a as usize..b as usize];
        Rec {
            seq: x.seq,
            time_ns: x.time_ns,
            // Checked as UTF-8 when the view was decoded.
            subject: std::str::from_utf8(at(x.subject)).unwrap_or(""),
            headers: x.headers.map(at),
            payload: at(x.payload),
        }
    }

    fn lower_bound(&self, seq: u64) -> usize {
        self.recs.partition_point(|r| r.seq < seq)
    }

    fn removed(&self, inner: &Inner, i: usize) -> bool {
        match inner.dirty.get(&self.key) {
            Some(t) => t.get(i),
            None => self.tomb.get(i),
        }
    }
}

#[derive(Default)]
struct Inner {
    state: MsgsState,
    subjects: HashMap<String, u64>,
    /// Bitmaps changed since they were last written, by batch key.
    dirty: BTreeMap<u64, Tomb>,
    deleted: bool,
    /// The chunk trees holding the batch values, by the key of their first batch.
    chunks: BTreeMap<u64, sled::Tree>,
    /// The last chunk's key, value bytes and batch count as appends left them (measured
    /// again when the last chunk is another one).
    tail: Option<(u64, usize, usize)>,
    /// `'c' ++ varint(tag)`, once the stream has a tag (see [`CHUNK`]).
    tagged: Option<Vec<u8>>,
}

impl Inner {
    fn count_in(&mut self, subject: &str, size: u64) {
        self.state.msgs += 1;
        self.state.bytes += size;
        match self.subjects.get_mut(subject) {
            Some(n) => *n += 1,
            None => {
                self.subjects.insert(subject.to_string(), 1);
            }
        }
    }
    fn count_out(&mut self, subject: &str, size: u64) {
        self.state.msgs -= 1;
        self.state.bytes -= size;
        if let Some(n) = self.subjects.get_mut(subject) {
            *n -= 1;
            if *n == 0 {
                self.subjects.remove(subject);
            }
        }
    }
}

impl Log {
    fn key(&self, kind: u8, seq: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + 9);
        k.extend_from_slice(&self.prefix);
        k.push(kind);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    fn floor_key(&self) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.push(FLOOR);
        k
    }
    /// [`settle`] when a reader moves on to another chunk. Reading on in the same chunk
    /// needs none: sled has accounted its pages already, and the 64 lookups per call cost
    /// 7% of edgeleaf's CPU in an uplink fill and drain when every read settled.
    fn settle_read(&self, ck: u64, tree: &sled::Tree) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.settled.iter().any(|s| s.load(Relaxed) == ck) {
            return;
        }
        let slot = self.settled_next.fetch_add(1, Relaxed) % SETTLED_SLOTS;
        self.settled[slot].store(ck, Relaxed);
        settle(tree);
    }
    fn err(&self, op: &'static str) -> impl FnOnce(sled::Error) -> StoreError + '_ {
        move |source| StoreError::Stream {
            op,
            stream: self.stream.clone(),
            source,
        }
    }
    fn view<'a>(&self, key: u64, v: &'a [u8]) -> Result<BatchView<'a>, StoreError> {
        BatchView::new(v).ok_or_else(|| StoreError::Corrupt {
            stream: self.stream.clone(),
            key_seq: key,
        })
    }
    fn tomb(&self, inner: &Inner, key: u64) -> Result<Tomb, StoreError> {
        if let Some(t) = inner.dirty.get(&key) {
            return Ok(t.clone());
        }
        Ok(self
            .tombs
            .get(self.key(TOMB, key))
            .map_err(self.err("read tombstones"))?
            .map(|v| Tomb::decode(&v))
            .unwrap_or_default())
    }

    /// The decoded batch holding `seq` (from the cache when it is the last one read).
    /// None when no batch covers `seq`.
    fn cached_for(&self, inner: &Inner, seq: u64) -> Result<Option<Arc<CachedBatch>>, StoreError> {
        let mut cache = self.cache.lock();
        if let Some(c) = cache.as_ref() {
            if c.key <= seq && seq <= c.last {
                return Ok(Some(c.clone()));
            }
        }
        let Some((ck, tree, key)) = self.batch_at_or_before(inner, seq)? else {
            return Ok(None);
        };
        let Some(v) = tree.get(be(key)).map_err(self.err("read batch"))? else {
            return Ok(None);
        };
        self.settle_read(ck, &tree);
        let tomb = match self
            .tombs
            .get(self.key(TOMB, key))
            .map_err(self.err("read tombstones"))?
        {
            Some(t) => Tomb::decode(&t),
            None => Tomb::default(),
        };
        let c = Arc::new(
            CachedBatch::new(key, v, tomb).ok_or_else(|| StoreError::Corrupt {
                stream: self.stream.clone(),
                key_seq: key,
            })?,
        );
        if c.recs.is_empty() || seq > c.last {
            return Ok(None);
        }
        *cache = Some(c.clone());
        Ok(Some(c))
    }

    /// (value bytes, batches) in a chunk.
    fn measure(&self, tree: &sled::Tree) -> Result<(usize, usize), StoreError> {
        let (mut bytes, mut batches) = (0, 0);
        for v in tree.iter().values() {
            bytes += v.map_err(self.err("measure chunk"))?.len();
            batches += 1;
        }
        Ok((bytes, batches))
    }

    /// The name of a new chunk tree starting at `key`; gives the stream its tag first if
    /// it has none (saved before the tree exists: sled recovers a prefix of its writes).
    fn new_chunk_name(&self, inner: &mut Inner, key: u64) -> Result<Vec<u8>, StoreError> {
        if inner.tagged.is_none() {
            let last_tag = |v: Option<&[u8]>| v.and_then(batch::read_varint).map_or(0, |(t, _)| t);
            let tag = self
                .tombs
                .update_and_fetch(LAST_TAG, |old| Some(batch::varint(last_tag(old) + 1)))
                .map_err(self.err("give the stream a tag"))?;
            let tag = last_tag(tag.as_deref());
            self.tombs
                .insert(tag_key(&self.prefix), batch::varint(tag))
                .map_err(self.err("save the stream's tag"))?;
            inner.tagged = Some(tag_prefix(tag));
        }
        let mut n = inner.tagged.clone().unwrap_or_default();
        batch::put_varint(&mut n, key);
        Ok(n)
    }

    /// The chunk trees that may hold batches with keys in `lo..=hi`, in order.
    fn chunks_for(inner: &Inner, lo: u64, hi: u64) -> Vec<(u64, sled::Tree)> {
        Self::chunks_from(inner, lo)
            .take_while(|(k, _)| *k <= hi)
            .map(|(k, t)| (k, t.clone()))
            .collect()
    }

    /// The chunks holding seqs from `lo` on, in order, as they are reached: a forward scan
    /// usually stops within a few chunks (collecting them all cloned every tree handle of
    /// the backlog on each uplink read).
    fn chunks_from(inner: &Inner, lo: u64) -> impl Iterator<Item = (u64, &sled::Tree)> {
        let start = inner
            .chunks
            .range(..=lo)
            .next_back()
            .map_or(lo, |(k, _)| *k);
        inner.chunks.range(start..).map(|(k, t)| (*k, t))
    }

    /// The batch that would hold `seq` (the last batch with key <= seq): its chunk key,
    /// chunk tree and batch key.
    fn batch_at_or_before(
        &self,
        inner: &Inner,
        seq: u64,
    ) -> Result<Option<(u64, sled::Tree, u64)>, StoreError> {
        let Some((ck, tree)) = inner.chunks.range(..=seq).next_back() else {
            return Ok(None);
        };
        match tree.range(..=be(seq)).keys().next_back() {
            Some(k) => Ok(Some((
                *ck,
                tree.clone(),
                seq_of(&k.map_err(self.err("seek"))?),
            ))),
            None => Ok(None),
        }
    }

    /// Visits present records with seq >= `from`, in order, until `f` breaks.
    fn scan_fwd(
        &self,
        inner: &Inner,
        from: u64,
        f: &mut dyn FnMut(u64, &Rec) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let start = self
            .batch_at_or_before(inner, from)?
            .map_or(from, |(_, _, k)| k);
        for (ck, tree) in Self::chunks_from(inner, start) {
            self.settle_read(ck, tree);
            for kv in tree.range(be(start)..) {
                let (k, v) = kv.map_err(self.err("scan"))?;
                let key = seq_of(&k);
                let view = self.view(key, &v)?;
                if view.len() == 0 {
                    continue;
                }
                let tomb = self.tomb(inner, key)?;
                for i in view.lower_bound(from)..view.len() {
                    if !tomb.get(i) && f(key, &view.rec(i)).is_break() {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Visits present records with seq < `below`, newest first, until `f` breaks.
    fn scan_back(
        &self,
        inner: &Inner,
        below: u64,
        f: &mut dyn FnMut(&Rec) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        if below == 0 {
            return Ok(());
        }
        for (ck, tree) in Self::chunks_for(inner, 0, below - 1).into_iter().rev() {
            self.settle_read(ck, &tree);
            for kv in tree.range(..=be(below - 1)).rev() {
                let (k, v) = kv.map_err(self.err("scan"))?;
                let key = seq_of(&k);
                let view = self.view(key, &v)?;
                if view.len() == 0 {
                    continue;
                }
                let tomb = self.tomb(inner, key)?;
                for i in (0..view.lower_bound(below)).rev() {
                    if !tomb.get(i) && f(&view.rec(i)).is_break() {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// After removals: moves first_seq/first_ts to the first present message at or after
    /// `from` (or to last_seq+1 when none is left).
    fn fix_first(&self, inner: &mut Inner, from: u64) -> Result<(), StoreError> {
        if inner.state.msgs == 0 {
            inner.state.first_seq = inner.state.last_seq + 1;
            inner.state.first_ts = 0;
            return Ok(());
        }
        let mut found = None;
        if let Some(c) = self.cached_for(inner, from)? {
            found = (c.lower_bound(from)..c.recs.len())
                .find(|i| !c.removed(inner, *i))
                .map(|i| (c.recs[i].seq, c.recs[i].time_ns));
        }
        if found.is_none() {
            self.scan_fwd(inner, from, &mut |_, r| {
                found = Some((r.seq, r.time_ns));
                ControlFlow::Break(())
            })?;
        }
        if let Some((seq, ts)) = found {
            inner.state.first_seq = seq;
            inner.state.first_ts = ts;
        }
        Ok(())
    }

    /// Writes the dirty bitmaps. A fully removed batch keeps its (full) bitmap until its
    /// whole chunk tree is removed, which is then dropped with one `drop_tree`; outside
    /// the front chunk it becomes a husk (empty value) at once so its space is reused. A
    /// batch (outside the front chunk) with at least 3/4 removed is rewritten with its
    /// live records only.
    ///
    /// Crash order: (1) bitmaps and the floor, (2) husks and chunk drops, (3) removal of
    /// the bitmaps of husks and dropped chunks; a rewrite replaces batch and bitmap in one
    /// transaction. Any prefix of that is a consistent state (an orphan bitmap is never
    /// read: batch keys only grow).
    fn write_removals(&self, inner: &mut Inner) -> Result<(), StoreError> {
        if inner.dirty.is_empty() {
            return Ok(());
        }
        *self.cache.lock() = None;
        let dirty = std::mem::take(&mut inner.dirty);
        let front = inner.chunks.keys().next().copied();
        let mut tomb_ops = sled::Batch::default();
        let mut untomb_ops = sled::Batch::default();
        let mut husks: Vec<(sled::Tree, u64)> = Vec::new();
        let mut emptied: Vec<u64> = Vec::new();
        let mut floor = false;
        for (key, tomb) in dirty {
            let Some((ck, tree, bk)) = self.batch_at_or_before(inner, key)? else {
                continue;
            };
            if bk != key {
                continue;
            }
            let Some(v) = tree.get(be(key)).map_err(self.err("read batch"))? else {
                continue;
            };
            let view = self.view(key, &v)?;
            let removed = tomb.count();
            let n = view.len();
            if n == 0 {
                continue;
            }
            let in_front = Some(ck) == front;
            if removed >= n {
                floor |= view.seq(n - 1) >= inner.state.last_seq;
                tomb_ops.insert(self.key(TOMB, key), tomb.encode());
                if emptied.last() != Some(&ck) {
                    emptied.push(ck);
                }
                if !in_front {
                    husks.push((tree, key));
                    untomb_ops.remove(self.key(TOMB, key));
                }
            } else if removed * 4 >= n * 3 && !in_front {
                let live: Vec<Rec> = (0..n)
                    .filter(|i| !tomb.get(*i))
                    .map(|i| view.rec(i))
                    .collect();
                let value = batch::encode(live.into_iter());
                let tk = self.key(TOMB, key);
                (&tree, &self.tombs)
                    .transaction(|(t, tb)| {
                        t.insert(&be(key), value.as_slice())?;
                        tb.remove(tk.as_slice())?;
                        Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
                    })
                    .map_err(|e| match e {
                        sled::transaction::TransactionError::Storage(e) => e,
                        sled::transaction::TransactionError::Abort(()) => {
                            sled::Error::Unsupported("aborted".into())
                        }
                    })
                    .map_err(self.err("rewrite batch"))?;
            } else {
                tomb_ops.insert(self.key(TOMB, key), tomb.encode());
            }
        }
        if floor {
            tomb_ops.insert(self.floor_key(), self.floor_value(inner));
        }
        self.tombs
            .apply_batch(tomb_ops)
            .map_err(self.err("write tombstones"))?;
        for (tree, key) in husks {
            tree.insert(be(key), Vec::new())
                .map_err(self.err("husk batch"))?;
        }
        // Chunks whose every batch is now husk or fully removed go as a whole.
        for ck in emptied {
            let Some(tree) = inner.chunks.get(&ck).cloned() else {
                continue;
            };
            let mut keys = Vec::new();
            let mut all_gone = true;
            for kv in tree.iter() {
                let (k, v) = kv.map_err(self.err("scan chunk"))?;
                let key = seq_of(&k);
                let n = self.view(key, &v)?.len();
                if n > 0 && self.tomb(inner, key)?.count() < n {
                    all_gone = false;
                    break;
                }
                keys.push(key);
            }
            if all_gone {
                // sled 0.34's drop_tree alone leaked the dropped leaf's values: with 1 KiB
                // payloads the file grew ~28 MB per fill/drain cycle of 100 MB; clearing
                // first keeps it flat.
                tree.clear().map_err(self.err("clear chunk"))?;
                self.db
                    .drop_tree(tree.name())
                    .map_err(self.err("drop chunk"))?;
                inner.chunks.remove(&ck);
                for key in keys {
                    untomb_ops.remove(self.key(TOMB, key));
                }
            }
        }
        self.tombs
            .apply_batch(untomb_ops)
            .map_err(self.err("drop tombstones"))
    }

    fn floor_value(&self, inner: &Inner) -> Vec<u8> {
        let mut f = Vec::with_capacity(16);
        f.extend_from_slice(&inner.state.last_seq.to_le_bytes());
        f.extend_from_slice(&inner.state.last_ts.to_le_bytes());
        f
    }
}

impl Messages {
    /// Opens the log of `stream`, rebuilding its state from what is on disk.
    pub(crate) fn load(
        stream: &str,
        db: sled::Db,
        tombs: sled::Tree,
    ) -> Result<Messages, StoreError> {
        let log = Log {
            stream: stream.to_string(),
            prefix: prefix(stream)?,
            db,
            tombs,
            inner: Mutex::new(Inner::default()),
            cache: Mutex::new(None),
            settled: Default::default(),
            settled_next: Default::default(),
        };
        let mut inner = Inner {
            tagged: stream_tag(&log.tombs, &log.prefix)
                .map_err(log.err("read the stream's tag"))?,
            ..Inner::default()
        };
        for (key, name) in chunk_trees(&log.db, &log.prefix, inner.tagged.as_deref()) {
            let tree = log.db.open_tree(&name).map_err(log.err("open chunk"))?;
            inner.chunks.insert(key, tree);
        }
        let (mut last_seq, mut last_ts) = (0u64, 0i64);
        let mut first: Option<(u64, i64)> = None;
        let trees: Vec<sled::Tree> = inner.chunks.values().cloned().collect();
        for kv in trees.iter().flat_map(|t| {
            settle(t);
            t.iter()
        }) {
            let (k, v) = kv.map_err(log.err("recover"))?;
            let key = seq_of(&k);
            let view = log.view(key, &v)?;
            let tomb = log.tomb(&inner, key)?;
            for i in 0..view.len() {
                let r = view.rec(i);
                if r.seq > last_seq {
                    (last_seq, last_ts) = (r.seq, r.time_ns);
                }
                if !tomb.get(i) {
                    first.get_or_insert((r.seq, r.time_ns));
                    inner.count_in(r.subject, r.size());
                }
            }
        }
        if let Some(f) = log.tombs.get(log.floor_key()).map_err(log.err("recover"))? {
            if f.len() >= 16 {
                let fs = u64::from_le_bytes(f[0..8].try_into().unwrap());
                if fs > last_seq {
                    last_seq = fs;
                    last_ts = i64::from_le_bytes(f[8..16].try_into().unwrap());
                }
            }
        }
        inner.state.last_seq = last_seq;
        inner.state.last_ts = last_ts;
        match first {
            Some((s, t)) => (inner.state.first_seq, inner.state.first_ts) = (s, t),
            None if last_seq > 0 => inner.state.first_seq = last_seq + 1,
            None => {}
        }
        *log.inner.lock() = inner;
        Ok(Messages { sh: Arc::new(log) })
    }

    fn lock(&self) -> Result<parking_lot::MutexGuard<'_, Inner>, StoreError> {
        let g = self.sh.inner.lock();
        if g.deleted {
            return Err(StoreError::Deleted {
                stream: self.sh.stream.clone(),
            });
        }
        Ok(g)
    }

    pub(crate) fn mark_deleted(&self) {
        *self.sh.cache.lock() = None;
        let mut g = self.sh.inner.lock();
        *g = Inner::default();
        g.deleted = true;
    }

    pub(crate) fn write_removals(&self) -> Result<(), StoreError> {
        let mut g = self.sh.inner.lock();
        if g.deleted {
            return Ok(());
        }
        self.sh.write_removals(&mut g)
    }

    /// The stream this log belongs to.
    pub fn stream(&self) -> &str {
        &self.sh.stream
    }

    /// Appends messages with increasing seqs (each > last_seq). Stored as one value per
    /// 256 messages / 48 KiB, so callers should pass whole group-commit batches. Not
    /// durable until [`super::Store::flush`].
    pub fn append<M: Record>(&self, batch: &[M]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut g = self.lock()?;
        let mut last = g.state.last_seq;
        for m in batch {
            if m.seq() <= last {
                return Err(StoreError::OutOfOrder {
                    stream: self.sh.stream.clone(),
                    seq: m.seq(),
                    last_seq: last,
                });
            }
            last = m.seq();
        }
        let mut start = 0;
        while start < batch.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < batch.len()
                && end - start < MAX_BATCH_MSGS
                && (end == start || bytes < MAX_BATCH_BYTES)
            {
                bytes += batch[end].size() as usize;
                end += 1;
            }
            let part = &batch[start..end];
            let key = part[0].seq();
            let value = batch::encode(part.iter().map(batch::rec_of));
            let len = value.len();
            let tail = match g.chunks.iter().next_back() {
                Some((&ck, t)) => {
                    let (bytes, batches) = match g.tail {
                        Some((k, b, n)) if k == ck => (b, n),
                        _ => self.sh.measure(t)?,
                    };
                    let fits = bytes + len <= CHUNK_BYTES
                        && (batches < CHUNK_BATCHES || len <= SMALL_BATCH_BYTES);
                    fits.then(|| (ck, t.clone(), bytes, batches))
                }
                None => None,
            };
            let (ck, tree, bytes, batches) = match tail {
                Some(t) => t,
                None => {
                    // The last chunk is written for good: let sled evict its pages.
                    if let Some(prev) = g.chunks.values().next_back() {
                        settle(prev);
                    }
                    let name = self.sh.new_chunk_name(&mut g, key)?;
                    let t = self
                        .sh
                        .db
                        .open_tree(name)
                        .map_err(self.sh.err("create chunk"))?;
                    g.chunks.insert(key, t.clone());
                    (key, t, 0, 0)
                }
            };
            tree.insert(be(key), value).map_err(self.sh.err("append"))?;
            g.tail = Some((ck, bytes + len, batches + 1));
            start = end;
        }
        for m in batch {
            if g.state.msgs == 0 {
                g.state.first_seq = m.seq();
                g.state.first_ts = m.time_ns();
            }
            g.count_in(m.subject(), m.size());
            g.state.last_seq = m.seq();
            g.state.last_ts = m.time_ns();
        }
        Ok(())
    }

    pub fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        let g = self.lock()?;
        if seq < g.state.first_seq || seq > g.state.last_seq || g.state.msgs == 0 {
            return Ok(None);
        }
        let Some(c) = self.sh.cached_for(&g, seq)? else {
            return Ok(None);
        };
        let i = c.lower_bound(seq);
        if i < c.recs.len() && c.recs[i].seq == seq && !c.removed(&g, i) {
            return Ok(Some(c.rec(i).to_msg()));
        }
        Ok(None)
    }

    /// The first present message with seq >= `from` whose subject passes `filter`.
    pub fn next(
        &self,
        from: u64,
        filter: &dyn Fn(&str) -> bool,
    ) -> Result<Option<StoredMsg>, StoreError> {
        let g = self.lock()?;
        if g.state.msgs == 0 {
            return Ok(None);
        }
        // Batch by batch through the cache; a gap between batches (a purge past the end
        // moved last_seq) falls back to scanning.
        let mut from = from.max(g.state.first_seq);
        while from <= g.state.last_seq {
            let Some(c) = self.sh.cached_for(&g, from)? else {
                break;
            };
            for i in c.lower_bound(from)..c.recs.len() {
                if !c.removed(&g, i) {
                    let r = c.rec(i);
                    if filter(r.subject) {
                        return Ok(Some(r.to_msg()));
                    }
                }
            }
            from = c.last + 1;
        }
        if from > g.state.last_seq {
            return Ok(None);
        }
        let mut out = None;
        self.sh.scan_fwd(&g, from, &mut |_, r| {
            if filter(r.subject) {
                out = Some(r.to_msg());
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(out)
    }

    /// Present messages from seq `from` on, in order: at most `max_msgs`, and no more
    /// once `max_bytes` (by [`StoredMsg::size`]) is reached. Each stored batch is decoded
    /// once, so reading a backlog costs one decode per batch, not per message.
    pub fn range(
        &self,
        from: u64,
        max_msgs: usize,
        max_bytes: u64,
    ) -> Result<Vec<StoredMsg>, StoreError> {
        let g = self.lock()?;
        let mut out = Vec::new();
        if g.state.msgs == 0 || max_msgs == 0 || from > g.state.last_seq {
            return Ok(out);
        }
        let mut bytes = 0u64;
        self.sh
            .scan_fwd(&g, from.max(g.state.first_seq), &mut |_, r| {
                bytes += r.size();
                out.push(r.to_msg());
                if out.len() >= max_msgs || bytes >= max_bytes {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        Ok(out)
    }

    /// The last present message whose subject passes `filter` (scans backwards).
    pub fn last(&self, filter: &dyn Fn(&str) -> bool) -> Result<Option<StoredMsg>, StoreError> {
        let g = self.lock()?;
        if g.state.msgs == 0 {
            return Ok(None);
        }
        let mut out = None;
        self.sh
            .scan_back(&g, g.state.last_seq.saturating_add(1), &mut |r| {
                if filter(r.subject) {
                    out = Some(r.to_msg());
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        Ok(out)
    }

    /// Removes one message; false when it was not there.
    pub fn remove(&self, seq: u64) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        if g.state.msgs == 0 || seq < g.state.first_seq || seq > g.state.last_seq {
            return Ok(false);
        }
        let Some(c) = self.sh.cached_for(&g, seq)? else {
            return Ok(false);
        };
        let i = c.lower_bound(seq);
        if i >= c.recs.len() || c.recs[i].seq != seq || c.removed(&g, i) {
            return Ok(false);
        }
        let mut tomb = g
            .dirty
            .get(&c.key)
            .cloned()
            .unwrap_or_else(|| c.tomb.clone());
        tomb.set(i);
        g.dirty.insert(c.key, tomb);
        let r = c.rec(i);
        g.count_out(r.subject, r.size());
        if seq == g.state.first_seq {
            self.sh.fix_first(&mut g, seq + 1)?;
        }
        Ok(true)
    }

    /// Removes every present message with seq < `below` (all when None) whose subject
    /// passes `filter`; with `keep: Some(n)`, the newest n of those stay. Returns how many
    /// were removed. Written to sled at once (durable at the next flush).
    pub fn purge(
        &self,
        below: Option<u64>,
        keep: Option<u64>,
        filter: &dyn Fn(&str) -> bool,
    ) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        if g.state.msgs == 0 {
            return Ok(0);
        }
        let mut below = below
            .unwrap_or(u64::MAX)
            .min(g.state.last_seq.saturating_add(1));
        if let Some(n) = keep {
            if n > 0 {
                let mut seen = 0u64;
                let mut cut = None;
                self.sh.scan_back(&g, below, &mut |r| {
                    if filter(r.subject) {
                        seen += 1;
                        if seen == n {
                            cut = Some(r.seq);
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                })?;
                match cut {
                    Some(c) => below = c,
                    None => return Ok(0),
                }
            }
        }
        let start = g.state.first_seq;
        let mut removed = 0u64;
        let first_key = self
            .sh
            .batch_at_or_before(&g, start)?
            .map_or(start, |(_, _, k)| k);
        let kvs = Log::chunks_for(&g, first_key, below.saturating_sub(1))
            .into_iter()
            .flat_map(|(ck, t)| {
                self.sh.settle_read(ck, &t);
                t.range(be(first_key)..be(below))
            });
        for kv in kvs {
            let (k, v) = kv.map_err(self.sh.err("purge scan"))?;
            let key = seq_of(&k);
            let view = self.sh.view(key, &v)?;
            let mut tomb = self.sh.tomb(&g, key)?;
            let mut changed = false;
            for i in 0..view.lower_bound(below) {
                let r = view.rec(i);
                if !tomb.get(i) && filter(r.subject) {
                    tomb.set(i);
                    changed = true;
                    removed += 1;
                    g.count_out(r.subject, r.size());
                }
            }
            if changed {
                g.dirty.insert(key, tomb);
            }
        }
        if removed > 0 {
            self.sh.fix_first(&mut g, start)?;
            self.sh.write_removals(&mut g)?;
        }
        Ok(removed)
    }

    /// Sets the sequence the next append must exceed (nats-server: a stream purged with
    /// seq=N beyond its last message starts at N, so the engine calls this with N-1).
    /// A `seq` at or below the current last_seq changes nothing.
    pub fn set_last_seq(&self, seq: u64) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        if seq <= g.state.last_seq {
            return Ok(());
        }
        g.state.last_seq = seq;
        if g.state.msgs == 0 {
            g.state.first_seq = seq + 1;
            g.state.first_ts = 0;
        }
        self.sh
            .tombs
            .insert(self.sh.floor_key(), self.sh.floor_value(&g))
            .map_err(self.sh.err("set last seq"))?;
        Ok(())
    }

    /// The counters, kept in memory (O(1)).
    pub fn state(&self) -> MsgsState {
        self.sh.inner.lock().state
    }

    /// How many present messages have exactly this subject.
    pub fn subject_count(&self, subject: &str) -> u64 {
        self.sh
            .inner
            .lock()
            .subjects
            .get(subject)
            .copied()
            .unwrap_or(0)
    }

    /// How many distinct subjects the present messages have.
    pub fn subjects_len(&self) -> usize {
        self.sh.inner.lock().subjects.len()
    }
}
