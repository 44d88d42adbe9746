//! Optimisation tracking for slow-SQL query classes: status and note per query ID, persisted in
//! SQLite in the XDG data dir so it survives restarts and is shared by the pane and `arkc digest`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackStatus {
    New,
    Investigating,
    Fixed,
    Ignored,
}

impl TrackStatus {
    pub const ALL: [TrackStatus; 4] = [
        TrackStatus::New,
        TrackStatus::Investigating,
        TrackStatus::Fixed,
        TrackStatus::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrackStatus::New => "new",
            TrackStatus::Investigating => "investigating",
            TrackStatus::Fixed => "fixed",
            TrackStatus::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Option<TrackStatus> {
        TrackStatus::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The next status in the cycle new -> investigating -> fixed -> ignored -> new.
    pub fn next(self) -> TrackStatus {
        let i = TrackStatus::ALL
            .iter()
            .position(|t| *t == self)
            .unwrap_or(0);
        TrackStatus::ALL[(i + 1) % TrackStatus::ALL.len()]
    }
}

/// What is known about one query class.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    pub query_id: String,
    pub status: TrackStatus,
    pub note: String,
    pub updated_at: DateTime<Utc>,
    /// When the class was marked fixed.
    pub fixed_at: Option<DateTime<Utc>>,
    /// Set when the class was seen again after it was marked fixed.
    pub reappeared_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("tracking database {path}: {source}")]
    Db {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

pub struct TrackingStore {
    conn: Connection,
    path: PathBuf,
}

impl TrackingStore {
    /// The default location: `<XDG data dir>/arkc/tracking.sqlite`.
    pub fn default_path() -> Option<PathBuf> {
        crate::config::data_dir().map(|d| d.join("tracking.sqlite"))
    }

    pub fn open(path: &Path) -> Result<TrackingStore, TrackingError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| TrackingError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS tracking (
                query_id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT '',
                updated_at TEXT NOT NULL,
                fixed_at TEXT,
                reappeared_at TEXT
             );",
        )
        .map_err(|e| db_err(path, e))?;
        Ok(TrackingStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Set a class's status and note. Marking it fixed clears an earlier "reappeared" flag.
    pub fn set(
        &self,
        query_id: &str,
        status: TrackStatus,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TrackingError> {
        let fixed_at = (status == TrackStatus::Fixed).then(|| now.to_rfc3339());
        self.conn
            .execute(
                "INSERT INTO tracking (query_id, status, note, updated_at, fixed_at, reappeared_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)
                 ON CONFLICT(query_id) DO UPDATE SET status = ?2, note = ?3, updated_at = ?4,
                    fixed_at = CASE WHEN ?2 = 'fixed' THEN ?5 ELSE fixed_at END,
                    reappeared_at = CASE WHEN ?2 = 'fixed' THEN NULL ELSE reappeared_at END",
                params![query_id, status.as_str(), note, now.to_rfc3339(), fixed_at],
            )
            .map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    pub fn get(&self, query_id: &str) -> Result<Option<Tracking>, TrackingError> {
        self.conn
            .query_row(
                "SELECT query_id, status, note, updated_at, fixed_at, reappeared_at FROM tracking WHERE query_id = ?1",
                [query_id],
                row_to_tracking,
            )
            .optional()
            .map_err(|e| db_err(&self.path, e))
    }

    pub fn all(&self) -> Result<Vec<Tracking>, TrackingError> {
        let mut stmt = self
            .conn
            .prepare("SELECT query_id, status, note, updated_at, fixed_at, reappeared_at FROM tracking ORDER BY query_id")
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt
            .query_map([], row_to_tracking)
            .map_err(|e| db_err(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| db_err(&self.path, e))
    }

    /// Record that a class was executed at `seen_at`. Returns true when this flags a "fixed" class
    /// as reappeared (seen after it was marked fixed, for the first time since).
    pub fn observe(&self, query_id: &str, seen_at: DateTime<Utc>) -> Result<bool, TrackingError> {
        let Some(t) = self.get(query_id)? else {
            return Ok(false);
        };
        let after_fix = matches!(t.fixed_at, Some(f) if seen_at > f);
        if t.status != TrackStatus::Fixed || !after_fix || t.reappeared_at.is_some() {
            return Ok(false);
        }
        self.conn
            .execute(
                "UPDATE tracking SET reappeared_at = ?2 WHERE query_id = ?1",
                params![query_id, seen_at.to_rfc3339()],
            )
            .map_err(|e| db_err(&self.path, e))?;
        Ok(true)
    }
}

fn row_to_tracking(row: &rusqlite::Row<'_>) -> rusqlite::Result<Tracking> {
    let status: String = row.get(1)?;
    Ok(Tracking {
        query_id: row.get(0)?,
        status: TrackStatus::parse(&status).unwrap_or(TrackStatus::New),
        note: row.get(2)?,
        updated_at: parse_time(&row.get::<_, String>(3)?).unwrap_or_default(),
        fixed_at: row
            .get::<_, Option<String>>(4)?
            .as_deref()
            .and_then(parse_time),
        reappeared_at: row
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(parse_time),
    })
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn db_err(path: &Path, source: rusqlite::Error) -> TrackingError {
    TrackingError::Db {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap()
    }

    #[test]
    fn status_and_note_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tracking.sqlite");
        {
            let store = TrackingStore::open(&path).unwrap();
            store
                .set(
                    "ABCDEF0123456789",
                    TrackStatus::Investigating,
                    "needs index on orders(status)",
                    t(1),
                )
                .unwrap();
        }
        let store = TrackingStore::open(&path).unwrap();
        let got = store.get("ABCDEF0123456789").unwrap().unwrap();
        assert_eq!(got.status, TrackStatus::Investigating);
        assert_eq!(got.note, "needs index on orders(status)");
        assert_eq!(got.updated_at, t(1));
        assert!(store.get("0000000000000000").unwrap().is_none());
    }

    #[test]
    fn fixed_class_seen_later_is_flagged_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = TrackingStore::open(&dir.path().join("t.sqlite")).unwrap();
        store
            .set("Q1", TrackStatus::Fixed, "added index", t(5))
            .unwrap();
        assert!(
            !store.observe("Q1", t(4)).unwrap(),
            "a sighting before the fix is not a reappearance"
        );
        assert!(store.observe("Q1", t(6)).unwrap());
        assert!(!store.observe("Q1", t(7)).unwrap(), "flagged only once");
        assert_eq!(store.get("Q1").unwrap().unwrap().reappeared_at, Some(t(6)));
        // Marking it fixed again clears the flag.
        store
            .set("Q1", TrackStatus::Fixed, "really fixed", t(8))
            .unwrap();
        assert_eq!(store.get("Q1").unwrap().unwrap().reappeared_at, None);
        assert!(
            !store.observe("Q2", t(9)).unwrap(),
            "untracked classes are never flagged"
        );
    }

    #[test]
    fn status_cycle_and_parse() {
        assert_eq!(TrackStatus::New.next(), TrackStatus::Investigating);
        assert_eq!(TrackStatus::Ignored.next(), TrackStatus::New);
        assert_eq!(TrackStatus::parse(" Fixed "), Some(TrackStatus::Fixed));
        assert_eq!(TrackStatus::parse("done"), None);
    }
}
