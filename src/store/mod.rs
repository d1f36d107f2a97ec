//! Durable JetStream messages and consumer state in sled (DESIGN.md part `store`).
//!
//! No tokio, no NATS wire formats, no JSON: stream and consumer metadata are opaque bytes
//! the `jetstream` part encodes; subject filters are closures.
//!
//! # Layout (private; only this module knows it)
//!
//! One sled `Db`:
//!
//! * tree `streams`: `name` -> meta bytes.
//! * tree `consumers`: `P(stream) ++ consumer` -> consumer bytes.
//! * **chunk trees** `'c' ++ varint(tag) ++ varint(first_key)`, one per run of at most 4
//!   batches (the stream's tag is a number in `tombs`; stores written before session 6
//!   name them `'m' ++ P(stream) ++ first_key_be`, still read): `seq_be` -> one **batch value**, the messages of one `append` call (at
//!   most 256 messages / 48 KiB, varint-packed, see `batch.rs`) keyed by its first seq.
//!   Four appends plus the four removals of the clear before `drop_tree` stay below
//!   sled's leaf consolidation (every 10 updates) and split (past 16 entries)
//!   thresholds, so a batch value is written once instead of ~3 times.
//! * tree `tombs`: `P(stream) ++ 't' ++ seq_be` -> the removed-record bitmap of a batch
//!   (8..32 bytes); `P(stream) ++ 'f'` -> the floor: last_seq/last_ts, kept when the
//!   batches holding them are gone (purged stream, `set_last_seq`); `P(stream) ++ 'i'`
//!   -> the stream's tag (varint); `ff ff` -> the last tag given (tags are not reused).
//!
//! `P(stream)` is the name's length (u16 big-endian) then the name, so no stream's keys
//! or tree names are a prefix of another's.
//!
//! Removals do not write at once: they set bits in an in-memory dirty bitmap, and
//! [`Store::flush`] (or the end of a purge) writes each touched batch once. When every
//! batch of a chunk is fully removed, the chunk goes with one `drop_tree` and its
//! bitmaps with it; a fully removed batch outside the front chunk is replaced by an
//! empty value (a husk) at once so its space is reused; a batch outside the front chunk
//! with 3/4 of it removed is rewritten with its live records (one transaction with its
//! bitmap). A work-queue drain in order thus writes a few small bitmaps and one
//! clear + `drop_tree` per 1024 messages.
//!
//! # Memory bound
//!
//! Messages live only in sled (whose page cache is `cache_capacity_bytes`). Per stream
//! the store keeps in RAM: the [`MsgsState`]; one counter per distinct live subject
//! (`HashMap<String, u64>`, about `subject.len() + 40` bytes each: bounded by the number
//! of distinct subjects, not of messages); one sled `Tree` handle per chunk (one per 4
//! appended batches still holding messages: ~100 bytes per 1024 messages at 256 per
//! append, so 1M messages backlog ~100 KB); and the dirty bitmaps of batches touched since
//! the last flush (40 bytes each).
//!
//! sled itself keeps what its LRU does not evict, and sled 0.34 evicts only when one of
//! the LRU's 256 shards has queued 64 page accesses: without help it kept nearly every
//! page written (142 MiB after 1M x 256 B, whatever the cache size). Once a chunk is
//! written for good (the next one starts) and whenever a reader moves to another chunk,
//! the store reads the chunk's pages 64 times (`messages::settle`), so sled evicts down
//! to its capacity, keeping the newest page of each shard. Batches close at 48 KiB, so a chunk page is at most ~200 KiB and those
//! newest pages stay small: whole-process RSS after 1M x 256 B is 26 MiB with a 4, 16 or
//! 64 MiB cache (25 MiB for 128 B, 14 MiB for 64 B with 4 MiB).
//!
//! # Recovery
//!
//! `Store::messages` rebuilds the state and per-subject counts by one sequential scan of
//! the stream's chunks (read time grows with the data on disk, memory does not). sled
//! recovers a prefix of its operations, and every change (one batch value, bitmaps +
//! floor, a husk, a `drop_tree`, a rewrite transaction) is atomic and ordered so that
//! any prefix is consistent with the messages that are there.
//!
//! # README: measured (examples/store_wa.rs)
//!
//! `cargo run --release --example store_wa -- --msgs 1000000 --size 256 --cycles 2
//! --cache-mb 16` on the 2-core dev VM (sled 0.34.7, 1 MiB segments, ext4 on Linux
//! 6.18): append in batches of 256 with a flush per batch, then remove all in order with
//! a flush per 256 removals, then fill/drain cycles. Two "written" figures per payload
//! byte: what the process dirtied in the page cache (/proc/self/io `write_bytes`) and
//! what the block device wrote (its sector count). Flash wears by the second. They differ
//! for small synced writes: a drain flush writes ~100 bytes of bitmaps, but the kernel
//! counts the whole large folio it dirtied (session 6 found this; sessions 3-5 reported
//! only `write_bytes`, so their drain and cycle figures were 2-4x too high). "stored"
//! counts msg_size; RSS is the whole process's after the phase.
//!
//! | phase | msgs/s | page cache / payload | device / payload | size_on_disk | on disk / stored | RSS |
//! |---|---|---|---|---|---|---|
//! | append 1M x 256 B | 516k | 1.22 | 1.34 | 296 MB | 1.04 | 26 MiB |
//! | remove 1M in order | 619k | 1.22 | 0.28 | 299 MB | (empty) | 25 MiB |
//! | cycle 1 fill+drain | 621k / 613k | 2.74 | 1.56 | full 298, empty 301 MB | 1.05 | 26 MiB |
//! | cycle 2 fill+drain | 627k / 593k | 2.73 | 1.57 | full 300, empty 303 MB | 1.06 | 26 MiB |
//!
//! (Before chunk trees were named by tag: device append 1.37x, drain 0.34x, cycles
//! 1.64-1.73x, on disk 1.10x.)
//!
//! 128 B payloads (1M): device append 1.49x, drain 0.46x, cycles 1.81x / 1.86x, on disk
//! 1.00-1.02x, 25 MiB. 1 KiB (100k): append 1.10x, drain 0.11x, cycles 1.20-1.21x, on
//! disk 1.04-1.06x, 29 MiB. Batches of up to 128 KiB wrote less at 256 B (cycles 2.16x in
//! page-cache terms) but kept 42 MiB resident (chunk pages of ~290 KiB); chunks of 2
//! batches: 26 MiB but 3.3x at 128 B.
//!
//! How the layout got there (1M x 128 B, page-cache figures): one tree of batch values
//! with 32-byte record headers, bitmaps in the batch tree and 8 MiB segments wrote 7.6x
//! on append, 4.3x on drain (one cycle 37x, on disk 3.2x); 4 MiB segments were as bad
//! (9.8x append, 22x drain), 1 MiB segments: 4.3x / 0.8x; varint records: 3.7x on append;
//! bitmaps in their own tree: drain 0.55x; chunk trees of 8 batches: 1.3x on append,
//! drain 0.47x, but with 1 KiB payloads the file grew ~28 MB per 100 MB fill/drain cycle
//! (drop_tree alone leaks); clearing before drop_tree fixed that (flat), and chunks of 4
//! keep the clear from rewriting the leaf (drain 1.96x -> 1.20x). Raw sled with 37 KB
//! values: 3.1x in one tree, 1.14x with a tree per 8 values.
//!
//! Known limits: sled never shrinks its file below its highest live segment, so an
//! emptied store keeps its size on disk (it does not grow over fill/drain cycles: freed
//! segments are reused). Appends of single messages make one batch (and one chunk slot)
//! each, so the engine should pass whole group-commit batches. sled 0.34 rewrites its
//! whole table of tree names whenever a chunk tree is created or dropped (one page, an
//! entry per tree: a length byte, the name, the root page id), so wear per chunk grows
//! with the backlog. Short tag names halved that table: 4M x 256 B appended 1.55x and
//! drained 0.53x at the device (1.80x / 0.75x with the old names), a cycle 2.00x (was
//! 2.44x), 1.23x on disk (was 1.46x), 35 MiB RSS. Extrapolated, a cycle crosses the 3x
//! target at a backlog of about 12M x 256 B (3 GB; about 1.5 GB with the old names).
//! Recycling emptied chunk trees
//! instead of dropping them was tried in a raw-sled model (examples were not kept): it
//! saves the drop but not the first fill's creations, and an emptied tree's page keeps
//! its old values' segments alive until sled next consolidates it (30-40% more space).

mod batch;
mod messages;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

pub use messages::Messages;

/// What failed, and where (path, stream, seq).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: cannot open sled database at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("store ({place}): {op} failed: {source}")]
    Db {
        op: &'static str,
        place: String,
        #[source]
        source: sled::Error,
    },
    #[error("store: stream {stream:?}: {op} failed: {source}")]
    Stream {
        op: &'static str,
        stream: String,
        #[source]
        source: sled::Error,
    },
    #[error("store: stream {stream:?}: append of seq {seq} is not above last seq {last_seq}")]
    OutOfOrder {
        stream: String,
        seq: u64,
        last_seq: u64,
    },
    #[error("store: stream {stream:?}: corrupt batch value at key seq {key_seq}")]
    Corrupt { stream: String, key_seq: u64 },
    #[error("store: stream {stream:?} was deleted; this message handle is stale")]
    Deleted { stream: String },
    #[error("store: stream name of {len} bytes is too long (at most 65535)")]
    NameTooLong { len: usize },
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMsg {
    pub seq: u64,
    /// Unix time in nanoseconds when stored.
    pub time_ns: i64,
    pub subject: String,
    /// The header block (NATS/1.0 ... blank line) if any.
    pub headers: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

impl StoredMsg {
    /// The bytes this message counts for in [`MsgsState::bytes`] (see [`msg_size`]).
    pub fn size(&self) -> u64 {
        msg_size(&self.subject, self.headers.as_deref(), &self.payload)
    }
}

/// A message to append, as borrowed parts: the caller stores the buffers it already has,
/// without building a [`StoredMsg`] (JetStream's staged publishes keep the buffer their
/// publish arrived in).
pub trait Record {
    fn seq(&self) -> u64;
    /// Unix time in nanoseconds.
    fn time_ns(&self) -> i64;
    fn subject(&self) -> &str;
    fn headers(&self) -> Option<&[u8]>;
    fn payload(&self) -> &[u8];
    /// See [`msg_size`].
    fn size(&self) -> u64 {
        msg_size(self.subject(), self.headers(), self.payload())
    }
}

impl Record for StoredMsg {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn time_ns(&self) -> i64 {
        self.time_ns
    }
    fn subject(&self) -> &str {
        &self.subject
    }
    fn headers(&self) -> Option<&[u8]> {
        self.headers.as_deref()
    }
    fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// The size a message counts for: `subject.len() + headers.len() + payload.len() + 16`
/// (the 16 stands for the seq and timestamp; nats-server's file store counts a similar
/// fixed overhead per record).
pub fn msg_size(subject: &str, headers: Option<&[u8]>, payload: &[u8]) -> u64 {
    (subject.len() + headers.map_or(0, |h| h.len()) + payload.len() + 16) as u64
}

/// The counters of one message log. An empty stream that had messages reports
/// `first_seq == last_seq + 1`; a never-used one reports 0/0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgsState {
    pub msgs: u64,
    /// Sum of [`msg_size`] over the present messages.
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ts: i64,
    pub last_seq: u64,
    pub last_ts: i64,
}

struct Shared {
    db: sled::Db,
    place: String,
    streams: sled::Tree,
    consumers: sled::Tree,
    tombs: sled::Tree,
    logs: Mutex<HashMap<String, Messages>>,
    /// sled's log file, for `fdatasync` (None for memory stores).
    log_file: Option<Arc<std::fs::File>>,
}

/// Makes a store's writes durable, from any thread (see [`Store::prepare_sync`]).
pub struct Syncer {
    db: sled::Db,
    place: String,
    log_file: Option<Arc<std::fs::File>>,
}

impl Syncer {
    /// Blocks until everything written to the store before this call is on disk.
    ///
    /// sled's flush writes its log with `sync_file_range`, which survives a crash of the
    /// process but not a power cut: it flushes neither the drive's cache nor the file's
    /// size and block metadata. An edge gateway loses power more often than it crashes,
    /// so the log file is also `fdatasync`ed.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.sync_then(|| ())
    }

    /// [`Syncer::sync`], calling `written` between its two halves: once sled's flush has
    /// written its log, before the `fdatasync`. A later sync may start its flush then, so
    /// the two halves of consecutive syncs overlap (the `fdatasync` of a later sync covers
    /// every write an earlier one's flush made). Not called if the flush fails.
    pub fn sync_then(&self, written: impl FnOnce()) -> Result<(), StoreError> {
        let err = |source| StoreError::Db {
            op: "flush",
            place: self.place.clone(),
            source,
        };
        self.db.flush().map_err(err)?;
        written();
        if let Some(f) = &self.log_file {
            f.sync_data().map_err(|e| err(sled::Error::Io(e)))?;
        }
        Ok(())
    }
}

/// The store: cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Store {
    sh: Arc<Shared>,
}

/// `len(name) as u16 BE ++ name`.
pub(crate) fn prefix(stream: &str) -> Result<Vec<u8>, StoreError> {
    let len = stream.len();
    if len > u16::MAX as usize {
        return Err(StoreError::NameTooLong { len });
    }
    let mut p = Vec::with_capacity(2 + len + 9);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p.extend_from_slice(stream.as_bytes());
    Ok(p)
}

/// sled segment size: one segment holds a few hundred full batches; measured in
/// examples/store_wa.rs.
const SEGMENT_SIZE: usize = 1 << 20;

/// `SEGMENT_SIZE`, or `EDGELEAF_STORE_SEGMENT_SIZE` (a power of two, bytes) for
/// measurements with examples/store_wa.rs. Fixed for a database once created.
fn segment_size() -> usize {
    std::env::var("EDGELEAF_STORE_SEGMENT_SIZE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|v| v.is_power_of_two() && *v >= 64 * 1024)
        .unwrap_or(SEGMENT_SIZE)
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, with sled's page cache limited to
    /// `cache_capacity_bytes`.
    pub fn open(dir: &Path, cache_capacity_bytes: u64) -> Result<Store, StoreError> {
        let cfg = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity_bytes)
            .mode(sled::Mode::HighThroughput)
            .use_compression(false)
            .segment_size(segment_size())
            .flush_every_ms(None);
        let db = cfg.open().map_err(|source| StoreError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        // sled 0.34 keeps its log in `<dir>/db`.
        let log_file = std::fs::File::open(dir.join("db")).map_err(|e| StoreError::Open {
            path: dir.join("db"),
            source: sled::Error::Io(e),
        })?;
        let mut store = Store::with_db(db, dir.display().to_string())?;
        if let Some(sh) = Arc::get_mut(&mut store.sh) {
            sh.log_file = Some(Arc::new(log_file));
        }
        Ok(store)
    }

    /// A memory-only store for `storage: memory` streams (a temporary sled database in
    /// /dev/shm, removed when the last handle is dropped).
    pub fn memory() -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(64 << 20)
            .mode(sled::Mode::HighThroughput)
            .use_compression(false)
            .flush_every_ms(None)
            .open()
            .map_err(|source| StoreError::Open {
                path: PathBuf::from("<temporary>"),
                source,
            })?;
        Store::with_db(db, "memory".to_string())
    }

    fn with_db(db: sled::Db, place: String) -> Result<Store, StoreError> {
        let tree = |name: &'static str| {
            db.open_tree(name).map_err(|source| StoreError::Db {
                op: "open tree",
                place: place.clone(),
                source,
            })
        };
        let (streams, consumers) = (tree("streams")?, tree("consumers")?);
        let tombs = tree("tombs")?;
        Ok(Store {
            sh: Arc::new(Shared {
                db,
                place,
                streams,
                consumers,
                tombs,
                logs: Mutex::new(HashMap::new()),
                log_file: None,
            }),
        })
    }

    fn db_err(&self, op: &'static str) -> impl FnOnce(sled::Error) -> StoreError + '_ {
        move |source| StoreError::Db {
            op,
            place: self.sh.place.clone(),
            source,
        }
    }

    fn stream_err(op: &'static str, stream: &str) -> impl FnOnce(sled::Error) -> StoreError {
        let stream = stream.to_string();
        move |source| StoreError::Stream { op, stream, source }
    }

    /// Makes everything written so far durable: writes the pending removals of every open
    /// message log, then one sled flush (one fsync) for all writers. Callers do group
    /// commit by calling this once per batch of work.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.prepare_sync()?.sync()
    }

    /// The first half of [`Store::flush`]: writes what is pending in memory (removal
    /// bitmaps) to sled, and returns the handle whose [`Syncer::sync`] then makes every
    /// write so far durable. The sync may run on another thread while more is written
    /// (sled's flush covers what was written before it started), so the engine overlaps
    /// one group commit's disk sync with staging the next.
    pub fn prepare_sync(&self) -> Result<Syncer, StoreError> {
        let logs: Vec<Messages> = self.sh.logs.lock().values().cloned().collect();
        for log in logs {
            log.write_removals()?;
        }
        Ok(Syncer {
            db: self.sh.db.clone(),
            place: self.sh.place.clone(),
            log_file: self.sh.log_file.clone(),
        })
    }

    pub fn save_stream_meta(&self, stream: &str, meta: &[u8]) -> Result<(), StoreError> {
        self.sh
            .streams
            .insert(stream.as_bytes(), meta)
            .map_err(Self::stream_err("save meta", stream))?;
        Ok(())
    }

    pub fn stream_metas(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.sh.streams.iter() {
            let (k, v) = kv.map_err(self.db_err("read stream metas"))?;
            out.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
        Ok(out)
    }

    /// Removes the stream: its meta, every message and every consumer. Message handles
    /// of it still held elsewhere answer [`StoreError::Deleted`] from then on.
    pub fn delete_stream(&self, stream: &str) -> Result<(), StoreError> {
        let p = prefix(stream)?;
        let log = self.sh.logs.lock().remove(stream);
        if let Some(log) = log {
            log.mark_deleted();
        }
        self.sh
            .streams
            .remove(stream.as_bytes())
            .map_err(Self::stream_err("delete meta", stream))?;
        let tagged = messages::stream_tag(&self.sh.tombs, &p)
            .map_err(Self::stream_err("read the stream's tag", stream))?;
        for (_, name) in messages::chunk_trees(&self.sh.db, &p, tagged.as_deref()) {
            self.sh
                .db
                .drop_tree(&name)
                .map_err(Self::stream_err("drop chunk", stream))?;
        }
        for tree in [&self.sh.consumers, &self.sh.tombs] {
            let mut b = sled::Batch::default();
            for k in tree.scan_prefix(&p).keys() {
                b.remove(k.map_err(Self::stream_err("scan for delete", stream))?);
            }
            tree.apply_batch(b)
                .map_err(Self::stream_err("delete", stream))?;
        }
        Ok(())
    }

    fn consumer_key(stream: &str, consumer: &str) -> Result<Vec<u8>, StoreError> {
        let mut k = prefix(stream)?;
        k.extend_from_slice(consumer.as_bytes());
        Ok(k)
    }

    pub fn save_consumer(
        &self,
        stream: &str,
        consumer: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        self.sh
            .consumers
            .insert(Self::consumer_key(stream, consumer)?, data)
            .map_err(Self::stream_err("save consumer", stream))?;
        Ok(())
    }

    pub fn consumers(&self, stream: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let p = prefix(stream)?;
        let mut out = Vec::new();
        for kv in self.sh.consumers.scan_prefix(&p) {
            let (k, v) = kv.map_err(Self::stream_err("read consumers", stream))?;
            out.push((
                String::from_utf8_lossy(&k[p.len()..]).into_owned(),
                v.to_vec(),
            ));
        }
        Ok(out)
    }

    pub fn delete_consumer(&self, stream: &str, consumer: &str) -> Result<(), StoreError> {
        self.sh
            .consumers
            .remove(Self::consumer_key(stream, consumer)?)
            .map_err(Self::stream_err("delete consumer", stream))?;
        Ok(())
    }

    /// The message log of one stream (created on first use; recovered from disk on the
    /// first call after open). Cheap handle; every call returns the same log.
    pub fn messages(&self, stream: &str) -> Result<Messages, StoreError> {
        let mut logs = self.sh.logs.lock();
        if let Some(m) = logs.get(stream) {
            return Ok(m.clone());
        }
        let m = Messages::load(stream, self.sh.db.clone(), self.sh.tombs.clone())?;
        logs.insert(stream.to_string(), m.clone());
        Ok(m)
    }

    /// Disk bytes used (sled's `size_on_disk`).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.sh
            .db
            .size_on_disk()
            .map_err(self.db_err("size_on_disk"))
    }
}
