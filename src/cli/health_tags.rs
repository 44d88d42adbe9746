//! `arkc health --tag TAG`: the console's tag groups (`t`, `:tag NAME`) as instance names.
//!
//! Tags live on `[[instance]]` entries only (a Prometheus or recorded row has none), and are
//! compared lowercased, as the console does.

use crate::config::Config;

/// `names` followed by every configured instance carrying one of `tags` (each name once); an
/// unknown tag is an error listing the known ones.
pub fn with_tagged(
    config: &Config,
    names: &[String],
    tags: &[String],
) -> anyhow::Result<Vec<String>> {
    if tags.is_empty() {
        return Ok(names.to_vec());
    }
    let mut known: Vec<String> = config
        .instances
        .iter()
        .flat_map(|i| i.tags.iter().map(|t| t.to_lowercase()))
        .collect();
    known.sort_unstable();
    known.dedup();
    if known.is_empty() {
        anyhow::bail!(
            "no instance has tags, so there is no tag `{}`: add tags = [\"prod\"] to [[instance]] entries to group them",
            tags[0]
        );
    }
    let wanted: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
    if let Some(unknown) = wanted.iter().find(|t| !known.contains(t)) {
        anyhow::bail!(
            "no instance is tagged `{unknown}`; tags: {}",
            known.join(", ")
        );
    }
    let mut out = names.to_vec();
    for i in &config.instances {
        let tagged = i.tags.iter().any(|t| wanted.contains(&t.to_lowercase()));
        if tagged && !out.contains(&i.name) {
            out.push(i.name.clone());
        }
    }
    Ok(out)
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
        assert_eq!(with_tagged(&c, &[], &s(&["prod"])).unwrap(), s(&["a"]));
        assert_eq!(
            with_tagged(&c, &s(&["c"]), &s(&["STAGING", "eu"])).unwrap(),
            s(&["c", "a", "b"])
        );
        assert_eq!(with_tagged(&c, &s(&["c"]), &[]).unwrap(), s(&["c"]));
    }

    #[test]
    fn an_unknown_tag_lists_the_known_ones() {
        let e = with_tagged(&config(), &[], &["dr".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no instance is tagged `dr`; tags: eu, prod, staging"
        );
        let untagged = Config {
            instances: vec![InstanceConfig::tcp("x", "127.0.0.1", 1)],
            ..Config::default()
        };
        let e = with_tagged(&untagged, &[], &["dr".into()]).unwrap_err();
        assert!(e.to_string().contains("no instance has tags"), "{e}");
    }
}
