//! One progress model for every kind of backup, written by the supervisor to `progress.json` in the
//! job's folder and read by the CLI and the Jobs pane.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Starting,
    /// Per-table checksums on the source, for verification later.
    Checksumming,
    Dumping,
    /// mariadb-backup --prepare.
    Preparing,
    Verifying,
    Finishing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Checksumming => "checksumming",
            Phase::Dumping => "dumping",
            Phase::Preparing => "preparing",
            Phase::Verifying => "verifying",
            Phase::Finishing => "finishing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub phase: Phase,
    /// Bytes the tool produced so far (uncompressed stream, or the output folder's size).
    pub bytes_done: u64,
    /// What the tool will produce, estimated from information_schema or the datadir size.
    pub bytes_estimate: Option<u64>,
    pub tables_done: u64,
    pub tables_total: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Last time the tool printed or wrote anything.
    pub last_activity_at: DateTime<Utc>,
    pub stall_after_s: u64,
    /// Which run of the tool this is (mariadb-backup is run again when its redo copy stalls).
    #[serde(default = "first")]
    pub attempt: u32,
    /// At most this many runs.
    #[serde(default = "first")]
    pub attempts: u32,
}

fn first() -> u32 {
    1
}

impl Progress {
    pub fn new(now: DateTime<Utc>, stall_after_s: u64) -> Progress {
        Progress {
            phase: Phase::Starting,
            bytes_done: 0,
            bytes_estimate: None,
            tables_done: 0,
            tables_total: 0,
            started_at: now,
            updated_at: now,
            last_activity_at: now,
            stall_after_s,
            attempt: 1,
            attempts: 1,
        }
    }

    /// Done so far, 0.0 to 1.0. An estimate never reaches 1.0 before the tool has finished.
    pub fn fraction(&self) -> f64 {
        if self.phase == Phase::Finishing {
            return 1.0;
        }
        let by_bytes = self
            .bytes_estimate
            .filter(|e| *e > 0)
            .map(|e| self.bytes_done as f64 / e as f64);
        let by_tables =
            (self.tables_total > 0).then(|| self.tables_done as f64 / self.tables_total as f64);
        let f = match (by_bytes, by_tables) {
            (Some(b), Some(t)) => b.max(t),
            (Some(b), None) => b,
            (None, Some(t)) => t,
            (None, None) => 0.0,
        };
        f.clamp(0.0, 0.99)
    }

    /// Bytes per second since the start.
    pub fn rate(&self) -> f64 {
        let secs = (self.updated_at - self.started_at).num_milliseconds() as f64 / 1000.0;
        if secs <= 0.0 {
            0.0
        } else {
            self.bytes_done as f64 / secs
        }
    }

    /// Time left at the current rate, when there is an estimate to aim for.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        let left = self.bytes_estimate?.saturating_sub(self.bytes_done);
        (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate))
    }

    /// Nothing printed or written for longer than the configured limit.
    pub fn stalled(&self, now: DateTime<Utc>) -> bool {
        self.stall_after_s > 0
            && (now - self.last_activity_at).num_seconds() >= self.stall_after_s as i64
    }

    /// "dumping 42% 12.0 MiB 3.1 MiB/s ETA 0:07 tables 3/9" (and "STALLED" when so), after
    /// "attempt 2 of 3: " when the tool is being run again.
    pub fn summary(&self, now: DateTime<Utc>) -> String {
        let mut s = if self.attempt > 1 {
            format!("attempt {} of {}: ", self.attempt, self.attempts)
        } else {
            String::new()
        };
        s += &format!(
            "{} {:>3.0}% {} {}/s",
            self.phase.as_str(),
            self.fraction() * 100.0,
            human_bytes(self.bytes_done),
            human_bytes(self.rate() as u64)
        );
        if let Some(eta) = self.eta() {
            s.push_str(&format!(" ETA {}", clock(eta)));
        }
        if self.tables_total > 0 {
            s.push_str(&format!(
                " tables {}/{}",
                self.tables_done.min(self.tables_total),
                self.tables_total
            ));
        }
        if self.stalled(now) {
            s.push_str(&format!(
                " STALLED (no output for {}s)",
                (now - self.last_activity_at).num_seconds()
            ));
        }
        s
    }

    /// Write atomically (temp file + rename) so a reader never sees half a file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self).unwrap_or_default())?;
        std::fs::rename(&tmp, path)
    }

    pub fn load(path: &Path) -> Option<Progress> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_is_clamped_and_eta_follows_rate() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut p = Progress::new(t0, 60);
        p.phase = Phase::Dumping;
        p.bytes_estimate = Some(1000);
        p.bytes_done = 5000; // the SQL text outgrew the estimate
        p.updated_at = t0 + chrono::Duration::seconds(10);
        assert_eq!(p.fraction(), 0.99);
        p.bytes_done = 250;
        assert_eq!(p.fraction(), 0.25);
        assert_eq!(p.rate(), 25.0);
        assert_eq!(p.eta(), Some(Duration::from_secs(30)));
        p.tables_total = 4;
        p.tables_done = 2;
        assert_eq!(p.fraction(), 0.5);
        assert!(!p.stalled(t0 + chrono::Duration::seconds(59)));
        assert!(p.stalled(t0 + chrono::Duration::seconds(60)));
        assert!(p
            .summary(t0 + chrono::Duration::seconds(61))
            .contains("STALLED"));
        p.phase = Phase::Finishing;
        assert_eq!(p.fraction(), 1.0);
    }

    #[test]
    fn a_second_attempt_is_named_and_old_files_read_as_the_first() {
        let t0 = Utc::now();
        let mut p = Progress::new(t0, 60);
        assert!(!p.summary(t0).contains("attempt"));
        (p.attempt, p.attempts) = (2, 3);
        assert!(p.summary(t0).starts_with("attempt 2 of 3: starting"));
        let mut old = serde_json::to_value(&p).unwrap();
        old.as_object_mut().unwrap().remove("attempt");
        old.as_object_mut().unwrap().remove("attempts");
        let back: Progress = serde_json::from_value(old).unwrap();
        assert_eq!((back.attempt, back.attempts), (1, 1));
    }
}
