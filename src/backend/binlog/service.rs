//! Flashback of an exact binlog range on an instance, in four calls a caller (the Binlog
//! pane's twin, `arkc deploy undo`) can chain: `plan_range` reads the range from the
//! instance's binlogs (its `binlog_dir`, else the server's own folder when it is on this
//! machine) with the server's column definitions and assembles the rollback of the rows in
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

use super::flashback::{
    apply, check, server_logs, ApplyReport, ApplyRequest, CheckMode, CheckReport, CheckRequest,
    CheckRow,
};
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
    let wanted = logs
        .iter()
        .filter(|l| l.name >= range.start.0 && l.name <= range.stop.0);
    let mut files = Vec::new();
    for log in wanted {
        match &log.path {
            Some(p) => files.push(p.clone()),
            None => bail!(
                "{}: binlog {} is not readable on this machine; set binlog_dir for the instance",
                inst.name,
                log.name
            ),
        }
    }
    if files.is_empty() {
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
    let schema = column_definitions(inst, rec, &files).await?;
    let filters = Filters {
        start: Some(range.start.clone()),
        stop: Some(range.stop.clone()),
        ..Default::default()
    };
    let txns = tokio::task::spawn_blocking(move || read_range(&files, filters, schema))
        .await
        .context("the binlog reader stopped")??;
    plan_of(&inst.name, txns, range.scope.as_ref())
}

async fn column_definitions(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    files: &[PathBuf],
) -> anyhow::Result<Arc<arkc_binlog::schema::SchemaInfo>> {
    let paths = files.to_vec();
    let tables =
        tokio::task::spawn_blocking(move || arkc_binlog::pipeline::mapped_tables(&paths)).await??;
    let mut conn = crate::backend::connect::connect(inst).await?;
    let info = super::schema_info::load_schema_info(&mut conn, &tables, Some(rec)).await?;
    let _ = conn.disconnect().await;
    Ok(Arc::new(info))
}

fn read_range(
    files: &[PathBuf],
    filters: Filters,
    schema: Arc<arkc_binlog::schema::SchemaInfo>,
) -> anyhow::Result<Vec<ReviewedTxn>> {
    let mut txns = Vec::new();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t| {
        txns.push(t);
        Ok(())
    })?;
    let mut builder = TxnBuilder::new(filters);
    builder.schema = Some(schema);
    arkc_binlog::pipeline::scan_files(files, &mut builder, &mut sink)?;
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
