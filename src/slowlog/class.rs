//! One query class: the running aggregates of all entries sharing a fingerprint.

use foldhash::HashMap;

use crate::entry::EntryFields;
use crate::histogram::Histogram;

/// Distinct values remembered per class and attribute; the rest count as `(other)`.
const MAX_DISTINCT_VALUES: usize = 100;
const OTHER_VALUES: &str = "(other)";

/// The values of one entry that the digest aggregates.
pub(crate) struct Observation<'a> {
    pub query_time: Option<f64>,
    pub lock_time: Option<f64>,
    pub rows_sent: Option<f64>,
    pub rows_examined: Option<f64>,
    pub no_index: bool,
    pub time: Option<i64>,
    pub db: Option<&'a [u8]>,
    pub user: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
}

/// The entry with the highest `Query_time` in a class (the first one on ties).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub query: String,
    pub query_time: Option<f64>,
    pub unix_time: Option<i64>,
    pub database: Option<String>,
    /// Line of the entry in its file.
    pub line: u64,
}

impl Sample {
    pub(crate) fn of(
        event: &EntryFields<'_>,
        query_time: Option<f64>,
        unix_time: Option<i64>,
        db: Option<&[u8]>,
    ) -> Self {
        Self {
            query: String::from_utf8_lossy(event.query).into_owned(),
            query_time,
            unix_time,
            database: db.map(|d| String::from_utf8_lossy(d).into_owned()),
            line: event.line,
        }
    }
}

/// Counts of distinct values (databases, users, hosts), bounded in size.
#[derive(Debug, Clone, Default)]
pub struct ValueCounts(HashMap<Box<str>, u64>);

impl ValueCounts {
    fn add(&mut self, value: &[u8]) {
        let value = String::from_utf8_lossy(value);
        if let Some(n) = self.0.get_mut(value.as_ref()) {
            *n += 1;
            return;
        }
        let key = if self.0.len() < MAX_DISTINCT_VALUES {
            value.as_ref()
        } else {
            OTHER_VALUES
        };
        *self.0.entry(key.into()).or_default() += 1;
    }

    /// (value, count), most frequent first, then by value.
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        let mut all: Vec<_> = self.0.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Query-time statistics of a class, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimeStats {
    pub sum: f64,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    /// pt-query-digest's bucketed 95th percentile (within 5% of the true value).
    pub p95: f64,
    pub median: f64,
}

#[derive(Debug, Clone)]
pub struct QueryClass {
    /// pt-query-digest's checksum of the fingerprint (32 upper-case hex digits).
    pub query_id: String,
    /// Lossily decoded when the log is not UTF-8 (the ID uses the raw bytes).
    pub fingerprint: String,
    pub count: u64,
    query_time: Histogram,
    query_time_sum: f64,
    pub lock_time_sum: f64,
    pub rows_sent_sum: f64,
    pub rows_examined_sum: f64,
    pub no_index_count: u64,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub databases: ValueCounts,
    pub users: ValueCounts,
    pub hosts: ValueCounts,
    pub sample: Option<Sample>,
}

impl QueryClass {
    pub(crate) fn new(query_id: String, fingerprint: &[u8]) -> Self {
        Self {
            query_id,
            fingerprint: String::from_utf8_lossy(fingerprint).into_owned(),
            count: 0,
            query_time: Histogram::default(),
            query_time_sum: 0.0,
            lock_time_sum: 0.0,
            rows_sent_sum: 0.0,
            rows_examined_sum: 0.0,
            no_index_count: 0,
            first_seen: None,
            last_seen: None,
            databases: ValueCounts::default(),
            users: ValueCounts::default(),
            hosts: ValueCounts::default(),
            sample: None,
        }
    }

    /// Adds one entry; true when it becomes the class's sample.
    pub(crate) fn add(&mut self, o: &Observation<'_>) -> bool {
        self.count += 1;
        let worst =
            self.sample.is_none() || o.query_time.is_some_and(|q| q > self.query_time_max());
        if let Some(q) = o.query_time {
            self.query_time.add(q);
            self.query_time_sum += q;
        }
        self.lock_time_sum += o.lock_time.unwrap_or(0.0);
        self.rows_sent_sum += o.rows_sent.unwrap_or(0.0);
        self.rows_examined_sum += o.rows_examined.unwrap_or(0.0);
        self.no_index_count += u64::from(o.no_index);
        if let Some(t) = o.time {
            self.first_seen = Some(self.first_seen.map_or(t, |f| f.min(t)));
            self.last_seen = Some(self.last_seen.map_or(t, |l| l.max(t)));
        }
        for (counts, value) in [
            (&mut self.databases, o.db),
            (&mut self.users, o.user),
            (&mut self.hosts, o.host),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                counts.add(v);
            }
        }
        worst
    }

    fn query_time_max(&self) -> f64 {
        if self.query_time.count() == 0 {
            f64::NEG_INFINITY
        } else {
            self.query_time.min_max().1
        }
    }

    /// The `Query_time` histogram: (bucket lower bound in seconds, entries), fastest first;
    /// buckets are 5% wide.
    pub fn query_time_buckets(&self) -> impl Iterator<Item = (f64, u32)> + '_ {
        self.query_time.buckets()
    }

    /// Entries that had a `Query_time`.
    pub fn timed_count(&self) -> u64 {
        self.query_time.count()
    }

    pub fn query_time_stats(&self) -> TimeStats {
        let n = self.query_time.count();
        if n == 0 {
            return TimeStats::default();
        }
        let (min, max) = self.query_time.min_max();
        let (p95, median) = self.query_time.p95_and_median();
        TimeStats {
            sum: self.query_time_sum,
            avg: self.query_time_sum / n as f64,
            min,
            max,
            p95,
            median,
        }
    }
}
