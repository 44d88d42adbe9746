//! Drive the real `arkc` binary inside a detached tmux session: type keys, read the screen.
//! Each session uses its own tmux server socket, so tests run in parallel without seeing each other.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct TmuxSession {
    socket: String,
    exit_file: PathBuf,
}

impl TmuxSession {
    /// Start `program args...` in a `width`x`height` terminal. The shell wrapper records the exit
    /// status and keeps the pane open, so the screen left behind can be inspected after exit.
    pub fn start(
        program: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        width: u16,
        height: u16,
    ) -> Self {
        let socket = format!("arkc-test-{}-{}", std::process::id(), unique());
        let exit_file = std::env::temp_dir().join(format!("{socket}.exit"));
        let _ = std::fs::remove_file(&exit_file);
        let mut line = String::new();
        for (k, v) in envs {
            line.push_str(&format!("{k}={} ", shell_quote(v)));
        }
        line.push_str(&shell_quote(&program.display().to_string()));
        for a in args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        let script = format!(
            "{line}; echo $? > {}; echo ARKC-EXITED; sleep 600",
            shell_quote(&exit_file.display().to_string())
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .args(["-e", "TERM=xterm-256color", "sh", "-c", &script])
            .status()
            .expect("tmux must be installed (scripts/test installs it)");
        assert!(status.success(), "tmux new-session failed");
        TmuxSession { socket, exit_file }
    }

    /// Wait until the program has taken the screen (raw mode, then the alternate screen) and drawn
    /// on it. Keys sent before that reach a terminal still in cooked mode, which turns Enter into
    /// Ctrl-J and Ctrl-C into a signal; on a loaded machine the program can take seconds to start.
    pub fn wait_ready(&self, timeout: Duration) {
        let start = Instant::now();
        loop {
            if self.pane_var("alternate_on") == "1" && !self.screen().trim().is_empty() {
                return;
            }
            if start.elapsed() > timeout {
                panic!(
                    "the program did not take the screen within {timeout:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Send keys in tmux `send-keys` syntax (e.g. "q", "Enter", "Escape", "C-c").
    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Type literal text (no key-name interpretation).
    pub fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0", "-l", text])
            .status()
            .expect("tmux send-keys -l");
        assert!(status.success());
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen with colour and attribute escape sequences kept (`capture-pane -e`).
    pub fn screen_with_escapes(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-e", "-t", "0"])
            .output()
            .expect("tmux capture-pane -e");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Resize the terminal, as a user dragging the window would.
    pub fn resize(&self, width: u16, height: u16) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "resize-window", "-t", "0", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .status()
            .expect("tmux resize-window");
        assert!(status.success(), "tmux resize-window failed");
    }

    /// A tmux format variable of the pane, e.g. `alternate_on` or `cursor_flag`.
    pub fn pane_var(&self, name: &str) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "display-message", "-p", "-t", "0"])
            .arg(format!("#{{{name}}}"))
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Wait until `pred` holds for the screen; panics with the last screen if it never does.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for_text(&self, text: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{text:?}"), timeout, |s| s.contains(text))
    }

    /// The program's exit status once it has exited.
    pub fn wait_exit(&self, timeout: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.exit_file) {
                if let Ok(code) = text.trim().parse() {
                    return code;
                }
            }
            if start.elapsed() > timeout {
                panic!(
                    "program did not exit within {timeout:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TmuxSession {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        let _ = std::fs::remove_file(&self.exit_file);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
