//! The event loop driven with scripted key events and backend events, drawing into TestBackend:
//! keys reach update(), effects reach the backend channel, signals and `q` end the loop.

use std::sync::atomic::{AtomicUsize, Ordering};
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
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
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

/// A TestBackend that shares how many frames it has flushed, so a script can wait for the loop.
struct CountingBackend {
    inner: TestBackend,
    frames: Arc<AtomicUsize>,
}

impl std::fmt::Display for CountingBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Backend for CountingBackend {
    type Error = <TestBackend as Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.frames.fetch_add(1, Ordering::SeqCst);
        self.inner.flush()
    }
}

/// Scripted events once the loop has applied the queued backend events (as they would have
/// been while a user reads the screen), then silence, never end-of-input. The loop draws once
/// at start and once per batch of at most 4,096 events; a fixed pause raced a loaded machine.
fn script(
    events: Vec<Event>,
    frames: Arc<AtomicUsize>,
    backend_events: usize,
) -> impl Stream<Item = std::io::Result<Event>> + Unpin {
    // A batch is the event that woke the loop plus up to 4,096 queued after it.
    let wanted = 1 + backend_events.div_ceil(4097);
    let ready = async move {
        while frames.load(Ordering::SeqCst) < wanted {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let typed =
        stream::once(ready).flat_map(move |_| stream::iter(events.clone().into_iter().map(Ok)));
    Box::pin(typed.chain(stream::pending()))
}

type Sent = Arc<Mutex<Vec<BackendCommand>>>;

async fn run(
    console: &mut Console,
    events: Vec<Event>,
    backend: Vec<BackendEvent>,
) -> (Terminal<CountingBackend>, Sent) {
    run_with(console, events, backend, None).await
}

async fn run_with(
    console: &mut Console,
    events: Vec<Event>,
    backend: Vec<BackendEvent>,
    signal_after_frames: Option<usize>,
) -> (Terminal<CountingBackend>, Sent) {
    let frames = Arc::new(AtomicUsize::new(0));
    let counting = CountingBackend {
        inner: TestBackend::new(80, 24),
        frames: frames.clone(),
    };
    let mut terminal = Terminal::new(counting).expect("terminal");
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = backend.len();
    // A signal, if any, arrives once the loop has drawn that many frames, not after a fixed
    // time a loaded machine may not have spent on the loop yet.
    let seen = frames.clone();
    let shutdown = async move {
        match signal_after_frames {
            None => std::future::pending::<()>().await,
            Some(n) => {
                while seen.load(Ordering::SeqCst) < n {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    };
    for e in backend {
        tx.send(e).expect("channel open");
    }
    let sent: Sent = Arc::default();
    let log = sent.clone();
    let run = run_loop(
        &mut terminal,
        console,
        script(events, frames, queued),
        rx,
        move |c| log.lock().expect("lock").push(c),
        shutdown,
    );
    // A hang guard only: the loop normally ends in milliseconds.
    tokio::time::timeout(std::time::Duration::from_secs(120), run)
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
    // Down, the replica is listed first (worst first): `k` moves up to it; `?` then esc opens
    // and closes help; `q` quits.
    let mut script = keys("k?");
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
    // The first frame, then the one after the typed command.
    let (_, sent) = run_with(&mut console, keys(":theme nosuch\n"), vec![], Some(2)).await;
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
