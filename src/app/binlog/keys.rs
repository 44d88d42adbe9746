//! Keys of the Binlog pane: moving, marking, preview, edit, check, apply, export, and the
//! typed prompts (path, start point, export path, apply confirmation). Pure like `update`.

use std::path::PathBuf;

use super::range::{self as binlog_range, RangeField};
use super::{parse_start, BinlogView, Prompt, PromptKind, ScanState};
use crate::app::{Action, Effect, Mode, State};
use crate::backend::binlog::flashback::{ApplyRequest, CheckMode, CheckRequest};
use crate::backend::binlog::scan::{BinlogCommand, ScanRequest};
use crate::backend::BackendCommand;

fn send(command: BinlogCommand) -> Vec<Effect> {
    vec![Effect::SendBackend(BackendCommand::Binlog(command))]
}

/// Called after every key while the pane is showing: the source picker lists the selected
/// instance's logs, again whenever another instance is selected.
pub fn on_visible(state: &mut State) -> Vec<Effect> {
    state.binlog.apply_filter(&state.filter);
    let current = state.selected_instance().map(|i| i.name.clone());
    if state.binlog.listed == current || state.binlog.view != BinlogView::Source {
        return Vec::new();
    }
    state.binlog.listed = current;
    match state.selected_instance() {
        Some(inst) => {
            let instance = inst.name.clone();
            state.binlog.sources.loading = true;
            state.binlog.sources.origin = instance.clone();
            state.binlog.sources.instance = Some(instance.clone());
            send(BinlogCommand::ListInstanceLogs { instance })
        }
        None => Vec::new(),
    }
}

/// Keys in normal mode while the Binlog pane is focused; None leaves the key to the shell.
pub fn on_action(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    let view = state.binlog.view;
    let effects = match (view, action) {
        (_, Action::BinlogSource) => {
            state.binlog.view = BinlogView::Source;
            state.binlog.listed = None;
            on_visible(state)
        }
        (BinlogView::Source, _) => return source_key(state, action),
        (_, Action::RollbackPreview) => {
            if let Err(e) = state.binlog.ensure_preview() {
                state.error(e);
            }
            // Refusals are listed in full where the preview would be.
            if state.binlog.preview.is_some() || !state.binlog.blocked.is_empty() {
                state.binlog.view = BinlogView::Preview;
            }
            Vec::new()
        }
        (_, Action::CheckRollback) => check(state),
        (_, Action::ApplyRollback) => apply(state),
        (_, Action::ExportPreview) => {
            if let Err(e) = state.binlog.ensure_preview() {
                state.error(e);
            } else {
                let stamp = state.now.format("%Y%m%d-%H%M%S");
                let default = format!("arkc-rollback-{stamp}.sql");
                open_prompt(state, PromptKind::ExportPath { default }, String::new());
            }
            Vec::new()
        }
        (BinlogView::List, _) => return list_key(state, action),
        (BinlogView::Rows, _) => return rows_key(state, action),
        (BinlogView::Preview, _) => return preview_key(state, action),
    };
    Some(effects)
}

fn open_prompt(state: &mut State, kind: PromptKind, text: String) {
    state.binlog.prompt = Some(Prompt { kind, text });
    state.mode = Mode::PaneInput;
}

fn source_key(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    let src = &mut state.binlog.sources;
    let last = src.files.len();
    match action {
        Action::Up => src.cursor = src.cursor.saturating_sub(1),
        Action::Down => src.cursor = (src.cursor + 1).min(last),
        Action::Top => src.cursor = 0,
        Action::Bottom => src.cursor = last,
        Action::Cancel if !state.binlog.txns.is_empty() => state.binlog.view = BinlogView::List,
        Action::Confirm if src.cursor == 0 => open_prompt(state, PromptKind::Path, String::new()),
        Action::Confirm => {
            let chosen = &src.files[src.cursor - 1..];
            let unreadable: Vec<&str> = chosen
                .iter()
                .filter(|f| f.path.is_none())
                .map(|f| f.name.as_str())
                .collect();
            if !unreadable.is_empty() {
                let hint = format!(
                    "{} not readable from here: set `binlog_dir` for the instance in the config, \
                     or type a path to a copy",
                    unreadable.join(", ")
                );
                state.error(hint);
            } else {
                let files: Vec<PathBuf> = chosen.iter().filter_map(|f| f.path.clone()).collect();
                let label = match chosen.len() {
                    1 => chosen[0].name.clone(),
                    n => format!("{} (+{} more)", chosen[0].name, n - 1),
                };
                let instance = src.instance.clone();
                let kind = PromptKind::Start {
                    files,
                    label,
                    instance,
                };
                open_prompt(state, kind, String::new());
            }
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn list_key(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    let pane = &mut state.binlog;
    let page = state.page_rows.max(1);
    let last = pane.visible_len().saturating_sub(1);
    match action {
        Action::Up => pane.cursor = pane.cursor.saturating_sub(1),
        Action::Down => pane.cursor = (pane.cursor + 1).min(last),
        Action::PageUp => pane.cursor = pane.cursor.saturating_sub(page),
        Action::PageDown => pane.cursor = (pane.cursor + page).min(last),
        Action::Top => pane.cursor = 0,
        Action::Bottom => pane.cursor = last,
        Action::Filter => state.mode = Mode::Filter,
        Action::RangeFilter => {
            let field = RangeField::From;
            let text = binlog_range::current(&state.filter, field);
            let words = Vec::new();
            open_prompt(state, PromptKind::Range { field, words }, text);
        }
        Action::ToggleMark => {
            if let Some(t) = pane.visible_at(pane.cursor) {
                if !pane.marked.remove(&t) {
                    pane.marked.insert(t);
                }
                pane.excluded.retain(|(txn, _)| *txn != t);
                pane.selection_changed();
                pane.cursor = (pane.cursor + 1).min(last);
            }
        }
        Action::Confirm | Action::OpenValue => {
            if let Some(t) = pane.visible_at(pane.cursor) {
                pane.focus = Some(t);
                pane.row_cursor = 0;
                pane.value_open = false;
                pane.view = BinlogView::Rows;
            }
        }
        Action::Cancel if pane.scan.as_ref().is_some_and(ScanState::running) => {
            state.info("cancelling the scan");
            return Some(send(BinlogCommand::CancelScan));
        }
        Action::Cancel if !state.filter.is_empty() => {
            state.filter.clear();
            pane.cursor = 0;
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn rows_key(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    let pane = &mut state.binlog;
    let Some(t) = pane.focus.filter(|&t| t < pane.txns.len()) else {
        pane.view = BinlogView::List;
        return Some(Vec::new());
    };
    let last = pane.txns[t].rows.len().saturating_sub(1);
    let page = state.page_rows.max(1) / 2;
    if pane.value_open {
        // Up and down scroll the full values instead of moving between rows.
        let scroll = pane.value_scroll;
        match action {
            Action::Up => pane.value_scroll = scroll.saturating_sub(1),
            Action::Down => pane.value_scroll = scroll + 1,
            Action::PageUp => pane.value_scroll = scroll.saturating_sub(page.max(1)),
            Action::PageDown => pane.value_scroll = scroll + page.max(1),
            Action::Top => pane.value_scroll = 0,
            _ => {}
        }
    }
    match action {
        Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top
            if pane.value_open => {}
        Action::Up => pane.row_cursor = pane.row_cursor.saturating_sub(1),
        Action::Down => pane.row_cursor = (pane.row_cursor + 1).min(last),
        Action::PageUp => pane.row_cursor = pane.row_cursor.saturating_sub(page.max(1)),
        Action::PageDown => pane.row_cursor = (pane.row_cursor + page.max(1)).min(last),
        Action::Top => pane.row_cursor = 0,
        Action::Bottom => pane.row_cursor = last,
        Action::OpenValue | Action::Confirm => {
            pane.value_open = !pane.value_open;
            pane.value_scroll = 0;
        }
        Action::ToggleMark if !pane.txns[t].rows.is_empty() => {
            let id = (t, pane.row_cursor);
            if !pane.marked.contains(&t) {
                // Marking one row of an unmarked transaction selects that row alone.
                pane.marked.insert(t);
                pane.excluded
                    .extend((0..=last).filter(|&r| r != id.1).map(|r| (t, r)));
            } else if !pane.excluded.remove(&id) {
                pane.excluded.insert(id);
                if (0..=last).all(|r| pane.excluded.contains(&(t, r))) {
                    pane.marked.remove(&t);
                    pane.excluded.retain(|(txn, _)| *txn != t);
                }
            }
            pane.selection_changed();
        }
        Action::Cancel if pane.value_open => pane.value_open = false,
        Action::Cancel => pane.view = BinlogView::List,
        _ => return None,
    }
    Some(Vec::new())
}

fn preview_key(state: &mut State, action: &Action) -> Option<Vec<Effect>> {
    let page = state.page_rows.max(1);
    let pane = &mut state.binlog;
    let Some(preview) = pane.preview.as_mut() else {
        pane.view = BinlogView::List;
        return Some(Vec::new());
    };
    // Wrapped lines on a narrow screen outnumber text lines; rendering clamps the rest.
    let last = preview.text.len() / 40 + preview.text.lines().count();
    match action {
        Action::Up => preview.scroll = preview.scroll.saturating_sub(1),
        Action::Down => preview.scroll = (preview.scroll + 1).min(last),
        Action::PageUp => preview.scroll = preview.scroll.saturating_sub(page),
        Action::PageDown => preview.scroll = (preview.scroll + page).min(last),
        Action::Top => preview.scroll = 0,
        Action::Bottom => preview.scroll = last,
        Action::EditPreview => {
            let lines = preview.text.lines().map(str::to_string).collect();
            let mut editor = ratatui_textarea::TextArea::new(lines);
            editor.set_max_histories(200);
            pane.editor = Some(editor);
            state.mode = Mode::BinlogEditor;
        }
        Action::Cancel => pane.view = BinlogView::List,
        _ => return None,
    }
    Some(Vec::new())
}

fn check(state: &mut State) -> Vec<Effect> {
    let Some(instance) = state.selected_instance().map(|i| i.name.clone()) else {
        state.error("no instance selected to check against");
        return Vec::new();
    };
    let rows = state.binlog.check_rows();
    if rows.is_empty() {
        state.error("nothing selected: mark transactions with the toggle key first");
        return Vec::new();
    }
    let mode = match state.binlog.applied {
        true => CheckMode::AfterApply,
        false => CheckMode::BeforeApply,
    };
    state.binlog.checking = true;
    state.info(format!(
        "checking {} row(s) against {instance}…",
        rows.len()
    ));
    send(BinlogCommand::Check(CheckRequest {
        instance,
        mode,
        rows,
    }))
}

fn apply(state: &mut State) -> Vec<Effect> {
    if state.read_only {
        state.error(
            "apply refused: arkc is read-only (--read-only or :readonly on); nothing was sent. \
             Export the preview for review instead",
        );
        return Vec::new();
    }
    let Some(instance) = state.selected_instance().map(|i| i.name.clone()) else {
        state.error("no instance selected to apply to");
        return Vec::new();
    };
    if state.binlog.apply.running {
        state.error("an apply is already running");
        return Vec::new();
    }
    if let Err(e) = state.binlog.ensure_preview() {
        state.error(e);
        return Vec::new();
    }
    state.binlog.view = BinlogView::Preview;
    open_prompt(state, PromptKind::ConfirmApply { instance }, String::new());
    Vec::new()
}

/// Typing into the pane's prompt (Mode::PaneInput).
pub fn on_input(state: &mut State, action: Action) -> Vec<Effect> {
    let Some(prompt) = state.binlog.prompt.as_mut() else {
        state.mode = Mode::Normal;
        return Vec::new();
    };
    match action {
        Action::InputChar(c) => prompt.text.push(c),
        Action::InputBackspace => {
            prompt.text.pop();
        }
        Action::Cancel => {
            state.binlog.prompt = None;
            state.mode = Mode::Normal;
            state.info("cancelled");
        }
        Action::Confirm => {
            let prompt = state.binlog.prompt.take();
            state.mode = Mode::Normal;
            if let Some(p) = prompt {
                return submit(state, p);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn submit(state: &mut State, prompt: Prompt) -> Vec<Effect> {
    let text = prompt.text.trim().to_string();
    match prompt.kind {
        PromptKind::Path if text.is_empty() => Vec::new(),
        PromptKind::Path => {
            state.binlog.sources.loading = true;
            state.binlog.sources.origin = text.clone();
            state.binlog.sources.instance = None;
            send(BinlogCommand::ListPath {
                path: PathBuf::from(text),
            })
        }
        PromptKind::Start {
            files,
            label,
            instance,
        } => match parse_start(&text, state.now) {
            Ok(start) => start_scan(
                state,
                ScanRequest {
                    id: 0,
                    files,
                    start,
                    instance,
                },
                label,
            ),
            Err(e) => {
                state.error(e);
                Vec::new()
            }
        },
        PromptKind::ExportPath { default } => {
            let Some(preview) = state.binlog.preview.as_ref() else {
                return Vec::new();
            };
            let path = if text.is_empty() { default } else { text };
            send(BinlogCommand::Export {
                path: PathBuf::from(path),
                text: preview.text.clone(),
            })
        }
        PromptKind::Range { field, mut words } => {
            match binlog_range::range_word(field, &text) {
                // Keep the form open on the same field so the answer can be corrected.
                Err(e) => {
                    state.error(e);
                    open_prompt(state, PromptKind::Range { field, words }, text);
                }
                Ok(word) => {
                    words.extend(word);
                    match field.next() {
                        Some(next) => {
                            let text = binlog_range::current(&state.filter, next);
                            open_prompt(state, PromptKind::Range { field: next, words }, text);
                        }
                        None => {
                            state.filter = binlog_range::with_range(&state.filter, &words);
                            state.binlog.cursor = 0;
                            state.info(if words.is_empty() {
                                "range cleared".to_string()
                            } else {
                                format!("range: {}", words.join(" "))
                            });
                        }
                    }
                }
            }
            Vec::new()
        }
        PromptKind::ConfirmApply { instance } if text != instance => {
            state.error(format!(
                "typed `{text}`, not the instance name `{instance}`: nothing applied"
            ));
            Vec::new()
        }
        PromptKind::ConfirmApply { instance } => {
            let Some(preview) = state.binlog.preview.as_ref() else {
                return Vec::new();
            };
            let request = ApplyRequest {
                instance: instance.clone(),
                sql: preview.text.clone(),
                generated: preview.generated.clone(),
                redo: preview.redo.clone(),
                edited: preview.edited,
                read_only: state.read_only,
                audit_dir: None,
            };
            state.binlog.apply = Default::default();
            state.binlog.apply.running = true;
            state.info(format!("applying to {instance}…"));
            send(BinlogCommand::Apply(request))
        }
    }
}

/// Start `request` (its id is assigned here) with a fresh list.
fn start_scan(state: &mut State, mut request: ScanRequest, label: String) -> Vec<Effect> {
    let pane = &mut state.binlog;
    pane.next_scan_id += 1;
    let id = pane.next_scan_id;
    request.id = id;
    pane.txns.clear();
    pane.shown.clear();
    pane.marked.clear();
    pane.excluded.clear();
    pane.preview = None;
    pane.editor = None;
    pane.cursor = 0;
    pane.focus = None;
    pane.selection_changed();
    pane.scan = Some(ScanState {
        id,
        label,
        bytes: 0,
        total_bytes: 0,
        events: 0,
        elapsed: Default::default(),
        outcome: None,
    });
    pane.view = BinlogView::List;
    send(BinlogCommand::Scan(request))
}

/// Keys while the preview editor is open (Mode::BinlogEditor): everything edits, except the
/// key bound to `cancel`, which closes the editor and keeps the text.
pub fn on_editor(state: &mut State, action: Action) -> Vec<Effect> {
    let pane = &mut state.binlog;
    match action {
        Action::EditorKey(key) => {
            if let Some(editor) = pane.editor.as_mut() {
                editor.input(key);
            }
        }
        Action::Cancel => {
            state.mode = Mode::Normal;
            let (Some(editor), Some(preview)) = (pane.editor.take(), pane.preview.as_mut()) else {
                return Vec::new();
            };
            let mut text = editor.lines().join("\n");
            if preview.generated.ends_with('\n') {
                text.push('\n');
            }
            preview.edited = text != preview.generated;
            preview.text = text;
            let what = match preview.edited {
                true => "edited: the edited text is what apply runs and export writes",
                false => "no changes: the generated SQL stands",
            };
            state.info(what);
        }
        _ => {}
    }
    Vec::new()
}
