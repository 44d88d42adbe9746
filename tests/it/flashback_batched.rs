//! `arkc flashback --execute` merges the planner's single-row statements into multi-row ones
//! (`arkc_binlog::batch`): the rows must end exactly as the plan's own statements leave them,
//! over every column type a key UPDATE can set, and a merged transaction that trips over a
//! unique key the plan's order would not (a swap) is rolled back and run again as written.

use std::process::{Command, Stdio};

use arkc::sandbox::Sandbox;

const SQL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/binlog/tests/sql");

fn in_schema(db: &str, sql: &str) -> String {
    format!("SET NAMES utf8mb4;\nUSE `{db}`;\n{sql}")
}

fn checksum(sb: &Sandbox, db: &str, tables: &str) -> String {
    let list: Vec<String> = tables.split(", ").map(|t| format!("`{db}`.{t}")).collect();
    sb.exec_sql(&format!("CHECKSUM TABLE {} EXTENDED", list.join(", ")))
        .unwrap()
}

/// `arkc flashback` of the range [start, stop) of schema `db`, with `extra` arguments.
fn flashback(
    sb: &Sandbox,
    data: &std::path::Path,
    db: &str,
    (start, stop): (&(String, u64), &(String, u64)),
    extra: &[&str],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("XDG_DATA_HOME", data)
        .args(["flashback", "--url", &sb.url(), "-d", db])
        .args(["--start-file", &start.0, "--start-position"])
        .arg(start.1.to_string())
        .args(["--stop-file", &stop.0, "--stop-position"])
        .arg(stop.1.to_string())
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "arkc flashback failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn merged_key_updates_over_every_column_type_restore_exactly() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_batch").unwrap();
    let read = |f: &str| std::fs::read_to_string(format!("{SQL_DIR}/{f}")).unwrap();
    sb.exec_sql(&in_schema(&db, &read("schema.sql"))).unwrap();
    sb.exec_sql(&in_schema(&db, &read("seed.sql"))).unwrap();
    // Every row, every column a key UPDATE sets to a literal (json and geometry are
    // expressions, never merged), with values of every kind the planner writes.
    let incident = "UPDATE alltypes SET ti = -7, tiu = 250, si = NULL, siu = 65000, mi = -8000000,
        miu = 16000000, i = i + 1, iu = 4000000000, bi = -9000000000000000000,
        biu = 18000000000000000000, d1 = -12345678.91, d2 = 0.000000000000000000000000000001,
        d3 = 99999, f = 1.5e-3, dbl = -2.2250738585072014e-308, dt = '1999-12-31',
        tm = '-838:59:59', tm6 = '12:34:56.789012', dtm = '2038-01-19 03:14:08',
        dtm3 = '2001-01-01 01:01:01.001', ts = '2020-02-29 12:00:00', ts6 = NULL, yr = 2155,
        b1 = b'1', b64 = b'1000000000000000000000000000000000000000000000000000000000000001',
        b10 = b'1111111111', e = 'c d', st = 'x,z', c = 'é''q', vc = CONCAT('v, `x` = 1 ', id),
        vcl = 'caf\\xe9', bin = X'00FF', vbin = X'5C27', tx = REPEAT('t''', 3), bl = X'00',
        lt = 'long \\\\ text';
        UPDATE `select` SET `we ird-col` = 'w;x' WHERE `key` > 0;
        UPDATE comp SET c = c + 100;";
    // Outside the range: every row the same before the incident, so that every row's undo
    // sets the same columns (the planner sets only the columns that changed).
    let baseline = "UPDATE alltypes SET ti = 1, tiu = 2, si = 3, siu = 4, mi = 5, miu = 6, iu = 7,
        bi = 8, biu = 9, d1 = 1.25, d2 = 2.5, d3 = 3, f = 0.5, dbl = 0.25, dt = '2000-01-01',
        tm = '01:02:03', tm6 = '01:02:03.5', dtm = '2000-01-01 00:00:00',
        dtm3 = '2000-01-01 00:00:00.5', ts = '2000-01-01 00:00:00', ts6 = '2000-01-01 00:00:00.25',
        yr = 2000, b1 = b'0', b64 = b'1', b10 = b'1', e = 'a', st = 'y', c = 'c', vc = 'vc',
        vcl = 'l', bin = X'01', vbin = X'02', tx = 't', bl = X'03', lt = 'lt';";
    sb.exec_sql(&in_schema(&db, baseline)).unwrap();
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, incident)).unwrap();
    let stop = sb.binlog_position().unwrap();
    let tables = "alltypes, `select`, comp, nopk";
    let after = checksum(sb, &db, tables);
    let data = tempfile::tempdir().unwrap();

    // The plan's own statements do merge (else this test would prove nothing).
    let plan = ok(&flashback(sb, data.path(), &db, (&start, &stop), &[]));
    let units = arkc::backend::binlog::flashback::split_units(&plan).unwrap();
    let merged: Vec<_> = units
        .iter()
        .flat_map(|u| arkc_binlog::batch::batch_statements(&u.statements, 1 << 20))
        .filter(|b| b.rows > 1 && b.sql.starts_with("UPDATE"))
        .collect();
    assert!(
        merged.iter().any(|b| b.sql.contains("`alltypes`")),
        "no merged alltypes UPDATE in: {merged:?}"
    );

    // The reference: the plan as written, through the mariadb client.
    sb.exec_sql(&plan).unwrap();
    let before = checksum(sb, &db, tables);
    assert_ne!(before, after);
    // Replay the incident, then undo it with --execute (merged): the same rows as the plan.
    let replay = tempfile::tempdir().unwrap();
    let redo = ok(&flashback(
        sb,
        replay.path(),
        &db,
        (&start, &stop),
        &["--forward"],
    ));
    sb.exec_sql(&redo).unwrap();
    assert_eq!(checksum(sb, &db, tables), after, "the forward replay");
    ok(&flashback(
        sb,
        data.path(),
        &db,
        (&start, &stop),
        &["--execute", "--yes"],
    ));
    assert_eq!(
        checksum(sb, &db, tables),
        before,
        "--execute (merged) leaves what the plan as written leaves"
    );
}

#[test]
fn a_merged_update_that_clashes_on_a_unique_key_runs_as_written() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_swap").unwrap();
    sb.exec_sql(&in_schema(
        &db,
        "CREATE TABLE u (id INT PRIMARY KEY, v INT NOT NULL, UNIQUE KEY (v));
         INSERT INTO u VALUES (1, 10), (2, 20), (3, 30);",
    ))
    .unwrap();
    let before = checksum(sb, &db, "u");
    let start = sb.binlog_position().unwrap();
    // Row 1 leaves 10, row 2 takes it: undone newest first, row 2 gives 10 back before row 1
    // takes it; a merged UPDATE visits row 1 first and meets row 2 still holding 10.
    sb.exec_sql(&in_schema(
        &db,
        "BEGIN; UPDATE u SET v = 40 WHERE id = 1; UPDATE u SET v = 10 WHERE id = 2; COMMIT;",
    ))
    .unwrap();
    let stop = sb.binlog_position().unwrap();
    let data = tempfile::tempdir().unwrap();
    let plan = ok(&flashback(sb, data.path(), &db, (&start, &stop), &[]));
    let units = arkc::backend::binlog::flashback::split_units(&plan).unwrap();
    let unit = units.iter().find(|u| u.transaction).unwrap();
    let batched = arkc_binlog::batch::batch_statements(&unit.statements, 1 << 20);
    assert_eq!(batched.len(), 1, "the two UPDATEs merge: {batched:?}");
    let out = flashback(
        sb,
        data.path(),
        &db,
        (&start, &stop),
        &["--execute", "--yes"],
    );
    ok(&out);
    assert_eq!(checksum(sb, &db, "u"), before);
}
