//! Backup status: the newest successful backup among the sources that exist for an instance.
//!
//! Sources today: the server's own history tables (`mysql.mariadb_backup_history`, written by
//! `mariadb-backup --history`; `PERCONA_SCHEMA.xtrabackup_history`, by `xtrabackup --history`).
//! arkc's own job history (src/jobs) joins through `BackupLookup::add_source`: call it with
//! "arkc jobs" and the newest successful job's end time, and the view, JSON and `backup_stale`
//! rule take it into account with no other change.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rules::BackupFact;

/// The `backup` object of `arkc health --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BackupStatus {
    pub last_success_at: DateTime<Utc>,
    pub age_s: u64,
    /// Where it was found (`mysql.mariadb_backup_history`, ...).
    pub source: String,
}

/// What was looked at and the newest success found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct BackupLookup {
    /// Sources that exist for this instance (searched).
    pub sources: Vec<String>,
    /// Places looked at that do not exist here (for the view's "looked in ..." line).
    pub absent: Vec<String>,
    pub newest: Option<BackupStatus>,
}

impl BackupLookup {
    /// Record a source that exists and its newest successful backup end time, if any.
    pub fn add_source(
        &mut self,
        source: &str,
        newest_end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        self.sources.push(source.to_string());
        let Some(at) = newest_end else { return };
        let newer = self.newest.as_ref().is_none_or(|n| at > n.last_success_at);
        if newer {
            self.newest = Some(BackupStatus {
                last_success_at: at,
                age_s: (now - at).num_seconds().max(0) as u64,
                source: source.to_string(),
            });
        }
    }

    pub fn add_absent(&mut self, place: &str) {
        self.absent.push(place.to_string());
    }

    /// What the `backup_stale` rule sees.
    pub fn fact(&self) -> BackupFact {
        match (&self.newest, self.sources.is_empty()) {
            (Some(n), _) => BackupFact::LastSuccessAge(n.age_s),
            (None, true) => BackupFact::NoSource,
            (None, false) => BackupFact::NeverSucceeded,
        }
    }

    /// The view's one-line account.
    pub fn describe(&self) -> String {
        match &self.newest {
            Some(n) => format!(
                "last successful backup {} ({} ago) from {}",
                n.last_success_at.format("%Y-%m-%d %H:%M:%S UTC"),
                super::format_age(n.age_s),
                n.source
            ),
            None if self.sources.is_empty() => format!(
                "nothing found: looked in {} (not present here)",
                self.absent.join(", ")
            ),
            None => format!(
                "no successful backup recorded in {}",
                self.sources.join(", ")
            ),
        }
    }
}

/// One backup recorded by a history table or by arkc's jobs, for the Backup view's list.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BackupEntry {
    pub source: String,
    /// The tool (`mariabackup`, `mydumper`...) or the job's kind.
    pub tool: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `full`, `incremental`, `partial`, or the job's state.
    pub detail: String,
}

/// What the Backup view shows: the lookup the alert rule uses and the newest entries per source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct BackupReport {
    pub lookup: BackupLookup,
    pub recent: Vec<BackupEntry>,
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn newest_success_wins_and_facts_follow() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let mut l = BackupLookup::default();
        l.add_absent("PERCONA_SCHEMA.xtrabackup_history");
        assert_eq!(l.fact(), BackupFact::NoSource);
        assert!(l
            .describe()
            .contains("looked in PERCONA_SCHEMA.xtrabackup_history"));
        l.add_source("mysql.mariadb_backup_history", None, now);
        assert_eq!(l.fact(), BackupFact::NeverSucceeded);
        l.add_source("arkc jobs", Some(now - Duration::hours(30)), now);
        l.add_source(
            "mysql.mariadb_backup_history",
            Some(now - Duration::hours(2)),
            now,
        );
        assert_eq!(l.fact(), BackupFact::LastSuccessAge(7200));
        assert_eq!(
            l.newest.as_ref().unwrap().source,
            "mysql.mariadb_backup_history"
        );
        assert!(l.describe().contains("2h"), "{}", l.describe());
    }
}
