//! The Jobs pane, until its issue lands: it says what it will show, and shows no figures.

pub mod deploy;

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::jobs::JobsPane;
use crate::app::{Pane, State};
use crate::ui::pane::PaneView;
use crate::ui::theme::{Meaning, Theme};

/// What the pane will hold, in a DBA's words.
const PROMISE: &str = "Will show backup and deploy jobs started from arkc: what, where, state, \
                       progress and elapsed time, with the history of past runs and their output.";

impl PaneView for JobsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, _state: &State, theme: &Theme) {
        let title = Pane::Jobs.title();
        let lines = vec![
            Line::styled(
                format!("{title}: not built yet"),
                theme.style(Meaning::Header),
            ),
            Line::raw(""),
            Line::raw(PROMISE),
            Line::raw(""),
            Line::styled(
                "Nothing is shown here until then: no sample or made-up figures.",
                theme.style(Meaning::Muted),
            ),
        ];
        let block = Block::bordered()
            .title(format!(" {title} "))
            .border_style(theme.style(Meaning::Border));
        let body = Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .style(theme.style(Meaning::Text));
        frame.render_widget(body, area);
    }
}
