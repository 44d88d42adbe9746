//! Per-table figures taken on the source at backup time and on the restored copy at verification:
//! row counts and `CHECKSUM TABLE ... EXTENDED`, both inside one consistent snapshot.

use anyhow::{bail, Context};

use super::sql::{from_hex, literal, SqlClient};
use super::{quote_ident, SnapshotPosition, TableChecksum};

/// A base table and its size as information_schema estimates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub schema: String,
    pub table: String,
    pub data_bytes: u64,
}

/// Schemas that are the server's own; never compared (a restore into a fresh server differs).
const SYSTEM_SCHEMAS: &str = "'information_schema','performance_schema','sys','mysql'";

/// The base tables of `database`, or of every user schema.
pub fn list_tables(client: &SqlClient, database: Option<&str>) -> anyhow::Result<Vec<TableInfo>> {
    let filter = match database {
        Some(db) => format!("TABLE_SCHEMA = {}", literal(db)),
        None => format!("TABLE_SCHEMA NOT IN ({SYSTEM_SCHEMAS})"),
    };
    let rows = client.query(&format!(
        "SELECT HEX(TABLE_SCHEMA), HEX(TABLE_NAME), IFNULL(DATA_LENGTH,0) \
         FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND {filter} \
         ORDER BY TABLE_SCHEMA, TABLE_NAME"
    ))?;
    rows.iter()
        .map(|r| {
            if r.len() < 3 {
                bail!("unexpected information_schema row: {r:?}");
            }
            Ok(TableInfo {
                schema: from_hex(&r[0])?,
                table: from_hex(&r[1])?,
                data_bytes: r[2].parse().unwrap_or(0),
            })
        })
        .collect()
}

/// Figures for `tables` in one `START TRANSACTION WITH CONSISTENT SNAPSHOT` session, and the binlog
/// position that snapshot corresponds to (MariaDB's `binlog_snapshot_file/position`).
pub fn take(
    client: &SqlClient,
    tables: &[TableInfo],
) -> anyhow::Result<(Vec<TableChecksum>, Option<SnapshotPosition>)> {
    let sql = format!(
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n\
         START TRANSACTION WITH CONSISTENT SNAPSHOT;\n\
         SHOW STATUS LIKE 'binlog_snapshot_%';\n{}COMMIT;\n",
        figures_sql(tables)
    );
    let rows = client.query(&sql)?;
    let (out, file, pos) = parse_figures(rows, tables)?;
    Ok((out, with_gtid(client, file, pos)))
}

/// A row count and `CHECKSUM TABLE ... EXTENDED` per table, each count tagged with its index.
pub(super) fn figures_sql(tables: &[TableInfo]) -> String {
    let mut sql = String::new();
    for (i, t) in tables.iter().enumerate() {
        let name = format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table));
        sql.push_str(&format!(
            "SELECT 'arkc-table', {i}, COUNT(*) FROM {name};\nCHECKSUM TABLE {name} EXTENDED;\n"
        ));
    }
    sql
}

/// The figures and the snapshot's binlog file and position from the client's rows.
pub(super) fn parse_figures(
    rows: Vec<Vec<String>>,
    tables: &[TableInfo],
) -> anyhow::Result<(Vec<TableChecksum>, Option<String>, Option<u64>)> {
    let mut file = None;
    let mut pos = None;
    let mut out: Vec<TableChecksum> = Vec::with_capacity(tables.len());
    let mut iter = rows.into_iter();
    while let Some(row) = iter.next() {
        match row.first().map(String::as_str) {
            Some("Binlog_snapshot_file") => file = row.get(1).filter(|f| !f.is_empty()).cloned(),
            Some("Binlog_snapshot_position") => pos = row.get(1).and_then(|p| p.parse().ok()),
            Some("arkc-table") => {
                let i: usize = row
                    .get(1)
                    .and_then(|v| v.parse().ok())
                    .context("table index")?;
                let rows: u64 = row
                    .get(2)
                    .and_then(|v| v.parse().ok())
                    .context("row count")?;
                let checksum_row = iter.next().context("CHECKSUM TABLE gave no row")?;
                let checksum = checksum_row.last().and_then(|v| v.parse().ok());
                let t = tables.get(i).context("table index out of range")?;
                out.push(TableChecksum {
                    schema: t.schema.clone(),
                    table: t.table.clone(),
                    rows,
                    checksum,
                });
            }
            _ => {}
        }
    }
    if out.len() != tables.len() {
        bail!(
            "checksums for {} of {} tables came back",
            out.len(),
            tables.len()
        );
    }
    Ok((out, file, pos))
}

/// The snapshot position with its GTID (`BINLOG_GTID_POS`), when the server gave one.
pub(super) fn with_gtid(
    client: &SqlClient,
    file: Option<String>,
    pos: Option<u64>,
) -> Option<SnapshotPosition> {
    let (file, pos) = (file?, pos?);
    let gtid = client
        .scalar(&format!(
            "SELECT IFNULL(BINLOG_GTID_POS({}, {pos}), '')",
            literal(&file)
        ))
        .ok()
        .filter(|g| !g.is_empty());
    Some(SnapshotPosition {
        file: Some(file),
        pos: Some(pos),
        gtid,
    })
}

/// Compare figures from the restored copy with those recorded; returns the tables that differ,
/// each with what differed.
pub fn compare(
    recorded: &[TableChecksum],
    restored: &[TableChecksum],
    use_checksums: bool,
) -> Vec<String> {
    let mut diff = Vec::new();
    for want in recorded {
        let got = restored
            .iter()
            .find(|t| t.schema == want.schema && t.table == want.table);
        match got {
            None => diff.push(format!("{}: missing after restore", want.qualified())),
            Some(got) if got.rows != want.rows => diff.push(format!(
                "{}: {} rows restored, {} at backup time",
                want.qualified(),
                got.rows,
                want.rows
            )),
            Some(got) if use_checksums && got.checksum != want.checksum => diff.push(format!(
                "{}: checksum {} restored, {} at backup time",
                want.qualified(),
                show(got.checksum),
                show(want.checksum)
            )),
            Some(_) => {}
        }
    }
    diff
}

fn show(c: Option<u64>) -> String {
    c.map(|c| c.to_string()).unwrap_or_else(|| "NULL".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(table: &str, rows: u64, checksum: u64) -> TableChecksum {
        TableChecksum {
            schema: "s`1".into(),
            table: table.into(),
            rows,
            checksum: Some(checksum),
        }
    }

    #[test]
    fn compare_names_each_difference() {
        let recorded = [t("a", 1, 10), t("b", 2, 20), t("c", 3, 30)];
        let restored = [t("a", 1, 10), t("b", 2, 21)];
        let diff = compare(&recorded, &restored, true);
        assert_eq!(
            diff,
            [
                "`s``1`.`b`: checksum 21 restored, 20 at backup time",
                "`s``1`.`c`: missing after restore"
            ]
        );
        assert_eq!(
            compare(&recorded[..2], &restored, false),
            Vec::<String>::new()
        );
    }
}
