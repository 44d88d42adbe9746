//! Apply a reviewed change: binlog position and GTID before and after, then statement by
//! statement on one connection, each row change in its own transaction unless the file has
//! its own BEGIN/COMMIT; the first error stops it. Every step is written to the history.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::{binlog_point, scalar, settle};
use crate::backend::recorder::SqlRecorder;
use crate::config::InstanceConfig;
use crate::deploy::history::{DeployHistory, StatementResult};
use crate::deploy::in_doubt::Doubt;
use crate::deploy::review::Review;

/// A change's statement may run long (an ALTER of a big table); never cut it mid-way.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// What the caller is told as each statement ends.
#[derive(Debug, Clone)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub result: StatementResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub deploy_id: i64,
    pub ok: bool,
    pub applied: usize,
    pub total: usize,
    pub message: String,
}

/// Apply `review`'s statements to `inst`. The history row is created first, so even a
/// connection failure is recorded. The caller has already refused read-only mode and errors.
pub async fn apply(
    inst: &InstanceConfig,
    review: &Review,
    file: &str,
    sha256: &str,
    history: &DeployHistory,
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<ApplyOutcome> {
    let id = history.begin(&inst.name, file, sha256)?;
    let total = review.statements.len();
    let mut outcome = ApplyOutcome {
        deploy_id: id,
        ok: false,
        applied: 0,
        total,
        message: String::new(),
    };
    let rec = super::log_only_recorder(&inst.name);
    let mut conn = match crate::backend::connect::connect(inst).await {
        Ok(c) => c,
        Err(e) => {
            outcome.message = format!("nothing applied: {e:#}");
            history.finish(id, "failed", None, &outcome.message)?;
            return Ok(outcome);
        }
    };
    let before = match prepare(&mut conn, &rec).await {
        Ok(p) => p,
        Err(e) => {
            outcome.message = format!("nothing applied: {e:#}");
            history.finish(id, "failed", None, &outcome.message)?;
            return Ok(outcome);
        }
    };
    history.set_before(id, &before.0, before.1)?;
    let connection_id = before.1;
    // The statement left in doubt, with what was read just before it was sent.
    let mut in_doubt_at: Option<(usize, Option<Doubt>)> = None;
    // The GTID this session last wrote; a statement whose GTID differs wrote a new transaction.
    let mut last_gtid = String::new();
    let own_transactions = review.statements.iter().any(|s| s.is_transaction_control());
    let mut in_file_txn = false;
    let mut failure = None;
    for st in &review.statements {
        let src = &st.source;
        let wrap = st.is_dml() && !own_transactions;
        let upper = src.text.trim_start().to_ascii_uppercase();
        // Whether this statement commits when it succeeds (a lost answer leaves it in doubt).
        let commits_itself = !wrap && (!in_file_txn || upper.starts_with("COMMIT"));
        let doubt = match wrap || commits_itself {
            true => {
                let last = src.index == total;
                settle::capture(&mut conn, &rec, (st, last), connection_id).await
            }
            false => None,
        };
        let started = Instant::now();
        let result = run(&mut conn, &rec, &src.text, wrap).await;
        if upper.starts_with("BEGIN") || upper.starts_with("START TRANSACTION") {
            in_file_txn = true;
        } else if upper.starts_with("COMMIT") || upper.starts_with("ROLLBACK") {
            in_file_txn = false;
        }
        let in_doubt = match &result {
            Err(e) if e.commit_sent || commits_itself => !alive(&mut conn).await,
            _ => false,
        };
        let result = result.map_err(|e| e.error);
        let gtid = match result.is_ok() && !in_file_txn {
            true => match scalar(&mut conn, &rec, "SELECT @@session.last_gtid").await {
                Ok(Some(g)) if !g.is_empty() && g != last_gtid => {
                    last_gtid = g.clone();
                    Some(g)
                }
                _ => None,
            },
            false => None,
        };
        let (status, affected, error) = match &result {
            Ok(n) => ("applied", *n, None),
            Err(e) if in_doubt => ("in doubt", 0, Some(format!("{e:#}"))),
            Err(e) => ("failed", 0, Some(format!("{e:#}"))),
        };
        let r = StatementResult {
            index: src.index,
            line: src.line,
            sql: src.text.clone(),
            status: status.into(),
            affected_rows: affected,
            error: error.clone(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            gtid,
            settled: None,
        };
        history.record_statement(id, &r)?;
        if in_doubt {
            if let Some(d) = &doubt {
                history.set_doubt(id, src.index, d)?;
            }
            in_doubt_at = Some((src.index, doubt));
        }
        if error.is_none() {
            outcome.applied += 1;
        }
        progress(&Progress {
            done: outcome.applied,
            total,
            result: r,
        });
        if let Some(e) = error {
            if in_file_txn {
                let _ = rec.execute(&mut conn, "ROLLBACK", STATEMENT_TIMEOUT).await;
            }
            let kept = match (in_file_txn, outcome.applied) {
                _ if in_doubt => format!(
                    " IN DOUBT: the connection was lost while it (or its COMMIT) was in flight, \
                     so it may have run; statements 1 to {} before it stay applied.",
                    outcome.applied
                ),
                (true, _) => " The file's open transaction was rolled back.".to_string(),
                (false, 0) => " Nothing before it was applied.".to_string(),
                (false, n) => format!(" Statements 1 to {n} before it stay applied."),
            };
            failure = Some(format!(
                "stopped at statement {} (line {}): {e}.{kept}",
                src.index, src.line
            ));
            break;
        }
    }
    let mut settled_status = None;
    if let Some((index, doubt)) = &in_doubt_at {
        let (status, sentence) = settle_in_flight(inst, &rec, id, *index, doubt.as_ref()).await;
        history.settle_statement(id, *index, status, &sentence)?;
        if let Some(f) = failure.as_mut() {
            f.push(' ');
            f.push_str(&sentence);
        }
        if status == "applied" {
            outcome.applied += 1;
        }
        settled_status = Some(status);
    }
    if in_file_txn && failure.is_none() {
        let _ = rec.execute(&mut conn, "ROLLBACK", STATEMENT_TIMEOUT).await;
        failure = Some("the file opens a transaction it never commits: rolled back".into());
    }
    let after = match binlog_point(&mut conn, &rec).await {
        Ok(p) => Some(p),
        // The session died mid-apply (connection killed, server restarted): read the end on
        // a new one, so that what did apply can still be undone.
        Err(_) => match crate::backend::connect::connect(inst).await {
            Ok(mut again) => {
                let p = binlog_point(&mut again, &rec).await.ok();
                let _ = again.disconnect().await;
                p
            }
            Err(_) => None,
        },
    };
    let _ = conn.disconnect().await;
    // The last statement, settled applied: the whole change ran.
    let all_ran = settled_status == Some("applied") && outcome.applied == total;
    outcome.ok = failure.is_none() || all_ran;
    outcome.message = failure.unwrap_or_else(|| format!("applied {total} statement(s)"));
    if after.is_none() && outcome.applied > 0 {
        outcome.message.push_str(
            " The binlog end after the change could not be read (the server did not answer), \
             so `arkc deploy undo` cannot run for it; the record keeps each applied statement \
             and its GTID.",
        );
    }
    let status = match (outcome.ok, settled_status) {
        (true, _) => "applied",
        (false, Some("in doubt")) => "in doubt",
        (false, _) => "failed",
    };
    history.finish(id, status, after.as_ref(), &outcome.message)?;
    crate::audit::deploy(&inst.name, file, sha256, history, &outcome);
    Ok(outcome)
}

/// Settle the statement left in doubt on a new connection: its status and the sentence.
async fn settle_in_flight(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    id: i64,
    index: usize,
    doubt: Option<&Doubt>,
) -> (&'static str, String) {
    let look = settle::how_to_look(id, &inst.name, doubt);
    let Some(doubt) = doubt else {
        return (
            "in doubt",
            format!(
                "statement {index} stays IN DOUBT: the facts to compare could not be read before \
                 it was sent; it may have run. {look}"
            ),
        );
    };
    match settle::settle(inst, rec, doubt, settle::SETTLE_WAIT).await {
        Ok((settled, _)) => (settled.status(), settled.describe(index, &look)),
        Err(why) => (
            "in doubt",
            format!("statement {index} stays IN DOUBT: {why}; it may have run. {look}"),
        ),
    }
}

/// The point before the change and the connection id the binlog will carry as thread id.
async fn prepare(
    conn: &mut mysql_async::Conn,
    rec: &SqlRecorder,
) -> anyhow::Result<(crate::deploy::history::BinlogPoint, u64)> {
    let id = scalar(conn, rec, "SELECT CONNECTION_ID()")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    Ok((binlog_point(conn, rec).await?, id))
}

/// A statement that failed, and whether its COMMIT had been sent when it did.
struct RunError {
    error: anyhow::Error,
    commit_sent: bool,
}

/// Whether the session still answers (a dead one may have committed what it was sent).
async fn alive(conn: &mut mysql_async::Conn) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(5), conn.ping()).await,
        Ok(Ok(()))
    )
}

/// Run one statement, in its own transaction when `wrap`; returns the rows it changed.
async fn run(
    conn: &mut mysql_async::Conn,
    rec: &SqlRecorder,
    sql: &str,
    wrap: bool,
) -> Result<u64, RunError> {
    let before_commit = |error| RunError {
        error,
        commit_sent: false,
    };
    if wrap {
        rec.execute(conn, "BEGIN", STATEMENT_TIMEOUT)
            .await
            .map_err(before_commit)?;
    }
    if let Err(e) = rec.execute(conn, sql, STATEMENT_TIMEOUT).await {
        if wrap {
            let _ = conn.query_drop("ROLLBACK").await;
        }
        return Err(before_commit(e));
    }
    let affected = conn.affected_rows();
    if wrap {
        rec.execute(conn, "COMMIT", STATEMENT_TIMEOUT)
            .await
            .map_err(|error| RunError {
                error,
                commit_sent: true,
            })?;
    }
    Ok(affected)
}
