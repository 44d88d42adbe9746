//! Making a write wait, deterministically: a session (a `mariadb` client this test starts)
//! holds a row lock until the test releases it, and the test sees the waiting statement in
//! PROCESSLIST before it acts (kills the session, freezes the server...).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Stdio};

use arkc::sandbox::Sandbox;

use super::wait::{wait_for, wait_until, DEADLINE};

pub fn scalar(sb: &Sandbox, sql: &str) -> String {
    sb.exec_sql(sql)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A session holding the lock on row `id` of `table` (`db.t`) until `release`.
pub fn hold_row_lock(sb: &Sandbox, table: &str, id: u32) -> Child {
    let tag = format!("held_{}_{id}", table.replace(['.', '`'], "_"));
    let mut child = sb
        .client()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadb client");
    let sql = format!(
        "BEGIN; SELECT * FROM {table} WHERE id = {id} FOR UPDATE; SELECT SLEEP(600) AS {tag};\n"
    );
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(sql.as_bytes()).expect("send");
    std::mem::forget(stdin); // kept open: the client waits for more input after SLEEP
    wait_until("the row lock to be held", DEADLINE, || {
        scalar(
            sb,
            &format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{tag}%' \
                 AND INFO NOT LIKE '%PROCESSLIST%'"
            ),
        ) == "1"
    });
    child
}

pub fn release(mut lock: Child) {
    let _ = lock.kill();
    let _ = lock.wait();
}

/// The id of the session whose UPDATE naming `db` has waited half a second (on a held lock:
/// an UPDATE that is not held takes microseconds).
pub fn waiting_update(sb: &Sandbox, db: &str) -> String {
    let sql = format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%UPDATE%{db}%' \
         AND INFO NOT LIKE '%PROCESSLIST%' AND TIME_MS > 500"
    );
    wait_for("an UPDATE to wait on the held row", DEADLINE, || {
        let found = scalar(sb, &sql);
        match found.parse::<u64>() {
            Ok(_) => Ok(found),
            Err(_) => Err(format!(
                "PROCESSLIST:\n{}",
                scalar(
                    sb,
                    "SELECT ID, LEFT(INFO, 200) FROM information_schema.PROCESSLIST"
                )
            )),
        }
    })
}
