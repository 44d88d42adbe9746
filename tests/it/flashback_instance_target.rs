//! `arkc flashback --check` and `--execute` on a configured `--instance` instead of `--url`:
//! the check reports exactly the row written since, read-only refuses the apply with nothing
//! sent, the apply restores the rows and its audit entry names the instance; an unknown
//! instance, or one that cannot be reached, is an error naming it and what to do.

use std::path::Path;
use std::process::{Command, Output};

use arkc::sandbox::Sandbox;

/// A config with instance `fb` on the sandbox (`extra` lines added to it) and instance
/// `stranger`, whose user the server does not know.
fn write_config(dir: &Path, sb: &Sandbox, extra: &str) -> std::path::PathBuf {
    let config = format!(
        "[[instance]]\nname = \"fb\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"root\"\n\
         password_env = \"ARKC_TEST_FB_PASSWORD\"\n{extra}\n\
         [[instance]]\nname = \"stranger\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         user = \"arkc_nobody\"\npassword = \"x\"\n",
        port = sb.port(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).expect("config");
    path
}

/// Runs `arkc --config CONFIG ARGS` with its data and state in `dir`.
fn arkc(dir: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ARKC_TEST_FB_PASSWORD", "")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .expect("arkc runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_and_execute_take_a_configured_instance() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fbi").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO {db}.t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d');"
    ))
    .expect("seed");
    let rows = || {
        sb.exec_sql(&format!(
            "SELECT GROUP_CONCAT(id, v ORDER BY id) FROM {db}.t"
        ))
        .expect("rows")
        .trim()
        .to_string()
    };
    let before = rows();
    let (file, pos) = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "UPDATE {db}.t SET v = 'x' WHERE id <= 2;
         DELETE FROM {db}.t WHERE id = 4;"
    ))
    .expect("incident");
    let (stop_file, stop) = sb.binlog_position().expect("position");
    let (pos, stop) = (pos.to_string(), stop.to_string());
    let range = [
        "--start-file",
        &file,
        "--start-position",
        &pos,
        "--stop-file",
        &stop_file,
        "--stop-position",
        &stop,
        "-d",
        &db,
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), sb, "");
    let streamed_config = {
        let d = dir.path().join("streamed");
        std::fs::create_dir_all(&d).expect("dir");
        write_config(&d, sb, "binlog_source = \"stream\"")
    };
    let flashback = |config: &Path, extra: &[&str]| {
        let args = [&["flashback", "--instance"][..], extra, &range[..]].concat();
        arkc(dir.path(), config, &args)
    };

    // The check on the instance: its files (auto), then its replication stream.
    for config in [&config, &streamed_config] {
        let out = flashback(config, &["fb", "--check"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            text(&out).contains("3 row(s) checked, 0 changed since"),
            "{}",
            text(&out)
        );
    }

    // A later write to one touched row: that row, and nothing else.
    sb.exec_sql(&format!("UPDATE {db}.t SET v = 'later' WHERE id = 2"))
        .expect("later write");
    let out = flashback(&config, &["fb", "--check"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("3 row(s) checked, 1 changed since"), "{said}");
    assert_eq!(said.matches("changed since: ").count(), 1, "{said}");
    assert!(
        said.contains(&format!("{db}.t: the row the binlog left")),
        "{said}"
    );
    sb.exec_sql(&format!("UPDATE {db}.t SET v = 'x' WHERE id = 2"))
        .expect("undo the later write");

    // Read-only, by flag or by the config: refused, nothing sent.
    let out = arkc(
        dir.path(),
        &config,
        &[
            &[
                "--read-only",
                "flashback",
                "--instance",
                "fb",
                "--execute",
                "--yes",
            ][..],
            &range[..],
        ]
        .concat(),
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("read-only"), "{}", text(&out));
    let ro_dir = dir.path().join("ro");
    std::fs::create_dir_all(&ro_dir).expect("dir");
    let ro_config = write_config(&ro_dir, sb, "");
    let with_ro = format!(
        "read_only = true\n{}",
        std::fs::read_to_string(&ro_config).unwrap()
    );
    std::fs::write(&ro_config, with_ro).expect("config");
    let out = flashback(&ro_config, &["fb", "--execute", "--yes"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("read-only"), "{}", text(&out));
    assert_ne!(rows(), before, "a refused apply changed the rows");

    // The apply on the instance restores the rows; the audit trail names the instance.
    let out = flashback(&config, &["fb", "--execute", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("applied 2 transaction(s)"),
        "{}",
        text(&out)
    );
    assert_eq!(rows(), before);
    let audit = arkc(dir.path(), &config, &["audit", "--format", "json"]);
    let records: Vec<serde_json::Value> = serde_json::from_slice(&audit.stdout).expect("json");
    // The two refusals above are logged too, naming the instance.
    assert_eq!(records.len(), 3, "{records:#?}");
    assert!(
        records.iter().all(|r| r["instance"] == "fb"),
        "{records:#?}"
    );
    let applied: Vec<_> = records.iter().filter(|r| r["result"] == "ok").collect();
    assert_eq!(applied.len(), 1, "{records:#?}");
    assert_eq!(applied[0]["action"], "flashback execute");
    assert_eq!(applied[0]["rows_affected"], 3);

    // An unknown name: the error names it and the configured ones.
    let out = flashback(&config, &["nope", "--check"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("no instance named `nope`") && said.contains("known: fb, stranger"),
        "{said}"
    );

    // An instance the server refuses: named, with what to check, before any scan.
    let out = flashback(&config, &["stranger", "--execute", "--yes"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("cannot reach instance `stranger`") && said.contains("password source"),
        "{said}"
    );
    assert!(!said.contains("saved "), "{said}");

    // Neither --url nor --instance: says which to give.
    let out = arkc(
        dir.path(),
        &config,
        &[&["flashback", "--check"][..], &range[..]].concat(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--check needs the server to work on"),
        "{}",
        text(&out)
    );
}
