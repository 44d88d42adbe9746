//! The monitoring figures read alongside each health poll: cheap ones every poll, expensive ones
//! (INNODB STATUS, binlog sizes, backup history) at a slower cadence, each allowed to fail alone.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::Conn;

use super::session::{limited_select, ServerFlavor};
use crate::backend::recorder::{cell_text, SqlRecorder, STATEMENT_TIMEOUT};
use crate::health::backup::BackupLookup;
use crate::health::innodb::parse_log_section;
use crate::health::{DiskFigures, LogSection, StatusSnapshot};

/// How often the slower reads run.
pub const SLOW_CADENCE: Duration = Duration::from_secs(30);

/// Remembers the slower reads between polls.
#[derive(Debug, Default)]
pub struct DetailReader {
    last_slow: Option<Instant>,
    innodb_log: Option<LogSection>,
    binlog_bytes: Option<u64>,
    backup: Option<BackupLookup>,
}

impl DetailReader {
    /// Fill the monitoring parts of `snap` (status and variables already read). `local`: the
    /// instance runs on this host, so its datadir's filesystem can be measured.
    pub async fn read(
        &mut self,
        conn: &mut Conn,
        recorder: &SqlRecorder,
        flavor: &ServerFlavor,
        instance: &str,
        local: bool,
        snap: &mut StatusSnapshot,
    ) {
        snap.innodb_metrics = innodb_metrics(conn, recorder, flavor, snap).await;
        // INNODB_TRX only when someone waits (the counter is there on MariaDB and MySQL).
        let nobody_waits = snap
            .status
            .get("Innodb_row_lock_current_waits")
            .is_some_and(|v| v.trim() == "0");
        snap.longest_lock_wait = if nobody_waits {
            None
        } else {
            longest_lock_wait(conn, recorder, flavor).await
        };
        let slow_due = self.last_slow.is_none_or(|t| t.elapsed() >= SLOW_CADENCE);
        if slow_due {
            self.last_slow = Some(Instant::now());
            if needs_innodb_status(snap) {
                self.innodb_log = read_innodb_status(conn, recorder)
                    .await
                    .as_deref()
                    .and_then(parse_log_section);
            }
            self.binlog_bytes = binlog_bytes(conn, recorder, snap).await;
            let mut lookup = backup_lookup(conn, recorder, flavor).await;
            add_shared_job_history(&mut lookup, instance).await;
            self.backup = Some(lookup);
        }
        snap.innodb_log = self.innodb_log;
        snap.backup = self.backup.clone();
        snap.disk = DiskFigures {
            datadir_free_pct: local
                .then(|| snap.variables.get("datadir"))
                .flatten()
                .and_then(|d| free_pct(Path::new(d))),
            binlog_bytes: self.binlog_bytes,
        };
    }
}

/// History length and deadlocks where the status variables lack them (MySQL).
async fn innodb_metrics(
    conn: &mut Conn,
    recorder: &SqlRecorder,
    flavor: &ServerFlavor,
    snap: &StatusSnapshot,
) -> HashMap<String, u64> {
    let has = |k: &str| snap.status.contains_key(k);
    if has("Innodb_history_list_length") && has("Innodb_deadlocks") {
        return HashMap::new();
    }
    let sql = limited_select(
        flavor,
        "SELECT NAME, COUNT FROM information_schema.INNODB_METRICS \
         WHERE NAME IN ('trx_rseg_history_len', 'lock_deadlocks')",
    );
    match recorder.query(conn, &sql, STATEMENT_TIMEOUT).await {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| {
                let name = cell_text(r.as_ref(0)?)?;
                let count = cell_text(r.as_ref(1)?)?.parse().ok()?;
                Some((name, count))
            })
            .collect(),
        Err(_) => HashMap::new(),
    }
}

/// The connection waiting longest for a row lock and for how long; `None` when nobody waits or
/// INNODB_TRX is not readable (no PROCESS privilege).
async fn longest_lock_wait(
    conn: &mut Conn,
    recorder: &SqlRecorder,
    flavor: &ServerFlavor,
) -> Option<(u64, u64)> {
    let sql = limited_select(
        flavor,
        "SELECT trx_mysql_thread_id, TIMESTAMPDIFF(SECOND, trx_wait_started, NOW()) \
         FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' \
         ORDER BY trx_wait_started LIMIT 1",
    );
    let rows = recorder.query(conn, &sql, STATEMENT_TIMEOUT).await.ok()?;
    let row = rows.first()?;
    let id = cell_text(row.as_ref(0)?)?.parse().ok()?;
    let secs = cell_text(row.as_ref(1)?)?.parse::<i64>().ok()?;
    Some((id, secs.max(0) as u64))
}

fn needs_innodb_status(snap: &StatusSnapshot) -> bool {
    !snap.status.contains_key("Innodb_checkpoint_age")
        && !snap.status.contains_key("Innodb_redo_log_current_lsn")
}

/// The text of `SHOW ENGINE INNODB STATUS` (needs PROCESS).
pub async fn read_innodb_status(conn: &mut Conn, recorder: &SqlRecorder) -> Option<String> {
    let rows = recorder
        .query(conn, "SHOW ENGINE INNODB STATUS", STATEMENT_TIMEOUT)
        .await
        .ok()?;
    rows.first().and_then(|r| r.as_ref(2)).and_then(cell_text)
}

async fn binlog_bytes(
    conn: &mut Conn,
    recorder: &SqlRecorder,
    snap: &StatusSnapshot,
) -> Option<u64> {
    let log_bin = snap.variables.get("log_bin")?;
    if !matches!(log_bin.to_ascii_uppercase().as_str(), "ON" | "1") {
        return None;
    }
    let rows = recorder
        .query(conn, "SHOW BINARY LOGS", STATEMENT_TIMEOUT)
        .await
        .ok()?;
    rows.iter()
        .map(|r| r.as_ref(1).and_then(cell_text)?.parse::<u64>().ok())
        .sum()
}

/// Where backup history tables live, by tool.
pub const BACKUP_HISTORY_TABLES: [(&str, &str); 2] = [
    ("mysql", "mariadb_backup_history"),
    ("PERCONA_SCHEMA", "xtrabackup_history"),
];

/// arkc's own backup history joins the lookup where it has backups of this instance; SQLite is
/// read on a blocking thread, never on the poller's.
pub(crate) async fn add_job_history(lookup: &mut BackupLookup, instance: &str) {
    let name = instance.to_string();
    match tokio::task::spawn_blocking(move || crate::jobs::newest_success_end(&name)).await {
        Ok(Ok(Some(newest))) => {
            lookup.add_source(crate::jobs::HISTORY_SOURCE, newest, chrono::Utc::now())
        }
        Ok(Ok(None)) => lookup.add_absent(crate::jobs::HISTORY_SOURCE),
        Ok(Err(e)) => {
            tracing::warn!(instance, error = %e, "backup history could not be read");
            lookup.add_absent(crate::jobs::HISTORY_SOURCE);
        }
        Err(e) => tracing::warn!(instance, error = %e, "backup history read did not finish"),
    }
}

/// How long one read of arkc's backup history serves every poller (at 1,000 instances on a
/// 30 s cadence, 33 reads of the file a second became one every few seconds).
const SHARED_HISTORY_FRESH: Duration = Duration::from_secs(5);

type NewestEnds = HashMap<String, Option<chrono::DateTime<chrono::Utc>>>;

/// One read of the history for all instances: what it said, or why it failed.
type HistoryRead = Arc<Result<NewestEnds, String>>;

/// The last read, and when.
static SHARED_HISTORY: tokio::sync::Mutex<Option<(Instant, HistoryRead)>> =
    tokio::sync::Mutex::const_new(None);

/// As `add_job_history`, from a read of the history shared by every poller (at most
/// `SHARED_HISTORY_FRESH` old); pollers arriving while it is read wait for that read.
async fn add_shared_job_history(lookup: &mut BackupLookup, instance: &str) {
    let ends = {
        let mut shared = SHARED_HISTORY.lock().await;
        match shared.as_ref() {
            Some((at, ends)) if at.elapsed() < SHARED_HISTORY_FRESH => ends.clone(),
            _ => {
                let read = tokio::task::spawn_blocking(crate::jobs::newest_success_ends)
                    .await
                    .map_err(|e| format!("the read did not finish: {e}"))
                    .and_then(|r| r.map_err(|e| e.to_string()));
                let ends = Arc::new(read);
                *shared = Some((Instant::now(), ends.clone()));
                ends
            }
        }
    };
    match ends.as_ref() {
        Ok(ends) => match ends.get(instance) {
            Some(newest) => {
                lookup.add_source(crate::jobs::HISTORY_SOURCE, *newest, chrono::Utc::now())
            }
            None => lookup.add_absent(crate::jobs::HISTORY_SOURCE),
        },
        Err(e) => {
            tracing::warn!(instance, error = %e, "backup history could not be read");
            lookup.add_absent(crate::jobs::HISTORY_SOURCE);
        }
    }
}

/// The newest successful backup recorded by mariadb-backup/xtrabackup `--history` (they write a
/// row only for a backup that completed, with its `end_time`).
pub async fn backup_lookup(
    conn: &mut Conn,
    recorder: &SqlRecorder,
    flavor: &ServerFlavor,
) -> BackupLookup {
    let mut lookup = BackupLookup::default();
    let now = chrono::Utc::now();
    for (schema, table) in BACKUP_HISTORY_TABLES {
        let place = format!("{schema}.{table}");
        let exists_sql = limited_select(
            flavor,
            &format!(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = '{schema}' AND TABLE_NAME = '{table}'"
            ),
        );
        let exists = recorder
            .query(conn, &exists_sql, STATEMENT_TIMEOUT)
            .await
            .ok()
            .and_then(|rows| rows.first().and_then(|r| r.as_ref(0)).and_then(cell_text))
            .is_some_and(|n| n != "0");
        if !exists {
            lookup.add_absent(&place);
            continue;
        }
        let sql = limited_select(
            flavor,
            &format!("SELECT UNIX_TIMESTAMP(MAX(end_time)) FROM {schema}.{table}"),
        );
        let newest = recorder
            .query(conn, &sql, STATEMENT_TIMEOUT)
            .await
            .ok()
            .and_then(|rows| rows.first().and_then(|r| r.as_ref(0)).and_then(cell_text))
            .and_then(|t| t.split('.').next()?.parse::<i64>().ok())
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0));
        lookup.add_source(&place, newest, now);
    }
    lookup
}

/// Free space of the filesystem holding `path`, in percent of its size: blocks available to
/// unprivileged users over all blocks (node_exporter's avail / size, which the usual disk alerts use).
pub fn free_pct(path: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a zeroed struct of the right type.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 || stat.f_blocks == 0 {
        return None;
    }
    Some(100.0 * stat.f_bavail as f64 / stat.f_blocks as f64)
}

/// An instance this process can measure the datadir of: a socket, or a loopback address.
pub fn is_local(instance: &crate::config::InstanceConfig) -> bool {
    instance.socket.is_some()
        || matches!(
            instance.host.as_deref().unwrap_or("127.0.0.1"),
            "127.0.0.1" | "localhost" | "::1"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_of_a_real_filesystem() {
        let pct = free_pct(Path::new("/")).unwrap();
        assert!((0.0..=100.0).contains(&pct));
        assert_eq!(free_pct(Path::new("/no/such/dir")), None);
    }
}
