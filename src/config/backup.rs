//! `[[backup]]` jobs and `[jobs]` limits: which instance to back up, how, where, and how many
//! verified-good copies to keep.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The kinds of backup arkc can conduct; each is a real tool found on PATH.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// `mariadb-dump` / `mysqldump`: one logical SQL stream.
    Dump,
    /// `mydumper`: parallel logical dump to a directory.
    Mydumper,
    /// `mariadb-backup --backup` then `--prepare`: a physical copy of a local datadir.
    Mariabackup,
    /// Percona `xtrabackup`, the same way as mariadb-backup (MySQL and Percona Server only).
    Xtrabackup,
}

impl BackupKind {
    pub const ALL: [BackupKind; 4] = [
        BackupKind::Dump,
        BackupKind::Mydumper,
        BackupKind::Mariabackup,
        BackupKind::Xtrabackup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Dump => "dump",
            BackupKind::Mydumper => "mydumper",
            BackupKind::Mariabackup => "mariabackup",
            BackupKind::Xtrabackup => "xtrabackup",
        }
    }

    pub fn parse(s: &str) -> Option<BackupKind> {
        BackupKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// Physical backups copy the datadir: at most one per instance at a time.
    pub fn is_physical(self) -> bool {
        matches!(self, BackupKind::Mariabackup | BackupKind::Xtrabackup)
    }
}

impl std::fmt::Display for BackupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    Zstd,
    Gzip,
    None,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
            Compression::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Compression> {
        [Compression::Zstd, Compression::Gzip, Compression::None]
            .into_iter()
            .find(|c| c.as_str() == s.trim())
    }
}

/// One `[[backup]]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupJobConfig {
    pub name: String,
    /// One instance by name, or every instance carrying `tag`.
    pub instance: Option<String>,
    pub tag: Option<String>,
    pub kind: BackupKind,
    /// Directory the backups are written to (one file or folder per backup).
    pub to: PathBuf,
    /// Only this schema (default: the whole instance).
    pub database: Option<String>,
    #[serde(default)]
    pub compress: Compression,
    /// How many verified-good backups of this job to keep; older good ones are pruned.
    pub keep: Option<u32>,
    /// Run every so often, e.g. "30m", "6h", "1d".
    pub schedule: Option<String>,
    /// mydumper threads (default 4).
    pub threads: Option<u32>,
    /// Physical kinds: stream xbstream into one compressed file instead of a prepared folder.
    #[serde(default)]
    pub stream: bool,
    /// 1-based line of the `[[backup]]` header, for messages.
    #[serde(skip)]
    pub line: usize,
}

/// The `[jobs]` table: limits shared by every backup.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct JobsSettings {
    /// At most this many backups run at once (physical ones also one per instance).
    pub max_concurrent: u32,
    /// A job that prints and writes nothing for this many seconds is shown as stalled (not killed).
    pub stall_after_s: u64,
}

impl Default for JobsSettings {
    fn default() -> Self {
        JobsSettings {
            max_concurrent: 2,
            stall_after_s: 300,
        }
    }
}

/// Everything about backups in the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupConfig {
    pub jobs: Vec<BackupJobConfig>,
    pub settings: JobsSettings,
}

impl BackupConfig {
    pub fn job(&self, name: &str) -> Option<&BackupJobConfig> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// Check each job against the instances it names; `Err((line, message))`.
    pub fn validate(&self, instance_names: &[(&str, &[String])]) -> Result<(), (usize, String)> {
        if self.settings.max_concurrent == 0 {
            return Err((0, "[jobs] key `max_concurrent`: must be at least 1".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for job in &self.jobs {
            let at = |msg: String| (job.line, format!("backup `{}`: {msg}", job.name));
            if job.name.trim().is_empty() {
                return Err((job.line, "backup: key `name` must not be empty".into()));
            }
            if !seen.insert(job.name.as_str()) {
                return Err(at("key `name`: duplicate backup job name".into()));
            }
            match (&job.instance, &job.tag) {
                (Some(_), Some(_)) => return Err(at("set `instance` or `tag`, not both".into())),
                (None, None) => return Err(at("key `instance` (or `tag`) is required".into())),
                (Some(name), None) if !instance_names.iter().any(|(n, _)| n == name) => {
                    return Err(at(format!(
                        "key `instance`: no [[instance]] is named `{name}`"
                    )))
                }
                (None, Some(tag)) if !instance_names.iter().any(|(_, tags)| tags.contains(tag)) => {
                    return Err(at(format!("key `tag`: no [[instance]] has tag `{tag}`")))
                }
                _ => {}
            }
            if job.keep == Some(0) {
                return Err(at(
                    "key `keep`: 0 would delete every good backup; use 1 or more".into(),
                ));
            }
            if let Some(s) = &job.schedule {
                parse_interval(s).map_err(|e| at(format!("key `schedule`: {e}")))?;
            }
            if job.stream && !job.kind.is_physical() {
                return Err(at(format!(
                    "key `stream`: only kinds mariabackup and xtrabackup stream, not {}",
                    job.kind
                )));
            }
            if job.threads == Some(0) {
                return Err(at("key `threads`: must be at least 1".into()));
            }
        }
        Ok(())
    }
}

/// "90s", "30m", "6h", "1d" -> a duration of at least a minute.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not an interval; write e.g. \"30m\", \"6h\" or \"1d\""))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{s}`: unit must be s, m, h or d")),
    };
    if secs < 60 {
        return Err(format!("`{s}` is shorter than a minute"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_interval("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_interval("10s").is_err());
        assert!(parse_interval("5 parsecs").is_err());
    }
}
