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

/// A mariabackup run again after its redo copy stalled: the progress line names the attempt.
#[test]
fn a_backup_run_again_names_its_attempt() {
    let mut state = state();
    let mut running = row(3, JobState::Running, None);
    running.record.kind = BackupKind::Mariabackup;
    if let Some(p) = running.progress.as_mut() {
        (p.attempt, p.attempts) = (2, 3);
    }
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Jobs(JobsEvent::Rows(vec![running])))),
    );
    let text = screen(&state);
    assert!(
        text.contains("│attempt 2 of 3: dumping  35% 300.0 MiB"),
        "{text}"
    );
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

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        update(state, Action::InputChar(c));
    }
}

/// `d` opens the deploy flow over the history: the file, its review, the typed instance name,
/// then each statement as the backend reports it.
#[test]
fn jobs_deploy_flow_80x24_review_then_progress() {
    use arkc::backend::deploy::task::{DeployEvent, DeployRequest};
    let mut state = state();
    assert!(key(&mut state, 'd').is_empty());
    assert_eq!(state.mode, Mode::PaneInput);
    type_text(&mut state, "/srv/change.sql");
    let effects = update(&mut state, Action::Confirm);
    assert_eq!(
        effects,
        [Effect::SendBackend(BackendCommand::Deploy(
            DeployRequest::Review {
                instance: "primary".into(),
                file: "/srv/change.sql".into(),
            }
        ))]
    );
    let sql = "ALTER TABLE shop.orders ADD COLUMN note TEXT;\nUPDATE shop.orders SET status = 'x' WHERE id = 1;\n";
    let review = arkc::deploy::review::review(sql, &Default::default());
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Deploy(DeployEvent::Reviewed {
            file: "/srv/change.sql".into(),
            statements: 2,
            findings: review.findings,
        }))),
    );
    let text = screen(&state);
    assert!(text.contains("Deploy to primary"), "{text}");
    assert!(
        text.contains("/srv/change.sql: 2 statement(s), 0 error(s)"),
        "{text}"
    );
    assert!(text.contains("enter: apply"), "{text}");
    insta::assert_snapshot!("deploy_reviewed", text);

    assert!(update(&mut state, Action::Confirm).is_empty());
    type_text(&mut state, "primar");
    assert!(update(&mut state, Action::Confirm).is_empty());
    let text = screen(&state);
    assert!(text.contains("type `primary` exactly"), "{text}");
    type_text(&mut state, "y");
    let effects = update(&mut state, Action::Confirm);
    assert_eq!(
        effects,
        [Effect::SendBackend(BackendCommand::Deploy(
            DeployRequest::Apply {
                instance: "primary".into(),
                file: "/srv/change.sql".into(),
                read_only: false,
            }
        ))]
    );
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Deploy(DeployEvent::Progress {
            done: 1,
            total: 2,
            index: 1,
            line: 1,
            affected_rows: 0,
            error: None,
        }))),
    );
    // Esc does not stop an apply half way.
    update(&mut state, Action::Cancel);
    let text = screen(&state);
    assert!(
        text.contains("1/2 statements") && text.contains("statement 1 (line 1): 0 row(s)"),
        "{text}"
    );
    assert!(text.contains("cannot be stopped half way"), "{text}");
    insta::assert_snapshot!("deploy_applying", text);

    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Deploy(DeployEvent::Finished {
            deploy_id: 4,
            ok: true,
            message: "applied 2 statement(s)".into(),
        }))),
    );
    assert!(screen(&state).contains("deploy 4: applied 2 statement(s)"));
    update(&mut state, Action::Cancel);
    assert_eq!(state.mode, Mode::Normal);
    assert!(screen(&state).contains("backup 3 of primary"));
}

#[test]
fn jobs_deploy_esc_before_apply_sends_nothing() {
    let mut state = state();
    key(&mut state, 'd');
    type_text(&mut state, "c.sql");
    assert!(update(&mut state, Action::Cancel).is_empty());
    assert_eq!(state.mode, Mode::Normal);
    let text = screen(&state);
    assert!(text.contains("nothing was applied"), "{text}");
    assert!(!text.contains("Deploy to"), "{text}");
}

#[test]
fn jobs_deploy_refused_in_read_only_mode_before_asking() {
    let config = Config::parse(
        "[[instance]]\nname = \"primary\"\nhost = \"10.0.3.7\"\n",
        std::path::Path::new("test.toml"),
    )
    .unwrap();
    let mut state = State::new(&config, true, clock(0));
    update(&mut state, Action::PaneJobs);
    // Nothing is sent; only the refusal's log entry goes out.
    let effects = key(&mut state, 'd');
    assert!(
        matches!(effects.as_slice(), [arkc::app::Effect::LogRefusal(..)]),
        "{effects:?}"
    );
    assert_eq!(state.mode, Mode::Normal);
    let text = screen(&state);
    assert!(text.contains("refused: arkc is read-only"), "{text}");
    assert!(!text.contains("SQL change file"), "{text}");
}

#[test]
fn jobs_help_lists_the_deploy_key() {
    let mut state = state();
    update(&mut state, Action::Help);
    let text = screen(&state);
    assert!(
        text.contains("d                jobs: deploy SQL file"),
        "{text}"
    );
}
