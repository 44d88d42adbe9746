//! What can happen to the console (`Action`) and what the console asks the outside world to do
//! in return (`Effect`). Both are plain values so `update()` stays pure and testable.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::backend::{BackendCommand, BackendEvent};

/// Everything that changes `State`. The unit variants deserialise from snake_case names, so a
/// keymap file maps a key straight to an action (`"j" = "down"`); the data-carrying variants are
/// produced by the event loop and cannot be bound to keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NextPane,
    PrevPane,
    PaneHealth,
    PaneSlowSql,
    PaneBinlog,
    PaneJobs,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Palette,
    Help,
    SqlLog,
    NextInstance,
    PrevInstance,
    Refresh,
    Quit,
    #[serde(alias = "escape")]
    Cancel,
    Confirm,
    ToggleMark,
    BinlogSource,
    RollbackPreview,
    EditPreview,
    CheckRollback,
    ApplyRollback,
    ExportPreview,
    RangeFilter,
    /// Binlog: live follow of the instance's new transactions (replication stream).
    FollowBinlog,
    /// Binlog: mark every listed transaction (the key twin of `:mark all`).
    MarkAll,
    /// Binlog: unmark every listed transaction (`:mark none`).
    MarkNone,
    OpenValue,
    /// A key press while the rollback editor is open.
    #[serde(skip)]
    EditorKey(crossterm::event::KeyEvent),
    /// Slow SQL: cycle the sort key.
    SortNext,
    /// Slow SQL: the selected instance only, or all instances.
    ToggleScope,
    /// Slow SQL: slow log or performance_schema.
    ToggleSource,
    FilterNoIndex,
    FilterMinTime,
    FilterMinCount,
    FilterDatabase,
    ClearFilters,
    /// Slow SQL: EXPLAIN the sample of the class under the cursor.
    Explain,
    /// Slow SQL: cycle the tracking status new → investigating → fixed → ignored.
    MarkStatus,
    EditNote,
    /// Health Locks view: kill the root blocker (after typing the instance name).
    KillRootBlocker,
    /// Health Processlist view: cycle the sort (time, transaction age, rows locked).
    ProcessSort,
    /// Health Processlist view: KILL QUERY of the selected session (after typing the name).
    KillQuery,
    /// Health Processlist view: KILL CONNECTION of the selected session (after typing the name).
    KillConnection,
    /// Health Processlist view: kill every session the `/` filter shows (after typing the name).
    KillFiltered,
    /// Health: open the instance's Replication view (channels, replicas, heartbeat).
    HealthReplication,
    /// Health: open the instance's Disk and size view.
    HealthDisk,
    /// Health: open the instance's Parameters view (baseline differences, changes).
    HealthParameters,
    /// Health: open the instance's Backup status view.
    HealthBackup,
    /// Health list: show the next tag group (`tag:NAME` filter), after the last the whole fleet.
    NextTagGroup,
    /// Jobs pane: start the chosen configured backup job.
    JobStart,
    /// Jobs pane: choose the next configured job.
    JobNext,
    /// Jobs pane: cancel the selected running backup (asks first).
    JobCancel,
    /// Jobs pane: verify the selected backup by restoring it into a sandbox.
    JobVerify,
    /// Jobs pane: deploy a SQL change file (review, typed instance name, progress).
    DeployStart,
    /// Jobs pane: the deploy history (undo a deploy, deploy an instance from there).
    DeployHistory,
    /// Jobs pane, deploy history: undo the selected deploy (after typing the instance name).
    DeployUndo,
    /// Jobs pane: deploy a new instance (a form, then the typed name, then its steps).
    DeployInstance,
    /// Replay (`arkc --replay FILE`): one recorded frame back.
    ReplayStepBack,
    /// Replay: one recorded frame forward.
    ReplayStepForward,
    /// Replay: one minute of recorded time back.
    ReplaySeekBack,
    /// Replay: one minute of recorded time forward.
    ReplaySeekForward,
    /// Replay: play forward a frame a second, or pause.
    ReplayPlay,
    /// Start recording what the console polls into a file in the data dir, or stop.
    RecordToggle,
    /// Ctrl-C: quits from any mode, whatever the keymap says.
    #[serde(skip)]
    Interrupt,
    /// A typed character while the palette or filter line is open.
    #[serde(skip)]
    InputChar(char),
    /// Backspace while the palette or filter line is open.
    #[serde(skip)]
    InputBackspace,
    /// The clock moved on (drives "polled 3s ago").
    #[serde(skip)]
    Tick(DateTime<Utc>),
    /// The terminal is now this many columns and rows.
    #[serde(skip)]
    Resized(u16, u16),
    /// Something the backend reported.
    #[serde(skip)]
    Backend(Box<BackendEvent>),
    /// The event loop loaded a theme the palette asked for.
    #[serde(skip)]
    ThemeApplied(String),
    /// Something outside `update()` failed; shown in the status bar.
    #[serde(skip)]
    Failed(String),
}

/// What `update()` asks the event loop to do; the loop performs it without blocking input.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    SendBackend(BackendCommand),
    /// Load theme NAME (built-in or user file) and answer with `ThemeApplied` or `Failed`.
    LoadTheme(String),
    Quit,
    /// A write refused in read-only mode: the event loop logs it and adds it to the audit trail.
    LogRefusal(crate::readonly::WriteRequest, String),
}

impl Action {
    /// Every action a key can be bound to, in the order the help screen lists them.
    pub const BINDABLE: &'static [Action] = &[
        Action::Help,
        Action::Palette,
        Action::Filter,
        Action::SqlLog,
        Action::NextPane,
        Action::PrevPane,
        Action::PaneHealth,
        Action::PaneSlowSql,
        Action::PaneBinlog,
        Action::PaneJobs,
        Action::NextInstance,
        Action::PrevInstance,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Refresh,
        Action::Confirm,
        Action::Cancel,
        Action::ToggleMark,
        Action::BinlogSource,
        Action::OpenValue,
        Action::RollbackPreview,
        Action::EditPreview,
        Action::CheckRollback,
        Action::ApplyRollback,
        Action::ExportPreview,
        Action::RangeFilter,
        Action::FollowBinlog,
        Action::MarkAll,
        Action::MarkNone,
        Action::Quit,
        Action::SortNext,
        Action::ToggleScope,
        Action::ToggleSource,
        Action::FilterNoIndex,
        Action::FilterMinTime,
        Action::FilterMinCount,
        Action::FilterDatabase,
        Action::ClearFilters,
        Action::Explain,
        Action::MarkStatus,
        Action::EditNote,
        Action::KillRootBlocker,
        Action::ProcessSort,
        Action::KillQuery,
        Action::KillConnection,
        Action::KillFiltered,
        Action::HealthReplication,
        Action::HealthDisk,
        Action::HealthParameters,
        Action::HealthBackup,
        Action::NextTagGroup,
        Action::JobStart,
        Action::JobNext,
        Action::JobCancel,
        Action::JobVerify,
        Action::DeployStart,
        Action::DeployHistory,
        Action::DeployUndo,
        Action::DeployInstance,
        Action::ReplayStepBack,
        Action::ReplayStepForward,
        Action::ReplaySeekBack,
        Action::ReplaySeekForward,
        Action::ReplayPlay,
        Action::RecordToggle,
    ];

    /// The replay's time cursor keys (listed in the help only while replaying).
    pub fn is_replay_control(&self) -> bool {
        matches!(
            self,
            Action::ReplayStepBack
                | Action::ReplayStepForward
                | Action::ReplaySeekBack
                | Action::ReplaySeekForward
                | Action::ReplayPlay
        )
    }

    /// One line for the help screen.
    pub fn description(&self) -> &'static str {
        match self {
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::PaneHealth => "Health pane",
            Action::PaneSlowSql => "Slow SQL pane",
            Action::PaneBinlog => "Binlog pane",
            Action::PaneJobs => "Jobs pane",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "go to top",
            Action::Bottom => "go to bottom",
            Action::Filter => "filter the list",
            Action::Palette => "command palette",
            Action::Help => "this help",
            Action::SqlLog => "log of SQL sent",
            Action::NextInstance => "next instance",
            Action::PrevInstance => "previous instance",
            Action::Refresh => "poll servers now",
            Action::Quit => "quit",
            Action::Cancel => "close / clear filter",
            Action::Confirm => "confirm",
            Action::ToggleMark => "binlog: mark txn/row",
            Action::BinlogSource => "binlog: source",
            Action::OpenValue => "binlog: rows/values",
            Action::RollbackPreview => "binlog: preview",
            Action::EditPreview => "binlog: edit SQL",
            Action::CheckRollback => "binlog: check",
            Action::ApplyRollback => "binlog: apply",
            Action::ExportPreview => "binlog: export",
            Action::RangeFilter => "binlog: time/position range",
            Action::FollowBinlog => "binlog: live follow",
            Action::MarkAll => "binlog: mark listed",
            Action::MarkNone => "binlog: unmark listed",
            Action::SortNext => "slow: next sort key",
            Action::ToggleScope => "slow: all instances",
            Action::ToggleSource => "slow: log/perf_schema",
            Action::FilterNoIndex => "slow: no-index only",
            Action::FilterMinTime => "slow: min avg latency",
            Action::FilterMinCount => "slow: min count",
            Action::FilterDatabase => "slow: database filter",
            Action::ClearFilters => "slow: clear filters",
            Action::Explain => "slow: EXPLAIN sample",
            Action::MarkStatus => "slow: mark status",
            Action::EditNote => "slow: edit note",
            Action::KillRootBlocker => "kill root blocker",
            Action::ProcessSort => "sort processes",
            Action::KillQuery => "kill query",
            Action::KillConnection => "kill connection",
            Action::KillFiltered => "kill all filtered",
            Action::HealthReplication => "replication view",
            Action::HealthDisk => "disk and size view",
            Action::HealthParameters => "parameters view",
            Action::HealthBackup => "backup status view",
            Action::NextTagGroup => "next tag group",
            Action::JobStart => "jobs: start chosen job",
            Action::JobNext => "jobs: choose next job",
            Action::JobCancel => "jobs: cancel backup",
            Action::JobVerify => "jobs: verify backup",
            Action::DeployStart => "jobs: deploy SQL file",
            Action::DeployHistory => "jobs: deploy history",
            Action::DeployUndo => "jobs: undo the deploy",
            Action::DeployInstance => "jobs: deploy an instance",
            Action::ReplayStepBack => "replay: frame back",
            Action::ReplayStepForward => "replay: frame forward",
            Action::ReplaySeekBack => "replay: 1 min back",
            Action::ReplaySeekForward => "replay: 1 min forward",
            Action::ReplayPlay => "replay: play / pause",
            Action::RecordToggle => "recording on / off",
            Action::Interrupt
            | Action::InputChar(_)
            | Action::InputBackspace
            | Action::EditorKey(_)
            | Action::Tick(_)
            | Action::Resized(..)
            | Action::Backend(_)
            | Action::ThemeApplied(_)
            | Action::Failed(_) => "",
        }
    }

    /// The pane an action belongs to (None: it means something everywhere); help lists a
    /// pane's own actions only on that pane, so each pane's help fits an 80x24 screen.
    pub fn pane(&self) -> Option<super::Pane> {
        use super::Pane;
        match self {
            Action::ToggleMark
            | Action::BinlogSource
            | Action::OpenValue
            | Action::RollbackPreview
            | Action::EditPreview
            | Action::CheckRollback
            | Action::ApplyRollback
            | Action::ExportPreview
            | Action::RangeFilter
            | Action::FollowBinlog
            | Action::MarkAll
            | Action::MarkNone => Some(Pane::Binlog),
            Action::SortNext
            | Action::ToggleScope
            | Action::ToggleSource
            | Action::FilterNoIndex
            | Action::FilterMinTime
            | Action::FilterMinCount
            | Action::FilterDatabase
            | Action::ClearFilters
            | Action::Explain
            | Action::MarkStatus
            | Action::EditNote => Some(Pane::SlowSql),
            Action::KillRootBlocker
            | Action::ProcessSort
            | Action::KillQuery
            | Action::KillConnection
            | Action::KillFiltered
            | Action::HealthReplication
            | Action::HealthDisk
            | Action::HealthParameters
            | Action::HealthBackup
            | Action::NextTagGroup => Some(Pane::Health),
            Action::JobStart
            | Action::JobNext
            | Action::JobCancel
            | Action::JobVerify
            | Action::DeployStart
            | Action::DeployHistory
            | Action::DeployUndo
            | Action::DeployInstance => Some(Pane::Jobs),
            _ => None,
        }
    }

    /// The snake_case name used in keymap files.
    pub fn name(&self) -> String {
        let debug = format!("{self:?}");
        let head = debug.split('(').next().unwrap_or_default();
        let mut out = String::with_capacity(head.len() + 4);
        for (i, c) in head.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}
