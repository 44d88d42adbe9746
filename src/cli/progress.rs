//! Progress of long CLI work on stderr (scans, applies): shown only when stderr is a terminal
//! and only once the work has run for a second, so quick runs and pipes stay quiet.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows no progress at all.
const QUIET_FOR: Duration = Duration::from_secs(1);

pub struct CliProgress {
    started: Instant,
    /// None when stderr is not a terminal.
    bar: Option<ProgressBar>,
    /// Set once the work is over, so the timer never shows a finished bar.
    done: Arc<Mutex<bool>>,
}

impl CliProgress {
    /// A scan: bytes read (of `total` when known), events per second, ETA.
    pub fn scan(total_bytes: Option<u64>) -> CliProgress {
        let template = match total_bytes {
            Some(_) => {
                "{spinner} read {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} · {msg} · ETA {eta}"
            }
            None => "{spinner} read {bytes} ({bytes_per_sec}) · {msg}",
        };
        CliProgress::new(template, total_bytes)
    }

    /// An apply: transactions applied of `total`, their rate, ETA.
    pub fn apply(total: u64) -> CliProgress {
        let template =
            "{spinner} applied {pos}/{len} transaction(s) {wide_bar} {per_sec} · ETA {eta}";
        CliProgress::new(template, Some(total))
    }

    fn new(template: &str, total: Option<u64>) -> CliProgress {
        let done = Arc::new(Mutex::new(false));
        let started = Instant::now();
        if !std::io::stderr().is_terminal() {
            return CliProgress {
                started,
                bar: None,
                done,
            };
        }
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        bar.set_style(style);
        // Shown after a second even when the work is stuck (a lock wait): a timer, not an update.
        let (shown, finished) = (bar.clone(), done.clone());
        let _ = std::thread::Builder::new()
            .name("arkc-progress".into())
            .spawn(move || {
                std::thread::sleep(QUIET_FOR);
                let Ok(finished) = finished.lock() else {
                    return;
                };
                if !*finished {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(Duration::from_millis(200));
                }
            });
        CliProgress {
            started,
            bar: Some(bar),
            done,
        }
    }

    /// The work is at `pos` (bytes or transactions); `message` joins the line (events/s).
    pub fn set(&mut self, pos: u64, message: impl FnOnce(f64) -> String) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
            bar.set_message(message(self.started.elapsed().as_secs_f64().max(1e-6)));
        }
    }

    /// Removes the line (the caller prints its own summary).
    pub fn finish(self) {
        if let Ok(mut done) = self.done.lock() {
            *done = true;
            if let Some(bar) = &self.bar {
                bar.finish_and_clear();
            }
        }
    }
}
