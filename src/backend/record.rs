//! Recording a running backend: the newest figures of every instance, the alerts, and for
//! instances with a firing alert their processlist and locks, written as one frame per round.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::backend::health::alerting::AlertContext;
use crate::backend::health::locks::read_locks;
use crate::backend::health::processlist::{read_processlist, MonitorConn};
use crate::backend::SqlRecorder;
use crate::config::Config;
use crate::health::alert_state::AlertBook;
use crate::health::{AlertState, InstanceHealth, Source};
use crate::recording::{Frame, InstanceDetail, Recording, RecordingError, Retention};

/// How long reading one firing instance's sessions and locks may take.
const DETAIL_TIMEOUT: Duration = Duration::from_secs(3);

/// Collects health events between frames and writes them.
pub struct FrameRecorder {
    recording: Recording,
    retention: Retention,
    latest: BTreeMap<String, InstanceHealth>,
    book: AlertBook,
    context: AlertContext,
    frames: u64,
}

impl FrameRecorder {
    pub fn create(
        path: &Path,
        retention: Retention,
        context: AlertContext,
    ) -> Result<FrameRecorder, RecordingError> {
        Ok(FrameRecorder {
            recording: Recording::create(path)?,
            retention,
            latest: BTreeMap::new(),
            book: AlertBook::new(),
            context,
            frames: 0,
        })
    }

    /// A health event from the backend.
    pub fn observe(&mut self, h: InstanceHealth) {
        self.context.observe(&mut self.book, &h);
        self.latest.insert(h.instance.clone(), h);
    }

    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Write a frame of what has been seen so far (nothing before the first event).
    pub async fn write_frame(&mut self, config: &Config) -> Result<(), RecordingError> {
        if self.latest.is_empty() {
            return Ok(());
        }
        let alerts = self.book.all();
        let mut firing: Vec<&str> = alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| a.instance.as_str())
            .collect();
        firing.dedup();
        let mut details = Vec::new();
        for name in firing {
            // Only a direct connection can list sessions; Prometheus knows no processlist.
            let direct = self.latest.get(name).is_some_and(|h| {
                h.source == Source::Direct && h.status == crate::health::Status::Up
            });
            if let (true, Some(instance)) = (direct, config.instance(name)) {
                let read = tokio::time::timeout(DETAIL_TIMEOUT, read_detail(instance));
                details.push(read.await.unwrap_or_else(|_| InstanceDetail {
                    notes: vec![format!("no answer within {DETAIL_TIMEOUT:?}")],
                    ..empty_detail(name)
                }));
            }
        }
        // Whole milliseconds, as the file indexes frames: a time read back finds its frame.
        let now = chrono::Utc::now();
        let at = chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let frame = Frame {
            at,
            instances: self.latest.values().cloned().collect(),
            alerts,
            details,
        };
        self.recording.append(&frame, self.retention)?;
        self.frames += 1;
        Ok(())
    }

    pub fn summary(&self) -> Result<crate::recording::RecordingSummary, RecordingError> {
        self.recording.summary()
    }
}

fn empty_detail(instance: &str) -> InstanceDetail {
    InstanceDetail {
        instance: instance.to_string(),
        processlist: Vec::new(),
        lock_waits: Vec::new(),
        root_blockers: Vec::new(),
        metadata_waits: Vec::new(),
        notes: Vec::new(),
    }
}

/// Sessions and locks of one instance, on its own short-lived monitoring connection.
async fn read_detail(instance: &crate::config::InstanceConfig) -> InstanceDetail {
    let mut detail = empty_detail(&instance.name);
    // The statements are logged like every other, but nobody shows this `@` log.
    let (events, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let mut mc = match MonitorConn::open(instance, SqlRecorder::new(&instance.name, events)).await {
        Ok(mc) => mc,
        Err(e) => {
            detail.notes.push(format!("cannot connect: {e:#}"));
            return detail;
        }
    };
    match read_processlist(&mut mc).await {
        Ok((rows, note)) => {
            detail.processlist = rows;
            detail.notes.extend(note);
        }
        Err(e) => detail.notes.push(format!("processlist: {e:#}")),
    }
    let locks = read_locks(&mut mc).await;
    detail.lock_waits = locks.waits;
    detail.root_blockers = locks.root_blockers;
    detail.metadata_waits = locks.metadata_waits;
    detail.notes.extend(locks.notes);
    mc.close().await;
    detail
}
