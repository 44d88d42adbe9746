//! The `mysql.slow_log` table as a source, for servers with `log_output=TABLE`: new rows since
//! the last poll are written out as slow-log entries and fed to the same parser and digest as
//! the file, so fingerprints and IDs are the ones the file would give.

use std::fmt::Write as _;

use mysql_async::{Conn, Row};

use crate::backend::recorder::{cell_text, SqlRecorder, STATEMENT_TIMEOUT};

/// Most rows fetched per poll; the rest come on the next polls.
const MAX_ROWS_PER_POLL: usize = 5000;

const SETTINGS_SQL: &str = "SELECT @@global.log_output, @@global.slow_query_log";

/// Rows are inserted when a statement ends but carry the time it started, so a long one can
/// land behind rows already read: every poll looks this far back and skips rows it has seen.
const LOOK_BACK: &str = "INTERVAL 10 SECOND";

/// Where reading the table stands.
#[derive(Debug, Default)]
pub struct TableTail {
    /// `start_time` of the newest row read, as the server prints it.
    cursor: Option<String>,
    /// (start_time, thread_id, query_time) of the rows read within the look-back window.
    seen: std::collections::HashSet<(String, String, String)>,
}

/// What one poll found.
#[derive(Debug, PartialEq)]
pub enum TablePoll {
    /// The server does not log slow queries to a table; says why and how to change that.
    Off(String),
    /// New rows rendered as slow-log text (possibly empty).
    Entries { text: Vec<u8>, rows: usize },
}

impl TableTail {
    pub async fn poll(
        &mut self,
        conn: &mut Conn,
        recorder: &SqlRecorder,
    ) -> anyhow::Result<TablePoll> {
        let settings = recorder
            .query(conn, SETTINGS_SQL, STATEMENT_TIMEOUT)
            .await?;
        let cell = |i: usize| {
            settings
                .first()
                .and_then(|r| r.as_ref(i))
                .and_then(cell_text)
                .unwrap_or_default()
        };
        let (output, enabled) = (cell(0), cell(1));
        if !output.to_ascii_uppercase().contains("TABLE") {
            return Ok(TablePoll::Off(format!(
                "log_output={output}: no `slow_log` path is configured for this instance and the server does not log to mysql.slow_log; add `slow_log = \"PATH\"` to its [[instance]] or SET GLOBAL log_output='FILE,TABLE'"
            )));
        }
        if enabled != "1" && !enabled.eq_ignore_ascii_case("ON") {
            return Ok(TablePoll::Off(
                "slow_query_log is OFF: SET GLOBAL slow_query_log=ON to log slow queries".into(),
            ));
        }
        let rows = recorder
            .query(conn, &self.rows_sql(), STATEMENT_TIMEOUT)
            .await?;
        let mut text = Vec::new();
        let mut fresh = Vec::new();
        let mut window_start = None;
        for row in &rows {
            let cell = |i: usize| row.as_ref(i).and_then(cell_text).unwrap_or_default();
            window_start = Some(cell(10));
            let id = (cell(0), cell(9), cell(3));
            if self.seen.contains(&id) {
                continue;
            }
            text.extend_from_slice(entry_text(row).as_bytes());
            if self.cursor.as_deref().is_none_or(|c| id.0.as_str() > c) {
                self.cursor = Some(id.0.clone());
            }
            fresh.push(id);
        }
        // Forget rows that have left the look-back window.
        if let Some(oldest) = window_start {
            self.seen.retain(|(start, _, _)| *start >= oldest);
        }
        let new_rows = fresh.len();
        self.seen.extend(fresh);
        Ok(TablePoll::Entries {
            text,
            rows: new_rows,
        })
    }

    fn rows_sql(&self) -> String {
        // The cursor came from the server; keep it only if it looks like a DATETIME.
        let cursor = self.cursor.as_deref().filter(|c| {
            c.chars()
                .all(|ch| ch.is_ascii_digit() || matches!(ch, '-' | ':' | ' ' | '.'))
        });
        let (filter, window) = match cursor {
            Some(c) => (
                format!("WHERE start_time >= TIMESTAMP'{c}' - {LOOK_BACK} "),
                format!("CAST(TIMESTAMP'{c}' - {LOOK_BACK} AS CHAR)"),
            ),
            None => (String::new(), "''".to_string()),
        };
        format!(
            "SELECT CAST(start_time AS CHAR), UNIX_TIMESTAMP(start_time), user_host, \
             TIME_TO_SEC(query_time), TIME_TO_SEC(lock_time), rows_sent, rows_examined, db, \
             CONVERT(sql_text USING utf8mb4), thread_id, {window} FROM mysql.slow_log {filter}\
             ORDER BY start_time LIMIT {MAX_ROWS_PER_POLL}"
        )
    }
}

/// One table row as the slow log file would have it.
fn entry_text(row: &Row) -> String {
    let cell = |i: usize| row.as_ref(i).and_then(cell_text).unwrap_or_default();
    let unix = cell(1);
    let unix = unix.split('.').next().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "# User@Host: {}", cell(2));
    let _ = writeln!(
        out,
        "# Query_time: {}  Lock_time: {}  Rows_sent: {}  Rows_examined: {}",
        cell(3),
        cell(4),
        cell(5),
        cell(6)
    );
    let db = cell(7);
    if !db.is_empty() {
        let _ = writeln!(out, "use {db};");
    }
    if !unix.is_empty() {
        let _ = writeln!(out, "SET timestamp={unix};");
    }
    let sql = cell(8);
    let sql = sql.trim_end().trim_end_matches(';');
    let _ = writeln!(out, "{sql};");
    out
}
