//! Recording from the console (a key starts and stops it): the backend's events pass through a
//! tee that, while a recording runs, hands a copy of every health figure to a recorder task. The
//! recorder writes on its own task, so a slow processlist read for a firing instance never delays
//! the events the UI is waiting for.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use super::record::FrameRecorder;
use super::BackendEvent;
use crate::backend::health::alerting::AlertContext;
use crate::config::Config;
use crate::health::InstanceHealth;
use crate::recording::Retention;

/// What the console asks of the recorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordCommand {
    Start { path: PathBuf },
    Stop,
}

/// What the recorder reports: the file and whether it is being written; `error` when it could
/// not start or a write failed (the recording then stops).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingStatus {
    pub file: String,
    pub active: bool,
    pub frames: u64,
    pub error: Option<String>,
}

type Tap = Arc<Mutex<Option<UnboundedSender<InstanceHealth>>>>;

/// The console side: starts and stops recordings fed by the tee.
#[derive(Debug)]
pub struct RecordSwitch {
    tap: Tap,
    config: Arc<Config>,
    events: UnboundedSender<BackendEvent>,
}

/// Put a tee in front of `events`: the returned sender is what the backend's tasks use.
pub fn tee(
    config: Arc<Config>,
    events: UnboundedSender<BackendEvent>,
) -> (UnboundedSender<BackendEvent>, RecordSwitch) {
    let tap: Tap = Arc::new(Mutex::new(None));
    let (tx, mut rx) = mpsc::unbounded_channel::<BackendEvent>();
    let forward = events.clone();
    let tapped = tap.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let health = match &event {
                BackendEvent::Health(h) => std::slice::from_ref(h),
                BackendEvent::Polled(batch) => batch.health.as_slice(),
                _ => &[],
            };
            if !health.is_empty() {
                if let Some(recorder) = tapped.lock().ok().and_then(|t| t.clone()) {
                    for h in health {
                        let _ = recorder.send(h.clone());
                    }
                }
            }
            if forward.send(event).is_err() {
                break;
            }
        }
    });
    (
        tx,
        RecordSwitch {
            tap,
            config,
            events,
        },
    )
}

impl RecordSwitch {
    pub fn handle(&mut self, command: RecordCommand) {
        match command {
            RecordCommand::Start { path } => self.start(path),
            // Dropping the sender ends the recorder task, which writes its last frame.
            RecordCommand::Stop => {
                if let Ok(mut tap) = self.tap.lock() {
                    tap.take();
                }
            }
        }
    }

    fn start(&mut self, path: PathBuf) {
        let file = path.display().to_string();
        let status = |active, error| RecordingStatus {
            file: file.clone(),
            active,
            frames: 0,
            error,
        };
        let running = self
            .tap
            .lock()
            .map(|t| t.as_ref().is_some_and(|s| !s.is_closed()))
            .unwrap_or(true);
        if running {
            return;
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let recorder = AlertContext::from_config(&self.config, &self.config.instances)
            .map_err(|e| format!("{e:#}"))
            .and_then(|context| {
                FrameRecorder::create(&path, Retention::default(), context)
                    .map_err(|e| e.to_string())
            });
        match recorder {
            Err(e) => {
                let _ = self
                    .events
                    .send(BackendEvent::Recording(status(false, Some(e))));
            }
            Ok(recorder) => {
                let (tx, rx) = mpsc::unbounded_channel();
                if let Ok(mut tap) = self.tap.lock() {
                    *tap = Some(tx);
                }
                let _ = self
                    .events
                    .send(BackendEvent::Recording(status(true, None)));
                let interval =
                    Duration::from_millis(self.config.ui.refresh_ms).max(super::MIN_INTERVAL);
                tokio::spawn(run(
                    recorder,
                    rx,
                    interval,
                    self.config.clone(),
                    self.events.clone(),
                    file,
                ));
            }
        }
    }
}

async fn run(
    mut recorder: FrameRecorder,
    mut rx: UnboundedReceiver<InstanceHealth>,
    interval: Duration,
    config: Arc<Config>,
    events: UnboundedSender<BackendEvent>,
    file: String,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let error = loop {
        tokio::select! {
            h = rx.recv() => match h {
                Some(h) => recorder.observe(h),
                None => break recorder.write_frame(&config).await.err(),
            },
            _ = ticks.tick() => {
                if let Err(e) = recorder.write_frame(&config).await {
                    break Some(e);
                }
            }
        }
    };
    let _ = events.send(BackendEvent::Recording(RecordingStatus {
        file,
        active: false,
        frames: recorder.frames_written(),
        error: error.map(|e| e.to_string()),
    }));
}
