//! Taking over the terminal and always giving it back: on return, on error, on panic.

use std::io::{IsTerminal, Stdout};

use anyhow::Context;
use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type ConsoleTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped, so every exit path (including `?`) leaves a usable shell.
pub struct TerminalGuard {
    pub terminal: ConsoleTerminal,
}

impl TerminalGuard {
    /// Raw mode and the alternate screen, plus a panic hook that restores the terminal before
    /// the panic message is printed (otherwise it lands, garbled, on the alternate screen).
    pub fn enter() -> anyhow::Result<TerminalGuard> {
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "the console needs a terminal (stdin and stdout must be a tty); \
                 for scripts use `arkc health --once --format json`"
            );
        }
        install_panic_hook();
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let mut stdout = std::io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, Hide) {
            restore();
            return Err(e).context("cannot enter the alternate screen");
        }
        let terminal = Terminal::new(CrosstermBackend::new(stdout));
        match terminal {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e).context("cannot set up the terminal")
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, Show);
}

/// Only a panic on the UI thread takes the terminal back and prints; a panic in a backend task
/// goes to the log file alone, because printing it would garble the screen the UI still owns.
fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(%info, "panic");
        if std::thread::current().id() == ui_thread {
            restore();
            previous(info);
        }
    }));
}
