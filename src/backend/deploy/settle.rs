//! Settling a deploy statement left in doubt (`deploy::in_doubt`): before a statement that
//! commits is sent, `capture` reads the binlog point and, for DDL, its table's definition;
//! when the connection is lost with it in flight, `settle` reconnects, waits until the old
//! session is gone from the server (until then it may still commit), reads the same facts
//! again and judges. `settle_deploy` does it for a recorded deploy (`arkc deploy settle`).

use std::time::Duration;

use mysql_async::Conn;

use super::{binlog_point, scalar};
use crate::backend::recorder::SqlRecorder;
use crate::config::InstanceConfig;
use crate::deploy::history::{BinlogPoint, DeployHistory};
use crate::deploy::in_doubt::{ddl_target, verdict, DdlBefore, Doubt, Now, Settled};
use crate::deploy::review::ReviewedStatement;

/// How long settling waits for the server to answer again and for the old session to end.
pub const SETTLE_WAIT: Duration = Duration::from_secs(20);

/// How often it looks again meanwhile.
const POLL: Duration = Duration::from_millis(250);

fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// SHOW CREATE TABLE's text of `db`.`table`, None when it does not exist.
async fn definition(
    conn: &mut Conn,
    rec: &SqlRecorder,
    (db, table): (&str, &str),
) -> anyhow::Result<Option<String>> {
    let exists = scalar(
        conn,
        rec,
        &format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
            quote_literal(db),
            quote_literal(table)
        ),
    )
    .await?;
    if exists.as_deref() != Some("1") {
        return Ok(None);
    }
    let sql = format!(
        "SHOW CREATE TABLE {}.{}",
        quote_ident(db),
        quote_ident(table)
    );
    let rows = rec.query(conn, &sql, super::META_TIMEOUT).await?;
    Ok(rows
        .first()
        .and_then(|r| r.as_ref(1))
        .and_then(crate::backend::recorder::cell_text))
}

/// (database, table) of a DDL table as the server stores it: `db.table`, split at the quote.
fn split_table(table: &str) -> Option<(String, String)> {
    let inner = table.strip_prefix('`')?.strip_suffix('`')?;
    let (db, t) = inner.split_once("`.`")?;
    Some((db.replace("``", "`"), t.replace("``", "`")))
}

/// What to keep before sending `st` (`last`: the file's last statement) on the deploy's
/// session `connection_id`. None when the binlog point cannot be read (the statement will then
/// fail on the same dead session).
pub async fn capture(
    conn: &mut Conn,
    rec: &SqlRecorder,
    (st, last): (&ReviewedStatement, bool),
    connection_id: u64,
) -> Option<Doubt> {
    let before = binlog_point(conn, rec).await.ok()?;
    let mut ddl = None;
    if let Some(target) = ddl_target(st) {
        let db = match target.name.as_slice() {
            [db, _] => Some(db.clone()),
            _ => scalar(conn, rec, "SELECT DATABASE()").await.ok().flatten(),
        };
        let table = target.name.last().cloned().unwrap_or_default();
        if let Some(db) = db {
            if let Ok(def) = definition(conn, rec, (&db, &table)).await {
                ddl = Some(DdlBefore {
                    table: format!("{}.{}", quote_ident(&db), quote_ident(&table)),
                    expect: target.expect,
                    definition: def,
                });
            }
        }
    }
    Some(Doubt {
        connection_id,
        sent_at: chrono::Utc::now().timestamp(),
        before,
        ddl,
        last,
    })
}

/// A new connection, trying until `deadline`.
async fn reconnect(inst: &InstanceConfig, deadline: tokio::time::Instant) -> Result<Conn, String> {
    loop {
        match crate::backend::connect::connect(inst).await {
            Ok(c) => return Ok(c),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("the server did not answer again ({e:#})"))
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Whether a server up `uptime` seconds restarted since a statement sent `elapsed` seconds ago
/// (then the session id is another session's now). Both are whole seconds, each cut down, so
/// they can differ by up to 2 s without a restart: a server started just before the statement
/// must not look restarted, or a session still running would be taken for gone.
fn restarted_since(uptime: i64, elapsed: i64) -> bool {
    uptime.saturating_add(2) < elapsed
}

/// Wait until session `doubt.connection_id` no longer runs a statement: gone, idle, or the
/// server restarted since it was sent. Until then it may still commit.
async fn old_session_gone(
    conn: &mut Conn,
    rec: &SqlRecorder,
    doubt: &Doubt,
    deadline: tokio::time::Instant,
) -> Result<(), String> {
    let sql = format!(
        "SELECT COMMAND, LEFT(COALESCE(INFO, ''), 80), \
         (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') \
         FROM information_schema.PROCESSLIST WHERE ID = {}",
        doubt.connection_id
    );
    loop {
        let rows = rec
            .query(conn, &sql, super::META_TIMEOUT)
            .await
            .map_err(|e| format!("cannot read the process list ({e:#})"))?;
        let Some(row) = rows.first() else {
            return Ok(());
        };
        let cell = |i| {
            row.as_ref(i)
                .and_then(crate::backend::recorder::cell_text)
                .unwrap_or_default()
        };
        let (command, info) = (cell(0), cell(1));
        let uptime: i64 = cell(2).parse().unwrap_or(i64::MAX);
        let restarted = restarted_since(uptime, chrono::Utc::now().timestamp() - doubt.sent_at);
        if restarted || command == "Sleep" {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "its session (connection {}) is still on the server ({command}: {info}), so it \
                 may still commit",
                doubt.connection_id
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Settle one statement in doubt on `inst`: the verdict and the binlog end read once the old
/// session was gone, or why it stays in doubt (server unreachable, session still running).
pub async fn settle(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    doubt: &Doubt,
    wait: Duration,
) -> Result<(Settled, Option<BinlogPoint>), String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut conn = reconnect(inst, deadline).await?;
    let read = async {
        old_session_gone(&mut conn, rec, doubt, deadline).await?;
        let gtid = scalar(&mut conn, rec, "SELECT @@global.gtid_binlog_pos")
            .await
            .map_err(|e| format!("cannot read the GTID position ({e:#})"))?
            .unwrap_or_default();
        let definition = match &doubt.ddl {
            None => None,
            Some(ddl) => {
                let (db, table) = split_table(&ddl.table)
                    .ok_or_else(|| format!("unreadable table name {}", ddl.table))?;
                Some(
                    definition(&mut conn, rec, (&db, &table))
                        .await
                        .map_err(|e| format!("cannot read {}'s definition ({e:#})", ddl.table))?,
                )
            }
        };
        let end = binlog_point(&mut conn, rec).await.ok();
        Ok((verdict(doubt, &Now { gtid, definition }), end))
    };
    let out = read.await;
    let _ = conn.disconnect().await;
    out
}

/// How to look by hand at a statement that cannot be settled: settle again later, else read the
/// binlog from the point recorded before it.
pub fn how_to_look(deploy_id: i64, instance: &str, doubt: Option<&Doubt>) -> String {
    let read = match doubt {
        Some(d) => format!(
            "read the binlog from where it was sent (`arkc binlog events --instance {instance} \
             --start-file {} --start-position {} --from-server`)",
            d.before.file, d.before.position
        ),
        None => "read the binlog from the deploy's start (`arkc deploy list` has its position)"
            .to_string(),
    };
    format!(
        "Run `arkc deploy settle {deploy_id}` when the server answers and the session is gone; \
         if it still cannot tell, {read} and look for the statement's transaction before running \
         anything again"
    )
}

/// Settle every statement of deploy `id` still in doubt; the sentences, one per statement.
pub async fn settle_deploy(
    inst: &InstanceConfig,
    history: &DeployHistory,
    id: i64,
    wait: Duration,
) -> anyhow::Result<Vec<String>> {
    let record = history
        .get(id)?
        .ok_or_else(|| anyhow::anyhow!("no deploy {id} in {}", history.path().display()))?;
    let rec = super::log_only_recorder(&inst.name);
    let mut sentences = Vec::new();
    let mut last_applied = false;
    for st in record.statements.iter().filter(|s| s.status == "in doubt") {
        let doubt = history.doubt(id, st.index)?;
        let (status, sentence) = match &doubt {
            None => (
                "in doubt",
                format!(
                    "statement {} stays IN DOUBT: nothing was read before it was sent to compare \
                     with; it may have run. {}",
                    st.index,
                    how_to_look(id, &inst.name, None)
                ),
            ),
            Some(d) => match settle(inst, &rec, d, wait).await {
                Ok((settled, end)) => {
                    if let (Settled::Applied(_), Some(end)) = (&settled, &end) {
                        history.set_after(id, end)?;
                    }
                    last_applied |= d.last && matches!(settled, Settled::Applied(_));
                    (
                        settled.status(),
                        settled.describe(st.index, &how_to_look(id, &inst.name, Some(d))),
                    )
                }
                Err(why) => (
                    "in doubt",
                    format!(
                        "statement {} stays IN DOUBT: {why}; it may have run. {}",
                        st.index,
                        how_to_look(id, &inst.name, Some(d))
                    ),
                ),
            },
        };
        history.settle_statement(id, st.index, status, &sentence)?;
        sentences.push(sentence);
    }
    let record = history.get(id)?.unwrap_or(record);
    let settled = record.statements.iter().all(|s| s.status != "in doubt");
    if record.status == "in doubt" && settled {
        // Settled applied as the file's last statement, after all the others: it all ran.
        let all_ran = last_applied && record.statements.iter().all(|s| s.status == "applied");
        let message = format!("{} {}", record.message, sentences.join(" "));
        let status = if all_ran { "applied" } else { "failed" };
        history.set_status(id, status, message.trim())?;
    }
    Ok(sentences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_started_just_before_the_statement_is_not_taken_for_restarted() {
        // Started at 100.1 s, statement sent at 100.95 s (sent_at 100), read at 102.05 s.
        assert!(!restarted_since(1, 2));
        assert!(!restarted_since(20, 22));
        assert!(restarted_since(3, 30));
    }

    #[test]
    fn a_quoted_table_splits_back_into_its_parts() {
        assert_eq!(
            split_table("`shop`.`or``ders`"),
            Some(("shop".into(), "or`ders".into()))
        );
        assert_eq!(split_table("shop.orders"), None);
    }
}
