//! edgeleaf: a NATS-compatible broker for edge gateways. See DESIGN.md (shared) for the map
//! of parts; each module below owns one of them.

pub mod config;
pub mod proto;
pub mod subject;
pub mod sublist;
