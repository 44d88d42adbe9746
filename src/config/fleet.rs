//! `[health]` (how the fleet is polled) and `[log]` (how big arkc.log may grow, and whether the
//! routine monitoring statements go into it).

use serde::Deserialize;

/// `[health]`: bounds of the fleet poller.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthPolling {
    /// Polls in flight at once, over all instances; the rest wait their turn.
    pub max_inflight: usize,
    /// A poll that answers later than this (milliseconds) marks the instance "slow".
    pub slow_ms: u64,
}

/// Polls in flight by default: a poll mostly waits on the network, so a 2-core bastion keeps
/// this many busy without its CPU becoming the bottleneck.
pub const DEFAULT_MAX_INFLIGHT: usize = 32;

impl Default for HealthPolling {
    fn default() -> Self {
        HealthPolling {
            max_inflight: DEFAULT_MAX_INFLIGHT,
            slow_ms: 1000,
        }
    }
}

impl HealthPolling {
    /// `(key, message)` for the first value out of range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=4096).contains(&self.max_inflight) {
            return Err((
                "max_inflight",
                format!(
                    "key `max_inflight`: {} is out of range; use 1 to 4096",
                    self.max_inflight
                ),
            ));
        }
        if !(50..=2000).contains(&self.slow_ms) {
            return Err((
                "slow_ms",
                format!(
                    "key `slow_ms`: {} is out of range; use 50 to 2000 milliseconds (a server \
                     silent for 2000 is down)",
                    self.slow_ms
                ),
            ));
        }
        Ok(())
    }
}

/// `[log]`: the size bound of arkc.log and what goes into it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// Also write the routine monitoring statements (SHOW/SELECT of every poll) to the file; the
    /// `@` view has them in memory either way. Statements that change a server are always written.
    pub poll_statements: bool,
    /// Size in MiB at which arkc.log is rotated to arkc.log.1.
    pub max_file_mib: u64,
    /// Rotated files kept (arkc.log.1 .. arkc.log.N); older ones are deleted.
    pub keep_files: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            poll_statements: false,
            max_file_mib: 16,
            keep_files: 4,
        }
    }
}

impl LogSettings {
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=4096).contains(&self.max_file_mib) {
            return Err((
                "max_file_mib",
                format!(
                    "key `max_file_mib`: {} is out of range; use 1 to 4096",
                    self.max_file_mib
                ),
            ));
        }
        if !(1..=100).contains(&self.keep_files) {
            return Err((
                "keep_files",
                format!(
                    "key `keep_files`: {} is out of range; use 1 to 100",
                    self.keep_files
                ),
            ));
        }
        Ok(())
    }

    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_mib * 1024 * 1024
    }
}
