//! Slow-SQL source: `performance_schema.events_statements_summary_by_digest`, polled as deltas.
//! Timer columns are picoseconds; figures here are converted to seconds.

use std::collections::HashMap;

use crate::backend::recorder::{SqlRecorder, STATEMENT_TIMEOUT};

/// One row of the digest summary table, cumulative since the server (or a TRUNCATE) reset it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DigestRow {
    pub schema: Option<String>,
    pub digest: String,
    pub digest_text: String,
    pub count: u64,
    pub sum_time_s: f64,
    pub max_time_s: f64,
    pub sum_lock_s: f64,
    pub rows_sent: u64,
    pub rows_examined: u64,
    pub no_index_used: u64,
    pub no_good_index_used: u64,
    /// MySQL 8's QUANTILE_95 (cumulative, seconds); MariaDB has no quantile columns.
    pub p95_s: Option<f64>,
    pub last_seen: Option<String>,
}

/// What happened to one digest between two polls.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestDelta {
    pub schema: Option<String>,
    pub digest: String,
    pub digest_text: String,
    pub count: u64,
    pub sum_time_s: f64,
    pub sum_lock_s: f64,
    pub rows_sent: u64,
    pub rows_examined: u64,
    pub no_index_used: u64,
    /// Cumulative maximum and p95 (the table keeps no per-interval maximum).
    pub max_time_s: f64,
    pub p95_s: Option<f64>,
    pub last_seen: Option<String>,
}

type Key = (Option<String>, String);

/// The executions between `prev` and `cur`. A digest whose count went down was reset (TRUNCATE or
/// restart), so its whole current row is new work; digests with no new executions are left out.
pub fn deltas(prev: &HashMap<Key, DigestRow>, cur: &[DigestRow]) -> Vec<DigestDelta> {
    let mut out = Vec::new();
    for row in cur {
        let before = prev
            .get(&(row.schema.clone(), row.digest.clone()))
            .filter(|p| p.count <= row.count);
        let count = row.count - before.map_or(0, |p| p.count);
        if count == 0 {
            continue;
        }
        let sub_u = |f: fn(&DigestRow) -> u64| f(row).saturating_sub(before.map_or(0, f));
        let sub_f = |f: fn(&DigestRow) -> f64| (f(row) - before.map_or(0.0, f)).max(0.0);
        out.push(DigestDelta {
            schema: row.schema.clone(),
            digest: row.digest.clone(),
            digest_text: row.digest_text.clone(),
            count,
            sum_time_s: sub_f(|r| r.sum_time_s),
            sum_lock_s: sub_f(|r| r.sum_lock_s),
            rows_sent: sub_u(|r| r.rows_sent),
            rows_examined: sub_u(|r| r.rows_examined),
            no_index_used: sub_u(|r| r.no_index_used + r.no_good_index_used),
            max_time_s: row.max_time_s,
            p95_s: row.p95_s,
            last_seen: row.last_seen.clone(),
        });
    }
    out
}

/// Index rows by (schema, digest) for the next call to `deltas`.
pub fn index(rows: Vec<DigestRow>) -> HashMap<Key, DigestRow> {
    rows.into_iter()
        .map(|r| ((r.schema.clone(), r.digest.clone()), r))
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum DigestSourceError {
    #[error("performance_schema is OFF on this server: set `performance_schema=ON` in its config and restart it to use the digest source")]
    Disabled,
    #[error("reading performance_schema digests: {0:#}")]
    Query(#[from] anyhow::Error),
}

const PS_PER_S: f64 = 1e12;

/// How to read the digest summary table on one connection. Whether performance_schema is on and
/// whether the table has MySQL 8's quantile column are fixed for a server's run, so they are asked
/// once per connection (`probe`), not on every poll.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestReader {
    /// The SELECT for this server; `None` when performance_schema is off.
    sql: Option<String>,
    /// This session is instrumented (the account may not turn that off): arkc's statements are
    /// in the table, and `read` leaves them out by their digest text.
    own_statements_counted: bool,
}

/// What the pane says when arkc's statements are left out by digest text.
pub const OWN_DIGESTS_NOTE: &str = "arkc's own statements are left out by digest text: this \
     account may not turn off their instrumentation (GRANT UPDATE ON performance_schema.threads)";

/// Digest texts of the statements arkc's monitoring sends, spaces, backticks and case aside:
/// statements that start with one of `OWN_PREFIXES` or read one of `OWN_TABLES`.
const OWN_PREFIXES: &[&str] = &[
    "SHOWGLOBALSTATUS",
    "SHOWGLOBALVARIABLES",
    "SHOWENGINEINNODBSTATUS",
    "SHOWBINARYLOGS",
    "SHOWALLSLAVESSTATUS",
    "SHOWSLAVESTATUS",
    "SHOWREPLICASTATUS",
    "SHOWSLAVEHOSTS",
    "SHOWREPLICAS",
    "SELECTVERSION()",
    "SELECT@@",
    "SELECTCONNECTION_ID()",
    "SETSESSIONLONG_QUERY_TIME",
    "SETSESSIONSLOW_QUERY_LOG",
    "SETSESSIONMAX_STATEMENT_TIME",
    "SETSESSIONMAX_EXECUTION_TIME",
    "SETSESSIONLOCK_WAIT_TIMEOUT",
    "UPDATEPERFORMANCE_SCHEMA.THREADSSETINSTRUMENTED",
    "KILLQUERY",
    "KILLCONNECTION",
    // The Replication view's pt-heartbeat read (the table name is the instance's own setting).
    "SELECTSERVER_ID,TS,TIMESTAMPDIFF(MICROSECOND,TS,NOW(",
];
const OWN_TABLES: &[&str] = &[
    "PERFORMANCE_SCHEMA.",
    "INFORMATION_SCHEMA.",
    "MYSQL.SLOW_LOG",
    "MYSQL.MARIADB_BACKUP_HISTORY",
    "PERCONA_SCHEMA.XTRABACKUP_HISTORY",
];

/// Whether a DIGEST_TEXT is one of arkc's own monitoring statements.
pub fn is_own_statement(digest_text: &str) -> bool {
    let flat: String = digest_text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '`')
        .collect::<String>()
        .to_ascii_uppercase();
    OWN_PREFIXES.iter().any(|p| flat.starts_with(p))
        || (flat.starts_with("SELECT") && OWN_TABLES.iter().any(|t| flat.contains(t)))
}

impl DigestReader {
    /// Ask the server what it has. Statements go through `recorder` (the `@` log).
    pub async fn probe(
        conn: &mut mysql_async::Conn,
        recorder: &SqlRecorder,
    ) -> Result<DigestReader, DigestSourceError> {
        let first_int = |rows: Vec<mysql_async::Row>| -> Option<i64> {
            rows.into_iter()
                .next()
                .and_then(|mut r| r.take_opt::<i64, _>(0))
                .and_then(Result::ok)
        };
        let enabled = first_int(
            recorder
                .query(conn, "SELECT @@performance_schema", STATEMENT_TIMEOUT)
                .await?,
        );
        if enabled != Some(1) {
            return Ok(DigestReader {
                sql: None,
                own_statements_counted: false,
            });
        }
        // `quiet_for_slow_log` tried to turn instrumentation off for this session; did it?
        let instrumented = recorder
            .query(
                conn,
                crate::backend::health::session::INSTRUMENTED_SQL,
                STATEMENT_TIMEOUT,
            )
            .await?
            .into_iter()
            .next()
            .and_then(|mut r| r.take_opt::<String, _>(0))
            .and_then(Result::ok);
        let own_statements_counted = instrumented.as_deref() == Some("YES");
        let has_quantile = first_int(
            recorder
                .query(
                    conn,
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'performance_schema' \
                     AND TABLE_NAME = 'events_statements_summary_by_digest' AND COLUMN_NAME = 'QUANTILE_95'",
                    STATEMENT_TIMEOUT,
                )
                .await?,
        );
        let p95 = if has_quantile == Some(1) {
            "QUANTILE_95"
        } else {
            "NULL"
        };
        let sql = format!(
            "SELECT SCHEMA_NAME, DIGEST, DIGEST_TEXT, COUNT_STAR, SUM_TIMER_WAIT, MAX_TIMER_WAIT, SUM_LOCK_TIME, \
             SUM_ROWS_SENT, SUM_ROWS_EXAMINED, SUM_NO_INDEX_USED, SUM_NO_GOOD_INDEX_USED, {p95}, \
             CAST(LAST_SEEN AS CHAR) FROM performance_schema.events_statements_summary_by_digest \
             WHERE DIGEST IS NOT NULL"
        );
        Ok(DigestReader {
            sql: Some(sql),
            own_statements_counted,
        })
    }

    /// Whether `read` leaves arkc's statements out by digest text (see `OWN_DIGESTS_NOTE`).
    pub fn filters_own_statements(&self) -> bool {
        self.own_statements_counted
    }

    /// Read the whole digest summary table.
    pub async fn read(
        &self,
        conn: &mut mysql_async::Conn,
        recorder: &SqlRecorder,
    ) -> Result<Vec<DigestRow>, DigestSourceError> {
        let sql = self.sql.as_deref().ok_or(DigestSourceError::Disabled)?;
        let rows = recorder.query(conn, sql, STATEMENT_TIMEOUT).await?;
        let rows = rows.into_iter().map(row_from_sql);
        Ok(match self.own_statements_counted {
            true => rows.filter(|r| !is_own_statement(&r.digest_text)).collect(),
            false => rows.collect(),
        })
    }
}

fn row_from_sql(mut r: mysql_async::Row) -> DigestRow {
    let u = |r: &mut mysql_async::Row, i: usize| {
        r.take_opt::<u64, _>(i).and_then(Result::ok).unwrap_or(0)
    };
    let s = |r: &mut mysql_async::Row, i: usize| {
        r.take_opt::<Option<String>, _>(i)
            .and_then(Result::ok)
            .flatten()
    };
    DigestRow {
        schema: s(&mut r, 0),
        digest: s(&mut r, 1).unwrap_or_default(),
        digest_text: s(&mut r, 2).unwrap_or_default(),
        count: u(&mut r, 3),
        sum_time_s: u(&mut r, 4) as f64 / PS_PER_S,
        max_time_s: u(&mut r, 5) as f64 / PS_PER_S,
        sum_lock_s: u(&mut r, 6) as f64 / PS_PER_S,
        rows_sent: u(&mut r, 7),
        rows_examined: u(&mut r, 8),
        no_index_used: u(&mut r, 9),
        no_good_index_used: u(&mut r, 10),
        p95_s: r
            .take_opt::<Option<u64>, _>(11)
            .and_then(Result::ok)
            .flatten()
            .map(|v| v as f64 / PS_PER_S),
        last_seen: s(&mut r, 12),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(digest: &str, count: u64, sum: f64, no_index: u64) -> DigestRow {
        DigestRow {
            schema: Some("shop".into()),
            digest: digest.into(),
            digest_text: format!("SELECT {digest}"),
            count,
            sum_time_s: sum,
            max_time_s: 0.5,
            no_index_used: no_index,
            rows_examined: count * 10,
            ..Default::default()
        }
    }

    #[test]
    fn own_statements_are_known_by_digest_text() {
        // DIGEST_TEXT as MariaDB 10.11 prints it.
        for own in [
            "SHOW GLOBAL STATUS",
            "SELECT VERSION ( )",
            "SELECT @@`performance_schema`",
            "SELECT `p` . `ID` AS `id` FROM `information_schema` . `PROCESSLIST` `p`",
            "SELECT `INSTRUMENTED` FROM `performance_schema` . `threads` WHERE `PROCESSLIST_ID` = `CONNECTION_ID` ( )",
            "SET SESSION `max_statement_time` = ? , `lock_wait_timeout` = ?",
            "SELECT `server_id` , `ts` , TIMESTAMPDIFF ( MICROSECOND , `ts` , NOW ( ? ) ) / ? AS `lag_s` FROM `percona` . `heartbeat` ORDER BY `ts` DESC LIMIT ?",
            "SHOW SLAVE HOSTS",
        ] {
            assert!(is_own_statement(own), "{own}");
        }
        for client in [
            "SELECT * FROM `shop` . `orders` WHERE `id` = ?",
            "UPDATE `t` SET `v` = ? WHERE `id` = ?",
            "SHOW TABLES",
            "SET NAMES `utf8mb4`",
        ] {
            assert!(!is_own_statement(client), "{client}");
        }
    }

    #[test]
    fn delta_subtracts_previous_poll() {
        let prev = index(vec![row("a", 10, 1.0, 2), row("b", 5, 0.5, 0)]);
        let cur = vec![
            row("a", 15, 1.75, 3),
            row("b", 5, 0.5, 0),
            row("c", 1, 0.25, 1),
        ];
        let d = deltas(&prev, &cur);
        assert_eq!(d.len(), 2, "b had no new executions: {d:?}");
        assert_eq!(
            (
                d[0].digest.as_str(),
                d[0].count,
                d[0].no_index_used,
                d[0].rows_examined
            ),
            ("a", 5, 1, 50)
        );
        assert!((d[0].sum_time_s - 0.75).abs() < 1e-9);
        assert_eq!((d[1].digest.as_str(), d[1].count), ("c", 1));
    }

    #[test]
    fn reset_counter_counts_current_row_whole() {
        let prev = index(vec![row("a", 100, 10.0, 0)]);
        let d = deltas(&prev, &[row("a", 3, 0.3, 0)]);
        assert_eq!(d[0].count, 3);
        assert!((d[0].sum_time_s - 0.3).abs() < 1e-9);
    }

    #[test]
    fn same_digest_in_two_schemas_is_two_classes() {
        let mut other = row("a", 4, 0.4, 0);
        other.schema = Some("crm".into());
        let prev = index(vec![row("a", 1, 0.1, 0)]);
        let d = deltas(&prev, &[row("a", 2, 0.2, 0), other]);
        assert_eq!(d.iter().map(|x| x.count).collect::<Vec<_>>(), vec![1, 4]);
    }
}
