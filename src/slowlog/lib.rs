//! arkc's slow-log core: streaming slow-log parsing, pt-query-digest compatible
//! fingerprints and query IDs, and per-class aggregation. Pure: no I/O beyond reading
//! the given input, no tokio, no UI.
//!
//! ```no_run
//! use arkc_slowlog::{Digest, DigestFilter, OrderBy};
//! let mut digest = Digest::new(DigestFilter::default());
//! digest.add_file("slow.log".as_ref())?;
//! for class in OrderBy::default().rank(digest.classes(), Some(10)) {
//!     println!("{} {} {}", class.query_id, class.count, class.fingerprint);
//! }
//! # Ok::<(), arkc_slowlog::SlowlogError>(())
//! ```

mod class;
mod digest;
mod entry;
mod error;
mod event;
pub mod fingerprint;
mod histogram;
mod input;
mod lines;
mod order;
mod parser;
pub mod statement;

pub use class::{QueryClass, Sample, TimeStats, ValueCounts};
pub use digest::{Digest, DigestFilter};
pub use entry::EntryFields;
pub use error::SlowlogError;
pub use event::{parse_log_time, CommonAttributes, EventKind, SlowEvent};
pub use fingerprint::{fingerprint, query_id, Fingerprinter};
pub use input::{open_log, Position, RecordReader};
pub use order::{OrderBy, OrderByError, SortAttribute, SortFunction};
pub use parser::{EntryProblem, ParseStats, ProblemKind, SlowLogParser};
