//! A backup whose tool dies mid-run: the job ends `failed`, never `succeeded`, and nothing
//! under the target looks complete. Each tool is held mid-run deterministically by a lock a
//! session of the test holds: mariadb-dump and mydumper wait behind a table locked for writing,
//! mariadb-backup's BACKUP STAGE START behind the test's own backup stage. Once the tool's
//! statement is seen waiting in PROCESSLIST, the tool is killed by a signal, found by its
//! command line naming this test's own schema or temp dir.

use std::io::Write;
use std::process::Stdio;

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::backup_jobs::{names_in, text, Env};
use crate::support::jobs::printed_job_id;
use crate::support::locks::{release, scalar};
use crate::support::wait::{wait_for, wait_until, DEADLINE};

#[test]
fn a_dump_killed_by_a_signal_mid_backup_fails_the_job() {
    // mariadb-dump waits behind a table locked for writing.
    tool_killed_mid_run(
        "dump",
        "src",
        "dump",
        &["mariadb-dump"],
        "LOCK TABLES `{db}`.t WRITE",
    );
}

/// The pid of a process named one of `programs` whose command line mentions `path` or names
/// the schema `db`: the tool this test's arkc started (mariadb-dump writes to a pipe, so only
/// its schema argument is its own).
fn tool_pid(programs: &[&str], path: &std::path::Path, db: &str) -> Option<i32> {
    let path = path.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let name = args.first()?.rsplit('/').next()?.to_string();
        let ours =
            programs.contains(&name.as_str()) && args.iter().any(|a| a.contains(&path) || a == db);
        ours.then_some(pid)
    })
}

/// Hold `hold_sql` in a session of our own, start a `kind` backup of a fresh schema, wait until
/// the tool's own statement has waited half a second in PROCESSLIST, SIGKILL the tool, then
/// check the job, its history row, `backup list` and `backup verify` all say it failed.
fn tool_killed_mid_run(kind: &str, instance: &str, label: &str, programs: &[&str], hold: &str) {
    let sb = Sandbox::start(SandboxOptions {
        name: format!("bk-kill-{label}"),
        ..Default::default()
    })
    .expect("own sandbox");
    let env = Env::new(&sb, "");
    let to = env.to();
    std::fs::create_dir_all(&to).unwrap();
    let db = sb.create_schema(&format!("bkkill{label}")).unwrap();
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
        "{}; SELECT SLEEP(600) AS held_for_tool;",
        hold.replace("{db}", &db)
    )
    .unwrap();
    wait_until("the long statement to run", DEADLINE, || {
        scalar(
            &sb,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%held_for_tool%' \
             AND INFO NOT LIKE '%PROCESSLIST%'",
        ) == "1"
    });
    let child = env
        .arkc()
        .args([
            "backup",
            "run",
            "--instance",
            instance,
            "--kind",
            kind,
            "--to",
        ])
        .arg(&to)
        .args(["--database", &db, "--compress", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arkc runs");
    wait_for("the tool to wait on the held lock", DEADLINE, || {
        let waiting = scalar(
            &sb,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE TIME_MS > 500 \
             AND INFO NOT LIKE '%held_for_tool%' AND INFO NOT LIKE '%PROCESSLIST%' \
             AND COMMAND = 'Query'",
        );
        // At least one: a tool may wait on more than one connection (mydumper's threads).
        match waiting.parse::<u32>().is_ok_and(|n| n >= 1) {
            true => Ok(()),
            false => Err(scalar(
                &sb,
                "SELECT ID, STATE, TIME_MS, LEFT(INFO, 100) FROM information_schema.PROCESSLIST",
            )),
        }
    });
    let pid = wait_for("the tool's process", DEADLINE, || {
        tool_pid(programs, &to, &db)
            .ok_or_else(|| format!("no {programs:?} naming {}", to.display()))
    });
    // SAFETY: the pid is the tool this test's arkc started, writing under this test's temp dir.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let out = child.wait_with_output().expect("arkc ends");
    drop(stdin);
    release(holder);
    let id = printed_job_id(&out, kind);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let rec = env.record(id);
    assert_eq!(rec["state"], "failed", "{rec:#}\n{}", env.events(id));
    let error = rec["error"].as_str().unwrap_or_default();
    assert!(
        programs.iter().any(|p| error.contains(p)) && error.contains("SIGKILL"),
        "{rec:#}"
    );
    let listed = env.run(&["backup", "list"]);
    let line = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("job {id} not in `backup list`: {}", text(&listed)));
    assert!(line.contains("failed"), "{line}");
    let verify = env.run(&["backup", "verify", &id.to_string()]);
    assert!(
        !verify.status.success(),
        "verify accepted it: {}",
        text(&verify)
    );
    assert_ne!(env.record(id)["verified"], true);
    assert!(names_in(&to).is_empty(), "{:?}", names_in(&to));
}

#[test]
fn mydumper_killed_by_a_signal_mid_backup_fails_the_job() {
    // mydumper's FLUSH TABLES WITH READ LOCK waits behind a table locked for writing.
    tool_killed_mid_run(
        "mydumper",
        "src",
        "myd",
        &["mydumper"],
        "LOCK TABLES `{db}`.t WRITE",
    );
}

#[test]
fn mariabackup_killed_by_a_signal_mid_backup_fails_the_job() {
    // One BACKUP STAGE at a time: the tool's BACKUP STAGE START waits behind ours.
    tool_killed_mid_run(
        "mariabackup",
        "local",
        "phys",
        &["mariadb-backup", "mariabackup"],
        "BACKUP STAGE START",
    );
}
