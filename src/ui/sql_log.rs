//! The `@` overlay: every statement the console sent, newest first, with the selected one shown
//! in full below the list (statements are longer than any terminal is wide).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::format;
use super::theme::{Meaning, Theme};
use crate::app::State;
use crate::backend::SqlLogEntry;

/// Lines given to the full text of the selected statement.
const DETAIL_HEIGHT: u16 = 5;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let title = format!(
        " SQL sent by arkc · {} statements, newest first, UTC · esc closes ",
        state.sql_log.len()
    );
    let block = Block::bordered()
        .title(Span::styled(title, theme.style(Meaning::Header)))
        .border_style(theme.style(Meaning::Accent));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block.style(theme.style(Meaning::Text)), area);
    let Some(selected) = state.sql_log.get(state.overlay_scroll) else {
        let text = vec![
            Line::raw("No statements sent yet."),
            Line::styled(
                "Every statement arkc sends to a server is listed here and written to the log file.",
                theme.style(Meaning::Muted),
            ),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
        return;
    };
    let [list, detail] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(DETAIL_HEIGHT)]).areas(inner);
    let lines: Vec<Line> = state
        .sql_log
        .iter()
        .skip(state.overlay_scroll)
        .take(list.height as usize)
        .enumerate()
        .map(|(i, e)| {
            let line = entry_line(e, theme);
            if i == 0 {
                line.style(theme.style(Meaning::Selection))
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
    draw_detail(frame, detail, selected, theme);
}

fn entry_line<'a>(e: &SqlLogEntry, theme: &Theme) -> Line<'a> {
    let elapsed = format!("{:>7.1}ms", e.elapsed.as_secs_f64() * 1000.0);
    let head = format!(
        "{} {:<12} {elapsed} ",
        e.at.format("%H:%M:%S"),
        format::fit(&e.instance, 12)
    );
    let mut spans = vec![
        Span::styled(head, theme.style(Meaning::Muted)),
        Span::raw(one_line(&e.sql)),
    ];
    if let Some(err) = &e.error {
        spans.push(Span::styled(
            format!("  ✗ {err}"),
            theme.style(Meaning::Alert),
        ));
    }
    Line::from(spans)
}

fn draw_detail(frame: &mut Frame, area: Rect, e: &SqlLogEntry, theme: &Theme) {
    let title = format!(
        " {} · {} · {:.1} ms ",
        e.instance,
        e.at.format("%Y-%m-%d %H:%M:%S%.3f"),
        e.elapsed.as_secs_f64() * 1000.0
    );
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.style(Meaning::Header)))
        .border_style(theme.style(Meaning::Border));
    let mut text = vec![Line::raw(one_line(&e.sql))];
    if let Some(err) = &e.error {
        text.push(Line::styled(
            format!("error: {err}"),
            theme.style(Meaning::Alert),
        ));
    }
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        area,
    );
}

/// Statements spread over lines read better squeezed onto one in a list.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
