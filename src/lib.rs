//! edgeleaf: a NATS-compatible broker for edge gateways. See DESIGN.md (shared) for the map
//! of parts; each module below owns one of them.
#![recursion_limit = "256"]

pub mod config;
pub mod jetstream;
pub mod leaf;
pub mod monitor;
pub mod proto;
pub mod router;
pub mod server;
pub mod store;
pub mod subject;
pub mod sublist;
pub mod system;
pub mod uplink;
