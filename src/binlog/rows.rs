//! WRITE/UPDATE/DELETE_ROWS (v1, v2, MariaDB compressed) and PARTIAL_UPDATE_ROWS events:
//! the column bitmaps and a cursor over row images that decodes values lazily.

use std::borrow::Cow;
use std::sync::Arc;

use crate::cursor::{bit, le_uint, Cursor};
use crate::error::{DResult, DecodeError};
use crate::event::{code, mariadb_uncompress};
use crate::tablemap::{ty, TableMap};
use crate::value::{decode_value, value_width, Value, ValueWidth};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowsKind {
    Insert,
    Update,
    Delete,
}

impl RowsKind {
    pub fn from_type_code(t: u8) -> Option<(RowsKind, u8, bool)> {
        // (kind, version, compressed)
        Some(match t {
            code::WRITE_ROWS_V1 => (RowsKind::Insert, 1, false),
            code::UPDATE_ROWS_V1 => (RowsKind::Update, 1, false),
            code::DELETE_ROWS_V1 => (RowsKind::Delete, 1, false),
            code::WRITE_ROWS_V2 => (RowsKind::Insert, 2, false),
            code::UPDATE_ROWS_V2 | code::PARTIAL_UPDATE_ROWS => (RowsKind::Update, 2, false),
            code::DELETE_ROWS_V2 => (RowsKind::Delete, 2, false),
            166 => (RowsKind::Insert, 1, true),
            167 => (RowsKind::Update, 1, true),
            168 => (RowsKind::Delete, 1, true),
            169 => (RowsKind::Insert, 2, true),
            170 => (RowsKind::Update, 2, true),
            171 => (RowsKind::Delete, 2, true),
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RowsKind::Insert => "insert",
            RowsKind::Update => "update",
            RowsKind::Delete => "delete",
        }
    }
}

/// STMT_END_F: the last rows event of a statement.
pub const STMT_END_F: u16 = 1;

/// A rows event whose row data is decoded on demand.
#[derive(Debug, Clone)]
pub struct RowsEvent<'a> {
    pub kind: RowsKind,
    pub table: Arc<TableMap>,
    pub flags: u16,
    /// PARTIAL_UPDATE_ROWS: after images may carry JSON diffs.
    pub partial: bool,
    pub column_count: usize,
    /// Columns present in the before image (UPDATE/DELETE) or the only image (INSERT).
    pub present: &'a [u8],
    /// Columns present in the after image (UPDATE only).
    pub present_after: &'a [u8],
    pub rows: Cow<'a, [u8]>,
}

/// Table id of a rows event, read before the table map lookup.
pub fn rows_table_id(body: &[u8], post_header_len: usize) -> DResult<u64> {
    let n = if post_header_len == 6 { 4 } else { 6 };
    Cursor::new(body).uint_le(n, "rows table id")
}

impl<'a> RowsEvent<'a> {
    pub fn parse(
        type_code: u8,
        body: &'a [u8],
        post_header_len: usize,
        table: Arc<TableMap>,
    ) -> DResult<RowsEvent<'a>> {
        let (kind, version, compressed) = RowsKind::from_type_code(type_code)
            .ok_or_else(|| DecodeError(format!("event type {type_code} is not a rows event")))?;
        let mut c = Cursor::new(body);
        c.skip(if post_header_len == 6 { 4 } else { 6 }, "rows table id")?;
        let flags = c.u16("rows flags")?;
        if version == 2 {
            let extra = c.u16("rows extra data length")? as usize;
            c.skip(extra.saturating_sub(2), "rows extra data")?;
        }
        let column_count = c.lenenc("rows column count")? as usize;
        if column_count > table.columns.len() {
            return Err(DecodeError(format!(
                "rows event has {column_count} columns, its table map `{}`.`{}` only {}",
                table.schema,
                table.table,
                table.columns.len()
            )));
        }
        let bm = column_count.div_ceil(8);
        let present = c.take(bm, "columns-present bitmap")?;
        let present_after = if kind == RowsKind::Update {
            c.take(bm, "columns-present bitmap (after image)")?
        } else {
            present
        };
        let rows = if compressed {
            Cow::Owned(mariadb_uncompress(c.rest())?)
        } else {
            Cow::Borrowed(c.rest())
        };
        Ok(RowsEvent {
            kind,
            table,
            flags,
            partial: type_code == code::PARTIAL_UPDATE_ROWS,
            column_count,
            present,
            present_after,
            rows,
        })
    }

    /// True when an image lacks some table columns (binlog_row_image=MINIMAL/NOBLOB).
    pub fn is_full_image(&self) -> bool {
        let full = |bm: &[u8]| (0..self.table.columns.len()).all(|i| bit(bm, i));
        full(self.present) && full(self.present_after)
    }

    pub fn is_stmt_end(&self) -> bool {
        self.flags & STMT_END_F != 0
    }

    /// Cursor over the rows; each call to `next_row` fills the given images.
    pub fn row_reader(&self) -> RowReader<'_> {
        let n = self.column_count;
        let count = |bm: &[u8]| (0..n).filter(|&i| bit(bm, i)).count();
        RowReader {
            ev: self,
            c: Cursor::new(&self.rows),
            nulls_len: count(self.present).div_ceil(8),
            nulls_len_after: count(self.present_after).div_ceil(8),
            widths: Vec::new(),
            present: (0..n).filter(|&i| bit(self.present, i)).collect(),
            present_after: (0..n).filter(|&i| bit(self.present_after, i)).collect(),
        }
    }

    /// Number of rows (decodes them all; for summaries).
    pub fn count_rows(&self) -> DResult<usize> {
        let mut r = self.row_reader();
        let (mut b, mut a) = (Vec::new(), Vec::new());
        let mut n = 0;
        while r.next_row(&mut b, &mut a)? {
            n += 1;
        }
        Ok(n)
    }
}

/// The value of `table`'s column `i` at the cursor; an error names the column and its type.
#[inline]
fn decode_column<'e>(
    c: &mut Cursor<'e>,
    table: &TableMap,
    i: usize,
    partial: bool,
) -> DResult<Value<'e>> {
    let col = &table.columns[i];
    decode_value(col, c, partial).map_err(|e| {
        DecodeError(format!(
            "column {} ({}): {}",
            table.column_name(i),
            col.type_name(),
            e.0
        ))
    })
}

/// One image: per table column, None when the column is absent from the image.
pub type Image<'a> = Vec<Option<Value<'a>>>;

pub struct RowReader<'e> {
    ev: &'e RowsEvent<'e>,
    c: Cursor<'e>,
    /// Bytes of the NULL bitmap of each image (before or only, after): the same for every
    /// row of the event, so counted once.
    nulls_len: usize,
    nulls_len_after: usize,
    /// Per column, its values' width (`next_row_span` only, filled on first use).
    widths: Vec<ValueWidth>,
    /// The columns in each image (before or only, after), from its columns-present bitmap.
    present: Vec<usize>,
    present_after: Vec<usize>,
}

/// Which image `read_image` reads.
#[derive(Clone, Copy)]
enum Which {
    /// The before image of an UPDATE or DELETE, or the image of an INSERT.
    First,
    /// The after image of an UPDATE.
    After,
}

impl<'e> RowReader<'e> {
    /// Reads the next row: INSERT fills `after`, DELETE fills `before`, UPDATE both.
    /// Returns false when no rows are left.
    pub fn next_row(&mut self, before: &mut Image<'e>, after: &mut Image<'e>) -> DResult<bool> {
        Ok(self.next_row_span_into(before, after)?.is_some())
    }

    /// Byte span of the next row in `rows`: (start, end of the before image, end). For an
    /// UPDATE the before image is `start..mid` and the after image `mid..end`; otherwise
    /// `mid == end`. None when no rows are left. Steps over the values by their widths; a
    /// row it cannot step over is decoded (`next_row_span_decoding`), which says why it fails.
    pub fn next_row_span(&mut self) -> DResult<Option<(usize, usize, usize)>> {
        let ev = self.ev;
        if self.c.is_empty() || ev.partial {
            return self.next_row_span_decoding();
        }
        if self.widths.is_empty() {
            self.widths = ev.table.columns.iter().map(value_width).collect();
        }
        let (at, start) = (self.c, self.c.pos());
        let skipped = self.skip_image(Which::First).and_then(|()| {
            let mid = self.c.pos();
            if ev.kind == RowsKind::Update {
                self.skip_image(Which::After)?;
            }
            Some(mid)
        });
        match skipped {
            Some(mid) if self.c.pos() > start => Ok(Some((start, mid, self.c.pos()))),
            _ => {
                self.c = at;
                self.next_row_span_decoding()
            }
        }
    }

    /// `next_row_span` by decoding every value (and dropping it): the reference the width
    /// stepping must agree with, and its fallback for rows it cannot step over.
    #[doc(hidden)]
    pub fn next_row_span_decoding(&mut self) -> DResult<Option<(usize, usize, usize)>> {
        self.span_with(|c, which| c.read_image(which, |_, _| {}))
    }

    /// `next_row_span`, with the images it read left in `before` and `after` as `next_row`
    /// fills them (an INSERT's image in `after`), for a caller that needs both.
    pub fn next_row_span_into(
        &mut self,
        before: &mut Image<'e>,
        after: &mut Image<'e>,
    ) -> DResult<Option<(usize, usize, usize)>> {
        before.clear();
        after.clear();
        let width = self.ev.table.columns.len();
        let insert = self.ev.kind == RowsKind::Insert;
        self.span_with(|c, which| {
            let out = match which {
                Which::First if !insert => &mut *before,
                _ => &mut *after,
            };
            out.resize(width, None);
            c.read_image(which, |i, v| {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(v);
                }
            })
        })
    }

    /// `next_row_span_into` with only the columns of `key` decoded: the other values are
    /// stepped over by their widths and left None in the images, which are otherwise as
    /// `next_row_span_into` fills them. For a caller that needs a row's key and its span, not
    /// its values. A row it cannot step over is read by `next_row_span_into` (whole).
    pub fn next_row_span_keys(
        &mut self,
        key: &[usize],
        before: &mut Image<'e>,
        after: &mut Image<'e>,
    ) -> DResult<Option<(usize, usize, usize)>> {
        let ev = self.ev;
        if self.c.is_empty() || ev.partial {
            return self.next_row_span_into(before, after);
        }
        if self.widths.is_empty() {
            self.widths = ev.table.columns.iter().map(value_width).collect();
        }
        before.clear();
        after.clear();
        let width = ev.table.columns.len();
        let (at, start) = (self.c, self.c.pos());
        let first = match ev.kind {
            RowsKind::Insert => &mut *after,
            _ => &mut *before,
        };
        first.resize(width, None);
        let mut mid = self
            .keep_image(Which::First, key, first)
            .map(|()| self.c.pos());
        if mid.is_some() && ev.kind == RowsKind::Update {
            after.resize(width, None);
            if self.keep_image(Which::After, key, after).is_none() {
                mid = None;
            }
        }
        match mid {
            Some(mid) if self.c.pos() > start => Ok(Some((start, mid, self.c.pos()))),
            _ => {
                self.c = at;
                self.next_row_span_into(before, after)
            }
        }
    }

    /// `skip_image`, with the values of the columns in `key` decoded into `out`. None where
    /// it cannot step over a value or decode a key value (the caller then decodes the row
    /// whole, which says why it fails).
    fn keep_image(&mut self, which: Which, key: &[usize], out: &mut Image<'e>) -> Option<()> {
        let ev = self.ev;
        let (present, nulls_len) = match which {
            Which::First => (ev.present, self.nulls_len),
            Which::After => (ev.present_after, self.nulls_len_after),
        };
        let nulls = self.c.try_take(nulls_len)?;
        let mut k = 0;
        for (i, width) in self.widths.iter().enumerate().take(ev.column_count) {
            if !bit(present, i) {
                continue;
            }
            let is_null = bit(nulls, k);
            k += 1;
            if key.contains(&i) {
                let slot = out.get_mut(i)?;
                *slot = Some(match is_null {
                    true => Value::Null,
                    false => decode_column(&mut self.c, &ev.table, i, false).ok()?,
                });
                continue;
            }
            if is_null {
                continue;
            }
            match *width {
                ValueWidth::Fixed(n) => self.c.try_take(n)?,
                ValueWidth::Prefixed(n) => {
                    let len = le_uint(self.c.try_take(n)?);
                    self.c.try_take(usize::try_from(len).ok()?)?
                }
                ValueWidth::Undecodable => return None,
            };
        }
        Some(())
    }

    /// The span of the next row, each of its images read by `read` (the before or only
    /// image, then an UPDATE's after image).
    #[inline]
    fn span_with(
        &mut self,
        mut read: impl FnMut(&mut Self, Which) -> DResult<()>,
    ) -> DResult<Option<(usize, usize, usize)>> {
        if self.c.is_empty() {
            return Ok(None);
        }
        let start = self.c.pos();
        read(self, Which::First)?;
        let mid = self.c.pos();
        if self.ev.kind == RowsKind::Update {
            read(self, Which::After)?;
        }
        if self.c.pos() == start {
            // Only a corrupt event logs rows without columns: stop instead of looping forever.
            return Err(DecodeError::new(
                "row image with no columns (corrupt columns-present bitmap)",
            ));
        }
        Ok(Some((start, mid, self.c.pos())))
    }

    /// Steps over one image by the columns' widths, without decoding the values. None where
    /// `read_image` would fail (and more: a row it cannot step over is decoded after all).
    fn skip_image(&mut self, which: Which) -> Option<()> {
        self.keep_image(which, &[], &mut Vec::new())
    }

    /// Reads one image, handing `put` each present column's index and value.
    #[inline]
    fn read_image(&mut self, which: Which, mut put: impl FnMut(usize, Value<'e>)) -> DResult<()> {
        let ev = self.ev;
        let table = &ev.table;
        let (present, after_partial, nulls_len) = match which {
            Which::First => (ev.present, false, self.nulls_len),
            Which::After => (ev.present_after, ev.partial, self.nulls_len_after),
        };
        let mut partial_bits: &[u8] = &[];
        if after_partial {
            let options = self.c.lenenc("partial update value options")?;
            if options & 1 != 0 {
                let json_cols = table
                    .columns
                    .iter()
                    .filter(|c| c.type_code == ty::JSON)
                    .count();
                partial_bits = self.c.take(json_cols.div_ceil(8), "partial JSON bitmap")?;
            }
        }
        let n = ev.column_count;
        let nulls = self.c.take(nulls_len, "row null bitmap")?;
        if partial_bits.is_empty() {
            // No JSON diffs: only the present columns need a look.
            let columns = match which {
                Which::First => &self.present,
                Which::After => &self.present_after,
            };
            for (k, &i) in columns.iter().enumerate() {
                if i >= table.columns.len() {
                    continue;
                }
                put(
                    i,
                    if bit(nulls, k) {
                        Value::Null
                    } else {
                        decode_column(&mut self.c, table, i, false)?
                    },
                );
            }
            return Ok(());
        }
        let (mut k, mut json_k) = (0usize, 0usize);
        for (i, col) in table.columns.iter().enumerate().take(n) {
            let is_json = col.type_code == ty::JSON;
            let partial = is_json && bit(partial_bits, json_k);
            json_k += usize::from(is_json);
            if !bit(present, i) {
                continue;
            }
            let is_null = bit(nulls, k);
            k += 1;
            put(
                i,
                if is_null {
                    Value::Null
                } else {
                    decode_column(&mut self.c, table, i, partial)?
                },
            );
        }
        Ok(())
    }
}
