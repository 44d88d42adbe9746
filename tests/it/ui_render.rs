//! Rendered-buffer tests: the console drawn into ratatui's TestBackend at fixed sizes, with fixed
//! sample figures and a fixed clock (so ages like "polled 2s ago" are stable), snapshotted by insta.

use std::time::Duration;

use arkc::app::{update, Action, Keymap, State};
use arkc::backend::{BackendEvent, SqlLogEntry};
use arkc::config::{Config, InstanceConfig};
use arkc::health::{InstanceHealth, Replication, Status};
use arkc::ui::{self, Theme};
use chrono::{DateTime, TimeZone, Utc};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

fn clock(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, secs)
        .single()
        .expect("valid time")
}

fn instance(name: &str, port: u16, tags: &[&str]) -> InstanceConfig {
    let mut i = InstanceConfig::tcp(name, "10.0.3.7", port);
    i.tags = tags.iter().map(|t| t.to_string()).collect();
    i
}

fn up(name: &str) -> InstanceHealth {
    InstanceHealth {
        instance: name.into(),
        status: Status::Up,
        error: None,
        version: Some("10.11.6-MariaDB-0+deb12u1-log".into()),
        uptime_s: Some(3 * 86_400 + 4 * 3600 + 12 * 60),
        qps: Some(1234.5),
        tps: Some(56.7),
        threads_connected: Some(12),
        threads_running: Some(3),
        max_connections: Some(151),
        replication: None,
        read_only: Some(false),
        sampled_at: clock(8),
        ..InstanceHealth::down(name, "", clock(8))
    }
}

fn replica(name: &str, io: bool, sql: bool, lag: Option<u64>) -> InstanceHealth {
    InstanceHealth {
        qps: Some(310.25),
        tps: Some(0.0),
        threads_connected: Some(4),
        threads_running: Some(1),
        read_only: Some(true),
        replication: Some(Replication {
            role: "replica".into(),
            io_running: io,
            sql_running: sql,
            lag_s: lag,
        }),
        ..up(name)
    }
}

/// Seven instances covering every row shape: healthy primary, healthy replica, lagging replica,
/// broken replica, nearly full connections, down, and one not polled yet.
fn sample_state() -> State {
    let instances = vec![
        instance("primary", 3306, &["prod", "eu-west"]),
        instance("replica-1", 3307, &["prod", "replica"]),
        instance("replica-2", 3308, &["prod", "replica"]),
        instance("reporting", 3309, &["analytics"]),
        instance("batch", 3310, &["prod"]),
        instance("old-dc", 3311, &["legacy"]),
        instance("staging", 3312, &["staging"]),
    ];
    let config = Config {
        path: Some("/home/dba/.config/arkc/config.toml".into()),
        instances,
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    let mut busy = up("batch");
    busy.threads_connected = Some(140);
    busy.threads_running = Some(37);
    busy.qps = Some(48_213.0);
    busy.tps = Some(9_120.4);
    let samples = [
        up("primary"),
        replica("replica-1", true, true, Some(0)),
        replica("replica-2", true, true, Some(95)),
        replica("reporting", false, true, None),
        busy,
        InstanceHealth::down(
            "old-dc",
            "Can't connect to MySQL server on '10.0.3.7:3311' (timed out after 3s)",
            clock(7),
        ),
    ];
    for h in samples {
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::Health(h))),
        );
    }
    update(&mut state, Action::Tick(clock(10)));
    state
}

fn keymap() -> Keymap {
    Keymap::builtin("default")
        .expect("built in")
        .expect("parses")
}

fn theme() -> Theme {
    Theme::builtin("default")
        .expect("built in")
        .expect("parses")
}

fn render(state: &State, width: u16, height: u16) -> Terminal<TestBackend> {
    render_with(state, &theme(), width, height)
}

fn render_with(state: &State, theme: &Theme, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let keymap = keymap();
    terminal
        .draw(|f| ui::draw(f, state, theme, &keymap))
        .expect("draw");
    terminal
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    crate::support::render::buffer_text(terminal.backend().buffer())
}

fn apply(state: &mut State, actions: &[Action]) {
    for a in actions {
        update(state, a.clone());
    }
}

fn typed(text: &str) -> Vec<Action> {
    text.chars().map(Action::InputChar).collect()
}

#[test]
fn shell_health_80x24() {
    let state = sample_state();
    let screen = screen(&render(&state, 80, 24));
    for pane in ["Health", "Slow SQL", "Binlog", "Jobs"] {
        assert!(screen.contains(pane), "tab {pane} missing:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn shell_health_160x48() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Down, Action::Down]);
    let screen = screen(&render(&state, 160, 48));
    assert!(
        screen.contains("10.11.6-MariaDB-0+deb12u1-log"),
        "wide screens show the full version"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn down_instance_detail_80x24() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Palette]);
    apply(&mut state, &typed("instance old"));
    apply(&mut state, &[Action::Confirm]);
    let screen = screen(&render(&state, 80, 24));
    assert!(screen.contains("timed out after 3s"));
    insta::assert_snapshot!(screen);
}

#[test]
fn filter_80x24() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Filter]);
    apply(&mut state, &typed("replica"));
    insta::assert_snapshot!(screen(&render(&state, 80, 24)));
}

#[test]
fn help_80x24_is_generated_from_the_keymap() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Help]);
    let screen = screen(&render(&state, 80, 24));
    assert!(screen.contains(":pane NAME"));
    insta::assert_snapshot!(screen);

    // Rebinding a key shows up in the help screen.
    let custom = keymap()
        .overlay("[global]\n\"x\" = \"quit\"\n\"q\" = \"none\"\n", "test")
        .expect("parses");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    terminal
        .draw(|f| ui::draw(f, &state, &theme(), &custom))
        .expect("draw");
    let text = self::screen(&terminal);
    let quit_line = text
        .lines()
        .find(|l| l.contains(" quit ") && !l.contains("Help"))
        .expect("a quit line");
    assert!(quit_line.contains("x                quit"), "{quit_line}");
    assert!(!quit_line.contains("q                quit"), "{quit_line}");
}

#[test]
fn slow_sql_pane_waits_for_its_sources_80x24() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Palette]);
    apply(&mut state, &typed("pane slow"));
    apply(&mut state, &[Action::Confirm]);
    let screen = screen(&render(&state, 80, 24));
    // No report yet: it says so and shows no figures.
    assert!(screen.contains("primary: waiting for the first read of the slow log"));
    assert!(screen.contains("no query classes yet"));
    insta::assert_snapshot!(screen);
}

#[test]
fn palette_hints_while_typing() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Palette]);
    apply(&mut state, &typed("in"));
    let text = screen(&render(&state, 80, 24));
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains(":in█   instance NAME")),
        "{text}"
    );
    apply(&mut state, &typed("stance rep"));
    let text = screen(&render(&state, 80, 24));
    let last = text.lines().last().unwrap_or_default();
    assert!(last.contains("replica-1 · replica-2"), "{last}");
}

#[test]
fn palette_error_80x24() {
    let mut state = sample_state();
    apply(&mut state, &[Action::Palette]);
    apply(&mut state, &typed("pane nowhere"));
    apply(&mut state, &[Action::Confirm]);
    let text = screen(&render(&state, 80, 24));
    let last = text.lines().last().expect("a last line");
    assert!(last.contains("unknown pane `nowhere`"), "{last}");
}

#[test]
fn sql_log_80x24() {
    let mut state = sample_state();
    let entries = [
        ("primary", "SHOW GLOBAL STATUS", 1.8, None),
        (
            "old-dc",
            "SELECT @@version",
            3000.0,
            Some("timed out after 3s"),
        ),
        ("replica-1", "SHOW REPLICA STATUS", 0.9, None),
    ];
    for (i, (inst, sql, ms, err)) in entries.into_iter().enumerate() {
        let entry = SqlLogEntry {
            at: clock(i as u32 + 1),
            instance: inst.into(),
            sql: sql.into(),
            elapsed: Duration::from_secs_f64(ms / 1000.0),
            error: err.map(String::from),
        };
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::SqlSent(entry))),
        );
    }
    apply(&mut state, &[Action::SqlLog, Action::Down]);
    insta::assert_snapshot!(screen(&render(&state, 80, 24)));
}

#[test]
fn no_instances_says_how_to_add_them() {
    let state = State::new(&Config::default(), true, clock(0));
    let screen = screen(&render(&state, 80, 24));
    assert!(screen.contains("No instances configured"));
    assert!(
        screen.contains("arkc RO"),
        "--read-only shows in the status bar"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn down_rows_use_the_alert_colour_and_no_color_uses_none() {
    let state = sample_state();
    let terminal = render(&state, 80, 24);
    let buffer = terminal.backend().buffer();
    let text = screen(&terminal);
    let y = text
        .lines()
        .position(|l| l.contains("DOWN"))
        .expect("a DOWN row") as u16;
    let x = text
        .lines()
        .nth(y as usize)
        .and_then(|l| l.find("DOWN"))
        .expect("DOWN column");
    let alert = theme().palette.alert;
    assert_eq!(buffer[(x as u16, y)].fg, alert);

    let plain = theme().with_no_color(true);
    let terminal = render_with(&state, &plain, 80, 24);
    let coloured = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        .count();
    assert_eq!(coloured, 0, "NO_COLOR: no cell may carry a colour");
}

#[test]
fn very_small_terminal_does_not_panic() {
    let mut state = sample_state();
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10)] {
        render(&state, w, h);
        apply(&mut state, &[Action::Help]);
        render(&state, w, h);
        apply(&mut state, &[Action::Cancel, Action::SqlLog]);
        render(&state, w, h);
        apply(&mut state, &[Action::Cancel]);
    }
}
