//! Recordings for post-incident review: one frame per poll round (every instance's figures, the
//! alerts, and the processlist and locks of instances with firing alerts), kept in a SQLite file
//! as zstd-compressed JSON blobs.
//!
//! SQLite rather than framed chunks in a flat file: a seek to a time is an indexed lookup, an
//! append is atomic (a killed recorder leaves a readable file), and dropping the oldest frames is a
//! DELETE, with `auto_vacuum = FULL` giving the pages back so the file itself stays within the size
//! bound instead of only the data in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::health::locks::{LockWait, MetadataWait, RootBlocker};
use crate::health::processlist::ProcessRow;
use crate::health::{Alert, InstanceHealth};

/// Written into the file so that any other SQLite file is refused with a clear message.
const FORMAT: &str = "arkc-recording-1";
/// zstd level: frames are small and written every second; 3 is the library's own default.
const ZSTD_LEVEL: i32 = 3;

/// Everything recorded at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub at: DateTime<Utc>,
    /// The newest figures of every instance at `at`.
    pub instances: Vec<InstanceHealth>,
    /// Pending and firing alerts at `at`.
    pub alerts: Vec<Alert>,
    /// Sessions and locks of the instances whose alerts were firing.
    #[serde(default)]
    pub details: Vec<InstanceDetail>,
    /// Each instance's tags when recorded (instances without tags are left out), so a replay
    /// groups and filters as the console did; a recording made before tags were stored has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Vec<String>>,
}

/// What a firing alert's instance was doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceDetail {
    pub instance: String,
    pub processlist: Vec<ProcessRow>,
    pub lock_waits: Vec<LockWait>,
    pub root_blockers: Vec<RootBlocker>,
    pub metadata_waits: Vec<MetadataWait>,
    /// Why something could not be read (privileges, server errors).
    pub notes: Vec<String>,
}

/// How much a recording keeps: frames older than `max_age` and, oldest first, frames that would
/// take the file past `max_bytes` are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Duration,
    pub max_bytes: u64,
}

/// The smallest size bound accepted: the schema alone takes a few pages.
pub const MIN_BYTES: u64 = 64 * 1024;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(48 * 3600),
            max_bytes: 512 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
}

/// An open recording file.
pub struct Recording {
    conn: Connection,
    path: PathBuf,
}

/// Time span and size of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingSummary {
    pub frames: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub file_bytes: u64,
}

impl Recording {
    /// Create `path`, or continue an existing arkc recording there.
    pub fn create(path: &Path) -> Result<Recording, RecordingError> {
        let fresh = !path.exists()
            || std::fs::metadata(path)
                .map(|m| m.len() == 0)
                .unwrap_or(false);
        let conn = Connection::open(path).map_err(|e| sqlite(path, e))?;
        let rec = Recording {
            conn,
            path: path.to_path_buf(),
        };
        if fresh {
            // auto_vacuum must be set before the first table exists.
            rec.conn
                .execute_batch(&format!(
                    "PRAGMA auto_vacuum = FULL;
                     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                     INSERT INTO meta VALUES ('format', '{FORMAT}');
                     CREATE TABLE frames (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, blob BLOB NOT NULL);
                     CREATE INDEX frames_at ON frames (at_ms);"
                ))
                .map_err(|e| sqlite(path, e))?;
        }
        rec.check_format()?;
        // Files from before the inspection reads get the table when recording goes on.
        rec.conn
            .execute_batch(reads::SCHEMA)
            .map_err(|e| sqlite(path, e))?;
        Ok(rec)
    }

    /// Open an existing recording for reading.
    pub fn open(path: &Path) -> Result<Recording, RecordingError> {
        if !path.is_file() {
            return Err(invalid(
                path,
                "no such recording file; make one with `arkc record --out FILE`",
            ));
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sqlite(path, e))?;
        let rec = Recording {
            conn,
            path: path.to_path_buf(),
        };
        rec.check_format()?;
        Ok(rec)
    }

    fn check_format(&self) -> Result<(), RecordingError> {
        let format: Result<Option<String>, _> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional();
        match format {
            Ok(Some(f)) if f == FORMAT => Ok(()),
            Ok(Some(f)) => Err(invalid(
                &self.path,
                &format!("recording format `{f}` is not one this arkc reads ({FORMAT})"),
            )),
            _ => Err(invalid(
                &self.path,
                "not an arkc recording (made by `arkc record --out FILE`)",
            )),
        }
    }

    /// Append `frame`, then drop frames past `retention`, oldest first, in the same transaction:
    /// the committed file never exceeds the size bound.
    pub fn append(&mut self, frame: &Frame, retention: Retention) -> Result<(), RecordingError> {
        self.append_with_reads(frame, &[], retention)
    }

    /// [`append`](Self::append) with the inspection views' reads taken at the frame's time
    /// (stored apart: they are read at their own, slower cadence). Age and size bounds count
    /// both, and whichever row is oldest goes first.
    pub fn append_with_reads(
        &mut self,
        frame: &Frame,
        reads: &[RecordedRead],
        retention: Retention,
    ) -> Result<(), RecordingError> {
        let json = serde_json::to_vec(frame).map_err(|e| invalid(&self.path, &e.to_string()))?;
        let blob = zstd::bulk::compress(&json, ZSTD_LEVEL)
            .map_err(|e| invalid(&self.path, &format!("cannot compress a frame: {e}")))?;
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sqlite(&path, e))?;
        tx.execute(
            "INSERT INTO frames (at_ms, blob) VALUES (?1, ?2)",
            params![frame.at.timestamp_millis(), blob],
        )
        .map_err(|e| sqlite(&path, e))?;
        for read in reads {
            reads::insert(&tx, &path, frame.at, read)?;
        }
        let oldest_kept = frame.at
            - chrono::Duration::from_std(retention.max_age).unwrap_or(chrono::Duration::MAX);
        for table in ["frames", "reads"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE at_ms < ?1"),
                params![oldest_kept.timestamp_millis()],
            )
            .map_err(|e| sqlite(&path, e))?;
        }
        loop {
            // With auto_vacuum = FULL the commit truncates the free pages away.
            let used: i64 = tx
                .query_row(
                    "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| sqlite(&path, e))?;
            if used as u64 <= retention.max_bytes {
                break;
            }
            let dropped = reads::drop_oldest(&tx).map_err(|e| sqlite(&path, e))?;
            if dropped == 0 {
                return Err(invalid(
                    &path,
                    &format!(
                        "the size bound of {} bytes is smaller than an empty recording",
                        retention.max_bytes
                    ),
                ));
            }
        }
        tx.commit().map_err(|e| sqlite(&path, e))
    }

    /// The newest frame at or before `at` (the newest of all when `at` is `None`).
    pub fn frame_at(&self, at: Option<DateTime<Utc>>) -> Result<Option<Frame>, RecordingError> {
        let ms = at.map(|t| t.timestamp_millis()).unwrap_or(i64::MAX);
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT blob FROM frames WHERE at_ms <= ?1 ORDER BY at_ms DESC, id DESC LIMIT 1",
                params![ms],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sqlite(&self.path, e))?;
        blob.map(|b| self.decode(&b)).transpose()
    }

    /// The time of every frame, oldest first (the replay's time cursor steps through these).
    pub fn times(&self) -> Result<Vec<DateTime<Utc>>, RecordingError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at_ms FROM frames ORDER BY at_ms, id")
            .map_err(|e| sqlite(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(|e| sqlite(&self.path, e))?;
        let mut times = Vec::new();
        for ms in rows {
            let ms = ms.map_err(|e| sqlite(&self.path, e))?;
            if let Some(t) = Utc.timestamp_millis_opt(ms).single() {
                times.push(t);
            }
        }
        Ok(times)
    }

    pub fn summary(&self) -> Result<RecordingSummary, RecordingError> {
        let times = self.times()?;
        Ok(RecordingSummary {
            frames: times.len() as u64,
            first: times.first().copied(),
            last: times.last().copied(),
            file_bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        })
    }

    fn decode(&self, blob: &[u8]) -> Result<Frame, RecordingError> {
        let json = zstd::stream::decode_all(blob)
            .map_err(|e| invalid(&self.path, &format!("a frame does not decompress: {e}")))?;
        serde_json::from_slice(&json)
            .map_err(|e| invalid(&self.path, &format!("a frame does not parse: {e}")))
    }
}

fn sqlite(path: &Path, e: rusqlite::Error) -> RecordingError {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            invalid(path, "not an arkc recording (not a SQLite file)")
        }
        other => RecordingError::Sqlite {
            path: path.display().to_string(),
            source: other,
        },
    }
}

fn invalid(path: &Path, message: &str) -> RecordingError {
    RecordingError::Invalid {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

mod inspection;
mod reads;
pub use inspection::{RecordedInspection, TimedRead};
pub use reads::{ReadBody, ReadKind, RecordedRead};

#[cfg(test)]
mod tests;
