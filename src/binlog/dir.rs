//! The binlog files of a folder, in server order: as its `.index` file lists them, else every
//! `NAME.NNNNNN` file sorted by name. Shared by the CLI and the Binlog pane's scans.

use std::path::{Path, PathBuf};

/// Why a folder's binlogs could not be listed; each names the folder or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum BinlogDirError {
    #[error("cannot list {}", dir.display())]
    List {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", index.display())]
    Index {
        index: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no binlog files (NAME.000001 ...) in {}", dir.display())]
    Empty { dir: PathBuf },
}

/// Binlog files of `dir`: by its `.index` file when there is one, else by name.
pub fn binlogs_in_dir(dir: &Path) -> Result<Vec<PathBuf>, BinlogDirError> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| BinlogDirError::List {
            dir: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    if let Some(index) = entries
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "index"))
    {
        let text = std::fs::read_to_string(index).map_err(|source| BinlogDirError::Index {
            index: index.clone(),
            source,
        })?;
        return Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let name = Path::new(l.trim()).file_name().unwrap_or_default();
                dir.join(name)
            })
            .collect());
    }
    let mut logs: Vec<PathBuf> = entries
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| {
                e.len() == 6 && e.to_string_lossy().bytes().all(|b| b.is_ascii_digit())
            })
        })
        .collect();
    logs.sort();
    if logs.is_empty() {
        return Err(BinlogDirError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(logs)
}
