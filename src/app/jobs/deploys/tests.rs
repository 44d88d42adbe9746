use super::*;
use crate::deploy::history::StatementResult;

const RW: ReadOnlyBy = ReadOnlyBy {
    flag: false,
    config: false,
    palette: false,
};
const RO: ReadOnlyBy = ReadOnlyBy {
    flag: false,
    config: false,
    palette: true,
};

fn record(id: i64, status: &str, applied: bool) -> DeployRecord {
    DeployRecord {
        id,
        started_at: "2026-12-01T10:00:00Z".into(),
        finished_at: None,
        instance: "primary".into(),
        os_user: "me".into(),
        file: "/tmp/c.sql".into(),
        file_sha256: String::new(),
        status: status.into(),
        connection_id: 1,
        before: None,
        after: None,
        message: String::new(),
        statements: vec![StatementResult {
            index: 1,
            line: 1,
            sql: "UPDATE t SET a = 1 WHERE id = 1".into(),
            status: if applied { "applied" } else { "failed" }.into(),
            affected_rows: 1,
            error: None,
            elapsed_ms: 1,
            gtid: None,
            settled: None,
        }],
    }
}

fn view(records: Vec<DeployRecord>) -> DeploysView {
    let mut v = DeploysView::default();
    v.on_event(DeployEvent::History {
        records,
        error: None,
    });
    v
}

fn typed(v: &mut DeploysView, text: &str) {
    for c in text.chars() {
        v.on_key(&Action::InputChar(c), RW).unwrap();
    }
}

#[test]
fn undo_asks_for_the_instance_name_then_runs_and_shows_the_result() {
    let mut v = view(vec![record(9, "applied", true), record(8, "undone", true)]);
    assert_eq!(v.on_key(&Action::DeployUndo, RW), Ok(Step::Handled));
    assert!(v.wants_text());
    typed(&mut v, "prim");
    assert!(v
        .on_key(&Action::Confirm, RW)
        .unwrap_err()
        .contains("type `primary`"));
    typed(&mut v, "ary");
    assert_eq!(
        v.on_key(&Action::Confirm, RW),
        Ok(Step::Send(DeployRequest::Job {
            job: ChildJob::Undo { id: 9 },
            read_only: false
        }))
    );
    assert_eq!(
        v.on_key(&Action::Cancel, RW),
        Err("running: it is not stopped half way; its result will show here".into())
    );
    v.on_event(DeployEvent::Output("1 row(s) checked".into()));
    v.on_event(DeployEvent::JobEnded {
        ok: true,
        message: "deploy 9 undone".into(),
    });
    match &v.stage {
        DeploysStage::Finished {
            ok, message, lines, ..
        } => assert_eq!(
            (*ok, message.as_str(), lines.len()),
            (true, "deploy 9 undone", 1)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(v.on_key(&Action::Confirm, RW), Ok(Step::Handled));
    assert_eq!(v.stage, DeploysStage::Browse);
}

#[test]
fn undo_is_refused_in_read_only_and_for_undone_or_empty_deploys() {
    let mut v = view(vec![
        record(3, "undone", true),
        record(2, "failed", false),
        record(1, "applied", true),
    ]);
    assert!(v
        .on_key(&Action::DeployUndo, RW)
        .unwrap_err()
        .contains("already undone"));
    v.on_key(&Action::Down, RW).unwrap();
    assert!(v
        .on_key(&Action::DeployUndo, RW)
        .unwrap_err()
        .contains("applied nothing"));
    v.on_key(&Action::Bottom, RW).unwrap();
    assert!(v
        .on_key(&Action::DeployUndo, RO)
        .unwrap_err()
        .starts_with("deploy undo refused: arkc is read-only (:readonly on)"));
    assert_eq!(v.stage, DeploysStage::Browse);
}

/// A deploy whose second statement was in doubt: (status, settled sentence) of that one.
fn with_doubt(id: i64, status: &str, settled: &str) -> DeployRecord {
    let mut d = record(id, "failed", true);
    let mut second = d.statements[0].clone();
    second.index = 2;
    second.status = status.into();
    second.settled = Some(settled.into());
    d.statements.push(second);
    d
}

#[test]
fn undo_waits_for_a_statement_in_doubt_and_refuses_one_settled_applied() {
    let mut v = view(vec![
        with_doubt(3, "in doubt", "statement 2 stays IN DOUBT"),
        with_doubt(2, "applied", "settled: statement 2 WAS applied"),
        with_doubt(1, "not applied", "settled: statement 2 was NOT applied"),
    ]);
    let refused = v.on_key(&Action::DeployUndo, RW).unwrap_err();
    assert!(
        refused.contains("settle it first with `arkc deploy settle 3`"),
        "{refused}"
    );
    v.on_key(&Action::Down, RW).unwrap();
    let refused = v.on_key(&Action::DeployUndo, RW).unwrap_err();
    assert!(
        refused.contains("deploy 2 cannot be undone: statement 2 ran"),
        "{refused}"
    );
    v.on_key(&Action::Down, RW).unwrap();
    assert_eq!(v.on_key(&Action::DeployUndo, RW), Ok(Step::Handled));
}

#[test]
fn the_instance_form_checks_its_fields_and_asks_for_the_name() {
    let mut v = view(Vec::new());
    assert!(v
        .on_key(&Action::DeployInstance, RO)
        .unwrap_err()
        .starts_with("deploy instance refused: arkc is read-only (:readonly on)"));
    v.on_key(&Action::DeployInstance, RW).unwrap();
    typed(&mut v, "rep");
    v.on_key(&Action::Confirm, RW).unwrap();
    typed(&mut v, "99999");
    v.on_key(&Action::NextPane, RW).unwrap();
    typed(&mut v, "/srv/rep");
    v.on_key(&Action::Confirm, RW).unwrap();
    typed(&mut v, "primary");
    v.on_key(&Action::Confirm, RW).unwrap();
    typed(&mut v, "fast");
    assert!(v
        .on_key(&Action::Confirm, RW)
        .unwrap_err()
        .contains("port: `99999`"));
    if let DeploysStage::Form(f) = &mut v.stage {
        f.fields[1] = "3407".into();
    }
    assert!(v
        .on_key(&Action::Confirm, RW)
        .unwrap_err()
        .contains("seed: `fast` is neither"));
    if let DeploysStage::Form(f) = &mut v.stage {
        f.fields[4].clear();
    }
    v.on_key(&Action::Confirm, RW).unwrap();
    typed(&mut v, "rep");
    let step = v.on_key(&Action::Confirm, RW).unwrap();
    assert_eq!(
        step,
        Step::Send(DeployRequest::Job {
            job: ChildJob::Instance(InstanceForm {
                name: "rep".into(),
                port: 3407,
                datadir: "/srv/rep".into(),
                replica_of: Some("primary".into()),
                physical_seed: false,
            }),
            read_only: false,
        })
    );
    v.on_event(DeployEvent::Output("[1] install the datadir".into()));
    v.on_event(DeployEvent::JobEnded {
        ok: false,
        message: "error: step `start the server`: port 3407 was taken meanwhile".into(),
    });
    assert!(
        matches!(&v.stage, DeploysStage::Finished { ok: false, lines, .. } if lines.len() == 1)
    );
}

/// Through `update()`: the keys reach the view, its modes and its requests.
#[test]
fn the_pane_opens_the_view_routes_its_keys_and_events() {
    use crate::app::{update, Pane, State};
    use crate::backend::BackendEvent;
    let mut config = crate::config::Config::default();
    config.instances.push(crate::config::InstanceConfig::tcp(
        "primary",
        "127.0.0.1",
        3306,
    ));
    let mut state = State::new(&config, false, chrono::Utc::now());
    update(&mut state, Action::PaneJobs);
    assert_eq!(state.pane, Pane::Jobs);
    let sent = update(&mut state, Action::DeployHistory);
    assert_eq!(
        sent,
        vec![Effect::SendBackend(BackendCommand::Deploy(
            DeployRequest::History
        ))]
    );
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Deploy(DeployEvent::History {
            records: vec![record(5, "applied", true)],
            error: None,
        }))),
    );
    assert_eq!(
        state.jobs.deploys.as_ref().map(|v| v.records.len()),
        Some(1)
    );
    update(&mut state, Action::DeployUndo);
    assert_eq!(state.mode, Mode::PaneInput);
    for c in "primary".chars() {
        update(&mut state, Action::InputChar(c));
    }
    let sent = update(&mut state, Action::Confirm);
    assert_eq!(
        sent,
        vec![Effect::SendBackend(BackendCommand::Deploy(
            DeployRequest::Job {
                job: ChildJob::Undo { id: 5 },
                read_only: false
            }
        ))]
    );
    assert_eq!(
        state.mode,
        Mode::Normal,
        "other panes stay usable while it runs"
    );
    update(&mut state, Action::Cancel);
    assert!(state
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("not stopped")));
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Deploy(DeployEvent::JobEnded {
            ok: true,
            message: "deploy 5 undone".into(),
        }))),
    );
    update(&mut state, Action::Confirm);
    update(&mut state, Action::Cancel);
    assert!(state.jobs.deploys.is_none());
    state.read_only = true;
    update(&mut state, Action::DeployInstance);
    assert!(state.jobs.deploys.is_none());
    assert!(state
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("read-only")));
}
