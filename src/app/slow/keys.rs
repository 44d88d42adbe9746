//! Keys on the Slow SQL pane: cursor, drill-down, sort, filters, EXPLAIN and tracking. Pure:
//! writes to the tracking store and EXPLAIN go to the backend as commands.

use super::SlowPane;
use super::{ClassKey, ExplainState, Prompt, PromptKind, SlowDetail};
use crate::app::{slow, Action, Effect, Mode, PaneCtx, PaneLogic};
use crate::backend::slow::report::{SlowCommand, SlowDemand};
use crate::backend::{BackendCommand, BackendEvent};

impl PaneLogic for SlowPane {
    fn on_action(&mut self, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
        handle(self, ctx, action)
    }

    fn on_input(&mut self, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
        input(self, ctx, action)
    }

    /// Tell the backend what this pane shows now, when that changed: at fleet size (above
    /// `ALWAYS_READ_UP_TO` instances) the slow-SQL sources read only that.
    fn after_any_key(&mut self, ctx: &mut PaneCtx, focused: bool) -> Vec<Effect> {
        // A small fleet's sources are read all the time: nothing to tell.
        if ctx.instances.len() <= crate::backend::slow::sources::ALWAYS_READ_UP_TO {
            return Vec::new();
        }
        let wanted = match (focused, self.all_instances, ctx.selected_instance()) {
            (false, _, _) | (true, false, None) => SlowDemand::Nothing,
            (true, true, _) => SlowDemand::Everything,
            (true, false, Some(i)) => SlowDemand::Instance(i.name.clone()),
        };
        if wanted == self.demand_sent {
            return Vec::new();
        }
        self.demand_sent = wanted.clone();
        vec![Effect::SendBackend(BackendCommand::Slow(
            SlowCommand::Demand(wanted),
        ))]
    }

    fn on_backend(&mut self, ctx: &mut PaneCtx, event: BackendEvent) -> Option<BackendEvent> {
        let BackendEvent::Slow(update) = event else {
            return Some(event);
        };
        if let Some(text) = self.apply(update, ctx.now) {
            ctx.error(text);
        }
        None
    }
}
use crate::tracking::{TrackStatus, Tracking};
use arkc_slowlog::statement::{explain_allowed, tables_in};

/// Handle `action` if the Slow SQL pane has a use for it; `None` leaves it to the shell.
fn handle(pane: &mut SlowPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    if pane.detail.is_some() {
        if let Some(effects) = in_detail(pane, ctx, action) {
            return Some(effects);
        }
    }
    match action {
        Action::Up => move_cursor(pane, ctx, -1),
        Action::Down => move_cursor(pane, ctx, 1),
        Action::PageUp => move_cursor(pane, ctx, -(ctx.page_rows.max(1) as isize)),
        Action::PageDown => move_cursor(pane, ctx, ctx.page_rows.max(1) as isize),
        Action::Top => move_cursor(pane, ctx, isize::MIN / 2),
        Action::Bottom => move_cursor(pane, ctx, isize::MAX / 2),
        Action::Confirm => open_detail(pane, ctx),
        Action::Filter => *ctx.mode = Mode::Filter,
        Action::SortNext => {
            pane.sort = pane.sort.next();
            let label = pane.sort.label();
            ctx.info(format!("sorted by {label}"));
        }
        Action::ToggleScope => {
            pane.all_instances = !pane.all_instances;
            let what = match pane.all_instances {
                true => "all instances",
                false => "the selected instance",
            };
            ctx.info(format!("showing {what}"));
        }
        Action::ToggleSource => {
            pane.source = pane.source.other();
            pane.detail = None;
            let label = pane.source.label();
            ctx.info(format!("source: {label}"));
        }
        Action::FilterNoIndex => pane.filters.no_index_only = !pane.filters.no_index_only,
        Action::FilterMinTime => open_prompt(pane, ctx, PromptKind::MinTime, String::new()),
        Action::FilterMinCount => open_prompt(pane, ctx, PromptKind::MinCount, String::new()),
        Action::FilterDatabase => open_prompt(pane, ctx, PromptKind::Database, String::new()),
        Action::ClearFilters => {
            pane.filters = Default::default();
            ctx.filter.clear();
            ctx.info("slow SQL filters cleared");
        }
        Action::Explain | Action::MarkStatus | Action::EditNote => {
            return Some(on_class(pane, ctx, action, cursor_key(pane, ctx)?));
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// Keys while the drill-down is open: scrolling, closing, and the per-class actions.
fn in_detail(pane: &mut SlowPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let detail = pane.detail.as_mut()?;
    let page = ctx.page_rows.max(1) as u16;
    match action {
        Action::Up => detail.scroll = detail.scroll.saturating_sub(1),
        Action::Down => detail.scroll = detail.scroll.saturating_add(1).min(200),
        Action::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
        Action::PageDown => detail.scroll = detail.scroll.saturating_add(page).min(200),
        Action::Top => detail.scroll = 0,
        Action::Cancel | Action::Confirm => pane.detail = None,
        Action::Explain | Action::MarkStatus | Action::EditNote => {
            let key = ClassKey {
                instance: detail.instance.clone(),
                query_id: detail.query_id.clone(),
            };
            return Some(on_class(pane, ctx, action, key));
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn on_class(pane: &mut SlowPane, ctx: &mut PaneCtx, action: &Action, key: ClassKey) -> Vec<Effect> {
    match action {
        Action::Explain => return explain(pane, ctx, key),
        Action::MarkStatus => {
            let current = pane.status_of(&key.query_id);
            let status = current.map_or(TrackStatus::New, TrackStatus::next);
            let note = note_of(pane, &key.query_id);
            return track(pane, ctx, &key.query_id, status, note);
        }
        Action::EditNote => {
            let note = note_of(pane, &key.query_id);
            open_prompt(
                pane,
                ctx,
                PromptKind::Note {
                    query_id: key.query_id,
                },
                note,
            );
        }
        _ => {}
    }
    Vec::new()
}

fn note_of(pane: &SlowPane, query_id: &str) -> String {
    pane.tracking
        .get(query_id)
        .map(|t| t.note.clone())
        .unwrap_or_default()
}

/// Record the status locally at once (so the list shows it) and ask the backend to persist it.
fn track(
    pane: &mut SlowPane,
    ctx: &mut PaneCtx,
    query_id: &str,
    status: TrackStatus,
    note: String,
) -> Vec<Effect> {
    let now = ctx.now;
    let entry = pane
        .tracking
        .entry(query_id.to_string())
        .or_insert_with(|| Tracking {
            query_id: query_id.to_string(),
            status,
            note: String::new(),
            updated_at: now,
            fixed_at: None,
            reappeared_at: None,
        });
    if status == TrackStatus::Fixed
        && (entry.status != TrackStatus::Fixed || entry.fixed_at.is_none())
    {
        entry.fixed_at = Some(now);
        entry.reappeared_at = None;
    }
    entry.status = status;
    entry.note = note.clone();
    entry.updated_at = now;
    ctx.info(format!("{} marked {}", short_id(query_id), status.as_str()));
    vec![Effect::SendBackend(BackendCommand::Slow(
        SlowCommand::Track {
            query_id: query_id.to_string(),
            status,
            note,
        },
    ))]
}

fn explain(pane: &mut SlowPane, ctx: &mut PaneCtx, key: ClassKey) -> Vec<Effect> {
    let Some(class) = pane.class(&key) else {
        return Vec::new();
    };
    let Some(sample) = class.sample.clone() else {
        ctx.error("this source keeps no sample with literals to EXPLAIN; press the source key for the slow log");
        return Vec::new();
    };
    let version = ctx
        .health
        .get(&key.instance)
        .and_then(|h| h.version.clone());
    if let Err(why) = explain_allowed(&sample.query, version.as_deref()) {
        ctx.error(why);
        return Vec::new();
    }
    if pane.detail.is_none() {
        open_detail_for(pane, &key);
    }
    pane.explains.insert(key.clone(), ExplainState::Pending);
    ctx.info(format!("EXPLAIN sent to {}", key.instance));
    vec![Effect::SendBackend(BackendCommand::Slow(
        SlowCommand::Explain {
            instance: key.instance,
            query_id: key.query_id,
            database: sample.database,
            sql: sample.query,
        },
    ))]
}

fn open_prompt(pane: &mut SlowPane, ctx: &mut PaneCtx, kind: PromptKind, text: String) {
    pane.prompt = Some(Prompt { kind, text });
    *ctx.mode = Mode::PaneInput;
}

/// Typing in the pane's input line.
fn input(pane: &mut SlowPane, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
    let Some(prompt) = pane.prompt.as_mut() else {
        *ctx.mode = Mode::Normal;
        return Vec::new();
    };
    match action {
        Action::InputChar(c) => prompt.text.push(c),
        Action::InputBackspace => {
            prompt.text.pop();
        }
        Action::Cancel => {
            pane.prompt = None;
            *ctx.mode = Mode::Normal;
        }
        Action::Confirm => {
            let prompt = pane.prompt.take();
            *ctx.mode = Mode::Normal;
            if let Some(prompt) = prompt {
                return submit(pane, ctx, prompt);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn submit(pane: &mut SlowPane, ctx: &mut PaneCtx, prompt: Prompt) -> Vec<Effect> {
    let text = prompt.text.trim().to_string();
    let filters = &mut pane.filters;
    match prompt.kind {
        PromptKind::MinTime if text.is_empty() => filters.min_avg_s = None,
        PromptKind::MinTime => match slow::parse_seconds(&text) {
            Some(s) => filters.min_avg_s = Some(s),
            None => ctx.error(format!("`{text}` is not a latency; try 0.5, 0.5s or 200ms")),
        },
        PromptKind::MinCount if text.is_empty() => filters.min_count = None,
        PromptKind::MinCount => match text.parse::<u64>() {
            Ok(n) => filters.min_count = Some(n),
            Err(_) => ctx.error(format!("`{text}` is not a count; type a whole number")),
        },
        PromptKind::Database => filters.database = (!text.is_empty()).then_some(text),
        PromptKind::Note { query_id } => {
            let status = pane.status_of(&query_id).unwrap_or(TrackStatus::New);
            return track(pane, ctx, &query_id, status, text);
        }
    }
    Vec::new()
}

/// The key of the row under the cursor, if the list has rows.
fn cursor_key(pane: &SlowPane, ctx: &PaneCtx) -> Option<ClassKey> {
    let instance = ctx.selected_instance().map(|i| i.name.as_str());
    let rows = pane.rows(instance, ctx.filter);
    rows.get(pane.cursor(&rows)).map(|r| r.key())
}

fn move_cursor(pane: &mut SlowPane, ctx: &PaneCtx, by: isize) {
    let instance = ctx.selected_instance().map(|i| i.name.as_str());
    let rows = pane.rows(instance, ctx.filter);
    if rows.is_empty() {
        return;
    }
    let at = pane.cursor(&rows) as isize;
    let to = at.saturating_add(by).clamp(0, rows.len() as isize - 1) as usize;
    let key = rows[to].key();
    pane.selected = Some(key);
}

fn open_detail(pane: &mut SlowPane, ctx: &PaneCtx) {
    if let Some(key) = cursor_key(pane, ctx) {
        open_detail_for(pane, &key);
    }
}

fn open_detail_for(pane: &mut SlowPane, key: &ClassKey) {
    let tables = pane
        .class(key)
        .map(|c| match &c.sample {
            Some(s) => tables_in(&s.query),
            // performance_schema keeps no sample; its normalised text names the same tables.
            None => tables_in(&c.fingerprint),
        })
        .unwrap_or_default();
    pane.selected = Some(key.clone());
    pane.detail = Some(SlowDetail {
        instance: key.instance.clone(),
        query_id: key.query_id.clone(),
        tables,
        scroll: 0,
    });
}

/// The last 16 hex digits of a query ID, as pt-query-digest's report shows them.
pub fn short_id(query_id: &str) -> &str {
    let n = query_id.len();
    query_id.get(n.saturating_sub(16)..).unwrap_or(query_id)
}
