//! The Health pane's per-instance views drawn into ratatui's TestBackend: `enter` on an instance
//! opens its Dashboard (figures and sparklines from ten polls), `tab` the Alerts view, `esc` goes
//! back to the list. Fixed figures and clock, snapshotted by insta at 80x24 and 160x48.

use arkc::app::{update, Action, Effect, State};
use arkc::backend::health::locks::LocksReport;
use arkc::backend::health::views::{HealthViewCommand, HealthViewEvent, LiveView};
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::backup::BackupLookup;
use arkc::health::locks::{build_lock_chains, TrxInfo, WaitEdge};
use arkc::health::processlist::ProcessRow;
use arkc::health::{InstanceHealth, Replication, Status};
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::support::render::screen;

fn clock(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

/// A replica whose SQL thread stopped at poll 6, with InnoDB and disk figures.
fn poll(i: i64) -> InstanceHealth {
    let mut h = InstanceHealth::down("replica-1", "", clock(i * 2));
    h.status = Status::Up;
    h.error = None;
    h.version = Some("10.11.6-MariaDB-0+deb12u1-log".into());
    h.uptime_s = Some(3 * 86_400 + i as u64 * 2);
    h.qps = Some(1000.0 + 150.0 * (i % 4) as f64);
    h.tps = Some(50.0 + 10.0 * i as f64);
    h.threads_connected = Some(40);
    h.threads_running = Some(3 + (i % 3) as u64);
    h.max_connections = Some(151);
    h.dml.select = Some(820.5);
    h.dml.insert = Some(40.0);
    h.dml.update = Some(12.25);
    h.dml.delete = Some(1.0);
    h.innodb.buffer_pool_hit_pct = Some(99.87);
    h.innodb.dirty_pages_pct = Some(0.35);
    h.innodb.history_list_length = Some(1_234);
    h.innodb.checkpoint_age_pct = Some(4.99);
    h.innodb.row_lock_waits = Some(3);
    h.innodb.deadlocks = Some(1);
    h.monitor.disk.datadir_free_pct = Some(42.5);
    h.monitor.disk.binlog_bytes = Some(3 * 1024 * 1024 + 512 * 1024);
    let mut backup = BackupLookup::default();
    backup.add_absent("mysql.mariadb_backup_history");
    backup.add_absent("PERCONA_SCHEMA.xtrabackup_history");
    h.monitor.backup = Some(backup);
    h.replication = Some(Replication {
        role: "replica".into(),
        io_running: true,
        sql_running: i < 6,
        lag_s: if i < 6 { Some(0) } else { None },
    });
    h
}

fn state_with_view() -> State {
    let config = Config {
        instances: vec![
            InstanceConfig::tcp("primary", "10.0.3.7", 3306),
            InstanceConfig::tcp("replica-1", "10.0.3.8", 3306),
        ],
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    for i in 0..10 {
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::Health(poll(i)))),
        );
    }
    update(&mut state, Action::Tick(clock(20)));
    // Worst first: the replica, with firing alerts, heads the list.
    update(&mut state, Action::Top);
    update(&mut state, Action::Confirm);
    state
}

#[test]
fn dashboard_80x24() {
    let s = screen(&state_with_view(), 80, 24);
    assert!(s.contains("replica-1 · 1 firing"), "{s}");
    assert!(s.contains("hit 99.9%"), "{s}");
    assert!(
        s.contains("1234") || s.contains("1,234") || s.contains("1.2k"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn dashboard_160x48() {
    let s = screen(&state_with_view(), 160, 48);
    assert!(s.contains("QPS"), "{s}");
    assert!(
        s.contains("nothing found: looked in mysql.mariadb_backup_history"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn alerts_view_80x24_and_160x48() {
    let mut state = state_with_view();
    update(&mut state, Action::PrevPane);
    let small = screen(&state, 80, 24);
    assert!(small.contains("replication_sql_stopped"), "{small}");
    assert!(small.contains("firing"), "{small}");
    insta::assert_snapshot!("alerts_80x24", small);
    insta::assert_snapshot!("alerts_160x48", screen(&state, 160, 48));
}

#[test]
fn esc_goes_back_to_the_list() {
    let mut state = state_with_view();
    update(&mut state, Action::Cancel);
    let s = screen(&state, 80, 24);
    assert!(
        s.contains("primary") && !s.contains("tab: next view"),
        "{s}"
    );
}

/// The three-session chain of the sandbox test: 8 holds, 9 waits on 8 and holds what 10 wants.
fn chain_report() -> LocksReport {
    let trx = |id: &str, conn, q: Option<&str>, wait| TrxInfo {
        trx_id: id.into(),
        connection_id: conn,
        query: q.map(str::to_string),
        age_s: Some(40 - conn),
        wait_s: wait,
    };
    let edge = |w: &str, b: &str| WaitEdge {
        waiting_trx: w.into(),
        blocking_trx: b.into(),
        table: Some("`shop`.`t`".into()),
        lock_mode: Some("X".into()),
    };
    let chains = build_lock_chains(
        &[
            trx(
                "29",
                10,
                Some("UPDATE shop.t SET v = 30 WHERE id = 2"),
                Some(12),
            ),
            trx(
                "28",
                9,
                Some("UPDATE shop.t SET v = 21 WHERE id = 1"),
                Some(14),
            ),
            trx("27", 8, None, None),
        ],
        &[edge("29", "28"), edge("28", "27")],
    );
    LocksReport {
        waits: chains.waits,
        root_blockers: chains.roots,
        notes: vec!["metadata lock holders need MariaDB's metadata_lock_info plugin".into()],
        ..LocksReport::default()
    }
}

#[test]
fn locks_view_asks_the_backend_and_shows_the_root_blocker() {
    let mut state = state_with_view();
    update(&mut state, Action::NextPane);
    let effects = update(&mut state, Action::NextPane);
    let watch = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Watch {
        instance: "replica-1".into(),
        view: LiveView::Locks,
    }));
    assert!(effects.contains(&watch), "{effects:?}");
    assert!(screen(&state, 80, 24).contains("reading"));
    let event = HealthViewEvent::Locks {
        instance: "replica-1".into(),
        report: chain_report(),
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::HealthView(event))),
    );
    let small = screen(&state, 80, 24);
    assert!(
        small.contains("ROOT BLOCKER 8 blocks 2 session(s)"),
        "{small}"
    );
    assert!(small.contains("10 waits 12s on 9 (root 8)"), "{small}");
    insta::assert_snapshot!("locks_80x24", small);
    insta::assert_snapshot!("locks_160x48", screen(&state, 160, 48));
    // Leaving the pane stops the reads.
    let effects = update(&mut state, Action::PaneSlowSql);
    let stop = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Stop));
    assert!(effects.contains(&stop), "{effects:?}");
}

#[test]
fn processlist_view_80x24_and_160x48() {
    let mut state = state_with_view();
    update(&mut state, Action::NextPane);
    let row = |id, user: &str, time, trx: Option<u64>, state: Option<&str>, info: Option<&str>| {
        ProcessRow {
            id,
            user: user.into(),
            host: "10.0.3.20:51234".into(),
            db: Some("shop".into()),
            command: if info.is_some() { "Query" } else { "Sleep" }.into(),
            time_s: time,
            state: state.map(str::to_string),
            info: info.map(str::to_string),
            trx_age_s: trx,
            rows_locked: trx.map(|_| 1),
        }
    };
    let event = HealthViewEvent::Processlist {
        instance: "replica-1".into(),
        rows: vec![
            row(8, "app", 40, Some(40), None, None),
            row(
                10,
                "app",
                12,
                Some(12),
                Some("Updating"),
                Some("UPDATE shop.t SET v = 30 WHERE id = 2"),
            ),
            row(
                9,
                "batch",
                14,
                Some(14),
                Some("Updating"),
                Some("UPDATE shop.t SET v = 21 WHERE id = 1"),
            ),
        ],
        note: None,
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::HealthView(event))),
    );
    let small = screen(&state, 80, 24);
    let first = small.find(" 8 app ").unwrap_or(usize::MAX);
    let second = small.find(" 9 batch ").unwrap_or(0);
    assert!(first < second, "sorted by time:\n{small}");
    insta::assert_snapshot!("processlist_80x24", small);
    insta::assert_snapshot!("processlist_160x48", screen(&state, 160, 48));
}

fn to_locks_view_with_chain() -> State {
    let mut state = state_with_view();
    update(&mut state, Action::NextPane);
    update(&mut state, Action::NextPane);
    let event = HealthViewEvent::Locks {
        instance: "replica-1".into(),
        report: chain_report(),
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::HealthView(event))),
    );
    state
}

#[test]
fn killing_the_root_blocker_needs_the_instance_name_typed() {
    let mut state = to_locks_view_with_chain();
    update(&mut state, Action::KillRootBlocker);
    let prompt = screen(&state, 80, 24);
    assert!(
        prompt.contains("kill session 8 on replica-1? type the instance name"),
        "{prompt}"
    );
    for c in "replica-2".chars() {
        update(&mut state, Action::InputChar(c));
    }
    let effects = update(&mut state, Action::Confirm);
    assert!(
        effects.is_empty(),
        "a wrong name kills nothing: {effects:?}"
    );
    assert!(screen(&state, 80, 24).contains("not killed"));

    update(&mut state, Action::KillRootBlocker);
    for c in "replica-1".chars() {
        update(&mut state, Action::InputChar(c));
    }
    let effects = update(&mut state, Action::Confirm);
    let kill = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Kill {
        instance: "replica-1".into(),
        id: 8,
        read_only: false,
    }));
    assert!(effects.contains(&kill), "{effects:?}");
    let done = HealthViewEvent::Killed {
        instance: "replica-1".into(),
        id: 8,
        error: None,
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::HealthView(done))),
    );
    assert!(screen(&state, 80, 24).contains("killed session 8 on replica-1"));
}

#[test]
fn read_only_refuses_the_kill_before_asking() {
    let mut state = to_locks_view_with_chain();
    state.read_only = true;
    let effects = update(&mut state, Action::KillRootBlocker);
    // Nothing is sent; only the refusal's log entry goes out.
    assert!(
        matches!(effects.as_slice(), [arkc::app::Effect::LogRefusal(..)]),
        "{effects:?}"
    );
    assert!(screen(&state, 80, 24).contains("refused: arkc is read-only"));
}
