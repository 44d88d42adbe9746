//! Retention: keep `keep` verified-good backups per job and instance, delete older good ones.
//! Running, failed, cancelled, lost and unverified backups are never deleted, and since `keep` is at
//! least 1 the newest good backup never is either. Every deletion is recorded in the history.

use std::path::PathBuf;

use chrono::Utc;
use serde::Serialize;

use crate::config::BackupConfig;

use super::history::History;
use super::{BackupRecord, JobState};

/// One backup retention would delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneItem {
    pub id: i64,
    pub job: String,
    pub instance: String,
    pub path: Option<PathBuf>,
    pub reason: String,
}

/// What to delete, given the history (any order) and the configured jobs.
pub fn plan(records: &[BackupRecord], config: &BackupConfig) -> Vec<PruneItem> {
    let mut items = Vec::new();
    for job in &config.jobs {
        let Some(keep) = job.keep.filter(|k| *k > 0) else {
            continue;
        };
        let mut instances: Vec<&str> = records
            .iter()
            .filter(|r| r.job == job.name)
            .map(|r| r.instance.as_str())
            .collect();
        instances.sort_unstable();
        instances.dedup();
        for instance in instances {
            let mut good: Vec<&BackupRecord> = records
                .iter()
                .filter(|r| {
                    r.job == job.name
                        && r.instance == instance
                        && r.state == JobState::Succeeded
                        && r.verified == Some(true)
                        && r.deleted_at.is_none()
                })
                .collect();
            good.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
            for (rank, old) in good.iter().enumerate().skip(keep as usize) {
                items.push(PruneItem {
                    id: old.id,
                    job: old.job.clone(),
                    instance: old.instance.clone(),
                    path: old.path.clone(),
                    reason: format!(
                        "verified-good backup number {} of job `{}` on `{instance}`, keep = {keep}",
                        rank + 1,
                        job.name
                    ),
                });
            }
        }
    }
    items
}

/// Delete the planned backups' files and record each deletion.
pub fn apply(history: &History, items: &[PruneItem]) -> anyhow::Result<Vec<i64>> {
    let mut deleted = Vec::new();
    for item in items {
        if let Some(path) = &item.path {
            let result = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
            match result {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("cannot delete {}: {e}", path.display()),
            }
        }
        let what = format!(
            "{} ({})",
            item.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            item.reason
        );
        history.mark_deleted(item.id, Utc::now(), &what)?;
        deleted.push(item.id);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BackupJobConfig, BackupKind, Compression};
    use chrono::{Duration, TimeZone};

    fn rec(id: i64, state: JobState, verified: Option<bool>) -> BackupRecord {
        BackupRecord {
            id,
            job: "nightly".into(),
            instance: "db1".into(),
            kind: BackupKind::Dump,
            state,
            started_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::hours(id),
            finished_at: None,
            bytes: None,
            path: Some(PathBuf::from(format!("/b/{id}"))),
            job_dir: PathBuf::new(),
            pid: None,
            tool_pid: None,
            tool_version: None,
            position: None,
            checksums: Vec::new(),
            checksum_mode: None,
            verified,
            verified_at: None,
            verify_note: None,
            verify_diff: Vec::new(),
            error: None,
            cancel_requested: false,
            deleted_at: None,
        }
    }

    #[test]
    fn keeps_newest_verified_and_never_touches_the_rest() {
        let records = vec![
            rec(1, JobState::Succeeded, Some(true)),
            rec(2, JobState::Succeeded, Some(true)),
            rec(3, JobState::Cancelled, None),
            rec(4, JobState::Succeeded, None),
            rec(5, JobState::Succeeded, Some(false)),
            rec(6, JobState::Succeeded, Some(true)),
            rec(7, JobState::Running, None),
        ];
        let config = BackupConfig {
            jobs: vec![BackupJobConfig {
                name: "nightly".into(),
                instance: Some("db1".into()),
                tag: None,
                kind: BackupKind::Dump,
                to: "/b".into(),
                database: None,
                compress: Compression::Zstd,
                keep: Some(2),
                schedule: None,
                threads: None,
                stream: false,
                line: 1,
            }],
            settings: Default::default(),
        };
        let ids: Vec<i64> = plan(&records, &config).iter().map(|p| p.id).collect();
        assert_eq!(ids, [1]);
        let mut one = config.clone();
        one.jobs[0].keep = Some(1);
        let ids: Vec<i64> = plan(&records, &one).iter().map(|p| p.id).collect();
        assert_eq!(ids, [2, 1]);
    }
}
