//! The Binlog pane: source picker, transaction list with scan gauge and selection summary.
//! The row diff view and the rollback preview live in `rows` and `preview`.

mod preview;
mod rows;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, LineGauge, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::binlog::{
    BinlogPane, BinlogView, PromptKind, ScanState, LARGE_TXN_BYTES, LARGE_TXN_ROWS,
};
use crate::app::{Action, State};
use crate::backend::binlog::scan::ScanOutcome;
use crate::ui::format::{cell, fit};
use crate::ui::pane::PaneView;
use crate::ui::theme::{Meaning, Theme};

impl PaneView for BinlogPane {
    fn draw(&self, frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
        draw(self, frame, area, state, theme);
    }

    fn prompt_line(&self, theme: &Theme, width: u16) -> Line<'static> {
        prompt_line(self, theme, width)
    }

    /// The pane's flow in order: open, mark, preview, check, apply.
    fn hints(&self) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Confirm, "rows"),
            (Action::ToggleMark, "mark"),
            (Action::RollbackPreview, "preview"),
            (Action::CheckRollback, "check"),
            (Action::ApplyRollback, "apply"),
            (Action::Filter, "filter"),
            (Action::BinlogSource, "source"),
        ]
    }
}

fn draw(pane: &BinlogPane, frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [main, summary] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    match pane.view {
        BinlogView::Source => draw_source(frame, main, pane, theme),
        BinlogView::List => draw_list(frame, main, pane, state, theme),
        BinlogView::Rows => rows::draw(frame, main, pane, theme),
        BinlogView::Preview => preview::draw(frame, main, pane, state, theme),
    }
    frame.render_widget(Paragraph::new(summary_line(pane, theme)), summary);
}

/// "selected: 2 txn, 120 rows · shop.orders U100 D20 · check: 0 changed"
fn summary_line<'a>(pane: &BinlogPane, theme: &Theme) -> Line<'a> {
    let s = pane.summary();
    let muted = theme.style(Meaning::Muted);
    if s.transactions == 0 {
        return Line::styled(" nothing selected", muted);
    }
    let mut spans = vec![Span::styled(
        format!(" selected {} txn, {} rows:", s.transactions, s.rows),
        theme.style(Meaning::Accent),
    )];
    for (table, (i, u, d)) in &s.tables {
        let mut kinds = String::new();
        for (n, k) in [(i, "I"), (u, "U"), (d, "D")] {
            if *n > 0 {
                kinds.push_str(&format!(" {k}{n}"));
            }
        }
        spans.push(Span::raw(format!(" {table}{kinds}")));
    }
    let (problems, checked) = pane.check_counts();
    if checked > 0 {
        let meaning = if problems > 0 {
            Meaning::Alert
        } else {
            Meaning::Ok
        };
        let word = match pane.check_mode {
            Some(crate::backend::binlog::flashback::CheckMode::AfterApply) => "not restored",
            _ => "changed since",
        };
        spans.push(Span::styled(
            format!(" · check: {problems}/{checked} {word}"),
            theme.style(meaning),
        ));
    }
    Line::from(spans)
}

fn bordered<'a>(title: String, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .title(title)
        .border_style(theme.style(Meaning::Border))
}

fn draw_source(frame: &mut Frame, area: Rect, pane: &BinlogPane, theme: &Theme) {
    let src = &pane.sources;
    let title = match src.origin.is_empty() {
        true => " Binlog: pick a source ".to_string(),
        false => format!(" Binlog: binary logs of {} ", src.origin),
    };
    let block = bordered(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines = vec![
        Line::styled(
            "Enter on a log reads it and every later one; you then choose where to start.",
            theme.style(Meaning::Muted),
        ),
        Line::raw(""),
    ];
    let mark = |i: usize| match i == src.cursor {
        true => theme.style(Meaning::Selection),
        false => theme.style(Meaning::Text),
    };
    lines.push(Line::styled(
        cell("  ⌨ type a local binlog file or folder…", width, false),
        mark(0),
    ));
    if src.loading {
        lines.push(Line::styled("  loading…", theme.style(Meaning::Muted)));
    }
    if let Some(e) = &src.error {
        lines.push(Line::styled(format!("  {e}"), theme.style(Meaning::Alert)));
    }
    if !src.files.is_empty() {
        let header = format!(
            "  {:<22} {:>10}  {:<19}  readable",
            "log", "size", "first event (UTC)"
        );
        lines.push(Line::styled(
            fit(&header, width),
            theme.style(Meaning::Header),
        ));
    }
    let room = (inner.height as usize).saturating_sub(lines.len());
    let first = src.cursor.saturating_sub(room.max(1)).min(src.files.len());
    for (i, f) in src
        .files
        .iter()
        .enumerate()
        .skip(first.saturating_sub(1))
        .take(room)
    {
        let when = f.first_event.map(time_utc).unwrap_or_else(|| "-".into());
        let readable = match (f.streamed, f.path.is_some()) {
            (true, _) => "stream",
            (false, true) => "yes",
            (false, false) => "no (set binlog_dir)",
        };
        let text = format!(
            "  {:<22} {:>10}  {:<19}  {readable}",
            f.name,
            bytes(f.size),
            when
        );
        lines.push(Line::styled(cell(&text, width, false), mark(i + 1)));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_list(frame: &mut Frame, area: Rect, pane: &BinlogPane, state: &State, theme: &Theme) {
    let title = match &pane.scan {
        Some(scan) => format!(
            " Binlog: {} — {} transactions{} ",
            scan.label,
            pane.visible_len(),
            match &pane.scope {
                Some(s) => format!(" · scope {}", s.text()),
                None => String::new(),
            }
        ),
        None => " Binlog ".to_string(),
    };
    let block = bordered(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge, header, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    if state.mode == crate::app::Mode::Filter {
        let hint = "words all match: text · insert|update|delete · from:HH:MM to:HH:MM · pos:N-M";
        let hint = Line::styled(fit(hint, inner.width as usize), theme.style(Meaning::Muted));
        frame.render_widget(Paragraph::new(hint), gauge);
    } else if let Some(scan) = &pane.scan {
        draw_gauge(frame, gauge, scan, theme);
    }
    let width = inner.width as usize;
    let cols = Columns::for_width(width);
    frame.render_widget(
        Paragraph::new(Line::styled(cols.header(), theme.style(Meaning::Header))),
        header,
    );
    let rows = body.height as usize;
    let first = pane.cursor.saturating_sub(rows.saturating_sub(1));
    let mut lines = Vec::new();
    for pos in first..(first + rows).min(pane.visible_len()) {
        let Some(t) = pane.visible_at(pos) else { break };
        let txn = &pane.txns[t];
        let marked = pane.marked.contains(&t);
        let partly = marked && pane.excluded.iter().any(|(x, _)| *x == t);
        let large = txn.row_count() >= LARGE_TXN_ROWS
            || txn.txn.end_pos.saturating_sub(txn.txn.start_pos) >= LARGE_TXN_BYTES;
        let problem = !pane.checks.is_empty()
            && (0..txn.rows.len())
                .any(|r| pane.checks.get(&(t, r)).is_some_and(|s| s.is_problem()));
        let flag = match (marked, partly) {
            (true, true) => "◐",
            (true, false) => "●",
            _ => " ",
        };
        let scoped = pane.scope.as_ref().map(|_| pane.rows_in_scope(t));
        let text = cols.row(flag, txn, large, problem, scoped);
        let mut style = match (large, problem) {
            (_, true) => theme.style(Meaning::Alert),
            (true, _) => theme.style(Meaning::Warning),
            _ => theme.style(Meaning::Text),
        };
        if marked {
            style = style.add_modifier(Modifier::BOLD);
        }
        if pos == pane.cursor {
            style = theme.style(Meaning::Selection);
        }
        lines.push(Line::styled(cell(&text, width, false), style));
    }
    if pane.visible_len() == 0 {
        let text = match (&pane.scan, state.filter.is_empty()) {
            (Some(s), _) if s.running() => "reading…",
            (_, false) => "no transaction matches the filter",
            _ => "no transactions in this range",
        };
        lines.push(Line::styled(text, theme.style(Meaning::Muted)));
    }
    frame.render_widget(Paragraph::new(lines), body);
}

fn draw_gauge(frame: &mut Frame, area: Rect, scan: &ScanState, theme: &Theme) {
    let ratio = match scan.total_bytes {
        0 => 0.0,
        total => (scan.bytes as f64 / total as f64).clamp(0.0, 1.0),
    };
    if scan.following() {
        let label = format!(
            "following · {} events · new transactions appear as they commit · esc stops",
            scan.events
        );
        let line = Line::styled(
            fit(&label, area.width as usize),
            theme.style(Meaning::Accent),
        );
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let state = match &scan.outcome {
        None => "scanning · esc cancels".to_string(),
        Some(ScanOutcome::Done) => "done".to_string(),
        Some(ScanOutcome::Cancelled) => "cancelled".to_string(),
        Some(ScanOutcome::Failed(e)) => format!("failed: {e}"),
    };
    let label = format!(
        "{}/{} {:.0} ev/s {state}",
        bytes(scan.bytes),
        bytes(scan.total_bytes),
        scan.events_per_second()
    );
    let meaning = match &scan.outcome {
        Some(ScanOutcome::Failed(_)) => Meaning::Alert,
        Some(ScanOutcome::Cancelled) => Meaning::Warning,
        _ => Meaning::Accent,
    };
    let gauge = LineGauge::default()
        .ratio(ratio)
        .label(label)
        .filled_style(theme.style(meaning))
        .unfilled_style(theme.style(Meaning::Muted));
    frame.render_widget(gauge, area);
}

/// Column widths of the transaction list for an inner width.
struct Columns {
    time: usize,
    id: usize,
    thread: usize,
    tables: usize,
    counts: usize,
    size: usize,
}

impl Columns {
    fn for_width(width: usize) -> Columns {
        let wide = width >= 120;
        let (time, id, thread, counts, size) = match wide {
            true => (19, 30, 8, 20, 8),
            false => (8, 16, 5, 12, 5),
        };
        let fixed = 2 + time + id + thread + counts + size + 6;
        Columns {
            time,
            id,
            thread,
            tables: width.saturating_sub(fixed).max(8),
            counts,
            size,
        }
    }

    fn header(&self) -> String {
        let (time, thread) = match self.time >= 19 {
            true => ("commit time (UTC)", "thread"),
            false => ("UTC", "thr"),
        };
        format!(
            "  {} {} {} {} {} {}",
            cell(time, self.time, false),
            cell("GTID / position", self.id, false),
            cell(thread, self.thread, true),
            cell("schema.tables", self.tables, false),
            cell("I/U/D", self.counts, true),
            cell("size", self.size, true)
        )
    }

    fn row(
        &self,
        flag: &str,
        t: &arkc_binlog::review::ReviewedTxn,
        large: bool,
        problem: bool,
        in_scope: Option<usize>,
    ) -> String {
        let time = t.txn.time_utc();
        let time = match self.time >= 19 {
            true => time,
            false => time.get(11..19).unwrap_or(&time).to_string(),
        };
        let id = t.txn.gtid.clone().unwrap_or_else(|| {
            // Narrow: the file's sequence number is enough to tell rotated files apart.
            let file = match self.id >= 30 {
                true => t.txn.file.as_str(),
                false => t.txn.file.rsplit('.').next().unwrap_or(&t.txn.file),
            };
            format!("{file}:{}", t.txn.start_pos)
        });
        let tables = match (t.txn.tables.is_empty(), t.txn.ddl.first()) {
            (true, Some(ddl)) => format!("DDL: {}", ddl.replace('\n', " ")),
            _ => t.txn.tables.join(","),
        };
        let thread = t.txn.thread_id.map(|x| x.to_string()).unwrap_or_default();
        // With a scope, the rows the rollback would take of the rows the transaction has.
        let counts = match in_scope {
            Some(n) => format!("{n} of {}", t.row_count()),
            None => format!("{}/{}/{}", t.txn.inserts, t.txn.updates, t.txn.deletes),
        };
        let size = bytes(t.txn.end_pos.saturating_sub(t.txn.start_pos));
        let mark = match (problem, large) {
            (true, _) => "✗",
            (_, true) => "⚠",
            _ => " ",
        };
        format!(
            "{flag}{mark}{} {} {} {} {} {}",
            cell(&time, self.time, false),
            cell(&id, self.id, false),
            cell(&thread, self.thread, true),
            cell(&tables, self.tables, false),
            cell(&counts, self.counts, true),
            cell(&size, self.size, true)
        )
    }
}

pub fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n}B"),
        1024..1_048_576 => format!("{:.0}K", n as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1}M", n as f64 / 1_048_576.0),
        _ => format!("{:.1}G", n as f64 / 1_073_741_824.0),
    }
}

fn time_utc(t: u32) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// The command line while a Binlog prompt is open. When the line is too narrow, the label
/// gives way first and then the start of the typed text, so the cursor end stays visible.
fn prompt_line(pane: &BinlogPane, theme: &Theme, width: u16) -> Line<'static> {
    let Some(prompt) = &pane.prompt else {
        return Line::raw("");
    };
    let mut label = match &prompt.kind {
        PromptKind::Path => "binlog file or folder: ".to_string(),
        PromptKind::Start { label, .. } => {
            format!("start {label} (empty=beginning|15m|YYYY-MM-DD HH:MM|pos N|gtid X): ")
        }
        PromptKind::ExportPath { default } => format!("export preview to (empty = {default}): "),
        PromptKind::Range { field, .. } => field.label().to_string(),
        PromptKind::ConfirmApply { instance } => {
            let (problems, _) = pane.check_counts();
            let warn = match problems {
                0 => String::new(),
                n => format!("{n} rows changed since! "),
            };
            format!("{warn}type `{instance}` to apply: ")
        }
    };
    let room = (width as usize).saturating_sub(1);
    let typed = prompt.text.chars().count();
    if label.chars().count() + typed > room {
        label = fit(&label, room.saturating_sub(typed).max(12));
    }
    let mut text = prompt.text.clone();
    let over = (label.chars().count() + typed).saturating_sub(room);
    if over > 0 {
        text = format!(
            "…{}",
            prompt.text.chars().skip(over + 1).collect::<String>()
        );
    }
    let alert = matches!(prompt.kind, PromptKind::ConfirmApply { .. });
    let label_style = match alert {
        true => theme.style(Meaning::Alert),
        false => theme.style(Meaning::Accent),
    };
    Line::from(vec![
        Span::styled(label, label_style),
        Span::raw(text),
        Span::styled("█", theme.style(Meaning::Muted)),
    ])
}
