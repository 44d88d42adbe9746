//! `arkc flashback --instance NAME` without files follows the instance's `binlog_source`:
//! `stream` pulls the replication stream even where the files are readable, `auto` reads
//! the files when it can and streams when it cannot, `files` refuses logs it cannot read.
//! Files and stream give the same rollback; stderr says which was read.

use std::process::{Command, Output};

use arkc::sandbox::{Sandbox, SandboxOptions};

/// Runs `arkc --config <instance `fb` with `extra` lines> flashback --instance fb ARGS`.
fn flashback(sb: &Sandbox, extra: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[[instance]]\nname = \"fb\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
         password = \"\"\n{extra}",
        sb.port(),
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("config");
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&path)
        .args(["flashback", "--instance", "fb"])
        .args(args)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .output()
        .expect("arkc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_instance_without_files_follows_its_binlog_source() {
    let sb = Sandbox::start(SandboxOptions {
        name: "fb-source".into(),
        ..Default::default()
    })
    .expect("sandbox");
    let db = sb.create_schema("src").expect("schema");
    sb.exec_sql(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)"))
        .expect("table");
    let (file, pos) = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "INSERT INTO {db}.t VALUES (1, 10), (2, 20); UPDATE {db}.t SET v = 11 WHERE id = 1"
    ))
    .expect("writes");
    let pos = pos.to_string();
    let range = ["--start-file", &file, "--start-position", &pos, "-d", &db];
    let empty = tempfile::tempdir().expect("a binlog_dir without the logs");
    let elsewhere = format!("binlog_dir = \"{}\"\n", empty.path().display());

    // The server's own folder is on this machine: auto reads the files.
    let files = flashback(&sb, "", &range);
    let err = text(&files.stderr);
    assert!(files.status.success(), "{err}");
    assert!(
        err.contains("binlog file(s) from") && err.contains("(binlog_source = auto)"),
        "{err}"
    );
    let sql = text(&files.stdout);
    assert!(
        sql.contains(&format!(
            "UPDATE `{db}`.`t` SET `v` = 10 WHERE `id` = 1 LIMIT 1;"
        )),
        "{sql}"
    );
    assert!(sql.contains(&format!("DELETE FROM `{db}`.`t` WHERE `id` = 2 LIMIT 1;")));

    // stream: the replication stream, though the files are readable; the same rollback.
    let streamed = flashback(&sb, "binlog_source = \"stream\"\n", &range);
    let err = text(&streamed.stderr);
    assert!(streamed.status.success(), "{err}");
    assert!(
        err.contains("through the replication stream (binlog_source = stream)"),
        "{err}"
    );
    assert_eq!(text(&streamed.stdout), sql);

    // auto with a binlog_dir that lacks the logs: streamed, and it says why.
    let auto = flashback(&sb, &elsewhere, &range);
    let err = text(&auto.stderr);
    assert!(auto.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "replication stream (binlog_source = auto, as {file} is not readable here)"
        )),
        "{err}"
    );
    assert_eq!(text(&auto.stdout), sql);

    // files with that binlog_dir: refused, naming the log and the way out.
    let refused = flashback(
        &sb,
        &format!("{elsewhere}binlog_source = \"files\"\n"),
        &range,
    );
    let err = text(&refused.stderr);
    assert!(!refused.status.success(), "{err}");
    assert!(
        err.contains(&format!("binlog {file} is not readable on this machine"))
            && err.contains("binlog_source = \"stream\""),
        "{err}"
    );
    assert!(refused.stdout.is_empty());
}
