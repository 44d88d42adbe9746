//! `[[prometheus]]` entries: fleets read from a Prometheus server that scrapes mysqld_exporter,
//! instead of arkc connecting to every server itself.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// Shown as `prometheus:NAME` in the `source` of every instance read through it.
    pub name: String,
    /// Base URL of the Prometheus HTTP API, e.g. `http://prometheus:9090`.
    pub url: String,
    /// Label matchers every series must carry, e.g. `{job="mysql"}`.
    #[serde(default)]
    pub selector: Option<String>,
    /// The label that names an instance (default `instance`).
    #[serde(default = "default_instance_label")]
    pub instance_label: String,
    /// How often the fleet is read, in milliseconds (default: `[ui] refresh_ms`).
    #[serde(default)]
    pub refresh_ms: Option<u64>,
    /// Tags of every instance this source lists (their tag groups, `arkc health --tag`), added
    /// to those of an `[[instance]]` entry of the same name.
    #[serde(default)]
    pub tags: Vec<String>,
    /// 1-based line of the `[[prometheus]]` header, for messages.
    #[serde(skip)]
    pub line: usize,
}

fn default_instance_label() -> String {
    "instance".into()
}

impl PrometheusSource {
    /// The matchers inside the selector's braces (`job="mysql"`), or "" without a selector.
    pub fn matchers(&self) -> &str {
        self.selector
            .as_deref()
            .map(|s| s.trim())
            .and_then(|s| s.strip_prefix('{'))
            .and_then(|s| s.strip_suffix('}'))
            .map(str::trim)
            .unwrap_or("")
    }

    /// What is wrong with this entry, if anything (the caller adds file and line).
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() {
            return Some("key `name`: must not be empty".into());
        }
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Some(format!(
                "key `url`: `{url}` is not an http:// or https:// URL of the Prometheus server"
            ));
        }
        if let Some(sel) = &self.selector {
            let sel = sel.trim();
            if !(sel.starts_with('{') && sel.ends_with('}')) {
                return Some(format!(
                    "key `selector`: `{sel}` must be label matchers in braces, e.g. {{job=\"mysql\"}}"
                ));
            }
        }
        let label_ok = self
            .instance_label
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if self.instance_label.is_empty() || !label_ok {
            return Some(format!(
                "key `instance_label`: `{}` is not a Prometheus label name",
                self.instance_label
            ));
        }
        if let Some(ms) = self.refresh_ms {
            if !(100..=3_600_000).contains(&ms) {
                return Some(format!(
                    "key `refresh_ms`: {ms} is out of range; use 100 to 3600000 milliseconds"
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(selector: Option<&str>) -> PrometheusSource {
        PrometheusSource {
            name: "fleet".into(),
            url: "http://127.0.0.1:9090".into(),
            selector: selector.map(String::from),
            instance_label: "instance".into(),
            refresh_ms: None,
            tags: Vec::new(),
            line: 1,
        }
    }

    #[test]
    fn matchers_come_from_inside_the_braces() {
        assert_eq!(
            source(Some(" {job=\"mysql\"} ")).matchers(),
            "job=\"mysql\""
        );
        assert_eq!(source(None).matchers(), "");
        assert_eq!(source(Some("{}")).matchers(), "");
    }

    #[test]
    fn config_errors_name_the_file_line_and_source() {
        let text = "[[prometheus]]\nname = \"a\"\nurl = \"http://p:9090\"\n\n\
                    [[prometheus]]\nname = \"b\"\nurl = \"http://p:9090\"\nselector = \"job=mysql\"\n";
        let err = crate::config::Config::parse(text, std::path::Path::new("/etc/arkc.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/arkc.toml:5: prometheus `b`: key `selector`"),
            "{err}"
        );
        let ok = crate::config::Config::parse(
            "[[prometheus]]\nname = \"a\"\nurl = \"http://p:9090\"\n",
            std::path::Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(ok.prometheus[0].instance_label, "instance");
        let unknown = crate::config::Config::parse(
            "[[prometheus]]\nname = \"a\"\nurl = \"http://p:9090\"\njob = \"x\"\n",
            std::path::Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("unknown field `job`"), "{unknown}");
    }

    #[test]
    fn bad_entries_say_which_key() {
        assert!(source(Some("job=mysql"))
            .problem()
            .unwrap()
            .contains("`selector`"));
        let mut s = source(None);
        s.url = "localhost:9090".into();
        assert!(s.problem().unwrap().contains("`url`"));
        let mut s = source(None);
        s.instance_label = "9x".into();
        assert!(s.problem().unwrap().contains("instance_label"));
        assert_eq!(source(Some("{job=\"mysql\"}")).problem(), None);
    }
}
