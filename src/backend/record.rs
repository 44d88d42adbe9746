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
use crate::recording::{
    Frame, InstanceDetail, ReadBody, ReadKind, Recording, RecordingError, Retention,
};

/// How long reading one firing instance's sessions and locks may take.
const DETAIL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one inspection read (table sizes, parameters...) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Collects health events between frames and writes them.
pub struct FrameRecorder {
    recording: Recording,
    retention: Retention,
    latest: BTreeMap<String, InstanceHealth>,
    book: AlertBook,
    context: AlertContext,
    frames: u64,
    reads: super::record_reads::ReadSchedule,
    /// Built at the first frame: the config does not change while recording.
    row_tags: Option<crate::config::RowTags>,
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
            reads: Default::default(),
            row_tags: None,
        })
    }

    /// A health event from the backend.
    pub fn observe(&mut self, h: InstanceHealth) {
        // One row per instance: a Prometheus row does not replace the direct one of its name.
        let direct_known = self
            .latest
            .get(&h.instance)
            .is_some_and(|old| old.source == Source::Direct);
        if direct_known && h.source != Source::Direct {
            return;
        }
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
        // Whole milliseconds, as the file indexes frames: a time read back finds its frame.
        let now = chrono::Utc::now();
        let at = chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let mut details = Vec::new();
        let mut reads = Vec::new();
        for name in firing {
            // Only a direct connection can list sessions; Prometheus knows no processlist.
            let direct = self.latest.get(name).is_some_and(|h| {
                h.source == Source::Direct && h.status == crate::health::Status::Up
            });
            if let (true, Some(instance)) = (direct, config.instance(name)) {
                let due = self.reads.due(name, at);
                let (detail, found) = read_detail(instance, config, &due).await;
                details.push(detail);
                reads.extend(self.reads.keep(name, at, found));
            }
        }
        let row_tags = self
            .row_tags
            .get_or_insert_with(|| crate::config::RowTags::from_config(config));
        let tags = self
            .latest
            .values()
            .map(|h| (h.instance.clone(), row_tags.of_row(h)))
            .filter(|(_, tags)| !tags.is_empty())
            .collect();
        let frame = Frame {
            at,
            instances: self.latest.values().cloned().collect(),
            alerts,
            details,
            tags,
        };
        self.recording
            .append_with_reads(&frame, &reads, self.retention)?;
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

/// Sessions and locks of one instance, and the inspection reads that are `due`, on its own
/// short-lived monitoring connection. A step that times out ends the visit (the connection is in
/// an unknown state); what was read so far is kept.
async fn read_detail(
    instance: &crate::config::InstanceConfig,
    config: &Config,
    due: &[ReadKind],
) -> (InstanceDetail, Vec<ReadBody>) {
    let mut detail = empty_detail(&instance.name);
    let mut reads = Vec::new();
    // The statements are logged like every other, but nobody shows this `@` log.
    let (events, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let open = MonitorConn::open(instance, SqlRecorder::new(&instance.name, events));
    let mut mc = match tokio::time::timeout(DETAIL_TIMEOUT, open).await {
        Ok(Ok(mc)) => mc,
        Ok(Err(e)) => {
            detail.notes.push(format!("cannot connect: {e:#}"));
            return (detail, reads);
        }
        Err(_) => {
            detail
                .notes
                .push(format!("no answer within {DETAIL_TIMEOUT:?}"));
            return (detail, reads);
        }
    };
    let sessions = async {
        let plist = read_processlist(&mut mc).await;
        (plist, read_locks(&mut mc).await)
    };
    let Ok((plist, locks)) = tokio::time::timeout(DETAIL_TIMEOUT, sessions).await else {
        detail
            .notes
            .push(format!("no answer within {DETAIL_TIMEOUT:?}"));
        return (detail, reads);
    };
    match plist {
        Ok((rows, note)) => {
            detail.processlist = rows;
            detail.notes.extend(note);
        }
        Err(e) => detail.notes.push(format!("processlist: {e:#}")),
    }
    detail.lock_waits = locks.waits;
    detail.root_blockers = locks.root_blockers;
    detail.metadata_waits = locks.metadata_waits;
    detail.notes.extend(locks.notes);
    reads.push(ReadBody::Deadlock(locks.deadlock));
    for kind in due {
        let read = super::record_reads::read(&mut mc, config, instance, *kind);
        match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Some(body)) => reads.push(body),
            Ok(None) => {}
            Err(_) => {
                detail.notes.push(format!(
                    "{} not recorded: no answer within {READ_TIMEOUT:?}",
                    kind.as_str()
                ));
                return (detail, reads);
            }
        }
    }
    mc.close().await;
    (detail, reads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, source: Source, qps: f64) -> InstanceHealth {
        let mut h = InstanceHealth::down(name, "", chrono::Utc::now());
        h.status = crate::health::Status::Up;
        h.error = None;
        h.source = source;
        h.qps = Some(qps);
        h
    }

    #[tokio::test]
    async fn a_prometheus_row_does_not_replace_the_direct_one_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.arkc");
        let config = Config::parse(
            "[[prometheus]]\nname = \"fleet\"\nurl = \"http://p:9090\"\ntags = [\"edge\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let context = AlertContext::from_config(&config, &[]).unwrap();
        let mut recorder = FrameRecorder::create(&path, Retention::default(), context).unwrap();
        let fleet = Source::Prometheus("fleet".into());
        recorder.observe(up("db1", Source::Direct, 10.0));
        recorder.observe(up("db1", fleet.clone(), 99.0));
        recorder.observe(up("edge", fleet.clone(), 5.0));
        recorder.write_frame(&config).await.unwrap();
        let frame = Recording::open(&path)
            .unwrap()
            .frame_at(None)
            .unwrap()
            .unwrap();
        let rows: Vec<(String, Source, Option<f64>)> = frame
            .instances
            .iter()
            .map(|h| (h.instance.clone(), h.source.clone(), h.qps))
            .collect();
        assert_eq!(
            rows,
            [
                ("db1".to_string(), Source::Direct, Some(10.0)),
                ("edge".to_string(), fleet, Some(5.0))
            ]
        );
        // The source's tags go with its rows; the direct row's entry has none.
        let tags: Vec<(&str, &[String])> = frame
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        assert_eq!(tags, [("edge", &["edge".to_string()][..])]);
    }
}
