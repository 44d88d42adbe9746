//! A deploy whose session dies mid-apply (killed by the server while a statement waits on a
//! row lock the test holds): the record says which statements ran, its status is failed, and
//! the binlog end is read on a new connection so `arkc deploy undo` still undoes what ran.

use std::process::{Command, Output, Stdio};

use arkc::sandbox::Sandbox;

use crate::support::locks::{hold_row_lock, release, scalar, waiting_update};

fn arkc(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arkc"));
    cmd.env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn deploy_killed_mid_apply_records_what_ran_and_can_still_be_undone() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("deploy_kill").expect("schema");
    let table = format!("{db}.t");
    sb.exec_sql(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0); \
         INSERT INTO {table} VALUES (1, 0), (2, 0), (3, 0);"
    ))
    .expect("seed");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[[instance]]\nname = \"sb\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let file = dir.path().join("change.sql");
    std::fs::write(
        &file,
        format!(
            "UPDATE {table} SET v = 1 WHERE id = 1;\nUPDATE {table} SET v = 1 WHERE id = 2;\n\
             UPDATE {table} SET v = 1 WHERE id = 3;\n"
        ),
    )
    .unwrap();
    let lock = hold_row_lock(sb, &table, 2);
    let child = arkc(
        dir.path(),
        &[
            "deploy",
            "apply",
            file.to_str().unwrap(),
            "--instance",
            "sb",
        ],
    )
    .spawn()
    .expect("arkc runs");
    let session = waiting_update(sb, &db);
    sb.exec_sql(&format!("KILL CONNECTION {session}"))
        .expect("kill");
    let out = child.wait_with_output().expect("arkc ends");
    release(lock);
    let err = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stopped at statement 2 (line 2)"), "{err}");
    assert!(
        err.contains("Statements 1 to 1 before it stay applied"),
        "{err}"
    );
    // Statement 2 failed before its COMMIT was sent: not in doubt.
    assert!(!err.contains("IN DOUBT"), "{err}");
    assert_eq!(
        scalar(
            sb,
            &format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM {table}")
        ),
        "1,0,0"
    );

    let list = arkc(dir.path(), &["deploy", "list", "--format", "json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let d = &list[0];
    assert_eq!(d["status"], "failed", "{d}");
    let st = d["statements"].as_array().unwrap();
    assert_eq!(st.len(), 2, "{d}");
    assert_eq!(st[0]["status"], "applied");
    assert_eq!(st[1]["status"], "failed");
    assert!(
        d["after"]["position"].as_u64().is_some(),
        "end read again: {d}"
    );

    let id = d["id"].to_string();
    let undo = arkc(dir.path(), &["deploy", "undo", &id, "--yes"])
        .output()
        .unwrap();
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(
        scalar(
            sb,
            &format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM {table}")
        ),
        "0,0,0"
    );
}
