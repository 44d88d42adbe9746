//! The Health pane's inspection views (Replication, Disk and size, Parameters, Backup) drawn into
//! ratatui's TestBackend: the key opens the view, the view asks the backend to read while open,
//! and the read is drawn. Fixed figures and clock, snapshotted by insta at 80x24 and 160x48.

use std::collections::BTreeMap;

use arkc::app::{update, Action, Effect, State};
use arkc::backend::health::views::{HealthViewCommand, HealthViewEvent, Inspection, LiveView};
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::backup::{BackupEntry, BackupLookup, BackupReport};
use arkc::health::params::ParamsReport;
use arkc::health::replication::{
    ChannelError, ChannelStatus, DumpThread, HeartbeatLag, ReplicaHost, ReplicationReport,
};
use arkc::health::sizes::{BinlogTotals, FsSpace, SchemaSize, SizeReport, TableSize};
use arkc::health::{InstanceHealth, Status};
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::support::render::screen;

fn clock(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

/// A poll of replica-1; `sync_binlog` is changed to 0 from the third poll on.
fn poll(i: i64) -> InstanceHealth {
    let mut h = InstanceHealth::down("replica-1", "", clock(i * 2));
    h.status = Status::Up;
    h.error = None;
    h.version = Some("10.11.6-MariaDB".into());
    h.uptime_s = Some(86_400 + i as u64);
    h.max_connections = Some(151);
    h.threads_connected = Some(3);
    h.threads_running = Some(1);
    let sync = if i < 2 { "1" } else { "0" };
    h.monitor.variables = BTreeMap::from([
        ("sync_binlog".to_string(), sync.to_string()),
        ("max_connections".to_string(), "151".to_string()),
    ]);
    h
}

fn state() -> State {
    let config = Config {
        instances: vec![
            InstanceConfig::tcp("primary", "10.0.3.7", 3306),
            InstanceConfig::tcp("replica-1", "10.0.3.8", 3306),
        ],
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    for i in 0..4 {
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::Health(poll(i)))),
        );
    }
    update(&mut state, Action::Tick(clock(8)));
    // The list is worst first: select the replica by name, whatever its place.
    state.selected = 1;
    state
}

/// Open a view by its key (from the instance list), check the backend is asked to read it,
/// then deliver `report`.
fn open(key: Action, live: LiveView, report: Inspection) -> State {
    let mut state = state();
    let effects = update(&mut state, key);
    let watch = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Watch {
        instance: "replica-1".into(),
        view: live,
    }));
    assert!(effects.contains(&watch), "{effects:?}");
    assert!(screen(&state, 80, 24).contains("reading"));
    let event = HealthViewEvent::Inspected {
        instance: "replica-1".into(),
        report,
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::HealthView(event))),
    );
    state
}

fn replication_report() -> ReplicationReport {
    ReplicationReport {
        channels: vec![
            ChannelStatus {
                name: String::new(),
                source: "10.0.3.7:3306".into(),
                source_server_id: Some(1),
                io_running: "Yes".into(),
                sql_running: "No".into(),
                lag_s: None,
                io_state: "Waiting for master to send event".into(),
                read_position: "mysql-bin.000003:4521".into(),
                exec_position: "mysql-bin.000003:3988".into(),
                gtid_mode: "Slave_Pos".into(),
                gtid_received: "0-1-118".into(),
                gtid_executed: "0-1-117".into(),
                last_io_error: None,
                last_sql_error: Some(ChannelError {
                    errno: 1062,
                    message: "Duplicate entry '7' for key 'PRIMARY'".into(),
                }),
            },
            ChannelStatus {
                name: "east".into(),
                source: "10.0.4.2:3306".into(),
                io_running: "Yes".into(),
                sql_running: "Yes".into(),
                lag_s: Some(3),
                gtid_executed: "1-5-900".into(),
                ..ChannelStatus::default()
            },
        ],
        replicas: vec![ReplicaHost {
            server_id: 3,
            host: "replica-2".into(),
            port: Some(3306),
        }],
        dump_threads: vec![DumpThread {
            id: 41,
            user: "repl".into(),
            host: "10.0.3.9:51234".into(),
            time_s: 3_700,
            state: "Master has sent all binlog to slave; waiting for more updates".into(),
        }],
        heartbeat: Some(HeartbeatLag {
            table: "percona.heartbeat".into(),
            server_id: Some(1),
            ts: "2026-11-25T11:59:58.500000".into(),
            lag_s: Some(1.5),
        }),
        gtid_binlog_pos: Some("0-2-12".into()),
        notes: vec![],
    }
}

#[test]
fn replication_view_80x24_and_160x48() {
    let state = open(
        Action::HealthReplication,
        LiveView::Replication,
        Inspection::Replication(replication_report()),
    );
    let small = screen(&state, 80, 24);
    assert!(small.contains("Channels (2)"), "{small}");
    assert!(small.contains("last SQL error 1062"), "{small}");
    assert!(small.contains("1.5 s behind"), "{small}");
    insta::assert_snapshot!("replication_80x24", small);
    let big = screen(&state, 160, 48);
    assert!(big.contains("server_id 3 at replica-2:3306"), "{big}");
    insta::assert_snapshot!("replication_160x48", big);
}

fn size_report() -> SizeReport {
    let table = |s: &str, t: &str, data: u64, index: u64| TableSize {
        schema: s.into(),
        table: t.into(),
        engine: "InnoDB".into(),
        rows: Some(data / 100),
        data_bytes: data,
        index_bytes: index,
        free_bytes: 4 << 20,
    };
    SizeReport {
        datadir: Some("/var/lib/mysql/".into()),
        filesystem: Some(FsSpace {
            total_bytes: 100 << 30,
            avail_bytes: 42 << 30,
        }),
        schemas: vec![
            SchemaSize {
                schema: "shop".into(),
                tables: 12,
                data_bytes: 7 << 30,
                index_bytes: 2 << 30,
            },
            SchemaSize {
                schema: "mysql".into(),
                tables: 31,
                data_bytes: 3 << 20,
                index_bytes: 1 << 20,
            },
        ],
        tables: vec![
            table("shop", "orders", 5 << 30, 1 << 30),
            table("shop", "order_items", 2 << 30, 1 << 30),
            table("mysql", "help_topic", 2 << 20, 1 << 20),
        ],
        binlogs: Some(BinlogTotals {
            count: 14,
            bytes: 3 << 30,
        }),
        notes: vec![],
    }
}

#[test]
fn disk_view_80x24_and_160x48() {
    let state = open(
        Action::HealthDisk,
        LiveView::Sizes,
        Inspection::Sizes(size_report()),
    );
    let small = screen(&state, 80, 24);
    assert!(small.contains("42.0% free"), "{small}");
    assert!(small.contains("14 files, 3.0 GiB"), "{small}");
    assert!(small.contains("shop.orders"), "{small}");
    insta::assert_snapshot!("disk_80x24", small);
    insta::assert_snapshot!("disk_160x48", screen(&state, 160, 48));
}

#[test]
fn parameters_view_highlights_drift_and_lists_changes() {
    let vars = BTreeMap::from([
        ("sync_binlog".to_string(), "0".to_string()),
        ("max_connections".to_string(), "151".to_string()),
        (
            "innodb_flush_log_at_trx_commit".to_string(),
            "1".to_string(),
        ),
    ]);
    let baseline = BTreeMap::from([
        ("sync_binlog".to_string(), "1".to_string()),
        ("max_connections".to_string(), "151".to_string()),
    ]);
    let report = ParamsReport::new(vars, Some(("baseline.toml".into(), baseline)));
    let state = open(
        Action::HealthParameters,
        LiveView::Parameters,
        Inspection::Parameters(report),
    );
    let small = screen(&state, 80, 24);
    assert!(
        small.contains("Baseline baseline.toml: 1 differ"),
        "{small}"
    );
    assert!(small.contains("Changes seen while running (1)"), "{small}");
    assert!(
        small.contains("2026-11-25 12:00:04 sync_binlog: 1 -> 0"),
        "{small}"
    );
    insta::assert_snapshot!("parameters_80x24", small);
    insta::assert_snapshot!("parameters_160x48", screen(&state, 160, 48));
}

#[test]
fn backup_view_says_where_it_looked() {
    let mut lookup = BackupLookup::default();
    lookup.add_absent("PERCONA_SCHEMA.xtrabackup_history");
    lookup.add_source(
        "mysql.mariadb_backup_history",
        Some(clock(-30 * 3600)),
        clock(0),
    );
    lookup.add_absent("arkc backup history");
    let report = BackupReport {
        lookup,
        recent: vec![BackupEntry {
            source: "mysql.mariadb_backup_history".into(),
            tool: "mariabackup".into(),
            started_at: Some(clock(-30 * 3600 - 600)),
            ended_at: Some(clock(-30 * 3600)),
            detail: "full".into(),
        }],
        notes: vec![],
    };
    let state = open(
        Action::HealthBackup,
        LiveView::Backups,
        Inspection::Backups(report),
    );
    let small = screen(&state, 80, 24);
    assert!(small.contains("(1d 6h ago)"), "{small}");
    assert!(
        small.contains("Not present here: PERCONA_SCHEMA.xtrabackup_history"),
        "{small}"
    );
    insta::assert_snapshot!("backup_80x24", small);
    insta::assert_snapshot!("backup_160x48", screen(&state, 160, 48));
    // Nothing anywhere: the row names where it looked.
    let mut none = BackupLookup::default();
    none.add_absent("mysql.mariadb_backup_history");
    let empty = open(
        Action::HealthBackup,
        LiveView::Backups,
        Inspection::Backups(BackupReport {
            lookup: none,
            ..BackupReport::default()
        }),
    );
    let s = screen(&empty, 80, 24);
    assert!(
        s.contains("nothing found: looked in mysql.mariadb_backup_history"),
        "{s}"
    );
}

#[test]
fn tab_reaches_the_new_views_and_esc_stops_the_reads() {
    let mut state = state();
    update(&mut state, Action::Confirm);
    for _ in 0..3 {
        update(&mut state, Action::NextPane);
    }
    assert!(screen(&state, 160, 48).contains(" Replication "));
    let effects = update(&mut state, Action::NextPane);
    let disk = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Watch {
        instance: "replica-1".into(),
        view: LiveView::Sizes,
    }));
    assert!(effects.contains(&disk), "{effects:?}");
    let effects = update(&mut state, Action::Cancel);
    let stop = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Stop));
    assert!(effects.contains(&stop), "{effects:?}");
}
