//! The Processlist view's keys drawn into ratatui's TestBackend: `s` cycles the sort (named in
//! the view's title line), `/` filters sessions, `enter` opens a session's statement and asks the
//! backend for its EXPLAIN (refused for statements EXPLAIN does not cover), `x`/`X`/`B` kill
//! after the instance name is typed, and read-only refuses before asking. The instance list's
//! new columns and the status bar's alert count from the alert book. 80x24 and 160x48.

use arkc::app::{update, Action, Effect, State};
use arkc::backend::health::kill::{KillOutcome, KillTarget};
use arkc::backend::health::views::{HealthViewCommand, HealthViewEvent};
use arkc::backend::slow::report::ExplainTable;
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::processlist::ProcessRow;
use arkc::health::{InstanceHealth, Status};
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::support::render::screen;

fn clock(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

fn up(name: &str, at: i64) -> InstanceHealth {
    let mut h = InstanceHealth::down(name, "", clock(at));
    h.status = Status::Up;
    h.error = None;
    h.version = Some("10.11.6-MariaDB-0+deb12u1-log".into());
    h.uptime_s = Some(86_400);
    h.qps = Some(812.0);
    h.tps = Some(40.5);
    h.threads_connected = Some(12);
    h.threads_running = Some(2);
    h.max_connections = Some(151);
    h.innodb.buffer_pool_hit_pct = Some(99.2);
    h.innodb.history_list_length = Some(61_250);
    h.monitor.disk.datadir_free_pct = Some(7.4);
    // A new deadlock on every poll: the `deadlocks` rule fires at once.
    h.innodb.deadlocks = Some(at as u64);
    h
}

fn send(state: &mut State, event: BackendEvent) -> Vec<Effect> {
    update(state, Action::Backend(Box::new(event)))
}

fn session(id: u64, user: &str, time: u64, trx: Option<u64>, locked: Option<u64>) -> ProcessRow {
    let info = match user {
        "batch" => Some("UPDATE shop.t SET v = v + 1 WHERE id < 1000".to_string()),
        "report" => Some("SELECT c.name, SUM(o.total) FROM shop.orders o JOIN shop.customers c ON c.id = o.cid GROUP BY c.name".to_string()),
        _ => None,
    };
    ProcessRow {
        id,
        user: user.into(),
        host: format!("10.0.3.{}:5{id:04}", 20 + id),
        db: Some("shop".into()),
        command: if info.is_some() { "Query" } else { "Sleep" }.into(),
        time_s: time,
        state: info.as_ref().map(|_| "Sending data".to_string()),
        info,
        trx_age_s: trx,
        rows_locked: locked,
    }
}

/// Two instances; `db` on its Processlist view with five sessions read.
fn on_processlist() -> State {
    let config = Config {
        instances: vec![
            InstanceConfig::tcp("db", "10.0.3.7", 3306),
            InstanceConfig::tcp("old", "10.0.3.9", 3306),
        ],
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    send(&mut state, BackendEvent::Health(up("db", 0)));
    send(
        &mut state,
        BackendEvent::Health(InstanceHealth::down("old", "Connection refused", clock(0))),
    );
    update(&mut state, Action::Tick(clock(2)));
    update(&mut state, Action::Confirm);
    update(&mut state, Action::NextPane);
    let rows = vec![
        session(11, "app", 300, None, None),
        session(12, "batch", 20, Some(95), Some(4_000)),
        session(13, "report", 45, Some(45), Some(0)),
        session(14, "app", 2, Some(600), Some(3)),
        session(15, "batch", 9, Some(9), Some(12)),
    ];
    send(
        &mut state,
        BackendEvent::HealthView(HealthViewEvent::Processlist {
            instance: "db".into(),
            rows,
            note: None,
        }),
    );
    state
}

/// Session ids in the order the view lists them.
fn listed(s: &str) -> Vec<u64> {
    s.lines()
        .filter_map(|l| {
            let body = l.trim_start_matches('│').trim_start();
            let id = body.split_whitespace().next()?.parse::<u64>().ok()?;
            (11..=15).contains(&id).then_some(id)
        })
        .collect()
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        update(state, Action::InputChar(c));
    }
}

#[test]
fn sort_cycles_time_trx_age_rows_locked_and_the_title_says_which() {
    let mut state = on_processlist();
    let s = screen(&state, 80, 24);
    assert!(s.contains("5 of 5 sessions · sort: time"), "{s}");
    assert_eq!(listed(&s), vec![11, 13, 12, 15, 14]);
    insta::assert_snapshot!("processlist_sorted_80x24", s);
    update(&mut state, Action::ProcessSort);
    let s = screen(&state, 80, 24);
    assert!(s.contains("sort: trx age"), "{s}");
    assert_eq!(listed(&s), vec![14, 12, 13, 15, 11]);
    update(&mut state, Action::ProcessSort);
    let s = screen(&state, 160, 48);
    assert!(s.contains("sort: rows locked"), "{s}");
    assert_eq!(listed(&s), vec![12, 15, 14, 13, 11]);
    insta::assert_snapshot!("processlist_rows_locked_160x48", s);
    update(&mut state, Action::ProcessSort);
    assert!(screen(&state, 80, 24).contains("sort: time"));
}

#[test]
fn filter_keeps_the_instance_and_esc_clears_it_before_leaving() {
    let mut state = on_processlist();
    update(&mut state, Action::Filter);
    typed(&mut state, "batch");
    update(&mut state, Action::Confirm);
    let s = screen(&state, 80, 24);
    assert_eq!(listed(&s), vec![12, 15], "{s}");
    assert!(
        s.contains("2 of 5 sessions") && s.contains("filter: batch"),
        "{s}"
    );
    assert!(s.contains("db ·"), "the instance stays selected: {s}");
    update(&mut state, Action::Filter);
    for _ in 0.."batch".len() {
        update(&mut state, Action::InputBackspace);
    }
    typed(&mut state, "10.0.3.33");
    update(&mut state, Action::Confirm);
    assert_eq!(listed(&screen(&state, 80, 24)), vec![13], "by host");
    update(&mut state, Action::Cancel);
    assert_eq!(state.filter, "");
    let s = screen(&state, 80, 24);
    assert!(
        s.contains("sessions · sort:"),
        "still on the Processlist view: {s}"
    );
    update(&mut state, Action::Cancel);
    let s = screen(&state, 80, 24);
    assert!(s.contains("Instances 2"), "esc again goes back: {s}");
}

#[test]
fn enter_shows_the_statement_and_explains_it_in_the_background() {
    let mut state = on_processlist();
    // Cursor to session 13 (report), second by time.
    update(&mut state, Action::Down);
    let effects = update(&mut state, Action::Confirm);
    let sql = "SELECT c.name, SUM(o.total) FROM shop.orders o JOIN shop.customers c ON c.id = o.cid GROUP BY c.name";
    let explain = Effect::SendBackend(BackendCommand::HealthView(HealthViewCommand::Explain {
        instance: "db".into(),
        id: 13,
        db: Some("shop".into()),
        sql: sql.into(),
    }));
    assert_eq!(effects, vec![explain]);
    let s = screen(&state, 80, 24);
    assert!(
        s.contains("session 13 · report@") && s.contains("running…"),
        "{s}"
    );
    // Keys still work while it runs: the sort key is taken, nothing waits.
    update(&mut state, Action::Up);
    let table = ExplainTable {
        columns: ["id", "select_type", "table", "type", "rows", "Extra"]
            .map(String::from)
            .to_vec(),
        rows: vec![
            [
                "1",
                "SIMPLE",
                "o",
                "ALL",
                "5000",
                "Using temporary; Using filesort",
            ]
            .map(String::from)
            .to_vec(),
            ["1", "SIMPLE", "c", "eq_ref", "1", ""]
                .map(String::from)
                .to_vec(),
        ],
    };
    send(
        &mut state,
        BackendEvent::HealthView(HealthViewEvent::Explained {
            instance: "db".into(),
            id: 13,
            sql: sql.into(),
            result: Ok(table),
        }),
    );
    let s = screen(&state, 80, 24);
    assert!(s.contains("Using temporary; Using filesort"), "{s}");
    insta::assert_snapshot!("processlist_explain_80x24", s);
    insta::assert_snapshot!("processlist_explain_160x48", screen(&state, 160, 48));
    update(&mut state, Action::Cancel);
    assert!(screen(&state, 80, 24).contains("5 of 5 sessions"));
}

#[test]
fn explain_is_refused_for_idle_sessions_and_non_select_statements() {
    let mut state = on_processlist();
    // Session 11 sleeps: nothing to EXPLAIN, nothing sent.
    let effects = update(&mut state, Action::Confirm);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(screen(&state, 80, 24).contains("not run: nothing to EXPLAIN"));
    update(&mut state, Action::Cancel);
    let mut admin = session(16, "admin", 500, None, None);
    admin.info = Some("ALTER TABLE shop.t ADD COLUMN w INT".into());
    admin.command = "Query".into();
    send(
        &mut state,
        BackendEvent::HealthView(HealthViewEvent::Processlist {
            instance: "db".into(),
            rows: vec![admin],
            note: None,
        }),
    );
    let effects = update(&mut state, Action::Confirm);
    assert!(effects.is_empty(), "{effects:?}");
    let s = screen(&state, 80, 24);
    assert!(s.contains("ALTER TABLE shop.t ADD COLUMN w INT"), "{s}");
    assert!(s.contains("not run: EXPLAIN covers SELECT"), "{s}");
}

#[test]
fn kills_need_the_instance_name_and_bulk_kill_takes_the_filter() {
    let mut state = on_processlist();
    update(&mut state, Action::Down); // 13
    update(&mut state, Action::KillQuery);
    let s = screen(&state, 80, 24);
    assert!(
        s.contains("kill query of session 13 on db? type the instance name"),
        "{s}"
    );
    typed(&mut state, "dbx");
    assert!(update(&mut state, Action::Confirm).is_empty(), "wrong name");
    assert!(screen(&state, 80, 24).contains("not killed: typed `dbx`"));

    update(&mut state, Action::KillConnection);
    typed(&mut state, "db");
    let effects = update(&mut state, Action::Confirm);
    let kill = |ids: Vec<u64>, target| {
        Effect::SendBackend(BackendCommand::HealthView(
            HealthViewCommand::KillSessions {
                instance: "db".into(),
                ids,
                target,
                read_only: false,
            },
        ))
    };
    assert_eq!(effects, vec![kill(vec![13], KillTarget::Connection)]);

    // Bulk kill without a filter is refused; with one it names the count and the filter.
    assert!(update(&mut state, Action::KillFiltered).is_empty());
    assert!(screen(&state, 80, 24).contains("bulk kill needs a / filter first"));
    update(&mut state, Action::Filter);
    typed(&mut state, "batch");
    update(&mut state, Action::Confirm);
    update(&mut state, Action::KillFiltered);
    let s = screen(&state, 80, 24);
    assert!(
        s.contains("kill connection of 2 session(s) matching `batch` on db?"),
        "{s}"
    );
    insta::assert_snapshot!("processlist_bulk_kill_prompt_80x24", s);
    typed(&mut state, "db");
    let effects = update(&mut state, Action::Confirm);
    assert_eq!(effects, vec![kill(vec![12, 15], KillTarget::Connection)]);
    let outcome = |id, killed: bool| KillOutcome {
        id,
        killed,
        error: (!killed).then(|| "Unknown thread id: 15".to_string()),
    };
    send(
        &mut state,
        BackendEvent::HealthView(HealthViewEvent::KilledSessions {
            instance: "db".into(),
            target: KillTarget::Connection,
            outcomes: Ok(vec![outcome(12, true), outcome(15, false)]),
        }),
    );
    let s = screen(&state, 160, 48);
    assert!(
        s.contains("kill connection: 1 of 2 session(s) on db; 15: Unknown thread id: 15"),
        "{s}"
    );
}

#[test]
fn read_only_refuses_every_kill_before_asking() {
    let mut state = on_processlist();
    state.read_only = true;
    update(&mut state, Action::Filter);
    typed(&mut state, "app");
    update(&mut state, Action::Confirm);
    for action in [
        Action::KillQuery,
        Action::KillConnection,
        Action::KillFiltered,
    ] {
        // Nothing is sent; only the refusal's log entry goes out.
        let effects = update(&mut state, action.clone());
        assert!(
            matches!(effects.as_slice(), [arkc::app::Effect::LogRefusal(..)]),
            "{action:?}: {effects:?}"
        );
        let s = screen(&state, 80, 24);
        assert!(s.contains("refused: arkc is read-only"), "{action:?}: {s}");
        assert!(!s.contains("type the instance name"), "{s}");
    }
}

#[test]
fn instance_list_columns_and_alert_count_fit_80_and_160() {
    let mut state = on_processlist();
    update(&mut state, Action::Cancel);
    update(&mut state, Action::Cancel);
    // Ten seconds of polls: `instance_down` fires at once for `old`.
    for t in 1..=5 {
        send(&mut state, BackendEvent::Health(up("db", t * 2)));
        send(
            &mut state,
            BackendEvent::Health(InstanceHealth::down(
                "old",
                "Connection refused",
                clock(t * 2),
            )),
        );
    }
    update(&mut state, Action::Tick(clock(11)));
    let small = screen(&state, 80, 24);
    let row = |s: &str, name: &str| {
        s.lines()
            .find(|l| l.trim_start_matches('│').starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    let db = row(&small, "db");
    assert!(db.chars().count() <= 80, "{small}");
    for figure in ["99.2", "61k", "7%"] {
        assert!(db.contains(figure), "{figure} in {db}");
    }
    for title in ["BP%", "Hist", "Free", "Worst alert"] {
        assert!(small.contains(title), "{title}:\n{small}");
    }
    assert!(small.contains("1 critical"), "status bar: {small}");
    insta::assert_snapshot!("instances_new_columns_80x24", small);
    let wide = screen(&state, 160, 48);
    for title in ["BP hit%", "History", "Disk free", "Worst alert", "Address"] {
        assert!(wide.contains(title), "{title}:\n{wide}");
    }
    insta::assert_snapshot!("instances_new_columns_160x48", wide);
    // The count is on every pane.
    update(&mut state, Action::PaneBinlog);
    assert!(screen(&state, 80, 24).contains("1 critical"));
}

#[test]
fn a_long_statement_leaves_room_for_its_explain_80x24() {
    let mut state = on_processlist();
    let mut long = session(17, "etl", 900, Some(900), Some(1));
    let values: Vec<String> = (0..400).map(|i| format!("({i}, 'row {i}')")).collect();
    long.info = Some(format!(
        "SELECT * FROM shop.t WHERE (id, v) IN ({})",
        values.join(", ")
    ));
    long.command = "Query".into();
    send(
        &mut state,
        BackendEvent::HealthView(HealthViewEvent::Processlist {
            instance: "db".into(),
            rows: vec![long],
            note: None,
        }),
    );
    update(&mut state, Action::Confirm);
    let s = screen(&state, 80, 24);
    assert!(s.contains("more line(s)"), "{s}");
    assert!(s.contains("EXPLAIN") && s.contains("running…"), "{s}");
}
