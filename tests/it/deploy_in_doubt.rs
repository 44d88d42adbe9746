//! A deploy whose connection is lost while a DDL statement is in flight: the statement is in
//! doubt, and arkc settles it on a new connection once the old session is gone, from the
//! table's definition before and now; `deploy list` shows the settled status, and undo acts
//! on it (refused when the DDL ran, allowed over the rest when it did not). Timings are made
//! deterministic by a metadata lock the test holds (the ALTER waits on it, seen in
//! PROCESSLIST) and by a relay the test owns that stops passing the server's answers; a
//! server the test kills itself leaves it in doubt, and undo then asks to settle first.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use arkc::sandbox::Sandbox;

use crate::support::locks::{hold_row_lock, release, scalar};
use crate::support::relay::Relay;
use crate::support::wait::{wait_for, wait_until, DEADLINE};

fn arkc(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arkc"));
    cmd.env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A table `t` with rows 1..3 (v = 0), a config whose instance `sb` is reached on `port`, and
/// a change file: an UPDATE of row 1, then an ALTER that adds column `w`.
struct Change {
    db: String,
    table: String,
    dir: tempfile::TempDir,
}

fn change(sb: &Sandbox, prefix: &str, port: u16) -> Change {
    let db = sb.create_schema(prefix).expect("schema");
    let table = format!("{db}.t");
    sb.exec_sql(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0); \
         INSERT INTO {table} VALUES (1, 0), (2, 0), (3, 0);"
    ))
    .expect("seed");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[[instance]]\nname = \"sb\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"root\"\npassword = \"\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("change.sql"),
        format!(
            "UPDATE {table} SET v = 1 WHERE id = 1;\n\
             ALTER TABLE {table} ADD COLUMN w INT NOT NULL DEFAULT 0;\n"
        ),
    )
    .unwrap();
    Change { db, table, dir }
}

impl Change {
    fn apply(&self) -> Child {
        let file = self.dir.path().join("change.sql");
        arkc(
            self.dir.path(),
            &[
                "deploy",
                "apply",
                file.to_str().unwrap(),
                "--instance",
                "sb",
                "--yes",
            ],
        )
        .spawn()
        .expect("arkc runs")
    }

    fn has_column_w(&self, sb: &Sandbox) -> bool {
        scalar(
            sb,
            &format!(
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' \
                 AND TABLE_NAME = 't' AND COLUMN_NAME = 'w'",
                self.db
            ),
        ) == "1"
    }

    fn values(&self, sb: &Sandbox) -> String {
        scalar(
            sb,
            &format!("SELECT GROUP_CONCAT(v ORDER BY id) FROM {}", self.table),
        )
    }

    /// The one deploy of the history, as `deploy list --format json` shows it.
    fn listed(&self) -> serde_json::Value {
        let out = arkc(self.dir.path(), &["deploy", "list", "--format", "json"])
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        list[0].clone()
    }

    fn undo(&self, id: &str) -> Output {
        arkc(self.dir.path(), &["deploy", "undo", id, "--yes"])
            .output()
            .unwrap()
    }
}

/// The id of the session whose ALTER of `db` waits on the metadata lock the test holds.
fn waiting_alter(sb: &Sandbox, db: &str) -> String {
    let sql = format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE {db}%' \
         AND STATE LIKE '%metadata lock%'"
    );
    wait_for("the ALTER to wait on the held table", DEADLINE, || {
        let found = scalar(sb, &sql);
        match found.parse::<u64>() {
            Ok(_) => Ok(found),
            Err(_) => Err(format!(
                "PROCESSLIST:\n{}",
                scalar(
                    sb,
                    "SELECT ID, STATE, LEFT(INFO, 100) FROM information_schema.PROCESSLIST"
                )
            )),
        }
    })
}

#[test]
fn ddl_that_ran_but_went_unanswered_is_settled_applied_and_undo_refuses_it() {
    let sb = Sandbox::shared();
    let relay = Relay::start(sb.port());
    let c = change(sb, "deploy_doubt_ran", relay.port);
    // A reader's open transaction holds the table's metadata lock: the ALTER waits on it.
    let lock = hold_row_lock(sb, &c.table, 3);
    let child = c.apply();
    let session = waiting_alter(sb, &c.db);
    relay.hold_open_connections();
    // The ALTER now runs; its answer is dropped by the relay.
    release(lock);
    wait_until("the ALTER to run", DEADLINE, || c.has_column_w(sb));
    // End the server session: the relay closes arkc's side with the answer unsent.
    sb.exec_sql(&format!("KILL CONNECTION {session}"))
        .expect("kill");
    let out = child.wait_with_output().expect("arkc ends");
    let err = stderr(&out);
    assert!(err.contains("IN DOUBT"), "{err}");
    assert!(
        err.contains("settled: statement 2 WAS applied"),
        "settled from the definition: {err}"
    );
    assert_eq!(out.status.code(), Some(0), "the whole change ran: {err}");

    let d = c.listed();
    assert_eq!(d["status"], "applied", "{d}");
    let st = &d["statements"];
    assert_eq!(st[0]["status"], "applied", "{d}");
    assert_eq!(st[1]["status"], "applied", "{d}");
    assert!(
        st[1]["settled"]
            .as_str()
            .is_some_and(|s| s.contains("definition changed")),
        "{d}"
    );

    let undo = c.undo(&d["id"].to_string());
    let err = stderr(&undo);
    assert_eq!(undo.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot be undone: statement 2 ran although its answer was lost"),
        "{err}"
    );
    assert_eq!(c.values(sb), "1,0,0", "undo sent nothing");
}

#[test]
fn ddl_killed_before_it_ran_is_settled_not_applied_and_undo_reverts_the_rest() {
    let sb = Sandbox::shared();
    let relay = Relay::start(sb.port());
    let c = change(sb, "deploy_doubt_not", relay.port);
    let lock = hold_row_lock(sb, &c.table, 3);
    let child = c.apply();
    let session = waiting_alter(sb, &c.db);
    relay.hold_open_connections();
    // The waiting ALTER is killed with its session: it never ran, and arkc hears nothing.
    sb.exec_sql(&format!("KILL CONNECTION {session}"))
        .expect("kill");
    let out = child.wait_with_output().expect("arkc ends");
    release(lock);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("IN DOUBT"), "{err}");
    assert!(
        err.contains("settled: statement 2 was NOT applied"),
        "settled from the definition: {err}"
    );
    assert!(!c.has_column_w(sb));

    let d = c.listed();
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["statements"][0]["status"], "applied", "{d}");
    assert_eq!(d["statements"][1]["status"], "not applied", "{d}");

    let undo = c.undo(&d["id"].to_string());
    assert!(undo.status.success(), "{}", stderr(&undo));
    assert_eq!(c.values(sb), "0,0,0", "the UPDATE before it was undone");
}

#[test]
fn server_killed_with_ddl_in_flight_stays_in_doubt_and_undo_asks_to_settle_first() {
    let sb = Sandbox::start(arkc::sandbox::SandboxOptions {
        name: "deploy-doubt-kill".into(),
        ..Default::default()
    })
    .expect("own sandbox");
    let pid = sb.pid().expect("server pid");
    let c = change(&sb, "deploy_doubt_kill", sb.port());
    let lock = hold_row_lock(&sb, &c.table, 3);
    let child = c.apply();
    waiting_alter(&sb, &c.db);
    // This pid is this test's own sandbox server.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let out = child.wait_with_output().expect("arkc ends");
    release(lock);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("statement 2 stays IN DOUBT: the server did not answer again"),
        "{err}"
    );
    assert!(err.contains("it may have run"), "{err}");
    assert!(err.contains("arkc deploy settle 1"), "says how: {err}");
    assert!(
        err.contains("`arkc binlog events --instance sb --start-file "),
        "and where to look: {err}"
    );
    assert!(!err.contains("NOT applied"), "{err}");

    let d = c.listed();
    assert_eq!(d["status"], "in doubt", "{d}");
    assert_eq!(d["statements"][1]["status"], "in doubt", "{d}");
    let undo = c.undo("1");
    assert!(
        stderr(&undo).contains("settle it first with `arkc deploy settle 1`"),
        "{}",
        stderr(&undo)
    );
}

/// The old session still runs the ALTER (it waits on the held lock) when arkc loses its
/// connection: arkc must not read the unchanged definition as "not applied". It waits for the
/// session, leaves the statement in doubt naming it, and `arkc deploy settle` settles it once
/// the ALTER has run.
#[test]
fn ddl_still_running_when_the_connection_is_lost_stays_in_doubt_until_settled_later() {
    let sb = Sandbox::shared();
    let relay = Relay::start(sb.port());
    let c = change(sb, "deploy_doubt_later", relay.port);
    let lock = hold_row_lock(sb, &c.table, 3);
    let child = c.apply();
    let session = waiting_alter(sb, &c.db);
    relay.hold_open_connections();
    relay.cut_clients();
    let out = child.wait_with_output().expect("arkc ends");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "statement 2 stays IN DOUBT: its session (connection {session}) is still on the server"
        )),
        "{err}"
    );
    assert!(!err.contains("NOT applied"), "{err}");
    assert!(!c.has_column_w(sb), "the ALTER still waits");
    let d = c.listed();
    assert_eq!(d["status"], "in doubt", "{d}");
    assert_eq!(d["statements"][1]["status"], "in doubt", "{d}");

    release(lock);
    wait_until("the ALTER to run", DEADLINE, || c.has_column_w(sb));
    let id = d["id"].to_string();
    let settle = arkc(c.dir.path(), &["deploy", "settle", &id])
        .output()
        .unwrap();
    let err = stderr(&settle);
    assert!(settle.status.success(), "{err}");
    assert!(err.contains("settled: statement 2 WAS applied"), "{err}");
    let d = c.listed();
    assert_eq!(d["statements"][1]["status"], "applied", "{d}");
    assert_eq!(
        d["status"], "applied",
        "the ALTER was the last statement: {d}"
    );
    let undo = c.undo(&id);
    assert!(
        stderr(&undo).contains("statement 2 ran although its answer was lost"),
        "{}",
        stderr(&undo)
    );
}
