//! `update()`: the only place `State` changes. Pure: effects are returned, never performed.

use super::palette::{self, PaletteCommand};
use super::write_intent;
use super::{Action, Effect, Mode, Pane, State, SQL_LOG_CAPACITY};
use crate::backend::replay::{ReplayCommand, ReplayFrame};
use crate::backend::{BackendCommand, BackendEvent};
use crate::health::alert_state::AlertBook;
use crate::health::InstanceHealth;

/// Apply one action; return what the event loop must do because of it. Writes are refused
/// here in read-only mode, whichever handler asked for them (`write_intent::gate_writes`).
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let key = action.clone();
    let effects = dispatch(state, action);
    let mut effects = write_intent::gate_writes(state, effects);
    effects.extend(write_intent::refused_by_pane(state, &key, &effects));
    effects
}

fn dispatch(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => {
            // A replay's clock is the recording's, so ages read as they did at the time.
            state.now = state.replay.as_ref().map_or(now, |r| r.at);
            Vec::new()
        }
        Action::Resized(_, height) => {
            // Rows of the Health table: the screen minus tabs, bars, borders, summary and detail box.
            state.page_rows = (height as usize).saturating_sub(14).max(1);
            Vec::new()
        }
        Action::Backend(event) => {
            apply_backend_event(state, *event);
            Vec::new()
        }
        Action::ThemeApplied(name) => {
            state.info(format!("theme {name}"));
            state.theme_name = name;
            Vec::new()
        }
        Action::Interrupt => quit(state),
        Action::Failed(text) => {
            state.error(text);
            Vec::new()
        }
        user => {
            // A key press dismisses the previous message; the handlers may set a new one.
            state.message = None;
            let mut effects = match state.mode.clone() {
                Mode::Normal => normal(state, user),
                Mode::Help | Mode::SqlLog => overlay(state, user),
                Mode::Palette(line) => palette_line(state, line, user),
                Mode::Filter => filter_line(state, user),
                Mode::PaneInput => {
                    let (pane, mut ctx) = state.component(state.pane);
                    pane.on_input(&mut ctx, user)
                }
                Mode::PaneEditor => {
                    let (pane, mut ctx) = state.component(state.pane);
                    pane.on_editor(&mut ctx, user)
                }
            };
            if !state.quitting {
                let (pane, mut ctx) = state.component(state.pane);
                effects.extend(pane.after_key(&mut ctx));
            }
            let focused = (!state.quitting).then_some(state.pane);
            for pane in Pane::ALL {
                let (logic, mut ctx) = state.component(pane);
                effects.extend(logic.after_any_key(&mut ctx, Some(pane) == focused));
            }
            state.fleet.sync_filter(&state.filter);
            effects
        }
    }
}

/// The focused pane has the first say; what it leaves are the global keys.
fn normal(state: &mut State, action: Action) -> Vec<Effect> {
    let (pane, mut ctx) = state.component(state.pane);
    if let Some(effects) = pane.on_action(&mut ctx, &action) {
        return effects;
    }
    match action {
        Action::NextPane => switch_pane(state, state.pane.offset(1)),
        Action::PrevPane => switch_pane(state, state.pane.offset(-1)),
        Action::PaneHealth => switch_pane(state, Pane::Health),
        Action::PaneSlowSql => switch_pane(state, Pane::SlowSql),
        Action::PaneBinlog => switch_pane(state, Pane::Binlog),
        Action::PaneJobs => switch_pane(state, Pane::Jobs),
        Action::PrevInstance => move_selection(state, -1),
        Action::NextInstance => move_selection(state, 1),
        Action::Filter => state.info("nothing to filter on this pane yet"),
        Action::Palette => state.mode = Mode::Palette(String::new()),
        Action::Help => open_overlay(state, Mode::Help),
        Action::SqlLog => open_overlay(state, Mode::SqlLog),
        Action::ReplayStepBack => return replay(state, ReplayCommand::Step(-1)),
        Action::ReplayStepForward => return replay(state, ReplayCommand::Step(1)),
        Action::ReplaySeekBack => return replay(state, ReplayCommand::Seek(-60)),
        Action::ReplaySeekForward => return replay(state, ReplayCommand::Seek(60)),
        Action::ReplayPlay => return replay(state, ReplayCommand::TogglePlay),
        Action::RecordToggle => return record_toggle(state),
        Action::Refresh if state.replay.is_some() => {
            state.info("this is a replay: nothing is polled");
        }
        Action::Refresh => {
            state.info("polling all instances now");
            return vec![Effect::SendBackend(BackendCommand::RefreshNow)];
        }
        Action::Quit => return quit(state),
        Action::Cancel if !state.filter.is_empty() => {
            state.filter.clear();
            state.info("filter cleared");
        }
        _ => {}
    }
    Vec::new()
}

fn overlay(state: &mut State, action: Action) -> Vec<Effect> {
    let in_sql_log = state.mode == Mode::SqlLog;
    let last = match in_sql_log {
        true => state.sql_log.len().saturating_sub(1),
        false => help_line_count().saturating_sub(1),
    };
    let page = state.page_rows.max(1);
    let scroll = state.overlay_scroll;
    match action {
        Action::Up => state.overlay_scroll = scroll.saturating_sub(1),
        Action::Down => state.overlay_scroll = (scroll + 1).min(last),
        Action::PageUp => state.overlay_scroll = scroll.saturating_sub(page),
        Action::PageDown => state.overlay_scroll = (scroll + page).min(last),
        Action::Top => state.overlay_scroll = 0,
        Action::Bottom => state.overlay_scroll = last,
        Action::Help if in_sql_log => open_overlay(state, Mode::Help),
        Action::SqlLog if !in_sql_log => open_overlay(state, Mode::SqlLog),
        Action::Help | Action::SqlLog | Action::Cancel | Action::Confirm | Action::Quit => {
            state.mode = Mode::Normal
        }
        _ => {}
    }
    Vec::new()
}

fn palette_line(state: &mut State, mut line: String, action: Action) -> Vec<Effect> {
    match action {
        Action::InputChar(c) => {
            line.push(c);
            state.mode = Mode::Palette(line);
        }
        Action::InputBackspace if line.is_empty() => state.mode = Mode::Normal,
        Action::InputBackspace => {
            line.pop();
            state.mode = Mode::Palette(line);
        }
        Action::Cancel => state.mode = Mode::Normal,
        Action::Quit => return quit(state),
        Action::Confirm => {
            state.mode = Mode::Normal;
            let names: Vec<String> = state.instances.iter().map(|i| i.name.clone()).collect();
            match palette::parse(&line, &names) {
                Ok(command) => return run_command(state, command),
                Err(message) => state.error(message),
            }
        }
        _ => {}
    }
    Vec::new()
}

fn filter_line(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::InputChar(c) => state.filter.push(c),
        Action::InputBackspace => {
            state.filter.pop();
        }
        Action::Confirm => state.mode = Mode::Normal,
        Action::Cancel => {
            state.filter.clear();
            state.mode = Mode::Normal;
        }
        // Moving while typing: the focused pane's list follows.
        Action::Up | Action::Down => {
            let (pane, mut ctx) = state.component(state.pane);
            return pane.on_action(&mut ctx, &action).unwrap_or_default();
        }
        Action::Quit => return quit(state),
        _ => {}
    }
    let (pane, mut ctx) = state.component(state.pane);
    pane.on_filter_edited(&mut ctx);
    Vec::new()
}

fn run_command(state: &mut State, command: PaletteCommand) -> Vec<Effect> {
    match command {
        PaletteCommand::Pane(pane) => switch_pane(state, pane),
        PaletteCommand::Instance(name) => {
            if let Some(i) = state.instances.iter().position(|inst| inst.name == name) {
                state.selected = i;
                if !state.visible_instances().contains(&i) {
                    state.filter.clear();
                }
            }
        }
        PaletteCommand::Theme(name) => return vec![Effect::LoadTheme(name)],
        PaletteCommand::ReadOnly(true) => {
            state.read_only = true;
            state.info("read-only: arkc will refuse every write to a server");
            return vec![write_intent::sync_backend(state)];
        }
        PaletteCommand::ReadOnly(false) if state.read_only_locked => {
            let (causes, remedies) = state.read_only_by().explain();
            state.error(format!("read-only ({causes}): {remedies} to allow writes"))
        }
        PaletteCommand::ReadOnly(false) => {
            state.read_only = false;
            state.info("read-write: writes are allowed again");
            return vec![write_intent::sync_backend(state)];
        }
        PaletteCommand::Quit => return quit(state),
        PaletteCommand::Scope(scope) => {
            let said = match &scope {
                Some(s) => format!("scope: {} (rows outside it are left alone)", s.text()),
                None => "scope cleared: every row of a marked transaction".to_string(),
            };
            state.binlog.set_scope(scope.map(|s| *s));
            state.info(said);
        }
        PaletteCommand::Tag(tag) => {
            switch_pane(state, Pane::Health);
            let (_, mut ctx) = state.component(Pane::Health);
            super::health::show_tag_group(&mut ctx, tag);
        }
        PaletteCommand::Mark(mark) => {
            let n = state.binlog.mark_listed(mark);
            let word = if mark { "marked" } else { "unmarked" };
            state.info(format!("{word} {n} listed transaction(s)"));
        }
    }
    Vec::new()
}

fn quit(state: &mut State) -> Vec<Effect> {
    state.quitting = true;
    vec![Effect::SendBackend(BackendCommand::Shutdown), Effect::Quit]
}

fn switch_pane(state: &mut State, pane: Pane) {
    if state.pane != pane {
        state.pane = pane;
        state.filter.clear();
    }
}

fn open_overlay(state: &mut State, mode: Mode) {
    state.mode = mode;
    state.overlay_scroll = 0;
}

/// Move the selected instance by `by` rows within the filtered list, stopping at the ends.
fn move_selection(state: &mut State, by: isize) {
    let (_, mut ctx) = state.component(state.pane);
    ctx.move_selection(by);
}

/// Health figures and the SQL log belong to the whole console; anything else goes to the pane
/// that takes it.
fn apply_backend_event(state: &mut State, event: BackendEvent) {
    match event {
        BackendEvent::Health(h) => observe_health(state, h),
        BackendEvent::Replay(frame) => show_replay_frame(state, *frame),
        BackendEvent::Recording(status) => recording_changed(state, status),
        BackendEvent::FleetPace(pace) => state.fleet.set_pace(pace),
        BackendEvent::Refused(refusal) => state.error(refusal),
        BackendEvent::SqlSent(entry) => {
            state.sql_log.push_front(entry);
            state.sql_log.truncate(SQL_LOG_CAPACITY);
            // Keep a scrolled-back reader looking at the same lines as new ones arrive on top.
            if state.mode == Mode::SqlLog && state.overlay_scroll > 0 {
                state.overlay_scroll += 1;
            }
        }
        other => {
            let mut unclaimed = Some(other);
            for pane in Pane::ALL {
                let Some(event) = unclaimed.take() else {
                    break;
                };
                let (logic, mut ctx) = state.component(pane);
                unclaimed = logic.on_backend(&mut ctx, event);
            }
        }
    }
}

/// A poll's figures. An instance polled directly and also listed by a Prometheus source keeps
/// its direct figures (live, and the ones its views read), even before its first direct poll
/// answers; one known only through Prometheus joins the list at its first row. A replay shows
/// what was recorded, whatever today's config says.
fn observe_health(state: &mut State, h: InstanceHealth) {
    if let crate::health::Source::Prometheus(source) = &h.source {
        let direct = state
            .health
            .get(&h.instance)
            .is_some_and(|old| old.source == crate::health::Source::Direct)
            || (state.replay.is_none() && state.fleet.is_configured(&h.instance));
        if direct {
            return;
        }
        add_instance(
            state,
            super::InstanceEntry {
                name: h.instance.clone(),
                address: format!("prometheus:{source}"),
                tags: state.row_tags.of(&h.instance, Some(source)),
            },
        );
    }
    state.health_pane.monitor.observe(&h);
    state.fleet.observe(&h, &state.health_pane.monitor.book);
    state.health.insert(h.instance.clone(), h);
}

/// An instance the config did not list (a Prometheus source's, a recording's) joins the list.
fn add_instance(state: &mut State, entry: super::InstanceEntry) {
    if !state.instances.iter().any(|i| i.name == entry.name) {
        state.fleet.add(&entry);
        state.instances.push(entry);
    }
}

/// Move a replay's time cursor; without a replay, say how to start one.
fn replay(state: &mut State, command: ReplayCommand) -> Vec<Effect> {
    if state.replay.is_none() {
        state.info("not a replay: open a recording with `arkc --replay FILE`");
        return Vec::new();
    }
    vec![Effect::SendBackend(BackendCommand::Replay(command))]
}

/// Start a recording into the data dir, or stop the running one.
fn record_toggle(state: &mut State) -> Vec<Effect> {
    use crate::backend::record_toggle::RecordCommand;
    if state.replay.is_some() {
        state.info("this is a replay: there is nothing live to record");
        return Vec::new();
    }
    if state.recording.is_some() {
        return vec![Effect::SendBackend(BackendCommand::Record(
            RecordCommand::Stop,
        ))];
    }
    let Some(dir) = crate::config::data_dir() else {
        state.error("no data directory to record into (set ARKC_DATA_DIR)");
        return Vec::new();
    };
    let name = format!("arkc-{}.arkc", state.now.format("%Y%m%d-%H%M%S"));
    let path = dir.join("recordings").join(name);
    vec![Effect::SendBackend(BackendCommand::Record(
        RecordCommand::Start { path },
    ))]
}

fn recording_changed(state: &mut State, status: crate::backend::record_toggle::RecordingStatus) {
    match (status.active, status.error) {
        (true, _) => {
            state.info(format!("recording to {}", status.file));
            state.recording = Some(status.file);
        }
        (false, Some(error)) => {
            state.error(format!("recording {}: {error}", status.file));
            state.recording = None;
        }
        (false, None) => {
            state.info(format!(
                "recording stopped: {} frames in {}; replay with arkc --replay FILE",
                status.frames, status.file
            ));
            state.recording = None;
        }
    }
}

/// A recorded frame: its figures as if just polled, and its alerts as they were recorded.
fn show_replay_frame(state: &mut State, shown: ReplayFrame) {
    if !shown.continues {
        state.health_pane.monitor.forget_history();
    }
    // Set first: the frame's rows are the recording's, not judged against today's config.
    state.replay = Some(shown.position.clone());
    // The recording decides what is listed, and with which tags, whatever today's config says.
    for h in &shown.frame.instances {
        add_instance(
            state,
            super::InstanceEntry {
                name: h.instance.clone(),
                address: format!("recorded, {}", h.source),
                tags: shown
                    .frame
                    .tags
                    .get(&h.instance)
                    .cloned()
                    .unwrap_or_default(),
            },
        );
    }
    let names: Vec<String> = shown
        .frame
        .instances
        .iter()
        .map(|h| h.instance.clone())
        .collect();
    for h in shown.frame.instances {
        observe_health(state, h);
    }
    state.health_pane.monitor.book = AlertBook::from_alerts(shown.frame.alerts);
    // The list's order and alert counts follow the recorded alerts, not ones judged just now.
    for name in names {
        if let Some(h) = state.health.get(&name) {
            state.fleet.observe(h, &state.health_pane.monitor.book);
        }
    }
    state.now = shown.position.at;
    state.replay = Some(shown.position);
}

/// Lines in the help overlay: one per bindable action and palette command, plus two headings.
pub fn help_line_count() -> usize {
    Action::BINDABLE.len() + palette::USAGE.len() + 2
}
