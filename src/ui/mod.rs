//! Rendering: functions from `&State` to a frame. Nothing here changes state or does I/O.
//! Each pane draws itself (`pane::PaneView`, in `health/`, `slow/`, `binlog/`, `jobs/`); this
//! level draws the frame around it and the overlays.
//!
//! Screen: one line of tabs and instance selector, the focused pane, a status bar, and a
//! command line (palette, filter, messages or key hints). Overlays (help, SQL log) float on top.

mod binlog;
pub mod format;
mod health;
pub mod jobs;
mod overlay;
pub mod pane;
mod slow;
mod sql_log;
pub mod theme;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::{palette, Action, Keymap, MessageKind, Mode, Pane, State};
use crate::health::Status;
pub use pane::PaneView;
pub use theme::{Meaning, Theme};

/// Draw the whole console.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) {
    let area = frame.area();
    frame.render_widget(Block::new().style(theme.style(Meaning::Text)), area);
    let [top, body, status, command] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_top(frame, top, state, theme);
    view_of(state).draw(frame, body, state, theme);
    draw_status(frame, status, state, theme);
    draw_command_line(frame, command, state, theme, keymap);
    match state.mode {
        Mode::Help => overlay::draw_help(frame, body, state, theme, keymap),
        Mode::SqlLog => sql_log::draw(frame, body, state, theme),
        _ => {}
    }
}

/// The focused pane's drawing half: the one place the ui maps a `Pane` to its component.
fn view_of(state: &State) -> &dyn PaneView {
    match state.pane {
        Pane::Health => &state.health_pane,
        Pane::SlowSql => &state.slow,
        Pane::Binlog => &state.binlog,
        Pane::Jobs => &state.jobs,
    }
}

/// Tabs on the left (with their number keys), the instance selector on the right.
fn draw_top(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    for (i, pane) in Pane::ALL.iter().enumerate() {
        let style = if *pane == state.pane {
            theme.style(Meaning::Selection)
        } else {
            theme.style(Meaning::Muted)
        };
        spans.push(Span::styled(format!(" {} {} ", i + 1, pane.title()), style));
        spans.push(Span::raw(" "));
    }
    let tabs_width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);

    let room = (area.width as usize).saturating_sub(tabs_width + 1);
    let selector = selector(state, theme, room);
    frame.render_widget(Paragraph::new(selector.right_aligned()), area);
}

/// `◂ name [tags] 3/7 ▸`, dropping the tags and then cutting the name when room is short.
fn selector<'a>(state: &State, theme: &Theme, room: usize) -> Line<'a> {
    let Some(inst) = state.selected_instance() else {
        return Line::styled("no instances", theme.style(Meaning::Muted));
    };
    let position = format!(" {}/{}", state.selected + 1, state.instances.len());
    let mut tags = match inst.tags.is_empty() {
        true => String::new(),
        false => format!(" [{}]", inst.tags.join(",")),
    };
    let fixed = position.chars().count() + 4; // the arrows and their spaces
    if inst.name.chars().count() + tags.chars().count() + fixed > room {
        tags.clear();
    }
    let name = format::fit(&inst.name, room.saturating_sub(fixed));
    let accent = theme.style(Meaning::Accent);
    let muted = theme.style(Meaning::Muted);
    Line::from(vec![
        Span::styled("◂ ", accent),
        Span::styled(name, accent),
        Span::styled(tags, muted),
        Span::styled(position, muted),
        Span::styled(" ▸", accent),
    ])
}

/// Instance, its state, server and console RO/RW, last poll age, alert count.
fn draw_status(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let bar = theme.style(Meaning::Bar);
    let sep = || Span::styled(" │ ", bar);
    let mut spans = Vec::new();
    if let Some(replay) = &state.replay {
        // Never mistaken for live figures: the first word of the bar, in the warning colour.
        let place = if replay.total == 0 {
            "opening".to_string()
        } else {
            format!(
                "{} {}/{} {}",
                replay.at.format("%Y-%m-%d %H:%M:%S UTC"),
                replay.index + 1,
                replay.total,
                if replay.playing { "playing" } else { "paused" }
            )
        };
        spans.push(Span::styled(
            " REPLAY ",
            bar.patch(theme.style(Meaning::Warning)),
        ));
        spans.push(Span::styled(place, bar));
        spans.push(sep());
    }
    if state.recording.is_some() {
        spans.push(Span::styled(
            " ● REC",
            bar.patch(theme.style(Meaning::Alert)),
        ));
        spans.push(sep());
    }
    match state.selected_instance() {
        None => spans.push(Span::styled(" no instance", bar)),
        Some(inst) => {
            spans.push(Span::styled(
                format!(" {}", format::fit(&inst.name, 20)),
                bar,
            ));
            let health = state.selected_health();
            let (word, meaning) = match health.map(|h| h.status) {
                Some(Status::Up) => ("up", Meaning::Ok),
                Some(Status::Slow) => ("slow", Meaning::Warning),
                Some(Status::Down) => ("DOWN", Meaning::Alert),
                None => ("…", Meaning::Muted),
            };
            spans.push(Span::styled(" ", bar));
            spans.push(Span::styled(word, bar.patch(theme.style(meaning))));
            let server = match health.and_then(|h| h.read_only) {
                Some(true) => "RO",
                Some(false) => "RW",
                None => "?",
            };
            spans.push(sep());
            spans.push(Span::styled(format!("server {server}"), bar));
            spans.push(sep());
            let age = health
                .map(|h| format!("polled {}", format::age(state.now, h.sampled_at)))
                .unwrap_or_else(|| "not polled yet".into());
            spans.push(Span::styled(age, bar));
        }
    }
    spans.push(sep());
    if let Some(pace) = state.fleet.behind() {
        spans.push(Span::styled(
            pace.describe_short(),
            bar.patch(theme.style(Meaning::Warning)),
        ));
        spans.push(sep());
    }
    let console = if state.read_only {
        "arkc RO"
    } else {
        "arkc RW"
    };
    spans.push(Span::styled(console, bar));
    spans.push(sep());
    // Firing alerts from the alert book, most severe first; info alone still reads "0 alerts".
    let (critical, warning, info) = state.alert_counts();
    let mut counts = Vec::new();
    if critical + warning == 0 {
        counts.push(("0 alerts".to_string(), Meaning::Bar));
    }
    for (n, word, meaning) in [
        (critical, "critical", Meaning::Alert),
        (warning, "warning", Meaning::Warning),
        (info, "info", Meaning::Bar),
    ] {
        if n > 0 {
            counts.push((format!("{n} {word}"), meaning));
        }
    }
    for (i, (text, meaning)) in counts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(", ", bar));
        }
        spans.push(Span::styled(text, bar.patch(theme.style(meaning))));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// The bottom line: what is being typed, the last message, or hints for the main keys.
fn draw_command_line(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let line = match (&state.mode, &state.message) {
        (Mode::Palette(text), _) => Line::from(vec![
            Span::styled(":", theme.style(Meaning::Accent)),
            Span::raw(text.clone()),
            Span::styled("█", theme.style(Meaning::Muted)),
            Span::styled(palette_hint(state, text), theme.style(Meaning::Muted)),
        ]),
        (Mode::Filter, _) => Line::from(vec![
            Span::styled("/", theme.style(Meaning::Accent)),
            Span::raw(state.filter.clone()),
            Span::styled("█", theme.style(Meaning::Muted)),
            Span::styled("  enter keeps · esc clears", theme.style(Meaning::Muted)),
        ]),
        (Mode::PaneInput, _) => view_of(state).prompt_line(theme, area.width),
        (_, Some(msg)) => {
            let meaning = if msg.kind == MessageKind::Error {
                Meaning::Alert
            } else {
                Meaning::Text
            };
            Line::styled(msg.text.clone(), theme.style(meaning))
        }
        _ => hint_line(keymap, theme, view_of(state).hints()),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// `   pane NAME · instance NAME` while typing a command, `   health · slow` for its value.
fn palette_hint(state: &State, line: &str) -> String {
    let names: Vec<String> = state.instances.iter().map(|i| i.name.clone()).collect();
    let themes: Vec<&str> = theme::BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
    let found = palette::suggestions(line, &names, &themes);
    if found.is_empty() {
        return String::new();
    }
    format!("   {}", found.join(" · "))
}

fn hint_line<'a>(keymap: &Keymap, theme: &Theme, wanted: &[(Action, &str)]) -> Line<'a> {
    let mut spans = Vec::new();
    for (action, label) in wanted {
        if let Some(key) = keymap.keys_for(action).first() {
            spans.push(Span::styled(key.to_string(), theme.style(Meaning::Accent)));
            spans.push(Span::styled(
                format!(" {label}  "),
                theme.style(Meaning::Muted),
            ));
        }
    }
    Line::from(spans)
}
