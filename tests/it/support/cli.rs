//! Running the arkc binary under test with a config file, and showing what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// `arkc --config CONFIG ARGS...`, run to its end.
pub fn arkc(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// A finished command's exit code and output, for an assertion's message.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
