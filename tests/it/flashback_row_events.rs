//! `arkc flashback --execute` sends a MariaDB rollback as the inverted row events themselves
//! (`BINLOG '<base64>'`, `arkc_binlog::invert`), which the server applies for less CPU than
//! SQL. It must restore exactly what the SQL restores: every column type, tables with and
//! without a key, the scope (-d, --sql-type) respected, a real conflict refused at its
//! transaction, the audit files written; and an account that may not run BINLOG falls back
//! to the SQL, saying so.

use std::process::{Command, Stdio};

use arkc::sandbox::Sandbox;

const ROW_EVENTS: &str = "applying as MariaDB row events";

fn in_schema(db: &str, sql: &str) -> String {
    format!("SET NAMES utf8mb4;\nUSE `{db}`;\n{sql}")
}

/// The rows of every table of `db`, in a stable order (CHECKSUM TABLE is not stable with
/// virtual columns; here it would do, but rows also show what differs).
fn rows(sb: &Sandbox, db: &str) -> String {
    sb.exec_sql(&format!(
        "SELECT 't', id, n, d, f, s, b, j, e, dt, ts, bits FROM `{db}`.t ORDER BY id;
         SELECT 'nk', a, b FROM `{db}`.nk ORDER BY a, b;"
    ))
    .unwrap()
}

fn create(sb: &Sandbox, db: &str) {
    sb.exec_sql(&in_schema(
        db,
        "CREATE TABLE t (id INT PRIMARY KEY, n BIGINT UNSIGNED, d DECIMAL(20,6), f DOUBLE,
           s VARCHAR(300), b BLOB, j JSON, e ENUM('a','b','c'), dt DATETIME(6),
           ts TIMESTAMP(3) NULL, bits BIT(10)) DEFAULT CHARSET=utf8mb4;
         CREATE TABLE nk (a INT, b VARCHAR(20));
         INSERT INTO t SELECT seq, seq * 1000000007, seq / 7, seq / 3, CONCAT('é', REPEAT('x', seq)),
           UNHEX(REPEAT('00ff', seq)), JSON_OBJECT('k', seq), 1 + seq % 3,
           '2026-01-01 00:00:00.123456' + INTERVAL seq DAY, NULL, seq FROM seq_1_to_60;
         INSERT INTO nk VALUES (1, 'dup'), (1, 'dup'), (2, 'x');",
    ))
    .unwrap();
}

/// Transactions mixing inserts, updates (NULLs both ways) and deletes, in `db` and `other`.
fn incident(db: &str, other: &str) -> String {
    let mut sql = String::from("SET NAMES utf8mb4;\n");
    for i in 0..12 {
        let lo = 1 + i * 4;
        sql.push_str(&format!(
            "BEGIN;
             UPDATE `{db}`.t SET s = CONCAT(s, 'ü'), d = d * -2, ts = '2026-03-01 01:02:03.5',
               j = NULL, bits = bits ^ 1 WHERE id BETWEEN {lo} AND {lo} + 5;
             DELETE FROM `{db}`.t WHERE id = {lo} + 2;
             INSERT INTO `{db}`.t (id, s, e) VALUES ({} , 'new {i}', 'b');
             INSERT INTO `{other}`.t (id, s) VALUES ({}, 'kept {i}');
             DELETE FROM `{db}`.nk WHERE a = 1 LIMIT 1;
             INSERT INTO `{db}`.nk VALUES (1, 'dup');
             UPDATE `{other}`.t SET n = n + 1 WHERE id = {lo};
             COMMIT;\n",
            1000 + i,
            2000 + i
        ));
    }
    sql
}

fn execute(sb: &Sandbox, url: &str, args: &[&str], range: &[String]) -> (bool, String, String) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("XDG_DATA_HOME", data.path())
        .args(["flashback", "--url", url])
        .args(args)
        .args(range)
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .args(["--execute", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let audit: Vec<String> = std::fs::read_dir(data.path().join("arkc/audit"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        audit.join(" "),
    )
}

fn range(start: &(String, u64), stop: &(String, u64)) -> Vec<String> {
    vec![
        "--start-file".into(),
        start.0.clone(),
        "--start-position".into(),
        start.1.to_string(),
        "--stop-file".into(),
        stop.0.clone(),
        "--stop-position".into(),
        stop.1.to_string(),
    ]
}

#[test]
fn row_events_restore_the_scoped_schema_exactly_and_keep_the_other() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_rowev").unwrap();
    let other = sb.create_schema("fb_rowev_other").unwrap();
    create(sb, &db);
    create(sb, &other);
    let before = rows(sb, &db);
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&incident(&db, &other)).unwrap();
    let stop = sb.binlog_position().unwrap();
    let other_after = rows(sb, &other);
    assert_ne!(rows(sb, &db), before, "the incident changed nothing");

    let (ok, stderr, audit) = execute(
        sb,
        &sb.url(),
        &["-d", &db, "--apply-connections", "3"],
        &range(&start, &stop),
    );
    assert!(ok, "--execute failed: {stderr}");
    assert!(stderr.contains(ROW_EVENTS), "{stderr}");
    assert_eq!(rows(sb, &db), before, "the restore is not exact");
    assert_eq!(
        rows(sb, &other),
        other_after,
        "the other schema was touched"
    );
    for kind in ["-apply.sql", "-redo.sql", "-applied.log"] {
        assert!(audit.contains(kind), "no {kind} audit file: {audit}");
    }
}

#[test]
fn row_events_respect_the_sql_type_scope() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_rowev_type").unwrap();
    let other = sb.create_schema("fb_rowev_type_o").unwrap();
    create(sb, &db);
    create(sb, &other);
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&incident(&db, &other)).unwrap();
    let stop = sb.binlog_position().unwrap();
    let after = rows(sb, &db);
    let count = |sql: &str| {
        sb.exec_sql(&format!("SELECT {sql}"))
            .unwrap()
            .trim()
            .to_string()
    };
    let inserted = count(&format!("COUNT(*) FROM `{db}`.t WHERE id >= 1000"));
    let updated = count(&format!("SUM(s LIKE '%ü') FROM `{db}`.t"));

    let args = ["-d", &db, "--sql-type", "delete"];
    let (ok, stderr, _) = execute(sb, &sb.url(), &args, &range(&start, &stop));
    assert!(ok, "--execute failed: {stderr}");
    assert!(stderr.contains(ROW_EVENTS), "{stderr}");
    // Deleted rows are back (as the update just before their delete left them); inserted
    // and updated rows are as the incident left them.
    assert_eq!(
        count(&format!("COUNT(*) FROM `{db}`.t WHERE id < 1000")),
        "60"
    );
    assert_eq!(
        count(&format!("COUNT(*) FROM `{db}`.t WHERE id >= 1000")),
        inserted
    );
    let updated: i64 = updated.parse().unwrap();
    let now = count(&format!("SUM(s LIKE '%ü') FROM `{db}`.t"));
    assert_eq!(now, (updated + 12).to_string());
    assert_ne!(rows(sb, &db), after);
}

#[test]
fn a_conflict_stops_the_row_events_at_its_transaction() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_rowev_conflict").unwrap();
    sb.exec_sql(&in_schema(
        &db,
        "CREATE TABLE k (id INT PRIMARY KEY, v INT);
         INSERT INTO k SELECT seq, 0 FROM seq_1_to_10;",
    ))
    .unwrap();
    let start = sb.binlog_position().unwrap();
    let mut incident = String::new();
    for i in 1..=10 {
        incident.push_str(&match i {
            5 => "DELETE FROM k WHERE id = 5;\n".to_string(),
            _ => format!("UPDATE k SET v = 1 WHERE id = {i};\n"),
        });
    }
    sb.exec_sql(&in_schema(&db, &incident)).unwrap();
    let stop = sb.binlog_position().unwrap();
    // A later write takes the deleted key: re-inserting it (the 6th transaction of the
    // rollback, newest first) must fail, not overwrite the later row.
    sb.exec_sql(&in_schema(&db, "INSERT INTO k VALUES (5, 7);"))
        .unwrap();

    let (ok, stderr, _) = execute(sb, &sb.url(), &["-d", &db], &range(&start, &stop));
    assert!(!ok, "--execute went through: {stderr}");
    assert!(stderr.contains(ROW_EVENTS), "{stderr}");
    assert!(
        stderr.contains("stopped at") && stderr.contains("(6 of 10)"),
        "{stderr}"
    );
    let v = sb
        .exec_sql(&format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM `{db}`.k"))
        .unwrap();
    assert_eq!(v.trim(), "1,1,1,1,7,0,0,0,0,0", "{stderr}");
}

#[test]
fn without_the_binlog_privilege_the_sql_runs_and_says_why() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_rowev_priv").unwrap();
    let other = sb.create_schema("fb_rowev_priv_o").unwrap();
    create(sb, &db);
    create(sb, &other);
    let user = format!("fb_norepl_{}", sb.port());
    sb.exec_sql(&format!(
        "CREATE USER IF NOT EXISTS '{user}'@'%';
         GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.* TO '{user}'@'%';"
    ))
    .unwrap();
    let before = rows(sb, &db);
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&incident(&db, &other)).unwrap();
    let stop = sb.binlog_position().unwrap();

    let url = format!("mysql://{user}@127.0.0.1:{}", sb.port());
    let (ok, stderr, _) = execute(sb, &url, &["-d", &db], &range(&start, &stop));
    assert!(ok, "--execute failed: {stderr}");
    assert!(
        stderr.contains("applying as SQL") && stderr.contains("refused BINLOG"),
        "{stderr}"
    );
    assert_eq!(rows(sb, &db), before, "the SQL restore is not exact");
}

/// One DELETE of 80,000 rows: its rollback is more SQL (16 MB) than one block of the plan
/// (8 MiB) and more row events than one BINLOG statement holds (1 MiB). It is still one
/// transaction, applied whole: as row events on one connection, then (after the incident
/// is played again) as SQL by an account that may not run BINLOG.
#[test]
fn a_transaction_larger_than_a_block_is_restored_whole() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_rowev_big").unwrap();
    let user = format!("fb_big_norepl_{}", sb.port());
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.big (id INT PRIMARY KEY, v VARCHAR(200)) DEFAULT CHARSET=utf8mb4;
         INSERT INTO `{db}`.big SELECT seq, CONCAT(seq, REPEAT('x', 150)) FROM `{db}`.seq_1_to_80000;
         CREATE USER IF NOT EXISTS '{user}'@'%';
         GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.* TO '{user}'@'%';"
    ))
    .unwrap();
    let checksum = || {
        sb.exec_sql(&format!("CHECKSUM TABLE `{db}`.big EXTENDED"))
            .unwrap()
    };
    let before = checksum();
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&format!("DELETE FROM `{db}`.big WHERE id <= 80000"))
        .unwrap();
    let stop = sb.binlog_position().unwrap();
    assert_ne!(checksum(), before, "the incident changed nothing");

    let args = ["-d", &db, "--apply-connections", "1"];
    let (ok, stderr, _) = execute(sb, &sb.url(), &args, &range(&start, &stop));
    assert!(ok, "row events: --execute failed: {stderr}");
    assert!(stderr.contains(ROW_EVENTS), "{stderr}");
    assert_eq!(checksum(), before, "row events: the restore is not exact");

    sb.exec_sql(&format!("DELETE FROM `{db}`.big WHERE id <= 80000"))
        .unwrap();
    let url = format!("mysql://{user}@127.0.0.1:{}", sb.port());
    let (ok, stderr, _) = execute(sb, &url, &["-d", &db], &range(&start, &stop));
    assert!(ok, "SQL: --execute failed: {stderr}");
    assert!(stderr.contains("applying as SQL"), "{stderr}");
    assert_eq!(checksum(), before, "SQL: the restore is not exact");
}
