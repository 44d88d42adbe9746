//! What a recording holds about one instance at a frame beside its figures: the sessions and
//! locks read with the frame, the latest deadlock, and the inspection reads recent enough to
//! stand for that moment. The replay console's views and `arkc health --replay` both read it
//! through here, so they agree on what "recorded at this moment" means.

use chrono::{DateTime, Utc};

use super::{Frame, InstanceDetail, ReadBody, ReadKind, Recording, RecordingError};
use crate::health::deadlock::Deadlock;

/// A read with the time it was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedRead {
    pub read_at: DateTime<Utc>,
    pub body: ReadBody,
}

/// Everything recorded for one instance at one frame (only instances with a firing alert have
/// any of it).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedInspection {
    pub instance: String,
    /// The frame's time: when `sessions` were read.
    pub at: DateTime<Utc>,
    /// Processlist and locks read with the frame.
    pub sessions: Option<InstanceDetail>,
    /// The server's latest deadlock as of the newest locks read at or before the frame (inner
    /// `None`: none since the server started); only with `sessions`, since a deadlock read
    /// stands for the moment only when locks were read then.
    pub deadlock: Option<(DateTime<Utc>, Option<Deadlock>)>,
    /// Replication, sizes, parameters and backups, each read within two of its cadence.
    pub reads: Vec<TimedRead>,
}

impl Recording {
    /// The newest read of `kind` for `instance` at or before `at`, if it was taken within two
    /// of its cadence ([`ReadKind::every`]) of `at`: older, it says nothing of that moment.
    pub fn fresh_read_at(
        &self,
        instance: &str,
        kind: ReadKind,
        at: DateTime<Utc>,
    ) -> Result<Option<TimedRead>, RecordingError> {
        let fresh = chrono::Duration::from_std(kind.every() * 2).unwrap_or_default();
        Ok(self
            .read_at(instance, kind, at)?
            .filter(|(when, _)| at - *when <= fresh)
            .map(|(read_at, body)| TimedRead { read_at, body }))
    }

    /// What `frame` and the reads around it hold for `instance`; `None` when nothing is.
    pub fn inspection_at(
        &self,
        frame: &Frame,
        instance: &str,
    ) -> Result<Option<RecordedInspection>, RecordingError> {
        let sessions = frame
            .details
            .iter()
            .find(|d| d.instance == instance)
            .cloned();
        let deadlock = match &sessions {
            Some(_) => match self.read_at(instance, ReadKind::Deadlock, frame.at)? {
                Some((when, ReadBody::Deadlock(d))) => Some((when, d)),
                _ => None,
            },
            None => None,
        };
        let mut reads = Vec::new();
        for kind in ReadKind::ALL {
            if kind == ReadKind::Deadlock {
                continue;
            }
            reads.extend(self.fresh_read_at(instance, kind, frame.at)?);
        }
        if sessions.is_none() && reads.is_empty() {
            return Ok(None);
        }
        Ok(Some(RecordedInspection {
            instance: instance.to_string(),
            at: frame.at,
            sessions,
            deadlock,
            reads,
        }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::{Frame, RecordedRead, Retention};
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn frame(s: i64, detail_of: Option<&str>) -> Frame {
        Frame {
            at: at(s),
            instances: Vec::new(),
            alerts: Vec::new(),
            details: detail_of
                .map(|name| InstanceDetail {
                    instance: name.into(),
                    processlist: Vec::new(),
                    lock_waits: Vec::new(),
                    root_blockers: Vec::new(),
                    metadata_waits: Vec::new(),
                    notes: vec!["read".into()],
                })
                .into_iter()
                .collect(),
            tags: Default::default(),
        }
    }

    #[test]
    fn reads_stand_for_a_moment_within_two_cadences_and_sessions_only_for_their_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.arkc");
        let mut rec = Recording::create(&path).unwrap();
        let read = |body| RecordedRead {
            instance: "db".into(),
            body,
        };
        rec.append_with_reads(
            &frame(0, Some("db")),
            &[
                read(ReadBody::Replication(Default::default())),
                read(ReadBody::Sizes(Default::default())),
                read(ReadBody::Deadlock(None)),
            ],
            Retention::default(),
        )
        .unwrap();
        rec.append(&frame(15, Some("db")), Retention::default())
            .unwrap();
        rec.append(&frame(30, None), Retention::default()).unwrap();
        rec.append(&frame(700, None), Retention::default()).unwrap();

        let first = rec.inspection_at(&frame(0, Some("db")), "db").unwrap();
        let first = first.expect("recorded at 0");
        assert!(first.sessions.is_some());
        assert_eq!(first.deadlock, Some((at(0), None)));
        let kinds: Vec<ReadKind> = first.reads.iter().map(|r| r.body.kind()).collect();
        assert_eq!(kinds, [ReadKind::Replication, ReadKind::Sizes]);

        // 30 s on: replication (every 10 s) is stale, sizes (every 300 s) still stand; no
        // sessions were read with that frame, so no deadlock either.
        let later = rec.inspection_at(&frame(30, None), "db").unwrap().unwrap();
        assert_eq!(later.sessions, None);
        assert_eq!(later.deadlock, None);
        let kinds: Vec<ReadKind> = later.reads.iter().map(|r| r.body.kind()).collect();
        assert_eq!(kinds, [ReadKind::Sizes]);
        assert_eq!(later.reads[0].read_at, at(0));

        assert_eq!(rec.inspection_at(&frame(700, None), "db").unwrap(), None);
        assert_eq!(
            rec.inspection_at(&frame(0, Some("db")), "other").unwrap(),
            None
        );
    }
}
