//! Column definitions from information_schema, for table maps logged without names
//! (binlog_row_metadata=MINIMAL, MySQL's default). Applied only when the server's table
//! still matches the table map; otherwise the drift is recorded and flashback refuses.

use std::collections::HashMap;
use std::sync::Arc;

use crate::tablemap::{ty, TableMap};

/// One row of information_schema.COLUMNS, in ORDINAL_POSITION order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// DATA_TYPE, lower case (`int`, `varchar`, ...).
    pub data_type: String,
    /// COLUMN_TYPE, e.g. `int(10) unsigned` or `enum('a','b')`.
    pub column_type: String,
    pub charset: Option<String>,
    pub primary: bool,
}

/// Columns by (schema, table).
#[derive(Debug, Clone, Default)]
pub struct SchemaInfo {
    pub tables: HashMap<(String, String), Vec<ColumnInfo>>,
}

fn type_matches(type_code: u8, data_type: &str) -> bool {
    use ty::*;
    let ok: &[&str] = match type_code {
        TINY => &["tinyint", "bool", "boolean"],
        SHORT => &["smallint"],
        INT24 => &["mediumint"],
        LONG => &["int", "integer"],
        LONGLONG => &["bigint"],
        FLOAT => &["float"],
        DOUBLE => &["double", "real"],
        NEWDECIMAL => &["decimal", "numeric"],
        DATE | NEWDATE => &["date"],
        TIME | TIME2 => &["time"],
        DATETIME | DATETIME2 => &["datetime"],
        TIMESTAMP | TIMESTAMP2 => &["timestamp"],
        YEAR => &["year"],
        VARCHAR | VAR_STRING => &["varchar", "varbinary"],
        STRING => &["char", "binary"],
        ENUM => &["enum"],
        SET => &["set"],
        BIT => &["bit"],
        BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB => &[
            "tinyblob",
            "blob",
            "mediumblob",
            "longblob",
            "tinytext",
            "text",
            "mediumtext",
            "longtext",
            "json",
        ],
        GEOMETRY => &[
            "geometry",
            "point",
            "linestring",
            "polygon",
            "multipoint",
            "multilinestring",
            "multipolygon",
            "geometrycollection",
            "geomcollection",
        ],
        JSON => &["json"],
        VECTOR => &["vector"],
        _ => &[],
    };
    ok.contains(&data_type)
}

/// A collation id whose character set is `charset` (what the renderer needs to know).
fn collation_for(charset: &str) -> Option<u16> {
    let cs = if charset == "utf8" {
        "utf8mb3"
    } else {
        charset
    };
    (0u16..1024).find(|&id| crate::charset::charset_of(id) == Some(cs))
}

/// The quoted items of `enum('a','it''s')`.
fn enum_items(column_type: &str) -> Vec<String> {
    let inner = column_type
        .split_once('(')
        .map_or("", |(_, r)| r.strip_suffix(')').unwrap_or(r));
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '\'') => quoted = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            (true, '\'') => {
                quoted = false;
                items.push(std::mem::take(&mut cur));
            }
            (true, c) => cur.push(c),
            _ => {}
        }
    }
    items
}

impl TableMap {
    /// Fills names (and key, enum/set strings, signedness, charsets) from `cols`, or
    /// records why they do not describe this table map.
    pub fn apply_schema(&mut self, cols: &[ColumnInfo]) {
        if cols.len() != self.columns.len() {
            self.drift = Some(format!(
                "the binlog's table map has {} columns, information_schema {}",
                self.columns.len(),
                cols.len()
            ));
            return;
        }
        for (i, (c, info)) in self.columns.iter().zip(cols).enumerate() {
            if !type_matches(c.type_code, &info.data_type) {
                self.drift = Some(format!(
                    "column {} is {} in the binlog but `{}` {} in information_schema",
                    i + 1,
                    c.type_name(),
                    info.name,
                    info.column_type
                ));
                return;
            }
        }
        for (c, info) in self.columns.iter_mut().zip(cols) {
            c.name = Some(info.name.clone());
            c.unsigned = info.column_type.contains("unsigned");
            if c.collation.is_none() {
                c.collation = info.charset.as_deref().and_then(collation_for);
            }
            match c.type_code {
                ty::ENUM => c.enum_values = Some(Arc::new(enum_items(&info.column_type))),
                ty::SET => c.set_values = Some(Arc::new(enum_items(&info.column_type))),
                _ => {}
            }
        }
        if self.primary_key.is_empty() {
            self.primary_key = cols
                .iter()
                .enumerate()
                .filter(|(_, c)| c.primary)
                .map(|(i, _)| i)
                .collect();
        }
        self.has_names = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_items_with_quotes() {
        assert_eq!(enum_items("enum('a','it''s','c d')"), ["a", "it's", "c d"]);
        assert_eq!(enum_items("set('x')"), ["x"]);
        assert!(enum_items("int(11)").is_empty());
    }

    #[test]
    fn charsets_map_to_collations() {
        assert_eq!(
            collation_for("latin1").and_then(crate::charset::charset_of),
            Some("latin1")
        );
        assert_eq!(
            collation_for("utf8").and_then(crate::charset::charset_of),
            Some("utf8mb3")
        );
        assert_eq!(collation_for("binary"), Some(63));
    }
}
