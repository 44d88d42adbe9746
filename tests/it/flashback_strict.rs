//! The rollback SQL runs under its own strict sql_mode: if a table changed since the binlog was
//! written so that an old value no longer fits, applying it fails instead of silently storing a
//! truncated value, and the failed transaction leaves the table as it was.

use std::process::Command;

use arkc::sandbox::Sandbox;

#[test]
fn a_value_that_no_longer_fits_is_an_error_not_a_truncation() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("strict").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.notes (id INT PRIMARY KEY, body VARCHAR(40)) DEFAULT CHARSET=utf8mb4;\
         INSERT INTO `{db}`.notes VALUES (1, 'a long note that will not fit'), (2, 'ok');"
    ))
    .unwrap();
    let (file, pos) = sb.binlog_position().unwrap();
    let pos = pos.to_string();
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
    let err = sb
        .exec_sql(&sql)
        .expect_err("must fail rather than truncate");
    assert!(format!("{err:#}").contains("Data too long"), "{err:#}");
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
    sb.exec_sql(&sql)
        .expect("the unchanged table takes the rollback");
    let body = sb
        .exec_sql(&format!("SELECT body FROM `{db}`.notes WHERE id = 1"))
        .unwrap();
    assert_eq!(body.trim(), "a long note that will not fit");
}
