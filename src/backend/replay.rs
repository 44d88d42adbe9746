//! The console's backend when it plays a recording (`arkc --replay FILE`): instead of polling, a
//! time cursor over the recorded frames. Each move sends the frame (figures and alerts) and, for
//! an open Processlist, Locks, Replication, Disk, Parameters or Backup view, what was recorded for
//! that instance at that moment (or that it was not).

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::health::locks::LocksReport;
use super::health::views::{HealthViewCommand, HealthViewEvent, Inspection, LiveView};
use super::{BackendCommand, BackendEvent, BackendHandle};
use crate::health::deadlock::Deadlock;
use crate::recording::{Frame, ReadBody, ReadKind, Recording};

/// How the UI moves the time cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayCommand {
    /// By this many frames (negative: back).
    Step(i64),
    /// By this many seconds of recorded time (negative: back).
    Seek(i64),
    /// Play forward one frame a second, or pause.
    TogglePlay,
}

/// Where the cursor is, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPosition {
    pub file: String,
    pub at: DateTime<Utc>,
    /// 0-based index of the frame shown, out of `total`.
    pub index: usize,
    pub total: usize,
    pub playing: bool,
}

/// One move of the cursor: the frame to show, and whether it follows the previous one (history
/// for the sparklines goes on) or jumps (history starts again).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayFrame {
    pub position: ReplayPosition,
    pub frame: Frame,
    pub continues: bool,
}

/// The answer to anything that needs a live server.
const NOT_LIVE: &str =
    "this is a replay: a recording cannot kill or EXPLAIN; open the console live for that";

/// How fast `play` steps through frames.
const PLAY_STEP: Duration = Duration::from_secs(1);

/// Open `path` (errors name the file, before the terminal is taken) and start the cursor task at
/// the first frame, paused.
pub fn spawn(path: &Path, events: UnboundedSender<BackendEvent>) -> anyhow::Result<BackendHandle> {
    let recording = Recording::open(path)?;
    let times = recording.times()?;
    if times.is_empty() {
        anyhow::bail!("{}: the recording holds no frames yet", path.display());
    }
    let (commands, rx) = mpsc::unbounded_channel();
    let cursor = Cursor {
        recording,
        file: path.display().to_string(),
        times,
        index: 0,
        playing: false,
        watching: None,
        shown: None,
        events,
    };
    let coordinator = tokio::spawn(cursor.run(rx));
    Ok(BackendHandle {
        commands,
        coordinator,
    })
}

struct Cursor {
    recording: Recording,
    file: String,
    times: Vec<DateTime<Utc>>,
    index: usize,
    playing: bool,
    watching: Option<(String, LiveView)>,
    shown: Option<Frame>,
    events: UnboundedSender<BackendEvent>,
}

impl Cursor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<BackendCommand>) {
        self.show(false);
        let mut play = tokio::time::interval(PLAY_STEP);
        play.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(BackendCommand::Replay(c)) => self.handle(c),
                    Some(BackendCommand::HealthView(c)) => self.view(c),
                    Some(BackendCommand::Record(_)) => {
                        let _ = self.events.send(BackendEvent::Recording(
                            super::record_toggle::RecordingStatus {
                                file: self.file.clone(),
                                active: false,
                                frames: 0,
                                error: Some("this is a replay: there is nothing live to record".into()),
                            },
                        ));
                    }
                    Some(BackendCommand::Shutdown) | None => break,
                    // Polling, binlogs, jobs: nothing to do on a recording.
                    Some(_) => {}
                },
                _ = play.tick(), if self.playing => {
                    if self.index + 1 < self.times.len() {
                        self.index += 1;
                        self.show(true);
                    } else {
                        self.playing = false;
                        self.show(true);
                    }
                }
            }
        }
    }

    fn handle(&mut self, command: ReplayCommand) {
        let last = self.times.len() - 1;
        let before = self.index;
        match command {
            ReplayCommand::Step(n) => {
                self.index = (self.index as i64 + n).clamp(0, last as i64) as usize;
            }
            ReplayCommand::Seek(seconds) => {
                let target = self.times[self.index] + chrono::Duration::seconds(seconds);
                // The newest frame at or before the target; the first one if none is.
                let after = self.times.partition_point(|t| *t <= target);
                self.index = after.saturating_sub(1).min(last);
            }
            ReplayCommand::TogglePlay => self.playing = !self.playing,
        }
        self.show(self.index == before + 1 || self.index == before);
    }

    /// Send the frame under the cursor, and the open view's recorded reads.
    fn show(&mut self, continues: bool) {
        let frame = match self.recording.frame_at(Some(self.times[self.index])) {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("replay: {e}");
                return;
            }
        };
        let position = ReplayPosition {
            file: self.file.clone(),
            at: frame.at,
            index: self.index,
            total: self.times.len(),
            playing: self.playing,
        };
        self.shown = Some(frame.clone());
        let _ = self.events.send(BackendEvent::Replay(Box::new(ReplayFrame {
            position,
            frame,
            continues,
        })));
        self.send_view();
    }

    fn view(&mut self, command: HealthViewCommand) {
        match command {
            HealthViewCommand::Watch { instance, view } => {
                self.watching = Some((instance, view));
                self.send_view();
            }
            HealthViewCommand::Stop => self.watching = None,
            HealthViewCommand::Kill { instance, id, .. } => self.reply(HealthViewEvent::Killed {
                instance,
                id,
                error: Some(NOT_LIVE.into()),
            }),
            HealthViewCommand::KillSessions {
                instance, target, ..
            } => self.reply(HealthViewEvent::KilledSessions {
                instance,
                target,
                outcomes: Err(NOT_LIVE.into()),
            }),
            HealthViewCommand::Explain {
                instance, id, sql, ..
            } => self.reply(HealthViewEvent::Explained {
                instance,
                id,
                sql,
                result: Err(NOT_LIVE.into()),
            }),
        }
    }

    fn reply(&self, event: HealthViewEvent) {
        let _ = self.events.send(BackendEvent::HealthView(event));
    }

    fn send_view(&self) {
        let (Some((instance, view)), Some(frame)) = (&self.watching, &self.shown) else {
            return;
        };
        let instance = instance.clone();
        let detail = frame.details.iter().find(|d| d.instance == instance);
        if let Some(kind) = read_kind(*view) {
            let event = self.recorded_read(instance, kind, frame.at);
            let _ = self.events.send(BackendEvent::HealthView(event));
            return;
        }
        let event = match (view, detail) {
            (LiveView::Processlist, Some(detail)) => HealthViewEvent::Processlist {
                instance,
                rows: detail.processlist.clone(),
                note: detail.notes.first().cloned(),
            },
            (LiveView::Locks, Some(detail)) => {
                let (deadlock, note) = self.recorded_deadlock(&instance, frame.at);
                let mut notes = detail.notes.clone();
                notes.extend(note);
                HealthViewEvent::Locks {
                    instance: instance.clone(),
                    report: LocksReport {
                        waits: detail.lock_waits.clone(),
                        root_blockers: detail.root_blockers.clone(),
                        metadata_waits: detail.metadata_waits.clone(),
                        deadlock,
                        notes,
                    },
                }
            }
            (LiveView::Processlist | LiveView::Locks, None) => HealthViewEvent::Failed {
                instance,
                error: "not recorded at this moment (sessions and locks are recorded only for \
                        instances with a firing alert)"
                    .into(),
            },
            (other, _) => HealthViewEvent::Failed {
                instance,
                error: format!("the {other:?} view is not recorded"),
            },
        };
        let _ = self.events.send(BackendEvent::HealthView(event));
    }

    /// The newest recorded read of `kind` at or before `at`, if it is recent enough to stand for
    /// that moment (within two of its cadence); else what was and was not recorded.
    fn recorded_read(
        &self,
        instance: String,
        kind: ReadKind,
        at: DateTime<Utc>,
    ) -> HealthViewEvent {
        let every = kind.every();
        let cadence = format!(
            "{} is recorded every {} s for instances with a firing alert (direct connections only)",
            kind.as_str(),
            every.as_secs()
        );
        let found = match self.recording.fresh_read_at(&instance, kind, at) {
            Ok(found) => found,
            Err(e) => {
                return HealthViewEvent::Failed {
                    instance,
                    error: e.to_string(),
                }
            }
        };
        let Some(crate::recording::TimedRead {
            read_at: when,
            body,
        }) = found
        else {
            let last = match self.recording.read_at(&instance, kind, at) {
                Ok(Some((when, _))) => format!(
                    "; the last read before this moment was at {}",
                    when.format("%H:%M:%S")
                ),
                _ => String::new(),
            };
            return HealthViewEvent::Failed {
                instance,
                error: format!("not recorded at this moment: {cadence}{last}"),
            };
        };
        let note = format!(
            "REPLAY: read at {} ({} s before the cursor); {cadence}",
            when.format("%H:%M:%S"),
            (at - when).num_seconds()
        );
        let report = match body {
            ReadBody::Replication(mut r) => {
                r.notes.insert(0, note);
                Inspection::Replication(r)
            }
            ReadBody::Sizes(mut r) => {
                r.notes.insert(0, note);
                Inspection::Sizes(r)
            }
            ReadBody::Parameters(mut r) => {
                r.notes.insert(0, note);
                Inspection::Parameters(r)
            }
            ReadBody::Backups(mut r) => {
                r.notes.insert(0, note);
                Inspection::Backups(r)
            }
            ReadBody::Deadlock(_) => {
                return HealthViewEvent::Failed {
                    instance,
                    error: "a deadlock read where a view was expected".into(),
                }
            }
        };
        HealthViewEvent::Inspected { instance, report }
    }

    /// The latest deadlock as of the newest locks read at or before `at`, or a note that the
    /// recording holds none (so "no deadlock" is never shown for "not recorded").
    fn recorded_deadlock(
        &self,
        instance: &str,
        at: DateTime<Utc>,
    ) -> (Option<Deadlock>, Option<String>) {
        match self.recording.read_at(instance, ReadKind::Deadlock, at) {
            Ok(Some((_, ReadBody::Deadlock(d)))) => (d, None),
            _ => (
                None,
                Some("REPLAY: the latest deadlock was not recorded at this moment".into()),
            ),
        }
    }
}

/// The recorded read behind an inspection view.
fn read_kind(view: LiveView) -> Option<ReadKind> {
    match view {
        LiveView::Replication => Some(ReadKind::Replication),
        LiveView::Sizes => Some(ReadKind::Sizes),
        LiveView::Parameters => Some(ReadKind::Parameters),
        LiveView::Backups => Some(ReadKind::Backups),
        LiveView::Processlist | LiveView::Locks => None,
    }
}
