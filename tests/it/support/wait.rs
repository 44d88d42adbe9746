//! Waiting for what a server or a terminal does after it has answered: MariaDB writes a
//! slow-log entry after replying to the client, a TUI redraws after the key was read. Poll until
//! the expected state shows or a deadline passes, then fail with what was last seen; never a
//! bare sleep.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use arkc::sandbox::Sandbox;

/// How long a test waits for a server or a screen before calling it a failure. Generous: a
/// loaded 2-core CI machine can take seconds to schedule a write.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Poll `probe` until it returns `Ok`, at most `timeout`; on timeout, panic naming `what` and the
/// last `Err` (what was seen instead).
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(found) => return found,
            Err(seen) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen:\n{seen}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Wait until `cond` holds (for conditions with nothing useful to show on failure).
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    wait_for(what, timeout, || match cond() {
        true => Ok(()),
        false => Err("(condition false)".into()),
    })
}

/// The text of `path` once it contains every one of `needles` (a file a server writes).
pub fn wait_for_file_containing(path: &Path, needles: &[&str], timeout: Duration) -> String {
    let what = format!("{} to contain {needles:?}", path.display());
    wait_for(&what, timeout, || {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        match needles.iter().all(|n| text.contains(n)) {
            true => Ok(text),
            false => Err(text),
        }
    })
}

/// Wait until the server's clock shows a later second than when called: binlog and slow-log
/// times have whole seconds, so what runs next is told apart from what ran before.
pub fn next_server_second(sb: &Sandbox) {
    let now = || {
        sb.exec_sql("SELECT UNIX_TIMESTAMP()")
            .map_err(|e| format!("{e:#}"))
            .and_then(|s| s.trim().parse::<u64>().map_err(|e| format!("{s:?}: {e}")))
    };
    let start = now().unwrap_or_else(|e| panic!("the server's clock: {e}"));
    wait_for(
        "the server's clock to pass a second",
        DEADLINE,
        || match now()? {
            t if t > start => Ok(()),
            t => Err(format!("still {t}")),
        },
    );
}

/// Whether a health status says the server answered the poll: "up", or "slow" (answered past the
/// slow bound, 1 s by default, which a loaded test machine can make any poll take). For tests
/// whose claim is that a server answers, not how fast.
pub fn answered(status: &str) -> bool {
    matches!(status, "up" | "slow")
}
