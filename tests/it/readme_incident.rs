//! The README's example incident, command for command: `shop.orders` damaged by an UPDATE
//! without WHERE and a DELETE while legitimate writes go on, then
//! `arkc flashback --binlog-dir DIR -d shop -t orders --start-datetime ... > undo.sql` and
//! `mariadb < undo.sql`: the table's checksum is back, the legitimate writes are kept.

use std::process::{Command, Stdio};

use arkc::sandbox::Sandbox;

const SETUP: &str = "CREATE DATABASE shop;
CREATE TABLE shop.orders (id INT PRIMARY KEY, customer INT, status VARCHAR(16), amount DECIMAL(10,2),
  note TEXT, placed DATETIME(3));
CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(40));
USE shop;
INSERT INTO shop.orders SELECT seq, seq % 7, ELT(1 + seq % 3, 'paid', 'shipped', 'new'),
  seq * 1.25, IF(seq % 5 = 0, NULL, CONCAT('note ', seq)), TIMESTAMP'2026-11-25 09:00:00.125' + INTERVAL seq MINUTE
  FROM seq_1_to_40;";

const INCIDENT: &str = "UPDATE shop.orders SET status = 'cancelled', amount = 0;
INSERT INTO shop.customers VALUES (1, 'legit before'), (2, 'legit before');
DELETE FROM shop.orders WHERE id > 30;
UPDATE shop.customers SET name = 'legit after' WHERE id = 2;";

fn sql(sb: &Sandbox, text: &str) -> String {
    sb.exec_sql(text).unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn readme_example_incident_round_trip() {
    let sb = Sandbox::shared();
    sql(sb, SETUP);
    let before = sql(sb, "CHECKSUM TABLE shop.orders");
    // Binlog times have one-second resolution: let the set-up's second pass before the cut.
    crate::support::wait::next_server_second(sb);
    let start = sql(
        sb,
        "SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s')",
    );
    sql(sb, INCIDENT);
    assert_ne!(
        sql(sb, "CHECKSUM TABLE shop.orders"),
        before,
        "the incident changed nothing"
    );
    let stop = sql(
        sb,
        "SELECT DATE_FORMAT(UTC_TIMESTAMP() + INTERVAL 2 SECOND, '%Y-%m-%d %H:%i:%s')",
    );

    let dir = tempfile::tempdir().unwrap();
    let undo = dir.path().join("undo.sql");
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("flashback")
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .args(["-d", "shop", "-t", "orders"])
        .args([
            "--start-datetime",
            start.trim(),
            "--stop-datetime",
            stop.trim(),
        ])
        .stdout(std::fs::File::create(&undo).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&undo).unwrap();
    assert!(
        !text.contains("customers"),
        "the -t filter keeps other tables out:\n{text}"
    );

    let status = sb
        .client()
        .stdin(std::fs::File::open(&undo).unwrap())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "mariadb < undo.sql failed");
    assert_eq!(
        sql(sb, "CHECKSUM TABLE shop.orders"),
        before,
        "the rows are back"
    );
    assert_eq!(
        sql(
            sb,
            "SELECT GROUP_CONCAT(name ORDER BY id) FROM shop.customers"
        )
        .trim(),
        "legit before,legit after",
        "legitimate writes in the same window are kept"
    );
}
