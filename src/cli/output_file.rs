//! The file of `-o FILE`: written beside its target under a temporary name and renamed into
//! place only once complete (flushed and synced), so a full disk or a killed run never leaves
//! a half export under the name asked for. A path that exists and is not a regular file
//! (`/dev/stdout`, a FIFO) is written in place; without a path, stdout.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

pub struct OutputFile {
    out: Box<dyn Write>,
    /// The temporary file and the path it becomes.
    pending: Option<(tempfile::TempPath, PathBuf)>,
    /// Named in every error.
    shown: String,
}

impl OutputFile {
    pub fn create(path: Option<&Path>) -> anyhow::Result<OutputFile> {
        let Some(path) = path else {
            return Ok(OutputFile {
                out: Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout())),
                pending: None,
                shown: "stdout".into(),
            });
        };
        let shown = path.display().to_string();
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
        if special {
            let file = File::create(path).with_context(|| format!("cannot open {shown}"))?;
            return Ok(OutputFile {
                out: Box::new(BufWriter::new(file)),
                pending: None,
                shown,
            });
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".arkc-partial-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a file in {} for {shown}", dir.display()))?;
        let (file, temp) = temp.into_parts();
        Ok(OutputFile {
            out: Box::new(BufWriter::new(file)),
            pending: Some((temp, path.to_path_buf())),
            shown,
        })
    }

    /// The error of a failed write, naming the file and saying nothing was left under its name
    /// (the temporary file goes when `self` is dropped).
    pub fn failed(&self, e: impl std::fmt::Display) -> anyhow::Error {
        match &self.pending {
            Some(_) => anyhow::anyhow!(
                "cannot write {}: {e}; nothing was written under that name (the partial \
                 file was removed)",
                self.shown
            ),
            None => anyhow::anyhow!(
                "cannot write {}: {e}; its content is incomplete",
                self.shown
            ),
        }
    }

    /// Flush, sync and move the file into place.
    pub fn commit(mut self) -> anyhow::Result<()> {
        if let Err(e) = self.out.flush() {
            return Err(self.failed(e));
        }
        let Some((temp, path)) = self.pending.take() else {
            return Ok(());
        };
        drop(std::mem::replace(&mut self.out, Box::new(std::io::sink())));
        let synced = File::open(&temp).and_then(|f| f.sync_all());
        if let Err(e) = synced {
            self.pending = Some((temp, path));
            return Err(self.failed(e));
        }
        temp.persist(&path)
            .map_err(|e| anyhow::anyhow!("cannot move the finished file to {}: {e}", self.shown))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
