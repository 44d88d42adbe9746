//! The Slow SQL pane as `update()` and the renderer see it: reports from the backend, what moved,
//! sorting, filters, tracking, the drill-down and EXPLAIN requests; snapshots at 80x24 and
//! 160x48 with a fixed clock and fixed sample figures (so no time in them moves).

use arkc::app::slow::SlowSort;
use arkc::app::{update, Action, Effect, Keymap, Mode, State};
use arkc::backend::slow::report::{
    ExplainTable, SlowClass, SlowCommand, SlowReport, SlowSample, SlowSourceKind, SlowUpdate,
    SourceStatus,
};
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::{InstanceHealth, Status};
use arkc::tracking::{TrackStatus, Tracking};
use chrono::{DateTime, TimeZone, Utc};

use crate::support::render::screen as render;

fn clock(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, secs)
        .single()
        .expect("valid time")
}

const T0: i64 = 1_795_608_000; // 2026-11-25 12:00:00 UTC

struct ClassSpec {
    id: &'static str,
    fp: &'static str,
    sample: Option<&'static str>,
    count: u64,
    avg: f64,
    no_index: u64,
    db: &'static str,
}

fn class(s: &ClassSpec) -> SlowClass {
    SlowClass {
        query_id: s.id.into(),
        fingerprint: s.fp.into(),
        count: s.count,
        qps: s.count as f64 / 600.0,
        time_sum: s.avg * s.count as f64,
        time_avg: s.avg,
        time_max: s.avg * 4.0,
        time_p95: Some(s.avg * 2.0),
        lock_sum: 0.0001 * s.count as f64,
        rows_sent: s.count as f64,
        rows_examined: s.count as f64 * 5000.0,
        no_index: s.no_index,
        first_seen: Some(T0 - 600),
        last_seen: Some(T0 - 5),
        databases: vec![(s.db.to_string(), s.count)],
        sample: s.sample.map(|q| SlowSample {
            query: q.into(),
            database: Some(s.db.into()),
            query_time: Some(s.avg * 4.0),
            unix_time: Some(T0 - 60),
        }),
        distribution: Some([0, 0, 0, s.count / 4, s.count / 2, s.count / 4, 1, 0]),
    }
}

fn classes(scale: u64, with_new: bool) -> Vec<SlowClass> {
    let mut specs = vec![
        ClassSpec { id: "A1B2C3D4E5F60718293A4B5C6D7E8F90", fp: "select * from orders where status = ? order by created_at desc limit ?", sample: Some("SELECT * FROM orders WHERE status = 'open' ORDER BY created_at DESC LIMIT 50"), count: 120 * scale, avg: 0.42, no_index: 120 * scale, db: "shop" },
        ClassSpec { id: "0F1E2D3C4B5A69788796A5B4C3D2E1F0", fp: "update stock set qty = qty - ? where sku = ?", sample: Some("UPDATE stock SET qty = qty - 1 WHERE sku = 'X-1'"), count: 900, avg: 0.012, no_index: 0, db: "shop" },
        ClassSpec { id: "11112222333344445555666677778888", fp: "select c.name, sum(o.total) from customers c join orders o on o.cid = c.id group by c.name", sample: Some("SELECT c.name, SUM(o.total) FROM customers c JOIN orders o ON o.cid = c.id GROUP BY c.name"), count: 8, avg: 3.1, no_index: 8, db: "reports" },
        ClassSpec { id: "9999AAAABBBBCCCCDDDDEEEEFFFF0000", fp: "administrator command: ping", sample: Some("administrator command: Ping"), count: 3000, avg: 0.0001, no_index: 0, db: "shop" },
    ];
    if with_new {
        specs.push(ClassSpec {
            id: "ABCDEF0123456789ABCDEF0123456789",
            fp: "delete from sessions where expires < ?",
            sample: Some("DELETE FROM sessions WHERE expires < 1795600000"),
            count: 4,
            avg: 1.5,
            no_index: 4,
            db: "shop",
        });
    }
    specs.iter().map(class).collect()
}

fn report(instance: &str, source: SlowSourceKind, classes: Vec<SlowClass>) -> BackendEvent {
    let entries = classes.iter().map(|c| c.count).sum();
    BackendEvent::Slow(SlowUpdate::Report(SlowReport {
        instance: instance.into(),
        source,
        status: SourceStatus::Live {
            origin: "/var/log/mysql/slow.log".into(),
        },
        classes,
        entries,
    }))
}

fn tracked(id: &str, status: TrackStatus, note: &str, back: bool) -> Tracking {
    Tracking {
        query_id: id.into(),
        status,
        note: note.into(),
        updated_at: clock(0),
        fixed_at: (status == TrackStatus::Fixed).then(|| clock(0)),
        reappeared_at: back.then(|| clock(3)),
    }
}

fn backend(state: &mut State, event: BackendEvent) {
    update(state, Action::Backend(Box::new(event)));
}

/// Two instances; the primary has had two reports (so the second shows what moved), tracking
/// for three classes, and the replica one report.
fn state() -> State {
    let config = Config {
        instances: vec![
            InstanceConfig::tcp("primary", "10.0.3.7", 3306),
            InstanceConfig::tcp("replica-1", "10.0.3.8", 3306),
        ],
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    backend(
        &mut state,
        report("primary", SlowSourceKind::Log, classes(1, false)),
    );
    backend(
        &mut state,
        report("primary", SlowSourceKind::Log, classes(2, true)),
    );
    backend(
        &mut state,
        report(
            "replica-1",
            SlowSourceKind::Log,
            classes(1, false)[..2].to_vec(),
        ),
    );
    backend(
        &mut state,
        BackendEvent::Slow(SlowUpdate::Tracking(vec![
            tracked(
                "A1B2C3D4E5F60718293A4B5C6D7E8F90",
                TrackStatus::Investigating,
                "needs index on orders(status, created_at)",
                false,
            ),
            tracked(
                "0F1E2D3C4B5A69788796A5B4C3D2E1F0",
                TrackStatus::Fixed,
                "batched in app 2.3",
                true,
            ),
            tracked(
                "9999AAAABBBBCCCCDDDDEEEEFFFF0000",
                TrackStatus::Ignored,
                "",
                false,
            ),
        ])),
    );
    backend(
        &mut state,
        BackendEvent::Health(InstanceHealth {
            version: Some("10.11.6-MariaDB-log".into()),
            ..InstanceHealth::down("primary", "", clock(0))
        }),
    );
    update(&mut state, Action::Tick(clock(10)));
    update(&mut state, Action::PaneSlowSql);
    state
}

fn keys(state: &mut State, actions: &[Action]) -> Vec<Effect> {
    actions
        .iter()
        .flat_map(|a| update(state, a.clone()))
        .collect()
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        update(state, Action::InputChar(c));
    }
}

fn row_ids(state: &State) -> Vec<String> {
    let instance = state.selected_instance().map(|i| i.name.as_str());
    state
        .slow
        .rows(instance, &state.filter)
        .iter()
        .map(|r| r.class.query_id[..4].to_string())
        .collect()
}

#[test]
fn second_report_shows_what_moved_and_what_is_new() {
    let s = state();
    let rows = s.slow.rows(Some("primary"), "");
    let by_id = |p: &str| {
        rows.iter()
            .find(|r| r.class.query_id.starts_with(p))
            .expect("row")
    };
    assert_eq!((by_id("A1B2").delta, by_id("A1B2").fresh), (120, false));
    assert_eq!(by_id("0F1E").delta, 0, "unchanged count");
    assert!(by_id("ABCD").fresh, "first seen in the second report");
    // The first report of an instance is a baseline, not a change.
    let replica = s.slow.rows(Some("replica-1"), "");
    assert!(replica.iter().all(|r| r.delta == 0 && !r.fresh));
}

#[test]
fn sort_key_cycles_and_orders_rows() {
    let mut s = state();
    assert_eq!(s.slow.sort, SlowSort::TotalTime);
    assert_eq!(row_ids(&s), ["A1B2", "1111", "0F1E", "ABCD", "9999"]);
    keys(&mut s, &[Action::SortNext]);
    assert_eq!(s.slow.sort, SlowSort::Count);
    assert_eq!(row_ids(&s)[0], "9999");
    keys(&mut s, &[Action::SortNext, Action::SortNext]);
    assert_eq!(s.slow.sort, SlowSort::AvgTime);
    assert_eq!(row_ids(&s)[0], "1111");
    for _ in 0..5 {
        keys(&mut s, &[Action::SortNext]);
    }
    assert_eq!(s.slow.sort, SlowSort::TotalTime, "the cycle wraps");
}

#[test]
fn filters_by_latency_count_no_index_database_and_text() {
    let mut s = state();
    keys(&mut s, &[Action::FilterMinTime]);
    assert_eq!(s.mode, Mode::PaneInput);
    typed(&mut s, "400ms");
    keys(&mut s, &[Action::Confirm]);
    assert_eq!(row_ids(&s), ["A1B2", "1111", "ABCD"]);
    keys(&mut s, &[Action::FilterMinCount]);
    typed(&mut s, "10");
    keys(&mut s, &[Action::Confirm]);
    assert_eq!(row_ids(&s), ["A1B2"]);
    keys(&mut s, &[Action::ClearFilters, Action::FilterNoIndex]);
    assert_eq!(row_ids(&s), ["A1B2", "1111", "ABCD"]);
    keys(&mut s, &[Action::FilterDatabase]);
    typed(&mut s, "reports");
    keys(&mut s, &[Action::Confirm]);
    assert_eq!(row_ids(&s), ["1111"]);
    keys(&mut s, &[Action::ClearFilters, Action::Filter]);
    typed(&mut s, "sessions");
    keys(&mut s, &[Action::Confirm]);
    assert_eq!(row_ids(&s), ["ABCD"]);
    // A bad latency is refused with a message, and the filter stays as it was.
    keys(&mut s, &[Action::ClearFilters, Action::FilterMinTime]);
    typed(&mut s, "soon");
    keys(&mut s, &[Action::Confirm]);
    assert!(s
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("not a latency")));
    assert_eq!(s.slow.filters.min_avg_s, None);
}

#[test]
fn cursor_stays_on_its_class_when_the_list_resorts() {
    let mut s = state();
    keys(&mut s, &[Action::Down, Action::Down]);
    let before = s.slow.selected.clone().expect("selected");
    assert!(before.query_id.starts_with("0F1E"));
    keys(&mut s, &[Action::SortNext]);
    let rows = s.slow.rows(Some("primary"), "");
    assert!(rows[s.slow.cursor(&rows)]
        .class
        .query_id
        .starts_with("0F1E"));
}

#[test]
fn marking_cycles_status_and_asks_the_backend_to_persist_it() {
    let mut s = state();
    keys(&mut s, &[Action::Bottom]); // 9999: ignored
    let effects = keys(&mut s, &[Action::MarkStatus]);
    let id = "9999AAAABBBBCCCCDDDDEEEEFFFF0000".to_string();
    assert_eq!(
        effects,
        vec![Effect::SendBackend(BackendCommand::Slow(
            SlowCommand::Track {
                query_id: id.clone(),
                status: TrackStatus::New,
                note: String::new(),
            }
        ))]
    );
    assert_eq!(s.slow.status_of(&id), Some(TrackStatus::New));
    keys(&mut s, &[Action::EditNote]);
    typed(&mut s, "our own ping");
    let effects = keys(&mut s, &[Action::Confirm]);
    assert!(
        matches!(&effects[..], [Effect::SendBackend(BackendCommand::Slow(SlowCommand::Track { note, status: TrackStatus::New, .. }))] if note == "our own ping")
    );
    assert_eq!(s.slow.tracking[&id].note, "our own ping");
}

#[test]
fn explain_is_sent_for_selects_and_refused_for_statements_it_cannot_cover() {
    let mut s = state();
    let effects = keys(&mut s, &[Action::Explain]);
    match &effects[..] {
        [Effect::SendBackend(BackendCommand::Slow(SlowCommand::Explain {
            instance,
            database,
            sql,
            ..
        }))] => {
            assert_eq!(instance, "primary");
            assert_eq!(database.as_deref(), Some("shop"));
            assert!(sql.starts_with("SELECT * FROM orders WHERE status = 'open'"));
        }
        other => panic!("expected one EXPLAIN command, got {other:?}"),
    }
    assert!(
        s.slow.detail.is_some(),
        "the drill-down opens to show the result"
    );
    keys(&mut s, &[Action::Cancel, Action::Bottom]);
    assert!(
        keys(&mut s, &[Action::Explain]).is_empty(),
        "administrator commands are not explained"
    );
    assert!(s
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("EXPLAIN covers")));
}

#[test]
fn leaderboard_80x24() {
    let s = state();
    let screen = render(&s, 80, 24);
    assert!(screen.contains("+120"), "moved counts show: {screen}");
    assert!(screen.contains("new"));
    assert!(
        screen.contains("fix!"),
        "a fixed class that ran again is flagged"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn leaderboard_all_instances_160x48() {
    let mut s = state();
    keys(&mut s, &[Action::ToggleScope]);
    let screen = render(&s, 160, 48);
    assert!(screen.contains("replica-1"));
    assert!(screen.contains("fixed, BACK"));
    assert!(screen.contains("investigating"));
    insta::assert_snapshot!(screen);
}

fn detail_state() -> State {
    let mut s = state();
    keys(&mut s, &[Action::Confirm]);
    backend(
        &mut s,
        BackendEvent::Slow(SlowUpdate::Explain {
            instance: "primary".into(),
            query_id: "A1B2C3D4E5F60718293A4B5C6D7E8F90".into(),
            result: Ok(ExplainTable {
                columns: [
                    "id",
                    "select_type",
                    "table",
                    "type",
                    "possible_keys",
                    "key",
                    "rows",
                    "Extra",
                ]
                .map(String::from)
                .to_vec(),
                rows: vec![[
                    "1",
                    "SIMPLE",
                    "orders",
                    "ALL",
                    "NULL",
                    "NULL",
                    "48213",
                    "Using where; Using filesort",
                ]
                .map(String::from)
                .to_vec()],
            }),
        }),
    );
    s
}

#[test]
fn drill_down_80x24() {
    let mut s = detail_state();
    let screen = render(&s, 80, 24);
    assert!(screen.contains("Tables: orders"));
    assert!(screen.contains("needs index on orders"));
    insta::assert_snapshot!("drill_down_80x24_top", screen);
    keys(&mut s, &[Action::PageDown]);
    let screen = render(&s, 80, 24);
    assert!(screen.contains("Using filesort") || screen.contains("Using where"));
    insta::assert_snapshot!("drill_down_80x24_scrolled", screen);
}

#[test]
fn drill_down_160x48() {
    let s = detail_state();
    let screen = render(&s, 160, 48);
    assert!(screen.contains("Latency histogram"));
    assert!(screen.contains("Using where; Using filesort"));
    insta::assert_snapshot!(screen);
}

#[test]
fn performance_schema_off_is_said_plainly_80x24() {
    let mut s = state();
    backend(
        &mut s,
        BackendEvent::Slow(SlowUpdate::Report(SlowReport {
            instance: "primary".into(),
            source: SlowSourceKind::Digest,
            status: SourceStatus::Off("performance_schema is OFF on this server: set `performance_schema=ON` in its config and restart it to use the digest source".into()),
            classes: Vec::new(),
            entries: 0,
        })),
    );
    keys(&mut s, &[Action::ToggleSource]);
    let screen = render(&s, 80, 24);
    assert!(screen.contains("performance_schema is OFF"));
    insta::assert_snapshot!(screen);
}

#[test]
fn prompt_line_80x24() {
    let mut s = state();
    keys(&mut s, &[Action::FilterMinTime]);
    typed(&mut s, "250m");
    let screen = render(&s, 80, 24);
    assert!(screen.contains("min avg latency"));
    insta::assert_snapshot!(screen);
}

#[test]
fn a_down_instance_health_does_not_hide_its_slow_sql() {
    let s = state();
    assert_eq!(s.health["primary"].status, Status::Down);
    assert_eq!(s.slow.rows(Some("primary"), "").len(), 5);
}

#[test]
fn changes_are_measured_over_a_ten_second_window() {
    let mut s = state(); // both primary reports arrived at 12:00:00
    update(&mut s, Action::Tick(clock(5)));
    backend(
        &mut s,
        report("primary", SlowSourceKind::Log, classes(3, true)),
    );
    let delta = |s: &State| {
        let rows = s.slow.rows(Some("primary"), "");
        let a = rows
            .iter()
            .find(|r| r.class.query_id.starts_with("A1B2"))
            .expect("row");
        (a.delta, rows.iter().filter(|r| r.fresh).count())
    };
    assert_eq!(
        delta(&s),
        (240, 1),
        "5 s in: still against the first report"
    );
    // 12 s in: measured from the newest report at least 10 s old (12:00:00, count 240).
    update(&mut s, Action::Tick(clock(12)));
    backend(
        &mut s,
        report("primary", SlowSourceKind::Log, classes(3, true)),
    );
    assert_eq!(delta(&s), (120, 0));
    // 16 s in: the 12:00:05 report (count 360) is the reference; nothing moved since.
    update(&mut s, Action::Tick(clock(16)));
    backend(
        &mut s,
        report("primary", SlowSourceKind::Log, classes(3, true)),
    );
    assert_eq!(delta(&s), (0, 0));
}

#[test]
fn slow_sql_keys_apply_on_their_pane_only_and_user_files_rebind_them() {
    use arkc::app::KeyCombo;
    use arkc::app::Pane;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let km = Keymap::builtin("default")
        .expect("built in")
        .expect("parses");
    let s = KeyCombo::parse("s").expect("key");
    assert_eq!(km.lookup_in(Pane::SlowSql, &s), Some(&Action::SortNext));
    assert_eq!(km.lookup(&s), None, "not a global key");
    // The Health pane binds `s` to its own action (the Processlist view's sort).
    assert_eq!(km.lookup_in(Pane::Health, &s), Some(&Action::ProcessSort));
    let q = KeyCombo::parse("q").expect("key");
    assert_eq!(
        km.lookup_in(Pane::SlowSql, &q),
        Some(&Action::Quit),
        "globals still apply"
    );
    let press = KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE);
    assert_eq!(
        km.action_for_pane(Pane::SlowSql, &Mode::Normal, &press),
        Some(Action::Explain)
    );
    // The Binlog pane has its own `e` (edit the rollback preview); Health has none.
    assert_eq!(
        km.action_for_pane(Pane::Health, &Mode::Normal, &press),
        None
    );
    assert_eq!(
        km.action_for_pane(Pane::Binlog, &Mode::Normal, &press),
        Some(Action::EditPreview)
    );
    // Typing a note: `e` is text, not EXPLAIN.
    assert_eq!(
        km.action_for_pane(Pane::SlowSql, &Mode::PaneInput, &press),
        Some(Action::InputChar('e'))
    );

    let user = km
        .clone()
        .overlay(
            "[slow_sql]\n\"o\" = \"sort_next\"\n\"s\" = \"none\"\n",
            "user.toml",
        )
        .expect("parses");
    assert_eq!(user.lookup_in(Pane::SlowSql, &s), None);
    let o = KeyCombo::parse("o").expect("key");
    assert_eq!(user.lookup_in(Pane::SlowSql, &o), Some(&Action::SortNext));
    assert_eq!(user.keys_for(&Action::SortNext), vec![o]);

    let err = km
        .overlay("[slow_sql]\n\"o\" = \"sort\"\n", "user.toml")
        .expect_err("unknown action");
    assert_eq!((err.origin.as_str(), err.line), ("user.toml", 2));
    let err = Keymap::default()
        .overlay(
            "[global]\n\"q\" = \"quit\"\n[slowsql]\n\"o\" = \"sort_next\"\n",
            "user.toml",
        )
        .expect_err("unknown section");
    assert_eq!(err.line, 3, "{err}");
}
