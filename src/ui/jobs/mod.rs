//! The Jobs pane's drawing half: the backup history, the running job's gauge, the configured
//! jobs and the cancel question (see `view` for the layout).

pub mod view;

pub mod deploy;
pub mod deploys;

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::app::jobs::deploy::DeployStage;
use crate::app::jobs::deploys::DeploysStage;
use crate::app::jobs::JobsPane;
use crate::app::{Action, State};
use crate::ui::pane::PaneView;
use crate::ui::theme::{Meaning, Theme};

const HINTS: &[(Action, &str)] = &[
    (Action::JobStart, "start"),
    (Action::JobNext, "next job"),
    (Action::JobCancel, "cancel"),
    (Action::JobVerify, "verify"),
    (Action::DeployStart, "deploy"),
    (Action::Help, "help"),
    (Action::NextPane, "next pane"),
    (Action::Quit, "quit"),
];

/// The deploy history view's keys.
const DEPLOYS_HINTS: &[(Action, &str)] = &[
    (Action::DeployUndo, "undo deploy"),
    (Action::DeployInstance, "new instance"),
    (Action::Confirm, "details"),
    (Action::Refresh, "refresh"),
    (Action::Cancel, "back"),
    (Action::Help, "help"),
    (Action::Quit, "quit"),
];

/// While an undo or an instance deploy runs or shows its result.
const DEPLOY_JOB_HINTS: &[(Action, &str)] = &[
    (Action::Confirm, "back when done"),
    (Action::NextPane, "next pane"),
    (Action::Help, "help"),
    (Action::Quit, "quit"),
];

impl PaneView for JobsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
        if let Some(view) = &self.deploys {
            return deploys::draw(frame, area, view, theme);
        }
        match &self.deploy {
            Some(flow) => deploy::draw_deploy(frame, area, flow, theme),
            None => view::draw(frame, area, self, theme, state.now),
        }
    }

    fn prompt_line(&self, theme: &Theme, _width: u16) -> Line<'static> {
        if let Some(view) = &self.deploys {
            return match &view.note {
                Some(note) => Line::styled(note.clone(), theme.style(Meaning::Alert)),
                None => Line::styled(deploys_hint(&view.stage), theme.style(Meaning::Muted)),
            };
        }
        if let Some(flow) = &self.deploy {
            return match &self.deploy_note {
                Some(note) => Line::styled(note.clone(), theme.style(Meaning::Alert)),
                None => Line::styled(deploy_hint(&flow.stage), theme.style(Meaning::Muted)),
            };
        }
        match self.confirm_cancel {
            Some(id) => Line::styled(
                format!("Cancel backup {id}? y = cancel it, any other key = keep it running"),
                theme.style(Meaning::Warning),
            ),
            None => Line::raw(""),
        }
    }

    fn hints(&self) -> &'static [(Action, &'static str)] {
        match self.deploys.as_ref().map(|v| &v.stage) {
            Some(DeploysStage::Browse | DeploysStage::Detail) => DEPLOYS_HINTS,
            Some(_) => DEPLOY_JOB_HINTS,
            None => HINTS,
        }
    }
}

/// The deploy flow's keys at each stage, for the bottom line.
fn deploy_hint(stage: &DeployStage) -> &'static str {
    match stage {
        DeployStage::PickFile { .. } => "type the change file's path · enter reviews · esc closes",
        DeployStage::Reviewing { .. } => "reviewing · esc closes",
        DeployStage::Reviewed { .. } => "enter goes on to the typed confirmation · esc closes",
        DeployStage::Confirm { .. } => "type the instance name · enter applies · esc closes",
        DeployStage::Running { .. } => "applying · esc is refused until it finishes",
        DeployStage::Finished { .. } => "enter or esc closes",
    }
}

/// The deploy history view's keys at each stage, for the bottom line.
fn deploys_hint(stage: &DeploysStage) -> &'static str {
    match stage {
        DeploysStage::Browse | DeploysStage::Detail => "",
        DeploysStage::ConfirmUndo { .. } => "type the instance name · enter undoes · esc back",
        DeploysStage::Form(_) => "tab/enter next field · enter on the last reviews · esc back",
        DeploysStage::ConfirmInstance { .. } => "type the name · enter deploys · esc back",
        DeploysStage::Running { .. } | DeploysStage::Finished { .. } => "",
    }
}
