//! The rollback SQL runs under its own strict sql_mode: if a table changed since the binlog was
//! written so that an old value no longer fits, applying it fails instead of silently storing a
//! truncated value, and the failed transaction leaves the table as it was.

use std::io::Write;
use std::process::{Command, Stdio};

use arkc::sandbox::Sandbox;

fn position(sb: &Sandbox) -> (String, String) {
    let out = sb.exec_sql("SHOW MASTER STATUS").unwrap();
    let mut f = out.split('\t');
    (
        f.next().unwrap().to_string(),
        f.next().unwrap().trim().to_string(),
    )
}

/// Pipes `sql` into the stock client with the server's defaults; returns (success, stderr).
fn apply(sb: &Sandbox, sql: &str) -> (bool, String) {
    let mut child = sb
        .client()
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_value_that_no_longer_fits_is_an_error_not_a_truncation() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("strict").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.notes (id INT PRIMARY KEY, body VARCHAR(40)) DEFAULT CHARSET=utf8mb4;\
         INSERT INTO `{db}`.notes VALUES (1, 'a long note that will not fit'), (2, 'ok');"
    ))
    .unwrap();
    let (file, pos) = position(sb);
    sb.exec_sql(&format!("DELETE FROM `{db}`.notes;")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["flashback", "--binlog-dir"])
        .arg(sb.binlog_dir())
        .args([
            "--start-file",
            &file,
            "--start-position",
            &pos,
            "--database",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = String::from_utf8(out.stdout).unwrap();
    assert!(sql.contains("INSERT INTO"), "{sql}");

    // Someone narrows the column after the incident: the old value no longer fits.
    sb.exec_sql(&format!("ALTER TABLE `{db}`.notes MODIFY body VARCHAR(8);"))
        .unwrap();
    let (ok, stderr) = apply(sb, &sql);
    assert!(!ok, "must fail rather than truncate");
    assert!(stderr.contains("Data too long"), "{stderr}");
    let rows = sb
        .exec_sql(&format!("SELECT COUNT(*) FROM `{db}`.notes"))
        .unwrap();
    assert_eq!(
        rows.trim(),
        "0",
        "the failed transaction must leave no partial restore"
    );

    // With the column as it was, the same SQL restores both rows exactly.
    sb.exec_sql(&format!(
        "ALTER TABLE `{db}`.notes MODIFY body VARCHAR(40);"
    ))
    .unwrap();
    let (ok, stderr) = apply(sb, &sql);
    assert!(ok, "{stderr}");
    let body = sb
        .exec_sql(&format!("SELECT body FROM `{db}`.notes WHERE id = 1"))
        .unwrap();
    assert_eq!(body.trim(), "a long note that will not fit");
}
