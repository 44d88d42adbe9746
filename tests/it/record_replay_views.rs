//! A recording holds what the Replication, Disk, Parameters and Backup views and the Locks
//! view's latest deadlock need, for an instance with a firing alert; replayed, those views show
//! the recorded figures, marked REPLAY: against a real sandbox recorded by `arkc record`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use arkc::app::{update, Action, Effect, Keymap, State};
use arkc::backend::health::views::Inspection;
use arkc::backend::replay::ReplayCommand;
use arkc::backend::{self, BackendCommand, BackendEvent};
use arkc::config::Config;
use arkc::recording::{ReadBody, ReadKind, Recording};
use arkc::sandbox::{Sandbox, SandboxOptions};
use arkc::ui::{self, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

fn screen(state: &State) -> String {
    let keymap = Keymap::builtin("default").unwrap().unwrap();
    let theme = Theme::builtin("default").unwrap().unwrap();
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal
        .draw(|f| ui::draw(f, state, &theme, &keymap))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            line.trim_end().to_string() + "\n"
        })
        .collect()
}

fn send(handle: &backend::BackendHandle, effects: Vec<Effect>) {
    for e in effects {
        if let Effect::SendBackend(command) = e {
            handle.send(command);
        }
    }
}

/// Apply replay events until `done` holds, or fail after 10 s saying what was seen.
async fn until(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    what: &str,
    done: impl Fn(&State) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(state) {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: not within 10 s; view error {:?}",
                    state.health_pane.monitor.view_error
                )
            })
            .expect("replay backend stopped");
        update(state, Action::Backend(Box::new(event)));
    }
}

fn record(sb: &Sandbox, dir: &Path) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"fresh\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let file = dir.join("views.arkc");
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config)
        .env("XDG_STATE_HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .args([
            "record",
            "--out",
            file.to_str().unwrap(),
            "--duration",
            "4s",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

/// A server started seconds ago fires `restarted`, so the recorder reads its views.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_views_replay_with_the_recorded_figures() {
    let sb = Sandbox::start(SandboxOptions {
        name: "recviews".into(),
        ..SandboxOptions::default()
    })
    .unwrap();
    sb.exec_sql(
        "CREATE DATABASE incident_db; \
         CREATE TABLE incident_db.orders (id INT PRIMARY KEY, note VARCHAR(64)); \
         INSERT INTO incident_db.orders VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
         SET GLOBAL max_connections = 321",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = record(&sb, dir.path());

    // In the file: every kind, read from the server.
    let rec = Recording::open(&file).unwrap();
    let last = rec.frame_at(None).unwrap().unwrap();
    let read = |kind| {
        rec.read_at("fresh", kind, last.at)
            .unwrap()
            .unwrap_or_else(|| panic!("no {kind:?} read recorded"))
            .1
    };
    let ReadBody::Parameters(params) = read(ReadKind::Parameters) else {
        panic!("not parameters")
    };
    assert_eq!(
        params.variables.get("max_connections").map(String::as_str),
        Some("321")
    );
    let ReadBody::Sizes(sizes) = read(ReadKind::Sizes) else {
        panic!("not sizes")
    };
    assert!(
        sizes.schemas.iter().any(|s| s.schema == "incident_db"),
        "{sizes:?}"
    );
    assert!(
        matches!(read(ReadKind::Replication), ReadBody::Replication(r) if r.channels.is_empty())
    );
    assert!(matches!(read(ReadKind::Backups), ReadBody::Backups(_)));
    assert!(matches!(read(ReadKind::Deadlock), ReadBody::Deadlock(_)));
    let frames = rec.times().unwrap().len();
    drop(rec);

    // Replayed: the console at the last frame, the Disk and Parameters views.
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::replay::spawn(&file, events).unwrap();
    let mut state = State::new(&Config::default(), false, chrono::Utc::now());
    handle.send(BackendCommand::Replay(ReplayCommand::Step(frames as i64)));
    until(&mut state, &mut rx, "the last frame", |s| {
        s.replay.as_ref().is_some_and(|r| r.index + 1 == frames)
    })
    .await;
    send(&handle, update(&mut state, Action::HealthDisk));
    until(&mut state, &mut rx, "the recorded sizes", |s| {
        matches!(
            &s.health_pane.monitor.inspect.latest,
            Some((_, Inspection::Sizes(_)))
        )
    })
    .await;
    let text = screen(&state);
    assert!(text.contains("incident_db"), "{text}");
    assert!(text.contains("REPLAY"), "{text}");
    assert!(text.contains("REPLAY: read at"), "{text}");

    send(&handle, update(&mut state, Action::HealthParameters));
    until(&mut state, &mut rx, "the recorded parameters", |s| {
        matches!(
            &s.health_pane.monitor.inspect.latest,
            Some((_, Inspection::Parameters(_)))
        )
    })
    .await;
    let Some((_, Inspection::Parameters(p))) = &state.health_pane.monitor.inspect.latest else {
        unreachable!()
    };
    assert_eq!(p.variables["max_connections"], "321");
    assert!(p.notes[0].starts_with("REPLAY: read at"), "{:?}", p.notes);

    send(&handle, update(&mut state, Action::HealthReplication));
    until(&mut state, &mut rx, "the recorded replication", |s| {
        matches!(
            &s.health_pane.monitor.inspect.latest,
            Some((_, Inspection::Replication(_)))
        )
    })
    .await;
    let text = screen(&state);
    assert!(text.contains("Not a replica"), "{text}");
    handle.send(BackendCommand::Shutdown);
    handle.shutdown().await;
}
