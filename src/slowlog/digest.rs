//! Aggregation of entries into query classes (one per fingerprint), with filters.
//! Memory grows with the number of classes, never with the number of entries.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use foldhash::HashMap;

use crate::class::{Observation, QueryClass, Sample};
use crate::entry::{EntryBatch, EntryFields};
use crate::error::SlowlogError;
use crate::event::{parse_ascii, SlowEvent};
use crate::fingerprint::{query_id, Fingerprinter};
use crate::input::open_log;
use crate::parser::{ParseStats, ProblemKind, SlowLogParser};

/// Which entries to aggregate.
#[derive(Debug, Clone, Default)]
pub struct DigestFilter {
    /// Only entries at or after this Unix time (entries without a time are left out).
    pub since: Option<i64>,
    /// Only entries before this Unix time (entries without a time are left out).
    pub until: Option<i64>,
    /// Only entries whose default database is this one.
    pub database: Option<String>,
    /// Only entries with `Query_time` at least this many seconds.
    pub min_time: Option<f64>,
}

/// The digest of one or more slow logs.
#[derive(Default)]
pub struct Digest {
    filter: DigestFilter,
    classes: HashMap<Box<[u8]>, QueryClass>,
    fingerprinter: Fingerprinter,
    fingerprint: Vec<u8>,
    /// pt-query-digest's default `--inherit-attributes db,ts`: slow logs write them
    /// only when they change.
    last_db: Option<Box<[u8]>>,
    last_time: Option<i64>,
    window: Option<(i64, i64)>,
    stats: ParseStats,
    /// Entries with at least one slow-log header value (time, user, Query_time ...), filtered
    /// out or not: text without any is not a slow log, however many "statements" it splits into.
    headed_entries: u64,
}

impl Digest {
    pub fn new(filter: DigestFilter) -> Self {
        Self {
            filter,
            ..Self::default()
        }
    }

    /// Parses and aggregates one file (plain or gzip).
    pub fn add_file(&mut self, path: &Path) -> Result<(), SlowlogError> {
        self.add_reader(open_log(path)?, path)
    }

    /// Parses and aggregates a stream; `name` appears in errors. Parsing runs on a second
    /// thread, aggregation on this one; entries keep their order. On an error the digest
    /// keeps what was read before it.
    pub fn add_reader(&mut self, src: impl Read + Send, name: &Path) -> Result<(), SlowlogError> {
        // Inherited values do not cross file boundaries.
        (self.last_db, self.last_time) = (None, None);
        self.add_continuation(src, name)
    }

    /// Like `add_reader`, for the next piece of the same log (a live tail): the database and
    /// time inherited from earlier entries carry over. Pieces must end on an entry boundary.
    pub fn add_continuation(
        &mut self,
        src: impl Read + Send,
        name: &Path,
    ) -> Result<(), SlowlogError> {
        let (full_tx, full_rx) = mpsc::sync_channel::<EntryBatch>(4);
        let (empty_tx, empty_rx) = mpsc::channel::<EntryBatch>();
        let mut bad = Vec::new();
        let parsed = std::thread::scope(|scope| {
            let parsing = scope.spawn(move || parse_into_batches(src, name, &full_tx, &empty_rx));
            for mut batch in full_rx {
                for entry in batch.iter() {
                    if let Some(problem) = self.add_entry(&entry) {
                        bad.push((entry.line, problem));
                    }
                }
                batch.clear();
                // The parser may have finished already; then the batch is simply dropped.
                let _ = empty_tx.send(batch);
            }
            parsing.join()
        });
        let mut stats = match parsed {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        for (line, kind) in bad {
            stats.record_problem(line, kind);
        }
        self.stats.merge(&stats);
        Ok(())
    }

    /// Aggregates one entry; returns a problem with one of its values, if any (the entry
    /// is still counted, as pt-query-digest counts it).
    pub fn add_event(&mut self, event: &SlowEvent<'_>) -> Option<ProblemKind> {
        self.add_entry(&EntryFields::of(event))
    }

    /// [`Self::add_event`] for an entry's aggregated fields.
    pub fn add_entry(&mut self, entry: &EntryFields<'_>) -> Option<ProblemKind> {
        if entry.has_header() {
            self.headed_entries += 1;
        }
        if let Some(db) = entry.database {
            if self.last_db.as_deref() != Some(db) {
                self.last_db = Some(db.into());
            }
        }
        let time = entry.unix_time.or(self.last_time);
        self.last_time = time;
        let (query_time, problem) = number(entry.query_time, "Query_time");
        if !self.passes_filter(time, query_time) {
            return problem;
        }
        let query = entry.query;
        if query.is_empty() || query == b"0" {
            return problem; // pt-query-digest skips a false-y statement text
        }
        self.fingerprinter
            .fingerprint_into(query, &mut self.fingerprint);
        if let Some(t) = time {
            self.window = Some(
                self.window
                    .map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))),
            );
        }
        if !self.classes.contains_key(self.fingerprint.as_slice()) {
            let class = QueryClass::new(query_id(&self.fingerprint), &self.fingerprint);
            self.classes
                .insert(self.fingerprint.as_slice().into(), class);
        }
        let Some(class) = self.classes.get_mut(self.fingerprint.as_slice()) else {
            return problem;
        };
        let (lock_time, lock_problem) = number(entry.lock_time, "Lock_time");
        let (rows_sent, sent_problem) = number(entry.rows_sent, "Rows_sent");
        let (rows_examined, examined_problem) = number(entry.rows_examined, "Rows_examined");
        let db = self.last_db.as_deref();
        let observation = Observation {
            query_time,
            lock_time,
            rows_sent,
            rows_examined,
            no_index: entry.no_index_used,
            time,
            db,
            user: entry.user,
            host: entry.host,
        };
        if class.add(&observation) {
            class.sample = Some(Sample::of(entry, query_time, time, db));
        }
        problem
            .or(lock_problem)
            .or(sent_problem)
            .or(examined_problem)
    }

    fn passes_filter(&self, time: Option<i64>, query_time: Option<f64>) -> bool {
        let f = &self.filter;
        let time_ok = |bound: Option<i64>, ok: fn(i64, i64) -> bool| {
            bound.is_none_or(|b| time.is_some_and(|t| ok(t, b)))
        };
        time_ok(f.since, |t, b| t >= b)
            && time_ok(f.until, |t, b| t < b)
            && f.min_time
                .is_none_or(|min| query_time.is_some_and(|q| q >= min))
            && f.database
                .as_deref()
                .is_none_or(|want| self.last_db.as_deref() == Some(want.as_bytes()))
    }

    pub fn classes(&self) -> impl Iterator<Item = &QueryClass> {
        self.classes.values()
    }

    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// First and last entry time over all classes (Unix seconds).
    pub fn window(&self) -> Option<(i64, i64)> {
        self.window
    }

    /// Queries per second of a class over the whole observed window (at least 1 s).
    pub fn qps(&self, class: &QueryClass) -> f64 {
        let seconds = self.window.map_or(1, |(lo, hi)| (hi - lo).max(1));
        class.count as f64 / seconds as f64
    }

    /// How many entries so far had slow-log header lines (see [`EntryFields::has_header`]).
    pub fn headed_entries(&self) -> u64 {
        self.headed_entries
    }

    pub fn stats(&self) -> &ParseStats {
        &self.stats
    }
}

fn number(raw: Option<&[u8]>, name: &str) -> (Option<f64>, Option<ProblemKind>) {
    match raw.map(|v| parse_ascii::<f64>(v).ok_or(v)) {
        None => (None, None),
        Some(Ok(v)) => (Some(v), None),
        Some(Err(raw)) => (
            None,
            Some(ProblemKind::BadNumber {
                attribute: name.to_string(),
                value: String::from_utf8_lossy(raw).into_owned(),
            }),
        ),
    }
}

/// The parsing half of [`Digest::add_reader`]: fills batches and hands them over.
fn parse_into_batches(
    src: impl Read,
    name: &Path,
    full: &mpsc::SyncSender<EntryBatch>,
    empty: &mpsc::Receiver<EntryBatch>,
) -> Result<ParseStats, SlowlogError> {
    let mut parser = SlowLogParser::new(src, name);
    let mut batch = EntryBatch::default();
    while let Some(event) = parser.next_event()? {
        batch.push(&EntryFields::of(&event));
        if batch.is_full() {
            let next = empty.try_recv().unwrap_or_default();
            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                break; // the aggregating side is gone
            }
        }
    }
    if !batch.is_empty() {
        let _ = full.send(batch);
    }
    Ok(parser.stats().clone())
}

#[cfg(test)]
mod continuation_tests {
    use super::*;

    #[test]
    fn continuation_keeps_the_inherited_database_across_pieces() {
        let first = b"# Time: 231125  9:05:03\n# Query_time: 1.0\nuse shop;\nSET timestamp=1700903103;\nselect * from orders where id=1;\n";
        let second =
            b"# Query_time: 2.0\nSET timestamp=1700903104;\nselect * from orders where id=2;\n";
        let (mut tail, mut split) = (Digest::default(), Digest::default());
        tail.add_continuation(&first[..], Path::new("a")).unwrap();
        tail.add_continuation(&second[..], Path::new("a")).unwrap();
        split.add_reader(&first[..], Path::new("a")).unwrap();
        split.add_reader(&second[..], Path::new("b")).unwrap();
        let tail_class = tail.classes().next().unwrap();
        assert_eq!(tail_class.count, 2);
        assert_eq!(tail_class.databases.sorted(), vec![("shop", 2)]);
        assert_eq!(
            split.classes().next().unwrap().databases.sorted(),
            vec![("shop", 1)],
            "a new file does not inherit"
        );
    }
}
