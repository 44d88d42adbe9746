//! Reads what the live review rules need: each target table's columns and size
//! (information_schema), and the EXPLAIN row estimate of each UPDATE/DELETE. Read-only.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::META_TIMEOUT;
use crate::backend::recorder::{cell_text, SqlRecorder};
use crate::deploy::review::live::{LiveFacts, LiveTargets, TableFacts};

pub async fn read_facts(
    conn: &mut Conn,
    rec: &SqlRecorder,
    targets: &LiveTargets,
) -> anyhow::Result<LiveFacts> {
    let mut facts = LiveFacts::default();
    for (db, table) in &targets.tables {
        let sql = "SELECT COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
        let started = std::time::Instant::now();
        let size: Option<u64> = conn.exec_first(sql, (db, table)).await?;
        rec.record(sql, started.elapsed(), None);
        let Some(bytes) = size else { continue };
        let sql = "SELECT LOWER(COLUMN_NAME) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
        let started = std::time::Instant::now();
        let columns: Vec<String> = conn.exec(sql, (db, table)).await?;
        rec.record(sql, started.elapsed(), None);
        facts.tables.insert(
            format!("{db}.{table}").to_ascii_lowercase(),
            TableFacts {
                columns: columns.into_iter().collect(),
                bytes,
            },
        );
    }
    for (index, db, sql) in &targets.explain {
        let table_known = db.is_some();
        if !table_known {
            continue;
        }
        if let Some(db) = db {
            let quoted = db.replace('`', "``");
            rec.execute(conn, &format!("USE `{quoted}`"), META_TIMEOUT)
                .await?;
        }
        // EXPLAIN of a statement on a missing table fails: table-exists already says so.
        let Ok(rows) = rec
            .query(conn, &format!("EXPLAIN {sql}"), META_TIMEOUT)
            .await
        else {
            continue;
        };
        if let Some(estimate) = max_rows(&rows) {
            facts.explain_rows.insert(*index, estimate);
        }
    }
    Ok(facts)
}

/// The largest `rows` estimate of an EXPLAIN result.
fn max_rows(rows: &[Row]) -> Option<u64> {
    let at = rows
        .first()?
        .columns_ref()
        .iter()
        .position(|c| c.name_str().eq_ignore_ascii_case("rows"))?;
    rows.iter()
        .filter_map(|r| r.as_ref(at).and_then(cell_text))
        .filter_map(|t| t.parse().ok())
        .max()
}
