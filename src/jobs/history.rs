//! The backup history: one SQLite row per backup, in the XDG data dir, shared by the CLI, the
//! supervisor processes and the Jobs pane. Every state change and every deletion is written here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::config::BackupKind;

use super::{JobState, SnapshotPosition, TableChecksum};

/// One backup as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupRecord {
    pub id: i64,
    pub job: String,
    pub instance: String,
    pub kind: BackupKind,
    pub state: JobState,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Size on disk of the finished backup (compressed file or directory).
    pub bytes: Option<u64>,
    /// The backup (succeeded), or where its partial output was quarantined (failed/cancelled).
    pub path: Option<PathBuf>,
    /// Holds the spec, the tool's log and the progress file.
    pub job_dir: PathBuf,
    /// The supervisor process (`arkc __backup-supervise ID`).
    pub pid: Option<i32>,
    /// The tool's process, leader of its own process group.
    pub tool_pid: Option<i32>,
    pub tool_version: Option<String>,
    pub position: Option<SnapshotPosition>,
    pub checksums: Vec<TableChecksum>,
    pub checksum_mode: Option<ChecksumMode>,
    pub verified: Option<bool>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verify_note: Option<String>,
    /// Tables whose restored checksum or count differed from the recorded one.
    pub verify_diff: Vec<String>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// Set when retention deleted the backup's files.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What the recorded per-table figures can prove at verification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumMode {
    /// `CHECKSUM TABLE ... EXTENDED` taken in a snapshot at the backup's own position.
    Checksum,
    /// Only row counts are comparable (no snapshot at the backup's position was possible).
    Count,
}

impl ChecksumMode {
    fn as_str(self) -> &'static str {
        match self {
            ChecksumMode::Checksum => "checksum",
            ChecksumMode::Count => "count",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("backup history {path}: {source}")]
    Db {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("no backup with id {0} in the history")]
    NotFound(i64),
    #[error("no data directory: set ARKC_DATA_DIR or HOME")]
    NoDataDir,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS backups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    instance TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    bytes INTEGER,
    path TEXT,
    job_dir TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    tool_pid INTEGER,
    tool_version TEXT,
    position TEXT,
    checksums TEXT NOT NULL DEFAULT '[]',
    checksum_mode TEXT,
    verified INTEGER,
    verified_at TEXT,
    verify_note TEXT,
    verify_diff TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS backup_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    backup_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL
);";

pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// `<data dir>/backups.sqlite`.
    pub fn default_path() -> Result<PathBuf, HistoryError> {
        crate::config::data_dir()
            .map(|d| d.join("backups.sqlite"))
            .ok_or(HistoryError::NoDataDir)
    }

    pub fn open_default() -> Result<History, HistoryError> {
        History::open(&History::default_path()?)
    }

    pub fn open(path: &Path) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
        // Several processes (supervisors, CLI, console) write; wait for each other's locks.
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| db_err(path, e))?;
        conn.execute_batch(&format!("PRAGMA journal_mode=WAL;{SCHEMA}"))
            .map_err(|e| db_err(path, e))?;
        Ok(History {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        db_err(&self.path, e)
    }

    /// Insert a `running` row if the limits allow: at most `max_running` running jobs, and for a
    /// physical kind none other physical on the same instance. Returns the new id.
    pub fn begin(
        &mut self,
        job: &str,
        instance: &str,
        kind: BackupKind,
        max_running: u32,
        now: DateTime<Utc>,
    ) -> Result<Result<i64, String>, HistoryError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        let running: Vec<(String, String, i64)> = {
            let mut stmt = tx
                .prepare("SELECT instance, kind, id FROM backups WHERE state = 'running'")
                .map_err(|e| db_err(&path, e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| db_err(&path, e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| db_err(&path, e))?
        };
        if running.len() >= max_running as usize {
            let ids: Vec<String> = running.iter().map(|r| r.2.to_string()).collect();
            return Ok(Err(format!(
                "{} backups are running already (ids {}), the limit is [jobs] max_concurrent = {max_running}",
                running.len(),
                ids.join(", ")
            )));
        }
        if kind.is_physical() {
            if let Some(other) = running.iter().find(|r| {
                r.0 == instance && BackupKind::parse(&r.1).is_some_and(|k| k.is_physical())
            }) {
                return Ok(Err(format!(
                    "a physical backup of `{instance}` is running already (id {}); one at a time per instance",
                    other.2
                )));
            }
        }
        tx.execute(
            "INSERT INTO backups (job, instance, kind, state, started_at) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![job, instance, kind.as_str(), now.to_rfc3339()],
        )
        .map_err(|e| db_err(&path, e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| db_err(&path, e))?;
        Ok(Ok(id))
    }

    pub fn set_job_dir(&self, id: i64, dir: &Path) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET job_dir = ?2 WHERE id = ?1",
            params![id, dir.to_string_lossy()],
        )
    }

    pub fn set_pid(&self, id: i64, pid: i32) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET pid = ?2 WHERE id = ?1",
            params![id, pid],
        )
    }

    pub fn set_tool(&self, id: i64, tool_pid: i32, version: &str) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET tool_pid = ?2, tool_version = ?3 WHERE id = ?1",
            params![id, tool_pid, version],
        )
    }

    pub fn set_path(&self, id: i64, path: &Path) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET path = ?2 WHERE id = ?1",
            params![id, path.to_string_lossy()],
        )
    }

    pub fn request_cancel(&self, id: i64) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET cancel_requested = 1 WHERE id = ?1",
            params![id],
        )
    }

    /// The final state of a job; only a `running` row changes (a result is never overwritten).
    /// Returns false when the row was no longer running.
    pub fn finish(
        &self,
        id: i64,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        let position = outcome
            .position
            .as_ref()
            .map(|p| serde_json::to_string(p).unwrap_or_default());
        let checksums = serde_json::to_string(&outcome.checksums).unwrap_or_else(|_| "[]".into());
        let changed = self
            .conn
            .execute(
                "UPDATE backups SET state = ?2, finished_at = ?3, bytes = ?4, path = ?5, position = ?6,
                 checksums = ?7, checksum_mode = ?8, error = ?9
                 WHERE id = ?1 AND state = 'running'",
                params![
                    id,
                    outcome.state.as_str(),
                    now.to_rfc3339(),
                    outcome.bytes.map(|b| b as i64),
                    outcome.path.as_ref().map(|p| p.to_string_lossy().into_owned()),
                    position,
                    checksums,
                    outcome.checksum_mode.map(|m| m.as_str()),
                    outcome.error,
                ],
            )
            .map_err(|e| self.err(e))?;
        if changed > 0 {
            self.event(id, &format!("state {}", outcome.state.as_str()), now)?;
        }
        Ok(changed > 0)
    }

    pub fn record_verification(
        &self,
        id: i64,
        ok: bool,
        note: &str,
        diff: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET verified = ?2, verified_at = ?3, verify_note = ?4, verify_diff = ?5 WHERE id = ?1",
            params![
                id,
                ok,
                now.to_rfc3339(),
                note,
                serde_json::to_string(diff).unwrap_or_else(|_| "[]".into())
            ],
        )?;
        self.event(
            id,
            &format!("verified {}: {note}", if ok { "ok" } else { "FAILED" }),
            now,
        )
    }

    pub fn mark_deleted(
        &self,
        id: i64,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<(), HistoryError> {
        self.exec(
            "UPDATE backups SET deleted_at = ?2 WHERE id = ?1",
            params![id, now.to_rfc3339()],
        )?;
        self.event(id, &format!("deleted by retention: {what}"), now)
    }

    pub fn event(&self, id: i64, what: &str, now: DateTime<Utc>) -> Result<(), HistoryError> {
        self.exec(
            "INSERT INTO backup_events (backup_id, at, event) VALUES (?1, ?2, ?3)",
            params![id, now.to_rfc3339(), what],
        )
    }

    /// The events of one backup, oldest first: (time, text).
    pub fn events(&self, id: i64) -> Result<Vec<(String, String)>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, event FROM backup_events WHERE backup_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn get(&self, id: i64) -> Result<BackupRecord, HistoryError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM backups WHERE id = ?1"),
                params![id],
                record_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or(HistoryError::NotFound(id))
    }

    /// Every row, newest first.
    pub fn list(&self) -> Result<Vec<BackupRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM backups ORDER BY id DESC"))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], record_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The newest succeeded, not deleted backup of `instance` (for Health's backup status):
    /// a verified one when any exists, else the newest unverified one.
    pub fn last_successful(&self, instance: &str) -> Result<Option<BackupRecord>, HistoryError> {
        let rows: Vec<BackupRecord> = self
            .list()?
            .into_iter()
            .filter(|r| {
                r.instance == instance && r.state == JobState::Succeeded && r.deleted_at.is_none()
            })
            .collect();
        let verified = rows.iter().find(|r| r.verified == Some(true)).cloned();
        Ok(verified.or_else(|| rows.into_iter().next()))
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<(), HistoryError> {
        self.conn.execute(sql, p).map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// What a finished job leaves in its row.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub state: JobState,
    pub bytes: Option<u64>,
    pub path: Option<PathBuf>,
    pub position: Option<SnapshotPosition>,
    pub checksums: Vec<TableChecksum>,
    pub checksum_mode: Option<ChecksumMode>,
    pub error: Option<String>,
}

const COLUMNS: &str =
    "id, job, instance, kind, state, started_at, finished_at, bytes, path, job_dir, \
    pid, tool_pid, tool_version, position, checksums, checksum_mode, verified, verified_at, \
    verify_note, verify_diff, error, cancel_requested, deleted_at";

fn record_from_row(r: &Row<'_>) -> rusqlite::Result<BackupRecord> {
    let kind: String = r.get(3)?;
    let state: String = r.get(4)?;
    let position: Option<String> = r.get(13)?;
    let checksums: String = r.get(14)?;
    let mode: Option<String> = r.get(15)?;
    let diff: String = r.get(19)?;
    Ok(BackupRecord {
        id: r.get(0)?,
        job: r.get(1)?,
        instance: r.get(2)?,
        kind: BackupKind::parse(&kind).unwrap_or(BackupKind::Dump),
        state: JobState::parse(&state).unwrap_or(JobState::Lost),
        started_at: time(r.get::<_, String>(5)?),
        finished_at: r.get::<_, Option<String>>(6)?.map(time),
        bytes: r.get::<_, Option<i64>>(7)?.map(|b| b.max(0) as u64),
        path: r.get::<_, Option<String>>(8)?.map(PathBuf::from),
        job_dir: PathBuf::from(r.get::<_, String>(9)?),
        pid: r.get(10)?,
        tool_pid: r.get(11)?,
        tool_version: r.get(12)?,
        position: position.and_then(|p| serde_json::from_str(&p).ok()),
        checksums: serde_json::from_str(&checksums).unwrap_or_default(),
        checksum_mode: mode.and_then(|m| match m.as_str() {
            "checksum" => Some(ChecksumMode::Checksum),
            "count" => Some(ChecksumMode::Count),
            _ => None,
        }),
        verified: r.get(16)?,
        verified_at: r.get::<_, Option<String>>(17)?.map(time),
        verify_note: r.get(18)?,
        verify_diff: serde_json::from_str(&diff).unwrap_or_default(),
        error: r.get(20)?,
        cancel_requested: r.get::<_, i64>(21)? != 0,
        deleted_at: r.get::<_, Option<String>>(22)?.map(time),
    })
}

fn time(s: String) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn db_err(path: &Path, source: rusqlite::Error) -> HistoryError {
    HistoryError::Db {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_final_states() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h.sqlite")).unwrap();
        let now = Utc::now();
        let a = h
            .begin("j", "db1", BackupKind::Mariabackup, 3, now)
            .unwrap()
            .unwrap();
        let refused = h
            .begin("j", "db1", BackupKind::Mariabackup, 3, now)
            .unwrap();
        assert!(refused.unwrap_err().contains("physical backup of `db1`"));
        let b = h
            .begin("j", "db2", BackupKind::Dump, 2, now)
            .unwrap()
            .unwrap();
        let full = h.begin("j", "db3", BackupKind::Dump, 2, now).unwrap();
        assert!(full.unwrap_err().contains("max_concurrent = 2"));
        let done = Outcome {
            state: JobState::Succeeded,
            bytes: Some(10),
            ..Outcome::default()
        };
        assert!(h.finish(a, &done, now).unwrap());
        // A result is never overwritten.
        let lost = Outcome {
            state: JobState::Lost,
            ..Outcome::default()
        };
        assert!(!h.finish(a, &lost, now).unwrap());
        assert_eq!(h.get(a).unwrap().state, JobState::Succeeded);
        assert_eq!(h.list().unwrap()[0].id, b);
        assert_eq!(h.last_successful("db1").unwrap().unwrap().id, a);
        assert!(h.last_successful("db2").unwrap().is_none());
    }
}
