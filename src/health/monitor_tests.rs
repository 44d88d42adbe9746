//! Tests of the monitoring figures, lock chains, deadlock parsing, alert rules and parameter
//! diffing, from outputs captured on a real MariaDB 10.11 (see fixtures/README.md).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::alert_state::{default_rules, AlertBook, AlertState};
use super::deadlock::parse_latest_deadlock;
use super::innodb::*;
use super::locks::*;
use super::params::{diff_against_baseline, ParamWatch};
use super::rules::{AlertFacts, BackupFact, RuleId, Severity};
use super::{Replication, StatusSnapshot};

const MARIADB_STATUS: &str = include_str!("fixtures/mariadb_10_11_global_status.tsv");
const MARIADB_VARIABLES: &str = include_str!("fixtures/mariadb_10_11_global_variables.tsv");
const MARIADB_DEADLOCK: &str = include_str!("fixtures/mariadb_10_11_deadlock_status.txt");
const MARIADB_CHAIN: &str = include_str!("fixtures/mariadb_10_11_lock_chain_status.txt");
const MYSQL8_DEADLOCK: &str = include_str!("fixtures/mysql_8_deadlock_section.txt");

fn tsv(text: &str) -> HashMap<String, String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap()
}

#[test]
fn mariadb_figures_from_real_status() {
    let snap = StatusSnapshot {
        taken_at: Some(t0()),
        status: tsv(MARIADB_STATUS),
        variables: tsv(MARIADB_VARIABLES).into_iter().collect(),
        ..Default::default()
    };
    let f = innodb_figures(None, &snap);
    // 1615 requests, 165 from disk.
    let hit = f.buffer_pool_hit_pct.unwrap();
    assert!((hit - 100.0 * (1.0 - 165.0 / 1615.0)).abs() < 1e-9, "{hit}");
    // 28 dirty of 8112 pages.
    assert!((f.dirty_pages_pct.unwrap() - 100.0 * 28.0 / 8112.0).abs() < 1e-9);
    assert_eq!(f.history_list_length, Some(0));
    // Innodb_checkpoint_age 5025 of innodb_log_file_size 100663296.
    let age = f.checkpoint_age_pct.unwrap();
    assert!((age - 100.0 * 5025.0 / 100_663_296.0).abs() < 1e-9, "{age}");
    assert_eq!(f.row_lock_waits, Some(3));
    assert_eq!(f.deadlocks, Some(1));
}

#[test]
fn hit_ratio_uses_the_interval_when_there_were_requests() {
    let at = |ms, req: &str, reads: &str| StatusSnapshot {
        taken_at: Some(t0() + Duration::milliseconds(ms)),
        status: map(&[
            ("Innodb_buffer_pool_read_requests", req),
            ("Innodb_buffer_pool_reads", reads),
        ]),
        ..Default::default()
    };
    let a = at(0, "1000", "500");
    let b = at(1000, "2000", "510");
    assert_eq!(buffer_pool_hit_pct(Some(&a), &b), Some(99.0));
    // An idle interval falls back to the lifetime ratio.
    assert_eq!(buffer_pool_hit_pct(Some(&b), &b), Some(74.5));
    // A server that never read anything has no ratio.
    assert_eq!(buffer_pool_hit_pct(None, &at(0, "0", "0")), None);
}

#[test]
fn history_list_falls_back_to_innodb_metrics() {
    let metrics: HashMap<String, u64> = [("trx_rseg_history_len".to_string(), 73_412)].into();
    assert_eq!(history_list_length(&HashMap::new(), &metrics), Some(73_412));
    let status = map(&[("Innodb_history_list_length", "12")]);
    assert_eq!(history_list_length(&status, &metrics), Some(12));
    assert_eq!(history_list_length(&HashMap::new(), &HashMap::new()), None);
}

#[test]
fn checkpoint_age_on_mysql_8_0_30_uses_redo_lsns_and_capacity() {
    let status = map(&[
        ("Innodb_redo_log_current_lsn", "1073741824"),
        ("Innodb_redo_log_checkpoint_lsn", "1006632960"),
    ]);
    let vars: BTreeMap<String, String> = map(&[
        ("innodb_redo_log_capacity", "104857600"),
        ("innodb_log_file_size", "50331648"),
    ])
    .into_iter()
    .collect();
    // 64 MiB of 100 MiB.
    assert_eq!(checkpoint_age_pct(&status, &vars, None), Some(64.0));
}

#[test]
fn checkpoint_age_on_old_mysql_parses_the_log_section() {
    let log = parse_log_section(MARIADB_CHAIN).unwrap();
    assert_eq!(
        log,
        LogSection {
            log_sequence_number: 49265,
            last_checkpoint: 44744
        }
    );
    let vars: BTreeMap<String, String> = map(&[
        ("innodb_log_file_size", "50331648"),
        ("innodb_log_files_in_group", "2"),
    ])
    .into_iter()
    .collect();
    let pct = checkpoint_age_pct(&HashMap::new(), &vars, Some(&log)).unwrap();
    assert!((pct - 100.0 * 4521.0 / 100_663_296.0).abs() < 1e-9);
    // No capacity known: no figure rather than a wrong one.
    assert_eq!(
        checkpoint_age_pct(&HashMap::new(), &BTreeMap::new(), Some(&log)),
        None
    );
    // MySQL 5.1's two-halves LSN.
    let old = "Log sequence number 0 2719543\nLast checkpoint at  0 2719500\n";
    assert_eq!(
        parse_log_section(old).unwrap().log_sequence_number,
        2_719_543
    );
    assert_eq!(parse_log_section("no log here"), None);
}

#[test]
fn dml_rates_per_statement_type() {
    let a = StatusSnapshot {
        taken_at: Some(t0()),
        status: map(&[
            ("Com_select", "100"),
            ("Com_insert", "10"),
            ("Com_update", "0"),
        ]),
        ..Default::default()
    };
    let b = StatusSnapshot {
        taken_at: Some(t0() + Duration::seconds(2)),
        status: map(&[
            ("Com_select", "300"),
            ("Com_insert", "16"),
            ("Com_update", "0"),
        ]),
        ..Default::default()
    };
    let r = dml_rates(Some(&a), &b);
    assert_eq!(
        (r.select, r.insert, r.update, r.delete),
        (Some(100.0), Some(3.0), Some(0.0), None)
    );
}

fn trx(id: &str, conn: u64, query: Option<&str>, wait_s: Option<u64>) -> TrxInfo {
    TrxInfo {
        trx_id: id.into(),
        connection_id: conn,
        query: query.map(str::to_string),
        age_s: Some(10 + conn),
        wait_s,
    }
}

fn edge(waiting: &str, blocking: &str) -> WaitEdge {
    WaitEdge {
        waiting_trx: waiting.into(),
        blocking_trx: blocking.into(),
        table: Some("`shop`.`t`".into()),
        lock_mode: Some("X".into()),
    }
}

/// The rows INNODB_LOCK_WAITS / INNODB_TRX gave for the captured chain: connection 8 (trx 27)
/// holds id=1; 9 (trx 28) holds id=2 and waits on 8; 10 (trx 29) waits on 9.
fn captured_chain() -> (Vec<TrxInfo>, Vec<WaitEdge>) {
    (
        vec![
            trx("29", 10, Some("update t set v=300 where id=2"), Some(1)),
            trx("28", 9, Some("update t set v=200 where id=1"), Some(1)),
            trx("27", 8, None, None),
        ],
        vec![edge("29", "28"), edge("28", "27")],
    )
}

#[test]
fn three_session_chain_names_the_head_as_root_blocker() {
    let (t, e) = captured_chain();
    let chains = build_lock_chains(&t, &e);
    let of = |w: u64| chains.waits.iter().find(|x| x.waiting_id == w).unwrap();
    assert_eq!(of(10).blocking_id, 9);
    assert_eq!(of(10).root_blocker_id, Some(8));
    assert_eq!(of(9).root_blocker_id, Some(8));
    assert_eq!(
        of(10).blocking_query.as_deref(),
        Some("update t set v=200 where id=1")
    );
    assert_eq!(chains.roots.len(), 1);
    assert_eq!(chains.roots[0].id, 8);
    assert_eq!(chains.roots[0].blocked_sessions, 2);
    assert_eq!(chains.roots[0].trx_age_s, Some(18));
}

#[test]
fn a_cycle_has_no_root_and_vanished_transactions_are_dropped() {
    let t = vec![trx("1", 1, None, Some(2)), trx("2", 2, None, Some(2))];
    let chains = build_lock_chains(&t, &[edge("1", "2"), edge("2", "1"), edge("1", "99")]);
    assert_eq!(chains.waits.len(), 2);
    assert!(chains.waits.iter().all(|w| w.root_blocker_id.is_none()));
    assert!(chains.roots.is_empty());
}

#[test]
fn two_roots_pick_the_one_blocking_more() {
    // 3 waits on 1 (shared lock) and on 2; 4 waits on 2.
    let t: Vec<TrxInfo> = (1..=4)
        .map(|i| trx(&i.to_string(), i, None, Some(1)))
        .collect();
    let chains = build_lock_chains(&t, &[edge("3", "1"), edge("3", "2"), edge("4", "2")]);
    let three = chains.waits.iter().find(|w| w.waiting_id == 3).unwrap();
    assert_eq!(three.root_blocker_id, Some(2));
    assert_eq!(chains.roots[0].id, 2);
    assert_eq!(chains.roots[0].blocked_sessions, 2);
}

#[test]
fn metadata_waiters_are_matched_to_holders_of_their_table() {
    let waiters = vec![MetadataWaiter {
        connection_id: 12,
        state: "Waiting for table metadata lock".into(),
        query: Some("ALTER TABLE t ADD COLUMN c INT".into()),
        wait_s: Some(4),
        schema: Some("shop".into()),
    }];
    let holders = vec![
        MetadataHolder {
            connection_id: 11,
            lock_mode: "MDL_SHARED_WRITE".into(),
            schema: "shop".into(),
            table: "t".into(),
            query: None,
        },
        MetadataHolder {
            connection_id: 13,
            lock_mode: "MDL_SHARED_READ".into(),
            schema: "shop".into(),
            table: "t2".into(),
            query: None,
        },
        MetadataHolder {
            connection_id: 12,
            lock_mode: "MDL_SHARED_UPGRADABLE".into(),
            schema: "shop".into(),
            table: "t".into(),
            query: None,
        },
    ];
    let w = metadata_waits(&waiters, &holders);
    assert_eq!(w[0].blocking_ids, vec![11]);
    assert_eq!(w[0].table.as_deref(), Some("`shop`.`t`"));
    // Without readable holders the wait is still listed.
    assert!(metadata_waits(&waiters, &[])[0].blocking_ids.is_empty());
}

#[test]
fn mariadb_deadlock_is_parsed_from_real_status() {
    let d = parse_latest_deadlock(MARIADB_DEADLOCK).unwrap();
    assert_eq!(d.at, "2026-12-01 14:08:37");
    assert_eq!(d.transactions.len(), 2);
    let (a, b) = (&d.transactions[0], &d.transactions[1]);
    assert_eq!(a.trx_id.as_deref(), Some("24"));
    assert_eq!(a.active_s, Some(2));
    assert_eq!(a.connection_id, Some(6));
    assert_eq!(
        (a.host.as_deref(), a.user.as_deref()),
        (Some("localhost"), Some("root"))
    );
    assert_eq!(a.query.as_deref(), Some("update t set v=20 where id=1"));
    assert_eq!(a.waiting_table.as_deref(), Some("`shop`.`t`"));
    assert_eq!(a.waiting_index.as_deref(), Some("PRIMARY"));
    assert_eq!(
        a.waiting_lock_mode.as_deref(),
        Some("X locks rec but not gap")
    );
    assert!(a.rolled_back);
    assert_eq!(b.connection_id, Some(5));
    assert_eq!(b.query.as_deref(), Some("update t set v=10 where id=2"));
    assert!(!b.rolled_back);
    // MariaDB prints the other side's lock as "CONFLICTING WITH", not as held locks.
    assert!(a.held_tables.is_empty());
}

#[test]
fn mysql_8_deadlock_with_held_locks() {
    let d = parse_latest_deadlock(MYSQL8_DEADLOCK).unwrap();
    assert_eq!(d.at, "2022-11-25 15:58:22 139815661168384");
    let (a, b) = (&d.transactions[0], &d.transactions[1]);
    assert_eq!(a.connection_id, Some(15));
    assert_eq!(a.user.as_deref(), Some("u2"));
    assert_eq!(a.held_tables, vec!["`test`.`Animals`".to_string()]);
    assert_eq!(a.waiting_table.as_deref(), Some("`test`.`Birds`"));
    assert_eq!(b.held_tables, vec!["`test`.`Birds`".to_string()]);
    assert!(b.rolled_back && !a.rolled_back);
    assert_eq!(
        b.query.as_deref(),
        Some("UPDATE Animals SET value=40 WHERE name='Aardvark'")
    );
}

#[test]
fn no_deadlock_section_means_none() {
    // The chain capture came from the same server after the deadlock: it still lists it.
    assert_eq!(
        parse_latest_deadlock(MARIADB_CHAIN)
            .unwrap()
            .transactions
            .len(),
        2
    );
    let without = MARIADB_CHAIN.replace("LATEST DETECTED DEADLOCK", "SOMETHING ELSE");
    assert_eq!(parse_latest_deadlock(&without), None);
    assert_eq!(parse_latest_deadlock(""), None);
}

fn up_facts() -> AlertFacts {
    AlertFacts {
        up: true,
        uptime_s: Some(86_400),
        threads_connected: Some(10),
        threads_running: Some(2),
        max_connections: Some(100),
        replication: Some(None),
        ..Default::default()
    }
}

#[test]
fn pending_then_firing_then_resolved_with_since_times() {
    let rules = default_rules();
    let mut book = AlertBook::new();
    let busy = AlertFacts {
        threads_connected: Some(90),
        ..up_facts()
    };
    assert!(book.observe("db", &busy, &rules, t0()).is_empty());
    let a = &book.alerts_of("db")[0];
    assert_eq!(
        (a.rule, a.state, a.since),
        (RuleId::ConnectionsHigh, AlertState::Pending, t0())
    );
    assert!(
        a.summary.contains("90 of max_connections 100"),
        "{}",
        a.summary
    );
    // Still pending before `for` (2m) elapses.
    let t1 = t0() + Duration::seconds(119);
    assert!(book.observe("db", &busy, &rules, t1).is_empty());
    assert_eq!(book.alerts_of("db")[0].state, AlertState::Pending);
    let t2 = t0() + Duration::seconds(120);
    let fired = book.observe("db", &busy, &rules, t2);
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].state, fired[0].since, fired[0].started),
        (AlertState::Firing, t2, t0())
    );
    assert_eq!(book.firing_count(), 1);
    // Firing stays firing, since unchanged, and is not reported again.
    assert!(book
        .observe("db", &busy, &rules, t2 + Duration::seconds(5))
        .is_empty());
    assert_eq!(book.alerts_of("db")[0].since, t2);
    let t3 = t2 + Duration::seconds(30);
    let resolved = book.observe("db", &up_facts(), &rules, t3);
    assert_eq!(
        (resolved[0].state, resolved[0].since),
        (AlertState::Resolved, t3)
    );
    assert_eq!(book.firing_count(), 0);
    // Resolved alerts are kept for an hour, then dropped.
    book.observe("db", &up_facts(), &rules, t3 + Duration::minutes(61));
    assert!(book.alerts_of("db").is_empty());
}

#[test]
fn a_condition_that_clears_while_pending_never_fires_or_resolves() {
    let rules = default_rules();
    let mut book = AlertBook::new();
    let busy = AlertFacts {
        threads_connected: Some(90),
        ..up_facts()
    };
    book.observe("db", &busy, &rules, t0());
    assert!(book
        .observe("db", &up_facts(), &rules, t0() + Duration::seconds(10))
        .is_empty());
    assert!(book.alerts_of("db").is_empty());
}

#[test]
fn down_fires_at_once_and_other_rules_keep_their_state() {
    let rules = default_rules();
    let mut book = AlertBook::new();
    let lagging = AlertFacts {
        replication: Some(Some(Replication {
            role: "replica".into(),
            io_running: true,
            sql_running: false,
            lag_s: None,
        })),
        ..up_facts()
    };
    let fired = book.observe("r1", &lagging, &rules, t0());
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].rule, RuleId::ReplicationSqlStopped);
    assert_eq!(fired[0].severity, Severity::Critical);
    let down = AlertFacts {
        up: false,
        error: Some("no answer within 2.5s".into()),
        ..Default::default()
    };
    let fired = book.observe("r1", &down, &rules, t0() + Duration::seconds(1));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].rule, RuleId::InstanceDown);
    assert!(fired[0].summary.contains("no answer"));
    // Unknown replication state while down: the SQL alert is neither resolved nor dropped.
    let rules_of: Vec<RuleId> = book.alerts_of("r1").iter().map(|a| a.rule).collect();
    assert_eq!(
        rules_of,
        vec![RuleId::InstanceDown, RuleId::ReplicationSqlStopped]
    );
    assert_eq!(book.worst_firing("r1").unwrap().rule, RuleId::InstanceDown);
}

#[test]
fn deadlocks_count_new_ones_in_the_window() {
    let rules = default_rules();
    let mut book = AlertBook::new();
    let with = |n| AlertFacts {
        deadlocks_total: Some(n),
        ..up_facts()
    };
    assert!(book.observe("db", &with(4), &rules, t0()).is_empty());
    let fired = book.observe("db", &with(5), &rules, t0() + Duration::seconds(1));
    assert_eq!(fired[0].rule, RuleId::Deadlocks);
    assert!(fired[0].summary.starts_with("1 new deadlock"));
    // Past the window without new ones: resolved.
    let later = t0() + Duration::minutes(7);
    book.observe("db", &with(5), &rules, later - Duration::minutes(1));
    let resolved = book.observe("db", &with(5), &rules, later);
    assert_eq!(resolved[0].state, AlertState::Resolved);
}

#[test]
fn every_rule_judges_its_fact() {
    let rules = default_rules();
    let facts = AlertFacts {
        uptime_s: Some(12),
        threads_connected: Some(95),
        threads_running: Some(70),
        replication: Some(Some(Replication {
            role: "replica".into(),
            io_running: false,
            sql_running: true,
            lag_s: Some(45),
        })),
        history_list_length: Some(80_000),
        checkpoint_age_pct: Some(91.0),
        longest_lock_wait: Some((42, 31)),
        datadir_free_pct: Some(4.0),
        backup: Some(BackupFact::LastSuccessAge(27 * 3600)),
        parameter_drift: Some(vec!["sync_binlog".into()]),
        ..up_facts()
    };
    let mut book = AlertBook::new();
    let now = t0() + Duration::minutes(10);
    book.observe("db", &facts, &rules, t0());
    book.observe("db", &facts, &rules, now);
    let firing: Vec<&str> = book
        .alerts_of("db")
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.rule.id())
        .collect();
    for id in [
        "restarted",
        "connections_high",
        "threads_running_high",
        "replication_io_stopped",
        "replication_lag",
        "history_list_long",
        "checkpoint_age_high",
        "lock_waits",
        "disk_low",
        "backup_stale",
        "parameter_drift",
    ] {
        assert!(firing.contains(&id), "{id} should fire: {firing:?}");
    }
    assert!(!firing.contains(&"replication_sql_stopped"));
    assert!(!firing.contains(&"instance_down"));
}

#[test]
fn backup_stale_is_silent_without_a_source() {
    let rules = default_rules();
    let mut book = AlertBook::new();
    let facts = AlertFacts {
        backup: Some(BackupFact::NoSource),
        ..up_facts()
    };
    book.observe("db", &facts, &rules, t0());
    assert!(book.alerts_of("db").is_empty());
}

#[test]
fn disabled_rules_and_overrides_apply() {
    let mut rules = default_rules();
    rules.get_mut(&RuleId::ConnectionsHigh).unwrap().threshold = 95.0;
    rules.get_mut(&RuleId::Restarted).unwrap().enabled = false;
    let facts = AlertFacts {
        uptime_s: Some(5),
        threads_connected: Some(90),
        ..up_facts()
    };
    let mut book = AlertBook::new();
    book.observe("db", &facts, &rules, t0());
    assert!(book.alerts_of("db").is_empty());
}

#[test]
fn rule_ids_are_stable_and_round_trip() {
    for r in RuleId::ALL {
        assert_eq!(RuleId::from_id(r.id()), Some(r));
        assert_eq!(serde_json::to_value(r).unwrap(), r.id());
    }
    assert_eq!(RuleId::from_id("nope"), None);
}

#[test]
fn baseline_diff_compares_as_the_server_means() {
    let baseline: BTreeMap<String, String> = [
        ("sync_binlog", "1"),
        ("innodb_flush_log_at_trx_commit", "1"),
        ("log_bin", "ON"),
        ("binlog_format", "ROW"),
        ("innodb_doublewrite", "ON"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let current = tsv(MARIADB_VARIABLES);
    let diffs = diff_against_baseline(&baseline, &current);
    let names: Vec<&str> = diffs.iter().map(|d| d.name.as_str()).collect();
    // The captured server runs with sync_binlog=0, log_bin OFF, binlog_format MIXED.
    assert_eq!(
        names,
        vec!["binlog_format", "log_bin", "sync_binlog"],
        "{diffs:?}"
    );
    let missing = diff_against_baseline(
        &[("no_such_var".to_string(), "1".to_string())].into(),
        &current,
    );
    assert_eq!(missing[0].actual, None);
}

#[test]
fn parameter_changes_are_seen_between_reads() {
    let mut w = ParamWatch::default();
    let read = |pairs| map(pairs).into_iter().collect();
    assert!(w
        .observe(&read(&[("max_connections", "151")]), t0())
        .is_empty());
    let later = t0() + Duration::seconds(3);
    let changes = w.observe(&read(&[("max_connections", "500")]), later);
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].old.as_str(),
            changes[0].new.as_str(),
            changes[0].at
        ),
        ("151", "500", later)
    );
    assert_eq!(w.changes.len(), 1);
}
