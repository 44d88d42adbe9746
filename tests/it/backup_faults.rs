//! A backup whose tool dies mid-run: the job ends `failed`, never `succeeded`, and nothing
//! under the target looks complete. The dump is held mid-run deterministically: the test holds
//! a write lock on the table, so the dump waits for its metadata lock (seen in PROCESSLIST); the tool is then killed by a signal (found by its command line naming this
//! test's own schema on this test's own sandbox).

use std::io::Write;
use std::process::Stdio;

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::backup_jobs::{names_in, text, Env};
use crate::support::locks::{release, scalar};
use crate::support::wait::{wait_for, wait_until, DEADLINE};

/// The pid of the `mariadb-dump` whose command line names `db`.
fn dump_pid(db: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_dump = args.first().is_some_and(|a| a.ends_with("mariadb-dump"));
        (is_dump && args.iter().any(|a| a == db)).then_some(pid)
    })
}

#[test]
fn a_dump_killed_by_a_signal_mid_backup_fails_the_job() {
    let sb = Sandbox::start(SandboxOptions {
        name: "bk-kill".into(),
        ..Default::default()
    })
    .expect("own sandbox");
    let env = Env::new(&sb, "");
    let to = env.to();
    std::fs::create_dir_all(&to).unwrap();
    let db = sb.create_schema("bkkill").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY); INSERT INTO `{db}`.t VALUES (1), (2);"
    ))
    .unwrap();
    let mut holder = sb
        .client()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadb client");
    let mut stdin = holder.stdin.take().unwrap();
    writeln!(
        stdin,
        "LOCK TABLES `{db}`.t WRITE; SELECT SLEEP(600) AS held_for_dump;"
    )
    .unwrap();
    wait_until("the long statement to run", DEADLINE, || {
        scalar(
            &sb,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%held_for_dump%' \
             AND INFO NOT LIKE '%PROCESSLIST%'",
        ) == "1"
    });
    let child = env
        .arkc()
        .args([
            "backup",
            "run",
            "--instance",
            "src",
            "--kind",
            "dump",
            "--to",
        ])
        .arg(&to)
        .args(["--database", &db, "--compress", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arkc runs");
    wait_for("the dump to wait on the table lock", DEADLINE, || {
        let waiting = scalar(
            &sb,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE TIME_MS > 500 \
             AND INFO NOT LIKE '%held_for_dump%' AND INFO NOT LIKE '%PROCESSLIST%' \
             AND COMMAND = 'Query'",
        );
        match waiting == "1" {
            true => Ok(()),
            false => Err(scalar(
                &sb,
                "SELECT ID, STATE, TIME_MS, LEFT(INFO, 100) FROM information_schema.PROCESSLIST",
            )),
        }
    });
    let pid = wait_for("the mariadb-dump process", DEADLINE, || {
        dump_pid(&db).ok_or_else(|| "no mariadb-dump naming the schema".to_string())
    });
    // SAFETY: the pid is the mariadb-dump this test's arkc started for this test's schema.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let out = child.wait_with_output().expect("arkc ends");
    drop(stdin);
    release(holder);
    let id: i64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no job id printed: {}", text(&out)));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let rec = env.record(id);
    assert_eq!(rec["state"], "failed", "{rec:#}");
    let error = rec["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("mariadb-dump") && error.contains("SIGKILL"),
        "{rec:#}"
    );
    assert!(names_in(&to).is_empty(), "{:?}", names_in(&to));
}
