//! Whether a server a test had started is gone, told by its process, not its port: a freed
//! loopback port may already belong to another test's server (they all pick ports at once), so
//! "the port no longer answers" or "the port binds again" can fail on a machine running tests side
//! by side.
#![allow(dead_code)]

use std::path::Path;

/// Command lines (arguments joined by spaces) of the running processes that name `path`, e.g. a
/// mariadbd started with `--datadir=PATH/data`.
pub fn processes_naming(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|line| line.contains(&needle))
        .collect()
}
