//! The slow-SQL sources against real sandbox servers, through the backend as the console runs
//! it: the slow log file followed live across a rotation, the mysql.slow_log table, the
//! performance_schema digests (and what it says when performance_schema is off), and tracking
//! that survives a restart of the backend.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arkc::backend::slow::report::{
    SlowCommand, SlowReport, SlowSourceKind, SlowUpdate, SourceStatus,
};
use arkc::backend::{self, BackendCommand, BackendEvent, BackendHandle};
use arkc::config::{Config, InstanceConfig};
use arkc::sandbox::{Sandbox, SandboxOptions};
use arkc::tracking::{TrackStatus, Tracking};
use tokio::sync::mpsc::{self, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(20);

fn sandbox(name: &str, extra_args: &[&str]) -> Sandbox {
    Sandbox::start(SandboxOptions {
        name: name.into(),
        // Every statement goes to the slow log.
        slow_log_threshold_s: 0.0,
        extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        ..SandboxOptions::default()
    })
    .expect("sandbox starts")
}

fn start(
    sb: &Sandbox,
    slow_log: Option<&Path>,
    tracking: &Path,
) -> (BackendHandle, UnboundedReceiver<BackendEvent>) {
    let mut instance = InstanceConfig::tcp("sb", "127.0.0.1", sb.port());
    instance.slow_log = slow_log.map(Path::to_path_buf);
    let mut config = Config {
        instances: vec![instance],
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    let (tx, rx) = mpsc::unbounded_channel();
    let slow = backend::SlowSqlOptions {
        tracking_path: Some(tracking.to_path_buf()),
    };
    let handle = backend::spawn_with(Arc::new(config), tx, Some(slow));
    (handle, rx)
}

/// Wait for a report of `source` that satisfies `pred`; panics with the last one seen.
async fn report_where(
    rx: &mut UnboundedReceiver<BackendEvent>,
    source: SlowSourceKind,
    what: &str,
    pred: impl Fn(&SlowReport) -> bool,
) -> SlowReport {
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    while Instant::now() < deadline {
        let event = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        if let Ok(Some(BackendEvent::Slow(SlowUpdate::Report(r)))) = event {
            if r.source == source {
                if pred(&r) {
                    return r;
                }
                last = Some(r);
            }
        }
    }
    panic!("no {source:?} report with {what} within {WAIT:?}; last: {last:#?}");
}

async fn tracking_where(
    rx: &mut UnboundedReceiver<BackendEvent>,
    pred: impl Fn(&[Tracking]) -> bool,
) -> Vec<Tracking> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let event = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        if let Ok(Some(BackendEvent::Slow(SlowUpdate::Tracking(all)))) = event {
            if pred(&all) {
                return all;
            }
        }
    }
    panic!("no matching tracking update within {WAIT:?}");
}

fn count_of(r: &SlowReport, table: &str) -> u64 {
    r.classes
        .iter()
        .filter(|c| c.fingerprint.replace('`', "").contains(table))
        .map(|c| c.count)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_log_file_is_followed_live_and_across_rotation() {
    let sb = sandbox("tail", &[]);
    let schema = sb.create_schema("tail").unwrap();
    sb.exec_sql(&format!("CREATE TABLE {schema}.before_rotation (id INT PRIMARY KEY, v INT); CREATE TABLE {schema}.after_rotation (id INT)")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = sb.slow_log_path();
    let (handle, mut rx) = start(&sb, Some(&log), &dir.path().join("t.sqlite"));

    sb.exec_sql(&format!(
        "USE {schema}; SELECT v FROM before_rotation WHERE v > 3"
    ))
    .unwrap();
    let r = report_where(&mut rx, SlowSourceKind::Log, "before_rotation", |r| {
        count_of(r, "before_rotation where") >= 1
    })
    .await;
    assert_eq!(
        r.status,
        SourceStatus::Live {
            origin: log.display().to_string()
        }
    );
    let class = r
        .classes
        .iter()
        .find(|c| c.fingerprint.contains("before_rotation where"))
        .unwrap();
    assert_eq!(
        class.fingerprint,
        "select v from before_rotation where v > ?"
    );
    let sample = class.sample.as_ref().expect("a sample with literals");
    assert!(sample.query.contains("v > 3"), "{sample:?}");
    assert_eq!(
        class.no_index, 1,
        "a full scan of a table without an index on v"
    );

    // Rotate as logrotate does: rename, then make the server open a new file.
    std::fs::rename(&log, log.with_extension("log.1")).unwrap();
    sb.exec_sql(&format!(
        "USE {schema}; SELECT v FROM before_rotation WHERE v > 4"
    ))
    .unwrap();
    sb.exec_sql("FLUSH SLOW LOGS").unwrap();
    sb.exec_sql(&format!(
        "USE {schema}; SELECT COUNT(*) FROM after_rotation WHERE id = 7"
    ))
    .unwrap();
    let r = report_where(
        &mut rx,
        SlowSourceKind::Log,
        "both sides of the rotation",
        |r| count_of(r, "after_rotation where") >= 1 && count_of(r, "before_rotation where") >= 2,
    )
    .await;
    assert!(log.exists(), "the server reopened its slow log");
    assert!(r.entries >= 4, "{}", r.entries);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_schema_digests_see_queries_and_the_log_source_says_what_is_missing() {
    let sb = sandbox("psdig", &[]);
    let schema = sb.create_schema("ps").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE {schema}.ps_probe (id INT PRIMARY KEY, v INT)"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (handle, mut rx) = start(&sb, None, &dir.path().join("t.sqlite"));
    // Each poll reads the log source first: without a path and with log_output=FILE it is off.
    let log = report_where(&mut rx, SlowSourceKind::Log, "a status", |_| true).await;
    match log.status {
        SourceStatus::Off(why) => assert!(why.contains("slow_log"), "{why}"),
        other => panic!("log source without a path and log_output=FILE: {other:?}"),
    }
    // The first poll is the baseline; then the probe runs.
    report_where(&mut rx, SlowSourceKind::Digest, "a first poll", |_| true).await;
    for v in 0..3 {
        sb.exec_sql(&format!(
            "USE {schema}; SELECT * FROM ps_probe WHERE v = {v}"
        ))
        .unwrap();
    }
    let r = report_where(&mut rx, SlowSourceKind::Digest, "ps_probe x3", |r| {
        count_of(r, "from ps_probe where") >= 3
    })
    .await;
    let class = r
        .classes
        .iter()
        .find(|c| {
            c.fingerprint
                .replace('`', "")
                .contains("from ps_probe where")
        })
        .unwrap();
    assert!(class.no_index >= 3, "full scans: {class:?}");
    // The same ID the slow log gives the statement, so tracking follows it across sources.
    let logged = arkc_slowlog::fingerprint(b"SELECT * FROM ps_probe WHERE v = 0");
    assert_eq!(
        class.query_id,
        arkc_slowlog::query_id(&logged),
        "{}",
        class.fingerprint
    );
    assert!(class.qps > 0.0);
    assert_eq!(
        class.databases.first().map(|d| d.0.as_str()),
        Some(schema.as_str())
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_schema_off_is_reported_with_the_fix() {
    let sb = sandbox("psoff", &["--performance-schema=OFF"]);
    let dir = tempfile::tempdir().unwrap();
    let (handle, mut rx) = start(&sb, None, &dir.path().join("t.sqlite"));
    let r = report_where(&mut rx, SlowSourceKind::Digest, "a status", |_| true).await;
    match r.status {
        SourceStatus::Off(why) => assert!(why.contains("performance_schema=ON"), "{why}"),
        other => panic!("expected Off, got {other:?}"),
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_slow_log_table_is_read_when_log_output_is_table() {
    let sb = sandbox("table", &["--log-output=TABLE"]);
    let schema = sb.create_schema("tbl").unwrap();
    sb.exec_sql(&format!("CREATE TABLE {schema}.table_probe (id INT)"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (handle, mut rx) = start(&sb, None, &dir.path().join("t.sqlite"));
    sb.exec_sql(&format!(
        "USE {schema}; SELECT id FROM table_probe WHERE id < 10"
    ))
    .unwrap();
    let r = report_where(&mut rx, SlowSourceKind::Log, "table_probe", |r| {
        count_of(r, "table_probe where") >= 1
    })
    .await;
    assert_eq!(
        r.status,
        SourceStatus::Live {
            origin: "mysql.slow_log".into()
        }
    );
    let class = r
        .classes
        .iter()
        .find(|c| c.fingerprint.contains("table_probe where"))
        .unwrap();
    assert_eq!(class.fingerprint, "select id from table_probe where id < ?");
    // A second run is read once, not again with the first.
    sb.exec_sql(&format!(
        "USE {schema}; SELECT id FROM table_probe WHERE id < 11"
    ))
    .unwrap();
    report_where(&mut rx, SlowSourceKind::Log, "table_probe x2", |r| {
        count_of(r, "table_probe where") == 2
    })
    .await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_survives_a_backend_restart_and_flags_a_fixed_class_that_runs_again() {
    let sb = sandbox("track", &[]);
    let schema = sb.create_schema("trk").unwrap();
    sb.exec_sql(&format!("CREATE TABLE {schema}.tracked (id INT)"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tracking.sqlite");
    let log = sb.slow_log_path();
    sb.exec_sql(&format!("USE {schema}; SELECT * FROM tracked WHERE id = 1"))
        .unwrap();
    let (handle, mut rx) = start(&sb, Some(&log), &store);
    let r = report_where(&mut rx, SlowSourceKind::Log, "tracked", |r| {
        count_of(r, "tracked where") >= 1
    })
    .await;
    let id = r
        .classes
        .iter()
        .find(|c| c.fingerprint.contains("tracked where"))
        .unwrap()
        .query_id
        .clone();
    handle.send(BackendCommand::Slow(SlowCommand::Track {
        query_id: id.clone(),
        status: TrackStatus::Fixed,
        note: "index on id".into(),
    }));
    tracking_where(&mut rx, |all| all.iter().any(|t| t.query_id == id)).await;
    handle.shutdown().await;

    // Restarted: the mark is still there. The class runs again, one second later at least
    // (log times have whole seconds), and is flagged.
    let (handle, mut rx) = start(&sb, Some(&log), &store);
    let all = tracking_where(&mut rx, |all| !all.is_empty()).await;
    let t = all
        .iter()
        .find(|t| t.query_id == id)
        .expect("still tracked");
    assert_eq!(
        (t.status, t.note.as_str()),
        (TrackStatus::Fixed, "index on id")
    );
    assert!(t.reappeared_at.is_none());
    crate::support::wait::next_server_second(&sb);
    sb.exec_sql(&format!("USE {schema}; SELECT * FROM tracked WHERE id = 2"))
        .unwrap();
    let all = tracking_where(&mut rx, |all| {
        all.iter()
            .any(|t| t.query_id == id && t.reappeared_at.is_some())
    })
    .await;
    assert_eq!(
        all.iter().find(|t| t.query_id == id).unwrap().status,
        TrackStatus::Fixed
    );
    handle.shutdown().await;
}

async fn explain_result(
    rx: &mut UnboundedReceiver<BackendEvent>,
    id: &str,
) -> Result<arkc::backend::slow::report::ExplainTable, String> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let event = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        if let Ok(Some(BackendEvent::Slow(SlowUpdate::Explain {
            query_id, result, ..
        }))) = event
        {
            if query_id == id {
                return result;
            }
        }
    }
    panic!("no EXPLAIN answer for {id} within {WAIT:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_runs_in_the_sample_database_and_refuses_two_statements() {
    let sb = sandbox("explain", &[]);
    let schema = sb.create_schema("exp").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE {schema}.orders (id INT PRIMARY KEY, status VARCHAR(10))"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (handle, mut rx) = start(&sb, None, &dir.path().join("t.sqlite"));
    let explain = |query_id: &str, sql: &str| {
        BackendCommand::Slow(SlowCommand::Explain {
            instance: "sb".into(),
            query_id: query_id.into(),
            database: Some(schema.clone()),
            sql: sql.into(),
        })
    };
    handle.send(explain("Q1", "SELECT * FROM orders WHERE status = 'open'"));
    let table = explain_result(&mut rx, "Q1").await.expect("EXPLAIN works");
    assert!(
        table.columns.iter().any(|c| c == "select_type"),
        "{table:?}"
    );
    assert_eq!(table.rows.len(), 1);
    assert!(table.rows[0].iter().any(|c| c == "orders"), "{table:?}");

    handle.send(explain("Q2", "SELECT 1; DROP TABLE orders"));
    let refused = explain_result(&mut rx, "Q2").await.unwrap_err();
    assert!(refused.contains("more than one statement"), "{refused}");
    assert!(sb
        .exec_sql(&format!("SELECT COUNT(*) FROM {schema}.orders"))
        .is_ok());

    handle.send(explain("Q3", "SELECT * FROM no_such_table"));
    let failed = explain_result(&mut rx, "Q3").await.unwrap_err();
    assert!(failed.contains("no_such_table"), "{failed}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_schema_is_probed_once_per_connection_not_every_poll() {
    let sb = sandbox("psonce", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (handle, mut rx) = start(&sb, None, &dir.path().join("t.sqlite"));
    let (mut probes, mut reads) = (0, 0);
    // refresh_ms is 200: three polls take about 600 ms on a quiet machine; wait for them, however
    // long a loaded one takes.
    let deadline = Instant::now() + Duration::from_secs(120);
    while reads < 3 {
        assert!(
            Instant::now() < deadline,
            "{reads} digest-table reads in {:?}",
            deadline.elapsed()
        );
        if let Ok(Some(BackendEvent::SqlSent(e))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            probes += usize::from(e.sql.contains("COLUMN_NAME = 'QUANTILE_95'"));
            reads += usize::from(e.sql.starts_with("SELECT SCHEMA_NAME, DIGEST"));
        }
    }
    handle.shutdown().await;
    assert!(
        reads >= 3,
        "the digest table is read on every poll: {reads}"
    );
    assert_eq!(
        probes, 1,
        "what the server offers is asked once, not per poll"
    );
}
