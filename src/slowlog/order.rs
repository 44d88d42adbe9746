//! `--order-by ATTR:sum|avg|max|count` and `--limit`.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::class::QueryClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortAttribute {
    QueryTime,
    LockTime,
    RowsSent,
    RowsExamined,
    NoIndex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortFunction {
    Sum,
    Avg,
    Max,
    Count,
}

/// How to rank classes; the default is pt-query-digest's `Query_time:sum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy {
    pub attribute: SortAttribute,
    pub function: SortFunction,
}

impl Default for OrderBy {
    fn default() -> Self {
        Self {
            attribute: SortAttribute::QueryTime,
            function: SortFunction::Sum,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid --order-by {0:?}: expected ATTR:sum|avg|max|count with ATTR one of Query_time, Lock_time, Rows_sent, Rows_examined, No_index")]
pub struct OrderByError(String);

impl FromStr for OrderBy {
    type Err = OrderByError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || OrderByError(s.to_string());
        let (attr, func) = s.split_once(':').unwrap_or((s, "sum"));
        let attribute = match attr.to_ascii_lowercase().as_str() {
            "query_time" | "time" => SortAttribute::QueryTime,
            "lock_time" => SortAttribute::LockTime,
            "rows_sent" => SortAttribute::RowsSent,
            "rows_examined" => SortAttribute::RowsExamined,
            "no_index" | "no_index_used" | "full_scan" => SortAttribute::NoIndex,
            _ => return Err(err()),
        };
        let function = match func.to_ascii_lowercase().as_str() {
            "sum" => SortFunction::Sum,
            "avg" => SortFunction::Avg,
            "max" => SortFunction::Max,
            "count" | "cnt" => SortFunction::Count,
            _ => return Err(err()),
        };
        Ok(Self {
            attribute,
            function,
        })
    }
}

impl OrderBy {
    /// The value a class is ranked by (higher first).
    pub fn key(&self, class: &QueryClass) -> f64 {
        if self.function == SortFunction::Count {
            return class.count as f64;
        }
        let count = class.count.max(1) as f64;
        let qt = class.query_time_stats();
        let (sum, max) = match self.attribute {
            SortAttribute::QueryTime => (qt.sum, qt.max),
            SortAttribute::LockTime => (class.lock_time_sum, class.lock_time_sum),
            SortAttribute::RowsSent => (class.rows_sent_sum, class.rows_sent_sum),
            SortAttribute::RowsExamined => (class.rows_examined_sum, class.rows_examined_sum),
            SortAttribute::NoIndex => (class.no_index_count as f64, class.no_index_count as f64),
        };
        match self.function {
            SortFunction::Sum => sum,
            SortFunction::Avg if self.attribute == SortAttribute::QueryTime => qt.avg,
            SortFunction::Avg => sum / count,
            SortFunction::Max => max,
            SortFunction::Count => class.count as f64,
        }
    }

    /// Ranks `classes` (ties broken by count, then query ID) and keeps the first `limit`.
    pub fn rank<'a>(
        &self,
        classes: impl IntoIterator<Item = &'a QueryClass>,
        limit: Option<usize>,
    ) -> Vec<&'a QueryClass> {
        let mut keyed: Vec<(f64, &QueryClass)> =
            classes.into_iter().map(|c| (self.key(c), c)).collect();
        keyed.sort_by(|(ka, a), (kb, b)| {
            kb.partial_cmp(ka)
                .unwrap_or(Ordering::Equal)
                .then(b.count.cmp(&a.count))
                .then(a.query_id.cmp(&b.query_id))
        });
        keyed
            .into_iter()
            .map(|(_, c)| c)
            .take(limit.unwrap_or(usize::MAX))
            .collect()
    }
}
