//! Keys of the Binlog pane: moving, marking, preview, edit, check, apply, export, and the
//! typed prompts (path, start point, export path, apply confirmation). Pure like `update`.

use std::path::PathBuf;

use super::range::{self as binlog_range, RangeField};
use super::BinlogPane;
use super::{parse_start, BinlogView, Prompt, PromptKind, ScanState};
use crate::app::{Action, Effect, Mode, PaneCtx, PaneLogic};
use crate::backend::binlog::flashback::{ApplyRequest, CheckMode, CheckRequest};
use crate::backend::binlog::scan::{BinlogCommand, ScanRequest, StreamScan};
use crate::backend::{BackendCommand, BackendEvent};

impl PaneLogic for BinlogPane {
    fn on_action(&mut self, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
        normal_key(self, ctx, action)
    }

    fn on_input(&mut self, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
        input_key(self, ctx, action)
    }

    fn on_editor(&mut self, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
        editor_key(self, ctx, action)
    }

    /// A new filter starts the list from its top.
    fn on_filter_edited(&mut self, _ctx: &mut PaneCtx) {
        self.cursor = 0;
    }

    fn after_key(&mut self, ctx: &mut PaneCtx) -> Vec<Effect> {
        on_visible(self, ctx)
    }

    fn on_backend(&mut self, ctx: &mut PaneCtx, event: BackendEvent) -> Option<BackendEvent> {
        let BackendEvent::Binlog(event) = event else {
            return Some(event);
        };
        if let Some((failed, text)) = self.on_event(event) {
            match failed {
                true => ctx.error(text),
                false => ctx.info(text),
            }
        }
        None
    }
}

fn send(command: BinlogCommand) -> Vec<Effect> {
    vec![Effect::SendBackend(BackendCommand::Binlog(command))]
}

/// Called after every key while the pane is showing: the source picker lists the selected
/// instance's logs, again whenever another instance is selected.
fn on_visible(pane: &mut BinlogPane, ctx: &mut PaneCtx) -> Vec<Effect> {
    pane.apply_filter(ctx.filter);
    let current = ctx.selected_instance().map(|i| i.name.clone());
    if pane.listed == current || pane.view != BinlogView::Source {
        return Vec::new();
    }
    pane.listed = current;
    match ctx.selected_instance() {
        Some(inst) => {
            let instance = inst.name.clone();
            pane.sources.loading = true;
            pane.sources.origin = instance.clone();
            pane.sources.instance = Some(instance.clone());
            send(BinlogCommand::ListInstanceLogs { instance })
        }
        None => Vec::new(),
    }
}

/// Keys in normal mode while the Binlog pane is focused; None leaves the key to the shell.
fn normal_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let view = pane.view;
    let effects = match (view, action) {
        (_, Action::BinlogSource) => {
            pane.view = BinlogView::Source;
            pane.listed = None;
            on_visible(pane, ctx)
        }
        (BinlogView::Source, _) => return source_key(pane, ctx, action),
        (_, Action::RollbackPreview) => {
            if let Err(e) = pane.ensure_preview() {
                ctx.error(e);
            }
            // Refusals are listed in full where the preview would be.
            if pane.preview.is_some() || !pane.blocked.is_empty() {
                pane.view = BinlogView::Preview;
            }
            Vec::new()
        }
        (_, Action::CheckRollback) => check(pane, ctx),
        (_, Action::ApplyRollback) => apply(pane, ctx),
        (_, Action::ExportPreview) => {
            if let Err(e) = pane.ensure_preview() {
                ctx.error(e);
            } else {
                let stamp = ctx.now.format("%Y%m%d-%H%M%S");
                let default = format!("arkc-rollback-{stamp}.sql");
                open_prompt(pane, ctx, PromptKind::ExportPath { default }, String::new());
            }
            Vec::new()
        }
        (BinlogView::List, _) => return list_key(pane, ctx, action),
        (BinlogView::Rows, _) => return rows_key(pane, ctx, action),
        (BinlogView::Preview, _) => return preview_key(pane, ctx, action),
    };
    Some(effects)
}

fn open_prompt(pane: &mut BinlogPane, ctx: &mut PaneCtx, kind: PromptKind, text: String) {
    pane.prompt = Some(Prompt { kind, text });
    *ctx.mode = Mode::PaneInput;
}

fn source_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let src = &mut pane.sources;
    let last = src.files.len();
    match action {
        Action::Up => src.cursor = src.cursor.saturating_sub(1),
        Action::Down => src.cursor = (src.cursor + 1).min(last),
        Action::Top => src.cursor = 0,
        Action::Bottom => src.cursor = last,
        Action::Cancel if !pane.txns.is_empty() => pane.view = BinlogView::List,
        Action::Confirm if src.cursor == 0 => {
            open_prompt(pane, ctx, PromptKind::Path, String::new())
        }
        Action::Confirm => {
            let chosen = &src.files[src.cursor - 1..];
            let streamed = chosen.iter().any(|f| f.streamed) && src.instance.is_some();
            let unreadable: Vec<&str> = chosen
                .iter()
                .filter(|f| f.path.is_none() && !streamed)
                .map(|f| f.name.as_str())
                .collect();
            if !unreadable.is_empty() {
                let hint = format!(
                    "{} not readable from here: set `binlog_dir` for the instance in the config \
                     (or binlog_source = \"stream\"), or type a path to a copy",
                    unreadable.join(", ")
                );
                ctx.error(hint);
            } else {
                let stream = streamed.then(|| StreamScan {
                    names: chosen.iter().map(|f| f.name.clone()).collect(),
                    total_bytes: chosen.iter().map(|f| f.size).sum(),
                    from_pos: None,
                    follow: false,
                });
                let files: Vec<PathBuf> = match streamed {
                    true => Vec::new(),
                    false => chosen.iter().filter_map(|f| f.path.clone()).collect(),
                };
                let label = match chosen.len() {
                    1 => chosen[0].name.clone(),
                    n => format!("{} (+{} more)", chosen[0].name, n - 1),
                };
                let label = match streamed {
                    true => format!("{label} (stream)"),
                    false => label,
                };
                let instance = src.instance.clone();
                let kind = PromptKind::Start {
                    files,
                    label,
                    instance,
                    stream,
                };
                open_prompt(pane, ctx, kind, String::new());
            }
        }
        Action::FollowBinlog => return Some(follow(pane, ctx)),
        _ => return None,
    }
    Some(Vec::new())
}

fn list_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let page = ctx.page_rows.max(1);
    let last = pane.visible_len().saturating_sub(1);
    match action {
        Action::Up => pane.cursor = pane.cursor.saturating_sub(1),
        Action::Down => pane.cursor = (pane.cursor + 1).min(last),
        Action::PageUp => pane.cursor = pane.cursor.saturating_sub(page),
        Action::PageDown => pane.cursor = (pane.cursor + page).min(last),
        Action::Top => pane.cursor = 0,
        Action::Bottom => pane.cursor = last,
        Action::Filter => *ctx.mode = Mode::Filter,
        Action::RangeFilter => {
            let field = RangeField::From;
            let text = binlog_range::current(ctx.filter, field);
            let (words, scope) = (Vec::new(), Vec::new());
            let kind = PromptKind::Range {
                field,
                words,
                scope,
            };
            open_prompt(pane, ctx, kind, text);
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
        Action::MarkAll | Action::MarkNone => {
            let mark = matches!(action, Action::MarkAll);
            let n = pane.mark_listed(mark);
            let word = if mark { "marked" } else { "unmarked" };
            ctx.info(format!("{word} {n} listed transaction(s)"));
        }
        Action::Confirm | Action::OpenValue => {
            if let Some(t) = pane.visible_at(pane.cursor) {
                pane.focus = Some(t);
                pane.row_cursor = 0;
                pane.value_open = false;
                pane.view = BinlogView::Rows;
            }
        }
        Action::FollowBinlog => return Some(follow(pane, ctx)),
        Action::Cancel if pane.scan.as_ref().is_some_and(ScanState::following) => {
            ctx.info("stopped following");
            return Some(send(BinlogCommand::CancelScan));
        }
        Action::Cancel if pane.scan.as_ref().is_some_and(ScanState::running) => {
            ctx.info("cancelling the scan");
            return Some(send(BinlogCommand::CancelScan));
        }
        Action::Cancel if !ctx.filter.is_empty() => {
            ctx.filter.clear();
            pane.cursor = 0;
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn rows_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let Some(t) = pane.focus.filter(|&t| t < pane.txns.len()) else {
        pane.view = BinlogView::List;
        return Some(Vec::new());
    };
    let last = pane.txns[t].rows.len().saturating_sub(1);
    let page = ctx.page_rows.max(1) / 2;
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

fn preview_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let page = ctx.page_rows.max(1);
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
            *ctx.mode = Mode::PaneEditor;
        }
        Action::Cancel => pane.view = BinlogView::List,
        _ => return None,
    }
    Some(Vec::new())
}

fn check(pane: &mut BinlogPane, ctx: &mut PaneCtx) -> Vec<Effect> {
    let Some(instance) = ctx.selected_instance().map(|i| i.name.clone()) else {
        ctx.error("no instance selected to check against");
        return Vec::new();
    };
    // A check of the rows kept in memory only would call a partial selection clean.
    let dropped: u64 = pane.chosen().iter().map(|c| c.txn.rows_dropped).sum();
    if dropped > 0 {
        ctx.error(format!(
            "not checked: {dropped} row(s) of the selection were not kept in memory (over the \
             review budget); narrow the scan (R) or run `arkc flashback --check` on the range"
        ));
        return Vec::new();
    }
    let rows = pane.check_rows();
    if rows.is_empty() {
        ctx.error("nothing selected: mark transactions with the toggle key first");
        return Vec::new();
    }
    let mode = match pane.applied {
        true => CheckMode::AfterApply,
        false => CheckMode::BeforeApply,
    };
    pane.checking = true;
    ctx.info(format!(
        "checking {} row(s) against {instance}…",
        rows.len()
    ));
    send(BinlogCommand::Check(CheckRequest {
        instance,
        mode,
        rows,
    }))
}

fn apply(pane: &mut BinlogPane, ctx: &mut PaneCtx) -> Vec<Effect> {
    if ctx.refuse_write(crate::readonly::WriteAction::FlashbackApply) {
        return Vec::new();
    }
    let Some(instance) = ctx.selected_instance().map(|i| i.name.clone()) else {
        ctx.error("no instance selected to apply to");
        return Vec::new();
    };
    if pane.apply.running {
        ctx.error("an apply is already running");
        return Vec::new();
    }
    if let Err(e) = pane.ensure_preview() {
        ctx.error(e);
        return Vec::new();
    }
    pane.view = BinlogView::Preview;
    open_prompt(
        pane,
        ctx,
        PromptKind::ConfirmApply { instance },
        String::new(),
    );
    Vec::new()
}

/// Typing into the pane's prompt (Mode::PaneInput).
fn input_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
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
            ctx.info("cancelled");
        }
        Action::Confirm => {
            let prompt = pane.prompt.take();
            *ctx.mode = Mode::Normal;
            if let Some(p) = prompt {
                return submit(pane, ctx, p);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn submit(pane: &mut BinlogPane, ctx: &mut PaneCtx, prompt: Prompt) -> Vec<Effect> {
    let text = prompt.text.trim().to_string();
    match prompt.kind {
        PromptKind::Path if text.is_empty() => Vec::new(),
        PromptKind::Path => {
            pane.sources.loading = true;
            pane.sources.origin = text.clone();
            pane.sources.instance = None;
            send(BinlogCommand::ListPath {
                path: PathBuf::from(text),
            })
        }
        PromptKind::Start {
            files,
            label,
            instance,
            stream,
        } => match parse_start(&text, ctx.now) {
            Ok(start) => start_scan(
                pane,
                ScanRequest {
                    id: 0,
                    files,
                    start,
                    instance,
                    stream,
                },
                label,
            ),
            Err(e) => {
                ctx.error(e);
                Vec::new()
            }
        },
        PromptKind::ExportPath { default } => {
            let Some(preview) = pane.preview.as_ref() else {
                return Vec::new();
            };
            let path = if text.is_empty() { default } else { text };
            send(BinlogCommand::Export {
                path: PathBuf::from(path),
                text: preview.text.clone(),
            })
        }
        PromptKind::Range {
            field,
            mut words,
            mut scope,
        } => {
            match binlog_range::range_word(field, &text) {
                // Keep the form open on the same field so the answer can be corrected.
                Err(e) => {
                    ctx.error(e);
                    let kind = PromptKind::Range {
                        field,
                        words,
                        scope,
                    };
                    open_prompt(pane, ctx, kind, text);
                }
                Ok(word) => {
                    match (field.is_scope(), word) {
                        (true, Some(w)) if !w.is_empty() => scope.push((field, w)),
                        (true, _) => {}
                        (false, w) => words.extend(w),
                    }
                    match field.next() {
                        Some(next) => {
                            let text = match next.is_scope() {
                                true => binlog_range::current_scope(pane.scope.as_ref(), next),
                                false => binlog_range::current(ctx.filter, next),
                            };
                            let kind = PromptKind::Range {
                                field: next,
                                words,
                                scope,
                            };
                            open_prompt(pane, ctx, kind, text);
                        }
                        None => finish_range(pane, ctx, &words, &scope),
                    }
                }
            }
            Vec::new()
        }
        PromptKind::ConfirmApply { instance } if text != instance => {
            ctx.error(format!(
                "typed `{text}`, not the instance name `{instance}`: nothing applied"
            ));
            Vec::new()
        }
        PromptKind::ConfirmApply { instance } => {
            let Some(preview) = pane.preview.as_ref() else {
                return Vec::new();
            };
            let request = ApplyRequest {
                instance: instance.clone(),
                sql: preview.text.clone(),
                generated: preview.generated.clone(),
                redo: preview.redo.clone(),
                edited: preview.edited,
                read_only: ctx.read_only,
                audit_dir: None,
            };
            pane.apply = Default::default();
            pane.apply.running = true;
            ctx.info(format!("applying to {instance}…"));
            send(BinlogCommand::Apply(request))
        }
    }
}

/// The range form's last answer: the filter takes the range words, the pane the scope.
fn finish_range(
    pane: &mut BinlogPane,
    ctx: &mut PaneCtx,
    words: &[String],
    scope: &[(RangeField, String)],
) {
    let scope = match binlog_range::scope_of(scope) {
        Ok(s) => s,
        Err(e) => {
            ctx.error(format!("scope: {e}"));
            return;
        }
    };
    *ctx.filter = binlog_range::with_range(ctx.filter, words);
    pane.cursor = 0;
    let range = match words.is_empty() {
        true => "range cleared".to_string(),
        false => format!("range: {}", words.join(" ")),
    };
    let rows = match &scope {
        Some(s) => format!("scope: {} (rows outside it are left alone)", s.text()),
        None => "every row".to_string(),
    };
    if pane.scope != scope {
        pane.set_scope(scope);
    }
    ctx.info(format!("{range} · {rows}"));
}

/// Start `request` (its id is assigned here) with a fresh list.
fn start_scan(pane: &mut BinlogPane, request: ScanRequest, label: String) -> Vec<Effect> {
    pane.txns.clear();
    pane.shown.clear();
    pane.marked.clear();
    pane.excluded.clear();
    pane.preview = None;
    pane.editor = None;
    pane.cursor = 0;
    pane.focus = None;
    pane.selection_changed();
    run_scan(pane, request, label)
}

/// Send `request` under a new scan id; transactions it finds are added to the list.
fn run_scan(pane: &mut BinlogPane, mut request: ScanRequest, label: String) -> Vec<Effect> {
    pane.next_scan_id += 1;
    let id = pane.next_scan_id;
    request.id = id;
    pane.scan = Some(ScanState {
        id,
        label,
        bytes: 0,
        total_bytes: request.stream.as_ref().map_or(0, |s| s.total_bytes),
        events: 0,
        elapsed: Default::default(),
        outcome: None,
        instance: request.instance.clone(),
        following: request.stream.as_ref().is_some_and(|s| s.follow),
    });
    pane.view = BinlogView::List;
    send(BinlogCommand::Scan(request))
}

/// Live follow (`F`): pull the instance's new transactions over the replication stream as
/// they commit, after the ones listed (from the end of the last one), or from the server's
/// current end when none is. `F` again, or `esc`, stops.
fn follow(pane: &mut BinlogPane, ctx: &mut PaneCtx) -> Vec<Effect> {
    if pane.scan.as_ref().is_some_and(ScanState::following) {
        ctx.info("stopped following");
        return send(BinlogCommand::CancelScan);
    }
    if pane.scan.as_ref().is_some_and(ScanState::running) {
        ctx.error("a scan is running: wait for it or cancel it with esc, then follow");
        return Vec::new();
    }
    let listed = pane.scan.as_ref().and_then(|s| s.instance.clone());
    let Some(instance) = listed.clone().or_else(|| pane.sources.instance.clone()) else {
        ctx.error("live follow needs an instance: pick one, not a typed path");
        return Vec::new();
    };
    let last = pane.txns.last().filter(|_| listed.is_some());
    let (names, from_pos) = match last {
        Some(t) => (vec![t.txn.file.clone()], Some(t.txn.end_pos)),
        None => (Vec::new(), None),
    };
    let request = ScanRequest {
        id: 0,
        files: Vec::new(),
        start: Default::default(),
        instance: Some(instance.clone()),
        stream: Some(StreamScan {
            names,
            total_bytes: 0,
            from_pos,
            follow: true,
        }),
    };
    ctx.info(format!(
        "following {instance}: new transactions appear as they commit (F or esc stops)"
    ));
    match last {
        Some(_) => run_scan(pane, request, format!("{instance} (following)")),
        None => start_scan(pane, request, format!("{instance} (following)")),
    }
}

/// Keys while the preview editor is open (Mode::PaneEditor): everything edits, except the
/// key bound to `cancel`, which closes the editor and keeps the text.
fn editor_key(pane: &mut BinlogPane, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
    match action {
        Action::EditorKey(key) => {
            if let Some(editor) = pane.editor.as_mut() {
                editor.input(key);
            }
        }
        Action::Cancel => {
            *ctx.mode = Mode::Normal;
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
            ctx.info(what);
        }
        _ => {}
    }
    Vec::new()
}
