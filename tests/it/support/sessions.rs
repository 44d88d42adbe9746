//! Sessions of a sandbox held in a state a monitoring test reads: a connection and its id, a
//! chain of row-lock waits, a real deadlock. Each waits for the server to show the state (with a
//! deadline) before it returns.
#![allow(dead_code)]

use std::time::Duration;

use arkc::backend::connect::connect;
use arkc::config::InstanceConfig;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::task::JoinHandle;

/// A connection to the sandbox listening on `port`, and its connection id.
pub async fn session(port: u16) -> (Conn, u64) {
    let mut conn = connect(&InstanceConfig::tcp("t", "127.0.0.1", port))
        .await
        .unwrap();
    let id: u64 = conn
        .query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap();
    (conn, id)
}

/// Poll INNODB_TRX on `probe` until a transaction waits for a row lock; after 30 s, panic with
/// the PROCESSLIST.
pub async fn wait_for_row_lock_wait(probe: &mut Conn) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n: u64 = probe
            .query_first(
                "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
            )
            .await
            .unwrap()
            .unwrap();
        if n >= 1 {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let seen: Vec<(u64, Option<String>, Option<String>)> = probe
                .query("SELECT ID, STATE, INFO FROM information_schema.PROCESSLIST")
                .await
                .unwrap();
            panic!("no row lock wait within 30 s; processlist: {seen:?}");
        }
        // InnoDB refreshes the INNODB_TRX cache only after 100 ms without a read of it: poll
        // faster and it never sees the wait start.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A real deadlock between two new sessions on rows 1 and 2 of `table` (`db.t`, column `id`):
/// X sets `set[0]` on row 1, Y `set[1]` on row 2, X `set[2]` on row 2 (and waits), then Y
/// `set[3]` on row 1. Asserts exactly one side was rolled back.
pub async fn deadlock(port: u16, table: &str, set: [&str; 4]) -> Deadlock {
    let (mut x, x_id) = session(port).await;
    let (mut y, y_id) = session(port).await;
    x.query_drop("BEGIN").await.unwrap();
    x.query_drop(format!("UPDATE {table} SET {} WHERE id = 1", set[0]))
        .await
        .unwrap();
    y.query_drop("BEGIN").await.unwrap();
    y.query_drop(format!("UPDATE {table} SET {} WHERE id = 2", set[1]))
        .await
        .unwrap();
    let x_update = format!("UPDATE {table} SET {} WHERE id = 2", set[2]);
    let x_task = tokio::spawn(async move {
        let r = x.query_drop(x_update).await;
        let _ = x.query_drop("ROLLBACK").await;
        r
    });
    // Close the cycle only once X really waits.
    let (mut probe, _) = session(port).await;
    wait_for_row_lock_wait(&mut probe).await;
    let y_result = y
        .query_drop(format!("UPDATE {table} SET {} WHERE id = 1", set[3]))
        .await;
    let _ = y.query_drop("ROLLBACK").await;
    let x_result = x_task.await.unwrap();
    assert!(
        x_result.is_err() != y_result.is_err(),
        "exactly one side is rolled back: {x_result:?} {y_result:?}"
    );
    Deadlock {
        x_id,
        y_id,
        y_rolled_back: y_result.is_err(),
    }
}

/// The two sessions of `deadlock` and which one InnoDB chose as the victim.
pub struct Deadlock {
    pub x_id: u64,
    pub y_id: u64,
    pub y_rolled_back: bool,
}

/// Three sessions on rows 1 and 2 of `table` (`db.t` with columns `id`, `v`): A holds row 1
/// (idle in its transaction); B holds row 2 and waits for row 1; C waits for row 2.
pub struct LockChain {
    pub a: Conn,
    pub a_id: u64,
    pub b_id: u64,
    pub c_id: u64,
    /// B's waiting UPDATE then its COMMIT: Ok once A is gone.
    pub b_task: JoinHandle<Result<(), mysql_async::Error>>,
    /// C's waiting UPDATE then its COMMIT.
    pub c_task: JoinHandle<Result<(), mysql_async::Error>>,
}

/// Start the chain with `innodb_lock_wait_timeout` of `lock_wait_timeout_s` in each session. B's
/// and C's UPDATEs are sent, not necessarily waiting yet: a test waits for what it reads.
pub async fn lock_chain(port: u16, table: &str, lock_wait_timeout_s: u32) -> LockChain {
    let (mut a, a_id) = session(port).await;
    let (mut b, b_id) = session(port).await;
    let (mut c, c_id) = session(port).await;
    for conn in [&mut a, &mut b, &mut c] {
        conn.query_drop(format!(
            "SET SESSION innodb_lock_wait_timeout = {lock_wait_timeout_s}"
        ))
        .await
        .unwrap();
    }
    a.query_drop("BEGIN").await.unwrap();
    a.query_drop(format!("UPDATE {table} SET v = 10 WHERE id = 1"))
        .await
        .unwrap();
    b.query_drop("BEGIN").await.unwrap();
    b.query_drop(format!("UPDATE {table} SET v = 20 WHERE id = 2"))
        .await
        .unwrap();
    let b_update = format!("UPDATE {table} SET v = 21 WHERE id = 1");
    let b_task = tokio::spawn(async move {
        let r = b.query_drop(b_update).await;
        let commit = b.query_drop("COMMIT").await;
        r.and(commit)
    });
    let c_update = format!("UPDATE {table} SET v = 30 WHERE id = 2");
    let c_task = tokio::spawn(async move {
        c.query_drop("BEGIN").await.unwrap();
        let r = c.query_drop(c_update).await;
        let commit = c.query_drop("COMMIT").await;
        r.and(commit)
    });
    LockChain {
        a,
        a_id,
        b_id,
        c_id,
        b_task,
        c_task,
    }
}
