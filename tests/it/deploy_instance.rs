//! `arkc deploy instance --replica-of` against a sandbox primary: a persistent replica that
//! replicates a row and shows in `arkc health`, refusals (port in use, existing directory),
//! the config edited with its comments kept, then `arkc deploy remove --delete-data`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use arkc::sandbox::Sandbox;

use crate::support::ports::reserved_port;
use crate::support::wait::answered;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn arkc(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("XDG_STATE_HOME", config.with_file_name("state"))
        .env("ARKC_DATA_DIR", config.with_file_name("data"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn replica_sql(root: &Path, sql: &str) -> String {
    let out = Command::new("mariadb")
        .arg("--no-defaults")
        .arg(format!("--socket={}", root.join("mysqld.sock").display()))
        .args(["-uroot", "--batch", "--skip-column-names", "-e", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn a_replica_is_deployed_replicates_and_is_removed() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dinst").unwrap();
    sb.exec_sql(&format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT ''); INSERT INTO `{db}`.t VALUES (1, 'seeded');")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let original = format!("# team config: keep this comment\n[ui]\nrefresh_ms = 1000 # fast\n\n# the sandbox primary\n[[instance]]\nname = \"src\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n", sb.port());
    std::fs::write(&config, &original).unwrap();
    let port = reserved_port();
    let root = dir.path().join("rep");
    let root_s = root.to_str().unwrap();
    let port_s = port.to_string();
    let out = arkc(
        &config,
        &[
            "deploy",
            "instance",
            "--name",
            "rep",
            "--port",
            &port_s,
            "--datadir",
            root_s,
            "--replica-of",
            "src",
        ],
    );
    assert!(out.status.success(), "deploy failed: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("dump src at a GTID position")
            && err.contains("wait until caught up")
            && err.contains("registered `rep`"),
        "{err}"
    );
    let admin = std::fs::read_to_string(root.join("secrets/admin.pass")).unwrap();
    assert!(
        !err.contains(&admin) && !text(&out.stdout).contains(&admin),
        "the password is never printed"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("secrets/admin.pass"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let edited = std::fs::read_to_string(&config).unwrap();
    assert!(
        edited.starts_with(&original),
        "comments and order kept:\n{edited}"
    );
    assert!(edited.contains("name = \"rep\""), "{edited}");
    let cnf = std::fs::read_to_string(root.join("my.cnf")).unwrap();
    assert!(
        cnf.contains("binlog-row-metadata=FULL")
            && cnf.contains("performance-schema=ON")
            && cnf.contains("slow-query-log=ON"),
        "{cnf}"
    );
    assert_eq!(
        replica_sql(&root, &format!("SELECT v FROM `{db}`.t WHERE id = 1")).trim(),
        "seeded"
    );

    sb.exec_sql(&format!("INSERT INTO `{db}`.t VALUES (2, 'replicated')"))
        .unwrap();
    let started = Instant::now();
    loop {
        let seen = replica_sql(&root, &format!("SELECT v FROM `{db}`.t WHERE id = 2"));
        if seen.trim() == "replicated" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "row not replicated; replica has `{seen}`"
        );
        replica_sql(&root, "SELECT SLEEP(0.1)");
    }
    let health = arkc(
        &config,
        &["health", "--once", "--format", "json", "--instance", "rep"],
    );
    assert!(health.status.success(), "{}", text(&health.stderr));
    let h = text(&health.stdout);
    let rows: serde_json::Value = serde_json::from_str(&h).unwrap();
    let rep = &rows[0];
    assert_eq!(rep["instance"], "rep", "{h}");
    // "slow" answered too (past 1 s, which a loaded machine can make).
    assert!(
        rep["status"].as_str().is_some_and(answered),
        "the replica is up: {h}"
    );
    assert_eq!(
        rep["replication"]["sql_running"], true,
        "its SQL thread runs: {h}"
    );
    assert_eq!(
        rep["replication"]["io_running"], true,
        "its IO thread runs: {h}"
    );

    // Refusals: a used port, an existing directory; the config stays as it is.
    let other = dir.path().join("other");
    let used = arkc(
        &config,
        &[
            "deploy",
            "instance",
            "--name",
            "x",
            "--port",
            &port_s,
            "--datadir",
            other.to_str().unwrap(),
        ],
    );
    assert!(!used.status.success());
    assert!(
        text(&used.stderr).contains(&format!("port {port} is already in use")),
        "{}",
        text(&used.stderr)
    );
    assert!(!other.exists(), "nothing created");
    let free = reserved_port().to_string();
    let exists = arkc(
        &config,
        &[
            "deploy",
            "instance",
            "--name",
            "x",
            "--port",
            &free,
            "--datadir",
            root_s,
        ],
    );
    assert!(!exists.status.success());
    assert!(
        text(&exists.stderr).contains("already exists"),
        "{}",
        text(&exists.stderr)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);

    let rm = arkc(&config, &["deploy", "remove", "rep", "--delete-data"]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    let log = std::fs::read_to_string(dir.path().join("state/arkc/arkc.log")).unwrap();
    assert!(
        log.contains("deploy instance: wait until caught up") && log.contains("deploy remove"),
        "{log}"
    );
    assert!(!log.contains(&admin), "no password in the log");
    assert!(!root.exists(), "data deleted");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap().trim_end(),
        original.trim_end()
    );
    // The audit trail has both, written when each command ended (it has exited: no waiting).
    let trail = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap();
    for action in ["deploy instance", "deploy remove"] {
        assert!(
            trail
                .lines()
                .any(|l| l.contains(&format!("\"action\":\"{action}\""))
                    && l.contains("\"instance\":\"rep\"")
                    && l.contains("\"result\":\"ok\"")),
            "{action} in the audit trail:\n{trail}"
        );
    }
    let src = arkc(&config, &["deploy", "remove", "src"]);
    assert!(!src.status.success());
    assert!(
        text(&src.stderr).contains("not deployed by arkc"),
        "{}",
        text(&src.stderr)
    );
}

/// `--seed physical`: a mariadb-backup of a source on this host, copied into the new datadir,
/// then GTID replication from the backup's position. Its own source, so no other test's DDL
/// runs during the backup.
#[test]
fn a_replica_seeded_physically_replicates_and_is_removed() {
    let sb = Sandbox::start(arkc::sandbox::SandboxOptions {
        name: "physeed".into(),
        ..Default::default()
    })
    .unwrap();
    sb.exec_sql("CREATE DATABASE phys; CREATE TABLE phys.t (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT ''); INSERT INTO phys.t VALUES (1, 'copied');").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let original = format!("# physical seed test\n[[instance]]\nname = \"src\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n", sb.port());
    std::fs::write(&config, &original).unwrap();
    let port = reserved_port().to_string();
    let root = dir.path().join("prep");
    let out = arkc(
        &config,
        &[
            "deploy",
            "instance",
            "--name",
            "prep",
            "--port",
            &port,
            "--datadir",
            root.to_str().unwrap(),
            "--replica-of",
            "src",
            "--seed",
            "physical",
        ],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "deploy failed: {err}");
    assert!(
        err.contains("back up src with mariadb-backup")
            && err.contains("copy the backup into the datadir")
            && !err.contains("dump src")
            && err.contains("wait until caught up"),
        "{err}"
    );
    assert!(!root.join("seed-backup").exists(), "the backup is removed");
    assert_eq!(
        replica_sql(&root, "SELECT v FROM phys.t WHERE id = 1").trim(),
        "copied"
    );
    sb.exec_sql("INSERT INTO phys.t VALUES (2, 'streamed')")
        .unwrap();
    let started = Instant::now();
    loop {
        let seen = replica_sql(&root, "SELECT v FROM phys.t WHERE id = 2");
        if seen.trim() == "streamed" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "row not replicated; replica has `{seen}`"
        );
        replica_sql(&root, "SELECT SLEEP(0.1)");
    }
    let rm = arkc(&config, &["deploy", "remove", "prep", "--delete-data"]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    assert!(!root.exists());
    assert_eq!(
        std::fs::read_to_string(&config).unwrap().trim_end(),
        original.trim_end()
    );
}

/// `--config-out PATH`: the entry goes to PATH (a config arkc can use: `health` and `deploy
/// remove` read it), the main config is left as it was.
#[test]
fn config_out_writes_the_entry_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let original = "# main config, untouched\n[ui]\nrefresh_ms = 1000\n";
    std::fs::write(&config, original).unwrap();
    let out_path = dir.path().join("new-instance.toml");
    let port = reserved_port().to_string();
    let root = dir.path().join("solo");
    let out = arkc(
        &config,
        &[
            "deploy",
            "instance",
            "--name",
            "solo",
            "--port",
            &port,
            "--datadir",
            root.to_str().unwrap(),
            "--config-out",
            out_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    let entry = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        entry.contains("name = \"solo\"") && entry.contains(&format!("port = {port}")),
        "{entry}"
    );
    let health = arkc(
        &out_path,
        &["health", "--once", "--format", "json", "--instance", "solo"],
    );
    let h = text(&health.stdout);
    let rows: serde_json::Value = serde_json::from_str(&h).unwrap();
    assert!(rows[0]["status"].as_str().is_some_and(answered), "{h}");
    let rm = arkc(&out_path, &["deploy", "remove", "solo", "--delete-data"]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    assert!(!root.exists());
}
