//! Reading lock waits (row and metadata) and the latest deadlock, on a guarded connection. Each
//! part may fail alone; the report then carries a note naming the privilege or setting missing.

use std::collections::HashMap;

use serde::Serialize;

use super::collect::read_innodb_status;
use super::processlist::{is_access_error, server_code, MonitorConn};
use crate::health::deadlock::{parse_latest_deadlock, Deadlock};
use crate::health::locks::{
    build_lock_chains, metadata_waits, LockWait, MetadataHolder, MetadataWait, MetadataWaiter,
    RootBlocker, TrxInfo, WaitEdge,
};

/// What `arkc locks --format json` prints and the Locks view shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LocksReport {
    pub waits: Vec<LockWait>,
    /// The heads of the chains, most blocking first.
    pub root_blockers: Vec<RootBlocker>,
    pub metadata_waits: Vec<MetadataWait>,
    pub deadlock: Option<Deadlock>,
    /// What could not be read and how to fix it.
    pub notes: Vec<String>,
}

const TRX_SQL: &str = "SELECT trx_id, trx_mysql_thread_id, trx_query, \
     TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age_s, \
     TIMESTAMPDIFF(SECOND, trx_wait_started, NOW()) AS wait_s \
     FROM information_schema.INNODB_TRX";

/// MariaDB and MySQL 5.7.
const LOCK_WAITS_SQL: &str =
    "SELECT w.requesting_trx_id AS waiting, w.blocking_trx_id AS blocking, \
     l.lock_table AS lock_table, l.lock_mode AS lock_mode \
     FROM information_schema.INNODB_LOCK_WAITS w \
     LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id";

/// MySQL 8.0+.
const DATA_LOCK_WAITS_SQL: &str = "SELECT w.REQUESTING_ENGINE_TRANSACTION_ID AS waiting, \
     w.BLOCKING_ENGINE_TRANSACTION_ID AS blocking, \
     CONCAT('`', l.OBJECT_SCHEMA, '`.`', l.OBJECT_NAME, '`') AS lock_table, l.LOCK_MODE AS lock_mode \
     FROM performance_schema.data_lock_waits w \
     LEFT JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID";

const MDL_WAITERS_SQL: &str =
    "SELECT ID AS id, STATE AS state, INFO AS info, TIME AS time_s, DB AS db \
     FROM information_schema.PROCESSLIST \
     WHERE STATE LIKE 'Waiting for%metadata lock%' AND ID <> CONNECTION_ID()";

const MARIADB_MDL_HOLDERS_SQL: &str = "SELECT m.THREAD_ID AS id, m.LOCK_MODE AS lock_mode, \
     m.TABLE_SCHEMA AS table_schema, m.TABLE_NAME AS table_name, p.INFO AS info \
     FROM information_schema.METADATA_LOCK_INFO m \
     LEFT JOIN information_schema.PROCESSLIST p ON p.ID = m.THREAD_ID \
     WHERE m.TABLE_NAME <> ''";

const MYSQL_MDL_HOLDERS_SQL: &str = "SELECT t.PROCESSLIST_ID AS id, m.LOCK_TYPE AS lock_mode, \
     m.OBJECT_SCHEMA AS table_schema, m.OBJECT_NAME AS table_name, t.PROCESSLIST_INFO AS info \
     FROM performance_schema.metadata_locks m \
     JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID \
     WHERE m.LOCK_STATUS = 'GRANTED' AND m.OBJECT_TYPE = 'TABLE' AND t.PROCESSLIST_ID IS NOT NULL";

/// How to make MariaDB's metadata lock holders visible.
pub const MARIADB_MDL_PLUGIN_HINT: &str =
    "metadata lock holders need MariaDB's metadata_lock_info \
     plugin: INSTALL SONAME 'metadata_lock_info' (or plugin_load_add = metadata_lock_info in the \
     server config); waiters are listed without their blockers";

pub async fn read_locks(mc: &mut MonitorConn) -> LocksReport {
    let mut report = LocksReport::default();
    match read_row_waits(mc).await {
        Ok((trx, edges)) => {
            let chains = build_lock_chains(&trx, &edges);
            report.waits = chains.waits;
            report.root_blockers = chains.roots;
        }
        Err(e) => report.notes.push(explain("row lock waits", &e)),
    }
    match read_metadata_waits(mc, &mut report.notes).await {
        Ok(w) => report.metadata_waits = w,
        Err(e) => report.notes.push(explain("metadata lock waits", &e)),
    }
    match read_innodb_status(&mut mc.conn, &mc.recorder).await {
        Some(text) => report.deadlock = parse_latest_deadlock(&text),
        None => report.notes.push(
            "the latest deadlock needs SHOW ENGINE INNODB STATUS, which needs the PROCESS privilege"
                .into(),
        ),
    }
    report
}

fn explain(what: &str, e: &anyhow::Error) -> String {
    if is_access_error(e) {
        format!("{what}: {e}; grant PROCESS (and SELECT on performance_schema on MySQL 8) to the monitoring user")
    } else {
        format!("{what}: {e}")
    }
}

async fn read_row_waits(mc: &mut MonitorConn) -> anyhow::Result<(Vec<TrxInfo>, Vec<WaitEdge>)> {
    let trx_rows = mc.select(TRX_SQL).await?;
    let num = |r: &HashMap<String, String>, k: &str| {
        r.get(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(|n| n.max(0) as u64)
    };
    let trx: Vec<TrxInfo> = trx_rows
        .iter()
        .filter_map(|r| {
            Some(TrxInfo {
                trx_id: r.get("trx_id")?.clone(),
                connection_id: num(r, "trx_mysql_thread_id")?,
                query: r.get("trx_query").cloned(),
                age_s: num(r, "age_s"),
                wait_s: num(r, "wait_s"),
            })
        })
        .collect();
    if trx.iter().all(|t| t.wait_s.is_none()) {
        // Nobody waits: skip the lock tables (performance_schema.data_locks can be large).
        return Ok((trx, Vec::new()));
    }
    let sql = if mc.guards.flavor.has_data_lock_waits() {
        DATA_LOCK_WAITS_SQL
    } else {
        LOCK_WAITS_SQL
    };
    let edges = mc
        .select(sql)
        .await?
        .iter()
        .filter_map(|r| {
            Some(WaitEdge {
                waiting_trx: r.get("waiting")?.clone(),
                blocking_trx: r.get("blocking")?.clone(),
                table: r.get("lock_table").cloned(),
                lock_mode: r.get("lock_mode").cloned(),
            })
        })
        .collect();
    Ok((trx, edges))
}

async fn read_metadata_waits(
    mc: &mut MonitorConn,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<MetadataWait>> {
    let waiters: Vec<MetadataWaiter> = mc
        .select(MDL_WAITERS_SQL)
        .await?
        .iter()
        .filter_map(|r| {
            Some(MetadataWaiter {
                connection_id: r.get("id")?.parse().ok()?,
                state: r.get("state").cloned().unwrap_or_default(),
                query: r.get("info").cloned(),
                wait_s: r.get("time_s").and_then(|t| t.parse().ok()),
                schema: r.get("db").cloned(),
            })
        })
        .collect();
    if waiters.is_empty() {
        return Ok(Vec::new());
    }
    let holders_sql = if mc.guards.flavor.mariadb {
        MARIADB_MDL_HOLDERS_SQL
    } else {
        MYSQL_MDL_HOLDERS_SQL
    };
    let holders: Vec<MetadataHolder> = match mc.select(holders_sql).await {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| {
                Some(MetadataHolder {
                    connection_id: r.get("id")?.parse().ok()?,
                    lock_mode: r.get("lock_mode").cloned().unwrap_or_default(),
                    schema: r.get("table_schema")?.clone(),
                    table: r.get("table_name")?.clone(),
                    query: r.get("info").cloned(),
                })
            })
            .collect(),
        Err(e) => {
            let unknown_table = matches!(server_code(&e), Some(1109 | 1146));
            notes.push(if mc.guards.flavor.mariadb && unknown_table {
                MARIADB_MDL_PLUGIN_HINT.to_string()
            } else if unknown_table {
                "metadata lock holders need performance_schema (performance_schema = ON) with the \
                 wait/lock/metadata/sql/mdl instrument enabled"
                    .to_string()
            } else {
                explain("metadata lock holders", &e)
            });
            Vec::new()
        }
    };
    Ok(metadata_waits(&waiters, &holders))
}
