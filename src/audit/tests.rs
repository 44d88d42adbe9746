use super::*;
use chrono::DateTime;

fn kill(instance: &str) -> Action<'_> {
    Action {
        instance,
        action: "kill",
        sql: Some("KILL CONNECTION 7"),
        rows_affected: 1,
        result: "ok",
        ..Default::default()
    }
}

#[test]
fn appends_records_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/audit.jsonl");
    append_to(&path, &kill("db1")).unwrap();
    let sql_file = dir.path().join("plan.sql");
    std::fs::write(&sql_file, "DELETE FROM t WHERE id=1;\n").unwrap();
    let files = [sql_file.clone()];
    append_to(
        &path,
        &Action {
            instance: "db2",
            action: "flashback apply",
            sql_files: &files,
            rows_affected: 3,
            result: "failed",
            message: "stopped",
            ..Default::default()
        },
    )
    .unwrap();
    let records = read_since(&path, None).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].instance, "db1");
    assert_eq!(records[0].sql.as_deref(), Some("KILL CONNECTION 7"));
    assert_eq!(
        records[0].sha256,
        format!("{:x}", Sha256::digest(b"KILL CONNECTION 7"))
    );
    assert_eq!(records[1].sql_files, vec![sql_file.display().to_string()]);
    assert_eq!(records[1].sql, None);
    assert_eq!(
        records[1].sha256,
        format!("{:x}", Sha256::digest(b"DELETE FROM t WHERE id=1;\n"))
    );
    assert_eq!(records[1].rows_affected, 3);
    assert_eq!(records[1].result, "failed");
    assert!(!records[1].user.is_empty());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn since_keeps_later_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut old: AuditRecord = {
        append_to(&path, &kill("a")).unwrap();
        read_since(&path, None).unwrap().remove(0)
    };
    old.time = "2020-01-01T00:00:00.000Z".into();
    let text = format!(
        "{}\n{}",
        serde_json::to_string(&old).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );
    std::fs::write(&path, text).unwrap();
    assert_eq!(read_since(&path, None).unwrap().len(), 2);
    let since = DateTime::parse_from_rfc3339("2021-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let kept = read_since(&path, Some(since)).unwrap();
    assert_eq!(kept.len(), 1);
    assert_ne!(kept[0].time, old.time);
}

#[test]
fn a_malformed_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    append_to(&path, &kill("a")).unwrap();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"time\": \"x\"\n");
    std::fs::write(&path, text).unwrap();
    let err = read_since(&path, None).unwrap_err().to_string();
    assert!(err.contains(&format!("{}:2:", path.display())), "{err}");
}

#[test]
fn a_missing_trail_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    assert!(read_since(&dir.path().join("none.jsonl"), None)
        .unwrap()
        .is_empty());
}
