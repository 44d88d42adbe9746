//! Processlist rows (joined with INNODB_TRX), their sort orders and filter.

use serde::Serialize;

/// One row of `arkc processlist`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow {
    pub id: u64,
    pub user: String,
    pub host: String,
    pub db: Option<String>,
    pub command: String,
    pub time_s: u64,
    pub state: Option<String>,
    pub info: Option<String>,
    /// Age of its open InnoDB transaction, if it has one.
    pub trx_age_s: Option<u64>,
    pub rows_locked: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessSort {
    #[default]
    Time,
    TrxAge,
    RowsLocked,
}

impl ProcessSort {
    pub fn next(self) -> Self {
        match self {
            ProcessSort::Time => ProcessSort::TrxAge,
            ProcessSort::TrxAge => ProcessSort::RowsLocked,
            ProcessSort::RowsLocked => ProcessSort::Time,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProcessSort::Time => "time",
            ProcessSort::TrxAge => "trx age",
            ProcessSort::RowsLocked => "rows locked",
        }
    }
}

/// Largest first; ties by id so the order is stable between polls.
pub fn sort_processes(rows: &mut [ProcessRow], by: ProcessSort) {
    rows.sort_by(|a, b| compare(a, b, by));
}

/// The order of `sort_processes`: largest `by` first (rows without one last), ties by id.
pub fn compare(a: &ProcessRow, b: &ProcessRow, by: ProcessSort) -> std::cmp::Ordering {
    let key = |r: &ProcessRow| match by {
        ProcessSort::Time => Some(r.time_s),
        ProcessSort::TrxAge => r.trx_age_s,
        ProcessSort::RowsLocked => r.rows_locked,
    };
    key(b).cmp(&key(a)).then(a.id.cmp(&b.id))
}

/// Case-insensitive match on user, host, db, command, state or statement text.
pub fn process_matches(row: &ProcessRow, filter: &str) -> bool {
    let f = filter.trim().to_ascii_lowercase();
    if f.is_empty() {
        return true;
    }
    [
        Some(row.user.as_str()),
        Some(row.host.as_str()),
        row.db.as_deref(),
        Some(row.command.as_str()),
        row.state.as_deref(),
        row.info.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|field| field.to_ascii_lowercase().contains(&f))
}

/// Sessions a kill could target: not arkc's own and not the server's own threads.
pub fn is_killable(row: &ProcessRow) -> bool {
    !matches!(
        row.command.as_str(),
        "Daemon" | "Binlog Dump" | "Binlog Dump GTID" | "Slave_IO" | "Slave_SQL" | "Slave_worker"
    ) && row.user != "system user"
        && row.user != "event_scheduler"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, time: u64, trx: Option<u64>, user: &str, info: Option<&str>) -> ProcessRow {
        ProcessRow {
            id,
            user: user.into(),
            host: "localhost".into(),
            db: Some("shop".into()),
            command: "Query".into(),
            time_s: time,
            state: None,
            info: info.map(str::to_string),
            trx_age_s: trx,
            rows_locked: trx.map(|t| t * 2),
        }
    }

    #[test]
    fn sorts_and_filters() {
        let mut rows = vec![
            row(1, 5, None, "app", Some("SELECT 1")),
            row(2, 50, Some(3), "app", Some("UPDATE t SET v=1")),
            row(3, 7, Some(90), "batch", None),
        ];
        sort_processes(&mut rows, ProcessSort::Time);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2, 3, 1]);
        sort_processes(&mut rows, ProcessSort::TrxAge);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3, 2, 1]);
        assert!(process_matches(&rows[0], "BATCH"));
        assert!(process_matches(&rows[1], "update t"));
        assert!(!process_matches(&rows[2], "update"));
        let mut sys = row(9, 1, None, "system user", None);
        assert!(!is_killable(&sys));
        sys.user = "app".into();
        assert!(is_killable(&sys));
    }
}
