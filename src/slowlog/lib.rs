//! arkc's slow-log core: streaming slow-log parsing, pt-query-digest compatible
//! fingerprints and query IDs, and per-class aggregation. Pure: no I/O beyond reading
//! the given input, no tokio, no UI.

pub mod fingerprint;

pub use fingerprint::{fingerprint, query_id, Fingerprinter};
