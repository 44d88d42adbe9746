//! A generated plan applied on several connections at once, with the result of running it
//! in order on one. Each source transaction stays one server transaction and the COMMITs are
//! sent strictly in plan order (as MariaDB's conservative parallel replication does): a
//! transaction starts on a free connection only when no transaction still in flight writes a
//! row it writes (`arkc_binlog::apply_keys`; a table without a key counts as one row), and it
//! commits only after every earlier one has. Whatever the keys miss (collations, unique
//! secondary keys, foreign keys) meets the server's own locks: an earlier transaction waiting
//! on a later one's lock (the later one waits for its turn to commit) gives up after a short
//! `innodb_lock_wait_timeout`. Any error in flight rolls back every uncommitted transaction,
//! which are then run again one by one as the serial runner runs them (`apply_units`), where a
//! real error stops the apply exactly as it would have without parallelism.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arkc_binlog::apply_keys::{insert_table, unquote_table, TxnKeys};
use arkc_binlog::batch::Batched;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::apply_units::{is_control, packet_sql, run_packet, run_units_of, unit_statements};
use super::flashback::TxnResult;
use super::in_doubt::lost_in_flight;
use super::sql_units::{split_units, Unit};
use crate::backend::recorder::SqlRecorder;

/// Connections a parallel apply may use at most (`--apply-connections`).
pub const MAX_APPLY_CONNECTIONS: usize = 8;
/// Seconds a worker waits for a row lock: long enough for an earlier transaction's own
/// statements, short enough that waiting on a later transaction costs little.
const WORKER_LOCK_WAIT: u32 = 1;
const COMMIT_TIMEOUT: Duration = Duration::from_secs(300);

/// What a transaction's task did, with its connection back.
struct Ran {
    conn: Conn,
    /// Rows affected by each statement that succeeded, in order.
    affected: Vec<u64>,
    /// The statement that failed, if one did (then no COMMIT was sent).
    error: Option<String>,
    /// The COMMIT: None when none was sent (a statement failed, or the transaction before it
    /// was not committed), Some(None) when the server acknowledged it, Some(Some(error))
    /// when it failed or got no answer.
    commit: Option<Option<String>>,
}

/// A transaction (or a statement outside one) for the apply, as the caller has it.
pub struct Work {
    /// Its label and statements; no statements yet when `unsplit` holds them.
    pub unit: Unit,
    /// The transaction's SQL text, split into `unit` only if it has to run as SQL (or give
    /// its keys): a restore sent as row events with keys from the row images never does.
    pub unsplit: Option<(Arc<String>, Range<usize>)>,
    /// Its `BINLOG` statements' base64 (`arkc_binlog::invert::statement_payloads`), sent
    /// instead of its SQL.
    pub row_events: Option<Vec<Vec<u8>>>,
    /// The rows it writes, when known without its SQL (`invert::RowEventSink::keys`).
    pub keys: Option<TxnKeys>,
    /// Its rows, when known without its SQL.
    pub rows: Option<u64>,
}

impl Work {
    /// A unit whose statements are split, and its row events if any.
    pub fn of(unit: Unit, row_events: Option<Vec<Vec<u8>>>) -> Work {
        Work {
            unit,
            unsplit: None,
            row_events,
            keys: None,
            rows: None,
        }
    }
}

/// `unit` with its statements, split from `unsplit` when it holds them: the text of one
/// transaction of the plan, so anything else is an error.
fn whole(unit: Unit, unsplit: Option<(Arc<String>, Range<usize>)>) -> Result<Unit, String> {
    let Some((text, range)) = unsplit else {
        return Ok(unit);
    };
    let mut units = split_units(&text[range])?;
    match (units.len(), units.first().map(|u| u.transaction)) {
        (1, Some(true)) => Ok(units.remove(0)),
        _ => Err(format!(
            "{}: not one transaction in the plan's text",
            unit.label
        )),
    }
}

struct InFlight {
    unit: Unit,
    unsplit: Option<(Arc<String>, Range<usize>)>,
    rows: Option<u64>,
    sent: Vec<Batched>,
    keys: TxnKeys,
    run: JoinHandle<Ran>,
    /// Told whether this transaction committed; taken by the one started after it, which
    /// sends its own COMMIT only once this one's is acknowledged.
    turn: Option<oneshot::Receiver<bool>>,
    /// Sent as one `BINLOG` statement of row events (`arkc_binlog::invert`), not as SQL.
    row_events: bool,
}

/// Runs the transactions it is fed, in order, on up to `APPLY_CONNECTIONS` connections.
pub struct ParallelApply<'a> {
    rec: &'a SqlRecorder,
    idle: Vec<Conn>,
    in_flight: VecDeque<InFlight>,
    primary_keys: HashMap<String, Option<Vec<String>>>,
    done: usize,
    total: usize,
    rows: u64,
    /// The label of the last transaction committed, for a message about the next one.
    last_committed: Option<String>,
}

impl<'a> ParallelApply<'a> {
    /// `conns`: open connections in the planner's session settings (at least one); `total`:
    /// the transactions of the whole plan, for the progress and the messages.
    pub async fn new(
        rec: &'a SqlRecorder,
        conns: Vec<Conn>,
        total: usize,
    ) -> Result<ParallelApply<'a>, String> {
        let mut apply = ParallelApply {
            rec,
            idle: conns,
            in_flight: VecDeque::new(),
            primary_keys: HashMap::new(),
            done: 0,
            total,
            rows: 0,
            last_committed: None,
        };
        let wait = format!("SET SESSION innodb_lock_wait_timeout = {WORKER_LOCK_WAIT}");
        apply.on_every_connection(&[wait]).await?;
        Ok(apply)
    }

    /// Rows changed by the transactions committed so far.
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }

    /// Run `units` (a piece of the plan, in order); Err is the message of the stop, with
    /// every transaction after the one that failed rolled back.
    pub async fn feed(
        &mut self,
        units: Vec<Unit>,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        let units = units.into_iter().map(|u| Work::of(u, None)).collect();
        self.feed_row_events(units, progress).await
    }

    /// Send `BINLOG '<format description>'` on every connection: the server then reads row
    /// events without checksums (`arkc_binlog::invert`). Err: the server refused it (no
    /// BINLOG REPLAY or SUPER privilege, not MariaDB); the caller keeps to the SQL.
    pub async fn start_row_events(&mut self) -> Result<(), String> {
        let fde = arkc_binlog::invert::format_description_statement();
        self.on_every_connection(&[fde]).await
    }

    /// `feed`, with a transaction's `BINLOG` statements of row events sent instead of its SQL
    /// where one is given (after `start_row_events`). The SQL still decides which
    /// transactions may run side by side, and runs again on one connection if anything
    /// fails, so a refused row event ends exactly as the SQL would.
    pub async fn feed_row_events(
        &mut self,
        units: Vec<Work>,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        for work in units {
            let fed = match work.unit.transaction {
                true => self.start(work, progress).await,
                false => match whole(work.unit, work.unsplit) {
                    Ok(unit) => self.alone(unit, progress).await,
                    Err(e) => Err(e),
                },
            };
            if let Err(message) = fed {
                self.abandon().await;
                return Err(message);
            }
        }
        Ok(())
    }

    /// Commit everything still in flight and close the connections.
    pub async fn finish(&mut self, progress: &mut impl FnMut(TxnResult)) -> Result<(), String> {
        if let Err(message) = self.drain(progress).await {
            self.abandon().await;
            return Err(message);
        }
        for conn in self.idle.drain(..) {
            let _ = conn.disconnect().await;
        }
        Ok(())
    }

    async fn start(
        &mut self,
        work: Work,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        let Work {
            mut unit,
            mut unsplit,
            row_events,
            keys,
            rows,
        } = work;
        // A transaction that cannot even be prepared stops the apply where the serial runner
        // would: the ones before it (in flight, all sound) commit first.
        if keys.is_none() || row_events.is_none() {
            match whole(unit, unsplit.take()) {
                Ok(u) => unit = u,
                Err(e) => return self.stop_before(e, progress).await,
            }
        }
        let keys = match keys {
            Some(keys) => keys,
            None => {
                if let Err(e) = self.learn_primary_keys(&unit, progress).await {
                    return self.stop_before(e, progress).await;
                }
                let known = &self.primary_keys;
                let pk = |t: &str| known.get(t).and_then(|c| c.as_deref());
                TxnKeys::of(unit.statements.iter().map(String::as_str), &pk)
            }
        };
        let binlog = row_events.is_some();
        let (sent, steps) = match row_events {
            Some(statements) => row_event_steps(statements),
            None => {
                let mut sent = unit_statements(&unit, true);
                sent.pop(); // COMMIT is sent when the transaction's turn comes.
                let sql = packet_sql(std::slice::from_ref(&sent));
                (sent, vec![Step::Query(sql)])
            }
        };
        while self.idle.is_empty() || self.in_flight.iter().any(|f| f.keys.overlaps(&keys)) {
            self.commit_head(progress).await?;
        }
        let mut conn = self.idle.pop().expect("a free connection");
        let rec = self.rec.clone();
        // The COMMIT is sent by the transaction's own task as soon as the one before it is
        // acknowledged (in plan order, as before), not by this loop: the chain of COMMITs
        // does not wait on the preparation of the transactions after it.
        let previous = self.in_flight.back_mut().and_then(|f| f.turn.take());
        let (turn, next_turn) = oneshot::channel();
        let answers = sent.len();
        let run = tokio::spawn(async move {
            let mut affected = Vec::new();
            for step in steps {
                let (counts, error) = match step {
                    Step::Query(sql) => {
                        let started = Instant::now();
                        let ran = run_packet(&mut conn, &sql).await;
                        rec.record(&sql, started.elapsed(), ran.1.clone());
                        ran
                    }
                    Step::Set(sql, values) => {
                        let params = mysql_async::Params::Positional(values);
                        let set = rec.exec_drop(&mut conn, &sql, params, COMMIT_TIMEOUT).await;
                        (Vec::new(), set.err().map(|e| format!("{e:#}")))
                    }
                };
                affected.extend(counts);
                if error.is_some() {
                    // `turn` dropped: the next transaction learns this one did not commit.
                    return Ran {
                        conn,
                        affected,
                        error,
                        commit: None,
                    };
                }
            }
            // Every statement must have answered before the COMMIT: a packet read short
            // (no error, fewer answers) is not committed, and the apply loop runs it again.
            let go = affected.len() >= answers
                && match previous {
                    None => true,
                    Some(before) => before.await.unwrap_or(false),
                };
            if !go {
                return Ran {
                    conn,
                    affected,
                    error: None,
                    commit: None,
                };
            }
            let committed = rec.execute(&mut conn, "COMMIT", COMMIT_TIMEOUT).await;
            let committed = committed.err().map(|e| e.to_string());
            let _ = turn.send(committed.is_none());
            Ran {
                conn,
                affected,
                error: None,
                commit: Some(committed),
            }
        });
        self.in_flight.push_back(InFlight {
            unit,
            unsplit,
            rows,
            sent,
            keys,
            run,
            turn: Some(next_turn),
            row_events: binlog,
        });
        Ok(())
    }

    /// Stop before a transaction that cannot be sent (`error` says why): everything in
    /// flight, all before it, is committed first, so the apply ends where running one by one
    /// would have ended.
    async fn stop_before(
        &mut self,
        error: String,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        self.drain(progress).await?;
        Err(error)
    }

    /// A statement outside any transaction: after everything before it has committed;
    /// session settings go to every connection.
    async fn alone(
        &mut self,
        unit: Unit,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        self.drain(progress).await?;
        if unit.statements.iter().all(|s| is_control(s)) {
            return self.on_every_connection(&unit.statements).await;
        }
        self.serially(vec![unit], progress).await
    }

    /// Wait for the oldest transaction and its COMMIT (sent by its own task once the one
    /// before it was acknowledged); if it did not commit, roll back everything in flight and
    /// run it again one by one.
    async fn commit_head(&mut self, progress: &mut impl FnMut(TxnResult)) -> Result<(), String> {
        let Some(head) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let Ran {
            mut conn,
            affected,
            error,
            commit,
        } = head
            .run
            .await
            .map_err(|e| format!("an apply connection stopped: {e}"))?;
        let committed = match commit {
            Some(committed) if error.is_none() && affected.len() >= head.sent.len() => committed,
            _ => {
                // Not committed, so neither is anything after it (each COMMIT waits for the
                // one before): roll all of it back and run it again in order; a connection
                // that no longer answers is left behind.
                let mut again = vec![whole(head.unit, head.unsplit)?];
                if rollback(&mut conn, self.rec).await {
                    self.idle.push(conn);
                }
                while let Some(later) = self.in_flight.pop_front() {
                    let Ran { mut conn, .. } = later
                        .run
                        .await
                        .map_err(|e| format!("an apply connection stopped: {e}"))?;
                    if rollback(&mut conn, self.rec).await {
                        self.idle.push(conn);
                    }
                    again.push(whole(later.unit, later.unsplit)?);
                }
                if self.idle.is_empty() {
                    return Err(format!(
                        "stopped at {} ({} of {}): {}; the apply's connections were lost, nothing \
                     after {} transaction(s) was committed",
                        again[0].label,
                        self.done + 1,
                        self.total,
                        error.unwrap_or_else(|| "the server stopped answering".into()),
                        self.done
                    ));
                }
                return self.serially(again, progress).await;
            }
        };
        self.done += 1;
        if let Some(e) = committed {
            return Err(self
                .commit_failed(&mut conn, &head.unit, &e, progress)
                .await);
        }
        let (mut rows, mut no_op) = (0, 0);
        for (stmt, &n) in head.sent.iter().zip(&affected) {
            rows += n;
            if !is_control(&stmt.sql) {
                no_op += stmt.rows.saturating_sub(n as usize);
            }
        }
        if head.row_events {
            // The server answers a BINLOG statement with no row count; it applied every row
            // of the transaction (a missing or duplicate row is an error, handled above).
            rows = head.rows.unwrap_or(head.unit.statements.len() as u64);
        }
        self.rows += rows;
        self.last_committed = Some(head.unit.label.clone());
        progress(TxnResult {
            index: self.done,
            total: self.total,
            label: head.unit.label.clone(),
            statements: head.rows.map_or(head.unit.statements.len(), |n| n as usize),
            rows_affected: rows,
            no_op,
            error: None,
        });
        self.idle.push(conn);
        Ok(())
    }

    /// The one place a failed COMMIT is handled: a connection that died with the COMMIT
    /// sent leaves the transaction in doubt (`in_doubt::lost_in_flight`, settled by the
    /// caller from the rows); one that still answers refused it, so it was not committed.
    /// Either way the transactions before it are committed and the ones after it are not.
    async fn commit_failed(
        &mut self,
        conn: &mut Conn,
        unit: &Unit,
        error: &str,
        progress: &mut impl FnMut(TxnResult),
    ) -> String {
        let (done, total) = (self.done, self.total);
        // The one acknowledged before it, by label, so the message can name it.
        let before = self.last_committed.clone().map(|label| Unit {
            label,
            statements: Vec::new(),
            transaction: true,
        });
        let units: Vec<Unit> = before.into_iter().chain([unit.clone()]).collect();
        let at = units.len() - 1;
        let message = match lost_in_flight(conn, &units, at, (done, total), error).await {
            Some(doubt) => doubt,
            None => {
                rollback(conn, self.rec).await;
                format!(
                    "stopped at {} ({done} of {total}): its COMMIT failed: {error}; that \
                     transaction was rolled back, the ones before it stay applied",
                    unit.label
                )
            }
        };
        progress(TxnResult {
            index: done,
            total,
            label: unit.label.clone(),
            statements: unit.statements.len(),
            rows_affected: 0,
            no_op: 0,
            error: Some(message.clone()),
        });
        message
    }

    async fn drain(&mut self, progress: &mut impl FnMut(TxnResult)) -> Result<(), String> {
        while !self.in_flight.is_empty() {
            self.commit_head(progress).await?;
        }
        Ok(())
    }

    /// Run `units` one by one on one connection as the serial runner does (merged statements
    /// retried as written, a real error stops), with the server's usual lock wait.
    async fn serially(
        &mut self,
        units: Vec<Unit>,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        let rec = self.rec;
        let conn = self.idle.last_mut().expect("a free connection");
        let usual = "SET SESSION innodb_lock_wait_timeout = DEFAULT";
        rec.execute(conn, usual, COMMIT_TIMEOUT)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let mut counted = |r: TxnResult| {
            self.rows += r.rows_affected;
            if r.error.is_none() {
                self.last_committed = Some(r.label.clone());
            }
            progress(r)
        };
        let (ok, message) = run_units_of(
            conn,
            rec,
            &units,
            (self.done, self.total),
            true,
            &mut counted,
        )
        .await;
        if !ok {
            // The serial runner knows only these units: name the one committed before them.
            let plain = format!("; {} transaction(s) before it were acknowledged", self.done);
            let message = match &self.last_committed {
                Some(label) if message.contains(&plain) => message.replacen(
                    &plain,
                    &format!(
                        "; the last one acknowledged is {label} ({} of {})",
                        self.done, self.total
                    ),
                    1,
                ),
                _ => message,
            };
            return Err(message);
        }
        self.done += units.iter().filter(|u| u.transaction).count();
        let short = format!("SET SESSION innodb_lock_wait_timeout = {WORKER_LOCK_WAIT}");
        rec.execute(conn, &short, COMMIT_TIMEOUT)
            .await
            .map_err(|e| format!("{e:#}"))?;
        Ok(())
    }

    async fn on_every_connection(&mut self, statements: &[String]) -> Result<(), String> {
        for conn in &mut self.idle {
            for sql in statements {
                self.rec
                    .execute(conn, sql, COMMIT_TIMEOUT)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
            }
        }
        Ok(())
    }

    /// The primary key columns of each table `unit` inserts into, asked once per table.
    async fn learn_primary_keys(
        &mut self,
        unit: &Unit,
        progress: &mut impl FnMut(TxnResult),
    ) -> Result<(), String> {
        for stmt in &unit.statements {
            let Some(table) = insert_table(stmt) else {
                continue;
            };
            if self.primary_keys.contains_key(table) {
                continue;
            }
            while self.idle.is_empty() {
                self.commit_head(progress).await?;
            }
            let conn = self.idle.last_mut().expect("a free connection");
            let columns = match unquote_table(table) {
                Some((schema, name)) => primary_key(conn, self.rec, &schema, &name).await?,
                None => None,
            };
            self.primary_keys.insert(table.to_string(), columns);
        }
        Ok(())
    }

    /// Roll back whatever is still in flight (nothing of it was committed).
    /// Called only after a transaction that did not commit (or whose COMMIT failed), so
    /// none after it sends its COMMIT.
    async fn abandon(&mut self) {
        while let Some(later) = self.in_flight.pop_front() {
            if let Ok(Ran { mut conn, .. }) = later.run.await {
                if rollback(&mut conn, self.rec).await {
                    self.idle.push(conn);
                }
            }
        }
    }
}

/// What a connection is sent for one transaction, in order.
enum Step {
    /// A multi-statement packet (`run_packet`).
    Query(String),
    /// A prepared `SET @v0 = ?, ...` with the values bound.
    Set(String, Vec<mysql_async::Value>),
}

/// A `BINLOG` statement reads its row events from two user variables (concatenated) when it
/// names them instead of a string, and sets both to NULL after reading them: each statement
/// has its own pair, `@arkc_rows_N` with the events and `@arkc_none_N` empty.
/// The row events held in user variables at once, at most (one statement's at least).
const VARIABLE_BYTES: usize = 4 << 20;

/// A transaction's `BINLOG '<base64>'` statements (each one's base64, as
/// `invert::statement_payloads` reads them) sent as `BINLOG @arkc_rows_N, @arkc_none_N`
/// after a prepared SET binds each statement's base64 to its variable: the server then reads
/// the events as a bound value instead of lexing a string literal of up to a megabyte (about
/// a tenth of its work on a restore), and the restore's own binlog annotates its rows with
/// that short text instead of the whole literal. A large transaction takes several SET rounds
/// of up to `VARIABLE_BYTES`, so the server never holds more.
/// Each `BINLOG @...` ends its packet (`BEGIN;` may precede it): MariaDB 10.11 answers it
/// without the "more results" flag, so a statement after it in the same packet would leave
/// an answer the client never reads.
/// The placeholders of `sent` stand for the statements in the transaction's results.
fn row_event_steps(statements: Vec<Vec<u8>>) -> (Vec<Batched>, Vec<Step>) {
    let placeholder = |sql: String| Batched { sql, rows: 0 };
    let mut sent = vec![placeholder("BEGIN".into())];
    let mut steps = Vec::new();
    let mut group: Vec<(mysql_async::Value, String)> = Vec::new();
    let mut held = 0;
    let flush = |steps: &mut Vec<Step>, group: &mut Vec<(mysql_async::Value, String)>| {
        let set = (0..group.len())
            .map(|i| format!("@arkc_rows_{i} = ?, @arkc_none_{i} = ''"))
            .collect::<Vec<_>>()
            .join(", ");
        let (values, queries): (Vec<_>, Vec<_>) = group.drain(..).unzip();
        steps.push(Step::Set(format!("SET {set}"), values));
        steps.extend(queries.into_iter().map(Step::Query));
    };
    for bytes in statements {
        if !group.is_empty() && held + bytes.len() > VARIABLE_BYTES {
            flush(&mut steps, &mut group);
            held = 0;
        }
        let at = group.len();
        held += bytes.len();
        let binlog = format!("BINLOG @arkc_rows_{at}, @arkc_none_{at}");
        let query = match sent.len() {
            1 => format!("BEGIN;\n{binlog}"),
            _ => binlog.clone(),
        };
        group.push((mysql_async::Value::Bytes(bytes), query));
        sent.push(placeholder(binlog));
    }
    if !group.is_empty() {
        flush(&mut steps, &mut group);
    }
    (sent, steps)
}

/// ROLLBACK; false when the connection no longer answers (within the COMMIT's deadline).
async fn rollback(conn: &mut Conn, rec: &SqlRecorder) -> bool {
    rec.execute(conn, "ROLLBACK", COMMIT_TIMEOUT).await.is_ok()
}

/// The primary key's columns, backquoted as the planner writes them; None without one.
async fn primary_key(
    conn: &mut Conn,
    rec: &SqlRecorder,
    schema: &str,
    table: &str,
) -> Result<Option<Vec<String>>, String> {
    let sql = "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
               AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX";
    let started = Instant::now();
    let found: Result<Vec<String>, _> = conn.exec(sql, (schema, table)).await;
    rec.record(
        sql,
        started.elapsed(),
        found.as_ref().err().map(|e| e.to_string()),
    );
    let columns =
        found.map_err(|e| format!("cannot read the primary key of {schema}.{table}: {e}"))?;
    Ok((!columns.is_empty()).then(|| {
        columns
            .iter()
            .map(|c| format!("`{}`", c.replace('`', "``")))
            .collect()
    }))
}
