//! Following a slow log file live: read what was appended since the last poll, hand over only
//! complete entries, and cope with rotation (rename + new file) and truncation. Blocking file
//! I/O; the slow-SQL task calls it from `spawn_blocking`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Most bytes read per poll, so a huge existing log loads in steps and the UI keeps updating.
const MAX_READ_PER_POLL: u64 = 64 * 1024 * 1024;

/// Complete entries read by one poll.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TailRead {
    pub bytes: Vec<u8>,
    /// The bytes start a different file than the previous read's (rotation or truncation).
    pub new_file: bool,
    pub rotated: bool,
    pub truncated: bool,
}

/// A slow log followed by path.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    file: Option<File>,
    /// (device, inode) of the open file, to notice a rename + new file at the path.
    id: Option<(u64, u64)>,
    offset: u64,
    /// Bytes after the last complete entry.
    pending: Vec<u8>,
    starts_new_file: bool,
}

impl LogTail {
    /// Follows `path` from its beginning.
    pub fn new(path: &Path) -> LogTail {
        LogTail {
            path: path.to_path_buf(),
            file: None,
            id: None,
            offset: 0,
            pending: Vec::new(),
            starts_new_file: true,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the current file consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Complete entries appended since the last call. An error names the file and what to do.
    pub fn poll(&mut self) -> io::Result<TailRead> {
        let mut out = TailRead::default();
        if self.file.is_none() {
            self.open()?;
        }
        if self.was_truncated()? {
            self.restart_file()?;
            out.truncated = true;
        }
        let appended = self.read_appended()?;
        if appended == 0 && self.replaced_at_path() {
            // The old file is drained (the server may still write to it until it reopens the
            // log, so only switch once it has nothing more): what is left in it is complete.
            let mut rest = std::mem::take(&mut self.pending);
            self.open()?;
            self.read_appended()?;
            out.rotated = true;
            rest.extend(self.take_complete(true));
            if !rest.is_empty() {
                out.bytes = rest;
                out.new_file = true;
                self.starts_new_file = false;
                return Ok(out);
            }
        }
        out.bytes = self.take_complete(appended == 0);
        if !out.bytes.is_empty() {
            out.new_file = std::mem::replace(&mut self.starts_new_file, false);
        }
        Ok(out)
    }

    fn open(&mut self) -> io::Result<()> {
        let file = File::open(&self.path).map_err(|e| self.explain(e))?;
        let meta = file.metadata().map_err(|e| self.explain(e))?;
        self.id = Some((meta.dev(), meta.ino()));
        self.file = Some(file);
        self.offset = 0;
        self.pending.clear();
        self.starts_new_file = true;
        Ok(())
    }

    fn explain(&self, e: io::Error) -> io::Error {
        let hint = match e.kind() {
            io::ErrorKind::NotFound => {
                "check `slow_log` in the config and the server's slow_query_log_file"
            }
            io::ErrorKind::PermissionDenied => "arkc needs read access to the slow log",
            _ => "check the path",
        };
        io::Error::new(
            e.kind(),
            format!("slow log {}: {e} ({hint})", self.path.display()),
        )
    }

    /// The open file shrank below what was read: someone truncated it.
    fn was_truncated(&self) -> io::Result<bool> {
        let Some(file) = &self.file else {
            return Ok(false);
        };
        let len = file.metadata().map_err(|e| self.explain(e))?.len();
        Ok(len < self.offset)
    }

    fn restart_file(&mut self) -> io::Result<()> {
        if let Some(file) = self.file.as_mut() {
            file.seek(SeekFrom::Start(0))?;
        }
        self.offset = 0;
        self.pending.clear();
        self.starts_new_file = true;
        Ok(())
    }

    /// A different file now lives at the path (the old one was renamed or deleted).
    fn replaced_at_path(&self) -> bool {
        match std::fs::metadata(&self.path) {
            Ok(meta) => self.id != Some((meta.dev(), meta.ino())),
            Err(_) => false, // not recreated yet: keep reading the old file
        }
    }

    fn read_appended(&mut self) -> io::Result<u64> {
        let Some(file) = self.file.as_mut() else {
            return Ok(0);
        };
        let before = self.pending.len();
        let read = file.take(MAX_READ_PER_POLL).read_to_end(&mut self.pending);
        let n = read.map_err(|e| self.explain(e))?;
        debug_assert_eq!(n, self.pending.len() - before);
        self.offset += n as u64;
        Ok(n as u64)
    }

    /// Cut `pending` after its last complete entry. An entry is complete when the next one has
    /// begun (`;\n#`), or, when the file stopped growing (`quiet`), when it ends with `;\n`.
    fn take_complete(&mut self, quiet: bool) -> Vec<u8> {
        let trimmed = self.pending.trim_ascii_end().len();
        let ends_entry = trimmed > 0 && self.pending[..trimmed].ends_with(b";");
        let cut = if quiet && ends_entry && trimmed < self.pending.len() {
            Some(self.pending.len())
        } else {
            self.pending
                .windows(3)
                .rposition(|w| w == b";\n#")
                .map(|at| at + 2)
        };
        match cut {
            Some(at) => {
                let rest = self.pending.split_off(at);
                std::mem::replace(&mut self.pending, rest)
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    const A: &str = "# Time: 231125  9:05:03\n# Query_time: 1.0\nselect 1;\n";
    const B: &str = "# Time: 231125  9:05:04\n# Query_time: 2.0\nselect 2;\n";

    #[test]
    fn half_written_entries_wait_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.log");
        append(&path, "# Time: 231125  9:05:03\n# Query_time: 1.0\nsel");
        let mut tail = LogTail::new(&path);
        assert!(tail.poll().unwrap().bytes.is_empty());
        append(&path, "ect 1;\n");
        // Grew during this poll: not yet known to be complete.
        assert!(tail.poll().unwrap().bytes.is_empty());
        let read = tail.poll().unwrap();
        assert_eq!(String::from_utf8(read.bytes).unwrap(), A);
        assert!(read.new_file);
        append(&path, B);
        append(&path, "# Time: 231125");
        let read = tail.poll().unwrap();
        assert_eq!(String::from_utf8(read.bytes).unwrap(), B);
        assert!(!read.new_file);
    }

    #[test]
    fn rotation_drains_the_old_file_then_follows_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.log");
        append(&path, A);
        let mut tail = LogTail::new(&path);
        tail.poll().unwrap();
        tail.poll().unwrap();
        std::fs::rename(&path, dir.path().join("slow.log.1")).unwrap();
        // Written to the renamed file by a server that has not reopened its log yet.
        append(&dir.path().join("slow.log.1"), B);
        append(&path, A);
        let mut seen = String::new();
        let mut rotated = false;
        for _ in 0..4 {
            let read = tail.poll().unwrap();
            rotated |= read.rotated;
            seen.push_str(std::str::from_utf8(&read.bytes).unwrap());
        }
        assert!(rotated);
        assert_eq!(seen, format!("{B}{A}"));
    }

    #[test]
    fn truncation_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.log");
        append(&path, &format!("{A}{B}"));
        let mut tail = LogTail::new(&path);
        tail.poll().unwrap();
        tail.poll().unwrap();
        std::fs::write(&path, "").unwrap();
        append(&path, B);
        let mut seen = String::new();
        let mut truncated = false;
        for _ in 0..3 {
            let read = tail.poll().unwrap();
            truncated |= read.truncated;
            seen.push_str(std::str::from_utf8(&read.bytes).unwrap());
        }
        assert!(truncated);
        assert_eq!(seen, B);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let mut tail = LogTail::new(Path::new("/nonexistent/arkc/slow.log"));
        let err = tail.poll().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/arkc/slow.log"), "{err}");
        assert!(err.contains("slow_log"), "{err}");
    }
}
