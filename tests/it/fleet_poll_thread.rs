//! The health pollers' own thread and their direct read of status rows: the fleet runs on a
//! thread named `arkc-pollers` while the backend runs and that thread ends with `shutdown`; a
//! two-column statement read straight into name -> value gives what `query` + `name_value_map`
//! give.

use std::sync::Arc;
use std::time::Duration;

use arkc::backend::recorder::{name_value_map, SqlRecorder, STATEMENT_TIMEOUT};
use arkc::backend::{self, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::Status;
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

/// This process's threads named `name` (Linux: /proc/self/task/*/comm).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|comm| comm.trim_end() == name)
                })
                .count()
        })
        .unwrap_or(0)
}

async fn start(name: &str) -> Sandbox {
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        Sandbox::start(SandboxOptions {
            name,
            ..SandboxOptions::default()
        })
        .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_run_on_their_own_thread_until_shutdown() {
    let server = start("pollthread").await;
    let mut config = Config {
        instances: vec![InstanceConfig::tcp("p1", "127.0.0.1", server.port())],
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    let before = threads_named("arkc-pollers");
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn_batched(Arc::new(config), events, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut up = false;
    while !up {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Polled(batch))) => {
                up = batch.health.iter().any(|h| h.status == Status::Up)
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("backend closed its channel"),
            Err(_) => panic!("no poll of p1 answered within 20 s"),
        }
    }
    assert_eq!(
        threads_named("arkc-pollers"),
        before + 1,
        "the fleet runs on one thread of its own"
    );
    handle.shutdown().await;
    // The thread ends once its runtime has closed the connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while threads_named("arkc-pollers") > before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        threads_named("arkc-pollers"),
        before,
        "the pollers' thread still runs 10 s after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_values_read_directly_match_the_collected_rows() {
    let server = start("namevalues").await;
    let instance = InstanceConfig::tcp("n1", "127.0.0.1", server.port());
    let mut conn = backend::connect::connect(&instance).await.unwrap();
    let (events, _rx) = mpsc::unbounded_channel();
    let recorder = SqlRecorder::new("n1", events);
    // Variables, not status: they do not move between the two reads. One is NULL-free text,
    // one numeric, one empty on a sandbox, one unknown (absent from both).
    let sql = "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
               ('version', 'max_connections', 'init_connect', 'no_such_variable', 'read_only')";
    let rows = recorder
        .query(&mut conn, sql, STATEMENT_TIMEOUT)
        .await
        .unwrap();
    let collected = name_value_map(&rows);
    let direct = recorder
        .query_name_values(&mut conn, sql, STATEMENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(direct, collected);
    assert_eq!(direct.len(), 4, "{direct:?}");
    assert!(direct["version"].contains("MariaDB"), "{direct:?}");
    // An error is the server's, as with `query`, and the connection stays usable.
    let err = recorder
        .query_name_values(&mut conn, "SHOW GLOBAL STATUSS", STATEMENT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("1064"), "{err:#}");
    let again = recorder
        .query_name_values(&mut conn, sql, STATEMENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(again, collected);
    let _ = conn.disconnect().await;
}
