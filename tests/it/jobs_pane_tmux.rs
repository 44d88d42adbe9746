//! The real console in tmux at 80x24: the Jobs pane starts a configured backup against a sandbox,
//! shows it succeed in the history, and verifies it by restore, all from keys; and it shows a
//! running backup's progress bar, cancels it, and keeps both in the history.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use arkc::sandbox::Sandbox;

use crate::support::tmux::TmuxSession;
use crate::support::wait::DEADLINE;

/// A console at 80x24 on the Jobs pane, its config holding the one `[[backup]]` job `job` of
/// schema `db` (with `extra` job keys); its data, config and state dirs are inside `dir`.
fn jobs_console(sb: &Sandbox, dir: &Path, job: &str, db: &str, extra: &str) -> TmuxSession {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[ui]\nrefresh_ms = 500\n\n[[instance]]\nname = \"src\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
             [[backup]]\nname = \"{job}\"\ninstance = \"src\"\nkind = \"dump\"\nto = \"{}\"\ndatabase = \"{db}\"\n{extra}",
            sb.port(),
            dir.join("backups").display()
        ),
    )
    .unwrap();
    let data = dir.join("data").display().to_string();
    let config_home = dir.join("config-home").display().to_string();
    let state_home = dir.join("state-home").display().to_string();
    let config_arg = config.display().to_string();
    let term = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_arg],
        &[
            ("ARKC_DATA_DIR", &data),
            ("XDG_CONFIG_HOME", &config_home),
            ("XDG_STATE_HOME", &state_home),
        ],
        80,
        24,
    );
    term.wait_for_text("Health", DEADLINE);
    term.keys(&["4"]);
    term.wait_for_text(job, DEADLINE);
    term
}

#[test]
fn jobs_pane_starts_a_backup_and_verifies_it() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("jobs_tmux").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO `{db}`.t VALUES (1,'a'),(2,'b');"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let term = jobs_console(sb, dir.path(), "tmuxjob", &db, "keep = 2\n");
    term.keys(&["s"]);
    let screen = term.wait_for("the backup to succeed", Duration::from_secs(90), |s| {
        s.contains("succeeded")
    });
    assert!(
        screen.contains("tmuxjob") && screen.contains("dump"),
        "{screen}"
    );
    term.keys(&["v"]);
    let screen = term.wait_for("the verification", Duration::from_secs(120), |s| {
        s.contains("verified:") || s.contains("FAILED")
    });
    assert!(screen.contains("verified:"), "{screen}");
    // The history row is re-read after the result line is shown.
    term.wait_for(
        "the VERIFIED column to say yes",
        Duration::from_secs(30),
        |s| s.contains(" yes "),
    );
    term.keys(&["q"]);
    assert_eq!(term.wait_exit(DEADLINE), 0);
}

/// A session holding `LOCK TABLES mysql.proc WRITE`: mariadb-dump stops there after the data,
/// where it dumps routines, so the backup stays running with its bytes written.
fn hold_routines_lock(sb: &Sandbox) -> Child {
    let mut child = sb
        .client()
        .arg("--unbuffered")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "LOCK TABLES mysql.proc WRITE; SELECT 'locked';").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child.stdin = Some(stdin);
    child
}

#[test]
fn jobs_pane_shows_a_running_backup_cancels_it_and_keeps_the_history() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("jobs_cancel").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(200));
         INSERT INTO `{db}`.t SELECT seq, REPEAT('x', 200) FROM `{db}`.seq_1_to_20000;
         CREATE PROCEDURE `{db}`.p() SELECT 1;"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let term = jobs_console(sb, dir.path(), "nightly", &db, "");
    // A first backup runs to the end: the history's first row.
    term.keys(&["s"]);
    term.wait_for(
        "the first backup to succeed",
        Duration::from_secs(90),
        |s| s.contains("succeeded"),
    );
    // The second one is held at the routines, its data written: a progress bar while it runs.
    let mut lock = hold_routines_lock(sb);
    term.keys(&["s"]);
    let running = term.wait_for(
        "the running backup's progress bar",
        Duration::from_secs(60),
        // Its data is written (the bar has filled) while it waits at the routines.
        |s| s.contains("backup 2 of src: dumping") && s.contains("tables 1/1") && s.contains('█'),
    );
    eprintln!("running:\n{running}");
    let bar = running
        .lines()
        .find(|l| l.contains("backup 2 of src: dumping"))
        .unwrap();
    assert!(bar.contains('%'), "the bar shows a percentage: {running}");
    assert!(
        running.lines().any(|l| l.contains('%') && l.contains("/s")),
        "phase, percent, bytes and rate under the bar: {running}"
    );
    // The new backup is the history's top row; select it and cancel it.
    term.keys(&["Up", "Up", "c"]);
    let asking = term.wait_for_text("Cancel backup 2", DEADLINE);
    assert!(asking.contains("y = cancel"), "{asking}");
    term.keys(&["y"]);
    // The result line comes first; the history rows are re-read just after it.
    let after = term.wait_for(
        "the history row to say cancelled",
        Duration::from_secs(60),
        |s| {
            s.lines()
                .any(|l| l.contains("nightly") && l.contains(" dump ") && l.contains("cancelled"))
                && !s.contains("dumping")
        },
    );
    drop(lock.stdin.take());
    let _ = lock.wait();
    eprintln!("after cancel:\n{after}");
    let history: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("nightly") && l.contains(" dump "))
        .collect();
    assert_eq!(history.len(), 2, "two rows in the history: {after}");
    assert!(
        history[0].contains("2 ") && history[0].contains("cancelled"),
        "newest first, cancelled: {after}"
    );
    assert!(history[1].contains("succeeded"), "{after}");
    assert!(
        !after.contains("dumping"),
        "no progress bar once nothing runs: {after}"
    );
    // Its partial output went to the quarantine folder, next to the one good backup.
    let backups = dir.path().join("backups");
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let quarantined = names(&backups.join(".quarantine"));
    assert!(
        quarantined.len() == 1 && quarantined[0].ends_with("-2.sql.zst.partial"),
        "{quarantined:?}"
    );
    assert_eq!(names(&backups).len(), 2, "{:?}", names(&backups));
    term.keys(&["q"]);
    assert_eq!(term.wait_exit(DEADLINE), 0);
}
