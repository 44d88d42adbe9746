//! A kill never ends arkc's own sessions (its polls and view reads): a bulk kill by a filter that
//! also matches them leaves them alone and says so, while a client's session is ended.

use arkc::backend::connect::connect;
use arkc::backend::health::kill::{kill_sessions, KillTarget};
use arkc::backend::health::processlist::MonitorConn;
use arkc::backend::SqlRecorder;
use arkc::config::InstanceConfig;
use arkc::sandbox::{Sandbox, SandboxOptions};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_leaves_arkcs_own_sessions_alone_and_ends_a_clients() {
    let sb = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "killown".into(),
            ..SandboxOptions::default()
        })
    })
    .await
    .unwrap()
    .expect("sandbox starts");
    let inst = InstanceConfig::tcp("db", "127.0.0.1", sb.port());
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut mc = MonitorConn::open(&inst, SqlRecorder::new("db", tx))
        .await
        .unwrap();
    // One of arkc's own sessions, and a client's (opened without arkc's connect).
    let mut own = connect(&inst).await.unwrap();
    let own_id = u64::from(own.id());
    let mut client = Conn::new(Opts::from_url(&sb.url()).unwrap()).await.unwrap();
    let client_id = u64::from(client.id());

    let outcomes = kill_sessions(
        &mut mc,
        &inst.address(),
        &[own_id, client_id],
        KillTarget::Connection,
        false,
    )
    .await
    .unwrap();
    assert!(!outcomes[0].killed, "{outcomes:?}");
    assert!(
        outcomes[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("arkc's own")),
        "{outcomes:?}"
    );
    assert!(outcomes[1].killed, "{outcomes:?}");
    own.query_drop("SELECT 1")
        .await
        .expect("arkc's session lives");
    assert!(
        client.query_drop("SELECT 1").await.is_err(),
        "the client's session was ended"
    );
    let _ = own.disconnect().await;
    mc.close().await;
}
