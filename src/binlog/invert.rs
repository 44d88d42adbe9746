//! The rollback as MariaDB row events, for the server's `BINLOG '<base64>'` statement: the
//! fastest path a MariaDB server has for applying rows (no SQL to parse or plan). Byte-level:
//! each kept rows event is written again with WRITE and DELETE swapped, the before and after
//! images of an UPDATE swapped, its rows in reverse order, preceded by its own TABLE_MAP; the
//! events of a transaction go newest first. The format description sent first says "no
//! checksum", so no event carries one. Only what the scan kept reaches the sink: the same
//! scope (-d/-t/--sql-type) as the SQL.

use std::io::Write;

use crate::apply_keys::{image_row_print, table_print, TxnKeys};
use crate::error::DecodeError;
use crate::event::QueryEvent;
use crate::rows::{Image, RowsEvent, RowsKind};
use crate::txn::{Transaction, TxnSink};
use crate::{BinlogError, Event};

pub const FORMAT_DESCRIPTION_EVENT: u8 = 15;
pub const TABLE_MAP_EVENT: u8 = 19;
pub const WRITE_ROWS_EVENT_V1: u8 = 23;
pub const UPDATE_ROWS_EVENT_V1: u8 = 24;
pub const DELETE_ROWS_EVENT_V1: u8 = 25;
pub const STMT_END_F: u16 = 1;
const HEADER_LEN: usize = 19;

/// The post-header lengths a MariaDB 10.x server writes in its format description, per event
/// type from 1 (TABLE_MAP and the v1 rows events: 8, a 6-byte table id and 2 bytes of flags).
const MARIADB_POST_HEADER_LENS: [u8; 171] = {
    let mut t = [0u8; 171];
    let head: [u8; 41] = [
        56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 228, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0,
        0, 10, 10, 10, 0, 0, 0, 0, 0, 0, 10, 10, 10,
    ];
    let tail: [u8; 11] = [4, 19, 4, 0, 13, 8, 8, 8, 10, 10, 10];
    let mut i = 0;
    while i < head.len() {
        t[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < tail.len() {
        t[160 + j] = tail[j];
        j += 1;
    }
    t
};

/// One event: the common header (log position 0: the server does not use it here) and body.
pub fn frame(type_code: u8, timestamp: u32, server_id: u32, body: &[u8]) -> Vec<u8> {
    let size = (HEADER_LEN + body.len()) as u32;
    let mut e = Vec::with_capacity(size as usize);
    e.extend_from_slice(&timestamp.to_le_bytes());
    e.push(type_code);
    e.extend_from_slice(&server_id.to_le_bytes());
    e.extend_from_slice(&size.to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e.extend_from_slice(body);
    e
}

/// A MariaDB format description without checksums (algorithm 0, off): every event after it
/// in the same `BINLOG` session is read without the 4 trailing bytes. The format description
/// itself keeps them (the server reads its algorithm byte 5 bytes from the end).
pub fn format_description(timestamp: u32, server_id: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 + 50 + 4 + 1 + 171 + 1);
    body.extend_from_slice(&4u16.to_le_bytes());
    let mut version = [0u8; 50];
    let v = b"10.11.0-MariaDB-arkc";
    version[..v.len()].copy_from_slice(v);
    body.extend_from_slice(&version);
    body.extend_from_slice(&timestamp.to_le_bytes());
    body.push(HEADER_LEN as u8);
    body.extend_from_slice(&MARIADB_POST_HEADER_LENS);
    body.push(0);
    body.extend_from_slice(&[0; 4]);
    let mut e = frame(FORMAT_DESCRIPTION_EVENT, timestamp, server_id, &body);
    let crc = crc32fast::hash(&e[..e.len() - 4]);
    let n = e.len();
    e[n - 4..].copy_from_slice(&crc.to_le_bytes());
    e
}

fn put_packed(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => {
            out.push(252);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(253);
            out.extend_from_slice(&n.to_le_bytes()[..3]);
        }
        _ => {
            out.push(254);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// The body of the v1 rows event that undoes `rows`: type code and body. `STMT_END_F` is set
/// so the server closes the tables after each event (each is preceded by its TABLE_MAP).
pub fn inverted_rows(rows: &RowsEvent<'_>) -> Result<(u8, Vec<u8>), DecodeError> {
    inverted_rows_with(rows, None, &mut |_, _| {})
}

/// `inverted_rows`, calling `each` once per row in binlog order with its images (before,
/// after; an INSERT's in `after`) holding the values of the columns of `key` only, as
/// `RowReader::next_row_span_keys` reads them; with `key` None, nothing is decoded and the
/// images are empty.
pub fn inverted_rows_with<'e>(
    rows: &'e RowsEvent<'e>,
    key: Option<&[usize]>,
    each: &mut dyn FnMut(&Image<'e>, &Image<'e>),
) -> Result<(u8, Vec<u8>), DecodeError> {
    if rows.partial {
        return Err(DecodeError::new(
            "partial JSON updates (MySQL) cannot be sent as MariaDB row events",
        ));
    }
    let mut spans = Vec::new();
    let mut reader = rows.row_reader();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    loop {
        let span = match key {
            Some(key) => reader.next_row_span_keys(key, &mut before, &mut after)?,
            None => reader.next_row_span()?,
        };
        let Some(span) = span else { break };
        each(&before, &after);
        spans.push(span);
    }
    let type_code = match rows.kind {
        RowsKind::Insert => DELETE_ROWS_EVENT_V1,
        RowsKind::Delete => WRITE_ROWS_EVENT_V1,
        RowsKind::Update => UPDATE_ROWS_EVENT_V1,
    };
    let mut body = Vec::with_capacity(16 + rows.rows.len());
    body.extend_from_slice(&rows.table.table_id.to_le_bytes()[..6]);
    body.extend_from_slice(&(rows.flags | STMT_END_F).to_le_bytes());
    put_packed(&mut body, rows.column_count as u64);
    match rows.kind {
        RowsKind::Update => {
            body.extend_from_slice(rows.present_after);
            body.extend_from_slice(rows.present);
        }
        _ => body.extend_from_slice(rows.present),
    }
    for &(start, mid, end) in spans.iter().rev() {
        match rows.kind {
            RowsKind::Update => {
                body.extend_from_slice(&rows.rows[mid..end]);
                body.extend_from_slice(&rows.rows[start..mid]);
            }
            _ => body.extend_from_slice(&rows.rows[start..end]),
        }
    }
    Ok((type_code, body))
}

/// Standard base64 with padding, as the server's `BINLOG` statement reads it.
pub fn base64(bytes: &[u8], out: &mut String) {
    use ::base64::Engine as _;
    ::base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// `BINLOG '...'` of the format description, sent once on each connection first.
pub fn format_description_statement() -> String {
    let mut s = String::from("BINLOG '");
    base64(&format_description(0, 0), &mut s);
    s.push('\'');
    s
}

/// The base64 payloads of the `BINLOG '...'` statements of one transaction's block as
/// `RowEventSink` writes it (`;\n` between statements), in order. The block is taken whole:
/// a transaction of one statement, the usual case, keeps its buffer. Err: the bytes are
/// not such a block.
pub fn statement_payloads(mut block: Vec<u8>) -> Result<Vec<Vec<u8>>, DecodeError> {
    const OPEN: &[u8] = b"BINLOG '";
    let payload = |s: &[u8]| -> Result<std::ops::Range<usize>, DecodeError> {
        match s.starts_with(OPEN) && s.ends_with(b"'") && s.len() > OPEN.len() + 1 {
            true => Ok(OPEN.len()..s.len() - 1),
            false => Err(DecodeError::new("not a BINLOG statement")),
        }
    };
    // Base64 holds no `;`: the separator is unambiguous.
    let cuts: Vec<usize> = memchr::memmem::find_iter(&block, b";\n").collect();
    if cuts.is_empty() {
        let range = payload(&block)?;
        block.truncate(range.end);
        block.drain(..range.start);
        return Ok(vec![block]);
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for end in cuts.into_iter().chain([block.len()]) {
        let statement = &block[at..end];
        let range = payload(statement)?;
        out.push(statement[range].to_vec());
        at = end + 2;
    }
    Ok(out)
}

/// A `BINLOG` statement holds whole events up to about this many bytes (before base64), so a
/// large transaction is several statements, each far under the server's max_allowed_packet.
pub const STATEMENT_EVENT_BYTES: usize = 1 << 20;

/// The transactions' inverted events as `BINLOG` statements (`;\n` between them when a
/// transaction needs several, see `STATEMENT_EVENT_BYTES`), one block per transaction, written to
/// `out` as each commits; `blocks` says where each transaction's statement lies, keyed by its
/// binlog position (`file`, start) so it can be paired with the SQL plan's transaction.
/// Anything that cannot be sent as row events (a statement, a partial update, a table map
/// without its bytes, a write to `out` that fails) is recorded in `unsupported` and the caller
/// keeps the SQL path.
pub struct RowEventSink<W: Write> {
    out: W,
    at: u64,
    /// The transaction's inverted events so far: (table id, TABLE_MAP event, rows event).
    pending: Vec<(u64, Vec<u8>, Vec<u8>)>,
    pub blocks: Vec<RowEventBlock>,
    /// Per block, the rows its transaction writes, read from the row images by each table's
    /// primary key (`apply_keys::image_row_print`); None when a table map of the
    /// transaction does not name its primary key (binlog_row_metadata below FULL).
    pub keys: Vec<Option<TxnKeys>>,
    pub unsupported: Option<String>,
    /// The current transaction's keys and rows so far.
    pending_keys: Option<TxnKeys>,
    pending_rows: u64,
}

/// The events of one `BINLOG` statement, as the server logs one statement's rows: the table
/// maps first (each table once), then the rows events, only the last with `STMT_END_F` (the
/// server opens the tables once per statement, not once per event). Drains `chunk`.
fn one_statement(chunk: &mut Vec<(u64, Vec<u8>, Vec<u8>)>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut mapped = Vec::new();
    for (id, map, _) in chunk.iter() {
        if !mapped.contains(id) {
            mapped.push(*id);
            out.extend_from_slice(map);
        }
    }
    let last = chunk.len().saturating_sub(1);
    for (i, (_, _, rows)) in chunk.drain(..).enumerate() {
        let at = out.len();
        out.extend_from_slice(&rows);
        if i != last {
            // The flags follow the 6-byte table id of the post-header.
            out[at + HEADER_LEN + 6] &= !(STMT_END_F as u8);
        }
    }
    out
}

/// One transaction's `BINLOG` statement in the sink's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowEventBlock {
    pub file: String,
    pub start_pos: u64,
    pub offset: u64,
    pub len: usize,
    /// Rows of the transaction.
    pub rows: u64,
}

impl<W: Write> RowEventSink<W> {
    pub fn new(out: W) -> Self {
        RowEventSink {
            out,
            at: 0,
            pending: Vec::new(),
            blocks: Vec::new(),
            keys: Vec::new(),
            unsupported: None,
            pending_keys: Some(TxnKeys::default()),
            pending_rows: 0,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn clear_pending(&mut self) {
        self.pending.clear();
        self.pending_keys = Some(TxnKeys::default());
        self.pending_rows = 0;
    }

    fn refuse(&mut self, why: String) {
        self.clear_pending();
        if self.unsupported.is_none() {
            self.unsupported = Some(why);
        }
    }
}

impl<W: Write> TxnSink for RowEventSink<W> {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        rows: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        if self.unsupported.is_some() {
            return Ok(0);
        }
        let version = RowsKind::from_type_code(ev.header.type_code).map(|(_, v, _)| v);
        if version != Some(1) {
            self.refuse(format!(
                "rows events of type {} (not MariaDB's) at {}",
                ev.header.type_code,
                txn.position()
            ));
            return Ok(0);
        }
        let Some(map) = rows.table.raw_body.clone() else {
            self.refuse(format!(
                "the table map of {}.{} at {} has no 6-byte table id",
                rows.table.schema,
                rows.table.table,
                txn.position()
            ));
            return Ok(0);
        };
        let table = &rows.table;
        let print = table_print(&format!("{}.{}", table.schema, table.table));
        let key = &table.primary_key;
        if key.is_empty() {
            self.pending_keys = None;
        }
        // Only the key columns are decoded, and none when the keys are not kept.
        let decoded = self.pending_keys.is_some().then_some(key.as_slice());
        let (keys, counted) = (&mut self.pending_keys, &mut self.pending_rows);
        let mut each = |before: &Image<'_>, after: &Image<'_>| {
            *counted += 1;
            if let Some(keys) = keys.as_mut() {
                for image in [before, after] {
                    if !image.is_empty() {
                        keys.add_row_print(print, image_row_print(print, key, image));
                    }
                }
            }
        };
        let (type_code, body) = match inverted_rows_with(rows, decoded, &mut each) {
            Ok(b) => b,
            Err(e) => {
                self.refuse(format!("{} at {}", e.0, txn.position()));
                return Ok(0);
            }
        };
        let (ts, sid) = (ev.header.timestamp, ev.header.server_id);
        let map = frame(TABLE_MAP_EVENT, ts, sid, &map);
        let rows_event = frame(type_code, ts, sid, &body);
        self.pending.push((rows.table.table_id, map, rows_event));
        Ok(0)
    }

    fn statement(
        &mut self,
        txn: &Transaction,
        _ev: &Event<'_>,
        _q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        self.refuse(format!("a statement in {}", txn.position()));
        Ok(())
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        if self.unsupported.is_some() || self.pending.is_empty() {
            self.clear_pending();
            return Ok(());
        }
        let mut sql = String::new();
        let mut chunk: Vec<(u64, Vec<u8>, Vec<u8>)> = Vec::new();
        let mut size = 0;
        let mut events = self.pending.drain(..).rev().peekable();
        while let Some(event) = events.next() {
            size += event.1.len() + event.2.len();
            chunk.push(event);
            let full = events
                .peek()
                .is_none_or(|next| size + next.1.len() + next.2.len() > STATEMENT_EVENT_BYTES);
            if full {
                if !sql.is_empty() {
                    sql.push_str(";\n");
                }
                sql.push_str("BINLOG '");
                base64(&one_statement(&mut chunk), &mut sql);
                sql.push('\'');
                size = 0;
            }
        }
        // Row events only make the restore cheaper: a spool that cannot be written (a full
        // disk) leaves the SQL path, whose own files then say what failed.
        drop(events);
        let written = self.out.write_all(sql.as_bytes());
        if let Err(e) = written {
            self.refuse(format!("cannot write the row events' temporary file ({e})"));
            return Ok(());
        }
        self.blocks.push(RowEventBlock {
            file: txn.file.clone(),
            start_pos: txn.start_pos,
            offset: self.at,
            len: sql.len(),
            rows: self.pending_rows,
        });
        self.keys.push(self.pending_keys.take());
        self.clear_pending();
        self.at += sql.len() as u64;
        Ok(())
    }

    fn rollback(&mut self, _txn: &Transaction) -> Result<(), BinlogError> {
        self.clear_pending();
        Ok(())
    }
}
