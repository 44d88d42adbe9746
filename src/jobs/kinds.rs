//! Running each kind of tool under the supervisor, and its strict completion check.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Compression;

use super::checksums::TableInfo;
use super::position;
use super::supervise::{size_of, Counters, JobRun, ToolEnd};
use super::tools::{self, Tool};

/// What a dump stream must end with for the dump to count as complete.
const DUMP_COMPLETED: &[u8] = b"-- Dump completed";
const TABLE_DATA_MARK: &[u8] = b"-- Dumping data for table";

/// mariadb-dump to stdout, compressed here into the partial file.
pub(super) fn run_dump(run: &mut JobRun) -> anyhow::Result<ToolEnd> {
    let tool = tools::dump_tool()?;
    let mut args = vec![run.creds.arg()];
    args.extend(tools::dump_args(&tool, run.spec.database.as_deref()));
    let out = File::create(&run.spec.partial)
        .with_context(|| format!("cannot create {}", run.spec.partial.display()))?;
    let sink = Sink::new(out, run.spec.compress)?;
    let mut child = run.spawn_tool(&tool.path, &args, &tool.version, true)?;
    let stdout = child.stdout.take().context("dump stdout missing")?;
    let counters = Arc::clone(&run.counters);
    let tool_pid = child.id() as i32;
    let pump = std::thread::spawn(move || pump(stdout, sink, &counters, tool_pid, Watch::DumpText));
    let status = run.wait_tool(&mut child, |_| {})?;
    let pumped = pump
        .join()
        .map_err(|_| anyhow::anyhow!("the dump writer thread panicked"))?;
    if let Some(err) = pumped.write_error {
        return Ok(ToolEnd::Failed(format!(
            "writing {}: {err} ({} exited with {status})",
            run.spec.partial.display(),
            tool.path.display()
        )));
    }
    if !status.success() {
        return Ok(ToolEnd::Failed(format!(
            "{} exited with {status}",
            tool.path.display()
        )));
    }
    if !contains(&pumped.tail, DUMP_COMPLETED) {
        return Ok(ToolEnd::Failed(format!(
            "{} exited 0 but its output does not end with `-- Dump completed`: the dump is incomplete",
            tool.path.display()
        )));
    }
    Ok(ToolEnd::Completed {
        position: position::from_dump_header(&String::from_utf8_lossy(&pumped.head)),
    })
}

pub(super) struct Pumped {
    head: Vec<u8>,
    pub tail: Vec<u8>,
    pub write_error: Option<String>,
}

/// What the pump looks for in the stream besides counting bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watch {
    /// A dump's SQL text: its header's snapshot position and its table markers.
    DumpText,
    /// Opaque bytes (an xbstream).
    Bytes,
}

/// Copy the tool's stream into the sink, counting bytes (and a dump's tables); on a write error
/// (a full disk) stop the tool, since it would otherwise block on a pipe nobody reads.
pub(super) fn pump(
    mut stdout: impl Read,
    mut sink: Sink,
    counters: &Counters,
    tool_pid: i32,
    watch: Watch,
) -> Pumped {
    let mut head = Vec::new();
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut write_error = None;
    loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                write_error = Some(format!("reading the tool's output: {e}"));
                break;
            }
        };
        let chunk = &buf[..n];
        if watch == Watch::DumpText {
            watch_dump_text(chunk, &mut head, &tail, counters);
        }
        tail.extend_from_slice(chunk);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 4096);
        }
        counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        counters.touch();
        if let Err(e) = sink.write_all(chunk) {
            write_error = Some(e.to_string());
            break;
        }
    }
    if write_error.is_none() {
        if let Err(e) = sink.finish() {
            write_error = Some(e.to_string());
        }
    }
    if write_error.is_some() {
        // SAFETY: kill(2) on the tool's own process group.
        unsafe { libc::kill(-tool_pid, libc::SIGTERM) };
        // Drain so the tool is not stuck writing into a full pipe while it handles the signal.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    }
    Pumped {
        head,
        tail,
        write_error,
    }
}

/// Keep the dump's head until its snapshot position shows, and count table markers across chunk
/// borders (the end of the previous chunk is in `tail`).
fn watch_dump_text(chunk: &[u8], head: &mut Vec<u8>, tail: &[u8], counters: &Counters) {
    if head.len() < 64 * 1024 {
        head.extend_from_slice(&chunk[..chunk.len().min(64 * 1024 - head.len())]);
        let mut known = counters
            .tool_position
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if known.is_none() {
            *known = position::from_dump_header(&String::from_utf8_lossy(head))
                .filter(|p| p.file.is_some() && p.pos.is_some());
        }
    }
    let carry = tail.len().min(TABLE_DATA_MARK.len() - 1);
    let mut window = tail[tail.len() - carry..].to_vec();
    window.extend_from_slice(chunk);
    let found = count(&window, TABLE_DATA_MARK);
    counters.tables.fetch_add(found as u64, Ordering::Relaxed);
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    count(hay, needle) > 0
}

/// The dump file, compressed as configured.
pub(super) enum Sink {
    Zstd(zstd::Encoder<'static, BufWriter<File>>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Plain(BufWriter<File>),
}

impl Sink {
    pub fn new(file: File, compress: Compression) -> std::io::Result<Sink> {
        let w = BufWriter::with_capacity(1 << 20, file);
        Ok(match compress {
            Compression::Zstd => Sink::Zstd(zstd::Encoder::new(w, 3)?),
            Compression::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Compression::None => Sink::Plain(w),
        })
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Zstd(w) => w.write_all(data),
            Sink::Gzip(w) => w.write_all(data),
            Sink::Plain(w) => w.write_all(data),
        }
    }

    /// Flush everything and fsync: a backup is complete only once it is on disk.
    fn finish(self) -> std::io::Result<()> {
        let w = match self {
            Sink::Zstd(w) => w.finish()?,
            Sink::Gzip(w) => w.finish()?,
            Sink::Plain(w) => w,
        };
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

/// Decompress a dump file into `out` (for restores).
pub fn copy_dump(path: &Path, out: &mut dyn Write) -> anyhow::Result<u64> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let name = path.to_string_lossy();
    let mut reader: Box<dyn Read> = if name.ends_with(".zst") {
        Box::new(zstd::Decoder::new(file)?)
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    std::io::copy(&mut reader, out).with_context(|| format!("reading {}", path.display()))
}

/// mydumper into the partial folder; complete when `metadata` has its "Finished dump at" line.
pub(super) fn run_mydumper(run: &mut JobRun, tables: &[TableInfo]) -> anyhow::Result<ToolEnd> {
    let tool = Tool::probe("mydumper")?;
    // mydumper before 0.11 does not double backticks inside names: it fails, or crashes, half-way.
    if tool.numbers.is_some_and(|v| v < (0, 11, 0)) {
        if let Some(t) = tables
            .iter()
            .find(|t| t.schema.contains('`') || t.table.contains('`'))
        {
            return Ok(ToolEnd::Failed(format!(
                "{} ({}) cannot dump names containing a backtick, such as {}.{}; use kind dump",
                tool.path.display(),
                tool.version,
                super::quote_ident(&t.schema),
                super::quote_ident(&t.table)
            )));
        }
    }
    let mut args = vec![format!("--defaults-file={}", run.creds.path().display())];
    args.extend(tools::mydumper_args(
        &run.spec.partial,
        run.spec.database.as_deref(),
        run.spec.threads,
        run.spec.compress != Compression::None,
    ));
    let mut child = run.spawn_tool(&tool.path, &args, &tool.version, false)?;
    let dir = run.spec.partial.clone();
    let status = run.wait_tool(&mut child, |r| {
        let bytes = size_of(&dir);
        if bytes != r.counters.bytes.swap(bytes, Ordering::Relaxed) {
            r.counters.touch();
        }
        r.counters
            .tables
            .store(mydumper_tables_done(&dir), Ordering::Relaxed);
    })?;
    if !status.success() {
        return Ok(ToolEnd::Failed(format!(
            "{} exited with {status}",
            tool.path.display()
        )));
    }
    let meta_path = run.spec.partial.join("metadata");
    let text = std::fs::read_to_string(&meta_path).unwrap_or_default();
    let meta = position::parse_mydumper_metadata(&text);
    if !meta.finished {
        return Ok(ToolEnd::Failed(format!(
            "{} exited 0 but {} has no `Finished dump at` line: the dump is incomplete",
            tool.path.display(),
            meta_path.display()
        )));
    }
    Ok(ToolEnd::Completed {
        position: meta.position,
    })
}

/// What `--verbose` mariadb-dump prints to stderr once its snapshot and position are taken.
const DUMP_SAVEPOINT: &str = "-- Setting savepoint";

/// Whether the dump's log says its snapshot is open (its header may still sit in its buffer).
pub(super) fn dump_snapshot_taken(log: &Path) -> bool {
    let mut head = Vec::with_capacity(4096);
    let read = File::open(log).and_then(|f| f.take(4096).read_to_end(&mut head));
    read.is_ok() && contains(&head, DUMP_SAVEPOINT.as_bytes())
}

/// The snapshot position mydumper has written into its `metadata` (`.partial` while it runs).
pub(super) fn mydumper_position(dir: &Path) -> Option<super::SnapshotPosition> {
    ["metadata.partial", "metadata"].iter().find_map(|m| {
        let text = std::fs::read_to_string(dir.join(m)).ok()?;
        position::parse_mydumper_metadata(&text)
            .position
            .filter(|p| p.file.is_some() && p.pos.is_some())
    })
}

/// Tables whose data file mydumper has written (`db.table.sql`, `db.table.00001.sql.gz`, ...).
fn mydumper_tables_done(dir: &Path) -> u64 {
    let mut tables = std::collections::HashSet::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stem = name.trim_end_matches(".gz").trim_end_matches(".zst");
        if stem.ends_with(".sql") && !stem.contains("-schema") {
            let mut parts = stem.trim_end_matches(".sql").splitn(3, '.');
            if let (Some(db), Some(t)) = (parts.next(), parts.next()) {
                tables.insert(format!("{db}.{t}"));
            }
        }
    }
    tables.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pump_counts_tables_across_chunks_and_keeps_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sql.zst");
        let sink = Sink::new(File::create(&path).unwrap(), Compression::Zstd).unwrap();
        let mut text =
            String::from("-- CHANGE MASTER TO MASTER_LOG_FILE='b.000001', MASTER_LOG_POS=4;\n");
        for i in 0..5000 {
            text.push_str(&format!(
                "-- Dumping data for table `t{i}`\nINSERT INTO x VALUES (1);\n"
            ));
        }
        text.push_str("-- Dump completed on 2026-12-01\n");
        let counters = Counters::default();
        let got = pump(text.as_bytes(), sink, &counters, i32::MAX, Watch::DumpText);
        assert!(got.write_error.is_none());
        assert_eq!(counters.tables.load(Ordering::Relaxed), 5000);
        assert_eq!(counters.bytes.load(Ordering::Relaxed), text.len() as u64);
        assert!(contains(&got.tail, DUMP_COMPLETED));
        let known = counters.tool_position.lock().unwrap().clone().unwrap();
        assert_eq!(
            (known.file.as_deref(), known.pos),
            (Some("b.000001"), Some(4))
        );
        let mut back = Vec::new();
        copy_dump(&path, &mut back).unwrap();
        assert_eq!(back, text.as_bytes());
    }
}
