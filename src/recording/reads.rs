//! The inspection views' reads in a recording (Replication, Disk and size, Parameters, Backup,
//! and the Locks view's latest deadlock): stored apart from the frames because they are read at
//! their own, slower cadence, and looked up as "the newest read at or before the cursor".

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{invalid, sqlite, Recording, RecordingError, ZSTD_LEVEL};
use crate::health::backup::BackupReport;
use crate::health::deadlock::Deadlock;
use crate::health::params::ParamsReport;
use crate::health::replication::ReplicationReport;
use crate::health::sizes::SizeReport;

/// Created on every file opened for recording (older files get it when recording goes on).
pub(super) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS reads (id INTEGER PRIMARY KEY, \
     at_ms INTEGER NOT NULL, instance TEXT NOT NULL, kind TEXT NOT NULL, blob BLOB NOT NULL);
     CREATE INDEX IF NOT EXISTS reads_at ON reads (instance, kind, at_ms);";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadKind {
    Replication,
    Sizes,
    Parameters,
    Backups,
    Deadlock,
}

impl ReadKind {
    pub const ALL: [ReadKind; 5] = [
        ReadKind::Replication,
        ReadKind::Sizes,
        ReadKind::Parameters,
        ReadKind::Backups,
        ReadKind::Deadlock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReadKind::Replication => "replication",
            ReadKind::Sizes => "sizes",
            ReadKind::Parameters => "parameters",
            ReadKind::Backups => "backups",
            ReadKind::Deadlock => "deadlock",
        }
    }

    /// How often the recorder reads it for an instance with a firing alert: table sizes,
    /// parameters and backup history change slowly and cost more to read. The latest deadlock
    /// comes with every locks read and is stored only when it changed.
    pub fn every(self) -> Duration {
        match self {
            ReadKind::Replication => Duration::from_secs(10),
            ReadKind::Sizes | ReadKind::Parameters | ReadKind::Backups => Duration::from_secs(300),
            ReadKind::Deadlock => Duration::ZERO,
        }
    }
}

/// One read of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRead {
    pub instance: String,
    pub body: ReadBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadBody {
    Replication(ReplicationReport),
    Sizes(SizeReport),
    Parameters(ParamsReport),
    Backups(BackupReport),
    /// The server's latest deadlock as of the read (`None`: none since it started).
    Deadlock(Option<Deadlock>),
}

impl ReadBody {
    pub fn kind(&self) -> ReadKind {
        match self {
            ReadBody::Replication(_) => ReadKind::Replication,
            ReadBody::Sizes(_) => ReadKind::Sizes,
            ReadBody::Parameters(_) => ReadKind::Parameters,
            ReadBody::Backups(_) => ReadKind::Backups,
            ReadBody::Deadlock(_) => ReadKind::Deadlock,
        }
    }
}

pub(super) fn insert(
    tx: &Transaction,
    path: &Path,
    at: DateTime<Utc>,
    read: &RecordedRead,
) -> Result<(), RecordingError> {
    let json = serde_json::to_vec(&read.body).map_err(|e| invalid(path, &e.to_string()))?;
    let blob = zstd::bulk::compress(&json, ZSTD_LEVEL)
        .map_err(|e| invalid(path, &format!("cannot compress a read: {e}")))?;
    tx.execute(
        "INSERT INTO reads (at_ms, instance, kind, blob) VALUES (?1, ?2, ?3, ?4)",
        params![
            at.timestamp_millis(),
            read.instance,
            read.body.kind().as_str(),
            blob
        ],
    )
    .map_err(|e| sqlite(path, e))?;
    Ok(())
}

/// Drop the oldest row of either table (a frame before a read of the same moment, since later
/// frames may still show that read). Returns how many rows went (0: nothing left).
pub(super) fn drop_oldest(tx: &Transaction) -> rusqlite::Result<usize> {
    let (frame, read): (Option<i64>, Option<i64>) = tx.query_row(
        "SELECT (SELECT MIN(at_ms) FROM frames), (SELECT MIN(at_ms) FROM reads)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match (frame, read) {
        (f, Some(r)) if f.is_none_or(|f| r < f) => tx.execute(
            "DELETE FROM reads WHERE id = (SELECT id FROM reads ORDER BY at_ms, id LIMIT 1)",
            [],
        ),
        _ => tx.execute(
            "DELETE FROM frames WHERE id = (SELECT MIN(id) FROM frames)",
            [],
        ),
    }
}

impl Recording {
    /// The newest read of `kind` for `instance` at or before `at`, with its time.
    pub fn read_at(
        &self,
        instance: &str,
        kind: ReadKind,
        at: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, ReadBody)>, RecordingError> {
        let has_table: bool = self
            .conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'reads'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| sqlite(&self.path, e))?;
        if !has_table {
            return Ok(None);
        }
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT at_ms, blob FROM reads WHERE instance = ?1 AND kind = ?2 AND at_ms <= ?3 \
                 ORDER BY at_ms DESC, id DESC LIMIT 1",
                params![instance, kind.as_str(), at.timestamp_millis()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| sqlite(&self.path, e))?;
        let Some((ms, blob)) = row else {
            return Ok(None);
        };
        let json = zstd::stream::decode_all(blob.as_slice())
            .map_err(|e| invalid(&self.path, &format!("a read does not decompress: {e}")))?;
        let body = serde_json::from_slice(&json)
            .map_err(|e| invalid(&self.path, &format!("a read does not parse: {e}")))?;
        let when = Utc.timestamp_millis_opt(ms).single().unwrap_or(at);
        Ok(Some((when, body)))
    }

    /// How many reads the file holds, by kind (for tests and `record`'s summary).
    pub fn read_count(&self) -> Result<u64, RecordingError> {
        let n: Result<i64, _> = self
            .conn
            .query_row("SELECT COUNT(*) FROM reads", [], |r| r.get(0));
        match n {
            Ok(n) => Ok(n as u64),
            Err(_) => Ok(0),
        }
    }
}
