//! Logs go to a file in the XDG state dir: the screen belongs to the console. The file is
//! bounded (see `log_file`), and the routine monitoring statements stay out of it unless
//! `[log] poll_statements` asks for them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use super::log_file::RotatingFile;
use crate::config::fleet::LogSettings;

/// `[log] poll_statements`, read by the console for every statement it records.
static POLL_STATEMENTS: AtomicBool = AtomicBool::new(false);

/// Start logging with the default `[log]` settings. See [`init_with`].
pub fn init() -> anyhow::Result<PathBuf> {
    init_with(&LogSettings::default())
}

/// Start logging to `<state dir>/arkc.log` (level from `ARKC_LOG`, default info), rotated at
/// `max_file_mib`. Returns the file's path. Calling it twice keeps the first subscriber.
pub fn init_with(settings: &LogSettings) -> anyhow::Result<PathBuf> {
    POLL_STATEMENTS.store(settings.poll_statements, Ordering::Relaxed);
    let dir = crate::config::state_dir().context("no home directory: cannot place the log file")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let path = dir.join("arkc.log");
    let file = RotatingFile::open(&path, settings.max_file_bytes(), settings.keep_files)
        .with_context(|| format!("{}: cannot open for writing", path.display()))?;
    let filter = EnvFilter::try_from_env("ARKC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(path)
}

/// Whether a statement the console sent goes to the file: always when it may change a server
/// (or failed), routine reads only when `[log] poll_statements` is on.
pub fn file_logs_statement(sql: &str, failed: bool) -> bool {
    failed || POLL_STATEMENTS.load(Ordering::Relaxed) || !is_routine_read(sql)
}

/// The statements every poll and view sends: reads, and settings of arkc's own session. Anything
/// else (KILL, DML, DDL, SET GLOBAL ...) may change the server.
pub fn is_routine_read(sql: &str) -> bool {
    let mut words = sql.split_whitespace().map(|w| w.to_ascii_uppercase());
    let read = match words.next().as_deref() {
        Some("SELECT" | "SHOW" | "EXPLAIN" | "DESCRIBE") => true,
        Some("SET") => words.next().as_deref() == Some("SESSION"),
        _ => false,
    };
    read || sql == crate::backend::health::session::UNINSTRUMENT_SQL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routine_reads_and_writes_are_told_apart() {
        for sql in [
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime')",
            "select 1",
            "SELECT\n  a FROM t",
            "  SELECT VERSION()",
            "SET SESSION max_statement_time = 2, lock_wait_timeout = 2",
            "EXPLAIN SELECT * FROM t",
            crate::backend::health::session::UNINSTRUMENT_SQL,
        ] {
            assert!(is_routine_read(sql), "{sql}");
        }
        for sql in [
            "KILL 42",
            "SET GLOBAL read_only = 1",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "ALTER TABLE t ADD COLUMN b INT",
            "SELECTED",
            "FLUSH BINARY LOGS",
        ] {
            assert!(!is_routine_read(sql), "{sql}");
            assert!(file_logs_statement(sql, false), "{sql}");
        }
        assert!(
            file_logs_statement("SELECT 1", true),
            "a failed read is logged"
        );
    }
}
