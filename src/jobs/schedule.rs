//! Which configured jobs are due: a `schedule` interval, and no backup of the job started within
//! it (nor one still running). The console's jobs backend starts them while it runs.

use chrono::{DateTime, Utc};

use crate::config::{backup::parse_interval, BackupConfig};

use super::{BackupRecord, JobState};

pub fn due(config: &BackupConfig, records: &[BackupRecord], now: DateTime<Utc>) -> Vec<String> {
    config
        .jobs
        .iter()
        .filter_map(|job| {
            let every = parse_interval(job.schedule.as_deref()?).ok()?;
            let mine = || records.iter().filter(|r| r.job == job.name);
            if mine().any(|r| r.state == JobState::Running) {
                return None;
            }
            let last = mine().map(|r| r.started_at).max();
            let is_due = match last {
                None => true,
                Some(t) => now - t >= chrono::Duration::from_std(every).ok()?,
            };
            is_due.then(|| job.name.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::jobs::tests::{clock, row};
    use crate::config::{BackupJobConfig, BackupKind, Compression};

    fn job(name: &str, schedule: Option<&str>) -> BackupJobConfig {
        BackupJobConfig {
            name: name.into(),
            instance: Some("db1".into()),
            tag: None,
            kind: BackupKind::Dump,
            to: "/b".into(),
            database: None,
            compress: Compression::Zstd,
            keep: None,
            schedule: schedule.map(String::from),
            threads: None,
            stream: false,
            line: 1,
        }
    }

    #[test]
    fn due_by_interval_since_last_start() {
        let config = BackupConfig {
            jobs: vec![
                job("nightly", Some("1d")),
                job("hourly", Some("1h")),
                job("manual", None),
                job("fresh", Some("6h")),
            ],
            settings: Default::default(),
        };
        // Sample rows belong to "nightly"; the newest started an hour ago (row 1, running).
        let mut records: Vec<BackupRecord> = [1, 2]
            .map(|id| row(id, JobState::Succeeded, None).record)
            .to_vec();
        let mut hourly = row(3, JobState::Failed, None).record;
        hourly.job = "hourly".into();
        records.push(hourly);
        let now = clock(0);
        assert_eq!(due(&config, &records, now), ["hourly", "fresh"]);
        assert_eq!(
            due(&config, &records, now + chrono::Duration::hours(23)),
            ["nightly", "hourly", "fresh"]
        );
        records[0].state = JobState::Running;
        assert_eq!(
            due(&config, &records, now + chrono::Duration::hours(23)),
            ["hourly", "fresh"]
        );
    }
}
