//! `arkc health --tag TAG`: the console's tag groups (`t`, `:tag NAME`) as instance names.
//!
//! Live, a row's tags are its `[[instance]]` entry's and, read through a `[[prometheus]]`
//! source, that source's (see [`RowTags`]); a replay uses the tags recorded with the frame.
//! Tags are compared lowercased, as the console does.

use std::collections::BTreeMap;

use crate::config::{Config, RowTags};

/// What `--instance` and `--tag` ask for, live.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// The names given, then the `[[instance]]` entries carrying a tag asked for (each once).
    pub names: Vec<String>,
    /// The `[[prometheus]]` sources carrying a tag asked for: every instance they list.
    pub sources: Vec<String>,
}

impl Selection {
    /// Only whole Prometheus sources were asked for: no `[[instance]]` entry is to be polled.
    pub fn only_sources(&self) -> bool {
        self.names.is_empty() && !self.sources.is_empty()
    }
}

/// `names` and the entries and sources carrying one of `tags`; an unknown tag is an error
/// listing the known ones.
pub fn select(config: &Config, names: &[String], tags: &[String]) -> anyhow::Result<Selection> {
    if tags.is_empty() {
        return Ok(Selection {
            names: names.to_vec(),
            sources: Vec::new(),
        });
    }
    let wanted = wanted_among(tags, &RowTags::from_config(config).known(), "instance")?;
    let mut out = names.to_vec();
    for i in &config.instances {
        let tagged = i.tags.iter().any(|t| wanted.contains(&t.to_lowercase()));
        if tagged && !out.contains(&i.name) {
            out.push(i.name.clone());
        }
    }
    Ok(Selection {
        names: out,
        sources: RowTags::from_config(config).sources_tagged(&wanted),
    })
}

/// The instances of a recorded frame that `names` and `tags` ask for, by the tags recorded with
/// the frame (`None`: all of them).
pub fn select_recorded(
    recorded: &BTreeMap<String, Vec<String>>,
    names: &[String],
    tags: &[String],
) -> anyhow::Result<Option<Vec<String>>> {
    if names.is_empty() && tags.is_empty() {
        return Ok(None);
    }
    let mut out = names.to_vec();
    if tags.is_empty() {
        return Ok(Some(out));
    }
    let mut known: Vec<String> = recorded
        .values()
        .flatten()
        .map(|t| t.to_lowercase())
        .collect();
    known.sort_unstable();
    known.dedup();
    let wanted = wanted_among(tags, &known, "recorded instance")?;
    for (name, tags) in recorded {
        let tagged = tags.iter().any(|t| wanted.contains(&t.to_lowercase()));
        if tagged && !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(Some(out))
}

/// `tags` lowercased, each one of `known`.
fn wanted_among(tags: &[String], known: &[String], what: &str) -> anyhow::Result<Vec<String>> {
    if known.is_empty() {
        anyhow::bail!(
            "no {what} has tags, so there is no tag `{}`: add tags = [\"prod\"] to [[instance]] or [[prometheus]] entries to group them",
            tags[0]
        );
    }
    let wanted: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
    if let Some(unknown) = wanted.iter().find(|t| !known.contains(t)) {
        anyhow::bail!(
            "no {what} is tagged `{unknown}`; tags: {}",
            known.join(", ")
        );
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceConfig;

    fn config() -> Config {
        let mut a = InstanceConfig::tcp("a", "127.0.0.1", 1);
        a.tags = vec!["Prod".into(), "eu".into()];
        let mut b = InstanceConfig::tcp("b", "127.0.0.1", 2);
        b.tags = vec!["staging".into()];
        let c = InstanceConfig::tcp("c", "127.0.0.1", 3);
        Config {
            instances: vec![a, b, c],
            ..Config::default()
        }
    }

    #[test]
    fn a_tag_selects_its_instances_case_blind_and_adds_to_names() {
        let c = config();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(select(&c, &[], &s(&["prod"])).unwrap().names, s(&["a"]));
        assert_eq!(
            select(&c, &s(&["c"]), &s(&["STAGING", "eu"]))
                .unwrap()
                .names,
            s(&["c", "a", "b"])
        );
        assert_eq!(select(&c, &s(&["c"]), &[]).unwrap().names, s(&["c"]));
    }

    #[test]
    fn an_unknown_tag_lists_the_known_ones() {
        let e = select(&config(), &[], &["dr".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no instance is tagged `dr`; tags: eu, prod, staging"
        );
        let untagged = Config {
            instances: vec![InstanceConfig::tcp("x", "127.0.0.1", 1)],
            ..Config::default()
        };
        let e = select(&untagged, &[], &["dr".into()]).unwrap_err();
        assert!(e.to_string().contains("no instance has tags"), "{e}");
    }

    #[test]
    fn a_tagged_prometheus_source_is_selected_whole() {
        let mut c = config();
        c.prometheus = vec![crate::config::prometheus::PrometheusSource {
            name: "fleet".into(),
            url: "http://p:9090".into(),
            selector: None,
            instance_label: "instance".into(),
            refresh_ms: None,
            tags: vec!["Scraped".into(), "eu".into()],
            line: 1,
        }];
        let only = select(&c, &[], &["scraped".into()]).unwrap();
        assert!(only.only_sources(), "{only:?}");
        assert_eq!(only.sources, ["fleet"]);
        let both = select(&c, &[], &["EU".into()]).unwrap();
        assert_eq!(
            (both.names, both.sources),
            (vec!["a".to_string()], vec!["fleet".to_string()])
        );
        let e = select(&c, &[], &["dr".into()]).unwrap_err();
        assert!(
            e.to_string().ends_with("tags: eu, prod, scraped, staging"),
            "{e}"
        );
    }

    #[test]
    fn a_replay_selects_by_the_recorded_tags() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let recorded: BTreeMap<String, Vec<String>> = [
            ("edge".to_string(), s(&["Scraped"])),
            ("db1".to_string(), s(&["prod"])),
        ]
        .into();
        assert_eq!(select_recorded(&recorded, &[], &[]).unwrap(), None);
        assert_eq!(
            select_recorded(&recorded, &s(&["x"]), &s(&["scraped"])).unwrap(),
            Some(s(&["x", "edge"]))
        );
        let e = select_recorded(&recorded, &[], &s(&["dr"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no recorded instance is tagged `dr`; tags: prod, scraped"
        );
        let e = select_recorded(&BTreeMap::new(), &[], &s(&["dr"])).unwrap_err();
        assert!(
            e.to_string().starts_with("no recorded instance has tags"),
            "{e}"
        );
    }
}
