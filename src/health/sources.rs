//! Direct and Prometheus rows in one list: an instance with an `[[instance]]` entry is polled
//! directly and its Prometheus row of the same name is left out (one row per instance, source
//! "direct"); `--instance NAME` may name an instance that only a Prometheus source lists.

use std::collections::HashSet;

use super::{InstanceHealth, Source, Status};

/// Which rows to print: the direct entries' names, and the instances asked for (empty: all).
#[derive(Debug, Clone, Default)]
pub struct SourceFilter {
    direct: HashSet<String>,
    wanted: HashSet<String>,
    /// Prometheus sources whose every row is asked for (`--tag` of a tagged source).
    whole_sources: HashSet<String>,
}

impl SourceFilter {
    pub fn new<'a>(direct: impl IntoIterator<Item = &'a str>, wanted: &[String]) -> Self {
        SourceFilter {
            direct: direct.into_iter().map(str::to_string).collect(),
            wanted: wanted.iter().cloned().collect(),
            whole_sources: HashSet::new(),
        }
    }

    /// Also every row of these Prometheus sources (beside the instances asked for by name).
    pub fn with_whole_sources(mut self, sources: &[String]) -> Self {
        self.whole_sources.extend(sources.iter().cloned());
        self
    }

    /// Whether a row belongs in the output: a direct row is always asked for (only the asked-for
    /// instances are polled); a Prometheus row only when no direct entry has its name and it was
    /// asked for (or nothing was). A failed source's own row (`prometheus:NAME`) is kept while
    /// nothing in particular was asked for, so the error shows.
    pub fn keeps(&self, h: &InstanceHealth) -> bool {
        match &h.source {
            Source::Direct => true,
            Source::Prometheus(_) if self.direct.contains(&h.instance) => false,
            Source::Prometheus(source) => {
                (self.wanted.is_empty() && self.whole_sources.is_empty())
                    || self.wanted.contains(&h.instance)
                    || self.whole_sources.contains(source)
            }
        }
    }

    /// The Prometheus rows kept; the asked-for names found nowhere are an error that says what
    /// each source listed (or why it listed nothing).
    pub fn join(
        &self,
        mut direct: Vec<InstanceHealth>,
        prometheus: Vec<InstanceHealth>,
    ) -> Result<Vec<InstanceHealth>, String> {
        let mut missing: Vec<&String> = self
            .wanted
            .iter()
            .filter(|n| !self.direct.contains(*n) && !prometheus.iter().any(|h| &h.instance == *n))
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(self.missing_message(&missing, &prometheus));
        }
        direct.extend(prometheus.into_iter().filter(|h| self.keeps(h)));
        Ok(direct)
    }

    fn missing_message(&self, missing: &[&String], prometheus: &[InstanceHealth]) -> String {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        let mut sources: Vec<String> = Vec::new();
        let mut by_source: Vec<(&str, Vec<&str>)> = Vec::new();
        for h in prometheus {
            let Source::Prometheus(source) = &h.source else {
                continue;
            };
            // A source that failed lists one row named after itself, carrying the error.
            if h.status == Status::Down && h.instance == format!("prometheus:{source}") {
                let error = h.error.as_deref().unwrap_or("no answer");
                sources.push(format!("prometheus `{source}` failed: {error}"));
                continue;
            }
            match by_source.iter_mut().find(|(s, _)| s == source) {
                Some((_, list)) => list.push(&h.instance),
                None => by_source.push((source, vec![&h.instance])),
            }
        }
        for (source, mut list) in by_source {
            list.sort_unstable();
            let shown = list.len().min(10);
            let more = match list.len() - shown {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            sources.push(format!(
                "prometheus `{source}` lists {}{more}",
                list[..shown].join(", ")
            ));
        }
        let mut direct: Vec<&str> = self.direct.iter().map(String::as_str).collect();
        direct.sort_unstable();
        let direct = match direct.is_empty() {
            true => "no [[instance]] entries".to_string(),
            false => format!("[[instance]] entries: {}", direct.join(", ")),
        };
        let sources = match sources.is_empty() {
            true => "no [[prometheus]] sources".to_string(),
            false => sources.join("; "),
        };
        format!(
            "no instance named `{}`: {direct}; {sources}",
            names.join("`, `")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn row(name: &str, source: Option<&str>) -> InstanceHealth {
        let mut h = InstanceHealth::down(name, "x", at());
        h.status = Status::Up;
        h.error = None;
        if let Some(s) = source {
            h.source = Source::Prometheus(s.into());
        }
        h
    }

    fn names(rows: &[InstanceHealth]) -> Vec<(String, String)> {
        rows.iter()
            .map(|h| (h.instance.clone(), h.source.to_string()))
            .collect()
    }

    #[test]
    fn a_direct_entry_wins_over_the_prometheus_row_of_its_name() {
        let f = SourceFilter::new(["db1", "db2"], &[]);
        let rows = f
            .join(
                vec![row("db1", None), row("db2", None)],
                vec![row("db1", Some("fleet")), row("edge", Some("fleet"))],
            )
            .unwrap();
        assert_eq!(
            names(&rows),
            [
                ("db1".into(), "direct".into()),
                ("db2".into(), "direct".into()),
                ("edge".into(), "prometheus:fleet".into())
            ]
        );
    }

    #[test]
    fn instance_may_name_one_only_prometheus_lists() {
        let f = SourceFilter::new(["db1", "db2"], &["edge".to_string()]);
        let rows = f
            .join(
                Vec::new(),
                vec![
                    row("db1", Some("fleet")),
                    row("edge", Some("fleet")),
                    row("other", Some("fleet")),
                ],
            )
            .unwrap();
        assert_eq!(names(&rows), [("edge".into(), "prometheus:fleet".into())]);
        // Asking for a direct one keeps only its direct row.
        let f = SourceFilter::new(["db1"], &["db1".to_string()]);
        let rows = f
            .join(vec![row("db1", None)], vec![row("db1", Some("fleet"))])
            .unwrap();
        assert_eq!(names(&rows), [("db1".into(), "direct".into())]);
    }

    #[test]
    fn a_whole_source_adds_its_rows_to_the_names_asked_for() {
        let f = SourceFilter::new(["db1"], &["edge".to_string()])
            .with_whole_sources(&["tagged".to_string()]);
        let rows = f
            .join(
                Vec::new(),
                vec![
                    row("edge", Some("fleet")),
                    row("other", Some("fleet")),
                    row("db1", Some("tagged")),
                    row("far", Some("tagged")),
                ],
            )
            .unwrap();
        assert_eq!(
            names(&rows),
            [
                ("edge".into(), "prometheus:fleet".into()),
                ("far".into(), "prometheus:tagged".into())
            ]
        );
        let only = SourceFilter::new(["db1"], &[]).with_whole_sources(&["tagged".to_string()]);
        assert!(!only.keeps(&row("other", Some("fleet"))));
        assert!(only.keeps(&row("far", Some("tagged"))));
    }

    #[test]
    fn a_name_found_nowhere_says_what_each_source_listed() {
        let f = SourceFilter::new(["db1"], &["nope".to_string()]);
        let mut failed = InstanceHealth::down("prometheus:down", "cannot connect", at());
        failed.source = Source::Prometheus("down".into());
        let err = f
            .join(
                Vec::new(),
                vec![
                    row("edge", Some("fleet")),
                    row("core", Some("fleet")),
                    failed,
                ],
            )
            .unwrap_err();
        assert_eq!(
            err,
            "no instance named `nope`: [[instance]] entries: db1; prometheus `down` failed: \
             cannot connect; prometheus `fleet` lists core, edge"
        );
    }
}
