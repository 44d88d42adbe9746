//! Alert evaluation wired to the config (per-instance rules, parameter baselines) and the
//! `on_alert` command: run without a shell, the alert as JSON on stdin, killed after its time
//! limit, its failure logged and never fatal.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::AsyncWriteExt;

use crate::config::{AlertsConfig, Config, InstanceConfig};
use crate::health::alert_state::{AlertBook, RuleBook};
use crate::health::{Alert, InstanceHealth, Status};

/// Everything the alert rules need from the config, resolved per instance.
#[derive(Debug, Clone, Default)]
pub struct AlertContext {
    rules: HashMap<String, RuleBook>,
    baselines: HashMap<String, BTreeMap<String, String>>,
    /// `baseline_tag`: instance -> the instance it is compared with.
    baseline_of: HashMap<String, String>,
    /// For rows of instances not resolved up front (a Prometheus source's): their rules come
    /// from the `[alerts]` overrides of their tags and name, resolved at their first row.
    unlisted: Option<Box<(AlertsConfig, crate::config::RowTags)>>,
}

impl AlertContext {
    /// Resolve rules and baselines for `instances`; an unreadable baseline file is an error.
    pub fn from_config(config: &Config, instances: &[InstanceConfig]) -> anyhow::Result<Self> {
        let mut ctx = AlertContext {
            unlisted: Some(Box::new((
                config.alerts.clone(),
                crate::config::RowTags::from_config(config),
            ))),
            ..AlertContext::default()
        };
        for inst in instances {
            ctx.rules.insert(
                inst.name.clone(),
                config.alerts.rules_for(&inst.name, &inst.tags),
            );
        }
        if let Some(path) = config.baseline_path() {
            let baseline =
                crate::config::alerts::load_baseline(&path).map_err(|e| anyhow::anyhow!(e))?;
            for inst in instances {
                ctx.baselines.insert(inst.name.clone(), baseline.clone());
            }
        } else if let Some(tag) = &config.parameters.baseline_tag {
            let reference = config.instances.iter().find(|i| i.tags.contains(tag));
            if let Some(reference) = reference {
                for inst in instances.iter().filter(|i| i.tags.contains(tag)) {
                    if inst.name != reference.name {
                        ctx.baseline_of
                            .insert(inst.name.clone(), reference.name.clone());
                    }
                }
            }
        }
        Ok(ctx)
    }

    /// The variables to read: the watch list plus every baseline variable.
    pub fn watched_variables(&self, config: &Config) -> Vec<String> {
        let mut names = config.parameters.watch.clone();
        for b in self.baselines.values() {
            for k in b.keys() {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
        names
    }

    /// Judge `h` into `book`; returns what started firing or resolved. With `baseline_tag`, the
    /// reference instance's latest variables become the baseline of the others in its group.
    pub fn observe(&mut self, book: &mut AlertBook, h: &InstanceHealth) -> Vec<Alert> {
        if h.status == Status::Up && self.baseline_of.values().any(|r| *r == h.instance) {
            let reference: BTreeMap<String, String> = h.monitor.variables.clone();
            let followers: Vec<String> = self
                .baseline_of
                .iter()
                .filter(|(_, r)| **r == h.instance)
                .map(|(f, _)| f.clone())
                .collect();
            for f in followers {
                self.baselines.insert(f, watched_only(&reference));
            }
        }
        if let (false, Some(unlisted)) = (self.rules.contains_key(&h.instance), &self.unlisted) {
            let (alerts, tags) = &**unlisted;
            let rules = alerts.rules_for(&h.instance, &tags.of_row(h));
            self.rules.insert(h.instance.clone(), rules);
        }
        let default_rules;
        let rules = match self.rules.get(&h.instance) {
            Some(r) => r,
            None => {
                default_rules = crate::health::alert_state::default_rules();
                &default_rules
            }
        };
        let facts = h.alert_facts(self.baselines.get(&h.instance));
        book.observe(&h.instance, &facts, rules, h.sampled_at)
    }
}

/// Identity variables differ between any two servers: never part of a tag-group baseline.
pub(crate) fn watched_only(vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    const IDENTITY: &[&str] = &[
        "hostname",
        "server_id",
        "datadir",
        "version",
        "version_comment",
        "read_only",
    ];
    vars.iter()
        .filter(|(k, _)| !IDENTITY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The configured `on_alert` command.
#[derive(Debug, Clone, Default)]
pub struct OnAlert {
    argv: Vec<String>,
    timeout: Duration,
}

impl OnAlert {
    pub fn from_config(alerts: &AlertsConfig) -> OnAlert {
        OnAlert {
            argv: alerts.on_alert.clone(),
            timeout: alerts.on_alert_timeout(),
        }
    }

    /// Run the command for each alert, in the background; results are logged.
    pub fn notify_all(&self, alerts: &[Alert]) {
        if self.argv.is_empty() {
            return;
        }
        for alert in alerts {
            let me = self.clone();
            let alert = alert.clone();
            tokio::spawn(async move {
                match me.run(&alert).await {
                    Ok(()) => {
                        tracing::info!(rule = alert.rule.id(), instance = %alert.instance, "on_alert ran")
                    }
                    Err(e) => {
                        tracing::warn!(rule = alert.rule.id(), instance = %alert.instance, error = %format!("{e:#}"), "on_alert failed")
                    }
                }
            });
        }
    }

    /// Run the command once for `alert` and wait for it (up to the time limit).
    pub async fn run(&self, alert: &Alert) -> anyhow::Result<()> {
        let (program, args) = self.argv.split_first().context("on_alert is empty")?;
        let payload = serde_json::to_vec(alert)?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start on_alert `{program}`"))?;
        let mut stdin = child.stdin.take().context("no stdin")?;
        let exchange = async {
            // A command that does not read its stdin must not make this fail.
            let _ = stdin.write_all(&payload).await;
            drop(stdin);
            child.wait_with_output().await
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => anyhow::bail!(
                "on_alert `{program}` ran over {:?} and was killed",
                self.timeout
            ),
            Ok(Err(e)) => Err(e).with_context(|| format!("on_alert `{program}`")),
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => anyhow::bail!(
                "on_alert `{program}` exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::health::{AlertState, RuleId, Severity};

    fn alert() -> Alert {
        Alert {
            instance: "db1".into(),
            rule: RuleId::ReplicationLag,
            severity: Severity::Critical,
            state: AlertState::Firing,
            since: Utc::now(),
            started: Utc::now(),
            summary: "replica 45 s behind (> 30 s)".into(),
        }
    }

    fn on_alert(argv: &[&str], timeout_ms: u64) -> OnAlert {
        OnAlert {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[test]
    fn a_prometheus_row_follows_the_overrides_of_its_sources_tags() {
        let config = Config::parse(
            "[[prometheus]]\nname = \"fleet\"\nurl = \"http://p:9090\"\ntags = [\"edge\"]\n\n\
             [alerts.instance_down.tag.edge]\nenabled = false\n",
            std::path::Path::new("c.toml"),
        )
        .unwrap();
        let mut ctx = AlertContext::from_config(&config, &[]).unwrap();
        let mut book = AlertBook::new();
        let down = |name: &str, source: &str| {
            let mut h = InstanceHealth::down(name, "gone", Utc::now());
            h.source = crate::health::Source::Prometheus(source.into());
            h
        };
        ctx.observe(&mut book, &down("edge-1", "fleet"));
        ctx.observe(&mut book, &down("core-1", "other"));
        let rules: Vec<(String, &str)> = book
            .all()
            .iter()
            .map(|a| (a.instance.clone(), a.rule.id()))
            .collect();
        assert_eq!(rules, [("core-1".to_string(), "instance_down")]);
    }

    #[tokio::test]
    async fn the_alert_arrives_as_json_on_stdin_without_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        // `tee` writes stdin to both files; `$HOME` stays literal because no shell expands it.
        let literal = dir.path().join("$HOME");
        let cmd = on_alert(
            &["tee", out.to_str().unwrap(), literal.to_str().unwrap()],
            5000,
        );
        cmd.run(&alert()).await.unwrap();
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(got["rule"], "replication_lag");
        assert_eq!(got["state"], "firing");
        assert_eq!(got["instance"], "db1");
        assert!(literal.exists(), "no shell expanded the argument");
    }

    #[tokio::test]
    async fn failures_and_timeouts_are_errors_not_panics() {
        let e = on_alert(&["false"], 5000).run(&alert()).await.unwrap_err();
        assert!(format!("{e:#}").contains("exited with"), "{e:#}");
        let e = on_alert(&["sleep", "5"], 200)
            .run(&alert())
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("was killed"), "{e:#}");
        let e = on_alert(&["/no/such/program"], 200)
            .run(&alert())
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("cannot start"), "{e:#}");
    }
}
