//! The Jobs pane, until its issue lands (and any pane whose issue has not landed yet): they say what they will show, and show no figures.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::Pane;
use crate::ui::theme::{Meaning, Theme};

/// What each unbuilt pane will hold, in a DBA's words.
fn promise(pane: Pane) -> &'static str {
    match pane {
        Pane::Binlog => {
            "Will show the binary log of the selected instance, one transaction per row: time, \
             GTID, schema.table and rows changed; and will plan a flashback (the SQL that undoes \
             a chosen range) for you to review before anything is applied."
        }
        Pane::Jobs => {
            "Will show backup and deploy jobs started from arkc: what, where, state, progress and \
             elapsed time, with the history of past runs and their output."
        }
        // Built panes never come here.
        Pane::Health | Pane::SlowSql => "",
    }
}

pub fn draw(frame: &mut Frame, area: Rect, pane: Pane, theme: &Theme) {
    let mut lines = vec![
        Line::styled(
            format!("{}: not built yet", pane.title()),
            theme.style(Meaning::Header),
        ),
        Line::raw(""),
    ];
    lines.push(Line::raw(promise(pane)));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Nothing is shown here until then: no sample or made-up figures.",
        theme.style(Meaning::Muted),
    ));
    let block = Block::bordered()
        .title(format!(" {} ", pane.title()))
        .border_style(theme.style(Meaning::Border));
    let body = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .style(theme.style(Meaning::Text));
    frame.render_widget(body, area);
}
