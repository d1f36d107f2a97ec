//! Owns the NATS wire formats: parsing what clients send (incremental, zero-copy over
//! `bytes`) and encoding what the server sends. No I/O and no tokio here, so the parser can
//! be fuzzed and property-tested on its own.

pub mod client;
pub mod encode;
pub mod leaf;

pub use client::{ClientOp, ParseError, Parser};
