//! The row diff view: the focused transaction's row changes one at a time, before and after
//! side by side, changed columns highlighted; or the full values of the row, wrapped.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::binlog::BinlogPane;
use crate::backend::binlog::flashback::RowState;
use crate::ui::format::{cell, fit};
use crate::ui::theme::{Meaning, Theme};
use arkc_binlog::review::{ReviewedRow, ReviewedTxn};

pub fn draw(frame: &mut Frame, area: Rect, pane: &BinlogPane, theme: &Theme) {
    let Some(t) = pane.focus.filter(|&t| t < pane.txns.len()) else {
        return;
    };
    let txn = &pane.txns[t];
    let id = txn.txn.gtid.clone().unwrap_or_else(|| txn.txn.position());
    let block = Block::bordered()
        .title(format!(" Rows of {id} "))
        .border_style(theme.style(Meaning::Border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [head, nav, body] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(txn_head(txn, theme, inner.width as usize)),
        head,
    );
    let Some(row) = txn.rows.get(pane.row_cursor) else {
        let why = match txn.rows_dropped {
            0 => "no row changes (DDL or an empty transaction)".to_string(),
            n => format!("{n} rows not kept in memory (over the review budget): narrow the scan"),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(why, theme.style(Meaning::Muted))),
            nav,
        );
        return;
    };
    let id = (t, pane.row_cursor);
    let selected = pane.row_selected(id);
    let check = pane.checks.get(&id);
    frame.render_widget(
        Paragraph::new(nav_line(txn, pane.row_cursor, row, selected, check, theme)),
        nav,
    );
    match pane.value_open {
        true => draw_full_values(frame, body, row, pane.value_scroll, theme),
        false => draw_side_by_side(frame, body, row, theme),
    }
}

fn txn_head<'a>(txn: &ReviewedTxn, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let t = &txn.txn;
    let thread = t
        .thread_id
        .map(|x| format!(" thread {x}"))
        .unwrap_or_default();
    let first = format!(
        "{} UTC · {}{thread} · I/U/D {}/{}/{}",
        t.time_utc(),
        t.position(),
        t.inserts,
        t.updates,
        t.deletes
    );
    let statement = t
        .annotate
        .first()
        .map(|a| format!("statement: {}", a.replace('\n', " ")))
        .unwrap_or_else(|| "statement: (no annotate event)".into());
    vec![
        Line::styled(fit(&first, width), theme.style(Meaning::Muted)),
        Line::styled(fit(&statement, width), theme.style(Meaning::Accent)),
    ]
}

fn nav_line<'a>(
    txn: &ReviewedTxn,
    at: usize,
    row: &ReviewedRow,
    selected: bool,
    check: Option<&RowState>,
    theme: &Theme,
) -> Line<'a> {
    let mut spans = vec![Span::styled(
        format!(
            "row {}/{} {} {} ",
            at + 1,
            txn.rows.len(),
            row.kind.as_str().to_uppercase(),
            row.table
        ),
        theme.style(Meaning::Header),
    )];
    spans.push(match selected {
        true => Span::styled("● in rollback ", theme.style(Meaning::Ok)),
        false => Span::styled("○ not selected ", theme.style(Meaning::Muted)),
    });
    if let Some(state) = check {
        let (text, meaning) = match state {
            RowState::AsLeft => ("✓ as the binlog left it".to_string(), Meaning::Ok),
            RowState::Restored => ("✓ matches the before-image".to_string(), Meaning::Ok),
            RowState::ChangedSince => ("✗ changed since".to_string(), Meaning::Alert),
            RowState::KeyTaken => ("✗ key exists again".to_string(), Meaning::Alert),
            RowState::NotRestored => ("✗ not restored".to_string(), Meaning::Alert),
            RowState::Unknown(why) => (format!("? {why}"), Meaning::Warning),
        };
        spans.push(Span::styled(text, theme.style(meaning)));
    }
    Line::from(spans)
}

/// A value's style: NULL muted and italic so it never looks like an empty string.
fn value_style(v: Option<&str>, changed: bool, theme: &Theme) -> Style {
    let base = match v {
        Some("NULL") => theme.style(Meaning::Muted).add_modifier(Modifier::ITALIC),
        None => theme.style(Meaning::Muted),
        _ => theme.style(Meaning::Text),
    };
    match changed {
        true => base
            .patch(theme.style(Meaning::Warning))
            .add_modifier(Modifier::BOLD),
        false => base,
    }
}

fn shown(v: Option<&str>) -> &str {
    v.unwrap_or("·")
}

fn draw_side_by_side(frame: &mut Frame, area: Rect, row: &ReviewedRow, theme: &Theme) {
    let width = area.width as usize;
    let name_w = row
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(6, 20);
    let value_w = width.saturating_sub(name_w + 5) / 2;
    let mut lines = vec![Line::styled(
        format!(
            "  {} {} {}",
            cell("column", name_w, false),
            cell("before", value_w, false),
            cell("after", value_w, false)
        ),
        theme.style(Meaning::Header),
    )];
    let room = (area.height as usize).saturating_sub(1);
    let changed_first = changed_columns(row);
    for &i in changed_first.iter().take(room) {
        let before = row.before.get(i).and_then(|v| v.as_deref());
        let after = row.after.get(i).and_then(|v| v.as_deref());
        let changed = is_changed(row, i);
        let marker = if changed { "≠ " } else { "  " };
        lines.push(Line::from(vec![
            Span::styled(marker, theme.style(Meaning::Warning)),
            Span::styled(
                format!("{} ", cell(&row.columns[i], name_w, false)),
                theme.style(Meaning::Accent),
            ),
            Span::styled(
                format!("{} ", cell(shown(before), value_w, false)),
                value_style(before, changed && before.is_some(), theme),
            ),
            Span::styled(
                cell(shown(after), value_w, false),
                value_style(after, changed && after.is_some(), theme),
            ),
        ]));
    }
    if changed_first.len() > room {
        let more = format!(
            "  … {} more columns: open full values",
            changed_first.len() - room
        );
        if let Some(last) = lines.last_mut() {
            *last = Line::styled(more, theme.style(Meaning::Muted));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn is_changed(row: &ReviewedRow, i: usize) -> bool {
    let before = row.before.get(i).cloned().flatten();
    let after = row.after.get(i).cloned().flatten();
    match (before, after) {
        (Some(b), Some(a)) => a != b,
        // An INSERT or DELETE changes every column that is present.
        (b, a) => b.is_some() || a.is_some(),
    }
}

/// Column indexes, changed ones first (for an UPDATE), then the rest, each in table order.
fn changed_columns(row: &ReviewedRow) -> Vec<usize> {
    let all = 0..row.columns.len();
    let update = !row.before.is_empty() && !row.after.is_empty();
    if !update {
        return all.collect();
    }
    let (mut changed, same): (Vec<usize>, Vec<usize>) = all.partition(|&i| is_changed(row, i));
    changed.extend(same);
    changed
}

fn draw_full_values(
    frame: &mut Frame,
    area: Rect,
    row: &ReviewedRow,
    scroll: usize,
    theme: &Theme,
) {
    let mut lines = Vec::new();
    for i in changed_columns(row) {
        let changed = is_changed(row, i);
        let name_style = match changed {
            true => theme.style(Meaning::Warning).add_modifier(Modifier::BOLD),
            false => theme.style(Meaning::Accent),
        };
        lines.push(Line::styled(row.columns[i].clone(), name_style));
        for (label, img) in [("  before: ", &row.before), ("  after:  ", &row.after)] {
            let v = img.get(i).and_then(|v| v.as_deref());
            if img.is_empty() {
                continue;
            }
            lines.push(Line::from(vec![
                Span::styled(label, theme.style(Meaning::Muted)),
                Span::styled(shown(v).to_string(), value_style(v, false, theme)),
            ]));
        }
    }
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    let values = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    frame.render_widget(values, area);
}
