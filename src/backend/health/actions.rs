//! The Processlist view's actions, each on a connection of its own so the view's reads go on and
//! no key waits: EXPLAIN of a session's statement, and KILL [QUERY] of one or many sessions.

use tokio::sync::mpsc::UnboundedSender;

use super::kill::{kill_sessions, refuse_if_read_only, KillOutcome, KillTarget};
use super::processlist::MonitorConn;
use super::views::HealthViewEvent;
use crate::backend::recorder::{SqlRecorder, STATEMENT_TIMEOUT};
use crate::backend::slow::report::ExplainTable;
use crate::backend::BackendEvent;
use crate::config::InstanceConfig;

fn send(events: &UnboundedSender<BackendEvent>, event: HealthViewEvent) {
    let _ = events.send(BackendEvent::HealthView(event));
}

/// Kill `ids` on `inst` in the background; the outcome of each comes back as `KilledSessions`.
pub fn spawn_kill(
    inst: Option<InstanceConfig>,
    instance: String,
    ids: Vec<u64>,
    target: KillTarget,
    read_only: bool,
    events: UnboundedSender<BackendEvent>,
) {
    tokio::spawn(async move {
        let outcomes = match inst {
            None => Err(format!("no instance named `{instance}`")),
            Some(inst) => kill_many(&inst, &ids, target, read_only, &events).await,
        };
        send(
            &events,
            HealthViewEvent::KilledSessions {
                instance,
                target,
                outcomes,
            },
        );
    });
}

async fn kill_many(
    inst: &InstanceConfig,
    ids: &[u64],
    target: KillTarget,
    read_only: bool,
    events: &UnboundedSender<BackendEvent>,
) -> Result<Vec<KillOutcome>, String> {
    // Refused before connecting: nothing reaches the server in read-only mode.
    refuse_if_read_only(read_only).map_err(|e| e.to_string())?;
    tracing::info!(instance = %inst.name, ?ids, ?target, "kill confirmed in the Processlist view");
    let recorder = SqlRecorder::new(&inst.name, events.clone());
    let mut mc = MonitorConn::open(inst, recorder)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let outcome = kill_sessions(&mut mc, &inst.address(), ids, target, read_only).await;
    mc.close().await;
    outcome.map_err(|e| format!("{e:#}"))
}

/// EXPLAIN `sql` (already checked by the view) in `db` in the background; the table or the
/// server's refusal comes back as `Explained`.
pub fn spawn_explain(
    inst: Option<InstanceConfig>,
    instance: String,
    id: u64,
    db: Option<String>,
    sql: String,
    events: UnboundedSender<BackendEvent>,
) {
    tokio::spawn(async move {
        let result = match inst {
            None => Err(format!("no instance named `{instance}`")),
            Some(inst) => explain(&inst, db.as_deref(), &sql, &events)
                .await
                .map_err(|e| format!("{e:#}")),
        };
        send(
            &events,
            HealthViewEvent::Explained {
                instance,
                id,
                sql,
                result,
            },
        );
    });
}

async fn explain(
    inst: &InstanceConfig,
    db: Option<&str>,
    sql: &str,
    events: &UnboundedSender<BackendEvent>,
) -> anyhow::Result<ExplainTable> {
    // The view checks this too; the backend is the last line before the server.
    arkc_slowlog::statement::explain_allowed(sql, None)
        .or_else(|e| match arkc_slowlog::statement::statement_kind(sql) {
            // Writes need the server's version, which the guarded session reads below.
            arkc_slowlog::statement::StatementKind::Write
                if arkc_slowlog::statement::is_single_statement(sql) =>
            {
                Ok(())
            }
            _ => Err(e),
        })
        .map_err(anyhow::Error::msg)?;
    let recorder = SqlRecorder::new(&inst.name, events.clone());
    // A guarded session: the EXPLAIN itself is time- and lock-wait-limited like every read.
    let mut mc = MonitorConn::open(inst, recorder).await?;
    let result = explain_on(&mut mc, db, sql).await;
    mc.close().await;
    result
}

async fn explain_on(
    mc: &mut MonitorConn,
    db: Option<&str>,
    sql: &str,
) -> anyhow::Result<ExplainTable> {
    arkc_slowlog::statement::explain_allowed(sql, Some(&mc.guards.flavor.version_text))
        .map_err(anyhow::Error::msg)?;
    if let Some(db) = db.filter(|d| !d.is_empty()) {
        let use_db = format!("USE `{}`", db.replace('`', "``"));
        mc.recorder
            .execute(&mut mc.conn, &use_db, STATEMENT_TIMEOUT)
            .await?;
    }
    let rows = mc
        .recorder
        .query(&mut mc.conn, &format!("EXPLAIN {sql}"), STATEMENT_TIMEOUT)
        .await?;
    Ok(ExplainTable::from_rows(&rows))
}
