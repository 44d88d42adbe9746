//! Scoped selection in the Binlog pane: an incident whose transactions write to two schemas.
//! `:scope` one schema and `:mark all`: the check finds 0 conflicts, the apply restores that
//! schema's checksum and keeps the other schema's writes; a later write to one touched row is
//! the only thing the check reports.

use std::path::PathBuf;

use arkc::app::binlog::BinlogPane;
use arkc::app::palette::{parse, PaletteCommand};
use arkc::backend::binlog::flashback::{apply, check, ApplyRequest, CheckMode, CheckRequest};
use arkc::backend::SqlRecorder;
use arkc::config::InstanceConfig;
use arkc::sandbox::Sandbox;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::review::{ReviewLimits, ReviewSink};
use arkc_binlog::txn::{Filters, TxnBuilder};

fn checksum(sb: &Sandbox, db: &str) -> String {
    sb.exec_sql(&format!("CHECKSUM TABLE {db}.t, {db}.n EXTENDED"))
        .expect("checksum")
}

fn run(pane: &mut BinlogPane, line: &str) {
    match parse(line, &[]).expect("palette command") {
        PaletteCommand::Scope(s) => pane.set_scope(s.map(|s| *s)),
        PaletteCommand::Mark(m) => {
            pane.mark_listed(m);
        }
        other => panic!("not a binlog command: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_one_schema_mark_all_check_and_apply() {
    let sb = Sandbox::shared();
    let (bad, good) = (
        sb.create_schema("scoped").expect("schema"),
        sb.create_schema("kept").expect("schema"),
    );
    for db in [&bad, &good] {
        sb.exec_sql(&format!(
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10));
             CREATE TABLE {db}.n (k INT, v VARCHAR(10));
             INSERT INTO {db}.t VALUES (1,'a'),(2,'b'),(3,'c');
             INSERT INTO {db}.n VALUES (1,'a'),(1,'a'),(2,'b');"
        ))
        .expect("seed");
    }
    let (bad_before, good_before) = (checksum(sb, &bad), checksum(sb, &good));
    let (file, pos) = sb.binlog_position().unwrap();
    // Each transaction writes to both schemas: destructive in `bad`, legitimate in `good`.
    for i in 0..3 {
        sb.exec_sql(&format!(
            "BEGIN;
             UPDATE {bad}.t SET v = 'x{i}';
             DELETE FROM {bad}.n WHERE k = 1 LIMIT 1;
             INSERT INTO {good}.t VALUES ({i} + 10, 'new');
             INSERT INTO {good}.n VALUES (9, 'dup'), (9, 'dup');
             COMMIT;"
        ))
        .expect("incident");
    }
    let good_after = checksum(sb, &good);
    let mut got = Vec::new();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t| {
        got.push(t);
        Ok(())
    })
    .expect("sink");
    let filters = Filters {
        start: Some((file.clone(), pos)),
        ..Default::default()
    };
    let path: PathBuf = sb.binlog_dir().join(&file);
    scan_files(&[path], &mut TxnBuilder::new(filters), &mut sink).expect("scan");
    drop(sink);
    got.retain(|t| t.txn.tables.iter().any(|n| n.starts_with(&bad)));
    assert_eq!(got.len(), 3);

    let mut pane = BinlogPane::default();
    pane.add_txns(got);
    run(&mut pane, &format!("scope {bad}"));
    assert_eq!(pane.visible_len(), 3);
    // 3 rows updated, 1 deleted in scope per transaction, of 3 + 1 + 1 + 2.
    assert_eq!(pane.rows_in_scope(0), 4);
    assert_eq!(pane.txns[0].rows.len(), 7);
    run(&mut pane, "mark all");
    // The third DELETE found no (1, 'a') left: 4 + 4 + 3 rows.
    assert_eq!(pane.summary().rows, 11);
    pane.ensure_preview().expect("preview");
    let sql = pane.preview.as_ref().expect("preview").text.clone();
    assert!(
        !sql.contains(&good),
        "the other schema stays out of the plan:\n{sql}"
    );

    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let inst = InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port());
    let request = |pane: &BinlogPane| CheckRequest {
        instance: "sandbox".into(),
        mode: CheckMode::BeforeApply,
        rows: pane.check_rows(),
    };
    let report = check(&inst, &rec, request(&pane)).await;
    assert_eq!(report.error, None);
    assert_eq!(report.rows.len(), 11);
    assert!(
        report.rows.iter().all(|(_, s)| !s.is_problem()),
        "{report:?}"
    );

    // A later write to one touched row: reported, and nothing else.
    sb.exec_sql(&format!("UPDATE {bad}.t SET v = 'later' WHERE id = 2"))
        .expect("later write");
    let report = check(&inst, &rec, request(&pane)).await;
    let problems: Vec<_> = report.rows.iter().filter(|(_, s)| s.is_problem()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    sb.exec_sql(&format!("UPDATE {bad}.t SET v = 'x2' WHERE id = 2"))
        .expect("undo the later write");

    let audit = tempfile::tempdir().expect("audit dir");
    let preview = pane.preview.as_ref().expect("preview");
    let report = apply(
        &inst,
        &rec,
        ApplyRequest {
            instance: "sandbox".into(),
            sql: preview.text.clone(),
            generated: preview.generated.clone(),
            redo: preview.redo.clone(),
            edited: false,
            read_only: false,
            audit_dir: Some(audit.path().to_path_buf()),
        },
        |_| {},
    )
    .await;
    assert!(report.ok, "{report:?}");
    assert_eq!(checksum(sb, &bad), bad_before);
    assert_eq!(checksum(sb, &good), good_after);
    assert_ne!(good_after, good_before);

    run(&mut pane, "scope clear");
    run(&mut pane, "mark none");
    assert!(pane.marked.is_empty());
}
