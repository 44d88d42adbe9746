//! The console's state and the pure logic that changes it. No I/O here: `update()` takes an
//! `Action` and returns `Effect`s for the event loop to carry out; `ui` only reads `State`.
//! Each pane is a component (`pane::PaneLogic`) in its own folder: `health/`, `slow/`,
//! `binlog/`, `jobs/`; this level keeps what every pane shares.

mod action;
pub mod binlog;
pub mod health;
pub mod jobs;
pub mod keymap;
pub mod palette;
pub mod pane;
mod preset;
pub mod slow;
mod update;
pub mod views;
mod write_intent;

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::backend::SqlLogEntry;
use crate::config::Config;
use crate::health::InstanceHealth;

pub use action::{Action, Effect};
pub use keymap::{KeyCombo, Keymap};
pub use pane::{PaneCtx, PaneLogic};
pub use preset::PresetError;
pub use slow::keys::short_id as slow_id;
pub use update::{help_line_count, update};
pub use write_intent::write_intent;

/// How many SQL log entries the `@` overlay keeps (older ones are still in the log file).
pub const SQL_LOG_CAPACITY: usize = 1000;

/// The four rooms of the console, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Health,
    SlowSql,
    Binlog,
    Jobs,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Health, Pane::SlowSql, Pane::Binlog, Pane::Jobs];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Health => "Health",
            Pane::SlowSql => "Slow SQL",
            Pane::Binlog => "Binlog",
            Pane::Jobs => "Jobs",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Pane {
        let n = Pane::ALL.len() as isize;
        Pane::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
    }
}

/// What the keyboard is talking to right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// The `:` line; holds what has been typed so far.
    Palette(String),
    /// Typing into the `/` filter (the filter text itself lives in `State::filter`).
    Filter,
    SqlLog,
    /// Typing into the focused pane's own input line (the pane holds the prompt and text).
    PaneInput,
    /// The focused pane's editor (the Binlog pane's rollback preview) takes every key but the
    /// one bound to `cancel`.
    PaneEditor,
}

impl Mode {
    /// Modes where printable keys are text, not commands.
    pub fn takes_text(&self) -> bool {
        matches!(self, Mode::Palette(_) | Mode::Filter | Mode::PaneInput)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Error,
}

/// A one-line message in the status bar; cleared by the next key press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub kind: MessageKind,
    pub text: String,
}

/// What the UI knows about a configured instance besides its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceEntry {
    pub name: String,
    pub address: String,
    pub tags: Vec<String>,
}

/// The whole console, as one value.
#[derive(Debug, Clone)]
pub struct State {
    pub pane: Pane,
    pub mode: Mode,
    /// Configured instances, in config order.
    pub instances: Vec<InstanceEntry>,
    /// Index into `instances` of the instance the status bar and detail views are about.
    pub selected: usize,
    /// Latest figures per instance name.
    pub health: HashMap<String, InstanceHealth>,
    /// Case-insensitive substring filter of the focused list (`/`).
    pub filter: String,
    /// Refuse every write to a server.
    pub read_only: bool,
    /// Started with `--read-only` or `read_only = true` in the config: `:readonly off` is refused.
    pub read_only_locked: bool,
    /// `--read-only` was given (for the refusal's "how to allow writes").
    pub read_only_flag: bool,
    /// The config says `read_only = true`.
    pub read_only_config: bool,
    pub theme_name: String,
    pub keymap_name: String,
    /// The config file in use, for hints such as "add [[instance]] entries to PATH".
    pub config_path: Option<String>,
    pub message: Option<StatusMessage>,
    pub sql_log: VecDeque<SqlLogEntry>,
    /// First visible line of the help or SQL log overlay.
    pub overlay_scroll: usize,
    /// Rows a page-up/page-down moves; the UI keeps it in step with the screen.
    pub page_rows: usize,
    /// The clock as of the last tick; render uses it for ages, so rendering stays deterministic.
    pub now: DateTime<Utc>,
    pub quitting: bool,
    /// The panes, one component each (see `component`).
    pub health_pane: health::HealthPane,
    /// The instances worst first, the filter's rows and the summary counts, kept as results
    /// arrive so drawing reads only what it shows.
    pub fleet: health::FleetIndex,
    pub binlog: binlog::BinlogPane,
    /// The Slow SQL pane.
    pub slow: slow::SlowPane,
    pub jobs: jobs::JobsPane,
    /// Set when the console plays a recording (`arkc --replay FILE`) instead of polling.
    pub replay: Option<crate::backend::replay::ReplayPosition>,
    /// The file a console recording is being written to.
    pub recording: Option<String>,
    /// Tags of rows the config does not list by name (a Prometheus source's instances).
    pub row_tags: crate::config::RowTags,
}

impl State {
    /// `read_only`: the `--read-only` flag; the config's `read_only = true` locks it on too.
    pub fn new(config: &Config, read_only: bool, now: DateTime<Utc>) -> State {
        let read_only_flag = read_only;
        let read_only = read_only || config.read_only;
        let instances = config
            .instances
            .iter()
            .map(|i| InstanceEntry {
                name: i.name.clone(),
                address: i.address(),
                tags: i.tags.clone(),
            })
            .collect::<Vec<_>>();
        State {
            fleet: health::FleetIndex::new(&instances),
            pane: Pane::Health,
            mode: Mode::Normal,
            instances,
            selected: 0,
            health: HashMap::new(),
            filter: String::new(),
            read_only,
            read_only_locked: read_only,
            read_only_flag,
            read_only_config: config.read_only,
            theme_name: config.ui.theme.clone(),
            keymap_name: config.ui.keymap.clone(),
            config_path: config.path.as_ref().map(|p| p.display().to_string()),
            message: None,
            sql_log: VecDeque::new(),
            overlay_scroll: 0,
            page_rows: 10,
            now,
            quitting: false,
            health_pane: health::HealthPane::new(config),
            binlog: binlog::BinlogPane::default(),
            slow: slow::SlowPane::default(),
            jobs: jobs::JobsPane::new(config.backups.jobs.iter().map(|j| j.name.clone()).collect()),
            replay: None,
            recording: None,
            row_tags: crate::config::RowTags::from_config(config),
        }
    }

    pub fn selected_instance(&self) -> Option<&InstanceEntry> {
        self.instances.get(self.selected)
    }

    pub fn selected_health(&self) -> Option<&InstanceHealth> {
        self.selected_instance()
            .and_then(|i| self.health.get(&i.name))
    }

    /// Indices into `instances` that pass the filter, worst first (config order among equals).
    pub fn visible_instances(&self) -> Vec<usize> {
        self.fleet.matching(&self.filter)
    }

    /// The component behind `pane`, with the console around it: the one place a `Pane` meets
    /// its component (the ui has the same for drawing).
    pub fn component(&mut self, pane: Pane) -> (&mut dyn PaneLogic, PaneCtx<'_>) {
        let read_only_by = self.read_only_by();
        let State {
            mode,
            instances,
            selected,
            health,
            filter,
            fleet,
            read_only,
            message,
            page_rows,
            now,
            health_pane,
            binlog,
            slow,
            jobs,
            ..
        } = self;
        let logic: &mut dyn PaneLogic = match pane {
            Pane::Health => health_pane,
            Pane::SlowSql => slow,
            Pane::Binlog => binlog,
            Pane::Jobs => jobs,
        };
        let ctx = PaneCtx {
            mode,
            filter,
            message,
            selected,
            instances,
            health,
            fleet,
            now: *now,
            page_rows: *page_rows,
            read_only: *read_only,
            read_only_by,
        };
        (logic, ctx)
    }

    /// Firing alerts of the alert book across all instances, by severity: (critical, warning,
    /// info). The status bar shows them on every pane; counted as results arrive, not per frame.
    pub fn alert_counts(&self) -> (usize, usize, usize) {
        let s = self.fleet.summary();
        (s.critical, s.warning, s.info)
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(StatusMessage {
            kind: MessageKind::Info,
            text: text.into(),
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message = Some(StatusMessage {
            kind: MessageKind::Error,
            text: text.into(),
        });
    }
}

#[cfg(test)]
mod tests;
