//! The real binary's `binlog events` and `flashback` on corpus binlogs.

use std::process::{Command, Output};

const MARIADB_BIN: &str = concat!(env!("ARKC_CORPORA"), "/binlogs/mariadb-bin.000001");
const DDL_BIN: &str = concat!(
    env!("ARKC_CORPORA"),
    "/binlogs/rpl_atomic_ddl_rollback_full.000001"
);

fn arkc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn flashback_help_lists_every_filter() {
    let help = stdout(&arkc(&["flashback", "--help"]));
    for flag in [
        "--start-file",
        "--start-position",
        "--stop-file",
        "--stop-position",
        "--start-datetime",
        "--stop-datetime",
        "--gtid",
        "--exclude-gtid",
        "--database",
        "--table",
        "--sql-type",
        "--thread-id",
        "--forward",
        "--format",
        "--where-columns",
        "--binlog-dir",
    ] {
        assert!(help.contains(flag), "missing {flag} in:\n{help}");
    }
}

#[test]
fn flashback_prints_rollback_sql() {
    let out = arkc(&["flashback", MARIADB_BIN, "--gtid", "0-1-1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = stdout(&out);
    assert!(sql.starts_with("-- arkc flashback"), "{sql}");
    assert!(
        sql.contains("DELETE FROM `toddy_test`.`outbox` WHERE `id` = 62 LIMIT 1;"),
        "{sql}"
    );
    assert!(!sql.contains("= 63"), "{sql}");
}

#[test]
fn flashback_refuses_ddl_with_exit_code_and_reason() {
    let out = arkc(&["flashback", DDL_BIN]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing is printed when refusing");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("flashback refused") && err.contains("CREATE TABLE t1"),
        "{err}"
    );
}

#[test]
fn events_json_is_one_object_per_transaction() {
    let out = arkc(&[
        "binlog",
        "events",
        "--format",
        "json",
        MARIADB_BIN,
        "--sql-type",
        "insert",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["gtid"], "0-1-2");
    assert_eq!(lines[1]["rows"][0]["after"]["id"], 63);
    assert_eq!(
        lines[1]["rows"][0]["after"]["created"],
        "2022-04-20 22:19:55"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = arkc(&["binlog", "events", "/nonexistent/bin.000001"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/bin.000001"), "{err}");
}
