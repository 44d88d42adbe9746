//! Reading the processlist joined with INNODB_TRX, on a guarded monitoring connection.

use mysql_async::Conn;

use super::session::{guard_session, limited_select, SessionGuards};
use crate::backend::connect::{connect, quiet_for_slow_log};
use crate::backend::recorder::{named_rows, SqlRecorder, STATEMENT_TIMEOUT};
use crate::config::InstanceConfig;
use crate::health::processlist::ProcessRow;

/// A connection opened for one view or command: quiet for the slow log, guarded, uninstrumented.
pub struct MonitorConn {
    pub conn: Conn,
    pub recorder: SqlRecorder,
    pub guards: SessionGuards,
}

impl MonitorConn {
    pub async fn open(
        instance: &InstanceConfig,
        recorder: SqlRecorder,
    ) -> anyhow::Result<MonitorConn> {
        let mut conn = connect(instance).await?;
        quiet_for_slow_log(&mut conn).await;
        let guards = guard_session(&mut conn, &recorder).await?;
        Ok(MonitorConn {
            conn,
            recorder,
            guards,
        })
    }

    /// Run a monitoring SELECT (with the MySQL time-limit hint) and return named rows.
    pub async fn select(
        &mut self,
        sql: &str,
    ) -> anyhow::Result<Vec<std::collections::HashMap<String, String>>> {
        let sql = limited_select(&self.guards.flavor, sql);
        let rows = self
            .recorder
            .query(&mut self.conn, &sql, STATEMENT_TIMEOUT)
            .await?;
        Ok(named_rows(&rows))
    }

    pub async fn close(self) {
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(1), self.conn.disconnect()).await;
    }
}

const PROCESSLIST_SQL: &str = "SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.DB AS db, \
     p.COMMAND AS command, p.TIME AS time_s, p.STATE AS state, p.INFO AS info, \
     TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS trx_age_s, t.trx_rows_locked AS rows_locked \
     FROM information_schema.PROCESSLIST p \
     LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID \
     WHERE p.ID <> CONNECTION_ID()";

/// Every session but this one. Without PROCESS the server shows only the account's own sessions:
/// the note says so.
pub async fn read_processlist(
    mc: &mut MonitorConn,
) -> anyhow::Result<(Vec<ProcessRow>, Option<String>)> {
    let rows = match mc.select(PROCESSLIST_SQL).await {
        Ok(rows) => rows,
        Err(e) if is_access_error(&e) => {
            // INNODB_TRX needs PROCESS: fall back to the processlist alone.
            let plain =
                "SELECT ID AS id, USER AS user, HOST AS host, DB AS db, COMMAND AS command, \
                         TIME AS time_s, STATE AS state, INFO AS info \
                         FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()";
            let rows = mc.select(plain).await?;
            let note = "transaction age and rows locked need the PROCESS privilege \
                        (GRANT PROCESS ON *.* TO the monitoring user); only this account's sessions are shown"
                .to_string();
            return Ok((rows.iter().filter_map(process_row).collect(), Some(note)));
        }
        Err(e) => return Err(e),
    };
    Ok((rows.iter().filter_map(process_row).collect(), None))
}

fn process_row(r: &std::collections::HashMap<String, String>) -> Option<ProcessRow> {
    let num = |k: &str| {
        r.get(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(|n| n.max(0) as u64)
    };
    Some(ProcessRow {
        id: num("id")?,
        user: r.get("user").cloned().unwrap_or_default(),
        host: r.get("host").cloned().unwrap_or_default(),
        db: r.get("db").cloned(),
        command: r.get("command").cloned().unwrap_or_default(),
        time_s: num("time_s").unwrap_or(0),
        state: r.get("state").cloned().filter(|s| !s.is_empty()),
        info: r.get("info").cloned(),
        trx_age_s: num("trx_age_s"),
        rows_locked: num("rows_locked"),
    })
}

/// Access denied / missing privilege / unknown table: the view says what is missing.
pub fn is_access_error(e: &anyhow::Error) -> bool {
    matches!(
        server_code(e),
        Some(1044 | 1045 | 1142 | 1143 | 1227 | 1109 | 1146)
    )
}

pub fn server_code(e: &anyhow::Error) -> Option<u16> {
    match e.downcast_ref::<mysql_async::Error>()? {
        mysql_async::Error::Server(se) => Some(se.code),
        _ => None,
    }
}
