//! TABLE_MAP_EVENT: column types and metadata, plus the optional metadata that
//! `binlog_row_metadata=FULL` adds (names, signedness, charsets, enum/set strings, keys).

use std::sync::Arc;

use crate::cursor::{bit, Cursor};
use crate::error::{DResult, DecodeError};

/// Column type codes as written in table maps.
pub mod ty {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const VECTOR: u8 = 242;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// How a generated column is computed; the binlog does not say, information_schema does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// Computed when read, in the reader's session (its time zone, for one).
    Virtual,
    /// Computed on write and stored like any other column.
    Stored,
}

/// One column of a mapped table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Type code, with STRING resolved to ENUM/SET when that is the real type.
    pub type_code: u8,
    /// Normalised metadata: max length, pack length, (precision << 8 | scale), fsp, or
    /// (bytes << 8 | bits) for BIT.
    pub meta: u16,
    pub nullable: bool,
    pub unsigned: bool,
    /// Collation id of character, ENUM and SET columns when the metadata says it.
    pub collation: Option<u16>,
    pub name: Option<String>,
    pub enum_values: Option<Arc<Vec<String>>>,
    pub set_values: Option<Arc<Vec<String>>>,
    /// Set from information_schema: the server rejects explicit values for these columns.
    pub generated: Option<Generated>,
}

impl Column {
    pub fn type_name(&self) -> &'static str {
        type_name(self.type_code)
    }

    fn is_numeric(&self) -> bool {
        use ty::*;
        matches!(
            self.type_code,
            TINY | SHORT | INT24 | LONG | LONGLONG | FLOAT | DOUBLE | NEWDECIMAL | DECIMAL
        )
    }

    /// Columns listed in the charset metadata (MySQL 9 lists VECTOR columns too, as binary).
    fn is_character(&self) -> bool {
        use ty::*;
        matches!(
            self.type_code,
            STRING | VARCHAR | VAR_STRING | BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | VECTOR
        )
    }

    fn is_enum_or_set(&self) -> bool {
        matches!(self.type_code, ty::ENUM | ty::SET)
    }
}

pub fn type_name(t: u8) -> &'static str {
    use ty::*;
    match t {
        DECIMAL => "DECIMAL_OLD",
        TINY => "TINYINT",
        SHORT => "SMALLINT",
        LONG => "INT",
        FLOAT => "FLOAT",
        DOUBLE => "DOUBLE",
        NULL => "NULL",
        TIMESTAMP | TIMESTAMP2 => "TIMESTAMP",
        LONGLONG => "BIGINT",
        INT24 => "MEDIUMINT",
        DATE | NEWDATE => "DATE",
        TIME | TIME2 => "TIME",
        DATETIME | DATETIME2 => "DATETIME",
        YEAR => "YEAR",
        VARCHAR | VAR_STRING => "VARCHAR",
        BIT => "BIT",
        VECTOR => "VECTOR",
        JSON => "JSON",
        NEWDECIMAL => "DECIMAL",
        ENUM => "ENUM",
        SET => "SET",
        TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | BLOB => "BLOB",
        STRING => "CHAR",
        GEOMETRY => "GEOMETRY",
        _ => "UNKNOWN",
    }
}

/// A decoded TABLE_MAP_EVENT.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMap {
    pub table_id: u64,
    pub schema: String,
    pub table: String,
    pub columns: Vec<Column>,
    /// Primary key column indexes, when the optional metadata names them.
    pub primary_key: Vec<usize>,
    /// True when every column has a name (binlog_row_metadata=FULL, or information_schema).
    pub has_names: bool,
    /// Why information_schema's columns do not describe this table map, if they do not.
    pub drift: Option<String>,
    /// True when information_schema said which columns are generated (`Column::generated`).
    pub generated_known: bool,
    /// The TABLE_MAP event's body as logged, when its table id has 6 bytes (for sending the
    /// rollback as row events, `invert`).
    pub raw_body: Option<std::sync::Arc<[u8]>>,
}

impl TableMap {
    /// The column's name, or `@N` (1-based) when the binlog does not carry names.
    pub fn column_name(&self, i: usize) -> std::borrow::Cow<'_, str> {
        match self.columns.get(i).and_then(|c| c.name.as_deref()) {
            Some(n) => std::borrow::Cow::Borrowed(n),
            None => std::borrow::Cow::Owned(format!("@{}", i + 1)),
        }
    }

    pub fn parse(body: &[u8], post_header_len: usize) -> DResult<TableMap> {
        let mut c = Cursor::new(body);
        let table_id = if post_header_len == 6 {
            c.uint_le(4, "table id")?
        } else {
            c.uint_le(6, "table id")?
        };
        c.skip(post_header_len.saturating_sub(6).max(2), "table map flags")?;
        let schema = name_field(&mut c, "schema name")?;
        let table = name_field(&mut c, "table name")?;
        let n = c.lenenc("column count")? as usize;
        if n > 4096 {
            return Err(DecodeError(format!(
                "column count {n} exceeds MySQL's 4096"
            )));
        }
        let types = c.take(n, "column types")?;
        let meta_block = c.lenenc_bytes("column metadata")?;
        let nulls = c.take(n.div_ceil(8), "null bitmap")?;
        let mut meta = Cursor::new(meta_block);
        let mut columns = Vec::with_capacity(n);
        for (i, &t) in types.iter().enumerate() {
            let (type_code, m) = read_meta(&mut meta, t)?;
            columns.push(Column {
                type_code,
                meta: m,
                nullable: bit(nulls, i),
                unsigned: false,
                collation: None,
                name: None,
                enum_values: None,
                set_values: None,
                generated: None,
            });
        }
        let mut tm = TableMap {
            table_id,
            schema,
            table,
            columns,
            primary_key: Vec::new(),
            has_names: false,
            drift: None,
            generated_known: false,
            raw_body: (post_header_len == 8).then(|| std::sync::Arc::from(body)),
        };
        tm.read_optional(c.rest())?;
        tm.has_names = !tm.columns.is_empty() && tm.columns.iter().all(|c| c.name.is_some());
        Ok(tm)
    }

    fn read_optional(&mut self, data: &[u8]) -> DResult<()> {
        let mut c = Cursor::new(data);
        while !c.is_empty() {
            let kind = c.u8("optional metadata type")?;
            let field = c.lenenc_bytes("optional metadata field")?;
            let mut f = Cursor::new(field);
            match kind {
                1 => self.apply_signedness(field),
                2 => self.apply_default_charset(&mut f, Column::is_character)?,
                3 => self.apply_column_charsets(&mut f, Column::is_character)?,
                4 => {
                    for col in self.columns.iter_mut() {
                        let name = f.lenenc_bytes("column name")?;
                        col.name = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
                5 => self.apply_strings(&mut f, ty::SET)?,
                6 => self.apply_strings(&mut f, ty::ENUM)?,
                8 => {
                    while !f.is_empty() {
                        self.primary_key
                            .push(f.lenenc("primary key column")? as usize);
                    }
                }
                9 => {
                    while !f.is_empty() {
                        self.primary_key
                            .push(f.lenenc("primary key column")? as usize);
                        f.lenenc("primary key prefix")?;
                    }
                }
                10 => self.apply_default_charset(&mut f, Column::is_enum_or_set)?,
                11 => self.apply_column_charsets(&mut f, Column::is_enum_or_set)?,
                _ => {}
            }
        }
        let n = self.columns.len();
        if self.primary_key.iter().any(|&i| i >= n) {
            return Err(DecodeError::new(
                "primary key names a column past the column count",
            ));
        }
        Ok(())
    }

    fn apply_signedness(&mut self, bitmap: &[u8]) {
        let numeric = self.columns.iter_mut().filter(|c| c.is_numeric());
        for (k, col) in numeric.enumerate() {
            // This bitmap is most-significant-bit first, unlike row bitmaps.
            col.unsigned = bitmap
                .get(k / 8)
                .is_some_and(|b| b & (0x80 >> (k % 8)) != 0);
        }
    }

    fn apply_default_charset(&mut self, f: &mut Cursor, pick: fn(&Column) -> bool) -> DResult<()> {
        let default = f.lenenc("default charset")? as u16;
        let mut overrides = Vec::new();
        while !f.is_empty() {
            overrides.push((
                f.lenenc("charset column")? as usize,
                f.lenenc("charset")? as u16,
            ));
        }
        for (k, col) in self.columns.iter_mut().filter(|c| pick(c)).enumerate() {
            let ov = overrides.iter().find(|(i, _)| *i == k).map(|(_, c)| *c);
            col.collation = Some(ov.unwrap_or(default));
        }
        Ok(())
    }

    fn apply_column_charsets(&mut self, f: &mut Cursor, pick: fn(&Column) -> bool) -> DResult<()> {
        for col in self.columns.iter_mut().filter(|c| pick(c)) {
            col.collation = Some(f.lenenc("column charset")? as u16);
        }
        Ok(())
    }

    fn apply_strings(&mut self, f: &mut Cursor, which: u8) -> DResult<()> {
        for col in self.columns.iter_mut().filter(|c| c.type_code == which) {
            let count = f.lenenc("enum/set value count")? as usize;
            let mut values = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                values
                    .push(String::from_utf8_lossy(f.lenenc_bytes("enum/set value")?).into_owned());
            }
            let values = Some(Arc::new(values));
            if which == ty::ENUM {
                col.enum_values = values;
            } else {
                col.set_values = values;
            }
        }
        Ok(())
    }
}

fn name_field(c: &mut Cursor, what: &str) -> DResult<String> {
    let len = c.u8(what)? as usize;
    let s = String::from_utf8_lossy(c.take(len, what)?).into_owned();
    c.skip(1, what)?;
    Ok(s)
}

/// Reads one column's metadata; returns the resolved type code and normalised metadata.
fn read_meta(m: &mut Cursor, t: u8) -> DResult<(u8, u16)> {
    use ty::*;
    Ok(match t {
        FLOAT | DOUBLE | BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | GEOMETRY | JSON | VECTOR
        | TIMESTAMP2 | DATETIME2 | TIME2 => (t, m.u8("column metadata")? as u16),
        VARCHAR | VAR_STRING => (t, m.u16("varchar metadata")?),
        BIT => {
            let bits = m.u8("bit metadata")? as u16;
            let bytes = m.u8("bit metadata")? as u16;
            (t, bytes << 8 | bits)
        }
        NEWDECIMAL => {
            let precision = m.u8("decimal precision")? as u16;
            let scale = m.u8("decimal scale")? as u16;
            (t, precision << 8 | scale)
        }
        STRING | ENUM | SET => {
            let b0 = m.u8("string metadata")?;
            let b1 = m.u8("string metadata")? as u16;
            // Lengths over 255 borrow two bits of the real-type byte.
            let (real, len) = if b0 & 0x30 != 0x30 {
                (b0 | 0x30, b1 | ((((b0 & 0x30) ^ 0x30) as u16) << 4))
            } else {
                (b0, b1)
            };
            match real {
                ENUM | SET => (real, b1),
                _ => (STRING, len),
            }
        }
        DECIMAL | TINY | SHORT | LONG | NULL | TIMESTAMP | LONGLONG | INT24 | DATE | TIME
        | DATETIME | YEAR | NEWDATE => (t, 0),
        other => return Err(DecodeError(format!("unsupported column type {other}"))),
    })
}

/// Each table's column names, shared between its rows while its definition stays the same (a
/// table map naming other columns replaces them).
#[derive(Debug, Default)]
pub struct ColumnNames {
    by_table: std::collections::HashMap<(String, String), std::sync::Arc<Vec<String>>>,
}

impl ColumnNames {
    /// The names of `t`'s columns, the same `Arc` as the table's previous rows when unchanged.
    pub fn of(&mut self, t: &TableMap) -> std::sync::Arc<Vec<String>> {
        let names: Vec<String> = (0..t.columns.len())
            .map(|i| t.column_name(i).into_owned())
            .collect();
        let key = (t.schema.clone(), t.table.clone());
        match self.by_table.get(&key) {
            Some(known) if **known == names => known.clone(),
            _ => {
                let shared = std::sync::Arc::new(names);
                self.by_table.insert(key, shared.clone());
                shared
            }
        }
    }
}
