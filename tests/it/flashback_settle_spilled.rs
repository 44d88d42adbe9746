//! Settling a transaction in doubt from spilled rows (what `arkc flashback --execute` does
//! after a lost COMMIT, in bounded memory) gives the three answers the check in memory
//! gives, on a transaction mixing keyed and keyless rows, key updates and duplicates (no
//! keyless insert: its undo cannot be told from a duplicate, so it never settles), in
//! several passes: not applied before its undo ran, applied after, and cannot tell once
//! another session changed one of its rows.

use arkc::backend::binlog::flashback::{check_on, CheckMode, CheckRow};
use arkc::backend::binlog::in_doubt::{settle, settle_spilled, verdict, Settled};
use arkc::backend::SqlRecorder;
use arkc::config::InstanceConfig;
use arkc::sandbox::Sandbox;
use arkc_binlog::check::CheckRowSink;
use arkc_binlog::check_spill::CheckSpill;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::txn::{Filters, TxnBuilder};

#[test]
fn spilled_settle_answers_as_the_check_in_memory() {
    // Set while this process (one test, under nextest) has no other thread reading it.
    std::env::set_var("ARKC_CHECK_ROWS_PER_PASS", "2");
    let sb = Sandbox::shared();
    let db = sb.create_schema("settle").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.log (k INT, v VARCHAR(10));
         INSERT INTO {db}.log VALUES (1,'a'),(1,'a'),(2,'b');
         CREATE TABLE {db}.p (id INT PRIMARY KEY, v INT);
         INSERT INTO {db}.p VALUES (1,1),(2,2),(3,3),(4,4);"
    ))
    .expect("seed");
    let start = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "BEGIN;
         UPDATE {db}.p SET v = v + 10;
         UPDATE {db}.p SET id = id + 10 WHERE id >= 3 ORDER BY id DESC;
         DELETE FROM {db}.p WHERE id = 1;
         INSERT INTO {db}.p VALUES (1, 100);
         UPDATE {db}.log SET v = 'z' WHERE k = 2;
         DELETE FROM {db}.log WHERE k = 1 LIMIT 1;
         COMMIT;"
    ))
    .expect("the transaction");
    let stop = sb.binlog_position().expect("position");
    let filters = Filters {
        start: Some(start.clone()),
        stop: Some(stop.clone()),
        databases: vec![db.clone()],
        ..Default::default()
    };
    let files = vec![sb.binlog_dir().join(&start.0)];
    let mut in_memory = CheckRowSink::new();
    scan_files(
        &files,
        &mut TxnBuilder::new(filters.clone()),
        &mut in_memory,
    )
    .expect("scan");
    let (rows, _): (Vec<CheckRow>, _) = in_memory.rollback_order();
    assert_eq!(rows.len(), 4 + 2 + 1 + 1 + 1 + 1);
    let spill_dir = tempfile::tempdir().expect("spill dir");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let inst = InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port());
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let both = || -> (Settled, Settled) {
        let mut spill = CheckSpill::new(spill_dir.path()).expect("spill");
        scan_files(&files, &mut TxnBuilder::new(filters.clone()), &mut spill).expect("scan");
        runtime.block_on(async {
            let mut conn = arkc::backend::connect::connect(&inst).await.expect("conn");
            let sql = arkc_binlog::plan::SESSION_SETTINGS;
            mysql_async::prelude::Queryable::query_drop(&mut conn, sql)
                .await
                .expect("session");
            let spilled = settle_spilled(&mut conn, &rec, spill)
                .await
                .expect("spilled");
            // The reference: both checks on the rows in memory.
            let before = check_on(&mut conn, &rec, CheckMode::BeforeApply, &rows).await;
            let after = check_on(&mut conn, &rec, CheckMode::AfterApply, &rows).await;
            let held = verdict(&before.expect("before"), &after.expect("after"));
            // The pane's settle (the rows it planned, pushed to the bounded walk).
            let pane = settle(&mut conn, &rec, &rows).await.expect("pane's settle");
            assert_eq!(pane, held, "the pane's settle");
            (spilled, held)
        })
    };

    let (spilled, held) = both();
    assert_eq!(held, Settled::NotApplied);
    assert_eq!(spilled, held, "before the undo");

    // The undo runs (the SQL `arkc flashback` writes for the range).
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
        .expect("the undo applies");
    let (spilled, held) = both();
    assert_eq!(held, Settled::Applied);
    assert_eq!(spilled, held, "after the undo");

    // Another session changes a row the undo restored: neither holds.
    sb.exec_sql(&format!("UPDATE {db}.p SET v = 0 WHERE id = 2"))
        .expect("later write");
    let (spilled, held) = both();
    assert!(matches!(held, Settled::CannotTell(_)), "{held:?}");
    assert!(matches!(spilled, Settled::CannotTell(_)), "{spilled:?}");
}
