//! The Jobs pane inside the console at 80x24: history rows from the jobs backend, the running
//! job's gauge, and the keys from the default keymap (cancel asks first, then sends the request).

use std::path::PathBuf;

use arkc::app::{update, Action, Effect, Keymap, Mode, Pane, State};
use arkc::backend::jobs::JobsEvent;
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{BackupKind, Config};
use arkc::jobs::{BackupRecord, JobRow, JobState, JobsRequest, Phase, Progress, SnapshotPosition};
use arkc::ui::{self, Theme};
use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn clock(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn row(id: i64, state: JobState, verified: Option<bool>) -> JobRow {
    let record = BackupRecord {
        id,
        job: "nightly".into(),
        instance: "primary".into(),
        kind: BackupKind::Dump,
        state,
        started_at: clock(-3600 * (4 - id)),
        finished_at: (state != JobState::Running).then(|| clock(-3600 * (4 - id) + 95)),
        bytes: (state == JobState::Succeeded).then_some(52_428_800),
        path: Some(PathBuf::from(format!("/b/primary-nightly-{id}.sql.zst"))),
        job_dir: PathBuf::new(),
        pid: None,
        tool_pid: None,
        tool_version: None,
        position: (state == JobState::Succeeded).then(|| SnapshotPosition {
            file: Some("mariadb-bin.000004".into()),
            pos: Some(1234),
            gtid: Some("0-1-99".into()),
        }),
        checksums: Vec::new(),
        checksum_mode: None,
        verified,
        verified_at: None,
        verify_note: None,
        verify_diff: Vec::new(),
        error: None,
        cancel_requested: false,
        deleted_at: None,
    };
    let progress = (state == JobState::Running).then(|| {
        let mut p = Progress::new(clock(-20), 300);
        p.phase = Phase::Dumping;
        p.bytes_done = 300 * 1024 * 1024;
        p.bytes_estimate = Some(1200 * 1024 * 1024);
        p.tables_done = 7;
        p.tables_total = 20;
        p.updated_at = clock(0);
        p.last_activity_at = clock(0);
        p
    });
    JobRow { record, progress }
}

fn state() -> State {
    let config = Config::parse(
        "[[instance]]\nname = \"primary\"\nhost = \"10.0.3.7\"\n\n\
         [[backup]]\nname = \"nightly\"\ninstance = \"primary\"\nkind = \"dump\"\nto = \"/b\"\nkeep = 3\n",
        std::path::Path::new("test.toml"),
    )
    .unwrap();
    let mut state = State::new(&config, false, clock(0));
    update(&mut state, Action::PaneJobs);
    let rows = vec![
        row(3, JobState::Running, None),
        row(2, JobState::Succeeded, Some(true)),
        row(1, JobState::Cancelled, None),
    ];
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Jobs(JobsEvent::Rows(rows)))),
    );
    state
}

fn screen(state: &State) -> String {
    let keymap = Keymap::builtin("default").unwrap().unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| ui::draw(f, state, &Theme::fallback(), &keymap))
        .unwrap();
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            let line: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(state: &mut State, c: char) -> Vec<Effect> {
    let keymap = Keymap::builtin("default").unwrap().unwrap();
    let ev = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let action = keymap
        .action_for_pane(Pane::Jobs, &state.mode, &ev)
        .unwrap_or_else(|| panic!("`{c}` is not bound on the Jobs pane"));
    update(state, action)
}

#[test]
fn jobs_pane_80x24_running_job_and_history() {
    let state = state();
    let text = screen(&state);
    assert!(!text.contains("not built yet"), "{text}");
    assert!(text.contains("backup 3 of primary: dumping 35%"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn cancel_asks_then_sends_the_request_and_verify_needs_a_succeeded_backup() {
    let mut state = state();
    assert!(key(&mut state, 'c').is_empty());
    assert_eq!(state.mode, Mode::PaneInput);
    let text = screen(&state);
    assert!(text.contains("Cancel backup 3?"), "{text}");
    insta::assert_snapshot!(text);
    let effects = key(&mut state, 'y');
    assert_eq!(
        effects,
        [Effect::SendBackend(BackendCommand::Jobs(
            JobsRequest::Cancel(3)
        ))]
    );
    assert_eq!(state.mode, Mode::Normal);
    // Verify on the running one is refused; on the succeeded one it is sent.
    assert!(key(&mut state, 'v').is_empty());
    key(&mut state, 'j');
    assert_eq!(
        key(&mut state, 'v'),
        [Effect::SendBackend(BackendCommand::Jobs(
            JobsRequest::Verify(2)
        ))]
    );
    assert_eq!(
        key(&mut state, 's'),
        [Effect::SendBackend(BackendCommand::Jobs(
            JobsRequest::Start("nightly".into())
        ))]
    );
}
