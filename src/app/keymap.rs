//! Keymaps: TOML files that bind key names to action names, and the lookup from a key press to
//! an `Action`. Parsing is pure; reading user files happens in `tui::presets`.
//!
//! File shape (see keymaps/default.toml):
//! ```toml
//! [global]
//! "j" = "down"
//! "ctrl-d" = "page_down"
//! "x" = "none"      # unbinds x (useful in a user file that overrides a built-in keymap)
//!
//! [slow_sql]         # only on the Slow SQL pane, where it wins over [global]
//! "s" = "sort_next"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use toml::Spanned;

use super::preset::PresetError;
use super::{Action, Mode, Pane};

/// Built-in keymaps, compiled in from the repository's keymaps/ directory.
pub const BUILTIN_KEYMAPS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

/// The value that removes a binding instead of naming an action.
const UNBIND: &str = "none";

/// A key with its modifiers, normalised so that the same press always compares equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyCombo {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyCombo {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> KeyCombo {
        // A typed `G` or `?` already says shift; terminals disagree on whether they also set
        // the SHIFT flag, so it is dropped for characters and back-tab.
        let modifiers = match code {
            KeyCode::Char(_) | KeyCode::BackTab => modifiers - KeyModifiers::SHIFT,
            _ => modifiers,
        };
        KeyCombo { code, modifiers }
    }

    pub fn from_event(ev: &KeyEvent) -> KeyCombo {
        KeyCombo::new(ev.code, ev.modifiers)
    }

    /// Parse names as written in keymap files: `q`, `G`, `?`, `ctrl-c`, `alt-x`, `shift-tab`,
    /// `enter`, `esc`, `pageup`, `f5`, `space` ...
    pub fn parse(text: &str) -> Result<KeyCombo, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (flag, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break; // "ctrl-" alone: let the name lookup reject it
            }
            modifiers |= flag;
            rest = &rest[len..];
        }
        let code = key_code(rest).ok_or_else(|| {
            format!("unknown key `{text}`; use a character or a name like enter, esc, tab, up, pagedown, f5, with ctrl-/alt-/shift- prefixes")
        })?;
        let shifted = modifiers.contains(KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Tab if shifted => KeyCode::BackTab,
            KeyCode::Char(c) if shifted => KeyCode::Char(c.to_ascii_uppercase()),
            other => other,
        };
        Ok(KeyCombo::new(code, modifiers))
    }
}

fn key_code(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(KeyCode::Char(c));
    }
    let lower = name.to_ascii_lowercase();
    let code = match lower.as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" => KeyCode::Insert,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "page_up" | "pgup" => KeyCode::PageUp,
        "pagedown" | "page_down" | "pgdn" => KeyCode::PageDown,
        "space" => KeyCode::Char(' '),
        f if f.starts_with('f') => {
            KeyCode::F(f[1..].parse().ok().filter(|n| (1..=24).contains(n))?)
        }
        _ => return None,
    };
    Some(code)
}

impl fmt::Display for KeyCombo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    global: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Keys of the Slow SQL pane: there they win over `[global]`, elsewhere they do nothing.
    #[serde(default)]
    slow_sql: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Keys of the Binlog pane, the same way.
    #[serde(default)]
    binlog: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Keys of the Health pane, the same way.
    #[serde(default)]
    health: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Keys of the Jobs pane, the same way.
    #[serde(default)]
    jobs: BTreeMap<Spanned<String>, Spanned<String>>,
}

type Section = BTreeMap<Spanned<String>, Spanned<String>>;

/// Key bindings in file order (the help screen lists keys in the order the file gives them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keymap {
    bindings: Vec<(KeyCombo, Action)>,
    /// Per-pane bindings (`[slow_sql]`), consulted before the global ones on that pane.
    pane_bindings: Vec<(Pane, KeyCombo, Action)>,
}

impl Keymap {
    /// A built-in keymap by name.
    pub fn builtin(name: &str) -> Option<Result<Keymap, PresetError>> {
        BUILTIN_KEYMAPS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Keymap::default().overlay(text, &format!("keymaps/{n}.toml")))
    }

    /// Apply a keymap file on top of this one: each key it names is rebound (or unbound with
    /// `"none"`); keys it does not name keep their binding. `origin` is used in messages.
    pub fn overlay(mut self, text: &str, origin: &str) -> Result<Keymap, PresetError> {
        let err = |offset: usize, message: String| PresetError::at(origin, text, offset, message);
        let file: KeymapFile =
            toml::from_str(text).map_err(|e| PresetError::from_toml(origin, text, &e))?;
        for (combo, action) in parsed_section(file.global, &err)? {
            self.bindings.retain(|(k, _)| *k != combo);
            self.bindings.extend(action.map(|a| (combo, a)));
        }
        let sections = [
            (Pane::SlowSql, file.slow_sql),
            (Pane::Binlog, file.binlog),
            (Pane::Health, file.health),
            (Pane::Jobs, file.jobs),
        ];
        for (pane, section) in sections {
            for (combo, action) in parsed_section(section, &err)? {
                self.pane_bindings
                    .retain(|(p, k, _)| !(*p == pane && *k == combo));
                self.pane_bindings.extend(action.map(|a| (pane, combo, a)));
            }
        }
        Ok(self)
    }

    /// What a key means on `pane`: its own binding first, then the global one.
    pub fn lookup_in(&self, pane: Pane, combo: &KeyCombo) -> Option<&Action> {
        self.pane_bindings
            .iter()
            .find(|(p, k, _)| *p == pane && k == combo)
            .map(|(_, _, a)| a)
            .or_else(|| self.lookup(combo))
    }

    pub fn lookup(&self, combo: &KeyCombo) -> Option<&Action> {
        self.bindings
            .iter()
            .find(|(k, _)| k == combo)
            .map(|(_, a)| a)
    }

    /// The keys bound to `action`, in file order (global ones, then per-pane ones).
    pub fn keys_for(&self, action: &Action) -> Vec<KeyCombo> {
        let global = self.bindings.iter().map(|(k, a)| (k, a));
        let per_pane = self.pane_bindings.iter().map(|(_, k, a)| (k, a));
        global
            .chain(per_pane)
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| *k)
            .collect()
    }

    pub fn bindings(&self) -> &[(KeyCombo, Action)] {
        &self.bindings
    }

    /// Turn a key press into an action for the current mode. In the palette and filter line,
    /// printable keys are text; elsewhere everything goes through the keymap. Ctrl-C always
    /// quits, whatever the keymap says, so a broken user keymap can never trap anyone.
    pub fn action_for(&self, mode: &Mode, ev: &KeyEvent) -> Option<Action> {
        self.action_in(None, mode, ev)
    }

    /// `action_for` on `pane`, whose own bindings win over the global ones.
    pub fn action_for_pane(&self, pane: Pane, mode: &Mode, ev: &KeyEvent) -> Option<Action> {
        self.action_in(Some(pane), mode, ev)
    }

    /// The key presses an event stands for. A terminal reports ESC followed at once by a key as
    /// that key with Alt (over a slow SSH link, or when the console is busy, ESC and the next key
    /// arrive in one read). An Alt key the keymap does not bind is therefore taken apart into the
    /// ESC and the key, as they were typed; the rollback editor gets its keys untouched.
    pub fn unmerged(&self, pane: Pane, mode: &Mode, ev: KeyEvent) -> Vec<KeyEvent> {
        let merged = ev.modifiers.contains(KeyModifiers::ALT)
            && ev.kind != KeyEventKind::Release
            && *mode != Mode::PaneEditor
            && self.action_in(Some(pane), mode, &ev).is_none();
        if !merged {
            return vec![ev];
        }
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        let mut key = ev;
        key.modifiers.remove(KeyModifiers::ALT);
        vec![esc, key]
    }

    fn action_in(&self, pane: Option<Pane>, mode: &Mode, ev: &KeyEvent) -> Option<Action> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let combo = KeyCombo::from_event(ev);
        if combo == KeyCombo::new(KeyCode::Char('c'), KeyModifiers::CONTROL) {
            return Some(Action::Interrupt);
        }
        if *mode == Mode::PaneEditor {
            // The editor takes every key except the one that closes it.
            let closes = pane.map_or_else(|| self.lookup(&combo), |p| self.lookup_in(p, &combo));
            return match closes {
                Some(Action::Cancel) => Some(Action::Cancel),
                _ => Some(Action::EditorKey(*ev)),
            };
        }
        if mode.takes_text() {
            let typing = !combo
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            match combo.code {
                KeyCode::Char(c) if typing => return Some(Action::InputChar(c)),
                KeyCode::Backspace => return Some(Action::InputBackspace),
                _ => {}
            }
        }
        match pane {
            Some(pane) => self.lookup_in(pane, &combo).cloned(),
            None => self.lookup(&combo).cloned(),
        }
    }
}

/// A section's bindings in file order; `None` for a key unbound with `"none"`.
fn parsed_section(
    section: Section,
    err: &impl Fn(usize, String) -> PresetError,
) -> Result<Vec<(KeyCombo, Option<Action>)>, PresetError> {
    let mut entries: Vec<_> = section.into_iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
        .into_iter()
        .map(|(key, action)| {
            let combo = KeyCombo::parse(key.get_ref()).map_err(|m| err(key.span().start, m))?;
            if action.get_ref() == UNBIND {
                return Ok((combo, None));
            }
            let parsed = parse_action(action.get_ref()).map_err(|m| err(action.span().start, m))?;
            Ok((combo, Some(parsed)))
        })
        .collect()
}

fn parse_action(name: &str) -> Result<Action, String> {
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        name.into_deserializer();
    Action::deserialize(de).map_err(|_| {
        let known: Vec<String> = Action::BINDABLE.iter().map(|a| a.name()).collect();
        format!(
            "unknown action `{name}`; known actions: {}, or \"none\" to unbind",
            known.join(", ")
        )
    })
}
