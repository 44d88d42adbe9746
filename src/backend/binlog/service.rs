//! Flashback of an exact binlog range on an instance, in four calls a caller (the Binlog
//! pane's twin, `arkc deploy undo`) can chain: `plan_range` reads the range from the
//! instance's binlogs (its `binlog_dir`, the server's own folder when it is on this machine,
//! or the replication stream, as `binlog_source` says) in one pass with the server's column definitions and assembles the rollback of the rows in
//! scope; `check_plan` runs the one exact check (`arkc_binlog::check`); `apply_plan` saves the
//! plan and its inverse to the audit folder and applies it, one server transaction per source
//! transaction. Nothing here writes unless `apply_plan` is called, and it refuses read-only.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use arkc_binlog::check::{Lookup, RowOrigin};
use arkc_binlog::check_spill::{CheckSpill, SpilledCheck};
use arkc_binlog::review::{
    assemble_redo, assemble_rollback, Chosen, ReviewLimits, ReviewSink, ReviewedTxn,
};
use arkc_binlog::scope::RowScope;
use arkc_binlog::txn::{Filters, TxnBuilder};

use super::columns::ServerColumns;
use super::flashback::{
    apply, check, count_lookups, server_logs, ApplyReport, ApplyRequest, CheckMode, CheckReport,
    CheckRequest, CheckRow, RowId, RowState,
};
use super::source::{scan_source, Source};
use super::stream::StreamServer;
use crate::backend::recorder::SqlRecorder;
use crate::config::InstanceConfig;

/// The binlog range to undo: from `start` (inclusive) to `stop` (exclusive), both
/// `(file name, position)` as `SHOW MASTER STATUS` gives them, and the rows of it to take.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashbackRange {
    pub start: (String, u64),
    pub stop: (String, u64),
    /// None takes every row of the range.
    pub scope: Option<RowScope>,
}

/// A planned rollback: the transactions of the range, the SQL that undoes their rows in
/// scope, its inverse, and the rows in rollback order for the check.
#[derive(Debug, Clone)]
pub struct FlashbackPlan {
    pub instance: String,
    pub txns: Vec<ReviewedTxn>,
    pub sql: String,
    pub redo: String,
    pub rows: Vec<CheckRow>,
}

impl FlashbackPlan {
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
}

/// Read `range` from `inst`'s binlogs and plan its rollback. Errors name what is missing (a
/// binlog not readable here) or why the range cannot be undone exactly (drift, DDL, ...).
pub async fn plan_range(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    range: &FlashbackRange,
) -> anyhow::Result<FlashbackPlan> {
    let logs = server_logs(inst, rec).await?;
    let wanted: Vec<_> = logs
        .iter()
        .filter(|l| l.name >= range.start.0 && l.name <= range.stop.0)
        .collect();
    if wanted.is_empty() {
        bail!(
            "{}: no binlog from {} to {} (SHOW BINARY LOGS lists {})",
            inst.name,
            range.start.0,
            range.stop.0,
            logs.iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let all_readable = wanted.iter().all(|l| l.path.is_some());
    let source = if inst.binlog_source.streams(all_readable) {
        Source::Server {
            server: StreamServer::from_instance(inst)?,
            names: wanted.iter().map(|l| l.name.clone()).collect(),
            server_id: None,
            end: range.stop.clone(),
        }
    } else if let Some(log) = wanted.iter().find(|l| l.path.is_none()) {
        bail!(
            "{}: binlog {} is not readable on this machine; set binlog_dir for the instance, \
             or binlog_source = \"stream\" to pull it from the server",
            inst.name,
            log.name
        );
    } else {
        Source::Files {
            files: wanted.iter().filter_map(|l| l.path.clone()).collect(),
        }
    };
    let filters = Filters {
        start: Some(range.start.clone()),
        stop: Some(range.stop.clone()),
        ..Default::default()
    };
    let (inst, rec) = (inst.clone(), rec.clone());
    let name = inst.name.clone();
    let txns = tokio::task::spawn_blocking(move || {
        // Each table's definition is read when its first TABLE_MAP arrives: one pass.
        let columns = ServerColumns::for_instance(&inst, filters.clone(), Some(rec))?;
        read_range(&source, filters, columns)
    })
    .await
    .context("the binlog reader stopped")??;
    plan_of(&name, txns, range.scope.as_ref())
}

fn read_range(
    source: &Source,
    filters: Filters,
    columns: Arc<ServerColumns>,
) -> anyhow::Result<Vec<ReviewedTxn>> {
    let mut txns = Vec::new();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t| {
        txns.push(t);
        Ok(())
    })?;
    let mut builder = TxnBuilder::new(filters);
    builder.columns = Some(columns);
    scan_source(source, false, &mut builder, &mut sink, &mut |_| {})?;
    drop(sink);
    Ok(txns)
}

/// The rollback of the rows of `txns` in `scope` (every row without one).
pub fn plan_of(
    instance: &str,
    txns: Vec<ReviewedTxn>,
    scope: Option<&RowScope>,
) -> anyhow::Result<FlashbackPlan> {
    let keeps =
        |r: &arkc_binlog::review::ReviewedRow| scope.is_none_or(|s| s.keeps(&r.table_sql, r.kind));
    let chosen: Vec<Chosen<'_>> = txns
        .iter()
        .filter_map(|txn| {
            let rows: Vec<usize> = (0..txn.rows.len())
                .filter(|&r| keeps(&txn.rows[r]))
                .collect();
            (!rows.is_empty() || (txn.rows.is_empty() && !txn.refusals.is_empty()))
                .then_some(Chosen { txn, rows })
        })
        .collect();
    let sql = assemble_rollback(&chosen).map_err(|problems| {
        anyhow::anyhow!("cannot undo the range exactly: {}", problems.join("; "))
    })?;
    let redo = assemble_redo(&chosen);
    let mut rows = Vec::new();
    for (t, c) in chosen.iter().enumerate().rev() {
        for &r in c.rows.iter().rev() {
            rows.push(CheckRow::from_reviewed((t, r), &c.txn.rows[r]));
        }
    }
    drop(chosen);
    Ok(FlashbackPlan {
        instance: instance.to_string(),
        txns,
        sql,
        redo,
        rows,
    })
}

/// The exact check of the plan's rows: before applying (are they as the binlog left them?)
/// or after (are they as they were before the range?).
pub async fn check_plan(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    plan: &FlashbackPlan,
    mode: CheckMode,
) -> CheckReport {
    let request = CheckRequest {
        instance: inst.name.clone(),
        mode,
        rows: plan.rows.clone(),
    };
    check(inst, rec, request).await
}

/// Save the plan and its inverse to `audit_dir` (None: the data dir's `audit`), then apply
/// it; refused, with nothing sent, when `read_only`.
pub async fn apply_plan(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    plan: &FlashbackPlan,
    read_only: bool,
    audit_dir: Option<PathBuf>,
) -> ApplyReport {
    let request = ApplyRequest {
        instance: inst.name.clone(),
        sql: plan.sql.clone(),
        generated: plan.sql.clone(),
        redo: plan.redo.clone(),
        edited: false,
        read_only,
        audit_dir,
    };
    apply(inst, rec, request, |_| {}).await
}

/// The walk hands out lookups in batches of about this much SQL.
pub const WALK_BATCH_BYTES: usize = 4 * super::flashback::LOOKUP_BATCH_BYTES;

/// Rows per pass of the bounded check's walk when `ARKC_CHECK_ROWS_PER_PASS` says (a test
/// makes it small to prove a check walks in several passes); else the core's own figure.
fn rows_per_pass() -> Option<u64> {
    std::env::var("ARKC_CHECK_ROWS_PER_PASS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > 0)
}

/// The temporary file's folder of a bounded check: the data dir's `tmp`.
pub fn check_spill_dir() -> anyhow::Result<PathBuf> {
    Ok(crate::config::data_dir()
        .context("no XDG data dir for the check's temporary file (set HOME or XDG_DATA_HOME)")?
        .join("tmp"))
}

/// The one check before applying, in bounded memory, for `arkc flashback --check` and the
/// Binlog pane's `c` alike: the walk over the spilled rows (newest first, in passes over
/// parts of the keys) hands out its lookups in batches; each batch is asked on `conn` as it
/// comes. Returns the check, ready for its verdicts.
pub async fn run_spilled_check(
    conn: &mut mysql_async::Conn,
    rec: &SqlRecorder,
    spill: CheckSpill,
) -> anyhow::Result<SpilledCheck> {
    let mut check = spill.into_check(WALK_BATCH_BYTES)?;
    if let Some(per_pass) = rows_per_pass() {
        let passes = check.rows().div_ceil(per_pass);
        check = check.with_passes(passes);
    }
    while let Some(batch) = check.next_batch()? {
        let (ids, lookups): (Vec<usize>, Vec<Lookup>) = batch.into_iter().unzip();
        let found = count_lookups(conn, rec, &lookups).await?;
        for (id, n) in ids.into_iter().zip(found) {
            check.found(id, n);
        }
    }
    Ok(check)
}

/// The check of a selection held in memory (the pane's rows, in rollback order) by the
/// bounded path: the rows are moved to a temporary file (and freed) before the walk, so the
/// check itself holds per row only its id and verdict. After applying, the rows checked are
/// the undo's own changes (`CheckRow::undone`), walked oldest first: a key is asked once,
/// by the oldest row touching it, whose before image it must hold again; the newer rows are
/// judged against that. Returns one verdict per row, in the order given, and the passes
/// the walk made.
pub async fn check_selection(
    conn: &mut mysql_async::Conn,
    rec: &SqlRecorder,
    mode: CheckMode,
    rows: Vec<CheckRow>,
) -> anyhow::Result<(Vec<(RowId, RowState)>, u64)> {
    let dir = check_spill_dir()?;
    let ids: Vec<RowId> = rows.iter().map(|r| r.id).collect();
    let after = mode == CheckMode::AfterApply;
    // Writing the file is blocking work: off the async threads.
    let spill = tokio::task::spawn_blocking(move || {
        let mut spill = CheckSpill::new(&dir)?;
        let origin: RowOrigin = (Arc::from("selection"), 0, None);
        // The walk reads the file backwards: the row to judge first goes last.
        if after {
            for row in rows {
                spill.push_row(&row.undone(), &origin)?;
            }
        } else {
            for row in rows.into_iter().rev() {
                spill.push_row(&row, &origin)?;
            }
        }
        anyhow::Ok(spill)
    })
    .await
    .context("the check's spill stopped")??;
    let check = run_spilled_check(conn, rec, spill).await?;
    let passes = check.passes();
    // A row the walk does not judge: as left before applying; after, a keyless row the
    // undo deleted, which cannot be told from its duplicates.
    let unjudged = match mode {
        CheckMode::BeforeApply => RowState::AsLeft,
        CheckMode::AfterApply => RowState::Unknown(
            "no primary key: a deleted row cannot be told from its duplicates".into(),
        ),
    };
    let mut states: Vec<(RowId, RowState)> = ids.iter().map(|&id| (id, unjudged.clone())).collect();
    let n = states.len() as u64;
    check.states(&mut |ordinal, state| {
        let (at, state) = match (mode, state) {
            (CheckMode::BeforeApply, s) => (ordinal, s),
            (CheckMode::AfterApply, RowState::AsLeft) => (n - 1 - ordinal, RowState::Restored),
            (CheckMode::AfterApply, s) if s.is_problem() => {
                (n - 1 - ordinal, RowState::NotRestored)
            }
            (CheckMode::AfterApply, s) => (n - 1 - ordinal, s),
        };
        if let Some(slot) = states.get_mut(at as usize) {
            slot.1 = state;
        }
    })?;
    Ok((states, passes))
}
