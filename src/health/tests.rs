use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn snap(at_ms: i64, status: &[(&str, &str)]) -> StatusSnapshot {
    StatusSnapshot {
        taken_at: Some(t0() + Duration::milliseconds(at_ms)),
        status: status
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        variables: Variables::default(),
        ..StatusSnapshot::default()
    }
}

#[test]
fn qps_and_tps_are_counter_deltas_over_elapsed_time() {
    let a = snap(
        0,
        &[
            ("Uptime", "100"),
            ("Questions", "1000"),
            ("Com_commit", "10"),
            ("Com_rollback", "2"),
        ],
    );
    let b = snap(
        2000,
        &[
            ("Uptime", "102"),
            ("Questions", "1500"),
            ("Com_commit", "50"),
            ("Com_rollback", "4"),
        ],
    );
    let h = health_from("db", Some(&a), &b);
    assert_eq!(h.qps, Some(250.0));
    assert_eq!(h.tps, Some(21.0)); // (54 - 12) / 2
    assert_eq!(h.uptime_s, Some(102));
    assert_eq!(h.status, Status::Up);
}

#[test]
fn first_snapshot_has_no_rates() {
    let a = snap(0, &[("Uptime", "100"), ("Questions", "1000")]);
    assert_eq!(health_from("db", None, &a).qps, None);
}

#[test]
fn restart_inside_the_interval_rates_from_uptime() {
    let before = snap(0, &[("Uptime", "5000"), ("Questions", "900000")]);
    let after = snap(10_000, &[("Uptime", "4"), ("Questions", "80")]);
    assert_eq!(
        counter_rate(Some(&before), &after, QPS_COUNTERS),
        Some(20.0)
    );
}

#[test]
fn counter_that_went_backwards_without_known_uptime_is_unknown() {
    let before = snap(0, &[("Questions", "900")]);
    let after = snap(1000, &[("Questions", "10")]);
    assert_eq!(counter_rate(Some(&before), &after, QPS_COUNTERS), None);
}

#[test]
fn restart_long_before_the_interval_is_not_trusted() {
    // Uptime dropped but is longer than the interval: the samples are inconsistent.
    let before = snap(0, &[("Uptime", "5000"), ("Questions", "900")]);
    let after = snap(1000, &[("Uptime", "300"), ("Questions", "10")]);
    assert_eq!(counter_rate(Some(&before), &after, QPS_COUNTERS), None);
}

#[test]
fn zero_or_negative_interval_gives_no_rate() {
    let a = snap(1000, &[("Questions", "1")]);
    let b = snap(1000, &[("Questions", "5")]);
    assert_eq!(counter_rate(Some(&a), &b, QPS_COUNTERS), None);
    let earlier = snap(0, &[("Questions", "9")]);
    assert_eq!(counter_rate(Some(&a), &earlier, QPS_COUNTERS), None);
}

#[test]
fn missing_or_garbage_counter_gives_no_rate() {
    let a = snap(0, &[("Com_commit", "1")]);
    let b = snap(1000, &[("Com_commit", "5"), ("Com_rollback", "x")]);
    assert_eq!(counter_rate(Some(&a), &b, TPS_COUNTERS), None);
}

#[test]
fn gauges_and_variables_are_read() {
    let mut s = snap(0, &[("Threads_connected", "12"), ("Threads_running", "3")]);
    s.variables.insert("max_connections".into(), "151".into());
    s.variables
        .insert("version".into(), "10.11.6-MariaDB".into());
    s.variables.insert("read_only".into(), "ON".into());
    let h = health_from("db", None, &s);
    assert_eq!(
        (h.threads_connected, h.threads_running, h.max_connections),
        (Some(12), Some(3), Some(151))
    );
    assert_eq!(h.version.as_deref(), Some("10.11.6-MariaDB"));
    assert_eq!(h.read_only, Some(true));
    assert_eq!(h.sampled_at, t0());
}

#[test]
fn tracker_uses_the_previous_snapshot_and_forgets_it_on_failure() {
    let mut tr = HealthTracker::new("db");
    assert_eq!(tr.observe(snap(0, &[("Questions", "10")])).qps, None);
    assert_eq!(
        tr.observe(snap(1000, &[("Questions", "30")])).qps,
        Some(20.0)
    );
    let down = tr.observe_failure("Connection refused", t0());
    assert_eq!(down.status, Status::Down);
    assert_eq!(down.error.as_deref(), Some("Connection refused"));
    assert_eq!(tr.observe(snap(5000, &[("Questions", "100")])).qps, None);
}

fn row(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn replication_state_from_one_row() {
    let r = replication_from_rows(&[row(&[
        ("Slave_IO_Running", "Yes"),
        ("Slave_SQL_Running", "Yes"),
        ("Seconds_Behind_Master", "7"),
    ])])
    .unwrap();
    assert_eq!(
        r,
        Replication {
            role: "replica".into(),
            io_running: true,
            sql_running: true,
            lag_s: Some(7)
        }
    );
}

#[test]
fn no_rows_means_not_a_replica() {
    assert_eq!(replication_from_rows(&[]), None);
}

#[test]
fn stopped_io_thread_has_null_lag() {
    let r = replication_from_rows(&[row(&[
        ("Slave_IO_Running", "Connecting"),
        ("Slave_SQL_Running", "Yes"),
    ])])
    .unwrap();
    assert!(!r.io_running);
    assert!(r.sql_running);
    assert_eq!(r.lag_s, None);
}

#[test]
fn multi_source_takes_the_worst_connection() {
    let ok = row(&[
        ("Slave_IO_Running", "Yes"),
        ("Slave_SQL_Running", "Yes"),
        ("Seconds_Behind_Master", "2"),
    ]);
    let slow = row(&[
        ("Slave_IO_Running", "Yes"),
        ("Slave_SQL_Running", "No"),
        ("Seconds_Behind_Master", "40"),
    ]);
    let r = replication_from_rows(&[ok, slow]).unwrap();
    assert!(r.io_running);
    assert!(!r.sql_running);
    assert_eq!(r.lag_s, Some(40));
}

/// Every status counter the formulas read is in the list a poll asks for (a counter left out
/// would silently read as unknown).
#[test]
fn polls_read_every_status_counter_the_formulas_use() {
    let sources = [include_str!("formulas.rs"), include_str!("innodb.rs")];
    let mut used = Vec::new();
    for text in sources {
        for quoted in text.split('"').skip(1).step_by(2) {
            let counter = ["Innodb_", "Com_", "Threads_", "Uptime", "Questions"]
                .iter()
                .any(|p| quoted.starts_with(p));
            if counter
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                used.push(quoted.to_string());
            }
        }
    }
    assert!(used.len() >= 15, "found {used:?}");
    for name in used {
        assert!(STATUS_VARIABLES.contains(&name.as_str()), "{name} missing");
    }
}
