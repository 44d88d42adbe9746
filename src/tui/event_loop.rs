//! The console's loop: keys and backend events in, `update()`, effects out, one redraw per
//! batch. Nothing here awaits the network: backend commands go into a channel.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedReceiver;

use super::presets;
use crate::app::{update, Action, Effect, Keymap, State};
use crate::backend::{BackendCommand, BackendEvent, SqlLogEntry};
use crate::ui::{self, Theme};

/// Most backend events applied before a redraw, so a flood (1,000 instances reporting at once)
/// cannot starve the keyboard.
const MAX_EVENTS_PER_BATCH: usize = 4096;

/// Everything the loop needs besides its channels.
pub struct Console {
    pub state: State,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Where `:theme NAME` looks for user files.
    pub user_dir: Option<PathBuf>,
    pub no_color: bool,
}

impl Console {
    /// Apply an action and carry out its effects (a loaded theme feeds its answer back in).
    fn dispatch(&mut self, action: Action, send: &mut impl FnMut(BackendCommand)) {
        let mut queue = vec![action];
        while let Some(action) = queue.pop() {
            for effect in update(&mut self.state, action) {
                match effect {
                    Effect::SendBackend(command) => send(command),
                    Effect::LoadTheme(name) => queue.push(self.load_theme(name)),
                    Effect::Quit => {}
                    Effect::LogRefusal(write, message) => {
                        crate::readonly::log_refusal(&write, &message)
                    }
                }
            }
        }
    }

    /// Reading a small local file is fine on the key path; only the network is not.
    fn load_theme(&mut self, name: String) -> Action {
        match presets::load_theme(&name, self.user_dir.as_deref()) {
            Ok(theme) => {
                self.theme = theme.with_no_color(self.no_color);
                Action::ThemeApplied(name)
            }
            Err(e) => Action::Failed(format!("{e:#}")),
        }
    }

    fn apply_backend_event(&mut self, event: BackendEvent) {
        match &event {
            BackendEvent::SqlSent(entry) => log_sql(entry),
            BackendEvent::Polled(batch) => batch.statements.iter().for_each(log_sql),
            _ => {}
        }
        let _ = update(&mut self.state, Action::Backend(Box::new(event)));
    }

    /// Handle `first` and every key already typed after it, so pasted or repeated keys cost
    /// one redraw, not one each. Returns whether the screen needs a redraw.
    async fn on_input_batch<I>(
        &mut self,
        first: Event,
        input: &mut I,
        send: &mut impl FnMut(BackendCommand),
    ) -> std::io::Result<bool>
    where
        I: Stream<Item = std::io::Result<Event>> + Unpin,
    {
        let mut dirty = self.on_input(first, send);
        while !self.state.quitting {
            // Polled with this task's waker, not a no-op one: crossterm's reader thread keeps
            // the waker it was first polled with, and a no-op one left the next key waiting
            // for the 1 s tick.
            match futures_util::future::poll_immediate(input.next()).await {
                Some(Some(Ok(more))) => dirty |= self.on_input(more, send),
                Some(Some(Err(e))) => return Err(e),
                // Nothing ready yet, or end of input (the next regular poll sees it again).
                Some(None) | None => break,
            }
        }
        Ok(dirty)
    }

    /// Apply `first` and whatever else is queued, up to a batch limit.
    fn on_backend_batch(
        &mut self,
        first: BackendEvent,
        events: &mut UnboundedReceiver<BackendEvent>,
    ) -> bool {
        self.apply_backend_event(first);
        for _ in 0..MAX_EVENTS_PER_BATCH {
            match events.try_recv() {
                Ok(event) => self.apply_backend_event(event),
                Err(_) => break,
            }
        }
        true
    }

    /// Handle one terminal event; returns whether the screen needs a redraw.
    fn on_input(&mut self, event: Event, send: &mut impl FnMut(BackendCommand)) -> bool {
        match event {
            Event::Key(event) => {
                let keys = self
                    .keymap
                    .unmerged(self.state.pane, &self.state.mode, event);
                // Each key is read in the mode the one before it left (ESC closes a filter).
                for key in keys {
                    if let Some(action) =
                        self.keymap
                            .action_for_pane(self.state.pane, &self.state.mode, &key)
                    {
                        self.dispatch(action, send);
                    }
                }
                true
            }
            Event::Resize(width, height) => {
                self.dispatch(Action::Resized(width, height), send);
                true
            }
            _ => false,
        }
    }
}

/// Statements that may change a server (and failures) always go to the log file; routine reads
/// only with `[log] poll_statements` (the `@` overlay has them all).
fn log_sql(entry: &SqlLogEntry) {
    if !super::logging::file_logs_statement(&entry.sql, entry.error.is_some()) {
        return;
    }
    let ms = format!("{:.1}", entry.elapsed.as_secs_f64() * 1000.0);
    let instance = &entry.instance;
    match &entry.error {
        None => tracing::info!(target: "arkc::sql", %instance, elapsed_ms = %ms, "{}", entry.sql),
        Some(error) => {
            tracing::warn!(target: "arkc::sql", %instance, elapsed_ms = %ms, %error, "{}", entry.sql)
        }
    }
}

/// Run until the user quits, input ends, or `shutdown` completes (a signal). The terminal is
/// left as it is; restoring it is the caller's job.
pub async fn run_loop<B, I, F>(
    terminal: &mut Terminal<B>,
    console: &mut Console,
    mut input: I,
    mut events: UnboundedReceiver<BackendEvent>,
    mut send: F,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    I: Stream<Item = std::io::Result<Event>> + Unpin,
    F: FnMut(BackendCommand),
{
    let size = terminal.size()?;
    console.dispatch(Action::Resized(size.width, size.height), &mut send);
    let mut frames = FrameLog::from_env();
    draw(terminal, console, &mut frames, None)?;
    let mut last_draw = Instant::now();
    // Backend results not drawn yet: they wait for the next frame slot.
    let mut backend_dirty = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut events_open = true;
    tokio::pin!(shutdown);
    while !console.state.quitting {
        let frame_slot = tokio::time::Instant::from_std(last_draw + BACKEND_FRAME_GAP);
        let mut key_at = None;
        // Order matters: signals, then keys, then backend events, so a flood of events can
        // delay a redraw but never a key.
        let mut needs_redraw = tokio::select! {
            biased;
            _ = &mut shutdown => {
                tracing::info!("signal received; leaving");
                send(BackendCommand::Shutdown);
                return Ok(());
            }
            event = input.next() => match event {
                Some(Ok(first)) => {
                    key_at = Some(Instant::now());
                    console
                        .on_input_batch(first, &mut input, &mut send)
                        .await
                        .context("reading the terminal")?
                }
                Some(Err(e)) => return Err(anyhow::Error::new(e).context("reading the terminal")),
                None => return Ok(()),
            },
            _ = tokio::time::sleep_until(frame_slot), if backend_dirty => true,
            event = events.recv(), if events_open => match event {
                Some(first) => {
                    backend_dirty |= console.on_backend_batch(first, &mut events);
                    false
                }
                None => {
                    events_open = false;
                    false
                }
            },
            _ = tick.tick() => {
                console.dispatch(Action::Tick(Utc::now()), &mut send);
                true
            }
        };
        // A thousand instances report a thousand times a second: their results are drawn at
        // most every BACKEND_FRAME_GAP, a key at once.
        needs_redraw |= backend_dirty && last_draw.elapsed() >= BACKEND_FRAME_GAP;
        if needs_redraw && !console.state.quitting {
            draw(terminal, console, &mut frames, key_at)?;
            last_draw = Instant::now();
            backend_dirty = false;
        }
    }
    Ok(())
}

/// The shortest time between two redraws caused by backend results alone (keys redraw at once);
/// the same pace as the poll batches.
const BACKEND_FRAME_GAP: Duration = crate::backend::health::outbox::BATCH_EVERY;

fn draw<B>(
    terminal: &mut Terminal<B>,
    console: &Console,
    frames: &mut FrameLog,
    key_at: Option<Instant>,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    let started = Instant::now();
    let mut rendered = Duration::ZERO;
    terminal.draw(|frame| {
        ui::draw(frame, &console.state, &console.theme, &console.keymap);
        rendered = started.elapsed();
    })?;
    frames.record(rendered, key_at.map(|k| k.elapsed()));
    Ok(())
}

/// Frame timings for `scripts/bench console`: with `ARKC_FRAME_LOG=PATH`, one line per frame,
/// `frame RENDER_US` or `key RENDER_US KEY_TO_DRAWN_US` (render: building the frame; key to drawn:
/// from taking the key to the frame written to the terminal).
struct FrameLog {
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl FrameLog {
    fn from_env() -> Self {
        let out = std::env::var_os("ARKC_FRAME_LOG")
            .filter(|p| !p.is_empty())
            .and_then(|p| match std::fs::File::create(&p) {
                Ok(f) => Some(std::io::BufWriter::new(f)),
                Err(e) => {
                    tracing::warn!(path = ?p, error = %e, "ARKC_FRAME_LOG: cannot create");
                    None
                }
            });
        FrameLog { out }
    }

    fn record(&mut self, render: Duration, key_to_drawn: Option<Duration>) {
        use std::io::Write;
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let line = match key_to_drawn {
            Some(k) => writeln!(out, "key {} {}", render.as_micros(), k.as_micros()),
            None => writeln!(out, "frame {}", render.as_micros()),
        };
        // Flushed per frame so a bench can read it while arkc runs (a few frames a second).
        if line.and_then(|()| out.flush()).is_err() {
            self.out = None;
        }
    }
}
