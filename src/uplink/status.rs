//! What an uplink is doing, for humans and monitoring: the view each uplink task keeps,
//! its `/uplinkz` JSON, and the text `edgeleaf status` prints for it.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::config::uplink::UplinkConfig;

/// The state of one uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The local stream does not exist (yet).
    WaitingForStream,
    /// No leaf link to the cloud.
    WaitingForLink,
    /// Link up; finding where the cloud stopped.
    Resuming,
    /// Sending a backlog.
    Forwarding,
    /// Link up and caught up: new messages go out as they are stored.
    Connected,
    /// The cloud refused or did not answer; `reason` says why. Retried with backoff.
    Blocked,
}

impl State {
    pub fn key(self) -> &'static str {
        match self {
            State::WaitingForStream => "waiting_for_stream",
            State::WaitingForLink => "waiting_for_link",
            State::Resuming => "resuming",
            State::Forwarding => "forwarding",
            State::Connected => "connected",
            State::Blocked => "blocked",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            State::WaitingForStream => "waiting for the local stream to be created",
            State::WaitingForLink => "waiting for the leaf link to the cloud",
            State::Resuming => "link up, finding where the cloud stopped",
            State::Forwarding => "forwarding the backlog",
            State::Connected => "connected, caught up",
            State::Blocked => "blocked",
        }
    }
}

/// How the uplink knows where the cloud stopped after an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// It asks the cloud's JetStream API (a cloud domain or API prefix is configured).
    Exact,
    /// It resends what was not acknowledged; the cloud stream's duplicate window must
    /// cover the outage.
    DuplicateWindow,
}

/// The monitoring view of one uplink, kept current by its task.
#[derive(Debug, Clone)]
pub struct UplinkView {
    pub stream: String,
    pub account: String,
    pub cloud_stream: String,
    pub state: State,
    pub reason: Option<String>,
    pub since: SystemTime,
    pub resume: Resume,
    pub incarnation: String,
    pub backlog_msgs: u64,
    pub backlog_bytes: u64,
    /// Store time (unix ns) of the oldest message not yet acknowledged by the cloud.
    pub oldest_unsent_ns: Option<i64>,
    pub last_acked_seq: u64,
    pub forwarded_msgs: u64,
    /// Messages removed locally (limits, discard old, deletes) before they were forwarded.
    pub dropped_msgs: u64,
    pub in_flight: usize,
    /// The seq of the message the cloud refused, while blocked on it (the operator may
    /// move it aside: `edgeleaf uplink skip`).
    pub refused_seq: Option<u64>,
    /// Messages moved aside by the operator since start.
    pub skipped_msgs: u64,
    /// Messages per second acknowledged by the cloud, over the last second or so.
    pub rate: f64,
    pub updated: SystemTime,
}

impl UplinkView {
    pub fn new(cfg: &UplinkConfig, account: &str) -> UplinkView {
        UplinkView {
            stream: cfg.stream.clone(),
            account: account.to_string(),
            cloud_stream: cfg.cloud_stream.clone(),
            state: State::WaitingForStream,
            reason: None,
            since: SystemTime::now(),
            resume: if cfg.api_prefix.is_some() {
                Resume::Exact
            } else {
                Resume::DuplicateWindow
            },
            incarnation: String::new(),
            backlog_msgs: 0,
            backlog_bytes: 0,
            oldest_unsent_ns: None,
            last_acked_seq: 0,
            forwarded_msgs: 0,
            dropped_msgs: 0,
            in_flight: 0,
            refused_seq: None,
            skipped_msgs: 0,
            rate: 0.0,
            updated: SystemTime::now(),
        }
    }

    pub fn set_state(&mut self, state: State, reason: Option<String>) {
        if self.state != state {
            self.since = SystemTime::now();
        }
        self.state = state;
        self.reason = reason;
    }

    /// The `/uplinkz` entry.
    pub fn to_json(&self) -> Value {
        let now_ns = ns(SystemTime::now());
        let mut v = json!({
            "stream": self.stream,
            "account": self.account,
            "cloud_stream": self.cloud_stream,
            "state": self.state.key(),
            "state_since": crate::monitor::rfc3339(self.since),
            "resume": match self.resume {
                Resume::Exact => "exact",
                Resume::DuplicateWindow => "duplicate_window",
            },
            "incarnation": self.incarnation,
            "backlog_msgs": self.backlog_msgs,
            "backlog_bytes": self.backlog_bytes,
            "oldest_unsent_age_ms": self.oldest_unsent_ns.map(|t| ((now_ns - t).max(0) / 1_000_000) as u64),
            "last_acked_seq": self.last_acked_seq,
            "forwarded_msgs": self.forwarded_msgs,
            "dropped_msgs": self.dropped_msgs,
            "in_flight": self.in_flight,
            "refused_seq": self.refused_seq,
            "skipped_msgs": self.skipped_msgs,
            "rate_msgs_per_sec": (self.rate * 10.0).round() / 10.0,
        });
        if let Some(r) = &self.reason {
            v["reason"] = json!(r);
        }
        v
    }
}

fn ns(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn human_age(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    let s = d.as_secs();
    match s {
        0 => format!("{ms} ms"),
        1..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

/// One `/uplinkz` entry as text for a person: what it is doing, and if not forwarding,
/// why.
pub fn render(u: &Value) -> String {
    let s = |k: &str| u.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let state = s("state");
    let headline = match state.as_str() {
        "waiting_for_stream" => "WAITING: the local stream does not exist yet".to_string(),
        "waiting_for_link" => "WAITING: no leaf link to the cloud".to_string(),
        "resuming" => "RESUMING: link up, finding where the cloud stopped".to_string(),
        "forwarding" => "FORWARDING the backlog".to_string(),
        "connected" => "OK: connected and caught up".to_string(),
        "blocked" => match u.get("refused_seq").and_then(Value::as_u64) {
            Some(seq) => format!(
                "BLOCKED: {}\n            (retried with backoff; to move seq {seq} aside: edgeleaf uplink skip {} {seq})",
                s("reason"),
                s("stream")
            ),
            None => format!("BLOCKED: {}", s("reason")),
        },
        other => other.to_string(),
    };
    let mut out = format!(
        "uplink {} -> cloud stream {} (account {})\n  state:    {headline} (since {})\n",
        s("stream"),
        s("cloud_stream"),
        s("account"),
        s("state_since")
    );
    let oldest = u
        .get("oldest_unsent_age_ms")
        .and_then(Value::as_u64)
        .map(|ms| format!(", oldest unsent {} old", human_age(ms)))
        .unwrap_or_default();
    out.push_str(&format!(
        "  backlog:  {} messages, {}{oldest}\n",
        n("backlog_msgs"),
        human_bytes(n("backlog_bytes"))
    ));
    out.push_str(&format!(
        "  cloud:    last acknowledged seq {}, {} forwarded since start, {} msgs/s, {} in flight\n",
        n("last_acked_seq"),
        n("forwarded_msgs"),
        u.get("rate_msgs_per_sec")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        n("in_flight")
    ));
    if n("dropped_msgs") > 0 {
        out.push_str(&format!(
            "  dropped:  {} messages removed locally before they were forwarded (stream limits or deletes)\n",
            n("dropped_msgs")
        ));
    }
    let resume = if s("resume") == "exact" {
        "exact (asks the cloud's JetStream API where it stopped)"
    } else {
        "by the cloud stream's duplicate window (no cloud_domain configured)"
    };
    out.push_str(&format!("  resume:   {resume}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_uplink_says_why_and_its_backlog() {
        let cfg = UplinkConfig {
            stream: "S".into(),
            account: None,
            subject_prefix: None,
            api_prefix: None,
            cloud_stream: "S".into(),
            max_in_flight: 10,
            max_bytes_per_sec: 0,
            ack_timeout: Duration::from_secs(1),
        };
        let mut v = UplinkView::new(&cfg, "$G");
        v.set_state(
            State::Blocked,
            Some("stream not found (code 404, err_code 10059)".into()),
        );
        v.backlog_msgs = 3;
        v.backlog_bytes = 3 * 1024 * 1024;
        v.oldest_unsent_ns = Some(ns(SystemTime::now()) - 90_000_000_000);
        let text = render(&v.to_json());
        assert!(text.contains("BLOCKED: stream not found"), "{text}");
        assert!(
            text.contains("3 messages, 3.0 MiB, oldest unsent 90 s old"),
            "{text}"
        );
        assert!(text.contains("duplicate window"), "{text}");
    }
}
