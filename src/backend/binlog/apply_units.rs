//! Running a plan's units on a server with few round trips: consecutive units are sent
//! together as one multi-statement packet (`BEGIN; ...; COMMIT; BEGIN; ...`), so each source
//! transaction stays its own server transaction, in order, while the network sees one round
//! trip per packet instead of one per statement. The server stops at the first failing
//! statement; the result sets that came back say which unit it was in. A transaction whose
//! merged statements failed is rolled back and run again as written (see `arkc_binlog::batch`).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use arkc_binlog::batch::{batch_statements, Batched};

use super::flashback::TxnResult;
use super::in_doubt::lost_in_flight;
use super::sql_units::Unit;
use crate::backend::recorder::SqlRecorder;

/// How long one packet may take on the server.
const PACKET_TIMEOUT: Duration = Duration::from_secs(300);
/// Units are packed until a packet holds about this much SQL (far under max_allowed_packet).
const PACKET_BYTES: usize = 1 << 20;
/// A merged multi-row statement stops growing at about this size.
const MERGED_BYTES: usize = 256 << 10;

/// Run `units` on an open connection, each transaction unit as one server transaction, in
/// order, stopping at the first error (that transaction is rolled back, the ones before it
/// stay applied). Shared by the Binlog pane's apply and `arkc flashback --execute`.
/// Returns (ok, what happened).
/// `generated`: the text is the planner's own (not edited), so its single-row key DELETEs
/// and INSERTs may be merged into multi-row statements (`arkc_binlog::batch`).
pub async fn run_units(
    conn: &mut Conn,
    rec: &SqlRecorder,
    units: &[Unit],
    generated: bool,
    progress: &mut impl FnMut(TxnResult),
) -> (bool, String) {
    let total = units.iter().filter(|u| u.transaction).count();
    run_units_of(conn, rec, units, (0, total), generated, progress).await
}

/// `run_units` for one part of a longer plan read piece by piece: `done` transactions of
/// `total` ran before this part (for the progress and the message).
pub async fn run_units_of(
    conn: &mut Conn,
    rec: &SqlRecorder,
    units: &[Unit],
    (mut done, total): (usize, usize),
    generated: bool,
    progress: &mut impl FnMut(TxnResult),
) -> (bool, String) {
    let sent: Vec<Vec<Batched>> = units
        .iter()
        .map(|u| unit_statements(u, generated))
        .collect();
    let mut next = 0;
    while next < units.len() {
        let end = packet_end(&sent, next);
        let packet = &units[next..end];
        let sql = packet_sql(&sent[next..end]);
        let started = Instant::now();
        let (affected, error) = run_packet(conn, &sql).await;
        rec.record(&sql, started.elapsed(), error.clone());
        let mut statements = affected.iter();
        let mut resume = end;
        for (at, (unit, sent)) in packet.iter().zip(&sent[next..end]).enumerate() {
            let mut unit_rows = 0;
            let mut no_op = 0;
            let mut finished = true;
            for stmt in sent {
                let Some(&affected) = statements.next() else {
                    finished = false;
                    break;
                };
                unit_rows += affected;
                if !is_control(&stmt.sql) {
                    // A merged statement stands for `rows` statements of the plan.
                    no_op += stmt.rows.saturating_sub(affected as usize);
                }
            }
            if unit.transaction {
                done += 1;
            }
            if finished {
                if unit.transaction {
                    progress(TxnResult {
                        index: done,
                        total,
                        label: unit.label.clone(),
                        statements: unit.statements.len(),
                        rows_affected: unit_rows,
                        no_op,
                        error: None,
                    });
                }
                continue;
            }
            let mut e = error.unwrap_or_else(|| "the server stopped answering".into());
            if unit.transaction {
                // The in-doubt hook: a dead connection may have run this unit's COMMIT.
                let at = next + at;
                if let Some(doubt) = lost_in_flight(conn, units, at, (done, total), &e).await {
                    progress(TxnResult {
                        index: done,
                        total,
                        label: unit.label.clone(),
                        statements: unit.statements.len(),
                        rows_affected: unit_rows,
                        no_op,
                        error: Some(doubt.clone()),
                    });
                    return (false, doubt);
                }
                rollback(conn, rec).await;
            }
            if unit.transaction && sent.iter().any(|s| s.rows > 1) {
                // A merged statement visits its rows in key order, not the plan's: a unique
                // key can clash on the way where the plan's order does not. Run it as written.
                match run_as_written(conn, rec, unit).await {
                    Ok((rows_affected, no_op)) => {
                        progress(TxnResult {
                            index: done,
                            total,
                            label: unit.label.clone(),
                            statements: unit.statements.len(),
                            rows_affected,
                            no_op,
                            error: None,
                        });
                        resume = next + at + 1;
                        break;
                    }
                    Err(again) => e = again,
                }
            }
            progress(TxnResult {
                index: done,
                total,
                label: unit.label.clone(),
                statements: unit.statements.len(),
                rows_affected: unit_rows,
                no_op,
                error: Some(e.clone()),
            });
            let message = format!(
                "stopped at {} ({done} of {total}): {e}; that transaction was rolled back, the \
                 ones before it stay applied",
                unit.label
            );
            return (false, message);
        }
        next = resume;
    }
    (true, format!("applied {total} transaction(s)"))
}

async fn rollback(conn: &mut Conn, rec: &SqlRecorder) {
    let started = Instant::now();
    let rolled = conn
        .query_drop("ROLLBACK")
        .await
        .err()
        .map(|e| e.to_string());
    rec.record("ROLLBACK", started.elapsed(), rolled);
}

/// Run a transaction unit statement by statement as the plan wrote it (after its merged
/// form failed and was rolled back): (rows affected, statements that changed no row), or the
/// error, with the transaction rolled back.
async fn run_as_written(
    conn: &mut Conn,
    rec: &SqlRecorder,
    unit: &Unit,
) -> Result<(u64, usize), String> {
    let plain = unit_statements(unit, false);
    let sql = packet_sql(std::slice::from_ref(&plain));
    let started = Instant::now();
    let (affected, error) = run_packet(conn, &sql).await;
    rec.record(&sql, started.elapsed(), error.clone());
    if let Some(e) = error {
        rollback(conn, rec).await;
        return Err(e);
    }
    let no_op = plain
        .iter()
        .zip(&affected)
        .filter(|(s, &n)| !is_control(&s.sql) && n == 0)
        .count();
    Ok((affected.iter().sum(), no_op))
}

/// BEGIN, COMMIT and session settings change no rows by design.
fn is_control(stmt: &str) -> bool {
    let head = stmt
        .trim_start()
        .get(..6)
        .unwrap_or(stmt)
        .to_ascii_uppercase();
    head.starts_with("SET ") || head == "BEGIN" || head == "COMMIT"
}

/// The statements a unit sends, BEGIN and COMMIT included.
fn unit_statements(unit: &Unit, generated: bool) -> Vec<Batched> {
    let one = |sql: &str| Batched {
        sql: sql.to_string(),
        rows: 1,
    };
    let mut out = Vec::with_capacity(unit.statements.len() + 2);
    if unit.transaction {
        out.push(one("BEGIN"));
    }
    match generated {
        true => out.extend(batch_statements(&unit.statements, MERGED_BYTES)),
        false => out.extend(unit.statements.iter().map(|s| one(s))),
    }
    if unit.transaction {
        out.push(one("COMMIT"));
    }
    out
}

/// Where the packet starting at `start` ends: at least one unit, then up to `PACKET_BYTES`.
fn packet_end(units: &[Vec<Batched>], start: usize) -> usize {
    let mut bytes = 0;
    let mut end = start;
    while end < units.len() {
        let size: usize = units[end].iter().map(|s| s.sql.len() + 2).sum();
        if end > start && bytes + size > PACKET_BYTES {
            break;
        }
        bytes += size;
        end += 1;
    }
    end
}

fn packet_sql(units: &[Vec<Batched>]) -> String {
    let mut sql = String::new();
    for stmt in units.iter().flatten() {
        sql.push_str(&stmt.sql);
        sql.push_str(";\n");
    }
    sql
}

/// Send one multi-statement packet; returns the affected rows of every statement that
/// succeeded, in order, and the error of the one that failed (the server runs no more).
async fn run_packet(conn: &mut Conn, sql: &str) -> (Vec<u64>, Option<String>) {
    let mut affected = Vec::new();
    let run = async {
        let mut result = conn.query_iter(sql).await?;
        loop {
            affected.push(result.affected_rows());
            let last = result.is_empty();
            // Moves to the next statement's result: its error, if it failed, comes here.
            result.collect::<Row>().await?;
            if last {
                break;
            }
        }
        anyhow::Ok(())
    };
    let error = match tokio::time::timeout(PACKET_TIMEOUT, run).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(_) => Some(format!("no answer within {PACKET_TIMEOUT:?}")),
    };
    (affected, error)
}
