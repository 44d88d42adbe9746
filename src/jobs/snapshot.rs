//! Taking the source's figures in the same snapshot as mariadb-dump: one client session takes
//! `FLUSH TABLES WITH READ LOCK` and opens its consistent snapshot; the dump starts and opens its
//! own while no commit can happen; once the dump's header (its snapshot position) has appeared
//! the lock is released and the session counts and checksums every table inside its snapshot,
//! while the dump runs. The lock is held for seconds at most: a dump that shows no header within
//! `MAX_LOCK` gets the lock released anyway, and the positions then simply differ.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::checksums::{figures_sql, parse_figures, with_gtid, TableInfo};
use super::sql::SqlClient;
use super::{SnapshotPosition, TableChecksum};

/// The longest arkc keeps writes blocked on the source.
pub const MAX_LOCK: Duration = Duration::from_secs(20);
/// How long FLUSH TABLES WITH READ LOCK may wait for running statements.
const LOCK_WAIT_S: u32 = 10;
const READY: &str = "arkc-snapshot-open";

pub struct SnapshotSession {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Rows seen before the figures (the snapshot position).
    head: Vec<Vec<String>>,
    pub locked_at: Instant,
    released: bool,
}

impl SnapshotSession {
    /// Lock, open the snapshot, and return once both hold.
    pub fn open(client: &SqlClient) -> anyhow::Result<SnapshotSession> {
        let mut child = client
            .command()?
            .args([
                "--batch",
                "--skip-column-names",
                "--unbuffered",
                "--default-character-set=utf8mb4",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run the `mariadb` client")?;
        let mut stdin = child.stdin.take().context("client stdin missing")?;
        let stdout = child.stdout.take().context("client stdout missing")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        writeln!(
            stdin,
            "SET SESSION lock_wait_timeout = {LOCK_WAIT_S};\n\
             SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n\
             FLUSH TABLES WITH READ LOCK;\n\
             START TRANSACTION WITH CONSISTENT SNAPSHOT;\n\
             SHOW STATUS LIKE 'binlog_snapshot_%';\n\
             SELECT '{READY}';"
        )?;
        let mut session = SnapshotSession {
            child,
            stdin: Some(stdin),
            lines,
            head: Vec::new(),
            locked_at: Instant::now(),
            released: false,
        };
        let deadline = Duration::from_secs(u64::from(LOCK_WAIT_S) + 10);
        loop {
            match session.lines.recv_timeout(deadline) {
                Ok(line) if line == READY => break,
                Ok(line) => session
                    .head
                    .push(line.split('\t').map(String::from).collect()),
                Err(_) => {
                    let mut err = String::new();
                    if let Some(mut e) = session.child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    bail!(
                        "could not take FLUSH TABLES WITH READ LOCK and a snapshot: {}",
                        err.trim()
                    );
                }
            }
        }
        session.locked_at = Instant::now();
        Ok(session)
    }

    /// Let writes go on, then take the figures inside the snapshot (runs while the dump runs).
    pub fn release_and_measure(&mut self, tables: &[TableInfo]) -> anyhow::Result<()> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        let mut stdin = self.stdin.take().context("snapshot session closed")?;
        writeln!(stdin, "UNLOCK TABLES;\n{}COMMIT;", figures_sql(tables))?;
        // EOF ends the client once it has run everything.
        Ok(())
    }

    pub fn released(&self) -> bool {
        self.released
    }

    /// Wait for the figures; the position is that of the session's snapshot.
    pub fn finish(
        mut self,
        client: &SqlClient,
        tables: &[TableInfo],
    ) -> anyhow::Result<(Vec<TableChecksum>, Option<SnapshotPosition>)> {
        self.release_and_measure(tables)?;
        let mut rows = std::mem::take(&mut self.head);
        rows.extend(
            self.lines
                .iter()
                .map(|l| l.split('\t').map(String::from).collect()),
        );
        let status = self.child.wait()?;
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            bail!("taking the checksums failed: {}", err.trim());
        }
        let (figures, file, pos) = parse_figures(rows, tables)?;
        Ok((figures, with_gtid(client, file, pos)))
    }
}

impl Drop for SnapshotSession {
    fn drop(&mut self) {
        // Closing the connection releases the lock, whatever happened.
        if self.child.try_wait().ok().flatten().is_none() && !self.released {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
