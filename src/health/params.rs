//! Parameter monitoring: chosen variables against a baseline, and changes seen while running.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Variables;

/// A variable whose value differs from the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ParamDiff {
    pub name: String,
    pub expected: String,
    /// `None`: the server does not have this variable.
    pub actual: Option<String>,
}

/// A variable that changed between two reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ParamChange {
    pub name: String,
    pub old: String,
    pub new: String,
    pub at: DateTime<Utc>,
}

/// Differences of `current` from `baseline`, by name. Values compare as the server means them:
/// names case-insensitively, ON/1/TRUE alike, numbers by value.
pub fn diff_against_baseline<'a>(
    baseline: &BTreeMap<String, String>,
    current: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<ParamDiff> {
    let lowered: HashMap<String, &String> = current
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    baseline
        .iter()
        .filter_map(|(name, expected)| {
            let actual = lowered
                .get(&name.to_ascii_lowercase())
                .map(|v| v.to_string());
            let same = actual.as_deref().is_some_and(|a| same_value(expected, a));
            (!same).then(|| ParamDiff {
                name: name.clone(),
                expected: expected.clone(),
                actual,
            })
        })
        .collect()
}

/// Whether two variable values mean the same.
pub fn same_value(a: &str, b: &str) -> bool {
    let norm = |v: &str| {
        let v = v.trim();
        match v.to_ascii_uppercase().as_str() {
            "ON" | "TRUE" | "YES" => "1".to_string(),
            "OFF" | "FALSE" | "NO" => "0".to_string(),
            _ => match v.parse::<f64>() {
                Ok(n) => format!("{n}"),
                Err(_) => v.to_string(),
            },
        }
    };
    norm(a) == norm(b)
}

/// What the Parameters view shows for one instance: the variables read now, the baseline they
/// are held against (if any) and the differences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ParamsReport {
    pub variables: BTreeMap<String, String>,
    /// Where the baseline comes from (`baseline.toml`, `instance primary (tag prod)`); `None`:
    /// no baseline is configured for this instance.
    pub baseline_source: Option<String>,
    pub baseline: BTreeMap<String, String>,
    pub diffs: Vec<ParamDiff>,
    /// What could not be read and why.
    pub notes: Vec<String>,
}

impl ParamsReport {
    /// Compare `variables` with `baseline` (when there is one).
    pub fn new(
        variables: BTreeMap<String, String>,
        baseline: Option<(String, BTreeMap<String, String>)>,
    ) -> ParamsReport {
        let (baseline_source, baseline) = baseline.unzip();
        let baseline = baseline.unwrap_or_default();
        ParamsReport {
            diffs: diff_against_baseline(&baseline, &variables),
            variables,
            baseline_source,
            baseline,
            notes: Vec::new(),
        }
    }

    pub fn differs(&self, name: &str) -> bool {
        self.diffs.iter().any(|d| d.name.eq_ignore_ascii_case(name))
    }
}

/// Remembers the last values of watched variables and reports what changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamWatch {
    last: Variables,
    /// Newest last, at most `KEEP`.
    pub changes: Vec<ParamChange>,
}

impl ParamWatch {
    const KEEP: usize = 200;

    /// Compare a fresh read with the previous one; the first read only records values. The polls
    /// between two reads carry the same read: nothing to compare.
    pub fn observe(&mut self, values: &Variables, at: DateTime<Utc>) -> Vec<ParamChange> {
        if values.same_read(&self.last) {
            return Vec::new();
        }
        let mut seen: Vec<ParamChange> = values
            .iter()
            .filter_map(|(name, new)| {
                let old = self.last.get(name)?;
                (!same_value(old, new)).then(|| ParamChange {
                    name: name.clone(),
                    old: old.clone(),
                    new: new.clone(),
                    at,
                })
            })
            .collect();
        seen.sort_by(|a, b| a.name.cmp(&b.name));
        self.last = values.clone();
        self.changes.extend(seen.iter().cloned());
        let excess = self.changes.len().saturating_sub(Self::KEEP);
        self.changes.drain(..excess);
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lists_differences_from_the_baseline() {
        let vars: BTreeMap<String, String> = [("sync_binlog", "0"), ("max_connections", "151")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let base: BTreeMap<String, String> = [("sync_binlog", "1"), ("max_connections", "151")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = ParamsReport::new(vars.clone(), Some(("baseline.toml".into(), base)));
        assert_eq!(r.diffs.len(), 1);
        assert!(r.differs("SYNC_BINLOG") && !r.differs("max_connections"));
        let none = ParamsReport::new(vars, None);
        assert_eq!((none.baseline_source, none.diffs.len()), (None, 0));
    }
}
