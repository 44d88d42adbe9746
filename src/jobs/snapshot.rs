//! Taking the source's figures in the same snapshot as a logical dump, without blocking writes.
//!
//! MariaDB tells each `START TRANSACTION WITH CONSISTENT SNAPSHOT` the binlog position it
//! corresponds to (`binlog_snapshot_file/position`): two snapshots at the same position saw the
//! same commits. mariadb-dump records its own snapshot's position that way, and mydumper the
//! position under its own short global read lock. So from just before the tool starts until it
//! has recorded its position, arkc keeps opening snapshots on warm connections, holding one per
//! distinct position; the one at the tool's position counts and checksums every table while the
//! tool runs. When none matches (writes faster than a snapshot opens, or a tool that records no
//! position), the figures come from the newest snapshot and only row counts are comparable.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::checksums::{figures_sql, parse_figures, with_gtid, TableInfo};
use super::sql::SqlClient;
use super::{SnapshotPosition, TableChecksum};

/// Snapshots held at once while waiting for the tool (each is one connection).
const MAX_HELD: usize = 24;
/// How long arkc waits for the tool to record its snapshot position.
const MAX_FOLLOW: Duration = Duration::from_secs(60);
/// One snapshot opens and reports its position well within this.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two snapshots: dense enough to land between two commits, light on the server.
/// Counting and checksumming every table of a large schema can take hours.
const FIGURES_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Pause between two snapshots: dense enough to land between two commits, light on the server.
const OPEN_EVERY: Duration = Duration::from_millis(2);

/// What the tool has said about its own snapshot so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolSnapshot {
    Pending,
    At(SnapshotPosition),
    /// The tool ended (or was cancelled) without recording a position.
    Never,
}

/// A `mariadb` client kept connected, fed statements one batch at a time.
struct Conn {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    batch: u64,
}

impl Conn {
    fn spawn(client: &SqlClient) -> anyhow::Result<Conn> {
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
        let stdin = child.stdin.take().context("client stdin missing")?;
        let stdout = child.stdout.take().context("client stdout missing")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut conn = Conn {
            child,
            stdin: Some(stdin),
            lines,
            batch: 0,
        };
        conn.run(
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
            STATEMENT_TIMEOUT,
        )?;
        Ok(conn)
    }

    /// Run `sql` and return its rows, split on tabs.
    fn run(&mut self, sql: &str, timeout: Duration) -> anyhow::Result<Vec<Vec<String>>> {
        self.batch += 1;
        let marker = format!("arkc-batch-{}", self.batch);
        let stdin = self
            .stdin
            .as_mut()
            .context("the client session is closed")?;
        writeln!(stdin, "{sql}\nSELECT '{marker}';").context("writing to the `mariadb` client")?;
        let deadline = Instant::now() + timeout;
        let mut rows = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == marker => return Ok(rows),
                Ok(line) => rows.push(line.split('\t').map(String::from).collect()),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    bail!("the source did not answer within {} s", timeout.as_secs());
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("the `mariadb` client ended: {}", self.stderr());
                }
            }
        }
    }

    fn stderr(&mut self) -> String {
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err.trim().to_string()
    }

    /// Open a fresh snapshot; returns the binlog position it corresponds to.
    fn open_snapshot(&mut self) -> anyhow::Result<Option<(String, u64)>> {
        let rows = self.run(
            "START TRANSACTION WITH CONSISTENT SNAPSHOT;\nSHOW STATUS LIKE 'binlog_snapshot_%';",
            STATEMENT_TIMEOUT,
        )?;
        Ok(snapshot_at(&rows))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Closing the connection ends its transaction.
        drop(self.stdin.take());
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The position in `SHOW STATUS LIKE 'binlog_snapshot_%'` rows.
fn snapshot_at(rows: &[Vec<String>]) -> Option<(String, u64)> {
    let value = |name: &str| {
        rows.iter()
            .find(|r| r.first().map(String::as_str) == Some(name))
            .and_then(|r| r.get(1))
            .filter(|v| !v.is_empty())
    };
    Some((
        value("Binlog_snapshot_file")?.clone(),
        value("Binlog_snapshot_position")?.parse().ok()?,
    ))
}

/// Whether a held snapshot at `at` is the tool's own.
fn same_point(at: &Option<(String, u64)>, tool: &SnapshotPosition) -> bool {
    matches!((at, &tool.file, tool.pos), (Some((f, p)), Some(tf), Some(tp)) if f == tf && *p == tp)
}

/// Consistent snapshots on the source, one per binlog position seen, newest last.
pub struct SnapshotPool {
    client: SqlClient,
    held: VecDeque<(Option<(String, u64)>, Conn)>,
    spare: Vec<Conn>,
}

impl SnapshotPool {
    /// Open the first snapshot; start the tool only after this returns.
    pub fn open(client: &SqlClient) -> anyhow::Result<SnapshotPool> {
        let mut pool = SnapshotPool {
            client: client.clone(),
            held: VecDeque::new(),
            spare: Vec::new(),
        };
        pool.open_one()?;
        Ok(pool)
    }

    fn open_one(&mut self) -> anyhow::Result<()> {
        let mut conn = match self.spare.pop() {
            Some(c) => c,
            None => Conn::spawn(&self.client)?,
        };
        let at = conn.open_snapshot()?;
        if self.held.back().is_some_and(|(newest, _)| *newest == at) {
            // Nothing committed since the newest held snapshot: this one adds nothing.
            conn.run("COMMIT;", STATEMENT_TIMEOUT)?;
            self.spare.push(conn);
            return Ok(());
        }
        self.held.push_back((at, conn));
        if self.held.len() > MAX_HELD {
            if let Some((_, mut oldest)) = self.held.pop_front() {
                if oldest.run("COMMIT;", STATEMENT_TIMEOUT).is_ok() {
                    self.spare.push(oldest);
                }
            }
        }
        Ok(())
    }

    /// Keep opening snapshots until the tool has recorded its position, then take the figures in
    /// the snapshot at that position (or, when none matches, in the newest one). Returns the
    /// figures and the position of the snapshot they were taken in.
    pub fn follow(
        mut self,
        tool: impl Fn() -> ToolSnapshot,
        tables: &[TableInfo],
    ) -> anyhow::Result<(Vec<TableChecksum>, Option<SnapshotPosition>)> {
        let started = Instant::now();
        let tool_at = loop {
            match tool() {
                ToolSnapshot::At(p) => break Some(p),
                ToolSnapshot::Never => break None,
                ToolSnapshot::Pending if started.elapsed() > MAX_FOLLOW => break None,
                ToolSnapshot::Pending => {}
            }
            self.open_one()?;
            std::thread::sleep(OPEN_EVERY);
        };
        let matched = tool_at
            .as_ref()
            .and_then(|p| self.held.iter().position(|(at, _)| same_point(at, p)));
        let index = matched.unwrap_or(self.held.len().saturating_sub(1));
        let (_, mut conn) = self
            .held
            .remove(index)
            .context("no snapshot was opened on the source")?;
        // Let the other snapshots go before the long part.
        self.held.clear();
        self.spare.clear();
        let mut rows = conn.run("SHOW STATUS LIKE 'binlog_snapshot_%';", STATEMENT_TIMEOUT)?;
        rows.extend(conn.run(&format!("{}COMMIT;", figures_sql(tables)), FIGURES_TIMEOUT)?);
        let (figures, file, pos) = parse_figures(rows, tables)?;
        Ok((figures, with_gtid(&self.client, file, pos)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(a: &str, b: &str) -> Vec<String> {
        vec![a.into(), b.into()]
    }

    #[test]
    fn reads_the_snapshot_position() {
        let rows = [
            row("Binlog_snapshot_file", "mariadb-bin.000003"),
            row("Binlog_snapshot_gtid", "0-1-9"),
            row("Binlog_snapshot_position", "1234"),
        ];
        assert_eq!(
            snapshot_at(&rows),
            Some(("mariadb-bin.000003".into(), 1234))
        );
        // No binary log: empty values, so no position to match.
        assert_eq!(
            snapshot_at(&[
                row("Binlog_snapshot_file", ""),
                row("Binlog_snapshot_position", "0")
            ]),
            None
        );
    }

    #[test]
    fn matches_only_the_same_file_and_position() {
        let at = Some(("b.000001".to_string(), 42));
        let tool = |file: &str, pos| SnapshotPosition {
            file: Some(file.into()),
            pos: Some(pos),
            gtid: None,
        };
        assert!(same_point(&at, &tool("b.000001", 42)));
        assert!(!same_point(&at, &tool("b.000001", 43)));
        assert!(!same_point(&at, &tool("b.000002", 42)));
        assert!(!same_point(&None, &tool("b.000001", 42)));
    }
}
