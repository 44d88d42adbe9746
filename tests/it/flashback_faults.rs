//! Faults in the middle of `arkc flashback --execute`: the connection lost while a
//! transaction's COMMIT is in flight leaves it IN DOUBT (never "rolled back"), and arkc settles
//! it on a new connection from the rows themselves; the audit folder's applied log lists
//! exactly the transactions acknowledged. Every timing is made deterministic by row locks the
//! test holds (the apply waits on them, seen in PROCESSLIST) and, for a COMMIT that ran but
//! whose answer never came back, by a relay the test owns that stops passing the server's
//! replies before the lock is released.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use arkc::sandbox::Sandbox;

use crate::support::locks::{hold_row_lock, release, scalar, waiting_update};
use crate::support::relay::Relay;
use crate::support::wait::{wait_until, DEADLINE};

/// Three source transactions, one per row (`v` 0 -> 1); their undo runs id 3, 2, 1.
struct Incident {
    db: String,
    table: String,
    start: (String, u64),
    stop: (String, u64),
}

fn incident(sb: &Sandbox, prefix: &str) -> Incident {
    let db = sb.create_schema(prefix).expect("schema");
    let table = format!("{db}.t");
    sb.exec_sql(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, v INT); \
         INSERT INTO {table} VALUES (1, 0), (2, 0), (3, 0);"
    ))
    .expect("seed");
    let start = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "UPDATE {table} SET v = 1 WHERE id = 1; UPDATE {table} SET v = 1 WHERE id = 2; \
         UPDATE {table} SET v = 1 WHERE id = 3;"
    ))
    .expect("incident");
    let stop = sb.binlog_position().expect("position");
    Incident {
        db,
        table,
        start,
        stop,
    }
}

fn values(sb: &Sandbox, inc: &Incident) -> String {
    scalar(
        sb,
        &format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM {}", inc.table),
    )
}

fn execute(sb: &Sandbox, inc: &Incident, url: &str, data: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("XDG_DATA_HOME", data)
        .args([
            "flashback",
            "--execute",
            "--yes",
            "--url",
            url,
            "-d",
            &inc.db,
        ])
        .args(["--start-file", &inc.start.0, "--start-position"])
        .arg(inc.start.1.to_string())
        .args(["--stop-file", &inc.stop.0, "--stop-position"])
        .arg(inc.stop.1.to_string())
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arkc runs")
}

fn applied_log(data: &Path) -> String {
    let audit = data.join("arkc").join("audit");
    let found: Vec<PathBuf> = std::fs::read_dir(&audit)
        .unwrap_or_else(|e| panic!("{}: {e}", audit.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-applied.log"))
        .collect();
    assert_eq!(found.len(), 1, "one applied log in {}", audit.display());
    std::fs::read_to_string(&found[0]).expect("applied log")
}

#[test]
fn connection_killed_with_a_commit_in_flight_is_in_doubt_and_settled_not_applied() {
    let sb = Sandbox::shared();
    let inc = incident(sb, "fault_kill");
    let dir = tempfile::tempdir().expect("temp dir");
    let lock = hold_row_lock(sb, &inc.table, 2);
    let arkc = execute(sb, &inc, &sb.url(), dir.path());
    let session = waiting_update(sb, &inc.db);
    // The server ends arkc's session: the undo of row 2 and its COMMIT were sent, unanswered.
    sb.exec_sql(&format!("KILL CONNECTION {session}"))
        .expect("kill");
    let out = arkc.wait_with_output().expect("arkc ends");
    release(lock);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("IN DOUBT"), "{stderr}");
    assert!(
        stderr.contains("(2 of 3)"),
        "names the one in flight: {stderr}"
    );
    assert!(
        stderr.contains("the last one acknowledged is") && stderr.contains("(1 of 3)"),
        "names the last one applied: {stderr}"
    );
    assert!(
        !stderr.contains("that transaction was rolled back"),
        "{stderr}"
    );
    assert!(stderr.contains("was NOT applied"), "settled: {stderr}");
    assert_eq!(values(sb, &inc), "1,1,0", "only the undo of row 3 ran");
    let log = applied_log(dir.path());
    assert!(log.contains("applied 1/3 "), "{log}");
    assert!(!log.contains("applied 2/3"), "{log}");
    assert!(
        log.contains("stopped 2/3") && log.contains("was NOT applied"),
        "{log}"
    );

    // A re-run of the check shows what is left to undo: rows 2 and 1 as the binlog left them.
    let check = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("XDG_DATA_HOME", dir.path())
        .args(["flashback", "--check", "--url", &sb.url(), "-d", &inc.db])
        .args(["--start-file", &inc.start.0, "--start-position"])
        .arg(inc.start.1.to_string())
        .args(["--stop-file", &inc.stop.0, "--stop-position"])
        .arg(inc.stop.1.to_string())
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .output()
        .expect("check runs");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        report.contains("3 row(s) checked, 1 changed since"),
        "{report}"
    );
}

#[test]
fn commit_that_ran_but_went_unanswered_is_settled_applied() {
    let sb = Sandbox::shared();
    let inc = incident(sb, "fault_relay");
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(sb.port());
    // Through the relay only: mysql_async would otherwise switch to the server's own unix
    // socket on a loopback address.
    let url = sb.url().replace(
        &format!(":{}", sb.port()),
        &format!(":{}?prefer_socket=false", relay.port),
    );
    assert_ne!(url, sb.url(), "the relay's url");
    let (lock2, lock1) = (
        hold_row_lock(sb, &inc.table, 2),
        hold_row_lock(sb, &inc.table, 1),
    );
    let arkc = execute(sb, &inc, &url, dir.path());
    let session = waiting_update(sb, &inc.db);
    relay.hold_open_connections();
    // The undo of row 2 and its COMMIT now run; their answers are dropped by the relay. The
    // undo of row 1 then waits on the other lock.
    release(lock2);
    wait_until("the undo of row 2 to commit", DEADLINE, || {
        values(sb, &inc) == "1,0,0"
    });
    // End the server session (its open undo of row 1 rolls back): the relay closes arkc's side.
    sb.exec_sql(&format!("KILL CONNECTION {session}"))
        .expect("kill");
    let out = arkc.wait_with_output().expect("arkc ends");
    release(lock1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("IN DOUBT"), "{stderr}");
    assert!(
        stderr.contains("(2 of 3)"),
        "names the one in flight: {stderr}"
    );
    assert!(
        stderr.contains("WAS applied"),
        "settled from the rows: {stderr}\n{}",
        applied_log(dir.path())
    );
    assert!(
        !stderr.contains("that transaction was rolled back"),
        "{stderr}"
    );
    assert_eq!(values(sb, &inc), "1,0,0");
    let log = applied_log(dir.path());
    assert!(
        log.contains("applied 1/3 ") && log.contains("WAS applied"),
        "{log}"
    );
}

#[test]
fn server_killed_mid_apply_leaves_the_transaction_in_doubt_and_says_it_cannot_settle_yet() {
    let sb = Sandbox::start(arkc::sandbox::SandboxOptions {
        name: "faults-kill".into(),
        ..Default::default()
    })
    .expect("own sandbox");
    let pid = sb.pid().expect("server pid");
    let inc = incident(&sb, "fault_sigkill");
    let dir = tempfile::tempdir().expect("temp dir");
    let lock = hold_row_lock(&sb, &inc.table, 2);
    let arkc = execute(&sb, &inc, &sb.url(), dir.path());
    waiting_update(&sb, &inc.db);
    // Frozen, then killed, while the undo of row 2 and its COMMIT are unanswered. This pid is
    // this test's own sandbox server.
    unsafe {
        libc::kill(pid, libc::SIGSTOP);
        libc::kill(pid, libc::SIGKILL);
    }
    let out = arkc.wait_with_output().expect("arkc ends");
    release(lock);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("IN DOUBT") && stderr.contains("(2 of 3)"),
        "{stderr}"
    );
    assert!(stderr.contains("stays in doubt"), "{stderr}");
    assert!(stderr.contains("cannot reconnect"), "{stderr}");
    assert!(
        stderr.contains("--check"),
        "says how to settle it later: {stderr}"
    );
    let log = applied_log(dir.path());
    assert!(
        log.contains("applied 1/3 ") && !log.contains("applied 2/3"),
        "{log}"
    );
    assert!(log.contains("stays in doubt"), "{log}");
}

/// The Binlog pane's apply (and `arkc deploy undo`'s) through the service: the same hook,
/// settled from the instance's binlogs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pane_apply_with_a_commit_in_flight_is_in_doubt_and_settled() {
    use arkc::backend::binlog::service::{apply_plan, plan_range, FlashbackRange};
    let sb = Sandbox::shared();
    let inc = incident(sb, "fault_pane");
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let rec = arkc::backend::SqlRecorder::new("sandbox", events);
    let inst = arkc::config::InstanceConfig::tcp("sandbox", "127.0.0.1", sb.port());
    let range = FlashbackRange {
        start: inc.start.clone(),
        stop: inc.stop.clone(),
        scope: None,
    };
    let plan = plan_range(&inst, &rec, &range).await.expect("plan");
    let dir = tempfile::tempdir().expect("temp dir");
    let lock = hold_row_lock(sb, &inc.table, 2);
    let audit = Some(dir.path().to_path_buf());
    let apply = tokio::spawn(async move { apply_plan(&inst, &rec, &plan, false, audit).await });
    let session = tokio::task::block_in_place(|| waiting_update(sb, &inc.db));
    sb.exec_sql(&format!("KILL CONNECTION {session}"))
        .expect("kill");
    let report = apply.await.expect("apply ends");
    release(lock);
    assert!(!report.ok, "{}", report.message);
    assert!(report.message.contains("IN DOUBT"), "{}", report.message);
    assert!(report.message.contains("(2 of 3)"), "{}", report.message);
    assert!(
        !report.message.contains("that transaction was rolled back"),
        "{}",
        report.message
    );
    assert!(
        report.message.contains("was NOT applied"),
        "{}",
        report.message
    );
    assert_eq!(values(sb, &inc), "1,1,0");
}
