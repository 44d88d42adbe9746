//! `arkc flashback --execute --apply-connections 4` runs transactions that write different rows on several
//! connections, COMMITs in plan order (`backend::binlog::apply_parallel`). The restore must be
//! exact whatever overlaps: the same rows written by many transactions, keys deleted and taken
//! again, primary key updates, a table without a key holding duplicate rows, and values of a
//! unique secondary key moving between rows (which the key reader does not see: the server's
//! locks and duplicate key errors make those run again in order). A real error still stops at
//! the transaction that fails, with every transaction after it left undone.

use std::process::{Command, Stdio};

use arkc::sandbox::Sandbox;

fn in_schema(db: &str, sql: &str) -> String {
    format!("SET NAMES utf8mb4;\nUSE `{db}`;\n{sql}")
}

fn checksum(sb: &Sandbox, db: &str) -> String {
    sb.exec_sql(&format!(
        "CHECKSUM TABLE `{db}`.k, `{db}`.nk, `{db}`.uq, `{db}`.c2 EXTENDED"
    ))
    .unwrap()
}

fn execute(
    sb: &Sandbox,
    db: &str,
    (start, stop): (&(String, u64), &(String, u64)),
) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("XDG_DATA_HOME", data.path())
        .args(["flashback", "--url", &sb.url(), "-d", db])
        .args(["--start-file", &start.0, "--start-position"])
        .arg(start.1.to_string())
        .args(["--stop-file", &stop.0, "--stop-position"])
        .arg(stop.1.to_string())
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .args(["--execute", "--yes", "--apply-connections", "4"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// 80 small transactions over few rows, so that most of them overlap some other one.
fn incident() -> String {
    let mut seed: u64 = 7;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut sql = String::new();
    for t in 0..80 {
        sql.push_str("BEGIN;\n");
        for _ in 0..2 + next(4) {
            let r = 1 + next(30);
            let stmt = match next(9) {
                0 | 1 => format!("UPDATE k SET v = v + {t}, s = CONCAT(s, 'x') WHERE id = {r};"),
                2 => format!("DELETE FROM k WHERE id = {r};"),
                3 => format!("REPLACE INTO k VALUES ({r}, {t}, 'again');"),
                4 => format!("UPDATE IGNORE k SET id = id + 100 WHERE id = {r};"),
                5 => format!("UPDATE IGNORE k SET id = id - 100 WHERE id = {};", r + 100),
                6 => match next(3) {
                    0 => format!("INSERT INTO nk VALUES ({}, 'x');", r % 3),
                    1 => format!("DELETE FROM nk WHERE a = {} LIMIT 1;", r % 3),
                    _ => format!("UPDATE nk SET b = 'z{t}' WHERE a = {} LIMIT 1;", r % 3),
                },
                // A unique value moves from one row to another.
                7 => format!(
                    "UPDATE IGNORE uq SET u = {} WHERE id = {};",
                    10 * (1 + next(12)),
                    1 + r % 12
                ),
                _ => format!(
                    "UPDATE c2 SET w = w * 2 + {t} WHERE a = {} AND b = {};",
                    r % 5,
                    r % 3
                ),
            };
            sql.push_str(&stmt);
            sql.push('\n');
        }
        sql.push_str("COMMIT;\n");
    }
    sql
}

#[test]
fn overlapping_transactions_restore_exactly_in_parallel() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_parallel").unwrap();
    sb.exec_sql(&in_schema(
        &db,
        "CREATE TABLE k (id INT PRIMARY KEY, v INT, s VARCHAR(200));
         CREATE TABLE nk (a INT, b VARCHAR(20));
         CREATE TABLE uq (id INT PRIMARY KEY, u INT NOT NULL, UNIQUE KEY (u));
         CREATE TABLE c2 (a INT, b INT, w BIGINT, PRIMARY KEY (a, b));
         INSERT INTO k SELECT seq, seq, 's' FROM seq_1_to_30;
         INSERT INTO nk VALUES (0, 'x'), (0, 'x'), (1, 'x'), (1, 'x'), (1, 'x'), (2, 'y');
         INSERT INTO uq SELECT seq, 5 * seq FROM seq_1_to_12;
         INSERT INTO c2 SELECT a.seq, b.seq, 1 FROM seq_0_to_4 a, seq_0_to_2 b;",
    ))
    .unwrap();
    let before = checksum(sb, &db);
    let start = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &incident())).unwrap();
    let stop = sb.binlog_position().unwrap();
    let after = checksum(sb, &db);
    assert_ne!(before, after, "the incident changed nothing");

    let out = execute(sb, &db, (&start, &stop));
    assert!(
        out.status.success(),
        "--execute failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(checksum(sb, &db), before, "the restore is not exact");
}

#[test]
fn a_real_error_stops_at_its_transaction_and_leaves_the_later_ones_undone() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_parallel_stop").unwrap();
    sb.exec_sql(&in_schema(
        &db,
        "CREATE TABLE k (id INT PRIMARY KEY, v INT);
         CREATE TABLE nk (a INT); CREATE TABLE uq (id INT PRIMARY KEY);
         CREATE TABLE c2 (a INT PRIMARY KEY);
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
    // A later write takes the deleted key: undoing the DELETE (the 6th transaction of the
    // rollback, newest first) fails on it.
    sb.exec_sql(&in_schema(&db, "INSERT INTO k VALUES (5, 7);"))
        .unwrap();

    let out = execute(sb, &db, (&start, &stop));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "--execute went through: {stderr}");
    assert!(
        stderr.contains("stopped at") && stderr.contains("(6 of 10)"),
        "{stderr}"
    );
    let rows = sb
        .exec_sql(&format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM `{db}`.k"))
        .unwrap();
    // Rows 6..10 undone (newest first, before the failure), 1..4 never undone, 5 the later write.
    assert_eq!(rows.trim(), "1,1,1,1,7,0,0,0,0,0", "{stderr}");
}
