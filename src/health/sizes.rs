//! The Disk and size view's figures: the datadir's filesystem, schema and table sizes from
//! information_schema (largest first), and the binary logs' count and total size. Pure.

use std::collections::HashMap;

use serde::Serialize;

/// Space on the filesystem holding the datadir (measured only for an instance on this host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FsSpace {
    pub total_bytes: u64,
    /// Available to unprivileged users (what the server's user can still write).
    pub avail_bytes: u64,
}

impl FsSpace {
    pub fn free_pct(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        100.0 * self.avail_bytes as f64 / self.total_bytes as f64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SchemaSize {
    pub schema: String,
    pub tables: u64,
    pub data_bytes: u64,
    pub index_bytes: u64,
}

impl SchemaSize {
    pub fn total(&self) -> u64 {
        self.data_bytes + self.index_bytes
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TableSize {
    pub schema: String,
    pub table: String,
    pub engine: String,
    /// InnoDB's estimate.
    pub rows: Option<u64>,
    pub data_bytes: u64,
    pub index_bytes: u64,
    /// Allocated but unused (reclaimable by a rebuild).
    pub free_bytes: u64,
}

impl TableSize {
    pub fn total(&self) -> u64 {
        self.data_bytes + self.index_bytes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BinlogTotals {
    pub count: u64,
    pub bytes: u64,
}

/// Everything the Disk and size view shows for one instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SizeReport {
    pub datadir: Option<String>,
    pub filesystem: Option<FsSpace>,
    pub schemas: Vec<SchemaSize>,
    /// The largest tables, largest first.
    pub tables: Vec<TableSize>,
    /// `None` when binary logging is off or the list is not readable.
    pub binlogs: Option<BinlogTotals>,
    /// What could not be read and why.
    pub notes: Vec<String>,
}

fn num(r: &HashMap<String, String>, k: &str) -> u64 {
    r.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn text(r: &HashMap<String, String>, k: &str) -> String {
    r.get(k).cloned().unwrap_or_default()
}

/// Rows of `schema, tables, data_bytes, index_bytes`, sorted largest first.
pub fn schema_sizes(rows: &[HashMap<String, String>]) -> Vec<SchemaSize> {
    let mut out: Vec<SchemaSize> = rows
        .iter()
        .map(|r| SchemaSize {
            schema: text(r, "schema_name"),
            tables: num(r, "tables"),
            data_bytes: num(r, "data_bytes"),
            index_bytes: num(r, "index_bytes"),
        })
        .collect();
    out.sort_by(|a, b| b.total().cmp(&a.total()).then(a.schema.cmp(&b.schema)));
    out
}

/// Rows of `schema_name, table_name, engine, table_rows, data_bytes, index_bytes, free_bytes`,
/// sorted largest first.
pub fn table_sizes(rows: &[HashMap<String, String>]) -> Vec<TableSize> {
    let mut out: Vec<TableSize> = rows
        .iter()
        .map(|r| TableSize {
            schema: text(r, "schema_name"),
            table: text(r, "table_name"),
            engine: text(r, "engine"),
            rows: r.get("table_rows").and_then(|v| v.trim().parse().ok()),
            data_bytes: num(r, "data_bytes"),
            index_bytes: num(r, "index_bytes"),
            free_bytes: num(r, "free_bytes"),
        })
        .collect();
    out.sort_by(|a, b| {
        b.total()
            .cmp(&a.total())
            .then_with(|| (&a.schema, &a.table).cmp(&(&b.schema, &b.table)))
    });
    out
}

/// `SHOW BINARY LOGS` rows (`Log_name`, `File_size`).
pub fn binlog_totals(rows: &[HashMap<String, String>]) -> BinlogTotals {
    BinlogTotals {
        count: rows.len() as u64,
        bytes: rows.iter().map(|r| num(r, "File_size")).sum(),
    }
}

/// `1.5 GiB`, `320 KiB`, `12 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn largest_first_and_totals() {
        let s = schema_sizes(&[
            row(&[
                ("schema_name", "small"),
                ("tables", "1"),
                ("data_bytes", "16384"),
            ]),
            row(&[
                ("schema_name", "big"),
                ("tables", "3"),
                ("data_bytes", "1048576"),
                ("index_bytes", "65536"),
            ]),
        ]);
        assert_eq!(s[0].schema, "big");
        assert_eq!(s[0].total(), 1_114_112);
        let t = table_sizes(&[
            row(&[
                ("schema_name", "a"),
                ("table_name", "t1"),
                ("data_bytes", "10"),
            ]),
            row(&[
                ("schema_name", "a"),
                ("table_name", "t2"),
                ("data_bytes", "10"),
                ("index_bytes", "5"),
                ("table_rows", "7"),
            ]),
        ]);
        assert_eq!((t[0].table.as_str(), t[0].rows), ("t2", Some(7)));
        assert_eq!(t[1].rows, None);
        let b = binlog_totals(&[
            row(&[("Log_name", "bin.000001"), ("File_size", "1000")]),
            row(&[("Log_name", "bin.000002"), ("File_size", "24")]),
        ]);
        assert_eq!(
            b,
            BinlogTotals {
                count: 2,
                bytes: 1024
            }
        );
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        let fs = FsSpace {
            total_bytes: 200,
            avail_bytes: 50,
        };
        assert_eq!(fs.free_pct(), 25.0);
    }
}
