//! Recording from the console: the key's command reaches the live backend, which writes what it
//! polls from a real sandbox into a file that replays.

use std::sync::Arc;
use std::time::Duration;

use arkc::app::{update, Action, Effect, State};
use arkc::backend::record_toggle::{RecordCommand, RecordingStatus};
use arkc::backend::{self, BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::recording::Recording;
use arkc::sandbox::Sandbox;
use tokio::sync::mpsc;

async fn next_recording(
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    state: &mut State,
) -> RecordingStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("no recording status within 20 s")
            .expect("backend stopped");
        let status = match &event {
            BackendEvent::Recording(s) => Some(s.clone()),
            _ => None,
        };
        update(state, Action::Backend(Box::new(event)));
        if let Some(status) = status {
            return status;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_key_writes_a_replayable_file_while_polling_goes_on() {
    let sb = Sandbox::shared();
    let data = tempfile::tempdir().unwrap();
    // The app picks the file under the data dir.
    std::env::set_var("ARKC_DATA_DIR", data.path());
    let mut config = Config {
        instances: vec![InstanceConfig::tcp("live", "127.0.0.1", sb.port())],
        ..Config::default()
    };
    config.ui.refresh_ms = 300;
    let mut state = State::new(&config, false, chrono::Utc::now());
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn(Arc::new(config), events);

    let effects = update(&mut state, Action::RecordToggle);
    let [Effect::SendBackend(BackendCommand::Record(RecordCommand::Start { path }))] =
        effects.as_slice()
    else {
        panic!("expected a start command, got {effects:?}");
    };
    assert!(path.starts_with(data.path()), "{}", path.display());
    handle.send(BackendCommand::Record(RecordCommand::Start {
        path: path.clone(),
    }));
    let started = next_recording(&mut rx, &mut state).await;
    assert!(started.active && started.error.is_none(), "{started:?}");
    assert_eq!(state.recording.as_deref(), Some(started.file.as_str()));

    // Until the file holds three frames.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        while let Ok(event) = rx.try_recv() {
            update(&mut state, Action::Backend(Box::new(event)));
        }
        let frames = Recording::open(path)
            .and_then(|r| r.times())
            .map(|t| t.len());
        if frames.as_ref().is_ok_and(|n| *n >= 3) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "3 frames not written within 20 s: {frames:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let effects = update(&mut state, Action::RecordToggle);
    assert_eq!(
        effects,
        vec![Effect::SendBackend(BackendCommand::Record(
            RecordCommand::Stop
        ))]
    );
    handle.send(BackendCommand::Record(RecordCommand::Stop));
    let stopped = next_recording(&mut rx, &mut state).await;
    assert!(!stopped.active && stopped.frames >= 3, "{stopped:?}");
    assert_eq!(state.recording, None);

    let frame = Recording::open(path)
        .unwrap()
        .frame_at(None)
        .unwrap()
        .unwrap();
    let live = frame
        .instances
        .iter()
        .find(|h| h.instance == "live")
        .unwrap();
    // "slow" answered too (past 1 s, which a loaded machine can make).
    assert!(
        matches!(
            live.status,
            arkc::health::Status::Up | arkc::health::Status::Slow
        ),
        "{live:?}"
    );
    assert!(live.qps.is_some());
    handle.shutdown().await;
}
