//! The Jobs pane's drawing half: the backup history, the running job's gauge, the configured
//! jobs and the cancel question (see `view` for the layout).

pub mod view;

pub mod deploy;

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::app::jobs::deploy::DeployStage;
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

impl PaneView for JobsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
        match &self.deploy {
            Some(flow) => deploy::draw_deploy(frame, area, flow, theme),
            None => view::draw(frame, area, self, theme, state.now),
        }
    }

    fn prompt_line(&self, theme: &Theme, _width: u16) -> Line<'static> {
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
        HINTS
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
