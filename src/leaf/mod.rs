//! placeholder module doc

pub mod creds;
