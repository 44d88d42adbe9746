//! Which keys ask for a write (`crate::readonly`'s list) and the console's gate on what
//! `update()` dispatches. The gate is on the effects: whatever a pane's handler returns, a
//! backend command that writes does not leave `update()` while read-only is on. The keys'
//! classification lets a refusal a pane made itself (before its prompt) be logged too.

use super::{Action, Effect, MessageKind, State};
use crate::backend::BackendCommand;
use crate::readonly::{refusal, ReadOnlyBy, WriteAction, WriteRequest};

/// The write a key asks for (it may still open a prompt first). Every action is named: a new
/// one does not compile until it is classified.
pub fn write_intent(action: &Action) -> Option<WriteAction> {
    match action {
        Action::ApplyRollback => Some(WriteAction::FlashbackApply),
        Action::KillRootBlocker | Action::KillConnection => Some(WriteAction::Kill),
        Action::KillQuery => Some(WriteAction::KillQuery),
        Action::KillFiltered => Some(WriteAction::BulkKill),
        Action::JobStart => Some(WriteAction::BackupRun),
        Action::DeployStart => Some(WriteAction::DeployApply),
        Action::DeployUndo => Some(WriteAction::DeployUndo),
        Action::DeployInstance => Some(WriteAction::DeployInstance),
        // Cancel stops a running backup; verify restores into a throwaway sandbox; a check
        // only reads; an export and a recording write local files.
        Action::NextPane
        | Action::PrevPane
        | Action::PaneHealth
        | Action::PaneSlowSql
        | Action::PaneBinlog
        | Action::PaneJobs
        | Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom
        | Action::Filter
        | Action::Palette
        | Action::Help
        | Action::SqlLog
        | Action::NextInstance
        | Action::PrevInstance
        | Action::Refresh
        | Action::Quit
        | Action::Cancel
        | Action::Confirm
        | Action::ToggleMark
        | Action::BinlogSource
        | Action::RollbackPreview
        | Action::EditPreview
        | Action::CheckRollback
        | Action::ExportPreview
        | Action::RangeFilter
        | Action::FollowBinlog
        | Action::MarkAll
        | Action::MarkNone
        | Action::OpenValue
        | Action::EditorKey(_)
        | Action::SortNext
        | Action::ToggleScope
        | Action::ToggleSource
        | Action::FilterNoIndex
        | Action::FilterMinTime
        | Action::FilterMinCount
        | Action::FilterDatabase
        | Action::ClearFilters
        | Action::Explain
        | Action::MarkStatus
        | Action::EditNote
        | Action::ProcessSort
        | Action::HealthReplication
        | Action::HealthDisk
        | Action::HealthParameters
        | Action::HealthBackup
        | Action::NextTagGroup
        | Action::JobNext
        | Action::JobCancel
        | Action::JobVerify
        | Action::DeployHistory
        | Action::ReplayStepBack
        | Action::ReplayStepForward
        | Action::ReplaySeekBack
        | Action::ReplaySeekForward
        | Action::ReplayPlay
        | Action::RecordToggle
        | Action::Interrupt
        | Action::InputChar(_)
        | Action::InputBackspace
        | Action::Tick(_)
        | Action::Resized(..)
        | Action::Backend(_)
        | Action::ThemeApplied(_)
        | Action::Failed(_) => None,
    }
}

impl State {
    /// What turned read-only on (all false when writes are allowed).
    pub fn read_only_by(&self) -> ReadOnlyBy {
        if !self.read_only {
            return ReadOnlyBy::default();
        }
        ReadOnlyBy {
            flag: self.read_only_flag,
            config: self.read_only_config,
            palette: !self.read_only_locked,
        }
    }
}

/// The console's dispatch gate: a write command leaving `update()` in read-only mode becomes a
/// refusal (shown, and logged by the event loop) instead.
pub fn gate_writes(state: &mut State, effects: Vec<Effect>) -> Vec<Effect> {
    if !state.read_only {
        return effects;
    }
    let by = state.read_only_by();
    effects
        .into_iter()
        .map(|effect| {
            let write = match &effect {
                Effect::SendBackend(command) => command.write_request(),
                _ => None,
            };
            match write {
                None => effect,
                Some(write) => {
                    let message = refusal(write.action, by);
                    state.error(message.clone());
                    Effect::LogRefusal(write, message)
                }
            }
        })
        .collect()
}

/// A key that asks for a write, refused by its pane for read-only before any command was built:
/// logged like a refusal at the gate.
pub fn refused_by_pane(state: &State, action: &Action, effects: &[Effect]) -> Option<Effect> {
    let intent = write_intent(action).filter(|_| state.read_only)?;
    let message = state
        .message
        .as_ref()
        .filter(|m| m.kind == MessageKind::Error && m.text.contains("read-only"))?;
    if effects.iter().any(|e| matches!(e, Effect::LogRefusal(..))) {
        return None;
    }
    let instance = state
        .selected_instance()
        .map(|i| i.name.clone())
        .unwrap_or_default();
    Some(Effect::LogRefusal(
        WriteRequest::new(intent, instance),
        message.text.clone(),
    ))
}

/// The backend's copy of read-only mode, sent when it changes.
pub fn sync_backend(state: &State) -> Effect {
    Effect::SendBackend(BackendCommand::SetReadOnly(state.read_only_by()))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::app::{update, Pane};
    use crate::backend::write_gate::console_writes;
    use crate::config::{Config, InstanceConfig};

    fn config() -> Config {
        let mut config = Config::default();
        config
            .instances
            .push(InstanceConfig::tcp("db", "127.0.0.1", 3306));
        config
    }

    fn palette(state: &mut State, line: &str) -> Vec<Effect> {
        update(state, Action::Palette);
        for c in line.chars() {
            update(state, Action::InputChar(c));
        }
        update(state, Action::Confirm)
    }

    /// The three ways into read-only, each with the words its refusal must use to lift it.
    fn read_only_states(config: &Config) -> Vec<(&'static str, State, &'static str)> {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let flag = State::new(config, true, now);
        let mut palette_on = State::new(config, false, now);
        palette(&mut palette_on, "readonly on");
        let mut in_config = config.clone();
        in_config.read_only = true;
        let configured = State::new(&in_config, false, now);
        vec![
            ("--read-only", flag, "run arkc without --read-only"),
            (":readonly on", palette_on, "type :readonly off"),
            (
                "read_only = true",
                configured,
                "set read_only = false in the config",
            ),
        ]
    }

    fn sends_a_write(effects: &[Effect]) -> bool {
        effects.iter().any(|e| match e {
            Effect::SendBackend(c) => c.write_request().is_some(),
            _ => false,
        })
    }

    #[test]
    fn every_console_write_is_refused_at_the_gate_in_each_read_only_mode() {
        for (mode, mut state, lift) in read_only_states(&config()) {
            for (command, action) in console_writes() {
                let out = gate_writes(
                    &mut state,
                    vec![
                        Effect::SendBackend(command.clone()),
                        Effect::SendBackend(BackendCommand::RefreshNow),
                    ],
                );
                assert!(!sends_a_write(&out), "{mode}: {command:?} went out");
                assert!(out.contains(&Effect::SendBackend(BackendCommand::RefreshNow)));
                let logged = out.iter().find_map(|e| match e {
                    Effect::LogRefusal(w, text) => Some((w.action, text.clone())),
                    _ => None,
                });
                let (logged_action, text) = logged.expect("the refusal is logged");
                assert_eq!(logged_action, action, "{mode}");
                let shown = state.message.clone().expect("a message");
                assert_eq!(shown.kind, MessageKind::Error);
                assert_eq!(shown.text, text);
                let named = format!("{} refused: arkc is read-only", action.name());
                assert!(text.starts_with(&named), "{mode}: {text}");
                assert!(text.ends_with(lift), "{mode}: {text}");
            }
        }
    }

    #[test]
    fn read_write_lets_every_write_through() {
        let mut state = State::new(&config(), false, chrono::Utc::now());
        for (command, _) in console_writes() {
            let effects = vec![Effect::SendBackend(command)];
            assert_eq!(gate_writes(&mut state, effects.clone()), effects);
        }
        assert_eq!(state.message, None);
    }

    /// The Jobs pane's start key has no read-only check of its own: the gate is what refuses it.
    #[test]
    fn a_backup_start_key_is_refused_by_the_gate_in_each_mode() {
        let config = Config::parse(
            "[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\n\n[[backup]]\nname = \"nightly\"\n\
             instance = \"db\"\nkind = \"dump\"\nto = \"/tmp/b\"\n",
            std::path::Path::new("jobs.toml"),
        )
        .expect("a config with a backup job");
        let mut rw = State::new(&config, false, chrono::Utc::now());
        rw.pane = Pane::Jobs;
        let started = update(&mut rw, Action::JobStart);
        assert!(
            sends_a_write(&started),
            "read-write starts the job: {started:?}"
        );
        for (mode, mut state, _) in read_only_states(&config) {
            state.pane = Pane::Jobs;
            let effects = update(&mut state, Action::JobStart);
            assert!(!sends_a_write(&effects), "{mode}: {effects:?}");
            assert!(
                effects.iter().any(|e| matches!(e,
                    Effect::LogRefusal(w, _) if w.action == WriteAction::BackupRun)),
                "{mode}: {effects:?}"
            );
            let text = state.message.map(|m| m.text).unwrap_or_default();
            assert!(text.starts_with("backup run refused"), "{mode}: {text}");
            assert_eq!(
                state.jobs.status.as_deref(),
                Some("not started: arkc is read-only")
            );
        }
    }

    /// A pane that refuses by itself (before its prompt) has its refusal logged too, in the
    /// gate's own words.
    #[test]
    fn a_panes_own_refusal_is_logged() {
        for (mode, mut state, _) in read_only_states(&config()) {
            state.pane = Pane::Binlog;
            state.binlog.view = crate::app::binlog::BinlogView::List;
            let effects = update(&mut state, Action::ApplyRollback);
            assert!(!sends_a_write(&effects), "{mode}");
            let gate = refusal(WriteAction::FlashbackApply, state.read_only_by());
            let logged = effects.iter().any(|e| {
                matches!(e, Effect::LogRefusal(w, text)
                    if w.action == WriteAction::FlashbackApply && w.instance == "db"
                        && *text == gate)
            });
            assert!(logged, "{mode}: {effects:?}");
        }
    }

    /// The Jobs pane's deploy keys refuse before their prompts with the gate's text.
    #[test]
    fn the_jobs_panes_early_refusals_use_the_gates_words() {
        for (mode, mut state, _) in read_only_states(&config()) {
            state.pane = Pane::Jobs;
            for (key, action) in [
                (Action::DeployStart, WriteAction::DeployApply),
                (Action::DeployInstance, WriteAction::DeployInstance),
            ] {
                let effects = update(&mut state, key.clone());
                assert!(!sends_a_write(&effects), "{mode}: {key:?}");
                let shown = state.message.clone().map(|m| m.text).unwrap_or_default();
                assert_eq!(shown, refusal(action, state.read_only_by()), "{mode}");
                update(&mut state, Action::Cancel);
            }
        }
    }

    #[test]
    fn the_palette_keeps_the_backend_gate_in_step() {
        let mut state = State::new(&config(), false, chrono::Utc::now());
        let on = palette(&mut state, "readonly on");
        let by = ReadOnlyBy {
            palette: true,
            ..Default::default()
        };
        assert!(on.contains(&Effect::SendBackend(BackendCommand::SetReadOnly(by))));
        let off = palette(&mut state, "readonly off");
        assert!(
            off.contains(&Effect::SendBackend(BackendCommand::SetReadOnly(
                ReadOnlyBy::default()
            )))
        );
    }

    #[test]
    fn every_write_of_the_console_has_a_key() {
        let asked: std::collections::HashSet<WriteAction> =
            Action::BINDABLE.iter().filter_map(write_intent).collect();
        for (_, action) in console_writes() {
            assert!(asked.contains(&action), "no key asks for {action:?}");
        }
    }
}
