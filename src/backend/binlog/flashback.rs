//! Checking a rollback against the live server and applying it: reusable by the console and
//! the CLI. Check compares each row the rollback touches with its current state (the rows a
//! rollback expects must still be as the binlog left them); apply saves the SQL and its inverse
//! to the audit folder, then runs it one transaction at a time and reports each result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use arkc_binlog::review::RowConditions;
use arkc_binlog::RowsKind;
use mysql_async::Conn;

pub use super::sql_units::{split_units, Unit};
use crate::backend::connect::connect;
use crate::backend::recorder::{cell_text, SqlRecorder};
use crate::config::InstanceConfig;

/// How long one statement of a check or an apply may run.
const APPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// The session the planner's SQL literals assume (see `arkc_binlog::plan::sql_header`).
const SESSION: &[&str] = &["SET NAMES utf8mb4", "SET time_zone='+00:00'"];

/// A row of the selection: (transaction index, row index) in the pane's list.
pub type RowId = (usize, usize);

/// One row to check, with what identifies it before and after the change.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub id: RowId,
    pub kind: RowsKind,
    pub table_sql: String,
    pub after: Option<RowConditions>,
    pub before: Option<RowConditions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckMode {
    /// Before applying: the rows must still be as the binlog left them.
    BeforeApply,
    /// After applying: the rows must now be as they were before the change.
    AfterApply,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    pub instance: String,
    pub mode: CheckMode,
    /// In rollback order: newest transaction first, its rows last to first.
    pub rows: Vec<CheckRow>,
}

/// What the server holds for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    /// As the binlog left it: the rollback applies cleanly.
    AsLeft,
    /// Changed (or gone) since: undoing it would overwrite a newer write.
    ChangedSince,
    /// A row with the same key exists again: re-inserting the deleted row would collide.
    KeyTaken,
    /// After apply: as it was before the change.
    Restored,
    /// After apply: still not as it was before the change.
    NotRestored,
    /// Cannot be told (no key, or the query failed); the text says why.
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

#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub instance: String,
    pub mode: CheckMode,
    pub rows: Vec<(RowId, RowState)>,
    /// Set when the check could not run at all.
    pub error: Option<String>,
}

impl CheckReport {
    pub fn failed(error: String) -> Self {
        CheckReport {
            instance: String::new(),
            mode: CheckMode::BeforeApply,
            rows: Vec::new(),
            error: Some(error),
        }
    }
}

/// What the server is expected to hold per row key while the rollback is walked newest
/// first: Some(full condition) for a row, None for no row.
type Expectations = HashMap<(String, String), Option<String>>;

/// Walk one row of the rollback: the key state it needs now, and the state it leaves behind.
fn needs_and_leaves(
    row: &CheckRow,
    expect: &mut Expectations,
) -> Option<((String, String), Option<String>)> {
    let key = |c: &RowConditions| (row.table_sql.clone(), c.key.clone());
    let needs = match (row.kind, &row.after, &row.before) {
        (RowsKind::Delete, _, Some(b)) => (key(b), None),
        (_, Some(a), _) => (key(a), Some(a.full.clone())),
        _ => return None,
    };
    if let Some(a) = &row.after {
        expect.insert(key(a), None);
    }
    if let Some(b) = &row.before {
        expect.insert(key(b), Some(b.full.clone()));
    }
    Some(needs)
}

async fn count(conn: &mut Conn, rec: &SqlRecorder, table: &str, cond: &str) -> anyhow::Result<u64> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {cond}");
    let rows = rec.query(conn, &sql, APPLY_TIMEOUT).await?;
    let text = rows.first().and_then(|r| r.as_ref(0)).and_then(cell_text);
    text.and_then(|t| t.parse().ok())
        .with_context(|| format!("`{sql}` returned no count"))
}

/// Whether the server's row for `key` is `want` (a full condition, or None for "no row").
async fn server_has(
    conn: &mut Conn,
    rec: &SqlRecorder,
    (table, key): &(String, String),
    want: &Option<String>,
) -> anyhow::Result<bool> {
    Ok(match want {
        Some(full) => count(conn, rec, table, full).await? > 0,
        None => count(conn, rec, table, key).await? == 0,
    })
}

/// Compare the selection's rows with the server (see `CheckMode`).
pub async fn check(inst: &InstanceConfig, rec: &SqlRecorder, request: CheckRequest) -> CheckReport {
    let mut report = CheckReport {
        instance: inst.name.clone(),
        mode: request.mode,
        rows: Vec::new(),
        error: None,
    };
    let mut conn = match session(inst, rec).await {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(format!("{e:#}"));
            return report;
        }
    };
    let result = match request.mode {
        CheckMode::BeforeApply => check_before(&mut conn, rec, &request.rows, &mut report).await,
        CheckMode::AfterApply => check_after(&mut conn, rec, &request.rows, &mut report).await,
    };
    if let Err(e) = result {
        report.error = Some(format!("{e:#}"));
    }
    report
}

async fn check_before(
    conn: &mut Conn,
    rec: &SqlRecorder,
    rows: &[CheckRow],
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let mut expect = Expectations::new();
    for row in rows {
        let known = |k: &(String, String), e: &Expectations| e.get(k).cloned();
        let before_walk = expect.clone();
        let Some((key, want)) = needs_and_leaves(row, &mut expect) else {
            report
                .rows
                .push((row.id, RowState::Unknown("no row image".into())));
            continue;
        };
        let keyless = match row.kind {
            RowsKind::Delete => row.before.as_ref().is_some_and(|b| !b.has_key),
            _ => false,
        };
        let state = if let Some(planned) = known(&key, &before_walk) {
            // A newer change in the selection leaves this row; no need to ask the server.
            match planned == want {
                true => RowState::AsLeft,
                false => RowState::ChangedSince,
            }
        } else if keyless {
            RowState::Unknown("no primary key: a duplicate row cannot be told apart".into())
        } else {
            match server_has(conn, rec, &key, &want).await? {
                true => RowState::AsLeft,
                false if want.is_none() => RowState::KeyTaken,
                false => RowState::ChangedSince,
            }
        };
        report.rows.push((row.id, state));
    }
    Ok(())
}

async fn check_after(
    conn: &mut Conn,
    rec: &SqlRecorder,
    rows: &[CheckRow],
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let mut expect = Expectations::new();
    for row in rows {
        needs_and_leaves(row, &mut expect);
    }
    let mut verdict: HashMap<(String, String), bool> = HashMap::new();
    for (key, want) in &expect {
        verdict.insert(key.clone(), server_has(conn, rec, key, want).await?);
    }
    for row in rows {
        let keys = [&row.before, &row.after].into_iter().flatten();
        let states: Vec<bool> = keys
            .filter_map(|c| {
                verdict
                    .get(&(row.table_sql.clone(), c.key.clone()))
                    .copied()
            })
            .collect();
        let state = match states.iter().all(|ok| *ok) {
            true => RowState::Restored,
            false => RowState::NotRestored,
        };
        report.rows.push((row.id, state));
    }
    Ok(())
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
    let mut conn = match connect(inst).await {
        Ok(c) => c,
        Err(e) => {
            report.message = format!("not applied: {e:#}");
            return report;
        }
    };
    let (ok, message) = run_units(&mut conn, rec, &units, &mut progress).await;
    if ok {
        let _ = conn.disconnect().await;
    }
    report.ok = ok;
    report.message = message;
    report
}

/// Run `units` on an open connection, one transaction at a time, stopping at the first error;
/// the part a CLI with its own connection (`--url`) can share. Returns (ok, what happened).
pub async fn run_units(
    conn: &mut Conn,
    rec: &SqlRecorder,
    units: &[Unit],
    progress: &mut impl FnMut(TxnResult),
) -> (bool, String) {
    let total = units.iter().filter(|u| u.transaction).count();
    let mut done = 0;
    for unit in units {
        let result = run_unit(conn, rec, unit).await;
        if unit.transaction {
            done += 1;
        }
        let failed = result.as_ref().err().map(|e| format!("{e:#}"));
        if unit.transaction || failed.is_some() {
            let (rows_affected, no_op) = result.as_ref().map(|r| *r).unwrap_or((0, 0));
            progress(TxnResult {
                index: done,
                total,
                label: unit.label.clone(),
                statements: unit.statements.len(),
                rows_affected,
                no_op,
                error: failed.clone(),
            });
        }
        if let Some(e) = failed {
            let message = format!(
                "stopped at {} ({done} of {total}): {e}; that transaction was rolled back, the \
                 ones before it stay applied",
                unit.label
            );
            return (false, message);
        }
    }
    (true, format!("applied {total} transaction(s)"))
}

/// Run one unit; returns (rows affected, statements that changed nothing).
async fn run_unit(conn: &mut Conn, rec: &SqlRecorder, unit: &Unit) -> anyhow::Result<(u64, usize)> {
    if unit.transaction {
        rec.execute(conn, "BEGIN", APPLY_TIMEOUT).await?;
    }
    let (mut rows, mut no_op) = (0, 0);
    for sql in &unit.statements {
        if let Err(e) = rec.execute(conn, sql, APPLY_TIMEOUT).await {
            if unit.transaction {
                let _ = rec.execute(conn, "ROLLBACK", APPLY_TIMEOUT).await;
            }
            return Err(e);
        }
        let affected = conn.affected_rows();
        rows += affected;
        let is_dml = !sql.trim_start().to_ascii_uppercase().starts_with("SET ");
        no_op += usize::from(affected == 0 && is_dml);
    }
    if unit.transaction {
        rec.execute(conn, "COMMIT", APPLY_TIMEOUT).await?;
    }
    Ok((rows, no_op))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: RowId,
        kind: RowsKind,
        before: Option<(&str, &str)>,
        after: Option<(&str, &str)>,
    ) -> CheckRow {
        let c = |(k, f): (&str, &str)| RowConditions {
            key: k.into(),
            full: f.into(),
            has_key: true,
        };
        CheckRow {
            id,
            kind,
            table_sql: "`d`.`t`".into(),
            before: before.map(c),
            after: after.map(c),
        }
    }

    #[test]
    fn walking_newest_first_knows_what_an_older_change_will_find() {
        let mut expect = Expectations::new();
        // Newest: DELETE of id 1 (as updated); its undo re-inserts the updated row.
        let delete = row((1, 0), RowsKind::Delete, Some(("id=1", "id=1,a=new")), None);
        let (key, want) = needs_and_leaves(&delete, &mut expect).expect("needs");
        assert_eq!(key.1, "id=1");
        assert_eq!(want, None);
        // Older: the UPDATE that set a=new; after the delete's undo the row is a=new again.
        let update = row(
            (0, 0),
            RowsKind::Update,
            Some(("id=1", "id=1,a=old")),
            Some(("id=1", "id=1,a=new")),
        );
        let seen = expect
            .get(&("`d`.`t`".to_string(), "id=1".to_string()))
            .cloned();
        assert_eq!(seen, Some(Some("id=1,a=new".to_string())));
        let (_, want) = needs_and_leaves(&update, &mut expect).expect("needs");
        assert_eq!(want.as_deref(), Some("id=1,a=new"));
        let left = expect
            .get(&("`d`.`t`".to_string(), "id=1".to_string()))
            .cloned();
        assert_eq!(left, Some(Some("id=1,a=old".to_string())));
    }
}
