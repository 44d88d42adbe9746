//! Error types of the binlog core: every error names the file and byte offset it concerns.

use std::path::PathBuf;

/// A problem found while reading, decoding or planning from a binlog.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a binlog file (missing the \\xfebin magic at offset 0)")]
    BadMagic { path: PathBuf },
    #[error(
        "{path}: event at byte offset {offset} is truncated: needs {needed} bytes, only {available} \
         left in the file (a partly written or cut binlog; use a complete copy or stop before it)"
    )]
    Truncated {
        path: PathBuf,
        offset: u64,
        needed: u64,
        available: u64,
    },
    #[error("{path}: corrupt event at byte offset {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error(
        "{path}: CRC32 mismatch in event at byte offset {offset}: stored {stored:#010x}, \
         computed {computed:#010x} (the file is damaged)"
    )]
    Checksum {
        path: PathBuf,
        offset: u64,
        stored: u32,
        computed: u32,
    },
    #[error("{path}: cannot decode {event} event at byte offset {offset}: {reason}")]
    Decode {
        path: PathBuf,
        offset: u64,
        event: &'static str,
        reason: String,
    },
    #[error("flashback refused:\n{}", .0.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n"))]
    Refused(Vec<crate::plan::Refusal>),
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

/// A decoding problem inside one event body, before the caller adds file and offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl DecodeError {
    pub fn new(msg: impl Into<String>) -> Self {
        DecodeError(msg.into())
    }
}

pub type DResult<T> = Result<T, DecodeError>;
