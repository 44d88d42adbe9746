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
use arkc_binlog::review::{
    assemble_redo, assemble_rollback, Chosen, ReviewLimits, ReviewSink, ReviewedTxn,
};
use arkc_binlog::scope::RowScope;
use arkc_binlog::txn::{Filters, TxnBuilder};

use super::columns::ServerColumns;
use super::flashback::{
    apply, check, server_logs, ApplyReport, ApplyRequest, CheckMode, CheckReport, CheckRequest,
    CheckRow,
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
