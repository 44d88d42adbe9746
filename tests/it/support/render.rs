//! Drawing the whole console into ratatui's TestBackend and reading it back as text, for the
//! rendered-pane tests.
#![allow(dead_code)]

use arkc::app::{Keymap, State};
use arkc::ui::{self, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

/// `state` drawn at `width` x `height` with the built-in default keymap and theme.
pub fn screen(state: &State, width: u16, height: u16) -> String {
    let keymap = Keymap::builtin("default")
        .expect("built-in keymap")
        .expect("parses");
    let theme = Theme::builtin("default")
        .expect("built-in theme")
        .expect("parses");
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| ui::draw(f, state, &theme, &keymap))
        .expect("draw");
    buffer_text(terminal.backend().buffer())
}

/// The buffer's rows, each without trailing blanks and ended by a newline.
pub fn buffer_text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
