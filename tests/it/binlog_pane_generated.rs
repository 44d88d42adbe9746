//! Generated columns in the Binlog pane, against the sandbox: a scan of the instance's own
//! binlogs reads its column definitions, so the preview leaves VIRTUAL and STORED columns out
//! (as `arkc flashback --url` does), the check ignores VIRTUAL ones, and the backend's apply
//! restores the checksum. A typed file keeps the values and says why; drift is refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arkc::backend::binlog::flashback::{
    apply, check, ApplyRequest, CheckMode, CheckRequest, CheckRow, RowState,
};
use arkc::backend::binlog::scan::{
    BinlogCommand, BinlogEvent, BinlogService, ScanOutcome, ScanRequest, StartPoint,
};
use arkc::backend::{BackendEvent, SqlRecorder};
use arkc::config::{Config, InstanceConfig};
use arkc::sandbox::Sandbox;
use arkc_binlog::review::{assemble_redo, assemble_rollback, Chosen, ReviewedTxn};

/// `tz` depends on the session time zone: the writer (+05:00) logs another value than the
/// check's session (+00:00) computes, so comparing it would call every row changed.
const SCHEMA: &str = "
CREATE TABLE gen (id INT PRIMARY KEY, a INT, s VARCHAR(20),
  b INT AS (a * 2) VIRTUAL, c INT AS (a + 1) STORED,
  tz DATETIME AS (FROM_UNIXTIME(a + 1000000)) VIRTUAL, KEY (c));
INSERT INTO gen (id, a, s) VALUES (1, 1, 'one'), (2, 2, NULL), (3, 3, 'three'), (4, 4, 'four');
";

/// An UPDATE without WHERE, a DELETE and an INSERT, written at +05:00.
const INCIDENT: &str = "SET time_zone = '+05:00';
UPDATE gen SET a = a + 10, s = 'oops';
BEGIN; DELETE FROM gen WHERE id = 2; INSERT INTO gen (id, a, s) VALUES (9, 9, 'new'); COMMIT;";

/// The table's rows (not CHECKSUM TABLE, unstable with VIRTUAL columns: see `support::tables`).
fn checksum(sb: &Sandbox, db: &str) -> String {
    crate::support::tables::contents(sb, db, &["gen"])
}

/// A seeded schema and the incident; returns (schema, checksum before, file, position).
fn incident(sb: &Sandbox, prefix: &str) -> (String, String, String, u64) {
    let db = sb.create_schema(prefix).expect("schema");
    sb.exec_sql(&format!("USE `{db}`;\n{SCHEMA}"))
        .expect("seed");
    let before = checksum(sb, &db);
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!("USE `{db}`;\n{INCIDENT}"))
        .expect("incident");
    assert_ne!(checksum(sb, &db), before, "the incident changed nothing");
    (db, before, file, pos)
}

fn instance(sb: &Sandbox) -> InstanceConfig {
    InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port())
}

/// Runs the pane's scan through the backend service; the transactions touching `db`, and
/// the SQL the scan sent.
async fn pane_scan(
    sb: &Sandbox,
    file: &str,
    pos: u64,
    db: &str,
    instance_name: Option<&str>,
) -> (Vec<ReviewedTxn>, Vec<String>) {
    let config = Config {
        instances: vec![instance(sb)],
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut service = BinlogService::new(Arc::new(config), tx);
    let files: Vec<PathBuf> = vec![sb.binlog_dir().join(file)];
    service.handle(BinlogCommand::Scan(ScanRequest {
        id: 1,
        files,
        start: StartPoint::Position(pos),
        instance: instance_name.map(str::to_string),
        stream: None,
    }));
    let (mut txns, mut sent) = (Vec::new(), Vec::new());
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("the scan reports within a minute")
            .expect("channel open");
        match event {
            BackendEvent::SqlSent(entry) => sent.push(entry.sql),
            BackendEvent::Binlog(BinlogEvent::Transactions { batch, .. }) => txns.extend(batch),
            BackendEvent::Binlog(BinlogEvent::ScanFinished { outcome, .. }) => {
                assert_eq!(outcome, ScanOutcome::Done);
                break;
            }
            _ => {}
        }
    }
    let prefix = format!("{db}.");
    txns.retain(|t| !t.rows.is_empty() && t.rows.iter().all(|r| r.table.starts_with(&prefix)));
    (txns, sent)
}

fn all_rows(txns: &[ReviewedTxn]) -> Vec<Chosen<'_>> {
    txns.iter()
        .map(|t| Chosen {
            txn: t,
            rows: (0..t.rows.len()).collect(),
        })
        .collect()
}

/// The rows in rollback order, as the pane sends them to check.
fn check_request(txns: &[ReviewedTxn], mode: CheckMode) -> CheckRequest {
    let mut rows = Vec::new();
    for (t, txn) in txns.iter().enumerate().rev() {
        for (r, row) in txn.rows.iter().enumerate().rev() {
            rows.push(CheckRow::from_reviewed((t, r), row));
        }
    }
    CheckRequest {
        instance: "sandbox".into(),
        mode,
        rows,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_scan_leaves_generated_columns_out_and_apply_restores() {
    let sb = Sandbox::shared();
    let (db, before, file, pos) = incident(sb, "pgen");
    let (txns, sent) = pane_scan(sb, &file, pos, &db, Some("sandbox")).await;
    assert_eq!(txns.len(), 2, "{txns:?}");
    assert!(
        sent.iter()
            .any(|s| s.contains("information_schema.COLUMNS")),
        "the column definitions are read over the instance's connection: {sent:?}"
    );

    let chosen = all_rows(&txns);
    let sql = assemble_rollback(&chosen).expect("plan");
    assert!(!sql.contains("-- note"), "{sql}");
    let dml: Vec<&str> = sql
        .lines()
        .filter(|l| l.starts_with("INSERT") || l.starts_with("UPDATE"))
        .collect();
    assert!(dml.iter().any(|l| l.starts_with("INSERT")), "{sql}");
    assert!(dml.iter().any(|l| l.starts_with("UPDATE")), "{sql}");
    for line in &dml {
        for generated in ["`b`", "`c`", "`tz`"] {
            let written = line.split(" WHERE ").next().unwrap_or(line);
            assert!(!written.contains(generated), "{generated} written: {line}");
        }
    }

    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let inst = instance(sb);
    let checked = check(&inst, &rec, check_request(&txns, CheckMode::BeforeApply)).await;
    assert_eq!(checked.error, None);
    assert_eq!(checked.rows.len(), 6);
    assert!(
        checked.rows.iter().all(|(_, s)| *s == RowState::AsLeft),
        "a VIRTUAL column must not make rows look changed: {checked:?}"
    );

    let audit = tempfile::tempdir().expect("audit dir");
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
        |_| {},
    )
    .await;
    assert!(report.ok, "{report:?}");
    assert_eq!(checksum(sb, &db), before);
    let verified = check(&inst, &rec, check_request(&txns, CheckMode::AfterApply)).await;
    assert!(
        verified.rows.iter().all(|(_, s)| *s == RowState::Restored),
        "{verified:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_file_keeps_the_values_and_the_note_speaks_of_the_pane() {
    let sb = Sandbox::shared();
    let (db, _, file, pos) = incident(sb, "pgenfile");
    let (txns, sent) = pane_scan(sb, &file, pos, &db, None).await;
    assert_eq!(txns.len(), 2);
    assert!(sent.is_empty(), "a typed file asks no server: {sent:?}");
    let sql = assemble_rollback(&all_rows(&txns)).expect("plan");
    let note = sql
        .lines()
        .find(|l| l.starts_with("-- note"))
        .unwrap_or_default();
    assert!(
        note.contains(&format!("`{db}`.`gen`")) && note.contains("unknown to be generated"),
        "{sql}"
    );
    assert!(!note.contains("--url"), "CLI wording in the pane: {note}");
    assert!(
        sql.contains("`b`"),
        "without the server, values are kept: {sql}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_changed_since_is_refused_with_a_reason() {
    let sb = Sandbox::shared();
    let (db, _, file, pos) = incident(sb, "pgendrift");
    sb.exec_sql(&format!("ALTER TABLE `{db}`.gen DROP COLUMN tz"))
        .expect("alter");
    let (txns, _) = pane_scan(sb, &file, pos, &db, Some("sandbox")).await;
    assert_eq!(txns.len(), 2);
    let problems = assemble_rollback(&all_rows(&txns)).expect_err("drift must refuse");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("changed since this event") && p.contains("6 columns")),
        "{problems:?}"
    );
}
