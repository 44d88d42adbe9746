//! Progress of long CLI work on stderr (scans, applies): shown only when stderr is a terminal
//! and only once the work has run for a second, so quick runs and pipes stay quiet.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows no progress at all.
const QUIET_FOR: Duration = Duration::from_secs(1);

pub struct CliProgress {
    started: Instant,
    tty: bool,
    style: ProgressStyle,
    total: Option<u64>,
    bar: Option<ProgressBar>,
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
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        CliProgress {
            started: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            style,
            total,
            bar: None,
        }
    }

    /// The work is at `pos` (bytes or transactions); `message` joins the line (events/s).
    pub fn set(&mut self, pos: u64, message: impl FnOnce(f64) -> String) {
        if !self.tty {
            return;
        }
        let elapsed = self.started.elapsed();
        if self.bar.is_none() && elapsed >= QUIET_FOR {
            let bar = match self.total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            bar.set_style(self.style.clone());
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
            bar.set_message(message(elapsed.as_secs_f64().max(1e-6)));
        }
    }

    /// Removes the line (the caller prints its own summary).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
