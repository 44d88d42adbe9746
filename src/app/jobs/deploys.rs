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
use crate::readonly::{refusal, ReadOnlyBy, WriteAction};

/// The form's fields, in order.
pub const FORM_LABELS: [&str; 5] = [
    "name",
    "port",
    "datadir",
    "replica of (optional)",
    "seed: logical|physical",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormState {
    pub fields: [String; 5],
    /// Index into `fields` of the one being typed.
    pub focus: usize,
}

impl FormState {
    /// The form as a request, or what is wrong with it.
    pub fn parse(&self) -> Result<InstanceForm, String> {
        let [name, port, datadir, replica_of, seed] =
            self.fields.clone().map(|f| f.trim().to_string());
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
        let physical = match (seed.as_str(), replica_of.is_empty()) {
            ("" | "logical", _) => false,
            ("physical", false) => true,
            ("physical", true) => return Err("seed: physical needs a replica of".into()),
            (other, _) => return Err(format!("seed: `{other}` is neither logical nor physical")),
        };
        Ok(InstanceForm {
            physical_seed: physical,
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
    /// The selected deploy in full: positions, each statement's result.
    Detail,
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
    pub fn open_form(&mut self, read_only: ReadOnlyBy) -> Result<Step, String> {
        if read_only.any() {
            return Err(refusal(WriteAction::DeployInstance, read_only));
        }
        self.stage = DeploysStage::Form(FormState::default());
        Ok(Step::Handled)
    }

    /// Why the selected deploy cannot be undone, if it cannot (the CLI checks again).
    fn undo_target(&self, read_only: ReadOnlyBy) -> Result<(i64, String), String> {
        if read_only.any() {
            return Err(refusal(WriteAction::DeployUndo, read_only));
        }
        let d = self.selected().ok_or("no deploy selected")?;
        match d.status.as_str() {
            "undone" => Err(format!("deploy {} is already undone", d.id)),
            "running" => Err(format!("deploy {} is still running", d.id)),
            _ if d.statements.iter().all(|s| s.status != "applied") => {
                Err(format!("deploy {} applied nothing: nothing to undo", d.id))
            }
            _ => match crate::deploy::in_doubt::blocks_undo(d) {
                Some(why) => Err(why),
                None => Ok((d.id, d.instance.clone())),
            },
        }
    }

    /// A key; `Err` is a refusal to show on the prompt line.
    pub fn on_key(&mut self, action: &Action, read_only: ReadOnlyBy) -> Result<Step, String> {
        if let Some(text) = self.text_field() {
            if edit(text, action) {
                return Ok(Step::Handled);
            }
        }
        let last = self.records.len().saturating_sub(1);
        let has_selection = self.selected().is_some();
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
            (DeploysStage::Browse, Action::Confirm) if has_selection => {
                self.stage = DeploysStage::Detail;
            }
            (DeploysStage::Detail, Action::Cancel | Action::Confirm) => {
                self.stage = DeploysStage::Browse;
            }
            (DeploysStage::Browse | DeploysStage::Detail, Action::DeployUndo) => {
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
                    read_only: read_only.any(),
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
                    read_only: read_only.any(),
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
                    if let Err(refusal) = view.open_form(ctx.read_only_by) {
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
        let out = match view.on_key(action, ctx.read_only_by) {
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
mod tests;
