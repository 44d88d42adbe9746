//! The Health pane's per-instance views: Dashboard (figures and ten-minute sparklines) and Alerts.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use super::super::format::{self, cell};
use super::super::theme::{Meaning, Theme};
use crate::app::health::{MonitorView as HealthView, RateSample};
use crate::app::State;
use crate::health::{AlertState, InstanceHealth, Severity, Status};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, view: HealthView, theme: &Theme) {
    let Some(inst) = state.selected_instance() else {
        return;
    };
    let narrow = area.width < 100;
    let tabs: Vec<Span> = HealthView::ALL
        .iter()
        .flat_map(|v| {
            // Narrow screens shorten the other tabs; the open one keeps its full name.
            let name = if narrow && *v != view {
                v.short_title()
            } else {
                v.title()
            };
            let style = if *v == view {
                theme.style(Meaning::Selection)
            } else {
                theme.style(Meaning::Muted)
            };
            [Span::styled(format!(" {name} "), style), Span::raw(" ")]
        })
        .collect();
    let firing = state
        .health_pane
        .monitor
        .book
        .alerts_of(&inst.name)
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    let title = format!(
        " {} · {} firing · tab: next view · esc: back ",
        inst.name, firing
    );
    let block = Block::bordered()
        .title(Span::styled(
            format::fit(&title, area.width.saturating_sub(4) as usize),
            theme.style(Meaning::Header),
        ))
        .border_style(theme.style(Meaning::Border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [tab_row, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(Line::from(tabs)), tab_row);
    match view {
        HealthView::Dashboard => draw_dashboard(frame, body, state, &inst.name, theme),
        HealthView::Alerts => draw_alerts(frame, body, state, &inst.name, theme),
        HealthView::Processlist => super::processlist::draw(frame, body, state, &inst.name, theme),
        HealthView::Locks => draw_locks(frame, body, state, &inst.name, theme),
        HealthView::Replication
        | HealthView::Disk
        | HealthView::Parameters
        | HealthView::Backup => super::inspect::draw(frame, body, state, &inst.name, view, theme),
    }
}

/// The live view's read failed, or has not arrived yet for this instance.
pub(super) fn waiting_or_failed(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    instance: &str,
    theme: &Theme,
) {
    let via_prometheus = state.health.get(instance).and_then(|h| match &h.source {
        crate::health::Source::Prometheus(source) => Some(source),
        crate::health::Source::Direct => None,
    });
    let text = match &state.health_pane.monitor.view_error {
        _ if via_prometheus.is_some() => Line::styled(
            format!(
                "{instance} is known only through Prometheus source `{}`: this view needs a direct \
                 connection; add an [[instance]] entry named `{instance}` to read it (Dashboard and \
                 Alerts show the Prometheus figures)",
                via_prometheus.map(String::as_str).unwrap_or_default()
            ),
            theme.style(Meaning::Warning),
        ),
        Some((i, e)) if i == instance => {
            Line::styled(format!("cannot read: {e}"), theme.style(Meaning::Alert))
        }
        _ => Line::styled("reading…", theme.style(Meaning::Muted)),
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn draw_locks(frame: &mut Frame, area: Rect, state: &State, instance: &str, theme: &Theme) {
    let Some((_, r)) = state
        .health_pane
        .monitor
        .locks
        .as_ref()
        .filter(|l| l.0 == instance)
    else {
        return waiting_or_failed(frame, area, state, instance, theme);
    };
    let width = area.width as usize;
    let head = |t: &str| Line::styled(t.to_string(), theme.style(Meaning::Header));
    let line = |t: String, m: Meaning| Line::styled(format::fit(&t, width), theme.style(m));
    let mut lines = Vec::new();
    for root in &r.root_blockers {
        lines.push(line(
            format!(
                "ROOT BLOCKER {} blocks {} session(s) · trx age {}s · {}",
                root.id,
                root.blocked_sessions,
                opt(root.trx_age_s),
                root.query.as_deref().unwrap_or("idle in transaction")
            ),
            Meaning::Alert,
        ));
    }
    lines.push(head("Row lock waits"));
    if r.waits.is_empty() {
        lines.push(line("  none".into(), Meaning::Ok));
    }
    for w in &r.waits {
        lines.push(line(
            format!(
                "  {} waits {}s on {} (root {}) {} {}: {}",
                w.waiting_id,
                opt(w.wait_s),
                w.blocking_id,
                opt(w.root_blocker_id),
                w.table.as_deref().unwrap_or("?"),
                w.lock_mode.as_deref().unwrap_or(""),
                w.waiting_query.as_deref().unwrap_or("-")
            ),
            Meaning::Warning,
        ));
    }
    lines.push(head("Metadata lock waits"));
    if r.metadata_waits.is_empty() {
        lines.push(line("  none".into(), Meaning::Ok));
    }
    for m in &r.metadata_waits {
        let by: Vec<String> = m.blocking_ids.iter().map(u64::to_string).collect();
        lines.push(line(
            format!(
                "  {} waits {}s, held by [{}]: {}",
                m.waiting_id,
                opt(m.wait_s),
                by.join(", "),
                m.waiting_query.as_deref().unwrap_or("-")
            ),
            Meaning::Warning,
        ));
    }
    lines.push(head("Latest deadlock"));
    match &r.deadlock {
        None => lines.push(line(
            "  none since the server started".into(),
            Meaning::Muted,
        )),
        Some(d) => {
            lines.push(line(format!("  at {}", d.at), Meaning::Text));
            for t in &d.transactions {
                lines.push(line(
                    format!(
                        "  ({}) session {}{} on {}: {}",
                        t.number,
                        opt(t.connection_id),
                        if t.rolled_back { " ROLLED BACK" } else { "" },
                        t.waiting_table.as_deref().unwrap_or("?"),
                        t.query.as_deref().unwrap_or("-")
                    ),
                    Meaning::Text,
                ));
            }
        }
    }
    for note in &r.notes {
        lines.push(line(format!("note: {note}"), Meaning::Muted));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |p| format!("{p:.1}%"))
}

fn bytes(v: Option<u64>) -> String {
    match v {
        None => "-".into(),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        Some(b) => format!("{:.1} KiB", b as f64 / 1024.0),
    }
}

fn dashboard_lines<'a>(h: &InstanceHealth, theme: &Theme) -> Vec<Line<'a>> {
    let label = |t: &str| Span::styled(format!("{t:<16}"), theme.style(Meaning::Muted));
    let value = |t: String| Span::styled(t, theme.style(Meaning::Text));
    let row = |l: &str, v: String| Line::from(vec![label(l), value(v)]);
    let i = &h.innodb;
    let m = &h.monitor;
    vec![
        row(
            "version",
            format!(
                "{} · up {}",
                h.version
                    .as_deref()
                    .map(format::version_short)
                    .unwrap_or("-"),
                h.uptime_s.map_or_else(|| "-".into(), format::duration_long)
            ),
        ),
        row(
            "QPS / TPS",
            format!("{} / {}", format::rate(h.qps), format::rate(h.tps)),
        ),
        row(
            "sel/ins/upd/del",
            format!(
                "{} {} {} {}",
                format::rate(h.dml.select),
                format::rate(h.dml.insert),
                format::rate(h.dml.update),
                format::rate(h.dml.delete)
            ),
        ),
        row(
            "threads",
            format!(
                "{} running, {} connected of {}",
                format::count(h.threads_running),
                format::count(h.threads_connected),
                format::count(h.max_connections)
            ),
        ),
        row(
            "buffer pool",
            format!(
                "hit {} · dirty {}",
                pct(i.buffer_pool_hit_pct),
                pct(i.dirty_pages_pct)
            ),
        ),
        row(
            "history list",
            format!(
                "{} · checkpoint age {}",
                format::count(i.history_list_length),
                pct(i.checkpoint_age_pct)
            ),
        ),
        row(
            "row lock waits",
            format!(
                "{} · deadlocks {}",
                format::count(i.row_lock_waits),
                format::count(i.deadlocks)
            ),
        ),
        row(
            "disk",
            format!(
                "datadir {} free · binlogs {}",
                pct(m.disk.datadir_free_pct),
                bytes(m.disk.binlog_bytes)
            ),
        ),
        row(
            "backup",
            m.backup
                .as_ref()
                .map_or_else(|| "not read yet".into(), |b| b.describe()),
        ),
    ]
}

fn draw_dashboard(frame: &mut Frame, area: Rect, state: &State, instance: &str, theme: &Theme) {
    let Some(h) = state.health.get(instance) else {
        frame.render_widget(
            Paragraph::new("No figures yet: waiting for the first poll of this instance.")
                .style(theme.style(Meaning::Muted)),
            area,
        );
        return;
    };
    if h.status == Status::Down {
        let why = h.error.as_deref().unwrap_or("no answer");
        frame.render_widget(
            Paragraph::new(format!("down: {why}")).style(theme.style(Meaning::Alert)),
            area,
        );
        return;
    }
    let lines = dashboard_lines(h, theme);
    let wide = area.width >= 120;
    let (figures, sparks) = if wide {
        let [a, b] = Layout::horizontal([Constraint::Length(84), Constraint::Min(20)]).areas(area);
        (a, b)
    } else {
        // Two spare rows: the backup line may wrap.
        let rows = lines.len() as u16 + 2;
        let [a, b] = Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(area);
        (a, b)
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), figures);
    draw_sparklines(frame, sparks, state, instance, theme);
}

/// Ten minutes of QPS, TPS and running threads, newest on the right.
fn draw_sparklines(frame: &mut Frame, area: Rect, state: &State, instance: &str, theme: &Theme) {
    type Pick = fn(&RateSample) -> Option<f64>;
    let series: [(&str, Pick); 3] = [
        ("QPS", |s| s.qps),
        ("TPS", |s| s.tps),
        ("running", |s| s.threads_running.map(|t| t as f64)),
    ];
    let rows = (area.height / 2).min(series.len() as u16);
    if rows == 0 || area.width < 12 {
        return;
    }
    let areas = Layout::vertical(vec![Constraint::Length(2); rows as usize]).split(area);
    let width = area.width.saturating_sub(10) as usize;
    for ((name, pick), slot) in series.iter().zip(areas.iter()) {
        let values: Vec<u64> = state
            .health_pane
            .monitor
            .history(instance)
            .map(|s| pick(s).map_or(0, |v| v.round().max(0.0) as u64))
            .collect();
        let shown = &values[values.len().saturating_sub(width)..];
        let last = shown.last().copied().unwrap_or(0);
        let [label, spark] =
            Layout::horizontal([Constraint::Length(10), Constraint::Min(1)]).areas(*slot);
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled(name.to_string(), theme.style(Meaning::Muted)),
                Line::styled(last.to_string(), theme.style(Meaning::Text)),
            ]),
            label,
        );
        frame.render_widget(
            Sparkline::default()
                .data(shown)
                .style(theme.style(Meaning::Accent)),
            spark,
        );
    }
}

fn draw_alerts(frame: &mut Frame, area: Rect, state: &State, instance: &str, theme: &Theme) {
    let alerts = state.health_pane.monitor.book.alerts_of(instance);
    if alerts.is_empty() {
        frame.render_widget(
            Paragraph::new("No alerts: every enabled rule is clear (or not yet known).")
                .style(theme.style(Meaning::Ok)),
            area,
        );
        return;
    }
    let width = area.width as usize;
    let mut lines = vec![Line::styled(
        format!(
            "{} {} {} {} {}",
            cell("STATE", 8, false),
            cell("SEVERITY", 8, false),
            cell("RULE", 23, false),
            cell("SINCE", 8, false),
            "SUMMARY"
        ),
        theme.style(Meaning::Header),
    )];
    for a in alerts {
        let meaning = match (a.state, a.severity) {
            (AlertState::Resolved, _) => Meaning::Muted,
            (_, Severity::Critical) => Meaning::Alert,
            (_, Severity::Warning) => Meaning::Warning,
            (_, Severity::Info) => Meaning::Text,
        };
        let text = format!(
            "{} {} {} {} {}",
            cell(a.state.as_str(), 8, false),
            cell(a.severity.as_str(), 8, false),
            cell(a.rule.id(), 23, false),
            cell(&format::age(state.now, a.since), 8, false),
            a.summary
        );
        lines.push(Line::styled(
            format::fit(&text, width),
            theme.style(meaning),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
