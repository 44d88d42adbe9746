//! Flashback planning: rows events in, rollback (or forward) SQL out. Each kept
//! transaction is rendered once into a reusable buffer and spilled to a temporary file;
//! the output is assembled from the spill at the end, in reverse commit order for a
//! rollback, so memory stays flat whatever the binlog size.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::decoder::Event;
use crate::error::BinlogError;
use crate::event::{redact_statement, QueryEvent};
use crate::render::{
    is_generated, push_conditions, push_ident, push_json_diff, push_sql_value, push_table,
    QuotedNames,
};
use crate::rows::{Image, RowsEvent, RowsKind};
use crate::tablemap::{ty, TableMap};
use crate::txn::{Transaction, TxnSink};
use crate::value::Value;

/// Why flashback refuses an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub file: String,
    pub offset: u64,
    pub gtid: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)?;
        if let Some(g) = &self.gtid {
            write!(f, " (GTID {g})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Undo the changes: reverse order, inverse statements.
    #[default]
    Rollback,
    /// Replay the changes as SQL, in order.
    Forward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhereColumns {
    /// The primary key when the table map names it, else all columns.
    #[default]
    PrimaryKey,
    All,
}

#[derive(Debug, Clone, Copy)]
pub struct FlashbackOptions {
    pub direction: Direction,
    pub where_columns: WhereColumns,
    /// A transaction's SQL is spilled in chunks of about this size.
    pub chunk_bytes: usize,
}

impl Default for FlashbackOptions {
    fn default() -> Self {
        FlashbackOptions {
            direction: Direction::Rollback,
            where_columns: WhereColumns::PrimaryKey,
            chunk_bytes: 8 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlashbackStats {
    pub transactions: u64,
    pub statements: u64,
    pub bytes: u64,
}

const MAX_REFUSALS: usize = 50;

/// Session settings the generated SQL relies on: utf8mb4 literals, TIMESTAMPs in UTC, explicit
/// zeros kept in AUTO_INCREMENT columns, and a fixed strict sql_mode: a value that no longer fits
/// (the table changed since) is an error, never a silent truncation. ALLOW_INVALID_DATES and the
/// absence of NO_ZERO_DATE let stored legacy dates go back exactly as the binlog has them.
pub const SESSION_SETTINGS: &str = "SET NAMES utf8mb4;\nSET time_zone='+00:00';\n\
     SET SESSION sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION';\n";

/// A `TxnSink` that renders flashback SQL; call `finish` to write it out.
pub struct FlashbackPlanner {
    opts: FlashbackOptions,
    spill: BufWriter<File>,
    spill_len: u64,
    /// (offset, length, closes) of rendered blocks in the spill file, in binlog order;
    /// `closes`: the block has the transaction's COMMIT (see `finish_blocks`).
    blocks: Vec<(u64, u32, bool)>,
    cur: String,
    stmt_ends: Vec<usize>,
    /// Index in `blocks` where the current transaction's flushed chunks start.
    txn_first_block: Option<usize>,
    refusals: Vec<Refusal>,
    refusals_dropped: usize,
    stats: FlashbackStats,
    /// Tables written with column values although nobody said which columns are generated.
    generated_unknown: std::collections::BTreeSet<String>,
    last_unknown: Option<(String, String)>,
    last_row_unknown: bool,
    /// The quoted names of the last rows event's table (held, so its address is its own).
    names: Option<(Arc<TableMap>, Arc<QuotedNames>)>,
}

fn io_err(e: std::io::Error) -> BinlogError {
    BinlogError::Output(e)
}

impl FlashbackPlanner {
    pub fn new(opts: FlashbackOptions) -> Result<Self, BinlogError> {
        let file = tempfile::tempfile().map_err(io_err)?;
        Ok(FlashbackPlanner {
            opts,
            spill: BufWriter::with_capacity(1 << 20, file),
            spill_len: 0,
            blocks: Vec::new(),
            cur: String::with_capacity(1 << 16),
            stmt_ends: Vec::new(),
            txn_first_block: None,
            refusals: Vec::new(),
            refusals_dropped: 0,
            stats: FlashbackStats::default(),
            generated_unknown: Default::default(),
            last_unknown: None,
            last_row_unknown: false,
            names: None,
        })
    }

    pub fn refusals(&self) -> &[Refusal] {
        &self.refusals
    }

    /// A one-line warning when the output lists column values of tables whose generated
    /// columns are unknown (no schema info from a server): the server rejects values for them.
    pub fn generated_note(&self) -> Option<String> {
        generated_note_for(&self.generated_unknown)
    }

    /// Whether the last rendered row was written without knowing its generated columns.
    pub(crate) fn last_row_generated_unknown(&self) -> bool {
        self.last_row_unknown
    }

    fn refuse(&mut self, txn: &Transaction, offset: u64, reason: String) {
        if self.refusals.len() >= MAX_REFUSALS {
            self.refusals_dropped += 1;
            return;
        }
        self.refusals.push(Refusal {
            file: txn.file.clone(),
            offset,
            gtid: txn.gtid.clone(),
            reason,
        });
    }

    /// Appends `header`, the current statements (newest first for a rollback) and
    /// `footer` to the spill file as one block, and clears the statements.
    fn write_block(&mut self, header: &str, footer: &str) -> Result<(), BinlogError> {
        let len = header.len() + self.cur.len() + footer.len();
        let len32 =
            u32::try_from(len).map_err(|_| io_err(std::io::Error::other("block over 4 GiB")))?;
        self.spill.write_all(header.as_bytes()).map_err(io_err)?;
        match self.opts.direction {
            Direction::Forward => self.spill.write_all(self.cur.as_bytes()).map_err(io_err)?,
            Direction::Rollback => {
                for (i, &end) in self.stmt_ends.iter().enumerate().rev() {
                    let start = if i == 0 { 0 } else { self.stmt_ends[i - 1] };
                    self.spill
                        .write_all(&self.cur.as_bytes()[start..end])
                        .map_err(io_err)?;
                }
            }
        }
        self.spill.write_all(footer.as_bytes()).map_err(io_err)?;
        // The footer is COMMIT or nothing: a transaction split into several blocks has it
        // in the one emitted last, whichever the direction.
        self.blocks
            .push((self.spill_len, len32, !footer.is_empty()));
        self.spill_len += len as u64;
        self.cur.clear();
        self.stmt_ends.clear();
        Ok(())
    }

    /// A transaction outgrew `chunk_bytes`: spill what it has so far.
    fn flush_chunk(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        if self.txn_first_block.is_some() {
            return self.write_block("", "");
        }
        self.txn_first_block = Some(self.blocks.len());
        match self.opts.direction {
            // Blocks are emitted last-first: the footer goes in first, the header last.
            Direction::Rollback => {
                let body = std::mem::take(&mut self.cur);
                let ends = std::mem::take(&mut self.stmt_ends);
                self.write_block("", "COMMIT;\n")?;
                self.cur = body;
                self.stmt_ends = ends;
                self.write_block("", "")
            }
            Direction::Forward => self.write_block(&txn_header(txn, self.opts.direction), ""),
        }
    }

    fn end_statement(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        self.cur.push_str(";\n");
        self.stmt_ends.push(self.cur.len());
        self.stats.statements += 1;
        if self.cur.len() >= self.opts.chunk_bytes {
            self.flush_chunk(txn)?;
        }
        Ok(())
    }

    /// Writes the SQL to `out`, or refuses (listing every refused event) without writing.
    pub fn finish(self, out: &mut dyn Write) -> Result<FlashbackStats, BinlogError> {
        let stats =
            self.finish_blocks(&mut |block, _| out.write_all(block.as_bytes()).map_err(io_err))?;
        out.flush().map_err(io_err)?;
        Ok(stats)
    }

    /// Hands the output to `each` in pieces: first the header with the session settings,
    /// then each spilled block in output order (a transaction is one block unless it
    /// outgrew `chunk_bytes`). `each` also gets whether no transaction is left open after
    /// the piece (the header, a whole transaction, or the last piece of one): a reader of the
    /// output may cut it there. Refuses, without calling `each`, if anything was refused.
    pub fn finish_blocks(
        mut self,
        each: &mut dyn FnMut(&str, bool) -> Result<(), BinlogError>,
    ) -> Result<FlashbackStats, BinlogError> {
        if !self.refusals.is_empty() {
            if self.refusals_dropped > 0 {
                self.refusals.push(Refusal {
                    file: String::new(),
                    offset: 0,
                    gtid: None,
                    reason: format!("... and {} more", self.refusals_dropped),
                });
            }
            return Err(BinlogError::Refused(self.refusals));
        }
        let note = self.generated_note();
        self.spill.flush().map_err(io_err)?;
        let mut file = self
            .spill
            .into_inner()
            .map_err(|e| io_err(e.into_error()))?;
        let what = match self.opts.direction {
            Direction::Rollback => "rollback",
            Direction::Forward => "forward replay",
        };
        let head = sql_header(
            what,
            self.stats.transactions,
            self.stats.statements,
            note.as_deref(),
        );
        each(&head, true)?;
        let mut buf = Vec::new();
        let mut emit = |&(off, len, closes): &(u64, u32, bool)| -> Result<(), BinlogError> {
            buf.resize(len as usize, 0);
            file.seek(SeekFrom::Start(off)).map_err(io_err)?;
            file.read_exact(&mut buf).map_err(io_err)?;
            let text = std::str::from_utf8(&buf).map_err(|e| io_err(std::io::Error::other(e)))?;
            each(text, closes)
        };
        match self.opts.direction {
            Direction::Rollback => self.blocks.iter().rev().try_for_each(&mut emit)?,
            Direction::Forward => self.blocks.iter().try_for_each(&mut emit)?,
        }
        self.stats.bytes = self.spill_len + head.len() as u64;
        Ok(self.stats)
    }

    pub(crate) fn check_rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> bool {
        let t = &r.table;
        let name = format!("`{}`.`{}`", t.schema, t.table);
        if let Some(drift) = &t.drift {
            let reason = format!(
                "{name}: the table changed since this event ({drift}); refusing to write SQL \
                 against the wrong columns"
            );
            self.refuse(txn, ev.offset, reason);
            return false;
        }
        if !t.has_names {
            let reason = format!(
                "{name}: the binlog has no column names (set binlog_row_metadata=FULL on the \
                 server, or pass --url to read them from information_schema); refusing to \
                 write SQL against guessed columns"
            );
            self.refuse(txn, ev.offset, reason);
            return false;
        }
        if self.opts.direction == Direction::Rollback && !r.is_full_image() {
            let reason = format!(
                "{name}: {} rows event without full row images (binlog_row_image=MINIMAL or \
                 NOBLOB); the old values needed to undo it are not in the binlog",
                r.kind.as_str()
            );
            self.refuse(txn, ev.offset, reason);
            return false;
        }
        let has_json = t.columns.iter().any(|c| c.type_code == ty::JSON);
        let where_uses_after = self.opts.direction == Direction::Rollback;
        if r.partial && has_json && where_uses_after && !self.pk_usable(t) {
            let reason = format!(
                "{name}: partial JSON update (binlog_row_value_options=PARTIAL_JSON) on a table \
                 without a primary key: the new JSON value is only a diff, so the row cannot be \
                 found to undo it"
            );
            self.refuse(txn, ev.offset, reason);
            return false;
        }
        true
    }

    fn pk_usable(&self, t: &TableMap) -> bool {
        self.opts.where_columns == WhereColumns::PrimaryKey
            && !t.primary_key.is_empty()
            && t.primary_key
                .iter()
                .all(|&i| t.columns[i].type_code != ty::JSON)
    }

    pub(crate) fn render_row(
        &mut self,
        txn: &Transaction,
        t: &TableMap,
        kind: RowsKind,
        before: &Image,
        after: &Image,
    ) -> Result<(), BinlogError> {
        let kind = match (self.opts.direction, kind) {
            (Direction::Forward, k) => k,
            (Direction::Rollback, RowsKind::Insert) => RowsKind::Delete,
            (Direction::Rollback, RowsKind::Delete) => RowsKind::Insert,
            (Direction::Rollback, RowsKind::Update) => RowsKind::Update,
        };
        self.last_row_unknown =
            !t.generated_known && (kind != RowsKind::Delete || !self.pk_usable(t));
        if self.last_row_unknown {
            self.note_generated_unknown(t);
        }
        let names = match &self.names {
            Some((a, names)) if std::ptr::eq(Arc::as_ptr(a), t) => names.clone(),
            _ => Arc::new(QuotedNames::new(t)),
        };
        self.render_statement(txn, t, &names, kind, before, after)
    }

    fn render_statement(
        &mut self,
        txn: &Transaction,
        t: &TableMap,
        names: &QuotedNames,
        kind: RowsKind,
        before: &Image,
        after: &Image,
    ) -> Result<(), BinlogError> {
        // Rollback swaps the images: the after image is what the table holds now.
        let (old, new) = match self.opts.direction {
            Direction::Forward => (before, after),
            Direction::Rollback => (after, before),
        };
        match kind {
            RowsKind::Insert => {
                let image = if self.opts.direction == Direction::Forward {
                    after
                } else {
                    before
                };
                self.render_insert(t, names, image)
            }
            RowsKind::Delete => {
                let image = if self.opts.direction == Direction::Forward {
                    before
                } else {
                    after
                };
                self.cur.push_str("DELETE FROM ");
                self.cur.push_str(&names.table);
                self.render_where(t, names, image);
            }
            RowsKind::Update => {
                if !self.render_update_set(t, names, old, new) {
                    return Ok(());
                }
                self.render_where(t, names, old);
            }
        }
        self.end_statement(txn)
    }

    fn note_generated_unknown(&mut self, t: &TableMap) {
        // Rows come in runs of one table: skip the name lookup for the same table map.
        let same = |(s, n): &(String, String)| *s == t.schema && *n == t.table;
        if self.last_unknown.as_ref().is_some_and(same) {
            return;
        }
        self.last_unknown = Some((t.schema.clone(), t.table.clone()));
        let mut name = String::new();
        push_table(t, &mut name);
        self.generated_unknown.insert(name);
    }

    /// INSERT of the logged columns; generated ones are left for the server to compute.
    fn render_insert(&mut self, t: &TableMap, names: &QuotedNames, image: &Image) {
        let out = &mut self.cur;
        out.push_str("INSERT INTO ");
        out.push_str(&names.table);
        out.push_str(" (");
        let values = || {
            image
                .iter()
                .enumerate()
                .filter(|(i, _)| !is_generated(t, *i))
                .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
        };
        for (k, (i, _)) in values().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            names.push_column(t, i, out);
        }
        out.push_str(") VALUES (");
        for (k, (i, v)) in values().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            push_sql_value(v, &t.columns[i], out);
        }
        out.push(')');
    }

    /// `UPDATE t SET` the non-generated columns whose value changes from `old` to `new`;
    /// false if none.
    fn render_update_set(
        &mut self,
        t: &TableMap,
        names: &QuotedNames,
        old: &Image,
        new: &Image,
    ) -> bool {
        let start = self.cur.len();
        let out = &mut self.cur;
        out.push_str("UPDATE ");
        out.push_str(&names.table);
        out.push_str(" SET ");
        let mut first = true;
        for (i, v) in new.iter().enumerate() {
            let Some(v) = v else { continue };
            if old.get(i).is_some_and(|o| o.as_ref() == Some(v)) || is_generated(t, i) {
                continue;
            }
            if !first {
                out.push_str(", ");
            }
            first = false;
            names.push_column(t, i, out);
            out.push_str(" = ");
            match v {
                Value::JsonDiff(d) => push_json_diff(&t.column_name(i), d, out),
                _ => push_sql_value(v, &t.columns[i], out),
            }
        }
        if first {
            self.cur.truncate(start);
        }
        !first
    }

    fn render_where(&mut self, t: &TableMap, names: &QuotedNames, image: &Image) {
        let use_pk = self.pk_usable(t);
        self.cur.push_str(" WHERE ");
        push_conditions(t, names, image, use_pk, &mut self.cur);
        self.cur.push_str(" LIMIT 1");
    }
}

/// The session settings every plan starts with; `what` is "rollback" or "forward replay";
/// `note` (see `generated_note_for`) becomes a comment line.
pub fn sql_header(what: &str, transactions: u64, statements: u64, note: Option<&str>) -> String {
    let note = note.map(|n| format!("-- note: {n}\n")).unwrap_or_default();
    format!(
        "-- arkc flashback: {what} of {transactions} transaction(s), {statements} statement(s)\n{note}{SESSION_SETTINGS}"
    )
}

/// The warning for `tables` (`` `db`.`t` ``) written without knowing their generated columns.
pub fn generated_note_for(tables: &std::collections::BTreeSet<String>) -> Option<String> {
    let names = shown_tables(tables)?;
    Some(format!(
        "without --url arkc cannot tell generated columns and writes values for them, \
         which the server rejects; if any of {names} has one, re-run with --url"
    ))
}

/// `tables` joined for a one-line message: the first few, then how many more.
pub fn shown_tables(tables: &std::collections::BTreeSet<String>) -> Option<String> {
    const SHOWN: usize = 5;
    let n = tables.len();
    if n == 0 {
        return None;
    }
    let mut names: Vec<&str> = tables.iter().take(SHOWN).map(String::as_str).collect();
    let more = format!("{} more", n - names.len());
    if n > SHOWN {
        names.push(&more);
    }
    Some(names.join(", "))
}

impl FlashbackPlanner {
    /// Takes the statements rendered since the last call (`review` renders row by row).
    pub(crate) fn take_rendered(&mut self) -> String {
        self.stmt_ends.clear();
        std::mem::take(&mut self.cur)
    }
}

/// The comment and BEGIN that open one transaction's block.
pub fn txn_header(txn: &Transaction, dir: Direction) -> String {
    let what = match dir {
        Direction::Rollback => "undo",
        Direction::Forward => "replay",
    };
    let mut s = format!("\n-- {what} ");
    match &txn.gtid {
        Some(g) => s.push_str(&format!("GTID {g}")),
        None => s.push_str("transaction"),
    }
    s.push_str(&format!(
        " at {} committed {} UTC",
        txn.position(),
        txn.time_utc()
    ));
    if let Some(t) = txn.thread_id {
        s.push_str(&format!(", thread {t}"));
    }
    s.push_str("\nBEGIN;\n");
    s
}

impl TxnSink for FlashbackPlanner {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let decode_err = |e: crate::error::DecodeError| BinlogError::Decode {
            path: txn.file.clone().into(),
            offset: ev.offset,
            event: "ROWS",
            reason: e.0,
        };
        if !self.refusals.is_empty() || !self.check_rows(txn, ev, r) {
            return r.count_rows().map(|n| n as u64).map_err(decode_err);
        }
        if !self
            .names
            .as_ref()
            .is_some_and(|(a, _)| Arc::ptr_eq(a, &r.table))
        {
            self.names = Some((r.table.clone(), Arc::new(QuotedNames::new(&r.table))));
        }
        let mut reader = r.row_reader();
        let (mut before, mut after): (Image, Image) = (Vec::new(), Vec::new());
        let mut n = 0;
        while reader
            .next_row(&mut before, &mut after)
            .map_err(decode_err)?
        {
            self.render_row(txn, &r.table, r.kind, &before, &after)?;
            n += 1;
        }
        Ok(n)
    }

    fn statement(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        let text = q.query_text();
        match self.opts.direction {
            Direction::Rollback => {
                let short: String = redact_statement(&text).chars().take(120).collect();
                let reason = format!(
                    "statement in range cannot be undone by flashback: `{short}` (stop before it \
                     with --stop-position, or start after it)"
                );
                self.refuse(txn, ev.offset, reason);
            }
            Direction::Forward => {
                if !q.schema.is_empty() {
                    self.cur.push_str("USE ");
                    push_ident(&q.schema, &mut self.cur);
                    self.cur.push_str(";\n");
                }
                self.cur.push_str(text.trim_end_matches([';', ' ', '\n']));
                self.end_statement(txn)?;
            }
        }
        Ok(())
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        if self.cur.is_empty() && self.txn_first_block.is_none() {
            return Ok(());
        }
        self.stats.transactions += 1;
        let header = txn_header(txn, self.opts.direction);
        match (self.opts.direction, self.txn_first_block.take().is_some()) {
            (_, false) => self.write_block(&header, "COMMIT;\n"),
            (Direction::Rollback, true) => self.write_block(&header, ""),
            (Direction::Forward, true) => self.write_block("", "COMMIT;\n"),
        }
    }

    fn rollback(&mut self, _txn: &Transaction) -> Result<(), BinlogError> {
        if let Some(first) = self.txn_first_block.take() {
            self.blocks.truncate(first);
        }
        self.stats.statements -= self.stmt_ends.len() as u64;
        self.cur.clear();
        self.stmt_ends.clear();
        Ok(())
    }
}
