//! The Jobs pane's drawing half: the backup history, the running job's gauge, the configured
//! jobs and the cancel question (see `view` for the layout).

pub mod view;

pub mod deploy;

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::app::jobs::JobsPane;
use crate::app::{Action, State};
use crate::ui::pane::PaneView;
use crate::ui::theme::{Meaning, Theme};

const HINTS: &[(Action, &str)] = &[
    (Action::JobStart, "start"),
    (Action::JobNext, "next job"),
    (Action::JobCancel, "cancel"),
    (Action::JobVerify, "verify"),
    (Action::Help, "help"),
    (Action::NextPane, "next pane"),
    (Action::Quit, "quit"),
];

impl PaneView for JobsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
        view::draw(frame, area, self, theme, state.now);
    }

    fn prompt_line(&self, theme: &Theme, _width: u16) -> Line<'static> {
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
