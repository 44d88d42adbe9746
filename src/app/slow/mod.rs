//! The Slow SQL pane's state: the latest leaderboard per instance and source, what changed in the
//! last update, sort key, filters, the drill-down, EXPLAIN results and tracking. Pure: keys and
//! backend updates come in, effects go out (see `keys`).

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::backend::slow::report::{
    ExplainTable, SlowClass, SlowDemand, SlowReport, SlowSourceKind, SlowUpdate, SourceStatus,
};
use crate::tracking::{TrackStatus, Tracking};

pub(super) mod keys;

/// Leaderboard sort keys, in the order the sort key cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowSort {
    TotalTime,
    Count,
    Qps,
    AvgTime,
    MaxTime,
    P95Time,
    RowsExamined,
    NoIndex,
}

impl SlowSort {
    pub const ALL: [SlowSort; 8] = [
        SlowSort::TotalTime,
        SlowSort::Count,
        SlowSort::Qps,
        SlowSort::AvgTime,
        SlowSort::MaxTime,
        SlowSort::P95Time,
        SlowSort::RowsExamined,
        SlowSort::NoIndex,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SlowSort::TotalTime => "total time",
            SlowSort::Count => "count",
            SlowSort::Qps => "QPS",
            SlowSort::AvgTime => "avg time",
            SlowSort::MaxTime => "max time",
            SlowSort::P95Time => "p95 time",
            SlowSort::RowsExamined => "rows examined",
            SlowSort::NoIndex => "no-index count",
        }
    }

    pub fn next(self) -> SlowSort {
        let i = SlowSort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        SlowSort::ALL[(i + 1) % SlowSort::ALL.len()]
    }

    fn key(self, c: &SlowClass) -> f64 {
        match self {
            SlowSort::TotalTime => c.time_sum,
            SlowSort::Count => c.count as f64,
            SlowSort::Qps => c.qps,
            SlowSort::AvgTime => c.time_avg,
            SlowSort::MaxTime => c.time_max,
            SlowSort::P95Time => c.time_p95.unwrap_or(c.time_max),
            SlowSort::RowsExamined => c.rows_examined,
            SlowSort::NoIndex => c.no_index as f64,
        }
    }
}

/// Filters besides the `/` text filter (which lives in `State::filter`, like every pane's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowFilters {
    /// Only classes whose average latency is at least this many seconds.
    pub min_avg_s: Option<f64>,
    pub min_count: Option<u64>,
    pub no_index_only: bool,
    /// Only classes seen in this database (exact, case-insensitive).
    pub database: Option<String>,
}

impl SlowFilters {
    pub fn is_empty(&self) -> bool {
        *self == SlowFilters::default()
    }
}

/// How far back the Δ column looks: long enough to read, short enough to mean "now".
pub const CHANGE_WINDOW_S: i64 = 10;

/// A source's latest report and what moved in the last `CHANGE_WINDOW_S` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceView {
    pub report: SlowReport,
    /// Count added per query ID within the window.
    pub deltas: HashMap<String, u64>,
    /// Query IDs that appeared within the window.
    pub fresh: HashSet<String>,
    /// Counts per query ID of recent reports, oldest first; the first is the reference the
    /// changes are measured from (the newest report at least a window old, or the first one).
    history: VecDeque<(DateTime<Utc>, HashMap<String, u64>)>,
}

/// The line being typed at the bottom of the pane, and what it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    MinTime,
    MinCount,
    Database,
    Note { query_id: String },
}

impl PromptKind {
    pub fn label(&self) -> &'static str {
        match self {
            PromptKind::MinTime => "min avg latency (e.g. 0.5, 200ms, empty clears)",
            PromptKind::MinCount => "min count (empty clears)",
            PromptKind::Database => "database (empty clears)",
            PromptKind::Note { .. } => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExplainState {
    Pending,
    Done(ExplainTable),
    Failed(String),
}

/// The open drill-down.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowDetail {
    pub instance: String,
    pub query_id: String,
    /// Tables the sample touches (parsed once, when the drill-down opens).
    pub tables: Vec<String>,
    pub scroll: u16,
}

/// Which class a leaderboard row is, across instances.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassKey {
    pub instance: String,
    pub query_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlowPane {
    pub views: HashMap<(String, SlowSourceKind), SourceView>,
    pub source: SlowSourceKind,
    /// One leaderboard across all instances (with an instance column), else the selected one.
    pub all_instances: bool,
    pub sort: SlowSort,
    pub filters: SlowFilters,
    /// The row under the cursor, kept by identity so live re-sorting does not move it.
    pub selected: Option<ClassKey>,
    pub detail: Option<SlowDetail>,
    pub explains: HashMap<ClassKey, ExplainState>,
    pub tracking: HashMap<String, Tracking>,
    pub prompt: Option<Prompt>,
    /// What the backend was last told this pane shows (a large fleet reads only that).
    pub demand_sent: SlowDemand,
}

impl Default for SlowPane {
    fn default() -> Self {
        SlowPane {
            views: HashMap::new(),
            source: SlowSourceKind::Log,
            all_instances: false,
            sort: SlowSort::TotalTime,
            filters: SlowFilters::default(),
            selected: None,
            detail: None,
            explains: HashMap::new(),
            tracking: HashMap::new(),
            prompt: None,
            demand_sent: SlowDemand::Nothing,
        }
    }
}

/// One visible leaderboard row.
#[derive(Debug, Clone, Copy)]
pub struct SlowRow<'a> {
    pub instance: &'a str,
    pub class: &'a SlowClass,
    pub delta: u64,
    pub fresh: bool,
    pub tracking: Option<&'a Tracking>,
}

impl SlowRow<'_> {
    pub fn key(&self) -> ClassKey {
        ClassKey {
            instance: self.instance.to_string(),
            query_id: self.class.query_id.clone(),
        }
    }
}

impl SlowPane {
    /// Store a backend update received at `now`; returns a message for the status bar, if any.
    pub fn apply(&mut self, update: SlowUpdate, now: DateTime<Utc>) -> Option<String> {
        match update {
            SlowUpdate::Report(report) => {
                self.apply_report(report, now);
                None
            }
            SlowUpdate::Tracking(all) => {
                self.tracking = all.into_iter().map(|t| (t.query_id.clone(), t)).collect();
                None
            }
            SlowUpdate::Explain {
                instance,
                query_id,
                result,
            } => {
                let state = match result {
                    Ok(table) => ExplainState::Done(table),
                    Err(e) => ExplainState::Failed(e),
                };
                let failed = matches!(state, ExplainState::Failed(_));
                self.explains.insert(ClassKey { instance, query_id }, state);
                failed.then(|| "EXPLAIN failed: see the drill-down".to_string())
            }
            SlowUpdate::Problem(text) => Some(text),
        }
    }

    fn apply_report(&mut self, report: SlowReport, now: DateTime<Utc>) {
        let key = (report.instance.clone(), report.source);
        let counts: HashMap<String, u64> = report
            .classes
            .iter()
            .map(|c| (c.query_id.clone(), c.count))
            .collect();
        let mut history = self
            .views
            .remove(&key)
            .map(|v| v.history)
            .unwrap_or_default();
        history.push_back((now, counts));
        let window_start = now - chrono::Duration::seconds(CHANGE_WINDOW_S);
        while history.len() >= 2 && history[1].0 <= window_start {
            history.pop_front();
        }
        let mut deltas = HashMap::new();
        let mut fresh = HashSet::new();
        // With one report only, it is the baseline: nothing in it counts as a change.
        if let (Some((_, reference)), true) = (history.front(), history.len() > 1) {
            for c in &report.classes {
                match reference.get(&c.query_id) {
                    Some(n) if c.count > *n => {
                        deltas.insert(c.query_id.clone(), c.count - n);
                    }
                    Some(_) => {}
                    None => {
                        fresh.insert(c.query_id.clone());
                        deltas.insert(c.query_id.clone(), c.count);
                    }
                }
            }
        }
        let view = SourceView {
            report,
            deltas,
            fresh,
            history,
        };
        self.views.insert(key, view);
    }

    /// The status of the shown source for `instance`, if it has reported.
    pub fn status(&self, instance: &str) -> Option<&SourceStatus> {
        self.views
            .get(&(instance.to_string(), self.source))
            .map(|v| &v.report.status)
    }

    /// Rows to show: the selected instance's (or every instance's) classes from the shown
    /// source, filtered, sorted by the sort key (highest first; ties by count, then query ID).
    pub fn rows<'a>(&'a self, instance: Option<&'a str>, text_filter: &str) -> Vec<SlowRow<'a>> {
        let mut rows: Vec<SlowRow<'a>> = self.matching(instance, text_filter).collect();
        let sort = self.sort;
        rows.sort_by(|a, b| {
            sort.key(b.class)
                .total_cmp(&sort.key(a.class))
                .then(b.class.count.cmp(&a.class.count))
                .then(a.class.query_id.cmp(&b.class.query_id))
                .then(a.instance.cmp(b.instance))
        });
        rows
    }

    /// The rows `rows` would show, unsorted: for counting without paying for the sort.
    pub fn matching<'a>(
        &'a self,
        instance: Option<&'a str>,
        text_filter: &str,
    ) -> impl Iterator<Item = SlowRow<'a>> + 'a {
        let needle = text_filter.to_lowercase();
        self.views
            .iter()
            .filter(move |((inst, src), _)| {
                *src == self.source && (self.all_instances || Some(inst.as_str()) == instance)
            })
            .flat_map(move |((inst, _), view)| {
                view.report.classes.iter().map(move |c| SlowRow {
                    instance: inst.as_str(),
                    class: c,
                    delta: view.deltas.get(&c.query_id).copied().unwrap_or(0),
                    fresh: view.fresh.contains(&c.query_id),
                    tracking: self.tracking.get(&c.query_id),
                })
            })
            .filter(move |row| self.passes(row, &needle))
    }

    fn passes(&self, row: &SlowRow<'_>, needle: &str) -> bool {
        let c = row.class;
        let f = &self.filters;
        f.min_avg_s.is_none_or(|min| c.time_avg >= min)
            && f.min_count.is_none_or(|min| c.count >= min)
            && (!f.no_index_only || c.no_index > 0)
            && f.database.as_deref().is_none_or(|want| {
                c.databases
                    .iter()
                    .any(|(d, _)| d.eq_ignore_ascii_case(want))
            })
            && (needle.is_empty() || text_matches(row, needle))
    }

    /// Index of the selected row within `rows` (0 when it is gone).
    pub fn cursor(&self, rows: &[SlowRow<'_>]) -> usize {
        self.selected
            .as_ref()
            .and_then(|k| {
                rows.iter()
                    .position(|r| r.instance == k.instance && r.class.query_id == k.query_id)
            })
            .unwrap_or(0)
    }

    /// The class a key names, from the shown source.
    pub fn class(&self, key: &ClassKey) -> Option<&SlowClass> {
        self.views
            .get(&(key.instance.clone(), self.source))?
            .report
            .classes
            .iter()
            .find(|c| c.query_id == key.query_id)
    }

    pub fn status_of(&self, query_id: &str) -> Option<TrackStatus> {
        self.tracking.get(query_id).map(|t| t.status)
    }
}

/// The text filter looks at the fingerprint, query ID, instance, databases, tracking status
/// and note.
fn text_matches(row: &SlowRow<'_>, needle: &str) -> bool {
    let c = row.class;
    c.fingerprint.to_lowercase().contains(needle)
        || c.query_id.to_lowercase().starts_with(needle)
        || row.instance.to_lowercase().contains(needle)
        || c.databases.iter().any(|(d, _)| d.to_lowercase() == needle)
        || row
            .tracking
            .is_some_and(|t| t.status.as_str() == needle || t.note.to_lowercase().contains(needle))
}

/// Reads `0.5`, `0.5s`, `200ms`, `150us` as seconds.
pub fn parse_seconds(text: &str) -> Option<f64> {
    let t = text.trim().to_lowercase();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("us").or_else(|| t.strip_suffix("µs")) {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let v: f64 = number.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v * scale)
}
