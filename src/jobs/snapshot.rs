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

/// Snapshots held at once while waiting for the tool (each is one connection): the first half
/// opened are kept (a dump opens its snapshot soon after it starts, but its buffered header may
/// show much later), the second half rolls (a tool may first wait for a lock).
const MAX_HELD: usize = 32;
/// How long arkc waits for the tool to record its snapshot position.
const MAX_FOLLOW: Duration = Duration::from_secs(60);
/// One snapshot opens and reports its position well within this.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two snapshots: dense enough to land between two commits, light on the server.
/// Counting and checksumming every table of a large schema can take hours.
const FIGURES_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

const BATCH_MARK: &str = "arkc-batch-";
/// Connected sessions kept ready, so that opening a snapshot is one round trip.
const WARM: usize = 12;
/// Bursts still opened once the tool says its snapshot is taken.
const BURSTS_AFTER_TAKEN: u32 = 3;
/// Sessions asked for a snapshot at once.
const BURST: usize = 3;

/// What the tool has said about its own snapshot so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolSnapshot {
    Pending,
    /// The tool has opened its snapshot; its position is not known yet (a dump's header sits in
    /// its output buffer): no need to open more.
    Taken,
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
    /// Start a client and its session setup without waiting: connecting takes a process start and
    /// a login, far longer than opening a snapshot on a connected session.
    fn start(client: &SqlClient) -> anyhow::Result<Conn> {
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
        conn.send("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;")?;
        Ok(conn)
    }

    /// Send `sql` followed by this batch's marker; returns the marker.
    fn send(&mut self, sql: &str) -> anyhow::Result<String> {
        self.batch += 1;
        let marker = format!("{BATCH_MARK}{}", self.batch);
        let stdin = self
            .stdin
            .as_mut()
            .context("the client session is closed")?;
        writeln!(stdin, "{sql}\nSELECT '{marker}';").context("writing to the `mariadb` client")?;
        Ok(marker)
    }

    /// Run `sql` and return its rows, split on tabs.
    fn run(&mut self, sql: &str, timeout: Duration) -> anyhow::Result<Vec<Vec<String>>> {
        let marker = self.send(sql)?;
        self.wait(&marker, timeout)
    }

    /// The rows of the batch that ends with `marker`.
    fn wait(&mut self, marker: &str, timeout: Duration) -> anyhow::Result<Vec<Vec<String>>> {
        let deadline = Instant::now() + timeout;
        let mut rows = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == marker => return Ok(rows),
                // The end of an earlier batch nobody waited for (the session setup).
                Ok(line) if line.starts_with(BATCH_MARK) => {}
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
    /// Ask for a fresh snapshot and its binlog position; `wait` for the marker returned.
    fn send_snapshot(&mut self) -> anyhow::Result<String> {
        self.send(
            "START TRANSACTION WITH CONSISTENT SNAPSHOT;\nSHOW STATUS LIKE 'binlog_snapshot_%';",
        )
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
    /// Fresh sessions, connected by a helper thread so that sampling never waits for a login.
    fresh: mpsc::Receiver<anyhow::Result<Conn>>,
    stats: PoolStats,
}

/// How the figures' snapshot was found, for the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Snapshots opened while waiting for the tool's position.
    pub opened: u64,
    /// Of those, at a new binlog position.
    pub distinct: u64,
    /// Let go to stay within `MAX_HELD` connections.
    pub dropped: u64,
    /// From the first snapshot until the tool's position was known.
    pub waited_ms: u64,
    /// A held snapshot was at the tool's position.
    pub matched: bool,
    /// Binlog offsets of the held snapshots, and the tool's.
    pub held_at: Vec<u64>,
    pub tool_at: Option<u64>,
}

impl std::fmt::Display for PoolStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} snapshots opened in {} ms, {} at distinct positions ({} let go), {}",
            self.opened,
            self.waited_ms,
            self.distinct,
            self.dropped,
            if self.matched {
                "one at the tool's position"
            } else {
                "none at the tool's position"
            }
        )?;
        write!(
            f,
            " (held at {:?}, the tool at {:?})",
            self.held_at, self.tool_at
        )
    }
}

/// The source's figures and the position of the snapshot they were taken in.
pub struct Figures {
    pub checksums: Vec<TableChecksum>,
    pub position: Option<SnapshotPosition>,
    pub stats: Option<PoolStats>,
}

impl SnapshotPool {
    /// Open the first snapshot; start the tool only after this returns.
    pub fn open(client: &SqlClient) -> anyhow::Result<SnapshotPool> {
        let (tx, fresh) = mpsc::sync_channel(WARM);
        let connect = client.clone();
        std::thread::spawn(move || loop {
            // Blocks while WARM sessions wait; ends when the pool is gone.
            let conn = Conn::start(&connect);
            let failed = conn.is_err();
            if tx.send(conn).is_err() || failed {
                return;
            }
        });
        let mut pool = SnapshotPool {
            client: client.clone(),
            held: VecDeque::new(),
            spare: Vec::new(),
            fresh,
            stats: PoolStats::default(),
        };
        // Logged in before the tool starts: a login takes far longer than a snapshot.
        for _ in 0..WARM {
            let mut conn = pool
                .fresh
                .recv_timeout(STATEMENT_TIMEOUT)
                .context("no session to the source")??;
            conn.wait(&format!("{BATCH_MARK}1"), STATEMENT_TIMEOUT)?;
            pool.spare.push(conn);
        }
        pool.open_burst()?;
        Ok(pool)
    }

    /// A session to open a snapshot on: a recycled one, else a fresh one.
    fn session(&mut self, wait: bool) -> anyhow::Result<Option<Conn>> {
        if let Some(conn) = self.spare.pop() {
            return Ok(Some(conn));
        }
        let next = if wait {
            self.fresh.recv_timeout(STATEMENT_TIMEOUT).map_err(|_| {
                anyhow::anyhow!(
                    "no session to the source within {} s",
                    STATEMENT_TIMEOUT.as_secs()
                )
            })
        } else {
            match self.fresh.try_recv() {
                Ok(c) => Ok(c),
                Err(_) => return Ok(None),
            }
        };
        next?.map(Some)
    }

    /// Open a burst of snapshots on several sessions at once (their moments spread, covering
    /// short gaps between commits), keeping those at a new binlog position.
    fn open_burst(&mut self) -> anyhow::Result<()> {
        let mut burst = Vec::with_capacity(BURST);
        for i in 0..BURST {
            match self.session(i == 0)? {
                Some(conn) => burst.push(conn),
                None => break,
            }
        }
        let mut markers = Vec::with_capacity(burst.len());
        for conn in &mut burst {
            markers.push(conn.send_snapshot()?);
        }
        for (mut conn, marker) in burst.into_iter().zip(markers) {
            let at = snapshot_at(&conn.wait(&marker, STATEMENT_TIMEOUT)?);
            self.stats.opened += 1;
            self.keep(at, conn);
        }
        Ok(())
    }

    /// Hold `conn`'s snapshot at `at` unless one at that position is held already. A session let
    /// go is reused as it is: its next START TRANSACTION ends the old one.
    fn keep(&mut self, at: Option<(String, u64)>, conn: Conn) {
        if self.held.iter().any(|(held, _)| *held == at) {
            self.spare.push(conn);
            return;
        }
        self.held.push_back((at, conn));
        self.stats.distinct += 1;
        if self.held.len() > MAX_HELD {
            if let Some((_, dropped)) = self.held.remove(MAX_HELD / 2) {
                self.stats.dropped += 1;
                self.spare.push(dropped);
            }
        }
    }

    /// Keep opening snapshots until the tool has recorded its position, then take the figures in
    /// the snapshot at that position (or, when none matches, in the newest one). Returns the
    /// figures and the position of the snapshot they were taken in.
    pub fn follow(
        mut self,
        tool: impl Fn() -> ToolSnapshot,
        tables: &[TableInfo],
    ) -> anyhow::Result<Figures> {
        let started = Instant::now();
        let mut after_taken = 0;
        let tool_at = loop {
            match tool() {
                ToolSnapshot::At(p) => break Some(p),
                ToolSnapshot::Never => break None,
                _ if started.elapsed() > MAX_FOLLOW => break None,
                // Its snapshot exists, its position is on its way. A snapshot opened before the
                // next commit is at the same position: a few more bursts, then wait.
                ToolSnapshot::Taken if after_taken < BURSTS_AFTER_TAKEN => {
                    after_taken += 1;
                    self.open_burst()?;
                }
                ToolSnapshot::Taken => std::thread::sleep(Duration::from_millis(20)),
                ToolSnapshot::Pending => self.open_burst()?,
            }
        };
        if let Some(p) = &tool_at {
            // The tool may have taken its snapshot and told its position between two bursts (a
            // small dump ends before its word that the snapshot is taken is seen). A snapshot
            // opened now is at the tool's position unless a commit came since: one more burst
            // then settles it, as every later snapshot can only be at a later position.
            if !self.held.iter().any(|(at, _)| same_point(at, p)) {
                self.open_burst()?;
            }
        }
        let matched = tool_at
            .as_ref()
            .and_then(|p| self.held.iter().position(|(at, _)| same_point(at, p)));
        self.stats.waited_ms = started.elapsed().as_millis() as u64;
        self.stats.matched = matched.is_some();
        self.stats.held_at = self
            .held
            .iter()
            .filter_map(|(at, _)| at.as_ref().map(|a| a.1))
            .collect();
        self.stats.tool_at = tool_at.as_ref().and_then(|p| p.pos);
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
        let (checksums, file, pos) = parse_figures(rows, tables)?;
        Ok(Figures {
            checksums,
            position: with_gtid(&self.client, file, pos),
            stats: Some(self.stats),
        })
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
