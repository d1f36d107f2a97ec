//! JetStream on the device: streams, consumers and the `$JS.API` handlers.

pub mod api;
