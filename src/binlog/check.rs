//! The one conflict check of a flashback, used by `arkc flashback --check` and the Binlog pane.
//!
//! A row conflicts only if the state the selected rollback will meet differs from what the
//! binlog left. The rows are walked in rollback order (newest transaction first, its rows last
//! to first), so a row that a newer selected transaction changed again is judged against the
//! image that newer transaction's undo leaves, without asking the server. Rows of a table with
//! a primary key are tracked per key; rows of a table without one (or an image without every
//! key column) are a multiset: the undo of an insert needs one more copy of its image than
//! the newer undos leave, and the server is asked for that many copies (never a per-row count).
//!
//! What the server must be asked is a list of `Lookup`s; `lookup_queries` batches them into
//! `UNION ALL` statements (lookups by an integer key: one select per table and up to
//! `KEY_GROUP` keys, `WHERE key IN (...)`; others: one point select each), and
//! `CheckPlan::verdict` turns what came back into one `RowState` per row. The module is pure:
//! the backend runs the statements.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::decoder::Event;
use crate::error::BinlogError;
use crate::render::push_ident;
use crate::review::{literals, ReviewedRow};
use crate::rows::{Image, RowsEvent, RowsKind};
use crate::tablemap::{ColumnNames, Generated, TableMap};
use crate::txn::{Transaction, TxnSink};
use crate::value::Value;

/// A row of a selection: (transaction index, row index in that transaction).
pub type RowId = (usize, usize);

/// One row change to check: its images as SQL literals, one per column; None where the
/// column cannot be compared with the server (not logged, a JSON diff, a VIRTUAL column).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub id: RowId,
    pub kind: RowsKind,
    /// `schema.table` as shown to people.
    pub table: String,
    /// `` `schema`.`table` `` as used in SQL.
    pub table_sql: String,
    pub columns: Arc<Vec<String>>,
    /// Primary key column indexes (empty when the table has none, or it is unknown).
    pub primary_key: Arc<Vec<usize>>,
    pub before: Vec<Option<String>>,
    pub after: Vec<Option<String>>,
}

impl CheckRow {
    /// The check's view of a reviewed row (the pane's selection).
    pub fn from_reviewed(id: RowId, row: &ReviewedRow) -> CheckRow {
        let blank = |img: &[Option<String>], skip: &[usize]| -> Vec<Option<String>> {
            let mut img = img.to_vec();
            for &i in skip {
                if let Some(cell) = img.get_mut(i) {
                    *cell = None;
                }
            }
            img
        };
        let after_skip: Vec<usize> = row
            .diff_columns
            .iter()
            .chain(&row.virtual_columns)
            .copied()
            .collect();
        CheckRow {
            id,
            kind: row.kind,
            table: row.table.clone(),
            table_sql: row.table_sql.clone(),
            columns: row.columns.clone(),
            primary_key: row.primary_key.clone(),
            before: blank(&row.before, &row.virtual_columns),
            after: blank(&row.after, &after_skip),
        }
    }

    /// The change the undo of this row makes: images swapped, an insert undone is a delete
    /// and a delete undone an insert. "Is the row as the undo leaves it?" is the check before
    /// applying of this change (`check_spill::CheckSpill::undo_spill`).
    pub fn undone(mut self) -> CheckRow {
        self.kind = match self.kind {
            RowsKind::Insert => RowsKind::Delete,
            RowsKind::Delete => RowsKind::Insert,
            RowsKind::Update => RowsKind::Update,
        };
        std::mem::swap(&mut self.before, &mut self.after);
        self
    }

    /// The key literals of `img` when the table has a key and the image holds all of it.
    pub(crate) fn key_of<'a>(&self, img: &'a [Option<String>]) -> Option<Vec<&'a str>> {
        if self.primary_key.is_empty() {
            return None;
        }
        self.primary_key
            .iter()
            .map(|&i| img.get(i).and_then(|c| c.as_deref()))
            .collect()
    }

    /// NULL-safe conditions on the given columns of `img` (the columns it holds).
    pub(crate) fn conditions(&self, img: &[Option<String>], only: Option<&[usize]>) -> String {
        let mut s = String::new();
        let all: Vec<usize> = (0..img.len()).collect();
        for &i in only.unwrap_or(&all) {
            let (Some(Some(v)), Some(name)) = (img.get(i), self.columns.get(i)) else {
                continue;
            };
            if !s.is_empty() {
                s.push_str(" AND ");
            }
            push_ident(name, &mut s);
            s.push_str(" <=> ");
            s.push_str(v);
        }
        if s.is_empty() {
            s.push_str("TRUE");
        }
        s
    }
}

/// Whether the check runs before the rollback or verifies it afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CheckMode {
    /// Before applying: the rows must still be as the binlog left them.
    BeforeApply,
    /// After applying: the rows must now be as they were before the change.
    AfterApply,
}

/// The verdict on one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RowState {
    /// As the binlog left it: the rollback applies cleanly.
    AsLeft,
    /// Changed (or gone) since: undoing it would overwrite or miss a newer write.
    ChangedSince,
    /// A row with the same key exists again: re-inserting the deleted row would collide.
    KeyTaken,
    /// After apply: as it was before the change.
    Restored,
    /// After apply: still not as it was before the change.
    NotRestored,
    /// Cannot be told; the text says why.
    Unknown(String),
}

impl RowState {
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            RowState::ChangedSince | RowState::KeyTaken | RowState::NotRestored
        )
    }
}

/// One question for the server: how many rows (up to `limit`) of `table_sql` match `cond`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub table_sql: String,
    pub cond: String,
    pub limit: u32,
    /// The primary key `cond` pins, when all of it is integers (so lookups of one table can
    /// share one `WHERE key IN (...)`; two integer literals are one key only if equal).
    pub key: Option<LookupKey>,
}

/// A primary key as SQL: `` `id` `` and `5`, or `` (`a`, `b`) `` and `(1, 2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKey {
    pub columns: String,
    pub values: String,
}

impl LookupKey {
    /// The key of `row` with literals `key`, when every literal is an integer.
    pub(crate) fn of(row: &CheckRow, key: &[&str]) -> Option<LookupKey> {
        let integer = |v: &&str| {
            let digits = v.strip_prefix('-').unwrap_or(v);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        if key.is_empty() || !key.iter().all(integer) {
            return None;
        }
        let mut columns = String::new();
        for (n, &i) in row.primary_key.iter().enumerate() {
            if n > 0 {
                columns.push_str(", ");
            }
            push_ident(row.columns.get(i)?, &mut columns);
        }
        let mut values = key.join(", ");
        if key.len() > 1 {
            columns = format!("({columns})");
            values = format!("({values})");
        }
        Some(LookupKey { columns, values })
    }
}

/// What a row needs for its verdict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// Decided by the walk alone (a newer selected undo leaves this state).
    Decided(RowState),
    /// At least `n` rows must match lookup `l`; else `fail`.
    AtLeast { l: usize, n: u32, fail: RowState },
    /// No row may match lookup `l`; else `fail`.
    None { l: usize, fail: RowState },
}

/// The planned check: lookups to run, and how each row's verdict follows from their results.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub mode: CheckMode,
    pub lookups: Vec<Lookup>,
    rows: Vec<(RowId, Vec<Need>)>,
}

/// A keyless image of a table: (table, literals), borrowed from the rows being planned.
type KeylessImage<'a> = (&'a str, &'a [Option<String>]);
/// A key of a table: (table, key literals).
type TableKey<'a> = (&'a str, Vec<&'a str>);
/// Where a row is in the binlog, for a report: (file, event offset, GTID).
pub type RowOrigin = (Arc<str>, u64, Option<Arc<str>>);

/// The state of one key after the newer undos: the row's literals, or None for no row.
type Planned<'a> = Option<&'a [Option<String>]>;

/// The walk after applying borrows every table name, key and image from the rows (the
/// pane's verification of what it applied; the walk before applying is `check_walk`).
struct Walk<'a> {
    plan: CheckPlan,
    /// (table, key literals) -> state the newer undos leave.
    keys: HashMap<TableKey<'a>, Planned<'a>>,
    /// (table, key literals, asks for an image) -> the lookup asking the server.
    key_lookups: HashMap<(TableKey<'a>, bool), usize>,
    /// Keyless images: (table, literals) -> copies the newer undos added (minus taken).
    balance: HashMap<KeylessImage<'a>, i64>,
    /// Keyless images: (table, literals) -> (lookup, copies the server must hold).
    copies: HashMap<KeylessImage<'a>, (usize, u32)>,
}

/// Whether `have` (what a newer undo leaves) is the image `want` (what the binlog left),
/// comparing the columns both hold.
pub(crate) fn same_image(have: &[Option<String>], want: &[Option<String>]) -> bool {
    have.iter()
        .zip(want)
        .all(|(h, w)| h.is_none() || w.is_none() || h == w)
}

impl<'a> Walk<'a> {
    fn lookup(
        &mut self,
        table_sql: &str,
        cond: String,
        limit: u32,
        key: Option<LookupKey>,
    ) -> usize {
        self.plan.lookups.push(Lookup {
            table_sql: table_sql.to_string(),
            cond,
            limit,
            key,
        });
        self.plan.lookups.len() - 1
    }

    fn give_copy(&mut self, row: &'a CheckRow, img: &'a [Option<String>]) {
        *self
            .balance
            .entry((row.table_sql.as_str(), img))
            .or_insert(0) += 1;
    }

    /// What the undo of `row` leaves at its keys: no row at the after key, the before image
    /// at the before key (in that order, so a key-keeping update leaves its before image).
    fn leave(&mut self, row: &'a CheckRow, kb: &Option<Vec<&'a str>>, ka: &Option<Vec<&'a str>>) {
        if let Some(k) = ka {
            self.keys.insert((row.table_sql.as_str(), k.clone()), None);
        }
        if let Some(k) = kb {
            self.keys
                .insert((row.table_sql.as_str(), k.clone()), Some(&row.before));
        }
    }
}

impl CheckPlan {
    /// Plan the check of `rows`, given in rollback order (newest transaction first, each
    /// transaction's rows last to first).
    pub fn new(mode: CheckMode, rows: &[CheckRow]) -> CheckPlan {
        if mode == CheckMode::BeforeApply {
            return before_apply(rows);
        }
        let mut walk = Walk {
            plan: CheckPlan {
                mode,
                lookups: Vec::new(),
                rows: Vec::new(),
            },
            keys: HashMap::new(),
            key_lookups: HashMap::new(),
            balance: HashMap::new(),
            copies: HashMap::new(),
        };
        after_apply(&mut walk, rows);
        walk.plan
    }

    /// One verdict per row (in the order given to `new`) from `found[l]`, the number of rows
    /// lookup `l` returned.
    pub fn verdict(&self, found: &[u32]) -> Vec<(RowId, RowState)> {
        let count = |l: usize| found.get(l).copied().unwrap_or(0);
        self.rows
            .iter()
            .map(|(id, needs)| (*id, verdict_of(needs, self.mode, &count)))
            .collect()
    }
}

/// The verdict on a row from its needs and `count(l)`, the rows lookup `l` returned: the
/// first need that fails, else as left (restored).
pub(crate) fn verdict_of(
    needs: &[Need],
    mode: CheckMode,
    count: &dyn Fn(usize) -> u32,
) -> RowState {
    let mut state = None;
    for need in needs {
        let failed = match need {
            Need::Decided(s) if s.is_problem() => Some(s.clone()),
            Need::Decided(_) => None,
            Need::AtLeast { l, n, fail } => (count(*l) < *n).then(|| fail.clone()),
            Need::None { l, fail } => (count(*l) > 0).then(|| fail.clone()),
        };
        if let Some(s) = failed {
            state.get_or_insert(s);
        }
    }
    let ok = match (needs.first(), mode) {
        (Some(Need::Decided(RowState::Unknown(why))), _) => RowState::Unknown(why.clone()),
        (_, CheckMode::BeforeApply) => RowState::AsLeft,
        (_, CheckMode::AfterApply) => RowState::Restored,
    };
    state.unwrap_or(ok)
}

/// Before applying: the digest walk (`check_walk`) over the rows in memory.
fn before_apply(rows: &[CheckRow]) -> CheckPlan {
    let mut walk = crate::check_walk::BeforeApplyWalk::new();
    let mut fetch = |at: u64| Ok::<_, std::convert::Infallible>(rows[at as usize].clone());
    let mut plan_rows = Vec::with_capacity(rows.len());
    for (at, row) in rows.iter().enumerate() {
        let needs = walk
            .push(row, at as u64, &|_| true, &mut fetch)
            .unwrap_or_else(|never| match never {});
        plan_rows.push((row.id, needs.into_iter().map(|(_, n)| n).collect()));
    }
    let mut lookups: Vec<Option<Lookup>> = vec![None; walk.lookup_count()];
    for (l, lookup) in walk.take_pending() {
        lookups[l] = Some(lookup);
    }
    for k in walk.keyless_lookups() {
        lookups[k.id] = Some(k.of(&rows[k.at as usize]));
    }
    CheckPlan {
        mode: CheckMode::BeforeApply,
        lookups: lookups.into_iter().flatten().collect(),
        rows: plan_rows,
    }
}

/// After applying: every key must hold what the oldest selected change found, and every
/// keyless image the rollback put back must be there as many times as it put it back.
fn after_apply<'a>(walk: &mut Walk<'a>, rows: &'a [CheckRow]) {
    for row in rows {
        let (kb, ka) = (row.key_of(&row.before), row.key_of(&row.after));
        walk.leave(row, &kb, &ka);
        if kb.is_none() && !row.before.is_empty() {
            walk.give_copy(row, &row.before);
        }
        if ka.is_none() && !row.after.is_empty() {
            *walk
                .balance
                .entry((row.table_sql.as_str(), row.after.as_slice()))
                .or_insert(0) -= 1;
        }
    }
    for row in rows {
        let (kb, ka) = (row.key_of(&row.before), row.key_of(&row.after));
        let mut needs = Vec::new();
        for key in [kb, ka].into_iter().flatten() {
            let k = (row.table_sql.as_str(), key.clone());
            let planned = walk.keys.get(&k).copied().flatten();
            let asked = (k, planned.is_some());
            let l = match walk.key_lookups.get(&asked) {
                Some(&l) => l,
                None => {
                    let cond = match &planned {
                        Some(img) => row.conditions(img, None),
                        None => {
                            let img = match row.key_of(&row.before).as_ref() == Some(&key) {
                                true => &row.before,
                                false => &row.after,
                            };
                            row.conditions(img, Some(&row.primary_key))
                        }
                    };
                    let l = walk.lookup(&row.table_sql, cond, 1, LookupKey::of(row, &key));
                    walk.key_lookups.insert(asked, l);
                    l
                }
            };
            needs.push(match planned {
                Some(_) => Need::AtLeast {
                    l,
                    n: 1,
                    fail: RowState::NotRestored,
                },
                None => Need::None {
                    l,
                    fail: RowState::NotRestored,
                },
            });
        }
        if row.key_of(&row.before).is_none() && !row.before.is_empty() {
            let k = (row.table_sql.as_str(), row.before.as_slice());
            let want = walk.balance.get(&k).copied().unwrap_or(0);
            if want > 0 {
                let l = match walk.copies.get(&k) {
                    Some(&(l, _)) => l,
                    None => {
                        let cond = row.conditions(&row.before, None);
                        let l = walk.lookup(&row.table_sql, cond, 0, None);
                        walk.copies.insert(k, (l, 0));
                        l
                    }
                };
                walk.plan.lookups[l].limit = want as u32;
                needs.push(Need::AtLeast {
                    l,
                    n: want as u32,
                    fail: RowState::NotRestored,
                });
            }
        }
        if needs.is_empty() {
            // A keyless insert undone: a deleted copy cannot be told from its duplicates.
            needs.push(Need::Decided(RowState::Unknown(
                "no primary key: a deleted row cannot be told from its duplicates".into(),
            )));
        }
        walk.plan.rows.push((row.id, needs));
    }
}

/// Lookups by an integer key share one select of at most this many: the server finds each
/// row by the key and tries it against its own lookup (a `CASE` on the key, so a larger
/// group costs only integer comparisons per row).
pub const KEY_GROUP: usize = 64;

/// The lookups as `UNION ALL` statements, each at most about `max_bytes` long, made one at a
/// time as they are taken (a check of many rows never holds all its SQL). Every result
/// row is the comma-separated list of the lookups it matched (possibly empty): a lookup by an
/// integer key shares a select with up to `KEY_GROUP` lookups of distinct keys of the same
/// table, consecutive in `lookups` (`SELECT CONCAT_WS(',', CASE WHEN key = k THEN IF(cond, i,
/// NULL) ... END) FROM t WHERE key IN (...)`: a key's row is found once, by the primary key,
/// and compared with its own lookup only); any other is a point select of its own.
/// Yields each statement with the range of lookups it covers.
pub fn lookup_queries(lookups: &[Lookup], max_bytes: usize) -> LookupQueries<'_> {
    LookupQueries {
        lookups,
        max_bytes,
        next: 0,
    }
}

/// The statements of `lookup_queries`.
pub struct LookupQueries<'a> {
    lookups: &'a [Lookup],
    max_bytes: usize,
    next: usize,
}

impl LookupQueries<'_> {
    /// The select of the lookups from `i` on: its SQL and the index after the last it covers.
    fn part(&self, i: usize) -> (String, usize) {
        let lookups = self.lookups;
        let l = &lookups[i];
        let Some(key) = &l.key else {
            let sql = format!(
                "(SELECT {i} FROM {} WHERE {} LIMIT {})",
                l.table_sql, l.cond, l.limit
            );
            return (sql, i + 1);
        };
        let same = |m: &Lookup| {
            m.limit > 0
                && m.table_sql == l.table_sql
                && m.key.as_ref().is_some_and(|k| k.columns == key.columns)
        };
        // One WHEN per key: a key's row is tried against its own lookup only.
        let mut seen = std::collections::HashSet::new();
        let mut end = i;
        while end < lookups.len() && end - i < KEY_GROUP && (end == i || same(&lookups[end])) {
            match &lookups[end].key {
                Some(k) if seen.insert(k.values.as_str()) => end += 1,
                _ => break,
            }
        }
        let mut part = String::from("(SELECT CONCAT_WS(',', CASE");
        let mut keys = String::new();
        for (j, m) in lookups[i..end].iter().enumerate() {
            if j > 0 {
                keys.push_str(", ");
            }
            if let Some(k) = &m.key {
                part.push_str(&format!(
                    " WHEN {} = {} THEN IF({}, {}, NULL)",
                    key.columns,
                    k.values,
                    m.cond,
                    i + j
                ));
                keys.push_str(&k.values);
            }
        }
        part.push_str(&format!(
            " END) FROM {} WHERE {} IN ({keys}))",
            l.table_sql, key.columns
        ));
        (part, end)
    }
}

impl Iterator for LookupQueries<'_> {
    type Item = (std::ops::Range<usize>, String);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.next;
        let mut sql = String::new();
        while self.next < self.lookups.len() {
            if self.lookups[self.next].limit == 0 {
                self.next += 1;
                continue;
            }
            let (part, end) = self.part(self.next);
            if !sql.is_empty() && sql.len() + part.len() > self.max_bytes {
                return Some((start..self.next, sql));
            }
            if !sql.is_empty() {
                sql.push_str(" UNION ALL ");
            }
            sql.push_str(&part);
            self.next = end;
        }
        (!sql.is_empty()).then_some((start..self.lookups.len(), sql))
    }
}

/// The lookups one result row of `lookup_queries` names: `"3,7"` (or `""`: none).
pub fn matched_lookups(cell: &str) -> impl Iterator<Item = Result<usize, String>> + '_ {
    cell.split(',').filter(|s| !s.is_empty()).map(|s| {
        s.parse::<usize>()
            .map_err(|_| format!("not a lookup index: {s:?}"))
    })
}

/// A `TxnSink` collecting the rows of a scan as `CheckRow`s (for `arkc flashback --check`),
/// with each row's place in the binlog for the report.
#[derive(Debug, Default)]
pub struct CheckRowSink {
    /// In binlog order.
    pub rows: Vec<CheckRow>,
    /// Per row: (file, event offset, GTID).
    pub origins: Vec<RowOrigin>,
    pending: usize,
    txns: usize,
    names: ColumnNames,
}

impl CheckRowSink {
    pub fn new() -> Self {
        CheckRowSink::default()
    }

    /// The rows in rollback order, with their origins.
    pub fn rollback_order(mut self) -> (Vec<CheckRow>, Vec<RowOrigin>) {
        self.rows.reverse();
        self.origins.reverse();
        (self.rows, self.origins)
    }
}

/// The literals of `img`, without the columns the server cannot be compared on.
pub(crate) fn comparable(t: &TableMap, img: &Image, after: bool) -> Vec<Option<String>> {
    let mut cells = literals(t, img);
    for (i, cell) in cells.iter_mut().enumerate() {
        let virtual_col = t.columns.get(i).and_then(|c| c.generated) == Some(Generated::Virtual);
        let diff = after && matches!(img.get(i), Some(Some(Value::JsonDiff(_))));
        if virtual_col || diff {
            *cell = None;
        }
    }
    cells
}

impl TxnSink for CheckRowSink {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let mut reader = r.row_reader();
        let (mut b, mut a): (Image, Image) = (Vec::new(), Vec::new());
        let t = &r.table;
        let columns = self.names.of(t);
        let primary_key = Arc::new(t.primary_key.clone());
        let table = format!("{}.{}", t.schema, t.table);
        let mut table_sql = String::new();
        crate::render::push_table(t, &mut table_sql);
        let file: Arc<str> = txn.file.as_str().into();
        let gtid: Option<Arc<str>> = txn.gtid.as_deref().map(Into::into);
        let mut n = 0;
        while reader
            .next_row(&mut b, &mut a)
            .map_err(|e| BinlogError::Decode {
                path: txn.file.clone().into(),
                offset: ev.offset,
                event: "ROWS",
                reason: e.0,
            })?
        {
            let in_txn = self.rows.len() - self.pending_start();
            self.rows.push(CheckRow {
                id: (self.txns, in_txn),
                kind: r.kind,
                table: table.clone(),
                table_sql: table_sql.clone(),
                columns: columns.clone(),
                primary_key: primary_key.clone(),
                before: comparable(t, &b, false),
                after: comparable(t, &a, true),
            });
            self.origins.push((file.clone(), ev.offset, gtid.clone()));
            self.pending += 1;
            n += 1;
        }
        Ok(n)
    }

    fn commit(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        if self.pending > 0 {
            self.txns += 1;
        }
        self.pending = 0;
        Ok(())
    }

    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        let keep = self.pending_start();
        self.rows.truncate(keep);
        self.origins.truncate(keep);
        self.pending = 0;
        Ok(())
    }
}

impl CheckRowSink {
    fn pending_start(&self) -> usize {
        self.rows.len() - self.pending
    }
}
