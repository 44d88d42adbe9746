//! Progress of long CLI work: `arkc flashback --execute` that runs for over a second shows
//! transactions applied on stderr when stderr is a terminal (tmux), and nothing when it is a
//! pipe. The apply is made long, deterministically, by a row lock another session holds until
//! the test has seen what it waits for.

use crate::support::tmux;
use crate::support::wait::wait_until;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use arkc::sandbox::Sandbox;
use tmux::TmuxSession;

const WAIT: Duration = Duration::from_secs(30);
const TXNS: u32 = 200;

fn count(sb: &Sandbox, sql: &str) -> u32 {
    sb.exec_sql(sql)
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// A session holding the lock on row `id` of `table` until it is killed.
fn hold_row_lock(sb: &Sandbox, table: &str, id: u32) -> Child {
    use std::io::Write;
    let mut child = sb
        .client()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadb client");
    let sql = format!(
        "BEGIN; SELECT * FROM {table} WHERE id = {id} FOR UPDATE; SELECT SLEEP(600) AS held_for_progress_test;\n"
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("send");
    wait_until("the row lock to be held", WAIT, || {
        count(
            sb,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%held_for_progress_test%' AND INFO NOT LIKE '%PROCESSLIST%'",
        ) > 0
    });
    child
}

fn release(mut lock: Child) {
    let _ = lock.kill();
    let _ = lock.wait();
}

#[test]
fn long_apply_shows_progress_on_a_terminal_and_nothing_on_a_pipe() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("progress").expect("schema");
    let table = format!("{db}.t");
    sb.exec_sql(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, v INT);
         INSERT INTO {table} SELECT seq, 0 FROM {db}.seq_1_to_{TXNS};"
    ))
    .expect("seed");
    let (file, pos) = sb.binlog_position().expect("position");
    let updates: String = (1..=TXNS)
        .map(|i| format!("UPDATE {table} SET v = v + 1 WHERE id = {i};\n"))
        .collect();
    sb.exec_sql(&updates).expect("one transaction per row");
    let stop = sb.binlog_position().expect("position");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data").display().to_string();
    let url = sb.url();
    let binlogs = sb.binlog_dir().display().to_string();
    let (pos, stop_pos) = (pos.to_string(), stop.1.to_string());
    let args = |extra: &'static str| {
        let mut a = vec![
            "flashback",
            "--execute",
            "--yes",
            "--url",
            &url,
            "--binlog-dir",
            &binlogs,
            "--start-file",
            &file,
            "--start-position",
            &pos,
            "--stop-file",
            &stop.0,
            "--stop-position",
            &stop_pos,
        ];
        if !extra.is_empty() {
            a.push(extra);
        }
        a
    };

    // On a terminal: the rollback waits on the held row.
    let lock = hold_row_lock(sb, &table, 1);
    let exe = Path::new(env!("CARGO_BIN_EXE_arkc"));
    let rollback = args("");
    let tmux = TmuxSession::start(exe, &rollback, &[("XDG_DATA_HOME", data.as_str())], 80, 24);
    // Transactions travel in packets, so the count shown is where the last packet ended.
    let shown = format!("/{TXNS} transaction(s)");
    let screen = tmux.wait_for("the apply's progress line", WAIT, |screen| {
        screen.contains("applied ") && screen.contains(&shown) && screen.contains("ETA")
    });
    assert!(screen.contains("applied "), "{screen}");
    release(lock);
    tmux.wait_for_text(&format!("applied {TXNS} transaction(s)"), WAIT);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    assert_eq!(
        count(sb, &format!("SELECT SUM(v) FROM {table}")),
        0,
        "rolled back"
    );

    // On a pipe: the replay waits at its first transaction for over a second, and says nothing
    // but its summary.
    let lock = hold_row_lock(sb, &table, 1);
    let forward = args("--forward");
    let child = std::process::Command::new(exe)
        .args(&forward)
        .env("XDG_DATA_HOME", &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arkc runs");
    // The replay's statement waits on the held row for over a second: seen in the processlist
    // (its own clock, TIME_MS), not in INNODB_TRX, whose cache InnoDB refreshes only after 100 ms
    // without a read (the shared sandbox has other readers).
    wait_until("the replay to wait on the lock for a second", WAIT, || {
        count(
            sb,
            &format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%UPDATE%' \
                 AND INFO LIKE '%{db}%' AND INFO NOT LIKE '%PROCESSLIST%' AND TIME_MS > 1100"
            ),
        ) > 0
    });
    release(lock);
    let out = child.wait_with_output().expect("arkc ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("applied {TXNS} transaction(s)")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("ETA") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&format!("/{TXNS} transaction(s)")),
        "{stderr}"
    );
    assert_eq!(
        count(sb, &format!("SELECT SUM(v) FROM {table}")),
        TXNS,
        "replayed"
    );
}
