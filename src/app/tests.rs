use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::palette::{parse, PaletteCommand};
use super::*;
use crate::backend::{BackendCommand, BackendEvent};

fn event(e: BackendEvent) -> Action {
    Action::Backend(Box::new(e))
}
use crate::config::InstanceConfig;
use crate::health::{InstanceHealth, Status};

fn at(s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, s)
        .single()
        .expect("valid time")
}

fn state_with(names: &[&str]) -> State {
    let mut config = Config::default();
    for (i, n) in names.iter().enumerate() {
        let mut inst = InstanceConfig::tcp(n, "127.0.0.1", 3306 + i as u16);
        inst.tags = vec![if i % 2 == 0 {
            "prod".into()
        } else {
            "staging".into()
        }];
        config.instances.push(inst);
    }
    State::new(&config, false, at(0))
}

fn run(state: &mut State, actions: &[Action]) -> Vec<Effect> {
    actions
        .iter()
        .flat_map(|a| update(state, a.clone()))
        .collect()
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        update(state, Action::InputChar(c));
    }
}

fn palette(state: &mut State, line: &str) -> Vec<Effect> {
    update(state, Action::Palette);
    type_text(state, line);
    update(state, Action::Confirm)
}

fn selected_name(state: &State) -> &str {
    &state
        .selected_instance()
        .expect("an instance is selected")
        .name
}

#[test]
fn panes_cycle_both_ways_and_jump_directly() {
    let mut s = state_with(&["a"]);
    assert_eq!(s.pane, Pane::Health);
    run(&mut s, &[Action::NextPane, Action::NextPane]);
    assert_eq!(s.pane, Pane::Binlog);
    run(&mut s, &[Action::NextPane, Action::NextPane]);
    assert_eq!(s.pane, Pane::Health, "wraps after Jobs");
    update(&mut s, Action::PrevPane);
    assert_eq!(s.pane, Pane::Jobs, "wraps before Health");
    update(&mut s, Action::PaneSlowSql);
    assert_eq!(s.pane, Pane::SlowSql);
}

#[test]
fn palette_pane_switches_with_loose_names() {
    let mut s = state_with(&["a"]);
    palette(&mut s, "pane slow");
    assert_eq!(s.pane, Pane::SlowSql);
    assert_eq!(s.mode, Mode::Normal);
    palette(&mut s, "pane Jobs");
    assert_eq!(s.pane, Pane::Jobs);
    assert_eq!(
        parse("pane slow-sql", &[]),
        Ok(PaletteCommand::Pane(Pane::SlowSql))
    );
    assert_eq!(parse("p bin", &[]), Ok(PaletteCommand::Pane(Pane::Binlog)));
}

#[test]
fn palette_errors_land_in_the_status_bar() {
    let mut s = state_with(&["a"]);
    palette(&mut s, "pane nowhere");
    let msg = s.message.clone().expect("an error message");
    assert_eq!(msg.kind, MessageKind::Error);
    assert!(msg.text.contains("nowhere"), "{}", msg.text);
    assert_eq!(s.pane, Pane::Health);
    palette(&mut s, "frobnicate");
    assert!(s
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("unknown command :frobnicate")));
    assert!(parse("", &[]).is_err());
    assert!(parse("pane", &[]).unwrap_err().contains("needs a NAME"));
    assert!(parse("quit now", &[]).is_err());
    assert!(parse("readonly maybe", &[]).is_err());
    assert!(parse("pane health extra", &[])
        .unwrap_err()
        .contains("extra"));
}

#[test]
fn palette_instance_takes_exact_name_or_unique_prefix() {
    let names: Vec<String> = ["db1", "db10", "replica"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        parse("instance db1", &names),
        Ok(PaletteCommand::Instance("db1".into()))
    );
    assert_eq!(
        parse("instance rep", &names),
        Ok(PaletteCommand::Instance("replica".into()))
    );
    let ambiguous = parse("i db", &names).unwrap_err();
    assert!(ambiguous.contains("db1, db10"), "{ambiguous}");
    assert!(parse("instance nope", &names).is_err());

    let mut s = state_with(&["db1", "db10", "replica"]);
    palette(&mut s, "instance replica");
    assert_eq!(selected_name(&s), "replica");
}

#[test]
fn palette_suggests_commands_then_values() {
    use super::palette::suggestions;
    let names = vec!["db1".to_string(), "db2".to_string(), "replica".to_string()];
    let themes = ["default", "light"];
    assert_eq!(suggestions("", &names, &themes).len(), palette::USAGE.len());
    assert_eq!(suggestions("in", &names, &themes), vec!["instance NAME"]);
    assert_eq!(
        suggestions("pane ", &names, &themes),
        vec!["health", "slow", "binlog", "jobs"]
    );
    assert_eq!(
        suggestions("instance db", &names, &themes),
        vec!["db1", "db2"]
    );
    assert_eq!(suggestions("theme l", &names, &themes), vec!["light"]);
    assert!(suggestions("frob x", &names, &themes).is_empty());
}

#[test]
fn palette_theme_and_quit_produce_effects() {
    let mut s = state_with(&["a"]);
    assert_eq!(
        palette(&mut s, "theme light"),
        vec![Effect::LoadTheme("light".into())]
    );
    assert_eq!(
        s.theme_name, "default",
        "only changes once the loop confirms the load"
    );
    update(&mut s, Action::ThemeApplied("light".into()));
    assert_eq!(s.theme_name, "light");
    let effects = palette(&mut s, "quit");
    assert!(effects.contains(&Effect::Quit));
    assert!(effects.contains(&Effect::SendBackend(BackendCommand::Shutdown)));
    assert!(s.quitting);
}

#[test]
fn palette_line_edits_and_cancels() {
    let mut s = state_with(&["a"]);
    update(&mut s, Action::Palette);
    type_text(&mut s, "pannn");
    update(&mut s, Action::InputBackspace);
    update(&mut s, Action::InputBackspace);
    assert_eq!(s.mode, Mode::Palette("pan".into()));
    update(&mut s, Action::Cancel);
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.message.is_none(), "cancel runs nothing");
    // Keys that mean something in normal mode are text in the palette.
    update(&mut s, Action::Palette);
    update(&mut s, Action::InputChar('q'));
    assert!(!s.quitting);
    update(&mut s, Action::InputBackspace);
    update(&mut s, Action::InputBackspace);
    assert_eq!(s.mode, Mode::Normal, "backspace on an empty line closes it");
}

#[test]
fn filter_narrows_the_list_and_keeps_selection_visible() {
    let mut s = state_with(&["alpha", "beta", "gamma", "delta"]);
    update(&mut s, Action::Down);
    assert_eq!(selected_name(&s), "beta");
    update(&mut s, Action::Filter);
    assert_eq!(s.mode, Mode::Filter);
    type_text(&mut s, "ta");
    assert_eq!(s.visible_instances(), vec![1, 3], "beta and delta");
    assert_eq!(selected_name(&s), "beta");
    update(&mut s, Action::Down);
    assert_eq!(selected_name(&s), "delta", "moves within the filtered rows");
    update(&mut s, Action::Confirm);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(s.filter, "ta", "confirm keeps the filter");
    update(&mut s, Action::Cancel);
    assert_eq!(s.filter, "", "escape in normal mode clears it");
    assert_eq!(s.visible_instances().len(), 4);
}

#[test]
fn filter_matches_tags_and_status_and_moves_selection_into_view() {
    let mut s = state_with(&["alpha", "beta", "gamma"]);
    update(
        &mut s,
        event(BackendEvent::Health(InstanceHealth::down(
            "gamma",
            "refused",
            at(1),
        ))),
    );
    update(&mut s, Action::Filter);
    type_text(&mut s, "down");
    assert_eq!(s.visible_instances(), vec![2]);
    assert_eq!(
        selected_name(&s),
        "gamma",
        "selection jumps to the only match"
    );
    update(&mut s, Action::Cancel);
    update(&mut s, Action::Filter);
    type_text(&mut s, "STAG");
    assert_eq!(
        s.visible_instances(),
        vec![1],
        "tags match case-insensitively"
    );
}

#[test]
fn filter_is_only_offered_where_there_is_a_list() {
    let mut s = state_with(&["a"]);
    update(&mut s, Action::PaneBinlog);
    update(&mut s, Action::Filter);
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.message.is_some());
}

#[test]
fn switching_panes_clears_the_filter() {
    let mut s = state_with(&["a", "b"]);
    update(&mut s, Action::Filter);
    type_text(&mut s, "b");
    update(&mut s, Action::Confirm);
    update(&mut s, Action::NextPane);
    assert_eq!(s.filter, "");
}

#[test]
fn read_only_started_from_the_command_line_cannot_be_lifted() {
    let mut s = State::new(&Config::default(), true, at(0));
    assert!(s.read_only);
    palette(&mut s, "readonly off");
    assert!(s.read_only);
    assert_eq!(s.message.as_ref().map(|m| m.kind), Some(MessageKind::Error));

    let mut s = state_with(&["a"]);
    assert!(!s.read_only);
    palette(&mut s, "readonly");
    assert!(s.read_only);
    palette(&mut s, "readonly off");
    assert!(
        !s.read_only,
        "turned on in the console, so it may be turned off"
    );
}

#[test]
fn instance_selection_stops_at_the_ends() {
    let mut s = state_with(&["a", "b", "c"]);
    run(&mut s, &[Action::PrevInstance]);
    assert_eq!(selected_name(&s), "a");
    run(
        &mut s,
        &[
            Action::NextInstance,
            Action::NextInstance,
            Action::NextInstance,
        ],
    );
    assert_eq!(selected_name(&s), "c");
    run(&mut s, &[Action::Top]);
    assert_eq!(selected_name(&s), "a");
    run(&mut s, &[Action::Bottom]);
    assert_eq!(selected_name(&s), "c");
}

#[test]
fn overlays_open_scroll_and_close() {
    let mut s = state_with(&["a"]);
    update(&mut s, Action::Help);
    assert_eq!(s.mode, Mode::Help);
    run(&mut s, &[Action::Down, Action::Down, Action::Up]);
    assert_eq!(s.overlay_scroll, 1);
    update(&mut s, Action::Bottom);
    assert_eq!(s.overlay_scroll, help_line_count() - 1);
    update(&mut s, Action::Quit);
    assert_eq!(s.mode, Mode::Normal, "q closes the overlay");
    assert!(!s.quitting, "and does not quit");
    update(&mut s, Action::SqlLog);
    assert_eq!(s.mode, Mode::SqlLog);
    assert_eq!(s.overlay_scroll, 0);
    update(&mut s, Action::Down);
    assert_eq!(s.overlay_scroll, 0, "an empty log has nothing to scroll");
    update(&mut s, Action::Cancel);
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn interrupt_quits_from_every_mode() {
    let modes = [
        Action::Help,
        Action::SqlLog,
        Action::Palette,
        Action::Filter,
    ];
    for open in modes {
        let mut s = state_with(&["a"]);
        update(&mut s, open.clone());
        assert_ne!(s.mode, Mode::Normal, "{open:?} opens a mode");
        let effects = update(&mut s, Action::Interrupt);
        assert!(
            s.quitting && effects.contains(&Effect::Quit),
            "ctrl-c in {open:?}"
        );
    }
}

#[test]
fn refresh_asks_the_backend_and_quit_stops_it() {
    let mut s = state_with(&["a"]);
    assert_eq!(
        update(&mut s, Action::Refresh),
        vec![Effect::SendBackend(BackendCommand::RefreshNow)]
    );
    let effects = update(&mut s, Action::Quit);
    assert_eq!(effects.last(), Some(&Effect::Quit));
}

#[test]
fn sql_log_keeps_newest_first_and_is_bounded() {
    let mut s = state_with(&["a"]);
    for i in 0..(SQL_LOG_CAPACITY + 5) {
        let entry = SqlLogEntry {
            at: at(0),
            instance: "a".into(),
            sql: format!("SELECT {i}"),
            elapsed: std::time::Duration::from_millis(1),
            error: None,
        };
        update(&mut s, event(BackendEvent::SqlSent(entry)));
    }
    assert_eq!(s.sql_log.len(), SQL_LOG_CAPACITY);
    assert_eq!(s.sql_log[0].sql, format!("SELECT {}", SQL_LOG_CAPACITY + 4));
}

#[test]
fn a_poll_batch_logs_its_statements_and_keeps_every_result() {
    let mut s = state_with(&["a", "b"]);
    let statement = |sql: &str| SqlLogEntry {
        at: at(0),
        instance: "a".into(),
        sql: sql.into(),
        elapsed: std::time::Duration::from_millis(1),
        error: None,
    };
    let batch = crate::backend::health::outbox::PollBatch {
        statements: vec![
            statement("SHOW GLOBAL STATUS"),
            statement("SHOW ALL SLAVES STATUS"),
        ],
        health: vec![
            InstanceHealth::down("a", "refused", at(1)),
            InstanceHealth::down("b", "refused", at(1)),
        ],
    };
    update(&mut s, event(BackendEvent::Polled(Box::new(batch))));
    let logged: Vec<&str> = s.sql_log.iter().map(|e| e.sql.as_str()).collect();
    assert_eq!(logged, ["SHOW ALL SLAVES STATUS", "SHOW GLOBAL STATUS"]);
    assert_eq!(s.health.len(), 2);
    assert_eq!(
        s.alert_counts(),
        (2, 0, 0),
        "both down, as one event each would"
    );
}

#[test]
fn health_events_are_kept_per_instance_and_counted_as_alerts() {
    let mut s = state_with(&["a", "b"]);
    let mut up = InstanceHealth::down("a", "x", at(1));
    up.status = Status::Up;
    up.error = None;
    up.threads_connected = Some(95);
    up.max_connections = Some(100);
    update(&mut s, event(BackendEvent::Health(up)));
    update(
        &mut s,
        event(BackendEvent::Health(InstanceHealth::down(
            "b",
            "timeout",
            at(1),
        ))),
    );
    // The alert book: `instance_down` fires at once, `connections_high` waits for its `for`.
    assert_eq!(
        s.alert_counts(),
        (1, 0, 0),
        "one down, one nearly full (pending)"
    );
    assert_eq!(s.selected_health().map(|h| h.status), Some(Status::Up));
}

#[test]
fn a_key_press_clears_the_last_message_but_a_tick_does_not() {
    let mut s = state_with(&["a"]);
    update(&mut s, Action::Refresh);
    assert!(s.message.is_some());
    update(&mut s, Action::Tick(at(5)));
    assert!(s.message.is_some());
    assert_eq!(s.now, at(5));
    update(&mut s, Action::Down);
    assert!(s.message.is_none());
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

#[test]
fn an_unbound_alt_key_is_the_esc_and_the_key_typed_together() {
    let km = Keymap::builtin("default")
        .expect("built in")
        .expect("parses");
    let alt_q = key(KeyCode::Char('q'), KeyModifiers::ALT);
    let keys = km.unmerged(Pane::SlowSql, &Mode::Normal, alt_q);
    assert_eq!(
        keys,
        vec![
            key(KeyCode::Esc, KeyModifiers::NONE),
            key(KeyCode::Char('q'), KeyModifiers::NONE)
        ]
    );
    assert_eq!(
        km.action_for_pane(Pane::SlowSql, &Mode::Normal, &keys[0]),
        Some(Action::Cancel)
    );
    assert_eq!(
        km.action_for_pane(Pane::SlowSql, &Mode::Normal, &keys[1]),
        Some(Action::Quit)
    );
    // A plain key, and every key in the rollback editor, stay as they came.
    let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
    assert_eq!(km.unmerged(Pane::SlowSql, &Mode::Normal, q), vec![q]);
    assert_eq!(
        km.unmerged(Pane::Binlog, &Mode::PaneEditor, alt_q),
        vec![alt_q]
    );
    // An Alt key the keymap binds keeps its meaning.
    let bound = km
        .overlay("[global]\n\"alt-q\" = \"help\"\n", "test keymap")
        .expect("overlay parses");
    assert_eq!(
        bound.unmerged(Pane::SlowSql, &Mode::Normal, alt_q),
        vec![alt_q]
    );
}

#[test]
fn keys_map_to_actions_by_mode() {
    let km = Keymap::builtin("default")
        .expect("built in")
        .expect("parses");
    let none = KeyModifiers::NONE;
    assert_eq!(
        km.action_for(&Mode::Normal, &key(KeyCode::Char('j'), none)),
        Some(Action::Down)
    );
    assert_eq!(
        km.action_for(&Mode::Normal, &key(KeyCode::Down, none)),
        Some(Action::Down)
    );
    assert_eq!(
        km.action_for(&Mode::Normal, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Action::Bottom),
        "shift flag on a capital is ignored"
    );
    assert_eq!(
        km.action_for(&Mode::Normal, &key(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some(Action::PrevPane)
    );
    let palette = Mode::Palette(String::new());
    assert_eq!(
        km.action_for(&palette, &key(KeyCode::Char('j'), none)),
        Some(Action::InputChar('j'))
    );
    assert_eq!(
        km.action_for(&palette, &key(KeyCode::Enter, none)),
        Some(Action::Confirm)
    );
    assert_eq!(
        km.action_for(&Mode::Filter, &key(KeyCode::Backspace, none)),
        Some(Action::InputBackspace)
    );
    let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        Keymap::default().action_for(&Mode::Filter, &ctrl_c),
        Some(Action::Interrupt)
    );
}

#[test]
fn every_bindable_action_round_trips_through_its_keymap_name() {
    use serde::de::IntoDeserializer;
    use serde::Deserialize;
    for action in Action::BINDABLE {
        let name = action.name();
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            name.as_str().into_deserializer();
        assert_eq!(Action::deserialize(de).as_ref(), Ok(action), "{name}");
        assert!(!action.description().is_empty(), "{name} needs a help line");
    }
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        "tick".into_deserializer();
    assert!(
        Action::deserialize(de).is_err(),
        "event-loop actions cannot be bound"
    );
}

/// The Slow SQL pane tells the backend what it shows (a large fleet reads only that), once per
/// change: nothing off the pane, the selected instance on it, every instance with the scope key.
#[test]
fn slow_pane_tells_the_backend_what_it_shows_when_that_changes() {
    use crate::backend::slow::report::{SlowCommand, SlowDemand};
    let demands = |effects: Vec<Effect>| -> Vec<SlowDemand> {
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::SendBackend(BackendCommand::Slow(SlowCommand::Demand(d))) => Some(d),
                _ => None,
            })
            .collect()
    };
    let small = &mut state_with(&["a", "b"]);
    assert!(
        demands(update(small, Action::PaneSlowSql)).is_empty(),
        "a small fleet reads every source anyway"
    );
    let names: Vec<String> = (0..40).map(|i| format!("n{i:02}")).collect();
    let mut s = state_with(&names.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(demands(run(&mut s, &[Action::Down, Action::Up])).is_empty());
    assert_eq!(
        demands(update(&mut s, Action::PaneSlowSql)),
        vec![SlowDemand::Instance("n00".into())]
    );
    assert!(
        demands(update(&mut s, Action::SortNext)).is_empty(),
        "no change"
    );
    assert_eq!(
        demands(update(&mut s, Action::NextInstance)),
        vec![SlowDemand::Instance("n01".into())]
    );
    assert_eq!(
        demands(update(&mut s, Action::ToggleScope)),
        vec![SlowDemand::Everything]
    );
    assert_eq!(
        demands(update(&mut s, Action::PaneHealth)),
        vec![SlowDemand::Nothing]
    );
    assert!(SlowDemand::Everything.wants("a"));
    assert!(SlowDemand::Instance("b".into()).wants("b"));
    assert!(!SlowDemand::Instance("b".into()).wants("a"));
    assert!(!SlowDemand::Nothing.wants("a"));
}
