//! InnoDB figures from `SHOW GLOBAL STATUS`, variables, `INNODB_METRICS` and, on old servers, the
//! LOG section of `SHOW ENGINE INNODB STATUS`. Every figure is `None` when the server does not
//! expose what it needs: a missing figure is shown as unknown, never as zero.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::StatusSnapshot;

/// The `innodb` object of `arkc health --format json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct InnodbFigures {
    /// Share of page reads served from memory over the last interval (since start without one).
    pub buffer_pool_hit_pct: Option<f64>,
    pub dirty_pages_pct: Option<f64>,
    pub history_list_length: Option<u64>,
    /// Checkpoint age as a share of the redo log capacity.
    pub checkpoint_age_pct: Option<f64>,
    /// `Innodb_row_lock_waits` since the server started.
    pub row_lock_waits: Option<u64>,
    /// `Innodb_deadlocks` (MariaDB, Percona) or INNODB_METRICS `lock_deadlocks`, since start.
    pub deadlocks: Option<u64>,
}

/// The LOG section of `SHOW ENGINE INNODB STATUS`: what checkpoint age needs on servers whose
/// status variables do not carry it (Oracle MySQL before 8.0.30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSection {
    pub log_sequence_number: u64,
    pub last_checkpoint: u64,
}

/// Per-second DML rates (`Com_select/insert/update/delete` deltas).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DmlRates {
    pub select: Option<f64>,
    pub insert: Option<f64>,
    pub update: Option<f64>,
    pub delete: Option<f64>,
}

/// All InnoDB figures for `current`, with the hit ratio over the interval since `previous`.
pub fn innodb_figures(
    previous: Option<&StatusSnapshot>,
    current: &StatusSnapshot,
) -> InnodbFigures {
    InnodbFigures {
        buffer_pool_hit_pct: buffer_pool_hit_pct(previous, current),
        dirty_pages_pct: dirty_pages_pct(&current.status),
        history_list_length: history_list_length(&current.status, &current.innodb_metrics),
        checkpoint_age_pct: checkpoint_age_pct(
            &current.status,
            &current.variables,
            current.innodb_log.as_ref(),
        ),
        row_lock_waits: number(&current.status, "Innodb_row_lock_waits"),
        deadlocks: number(&current.status, "Innodb_deadlocks")
            .or_else(|| current.innodb_metrics.get("lock_deadlocks").copied()),
    }
}

/// `100 * (1 - reads from disk / read requests)`. Over the interval when both snapshots have the
/// counters and there were requests in it (an idle interval says nothing, so the lifetime ratio
/// is used), else since start.
pub fn buffer_pool_hit_pct(
    previous: Option<&StatusSnapshot>,
    current: &StatusSnapshot,
) -> Option<f64> {
    let pair = |s: &StatusSnapshot| {
        Some((
            number(&s.status, "Innodb_buffer_pool_read_requests")?,
            number(&s.status, "Innodb_buffer_pool_reads")?,
        ))
    };
    let (requests, reads) = pair(current)?;
    if let Some((req0, reads0)) = previous.and_then(pair) {
        if requests > req0 && reads >= reads0 {
            return Some(hit_pct(requests - req0, reads - reads0));
        }
    }
    (requests > 0).then(|| hit_pct(requests, reads))
}

fn hit_pct(requests: u64, reads: u64) -> f64 {
    (100.0 * (1.0 - reads as f64 / requests as f64)).clamp(0.0, 100.0)
}

/// Dirty pages as a share of all buffer pool pages.
pub fn dirty_pages_pct(status: &HashMap<String, String>) -> Option<f64> {
    let dirty = number(status, "Innodb_buffer_pool_pages_dirty")?;
    let total = number(status, "Innodb_buffer_pool_pages_total")?;
    (total > 0).then(|| 100.0 * dirty as f64 / total as f64)
}

/// `Innodb_history_list_length` (MariaDB 10.6+), else INNODB_METRICS `trx_rseg_history_len`.
pub fn history_list_length(
    status: &HashMap<String, String>,
    metrics: &HashMap<String, u64>,
) -> Option<u64> {
    number(status, "Innodb_history_list_length")
        .or_else(|| metrics.get("trx_rseg_history_len").copied())
}

/// Checkpoint age over redo capacity, in percent, from the best source this server has:
/// MariaDB/Percona `Innodb_checkpoint_age`; MySQL 8.0.30+ current LSN minus checkpoint LSN
/// against `innodb_redo_log_capacity`; else the INNODB STATUS LOG section against
/// `innodb_log_file_size * innodb_log_files_in_group`.
pub fn checkpoint_age_pct(
    status: &HashMap<String, String>,
    variables: &BTreeMap<String, String>,
    log: Option<&LogSection>,
) -> Option<f64> {
    let age = number(status, "Innodb_checkpoint_age")
        .or_else(|| {
            let current = number(status, "Innodb_redo_log_current_lsn")?;
            let checkpoint = number(status, "Innodb_redo_log_checkpoint_lsn")?;
            Some(current.saturating_sub(checkpoint))
        })
        .or_else(|| log.map(|l| l.log_sequence_number.saturating_sub(l.last_checkpoint)))?;
    let capacity = redo_capacity(variables)?;
    Some(100.0 * age as f64 / capacity as f64)
}

/// Redo log bytes: `innodb_redo_log_capacity` (MySQL 8.0.30+), else file size times files
/// (MariaDB 10.5+ has one file and no `innodb_log_files_in_group`).
pub fn redo_capacity(variables: &BTreeMap<String, String>) -> Option<u64> {
    let number = |name: &str| variables.get(name)?.trim().parse::<u64>().ok();
    let capacity = number("innodb_redo_log_capacity").or_else(|| {
        let size = number("innodb_log_file_size")?;
        let files = number("innodb_log_files_in_group").unwrap_or(1);
        Some(size.saturating_mul(files.max(1)))
    })?;
    (capacity > 0).then_some(capacity)
}

/// The LSN and last checkpoint from the LOG section of `SHOW ENGINE INNODB STATUS`.
pub fn parse_log_section(innodb_status: &str) -> Option<LogSection> {
    let mut lsn = None;
    let mut checkpoint = None;
    for line in innodb_status.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Log sequence number") {
            lsn = first_number(rest);
        } else if let Some(rest) = line.strip_prefix("Last checkpoint at") {
            checkpoint = first_number(rest);
        }
    }
    Some(LogSection {
        log_sequence_number: lsn?,
        last_checkpoint: checkpoint?,
    })
}

/// Old (5.x) servers print an LSN as one number; very old ones as two 32-bit halves.
fn first_number(text: &str) -> Option<u64> {
    let parts: Vec<u64> = text
        .split_whitespace()
        .map_while(|p| p.parse().ok())
        .collect();
    match parts.as_slice() {
        [one] => Some(*one),
        [high, low] => Some((high << 32) | low),
        _ => None,
    }
}

/// DML statements per second over the interval.
pub fn dml_rates(previous: Option<&StatusSnapshot>, current: &StatusSnapshot) -> DmlRates {
    let rate = |name: &str| super::counter_rate(previous, current, &[name]);
    DmlRates {
        select: rate("Com_select"),
        insert: rate("Com_insert"),
        update: rate("Com_update"),
        delete: rate("Com_delete"),
    }
}

fn number(map: &HashMap<String, String>, name: &str) -> Option<u64> {
    map.get(name)?.trim().parse().ok()
}
