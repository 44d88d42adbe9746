//! Reading what `arkc backup run` printed.
#![allow(dead_code)]

use std::process::Output;

/// Exit status, stdout and stderr of a finished command, for failure messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The job id `arkc backup run` prints as its first line; panics with the output (and `what`
/// ran) when there is none.
pub fn printed_job_id(out: &Output, what: &str) -> i64 {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("{what}: no job id printed: {}", output_text(out)))
}
