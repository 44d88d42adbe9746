//! Every theme and keymap file in the repository parses, is compiled in, and is complete; user
//! files override per key; mistakes are errors naming the file and line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arkc::app::keymap::BUILTIN_KEYMAPS;
use arkc::app::{Action, KeyCombo, Keymap};
use arkc::tui::{load_keymap, load_theme};
use arkc::ui::theme::{parse_color, BUILTIN_THEMES, NAMED_COLORS};
use arkc::ui::Theme;
use ratatui::style::Color;

fn repo_files(dir: &str) -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            (
                p.file_stem().expect("stem").to_string_lossy().into_owned(),
                p,
            )
        })
        .collect();
    out.sort();
    out
}

fn keys_of(text: &str) -> BTreeSet<String> {
    let table: toml::Table = toml::from_str(text).expect("valid TOML");
    table.keys().cloned().collect()
}

#[test]
fn every_theme_file_is_built_in_parses_and_sets_every_meaning() {
    let files = repo_files("themes");
    let built_in: BTreeSet<&str> = BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
    let on_disk: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        built_in, on_disk,
        "themes/ and BUILTIN_THEMES must list the same themes"
    );
    assert!(on_disk.is_superset(&["default", "light", "terminal16", "high-contrast"].into()));

    let default_keys = keys_of(&std::fs::read_to_string(&files[0].1).expect("readable"));
    for (name, path) in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let origin = path.display().to_string();
        Theme::fallback()
            .overlay(&text, &origin)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            keys_of(&text),
            default_keys,
            "{origin} must set the same meanings as the others"
        );
        let compiled = BUILTIN_THEMES
            .iter()
            .find(|(n, _)| n == name)
            .expect("built in")
            .1;
        assert_eq!(compiled, text, "{name}: compiled-in copy is stale");
    }
}

#[test]
fn terminal16_uses_only_the_terminals_own_colours() {
    let text = BUILTIN_THEMES
        .iter()
        .find(|(n, _)| *n == "terminal16")
        .expect("present")
        .1;
    let table: toml::Table = toml::from_str(text).expect("valid");
    for (key, value) in table {
        let value = value.as_str().expect("colour strings");
        let colour = parse_color(value).expect("parses");
        assert!(
            !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
            "terminal16 `{key}` = {value} is not one of the 16 named colours"
        );
        assert!(NAMED_COLORS.iter().any(|(n, _)| *n == value));
    }
}

#[test]
fn themes_differ_where_it_matters() {
    let get = |n: &str| {
        Theme::builtin(n)
            .expect("built in")
            .expect("parses")
            .palette
    };
    assert_ne!(
        get("default").text,
        get("light").text,
        "light must darken the text"
    );
    assert_ne!(get("default").alert, get("high-contrast").alert);
}

#[test]
fn every_keymap_file_is_built_in_parses_and_binds_every_action() {
    let files = repo_files("keymaps");
    let built_in: BTreeSet<&str> = BUILTIN_KEYMAPS.iter().map(|(n, _)| *n).collect();
    let on_disk: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        built_in, on_disk,
        "keymaps/ and BUILTIN_KEYMAPS must list the same keymaps"
    );
    for (name, path) in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let origin = path.display().to_string();
        let keymap = Keymap::default()
            .overlay(&text, &origin)
            .unwrap_or_else(|e| panic!("{e}"));
        for action in Action::BINDABLE {
            assert!(
                !keymap.keys_for(action).is_empty(),
                "{origin}: nothing bound to {}",
                action.name()
            );
        }
        let compiled = BUILTIN_KEYMAPS
            .iter()
            .find(|(n, _)| n == name)
            .expect("built in")
            .1;
        assert_eq!(compiled, text, "{name}: compiled-in copy is stale");
    }
}

#[test]
fn default_keymap_takes_arrows_and_vim_keys() {
    let km = Keymap::builtin("default")
        .expect("built in")
        .expect("parses");
    let key = |s: &str| km.lookup(&KeyCombo::parse(s).expect("key name")).cloned();
    for (a, b, action) in [
        ("up", "k", Action::Up),
        ("down", "j", Action::Down),
        ("left", "h", Action::PrevPane),
        ("right", "l", Action::NextPane),
        ("pagedown", "ctrl-d", Action::PageDown),
        ("home", "g", Action::Top),
    ] {
        assert_eq!(key(a), Some(action.clone()), "{a}");
        assert_eq!(key(b), Some(action), "{b}");
    }
}

fn user_dir_with(kind: &str, name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join(kind)).expect("mkdir");
    std::fs::write(dir.path().join(kind).join(format!("{name}.toml")), text).expect("write");
    dir
}

#[test]
fn a_user_theme_file_overrides_only_its_keys() {
    let dir = user_dir_with("themes", "light", "# mine\nalert = \"#010203\"\n");
    let theme = load_theme("light", Some(dir.path())).expect("loads");
    let stock = Theme::builtin("light").expect("built in").expect("parses");
    assert_eq!(theme.palette.alert, Color::Rgb(1, 2, 3));
    assert_eq!(
        theme.palette.text, stock.palette.text,
        "keys the file does not set stay"
    );

    let dir = user_dir_with("themes", "mine", "ok = \"green\"\n");
    let theme = load_theme("mine", Some(dir.path())).expect("a new name builds on default");
    assert_eq!(theme.palette.ok, Color::Green);
    assert_eq!(theme.palette.text, Theme::fallback().palette.text);
}

#[test]
fn theme_mistakes_name_the_file_and_line() {
    let dir = user_dir_with("themes", "default", "text = \"white\"\n\nalrt = \"red\"\n");
    let err = format!("{:#}", load_theme("default", Some(dir.path())).unwrap_err());
    assert!(
        err.contains("default.toml:3:") && err.contains("alrt"),
        "{err}"
    );

    let dir = user_dir_with(
        "themes",
        "default",
        "text = \"white\"\nmuted = \"#12345\"\n",
    );
    let err = format!("{:#}", load_theme("default", Some(dir.path())).unwrap_err());
    assert!(
        err.contains("default.toml:2:") && err.contains("#12345"),
        "{err}"
    );

    let dir = user_dir_with("themes", "default", "accent = \"chartreuse\"\n");
    let err = format!("{:#}", load_theme("default", Some(dir.path())).unwrap_err());
    assert!(
        err.contains(":1:") && err.contains("unknown colour `chartreuse`"),
        "{err}"
    );

    let err = format!("{:#}", load_theme("nosuch", None).unwrap_err());
    assert!(
        err.contains("unknown theme `nosuch`") && err.contains("terminal16"),
        "{err}"
    );
}

#[test]
fn a_theme_name_is_never_a_path() {
    let dir = user_dir_with("themes", "x", "text = \"red\"\n");
    assert!(load_theme("../themes/x", Some(dir.path())).is_err());
}

#[test]
fn a_user_keymap_rebinds_and_unbinds_per_key() {
    let dir = user_dir_with(
        "keymaps",
        "default",
        "[global]\n\"x\" = \"quit\"\n\"q\" = \"none\"\n",
    );
    let km = load_keymap("default", Some(dir.path())).expect("loads");
    let key = |s: &str| km.lookup(&KeyCombo::parse(s).expect("key name")).cloned();
    assert_eq!(key("x"), Some(Action::Quit));
    assert_eq!(key("q"), None, "unbound by \"none\"");
    assert_eq!(key("j"), Some(Action::Down), "untouched keys stay");
}

#[test]
fn keymap_mistakes_name_the_file_and_line() {
    let cases = [
        (
            "[global]\n\"j\" = \"down\"\n\"k\" = \"upp\"\n",
            ":3:",
            "unknown action `upp`",
        ),
        (
            "[global]\n\"ctrl-\" = \"quit\"\n",
            ":2:",
            "unknown key `ctrl-`",
        ),
        ("[global]\n\"hyper-q\" = \"quit\"\n", ":2:", "unknown key"),
        ("[globl]\n\"q\" = \"quit\"\n", ":1:", "globl"),
        (
            "[global]\n\"q\" = \"tick\"\n",
            ":2:",
            "unknown action `tick`",
        ),
    ];
    for (text, line, what) in cases {
        let dir = user_dir_with("keymaps", "default", text);
        let err = format!(
            "{:#}",
            load_keymap("default", Some(dir.path())).unwrap_err()
        );
        assert!(
            err.contains(&format!("default.toml{line}")) && err.contains(what),
            "{text:?} -> {err}"
        );
    }
    let err = format!("{:#}", load_keymap("emacs", None).unwrap_err());
    assert!(
        err.contains("unknown keymap `emacs`") && err.contains("vim"),
        "{err}"
    );
}

#[test]
fn escape_is_another_name_for_cancel() {
    let km = Keymap::default()
        .overlay("[global]\n\"x\" = \"escape\"\n", "test")
        .expect("parses");
    assert_eq!(
        km.lookup(&KeyCombo::parse("x").expect("key")),
        Some(&Action::Cancel)
    );
}

#[test]
fn key_names_round_trip() {
    for name in [
        "q",
        "G",
        "?",
        "ctrl-d",
        "alt-x",
        "shift-tab",
        "enter",
        "esc",
        "pageup",
        "f5",
        "space",
    ] {
        let combo = KeyCombo::parse(name).expect("parses");
        assert_eq!(combo.to_string(), name);
    }
    assert_eq!(KeyCombo::parse("shift-a").expect("parses").to_string(), "A");
    assert!(KeyCombo::parse("f99").is_err());
}
