//! The real `arkc` binary in a real terminal (tmux, 80x24): the four panes, `?` help, `:pane slow`,
//! resize, and every way out (q, Ctrl-C, SIGTERM) leaving the terminal restored with exit code 0.

#[allow(dead_code)] // each test binary uses a different part of the harness
use crate::support::tmux;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tmux::TmuxSession;

/// A condition wait: generous, as a loaded machine can take seconds to draw.
const WAIT: Duration = crate::support::wait::DEADLINE;

/// A config with one instance on a port nobody listens on, and private XDG dirs so the test
/// neither reads the user's themes nor writes into their log.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = "[ui]\nrefresh_ms = 500\n\n[[instance]]\nname = \"nowhere\"\nhost = \"127.0.0.1\"\nport = 9\npassword = \"\"\n";
        std::fs::write(dir.path().join("config.toml"), config).expect("write config");
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn envs(&self) -> Vec<(String, String)> {
        vec![
            (
                "XDG_CONFIG_HOME".into(),
                self.path("config-home").display().to_string(),
            ),
            (
                "XDG_STATE_HOME".into(),
                self.path("state-home").display().to_string(),
            ),
        ]
    }

    /// Start `arkc --config CONFIG extra...` at 80x24. Through `sh` so the test learns its pid.
    fn start(&self, extra: &str, more_env: &[(&str, &str)]) -> TmuxSession {
        let command = format!(
            "echo $$ > '{}'; exec '{}' --config '{}' {extra}",
            self.path("pid").display(),
            env!("CARGO_BIN_EXE_arkc"),
            self.path("config.toml").display()
        );
        let mut envs = self.envs();
        envs.extend(more_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        TmuxSession::start(Path::new("sh"), &["-c", &command], &envs, 80, 24)
    }

    fn pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.path("pid")).expect("pid file");
        text.trim().parse().expect("a pid")
    }
}

/// SGR sequences in `raw` that set a foreground or background colour (16, 256 or RGB);
/// 39 and 49 only reset to the terminal's defaults.
fn colour_codes(raw: &str) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in raw.split("\x1b[").skip(1) {
        let Some(end) = chunk.find(|c: char| c.is_ascii_alphabetic()) else {
            continue;
        };
        if !chunk[end..].starts_with('m') {
            continue;
        }
        let params = &chunk[..end];
        let sets_colour = params
            .split(';')
            .filter_map(|p| p.parse::<u32>().ok())
            .any(|p| matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107));
        if sets_colour {
            found.push(params.to_string());
        }
    }
    found
}

fn assert_restored(session: &TmuxSession) {
    session.wait_for_text("ARKC-EXITED", WAIT);
    assert_eq!(
        session.pane_var("alternate_on"),
        "0",
        "left the alternate screen"
    );
    assert_eq!(session.pane_var("cursor_flag"), "1", "cursor shown again");
}

#[test]
fn shows_panes_help_switches_and_quits_cleanly() {
    let setup = Setup::new();
    let session = setup.start("", &[]);
    let screen = session.wait_for("all four pane names", WAIT, |s| {
        ["Health", "Slow SQL", "Binlog", "Jobs"]
            .iter()
            .all(|p| s.contains(p))
    });
    assert!(
        screen.contains("nowhere"),
        "the configured instance is listed:\n{screen}"
    );
    assert_eq!(session.pane_var("alternate_on"), "1");

    session.keys(&["?"]);
    session.wait_for_text("Help · keymap default", WAIT);
    session.wait_for_text(":pane NAME", WAIT);
    // Waiting for Esc's effect keeps the next key apart from it (else it reads as Alt+key).
    session.keys(&["Escape"]);
    session.wait_for("help closed", WAIT, |s| !s.contains("Help · keymap"));

    session.type_text(":pane slow");
    session.keys(&["Enter"]);
    session.wait_for_text("Slow SQL · nowhere · slow log", WAIT);

    session.resize(100, 30);
    session.wait_for("a redraw at 100 columns", WAIT, |s| {
        s.lines().any(|l| l.trim_end().chars().count() == 100)
    });

    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);
    assert_restored(&session);
}

#[test]
fn ctrl_c_quits_cleanly_from_the_palette_and_from_help() {
    for (open, shown) in [(":pane", ":pane"), ("?", "Help · keymap")] {
        let setup = Setup::new();
        let session = setup.start("", &[]);
        session.wait_for_text("Slow SQL", WAIT);
        session.type_text(open);
        session.wait_for_text(shown, WAIT);
        session.keys(&["C-c"]);
        assert_eq!(session.wait_exit(WAIT), 0, "ctrl-c after {open}");
        assert_restored(&session);
    }
}

#[test]
fn sigterm_restores_the_terminal() {
    let setup = Setup::new();
    let session = setup.start("", &[]);
    session.wait_for_text("Slow SQL", WAIT);
    // SAFETY: kill(2) with a pid we started and SIGTERM has no memory-safety preconditions.
    let rc = unsafe { libc::kill(setup.pid(), libc::SIGTERM) };
    assert_eq!(rc, 0, "kill failed");
    assert_eq!(session.wait_exit(WAIT), 0);
    assert_restored(&session);
}

#[test]
fn read_only_theme_and_no_color_are_honoured() {
    let setup = Setup::new();
    let session = setup.start(
        "--read-only tui --theme terminal16 --keymap vim",
        &[("NO_COLOR", "1")],
    );
    let screen = session.wait_for_text("arkc RO", WAIT);
    assert!(screen.contains("Slow SQL"));
    // The status line can be drawn before the rest of the frame has reached tmux: wait for the
    // mark rather than read the screen once.
    let raw =
        crate::support::wait::wait_for("selection still marked, by reverse video", WAIT, || {
            let raw = session.screen_with_escapes();
            match raw.contains("\x1b[7m") {
                true => Ok(raw),
                false => Err(raw),
            }
        });
    assert_eq!(
        colour_codes(&raw),
        Vec::<String>::new(),
        "NO_COLOR: no colour codes"
    );
    session.type_text(":readonly off");
    session.keys(&["Enter"]);
    session.wait_for_text("started with --read-only", WAIT);
    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);
}

#[test]
fn a_bad_user_keymap_is_reported_before_the_screen_is_taken() {
    let setup = Setup::new();
    let keymaps = setup.path("config-home").join("arkc").join("keymaps");
    std::fs::create_dir_all(&keymaps).expect("mkdir");
    std::fs::write(
        keymaps.join("default.toml"),
        "[global]\n\"q\" = \"quitt\"\n",
    )
    .expect("write");
    let session = setup.start("", &[]);
    assert_eq!(session.wait_exit(WAIT), 1);
    // The exit status is written after arkc's last output reached the terminal, but tmux may
    // not have drawn that output yet: wait for it (the terminal wraps the long message).
    let screen = session
        .wait_for("the keymap error", WAIT, |s| {
            s.replace('\n', "").contains("unknown action")
        })
        .replace('\n', "");
    assert!(
        screen.contains("default.toml:2: unknown action `quitt`"),
        "{screen}"
    );
    assert_eq!(session.pane_var("alternate_on"), "0");
}
