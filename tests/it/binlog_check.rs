//! Check and apply of a reviewed selection against a real server (the sandbox): rows changed
//! after the incident are reported, a deleted row whose key was taken again is reported, and
//! after apply the untouched rows match their before-images.

use std::path::PathBuf;

use arkc::backend::binlog::flashback::{
    apply, check, ApplyRequest, CheckMode, CheckRequest, CheckRow, RowState,
};
use arkc::backend::SqlRecorder;
use arkc::config::InstanceConfig;
use arkc::sandbox::Sandbox;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::review::{
    assemble_redo, assemble_rollback, Chosen, ReviewLimits, ReviewSink, ReviewedTxn,
};
use arkc_binlog::txn::{Filters, TxnBuilder};

fn instance(sb: &Sandbox) -> InstanceConfig {
    InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port())
}

/// Transactions of `schema` after `pos` in the sandbox's current binlog.
fn review(sb: &Sandbox, file: &str, pos: u64, schema: &str) -> Vec<ReviewedTxn> {
    let mut got = Vec::new();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t| {
        got.push(t);
        Ok(())
    })
    .expect("sink");
    let filters = Filters {
        start: Some((file.to_string(), pos)),
        databases: vec![schema.to_string()],
        ..Default::default()
    };
    let path: PathBuf = sb.binlog_dir().join(file);
    scan_files(&[path], &mut TxnBuilder::new(filters), &mut sink).expect("scan");
    drop(sink);
    got.retain(|t| !t.rows.is_empty());
    got
}

/// The rows of `txns` in rollback order, as the pane sends them.
fn check_rows(txns: &[ReviewedTxn]) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    for (t, txn) in txns.iter().enumerate().rev() {
        for (r, row) in txn.rows.iter().enumerate().rev() {
            rows.push(CheckRow::from_reviewed((t, r), row));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_later_writes_and_apply_restores_the_rest() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("chk").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO {db}.t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d');"
    ))
    .expect("seed");
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!(
        "UPDATE {db}.t SET v = 'x';
         DELETE FROM {db}.t WHERE id >= 3;"
    ))
    .expect("incident");
    let txns = review(sb, &file, pos, &db);
    assert_eq!(txns.len(), 2);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let inst = instance(sb);
    let request = |mode| CheckRequest {
        instance: "sandbox".into(),
        mode,
        rows: check_rows(&txns),
    };

    let clean = check(&inst, &rec, request(CheckMode::BeforeApply)).await;
    assert_eq!(clean.error, None);
    assert_eq!(clean.rows.len(), 6);
    assert!(
        clean.rows.iter().all(|(_, s)| *s == RowState::AsLeft),
        "{clean:?}"
    );

    // Someone writes after the incident: row 2 changes, and id 4 is taken again.
    sb.exec_sql(&format!(
        "UPDATE {db}.t SET v = 'later' WHERE id = 2; INSERT INTO {db}.t VALUES (4, 'new');"
    ))
    .expect("later writes");
    let report = check(&inst, &rec, request(CheckMode::BeforeApply)).await;
    let state_of = |t: usize, key: &str| {
        let r = txns[t]
            .rows
            .iter()
            .position(|row| row.before_cond().is_some_and(|c| c.key == key))
            .expect("row");
        report
            .rows
            .iter()
            .find(|(id, _)| *id == (t, r))
            .map(|(_, s)| s.clone())
    };
    assert_eq!(state_of(0, "`id` <=> 2"), Some(RowState::ChangedSince));
    assert_eq!(state_of(1, "`id` <=> 4"), Some(RowState::KeyTaken));
    assert_eq!(state_of(0, "`id` <=> 1"), Some(RowState::AsLeft));
    // Row 3 was deleted by the newer transaction: its update is judged against the undo plan.
    assert_eq!(state_of(0, "`id` <=> 3"), Some(RowState::AsLeft));

    // Undo the later writes, apply the rollback, and verify.
    sb.exec_sql(&format!(
        "DELETE FROM {db}.t WHERE id = 4; UPDATE {db}.t SET v = 'x' WHERE id = 2;"
    ))
    .expect("revert later writes");
    let chosen: Vec<Chosen> = txns
        .iter()
        .map(|t| Chosen {
            txn: t,
            rows: (0..t.rows.len()).collect(),
        })
        .collect();
    let sql = assemble_rollback(&chosen).expect("plan");
    let audit = tempfile::tempdir().expect("audit dir");
    let mut progress = Vec::new();
    let report = apply(
        &inst,
        &rec,
        ApplyRequest {
            instance: "sandbox".into(),
            sql: sql.clone(),
            generated: sql,
            redo: assemble_redo(&chosen),
            edited: false,
            read_only: false,
            audit_dir: Some(audit.path().to_path_buf()),
        },
        |r| progress.push(r),
    )
    .await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.audit_files.len(), 2);
    assert_eq!(progress.len(), 2);
    assert!(
        progress.iter().all(|r| r.error.is_none() && r.no_op == 0),
        "{progress:?}"
    );
    let rows = sb
        .exec_sql(&format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM {db}.t"))
        .expect("rows");
    assert_eq!(rows.trim(), "a,b,c,d");
    let verified = check(&inst, &rec, request(CheckMode::AfterApply)).await;
    assert!(
        verified.rows.iter().all(|(_, s)| *s == RowState::Restored),
        "{verified:?}"
    );

    // Read-only: refused before anything is written or sent.
    let refused = apply(
        &inst,
        &rec,
        ApplyRequest {
            instance: "sandbox".into(),
            sql: "DELETE FROM nowhere;".into(),
            generated: String::new(),
            redo: String::new(),
            edited: false,
            read_only: true,
            audit_dir: Some(audit.path().join("ro")),
        },
        |_| panic!("no progress expected in read-only mode"),
    )
    .await;
    assert!(
        !refused.ok && refused.message.contains("read-only"),
        "{refused:?}"
    );
    assert!(!audit.path().join("ro").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_stops_at_the_first_failing_transaction_and_rolls_it_back() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("stop").expect("schema");
    sb.exec_sql(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT);"))
        .expect("table");
    let sql = format!(
        "SET NAMES utf8mb4;\n-- first\nBEGIN;\nINSERT INTO {db}.t VALUES (1, 1);\nCOMMIT;\n\
         -- second\nBEGIN;\nINSERT INTO {db}.t VALUES (2, 2);\nINSERT INTO {db}.t VALUES (1, 9);\nCOMMIT;\n\
         -- third\nBEGIN;\nINSERT INTO {db}.t VALUES (3, 3);\nCOMMIT;\n"
    );
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let audit = tempfile::tempdir().expect("audit dir");
    let mut progress = Vec::new();
    let report = apply(
        &instance(sb),
        &rec,
        ApplyRequest {
            instance: "sandbox".into(),
            sql: sql.clone(),
            generated: String::new(),
            redo: String::new(),
            edited: true,
            read_only: false,
            audit_dir: Some(audit.path().to_path_buf()),
        },
        |r| progress.push(r),
    )
    .await;
    assert!(!report.ok);
    assert!(
        report.message.contains("stopped at second (2 of 3)"),
        "{}",
        report.message
    );
    // Edited text: the generated plan is saved next to what ran and its inverse.
    assert_eq!(report.audit_files.len(), 3);
    let saved = std::fs::read_to_string(&report.audit_files[0]).expect("audit file");
    assert_eq!(saved, sql);
    assert_eq!(progress.len(), 2);
    assert!(progress[0].error.is_none() && progress[0].rows_affected == 1);
    assert!(
        progress[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Duplicate")),
        "{progress:?}"
    );
    let rows = sb
        .exec_sql(&format!("SELECT GROUP_CONCAT(id ORDER BY id) FROM {db}.t"))
        .expect("rows");
    assert_eq!(
        rows.trim(),
        "1",
        "the failed transaction must be rolled back, the third not run"
    );
}

/// `arkc flashback --check` from `file:pos` in `db`: (exit code, output).
fn cli_check(
    sb: &Sandbox,
    (file, pos): (&str, u64),
    stop: &(String, u64),
    db: &str,
) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["flashback", "--check", "--url", &sb.url(), "--binlog-dir"])
        .arg(sb.binlog_dir())
        .args(["--start-file", file, "--start-position", &pos.to_string()])
        .args([
            "--stop-file",
            &stop.0,
            "--stop-position",
            &stop.1.to_string(),
            "-d",
            db,
        ])
        .output()
        .expect("arkc runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The false alarm (a table without a key holding duplicate rows, everything since
/// the incident selected, nothing written after), with key updates and a key taken again
/// inside the range: the pane's check and `--check` report 0. Then one later write to one
/// touched row: both report that row and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_is_exact_on_duplicates_key_updates_and_retaken_keys() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dup").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.log (k INT, v VARCHAR(10));
         INSERT INTO {db}.log VALUES (1,'a'),(1,'a'),(1,'a'),(2,'b');
         CREATE TABLE {db}.p (id INT PRIMARY KEY, v INT);
         INSERT INTO {db}.p VALUES (1,1),(2,2),(3,3);"
    ))
    .expect("seed");
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!(
        "INSERT INTO {db}.log VALUES (3,'c'),(3,'c');
         INSERT INTO {db}.log VALUES (3,'c');
         UPDATE {db}.log SET v = 'z' WHERE k = 1;
         DELETE FROM {db}.log WHERE k = 2;
         UPDATE {db}.log SET v = 'a' WHERE k = 1 LIMIT 2;
         UPDATE {db}.p SET id = id + 10 ORDER BY id DESC;
         DELETE FROM {db}.p WHERE id = 11;
         INSERT INTO {db}.p VALUES (11, 5);"
    ))
    .expect("incident");
    let stop = sb.binlog_position().unwrap();
    let txns = review(sb, &file, pos, &db);
    assert_eq!(txns.len(), 8);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let inst = instance(sb);
    let request = || CheckRequest {
        instance: "sandbox".into(),
        mode: CheckMode::BeforeApply,
        rows: check_rows(&txns),
    };
    let report = check(&inst, &rec, request()).await;
    assert_eq!(report.error, None);
    assert_eq!(report.rows.len(), 14);
    let problems = |r: &arkc::backend::binlog::flashback::CheckReport| {
        r.rows
            .iter()
            .filter(|(_, s)| s.is_problem())
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(problems(&report).is_empty(), "false alarms: {report:?}");
    let (code, text) = cli_check(sb, (&file, pos), &stop, &db);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("14 row(s) checked, 0 changed since"),
        "{text}"
    );

    // One later write each: a copy of a keyless duplicate deleted, a key re-inserted, a row
    // updated. Each is reported once, on the row it concerns.
    for (later, row) in [
        (format!("DELETE FROM {db}.log WHERE k = 3 LIMIT 1"), (1, 0)),
        (format!("INSERT INTO {db}.p VALUES (3, 0)"), (5, 0)),
        (format!("UPDATE {db}.p SET v = 9 WHERE id = 12"), (5, 1)),
    ] {
        let undo = match later.starts_with("DELETE") {
            true => format!("INSERT INTO {db}.log VALUES (3,'c')"),
            false if later.starts_with("INSERT") => format!("DELETE FROM {db}.p WHERE id = 3"),
            false => format!("UPDATE {db}.p SET v = 2 WHERE id = 12"),
        };
        sb.exec_sql(&later).expect("later write");
        let report = check(&inst, &rec, request()).await;
        let found = problems(&report);
        assert_eq!(found.len(), 1, "{later}: {found:?}");
        let (code, text) = cli_check(sb, (&file, pos), &stop, &db);
        assert_eq!(code, 3, "{text}");
        assert!(
            text.contains("14 row(s) checked, 1 changed since"),
            "{later}: {text}"
        );
        sb.exec_sql(&undo).expect("undo the later write");
        // The row reported is the one the later write touched.
        let (t, _) = found[0].0;
        let touched = &txns[t];
        assert!(
            touched
                .rows
                .iter()
                .any(|r| r.table.ends_with(if row.0 == 1 { ".log" } else { ".p" })),
            "{later}: reported {:?}",
            found[0]
        );
    }
}
