//! The audit trail: a `flashback --execute` and a `kill` against a sandbox each leave one JSON
//! line, `arkc audit --format json` lists them with their fields, `--since` filters, and a
//! damaged line is reported with its file and line.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use arkc::sandbox::Sandbox;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn arkc(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("ARKC_DATA_DIR", data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn audit_json(data: &Path, extra: &[&str]) -> Vec<Value> {
    let out = ok(arkc(
        data,
        &[&["audit", "--format", "json"], extra].concat(),
    ));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn flashback_execute_and_kill_are_in_the_audit_trail() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("audit").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT);\
         INSERT INTO `{db}`.t VALUES (1,1),(2,2),(3,3);"
    ))
    .unwrap();
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!("UPDATE `{db}`.t SET v = v + 10;"))
        .unwrap();
    let (end_file, end) = sb.binlog_position().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (pos, end) = (pos.to_string(), end.to_string());
    let url = sb.url();
    ok(arkc(
        &data,
        &[
            "flashback",
            "--url",
            &url,
            "-d",
            &db,
            "--start-file",
            &file,
            "--start-position",
            &pos,
            "--stop-file",
            &end_file,
            "--stop-position",
            &end,
            "--binlog-dir",
            sb.binlog_dir().to_str().unwrap(),
            "--execute",
            "--yes",
        ],
    ));
    assert_eq!(
        sb.exec_sql(&format!("SELECT SUM(v) FROM `{db}`.t"))
            .unwrap()
            .trim(),
        "6",
        "the rollback ran"
    );

    // A client's session, ended by `arkc kill`.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt
        .block_on(mysql_async::Conn::from_url(url.clone()))
        .unwrap();
    let client_id = client.id().to_string();
    let cfg = config.to_str().unwrap();
    ok(arkc(
        &data,
        &["--config", cfg, "kill", "--instance", "db", &client_id],
    ));

    let records = audit_json(&data, &[]);
    assert_eq!(records.len(), 2, "{records:#?}");
    let fb = &records[0];
    assert_eq!(fb["action"], "flashback execute");
    assert_eq!(fb["result"], "ok");
    assert_eq!(fb["rows_affected"], 3);
    assert!(!fb["user"].as_str().unwrap().is_empty());
    assert!(
        !fb["instance"].as_str().unwrap().contains(":@") && fb["instance"] != "",
        "{fb}"
    );
    let applied = fb["sql_files"][0].as_str().unwrap();
    assert!(applied.ends_with("-apply.sql"), "{fb}");
    let text = std::fs::read(applied).unwrap();
    assert_eq!(fb["sha256"], format!("{:x}", Sha256::digest(&text)));
    assert!(fb["sql_files"][1].as_str().unwrap().ends_with("-redo.sql"));

    let kill = &records[1];
    assert_eq!(kill["action"], "kill");
    assert_eq!(kill["instance"], "db");
    assert_eq!(kill["result"], "ok");
    assert_eq!(kill["rows_affected"], 1);
    let sql = format!("KILL CONNECTION {client_id}");
    assert_eq!(kill["sql"], sql.as_str());
    assert_eq!(
        kill["sha256"],
        format!("{:x}", Sha256::digest(sql.as_bytes()))
    );
    drop(rt);

    // --since: an age keeps both, a later instant keeps none.
    assert_eq!(audit_json(&data, &["--since", "1h"]).len(), 2);
    assert!(audit_json(&data, &["--since", "2999-01-01"]).is_empty());
    let table = ok(arkc(&data, &["audit"]));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("flashback execute") && table.contains("kill"),
        "{table}"
    );

    // A damaged line is named, not skipped.
    let trail = data.join("audit.jsonl");
    let mut text = std::fs::read_to_string(&trail).unwrap();
    text.push_str("not json\n");
    std::fs::write(&trail, text).unwrap();
    let bad = arkc(&data, &["audit"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(&format!("{}:3:", trail.display())), "{err}");
}
