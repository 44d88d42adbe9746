//! Backup jobs: arkc conducts the real tools (mariadb-dump, mydumper, mariadb-backup, xtrabackup)
//! and keeps their history.
//!
//! A backup runs under a small supervisor process (`arkc __backup-supervise ID`) in its own
//! session, so closing the console or the CLI that started it leaves it running. The supervisor
//! starts the tool in its own process group, pipes its output to a log file, writes progress to a
//! file and the result to the SQLite history. The console and the CLI only read those, which is
//! how a later arkc reattaches to a job (or finds it `lost`).

pub mod checksums;
pub mod credentials;
pub mod history;
mod kinds;
pub mod physical;
pub mod position;
pub mod progress;
pub mod retention;
pub mod runner;
pub mod schedule;
pub mod snapshot;
pub mod sql;
mod supervise;
pub mod tools;
pub mod verify;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

pub use history::{BackupRecord, ChecksumMode, History, HistoryError, Outcome};
pub use progress::{Phase, Progress};
pub use runner::{cancel, refresh_running, start, BackupSpec};
pub use supervise::supervise;

/// Where a backup job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    #[default]
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The supervisor disappeared without writing a result.
    Lost,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
            JobState::Lost,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// The binlog position (and GTID) a consistent backup corresponds to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnapshotPosition {
    pub file: Option<String>,
    pub pos: Option<u64>,
    pub gtid: Option<String>,
}

/// One table's figures at backup time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChecksum {
    pub schema: String,
    pub table: String,
    pub rows: u64,
    /// `CHECKSUM TABLE ... EXTENDED`; None when the engine gave none.
    pub checksum: Option<u64>,
}

impl TableChecksum {
    /// `schema`.`table`, quoted for SQL and for messages.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// A MySQL identifier in backticks, with backticks inside doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `<data dir>/jobs`: one folder per backup (spec, tool log, progress).
pub fn jobs_root() -> anyhow::Result<PathBuf> {
    let data = crate::config::data_dir()
        .ok_or_else(|| anyhow::anyhow!("no data directory: set ARKC_DATA_DIR or HOME"))?;
    Ok(data.join("jobs"))
}

/// The newest succeeded backup of `instance` still on disk (a verified one when there is one),
/// from the default history: what the Health pane's backup status and `backup_stale` read.
pub fn last_successful_backup(instance: &str) -> anyhow::Result<Option<BackupRecord>> {
    let history = History::open_default()?;
    Ok(history.last_successful(instance)?)
}

/// Where the Health pane's backup status finds arkc's own backups.
pub const HISTORY_SOURCE: &str = "arkc backup history";

/// For the Health pane and `backup_stale`: `None` when arkc's backup history holds nothing for
/// `instance` (or does not exist: it is never created by looking); `Some(end)` when it does, with
/// the end time of the newest successful backup not deleted by retention (`Some(None)`: none yet).
pub fn newest_success_end(instance: &str) -> Result<Option<Option<DateTime<Utc>>>, HistoryError> {
    Ok(newest_success_ends()?.get(instance).copied())
}

/// `newest_success_end` of every instance the history holds, from one read of it (the fleet's
/// pollers share it rather than each opening the file).
pub fn newest_success_ends(
) -> Result<std::collections::HashMap<String, Option<DateTime<Utc>>>, HistoryError> {
    let path = History::default_path()?;
    let mut newest = std::collections::HashMap::new();
    if !path.exists() {
        return Ok(newest);
    }
    for r in History::open(&path)?.list()? {
        let end = r
            .finished_at
            .filter(|_| r.state == JobState::Succeeded && r.deleted_at.is_none());
        let slot = newest.entry(r.instance).or_insert(None);
        *slot = (*slot).max(end);
    }
    Ok(newest)
}

/// One history row and, while it runs, its progress: what the Jobs pane lists.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub record: BackupRecord,
    pub progress: Option<Progress>,
}

/// Every backup in the history, newest first, running ones with their progress; running rows
/// whose supervisor is gone are marked `lost` first.
pub fn load_rows(history: &History) -> anyhow::Result<Vec<JobRow>> {
    refresh_running(history)?;
    Ok(history
        .list()?
        .into_iter()
        .map(|record| {
            let progress = (record.state == JobState::Running)
                .then(|| Progress::load(&record.job_dir.join(runner::PROGRESS_FILE)))
                .flatten();
            JobRow { record, progress }
        })
        .collect())
}

/// What the Jobs pane asks the backend to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobsRequest {
    /// Start the configured `[[backup]]` job of this name.
    Start(String),
    Cancel(i64),
    Verify(i64),
}
