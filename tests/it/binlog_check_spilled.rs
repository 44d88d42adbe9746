//! The Binlog pane's check takes the bounded path of `arkc flashback --check`: its rows go
//! to a temporary file and the walk runs in passes over parts of the keys. With a pass of 3
//! rows (`ARKC_CHECK_ROWS_PER_PASS`, the knob both read), the pane's check walks in many
//! passes, gives every row the verdict the check in memory gives, reports nothing on an
//! untouched range (no-key duplicates, key updates, a key taken again), and after one later
//! write reports exactly that row, as `--check` with the same knob does.

use std::path::PathBuf;

use arkc::backend::binlog::flashback::{check, check_on, CheckMode, CheckRequest, CheckRow};
use arkc::backend::SqlRecorder;
use arkc::config::InstanceConfig;
use arkc::sandbox::Sandbox;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::review::{ReviewLimits, ReviewSink, ReviewedTxn};
use arkc_binlog::txn::{Filters, TxnBuilder};

/// The transactions of `db` from `start` to `stop` in the sandbox's binlog, as the pane
/// holds them.
fn review(sb: &Sandbox, start: &(String, u64), stop: &(String, u64), db: &str) -> Vec<ReviewedTxn> {
    let mut got = Vec::new();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t| {
        got.push(t);
        Ok(())
    })
    .expect("sink");
    let filters = Filters {
        start: Some(start.clone()),
        stop: Some(stop.clone()),
        databases: vec![db.to_string()],
        ..Default::default()
    };
    let path: PathBuf = sb.binlog_dir().join(&start.0);
    scan_files(&[path], &mut TxnBuilder::new(filters), &mut sink).expect("scan");
    drop(sink);
    got.retain(|t| !t.rows.is_empty());
    got
}

/// Every row of `txns` in rollback order, as the pane's `c` sends them.
fn selection(txns: &[ReviewedTxn]) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    for (t, txn) in txns.iter().enumerate().rev() {
        for (r, row) in txn.rows.iter().enumerate().rev() {
            rows.push(CheckRow::from_reviewed((t, r), row));
        }
    }
    rows
}

#[test]
fn the_panes_check_walks_in_passes_and_reports_only_the_real_conflict() {
    // Set while this process (one test, under nextest) has no other thread reading it.
    std::env::set_var("ARKC_CHECK_ROWS_PER_PASS", "3");
    let sb = Sandbox::shared();
    let db = sb.create_schema("spilled").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.log (k INT, v VARCHAR(10));
         INSERT INTO {db}.log VALUES (1,'a'),(1,'a'),(1,'a'),(2,'b'),(2,'b');
         CREATE TABLE {db}.p (id INT PRIMARY KEY, v INT);
         INSERT INTO {db}.p SELECT seq, seq FROM seq.seq_1_to_40;"
    ))
    .expect("seed");
    let start = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "UPDATE {db}.p SET v = v + 100 WHERE id <= 30;
         INSERT INTO {db}.log VALUES (3,'c'),(3,'c');
         UPDATE {db}.log SET v = 'z' WHERE k = 1;
         DELETE FROM {db}.log WHERE k = 2 LIMIT 1;
         UPDATE {db}.p SET id = id + 100 WHERE id > 35 ORDER BY id DESC;
         DELETE FROM {db}.p WHERE id BETWEEN 31 AND 33;
         INSERT INTO {db}.p VALUES (31, 0);
         UPDATE {db}.p SET v = v + 1 WHERE id <= 10;"
    ))
    .expect("incident");
    let stop = sb.binlog_position().expect("position");
    assert_eq!(start.0, stop.0, "the range is in one binlog");
    let txns = review(sb, &start, &stop, &db);
    let rows = selection(&txns);
    assert_eq!(rows.len(), 30 + 2 + 3 + 1 + 5 + 3 + 1 + 10);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let inst = InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port());
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let pane_check_in = |mode| {
        runtime.block_on(check(
            &inst,
            &rec,
            CheckRequest {
                instance: "sandbox".into(),
                mode,
                rows: rows.clone(),
            },
        ))
    };
    let pane_check = || pane_check_in(CheckMode::BeforeApply);
    let in_memory_in = |mode| {
        runtime.block_on(async {
            let mut conn = arkc::backend::connect::connect(&inst).await.expect("conn");
            let sql = arkc_binlog::plan::SESSION_SETTINGS;
            mysql_async::prelude::Queryable::query_drop(&mut conn, sql)
                .await
                .expect("session");
            check_on(&mut conn, &rec, mode, &rows)
                .await
                .expect("check in memory")
        })
    };
    let in_memory = || in_memory_in(CheckMode::BeforeApply);
    let cli_check = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
            .args(["flashback", "--check", "--url", &sb.url(), "--binlog-dir"])
            .arg(sb.binlog_dir())
            .args(["--start-file", &start.0, "--start-position"])
            .arg(start.1.to_string())
            .args(["--stop-file", &stop.0, "--stop-position"])
            .arg(stop.1.to_string())
            .args(["-d", &db])
            .output()
            .expect("arkc runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };

    let report = pane_check();
    assert_eq!(report.error, None);
    let passes = (rows.len() as u64).div_ceil(3);
    assert_eq!(
        report.passes, passes,
        "the pane's check did not walk in passes"
    );
    assert_eq!(
        report.rows,
        in_memory(),
        "spilled and in-memory verdicts differ"
    );
    let problems: Vec<_> = report.rows.iter().filter(|(_, s)| s.is_problem()).collect();
    assert!(problems.is_empty(), "false alarms: {problems:?}");
    let (code, text) = cli_check();
    assert_eq!(code, Some(0), "{text}");

    // One later write to one touched row (id 5: updated twice in the range).
    sb.exec_sql(&format!("UPDATE {db}.p SET v = 0 WHERE id = 5"))
        .expect("later write");
    let report = pane_check();
    assert_eq!(report.error, None);
    assert_eq!(report.passes, passes);
    assert_eq!(
        report.rows,
        in_memory(),
        "spilled and in-memory verdicts differ"
    );
    let problems: Vec<_> = report.rows.iter().filter(|(_, s)| s.is_problem()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let ((t, r), _) = problems[0];
    let row = &txns[*t].rows[*r];
    assert!(row.table.ends_with(".p"), "{row:?}");
    assert_eq!(row.after[0].as_deref(), Some("5"), "{row:?}");
    let (code, text) = cli_check();
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("1 changed since the binlog"), "{text}");

    // The later write undone, the rollback applied: the re-check after applying (the undo's
    // own changes, walked in passes) finds every row restored, as the check in memory does.
    sb.exec_sql(&format!("UPDATE {db}.p SET v = 106 WHERE id = 5"))
        .expect("undo the later write");
    let undo = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["flashback", "--binlog-dir"])
        .arg(sb.binlog_dir())
        .args(["--start-file", &start.0, "--start-position"])
        .arg(start.1.to_string())
        .args(["--stop-file", &stop.0, "--stop-position"])
        .arg(stop.1.to_string())
        .args(["-d", &db])
        .output()
        .expect("arkc runs");
    assert!(
        undo.status.success(),
        "{}",
        String::from_utf8_lossy(&undo.stderr)
    );
    sb.exec_sql(&String::from_utf8_lossy(&undo.stdout))
        .expect("the rollback applies");
    let report = pane_check_in(CheckMode::AfterApply);
    assert_eq!(report.error, None);
    assert_eq!(report.passes, passes, "the re-check did not walk in passes");
    assert_eq!(report.rows, in_memory_in(CheckMode::AfterApply));
    let problems: Vec<_> = report.rows.iter().filter(|(_, s)| s.is_problem()).collect();
    assert!(problems.is_empty(), "{problems:?}");

    // A later write to a restored row: the re-check says so, on that row's key.
    sb.exec_sql(&format!("UPDATE {db}.p SET v = 77 WHERE id = 7"))
        .expect("later write");
    let report = pane_check_in(CheckMode::AfterApply);
    let held = in_memory_in(CheckMode::AfterApply);
    let problems: Vec<_> = report.rows.iter().filter(|(_, s)| s.is_problem()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(held.contains(problems[0]), "{problems:?} not in {held:?}");
    let ((t, r), _) = problems[0];
    let row = &txns[*t].rows[*r];
    assert!(row.table.ends_with(".p"), "{row:?}");
    assert_eq!(row.before[0].as_deref(), Some("7"), "{row:?}");
}
