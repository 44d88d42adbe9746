//! Themes map meanings (alert, muted, selection ...) to colours, so panes never name a hue.
//! Built-in themes are the repository's themes/*.toml compiled in; a user file overrides only
//! the keys it sets. With `NO_COLOR` the theme gives modifiers only (bold, dim, reversed).

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::app::PresetError;

/// Built-in themes, compiled in from the repository's themes/ directory.
pub const BUILTIN_THEMES: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("terminal16", include_str!("../../themes/terminal16.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// What a piece of the screen means; the theme decides how that looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    Text,
    Muted,
    Accent,
    Alert,
    Warning,
    Ok,
    Border,
    Header,
    Selection,
    Bar,
}

/// Colours by meaning, one field per key a theme file may set.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub background: Color,
    pub text: Color,
    pub muted: Color,
    pub accent: Color,
    pub alert: Color,
    pub warning: Color,
    pub ok: Color,
    pub border: Color,
    pub header: Color,
    pub selection: Color,
    pub selection_text: Color,
    pub bar: Color,
    pub bar_text: Color,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub palette: Palette,
    /// `NO_COLOR`: ignore the palette and mark meaning with modifiers only.
    pub no_color: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    background: Option<Spanned<String>>,
    text: Option<Spanned<String>>,
    muted: Option<Spanned<String>>,
    accent: Option<Spanned<String>>,
    alert: Option<Spanned<String>>,
    warning: Option<Spanned<String>>,
    ok: Option<Spanned<String>>,
    border: Option<Spanned<String>>,
    header: Option<Spanned<String>>,
    selection: Option<Spanned<String>>,
    selection_text: Option<Spanned<String>>,
    bar: Option<Spanned<String>>,
    bar_text: Option<Spanned<String>>,
}

/// The terminal's own 16 colours by the names theme files use, plus `reset` (the terminal's
/// default foreground or background).
pub const NAMED_COLORS: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark_gray", Color::DarkGray),
    ("light_red", Color::LightRed),
    ("light_green", Color::LightGreen),
    ("light_yellow", Color::LightYellow),
    ("light_blue", Color::LightBlue),
    ("light_magenta", Color::LightMagenta),
    ("light_cyan", Color::LightCyan),
    ("white", Color::White),
];

/// `#rrggbb` or one of `NAMED_COLORS`.
pub fn parse_color(text: &str) -> Result<Color, String> {
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
        return Err(format!(
            "bad colour `{text}`; write #rrggbb with six hex digits"
        ));
    }
    NAMED_COLORS
        .iter()
        .find(|(n, _)| *n == text)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = NAMED_COLORS.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown colour `{text}`; use #rrggbb or one of {}",
                names.join(", ")
            )
        })
}

impl Theme {
    /// The built-in default, used as the base every other theme overrides.
    pub fn fallback() -> Theme {
        let text = BUILTIN_THEMES[0].1;
        Theme::overlay_palette(Palette::blank(), text, "themes/default.toml")
            .map(|palette| Theme {
                palette,
                no_color: false,
            })
            .unwrap_or_else(|_| Theme {
                palette: Palette::blank(),
                no_color: false,
            })
    }

    /// A built-in theme by name (on top of the default, so partial presets stay complete).
    pub fn builtin(name: &str) -> Option<Result<Theme, PresetError>> {
        let (n, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name)?;
        Some(Theme::fallback().overlay(text, &format!("themes/{n}.toml")))
    }

    /// Apply a theme file on top of this one: keys it sets win, the rest stay.
    pub fn overlay(self, text: &str, origin: &str) -> Result<Theme, PresetError> {
        let palette = Theme::overlay_palette(self.palette, text, origin)?;
        Ok(Theme {
            palette,
            no_color: self.no_color,
        })
    }

    fn overlay_palette(mut p: Palette, text: &str, origin: &str) -> Result<Palette, PresetError> {
        let file: ThemeFile =
            toml::from_str(text).map_err(|e| PresetError::from_toml(origin, text, &e))?;
        let set = |slot: &mut Color, value: Option<Spanned<String>>| -> Result<(), PresetError> {
            if let Some(v) = value {
                *slot = parse_color(v.get_ref())
                    .map_err(|m| PresetError::at(origin, text, v.span().start, m))?;
            }
            Ok(())
        };
        set(&mut p.background, file.background)?;
        set(&mut p.text, file.text)?;
        set(&mut p.muted, file.muted)?;
        set(&mut p.accent, file.accent)?;
        set(&mut p.alert, file.alert)?;
        set(&mut p.warning, file.warning)?;
        set(&mut p.ok, file.ok)?;
        set(&mut p.border, file.border)?;
        set(&mut p.header, file.header)?;
        set(&mut p.selection, file.selection)?;
        set(&mut p.selection_text, file.selection_text)?;
        set(&mut p.bar, file.bar)?;
        set(&mut p.bar_text, file.bar_text)?;
        Ok(p)
    }

    pub fn with_no_color(mut self, no_color: bool) -> Theme {
        self.no_color = no_color;
        self
    }

    /// The style for a meaning.
    pub fn style(&self, meaning: Meaning) -> Style {
        if self.no_color {
            return Style::default().add_modifier(plain_modifier(meaning));
        }
        let p = &self.palette;
        let fg = |c: Color| Style::default().fg(c);
        match meaning {
            Meaning::Text => fg(p.text).bg(p.background),
            Meaning::Muted => fg(p.muted),
            Meaning::Accent => fg(p.accent).add_modifier(Modifier::BOLD),
            Meaning::Alert => fg(p.alert).add_modifier(Modifier::BOLD),
            Meaning::Warning => fg(p.warning),
            Meaning::Ok => fg(p.ok),
            Meaning::Border => fg(p.border),
            Meaning::Header => fg(p.header).add_modifier(Modifier::BOLD),
            Meaning::Selection => fg(p.selection_text)
                .bg(p.selection)
                .add_modifier(Modifier::BOLD),
            Meaning::Bar => fg(p.bar_text).bg(p.bar),
        }
    }
}

/// Without colour, meaning is carried by weight and inversion alone.
fn plain_modifier(meaning: Meaning) -> Modifier {
    match meaning {
        Meaning::Text | Meaning::Ok | Meaning::Border => Modifier::empty(),
        Meaning::Muted => Modifier::DIM,
        Meaning::Accent | Meaning::Header | Meaning::Warning => Modifier::BOLD,
        Meaning::Alert => Modifier::BOLD | Modifier::UNDERLINED,
        Meaning::Selection | Meaning::Bar => Modifier::REVERSED,
    }
}

impl Palette {
    /// The terminal's own colours everywhere; the starting point before default.toml applies.
    fn blank() -> Palette {
        Palette {
            background: Color::Reset,
            text: Color::Reset,
            muted: Color::Reset,
            accent: Color::Reset,
            alert: Color::Reset,
            warning: Color::Reset,
            ok: Color::Reset,
            border: Color::Reset,
            header: Color::Reset,
            selection: Color::Reset,
            selection_text: Color::Reset,
            bar: Color::Reset,
            bar_text: Color::Reset,
        }
    }
}
