//! Reading the trail back for `arkc audit`: every line must be a record; a line that is not
//! stops the read with its file and line number, since a trail with a hole cannot be trusted.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::AuditRecord;

#[derive(Debug, thiserror::Error)]
pub enum AuditReadError {
    #[error("cannot read the audit trail {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}:{line}: not an audit record ({problem}); the file is append-only JSON lines \
             written by arkc: look at that line, it was edited or cut short",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// The records of `path` at or after `since` (all without it), oldest first. A missing file
/// is an empty trail: nothing was written yet.
pub fn read_since(
    path: &Path,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<AuditRecord>, AuditReadError> {
    let io = |source| AuditReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut records = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |problem: String| AuditReadError::Malformed {
            path: path.to_path_buf(),
            line: index + 1,
            problem,
        };
        let record: AuditRecord =
            serde_json::from_str(&line).map_err(|e| malformed(e.to_string()))?;
        let time = DateTime::parse_from_rfc3339(&record.time)
            .map_err(|e| malformed(format!("time `{}`: {e}", record.time)))?
            .with_timezone(&Utc);
        if since.is_none_or(|s| time >= s) {
            records.push(record);
        }
    }
    Ok(records)
}
