//! What the recorder reads for the inspection views (Replication, Disk and size, Parameters,
//! Backup) and the Locks view's latest deadlock, for instances with a firing alert: each kind at
//! its own cadence ([`ReadKind::every`]), the deadlock only when it changed, so a recording of a
//! long incident grows by frames, not by repeated table-size reads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::health::inspect;
use super::health::processlist::MonitorConn;
use crate::config::{Config, InstanceConfig};
use crate::health::deadlock::Deadlock;
use crate::recording::{ReadBody, ReadKind, RecordedRead};

/// When each instance's reads were last taken.
#[derive(Debug, Default)]
pub struct ReadSchedule {
    last: HashMap<(String, ReadKind), DateTime<Utc>>,
    deadlock: HashMap<String, Option<Deadlock>>,
}

impl ReadSchedule {
    /// The kinds to read for `instance` now (the deadlock comes with the locks read).
    pub fn due(&self, instance: &str, now: DateTime<Utc>) -> Vec<ReadKind> {
        ReadKind::ALL
            .into_iter()
            .filter(|k| *k != ReadKind::Deadlock)
            .filter(|k| {
                let every = chrono::Duration::from_std(k.every()).unwrap_or_default();
                self.last
                    .get(&(instance.to_string(), *k))
                    .is_none_or(|t| now - *t >= every)
            })
            .collect()
    }

    /// The reads to store: all of them, but the deadlock only when it differs from the one
    /// stored last for this instance.
    pub fn keep(
        &mut self,
        instance: &str,
        now: DateTime<Utc>,
        found: Vec<ReadBody>,
    ) -> Vec<RecordedRead> {
        let mut out = Vec::new();
        for body in found {
            if let ReadBody::Deadlock(d) = &body {
                if self.deadlock.get(instance) == Some(d) {
                    continue;
                }
                self.deadlock.insert(instance.to_string(), d.clone());
            }
            self.last.insert((instance.to_string(), body.kind()), now);
            out.push(RecordedRead {
                instance: instance.to_string(),
                body,
            });
        }
        out
    }
}

/// One read of `kind` (the same reads as the live views); `None` for the deadlock, which comes
/// with the locks.
pub async fn read(
    mc: &mut MonitorConn,
    config: &Config,
    inst: &InstanceConfig,
    kind: ReadKind,
) -> Option<ReadBody> {
    Some(match kind {
        ReadKind::Replication => ReadBody::Replication(
            inspect::read_replication(mc, inst.heartbeat_table.as_deref()).await,
        ),
        ReadKind::Sizes => {
            ReadBody::Sizes(inspect::read_sizes(mc, super::health::collect::is_local(inst)).await)
        }
        ReadKind::Parameters => {
            ReadBody::Parameters(inspect::read_parameters(mc, config, inst).await)
        }
        ReadKind::Backups => ReadBody::Backups(inspect::read_backups(mc, &inst.name).await),
        ReadKind::Deadlock => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn each_kind_comes_due_at_its_own_cadence() {
        let mut schedule = ReadSchedule::default();
        let all = [
            ReadKind::Replication,
            ReadKind::Sizes,
            ReadKind::Parameters,
            ReadKind::Backups,
        ];
        assert_eq!(schedule.due("db", at(0)), all);
        let found = vec![
            ReadBody::Replication(Default::default()),
            ReadBody::Sizes(Default::default()),
            ReadBody::Parameters(Default::default()),
            ReadBody::Backups(Default::default()),
        ];
        assert_eq!(schedule.keep("db", at(0), found).len(), 4);
        assert!(schedule.due("db", at(5)).is_empty());
        assert_eq!(schedule.due("db", at(10)), [ReadKind::Replication]);
        assert_eq!(schedule.due("db", at(300)), all);
        assert_eq!(schedule.due("other", at(5)), all, "per instance");
    }

    #[test]
    fn the_deadlock_is_kept_only_when_it_changed() {
        let mut schedule = ReadSchedule::default();
        let deadlock = |at: &str| {
            ReadBody::Deadlock(Some(Deadlock {
                at: at.into(),
                transactions: Vec::new(),
            }))
        };
        assert_eq!(schedule.keep("db", at(0), vec![deadlock("a")]).len(), 1);
        assert!(schedule.keep("db", at(1), vec![deadlock("a")]).is_empty());
        assert_eq!(schedule.keep("db", at(2), vec![deadlock("b")]).len(), 1);
        assert_eq!(schedule.keep("db2", at(2), vec![deadlock("b")]).len(), 1);
    }
}
