//! The help screen, floating over the pane, generated from the active keymap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::format;
use super::theme::{Meaning, Theme};
use crate::app::{palette, Action, Keymap, Pane, State};

/// A box centred in `area`, at most `width` x `height`.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Help lines: every bindable action with its keys (even unbound ones, so a user sees what a
/// keymap could bind), then the palette commands.
fn help_lines<'a>(
    keymap: &Keymap,
    theme: &Theme,
    key_width: usize,
    pane: Pane,
    replaying: bool,
) -> Vec<Line<'a>> {
    let mut lines = vec![Line::styled("Keys", theme.style(Meaning::Header))];
    // Global actions, and those of the focused pane only.
    let shown = Action::BINDABLE
        .iter()
        .filter(|a| a.pane().is_none_or(|p| p == pane))
        // The time cursor's keys only mean something in a replay.
        .filter(|a| replaying || !a.is_replay_control());
    for action in shown {
        let keys: Vec<String> = keymap
            .keys_for(action)
            .iter()
            .map(|k| k.to_string())
            .collect();
        let (text, meaning) = match keys.is_empty() {
            true => ("(unbound)".to_string(), Meaning::Muted),
            false => (keys.join(" "), Meaning::Accent),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format::cell(&text, key_width, false) + " ",
                theme.style(meaning),
            ),
            Span::raw(action.description()),
        ]));
    }
    lines.push(Line::styled(
        "Commands (after :)",
        theme.style(Meaning::Header),
    ));
    for (usage, what) in palette::USAGE {
        lines.push(Line::from(vec![
            Span::styled(
                format::cell(usage, key_width, false) + " ",
                theme.style(Meaning::Accent),
            ),
            Span::raw(*what),
        ]));
    }
    lines
}

pub fn draw_help(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let total = crate::app::help_line_count();
    // Two columns from 76 columns up (80x24 included); they scroll when even two do not fit.
    let two_columns = area.width >= 76;
    let (width, key_width) = if two_columns {
        (area.width.min(110), 16)
    } else {
        (area.width, 16)
    };
    let rows_needed = if two_columns {
        total.div_ceil(2)
    } else {
        total
    } as u16;
    let popup = centred(area, width, rows_needed + 2);
    let title = format!(
        " Help · keymap {} · ctrl-c always quits · esc closes ",
        state.keymap_name
    );
    let block = Block::bordered()
        .title(Span::styled(title, theme.style(Meaning::Header)))
        .border_style(theme.style(Meaning::Accent));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block.style(theme.style(Meaning::Text)), popup);

    let lines = help_lines(keymap, theme, key_width, state.pane, state.replay.is_some());
    if two_columns {
        let rows = (inner.height as usize).max(1);
        let fits = lines.len() <= 2 * rows;
        let half = if fits { lines.len().div_ceil(2) } else { rows };
        let scroll = match fits {
            true => 0,
            false => state.overlay_scroll.min(lines.len() - 2 * rows),
        };
        let more = !fits && scroll + 2 * rows < lines.len();
        let mut right: Vec<Line> = lines.into_iter().skip(scroll).take(2 * rows).collect();
        if more {
            right.pop();
            right.push(Line::styled(
                "  ↓ more (down, pagedown)",
                theme.style(Meaning::Muted),
            ));
        }
        let left: Vec<Line> = right.drain(..half.min(right.len())).collect();
        let col = inner.width / 2;
        let left_area = Rect {
            width: col,
            ..inner
        };
        let right_area = Rect {
            x: inner.x + col,
            width: inner.width - col,
            ..inner
        };
        frame.render_widget(Paragraph::new(left), left_area);
        frame.render_widget(Paragraph::new(right), right_area);
        return;
    }
    let shown = inner.height as usize;
    let scroll = state.overlay_scroll.min(lines.len().saturating_sub(shown));
    let mut visible: Vec<Line> = lines.into_iter().skip(scroll).take(shown).collect();
    if scroll + shown < total && shown > 0 {
        visible.pop();
        visible.push(Line::styled(
            "  ↓ more (down, pagedown)",
            theme.style(Meaning::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(visible), inner);
}
