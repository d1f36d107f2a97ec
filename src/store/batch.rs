//! The on-disk encoding of one batch value: the messages of one `append` (at most
//! [`MAX_BATCH_MSGS`] of them), with an offset table so one message is found without
//! decoding the others.
//!
//! ```text
//! u32 count | count x u32 offset | count x record
//! record: u64 seq | i64 time_ns | u32 subject_len | u32 header_len (u32::MAX = none)
//!         | u32 payload_len | subject | header | payload
//! ```
//! All integers little-endian. Offsets are from the start of the value.

use super::StoredMsg;

/// The most messages one batch value holds (so a tombstone bitmap is at most 32 bytes).
pub(crate) const MAX_BATCH_MSGS: usize = 256;
/// A batch is closed early once its records pass this many bytes, so one value stays well
/// below sled's segment size for typical message sizes.
pub(crate) const MAX_BATCH_BYTES: usize = 128 * 1024;

const REC_HDR: usize = 8 + 8 + 4 + 4 + 4;
const NO_HEADERS: u32 = u32::MAX;

/// A decoded view over one batch value (no copy until a message is asked for).
pub(crate) struct BatchView<'a> {
    data: &'a [u8],
    count: usize,
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
}
fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
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
    /// None when the value is not a well-formed batch.
    pub fn new(data: &'a [u8]) -> Option<BatchView<'a>> {
        let count = u32_at(data, 0)? as usize;
        if count == 0 || count > MAX_BATCH_MSGS || data.len() < 4 + 4 * count {
            return None;
        }
        let v = BatchView { data, count };
        // Validate every record once, so later accessors cannot fail.
        for i in 0..count {
            v.try_rec(i)?;
        }
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    fn try_rec(&self, i: usize) -> Option<Rec<'a>> {
        let d = self.data;
        let off = u32_at(d, 4 + 4 * i)? as usize;
        let seq = u64_at(d, off)?;
        let time_ns = u64_at(d, off + 8)? as i64;
        let slen = u32_at(d, off + 16)? as usize;
        let hlen = u32_at(d, off + 20)?;
        let plen = u32_at(d, off + 24)? as usize;
        let mut at = off + REC_HDR;
        let subject = std::str::from_utf8(d.get(at..at + slen)?).ok()?;
        at += slen;
        let headers = if hlen == NO_HEADERS {
            None
        } else {
            let h = d.get(at..at + hlen as usize)?;
            at += hlen as usize;
            Some(h)
        };
        let payload = d.get(at..at + plen)?;
        Some(Rec {
            seq,
            time_ns,
            subject,
            headers,
            payload,
        })
    }

    pub fn rec(&self, i: usize) -> Rec<'a> {
        self.try_rec(i).expect("validated in BatchView::new")
    }

    pub fn seq(&self, i: usize) -> u64 {
        self.rec(i).seq
    }

    /// Index of the first record with seq >= `seq` (== len() when none).
    pub fn lower_bound(&self, seq: u64) -> usize {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.seq(mid) < seq {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Encodes records (already checked for increasing seqs) into one batch value.
pub(crate) fn encode<'r>(recs: impl ExactSizeIterator<Item = Rec<'r>> + Clone) -> Vec<u8> {
    let count = recs.len();
    let body: usize = recs
        .clone()
        .map(|r| REC_HDR + r.subject.len() + r.headers.map_or(0, |h| h.len()) + r.payload.len())
        .sum();
    let mut out = Vec::with_capacity(4 + 4 * count + body);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    let mut off = 4 + 4 * count;
    for r in recs.clone() {
        out.extend_from_slice(&(off as u32).to_le_bytes());
        off += REC_HDR + r.subject.len() + r.headers.map_or(0, |h| h.len()) + r.payload.len();
    }
    for r in recs {
        out.extend_from_slice(&r.seq.to_le_bytes());
        out.extend_from_slice(&r.time_ns.to_le_bytes());
        out.extend_from_slice(&(r.subject.len() as u32).to_le_bytes());
        let hlen = r.headers.map_or(NO_HEADERS, |h| h.len() as u32);
        out.extend_from_slice(&hlen.to_le_bytes());
        out.extend_from_slice(&(r.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(r.subject.as_bytes());
        if let Some(h) = r.headers {
            out.extend_from_slice(h);
        }
        out.extend_from_slice(r.payload);
    }
    out
}

pub(crate) fn rec_of(m: &StoredMsg) -> Rec<'_> {
    Rec {
        seq: m.seq,
        time_ns: m.time_ns,
        subject: &m.subject,
        headers: m.headers.as_deref(),
        payload: &m.payload,
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
