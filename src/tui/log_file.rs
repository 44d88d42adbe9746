//! arkc.log with a size bound: past `max_bytes` the file becomes arkc.log.1 (the older ones shift
//! to .2, .3 ...) and a fresh file starts; at most `keep` rotated files stay. A small size check
//! of our own rather than a crate: tracing-appender rolls by time only, and the bound that
//! matters on a bastion host is the size.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl RotatingFile {
    /// Open (append) `path`; its current size counts towards the bound.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            file,
            written,
        })
    }

    /// `arkc.log.N`.
    pub fn rotated_path(path: &Path, n: usize) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        // The oldest falls off the end; the others move up by one.
        let _ = std::fs::remove_file(Self::rotated_path(&self.path, self.keep));
        for n in (1..self.keep).rev() {
            let from = Self::rotated_path(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, Self::rotated_path(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, Self::rotated_path(&self.path, 1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    /// One call is one log line (tracing's fmt layer writes each event whole), so a line never
    /// straddles two files.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            // A failed rotation (disk full, permissions) keeps writing to the current file.
            if let Err(e) = self.rotate() {
                eprintln!("arkc: cannot rotate {}: {e}", self.path.display());
                self.written = 0;
            }
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arkc.log");
        let mut log = RotatingFile::open(&path, 1000, 3).unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..100 {
            log.write_all(line.as_bytes()).unwrap();
        }
        log.flush().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["arkc.log", "arkc.log.1", "arkc.log.2", "arkc.log.3"]
        );
        for name in &names {
            let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
            assert!(len <= 1000, "{name}: {len} bytes");
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(text.lines().all(|l| l.len() == 99), "whole lines only");
        }
        // 100 lines of 100 bytes: the current file holds the newest ones.
        let current = std::fs::read_to_string(&path).unwrap();
        assert_eq!(current.lines().count(), 10);
    }

    #[test]
    fn an_existing_file_counts_towards_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arkc.log");
        std::fs::write(&path, "y".repeat(950)).unwrap();
        let mut log = RotatingFile::open(&path, 1000, 2).unwrap();
        log.write_all(&[b'z'; 100]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![b'z'; 100]);
        assert_eq!(
            std::fs::read(RotatingFile::rotated_path(&path, 1))
                .unwrap()
                .len(),
            950
        );
    }
}
