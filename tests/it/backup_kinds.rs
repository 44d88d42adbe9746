//! Every backup kind through the CLI on one sandbox: each run ends `succeeded` with its snapshot
//! position in `arkc backup list --format json`, and `arkc backup verify` restores each and
//! compares checksums. Also the streamed mariadb-backup, and xtrabackup's refusals.

use std::path::PathBuf;

use arkc::sandbox::Sandbox;
use serde_json::Value;

use crate::backup_jobs::{awkward_schema_with, position_of, text, Env};

/// The "must show" of the backup issue: dump, mydumper, mariabackup to a folder and streamed.
#[test]
fn every_kind_succeeds_with_its_position_and_verifies() {
    let sb = Sandbox::shared();
    // mydumper 0.10 cannot take backticks in names, so this schema has none (the per-kind tests do).
    let db = awkward_schema_with(sb, "every", "");
    let env = Env::new(sb, "");
    let runs: [(&str, &str, &[&str]); 4] = [
        ("dump", "src", &[]),
        ("mydumper", "src", &[]),
        ("mariabackup", "local", &[]),
        ("mariabackup", "local", &["--stream"]),
    ];
    let mut ids = Vec::new();
    for (kind, instance, extra) in runs {
        let (id, out) = env.backup_schema(instance, kind, &db, extra);
        assert!(
            out.status.success(),
            "{kind} {extra:?} failed: {}",
            text(&out)
        );
        ids.push((id, kind, !extra.is_empty()));
    }
    let list = env.list();
    assert_eq!(list.len(), 4, "{list:#?}");
    for (id, kind, streamed) in &ids {
        let rec = list.iter().find(|r| r["id"] == *id).unwrap();
        assert_eq!(rec["state"], "succeeded", "{rec:#}");
        assert_eq!(rec["kind"], *kind, "{rec:#}");
        assert_eq!(rec["streamed"], *streamed, "{rec:#}");
        let (file, pos) = position_of(rec);
        assert!(file.starts_with("mariadb-bin.") && pos > 0, "{rec:#}");
        assert_eq!(rec["tables"], 3, "{rec:#}");
        assert_eq!(rec["checksum_mode"], "checksum", "{rec:#}");
    }
    for (id, kind, streamed) in &ids {
        let out = env.run(&["backup", "verify", &id.to_string()]);
        assert!(
            out.status.success(),
            "verify of {kind} (streamed: {streamed}) failed: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("CHECKSUM TABLE EXTENDED match"),
            "{}",
            text(&out)
        );
        assert_eq!(env.record(*id)["verified"], true);
    }
}

/// `--stream`: one zstd-compressed xbstream file, nothing left unpacked after verification, and a
/// damaged stream fails verification.
#[test]
fn streamed_mariabackup_is_one_compressed_file_and_verifies() {
    let sb = Sandbox::shared();
    let db = awkward_schema_with(sb, "stream", "`");
    let env = Env::new(sb, "");
    let (id, out) = env.backup_schema("local", "mariabackup", &db, &["--stream"]);
    assert!(out.status.success(), "{}", text(&out));
    let rec = env.record(id);
    assert_eq!(rec["state"], "succeeded", "{rec:#}");
    let path = PathBuf::from(rec["path"].as_str().unwrap());
    assert!(
        path.is_file() && path.to_string_lossy().ends_with(".xbstream.zst"),
        "{rec:#}"
    );
    let gtid = rec["position"]["gtid"].as_str().unwrap_or_default();
    assert!(gtid.contains('-'), "the log's GTID: {rec:#}");
    // A zstd frame starts with its magic number.
    let head = std::fs::read(&path).unwrap();
    assert_eq!(
        &head[..4],
        &[0x28, 0xb5, 0x2f, 0xfd],
        "not zstd: {}",
        path.display()
    );
    let out = env.run(&["backup", "verify", &id.to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CHECKSUM TABLE EXTENDED match"),
        "{}",
        text(&out)
    );
    let leftovers: Vec<String> = std::fs::read_dir(env.to())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".verify-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "unpacked copy left behind: {leftovers:?}"
    );

    // Cut the stream short: verification fails and says where.
    let (id2, out) = env.backup_schema("local", "mariabackup", &db, &["--stream"]);
    assert!(out.status.success(), "{}", text(&out));
    let path2 = PathBuf::from(env.record(id2)["path"].as_str().unwrap().to_string());
    let bytes = std::fs::read(&path2).unwrap();
    std::fs::write(&path2, &bytes[..bytes.len() / 2]).unwrap();
    let out = env.run(&["backup", "verify", &id2.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let rec = env.record(id2);
    assert_eq!(rec["verified"], false, "{rec:#}");
    let note = rec["verify_note"].as_str().unwrap_or_default();
    assert!(
        note.contains("restore failed") && note.contains(".xbstream.zst"),
        "{rec:#}"
    );
}

/// xtrabackup against MariaDB 10.11 is refused by name before anything is recorded.
#[test]
fn xtrabackup_refuses_mariadb_by_name() {
    let sb = Sandbox::shared();
    let env = Env::new(sb, "");
    let out = env.run(&[
        "backup",
        "run",
        "--instance",
        "local",
        "--kind",
        "xtrabackup",
        "--to",
        env.to().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("xtrabackup does not support MariaDB 10.3") && err.contains("mariabackup"),
        "{}",
        text(&out)
    );
    assert_eq!(env.list(), Vec::<Value>::new());
}
