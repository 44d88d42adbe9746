//! The sandbox against the real MariaDB binaries: start, SQL, logs, replication, clean stop.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::wait;

fn opts(name: &str) -> SandboxOptions {
    SandboxOptions {
        name: name.into(),
        ..SandboxOptions::default()
    }
}

fn process_alive(pid: i32) -> bool {
    // A zombie has exited already; only a live state counts.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn shared_sandbox_runs_sql_with_row_binlog_and_slow_log() {
    let sb = Sandbox::shared();
    let schema = sb.create_schema("sandbox_sql").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{schema}`.t (id INT PRIMARY KEY, v VARCHAR(10));\
         INSERT INTO `{schema}`.t VALUES (1,'a'),(2,'b');"
    ))
    .unwrap();
    let count = sb
        .exec_sql(&format!("SELECT COUNT(*) FROM `{schema}`.t"))
        .unwrap();
    assert_eq!(count.trim(), "2");

    let vars = sb
        .exec_sql(
            "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, \
             @@performance_schema, @@slow_query_log, @@port, @@server_id",
        )
        .unwrap();
    let fields: Vec<&str> = vars.trim().split('\t').collect();
    assert_eq!(fields[..6], ["1", "ROW", "FULL", "FULL", "1", "1"]);
    assert_eq!(fields[6], sb.port().to_string());
    assert_eq!(fields[7], sb.server_id().to_string());

    let first_binlog = sb
        .binlog_dir()
        .join(format!("{}.000001", sb.binlog_basename()));
    assert!(first_binlog.is_file(), "{} missing", first_binlog.display());
    sb.exec_sql("SELECT SLEEP(0.3)").unwrap();
    // MariaDB writes the entry after it has answered the client.
    let slow =
        wait::wait_for_file_containing(&sb.slow_log_path(), &["SELECT SLEEP(0.3)"], wait::DEADLINE);
    assert!(
        slow.contains("SELECT SLEEP(0.3)"),
        "slow log lacks the sleep:\n{slow}"
    );
}

#[test]
fn tcp_url_accepts_root_without_password() {
    let sb = Sandbox::shared();
    let out = Command::new("mariadb")
        .args([
            "--no-defaults",
            "-h127.0.0.1",
            "-uroot",
            "--batch",
            "--skip-column-names",
        ])
        .arg(format!("-P{}", sb.port()))
        .args(["-e", "SELECT CURRENT_USER()"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "root@127.0.0.1"
    );
    assert_eq!(sb.url(), format!("mysql://root@127.0.0.1:{}", sb.port()));
    assert!(sb.socket().as_os_str().len() < 100);
}

#[test]
fn sql_error_carries_the_server_message() {
    let err = Sandbox::shared()
        .exec_sql("SELECT * FROM no_such_schema.t")
        .unwrap_err();
    assert!(format!("{err:#}").contains("no_such_schema"), "{err:#}");
}

#[test]
fn replica_replicates_a_row_and_stop_leaves_nothing_behind() {
    let mut primary = Sandbox::start(opts("primary")).unwrap();
    let mut replica = Sandbox::start_replica_of(&primary, opts("replica")).unwrap();
    assert_ne!(primary.server_id(), replica.server_id());
    let status = replica.replica_status().unwrap();
    assert_eq!(status["Using_Gtid"], "Slave_Pos");

    let schema = primary.create_schema("repl").unwrap();
    primary
        .exec_sql(&format!(
            "CREATE TABLE `{schema}`.t (id INT PRIMARY KEY); INSERT INTO `{schema}`.t VALUES (42);"
        ))
        .unwrap();
    wait_for("the row on the replica", Duration::from_secs(20), || {
        replica
            .exec_sql(&format!("SELECT id FROM `{schema}`.t"))
            .is_ok_and(|out| out.trim() == "42")
    });

    for sb in [&mut replica, &mut primary] {
        let pid = sb.pid().unwrap();
        let root = sb.root().to_path_buf();
        assert!(process_alive(pid));
        sb.stop().unwrap();
        assert!(
            !process_alive(pid),
            "mariadbd {pid} still running after stop()"
        );
        assert!(!root.exists(), "{} left behind", root.display());
        sb.stop().unwrap(); // idempotent
    }
}

#[test]
fn drop_stops_the_server_and_keep_leaves_it() {
    let sb = Sandbox::start(opts("dropped")).unwrap();
    let (pid, root) = (sb.pid().unwrap(), sb.root().to_path_buf());
    drop(sb);
    assert!(!process_alive(pid));
    assert!(!root.exists());

    let mut kept = Sandbox::start(SandboxOptions {
        keep: true,
        ..opts("kept")
    })
    .unwrap();
    let (pid, root) = (kept.pid().unwrap(), kept.root().to_path_buf());
    kept.stop().unwrap();
    assert!(!process_alive(pid));
    assert!(root.join("data").is_dir(), "keep must leave the datadir");
    std::fs::remove_dir_all(&root).unwrap();
}

/// The server must not outlive a starter that is killed with SIGKILL: run this test binary's
/// `starter_child` helper in a child process, kill it, and watch the watchdog clean up.
#[test]
fn killed_starter_takes_its_server_along() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "sandbox::starter_child",
            "--ignored",
            "--nocapture",
        ])
        .env("ARKC_SANDBOX_STARTER_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let (pid, root) = loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap() > 0,
            "child ended early"
        );
        if let Some(rest) = line.strip_prefix("STARTED ") {
            let (pid, root) = rest.trim().split_once(' ').unwrap();
            break (pid.parse::<i32>().unwrap(), root.to_string());
        }
    };
    assert!(process_alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    wait_for(
        "the orphaned server to stop",
        Duration::from_secs(30),
        || !process_alive(pid),
    );
    wait_for(
        "the orphaned datadir to go",
        Duration::from_secs(30),
        || !Path::new(&root).exists(),
    );
}

#[test]
#[ignore = "helper run by killed_starter_takes_its_server_along"]
fn starter_child() {
    if std::env::var_os("ARKC_SANDBOX_STARTER_CHILD").is_none() {
        return;
    }
    let sb = Sandbox::start(opts("orphan")).unwrap();
    println!("STARTED {} {}", sb.pid().unwrap(), sb.root().display());
    std::thread::sleep(Duration::from_secs(120));
}
