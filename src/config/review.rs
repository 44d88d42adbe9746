//! `[review]`: thresholds for the SQL review of `arkc deploy review/apply`, and per-rule
//! severities (`[review.RULE] severity = "off" | "warning" | "error"`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// How much a finding weighs: `Error` refuses the apply, `Warning` asks for confirmation.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Off,
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Off => "off",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One `[review.RULE]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    pub severity: Severity,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct ReviewConfig {
    /// `max-indexes`: more secondary indexes than this on one table is a finding.
    pub max_indexes: usize,
    /// `index-name-prefix`: names of plain indexes start with this.
    pub index_prefix: String,
    /// `index-name-prefix`: names of unique indexes start with this.
    pub unique_prefix: String,
    /// `charset-allowlist`: character sets a table or column may declare.
    pub charsets: Vec<String>,
    /// `affected-rows-limit`: the EXPLAIN row estimate of an UPDATE/DELETE above this is a finding.
    pub affected_rows_max: u64,
    /// `large-table-alter`: an ALTER of a table above this many MiB (data + indexes) is a finding.
    pub large_table_mib: u64,
    /// Per-rule severity overrides, keyed by rule id (validated against the known ids).
    #[serde(flatten)]
    pub rules: BTreeMap<String, RuleSetting>,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            max_indexes: 5,
            index_prefix: "idx_".into(),
            unique_prefix: "uniq_".into(),
            charsets: vec!["utf8mb4".into()],
            affected_rows_max: 10_000,
            large_table_mib: 1024,
            rules: BTreeMap::new(),
        }
    }
}

impl ReviewConfig {
    /// The configured severity of `rule`, else its default.
    pub fn severity(&self, rule: &str, default: Severity) -> Severity {
        self.rules.get(rule).map(|r| r.severity).unwrap_or(default)
    }
}
