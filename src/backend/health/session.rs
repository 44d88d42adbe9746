//! Monitoring sessions: every statement limited in time and in lock waits, so a metadata lock on
//! the server can never hang a poll, and kept out of the performance_schema digests arkc shows.

use mysql_async::Conn;

use crate::backend::recorder::{cell_text, SqlRecorder, STATEMENT_TIMEOUT};

/// Seconds any monitoring statement may run on the server (below the client-side deadline, so
/// the server gives up first and the connection stays usable).
pub const SERVER_STATEMENT_LIMIT_S: u32 = 2;
/// Seconds a monitoring statement may wait for a metadata or row lock.
pub const LOCK_WAIT_LIMIT_S: u32 = 2;

/// Which server family, for the statements that differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFlavor {
    pub mariadb: bool,
    pub version: (u32, u32, u32),
    pub version_text: String,
}

impl ServerFlavor {
    pub fn from_version(text: &str) -> ServerFlavor {
        let mut numbers = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (a, b, c) = (
            numbers.next().unwrap_or(0),
            numbers.next().unwrap_or(0),
            numbers.next().unwrap_or(0),
        );
        ServerFlavor {
            mariadb: text.to_ascii_lowercase().contains("mariadb"),
            version: (a, b, c),
            version_text: text.to_string(),
        }
    }

    /// MySQL 8.0+ has performance_schema.data_lock_waits instead of INNODB_LOCK_WAITS.
    pub fn has_data_lock_waits(&self) -> bool {
        !self.mariadb && self.version >= (8, 0, 0)
    }
}

/// What the guards achieved on this session (shown by the views that depend on them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGuards {
    pub flavor: ServerFlavor,
    /// The server enforces `SERVER_STATEMENT_LIMIT_S` (MariaDB: every statement; MySQL: SELECTs).
    pub statement_limit: bool,
    /// This session's statements are left out of performance_schema (instrumentation off).
    pub uninstrumented: bool,
    /// Why a guard could not be set, for the views.
    pub notes: Vec<String>,
}

/// Set the limits and the instrumentation opt-out on a fresh monitoring connection. Each guard may
/// fail on its own (old server, missing privilege); the connection is still used.
pub async fn guard_session(
    conn: &mut Conn,
    recorder: &SqlRecorder,
) -> anyhow::Result<SessionGuards> {
    let rows = recorder
        .query(conn, "SELECT VERSION()", STATEMENT_TIMEOUT)
        .await?;
    let version = rows
        .first()
        .and_then(|r| r.as_ref(0))
        .and_then(cell_text)
        .unwrap_or_default();
    let flavor = ServerFlavor::from_version(&version);
    let mut notes = Vec::new();
    let limit_sql = if flavor.mariadb {
        format!(
            "SET SESSION max_statement_time = {SERVER_STATEMENT_LIMIT_S}, lock_wait_timeout = {LOCK_WAIT_LIMIT_S}"
        )
    } else {
        format!(
            "SET SESSION max_execution_time = {}, lock_wait_timeout = {LOCK_WAIT_LIMIT_S}",
            SERVER_STATEMENT_LIMIT_S * 1000
        )
    };
    let statement_limit = match recorder.execute(conn, &limit_sql, STATEMENT_TIMEOUT).await {
        Ok(()) => true,
        Err(e) => {
            notes.push(format!("no server-side statement limit: {e}"));
            // Still try the lock wait limit alone (it exists everywhere since 5.5).
            let _ = recorder
                .execute(
                    conn,
                    &format!("SET SESSION lock_wait_timeout = {LOCK_WAIT_LIMIT_S}"),
                    STATEMENT_TIMEOUT,
                )
                .await;
            false
        }
    };
    // `quiet_for_slow_log` already tried to turn instrumentation off; ask whether it worked.
    let instrumented = recorder
        .query(conn, INSTRUMENTED_SQL, STATEMENT_TIMEOUT)
        .await
        .ok()
        .and_then(|rows| rows.first().and_then(|r| r.as_ref(0)).and_then(cell_text));
    let uninstrumented = match instrumented.as_deref() {
        Some("YES") => {
            notes.push(
                "arkc's statements are counted in performance_schema: the monitoring user may not \
                 turn off instrumentation for its session (GRANT UPDATE ON performance_schema.threads)"
                    .to_string(),
            );
            false
        }
        // "NO", or no row at all: performance_schema is off, nothing is counted.
        _ => true,
    };
    Ok(SessionGuards {
        flavor,
        statement_limit,
        uninstrumented,
        notes,
    })
}

/// Whether this connection's thread is instrumented.
pub const INSTRUMENTED_SQL: &str =
    "SELECT INSTRUMENTED FROM performance_schema.threads WHERE PROCESSLIST_ID = CONNECTION_ID()";

/// Turns off performance_schema instrumentation for this connection's own thread.
pub const UNINSTRUMENT_SQL: &str =
    "UPDATE performance_schema.threads SET INSTRUMENTED = 'NO' WHERE PROCESSLIST_ID = CONNECTION_ID()";

/// MySQL applies `max_execution_time` to SELECT only and ignores it inside some information_schema
/// reads; the optimizer hint makes the limit explicit on each monitoring SELECT there.
pub fn limited_select(flavor: &ServerFlavor, select: &str) -> String {
    if flavor.mariadb {
        return select.to_string();
    }
    match select.strip_prefix("SELECT ") {
        Some(rest) => format!(
            "SELECT /*+ MAX_EXECUTION_TIME({}) */ {rest}",
            SERVER_STATEMENT_LIMIT_S * 1000
        ),
        None => select.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors_from_version_strings() {
        let m = ServerFlavor::from_version("10.11.19-MariaDB-0+deb12u1");
        assert!(m.mariadb);
        assert_eq!(m.version, (10, 11, 19));
        let o = ServerFlavor::from_version("8.0.36");
        assert!(!o.mariadb && o.has_data_lock_waits());
        assert!(!ServerFlavor::from_version("5.7.44-log").has_data_lock_waits());
    }

    #[test]
    fn mysql_selects_get_the_hint() {
        let o = ServerFlavor::from_version("8.4.0");
        assert_eq!(
            limited_select(&o, "SELECT 1"),
            "SELECT /*+ MAX_EXECUTION_TIME(2000) */ 1"
        );
        let m = ServerFlavor::from_version("10.11.6-MariaDB");
        assert_eq!(limited_select(&m, "SELECT 1"), "SELECT 1");
    }
}
