//! A mariabackup job whose redo log copy stalls (mariadb-backup 10.11's MDEV-39468) backs up
//! again, at most 3 times, and says so; other failures are not retried (backup_faults.rs).
//!
//! How the real tool is made to fail this way: the fault itself (the copier misreading a block
//! being written) cannot be caused on demand, so these tests make the REAL mariadb-backup's redo
//! copier fall behind by its own setting: `log-copy-interval = 30000` in the `[mariadb-backup]`
//! group of a `~/.my.cnf` (the arkc processes get a HOME of the test's own), while a session
//! commits a row every 20 ms. The copier reads the log once at the start and then sleeps 30 s, the
//! tool waits for the server's LSN at the end of the copy, gives up after 5 s without progress and
//! exits 1 with the very lines MDEV-39468 produces (`Was only able to copy log from A to B, not
//! C` and `The required redo still fits within the log capacity, so it has not been
//! overwritten`), at the same stage, against a real server. Nothing in arkc is mocked: the job's
//! supervisor classifies the tool's real output.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arkc::sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

use crate::backup_jobs::{names_in, text, Env};
use crate::support::wait::{wait_for, wait_for_file_containing, DEADLINE};

/// The tool's own line when its redo copy stops short.
const STALL_LINE: &str = "Was only able to copy log from";
/// Three attempts of (copy + 5 s of waiting for the copier) on a loaded machine.
const JOB_DEADLINE: Duration = Duration::from_secs(240);

/// A sandbox under a steady writer, a schema to back up, and a HOME whose `.my.cnf` slows
/// mariadb-backup's redo copier down.
struct StallLab {
    env: Env,
    db: String,
    home: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    writer: Option<JoinHandle<u64>>,
}

impl StallLab {
    fn new(sb: &Sandbox, label: &str) -> StallLab {
        let db = sb.create_schema(label).unwrap();
        // Backed up and verified: no writes here, so its row counts stay comparable.
        sb.exec_sql(&format!(
            "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20)); \
             INSERT INTO `{db}`.t VALUES (1, 'one'), (2, 'two');"
        ))
        .unwrap();
        // Written to all the time: it moves the server's LSN past what the copier read.
        let noise = sb.create_schema(&format!("{label}noise")).unwrap();
        sb.exec_sql(&format!(
            "CREATE TABLE `{noise}`.w (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6))"
        ))
        .unwrap();
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".my.cnf"),
            "[mariadb-backup]\nlog-copy-interval = 30000\n",
        )
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut client = sb
            .client()
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let writer = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut stdin = client.stdin.take().unwrap();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    writeln!(stdin, "INSERT INTO `{noise}`.w (at) VALUES (NOW(6));").unwrap();
                    stdin.flush().unwrap();
                    n += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                drop(stdin);
                assert!(client.wait().unwrap().success());
                n
            })
        };
        StallLab {
            env: Env::new(sb, ""),
            db,
            home,
            stop,
            writer: Some(writer),
        }
    }

    /// `arkc backup run` of the schema as a mariabackup backup (`extra`: `--stream`), the id it
    /// printed, and the running CLI.
    fn start_backup(&self, extra: &[&str]) -> (i64, Child) {
        let to = self.env.to();
        let mut child = self
            .env
            .arkc()
            .env("HOME", self.home.path())
            .args([
                "backup",
                "run",
                "--instance",
                "local",
                "--kind",
                "mariabackup",
            ])
            .arg("--to")
            .arg(&to)
            .args(["--database", &self.db])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let id = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no job id printed: {line:?}"));
        (id, child)
    }

    fn tool_log(&self, id: i64) -> PathBuf {
        self.env.job_dir(id).join("tool.log")
    }

    /// How many times the tool said its redo copy stopped short.
    fn stalls(&self, id: i64) -> usize {
        std::fs::read_to_string(self.tool_log(id))
            .unwrap_or_default()
            .matches(STALL_LINE)
            .count()
    }

    /// Wait until job `id` has left `running` (its CLI may be gone).
    fn wait_end(&self, id: i64) -> Value {
        wait_for("the job to end", JOB_DEADLINE, || {
            let rec = self.env.record(id);
            match rec["state"].as_str() {
                Some("running") => Err(format!("{rec:#}\n{}", self.env.events(id))),
                _ => Ok(rec),
            }
        })
    }

    /// Stop the writer; returns how many rows it committed.
    fn stop_writer(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.writer.take().map_or(0, |w| w.join().unwrap())
    }
}

impl Drop for StallLab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The folder's entries under `.quarantine`.
fn quarantined(to: &Path) -> Vec<String> {
    std::fs::read_dir(to.join(".quarantine"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_stalled_redo_copy_is_backed_up_again_and_the_backup_verifies() {
    stalls_once_then_backs_up_and_verifies("redoagain", &[]);
}

#[test]
fn a_stalled_streamed_backup_is_streamed_again_and_verifies() {
    stalls_once_then_backs_up_and_verifies("redostream", &["--stream"]);
}

/// The first attempt stalls, the second backs up; the events say so, the stalled copy is gone and
/// the backup verifies by restore.
fn stalls_once_then_backs_up_and_verifies(label: &str, extra: &[&str]) {
    let sb = Sandbox::start(SandboxOptions {
        name: format!("bk-{label}"),
        ..SandboxOptions::default()
    })
    .expect("own sandbox");
    let mut lab = StallLab::new(&sb, label);
    let (id, child) = lab.start_backup(extra);
    // The first run has read its options once it connects; from then on a new run would not
    // slow its copier, so only the first attempt stalls (it takes 5 s to give up).
    wait_for_file_containing(
        &lab.tool_log(id),
        &["Connecting to MariaDB server"],
        DEADLINE,
    );
    std::fs::remove_file(lab.home.path().join(".my.cnf")).unwrap();
    let out = child.wait_with_output().unwrap();
    let writes = lab.stop_writer();
    let events = lab.env.events(id);
    assert!(out.status.success(), "{}\n{events}", text(&out));
    let rec = lab.env.record(id);
    assert_eq!(rec["state"], "succeeded", "{rec:#}\n{events}");
    assert_eq!(lab.stalls(id), 1, "{events}");
    for said in [
        "attempt 1 of 3: mariadb-backup's redo log copy stalled",
        "MDEV-39468",
        "the source server and its data are not affected",
        "backing up again, attempt 2 of 3",
        "backed up on attempt 2 of 3",
    ] {
        assert!(
            events.contains(said),
            "no {said:?} in the events:\n{events}"
        );
    }
    assert!(
        std::fs::read_to_string(lab.tool_log(id))
            .unwrap()
            .contains("arkc: discarded the stalled copy"),
        "the tool log says why the tool ran again"
    );
    // The stalled copy is gone, nothing partial is left, and the backup is the only entry.
    let to = lab.env.to();
    let path = PathBuf::from(rec["path"].as_str().unwrap());
    assert_eq!(
        names_in(&to),
        vec![path.file_name().unwrap().to_string_lossy().into_owned()]
    );
    assert!(quarantined(&to).is_empty(), "{:?}", quarantined(&to));
    let out = lab.env.run(&["backup", "verify", &id.to_string()]);
    assert!(
        out.status.success(),
        "verify of the backup taken on attempt 2 (after {writes} writes elsewhere): {}",
        text(&out)
    );
    assert_eq!(lab.env.record(id)["verified"], true);
}

#[test]
fn a_redo_copy_that_stalls_every_time_fails_after_3_attempts_and_cancel_stops_a_retry() {
    let sb = Sandbox::start(SandboxOptions {
        name: "bk-redo-fail".into(),
        ..SandboxOptions::default()
    })
    .expect("own sandbox");
    let mut lab = StallLab::new(&sb, "redofail");
    let to = lab.env.to();

    // 1. Every attempt stalls: the job fails after the third, with the reason.
    let (id, child) = lab.start_backup(&[]);
    let out = child.wait_with_output().unwrap();
    let events = lab.env.events(id);
    assert_eq!(out.status.code(), Some(1), "{}\n{events}", text(&out));
    let rec = lab.env.record(id);
    assert_eq!(rec["state"], "failed", "{rec:#}\n{events}");
    let error = rec["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("MDEV-39468") && error.contains("stalled on each of 3 attempts"),
        "{error}"
    );
    assert_eq!(lab.stalls(id), 3, "{events}");
    for n in 1..=3 {
        let said = format!("attempt {n} of 3: mariadb-backup's redo log copy stalled");
        assert!(events.contains(&said), "no {said:?} in:\n{events}");
    }
    assert!(!events.contains("attempt 4"), "{events}");
    // Nothing looks complete: only the last attempt's copy, in quarantine.
    assert!(names_in(&to).is_empty(), "{:?}", names_in(&to));
    let parked = quarantined(&to);
    assert!(
        parked.len() == 1 && parked[0].ends_with(".partial"),
        "{parked:?}"
    );

    // 2. While the second attempt runs, `backup list` says which attempt it is (that attempt
    // lasts at least the copier's 5 s of waiting before it stalls, so it cannot be missed; the
    // attempt that stalls once and then succeeds can end too soon to be seen running). A cancel
    // then ends the job as cancelled, with no third.
    let (id, child) = lab.start_backup(&[]);
    let running = wait_for("progress naming attempt 2", JOB_DEADLINE, || {
        let rec = lab.env.record(id);
        match (&rec["state"], &rec["progress"]["attempt"]) {
            (s, a) if s == "running" && a == 2 => Ok(rec),
            (s, a) if s == "running" && a != 3 => Err(format!("{rec:#}")),
            _ => panic!(
                "the second attempt was not seen running: {rec:#}\n{}",
                lab.env.events(id)
            ),
        }
    });
    assert_eq!(running["progress"]["attempts"], 3, "{running:#}");
    assert!(
        lab.env
            .events(id)
            .contains("backing up again, attempt 2 of 3"),
        "{}",
        lab.env.events(id)
    );
    let cancel = lab.env.run(&["backup", "cancel", &id.to_string()]);
    assert!(cancel.status.success(), "{}", text(&cancel));
    let out = child.wait_with_output().unwrap();
    let rec = lab.wait_end(id);
    let events = lab.env.events(id);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(rec["state"], "cancelled", "{rec:#}\n{events}");
    assert!(!events.contains("attempt 3 of 3"), "{events}");
    assert!(lab.stalls(id) <= 2, "{events}");
    assert!(names_in(&to).is_empty(), "{:?}", names_in(&to));
    assert!(
        quarantined(&to).iter().all(|n| n.ends_with(".partial")),
        "{:?}",
        quarantined(&to)
    );
    lab.stop_writer();
}
