//! The check of a binlog range of any size in bounded memory (`arkc flashback --check`): the
//! scan writes each row, compactly, to an unnamed temporary file (`CheckSpill`, a `TxnSink`);
//! the walk then reads the file backwards, newest row first, through the digest walk
//! (`check_walk`), handing out the lookups in batches as it goes (`SpilledCheck::next_batch`)
//! and writing each row's needs to a second temporary file; the verdicts are read from that
//! one in rollback order at the end. Memory holds the walk's digests per key, a count per
//! lookup, one batch and two read buffers: never the rows. Both files are unnamed (removed
//! by the system when the process ends, whatever the way), in the directory the caller gives.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::{
    comparable, verdict_of, CheckMode, CheckRow, Lookup, Need, RowOrigin, RowState,
};
use crate::check_needs::{encode_needs, read_needs};
use crate::check_walk::BeforeApplyWalk;
use crate::decoder::Event;
use crate::error::BinlogError;
use crate::rows::{Image, RowsEvent, RowsKind};
use crate::tablemap::TableMap;
use crate::txn::{Transaction, TxnSink};

/// The walk reads the spill backwards this many bytes at a time.
const READ_BACK: usize = 1 << 20;
/// The keys are walked in one pass over the rows per this many rows (each pass walks the
/// keys whose digest falls in its part), so the walk holds at most about this many keys.
const ROWS_PER_PASS: u64 = 400_000;

/// A table definition the spilled rows refer to by index.
#[derive(Debug)]
struct SpillTable {
    table: String,
    table_sql: String,
    columns: Arc<Vec<String>>,
    primary_key: Arc<Vec<usize>>,
}

/// The spill file and what its records refer to.
#[derive(Debug)]
struct Spill {
    dir: PathBuf,
    file: File,
    tables: Vec<SpillTable>,
    files: Vec<Arc<str>>,
}

/// A `TxnSink` writing the rows of a scan to a temporary file, in binlog order, each record
/// framed by its length on both sides so the file reads backwards as well as forwards.
#[derive(Debug)]
pub struct CheckSpill {
    spill: Spill,
    out: BufWriter<File>,
    len: u64,
    rows: u64,
    txn_start: u64,
    pending: usize,
    txns: usize,
    buf: Vec<u8>,
}

/// An io error of a temporary file, naming its directory and why it is there.
fn spill_err(dir: &Path, e: std::io::Error) -> BinlogError {
    BinlogError::Output(std::io::Error::new(
        e.kind(),
        format!(
            "{}: {e} (the check keeps the rows of the range in a temporary file there while it \
             walks them newest first; free some space there)",
            dir.display()
        ),
    ))
}

fn temp_in(dir: &Path) -> Result<File, BinlogError> {
    std::fs::create_dir_all(dir).map_err(|e| spill_err(dir, e))?;
    tempfile::tempfile_in(dir).map_err(|e| spill_err(dir, e))
}

impl CheckSpill {
    /// A spill in `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Self, BinlogError> {
        let file = temp_in(dir)?;
        let out = file.try_clone().map_err(|e| spill_err(dir, e))?;
        Ok(CheckSpill {
            spill: Spill {
                dir: dir.to_path_buf(),
                file,
                tables: Vec::new(),
                files: Vec::new(),
            },
            out: BufWriter::with_capacity(1 << 20, out),
            len: 0,
            rows: 0,
            txn_start: 0,
            pending: 0,
            txns: 0,
            buf: Vec::new(),
        })
    }

    /// Rows spilled so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Ends the scan: the walk over the rows, newest first, with lookups of about
    /// `batch_bytes` of SQL per batch.
    pub fn into_check(mut self, batch_bytes: usize) -> Result<SpilledCheck, BinlogError> {
        let dir = self.spill.dir.clone();
        self.out.flush().map_err(|e| spill_err(&dir, e))?;
        let needs_out = temp_in(&dir)?;
        Ok(SpilledCheck {
            spill: self.spill,
            walk: BeforeApplyWalk::new(),
            end: self.len,
            next: self.len,
            back: Vec::new(),
            back_start: 0,
            passes: self.rows.div_ceil(ROWS_PER_PASS).max(1),
            pass: 0,
            ordinal: 0,
            needs: Vec::new(),
            needs_out: BufWriter::with_capacity(1 << 20, needs_out),
            found: Vec::new(),
            batch_bytes,
            keyless_next: 0,
            rows: self.rows,
        })
    }

    /// The spill of the undo's own changes, for the check after applying: "are the rows as
    /// the undo leaves them?" is the check before applying of the changes the undo makes.
    /// Each row with its images swapped (an insert undone is a delete, a delete undone an
    /// insert), spilled in the order the undo makes them (newest first), so that the walk,
    /// which reads a spill backwards, meets them oldest first. Read from this spill's file
    /// one record at a time: memory holds one row.
    pub fn undo_spill(&mut self) -> Result<CheckSpill, BinlogError> {
        let dir = self.spill.dir.clone();
        self.out.flush().map_err(|e| spill_err(&dir, e))?;
        let mut undo = CheckSpill::new(&dir)?;
        let mut end = self.len;
        while end > 0 {
            let mut len = [0u8; 4];
            let at = (|| {
                self.spill
                    .file
                    .read_exact_at(&mut len, end.checked_sub(4)?)
                    .ok()?;
                end.checked_sub(u32::from_le_bytes(len) as u64 + 8)
            })()
            .ok_or_else(|| spill_err(&dir, std::io::Error::other("bad record")))?;
            let (row, origin) = self.spill.read_at(at)?;
            undo.push_row(&row.undone(), &origin)?;
            end = at;
        }
        Ok(undo)
    }

    fn table(&mut self, t: &TableMap) -> u32 {
        let mut table_sql = String::new();
        crate::render::push_table(t, &mut table_sql);
        let columns: Vec<String> = (0..t.columns.len())
            .map(|i| t.column_name(i).into_owned())
            .collect();
        let table = format!("{}.{}", t.schema, t.table);
        self.table_of(table, table_sql, &columns, &t.primary_key)
    }

    fn table_of(
        &mut self,
        table: String,
        table_sql: String,
        columns: &[String],
        primary_key: &[usize],
    ) -> u32 {
        let known = self.spill.tables.iter().rposition(|k| {
            k.table_sql == table_sql && *k.columns == columns && *k.primary_key == primary_key
        });
        if let Some(i) = known {
            return i as u32;
        }
        self.spill.tables.push(SpillTable {
            table,
            table_sql,
            columns: Arc::new(columns.to_vec()),
            primary_key: Arc::new(primary_key.to_vec()),
        });
        self.spill.tables.len() as u32 - 1
    }

    /// Adds one row of a selection held elsewhere (the Binlog pane's), keeping its id. Rows
    /// go in binlog order, oldest first, as a scan would spill them (the walk reads them
    /// back newest first); `origin` is where the row is in the binlog.
    pub fn push_row(&mut self, row: &CheckRow, origin: &RowOrigin) -> Result<(), BinlogError> {
        let table = self.table_of(
            row.table.clone(),
            row.table_sql.clone(),
            &row.columns,
            &row.primary_key,
        );
        let file = self.file(&origin.0);
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let place = (table, file, origin.1, origin.2.as_deref());
        put_record(&mut buf, row.id, row.kind, place, (&row.before, &row.after));
        self.buf = buf;
        self.write_record()?;
        self.rows += 1;
        Ok(())
    }

    fn file(&mut self, name: &str) -> u32 {
        if let Some(i) = self.spill.files.iter().rposition(|f| &**f == name) {
            return i as u32;
        }
        self.spill.files.push(name.into());
        self.spill.files.len() as u32 - 1
    }

    fn write_record(&mut self) -> Result<(), BinlogError> {
        let len = (self.buf.len() as u32).to_le_bytes();
        let dir = &self.spill.dir;
        let w = &mut self.out;
        (|| {
            w.write_all(&len)?;
            w.write_all(&self.buf)?;
            w.write_all(&len)
        })()
        .map_err(|e| spill_err(dir, e))?;
        self.len += self.buf.len() as u64 + 8;
        Ok(())
    }
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            put_u32(buf, s.len() as u32);
            buf.extend_from_slice(s.as_bytes());
        }
        None => put_u32(buf, u32::MAX),
    }
}

fn put_image(buf: &mut Vec<u8>, img: &[Option<String>]) {
    put_u32(buf, img.len() as u32);
    for cell in img {
        put_str(buf, cell.as_deref());
    }
}

/// One spilled row: its id, kind, (table, file, event offset, GTID) and its two images.
fn put_record(
    buf: &mut Vec<u8>,
    id: (usize, usize),
    kind: RowsKind,
    (table, file, offset, gtid): (u32, u32, u64, Option<&str>),
    (before, after): (&[Option<String>], &[Option<String>]),
) {
    put_u32(buf, id.0 as u32);
    put_u32(buf, id.1 as u32);
    buf.push(kind_code(kind));
    put_u32(buf, table);
    put_u32(buf, file);
    put_u32(buf, offset as u32);
    put_u32(buf, (offset >> 32) as u32);
    put_str(buf, gtid);
    put_image(buf, before);
    put_image(buf, after);
}

fn kind_code(kind: RowsKind) -> u8 {
    match kind {
        RowsKind::Insert => 0,
        RowsKind::Update => 1,
        RowsKind::Delete => 2,
    }
}

/// Reads the fields of a spilled record in the order they were put.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn bytes(&mut self, n: usize) -> std::io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(std::io::Error::other("spilled record cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> std::io::Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(self.u32()? as u64 | (self.u32()? as u64) << 32)
    }

    fn str(&mut self) -> std::io::Result<Option<String>> {
        match self.u32()? {
            u32::MAX => Ok(None),
            n => {
                let b = self.bytes(n as usize)?;
                String::from_utf8(b.to_vec())
                    .map(Some)
                    .map_err(std::io::Error::other)
            }
        }
    }

    fn image(&mut self) -> std::io::Result<Vec<Option<String>>> {
        let n = self.u32()?;
        (0..n).map(|_| self.str()).collect()
    }
}

impl Spill {
    /// The row whose record starts at `at`, and its origin.
    fn read_at(&self, at: u64) -> Result<(CheckRow, RowOrigin), BinlogError> {
        let mut len = [0u8; 4];
        let mut payload = Vec::new();
        (|| {
            self.file.read_exact_at(&mut len, at)?;
            payload.resize(u32::from_le_bytes(len) as usize, 0);
            self.file.read_exact_at(&mut payload, at + 4)
        })()
        .map_err(|e| spill_err(&self.dir, e))?;
        self.decode(&payload)
    }

    fn decode(&self, payload: &[u8]) -> Result<(CheckRow, RowOrigin), BinlogError> {
        let mut f = Fields(payload);
        (|| {
            let id = (f.u32()? as usize, f.u32()? as usize);
            let kind = match f.bytes(1)?[0] {
                0 => RowsKind::Insert,
                1 => RowsKind::Update,
                _ => RowsKind::Delete,
            };
            let table = f.u32()? as usize;
            let file = f.u32()? as usize;
            let offset = f.u64()?;
            let gtid = f.str()?.map(Arc::from);
            let before = f.image()?;
            let after = f.image()?;
            let (Some(t), Some(file)) = (self.tables.get(table), self.files.get(file)) else {
                return Err(std::io::Error::other("spilled record names no table"));
            };
            let row = CheckRow {
                id,
                kind,
                table: t.table.clone(),
                table_sql: t.table_sql.clone(),
                columns: t.columns.clone(),
                primary_key: t.primary_key.clone(),
                before,
                after,
            };
            Ok((row, (file.clone(), offset, gtid)))
        })()
        .map_err(|e| spill_err(&self.dir, e))
    }
}

impl TxnSink for CheckSpill {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let t = &r.table;
        let table = self.table(t);
        let file = self.file(&txn.file);
        let mut reader = r.row_reader();
        let (mut b, mut a): (Image, Image) = (Vec::new(), Vec::new());
        let mut n = 0;
        while reader
            .next_row(&mut b, &mut a)
            .map_err(|e| BinlogError::Decode {
                path: txn.file.clone().into(),
                offset: ev.offset,
                event: "ROWS",
                reason: e.0,
            })?
        {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let (before, after) = (comparable(t, &b, false), comparable(t, &a, true));
            let place = (table, file, ev.offset, txn.gtid.as_deref());
            let id = (self.txns, self.pending);
            put_record(&mut buf, id, r.kind, place, (&before, &after));
            self.buf = buf;
            self.write_record()?;
            self.pending += 1;
            self.rows += 1;
            n += 1;
        }
        Ok(n)
    }

    fn commit(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        if self.pending > 0 {
            self.txns += 1;
        }
        self.pending = 0;
        self.txn_start = self.len;
        Ok(())
    }

    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        let (dir, start) = (&self.spill.dir, self.txn_start);
        let out = &mut self.out;
        (|| {
            out.flush()?;
            out.get_ref().set_len(start)?;
            out.seek(SeekFrom::Start(start)).map(|_| ())
        })()
        .map_err(|e| spill_err(dir, e))?;
        self.rows -= self.pending as u64;
        self.pending = 0;
        self.len = start;
        Ok(())
    }
}

/// The walk over spilled rows, newest first; see the module comment.
#[derive(Debug)]
pub struct SpilledCheck {
    spill: Spill,
    walk: BeforeApplyWalk,
    /// Length of the spill.
    end: u64,
    /// End of the part of the spill the current pass has not walked yet.
    next: u64,
    back: Vec<u8>,
    back_start: u64,
    /// Passes over the rows, and the one walking (its keys: digest % passes == pass).
    passes: u64,
    pass: u64,
    /// Rows the current pass walked.
    ordinal: u64,
    /// The needs of each finished pass, and of the current one.
    needs: Vec<File>,
    needs_out: BufWriter<File>,
    found: Vec<u32>,
    batch_bytes: usize,
    keyless_next: usize,
    rows: u64,
}

/// Called per judged row with the spill, the row's ordinal and place, and its verdict.
type EachVerdict<'a> = dyn FnMut(&Spill, u64, u64, RowState) -> Result<(), BinlogError> + 'a;

/// A row the check found changed since the binlog (or whose key was taken again).
#[derive(Debug, Clone)]
pub struct SpilledProblem {
    pub row: CheckRow,
    pub origin: RowOrigin,
    pub state: RowState,
}

impl SpilledCheck {
    /// Rows in the range.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Walks the keys in `passes` passes instead of one per `ROWS_PER_PASS` rows (before the
    /// first `next_batch`).
    pub fn with_passes(mut self, passes: u64) -> Self {
        self.passes = passes.max(1);
        self
    }

    /// Walks on until the lookups made come to about `batch_bytes` of SQL and returns them
    /// (with their ids, for `found`); then the keyless lookups, whose limits are final only
    /// at the end. None when every lookup was handed out.
    pub fn next_batch(&mut self) -> Result<Option<Vec<(usize, Lookup)>>, BinlogError> {
        loop {
            if let Some(batch) = self.pass_batch()? {
                return Ok(Some(batch));
            }
            if self.pass + 1 >= self.passes {
                return Ok(None);
            }
            // The next pass: a fresh walk (the last one's keys are done with).
            let dir = self.spill.dir.clone();
            self.needs_out.flush().map_err(|e| spill_err(&dir, e))?;
            let next_out = BufWriter::with_capacity(1 << 20, temp_in(&dir)?);
            let done = std::mem::replace(&mut self.needs_out, next_out);
            self.needs.push(
                done.into_inner()
                    .map_err(|e| spill_err(&dir, e.into_error()))?,
            );
            self.walk = BeforeApplyWalk::numbered_from(self.walk.lookup_count());
            self.pass += 1;
            self.next = self.end;
            self.ordinal = 0;
            self.keyless_next = 0;
        }
    }

    /// The next batch of the current pass, if any.
    fn pass_batch(&mut self) -> Result<Option<Vec<(usize, Lookup)>>, BinlogError> {
        let (passes, pass) = (self.passes, self.pass);
        let part = move |word: u64| word % passes == pass;
        while self.next > 0 {
            if self.walk.pending_bytes() >= self.batch_bytes {
                return Ok(Some(self.walk.take_pending()));
            }
            let at = self.read_back()?;
            let (row, _) = self.spill.decode(self.payload(at))?;
            let spill = &self.spill;
            let mut fetch = |at: u64| spill.read_at(at).map(|(row, _)| row);
            let needs = self.walk.push(&row, at, &part, &mut fetch)?;
            if !needs.is_empty() {
                self.write_needs(at, &needs)?;
            }
            self.ordinal += 1;
        }
        let pending = self.walk.take_pending();
        if !pending.is_empty() {
            return Ok(Some(pending));
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        let keyless = self.walk.keyless_lookups();
        while self.keyless_next < keyless.len() && bytes < self.batch_bytes {
            let k = keyless[self.keyless_next];
            let lookup = k.of(&self.spill.read_at(k.at)?.0);
            bytes += lookup.cond.len() + lookup.table_sql.len();
            batch.push((k.id, lookup));
            self.keyless_next += 1;
        }
        Ok((!batch.is_empty()).then_some(batch))
    }

    /// Lookup `id` matched `rows` rows on the server.
    pub fn found(&mut self, id: usize, rows: u32) {
        if self.found.len() <= id {
            self.found.resize(id + 1, 0);
        }
        self.found[id] = rows;
    }

    /// Once every batch ran: the verdicts in rollback order; `problem` is called for each row
    /// changed since the binlog. Returns how many there were.
    pub fn verdicts(
        self,
        problem: &mut dyn FnMut(SpilledProblem) -> Result<(), BinlogError>,
    ) -> Result<u64, BinlogError> {
        let mut problems = 0;
        self.each_verdict(&mut |spill, _, at, state| {
            if state.is_problem() {
                problems += 1;
                let (row, origin) = spill.read_at(at)?;
                problem(SpilledProblem { row, origin, state })?;
            }
            Ok(())
        })?;
        Ok(problems)
    }

    /// Passes over the rows the walk makes (each walks its part of the keys).
    pub fn passes(&self) -> u64 {
        self.passes
    }

    /// Once every batch ran: `each(ordinal, state)` for every row the walk had to judge, in
    /// rollback order (ordinal 0 is the newest row, the last one spilled); a row not named is
    /// as the binlog left it.
    pub fn states(self, each: &mut dyn FnMut(u64, RowState)) -> Result<(), BinlogError> {
        self.each_verdict(&mut |_, ordinal, _, state| {
            each(ordinal, state);
            Ok(())
        })
    }

    /// The verdicts: `each(spill, ordinal, place, state)` per row with needs, in rollback order.
    fn each_verdict(mut self, each: &mut EachVerdict<'_>) -> Result<(), BinlogError> {
        let dir = self.spill.dir.clone();
        let last = self
            .needs_out
            .into_inner()
            .map_err(|e| spill_err(&dir, e.into_error()))?;
        self.needs.push(last);
        // One reader per pass, each in rollback order; a row's needs are the heads that
        // name its ordinal, put back in the order of its full list.
        let mut inputs = Vec::new();
        for mut file in self.needs {
            file.seek(SeekFrom::Start(0))
                .map_err(|e| spill_err(&dir, e))?;
            let mut input = BufReader::with_capacity(256 << 10, file);
            let head = read_needs(&mut input).map_err(|e| spill_err(&dir, e))?;
            inputs.push((input, head));
        }
        let found = self.found;
        let count = |l: usize| found.get(l).copied().unwrap_or(0);
        for ordinal in 0..self.rows {
            let mut needs = Vec::new();
            let mut at = None;
            for (input, head) in &mut inputs {
                while let Some((o, a, n)) = head.take() {
                    if o != ordinal {
                        *head = Some((o, a, n));
                        break;
                    }
                    at = Some(a);
                    needs.extend(n);
                    *head = read_needs(input).map_err(|e| spill_err(&dir, e))?;
                }
            }
            let Some(at) = at else { continue };
            needs.sort_by_key(|(slot, _)| *slot);
            let needs: Vec<Need> = needs.into_iter().map(|(_, n)| n).collect();
            let state = verdict_of(&needs, CheckMode::BeforeApply, &count);
            each(&self.spill, ordinal, at, state)?;
        }
        Ok(())
    }

    /// Steps back over one record; returns where it starts. Its payload is `payload(at)`.
    fn read_back(&mut self) -> Result<u64, BinlogError> {
        let end = self.next;
        self.cover(end.saturating_sub(4), end)?;
        let tail = &self.back[(end - 4 - self.back_start) as usize..][..4];
        let len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
        let at = end
            .checked_sub(len + 8)
            .ok_or_else(|| spill_err(&self.spill.dir, std::io::Error::other("bad record")))?;
        self.cover(at, end)?;
        self.next = at;
        Ok(at)
    }

    fn payload(&self, at: u64) -> &[u8] {
        let from = (at - self.back_start) as usize;
        let len = u32::from_le_bytes([
            self.back[from],
            self.back[from + 1],
            self.back[from + 2],
            self.back[from + 3],
        ]) as usize;
        &self.back[from + 4..from + 4 + len]
    }

    /// Makes the read-back buffer hold bytes `from..to` of the spill.
    fn cover(&mut self, from: u64, to: u64) -> Result<(), BinlogError> {
        let held = self.back_start..self.back_start + self.back.len() as u64;
        if from >= held.start && to <= held.end {
            return Ok(());
        }
        let start = from.min(to.saturating_sub(READ_BACK as u64));
        self.back.resize((to - start) as usize, 0);
        self.spill
            .file
            .read_exact_at(&mut self.back, start)
            .map_err(|e| spill_err(&self.spill.dir, e))?;
        self.back_start = start;
        Ok(())
    }

    fn write_needs(&mut self, at: u64, needs: &[(u8, Need)]) -> Result<(), BinlogError> {
        let buf = encode_needs(self.ordinal, at, needs);
        self.needs_out
            .write_all(&buf)
            .map_err(|e| spill_err(&self.spill.dir, e))
    }
}
