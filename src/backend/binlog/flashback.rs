//! Checking a rollback against the live server and applying it: reusable by the console and
//! the CLI. Check compares each row the rollback touches with its current state (the rows a
//! rollback expects must still be as the binlog left them); apply saves the SQL and its inverse
//! to the audit folder, then runs it one transaction at a time and reports each result.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use mysql_async::Conn;

pub use super::sql_units::{split_units, Unit};
use crate::backend::connect::connect;
use crate::backend::recorder::{cell_text, SqlRecorder};
use crate::config::InstanceConfig;

/// How long one statement of a check or an apply may run.
const APPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// The session the planner's SQL literals assume (see `arkc_binlog::plan::sql_header`).
const SESSION: &[&str] = &["SET NAMES utf8mb4", "SET time_zone='+00:00'"];

use arkc_binlog::check::{lookup_queries, matched_lookups, CheckPlan, Lookup};
pub use arkc_binlog::check::{CheckMode, CheckRow, RowId, RowState};

/// Lookups are sent as `UNION ALL` statements of about this size (well under the server's
/// max_allowed_packet), so a check of 100,000 rows is a few hundred round trips.
pub const LOOKUP_BATCH_BYTES: usize = 256 << 10;

#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    pub instance: String,
    pub mode: CheckMode,
    /// In rollback order: newest transaction first, its rows last to first.
    pub rows: Vec<CheckRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub instance: String,
    pub mode: CheckMode,
    pub rows: Vec<(RowId, RowState)>,
    /// Set when the check could not run at all.
    pub error: Option<String>,
    /// Passes the bounded walk made over the spilled rows (0: checked in memory).
    pub passes: u64,
}

impl CheckReport {
    pub fn failed(error: String) -> Self {
        CheckReport {
            instance: String::new(),
            mode: CheckMode::BeforeApply,
            rows: Vec::new(),
            error: Some(error),
            passes: 0,
        }
    }
}

/// Compare the selection's rows with the server (see `CheckMode`).
pub async fn check(inst: &InstanceConfig, rec: &SqlRecorder, request: CheckRequest) -> CheckReport {
    let mut report = CheckReport {
        instance: inst.name.clone(),
        mode: request.mode,
        rows: Vec::new(),
        error: None,
        passes: 0,
    };
    let mut conn = match session(inst, rec).await {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(format!("{e:#}"));
            return report;
        }
    };
    // The bounded path of `arkc flashback --check`, before applying and after.
    let checked = super::service::check_selection(&mut conn, rec, request.mode, request.rows)
        .await
        .map(|(rows, passes)| {
            report.passes = passes;
            rows
        });
    match checked {
        Ok(rows) => report.rows = rows,
        Err(e) => report.error = Some(format!("{e:#}")),
    }
    let _ = conn.disconnect().await;
    report
}

/// The one check (see `arkc_binlog::check`) of `rows`, given in rollback order, on an open
/// connection in the planner's session settings: shared by the pane and `arkc flashback`.
pub async fn check_on(
    conn: &mut Conn,
    rec: &SqlRecorder,
    mode: CheckMode,
    rows: &[CheckRow],
) -> anyhow::Result<Vec<(RowId, RowState)>> {
    let plan = CheckPlan::new(mode, rows);
    let found = count_lookups(conn, rec, &plan.lookups).await?;
    Ok(plan.verdict(&found))
}

/// How many rows (up to its limit) each of `lookups` matches on the server, asked in
/// batched `UNION ALL` statements (`arkc_binlog::check::lookup_queries`).
pub async fn count_lookups(
    conn: &mut Conn,
    rec: &SqlRecorder,
    lookups: &[Lookup],
) -> anyhow::Result<Vec<u32>> {
    let mut found = vec![0u32; lookups.len()];
    for (_, sql) in lookup_queries(lookups, LOOKUP_BATCH_BYTES) {
        for row in rec.query(conn, &sql, APPLY_TIMEOUT).await? {
            let cell = row.as_ref(0).and_then(cell_text).unwrap_or_default();
            for index in matched_lookups(&cell) {
                let slot = index
                    .ok()
                    .and_then(|i| found.get_mut(i))
                    .context("a check lookup returned a row that names no lookup")?;
                *slot += 1;
            }
        }
    }
    Ok(found)
}

async fn session(inst: &InstanceConfig, rec: &SqlRecorder) -> anyhow::Result<Conn> {
    let mut conn = connect(inst).await?;
    for sql in SESSION {
        rec.execute(&mut conn, sql, APPLY_TIMEOUT).await?;
    }
    Ok(conn)
}

/// `SHOW BINARY LOGS`, with each file's local path when arkc can read it: the instance's
/// `binlog_dir`, else the server's own directory when it is on this machine.
pub async fn server_logs(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
) -> anyhow::Result<Vec<super::scan::LogFile>> {
    let mut conn = connect(inst).await?;
    let rows = rec
        .query(&mut conn, "SHOW BINARY LOGS", APPLY_TIMEOUT)
        .await?;
    let dir = match &inst.binlog_dir {
        Some(d) => Some(d.clone()),
        None => {
            let rows = rec
                .query(&mut conn, "SELECT @@log_bin_basename", APPLY_TIMEOUT)
                .await?;
            let base = rows.first().and_then(|r| r.as_ref(0)).and_then(cell_text);
            base.and_then(|b| PathBuf::from(b).parent().map(|p| p.to_path_buf()))
        }
    };
    let _ = conn.disconnect().await;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name = cell_text(r.as_ref(0)?)?;
            let size = r.as_ref(1).and_then(cell_text).and_then(|s| s.parse().ok());
            let path = dir.as_ref().map(|d| d.join(&name)).filter(|p| p.is_file());
            Some(super::scan::LogFile {
                name,
                path,
                size: size.unwrap_or(0),
                first_event: None,
                streamed: false,
            })
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplyRequest {
    pub instance: String,
    /// The SQL that runs (the preview, possibly edited).
    pub sql: String,
    /// What the engine generated, saved too when `sql` was edited.
    pub generated: String,
    /// The inverse of the generated plan (replays the original changes).
    pub redo: String,
    pub edited: bool,
    pub read_only: bool,
    /// Where the audit files go; None means `data_dir()/audit`.
    pub audit_dir: Option<PathBuf>,
}

/// The result of one transaction of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResult {
    pub index: usize,
    pub total: usize,
    pub label: String,
    pub statements: usize,
    pub rows_affected: u64,
    /// Statements that changed no row (the row was not found as expected).
    pub no_op: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplyReport {
    pub instance: String,
    pub ok: bool,
    pub audit_files: Vec<PathBuf>,
    pub message: String,
}

/// Save, then run the plan one transaction at a time, stopping at the first error.
pub async fn apply(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    request: ApplyRequest,
    mut progress: impl FnMut(TxnResult),
) -> ApplyReport {
    let mut report = ApplyReport {
        instance: inst.name.clone(),
        ok: false,
        audit_files: Vec::new(),
        message: String::new(),
    };
    if request.read_only {
        report.message = "refused: read-only mode (started with --read-only or :readonly on); \
                          nothing was sent"
            .into();
        return report;
    }
    let units = match split_units(&request.sql) {
        Ok(u) => u,
        Err(e) => {
            report.message = format!("not applied: {e}");
            return report;
        }
    };
    match save_audit(&request, &inst.name) {
        Ok(files) => report.audit_files = files,
        Err(e) => {
            report.message = format!("not applied: cannot save the audit copy first: {e:#}");
            return report;
        }
    }
    let mut stopped_at = None;
    let mut noted = |r: TxnResult| {
        if r.error.is_some() {
            stopped_at = Some(r.label.clone());
        }
        progress(r)
    };
    let (ok, mut message, rows) =
        apply_serially(inst, rec, &units, !request.edited, &mut noted).await;
    if let Some(label) = stopped_at.filter(|_| super::in_doubt::is_in_doubt(&message)) {
        let settled = super::in_doubt::settle_on_instance(inst, rec, &label).await;
        message = format!("{message}. {settled}");
    }
    let unaudited = crate::audit::flashback(
        &inst.name,
        "flashback apply",
        &report.audit_files,
        rows,
        ok,
        &message,
    );
    report.ok = ok;
    report.message = match unaudited {
        Some(e) => format!("{message}; {e}"),
        None => message,
    };
    report
}

pub use super::apply_units::{run_units, run_units_of};

/// (ok, message, rows changed) of `units` run one after another on one connection;
/// `generated`: the planner's own text, whose statements may be merged (`run_units`).
async fn apply_serially(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    units: &[Unit],
    generated: bool,
    progress: &mut impl FnMut(TxnResult),
) -> (bool, String, u64) {
    let mut conn = match connect(inst).await {
        Ok(c) => c,
        Err(e) => return (false, format!("not applied: {e:#}"), 0),
    };
    let mut rows = 0;
    let mut counted = |r: TxnResult| {
        rows += r.rows_affected;
        progress(r)
    };
    let (ok, message) = run_units(&mut conn, rec, units, generated, &mut counted).await;
    if ok {
        let _ = conn.disconnect().await;
    }
    (ok, message, rows)
}

fn save_audit(request: &ApplyRequest, instance: &str) -> anyhow::Result<Vec<PathBuf>> {
    let dir = match &request.audit_dir {
        Some(d) => d.clone(),
        None => crate::config::data_dir()
            .context("no home directory for the audit folder")?
            .join("audit"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let safe: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut files = vec![
        (format!("{stamp}-{safe}-rollback.sql"), request.sql.as_str()),
        (format!("{stamp}-{safe}-inverse.sql"), request.redo.as_str()),
    ];
    if request.edited {
        files.push((
            format!("{stamp}-{safe}-generated.sql"),
            request.generated.as_str(),
        ));
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
