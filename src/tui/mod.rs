//! The interactive console: terminal set-up, the event loop, and wiring the backend to the UI.

mod event_loop;
mod log_file;
pub(crate) mod logging;
pub mod presets;
mod terminal;

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use crossterm::event::EventStream;
use tokio::sync::mpsc;

use crate::app::State;
use crate::config::Config;

pub use event_loop::{run_loop, Console};
pub use presets::{load_keymap, load_theme};

/// How long quitting waits for pollers to close their connections.
const BACKEND_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How the console was asked to start (command-line flags that override the config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleOptions {
    /// `--read-only`: refuse every write, and do not let `:readonly off` lift it.
    pub read_only: bool,
    /// Theme name instead of `[ui] theme`.
    pub theme: Option<String>,
    /// Keymap name instead of `[ui] keymap`.
    pub keymap: Option<String>,
    /// Play this recording (`arkc record`) instead of polling.
    pub replay: Option<std::path::PathBuf>,
}

/// Run the console until the user quits or a signal arrives; the terminal is restored on every
/// way out, panics included.
pub async fn run_console(config: Config, opts: ConsoleOptions) -> anyhow::Result<()> {
    let log_path = logging::init_with(&config.fleet.log)?;
    let console = prepare(&config, &opts)?;
    tracing::info!(log = %log_path.display(), config = ?config.path,
        instances = config.instances.len(), read_only = opts.read_only, "console starting");

    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let mut console = console;
    let backend = match &opts.replay {
        // Opened before the terminal is taken, so a bad file is a plain error message.
        Some(file) => {
            let backend = crate::backend::replay::spawn(file, events_tx)?;
            console.state.replay = Some(crate::backend::replay::ReplayPosition {
                file: file.display().to_string(),
                at: Utc::now(),
                index: 0,
                total: 0,
                playing: false,
            });
            backend
        }
        None => crate::backend::spawn_console(Arc::new(config), events_tx),
    };
    // The backend's gate starts from the console's read-only state, before any other command.
    backend.send(crate::backend::BackendCommand::SetReadOnly(
        console.state.read_only_by(),
    ));
    let mut guard = terminal::TerminalGuard::enter()?;
    let result = run_loop(
        &mut guard.terminal,
        &mut console,
        EventStream::new(),
        events_rx,
        |command| backend.send(command),
        shutdown_signal(),
    )
    .await;
    drop(guard);
    // Close connections politely, but a hung server must not hold the user's shell hostage.
    if tokio::time::timeout(BACKEND_STOP_TIMEOUT, backend.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("backend did not stop within {BACKEND_STOP_TIMEOUT:?}; leaving anyway");
    }
    tracing::info!(ok = result.is_ok(), "console stopped");
    result
}

/// Load theme and keymap and build the first state; errors surface before the screen is taken.
fn prepare(config: &Config, opts: &ConsoleOptions) -> anyhow::Result<Console> {
    let user_dir = presets::user_dir();
    let no_color = presets::no_color_requested();
    let theme_name = opts
        .theme
        .clone()
        .unwrap_or_else(|| config.ui.theme.clone());
    let keymap_name = opts
        .keymap
        .clone()
        .unwrap_or_else(|| config.ui.keymap.clone());
    let theme = load_theme(&theme_name, user_dir.as_deref())
        .with_context(|| origin("theme", opts.theme.is_some(), config))?
        .with_no_color(no_color);
    let keymap = load_keymap(&keymap_name, user_dir.as_deref())
        .with_context(|| origin("keymap", opts.keymap.is_some(), config))?;
    let mut state = State::new(config, opts.read_only, Utc::now());
    state.theme_name = theme_name;
    state.keymap_name = keymap_name;
    Ok(Console {
        state,
        theme,
        keymap,
        user_dir,
        no_color,
    })
}

/// Where a theme or keymap name came from, for error messages.
fn origin(what: &str, from_flag: bool, config: &Config) -> String {
    match (&config.path, from_flag) {
        (_, true) => format!("--{what}"),
        (Some(path), false) => format!("`{what}` in [ui] of {}", path.display()),
        (None, false) => format!("the default {what}"),
    }
}

/// Completes on SIGINT, SIGTERM or SIGHUP. In raw mode Ctrl-C arrives as a key instead; this
/// covers `kill`, a closed terminal, and the moments before raw mode is on.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    async fn wait(kind: SignalKind) {
        match signal(kind) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }
    tokio::select! {
        _ = wait(SignalKind::interrupt()) => {}
        _ = wait(SignalKind::terminate()) => {}
        _ = wait(SignalKind::hangup()) => {}
    }
}
