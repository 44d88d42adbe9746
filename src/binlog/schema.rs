//! Column definitions from information_schema: names for table maps logged without them
//! (binlog_row_metadata=MINIMAL, MySQL's default), and for every table map which columns
//! are generated (no binlog says). Applied only when the server's table still matches the
//! table map; otherwise the drift is recorded and flashback refuses.

use std::collections::HashMap;
use std::sync::Arc;

use crate::tablemap::{ty, Generated, TableMap};

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
    /// From EXTRA (see `generated_from_extra`).
    pub generated: Option<Generated>,
}

/// Reads information_schema.COLUMNS.EXTRA: `VIRTUAL GENERATED` / `STORED GENERATED` (MySQL
/// 5.7+, MariaDB 10.2+), `VIRTUAL` / `PERSISTENT` (MariaDB 10.1). MySQL's
/// `DEFAULT_GENERATED` (an expression default) is an ordinary column.
pub fn generated_from_extra(extra: &str) -> Option<Generated> {
    let extra = extra.to_ascii_lowercase();
    let words: Vec<&str> = extra.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    if has("virtual") {
        Some(Generated::Virtual)
    } else if has("stored") && has("generated") || has("persistent") {
        Some(Generated::Stored)
    } else {
        None
    }
}

/// Where a scan asks for a table's columns the first time a TABLE_MAP names it (the server's
/// information_schema, read by the caller): one pass over the binlog instead of a first pass
/// that collects the tables. `None`: no definition to apply (the table map is used as is).
/// Implementations cache, so later table maps of the table are judged against the same
/// definition and a table changed within the range is refused as drift.
pub trait ColumnSource: Send + Sync {
    fn columns(&self, schema: &str, table: &str) -> Option<Arc<Vec<ColumnInfo>>>;
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
    /// Fills names (and key, enum/set strings, signedness, charsets) and generated columns
    /// from `cols`, or records why they do not describe this table map. Names the binlog
    /// carries must agree with `cols`.
    pub fn apply_schema(&mut self, cols: &[ColumnInfo]) {
        if let Some(drift) = self.drift_from(cols) {
            self.drift = Some(drift);
            return;
        }
        for (c, info) in self.columns.iter_mut().zip(cols) {
            c.generated = info.generated;
            if c.name.is_some() {
                continue;
            }
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
        // A table map with names but no key is exact: the table had none when it was logged.
        if !self.has_names && self.primary_key.is_empty() {
            self.primary_key = cols
                .iter()
                .enumerate()
                .filter(|(_, c)| c.primary)
                .map(|(i, _)| i)
                .collect();
        }
        self.has_names = true;
        self.generated_known = true;
    }

    /// Why `cols` do not describe this table map: count, type or (logged) name differs.
    fn drift_from(&self, cols: &[ColumnInfo]) -> Option<String> {
        if cols.len() != self.columns.len() {
            return Some(format!(
                "the binlog's table map has {} columns, information_schema {}",
                self.columns.len(),
                cols.len()
            ));
        }
        for (i, (c, info)) in self.columns.iter().zip(cols).enumerate() {
            if !type_matches(c.type_code, &info.data_type) {
                return Some(format!(
                    "column {} is {} in the binlog but `{}` {} in information_schema",
                    i + 1,
                    c.type_name(),
                    info.name,
                    info.column_type
                ));
            }
            if let Some(name) = c
                .name
                .as_deref()
                .filter(|n| !n.eq_ignore_ascii_case(&info.name))
            {
                return Some(format!(
                    "column {} is `{name}` in the binlog but `{}` in information_schema",
                    i + 1,
                    info.name
                ));
            }
        }
        None
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
    fn generated_columns_from_extra() {
        assert_eq!(
            generated_from_extra("VIRTUAL GENERATED"),
            Some(Generated::Virtual)
        );
        assert_eq!(
            generated_from_extra("STORED GENERATED"),
            Some(Generated::Stored)
        );
        assert_eq!(generated_from_extra("PERSISTENT"), Some(Generated::Stored));
        assert_eq!(generated_from_extra("VIRTUAL"), Some(Generated::Virtual));
        // MySQL's expression defaults and ordinary extras are not generated columns.
        assert_eq!(
            generated_from_extra("DEFAULT_GENERATED on update CURRENT_TIMESTAMP"),
            None
        );
        assert_eq!(generated_from_extra("auto_increment"), None);
        assert_eq!(generated_from_extra(""), None);
    }

    fn info(name: &str, data_type: &str, generated: Option<Generated>) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: data_type.into(),
            column_type: data_type.into(),
            charset: None,
            primary: name == "id",
            generated,
        }
    }

    fn int_table(names: Option<[&str; 3]>) -> TableMap {
        let col = |i: usize| crate::tablemap::Column {
            type_code: ty::LONG,
            meta: 0,
            nullable: true,
            unsigned: false,
            collation: None,
            name: names.map(|n| n[i].to_string()),
            enum_values: None,
            set_values: None,
            generated: None,
        };
        TableMap {
            table_id: 1,
            schema: "g".into(),
            table: "t".into(),
            columns: (0..3).map(col).collect(),
            primary_key: vec![],
            has_names: names.is_some(),
            drift: None,
            generated_known: false,
            raw_body: None,
        }
    }

    #[test]
    fn named_table_maps_take_generated_columns_and_check_names() {
        let cols = [
            info("id", "int", None),
            info("a", "int", None),
            info("b", "int", Some(Generated::Virtual)),
        ];
        let mut tm = int_table(Some(["id", "a", "b"]));
        tm.apply_schema(&cols);
        assert_eq!(tm.drift, None);
        assert!(tm.generated_known);
        let generated: Vec<_> = tm.columns.iter().map(|c| c.generated).collect();
        assert_eq!(generated, [None, None, Some(Generated::Virtual)]);
        // FULL metadata without a key: the key the server has now came later.
        assert!(tm.primary_key.is_empty());

        let mut unnamed = int_table(None);
        unnamed.apply_schema(&cols);
        assert!(unnamed.has_names && unnamed.generated_known);
        assert_eq!(unnamed.column_name(2), "b");
        assert_eq!(unnamed.primary_key, [0]);

        // Renamed since the event: the positions may no longer mean the same columns.
        let mut renamed = int_table(Some(["id", "a", "x"]));
        renamed.apply_schema(&cols);
        assert!(!renamed.generated_known);
        let drift = renamed.drift.unwrap_or_default();
        assert!(drift.contains("`x`") && drift.contains("`b`"), "{drift}");
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
