//! The on-disk encoding of one batch value: the messages of one `append` (at most
//! [`MAX_BATCH_MSGS`] of them), packed tightly since every byte here is written to disk at
//! least twice by sled (the log, then node consolidation).
//!
//! ```text
//! u8 version (1) | varint count | varint first_seq | zigzag-varint first_time_ns
//! count x record:
//!   varint seq - previous seq (0 for the first) | zigzag-varint time - previous time
//!   | varint subject_len | varint header_len + 1 (0 = no headers) | varint payload_len
//!   | subject | headers | payload
//! ```
//! A record costs its bytes plus 5..10 bytes (32 with fixed-width fields: 15% more
//! written for 128-byte payloads). A view decodes the record table once.

use super::{Record, StoredMsg};

/// The most messages one batch value holds (so a tombstone bitmap is at most 32 bytes).
pub(crate) const MAX_BATCH_MSGS: usize = 256;
/// A batch is closed early once its records pass this many bytes. It bounds a chunk page
/// (4 batches), and sled keeps the newest page of each of its 256 LRU shards whatever its
/// capacity: 128 KiB let 256-byte messages keep 42 MiB resident, 48 KiB keeps 26 MiB at
/// the same write amplification target (src/store/mod.rs has the measurements).
pub(crate) const MAX_BATCH_BYTES: usize = 48 * 1024;

const VERSION: u8 = 1;

/// A decoded view over one batch value (records borrow from the value).
pub(crate) struct BatchView<'a> {
    recs: Vec<Rec<'a>>,
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct Reader<'a> {
    d: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.d.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn bytes(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let b = self.d.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
}

/// `v` as a varint of its own.
pub(crate) fn varint(v: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    put_varint(&mut out, v);
    out
}

/// The varint at the start of `d` and the bytes it took.
pub(crate) fn read_varint(d: &[u8]) -> Option<(u64, usize)> {
    let mut r = Reader { d, at: 0 };
    let v = r.varint()?;
    Some((v, r.at))
}

/// One record's fields, borrowed from the batch value.
#[derive(Clone, Copy)]
pub(crate) struct Rec<'a> {
    pub seq: u64,
    pub time_ns: i64,
    pub subject: &'a str,
    pub headers: Option<&'a [u8]>,
    pub payload: &'a [u8],
}

impl Rec<'_> {
    pub fn size(&self) -> u64 {
        super::msg_size(self.subject, self.headers, self.payload)
    }
    pub fn to_msg(self) -> StoredMsg {
        StoredMsg {
            seq: self.seq,
            time_ns: self.time_ns,
            subject: self.subject.to_string(),
            headers: self.headers.map(|h| h.to_vec()),
            payload: self.payload.to_vec(),
        }
    }
}

impl<'a> BatchView<'a> {
    /// None when the value is not a well-formed batch. An empty value is the husk of a
    /// dropped batch: no records.
    pub fn new(data: &'a [u8]) -> Option<BatchView<'a>> {
        if data.is_empty() {
            return Some(BatchView { recs: Vec::new() });
        }
        if data.first() != Some(&VERSION) {
            return None;
        }
        let mut r = Reader { d: data, at: 1 };
        let count = r.varint()? as usize;
        if count == 0 || count > MAX_BATCH_MSGS {
            return None;
        }
        let mut seq = r.varint()?;
        let mut time = unzigzag(r.varint()?);
        let mut recs = Vec::with_capacity(count);
        for _ in 0..count {
            seq = seq.checked_add(r.varint()?)?;
            time = time.wrapping_add(unzigzag(r.varint()?));
            let (slen, hlen, plen) = (r.varint()?, r.varint()?, r.varint()?);
            let subject = std::str::from_utf8(r.bytes(slen)?).ok()?;
            let headers = if hlen == 0 {
                None
            } else {
                Some(r.bytes(hlen - 1)?)
            };
            let payload = r.bytes(plen)?;
            recs.push(Rec {
                seq,
                time_ns: time,
                subject,
                headers,
                payload,
            });
        }
        if r.at != data.len() || recs.windows(2).any(|w| w[0].seq >= w[1].seq) {
            return None;
        }
        Some(BatchView { recs })
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn rec(&self, i: usize) -> Rec<'a> {
        self.recs[i]
    }

    pub fn seq(&self, i: usize) -> u64 {
        self.recs[i].seq
    }

    /// Index of the first record with seq >= `seq` (== len() when none).
    pub fn lower_bound(&self, seq: u64) -> usize {
        self.recs.partition_point(|r| r.seq < seq)
    }
}

/// Encodes records (non-empty, increasing seqs, at most MAX_BATCH_MSGS) into one value.
pub(crate) fn encode<'r>(recs: impl ExactSizeIterator<Item = Rec<'r>> + Clone) -> Vec<u8> {
    let body: usize = recs
        .clone()
        .map(|r| 12 + r.subject.len() + r.headers.map_or(0, |h| h.len()) + r.payload.len())
        .sum();
    let mut out = Vec::with_capacity(24 + body);
    out.push(VERSION);
    put_varint(&mut out, recs.len() as u64);
    let mut it = recs.clone();
    let first = it.next().expect("a batch has at least one record");
    let (mut seq, mut time) = (first.seq, first.time_ns);
    put_varint(&mut out, seq);
    put_varint(&mut out, zigzag(time));
    for r in recs {
        put_varint(&mut out, r.seq - seq);
        put_varint(&mut out, zigzag(r.time_ns.wrapping_sub(time)));
        (seq, time) = (r.seq, r.time_ns);
        put_varint(&mut out, r.subject.len() as u64);
        put_varint(&mut out, r.headers.map_or(0, |h| h.len() as u64 + 1));
        put_varint(&mut out, r.payload.len() as u64);
        out.extend_from_slice(r.subject.as_bytes());
        if let Some(h) = r.headers {
            out.extend_from_slice(h);
        }
        out.extend_from_slice(r.payload);
    }
    out
}

pub(crate) fn rec_of<M: Record>(m: &M) -> Rec<'_> {
    Rec {
        seq: m.seq(),
        time_ns: m.time_ns(),
        subject: m.subject(),
        headers: m.headers(),
        payload: m.payload(),
    }
}

/// The removed-message bitmap of one batch, indexed by record position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tomb {
    pub bits: [u64; 4],
}

impl Tomb {
    pub fn decode(b: &[u8]) -> Tomb {
        let mut t = Tomb::default();
        for (i, w) in b.chunks_exact(8).take(4).enumerate() {
            t.bits[i] = u64::from_le_bytes(w.try_into().unwrap());
        }
        t
    }
    pub fn encode(&self) -> Vec<u8> {
        // Only as many words as hold a set bit: usually 8..32 bytes.
        let words = 4 - self.bits.iter().rev().take_while(|w| **w == 0).count();
        self.bits[..words]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect()
    }
    pub fn get(&self, i: usize) -> bool {
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }
    pub fn set(&mut self, i: usize) {
        self.bits[i / 64] |= 1 << (i % 64);
    }
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }
}
