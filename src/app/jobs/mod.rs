//! The Jobs pane's state and keys (a component): the backup history with live progress, the
//! configured jobs to start, and the cancel confirmation. No I/O: keys produce `JobsRequest`s for
//! the backend, and the backend hands back `JobRow`s read from the history.

pub mod deploy;
pub mod deploys;

use super::pane::{PaneCtx, PaneLogic};
use super::{Action, Effect, Mode};
use crate::backend::{BackendCommand, BackendEvent};

pub use crate::backend::jobs::JobsEvent;
use crate::jobs::JobState;
pub use crate::jobs::{JobRow, JobsRequest};

#[derive(Debug, Clone, Default)]
pub struct JobsPane {
    pub rows: Vec<JobRow>,
    /// Names of the configured `[[backup]]` jobs.
    pub jobs: Vec<String>,
    /// Index into `rows`.
    pub selected: usize,
    /// Index into `jobs`: the one `s` starts.
    pub job_choice: usize,
    /// A cancel waiting for `y`.
    pub confirm_cancel: Option<i64>,
    /// The last outcome or refusal, shown on the bottom line.
    pub status: Option<String>,
    /// The deploy flow (`d`), drawn over the history while open; it has the keyboard.
    pub deploy: Option<deploy::DeployFlow>,
    /// The deploy flow's last refusal, shown on its prompt line until the next key.
    pub deploy_note: Option<String>,
    /// The deploy history view (`D`, or `i` for a new instance), drawn over the backups.
    pub deploys: Option<deploys::DeploysView>,
}

impl JobsPane {
    pub fn new(jobs: Vec<String>) -> JobsPane {
        JobsPane {
            jobs,
            ..JobsPane::default()
        }
    }

    /// Replace the rows, keeping the same backup selected.
    pub fn set_rows(&mut self, rows: Vec<JobRow>) {
        let keep = self.selected().map(|r| r.record.id);
        self.rows = rows;
        self.selected = keep
            .and_then(|id| self.rows.iter().position(|r| r.record.id == id))
            .unwrap_or(0)
            .min(self.rows.len().saturating_sub(1));
    }

    /// Take in what the jobs backend reports.
    pub fn on_event(&mut self, event: JobsEvent) {
        match event {
            JobsEvent::Rows(rows) => self.set_rows(rows),
            JobsEvent::Done(text) => self.status = Some(text),
        }
    }

    pub fn selected(&self) -> Option<&JobRow> {
        self.rows.get(self.selected)
    }

    /// The running job whose progress bar is shown: the selected one if it runs, else the newest
    /// running one.
    pub fn focus_running(&self) -> Option<&JobRow> {
        self.selected()
            .filter(|r| r.record.state == JobState::Running)
            .or_else(|| {
                self.rows
                    .iter()
                    .find(|r| r.record.state == JobState::Running)
            })
    }

    /// Handle an action; returns whether it was consumed and what to ask the backend for.
    /// While a cancel waits for its answer, only `y` (as `InputChar`) confirms it.
    pub fn handle(&mut self, action: &Action) -> (bool, Option<JobsRequest>) {
        if let Some(id) = self.confirm_cancel.take() {
            return match action {
                Action::InputChar('y') | Action::InputChar('Y') => {
                    self.status = Some(format!("cancelling backup {id}..."));
                    (true, Some(JobsRequest::Cancel(id)))
                }
                _ => {
                    self.status = Some(format!("backup {id} left running"));
                    (true, None)
                }
            };
        }
        match action {
            Action::Down => {
                if self.selected + 1 < self.rows.len() {
                    self.selected += 1;
                }
                (true, None)
            }
            Action::Up => {
                self.selected = self.selected.saturating_sub(1);
                (true, None)
            }
            Action::Top => {
                self.selected = 0;
                (true, None)
            }
            Action::Bottom => {
                self.selected = self.rows.len().saturating_sub(1);
                (true, None)
            }
            Action::JobNext => {
                if !self.jobs.is_empty() {
                    self.job_choice = (self.job_choice + 1) % self.jobs.len();
                }
                (true, None)
            }
            Action::JobStart => match self.jobs.get(self.job_choice) {
                Some(job) => {
                    self.status = Some(format!("starting job `{job}`..."));
                    (true, Some(JobsRequest::Start(job.clone())))
                }
                None => {
                    self.status = Some("no [[backup]] jobs in the config".into());
                    (true, None)
                }
            },
            Action::JobCancel => {
                match self.selected() {
                    Some(r) if r.record.state == JobState::Running => {
                        self.confirm_cancel = Some(r.record.id);
                    }
                    Some(r) => {
                        self.status = Some(format!(
                            "backup {} is {}; only a running one can be cancelled",
                            r.record.id,
                            r.record.state.as_str()
                        ))
                    }
                    None => {}
                }
                (true, None)
            }
            Action::JobVerify => match self.selected() {
                Some(r) if r.record.state == JobState::Succeeded => {
                    let id = r.record.id;
                    self.status = Some(format!("verifying backup {id} in a sandbox..."));
                    (true, Some(JobsRequest::Verify(id)))
                }
                Some(r) => {
                    self.status = Some(format!(
                        "backup {} is {}; only a succeeded one can be verified",
                        r.record.id,
                        r.record.state.as_str()
                    ));
                    (true, None)
                }
                None => (true, None),
            },
            _ => (false, None),
        }
    }

    /// `d`: open the deploy flow for the selected instance. Read-only refuses before anything
    /// is asked, so no file is reviewed for a deploy that could not happen.
    fn open_deploy(&mut self, ctx: &mut PaneCtx) {
        if ctx.refuse_write(crate::readonly::WriteAction::DeployApply) {
            return;
        }
        let Some(instance) = ctx.selected_instance().map(|i| i.name.clone()) else {
            ctx.error("no instance selected to deploy to");
            return;
        };
        self.deploy = Some(deploy::DeployFlow::new(&instance, ctx.read_only_by));
        *ctx.mode = Mode::PaneInput;
    }

    /// A key while the deploy flow is open. Esc closes it, except while statements are being
    /// applied (stopping half way would leave the change half done without its history).
    fn deploy_key(&mut self, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
        self.deploy_note = None;
        let Some(flow) = self.deploy.as_mut() else {
            *ctx.mode = Mode::Normal;
            return Vec::new();
        };
        match (&flow.stage, &action) {
            (deploy::DeployStage::Running { .. }, Action::Cancel) => {
                self.deploy_note = Some(
                    "applying: the deploy cannot be stopped half way; wait for it to finish".into(),
                );
                return Vec::new();
            }
            (deploy::DeployStage::Finished { .. }, Action::Cancel | Action::Confirm)
            | (_, Action::Cancel) => {
                let finished = matches!(flow.stage, deploy::DeployStage::Finished { .. });
                self.deploy = None;
                *ctx.mode = Mode::Normal;
                if !finished {
                    ctx.info("deploy cancelled; nothing was applied");
                }
                return Vec::new();
            }
            _ => {}
        }
        match flow.on_key(&action) {
            Ok(Some(request)) => vec![Effect::SendBackend(BackendCommand::Deploy(request))],
            Ok(None) => Vec::new(),
            Err(refusal) => {
                self.deploy_note = Some(refusal);
                Vec::new()
            }
        }
    }

    fn effects(request: Option<JobsRequest>) -> Vec<Effect> {
        request
            .map(|r| Effect::SendBackend(BackendCommand::Jobs(r)))
            .into_iter()
            .collect()
    }
}

impl PaneLogic for JobsPane {
    fn on_action(&mut self, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
        if let Some(effects) = self.deploys_action(ctx, action) {
            return effects;
        }
        if *action == Action::DeployStart {
            self.open_deploy(ctx);
            return Some(Vec::new());
        }
        let (consumed, request) = self.handle(action);
        if ctx.read_only && matches!(request, Some(JobsRequest::Start(_))) {
            // `update()`'s gate refuses the start and says why in the status bar.
            self.status = Some("not started: arkc is read-only".into());
        }
        if self.confirm_cancel.is_some() {
            // The answer comes as typed characters.
            *ctx.mode = Mode::PaneInput;
        }
        consumed.then(|| JobsPane::effects(request))
    }

    fn on_input(&mut self, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
        if self.deploys.is_some() {
            return self
                .deploys_action(ctx, &action)
                .flatten()
                .unwrap_or_default();
        }
        if self.deploy.is_some() {
            return self.deploy_key(ctx, action);
        }
        *ctx.mode = Mode::Normal;
        let (_, request) = self.handle(&action);
        JobsPane::effects(request)
    }

    fn on_backend(&mut self, _ctx: &mut PaneCtx, event: BackendEvent) -> Option<BackendEvent> {
        match event {
            BackendEvent::Jobs(e) => {
                self.on_event(e);
                None
            }
            BackendEvent::Deploy(e) if deploys::DeploysView::takes(&e) => {
                if let Some(view) = self.deploys.as_mut() {
                    view.on_event(e);
                }
                None
            }
            BackendEvent::Deploy(e) => {
                if let Some(flow) = self.deploy.as_mut() {
                    flow.on_event(e);
                }
                None
            }
            other => Some(other),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
