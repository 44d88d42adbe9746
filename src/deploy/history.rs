//! The deploy history: one SQLite file (`deploys.sqlite3` in the XDG data dir) with each
//! deploy (file hash, instance, OS user, binlog positions before and after) and the result of
//! each of its statements. Written as the deploy runs, so a crash leaves what was applied.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

use super::in_doubt::Doubt;
use serde::{Deserialize, Serialize};

/// A binlog coordinate and the server's GTID position at that moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinlogPoint {
    pub file: String,
    pub position: u64,
    pub gtid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    /// 1-based statement index in the file.
    pub index: usize,
    pub line: usize,
    pub sql: String,
    /// "applied", "failed", "in doubt" (the connection was lost while it may have committed),
    /// or "not applied" (settled after being in doubt).
    pub status: String,
    pub affected_rows: u64,
    pub error: Option<String>,
    pub elapsed_ms: u64,
    /// The GTID the server gave this statement's transaction (MariaDB `@@last_gtid`); None
    /// when it wrote nothing to the binlog. Undo selects exactly these transactions.
    pub gtid: Option<String>,
    /// For a statement that was in doubt: how it was settled, or why it could not be.
    pub settled: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployRecord {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub instance: String,
    pub os_user: String,
    pub file: String,
    pub file_sha256: String,
    /// running, applied, failed, undone.
    pub status: String,
    /// The server connection id the statements ran on (the binlog's thread id).
    pub connection_id: u64,
    pub before: Option<BinlogPoint>,
    pub after: Option<BinlogPoint>,
    pub message: String,
    pub statements: Vec<StatementResult>,
}

pub struct DeployHistory {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deploys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  instance TEXT NOT NULL,
  os_user TEXT NOT NULL,
  file TEXT NOT NULL,
  file_sha256 TEXT NOT NULL,
  status TEXT NOT NULL,
  connection_id INTEGER NOT NULL DEFAULT 0,
  before_file TEXT, before_pos INTEGER, before_gtid TEXT,
  after_file TEXT, after_pos INTEGER, after_gtid TEXT,
  message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS deploy_statements (
  deploy_id INTEGER NOT NULL REFERENCES deploys(id),
  idx INTEGER NOT NULL,
  line INTEGER NOT NULL,
  sql TEXT NOT NULL,
  status TEXT NOT NULL,
  affected_rows INTEGER NOT NULL,
  error TEXT,
  elapsed_ms INTEGER NOT NULL,
  gtid TEXT,
  doubt TEXT,
  settled TEXT,
  PRIMARY KEY (deploy_id, idx)
);
";

/// A history written before statements could be in doubt gets their two columns.
fn add_doubt_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('deploy_statements')")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for column in ["doubt", "settled"] {
        if !names.iter().any(|n| n == column) {
            conn.execute_batch(&format!(
                "ALTER TABLE deploy_statements ADD COLUMN {column} TEXT"
            ))?;
        }
    }
    Ok(())
}

/// `deploys.sqlite3` in the XDG data dir (XDG_DATA_HOME is honoured).
pub fn default_path() -> anyhow::Result<PathBuf> {
    Ok(crate::config::data_dir()
        .context("no XDG data dir for the deploy history (set HOME or XDG_DATA_HOME)")?
        .join("deploys.sqlite3"))
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Who runs the deploy: the OS user.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            // SAFETY: getuid has no preconditions.
            format!("uid {}", unsafe { libc::getuid() })
        })
}

impl DeployHistory {
    pub fn open(path: &Path) -> anyhow::Result<DeployHistory> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the deploy history {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("cannot create the tables of {}", path.display()))?;
        add_doubt_columns(&conn)
            .with_context(|| format!("cannot add the in-doubt columns to {}", path.display()))?;
        Ok(DeployHistory {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new deploy, status "running"; returns its id.
    pub fn begin(&self, instance: &str, file: &str, sha256: &str) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO deploys (started_at, instance, os_user, file, file_sha256, status) VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
            params![now(), instance, os_user(), file, sha256],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_before(&self, id: i64, p: &BinlogPoint, connection_id: u64) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deploys SET before_file = ?2, before_pos = ?3, before_gtid = ?4, connection_id = ?5 WHERE id = ?1",
            params![id, p.file, p.position as i64, p.gtid, connection_id as i64],
        )?;
        Ok(())
    }

    pub fn record_statement(&self, id: i64, r: &StatementResult) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO deploy_statements (deploy_id, idx, line, sql, status, affected_rows, error, elapsed_ms, gtid, settled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![id, r.index as i64, r.line as i64, r.sql, r.status, r.affected_rows as i64, r.error, r.elapsed_ms as i64, r.gtid, r.settled],
        )?;
        Ok(())
    }

    /// What was read just before statement `idx` was sent, kept to settle it later.
    pub fn set_doubt(&self, id: i64, idx: usize, doubt: &Doubt) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deploy_statements SET doubt = ?3 WHERE deploy_id = ?1 AND idx = ?2",
            params![id, idx as i64, serde_json::to_string(doubt)?],
        )?;
        Ok(())
    }

    /// The facts kept for statement `idx` in doubt (None when none were read).
    pub fn doubt(&self, id: i64, idx: usize) -> anyhow::Result<Option<Doubt>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT doubt FROM deploy_statements WHERE deploy_id = ?1 AND idx = ?2",
                params![id, idx as i64],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        text.map(|t| {
            serde_json::from_str(&t).with_context(|| {
                format!(
                    "deploy {id} statement {idx}: unreadable in-doubt facts in {}",
                    self.path.display()
                )
            })
        })
        .transpose()
    }

    /// Statement `idx` settled (or still in doubt): its status and the sentence saying why.
    pub fn settle_statement(
        &self,
        id: i64,
        idx: usize,
        status: &str,
        sentence: &str,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deploy_statements SET status = ?3, settled = ?4 WHERE deploy_id = ?1 AND idx = ?2",
            params![id, idx as i64, status, sentence],
        )?;
        Ok(())
    }

    /// The binlog end after the change, read once the statement in doubt was settled.
    pub fn set_after(&self, id: i64, p: &BinlogPoint) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deploys SET after_file = ?2, after_pos = ?3, after_gtid = ?4 WHERE id = ?1",
            params![id, p.file, p.position as i64, p.gtid],
        )?;
        Ok(())
    }

    pub fn finish(
        &self,
        id: i64,
        status: &str,
        after: Option<&BinlogPoint>,
        message: &str,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deploys SET finished_at = ?2, status = ?3, after_file = ?4, after_pos = ?5, after_gtid = ?6, message = ?7 WHERE id = ?1",
            params![
                id,
                now(),
                status,
                after.map(|p| p.file.clone()),
                after.map(|p| p.position as i64),
                after.map(|p| p.gtid.clone()),
                message
            ],
        )?;
        Ok(())
    }

    pub fn set_status(&self, id: i64, status: &str, message: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deploys SET status = ?2, message = ?3 WHERE id = ?1",
            params![id, status, message],
        )?;
        Ok(())
    }

    pub fn get(&self, id: i64) -> anyhow::Result<Option<DeployRecord>> {
        let mut records = self.query(Some(id))?;
        Ok(records.pop())
    }

    /// Every deploy, oldest first.
    pub fn list(&self) -> anyhow::Result<Vec<DeployRecord>> {
        self.query(None)
    }

    fn query(&self, id: Option<i64>) -> anyhow::Result<Vec<DeployRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, started_at, finished_at, instance, os_user, file, file_sha256, status, connection_id, \
             before_file, before_pos, before_gtid, after_file, after_pos, after_gtid, message \
             FROM deploys WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
        )?;
        let point = |f: Option<String>, p: Option<i64>, g: Option<String>| {
            f.zip(p).map(|(file, pos)| BinlogPoint {
                file,
                position: pos as u64,
                gtid: g.unwrap_or_default(),
            })
        };
        let rows = stmt.query_map(params![id], |r| {
            Ok(DeployRecord {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                instance: r.get(3)?,
                os_user: r.get(4)?,
                file: r.get(5)?,
                file_sha256: r.get(6)?,
                status: r.get(7)?,
                connection_id: r.get::<_, i64>(8)? as u64,
                before: point(r.get(9)?, r.get(10)?, r.get(11)?),
                after: point(r.get(12)?, r.get(13)?, r.get(14)?),
                message: r.get(15)?,
                statements: Vec::new(),
            })
        })?;
        let mut out = rows.collect::<Result<Vec<_>, _>>()?;
        for d in &mut out {
            d.statements = self.statements(d.id)?;
        }
        Ok(out)
    }

    fn statements(&self, id: i64) -> anyhow::Result<Vec<StatementResult>> {
        let mut stmt = self.conn.prepare(
            "SELECT idx, line, sql, status, affected_rows, error, elapsed_ms, gtid, settled FROM deploy_statements WHERE deploy_id = ?1 ORDER BY idx",
        )?;
        let rows = stmt.query_map(params![id], |r| {
            Ok(StatementResult {
                index: r.get::<_, i64>(0)? as usize,
                line: r.get::<_, i64>(1)? as usize,
                sql: r.get(2)?,
                status: r.get(3)?,
                affected_rows: r.get::<_, i64>(4)? as u64,
                error: r.get(5)?,
                elapsed_ms: r.get::<_, i64>(6)? as u64,
                gtid: r.get(7)?,
                settled: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The distinct GTIDs of the deploy's transactions, in order (what undo reverses).
    pub fn gtids(d: &DeployRecord) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in d.statements.iter().filter_map(|s| s.gtid.clone()) {
            if !g.is_empty() && !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }

    /// Whether a deploy with this id exists (for clear "no deploy N" errors).
    pub fn exists(&self, id: i64) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM deploys WHERE id = ?1", params![id], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_round_trips_with_its_statements() {
        let dir = tempfile::tempdir().unwrap();
        let h = DeployHistory::open(&dir.path().join("d.sqlite3")).unwrap();
        let id = h.begin("primary", "change.sql", "abc").unwrap();
        let p = BinlogPoint {
            file: "bin.000001".into(),
            position: 4,
            gtid: "0-1-5".into(),
        };
        h.set_before(id, &p, 42).unwrap();
        h.record_statement(
            id,
            &StatementResult {
                index: 1,
                line: 3,
                sql: "UPDATE t SET a=1 WHERE id=1".into(),
                status: "applied".into(),
                affected_rows: 1,
                error: None,
                elapsed_ms: 2,
                gtid: Some("0-1-6".into()),
                settled: None,
            },
        )
        .unwrap();
        h.finish(id, "applied", Some(&p), "1 statement").unwrap();
        let d = h.get(id).unwrap().unwrap();
        assert_eq!(
            (d.status.as_str(), d.connection_id, d.statements.len()),
            ("applied", 42, 1)
        );
        assert_eq!(d.before, Some(p));
        assert!(h.get(id + 1).unwrap().is_none());
    }

    #[test]
    fn a_history_from_before_doubts_gets_their_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        let before_doubts = SCHEMA.replace("  doubt TEXT,\n  settled TEXT,\n", "");
        assert_ne!(before_doubts, SCHEMA);
        old.execute_batch(&before_doubts).unwrap();
        old.execute_batch(
            "INSERT INTO deploys (started_at, instance, os_user, file, file_sha256, status) \
             VALUES ('t', 'primary', 'me', 'c.sql', 'abc', 'failed'); \
             INSERT INTO deploy_statements (deploy_id, idx, line, sql, status, affected_rows, \
             elapsed_ms) VALUES (1, 1, 1, 'ALTER TABLE t ADD w INT', 'in doubt', 0, 1);",
        )
        .unwrap();
        drop(old);
        let h = DeployHistory::open(&path).unwrap();
        assert_eq!(h.doubt(1, 1).unwrap(), None);
        let doubt = Doubt {
            connection_id: 9,
            sent_at: 1,
            before: BinlogPoint::default(),
            ddl: None,
            last: true,
        };
        h.set_doubt(1, 1, &doubt).unwrap();
        assert_eq!(h.doubt(1, 1).unwrap(), Some(doubt));
        h.settle_statement(1, 1, "applied", "settled: statement 1 WAS applied")
            .unwrap();
        let d = h.get(1).unwrap().unwrap();
        assert_eq!(d.statements[0].status, "applied");
        assert_eq!(
            d.statements[0].settled.as_deref(),
            Some("settled: statement 1 WAS applied")
        );
    }
}
