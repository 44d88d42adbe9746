//! The Health pane: one row per instance (filterable), and a detail box for the selected one.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::health::{HealthPane, HealthView, MonitorView};
use crate::app::{Action, InstanceEntry, State};
use crate::health::alerts;
use crate::health::{Alert, Severity};
use crate::health::{InstanceHealth, Status};
use crate::ui::format::{self, cell};
use crate::ui::pane::PaneView;
use crate::ui::theme::{Meaning, Theme};

/// Height of the detail box, borders included.
const DETAIL_HEIGHT: u16 = 7;

mod inspect;
mod processlist;
mod views;

/// The Processlist view's own keys, for the command line.
const PROCESSLIST_HINTS: &[(Action, &str)] = &[
    (Action::Confirm, "statement"),
    (Action::ProcessSort, "sort"),
    (Action::KillQuery, "kill query"),
    (Action::KillConnection, "kill conn"),
    (Action::KillFiltered, "kill filtered"),
    (Action::Cancel, "back"),
];

impl PaneView for HealthPane {
    fn hints(&self) -> &'static [(Action, &'static str)] {
        match self.monitor_view() {
            Some(MonitorView::Processlist) => PROCESSLIST_HINTS,
            _ => crate::ui::pane::GLOBAL_HINTS,
        }
    }

    fn prompt_line(&self, theme: &Theme, _width: u16) -> Line<'static> {
        match &self.kill_prompt {
            Some(p) => Line::from(vec![
                Span::styled(
                    format!("{} type the instance name: ", p.question()),
                    theme.style(Meaning::Alert),
                ),
                Span::raw(p.typed.clone()),
                Span::styled("█", theme.style(Meaning::Muted)),
            ]),
            None => Line::raw(""),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
        match self.views.top() {
            HealthView::Instances => draw(frame, area, state, theme),
            HealthView::Instance(view) if !state.instances.is_empty() => {
                views::draw(frame, area, state, *view, theme)
            }
            HealthView::Instance(_) => draw(frame, area, state, theme),
        }
    }
}

fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if state.instances.is_empty() {
        draw_no_instances(frame, area, state, theme);
        return;
    }
    let [list, detail] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(DETAIL_HEIGHT)]).areas(area);
    draw_table(frame, list, state, theme);
    draw_detail(frame, detail, state, theme);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Instance,
    Address,
    State,
    Version,
    Uptime,
    Qps,
    Tps,
    Connections,
    Running,
    BufferPoolHit,
    HistoryList,
    DiskFree,
    Replication,
    WorstAlert,
}

struct Column {
    id: Col,
    title: &'static str,
    width: usize,
    right: bool,
}

/// Which columns fit, most wanted first: a narrow terminal keeps the name, state, worst alert
/// and the figures a DBA scans for trouble, and drops uptime, TPS and version before those.
const PRIORITY: [Col; 13] = [
    Col::Instance,
    Col::State,
    Col::Qps,
    Col::Connections,
    Col::Replication,
    Col::BufferPoolHit,
    Col::HistoryList,
    Col::DiskFree,
    Col::Address,
    Col::Version,
    Col::Running,
    Col::Tps,
    Col::Uptime,
];

/// Column widths for an inner width: narrow terminals get short titles and drop the least wanted
/// columns (`PRIORITY`); the worst alert takes what is left, at least `alert_min`.
fn columns(state: &State, inner: usize) -> Vec<Column> {
    let wide = inner >= 120;
    // Counted once when the list was built: a frame does not walk every instance.
    let (name_width, address_width) = state.fleet.widths();
    let instance = name_width.clamp(8, if wide { 32 } else { 16 });
    let address = address_width.clamp(7, 28);
    let c = |id, title, width, right| Column {
        id,
        title,
        width,
        right,
    };
    let pick = |narrow: usize, wide_one: usize| if wide { wide_one } else { narrow };
    let name = |narrow: &'static str, wide_one: &'static str| if wide { wide_one } else { narrow };
    let mut candidates = vec![c(Col::Instance, "Instance", instance, false)];
    if wide {
        candidates.push(c(Col::Address, "Address", address, false));
    }
    candidates.extend([
        c(Col::State, "State", 5, false),
        // Both widths show the short version (`10.11.6`); the detail box has the full one.
        c(Col::Version, "Version", 9, false),
        c(Col::Uptime, "Uptime", 6, true),
        c(Col::Qps, "QPS", pick(6, 8), true),
        c(Col::Tps, "TPS", pick(6, 8), true),
        c(
            Col::Connections,
            name("Conn/max", "Connected/max"),
            pick(9, 13),
            true,
        ),
        c(Col::Running, name("Run", "Running"), pick(3, 7), true),
        c(Col::BufferPoolHit, name("BP%", "BP hit%"), pick(4, 7), true),
        c(Col::HistoryList, name("Hist", "History"), pick(4, 7), true),
        c(Col::DiskFree, name("Free", "Disk free"), pick(4, 9), true),
        c(Col::Replication, "Replication", pick(12, 18), false),
    ]);
    // At 80 columns this leaves out version, running threads, TPS and uptime.
    let alert_min = pick(16, 20);
    let mut used = alert_min;
    let mut keep = vec![false; candidates.len()];
    for id in PRIORITY {
        let Some(i) = candidates.iter().position(|c| c.id == id) else {
            continue;
        };
        let need = candidates[i].width + 1;
        // The name and state stay even on a terminal too small for them.
        if used + need <= inner || matches!(id, Col::Instance | Col::State) {
            keep[i] = true;
            used += need;
        }
    }
    let mut cols: Vec<Column> = candidates
        .into_iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect();
    let taken: usize = cols.iter().map(|c| c.width + 1).sum();
    cols.push(c(
        Col::WorstAlert,
        "Worst alert",
        inner.saturating_sub(taken).max(4),
        false,
    ));
    cols
}

fn draw_table(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    // Worst first, already filtered: the frame reads only the rows it shows.
    let visible = state.fleet.visible();
    let mut title = format!(" Instances {}", state.instances.len());
    if let (Some((tag, _)), false) = (
        state.fleet.group_summary(),
        state.mode == crate::app::Mode::Filter,
    ) {
        title = format!(
            " Instances {}/{} · tag group {tag}",
            visible.len(),
            state.instances.len()
        );
    } else if !state.filter.is_empty() || state.mode == crate::app::Mode::Filter {
        title = format!(
            " Instances {}/{} · filter: {}",
            visible.len(),
            state.instances.len(),
            state.filter
        );
    }
    let block = Block::bordered()
        .title(Span::styled(
            format!("{title} "),
            theme.style(Meaning::Header),
        ))
        .border_style(theme.style(Meaning::Border));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let [summary_area, inner] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(summary_line(state, theme), summary_area);
    let cols = columns(state, inner.width as usize);
    let header: Vec<Span> = cols
        .iter()
        .map(|c| {
            Span::styled(
                cell(c.title, c.width, c.right) + " ",
                theme.style(Meaning::Header),
            )
        })
        .collect();
    let mut lines = vec![Line::from(header)];
    if visible.is_empty() {
        lines.push(Line::styled(
            "  no instance matches the filter",
            theme.style(Meaning::Muted),
        ));
    }
    let rows = (inner.height as usize).saturating_sub(1).max(1);
    let at = state.fleet.position(state.selected).unwrap_or(0);
    let first = at.saturating_sub(rows - 1);
    for &i in visible.iter().skip(first).take(rows) {
        let inst = &state.instances[i];
        let worst = state.health_pane.monitor.book.worst_firing(&inst.name);
        let mut line = row(inst, state.health.get(&inst.name), worst, &cols, theme);
        if i == state.selected {
            line = line.style(theme.style(Meaning::Selection));
        }
        lines.push(line);
    }
    frame.render_widget(
        Paragraph::new(lines).style(theme.style(Meaning::Text)),
        inner,
    );
}

/// `990 up · 6 slow · 4 down │ alerts 2 crit · 5 warn · 0 info`, from counts kept as results
/// arrive (the title has the number of instances).
/// With a tag group shown (`t`, `:tag NAME`, `/tag:NAME`) the counts are that group's (the
/// title names the group).
fn summary_line<'a>(state: &State, theme: &Theme) -> Line<'a> {
    let group = state.fleet.group_summary();
    let s = group.map_or_else(|| state.fleet.summary(), |(_, s)| s);
    let muted = theme.style(Meaning::Muted);
    let count = |n: usize, word: &str, meaning: Meaning| {
        let style = if n == 0 { muted } else { theme.style(meaning) };
        Span::styled(format!("{n} {word}"), style)
    };
    let sep = || Span::styled(" · ", muted);
    let mut spans = vec![
        count(s.up, "up", Meaning::Ok),
        sep(),
        count(s.slow, "slow", Meaning::Warning),
        sep(),
        count(s.down, "down", Meaning::Alert),
    ];
    if s.waiting > 0 {
        spans.push(sep());
        spans.push(Span::styled(format!("{} waiting", s.waiting), muted));
    }
    spans.push(Span::styled(" │ alerts ", muted));
    spans.push(count(s.critical, "crit", Meaning::Alert));
    spans.push(sep());
    spans.push(count(s.warning, "warn", Meaning::Warning));
    spans.push(sep());
    spans.push(count(s.info, "info", Meaning::Text));
    Line::from(spans)
}

/// One instance as a table row. A down instance shows its error across the figure columns,
/// because the error is the figure a DBA needs.
fn row<'a>(
    inst: &InstanceEntry,
    h: Option<&InstanceHealth>,
    worst: Option<&Alert>,
    cols: &[Column],
    theme: &Theme,
) -> Line<'a> {
    let text = theme.style(Meaning::Text);
    // Where the figures start: after instance, address and state.
    let lead = cols
        .iter()
        .position(|c| !matches!(c.id, Col::Instance | Col::Address | Col::State))
        .unwrap_or(cols.len());
    let (lead_cols, figure_cols) = cols.split_at(lead);
    let rest = figure_cols
        .iter()
        .map(|c| c.width + 1)
        .sum::<usize>()
        .saturating_sub(1);
    let mut spans: Vec<Span<'a>> = Vec::new();
    let (state_word, state_style, whole_row) = match h {
        None => (
            "…",
            Meaning::Muted,
            Some("waiting for the first poll".to_string()),
        ),
        Some(h) if h.status == Status::Down => (
            "DOWN",
            Meaning::Alert,
            Some(h.error.clone().unwrap_or_else(|| "no answer".into())),
        ),
        Some(h) if h.status == Status::Slow => ("slow", Meaning::Warning, None),
        Some(_) => ("up", Meaning::Ok, None),
    };
    for c in lead_cols {
        let (value, style) = match c.id {
            Col::Instance => (inst.name.as_str(), text),
            Col::Address => (inst.address.as_str(), theme.style(Meaning::Muted)),
            _ => (state_word, theme.style(state_style)),
        };
        spans.push(Span::styled(cell(value, c.width, c.right) + " ", style));
    }
    match (h, whole_row) {
        (_, Some(message)) => spans.push(Span::styled(
            cell(&message, rest, false),
            theme.style(state_style),
        )),
        (Some(h), None) => {
            for (i, c) in figure_cols.iter().enumerate() {
                let (value, style) = figure(h, worst, c, theme);
                let gap = if i + 1 < figure_cols.len() { " " } else { "" };
                spans.push(Span::styled(cell(&value, c.width, c.right) + gap, style));
            }
        }
        (None, None) => {}
    }
    Line::from(spans)
}

/// The text and style of one figure cell of a live instance.
fn figure(h: &InstanceHealth, worst: Option<&Alert>, c: &Column, theme: &Theme) -> (String, Style) {
    let text = theme.style(Meaning::Text);
    let flag = |bad: bool, meaning| if bad { theme.style(meaning) } else { text };
    match c.id {
        Col::BufferPoolHit => {
            let hit = h.innodb.buffer_pool_hit_pct;
            let value = match hit {
                None => "-".to_string(),
                Some(p) if p >= 99.95 => "100".to_string(),
                Some(p) => format!("{p:.1}"),
            };
            (value, flag(hit.is_some_and(|p| p < 95.0), Meaning::Warning))
        }
        Col::HistoryList => {
            let hll = h.innodb.history_list_length;
            let value = hll.map_or_else(|| "-".to_string(), compact_count);
            (
                value,
                flag(hll.is_some_and(|n| n >= 50_000), Meaning::Warning),
            )
        }
        Col::DiskFree => {
            let free = h.monitor.disk.datadir_free_pct;
            let value = free.map_or_else(|| "-".to_string(), |p| format!("{p:.0}%"));
            (value, flag(free.is_some_and(|p| p < 10.0), Meaning::Alert))
        }
        Col::WorstAlert => match worst {
            None => ("-".to_string(), theme.style(Meaning::Muted)),
            Some(a) => {
                let (word, meaning) = match a.severity {
                    Severity::Critical => ("crit", Meaning::Alert),
                    Severity::Warning => ("warn", Meaning::Warning),
                    Severity::Info => ("info", Meaning::Text),
                };
                (format!("{word} {}", a.rule.id()), theme.style(meaning))
            }
        },
        Col::Version => {
            let v = h.version.as_deref().unwrap_or("-");
            let v = if c.width < 20 {
                format::version_short(v)
            } else {
                v
            };
            (v.to_string(), text)
        }
        Col::Uptime => (
            h.uptime_s
                .map(format::duration_short)
                .unwrap_or_else(|| "-".into()),
            text,
        ),
        Col::Qps => (format::rate(h.qps), text),
        Col::Tps => (format::rate(h.tps), text),
        Col::Connections => {
            let value = match (h.threads_connected, h.max_connections) {
                (Some(n), Some(max)) => format!("{n}/{max}"),
                (n, _) => format::count(n),
            };
            let nearly_full =
                alerts::connection_share(h).is_some_and(|s| s >= alerts::CONNECTIONS_WARN_RATIO);
            (
                value,
                if nearly_full {
                    theme.style(Meaning::Warning)
                } else {
                    text
                },
            )
        }
        Col::Running => (format::count(h.threads_running), text),
        Col::Replication => (
            format::replication_short(h.replication.as_ref()),
            replication_style(h, theme),
        ),
        Col::Instance | Col::Address | Col::State => (String::new(), text),
    }
}

/// `1234`, `12k`, `1.2M`: a history list length in four characters.
fn compact_count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{}k", n / 1000),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

fn replication_style(h: &InstanceHealth, theme: &Theme) -> Style {
    let Some(r) = &h.replication else {
        return theme.style(Meaning::Muted);
    };
    if !r.io_running || !r.sql_running {
        theme.style(Meaning::Alert)
    } else if r.lag_s.is_some_and(|l| l >= alerts::LAG_WARN_S) {
        theme.style(Meaning::Warning)
    } else {
        theme.style(Meaning::Ok)
    }
}

fn draw_detail(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(inst) = state.selected_instance() else {
        return;
    };
    let mut title = format!(" {} · {}", inst.name, inst.address);
    if !inst.tags.is_empty() {
        title.push_str(&format!(" · {}", inst.tags.join(", ")));
    }
    let block = Block::bordered()
        .title(Span::styled(
            format::fit(&title, area.width.saturating_sub(4) as usize) + " ",
            theme.style(Meaning::Header),
        ))
        .border_style(theme.style(Meaning::Border));
    let lines = match state.health.get(&inst.name) {
        None => vec![Line::styled(
            "No figures yet: waiting for the first poll of this instance.",
            theme.style(Meaning::Muted),
        )],
        Some(h) => detail_lines(state, h, theme),
    };
    let body = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .style(theme.style(Meaning::Text));
    frame.render_widget(body, area);
}

fn detail_lines<'a>(state: &State, h: &InstanceHealth, theme: &Theme) -> Vec<Line<'a>> {
    let polled = format!("polled {}", format::age(state.now, h.sampled_at));
    if h.status == Status::Down {
        return vec![
            Line::from(vec![
                Span::styled("DOWN", theme.style(Meaning::Alert)),
                Span::styled(format!(" · {polled}"), theme.style(Meaning::Muted)),
            ]),
            Line::styled(
                h.error.clone().unwrap_or_else(|| "no answer".into()),
                theme.style(Meaning::Alert),
            ),
        ];
    }
    let read_only = match h.read_only {
        Some(true) => "read_only ON",
        Some(false) => "read_only OFF",
        None => "read_only ?",
    };
    let threads = match (h.threads_connected, h.max_connections) {
        (Some(c), Some(m)) if m > 0 => {
            format!("{c}/{m} connected ({:.0}%)", c as f64 * 100.0 / m as f64)
        }
        (c, _) => format!("{} connected", format::count(c)),
    };
    let (word, meaning) = match h.status {
        Status::Slow => ("slow", Meaning::Warning),
        _ => ("up", Meaning::Ok),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(word, theme.style(meaning)),
            Span::raw(format!(
                " · {} · uptime {} · {read_only}",
                h.version.as_deref().unwrap_or("version ?"),
                h.uptime_s
                    .map(format::duration_long)
                    .unwrap_or_else(|| "?".into())
            )),
        ]),
        Line::raw(format!(
            "{} queries/s · {} transactions/s · {threads} · {} running",
            format::rate(h.qps),
            format::rate(h.tps),
            format::count(h.threads_running)
        )),
        Line::raw(format!(
            "replication: {}",
            format::replication_long(h.replication.as_ref())
        )),
    ];
    if let (Status::Slow, Some(why)) = (h.status, &h.error) {
        lines.push(Line::styled(
            format!("slow: {why}"),
            theme.style(Meaning::Warning),
        ));
    }
    let found = alerts::alerts_for(h);
    if found.is_empty() {
        lines.push(Line::styled(
            format!("no alerts · {polled}"),
            theme.style(Meaning::Muted),
        ));
    }
    for a in found {
        let style = match a.severity {
            alerts::Severity::Alert => theme.style(Meaning::Alert),
            alerts::Severity::Warning => theme.style(Meaning::Warning),
        };
        lines.push(Line::styled(format!("! {}", a.text), style));
    }
    lines
}

fn draw_no_instances(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let config = state
        .config_path
        .as_deref()
        .unwrap_or("~/.config/arkc/config.toml");
    let text = vec![
        Line::styled("No instances configured.", theme.style(Meaning::Header)),
        Line::raw(""),
        Line::raw(format!(
            "Add [[instance]] entries to {config} (see config.example.toml), \
             or run `arkc demo` to try arkc on two throwaway MariaDB servers."
        )),
    ];
    let block = Block::bordered()
        .title(" Instances ")
        .border_style(theme.style(Meaning::Border));
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        area,
    );
}
