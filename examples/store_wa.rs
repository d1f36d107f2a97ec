//! Write amplification and space of the JetStream store (src/store).
//!
//! `cargo run --release --example store_wa -- --msgs 1000000 --size 128 [--dir D]
//!  [--cycles 3] [--cache-mb 64] [--batch 256]`
//!
//! Appends N messages in batches of `--batch` (256) with a flush per batch, then removes them all in
//! order (work-queue style) with a flush every `--batch` removals, then runs fill/drain cycles.
//! Disk bytes written are counted twice and divided by the payload bytes of the phase:
//! /proc/self/io `write_bytes` (what this process dirtied in the page cache) and the
//! sectors the block device under `--dir` wrote (/sys/dev/block/M:m/stat, so run it on
//! a quiet machine). They differ where small synced writes dirty large page-cache folios:
//! on Linux 6.18 with ext4, a flush of ~100 bytes counted tens of KiB in `write_bytes`.
//! The device figure is what wears flash. Space is sled's size_on_disk.

use std::time::Instant;

use edgeleaf::store::{Store, StoredMsg};

fn write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| {
                    l.strip_prefix("write_bytes: ")
                        .map(|v| v.trim().parse().ok())
                })
                .flatten()
        })
        .unwrap_or(0)
}

/// Bytes the block device holding `dir` has written so far (0 where that is not readable,
/// e.g. a file system without a block device).
fn device_written(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(md) = std::fs::metadata(dir) else {
        return 0;
    };
    let dev = md.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/stat"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(6)?.parse::<u64>().ok())
        .map_or(0, |sectors| sectors * 512)
}

/// Bytes written so far: (this process's `write_bytes`, the device's sectors).
fn written(dir: &std::path::Path) -> (u64, u64) {
    (write_bytes(), device_written(dir))
}

fn minus(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0 - b.0, a.1.saturating_sub(b.1))
}

/// The process's resident set now, in MiB (from /proc/self/status `VmRSS`).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect(name))
        .unwrap_or(default)
}

struct Run {
    store: Store,
    next_seq: u64,
    size: usize,
    /// Messages per append (a group commit) and per flush.
    batch: u64,
    dir: std::path::PathBuf,
}

impl Run {
    fn fill(&mut self, n: u64) -> (f64, (u64, u64), u64) {
        let m = self.store.messages("WA").unwrap();
        let payload = vec![0xa5u8; self.size];
        let (w0, t0) = (written(&self.dir), Instant::now());
        let mut done = 0;
        let mut stored = 0u64;
        while done < n {
            let k = self.batch.min(n - done);
            let batch: Vec<StoredMsg> = (0..k)
                .map(|i| StoredMsg {
                    seq: self.next_seq + i,
                    time_ns: 1_700_000_000_000_000_000 + (self.next_seq + i) as i64,
                    subject: format!("wa.sensor.{}", (self.next_seq + i) % 16),
                    headers: None,
                    payload: payload.clone(),
                })
                .collect();
            stored += batch.iter().map(|m| m.size()).sum::<u64>();
            m.append(&batch).unwrap();
            self.store.flush().unwrap();
            self.next_seq += k;
            done += k;
        }
        let secs = t0.elapsed().as_secs_f64();
        (n as f64 / secs, minus(written(&self.dir), w0), stored)
    }

    fn drain(&mut self) -> (f64, (u64, u64), u64) {
        let m = self.store.messages("WA").unwrap();
        let st = m.state();
        let (w0, t0) = (written(&self.dir), Instant::now());
        let mut n = 0u64;
        for seq in st.first_seq..=st.last_seq {
            if m.remove(seq).unwrap() {
                n += 1;
                if n % self.batch == 0 {
                    self.store.flush().unwrap();
                }
            }
        }
        self.store.flush().unwrap();
        let secs = t0.elapsed().as_secs_f64();
        (n as f64 / secs, minus(written(&self.dir), w0), n)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let msgs = arg(&args, "--msgs", 1_000_000);
    let size = arg(&args, "--size", 128) as usize;
    let cycles = arg(&args, "--cycles", 3);
    let batch = arg(&args, "--batch", 256).max(1);
    let cache = arg(&args, "--cache-mb", 64) << 20;
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("store_wa-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir, cache).unwrap();
    let mut run = Run {
        store,
        next_seq: 1,
        size,
        batch,
        dir: dir.clone(),
    };
    let payload_total = msgs * size as u64;
    println!(
        "store_wa: {msgs} msgs x {size} B payload, batches of {batch}, dir {}",
        dir.display()
    );
    println!("| phase | msgs/s | written (page cache) | page cache / payload B | device / payload B | size_on_disk | on_disk / stored B | RSS after |");
    println!("|---|---|---|---|---|---|---|---|");
    let ratio = |w: u64| w as f64 / payload_total as f64;

    let (rate, written, stored) = run.fill(msgs);
    let disk = run.store.size_on_disk().unwrap();
    println!(
        "| append {msgs} | {rate:.0} | {:.1} MB | {:.2} | {:.2} | {:.1} MB | {:.2} | {:.0} MiB |",
        written.0 as f64 / 1e6,
        ratio(written.0),
        ratio(written.1),
        disk as f64 / 1e6,
        disk as f64 / stored as f64,
        rss_mib()
    );

    let (rate, written, n) = run.drain();
    let disk = run.store.size_on_disk().unwrap();
    println!(
        "| remove {n} in order | {rate:.0} | {:.1} MB | {:.2} | {:.2} | {:.1} MB | (empty) | {:.0} MiB |",
        written.0 as f64 / 1e6,
        ratio(written.0),
        ratio(written.1),
        disk as f64 / 1e6,
        rss_mib()
    );

    for c in 1..=cycles {
        let (r1, w1, stored) = run.fill(msgs);
        let full = run.store.size_on_disk().unwrap();
        let (r2, w2, _) = run.drain();
        let empty = run.store.size_on_disk().unwrap();
        println!(
            "| cycle {c}: fill / drain | {r1:.0} / {r2:.0} | {:.1} MB | {:.2} | {:.2} | full {:.1} MB, empty {:.1} MB | {:.2} | {:.0} MiB |",
            (w1.0 + w2.0) as f64 / 1e6,
            ratio(w1.0 + w2.0),
            ratio(w1.1 + w2.1),
            full as f64 / 1e6,
            empty as f64 / 1e6,
            full as f64 / stored as f64,
            rss_mib()
        );
    }
    let st = run.store.messages("WA").unwrap().state();
    println!("final state: {st:?}");
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!("peak RSS: {hwm} (sled cache {} MiB)", cache >> 20);
    drop(run);
    let _ = std::fs::remove_dir_all(&dir);
}
