//! The engine's side of the API types: parsing and checking requests the way nats-server
//! 2.9.10 does, and building its responses from the engine's state. The JSON shapes and
//! error texts themselves live in `api`.

use std::time::SystemTime;

use super::api::{self, *};
use super::consumer::Progress;
use crate::store::{MsgsState, StoredMsg as Stored};
use crate::subject;

fn go_time(t: SystemTime) -> GoTime {
    GoTime::from_unix_nanos(
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
    )
}

/// An error response of the given kind (`stream_info_response`, ...). Some kinds carry
/// fields even on errors (paging, `purged`), as nats-server's do.
pub fn error_response(kind: &str, e: &ApiError) -> Vec<u8> {
    let e = e.clone();
    match kind {
        "stream_create_response" => StreamCreateResponse::err(e).to_json(),
        "stream_update_response" => StreamUpdateResponse::err(e).to_json(),
        "stream_info_response" => StreamInfoResponse::err(e).to_json(),
        "stream_delete_response" => StreamDeleteResponse::err(e).to_json(),
        "stream_purge_response" => StreamPurgeResponse::err(e).to_json(),
        "stream_names_response" => StreamNamesResponse::err(e).to_json(),
        "stream_list_response" => StreamListResponse::err(e).to_json(),
        "stream_msg_get_response" => StreamMsgGetResponse::err(e).to_json(),
        "stream_msg_delete_response" => StreamMsgDeleteResponse::err(e).to_json(),
        "consumer_create_response" => ConsumerCreateResponse::err(e).to_json(),
        "consumer_info_response" => ConsumerInfoResponse::err(e).to_json(),
        "consumer_delete_response" => ConsumerDeleteResponse::err(e).to_json(),
        "consumer_names_response" => ConsumerNamesResponse::err(e).to_json(),
        "consumer_list_response" => ConsumerListResponse::err(e).to_json(),
        _ => AccountInfoResponse::err(e).to_json(),
    }
}

pub fn pub_ack(stream: &str, seq: u64, duplicate: bool, domain: Option<&str>) -> Vec<u8> {
    PubAck::encode_ok(stream, domain.unwrap_or(""), seq, duplicate)
}

pub fn pub_ack_error(stream: &str, e: &ApiError) -> Vec<u8> {
    PubAck::err(stream, e.clone()).encode()
}

pub fn account_info(
    memory: u64,
    storage: u64,
    streams: usize,
    consumers: usize,
    total: u64,
    errors: u64,
    domain: Option<&str>,
) -> Vec<u8> {
    AccountInfoResponse {
        info: Some(AccountInfo {
            memory,
            storage,
            streams: streams as u64,
            consumers: consumers as u64,
            limits: AccountLimits::default(),
            domain: domain.unwrap_or("").to_string(),
            api: ApiStats { total, errors },
        }),
        ..AccountInfoResponse::default()
    }
    .to_json()
}

pub fn stream_info(
    config: StreamConfig,
    created: SystemTime,
    st: MsgsState,
    consumers: usize,
    domain: Option<&str>,
) -> StreamInfo {
    StreamInfo {
        config,
        created: go_time(created),
        state: StreamState {
            messages: st.msgs,
            bytes: st.bytes,
            first_seq: st.first_seq,
            first_ts: GoTime::from_unix_nanos(st.first_ts),
            last_seq: st.last_seq,
            last_ts: GoTime::from_unix_nanos(st.last_ts),
            consumer_count: consumers as u64,
            ..StreamState::default()
        },
        domain: domain.unwrap_or("").to_string(),
        ..StreamInfo::default()
    }
}

pub fn stream_create_response(info: &StreamInfo) -> Vec<u8> {
    StreamCreateResponse {
        info: Some(info.clone()),
        did_create: true,
        ..StreamCreateResponse::default()
    }
    .to_json()
}

pub fn stream_update_response(info: &StreamInfo) -> Vec<u8> {
    StreamUpdateResponse {
        info: Some(info.clone()),
        ..StreamUpdateResponse::default()
    }
    .to_json()
}

pub fn stream_info_response(info: &StreamInfo) -> Vec<u8> {
    StreamInfoResponse {
        info: Some(info.clone()),
        ..StreamInfoResponse::default()
    }
    .to_json()
}

pub fn success_response(kind: &str) -> Vec<u8> {
    match kind {
        "stream_delete_response" => StreamDeleteResponse {
            success: true,
            ..StreamDeleteResponse::default()
        }
        .to_json(),
        "stream_msg_delete_response" => StreamMsgDeleteResponse {
            success: true,
            ..StreamMsgDeleteResponse::default()
        }
        .to_json(),
        _ => ConsumerDeleteResponse {
            success: true,
            ..ConsumerDeleteResponse::default()
        }
        .to_json(),
    }
}

pub fn purge_response(purged: u64) -> Vec<u8> {
    StreamPurgeResponse {
        success: true,
        purged,
        ..StreamPurgeResponse::default()
    }
    .to_json()
}

pub fn stream_names_response(names: &[String], offset: usize) -> Vec<u8> {
    // An offset past the end answers as at the end (nats-server clamps it).
    let offset = offset.min(names.len());
    let page: Vec<String> = names
        .iter()
        .skip(offset)
        .take(NAMES_LIMIT)
        .cloned()
        .collect();
    StreamNamesResponse::page(names.len(), offset, page).to_json()
}

pub fn stream_list_response(infos: &[StreamInfo], offset: usize) -> Vec<u8> {
    let offset = offset.min(infos.len());
    StreamListResponse {
        total: infos.len(),
        offset,
        limit: LIST_LIMIT,
        streams: infos
            .iter()
            .skip(offset)
            .take(LIST_LIMIT)
            .cloned()
            .collect(),
        ..StreamListResponse::default()
    }
    .to_json()
}

pub fn msg_get_response(m: &Stored) -> Vec<u8> {
    StreamMsgGetResponse {
        message: Some(api::StoredMsg {
            subject: m.subject.clone(),
            seq: m.seq,
            hdrs: m.headers.clone().unwrap_or_default(),
            data: m.payload.clone(),
            time: GoTime::from_unix_nanos(m.time_ns),
        }),
        ..StreamMsgGetResponse::default()
    }
    .to_json()
}

pub fn consumer_info(
    stream: &str,
    name: &str,
    created: SystemTime,
    config: ConsumerConfig,
    p: &Progress,
    waiting: usize,
    num_pending: u64,
) -> ConsumerInfo {
    let active = (p.last_active_ns > 0).then(|| GoTime::from_unix_nanos(p.last_active_ns));
    ConsumerInfo {
        stream_name: stream.to_string(),
        name: name.to_string(),
        created: go_time(created),
        config,
        delivered: SequenceInfo {
            consumer_seq: p.delivered_consumer,
            stream_seq: p.delivered_stream,
            last_active: active,
        },
        ack_floor: SequenceInfo {
            consumer_seq: p.ack_floor_consumer,
            stream_seq: p.ack_floor_stream,
            last_active: None,
        },
        num_ack_pending: p.pending.len() as u64,
        num_redelivered: p.pending.values().filter(|x| x.deliveries > 1).count() as u64,
        num_waiting: waiting as u64,
        num_pending,
        ..ConsumerInfo::default()
    }
}

pub fn consumer_create_response(info: &ConsumerInfo) -> Vec<u8> {
    ConsumerCreateResponse {
        info: Some(info.clone()),
        ..ConsumerCreateResponse::default()
    }
    .to_json()
}

pub fn consumer_info_response(info: &ConsumerInfo) -> Vec<u8> {
    ConsumerInfoResponse {
        info: Some(info.clone()),
        ..ConsumerInfoResponse::default()
    }
    .to_json()
}

pub fn consumer_names_response(names: &[String], offset: usize) -> Vec<u8> {
    let offset = offset.min(names.len());
    ConsumerNamesResponse {
        total: names.len(),
        offset,
        limit: NAMES_LIMIT,
        consumers: names
            .iter()
            .skip(offset)
            .take(NAMES_LIMIT)
            .cloned()
            .collect(),
        ..ConsumerNamesResponse::default()
    }
    .to_json()
}

pub fn consumer_list_response(infos: &[ConsumerInfo], offset: usize) -> Vec<u8> {
    let offset = offset.min(infos.len());
    ConsumerListResponse {
        total: infos.len(),
        offset,
        limit: LIST_LIMIT,
        consumers: infos
            .iter()
            .skip(offset)
            .take(LIST_LIMIT)
            .cloned()
            .collect(),
        ..ConsumerListResponse::default()
    }
    .to_json()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>' | ' ' | '\t' | '\r' | '\n'))
}

/// A consumer name nats-server accepts (the same rule as stream names).
pub fn valid_consumer_name(name: &str) -> bool {
    valid_name(name)
}

/// A stream configuration from a CREATE/UPDATE body for `name`, with nats-server's checks
/// and defaults.
pub fn parse_stream_config(body: &[u8], name: &str) -> Result<StreamConfig, ApiError> {
    let cfg: StreamConfig = parse_request(body)?;
    if !cfg.name.is_empty() && cfg.name != name {
        return Err(ApiError::stream_name_mismatch());
    }
    let mut cfg = cfg;
    cfg.name = name.to_string();
    if !valid_name(&cfg.name) {
        return Err(ApiError::stream_invalid_config(STREAM_NAME_INVALID));
    }
    if cfg.mirror.is_some() || !cfg.sources.is_empty() {
        return Err(ApiError::stream_invalid_config(
            "mirrors and sources are not supported by edgeleaf yet",
        ));
    }
    if cfg.num_replicas > 1 {
        return Err(ApiError::replicas_not_supported());
    }
    if cfg.max_age != 0 && cfg.max_age < 100_000_000 {
        return Err(ApiError::stream_invalid_config(MAX_AGE_TOO_SMALL));
    }
    if cfg.sealed {
        return Err(ApiError::stream_invalid_config(CREATE_SEALED));
    }
    for s in &cfg.subjects {
        if !subject::is_valid_subject(s.as_bytes()) {
            return Err(ApiError::stream_invalid_subject());
        }
    }
    for (i, a) in cfg.subjects.iter().enumerate() {
        for b in &cfg.subjects[i + 1..] {
            if subject::patterns_overlap(a.as_bytes(), b.as_bytes()) {
                return Err(ApiError::stream_subjects_self_overlap(a, b));
            }
        }
    }
    let cfg = cfg.with_defaults();
    if cfg.max_age > 0 && cfg.duplicate_window > cfg.max_age {
        return Err(ApiError::stream_invalid_config(DUPLICATES_GT_MAX_AGE));
    }
    Ok(cfg)
}

/// What an update may not change.
pub fn check_stream_update(old: &StreamConfig, new: &StreamConfig) -> Result<(), ApiError> {
    if old.storage != new.storage {
        return Err(ApiError::stream_invalid_config(UPDATE_STORAGE));
    }
    if old.retention != new.retention {
        return Err(ApiError::stream_invalid_config(UPDATE_RETENTION));
    }
    Ok(())
}

/// Which consumer-create subject a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateForm<'a> {
    /// `CONSUMER.CREATE.<s>`: an ephemeral with a random name.
    LegacyEphemeral,
    /// `CONSUMER.DURABLE.CREATE.<s>.<c>`: `durable_name` required and equal to `<c>`.
    LegacyDurable(&'a str),
    /// `CONSUMER.CREATE.<s>.<c>[.<filter>]` (2.9): `name` becomes `<c>`.
    Named(&'a str, Option<&'a str>),
}

/// A consumer configuration from a CREATE body, checked against the subject it came on in
/// nats-server's order, with its defaults applied.
pub fn parse_consumer_create(
    body: &[u8],
    stream: &str,
    form: CreateForm<'_>,
) -> Result<ConsumerConfig, ApiError> {
    let req: CreateConsumerRequest = parse_request(body)?;
    // An absent stream_name does not match either (nats-server compares the strings).
    if req.stream_name != stream {
        return Err(ApiError::stream_name_mismatch());
    }
    let mut cfg = req.config;
    if let CreateForm::LegacyDurable(name) | CreateForm::Named(name, _) = form {
        if name.contains(['\\', '/']) {
            return Err(ApiError::consumer_name_path_separators());
        }
    }
    match form {
        CreateForm::LegacyEphemeral => {
            if !cfg.durable_name.is_empty() {
                return Err(ApiError::consumer_ephemeral_with_durable_name());
            }
        }
        CreateForm::LegacyDurable(name) => {
            if cfg.durable_name.is_empty() {
                return Err(ApiError::consumer_durable_name_missing());
            }
            if cfg.durable_name != name {
                return Err(ApiError::consumer_durable_name_mismatch());
            }
        }
        CreateForm::Named(name, filter) => {
            if !cfg.durable_name.is_empty() && cfg.durable_name != name {
                return Err(ApiError::consumer_durable_name_mismatch());
            }
            cfg.name = name.to_string();
            if let Some(f) = filter {
                if cfg.filter_subject != f {
                    return Err(ApiError::consumer_filter_mismatch());
                }
            }
        }
    }
    if cfg.num_replicas > 1 {
        return Err(ApiError::replicas_not_supported());
    }
    Ok(cfg.with_defaults())
}

/// Is every subject `a` matches also matched by `b`? (Both may have wildcards.)
fn subset_of(a: &str, b: &str) -> bool {
    let mut at = a.split('.');
    let mut bt = b.split('.');
    loop {
        match (at.next(), bt.next()) {
            (None, None) => return true,
            // `>` takes one token or more.
            (Some(_), Some(">")) => return true,
            (Some(x), Some("*")) => {
                if x == ">" {
                    return false;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The checks nats-server makes of a consumer configuration (defaults applied) against
/// its stream, in its order, with its errors.
pub fn check_consumer_config(cfg: &ConsumerConfig, stream: &StreamConfig) -> Result<(), ApiError> {
    if cfg.num_replicas < 0 {
        return Err(ApiError::replicas_negative());
    }
    if !cfg.backoff.is_empty() && cfg.max_deliver <= cfg.backoff.len() as i64 {
        return Err(ApiError::consumer_max_deliver_backoff());
    }
    if cfg.description.len() > 4096 {
        return Err(ApiError::consumer_description_too_long());
    }
    if cfg.is_push() {
        let ds = cfg.deliver_subject.as_bytes();
        if !subject::is_literal(ds) {
            return Err(ApiError::consumer_deliver_subject_wildcards());
        }
        if !subject::is_valid_subject(ds) {
            return Err(ApiError::consumer_invalid_deliver_subject());
        }
        let subjects: Vec<&str> = if stream.subjects.is_empty() {
            vec![stream.name.as_str()]
        } else {
            stream.subjects.iter().map(String::as_str).collect()
        };
        if subjects.iter().any(|s| subset_of(&cfg.deliver_subject, s)) {
            return Err(ApiError::consumer_deliver_cycle());
        }
        if cfg.max_waiting != 0 {
            return Err(ApiError::consumer_push_max_waiting());
        }
        if cfg.max_ack_pending > 0 && cfg.ack_policy == AckPolicy::None {
            return Err(ApiError::consumer_max_pending_needs_ack());
        }
        if cfg.idle_heartbeat > 0 && cfg.idle_heartbeat < 100_000_000 {
            return Err(ApiError::consumer_heartbeat_too_small());
        }
    } else {
        if cfg.ack_policy == AckPolicy::None && stream.retention == RetentionPolicy::WorkQueue {
            return Err(ApiError::consumer_pull_requires_ack());
        }
        if cfg.rate_limit_bps > 0 {
            return Err(ApiError::consumer_pull_with_rate_limit());
        }
        if cfg.max_waiting < 0 {
            return Err(ApiError::consumer_max_waiting_negative());
        }
        if cfg.idle_heartbeat > 0 {
            return Err(ApiError::consumer_heartbeat_requires_push());
        }
        if cfg.flow_control {
            return Err(ApiError::consumer_flow_control_requires_push());
        }
        if cfg.max_batch < 0 {
            return Err(ApiError::consumer_max_request_batch_negative());
        }
        if cfg.max_expires != 0 && cfg.max_expires < 1_000_000 {
            return Err(ApiError::consumer_max_request_expires_too_small());
        }
    }
    if cfg.direct {
        if !cfg.is_push() {
            return Err(ApiError::consumer_direct_requires_push());
        }
        if cfg.is_durable() {
            return Err(ApiError::consumer_direct_requires_ephemeral());
        }
    }
    if !cfg.filter_subject.is_empty() {
        let f = cfg.filter_subject.as_str();
        let wildcard = !subject::is_literal(f.as_bytes());
        let subjects: Vec<&str> = if stream.subjects.is_empty() {
            vec![stream.name.as_str()]
        } else {
            stream.subjects.iter().map(String::as_str).collect()
        };
        let valid = subject::is_valid_subject(f.as_bytes())
            && subjects
                .iter()
                .any(|s| subset_of(f, s) || (wildcard && subset_of(s, f)));
        if !valid {
            return Err(ApiError::consumer_filter_not_subset());
        }
    }
    check_start(cfg)?;
    if !cfg.sample_freq.is_empty() {
        let pct = cfg.sample_freq.trim_end_matches('%');
        match pct.parse::<i64>() {
            Ok(n) if n >= 0 => {}
            Ok(_) => return Err(ApiError::consumer_invalid_sampling("<nil>")),
            Err(_) => {
                return Err(ApiError::consumer_invalid_sampling(&format!(
                    "strconv.Atoi: parsing {}: invalid syntax",
                    go_json_string(pct)
                )))
            }
        }
    }
    if cfg.flow_control && cfg.idle_heartbeat == 0 {
        return Err(ApiError::consumer_flow_control_needs_heartbeats());
    }
    if !cfg.durable_name.is_empty() && !cfg.name.is_empty() && cfg.name != cfg.durable_name {
        return Err(ApiError::consumer_name_durable_mismatch());
    }
    Ok(())
}

/// Deliver policy against `opt_start_seq` / `opt_start_time` (nats-server's wording).
fn check_start(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    let also = |dp: &str, what: &str| {
        Err(ApiError::consumer_invalid_policy(format!(
            "consumer delivery policy is deliver {dp}, but optional start {what} is also set"
        )))
    };
    let missing = |dp: &str, what: &str| {
        Err(ApiError::consumer_invalid_policy(format!(
            "consumer delivery policy is deliver {dp}, but optional {what} is not set"
        )))
    };
    let (seq, time) = (cfg.opt_start_seq > 0, cfg.opt_start_time.is_some());
    let plain = |dp: &str| {
        if seq {
            return also(dp, "sequence");
        }
        if time {
            return also(dp, "time");
        }
        Ok(())
    };
    match cfg.deliver_policy {
        DeliverPolicy::All => plain("all"),
        DeliverPolicy::Last => plain("last"),
        DeliverPolicy::New => plain("new"),
        DeliverPolicy::LastPerSubject => {
            plain("last per subject")?;
            if cfg.filter_subject.is_empty() {
                return missing("last per subject", "filter subject");
            }
            Ok(())
        }
        DeliverPolicy::ByStartSequence => {
            if !seq {
                return missing("by start sequence", "start sequence");
            }
            if time {
                return also("by start sequence", "time");
            }
            Ok(())
        }
        DeliverPolicy::ByStartTime => {
            if !time {
                return missing("by start time", "start time");
            }
            if seq {
                return also("by start time", "start sequence");
            }
            Ok(())
        }
    }
}

/// What an existing consumer's configuration may change to (a create with the same name):
/// nats-server's rules; `bound`: someone is subscribed to the old deliver subject.
pub fn check_consumer_update(
    old: &ConsumerConfig,
    new: &ConsumerConfig,
    bound: bool,
) -> Result<(), ApiError> {
    if old == new {
        return Ok(());
    }
    let fail = |what: &str| Err(ApiError::consumer_create_failed(what.to_string()));
    if old.deliver_policy != new.deliver_policy {
        return fail(CONSUMER_DELIVER_POLICY_UPDATE);
    }
    if old.opt_start_seq != new.opt_start_seq {
        return fail("start sequence can not be updated");
    }
    if old.opt_start_time != new.opt_start_time {
        return fail("start time can not be updated");
    }
    if old.ack_policy != new.ack_policy {
        return fail("ack policy can not be updated");
    }
    if old.replay_policy != new.replay_policy {
        return fail("replay policy can not be updated");
    }
    if old.idle_heartbeat != new.idle_heartbeat {
        return fail("heart beats can not be updated");
    }
    if old.flow_control != new.flow_control {
        return fail("flow control can not be updated");
    }
    if old.max_waiting != new.max_waiting {
        return fail("max waiting can not be updated");
    }
    if old.deliver_subject != new.deliver_subject {
        if old.deliver_subject.is_empty() {
            return fail("can not update pull consumer to push based");
        }
        if new.deliver_subject.is_empty() {
            return fail("can not update push consumer to pull based");
        }
        if bound {
            return Err(ApiError::consumer_name_in_use());
        }
    }
    if !new.backoff.is_empty() && new.max_deliver <= new.backoff.len() as i64 {
        return Err(ApiError::consumer_max_deliver_backoff());
    }
    Ok(())
}

/// Work queues: explicit acks, deliver all, and no two consumers on overlapping subjects.
pub fn check_workqueue_consumer<'a>(
    cfg: &ConsumerConfig,
    others: impl Iterator<Item = &'a ConsumerConfig>,
) -> Result<(), ApiError> {
    if cfg.ack_policy != AckPolicy::Explicit {
        return Err(ApiError::workqueue_requires_explicit_ack());
    }
    if cfg.deliver_policy != DeliverPolicy::All {
        return Err(ApiError::workqueue_deliver_all());
    }
    for o in others {
        if o.filter_subject.is_empty() || cfg.filter_subject.is_empty() {
            return Err(ApiError::workqueue_multiple_unfiltered());
        }
        if subject::patterns_overlap(o.filter_subject.as_bytes(), cfg.filter_subject.as_bytes()) {
            return Err(ApiError::workqueue_filter_not_unique());
        }
    }
    Ok(())
}

/// An advisory's `id`: 22 random alphanumerics, as unique as nats-server's nuids.
pub fn event_id() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 22)
}

/// A random consumer name for ephemerals (8 alphanumerics, as nats-server's).
pub fn random_name() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_of_follows_wildcards() {
        assert!(subset_of("a.b", "a.*"));
        assert!(subset_of("a.b.c", "a.>"));
        assert!(subset_of("a.*", "a.>"));
        assert!(subset_of("a.*", "a.*"));
        assert!(!subset_of("a", "a.>"), "> takes at least one token");
        assert!(!subset_of("a.>", "a.*"));
        assert!(!subset_of("a.*", "a.b"));
        assert!(!subset_of("a.b", "a.b.c"));
    }

    #[test]
    fn consumer_updates_follow_nats_server() {
        let old = ConsumerConfig {
            durable_name: "D".into(),
            deliver_subject: "d.1".into(),
            ..ConsumerConfig::default()
        };
        let moved = ConsumerConfig {
            deliver_subject: "d.2".into(),
            ..old.clone()
        };
        assert!(check_consumer_update(&old, &moved, false).is_ok());
        assert_eq!(
            check_consumer_update(&old, &moved, true)
                .unwrap_err()
                .err_code,
            10013
        );
        let pull = ConsumerConfig {
            deliver_subject: String::new(),
            ..old.clone()
        };
        assert_eq!(
            check_consumer_update(&old, &pull, false)
                .unwrap_err()
                .description,
            "can not update push consumer to pull based"
        );
    }
}
