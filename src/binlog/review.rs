//! Reviewing transactions one at a time: each committed transaction with its row changes
//! (before/after values as SQL literals, the rollback and replay statement of every row,
//! rendered by the flashback planner itself) and the conditions a reviewer needs to check
//! rows against a live server. Used by the console's Binlog pane, which lets a person pick
//! transactions and single rows and then assembles the plan with `assemble_rollback`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::decoder::Event;
use crate::error::BinlogError;
use crate::event::{redact_statement, QueryEvent};
use crate::plan::{
    shown_tables, sql_header, txn_header, Direction, FlashbackOptions, FlashbackPlanner,
};
use crate::render::{push_ident, push_sql_value};
use crate::rows::{Image, RowsEvent, RowsKind};
use crate::tablemap::{ColumnNames, Generated, TableMap};
use crate::txn::{Transaction, TxnSink};
use crate::value::Value;

/// Characters of each annotated statement kept per transaction.
const MAX_ANNOTATE_CHARS: usize = 2000;

/// One row change of a reviewed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewedRow {
    pub kind: RowsKind,
    /// `schema.table` as shown to people.
    pub table: String,
    /// `` `schema`.`table` `` as used in SQL.
    pub table_sql: String,
    pub columns: Arc<Vec<String>>,
    /// SQL literal per column; None when the column is not in the image (or no image).
    pub before: Vec<Option<String>>,
    pub after: Vec<Option<String>>,
    /// The statement (with `;\n`) that undoes this row, exactly as the planner writes it.
    pub undo_sql: String,
    /// The statement that replays it (the undo's inverse), for the audit file.
    pub redo_sql: String,
    /// The undo / redo statement writes values although nobody said which columns are
    /// generated (the plan's header then says so, as `arkc flashback` does).
    pub undo_generated_unknown: bool,
    pub redo_generated_unknown: bool,
    /// Primary key column indexes of the table (empty when unknown).
    pub primary_key: Arc<Vec<usize>>,
    /// After-image columns holding a partial JSON diff: not comparable with the server.
    pub diff_columns: Vec<usize>,
    /// VIRTUAL generated columns (known from the server): computed on read, so they are left
    /// out of the conditions, as the planner leaves them out of its WHERE.
    pub virtual_columns: Vec<usize>,
}

impl ReviewedRow {
    /// Conditions identifying the row as the binlog left it (None for a DELETE). Built from
    /// the kept literals on demand, so a scan does not hold them twice.
    pub fn after_cond(&self) -> Option<RowConditions> {
        let skip: Vec<usize> = self
            .diff_columns
            .iter()
            .chain(&self.virtual_columns)
            .copied()
            .collect();
        conditions(&self.columns, &self.after, &self.primary_key, &skip)
    }

    /// The same for the row as it was before the change (None for an INSERT).
    pub fn before_cond(&self) -> Option<RowConditions> {
        let skip = &self.virtual_columns;
        conditions(&self.columns, &self.before, &self.primary_key, skip)
    }
}

/// WHERE conditions for one row image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowConditions {
    /// The primary key columns (all columns when the table has no known key).
    pub key: String,
    /// Every column, NULL-safe.
    pub full: String,
    pub has_key: bool,
}

/// One committed transaction with its kept row changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewedTxn {
    pub txn: Transaction,
    pub rows: Vec<ReviewedRow>,
    /// Why this transaction cannot be undone exactly (empty when it can).
    pub refusals: Vec<String>,
    /// Rows counted but not kept (over the per-transaction or total budget).
    pub rows_dropped: u64,
}

impl ReviewedTxn {
    pub fn row_count(&self) -> u64 {
        self.txn.inserts + self.txn.updates + self.txn.deletes
    }

    /// Whether every row is here, so a rollback can be assembled from it.
    pub fn complete(&self) -> bool {
        self.rows_dropped == 0
    }
}

/// Limits on what a review keeps in memory.
#[derive(Debug, Clone, Copy)]
pub struct ReviewLimits {
    pub max_rows_per_txn: usize,
    /// Approximate bytes of kept rows over the whole scan.
    pub max_total_bytes: usize,
}

impl Default for ReviewLimits {
    fn default() -> Self {
        ReviewLimits {
            max_rows_per_txn: 20_000,
            max_total_bytes: 64 << 20,
        }
    }
}

/// A `TxnSink` handing each committed transaction to `deliver` as it completes.
pub struct ReviewSink<F> {
    undo: FlashbackPlanner,
    redo: FlashbackPlanner,
    limits: ReviewLimits,
    kept_bytes: usize,
    cur: Vec<ReviewedRow>,
    refusals: Vec<String>,
    dropped: u64,
    names: ColumnNames,
    keys: HashMap<(String, String), Arc<Vec<usize>>>,
    deliver: F,
}

impl<F> ReviewSink<F>
where
    F: FnMut(ReviewedTxn) -> Result<(), BinlogError>,
{
    pub fn new(limits: ReviewLimits, deliver: F) -> Result<Self, BinlogError> {
        let opts = |direction| FlashbackOptions {
            direction,
            // Rows are taken out one by one, so the planner never spills.
            chunk_bytes: usize::MAX,
            ..Default::default()
        };
        Ok(ReviewSink {
            undo: FlashbackPlanner::new(opts(Direction::Rollback))?,
            redo: FlashbackPlanner::new(opts(Direction::Forward))?,
            limits,
            kept_bytes: 0,
            cur: Vec::new(),
            refusals: Vec::new(),
            dropped: 0,
            names: ColumnNames::default(),
            keys: HashMap::new(),
            deliver,
        })
    }

    fn primary_key(&mut self, t: &TableMap) -> Arc<Vec<usize>> {
        let key = (t.schema.clone(), t.table.clone());
        match self.keys.get(&key) {
            Some(known) if **known == t.primary_key => known.clone(),
            _ => {
                let shared = Arc::new(t.primary_key.clone());
                self.keys.insert(key, shared.clone());
                shared
            }
        }
    }

    fn over_budget(&self) -> bool {
        self.cur.len() >= self.limits.max_rows_per_txn
            || self.kept_bytes >= self.limits.max_total_bytes
    }

    fn keep_row(
        &mut self,
        txn: &Transaction,
        t: &TableMap,
        kind: RowsKind,
        before: &Image,
        after: &Image,
        renders: bool,
    ) -> Result<(), BinlogError> {
        let (mut undo_sql, mut redo_sql) = (String::new(), String::new());
        let (mut undo_unknown, mut redo_unknown) = (false, false);
        if renders {
            self.undo.render_row(txn, t, kind, before, after)?;
            undo_sql = self.undo.take_rendered();
            undo_unknown = self.undo.last_row_generated_unknown();
            self.redo.render_row(txn, t, kind, before, after)?;
            redo_sql = self.redo.take_rendered();
            redo_unknown = self.redo.last_row_generated_unknown();
        }
        let row = ReviewedRow {
            kind,
            table: format!("{}.{}", t.schema, t.table),
            table_sql: table_sql(t),
            columns: self.names.of(t),
            before: literals(t, before),
            after: literals(t, after),
            undo_sql,
            redo_sql,
            undo_generated_unknown: undo_unknown,
            redo_generated_unknown: redo_unknown,
            primary_key: self.primary_key(t),
            diff_columns: after
                .iter()
                .enumerate()
                .filter(|(_, v)| matches!(v, Some(Value::JsonDiff(_))))
                .map(|(i, _)| i)
                .collect(),
            virtual_columns: t
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.generated == Some(Generated::Virtual))
                .map(|(i, _)| i)
                .collect(),
        };
        self.kept_bytes += row_bytes(&row);
        self.cur.push(row);
        Ok(())
    }

    fn reset(&mut self) {
        self.cur.clear();
        self.refusals.clear();
        self.dropped = 0;
        self.undo.take_rendered();
        self.redo.take_rendered();
    }
}

impl<F> TxnSink for ReviewSink<F>
where
    F: FnMut(ReviewedTxn) -> Result<(), BinlogError>,
{
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
        let known = self.undo.refusals().len();
        let renders = self.undo.check_rows(txn, ev, r);
        if !renders {
            let reason = match self.undo.refusals().get(known) {
                Some(refusal) => refusal.to_string(),
                None => format!("offset {}: rows event cannot be undone exactly", ev.offset),
            };
            self.refusals.push(reason);
        }
        let mut reader = r.row_reader();
        let (mut before, mut after): (Image, Image) = (Vec::new(), Vec::new());
        let mut n = 0;
        while reader
            .next_row(&mut before, &mut after)
            .map_err(decode_err)?
        {
            n += 1;
            if self.over_budget() {
                self.dropped += 1;
                continue;
            }
            self.keep_row(txn, &r.table, r.kind, &before, &after, renders)?;
        }
        Ok(n)
    }

    fn statement(
        &mut self,
        _txn: &Transaction,
        ev: &Event<'_>,
        q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        let short: String = redact_statement(&q.query_text())
            .chars()
            .take(120)
            .collect();
        self.refusals.push(format!(
            "offset {}: statement `{short}` cannot be undone by flashback",
            ev.offset
        ));
        Ok(())
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        if txn.is_empty() {
            self.reset();
            return Ok(());
        }
        let mut kept = txn.clone();
        // A statement can be megabytes (a bulk INSERT); the list needs its start only.
        for text in &mut kept.annotate {
            if let Some((cut, _)) = text.char_indices().nth(MAX_ANNOTATE_CHARS) {
                text.truncate(cut);
                text.push('…');
            }
        }
        let reviewed = ReviewedTxn {
            txn: kept,
            rows: std::mem::take(&mut self.cur),
            refusals: std::mem::take(&mut self.refusals),
            rows_dropped: self.dropped,
        };
        self.reset();
        (self.deliver)(reviewed)
    }

    fn rollback(&mut self, _txn: &Transaction) -> Result<(), BinlogError> {
        let freed: usize = self.cur.iter().map(row_bytes).sum();
        self.kept_bytes = self.kept_bytes.saturating_sub(freed);
        self.reset();
        Ok(())
    }
}

fn row_bytes(row: &ReviewedRow) -> usize {
    // Heap sizes as allocated (capacity), plus the vectors' own slots.
    let cells = |img: &[Option<String>]| {
        img.iter().flatten().map(String::capacity).sum::<usize>() + img.len() * 24
    };
    160 + cells(&row.before)
        + cells(&row.after)
        + row.undo_sql.capacity()
        + row.redo_sql.capacity()
        + (row.diff_columns.capacity() + row.virtual_columns.capacity()) * 8
}

fn table_sql(t: &TableMap) -> String {
    let mut s = String::new();
    push_ident(&t.schema, &mut s);
    s.push('.');
    push_ident(&t.table, &mut s);
    s
}

pub(crate) fn literals(t: &TableMap, img: &Image) -> Vec<Option<String>> {
    img.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_ref().map(|v| {
                let mut s = String::new();
                push_sql_value(v, &t.columns[i], &mut s);
                s
            })
        })
        .collect()
}

/// NULL-safe conditions on the literals of `img`, leaving out `skip` (JSON diffs), with the
/// key part on the primary key when every key column is in the image.
fn conditions(
    columns: &[String],
    img: &[Option<String>],
    primary_key: &[usize],
    skip: &[usize],
) -> Option<RowConditions> {
    if img.is_empty() {
        return None;
    }
    let cond = |cols: &mut dyn Iterator<Item = usize>| {
        let mut s = String::new();
        for i in cols {
            let (Some(Some(v)), Some(name)) = (img.get(i), columns.get(i)) else {
                continue;
            };
            if skip.contains(&i) {
                continue;
            }
            if !s.is_empty() {
                s.push_str(" AND ");
            }
            push_ident(name, &mut s);
            s.push_str(" <=> ");
            s.push_str(v);
        }
        s
    };
    let full = cond(&mut (0..img.len()));
    let has_key = !primary_key.is_empty()
        && primary_key
            .iter()
            .all(|&i| matches!(img.get(i), Some(Some(_))) && !skip.contains(&i));
    let key = match has_key {
        true => cond(&mut primary_key.iter().copied()),
        false => full.clone(),
    };
    Some(RowConditions { key, full, has_key })
}

/// The chosen rows of one transaction, for `assemble_rollback`.
pub struct Chosen<'a> {
    pub txn: &'a ReviewedTxn,
    /// Indexes into `txn.rows`, in binlog order.
    pub rows: Vec<usize>,
}

/// The rollback of the chosen rows: the planner's header, then the transactions in reverse
/// commit order, each with its rows reversed; the same text `arkc flashback` writes for the
/// same rows. `chosen` must be in binlog order. Errors list what cannot be undone.
pub fn assemble_rollback(chosen: &[Chosen<'_>]) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    for c in chosen {
        let name = c
            .txn
            .txn
            .gtid
            .clone()
            .unwrap_or_else(|| c.txn.txn.position());
        if !c.txn.complete() {
            problems.push(format!(
                "{name}: {} rows were not kept in memory; narrow the scan (start point) or use \
                 `arkc flashback --start-position {}`",
                c.txn.rows_dropped, c.txn.txn.start_pos
            ));
        }
        problems.extend(c.txn.refusals.iter().map(|r| format!("{name}: {r}")));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let kept = with_statements(chosen, |r| &r.undo_sql);
    let statements = count_statements(&kept, |r| &r.undo_sql);
    let note = generated_note(&kept, |r| r.undo_generated_unknown);
    let (txns, statements) = (kept.len() as u64, statements as u64);
    let mut out = sql_header("rollback", txns, statements, note.as_deref());
    for c in kept.iter().rev() {
        out.push_str(&txn_header(&c.txn.txn, Direction::Rollback));
        for &i in c.rows.iter().rev() {
            if let Some(row) = c.txn.rows.get(i) {
                out.push_str(&row.undo_sql);
            }
        }
        out.push_str("COMMIT;\n");
    }
    Ok(out)
}

/// The inverse of `assemble_rollback` for the same rows: the original changes, in order.
pub fn assemble_redo(chosen: &[Chosen<'_>]) -> String {
    let kept = with_statements(chosen, |r| &r.redo_sql);
    let statements = count_statements(&kept, |r| &r.redo_sql);
    let note = generated_note(&kept, |r| r.redo_generated_unknown);
    let (txns, statements) = (kept.len() as u64, statements as u64);
    let mut out = sql_header("forward replay", txns, statements, note.as_deref());
    for c in &kept {
        out.push_str(&txn_header(&c.txn.txn, Direction::Forward));
        for &i in &c.rows {
            if let Some(row) = c.txn.rows.get(i) {
                out.push_str(&row.redo_sql);
            }
        }
        out.push_str("COMMIT;\n");
    }
    out
}

/// The chosen transactions that produce at least one statement (an UPDATE that changed
/// nothing produces none, and the planner then leaves the transaction out too).
fn with_statements<'c, 'a>(
    chosen: &'c [Chosen<'a>],
    sql: fn(&ReviewedRow) -> &String,
) -> Vec<&'c Chosen<'a>> {
    chosen
        .iter()
        .filter(|c| {
            c.rows
                .iter()
                .any(|&i| c.txn.rows.get(i).is_some_and(|r| !sql(r).is_empty()))
        })
        .collect()
}

/// The note on generated columns for the chosen rows flagged by `unknown`: written without
/// the server's column definitions (a typed file, an unreachable instance).
fn generated_note(kept: &[&Chosen<'_>], unknown: fn(&ReviewedRow) -> bool) -> Option<String> {
    let tables = kept
        .iter()
        .flat_map(|c| c.rows.iter().filter_map(|&i| c.txn.rows.get(i)))
        .filter(|r| unknown(r))
        .map(|r| r.table_sql.clone())
        .collect();
    let names = shown_tables(&tables)?;
    Some(format!(
        "columns of {names} unknown to be generated (the server rejects a value for one): \
         scan the binlogs listed for the instance while it is reachable so they can be left out"
    ))
}

fn count_statements(kept: &[&Chosen<'_>], sql: fn(&ReviewedRow) -> &String) -> usize {
    kept.iter()
        .flat_map(|c| c.rows.iter().filter_map(|&i| c.txn.rows.get(i)))
        .filter(|r| !sql(r).is_empty())
        .count()
}
