//! The console's fleet poller against a real sandbox when its one poll slot is held for seconds
//! (an instance whose `password_cmd` takes 4 s): the others wait past the queue budget, and the
//! backend says arkc is behind instead of marking them slow; once the slot frees, it keeps up.

use std::sync::Arc;
use std::time::Duration;

use arkc::backend::{self, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::Status;
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_slot_makes_arkc_behind_and_no_waiting_instance_slow() {
    let server = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "pace".into(),
            ..SandboxOptions::default()
        })
        .unwrap()
    })
    .await
    .unwrap();
    let mut sleeper = InstanceConfig::tcp("sleeper", "127.0.0.1", server.port());
    sleeper.password = None;
    // Root's password is empty: the command prints an empty line, four seconds late.
    sleeper.password_cmd = Some("sleep 4; echo".into());
    let mut instances = vec![sleeper];
    for i in 0..5 {
        instances.push(InstanceConfig::tcp(
            &format!("waiter{i}"),
            "127.0.0.1",
            server.port(),
        ));
    }
    let mut config = Config {
        instances,
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    config.fleet.polling.max_inflight = 1;
    // The highest "slow" bound: a loaded machine can take over the default 1 s to answer, while
    // counting the wait for the held slot (4 s) would still cross this one.
    config.fleet.polling.slow_ms = 2000;
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn(Arc::new(config), events);

    let mut behind = None;
    let mut caught_up = false;
    let mut up = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !(caught_up && up.len() == 6) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Health(h))) => {
                assert_ne!(h.status, Status::Slow, "queueing is not slowness: {h:?}");
                assert_ne!(h.status, Status::Down, "{h:?}");
                up.insert(h.instance.clone());
            }
            Ok(Some(BackendEvent::FleetPace(p))) => {
                assert_eq!((p.max_inflight, p.instances), (1, 6), "{p:?}");
                if p.is_behind() {
                    assert!(p.behind >= Duration::from_millis(2500), "{p:?}");
                    behind = Some(p);
                } else if behind.is_some() && up.len() == 6 {
                    caught_up = true;
                }
            }
            Ok(Some(_)) => {}
            other => panic!("behind {behind:?}, caught up {caught_up}, up {up:?} ({other:?})"),
        }
    }
    let behind = behind.expect("a pace report while the slot was held");
    assert!(behind.describe().starts_with("arkc behind "), "{behind:?}");
    handle.shutdown().await;
}
