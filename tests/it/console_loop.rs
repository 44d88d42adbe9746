//! The event loop driven with scripted key events and backend events, drawing into TestBackend:
//! keys reach update(), effects reach the backend channel, signals and `q` end the loop.

use std::sync::{Arc, Mutex};

use arkc::app::{Keymap, Mode, Pane, State};
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::InstanceHealth;
use arkc::tui::{run_loop, Console};
use arkc::ui::Theme;
use chrono::Utc;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, Stream, StreamExt};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

fn console() -> Console {
    let config = Config {
        instances: vec![
            InstanceConfig::tcp("primary", "127.0.0.1", 3306),
            InstanceConfig::tcp("replica", "127.0.0.1", 3307),
        ],
        ..Config::default()
    };
    Console {
        state: State::new(&config, false, Utc::now()),
        theme: Theme::builtin("default")
            .expect("built in")
            .expect("parses"),
        keymap: Keymap::builtin("default")
            .expect("built in")
            .expect("parses"),
        user_dir: None,
        no_color: false,
    }
}

fn keys(text: &str) -> Vec<Event> {
    text.chars()
        .map(|c| match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        })
        .map(|code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
        .collect()
}

/// Scripted events after a moment's pause (so queued backend events land first, as they would
/// while a user reads the screen), then silence, never end-of-input.
fn script(events: Vec<Event>) -> impl Stream<Item = std::io::Result<Event>> + Unpin {
    let pause = stream::once(tokio::time::sleep(std::time::Duration::from_millis(50)));
    let typed = pause.flat_map(move |_| stream::iter(events.clone().into_iter().map(Ok)));
    Box::pin(typed.chain(stream::pending()))
}

type Sent = Arc<Mutex<Vec<BackendCommand>>>;

async fn run(
    console: &mut Console,
    events: Vec<Event>,
    backend: Vec<BackendEvent>,
) -> (Terminal<TestBackend>, Sent) {
    run_with(console, events, backend, std::future::pending::<()>()).await
}

async fn run_with(
    console: &mut Console,
    events: Vec<Event>,
    backend: Vec<BackendEvent>,
    shutdown: impl std::future::Future<Output = ()>,
) -> (Terminal<TestBackend>, Sent) {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let (tx, rx) = mpsc::unbounded_channel();
    for e in backend {
        tx.send(e).expect("channel open");
    }
    let sent: Sent = Arc::default();
    let log = sent.clone();
    let run = run_loop(
        &mut terminal,
        console,
        script(events),
        rx,
        move |c| log.lock().expect("lock").push(c),
        shutdown,
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), run)
        .await
        .expect("the loop must end (q or signal)")
        .expect("the loop must not fail");
    drop(tx);
    (terminal, sent)
}

#[tokio::test]
async fn palette_switches_pane_and_q_quits_telling_the_backend() {
    let mut console = console();
    let (_, sent) = run(&mut console, keys(":pane slow\nrq"), vec![]).await;
    assert_eq!(console.state.pane, Pane::SlowSql);
    assert!(console.state.quitting);
    let sent = sent.lock().expect("lock").clone();
    assert_eq!(
        sent,
        vec![BackendCommand::RefreshNow, BackendCommand::Shutdown]
    );
}

#[tokio::test]
async fn backend_events_are_applied_and_drawn() {
    let mut console = console();
    let down = InstanceHealth::down("replica", "Connection refused (os error 111)", Utc::now());
    // `j` moves to the replica; `?` then esc opens and closes help; `q` quits.
    let mut script = keys("j?");
    script.push(Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    let (terminal, _) = run(
        &mut console,
        [script, keys("q")].concat(),
        vec![BackendEvent::Health(down)],
    )
    .await;
    assert_eq!(console.state.mode, Mode::Normal);
    assert_eq!(
        console.state.selected_instance().map(|i| i.name.as_str()),
        Some("replica")
    );
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("Connection refused"), "{screen}");
}

#[tokio::test]
async fn theme_command_loads_the_theme_and_bad_names_report() {
    let mut console = console();
    run(&mut console, keys(":theme light\nq"), vec![]).await;
    assert_eq!(console.state.theme_name, "light");
    assert_eq!(
        console.theme,
        Theme::builtin("light").expect("built in").expect("parses")
    );

    // A bad name reports in the status bar and keeps the current theme; the loop then ends on
    // a signal, as with `kill`, and tells the backend to stop.
    let mut console = self::console();
    let shutdown = tokio::time::sleep(std::time::Duration::from_millis(300));
    let (_, sent) = run_with(&mut console, keys(":theme nosuch\n"), vec![], shutdown).await;
    assert_eq!(console.state.theme_name, "default");
    let message = console.state.message.clone().expect("an error message");
    assert!(
        message.text.contains("unknown theme `nosuch`"),
        "{}",
        message.text
    );
    assert_eq!(*sent.lock().expect("lock"), vec![BackendCommand::Shutdown]);
}

#[tokio::test]
async fn a_flood_of_backend_events_does_not_lose_keys() {
    let mut console = console();
    let flood: Vec<BackendEvent> = (0..20_000)
        .map(|i| {
            BackendEvent::Health(InstanceHealth::down(
                "primary",
                format!("attempt {i}"),
                Utc::now(),
            ))
        })
        .collect();
    run(&mut console, keys("3q"), flood).await;
    assert_eq!(console.state.pane, Pane::Binlog);
    let last = console
        .state
        .health
        .get("primary")
        .and_then(|h| h.error.clone());
    assert_eq!(
        last.as_deref(),
        Some("attempt 19999"),
        "every event applied, in order"
    );
}
