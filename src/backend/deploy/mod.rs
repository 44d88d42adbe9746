//! Deploys against a server: the facts the live review rules judge (`live`), and applying a
//! reviewed change statement by statement with its history (`apply`).

pub mod apply;
pub mod child;
pub mod live;
pub mod settle;
pub mod task;

use std::time::Duration;

use tokio::sync::mpsc;

use mysql_async::Conn;

use super::recorder::{cell_text, SqlRecorder};
use crate::deploy::history::BinlogPoint;

/// How long a metadata query (SHOW, information_schema, EXPLAIN) may take.
pub const META_TIMEOUT: Duration = Duration::from_secs(30);

/// The first cell of the first row as text.
pub(crate) async fn scalar(
    conn: &mut Conn,
    rec: &SqlRecorder,
    sql: &str,
) -> anyhow::Result<Option<String>> {
    let rows = rec.query(conn, sql, META_TIMEOUT).await?;
    Ok(rows.first().and_then(|r| r.as_ref(0)).and_then(cell_text))
}

/// The server's binlog file and position (SHOW MASTER STATUS) and its GTID position.
pub async fn binlog_point(conn: &mut Conn, rec: &SqlRecorder) -> anyhow::Result<BinlogPoint> {
    let rows = rec.query(conn, "SHOW MASTER STATUS", META_TIMEOUT).await?;
    let row = rows.first().ok_or_else(|| {
        anyhow::anyhow!("SHOW MASTER STATUS returned nothing: binary logging (log_bin) is off, so the deploy could not be undone; refusing")
    })?;
    let file = row.as_ref(0).and_then(cell_text).unwrap_or_default();
    let position = row
        .as_ref(1)
        .and_then(cell_text)
        .and_then(|p| p.parse().ok())
        .unwrap_or_default();
    // MariaDB names it gtid_binlog_pos; MySQL gtid_executed.
    let gtid = match scalar(conn, rec, "SELECT @@global.gtid_binlog_pos").await {
        Ok(g) => g,
        Err(_) => scalar(conn, rec, "SELECT @@global.gtid_executed").await?,
    };
    Ok(BinlogPoint {
        file,
        position,
        gtid: gtid.unwrap_or_default(),
    })
}

/// A recorder that only logs (for the CLI, which has no `@` pane to feed).
pub fn log_only_recorder(instance: &str) -> SqlRecorder {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    SqlRecorder::new(instance, tx)
}

/// Run one deploy request on a blocking thread (the history is SQLite, not `Sync`), reporting
/// its `DeployEvent`s as `BackendEvent::Deploy`. An unknown instance is reported, not panicked on.
pub fn spawn_request(
    config: &crate::config::Config,
    request: task::DeployRequest,
    events: mpsc::UnboundedSender<super::BackendEvent>,
) {
    let name = match &request {
        task::DeployRequest::Review { instance, .. }
        | task::DeployRequest::Apply { instance, .. } => instance.clone(),
        task::DeployRequest::History => {
            tokio::task::spawn_blocking(move || {
                let _ = events.send(super::BackendEvent::Deploy(child::history_event()));
            });
            return;
        }
        task::DeployRequest::Job { job, read_only } => {
            spawn_job(config, job.clone(), *read_only, events);
            return;
        }
    };
    let Some(inst) = config.instances.iter().find(|i| i.name == name).cloned() else {
        let _ = events.send(super::BackendEvent::Deploy(task::DeployEvent::Failed(
            format!("no instance `{name}` in the config"),
        )));
        return;
    };
    let review = config.review.clone();
    tokio::task::spawn_blocking(move || {
        task::run_blocking(request, &inst, &review, &mut |e| {
            let _ = events.send(super::BackendEvent::Deploy(e));
        });
    });
}

/// Run an undo or instance deploy through the CLI twin: this very binary, with the same config.
fn spawn_job(
    config: &crate::config::Config,
    job: child::ChildJob,
    read_only: bool,
    events: mpsc::UnboundedSender<super::BackendEvent>,
) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            let _ = events.send(super::BackendEvent::Deploy(task::DeployEvent::JobEnded {
                ok: false,
                message: format!("cannot find arkc's own binary to run the job: {e}"),
            }));
            return;
        }
    };
    tokio::spawn(child::run(exe, config.path.clone(), job, read_only, events));
}
