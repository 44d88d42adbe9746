//! Errors of the slow-log core. Malformed entries are not errors: the parser skips them
//! and counts them in [`crate::ParseStats`].

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SlowlogError {
    #[error("cannot open slow log {} (check the path and permissions)", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot read {} at byte {offset} (a truncated or corrupt gzip file?)", path.display())]
    Read {
        path: PathBuf,
        offset: u64,
        source: std::io::Error,
    },
}
