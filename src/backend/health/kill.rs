//! KILL [QUERY] of sessions: refused in read-only mode, logged, never aimed at arkc's own session.

use std::time::Duration;

use super::processlist::MonitorConn;

/// How long a KILL may take to be acknowledged. Not the poll's 2 s: a KILL is a write whose
/// outcome the DBA must be told, and a busy server (or a session slow to notice) can take
/// longer to answer one; giving up early said "no answer" for kills that had happened.
const KILL_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillTarget {
    /// Stop the running statement; the session stays.
    Query,
    /// End the session (its open transaction rolls back).
    Connection,
}

/// The outcome for one session id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KillOutcome {
    pub id: u64,
    pub killed: bool,
    pub error: Option<String>,
}

/// Why a kill is refused before anything is sent.
pub fn refuse_if_read_only(read_only: bool) -> anyhow::Result<()> {
    if read_only {
        anyhow::bail!(
            "refused: arkc is read-only (--read-only or read_only = true in the config); \
             nothing was sent to the server"
        );
    }
    Ok(())
}

/// Kill each id in turn; one failure does not stop the others. Sessions arkc itself opened on
/// `address` (its polls and view reads) are left alone.
pub async fn kill_sessions(
    mc: &mut MonitorConn,
    address: &str,
    ids: &[u64],
    target: KillTarget,
    read_only: bool,
) -> anyhow::Result<Vec<KillOutcome>> {
    refuse_if_read_only(read_only)?;
    let mut outcomes = Vec::with_capacity(ids.len());
    for &id in ids {
        if crate::backend::connect::is_own_session(address, id) {
            outcomes.push(KillOutcome {
                id,
                killed: false,
                error: Some("arkc's own monitoring session: left alone".into()),
            });
            continue;
        }
        let sql = match target {
            KillTarget::Query => format!("KILL QUERY {id}"),
            KillTarget::Connection => format!("KILL CONNECTION {id}"),
        };
        tracing::info!(instance = ?mc.guards.flavor.version_text, %sql, "kill requested");
        let result = mc.recorder.execute(&mut mc.conn, &sql, KILL_TIMEOUT).await;
        outcomes.push(KillOutcome {
            id,
            killed: result.is_ok(),
            error: result.err().map(|e| format!("{e:#}")),
        });
    }
    crate::audit::kills(
        mc.recorder.instance(),
        target == KillTarget::Query,
        &outcomes,
    );
    Ok(outcomes)
}
