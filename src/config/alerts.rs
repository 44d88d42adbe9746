//! `[alerts]`: per-rule overrides (`[alerts.RULE]`, narrowed by `[alerts.RULE.tag.TAG]` and
//! `[alerts.RULE.instance.NAME]`) and the `on_alert` command; `[parameters]`: the baseline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::health::alert_state::RuleBook;
use crate::health::{RuleId, Severity};

/// `[alerts]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AlertsConfig {
    /// Program and arguments run for each alert that fires or resolves (never through a shell);
    /// the alert is written to its stdin as JSON.
    #[serde(default)]
    pub on_alert: Vec<String>,
    /// How long `on_alert` may run before it is killed, e.g. "10s".
    pub on_alert_timeout: Option<String>,
    /// Every other key is a rule id.
    #[serde(flatten)]
    pub rules: BTreeMap<String, RuleOverride>,
}

/// `[alerts.RULE]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub threshold: Option<Number>,
    #[serde(rename = "for")]
    pub for_duration: Option<String>,
    pub severity: Option<Severity>,
    pub enabled: Option<bool>,
    /// Overrides for instances carrying a tag.
    #[serde(default)]
    pub tag: BTreeMap<String, RuleFields>,
    /// Overrides for one instance (they win over tags).
    #[serde(default)]
    pub instance: BTreeMap<String, RuleFields>,
}

impl RuleOverride {
    /// The rule-wide fields, as the tag and instance scopes have them.
    pub fn base(&self) -> RuleFields {
        RuleFields {
            threshold: self.threshold,
            for_duration: self.for_duration.clone(),
            severity: self.severity,
            enabled: self.enabled,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleFields {
    pub threshold: Option<Number>,
    #[serde(rename = "for")]
    pub for_duration: Option<String>,
    pub severity: Option<Severity>,
    pub enabled: Option<bool>,
}

/// TOML integers and floats alike.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn value(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// `[parameters]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParametersConfig {
    /// A TOML file of `variable = "value"` lines every instance is compared with (relative paths
    /// are relative to the config file).
    pub baseline: Option<PathBuf>,
    /// Without a file: compare the instances sharing a tag with the first instance of that tag.
    #[serde(default)]
    pub baseline_tag: Option<String>,
    /// Variables watched for changes while running (the baseline's variables are added);
    /// `variables` is accepted as another name for it.
    #[serde(default = "default_watch", alias = "variables")]
    pub watch: Vec<String>,
}

impl Default for ParametersConfig {
    fn default() -> Self {
        ParametersConfig {
            baseline: None,
            baseline_tag: None,
            watch: default_watch(),
        }
    }
}

pub fn default_watch() -> Vec<String> {
    [
        "max_connections",
        "innodb_buffer_pool_size",
        "innodb_flush_log_at_trx_commit",
        "sync_binlog",
        "binlog_format",
        "read_only",
        "long_query_time",
        "innodb_log_file_size",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub const DEFAULT_ON_ALERT_TIMEOUT: Duration = Duration::from_secs(10);

impl AlertsConfig {
    /// Problems a config check must report: unknown rules, bad durations, out-of-range numbers.
    /// The error carries the table header to point at (`[alerts` or `[alerts.RULE`) and the message.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.check().map_err(|(rule, msg)| {
            let header = rule.map_or_else(|| "[alerts".to_string(), |r| format!("[alerts.{r}"));
            (header, msg)
        })
    }

    fn check(&self) -> Result<(), (Option<String>, String)> {
        let top = |m: String| (None, m);
        if let Some(t) = &self.on_alert_timeout {
            let d = parse_duration(t).map_err(|e| top(format!("key `on_alert_timeout`: {e}")))?;
            if d.is_zero() {
                return Err(top("key `on_alert_timeout`: must be more than 0s".into()));
            }
        }
        if self.on_alert.first().is_some_and(|p| p.trim().is_empty()) {
            return Err(top(
                "key `on_alert`: the program (first element) is empty".into()
            ));
        }
        for (name, rule) in &self.rules {
            let at = |m: String| (Some(name.clone()), m);
            if RuleId::from_id(name).is_none() {
                let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.id()).collect();
                return Err(at(format!(
                    "[alerts.{name}]: no such alert rule; known: {}",
                    known.join(", ")
                )));
            }
            let base = rule.base();
            let scopes = std::iter::once((String::new(), &base))
                .chain(rule.tag.iter().map(|(t, f)| (format!(".tag.{t}"), f)))
                .chain(
                    rule.instance
                        .iter()
                        .map(|(i, f)| (format!(".instance.{i}"), f)),
                );
            for (scope, fields) in scopes {
                if let Some(d) = &fields.for_duration {
                    parse_duration(d)
                        .map_err(|e| at(format!("[alerts.{name}{scope}] key `for`: {e}")))?;
                }
                if fields
                    .threshold
                    .is_some_and(|n| !n.value().is_finite() || n.value() < 0.0)
                {
                    return Err(at(format!(
                        "[alerts.{name}{scope}] key `threshold`: must be a number >= 0"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn on_alert_timeout(&self) -> Duration {
        self.on_alert_timeout
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(DEFAULT_ON_ALERT_TIMEOUT)
    }

    /// The settings of every rule for one instance: defaults, then `[alerts.RULE]`, then its
    /// tags' overrides (in the order of `tags`), then its own.
    pub fn rules_for(&self, instance: &str, tags: &[String]) -> RuleBook {
        RuleId::ALL
            .into_iter()
            .map(|rule| {
                let mut settings = rule.defaults();
                if let Some(o) = self.rules.get(rule.id()) {
                    let base = o.base();
                    let tagged = tags.iter().filter_map(|t| o.tag.get(t));
                    for fields in std::iter::once(&base)
                        .chain(tagged)
                        .chain(o.instance.get(instance))
                    {
                        apply(&mut settings, fields);
                    }
                }
                (rule, settings)
            })
            .collect()
    }
}

fn apply(settings: &mut crate::health::RuleSettings, fields: &RuleFields) {
    if let Some(t) = fields.threshold {
        settings.threshold = t.value();
    }
    if let Some(d) = fields
        .for_duration
        .as_deref()
        .and_then(|d| parse_duration(d).ok())
    {
        settings.for_duration = d;
    }
    if let Some(s) = fields.severity {
        settings.severity = s;
    }
    if let Some(e) = fields.enabled {
        settings.enabled = e;
    }
}

/// `0`, `30s`, `2m`, `1h`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0u64;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("`{text}` is not a duration; use e.g. 30s, 2m, 1h")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a duration; use e.g. 30s, 2m, 1h"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() || t.is_empty() {
        return Err(format!("`{text}` needs a unit: s, m, h or d (e.g. 30s)"));
    }
    Ok(Duration::from_secs(total))
}

/// Read a baseline file: `variable = value` pairs (strings, numbers or booleans).
pub fn load_baseline(path: &std::path::Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: cannot read the parameter baseline: {e}",
            path.display()
        )
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        format!("{}:{line}: {}", path.display(), e.message())
    })?;
    table
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => if b { "ON" } else { "OFF" }.to_string(),
                other => {
                    return Err(format!(
                    "{}: key `{k}`: {} is not a variable value; use a string, number or boolean",
                    path.display(),
                    other.type_str()
                ))
                }
            };
            Ok((k, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AlertsConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn parameters_take_watch_or_variables() {
        let p: ParametersConfig = toml::from_str("variables = [\"sync_binlog\"]\n").unwrap();
        assert_eq!(p.watch, vec!["sync_binlog".to_string()]);
        let d: ParametersConfig = toml::from_str("").unwrap();
        assert_eq!(d.watch, default_watch());
    }

    #[test]
    fn overrides_layer_rule_then_tag_then_instance() {
        let c = parse(
            "on_alert = [\"/bin/cat\"]\n\
             [replication_lag]\nthreshold = 60\nfor = \"2m\"\n\
             [replication_lag.tag.batch]\nthreshold = 600.5\nseverity = \"warning\"\n\
             [replication_lag.instance.r9]\nenabled = false\n",
        );
        c.validate().unwrap();
        let plain = c.rules_for("r1", &[]);
        let lag = plain[&RuleId::ReplicationLag];
        assert_eq!(
            (lag.threshold, lag.for_duration),
            (60.0, Duration::from_secs(120))
        );
        assert_eq!(lag.severity, Severity::Critical);
        let batch = c.rules_for("r2", &["batch".into()])[&RuleId::ReplicationLag];
        assert_eq!(
            (batch.threshold, batch.severity),
            (600.5, Severity::Warning)
        );
        assert!(!c.rules_for("r9", &["batch".into()])[&RuleId::ReplicationLag].enabled);
        assert_eq!(plain[&RuleId::DiskLow], RuleId::DiskLow.defaults());
        assert_eq!(c.on_alert_timeout(), DEFAULT_ON_ALERT_TIMEOUT);
    }

    #[test]
    fn unknown_rules_and_bad_values_are_named() {
        let e = parse("[replication_lagg]\nthreshold = 1\n")
            .validate()
            .unwrap_err()
            .1;
        assert!(
            e.contains("[alerts.replication_lagg]: no such alert rule"),
            "{e}"
        );
        let e = parse("[disk_low.tag.x]\nfor = \"soon\"\n")
            .validate()
            .unwrap_err()
            .1;
        assert!(e.contains("[alerts.disk_low.tag.x] key `for`"), "{e}");
        let e = parse("[disk_low]\nthreshold = -1\n")
            .validate()
            .unwrap_err()
            .1;
        assert!(e.contains("threshold"), "{e}");
        assert!(toml::from_str::<AlertsConfig>("[disk_low]\nthreshhold = 1\n").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("5").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn baseline_files_take_strings_numbers_and_booleans() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.toml");
        std::fs::write(
            &p,
            "sync_binlog = 1\nlog_bin = true\nbinlog_format = \"ROW\"\n",
        )
        .unwrap();
        let b = load_baseline(&p).unwrap();
        assert_eq!(b["sync_binlog"], "1");
        assert_eq!(b["log_bin"], "ON");
        std::fs::write(&p, "x = [1]\n").unwrap();
        assert!(load_baseline(&p).unwrap_err().contains("key `x`"));
        std::fs::write(&p, "x = \n").unwrap();
        assert!(load_baseline(&p).unwrap_err().contains(":1:"));
    }
}
