//! arkc's monitoring sessions stay out of the slow log they display.

use arkc::backend::connect::{connect, quiet_for_slow_log};
use arkc::config::InstanceConfig;
use arkc::sandbox::{Sandbox, SandboxOptions};
use mysql_async::prelude::Queryable;

#[path = "support/wait.rs"]
mod wait;

#[tokio::test(flavor = "multi_thread")]
async fn quiet_sessions_do_not_reach_the_slow_log() {
    let sb = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "quiet".into(),
            slow_log_threshold_s: 0.0,
            ..Default::default()
        })
    })
    .await
    .unwrap()
    .expect("sandbox");
    let inst = InstanceConfig::tcp("quiet", "127.0.0.1", sb.port());

    let mut loud = connect(&inst).await.unwrap();
    loud.query_drop("SELECT 'arkc-loud-marker' FROM information_schema.TABLES LIMIT 1")
        .await
        .unwrap();
    let mut quiet = connect(&inst).await.unwrap();
    quiet_for_slow_log(&mut quiet).await;
    quiet
        .query_drop("SELECT 'arkc-quiet-marker' FROM information_schema.TABLES LIMIT 1")
        .await
        .unwrap();
    // Entries are written after the answer: once this later one is in, the ones before it are.
    loud.query_drop("SELECT 'arkc-loud-after' FROM information_schema.TABLES LIMIT 1")
        .await
        .unwrap();
    loud.disconnect().await.unwrap();
    quiet.disconnect().await.unwrap();

    let log = wait::wait_for_file_containing(
        &sb.slow_log_path(),
        &["arkc-loud-marker", "arkc-loud-after"],
        wait::DEADLINE,
    );
    assert!(
        log.contains("arkc-loud-marker"),
        "control: an ordinary session is logged at long_query_time=0"
    );
    assert!(
        !log.contains("arkc-quiet-marker"),
        "a quiet session must not be logged"
    );
}
