use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::config::BackupKind;
use crate::jobs::{BackupRecord, Phase, Progress, SnapshotPosition};

pub(crate) fn clock(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

pub(crate) fn row(id: i64, state: JobState, verified: Option<bool>) -> JobRow {
    let record = BackupRecord {
        id,
        job: "nightly".into(),
        instance: "db1".into(),
        kind: BackupKind::Dump,
        state,
        started_at: clock(-3600 * id),
        finished_at: (state != JobState::Running).then(|| clock(-3600 * id + 95)),
        bytes: (state == JobState::Succeeded).then_some(123_456_789),
        path: Some(PathBuf::from(format!("/b/db1-nightly-{id}.sql.zst"))),
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
        error: (state == JobState::Failed).then(|| "mariadb-dump exited with 2".into()),
        cancel_requested: false,
        deleted_at: None,
    };
    let progress = (state == JobState::Running).then(|| {
        let mut p = Progress::new(clock(-40), 300);
        p.phase = Phase::Dumping;
        p.bytes_done = 400 * 1024 * 1024;
        p.bytes_estimate = Some(1000 * 1024 * 1024);
        p.tables_done = 12;
        p.tables_total = 30;
        p.updated_at = clock(0);
        p.last_activity_at = clock(0);
        p
    });
    JobRow { record, progress }
}

pub(crate) fn sample() -> JobsPane {
    let mut pane = JobsPane::new(vec!["nightly".into(), "hourly-shop".into()]);
    pane.set_rows(vec![
        row(1, JobState::Running, None),
        row(2, JobState::Succeeded, Some(true)),
        row(3, JobState::Failed, None),
        row(4, JobState::Cancelled, None),
        row(5, JobState::Succeeded, None),
    ]);
    pane
}

fn press(pane: &mut JobsPane, action: Action) -> (bool, Option<JobsRequest>) {
    pane.handle(&action)
}

#[test]
fn cancel_needs_confirmation_and_only_for_running() {
    let mut pane = sample();
    assert_eq!(press(&mut pane, Action::JobCancel), (true, None));
    assert_eq!(pane.confirm_cancel, Some(1));
    assert_eq!(press(&mut pane, Action::InputChar('n')), (true, None));
    assert_eq!(pane.confirm_cancel, None);
    press(&mut pane, Action::JobCancel);
    assert_eq!(
        press(&mut pane, Action::InputChar('y')),
        (true, Some(JobsRequest::Cancel(1)))
    );
    press(&mut pane, Action::Down);
    assert_eq!(press(&mut pane, Action::JobCancel), (true, None));
    assert_eq!(pane.confirm_cancel, None);
    assert!(pane
        .status
        .as_deref()
        .unwrap()
        .contains("only a running one"));
}

#[test]
fn verify_start_and_selection_survive_refresh() {
    let mut pane = sample();
    press(&mut pane, Action::Down);
    assert_eq!(
        press(&mut pane, Action::JobVerify),
        (true, Some(JobsRequest::Verify(2)))
    );
    press(&mut pane, Action::JobNext);
    assert_eq!(
        press(&mut pane, Action::JobStart),
        (true, Some(JobsRequest::Start("hourly-shop".into())))
    );
    // A new backup appears at the top; backup 2 stays selected.
    let mut rows = pane.rows.clone();
    rows.insert(0, row(6, JobState::Running, None));
    pane.set_rows(rows);
    assert_eq!(pane.selected().unwrap().record.id, 2);
    assert_eq!(pane.focus_running().unwrap().record.id, 6);
    assert_eq!(press(&mut pane, Action::Refresh), (false, None));
}
