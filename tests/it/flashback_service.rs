//! The flashback service as `arkc deploy undo` calls it: an exact binlog range on an
//! instance, scoped to one schema, planned, checked, applied with audit, then verified.

use arkc::backend::binlog::flashback::CheckMode;
use arkc::backend::binlog::service::{apply_plan, check_plan, plan_range, FlashbackRange};
use arkc::backend::SqlRecorder;
use arkc::config::InstanceConfig;
use arkc::sandbox::Sandbox;
use arkc_binlog::scope::RowScope;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_on_instance_plan_check_apply_verify() {
    let sb = Sandbox::shared();
    let (db, other) = (
        sb.create_schema("svc").expect("schema"),
        sb.create_schema("svc_other").expect("schema"),
    );
    for d in [&db, &other] {
        sb.exec_sql(&format!(
            "CREATE TABLE {d}.t (id INT PRIMARY KEY, v INT);
             INSERT INTO {d}.t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i, i FROM n;"
        ))
        .expect("seed");
    }
    let sum = |d: &str| {
        sb.exec_sql(&format!("CHECKSUM TABLE {d}.t"))
            .expect("checksum")
    };
    let before = sum(&db);
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&format!(
        "BEGIN; UPDATE {db}.t SET v = v * 10 WHERE id <= 20; DELETE FROM {other}.t WHERE id = 1; COMMIT;
         DELETE FROM {db}.t WHERE id > 40;
         INSERT INTO {db}.t VALUES (100, 1);"
    ))
    .expect("deploy");
    let stop = sb.binlog_position().unwrap();
    let other_after = sum(&other);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let inst = InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port());
    let range = FlashbackRange {
        start,
        stop,
        scope: Some(RowScope::parse(&db).expect("scope")),
    };
    let plan = plan_range(&inst, &rec, &range).await.expect("plan");
    assert_eq!(plan.row_count(), 31);
    assert!(!plan.sql.contains(&other), "{}", plan.sql);
    // `binlog_source = "stream"`: the same range pulled over the replication stream, in one
    // pass, plans the same SQL and inverse.
    let mut streamed = inst.clone();
    streamed.binlog_source = arkc::config::BinlogSource::Stream;
    let over_stream = plan_range(&streamed, &rec, &range)
        .await
        .expect("plan over the stream");
    assert_eq!(over_stream.sql, plan.sql);
    assert_eq!(over_stream.redo, plan.redo);
    assert_eq!(over_stream.row_count(), 31);
    let checked = check_plan(&inst, &rec, &plan, CheckMode::BeforeApply).await;
    assert_eq!(checked.error, None);
    assert!(
        checked.rows.iter().all(|(_, s)| !s.is_problem()),
        "{checked:?}"
    );
    let refused = apply_plan(&inst, &rec, &plan, true, None).await;
    assert!(!refused.ok && refused.message.contains("read-only"));
    let audit = tempfile::tempdir().expect("audit");
    let report = apply_plan(&inst, &rec, &plan, false, Some(audit.path().into())).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.audit_files.len(), 2);
    assert_eq!(sum(&db), before);
    assert_eq!(sum(&other), other_after);
    let verified = check_plan(&inst, &rec, &plan, CheckMode::AfterApply).await;
    assert!(
        verified.rows.iter().all(|(_, s)| !s.is_problem()),
        "{verified:?}"
    );
}

/// An XA transaction (prepared, then committed separately) is refused by name, by the CLI
/// and by the service, instead of being undone as if it were an ordinary one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xa_transactions_are_refused_by_name() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("xa").expect("schema");
    sb.exec_sql(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT);"))
        .expect("table");
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&format!(
        "XA START 'arkc1'; INSERT INTO {db}.t VALUES (1, 1); XA END 'arkc1';
         XA PREPARE 'arkc1'; XA COMMIT 'arkc1';"
    ))
    .expect("xa");
    let stop = sb.binlog_position().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["flashback", "--binlog-dir"])
        .arg(sb.binlog_dir())
        .args([
            "--start-file",
            &start.0,
            "--start-position",
            &start.1.to_string(),
        ])
        .args([
            "--stop-file",
            &stop.0,
            "--stop-position",
            &stop.1.to_string(),
        ])
        .output()
        .expect("arkc runs");
    let err = String::from_utf8_lossy(&out.stderr);
    let dump = std::process::Command::new("mariadb-binlog")
        .arg(format!("--start-position={}", start.1))
        .arg(sb.binlog_dir().join(&start.0))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        !out.status.success(),
        "{err}\n{}\n{dump}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("XA END"), "{err}");
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("sandbox", events);
    let inst = InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port());
    let range = FlashbackRange {
        start,
        stop,
        scope: None,
    };
    let refused = plan_range(&inst, &rec, &range).await.expect_err("refused");
    assert!(format!("{refused:#}").contains("XA END"), "{refused:#}");
}
