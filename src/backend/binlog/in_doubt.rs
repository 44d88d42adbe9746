//! A transaction whose COMMIT was sent but never answered: the connection died while the
//! server held it (killed, restarted, network cut), so arkc cannot know whether it committed.
//! It is never reported as rolled back: the executor's one hook (`lost_in_flight`) says it is
//! in doubt, and the caller settles it on a new connection from the rows themselves
//! (`settle`): the one exact check (`arkc_binlog::check`) of that transaction's rows, once
//! against the images its undo leaves (applied) and once against the images the binlog left
//! (not applied). Exactly one of them holding settles it; anything else cannot be told.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use anyhow::Context;

use super::flashback::{CheckMode, CheckRow, RowId, RowState, Unit};
use super::service::{check_selection, plan_range, run_spilled_check, FlashbackRange};
use crate::backend::connect::connect;
use crate::backend::recorder::SqlRecorder;
use crate::config::InstanceConfig;
use arkc_binlog::check_spill::CheckSpill;

/// Starts every message about a transaction in doubt (callers and tests look for it).
pub const IN_DOUBT: &str = "IN DOUBT";

/// How long a connection that may be dead gets to answer a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Called by the executor when transaction unit `units[at]` did not finish. A connection that
/// still answers means the server refused a statement (the transaction is open, not
/// committed: the caller rolls it back as before): None. A dead one means its COMMIT may have
/// run: the message saying so, naming the last transaction acknowledged before it.
pub async fn lost_in_flight(
    conn: &mut Conn,
    units: &[Unit],
    at: usize,
    (done, total): (usize, usize),
    error: &str,
) -> Option<String> {
    // A packet that timed out left its answers unread: the session is out of step, and a
    // ping could read a stale OK, so the transaction is in doubt whatever a ping says.
    let timed_out = error.contains("no answer within");
    let alive = !timed_out
        && matches!(
            tokio::time::timeout(PING_TIMEOUT, conn.ping()).await,
            Ok(Ok(()))
        );
    if alive {
        return None;
    }
    let label = units.get(at).map(|u| u.label.as_str()).unwrap_or("?");
    let before = units[..at.min(units.len())]
        .iter()
        .rev()
        .find(|u| u.transaction)
        .map(|u| {
            format!(
                "the last one acknowledged is {} ({} of {total})",
                u.label,
                done - 1
            )
        })
        .unwrap_or_else(|| format!("{} transaction(s) before it were acknowledged", done - 1));
    Some(format!(
        "{IN_DOUBT}: the connection was lost while {label} ({done} of {total}) was in flight \
         ({error}); its COMMIT was sent but not answered, so it may or may not have committed \
         (it was not rolled back by arkc); {before}"
    ))
}

/// Whether an apply's message says a transaction was left in doubt.
pub fn is_in_doubt(message: &str) -> bool {
    message.contains(IN_DOUBT)
}

/// What the rows say about a transaction in doubt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Every row is as the undo leaves it, and not all are as the binlog left them.
    Applied,
    /// Every row is as the binlog left it, and not all are as the undo leaves them.
    NotApplied,
    /// The rows fit both or neither; the text says which and how many.
    CannotTell(String),
}

impl Settled {
    /// One sentence for a person, naming the transaction.
    pub fn describe(&self, label: &str) -> String {
        match self {
            Settled::Applied => format!(
                "settled from the rows: {label} WAS applied (its rows are as the undo leaves \
                 them); do not apply it again"
            ),
            Settled::NotApplied => format!(
                "settled from the rows: {label} was NOT applied (its rows are still as the \
                 binlog left them); a re-run of the check shows it and the rest"
            ),
            Settled::CannotTell(why) => format!(
                "cannot tell from the rows whether {label} was applied: {why}; compare its rows \
                 by hand before applying anything more"
            ),
        }
    }
}

/// The verdict from the two checks of the same rows: `before` in `CheckMode::BeforeApply`
/// (are they as the binlog left them?), `after` in `CheckMode::AfterApply` (are they as the
/// undo leaves them?).
pub fn verdict(before: &[(RowId, RowState)], after: &[(RowId, RowState)]) -> Settled {
    if before.is_empty() || after.is_empty() {
        return Settled::CannotTell("none of its rows could be read from the binlog".into());
    }
    let as_left = before
        .iter()
        .filter(|(_, s)| *s == RowState::AsLeft)
        .count();
    let restored = after
        .iter()
        .filter(|(_, s)| *s == RowState::Restored)
        .count();
    verdict_of_counts(before.len() as u64, as_left as u64, restored as u64)
}

/// The verdict from counts: of `rows`, `as_left` as the binlog left them and `restored` as
/// the undo leaves them.
fn verdict_of_counts(rows: u64, as_left: u64, restored: u64) -> Settled {
    if rows == 0 {
        return Settled::CannotTell("none of its rows could be read from the binlog".into());
    }
    let (all_left, all_restored) = (as_left == rows, restored == rows);
    match (all_left, all_restored) {
        (true, false) => Settled::NotApplied,
        (false, true) => Settled::Applied,
        (true, true) => Settled::CannotTell(
            "its rows look the same whether it was applied or not (the undo changes nothing \
             the check can compare)"
                .into(),
        ),
        (false, false) => Settled::CannotTell(format!(
            "of its {rows} row(s), {as_left} are as the binlog left them and {restored} as the \
             undo leaves them (another session changed them since, or columns cannot be compared)"
        )),
    }
}

/// `settle` in bounded memory, whatever the transaction's size: its rows spilled by a scan
/// (`CheckSpill`), checked as the binlog left them, then the undo's own changes
/// (`CheckSpill::undo_spill`) checked the same way, both by the walk of `flashback --check`.
/// A row of the undo that the walk cannot judge (a keyless row the undo deletes: it cannot
/// be told from its duplicates) is not counted as restored, as `settle` does.
pub async fn settle_spilled(
    conn: &mut Conn,
    rec: &SqlRecorder,
    mut spill: CheckSpill,
) -> anyhow::Result<Settled> {
    let rows = spill.rows();
    let undo = spill.undo_spill()?;
    let before = run_spilled_check(conn, rec, spill).await?;
    let mut changed = 0u64;
    before.states(&mut |_, state| changed += u64::from(state.is_problem()))?;
    let after = run_spilled_check(conn, rec, undo).await?;
    let mut restored = 0u64;
    after.states(&mut |_, state| restored += u64::from(state == RowState::AsLeft))?;
    Ok(verdict_of_counts(rows, rows - changed, restored))
}

/// Check `rows` (one transaction's, in rollback order) both ways on `conn`, a new connection
/// in the planner's session settings, and settle; by the bounded walk of `--check`
/// (`service::check_selection`), as the pane's own check.
pub async fn settle(
    conn: &mut Conn,
    rec: &SqlRecorder,
    rows: &[CheckRow],
) -> anyhow::Result<Settled> {
    let (before, _) = check_selection(conn, rec, CheckMode::BeforeApply, rows.to_vec()).await?;
    let (after, _) = check_selection(conn, rec, CheckMode::AfterApply, rows.to_vec()).await?;
    Ok(verdict(&before, &after))
}

/// Settle the transaction in doubt that `label` names on `inst`: read its rows again from the
/// instance's binlogs (its span only), reconnect and check them both ways. The sentence to
/// show; an unreachable server leaves it in doubt and says so. Every row of the transaction is
/// checked: when only some were selected for the undo, the answer is "cannot tell".
pub async fn settle_on_instance(inst: &InstanceConfig, rec: &SqlRecorder, label: &str) -> String {
    let settled = async {
        let (file, start, end) = label_span(label)
            .with_context(|| format!("no binlog position in its label `{label}`"))?;
        let name = std::path::Path::new(&file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(file);
        let range = FlashbackRange {
            start: (name.clone(), start),
            stop: (name, end),
            scope: None,
        };
        let plan = plan_range(inst, rec, &range)
            .await
            .context("cannot read its rows again")?;
        let mut conn = connect(inst)
            .await
            .context("cannot reconnect to settle it")?;
        conn.query_drop(arkc_binlog::plan::SESSION_SETTINGS).await?;
        let settled = settle(&mut conn, rec, &plan.rows).await?;
        let _ = conn.disconnect().await;
        anyhow::Ok(settled)
    };
    match settled.await {
        Ok(s) => s.describe(label),
        Err(e) => format!(
            "{label} stays in doubt: {e:#}; when the server answers, the check (c) shows which \
             rows are still to undo"
        ),
    }
}

/// The binlog span a unit's label names (the planner's `txn_header`: `... at FILE:START-END
/// committed ...`): (file, start, end).
pub fn label_span(label: &str) -> Option<(String, u64, u64)> {
    let rest = &label[label.find(" at ")? + 4..];
    let position = rest.split_whitespace().next()?.trim_end_matches(',');
    let (file, range) = position.rsplit_once(':')?;
    let (start, end) = range.split_once('-')?;
    Some((file.to_string(), start.parse().ok()?, end.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(states: &[RowState]) -> Vec<(RowId, RowState)> {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| ((0, i), s.clone()))
            .collect()
    }

    #[test]
    fn rows_as_left_and_not_restored_mean_not_applied() {
        let before = states(&[RowState::AsLeft, RowState::AsLeft]);
        let after = states(&[RowState::NotRestored, RowState::NotRestored]);
        assert_eq!(verdict(&before, &after), Settled::NotApplied);
    }

    #[test]
    fn rows_restored_and_changed_mean_applied() {
        let before = states(&[RowState::ChangedSince, RowState::KeyTaken]);
        let after = states(&[RowState::Restored, RowState::Restored]);
        assert_eq!(verdict(&before, &after), Settled::Applied);
    }

    #[test]
    fn mixed_or_both_or_no_rows_cannot_be_told() {
        let mixed = verdict(
            &states(&[RowState::AsLeft, RowState::ChangedSince]),
            &states(&[RowState::NotRestored, RowState::Restored]),
        );
        assert!(
            matches!(&mixed, Settled::CannotTell(why) if why.contains("1 are as the binlog")),
            "{mixed:?}"
        );
        let both = verdict(&states(&[RowState::AsLeft]), &states(&[RowState::Restored]));
        assert!(matches!(both, Settled::CannotTell(_)));
        assert!(matches!(verdict(&[], &[]), Settled::CannotTell(_)));
        let unknown = verdict(
            &states(&[RowState::Unknown("json diff".into())]),
            &states(&[RowState::Unknown("json diff".into())]),
        );
        assert!(matches!(unknown, Settled::CannotTell(_)));
    }

    #[test]
    fn label_span_reads_the_planner_header() {
        let label = "undo GTID 0-1-7 at mysql-bin.000002:1234-1890 committed 2026-12-01 \
                     10:00:00 UTC, thread 12";
        assert_eq!(
            label_span(label),
            Some(("mysql-bin.000002".into(), 1234, 1890))
        );
        assert_eq!(
            label_span("undo transaction at /x/y/bin.000001:4-99, thread 3"),
            Some(("/x/y/bin.000001".into(), 4, 99))
        );
        assert_eq!(label_span("transaction 3"), None);
    }
}
