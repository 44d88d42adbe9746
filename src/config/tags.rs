//! The tags a health row carries: those of the `[[instance]]` entry of its name, and for a row
//! read through a `[[prometheus]]` source, that entry's `tags` too (an instance Prometheus
//! lists has no entry of its own to carry them). The console's tag groups, `arkc health --tag`
//! and recordings all use this, so a row is grouped the same way everywhere.

use std::collections::HashMap;

use super::Config;

/// Tags by instance name and by Prometheus source name, looked up per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowTags {
    instances: HashMap<String, Vec<String>>,
    sources: HashMap<String, Vec<String>>,
}

impl RowTags {
    pub fn from_config(config: &Config) -> RowTags {
        let keep = |tags: &[String]| (!tags.is_empty()).then(|| tags.to_vec());
        RowTags {
            instances: config
                .instances
                .iter()
                .filter_map(|i| Some((i.name.clone(), keep(&i.tags)?)))
                .collect(),
            sources: config
                .prometheus
                .iter()
                .filter_map(|s| Some((s.name.clone(), keep(&s.tags)?)))
                .collect(),
        }
    }

    /// The tags of row `instance`, read through Prometheus source `source` (`None`: directly):
    /// the entry's own first, then the source's; the same tag twice (case-blind) is kept once,
    /// in its first spelling.
    pub fn of(&self, instance: &str, source: Option<&str>) -> Vec<String> {
        let own = self.instances.get(instance).into_iter().flatten();
        let listed = source
            .and_then(|s| self.sources.get(s))
            .into_iter()
            .flatten();
        let mut out: Vec<String> = Vec::new();
        for tag in own.chain(listed) {
            if !out.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                out.push(tag.clone());
            }
        }
        out
    }

    /// The row tags of a health row (its source says whether a Prometheus entry's apply).
    pub fn of_row(&self, h: &crate::health::InstanceHealth) -> Vec<String> {
        match &h.source {
            crate::health::Source::Prometheus(s) => self.of(&h.instance, Some(s)),
            crate::health::Source::Direct => self.of(&h.instance, None),
        }
    }

    /// The Prometheus sources carrying one of `wanted` (lowercase): every row they list is in
    /// that tag's group.
    pub fn sources_tagged(&self, wanted: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .sources
            .iter()
            .filter(|(_, tags)| tags.iter().any(|t| wanted.contains(&t.to_lowercase())))
            .map(|(name, _)| name.clone())
            .collect();
        out.sort_unstable();
        out
    }

    /// Every tag of the entries and sources, lowercased, sorted, once each.
    pub fn known(&self) -> Vec<String> {
        let mut known: Vec<String> = self
            .instances
            .values()
            .chain(self.sources.values())
            .flatten()
            .map(|t| t.to_lowercase())
            .collect();
        known.sort_unstable();
        known.dedup();
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "[[instance]]\nname = \"db1\"\nhost = \"h\"\ntags = [\"prod\", \"EU\"]\n\n\
             [[prometheus]]\nname = \"fleet\"\nurl = \"http://p:9090\"\ntags = [\"eu\", \"scraped\"]\n\n\
             [[prometheus]]\nname = \"plain\"\nurl = \"http://p:9090\"\n",
            std::path::Path::new("c.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_prometheus_row_has_its_entrys_tags_and_its_sources() {
        let tags = RowTags::from_config(&config());
        assert_eq!(tags.of("db1", None), ["prod", "EU"]);
        assert_eq!(tags.of("db1", Some("fleet")), ["prod", "EU", "scraped"]);
        assert_eq!(tags.of("edge", Some("fleet")), ["eu", "scraped"]);
        assert!(tags.of("edge", Some("plain")).is_empty());
        assert!(tags.of("edge", None).is_empty());
        assert_eq!(tags.known(), ["eu", "prod", "scraped"]);
        assert_eq!(tags.sources_tagged(&["scraped".into()]), ["fleet"]);
        assert!(tags.sources_tagged(&["prod".into()]).is_empty());
    }
}
