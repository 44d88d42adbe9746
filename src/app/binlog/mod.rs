//! The Binlog pane's state: the source picker, the streamed transaction list, the selection of
//! transactions and rows, the rollback preview (and its edited text), check and apply results.
//! Pure: keys arrive through `keys`, backend results through `on_event`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use arkc_binlog::review::{assemble_redo, assemble_rollback, Chosen, ReviewedRow, ReviewedTxn};
use arkc_binlog::scope::RowScope;
use arkc_binlog::RowsKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ratatui_textarea::TextArea;

pub(super) mod keys;
pub mod range;

use crate::backend::binlog::flashback::{
    ApplyReport, CheckMode, CheckReport, CheckRow, RowId, RowState, TxnResult,
};
use crate::backend::binlog::scan::{BinlogEvent, LogFile, ScanOutcome, StartPoint, StreamScan};

/// A transaction this large is flagged in the list (rows, or bytes of binlog).
pub const LARGE_TXN_ROWS: u64 = 1000;
pub const LARGE_TXN_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinlogView {
    /// Pick the binlogs to read and where to start.
    #[default]
    Source,
    /// Transactions, newest first.
    List,
    /// The focused transaction's row changes, before and after side by side.
    Rows,
    /// The rollback SQL for the selection.
    Preview,
}

/// What a line of typed text is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// A local binlog file or folder.
    Path,
    /// Where to start reading the chosen files.
    Start {
        files: Vec<PathBuf>,
        label: String,
        /// The instance the files were listed for (None for a typed path).
        instance: Option<String>,
        /// Pull the logs over the replication stream instead of reading `files`.
        stream: Option<StreamScan>,
    },
    /// Where to write the preview; an empty answer takes `default`.
    ExportPath { default: String },
    /// The instance name, typed to confirm an apply.
    ConfirmApply { instance: String },
    /// One field of the range form, with the filter words of the fields answered before it.
    Range {
        field: range::RangeField,
        words: Vec<String>,
        /// The scope fields' answers so far.
        scope: Vec<(range::RangeField, String)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
}

/// The files the source picker offers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceList {
    /// An instance name or a path.
    pub origin: String,
    /// The instance `files` were listed for; None when they come from a typed path.
    pub instance: Option<String>,
    pub files: Vec<LogFile>,
    pub loading: bool,
    pub error: Option<String>,
    /// 0 is "type a path"; 1.. are `files`.
    pub cursor: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanState {
    pub id: u64,
    pub label: String,
    pub bytes: u64,
    pub total_bytes: u64,
    pub events: u64,
    pub elapsed: Duration,
    /// None while running.
    pub outcome: Option<ScanOutcome>,
    /// The instance whose logs are read (None for a typed path).
    pub instance: Option<String>,
    /// Live follow: the stream stays open and transactions arrive as they commit.
    pub following: bool,
}

impl ScanState {
    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }

    pub fn following(&self) -> bool {
        self.following && self.running()
    }

    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(0.001)
    }
}

/// The rollback SQL as shown and as it will run.
#[derive(Debug, Clone)]
pub struct Preview {
    pub generated: String,
    /// What runs: `generated`, or the user's edit of it.
    pub text: String,
    pub redo: String,
    pub edited: bool,
    pub scroll: usize,
    /// The selection this was made from (`BinlogPane::selection_version`).
    pub version: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ApplyState {
    pub running: bool,
    pub results: Vec<TxnResult>,
    pub report: Option<ApplyReport>,
}

/// Everything the Binlog pane shows.
#[derive(Debug, Clone, Default)]
pub struct BinlogPane {
    pub view: BinlogView,
    pub sources: SourceList,
    /// The instance whose logs were last asked for (a new instance is listed afresh).
    pub listed: Option<String>,
    pub prompt: Option<Prompt>,
    pub scan: Option<ScanState>,
    pub next_scan_id: u64,
    /// Transactions in binlog order (the list shows them newest first).
    pub txns: Vec<ReviewedTxn>,
    /// Position in the visible (filtered, newest first) list.
    pub cursor: usize,
    /// Indexes into `txns` passing `filter_applied`, oldest first; kept up to date as batches
    /// arrive, so drawing never re-filters a long list.
    pub shown: Vec<usize>,
    /// The `/` filter `shown` was computed for (lower case).
    pub filter_applied: String,
    /// Marked transactions, by index into `txns`.
    pub marked: BTreeSet<usize>,
    /// Rows left out of marked transactions.
    pub excluded: BTreeSet<RowId>,
    pub selection_version: u64,
    /// The transaction shown in the Rows view and the row under the cursor.
    pub focus: Option<usize>,
    pub row_cursor: usize,
    /// Full values of the focused row, wrapped, instead of the side-by-side table.
    pub value_open: bool,
    /// First line shown of the full values (they can be longer than the screen).
    pub value_scroll: usize,
    pub preview: Option<Preview>,
    /// Why the selection has no preview (refusals: drift, DDL, missing images), in full.
    pub blocked: Vec<String>,
    pub editor: Option<TextArea<'static>>,
    pub checks: HashMap<RowId, RowState>,
    pub check_mode: Option<CheckMode>,
    pub checking: bool,
    pub apply: ApplyState,
    /// Set after a successful apply of the current selection: the next check verifies it.
    pub applied: bool,
    /// Rows outside the scope are never selected (`:scope`); the list shows transactions
    /// with rows in scope.
    pub scope: Option<RowScope>,
}

/// Rows per kind and table that the rollback will touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectionSummary {
    pub transactions: usize,
    pub rows: usize,
    /// table -> (inserts, updates, deletes) in the original changes.
    pub tables: BTreeMap<String, (usize, usize, usize)>,
}

impl BinlogPane {
    /// Recompute `shown` when the filter text changed.
    pub fn apply_filter(&mut self, filter: &str) {
        let needle = filter.to_lowercase();
        if needle == self.filter_applied {
            return;
        }
        self.filter_applied = needle;
        self.refilter();
    }

    fn refilter(&mut self) {
        self.shown = (0..self.txns.len()).filter(|&i| self.listed(i)).collect();
    }

    /// Whether transaction `i` passes the `/` filter and has rows in scope (a transaction
    /// with DDL stays listed: it may be why a preview is refused).
    fn listed(&self, i: usize) -> bool {
        let txn = &self.txns[i];
        let scoped = self.scope.is_none() || !txn.txn.ddl.is_empty() || self.rows_in_scope(i) > 0;
        scoped && (self.filter_applied.is_empty() || txn_matches(txn, &self.filter_applied))
    }

    pub fn add_txns(&mut self, batch: Vec<ReviewedTxn>) -> usize {
        let first = self.txns.len();
        self.txns.extend(batch);
        let before = self.shown.len();
        for i in first..self.txns.len() {
            if self.listed(i) {
                self.shown.push(i);
            }
        }
        self.shown.len() - before
    }

    pub fn in_scope(&self, row: &ReviewedRow) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|s| s.keeps(&row.table_sql, row.kind))
    }

    /// Rows of transaction `t` in scope (all its kept rows without a scope).
    pub fn rows_in_scope(&self, t: usize) -> usize {
        self.txns.get(t).map_or(0, |txn| {
            txn.rows.iter().filter(|r| self.in_scope(r)).count()
        })
    }

    /// Set or clear the scope: the list, the selection and its preview follow it.
    pub fn set_scope(&mut self, scope: Option<RowScope>) {
        self.scope = scope;
        self.refilter();
        self.cursor = self.cursor.min(self.shown.len().saturating_sub(1));
        self.selection_changed();
    }

    /// `:mark all` / `:mark none`: mark or unmark every listed transaction.
    pub fn mark_listed(&mut self, mark: bool) -> usize {
        let listed = self.visible();
        for &t in &listed {
            match mark {
                true => self.marked.insert(t),
                false => self.marked.remove(&t),
            };
        }
        self.selection_changed();
        listed.len()
    }

    /// How many transactions the list shows.
    pub fn visible_len(&self) -> usize {
        self.shown.len()
    }

    /// The transaction at list position `pos` (0 is the newest shown).
    pub fn visible_at(&self, pos: usize) -> Option<usize> {
        let k = self.shown.len().checked_sub(pos + 1)?;
        self.shown.get(k).copied()
    }

    /// Every shown transaction, newest first.
    pub fn visible(&self) -> Vec<usize> {
        self.shown.iter().rev().copied().collect()
    }

    pub fn row_selected(&self, id: RowId) -> bool {
        let scoped = self
            .txns
            .get(id.0)
            .and_then(|t| t.rows.get(id.1))
            .is_some_and(|r| self.in_scope(r));
        scoped && self.marked.contains(&id.0) && !self.excluded.contains(&id)
    }

    /// The selection in binlog order, as the engine's assembler wants it.
    pub fn chosen(&self) -> Vec<Chosen<'_>> {
        self.marked
            .iter()
            .filter_map(|&t| {
                let txn = self.txns.get(t)?;
                let rows: Vec<usize> = (0..txn.rows.len())
                    .filter(|&r| !self.excluded.contains(&(t, r)) && self.in_scope(&txn.rows[r]))
                    .collect();
                // A marked transaction with nothing in scope adds nothing to the plan.
                let any_in_scope = txn.rows.iter().any(|r| self.in_scope(r));
                (any_in_scope || txn.rows.is_empty()).then_some(Chosen { txn, rows })
            })
            .collect()
    }

    pub fn summary(&self) -> SelectionSummary {
        let mut s = SelectionSummary::default();
        for c in self.chosen() {
            s.transactions += 1;
            s.rows += c.rows.len();
            for &r in &c.rows {
                let row = &c.txn.rows[r];
                if !s.tables.contains_key(&row.table) {
                    s.tables.insert(row.table.clone(), Default::default());
                }
                let Some(e) = s.tables.get_mut(&row.table) else {
                    continue;
                };
                match row.kind {
                    RowsKind::Insert => e.0 += 1,
                    RowsKind::Update => e.1 += 1,
                    RowsKind::Delete => e.2 += 1,
                }
            }
        }
        s
    }

    /// The rows of the selection in rollback order, with what identifies them.
    pub fn check_rows(&self) -> Vec<CheckRow> {
        let mut rows = Vec::new();
        for &t in self.marked.iter().rev() {
            let Some(txn) = self.txns.get(t) else {
                continue;
            };
            for (r, row) in txn.rows.iter().enumerate().rev() {
                if self.excluded.contains(&(t, r)) || !self.in_scope(row) {
                    continue;
                }
                rows.push(CheckRow::from_reviewed((t, r), row));
            }
        }
        rows
    }

    /// Something about the selection changed: previews and results no longer describe it.
    pub fn selection_changed(&mut self) {
        self.selection_version += 1;
        self.blocked.clear();
        self.checks.clear();
        self.check_mode = None;
        self.applied = false;
    }

    /// Make (or keep) the preview for the current selection. Errors say what blocks it.
    pub fn ensure_preview(&mut self) -> Result<(), String> {
        if self
            .preview
            .as_ref()
            .is_some_and(|p| p.version == self.selection_version)
        {
            return Ok(());
        }
        if self.marked.is_empty() {
            return Err("nothing selected: mark transactions with the toggle key first".into());
        }
        let chosen = self.chosen();
        let generated = match assemble_rollback(&chosen) {
            Ok(sql) => sql,
            Err(problems) => {
                let text = format!("cannot undo the selection: {}", problems.join("; "));
                self.preview = None;
                self.blocked = problems;
                return Err(text);
            }
        };
        let redo = assemble_redo(&chosen);
        self.blocked.clear();
        self.preview = Some(Preview {
            text: generated.clone(),
            generated,
            redo,
            edited: false,
            scroll: 0,
            version: self.selection_version,
        });
        self.editor = None;
        Ok(())
    }

    /// Problems the last check found, and rows it looked at.
    pub fn check_counts(&self) -> (usize, usize) {
        let problems = self.checks.values().filter(|s| s.is_problem()).count();
        (problems, self.checks.len())
    }

    /// Apply a backend result. Returns a message for the status bar when there is news.
    pub fn on_event(&mut self, event: BinlogEvent) -> Option<(bool, String)> {
        match event {
            BinlogEvent::Logs { origin, result } => {
                self.sources.loading = false;
                self.sources.origin = origin;
                match result {
                    Ok(files) => {
                        self.sources.cursor = if files.is_empty() { 0 } else { 1 };
                        self.sources.files = files;
                        self.sources.error = None;
                    }
                    Err(e) => self.sources.error = Some(e),
                }
                None
            }
            BinlogEvent::Progress {
                id,
                bytes,
                total_bytes,
                events,
                elapsed,
            } => {
                if let Some(scan) = self.scan.as_mut().filter(|s| s.id == id) {
                    (scan.bytes, scan.total_bytes) = (bytes, total_bytes);
                    (scan.events, scan.elapsed) = (events, elapsed);
                }
                None
            }
            BinlogEvent::Transactions { id, batch } => {
                if self.scan.as_ref().is_some_and(|s| s.id == id) {
                    let was_at_top = self.cursor == 0;
                    let added = self.add_txns(batch);
                    // Newest first: keep the cursor on the same transaction unless it is at the top.
                    if !was_at_top {
                        self.cursor += added;
                    }
                }
                None
            }
            BinlogEvent::ScanFinished { id, outcome } => {
                let scan = self.scan.as_mut().filter(|s| s.id == id)?;
                scan.outcome = Some(outcome.clone());
                let n = self.txns.len();
                Some(match outcome {
                    ScanOutcome::Done => (false, format!("scan done: {n} transaction(s)")),
                    ScanOutcome::Cancelled => {
                        (false, format!("scan cancelled: {n} transaction(s) so far"))
                    }
                    ScanOutcome::Failed(e) => (true, format!("scan failed: {e}")),
                })
            }
            BinlogEvent::Checked(report) => Some(self.on_checked(report)),
            BinlogEvent::Applying(result) => {
                self.apply.results.push(result);
                None
            }
            BinlogEvent::Applied(report) => {
                self.apply.running = false;
                self.applied = report.ok;
                let text = match report.audit_files.first() {
                    Some(f) => format!("{} (audit: {})", report.message, f.display()),
                    None => report.message.clone(),
                };
                let failed = !report.ok;
                self.apply.report = Some(report);
                Some((failed, text))
            }
            BinlogEvent::Exported { path, result } => Some(match result {
                Ok(n) => (
                    false,
                    format!("preview written to {} ({n} bytes)", path.display()),
                ),
                Err(e) => (true, e),
            }),
        }
    }

    fn on_checked(&mut self, report: CheckReport) -> (bool, String) {
        self.checking = false;
        if let Some(e) = report.error {
            return (true, format!("check failed: {e}"));
        }
        self.check_mode = Some(report.mode);
        self.checks = report.rows.into_iter().collect();
        let (problems, total) = self.check_counts();
        let text = match (report.mode, problems) {
            (CheckMode::BeforeApply, 0) => {
                format!("check: all {total} row(s) are as the binlog left them")
            }
            (CheckMode::BeforeApply, n) => {
                format!("check: {n} of {total} row(s) changed since; they are marked ✗")
            }
            (CheckMode::AfterApply, 0) => {
                format!("re-check: all {total} row(s) match their before-images")
            }
            (CheckMode::AfterApply, n) => {
                format!("re-check: {n} of {total} row(s) do not match their before-images")
            }
        };
        (problems > 0, text)
    }
}

/// The `/` filter: words separated by spaces, all of which must match. A word is text found
/// in a table name, the annotated statement or the GTID; a DML type (`insert`, `update`,
/// `delete`); or a range: `from:` / `to:` a UTC time (`HH:MM[:SS]` on the commit day, or
/// `YYYY-MM-DDTHH:MM[:SS]`), `pos:N-M` (start position within N..M, either end optional).
fn txn_matches(t: &ReviewedTxn, filter: &str) -> bool {
    filter.split_whitespace().all(|word| word_matches(t, word))
}

fn word_matches(t: &ReviewedTxn, word: &str) -> bool {
    if let Some(at) = word.strip_prefix("from:") {
        return time_bound(t, at).is_some_and(|b| t.txn.timestamp as i64 >= b);
    }
    if let Some(at) = word.strip_prefix("to:") {
        return time_bound(t, at).is_some_and(|b| (t.txn.timestamp as i64) <= b);
    }
    if let Some(range) = word.strip_prefix("pos:") {
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let lo = lo.parse().unwrap_or(0);
        let hi = hi.parse().unwrap_or(u64::MAX);
        return (lo..=hi).contains(&t.txn.start_pos);
    }
    let kinds = [
        (t.txn.inserts > 0, "insert"),
        (t.txn.updates > 0, "update"),
        (t.txn.deletes > 0, "delete"),
    ];
    if let Some((has, _)) = kinds.iter().find(|(_, k)| *k == word) {
        return *has;
    }
    let lower = |s: &String| s.to_lowercase().contains(word);
    t.txn.tables.iter().any(lower)
        || t.txn.annotate.iter().any(lower)
        || t.txn.ddl.iter().any(lower)
        || t.txn.gtid.as_deref().is_some_and(|g| g.contains(word))
}

/// A `from:`/`to:` bound as Unix seconds; a bare time is taken on the transaction's own day.
fn time_bound(t: &ReviewedTxn, text: &str) -> Option<i64> {
    let text = text.replace('t', " ");
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&text, fmt) {
            return Some(dt.and_utc().timestamp());
        }
    }
    let day = DateTime::from_timestamp(t.txn.timestamp as i64, 0)?.date_naive();
    ["%H:%M:%S", "%H:%M"].iter().find_map(|fmt| {
        chrono::NaiveTime::parse_from_str(&text, fmt)
            .ok()
            .map(|time| day.and_time(time).and_utc().timestamp())
    })
}

/// Parse a start point as typed: empty (the beginning), a look-back ("15m", "2h", "last 15
/// minutes"), a UTC datetime, "pos N", or "gtid D-S-N".
pub fn parse_start(text: &str, now: DateTime<Utc>) -> Result<StartPoint, String> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return Ok(StartPoint::Beginning);
    }
    if let Some(pos) = t.strip_prefix("pos").map(str::trim) {
        return pos
            .trim_start_matches([':', '='])
            .trim()
            .parse()
            .map(StartPoint::Position)
            .map_err(|_| format!("bad position `{pos}`: a byte offset like `pos 4567`"));
    }
    if let Some(g) = t.strip_prefix("gtid").map(str::trim) {
        return match g.trim_start_matches([':', '=']).trim() {
            "" => Err("`gtid` needs a GTID, e.g. `gtid 0-1-42`".into()),
            g => Ok(StartPoint::Gtid(g.to_string())),
        };
    }
    if let Some(d) = look_back(&t) {
        let at = now - chrono::Duration::from_std(d).map_err(|e| e.to_string())?;
        return Ok(StartPoint::Since(at.timestamp().max(0) as u32));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&t, fmt) {
            return Ok(StartPoint::Since(dt.and_utc().timestamp().max(0) as u32));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        let dt = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        return Ok(StartPoint::Since(dt.and_utc().timestamp().max(0) as u32));
    }
    Err(format!(
        "cannot read start `{text}`: use 15m, 2h, last 30 minutes, YYYY-MM-DD HH:MM[:SS] (UTC), \
         pos N or gtid D-S-N"
    ))
}

/// "15m", "2 h", "last 15 minutes", "90s", "1d".
fn look_back(t: &str) -> Option<Duration> {
    let t = t.strip_prefix("last").unwrap_or(t).trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arkc_binlog::txn::Transaction;
    use chrono::TimeZone;

    fn txn(ts: u32, pos: u64, tables: &[&str], counts: (u64, u64, u64)) -> ReviewedTxn {
        ReviewedTxn {
            txn: Transaction {
                timestamp: ts,
                start_pos: pos,
                tables: tables.iter().map(|t| t.to_string()).collect(),
                inserts: counts.0,
                updates: counts.1,
                deletes: counts.2,
                annotate: vec!["UPDATE orders SET status = 'x'".into()],
                ..Default::default()
            },
            rows: Vec::new(),
            refusals: Vec::new(),
            rows_dropped: 0,
        }
    }

    #[test]
    fn filter_words_all_match_and_ranges_bound() {
        // 2026-11-25 10:30:00 UTC
        let t = txn(1_795_602_600, 4000, &["shop.orders"], (0, 30, 0));
        assert!(txn_matches(&t, "shop update"));
        assert!(txn_matches(&t, "status = 'x'"));
        assert!(!txn_matches(&t, "shop delete"));
        assert!(txn_matches(&t, "from:10:00 to:11:00"));
        assert!(!txn_matches(&t, "from:10:31"));
        assert!(txn_matches(&t, "from:2026-11-25t10:30"));
        assert!(txn_matches(&t, "pos:3000-5000"));
        assert!(txn_matches(&t, "pos:4000-"));
        assert!(!txn_matches(&t, "pos:-3999"));
        assert!(!txn_matches(&t, "from:nonsense"));
    }

    #[test]
    fn list_is_newest_first_and_filtered() {
        let mut pane = BinlogPane::default();
        pane.add_txns(vec![
            txn(100, 4, &["a.t"], (1, 0, 0)),
            txn(200, 50, &["b.t"], (0, 1, 0)),
        ]);
        pane.add_txns(vec![txn(300, 90, &["a.t"], (0, 0, 1))]);
        assert_eq!(pane.visible(), [2, 1, 0]);
        pane.apply_filter("a.t");
        assert_eq!(pane.visible(), [2, 0]);
        assert_eq!(pane.visible_at(1), Some(0));
        assert_eq!(pane.visible_at(2), None);
        // Batches arriving under a filter are filtered as they come.
        pane.add_txns(vec![
            txn(400, 120, &["b.t"], (1, 0, 0)),
            txn(500, 150, &["a.t"], (1, 0, 0)),
        ]);
        assert_eq!(pane.visible(), [4, 2, 0]);
        pane.apply_filter("A.T delete");
        assert_eq!(pane.visible(), [2]);
        pane.apply_filter("");
        assert_eq!(pane.visible_len(), 5);
    }

    #[test]
    fn start_points_read_as_typed() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .expect("time");
        let at = |h, m| {
            Utc.with_ymd_and_hms(2026, 11, 25, h, m, 0)
                .single()
                .expect("t")
        };
        let since = |d: DateTime<Utc>| StartPoint::Since(d.timestamp() as u32);
        assert_eq!(parse_start("", now), Ok(StartPoint::Beginning));
        assert_eq!(parse_start("15m", now), Ok(since(at(11, 45))));
        assert_eq!(parse_start("last 15 minutes", now), Ok(since(at(11, 45))));
        assert_eq!(parse_start("2h", now), Ok(since(at(10, 0))));
        assert_eq!(parse_start("2026-11-25 10:05", now), Ok(since(at(10, 5))));
        assert_eq!(parse_start("pos 4567", now), Ok(StartPoint::Position(4567)));
        assert_eq!(
            parse_start("gtid 0-1-42", now),
            Ok(StartPoint::Gtid("0-1-42".into()))
        );
        assert!(parse_start("pos x", now)
            .unwrap_err()
            .contains("bad position"));
        assert!(parse_start("yesterday", now)
            .unwrap_err()
            .contains("cannot read start"));
    }
}
