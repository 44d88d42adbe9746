//! Read-only everywhere, from the command line: every write subcommand of `src/readonly.rs`'s
//! list is refused by `cli::run`'s gate, with `--read-only` and with `read_only = true` in the
//! config, against a real server that is left exactly as it was (sessions alive, rows
//! unchanged, no backup, no new instance), and each refusal is in the audit trail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arkc::sandbox::Sandbox;
use mysql_async::prelude::Queryable;
use tokio::runtime::Runtime;

fn arkc(data: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("ARKC_DATA_DIR", data)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A session busy sleeping until killed; returns its id.
fn sleeper(rt: &Runtime, url: &str) -> u64 {
    let mut conn = rt.block_on(mysql_async::Conn::from_url(url)).unwrap();
    let id = u64::from(conn.id());
    rt.spawn(async move {
        let _ = conn
            .query_drop("SELECT 'arkc-ro-sleeper', SLEEP(600)")
            .await;
    });
    id
}

fn alive(sb: &Sandbox, id: u64) -> bool {
    let n = sb
        .exec_sql(&format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"
        ))
        .unwrap();
    n.trim() == "1"
}

fn rows(sb: &Sandbox, db: &str) -> String {
    sb.exec_sql(&format!("SELECT id, v FROM `{db}`.t ORDER BY id"))
        .unwrap()
}

#[test]
fn every_write_subcommand_is_refused_with_the_flag_and_with_the_config() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("ro").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT); INSERT INTO `{db}`.t VALUES (1,1),(2,2);"
    ))
    .unwrap();
    // A range with a change in it, so a flashback --execute would have work to do.
    let (file, start) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!("UPDATE `{db}`.t SET v = v + 10;"))
        .unwrap();
    let (end_file, end) = sb.binlog_position().unwrap();
    let before = rows(sb, &db);

    let rt = Runtime::new().unwrap();
    let (a, b) = (sleeper(&rt, &sb.url()), sleeper(&rt, &sb.url()));
    let work = tempfile::tempdir().unwrap();
    let dir = |name: &str| work.path().join(name);
    let change = dir("change.sql");
    std::fs::write(
        &change,
        format!("UPDATE `{db}`.t SET v = 0 WHERE id = 1;\n"),
    )
    .unwrap();
    let instance = format!(
        "[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n",
        sb.port()
    );
    let plain = dir("plain.toml");
    std::fs::write(&plain, &instance).unwrap();
    let read_only = dir("read-only.toml");
    std::fs::write(&read_only, format!("read_only = true\n\n{instance}")).unwrap();
    let (a, b) = (a.to_string(), b.to_string());
    let (start, end) = (start.to_string(), end.to_string());
    let binlogs = sb.binlog_dir();
    let backups = dir("backups");
    let new_datadir = dir("new-instance");
    let port = (sb.port() + 7).to_string();
    let flashback = [
        "flashback",
        "--instance",
        "db",
        "-d",
        &db,
        "--start-file",
        &file,
        "--start-position",
        &start,
        "--stop-file",
        &end_file,
        "--stop-position",
        &end,
        "--binlog-dir",
        binlogs.to_str().unwrap(),
        "--execute",
        "--yes",
    ];
    let writes: Vec<(&str, Vec<&str>)> = vec![
        ("kill", vec!["kill", "--instance", "db", &a]),
        (
            "kill query",
            vec!["kill", "--instance", "db", "--query", &a],
        ),
        ("bulk kill", vec!["kill", "--instance", "db", &a, &b]),
        ("flashback execute", flashback.to_vec()),
        (
            "deploy apply",
            vec![
                "deploy",
                "apply",
                change.to_str().unwrap(),
                "--instance",
                "db",
                "--yes",
            ],
        ),
        ("deploy undo", vec!["deploy", "undo", "1", "--yes"]),
        (
            "deploy instance",
            vec![
                "deploy",
                "instance",
                "--name",
                "ro-new",
                "--port",
                &port,
                "--datadir",
                new_datadir.to_str().unwrap(),
            ],
        ),
        ("deploy remove", vec!["deploy", "remove", "db"]),
        (
            "backup run",
            vec![
                "backup",
                "run",
                "--instance",
                "db",
                "--kind",
                "dump",
                "--to",
                backups.to_str().unwrap(),
            ],
        ),
        ("backup prune", vec!["backup", "prune"]),
    ];
    let modes: [(&str, &PathBuf, &[&str], &str); 2] = [
        (
            "--read-only",
            &plain,
            &["--read-only"],
            "run arkc without --read-only",
        ),
        (
            "read_only = true",
            &read_only,
            &[],
            "set read_only = false in the config",
        ),
    ];
    for (mode, config, flag, lift) in modes {
        let data = dir(&format!("data-{}", flag.len()));
        for (action, args) in &writes {
            let line: Vec<&str> = flag.iter().copied().chain(args.iter().copied()).collect();
            let out = arkc(&data, config, &line);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{mode} {line:?}: {stderr}");
            let refused = format!("error: {action} refused: arkc is read-only (");
            assert!(stderr.starts_with(&refused), "{mode} {line:?}: {stderr}");
            assert!(stderr.contains("nothing was done"), "{stderr}");
            assert!(stderr.trim_end().ends_with(lift), "{mode}: {stderr}");
        }
        // The server and the targets are as they were.
        assert!(alive(sb, a.parse().unwrap()) && alive(sb, b.parse().unwrap()));
        assert_eq!(rows(sb, &db), before, "{mode}: rows changed");
        assert!(!backups.exists(), "{mode}: a backup folder was made");
        assert!(!new_datadir.exists(), "{mode}: an instance folder was made");
        assert!(
            !data.join("backups.sqlite").exists(),
            "{mode}: a backup was recorded"
        );
        let config_text = std::fs::read_to_string(config).unwrap();
        assert!(
            !config_text.contains("ro-new"),
            "{mode}: an instance was registered"
        );
        // One `refused` line per write, in order.
        let trail = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
        let recorded: Vec<(String, String)> = trail
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["action"].as_str().unwrap().to_string(),
                    v["result"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = writes
            .iter()
            .map(|(a, _)| (a.to_string(), "refused".to_string()))
            .collect();
        assert_eq!(recorded, expected, "{mode}");
        assert!(trail.contains("\"instance\":\"db\""), "{trail}");
    }

    // The same kill without read-only goes through: the refusals above were not an accident.
    let out = arkc(&dir("data-rw"), &plain, &["kill", "--instance", "db", &a]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + crate::support::wait::DEADLINE;
    while alive(sb, a.parse().unwrap()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the kill did not end the session"
        );
        std::thread::yield_now();
    }
}

/// Reads and dry runs are not writes: read-only lets them run.
#[test]
fn read_only_lets_reads_and_dry_runs_through() {
    let sb = Sandbox::shared();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("ro.toml");
    std::fs::write(
        &config,
        format!(
            "read_only = true\n\n[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let data = work.path().join("data");
    for args in [
        vec!["processlist", "--instance", "db", "--format", "json"],
        vec!["backup", "list"],
        vec!["backup", "prune", "--dry-run"],
        vec!["deploy", "list"],
        vec!["audit"],
    ] {
        let out = arkc(&data, &config, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !data.join("audit.jsonl").exists(),
        "a read was recorded as a refusal"
    );
}

/// The test binary runs under a private home (`arkc::private_test_home!` in main.rs): a write
/// path or a refusal with no data dir of its own lands there, not in the developer's `~`.
#[test]
fn tests_run_under_a_private_home() {
    assert!(arkc::sandbox::test_home::is_private());
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    assert!(home.starts_with(std::env::temp_dir()), "{}", home.display());
    let data = arkc::config::data_dir().unwrap();
    assert!(data.starts_with(&home), "{}", data.display());
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("c.toml");
    std::fs::write(
        &config,
        "[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = 9\n",
    )
    .unwrap();
    // No ARKC_DATA_DIR, HOME or XDG variable given to the child: it inherits the private home.
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["--read-only", "--config"])
        .arg(&config)
        .args(["kill", "--instance", "db", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let trail = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    assert!(trail.contains("\"result\":\"refused\""), "{trail}");
}
