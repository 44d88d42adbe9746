//! A private home for a test process, so no test reads or writes the developer's own `~`: the
//! audit trail, logs, tracking store, backup and deploy histories all derive from `HOME` (or the
//! XDG variables and `ARKC_DATA_DIR`, which are cleared so they derive from it). The test
//! binaries call `enter` before `main` (an `.init_array` entry) and `leave` after it; a test that
//! sets its own `HOME`, `XDG_*` or `ARKC_DATA_DIR` for a child still wins.

use std::path::PathBuf;

/// Variables that would point a test at a real user's files.
const CLEARED: [&str; 6] = [
    "ARKC_DATA_DIR",
    "ARKC_CONFIG",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
];

fn home_of_this_process() -> PathBuf {
    std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id()))
}

const PREFIX: &str = "arkc-test-home-";

/// A dead process's home younger than this is left alone (see `remove_stale_homes`).
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Remove the homes that killed test processes left behind (`leave` never ran for them): only
/// `arkc-test-home-PID` folders whose PID is not a live process. Without `/proc` nothing can be
/// told dead, so nothing is removed.
pub fn remove_stale_homes() {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        // A zombie still has its /proc entry, so a folder is never taken from a live process;
        // the age guard spares the home of a process that reused the PID a moment ago.
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= STALE_AFTER));
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && old && pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Point `HOME` at a new directory of this process (in the temp dir) and clear the rest, after
/// removing homes of dead test processes. Must run while the process has one thread (before
/// `main`).
pub fn enter() {
    remove_stale_homes();
    let home = home_of_this_process();
    if std::fs::create_dir_all(&home).is_err() {
        // Without a private home, fail closed: no home at all rather than the real one.
        std::env::remove_var("HOME");
    } else {
        std::env::set_var("HOME", &home);
    }
    for name in CLEARED {
        std::env::remove_var(name);
    }
}

/// Remove the directory `enter` made (servers a test kept running are not in it).
pub fn leave() {
    let home = home_of_this_process();
    if std::env::var_os("HOME").is_some_and(|h| h == home.as_os_str()) {
        let _ = std::fs::remove_dir_all(home);
    }
}

/// Whether this process runs under `enter`'s private home.
pub fn is_private() -> bool {
    std::env::var_os("HOME").is_some_and(|h| h == home_of_this_process().as_os_str())
}

/// `.init_array`/`.fini_array` entries for a test binary: `private_test_home!();` at its root.
#[macro_export]
macro_rules! private_test_home {
    () => {
        #[used]
        #[link_section = ".init_array"]
        static ARKC_ENTER_TEST_HOME: extern "C" fn() = {
            extern "C" fn enter() {
                $crate::sandbox::test_home::enter();
            }
            enter
        };
        #[used]
        #[link_section = ".fini_array"]
        static ARKC_LEAVE_TEST_HOME: extern "C" fn() = {
            extern "C" fn leave() {
                $crate::sandbox::test_home::leave();
            }
            leave
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PID that was just used and is now free (its process was reaped).
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let pid = child.id();
        child.wait().expect("reaped");
        pid
    }

    fn home_of(pid: u32, age: std::time::Duration) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{PREFIX}{pid}"));
        std::fs::create_dir_all(dir.join(".local/state")).expect("home");
        let when = std::time::SystemTime::now() - age;
        std::fs::File::open(&dir)
            .and_then(|f| f.set_modified(when))
            .expect("set mtime");
        dir
    }

    #[test]
    fn removes_only_old_homes_of_dead_processes() {
        let hour = std::time::Duration::from_secs(3600);
        let dead_old = home_of(dead_pid(), hour);
        let dead_new = home_of(dead_pid(), std::time::Duration::ZERO);
        // PID 1 is always alive.
        let alive_old = home_of(1, hour);
        let not_a_pid = std::env::temp_dir().join(format!("{PREFIX}x1"));
        std::fs::create_dir_all(&not_a_pid).expect("dir");

        remove_stale_homes();

        assert!(!dead_old.exists(), "{} left behind", dead_old.display());
        assert!(dead_new.exists(), "a just-made home was removed");
        assert!(alive_old.exists(), "a live process's home was removed");
        assert!(not_a_pid.exists());
        for dir in [dead_new, not_a_pid] {
            let _ = std::fs::remove_dir_all(dir);
        }
        // Only the empty test folders: PID 1 never runs a test binary.
        let _ = std::fs::remove_dir_all(alive_old);
    }
}
