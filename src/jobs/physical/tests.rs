//! The physical tools' output lines and refusals, from their documented formats (XtraBackup's
//! lines from Percona's documentation; arkc has not run a real xtrabackup).

use super::*;

#[test]
fn xtrabackup_refuses_mariadb_by_name() {
    let why = server_refusal(PhysicalTool::Xtrabackup, "10.11.19-MariaDB-log", None).unwrap();
    assert!(
        why.contains("MariaDB 10.11.19") && why.contains("10.3") && why.contains("mariabackup"),
        "{why}"
    );
    // Before 10.3 only XtraBackup 2.4 reads it.
    assert!(server_refusal(
        PhysicalTool::Xtrabackup,
        "10.2.44-MariaDB",
        Some((2, 4, 29))
    )
    .is_none());
    let why = server_refusal(
        PhysicalTool::Xtrabackup,
        "10.2.44-MariaDB",
        Some((8, 0, 35)),
    )
    .unwrap();
    assert!(why.contains("2.4"), "{why}");
    // mariadb-backup is never refused here.
    assert!(server_refusal(PhysicalTool::Mariabackup, "10.11.19-MariaDB", None).is_none());
}

#[test]
fn xtrabackup_release_must_match_the_mysql_server() {
    let x = PhysicalTool::Xtrabackup;
    assert!(server_refusal(x, "8.0.35", Some((8, 0, 35))).is_none());
    assert!(server_refusal(x, "8.0.35-27", Some((8, 0, 36))).is_none());
    let older = server_refusal(x, "8.0.36", Some((8, 0, 35))).unwrap();
    assert!(older.contains("8.0.36 or later"), "{older}");
    assert!(server_refusal(x, "8.4.3", Some((8, 0, 35))).is_some());
    assert!(server_refusal(x, "5.7.44-log", Some((2, 4, 29))).is_none());
    let why = server_refusal(x, "5.7.44", Some((8, 0, 35))).unwrap();
    assert!(why.contains("XtraBackup 2.4"), "{why}");
}

#[test]
fn a_missing_xtrabackup_names_the_tool_and_the_package() {
    if Tool::probe("xtrabackup").is_ok() {
        eprintln!("SKIPPED: xtrabackup is installed here");
        return;
    }
    let err = PhysicalTool::Xtrabackup.probe().unwrap_err().to_string();
    assert!(
        err.contains("`xtrabackup` is not installed") && err.contains("percona-xtrabackup-80"),
        "{err}"
    );
    let err = PhysicalTool::Xtrabackup
        .probe_extractor()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`xbstream`"), "{err}");
}

#[test]
fn counts_files_started_in_each_tools_log() {
    // mariadb-backup 10.11 (folder and stream).
    let maria = "[00] 2026-12-01 16:33:00 Streaming /d//aria_log_control to <STDOUT>\n\
        [00] 2026-12-01 16:33:00         ...done\n\
        [01] 2026-12-01 16:33:00 Copying ./mysql/innodb_table_stats.ibd to /b/mysql/innodb_table_stats.ibd\n\
        [01] 2026-12-01 16:33:00         ...done\n\
        [00] 2026-12-01 16:33:01 Start copying aria log file tail: /d//aria_log.00000001\n";
    assert_eq!(files_started(maria), 2);
    // XtraBackup 2.4.
    let pxb24 = "[01] Copying ./ibdata1 to /data/backups/ibdata1\n[01]        ...done\n\
        [01] Streaming ./test/t.ibd\n[01]        ...done\n";
    assert_eq!(files_started(pxb24), 2);
    // XtraBackup 8.0: each copy is announced and then reported done.
    let pxb80 = "2024-01-10T10:00:00.1+00:00 1 [Note] [MY-011825] [Xtrabackup] Copying ./ibdata1 to /data/backups/ibdata1\n\
        2024-01-10T10:00:00.2+00:00 1 [Note] [MY-011825] [Xtrabackup] Done: Copying ./ibdata1 to /data/backups/ibdata1\n\
        2024-01-10T10:00:00.3+00:00 2 [Note] [MY-011825] [Xtrabackup] Streaming ./sakila/actor.ibd\n\
        2024-01-10T10:00:00.4+00:00 2 [Note] [MY-011825] [Xtrabackup] Done: Streaming ./sakila/actor.ibd\n";
    assert_eq!(files_started(pxb80), 2);
}

#[test]
fn completion_marker_of_each_tool() {
    assert!(completed_ok("[00] 2026-12-01 16:33:01 completed OK!\n"));
    assert!(completed_ok(
        "2024-01-10T10:00:09.9+00:00 0 [Note] [MY-011825] [Xtrabackup] completed OK!"
    ));
    assert!(completed_ok(
        "xtrabackup: Transaction log of lsn (1) to (2) was copied.\n231011 completed OK!\n"
    ));
    assert!(!completed_ok(
        "[00] 2026-12-01 16:33:01 Redo log (from LSN 44848 to 48109) was copied.\n"
    ));
}

#[test]
fn binlog_position_from_the_log_line() {
    let maria = "[00] 2026-12-01 16:33:01 MySQL binlog position: filename 'mariadb-bin.000001', \
                 position '783', GTID of the last change '0-5-3'\n[00] 2026-12-01 16:33:01 completed OK!\n";
    assert_eq!(
        position_from_log(maria),
        Some(SnapshotPosition {
            file: Some("mariadb-bin.000001".into()),
            pos: Some(783),
            gtid: Some("0-5-3".into()),
        })
    );
    let pxb =
        "2024-01-10T10:00:09.1+00:00 0 [Note] [MY-011825] [Xtrabackup] MySQL binlog position: \
               filename 'binlog.000002', position '157'\n";
    assert_eq!(
        position_from_log(pxb),
        Some(SnapshotPosition {
            file: Some("binlog.000002".into()),
            pos: Some(157),
            gtid: None,
        })
    );
    assert_eq!(position_from_log("completed OK!\n"), None);
}

#[test]
fn checkpoints_and_binlog_info_files() {
    let backed = "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 44848\nlast_lsn = 48109\n";
    assert_eq!(backup_type(backed).as_deref(), Some("full-backuped"));
    assert!(!is_prepared(backed));
    assert!(is_prepared("backup_type = log-applied\nfrom_lsn = 0\n"));
    assert!(is_prepared(
        "backup_type = full-prepared\nfrom_lsn = 0\nto_lsn = 18337563\n"
    ));
    assert!(!is_prepared(""));
    assert_eq!(
        position_from_binlog_info("binlog.000002\t157\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n"),
        Some(SnapshotPosition {
            file: Some("binlog.000002".into()),
            pos: Some(157),
            gtid: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".into()),
        })
    );
    assert_eq!(position_from_binlog_info(""), None);
}

#[test]
fn stream_file_names() {
    use crate::config::Compression;
    assert_eq!(
        stream_name("a-b-1", Compression::Zstd),
        "a-b-1.xbstream.zst"
    );
    assert_eq!(stream_name("a-b-1", Compression::None), "a-b-1.xbstream");
    assert!(is_stream(Path::new("/b/x-1.xbstream.zst")));
    assert!(!is_stream(Path::new("/b/x.xbstream.d/x-1")));
}
