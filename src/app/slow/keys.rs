//! Keys on the Slow SQL pane: cursor, drill-down, sort, filters, EXPLAIN and tracking. Pure:
//! writes to the tracking store and EXPLAIN go to the backend as commands.

use super::{ClassKey, ExplainState, Prompt, PromptKind, SlowDetail};
use crate::app::{slow, Action, Effect, Mode, State};
use crate::backend::slow::report::SlowCommand;
use crate::backend::BackendCommand;
use crate::tracking::{TrackStatus, Tracking};
use arkc_slowlog::statement::{explain_allowed, tables_in};

/// Handle `action` if the Slow SQL pane has a use for it; `None` leaves it to the shell.
pub fn handle(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    if state.slow.detail.is_some() {
        if let Some(effects) = in_detail(state, action) {
            return Some(effects);
        }
    }
    let pane = &mut state.slow;
    match action {
        Action::Up => move_cursor(state, -1),
        Action::Down => move_cursor(state, 1),
        Action::PageUp => move_cursor(state, -(state.page_rows.max(1) as isize)),
        Action::PageDown => move_cursor(state, state.page_rows.max(1) as isize),
        Action::Top => move_cursor(state, isize::MIN / 2),
        Action::Bottom => move_cursor(state, isize::MAX / 2),
        Action::Confirm => open_detail(state),
        Action::Filter => state.mode = Mode::Filter,
        Action::SortNext => {
            pane.sort = pane.sort.next();
            let label = pane.sort.label();
            state.info(format!("sorted by {label}"));
        }
        Action::ToggleScope => {
            pane.all_instances = !pane.all_instances;
            let what = match pane.all_instances {
                true => "all instances",
                false => "the selected instance",
            };
            state.info(format!("showing {what}"));
        }
        Action::ToggleSource => {
            pane.source = pane.source.other();
            pane.detail = None;
            let label = pane.source.label();
            state.info(format!("source: {label}"));
        }
        Action::FilterNoIndex => pane.filters.no_index_only = !pane.filters.no_index_only,
        Action::FilterMinTime => open_prompt(state, PromptKind::MinTime, String::new()),
        Action::FilterMinCount => open_prompt(state, PromptKind::MinCount, String::new()),
        Action::FilterDatabase => open_prompt(state, PromptKind::Database, String::new()),
        Action::ClearFilters => {
            pane.filters = Default::default();
            state.filter.clear();
            state.info("slow SQL filters cleared");
        }
        Action::Explain | Action::MarkStatus | Action::EditNote => {
            return Some(on_class(state, action, cursor_key(state)?));
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// Keys while the drill-down is open: scrolling, closing, and the per-class actions.
fn in_detail(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    let detail = state.slow.detail.as_mut()?;
    let page = state.page_rows.max(1) as u16;
    match action {
        Action::Up => detail.scroll = detail.scroll.saturating_sub(1),
        Action::Down => detail.scroll = detail.scroll.saturating_add(1).min(200),
        Action::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
        Action::PageDown => detail.scroll = detail.scroll.saturating_add(page).min(200),
        Action::Top => detail.scroll = 0,
        Action::Cancel | Action::Confirm => state.slow.detail = None,
        Action::Explain | Action::MarkStatus | Action::EditNote => {
            let key = ClassKey {
                instance: detail.instance.clone(),
                query_id: detail.query_id.clone(),
            };
            return Some(on_class(state, action, key));
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn on_class(state: &mut State, action: &Action, key: ClassKey) -> Vec<Effect> {
    match action {
        Action::Explain => return explain(state, key),
        Action::MarkStatus => {
            let current = state.slow.status_of(&key.query_id);
            let status = current.map_or(TrackStatus::New, TrackStatus::next);
            let note = note_of(state, &key.query_id);
            return track(state, &key.query_id, status, note);
        }
        Action::EditNote => {
            let note = note_of(state, &key.query_id);
            open_prompt(
                state,
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

fn note_of(state: &State, query_id: &str) -> String {
    state
        .slow
        .tracking
        .get(query_id)
        .map(|t| t.note.clone())
        .unwrap_or_default()
}

/// Record the status locally at once (so the list shows it) and ask the backend to persist it.
fn track(state: &mut State, query_id: &str, status: TrackStatus, note: String) -> Vec<Effect> {
    let now = state.now;
    let entry = state
        .slow
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
    state.info(format!("{} marked {}", short_id(query_id), status.as_str()));
    vec![Effect::SendBackend(BackendCommand::Slow(
        SlowCommand::Track {
            query_id: query_id.to_string(),
            status,
            note,
        },
    ))]
}

fn explain(state: &mut State, key: ClassKey) -> Vec<Effect> {
    let Some(class) = state.slow.class(&key) else {
        return Vec::new();
    };
    let Some(sample) = class.sample.clone() else {
        state.error("this source keeps no sample with literals to EXPLAIN; press the source key for the slow log");
        return Vec::new();
    };
    let version = state
        .health
        .get(&key.instance)
        .and_then(|h| h.version.clone());
    if let Err(why) = explain_allowed(&sample.query, version.as_deref()) {
        state.error(why);
        return Vec::new();
    }
    if state.slow.detail.is_none() {
        open_detail_for(state, &key);
    }
    state
        .slow
        .explains
        .insert(key.clone(), ExplainState::Pending);
    state.info(format!("EXPLAIN sent to {}", key.instance));
    vec![Effect::SendBackend(BackendCommand::Slow(
        SlowCommand::Explain {
            instance: key.instance,
            query_id: key.query_id,
            database: sample.database,
            sql: sample.query,
        },
    ))]
}

fn open_prompt(state: &mut State, kind: PromptKind, text: String) {
    state.slow.prompt = Some(Prompt { kind, text });
    state.mode = Mode::PaneInput;
}

/// Typing in the pane's input line.
pub fn input(state: &mut State, action: Action) -> Vec<Effect> {
    let Some(prompt) = state.slow.prompt.as_mut() else {
        state.mode = Mode::Normal;
        return Vec::new();
    };
    match action {
        Action::InputChar(c) => prompt.text.push(c),
        Action::InputBackspace => {
            prompt.text.pop();
        }
        Action::Cancel => {
            state.slow.prompt = None;
            state.mode = Mode::Normal;
        }
        Action::Confirm => {
            let prompt = state.slow.prompt.take();
            state.mode = Mode::Normal;
            if let Some(prompt) = prompt {
                return submit(state, prompt);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn submit(state: &mut State, prompt: Prompt) -> Vec<Effect> {
    let text = prompt.text.trim().to_string();
    let filters = &mut state.slow.filters;
    match prompt.kind {
        PromptKind::MinTime if text.is_empty() => filters.min_avg_s = None,
        PromptKind::MinTime => match slow::parse_seconds(&text) {
            Some(s) => filters.min_avg_s = Some(s),
            None => state.error(format!("`{text}` is not a latency; try 0.5, 0.5s or 200ms")),
        },
        PromptKind::MinCount if text.is_empty() => filters.min_count = None,
        PromptKind::MinCount => match text.parse::<u64>() {
            Ok(n) => filters.min_count = Some(n),
            Err(_) => state.error(format!("`{text}` is not a count; type a whole number")),
        },
        PromptKind::Database => filters.database = (!text.is_empty()).then_some(text),
        PromptKind::Note { query_id } => {
            let status = state.slow.status_of(&query_id).unwrap_or(TrackStatus::New);
            return track(state, &query_id, status, text);
        }
    }
    Vec::new()
}

/// The key of the row under the cursor, if the list has rows.
fn cursor_key(state: &State) -> Option<ClassKey> {
    let instance = state.selected_instance().map(|i| i.name.as_str());
    let rows = state.slow.rows(instance, &state.filter);
    rows.get(state.slow.cursor(&rows)).map(|r| r.key())
}

fn move_cursor(state: &mut State, by: isize) {
    let instance = state.selected_instance().map(|i| i.name.as_str());
    let rows = state.slow.rows(instance, &state.filter);
    if rows.is_empty() {
        return;
    }
    let at = state.slow.cursor(&rows) as isize;
    let to = at.saturating_add(by).clamp(0, rows.len() as isize - 1) as usize;
    let key = rows[to].key();
    state.slow.selected = Some(key);
}

fn open_detail(state: &mut State) {
    if let Some(key) = cursor_key(state) {
        open_detail_for(state, &key);
    }
}

fn open_detail_for(state: &mut State, key: &ClassKey) {
    let tables = state
        .slow
        .class(key)
        .map(|c| match &c.sample {
            Some(s) => tables_in(&s.query),
            // performance_schema keeps no sample; its normalised text names the same tables.
            None => tables_in(&c.fingerprint),
        })
        .unwrap_or_default();
    state.slow.selected = Some(key.clone());
    state.slow.detail = Some(SlowDetail {
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
