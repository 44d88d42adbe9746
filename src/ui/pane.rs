//! The drawing half of a pane component (the logic half is `app::PaneLogic`). `draw` takes the
//! pane by `&self` and the console's `State` read-only, so drawing cannot change anything.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use super::theme::Theme;
use crate::app::{Action, State};

/// Global keys shown on the command line when a pane has nothing of its own to show.
pub const GLOBAL_HINTS: &[(Action, &str)] = &[
    (Action::Help, "help"),
    (Action::Palette, "command"),
    (Action::Filter, "filter"),
    (Action::SqlLog, "SQL log"),
    (Action::NextPane, "next pane"),
    (Action::NextInstance, "next instance"),
    (Action::Quit, "quit"),
];

pub trait PaneView {
    /// Draw the pane into `area` (the screen between the tab line and the status bar).
    fn draw(&self, frame: &mut Frame, area: Rect, state: &State, theme: &Theme);

    /// The command line while the pane's input line has the keyboard (`Mode::PaneInput`).
    fn prompt_line(&self, _theme: &Theme, _width: u16) -> Line<'static> {
        Line::raw("")
    }

    /// Keys and labels for the command line, most used first.
    fn hints(&self) -> &'static [(Action, &'static str)] {
        GLOBAL_HINTS
    }
}
