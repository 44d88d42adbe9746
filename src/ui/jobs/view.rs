//! Drawing the Jobs pane: the running job's progress bar, the configured jobs, the history.

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Gauge, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use crate::app::jobs::{JobRow, JobsPane};
use crate::jobs::progress::human_bytes;
use crate::jobs::JobState;
use crate::ui::theme::{Meaning, Theme};

pub fn draw(frame: &mut Frame, area: Rect, pane: &JobsPane, theme: &Theme, now: DateTime<Utc>) {
    let block = Block::bordered()
        .title(" Jobs ")
        .border_style(theme.style(Meaning::Border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [jobs_line, gauge, detail, table, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(configured_line(pane, theme), jobs_line);
    draw_gauge(frame, gauge, detail, pane, theme, now);
    draw_table(frame, table, pane, theme);
    frame.render_widget(footer_line(pane, theme), footer);
}

fn configured_line<'a>(pane: &'a JobsPane, theme: &Theme) -> Paragraph<'a> {
    let mut spans = vec![Span::styled("Jobs: ", theme.style(Meaning::Muted))];
    if pane.jobs.is_empty() {
        spans.push(Span::styled(
            "none configured ([[backup]] in the config)",
            theme.style(Meaning::Muted),
        ));
    }
    for (i, name) in pane.jobs.iter().enumerate() {
        let style = if i == pane.job_choice {
            theme.style(Meaning::Selection)
        } else {
            theme.style(Meaning::Text)
        };
        spans.push(Span::styled(format!(" {name} "), style));
        spans.push(Span::raw(" "));
    }
    Paragraph::new(Line::from(spans))
}

fn draw_gauge(
    frame: &mut Frame,
    bar: Rect,
    detail: Rect,
    pane: &JobsPane,
    theme: &Theme,
    now: DateTime<Utc>,
) {
    let Some(row) = pane.focus_running() else {
        frame.render_widget(
            Paragraph::new("No backup running.").style(theme.style(Meaning::Muted)),
            bar,
        );
        return;
    };
    let r = &row.record;
    let Some(p) = &row.progress else {
        frame.render_widget(
            Paragraph::new(format!("backup {} starting...", r.id))
                .style(theme.style(Meaning::Muted)),
            bar,
        );
        return;
    };
    let gauge = Gauge::default()
        .ratio(p.fraction())
        .label(format!(
            "backup {} of {}: {} {:.0}%",
            r.id,
            r.instance,
            p.phase.as_str(),
            p.fraction() * 100.0
        ))
        .gauge_style(theme.style(Meaning::Bar));
    frame.render_widget(gauge, bar);
    let style = if p.stalled(now) {
        theme.style(Meaning::Warning)
    } else {
        theme.style(Meaning::Muted)
    };
    frame.render_widget(Paragraph::new(p.summary(now)).style(style), detail);
}

fn state_text(row: &JobRow) -> (String, Meaning) {
    let r = &row.record;
    if r.deleted_at.is_some() {
        return ("deleted".into(), Meaning::Muted);
    }
    let meaning = match r.state {
        JobState::Running => Meaning::Accent,
        JobState::Succeeded => Meaning::Ok,
        JobState::Failed | JobState::Lost => Meaning::Alert,
        JobState::Cancelled => Meaning::Warning,
    };
    (r.state.as_str().to_string(), meaning)
}

fn draw_table(frame: &mut Frame, area: Rect, pane: &JobsPane, theme: &Theme) {
    let header = Row::new([
        "ID", "JOB", "INSTANCE", "KIND", "STATE", "STARTED", "SIZE", "VERIFIED",
    ])
    .style(theme.style(Meaning::Header));
    let rows = pane.rows.iter().map(|row| {
        let r = &row.record;
        let (state, meaning) = state_text(row);
        let verified = match r.verified {
            Some(true) => Cell::from("yes").style(theme.style(Meaning::Ok)),
            Some(false) => Cell::from("FAILED").style(theme.style(Meaning::Alert)),
            None => Cell::from("-"),
        };
        Row::new(vec![
            Cell::from(r.id.to_string()),
            Cell::from(r.job.clone()),
            Cell::from(r.instance.clone()),
            Cell::from(r.kind.as_str()),
            Cell::from(state).style(theme.style(meaning)),
            Cell::from(r.started_at.format("%m-%d %H:%M").to_string()),
            Cell::from(r.bytes.map(human_bytes).unwrap_or_default()),
            verified,
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Min(8),
            Constraint::Min(8),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(10),
            Constraint::Length(8),
        ],
    )
    .header(header)
    .row_highlight_style(theme.style(Meaning::Selection))
    .style(theme.style(Meaning::Text));
    let mut state = TableState::default().with_selected(Some(pane.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn footer_line<'a>(pane: &'a JobsPane, theme: &Theme) -> Paragraph<'a> {
    if let Some(id) = pane.confirm_cancel {
        return Paragraph::new(format!(
            "Cancel backup {id} (partial output to quarantine)? y = cancel, other key = keep"
        ))
        .style(theme.style(Meaning::Warning));
    }
    let selected = pane.selected().map(|r| &r.record);
    let detail = selected.map(|r| {
        let position = r
            .position
            .as_ref()
            .map(|p| {
                format!(
                    "  at {}:{} gtid {}",
                    p.file.as_deref().unwrap_or("?"),
                    p.pos.unwrap_or(0),
                    p.gtid.as_deref().unwrap_or("-")
                )
            })
            .unwrap_or_default();
        let path = r
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("{path}{position}")
    });
    let selected_note = selected.and_then(|r| r.error.as_deref().or(r.verify_note.as_deref()));
    let text = pane
        .status
        .as_deref()
        .or(selected_note)
        .map(|s| s.lines().next().unwrap_or("").to_string())
        .or(detail)
        .unwrap_or_default();
    Paragraph::new(text).style(theme.style(Meaning::Muted))
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::app::jobs::tests::{clock, sample};

    fn render(pane: &JobsPane) -> String {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal
            .draw(|f| draw(f, f.area(), pane, &Theme::fallback(), clock(0)))
            .unwrap();
        let buf = terminal.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn jobs_pane_80x24_with_running_job() {
        insta::assert_snapshot!(render(&sample()));
    }

    #[test]
    fn jobs_pane_80x24_cancel_confirmation() {
        let mut pane = sample();
        pane.confirm_cancel = Some(1);
        let text = render(&pane);
        assert!(text.contains("Cancel backup 1 ("), "{text}");
        insta::assert_snapshot!(text);
    }
}
