//! Column definitions from information_schema (names, types, keys, generated columns) for
//! the tables a binlog range touches: shared by `arkc flashback --url` and the Binlog pane,
//! so both leave generated columns out of the SQL they write in the same way.

use std::time::Instant;

use anyhow::Context;
use arkc_binlog::schema::{generated_from_extra, ColumnInfo, SchemaInfo};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::backend::SqlRecorder;

const COLUMNS_SQL: &str = "SELECT COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), \
     CHARACTER_SET_NAME, COLUMN_KEY, EXTRA FROM information_schema.COLUMNS \
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";

/// Reads the columns of each `(schema, table)` over `conn`, recording each query on `rec`
/// when given; a table the server no longer has gets no columns, which the decoder reports
/// as drift.
pub async fn load_schema_info(
    conn: &mut Conn,
    tables: &[(String, String)],
    rec: Option<&SqlRecorder>,
) -> anyhow::Result<SchemaInfo> {
    type Row = (String, String, String, Option<String>, String, String);
    let mut info = SchemaInfo::default();
    for (schema, table) in tables {
        let started = Instant::now();
        let result: Result<Vec<Row>, _> = conn.exec(COLUMNS_SQL, (schema, table)).await;
        if let Some(rec) = rec {
            let shown = format!("{COLUMNS_SQL} -- ({schema:?}, {table:?})");
            let error = result.as_ref().err().map(|e| e.to_string());
            rec.record(&shown, started.elapsed(), error);
        }
        let rows = result.with_context(|| format!("reading the columns of {schema}.{table}"))?;
        let cols = rows
            .into_iter()
            .map(
                |(name, data_type, column_type, charset, key, extra)| ColumnInfo {
                    name,
                    data_type,
                    column_type,
                    charset,
                    primary: key == "PRI",
                    generated: generated_from_extra(&extra),
                },
            )
            .collect();
        info.tables.insert((schema.clone(), table.clone()), cols);
    }
    Ok(info)
}
