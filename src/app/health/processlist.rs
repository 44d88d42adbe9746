//! The Processlist view's state and keys: sort order (`s` cycles time → transaction age → rows
//! locked), the `/` filter (user, host, db, command, state or statement text), the cursor,
//! `enter` for a session's full statement with an EXPLAIN run in the background, and kills
//! (query, connection, or every session the filter shows), each confirmed by typing the
//! instance name and refused in read-only mode.

use super::super::pane::PaneCtx;
use super::super::{Action, Effect, Mode};
use super::{HealthMonitor, KillAction, KillPrompt};
use crate::backend::health::kill::{KillOutcome, KillTarget};
use crate::backend::health::views::HealthViewCommand;
use crate::backend::slow::report::ExplainTable;
use crate::backend::BackendCommand;
use crate::health::processlist::{compare, is_killable, process_matches};
use crate::health::processlist::{ProcessRow, ProcessSort};
use crate::readonly::WriteAction;

#[derive(Debug, Clone, Default)]
pub struct ProcesslistState {
    pub sort: ProcessSort,
    /// The session under the cursor, by id, so a refresh that reorders rows keeps it.
    pub selected_id: Option<u64>,
    /// The session opened with `enter`.
    pub detail: Option<ProcessDetail>,
}

/// One session's full statement and its EXPLAIN.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessDetail {
    pub instance: String,
    pub row: ProcessRow,
    pub explain: ExplainOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExplainOutcome {
    /// Not sent: why (no statement, not a statement EXPLAIN covers...).
    NotRun(String),
    Running,
    Done(ExplainTable),
    Failed(String),
}

/// The instance's sessions that pass the filter, in the view's order.
pub fn visible_rows<'a>(
    monitor: &'a HealthMonitor,
    instance: &str,
    filter: &str,
    sort: ProcessSort,
) -> Vec<&'a ProcessRow> {
    let Some((_, rows, _)) = monitor.processlist.as_ref().filter(|p| p.0 == instance) else {
        return Vec::new();
    };
    let mut shown: Vec<&ProcessRow> = rows.iter().filter(|r| process_matches(r, filter)).collect();
    shown.sort_by(|a, b| compare(a, b, sort));
    shown
}

impl ProcesslistState {
    /// Where the cursor is among `rows` (the first row when its session is gone).
    pub fn cursor(&self, rows: &[&ProcessRow]) -> usize {
        self.selected_id
            .and_then(|id| rows.iter().position(|r| r.id == id))
            .unwrap_or(0)
    }

    /// A key on the Processlist view; `None` leaves it to the pane and the global keys.
    pub fn on_action(
        &mut self,
        monitor: &HealthMonitor,
        prompt: &mut Option<KillPrompt>,
        ctx: &mut PaneCtx,
        action: &Action,
    ) -> Option<Vec<Effect>> {
        let instance = ctx.selected_instance()?.name.clone();
        if self.detail.is_some() {
            return self.detail_key(prompt, ctx, action);
        }
        let rows = visible_rows(monitor, &instance, ctx.filter, self.sort);
        let at = self.cursor(&rows) as isize;
        let page = ctx.page_rows.max(1) as isize;
        let by = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            Action::ProcessSort => {
                self.sort = self.sort.next();
                ctx.info(format!("processlist sorted by {}", self.sort.label()));
                return Some(Vec::new());
            }
            Action::Filter => {
                *ctx.mode = Mode::Filter;
                return Some(Vec::new());
            }
            Action::Cancel if !ctx.filter.is_empty() => {
                ctx.filter.clear();
                ctx.info("filter cleared");
                return Some(Vec::new());
            }
            Action::Confirm => {
                let row = rows.get(at as usize).map(|r| (*r).clone());
                return Some(match row {
                    Some(row) => self.open_detail(ctx, instance, row),
                    None => Vec::new(),
                });
            }
            Action::KillQuery | Action::KillConnection => {
                let target = match action {
                    Action::KillQuery => KillTarget::Query,
                    _ => KillTarget::Connection,
                };
                let row = rows.get(at as usize).map(|r| (*r).clone());
                ask_kill_one(prompt, ctx, instance, row.as_ref(), target);
                return Some(Vec::new());
            }
            Action::KillFiltered => {
                ask_kill_filtered(prompt, ctx, instance, &rows);
                return Some(Vec::new());
            }
            // Switching instance: the filter was for this one's sessions.
            Action::NextInstance | Action::PrevInstance => {
                ctx.filter.clear();
                self.selected_id = None;
                return None;
            }
            _ => return None,
        };
        if !rows.is_empty() {
            let to = at.saturating_add(by).clamp(0, rows.len() as isize - 1);
            self.selected_id = Some(rows[to as usize].id);
        }
        Some(Vec::new())
    }

    fn detail_key(
        &mut self,
        prompt: &mut Option<KillPrompt>,
        ctx: &mut PaneCtx,
        action: &Action,
    ) -> Option<Vec<Effect>> {
        let detail = self.detail.as_ref()?;
        match action {
            Action::Cancel | Action::Confirm => self.detail = None,
            Action::KillQuery => ask_kill_one(
                prompt,
                ctx,
                detail.instance.clone(),
                Some(&detail.row.clone()),
                KillTarget::Query,
            ),
            Action::KillConnection => ask_kill_one(
                prompt,
                ctx,
                detail.instance.clone(),
                Some(&detail.row.clone()),
                KillTarget::Connection,
            ),
            // Keys that leave the view close the detail on the way.
            Action::NextPane | Action::PrevPane | Action::NextInstance | Action::PrevInstance => {
                self.detail = None;
                return None;
            }
            _ => {}
        }
        Some(Vec::new())
    }

    /// Show the full statement; EXPLAIN it in the background when EXPLAIN covers it.
    fn open_detail(&mut self, ctx: &mut PaneCtx, instance: String, row: ProcessRow) -> Vec<Effect> {
        self.selected_id = Some(row.id);
        let version = ctx.health.get(&instance).and_then(|h| h.version.clone());
        let sql = row.info.clone().filter(|s| !s.trim().is_empty());
        let checked = match &sql {
            None => Err("nothing to EXPLAIN: the session runs no statement now".to_string()),
            Some(sql) => arkc_slowlog::statement::explain_allowed(sql, version.as_deref()),
        };
        let (explain, effects) = match (checked, sql) {
            (Ok(()), Some(sql)) => (
                ExplainOutcome::Running,
                vec![Effect::SendBackend(BackendCommand::HealthView(
                    HealthViewCommand::Explain {
                        instance: instance.clone(),
                        id: row.id,
                        db: row.db.clone(),
                        sql,
                    },
                ))],
            ),
            (Err(why), _) => (ExplainOutcome::NotRun(why), Vec::new()),
            (Ok(()), None) => (ExplainOutcome::NotRun("no statement".into()), Vec::new()),
        };
        self.detail = Some(ProcessDetail {
            instance,
            row,
            explain,
        });
        effects
    }

    /// An EXPLAIN came back: kept only if it is for the statement still open.
    pub fn explained(
        &mut self,
        instance: &str,
        id: u64,
        sql: &str,
        result: Result<ExplainTable, String>,
    ) {
        let Some(d) = self.detail.as_mut() else {
            return;
        };
        if d.instance == instance && d.row.id == id && d.row.info.as_deref() == Some(sql) {
            d.explain = match result {
                Ok(table) => ExplainOutcome::Done(table),
                Err(e) => ExplainOutcome::Failed(e),
            };
        }
    }
}

fn ask_kill_one(
    prompt: &mut Option<KillPrompt>,
    ctx: &mut PaneCtx,
    instance: String,
    row: Option<&ProcessRow>,
    target: KillTarget,
) {
    let action = match target {
        KillTarget::Query => WriteAction::KillQuery,
        KillTarget::Connection => WriteAction::Kill,
    };
    if ctx.refuse_write(action) {
        return;
    }
    let Some(row) = row else {
        ctx.info("no session selected");
        return;
    };
    if !is_killable(row) {
        ctx.error(format!(
            "session {} is the server's own ({} / {}): not killed",
            row.id, row.user, row.command
        ));
        return;
    }
    *prompt = Some(KillPrompt {
        instance,
        typed: String::new(),
        action: KillAction::Sessions {
            ids: vec![row.id],
            target,
            label: format!("{} of session {}", target_word(target), row.id),
        },
    });
    *ctx.mode = Mode::PaneInput;
}

fn ask_kill_filtered(
    prompt: &mut Option<KillPrompt>,
    ctx: &mut PaneCtx,
    instance: String,
    rows: &[&ProcessRow],
) {
    if ctx.refuse_write(WriteAction::BulkKill) {
        return;
    }
    if ctx.filter.trim().is_empty() {
        ctx.error("bulk kill needs a / filter first (it kills every session the filter shows)");
        return;
    }
    let ids: Vec<u64> = rows
        .iter()
        .filter(|r| is_killable(r))
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        ctx.info(format!("no killable session matches `{}`", ctx.filter));
        return;
    }
    let label = format!(
        "kill connection of {} session(s) matching `{}`",
        ids.len(),
        ctx.filter
    );
    *prompt = Some(KillPrompt {
        instance,
        typed: String::new(),
        action: KillAction::Sessions {
            ids,
            target: KillTarget::Connection,
            label,
        },
    });
    *ctx.mode = Mode::PaneInput;
}

pub fn target_word(target: KillTarget) -> &'static str {
    match target {
        KillTarget::Query => "kill query",
        KillTarget::Connection => "kill connection",
    }
}

/// The status-bar line for a finished kill.
pub fn kill_report(
    instance: &str,
    target: KillTarget,
    outcomes: &Result<Vec<KillOutcome>, String>,
) -> (bool, String) {
    let outcomes = match outcomes {
        Err(e) => return (false, format!("nothing killed on {instance}: {e}")),
        Ok(o) => o,
    };
    let done = outcomes.iter().filter(|o| o.killed).count();
    let word = target_word(target);
    let mut text = format!(
        "{word}: {done} of {} session(s) on {instance}",
        outcomes.len()
    );
    for o in outcomes.iter().filter(|o| !o.killed) {
        text.push_str(&format!(
            "; {}: {}",
            o.id,
            o.error.as_deref().unwrap_or("not killed")
        ));
    }
    (done == outcomes.len(), text)
}
