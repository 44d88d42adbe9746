//! Finding themes and keymaps: built-in presets, overridden per key by the user's files in
//! `<config dir>/themes/NAME.toml` and `<config dir>/keymaps/NAME.toml`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::app::keymap::BUILTIN_KEYMAPS;
use crate::app::Keymap;
use crate::ui::theme::BUILTIN_THEMES;
use crate::ui::Theme;

/// The directory user themes and keymaps live under (the XDG config dir).
pub fn user_dir() -> Option<PathBuf> {
    crate::config::config_dir()
}

/// `NO_COLOR` set to anything non-empty turns colours off (https://no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Theme NAME: the built-in of that name (or the default) with the user's file on top.
pub fn load_theme(name: &str, user_dir: Option<&Path>) -> anyhow::Result<Theme> {
    let user_file = user_file(user_dir, "themes", name);
    let base = match Theme::builtin(name) {
        Some(theme) => theme?,
        None if user_file.is_some() => Theme::fallback(),
        None => anyhow::bail!(unknown("theme", name, BUILTIN_THEMES, user_dir, "themes")),
    };
    match user_file {
        Some(path) => {
            let text = read(&path)?;
            Ok(base.overlay(&text, &path.display().to_string())?)
        }
        None => Ok(base),
    }
}

/// Keymap NAME: the built-in of that name (or the default) with the user's file on top.
pub fn load_keymap(name: &str, user_dir: Option<&Path>) -> anyhow::Result<Keymap> {
    let user_file = user_file(user_dir, "keymaps", name);
    let base = match Keymap::builtin(name) {
        Some(keymap) => keymap?,
        None if user_file.is_some() => {
            Keymap::builtin("default").context("no default keymap")??
        }
        None => anyhow::bail!(unknown(
            "keymap",
            name,
            BUILTIN_KEYMAPS,
            user_dir,
            "keymaps"
        )),
    };
    match user_file {
        Some(path) => {
            let text = read(&path)?;
            Ok(base.overlay(&text, &path.display().to_string())?)
        }
        None => Ok(base),
    }
}

fn user_file(user_dir: Option<&Path>, kind: &str, name: &str) -> Option<PathBuf> {
    // A name is a file stem, never a path: `:theme ../../etc/x` must not read outside the dir.
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    let path = user_dir?.join(kind).join(format!("{name}.toml"));
    path.is_file().then_some(path)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

fn unknown(
    kind: &str,
    name: &str,
    builtin: &[(&str, &str)],
    dir: Option<&Path>,
    sub: &str,
) -> String {
    let names: Vec<&str> = builtin.iter().map(|(n, _)| *n).collect();
    let hint = match dir {
        Some(d) => format!(
            "; or create {}",
            d.join(sub).join(format!("{name}.toml")).display()
        ),
        None => String::new(),
    };
    format!(
        "unknown {kind} `{name}`: built-in {kind}s are {}{hint}",
        names.join(", ")
    )
}
