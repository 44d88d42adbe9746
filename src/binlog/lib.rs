//! arkc's binlog core: event framing, row decoding and flashback planning.
//! Pure: bytes in, events and SQL out; no async, no UI.

pub mod apply_keys;
pub mod batch;
pub mod charset;
pub mod check;
mod check_needs;
pub mod check_spill;
pub(crate) mod check_walk;
pub mod cursor;
pub mod decoder;
pub mod digits;
pub mod dir;
pub mod error;
pub mod event;
pub mod frame;
pub mod invert;
pub mod jsonb;
pub mod listing;
pub mod pipeline;
pub mod plan;
pub mod render;
pub mod review;
pub mod rows;
pub mod schema;
pub mod scope;
pub mod tablemap;
pub mod txn;
pub mod value;

pub use decoder::{Decoder, Event, EventBody};
pub use error::BinlogError;
pub use frame::{BinlogReader, ChecksumAlg, EventHeader, RawEvent};
pub use rows::{RowsEvent, RowsKind};
pub use tablemap::{Column, Generated, TableMap};
pub use value::Value;
