//! Binlog work for the Binlog pane and the CLI: scans of files or of a server's logs, the
//! replication client (stream), column definitions, and the flashback check and apply.

pub mod apply_parallel;
mod apply_units;
pub mod columns;
pub mod flashback;
pub mod in_doubt;
pub mod row_events;
pub mod scan;
mod scan_stream;
pub mod schema_info;
pub mod service;
pub mod source;
pub mod sql_units;
pub mod stream;
pub mod url_flashback;
