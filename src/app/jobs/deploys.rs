//! The Jobs pane's deploy history view (`D`), as state and keys (no I/O): the deploys newest
//! first; `u` undoes the selected one and `i` deploys a new instance from a small form, each
//! after typing the instance name; the job's output lines are shown as it runs, then its result.
//! Both jobs go to the backend as `DeployRequest::Job` (run through the CLI twin).

use std::path::PathBuf;

use crate::app::pane::PaneCtx;
use crate::app::{Action, Effect, Mode};
use crate::backend::deploy::child::{ChildJob, InstanceForm};
use crate::backend::deploy::task::{DeployEvent, DeployRequest};
use crate::backend::BackendCommand;
use crate::deploy::history::DeployRecord;

/// The form's fields, in order.
pub const FORM_LABELS: [&str; 4] = ["name", "port", "datadir", "replica of (optional)"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormState {
    pub fields: [String; 4],
    /// Index into `fields` of the one being typed.
    pub focus: usize,
}

impl FormState {
    /// The form as a request, or what is wrong with it.
    pub fn parse(&self) -> Result<InstanceForm, String> {
        let [name, port, datadir, replica_of] = self.fields.clone().map(|f| f.trim().to_string());
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err("name: one word, not empty".into());
        }
        let port: u16 = match port.parse() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("port: `{port}` is not a TCP port (1 to 65535)")),
        };
        if datadir.is_empty() {
            return Err("datadir: give a new directory for the server".into());
        }
        Ok(InstanceForm {
            name,
            port,
            datadir: PathBuf::from(datadir),
            replica_of: (!replica_of.is_empty()).then_some(replica_of),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeploysStage {
    Browse,
    /// Typing the instance name to undo deploy `id`.
    ConfirmUndo {
        id: i64,
        instance: String,
        typed: String,
    },
    Form(FormState),
    /// Typing the new instance's name to deploy it.
    ConfirmInstance {
        form: InstanceForm,
        typed: String,
    },
    Running {
        title: String,
        /// The job's output, oldest first.
        lines: Vec<String>,
    },
    Finished {
        title: String,
        ok: bool,
        message: String,
        lines: Vec<String>,
    },
}

/// What a key asks of the pane around the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The key means nothing here: the global keys may have it.
    Ignored,
    Handled,
    Send(DeployRequest),
    Close,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeploysView {
    /// Newest first.
    pub records: Vec<DeployRecord>,
    pub selected: usize,
    /// Until the first history arrives.
    pub loading: bool,
    pub error: Option<String>,
    pub stage: DeploysStage,
    /// The last refusal, shown on the prompt line until the next key.
    pub note: Option<String>,
}

impl Default for DeploysView {
    fn default() -> Self {
        DeploysView {
            records: Vec::new(),
            selected: 0,
            loading: true,
            error: None,
            stage: DeploysStage::Browse,
            note: None,
        }
    }
}

fn edit(text: &mut String, action: &Action) -> bool {
    match action {
        Action::InputChar(c) => text.push(*c),
        Action::InputBackspace => {
            text.pop();
        }
        _ => return false,
    }
    true
}

impl DeploysView {
    pub fn selected(&self) -> Option<&DeployRecord> {
        self.records.get(self.selected)
    }

    /// Whether typed characters belong to the view (the pane puts the keyboard in text mode).
    pub fn wants_text(&self) -> bool {
        matches!(
            self.stage,
            DeploysStage::ConfirmUndo { .. }
                | DeploysStage::Form(_)
                | DeploysStage::ConfirmInstance { .. }
        )
    }

    /// The text being typed, if the stage has one.
    fn text_field(&mut self) -> Option<&mut String> {
        match &mut self.stage {
            DeploysStage::ConfirmUndo { typed, .. }
            | DeploysStage::ConfirmInstance { typed, .. } => Some(typed),
            DeploysStage::Form(form) => form.fields.get_mut(form.focus),
            _ => None,
        }
    }

    /// Open the instance form; refused in read-only mode.
    pub fn open_form(&mut self, read_only: bool) -> Result<Step, String> {
        if read_only {
            return Err("refused: read-only mode (:readonly off to deploy an instance)".into());
        }
        self.stage = DeploysStage::Form(FormState::default());
        Ok(Step::Handled)
    }

    /// Why the selected deploy cannot be undone, if it cannot (the CLI checks again).
    fn undo_target(&self, read_only: bool) -> Result<(i64, String), String> {
        if read_only {
            return Err("refused: read-only mode (:readonly off to undo)".into());
        }
        let d = self.selected().ok_or("no deploy selected")?;
        match d.status.as_str() {
            "undone" => Err(format!("deploy {} is already undone", d.id)),
            "running" => Err(format!("deploy {} is still running", d.id)),
            _ if d.statements.iter().all(|s| s.status != "applied") => {
                Err(format!("deploy {} applied nothing: nothing to undo", d.id))
            }
            _ => Ok((d.id, d.instance.clone())),
        }
    }

    /// A key; `Err` is a refusal to show on the prompt line.
    pub fn on_key(&mut self, action: &Action, read_only: bool) -> Result<Step, String> {
        if let Some(text) = self.text_field() {
            if edit(text, action) {
                return Ok(Step::Handled);
            }
        }
        let last = self.records.len().saturating_sub(1);
        match (&mut self.stage, action) {
            (DeploysStage::Browse, Action::Down) => self.selected = (self.selected + 1).min(last),
            (DeploysStage::Browse, Action::Up) => self.selected = self.selected.saturating_sub(1),
            (DeploysStage::Browse, Action::Top) => self.selected = 0,
            (DeploysStage::Browse, Action::Bottom) => self.selected = last,
            (DeploysStage::Browse, Action::Refresh) => {
                return Ok(Step::Send(DeployRequest::History))
            }
            (DeploysStage::Browse, Action::Cancel) => return Ok(Step::Close),
            (DeploysStage::Browse, Action::DeployInstance) => return self.open_form(read_only),
            (DeploysStage::Browse, Action::DeployUndo) => {
                let (id, instance) = self.undo_target(read_only)?;
                self.stage = DeploysStage::ConfirmUndo {
                    id,
                    instance,
                    typed: String::new(),
                };
            }
            (
                DeploysStage::ConfirmUndo {
                    id,
                    instance,
                    typed,
                },
                Action::Confirm,
            ) => {
                if typed != instance {
                    return Err(format!("type `{instance}` exactly to undo"));
                }
                let id = *id;
                self.stage = DeploysStage::Running {
                    title: format!("undo of deploy {id} on {instance}"),
                    lines: Vec::new(),
                };
                return Ok(Step::Send(DeployRequest::Job {
                    job: ChildJob::Undo { id },
                    read_only,
                }));
            }
            (DeploysStage::Form(form), Action::NextPane | Action::Down) => {
                form.focus = (form.focus + 1) % FORM_LABELS.len()
            }
            (DeploysStage::Form(form), Action::PrevPane | Action::Up) => {
                form.focus = (form.focus + FORM_LABELS.len() - 1) % FORM_LABELS.len()
            }
            (DeploysStage::Form(form), Action::Confirm) if form.focus + 1 < FORM_LABELS.len() => {
                form.focus += 1
            }
            (DeploysStage::Form(form), Action::Confirm) => {
                let parsed = form.parse()?;
                self.stage = DeploysStage::ConfirmInstance {
                    form: parsed,
                    typed: String::new(),
                };
            }
            (DeploysStage::ConfirmInstance { form, typed }, Action::Confirm) => {
                if *typed != form.name {
                    return Err(format!("type `{}` exactly to deploy it", form.name));
                }
                let form = form.clone();
                self.stage = DeploysStage::Running {
                    title: format!("deploy instance {} on port {}", form.name, form.port),
                    lines: Vec::new(),
                };
                return Ok(Step::Send(DeployRequest::Job {
                    job: ChildJob::Instance(form),
                    read_only,
                }));
            }
            (
                DeploysStage::ConfirmUndo { .. }
                | DeploysStage::Form(_)
                | DeploysStage::ConfirmInstance { .. },
                Action::Cancel,
            )
            | (DeploysStage::Finished { .. }, Action::Cancel | Action::Confirm) => {
                self.stage = DeploysStage::Browse;
            }
            (DeploysStage::Running { .. }, Action::Cancel) => {
                return Err("running: it is not stopped half way; its result will show here".into())
            }
            (DeploysStage::ConfirmUndo { .. } | DeploysStage::Form(_), _)
            | (DeploysStage::ConfirmInstance { .. }, _) => {}
            _ => return Ok(Step::Ignored),
        }
        Ok(Step::Handled)
    }

    /// Whether `event` is one this view takes (the SQL deploy flow takes the others).
    pub fn takes(event: &DeployEvent) -> bool {
        matches!(
            event,
            DeployEvent::History { .. } | DeployEvent::Output(_) | DeployEvent::JobEnded { .. }
        )
    }

    pub fn on_event(&mut self, event: DeployEvent) {
        match (&mut self.stage, event) {
            (_, DeployEvent::History { records, error }) => {
                let keep = self.selected().map(|d| d.id);
                self.records = records;
                self.error = error;
                self.loading = false;
                self.selected = keep
                    .and_then(|id| self.records.iter().position(|d| d.id == id))
                    .unwrap_or(0);
            }
            (DeploysStage::Running { lines, .. }, DeployEvent::Output(line)) => lines.push(line),
            (DeploysStage::Running { title, lines }, DeployEvent::JobEnded { ok, message }) => {
                self.stage = DeploysStage::Finished {
                    title: std::mem::take(title),
                    ok,
                    message,
                    lines: std::mem::take(lines),
                };
            }
            _ => {}
        }
    }
}

impl super::JobsPane {
    /// A key for the deploy history view: `Some` when the view is open or the key opens it
    /// (holding what `on_action` returns: `None` leaves the key to the global keys), `None`
    /// when the view has nothing to do with it.
    pub(super) fn deploys_action(
        &mut self,
        ctx: &mut PaneCtx,
        action: &Action,
    ) -> Option<Option<Vec<Effect>>> {
        let send = |r: DeployRequest| vec![Effect::SendBackend(BackendCommand::Deploy(r))];
        let view = match (self.deploys.as_mut(), action) {
            (Some(v), _) => v,
            (None, Action::DeployHistory | Action::DeployInstance) => {
                let mut view = DeploysView::default();
                if *action == Action::DeployInstance {
                    if let Err(refusal) = view.open_form(ctx.read_only) {
                        ctx.error(refusal);
                        return Some(Some(Vec::new()));
                    }
                    *ctx.mode = Mode::PaneInput;
                }
                self.deploys = Some(view);
                return Some(Some(send(DeployRequest::History)));
            }
            (None, _) => return None,
        };
        view.note = None;
        let out = match view.on_key(action, ctx.read_only) {
            Ok(Step::Ignored) => None,
            Ok(Step::Handled) => Some(Vec::new()),
            Ok(Step::Send(request)) => Some(send(request)),
            Ok(Step::Close) => {
                self.deploys = None;
                *ctx.mode = Mode::Normal;
                return Some(Some(Vec::new()));
            }
            // Typing stages show it on their prompt line, the others in the status bar.
            Err(refusal) if view.wants_text() => {
                view.note = Some(refusal);
                Some(Vec::new())
            }
            Err(refusal) => {
                ctx.error(refusal);
                Some(Vec::new())
            }
        };
        *ctx.mode = if view.wants_text() {
            Mode::PaneInput
        } else {
            Mode::Normal
        };
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::history::StatementResult;

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
            v.on_key(&Action::InputChar(c), false).unwrap();
        }
    }

    #[test]
    fn undo_asks_for_the_instance_name_then_runs_and_shows_the_result() {
        let mut v = view(vec![record(9, "applied", true), record(8, "undone", true)]);
        assert_eq!(v.on_key(&Action::DeployUndo, false), Ok(Step::Handled));
        assert!(v.wants_text());
        typed(&mut v, "prim");
        assert!(v
            .on_key(&Action::Confirm, false)
            .unwrap_err()
            .contains("type `primary`"));
        typed(&mut v, "ary");
        assert_eq!(
            v.on_key(&Action::Confirm, false),
            Ok(Step::Send(DeployRequest::Job {
                job: ChildJob::Undo { id: 9 },
                read_only: false
            }))
        );
        assert_eq!(
            v.on_key(&Action::Cancel, false),
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
        assert_eq!(v.on_key(&Action::Confirm, false), Ok(Step::Handled));
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
            .on_key(&Action::DeployUndo, false)
            .unwrap_err()
            .contains("already undone"));
        v.on_key(&Action::Down, false).unwrap();
        assert!(v
            .on_key(&Action::DeployUndo, false)
            .unwrap_err()
            .contains("applied nothing"));
        v.on_key(&Action::Bottom, false).unwrap();
        assert!(v
            .on_key(&Action::DeployUndo, true)
            .unwrap_err()
            .contains("read-only"));
        assert_eq!(v.stage, DeploysStage::Browse);
    }

    #[test]
    fn the_instance_form_checks_its_fields_and_asks_for_the_name() {
        let mut v = view(Vec::new());
        assert!(v
            .on_key(&Action::DeployInstance, true)
            .unwrap_err()
            .contains("read-only"));
        v.on_key(&Action::DeployInstance, false).unwrap();
        typed(&mut v, "rep");
        v.on_key(&Action::Confirm, false).unwrap();
        typed(&mut v, "99999");
        v.on_key(&Action::NextPane, false).unwrap();
        typed(&mut v, "/srv/rep");
        v.on_key(&Action::Confirm, false).unwrap();
        typed(&mut v, "primary");
        assert!(v
            .on_key(&Action::Confirm, false)
            .unwrap_err()
            .contains("port: `99999`"));
        if let DeploysStage::Form(f) = &mut v.stage {
            f.fields[1] = "3407".into();
        }
        v.on_key(&Action::Confirm, false).unwrap();
        typed(&mut v, "rep");
        let step = v.on_key(&Action::Confirm, false).unwrap();
        assert_eq!(
            step,
            Step::Send(DeployRequest::Job {
                job: ChildJob::Instance(InstanceForm {
                    name: "rep".into(),
                    port: 3407,
                    datadir: "/srv/rep".into(),
                    replica_of: Some("primary".into()),
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
}
