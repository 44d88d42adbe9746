//! The Processlist view: sessions sorted and filtered, the cursor on one, and `enter`'s detail
//! (the full statement and its EXPLAIN).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::super::format::{self, cell};
use super::super::theme::{Meaning, Theme};
use crate::app::health::processlist::{visible_rows, ExplainOutcome, ProcessDetail};
use crate::app::State;
use crate::health::processlist::ProcessRow;

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |n| n.to_string())
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, instance: &str, theme: &Theme) {
    let pane = &state.health_pane;
    let Some((_, all, note)) = pane
        .monitor
        .processlist
        .as_ref()
        .filter(|p| p.0 == instance)
    else {
        return super::views::waiting_or_failed(frame, area, state, instance, theme);
    };
    if let Some(detail) = pane.processlist.detail.as_ref() {
        return draw_detail(frame, area, detail, theme);
    }
    let plist = &pane.processlist;
    let rows = visible_rows(&pane.monitor, instance, &state.filter, plist.sort);
    let cursor = plist.cursor(&rows);
    let width = area.width as usize;
    let wide = width >= 120;
    let mut title = format!(
        "{} of {} sessions · sort: {} (s)",
        rows.len(),
        all.len(),
        plist.sort.label()
    );
    if !state.filter.is_empty() || state.mode == crate::app::Mode::Filter {
        title.push_str(&format!(" · filter: {}", state.filter));
    }
    let mut lines = vec![Line::styled(
        format::fit(&title, width),
        theme.style(Meaning::Accent),
    )];
    lines.push(Line::styled(
        format::fit(&header(wide), width),
        theme.style(Meaning::Header),
    ));
    if let Some(note) = note {
        lines.push(Line::styled(
            format::fit(note, width),
            theme.style(Meaning::Warning),
        ));
    }
    if rows.is_empty() {
        lines.push(Line::styled(
            "  no session matches the filter",
            theme.style(Meaning::Muted),
        ));
    }
    let room = (area.height as usize).saturating_sub(lines.len()).max(1);
    let first = cursor.saturating_sub(room - 1);
    for (i, r) in rows.iter().enumerate().skip(first).take(room) {
        let style = if i == cursor {
            theme.style(Meaning::Selection)
        } else {
            theme.style(Meaning::Text)
        };
        lines.push(Line::styled(format::fit(&row_text(r, wide), width), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn header(wide: bool) -> String {
    if wide {
        format!(
            "{} {} {} {} {} {} {} {} {} INFO",
            cell("ID", 7, true),
            cell("USER", 12, false),
            cell("HOST", 18, false),
            cell("DB", 10, false),
            cell("COMMAND", 8, false),
            cell("TIME", 6, true),
            cell("TRX_AGE", 7, true),
            cell("LOCKED", 6, true),
            cell("STATE", 20, false)
        )
    } else {
        format!(
            "{} {} {} {} {} {} INFO",
            cell("ID", 6, true),
            cell("USER", 8, false),
            cell("TIME", 5, true),
            cell("TRX", 5, true),
            cell("LOCKD", 5, true),
            cell("STATE", 12, false)
        )
    }
}

fn row_text(r: &ProcessRow, wide: bool) -> String {
    let info = r.info.as_deref().unwrap_or("").replace('\n', " ");
    let state_text = r.state.as_deref().unwrap_or(&r.command);
    if wide {
        format!(
            "{} {} {} {} {} {} {} {} {} {}",
            cell(&r.id.to_string(), 7, true),
            cell(&r.user, 12, false),
            cell(&r.host, 18, false),
            cell(r.db.as_deref().unwrap_or("-"), 10, false),
            cell(&r.command, 8, false),
            cell(&r.time_s.to_string(), 6, true),
            cell(&opt(r.trx_age_s), 7, true),
            cell(&opt(r.rows_locked), 6, true),
            cell(state_text, 20, false),
            info
        )
    } else {
        format!(
            "{} {} {} {} {} {} {}",
            cell(&r.id.to_string(), 6, true),
            cell(&r.user, 8, false),
            cell(&r.time_s.to_string(), 5, true),
            cell(&opt(r.trx_age_s), 5, true),
            cell(&opt(r.rows_locked), 5, true),
            cell(state_text, 12, false),
            info
        )
    }
}

/// One session: who, how long, the full statement, then its EXPLAIN (or why there is none).
fn draw_detail(frame: &mut Frame, area: Rect, d: &ProcessDetail, theme: &Theme) {
    let r = &d.row;
    let mut lines = vec![
        Line::styled(
            format!(
                "session {} · {}@{} · db {} · {} {}s · trx {}s · {} rows locked",
                r.id,
                r.user,
                r.host,
                r.db.as_deref().unwrap_or("-"),
                r.state.as_deref().unwrap_or(&r.command),
                r.time_s,
                opt(r.trx_age_s),
                opt(r.rows_locked)
            ),
            theme.style(Meaning::Header),
        ),
        Line::styled(
            "esc/enter: back · x: kill query · X: kill connection",
            theme.style(Meaning::Muted),
        ),
        Line::raw(""),
    ];
    match r.info.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(sql) => {
            // A long statement keeps room for the EXPLAIN below it: at most half the view.
            let width = (area.width as usize).max(10);
            let wrapped: Vec<String> = sql
                .lines()
                .flat_map(|l| {
                    let chars: Vec<char> = l.chars().collect();
                    let chunks: Vec<String> = chars
                        .chunks(width)
                        .map(|c| c.iter().collect::<String>())
                        .collect();
                    if chunks.is_empty() {
                        vec![String::new()]
                    } else {
                        chunks
                    }
                })
                .collect();
            let room = (area.height as usize / 2).max(2);
            let shown = wrapped.len().min(room);
            lines.extend(wrapped[..shown].iter().map(|l| Line::raw(l.clone())));
            if wrapped.len() > shown {
                lines.push(Line::styled(
                    format!("… {} more line(s)", wrapped.len() - shown),
                    theme.style(Meaning::Muted),
                ));
            }
        }
        None => lines.push(Line::styled(
            "(no statement running)",
            theme.style(Meaning::Muted),
        )),
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "EXPLAIN",
        theme.style(Meaning::Header),
    )));
    match &d.explain {
        ExplainOutcome::NotRun(why) => lines.push(Line::styled(
            format!("not run: {why}"),
            theme.style(Meaning::Muted),
        )),
        ExplainOutcome::Running => {
            lines.push(Line::styled("running…", theme.style(Meaning::Muted)))
        }
        ExplainOutcome::Failed(e) => lines.push(Line::styled(
            format!("failed: {e}"),
            theme.style(Meaning::Alert),
        )),
        ExplainOutcome::Done(table) => {
            lines.extend(super::super::slow::detail::explain_table(table, theme))
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
