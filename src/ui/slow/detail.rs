//! The Slow SQL drill-down: one class's figures, tracking, fingerprint, sample with literals,
//! the tables involved, a latency histogram and the EXPLAIN result. Scrolls with the list keys.

use chrono::{TimeZone, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::{big, latency, status_cell};
use crate::app::slow::{ClassKey, ExplainState, SlowDetail, SlowPane};
use crate::backend::slow::report::{ExplainTable, SlowClass};
use crate::ui::format::cell;
use crate::ui::theme::{Meaning, Theme};

const DECADES: [&str; 8] = ["1µs", "10µs", "100µs", "1ms", "10ms", "100ms", "1s", "10s+"];

pub fn draw(frame: &mut Frame, area: Rect, pane: &SlowPane, detail: &SlowDetail, theme: &Theme) {
    let key = ClassKey {
        instance: detail.instance.clone(),
        query_id: detail.query_id.clone(),
    };
    let title = format!(
        " Query {} · {} · {} · esc back ",
        crate::app::slow_id(&detail.query_id),
        detail.instance,
        pane.source.label()
    );
    let block = Block::bordered()
        .title(Span::styled(title, theme.style(Meaning::Header)))
        .border_style(theme.style(Meaning::Accent));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match pane.class(&key) {
        Some(class) => detail_lines(pane, detail, &key, class, theme, inner.width as usize),
        None => vec![Line::styled(
            "This class is not in the current report of this source.",
            theme.style(Meaning::Muted),
        )],
    };
    // Never scroll the last line out of sight.
    let scroll = detail.scroll.min(lines.len().saturating_sub(1) as u16);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

fn heading<'a>(text: &str, theme: &Theme) -> Line<'a> {
    Line::styled(text.to_string(), theme.style(Meaning::Header))
}

fn field<'a>(label: &str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{label}: "), theme.style(Meaning::Muted)),
        Span::raw(value),
    ])
}

fn detail_lines<'a>(
    pane: &SlowPane,
    detail: &SlowDetail,
    key: &ClassKey,
    c: &SlowClass,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    lines.push(tracking_line(pane, c, theme));
    lines.push(field(
        "Count",
        format!(
            "{} · QPS {} · total {} · avg {} · p95 {} · max {}",
            c.count,
            crate::ui::format::rate(Some(c.qps)),
            latency(c.time_sum),
            latency(c.time_avg),
            c.time_p95.map(latency).unwrap_or_else(|| "-".into()),
            latency(c.time_max)
        ),
        theme,
    ));
    let per = |v: f64| big(v / c.count.max(1) as f64);
    lines.push(field(
        "Rows",
        format!(
            "examined {} ({} each) · sent {} ({} each) · no index {} · lock {}",
            big(c.rows_examined),
            per(c.rows_examined),
            big(c.rows_sent),
            per(c.rows_sent),
            c.no_index,
            latency(c.lock_sum)
        ),
        theme,
    ));
    let dbs: Vec<String> = c
        .databases
        .iter()
        .map(|(d, n)| format!("{d} ({n})"))
        .collect();
    lines.push(field("Databases", or_dash(dbs.join(", ")), theme));
    lines.push(field(
        "Seen",
        format!("{} … {} UTC", when(c.first_seen), when(c.last_seen)),
        theme,
    ));
    lines.push(field("Tables", or_dash(detail.tables.join(", ")), theme));
    lines.push(heading("Fingerprint", theme));
    lines.push(Line::raw(c.fingerprint.clone()));
    match &c.sample {
        Some(s) => {
            let mut head = "Sample (worst".to_string();
            if let Some(t) = s.query_time {
                head.push_str(&format!(", {}", latency(t)));
            }
            if let Some(db) = &s.database {
                head.push_str(&format!(", db {db}"));
            }
            head.push(')');
            lines.push(heading(&head, theme));
            lines.push(Line::raw(s.query.clone()));
        }
        None => lines.push(Line::styled(
            "No sample with literals from this source (performance_schema keeps only the normalised text).",
            theme.style(Meaning::Muted),
        )),
    }
    // EXPLAIN before the histogram: it is what a DBA asked for, so it lands above the fold.
    lines.push(heading("EXPLAIN (e runs it)", theme));
    lines.extend(explain_lines(pane.explains.get(key), theme));
    if let Some(dist) = &c.distribution {
        lines.push(heading("Latency histogram", theme));
        lines.extend(histogram(dist, width, theme));
    }
    lines
}

fn tracking_line<'a>(pane: &SlowPane, c: &SlowClass, theme: &Theme) -> Line<'a> {
    let t = pane.tracking.get(&c.query_id);
    let (word, style) = status_cell(t, 13, theme);
    let mut spans = vec![Span::styled("Tracking: ", theme.style(Meaning::Muted))];
    match t {
        None => spans.push(Span::styled(
            "untracked (m marks, N adds a note)",
            theme.style(Meaning::Muted),
        )),
        Some(t) => {
            spans.push(Span::styled(word, style));
            if !t.note.is_empty() {
                spans.push(Span::raw(format!(" · {}", t.note)));
            }
            if let Some(back) = t
                .reappeared_at
                .filter(|_| t.status == crate::tracking::TrackStatus::Fixed)
            {
                spans.push(Span::styled(
                    format!(
                        " · ran again {} UTC after the fix",
                        back.format("%Y-%m-%d %H:%M")
                    ),
                    theme.style(Meaning::Alert),
                ));
            }
        }
    }
    Line::from(spans)
}

/// pt-query-digest's decades as bars scaled to the widest.
fn histogram<'a>(dist: &[u64; 8], width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let most = dist.iter().copied().max().unwrap_or(0).max(1);
    let room = width.saturating_sub(16).clamp(4, 60);
    dist.iter()
        .zip(DECADES)
        .map(|(&n, label)| {
            let bar = ((n as f64 / most as f64) * room as f64).ceil() as usize;
            Line::from(vec![
                Span::styled(cell(label, 6, true) + " ", theme.style(Meaning::Muted)),
                Span::styled("█".repeat(bar), theme.style(Meaning::Accent)),
                Span::raw(if n > 0 {
                    format!(" {n}")
                } else {
                    String::new()
                }),
            ])
        })
        .collect()
}

fn explain_lines<'a>(explain: Option<&ExplainState>, theme: &Theme) -> Vec<Line<'a>> {
    match explain {
        None => vec![Line::styled("not run yet", theme.style(Meaning::Muted))],
        Some(ExplainState::Pending) => vec![Line::styled("running…", theme.style(Meaning::Muted))],
        Some(ExplainState::Failed(e)) => vec![Line::styled(e.clone(), theme.style(Meaning::Alert))],
        Some(ExplainState::Done(table)) => explain_table(table, theme),
    }
}

/// Columns sized to their widest cell (capped, but the last, `Extra`, is never cut), like the
/// mysql client's table output.
pub(crate) fn explain_table<'a>(t: &ExplainTable, theme: &Theme) -> Vec<Line<'a>> {
    let last = t.columns.len().saturating_sub(1);
    let widths: Vec<usize> = (0..t.columns.len())
        .map(|i| {
            let cap = if i == last { usize::MAX } else { 24 };
            let cells = t
                .rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count());
            cells
                .chain([t.columns[i].chars().count()])
                .max()
                .unwrap_or(1)
                .min(cap)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| cell(c, *w, false))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = vec![Line::styled(line(&t.columns), theme.style(Meaning::Header))];
    out.extend(t.rows.iter().map(|r| Line::raw(line(r))));
    out
}

fn when(t: Option<i64>) -> String {
    t.and_then(|t| Utc.timestamp_opt(t, 0).single())
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

fn or_dash(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}
