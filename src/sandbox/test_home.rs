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
    std::env::temp_dir().join(format!("arkc-test-home-{}", std::process::id()))
}

/// Point `HOME` at a new directory of this process (in the temp dir) and clear the rest. Must run
/// while the process has one thread (before `main`).
pub fn enter() {
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
