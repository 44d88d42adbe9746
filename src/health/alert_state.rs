//! The alert state machine: per instance and rule, pending (condition holds, `for` not yet
//! elapsed) -> firing -> resolved, each with the time it entered that state. Pure: the caller
//! hands in facts and the time, and gets back the transitions worth telling someone about.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::rules::{judge, AlertFacts, RuleId, RuleSettings, Severity, Verdict};

/// How far back `deadlocks` counts new deadlocks.
pub const DEADLOCK_WINDOW: Duration = Duration::minutes(5);
/// How long a resolved alert stays listed.
pub const RESOLVED_RETENTION: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert as listed and as sent to `on_alert` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Alert {
    pub instance: String,
    pub rule: RuleId,
    pub severity: Severity,
    pub state: AlertState,
    /// When it entered `state`.
    pub since: DateTime<Utc>,
    /// When the condition was first seen (start of pending).
    pub started: DateTime<Utc>,
    pub summary: String,
}

/// Per instance, the settings of every rule (resolved from defaults and config).
pub type RuleBook = BTreeMap<RuleId, RuleSettings>;

/// Every rule at its default.
pub fn default_rules() -> RuleBook {
    RuleId::ALL.into_iter().map(|r| (r, r.defaults())).collect()
}

/// All alerts of all instances.
#[derive(Debug, Clone, Default)]
pub struct AlertBook {
    alerts: BTreeMap<(String, RuleId), Alert>,
    deadlocks: HashMap<String, VecDeque<(DateTime<Utc>, u64)>>,
}

impl AlertBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// A book holding exactly `alerts` (a replay shows what was recorded, not a re-judgement).
    pub fn from_alerts(alerts: Vec<Alert>) -> Self {
        AlertBook {
            alerts: alerts
                .into_iter()
                .map(|a| ((a.instance.clone(), a.rule), a))
                .collect(),
            deadlocks: HashMap::new(),
        }
    }

    /// Judge every enabled rule for `instance` at `now`; returns the alerts that started firing
    /// or resolved in this step (what `on_alert` is told about).
    pub fn observe(
        &mut self,
        instance: &str,
        facts: &AlertFacts,
        rules: &RuleBook,
        now: DateTime<Utc>,
    ) -> Vec<Alert> {
        let new_deadlocks = self.new_deadlocks(instance, facts.deadlocks_total, now);
        let mut changed = Vec::new();
        for (&rule, settings) in rules {
            let key = (instance.to_string(), rule);
            if !settings.enabled {
                self.alerts.remove(&key);
                continue;
            }
            let verdict = judge(rule, settings.threshold, facts, new_deadlocks);
            if let Some(alert) = self.step(key, settings, verdict, now) {
                changed.push(alert);
            }
        }
        // Only this instance's part: a result arrives every second for each of a thousand.
        let expired: Vec<RuleId> = self
            .of_instance(instance)
            .filter(|a| a.state == AlertState::Resolved && now - a.since >= RESOLVED_RETENTION)
            .map(|a| a.rule)
            .collect();
        for rule in expired {
            self.alerts.remove(&(instance.to_string(), rule));
        }
        changed
    }

    fn step(
        &mut self,
        key: (String, RuleId),
        settings: &RuleSettings,
        verdict: Verdict,
        now: DateTime<Utc>,
    ) -> Option<Alert> {
        let for_duration = Duration::from_std(settings.for_duration).unwrap_or(Duration::zero());
        let current = self.alerts.get(&key).cloned();
        match (verdict, current) {
            (Verdict::Unknown, _) => None,
            (Verdict::Active(summary), existing) => {
                let started = match &existing {
                    Some(a) if a.state != AlertState::Resolved => a.started,
                    _ => now,
                };
                let was_firing = existing
                    .as_ref()
                    .is_some_and(|a| a.state == AlertState::Firing);
                let fires = now - started >= for_duration;
                let state = if fires {
                    AlertState::Firing
                } else {
                    AlertState::Pending
                };
                let since = match &existing {
                    Some(a) if a.state == state => a.since,
                    _ => now,
                };
                let alert = Alert {
                    instance: key.0.clone(),
                    rule: key.1,
                    severity: settings.severity,
                    state,
                    since,
                    started,
                    summary,
                };
                self.alerts.insert(key, alert.clone());
                (fires && !was_firing).then_some(alert)
            }
            (Verdict::Clear, Some(a)) => match a.state {
                AlertState::Pending => {
                    // Never fired: nothing to resolve.
                    self.alerts.remove(&key);
                    None
                }
                AlertState::Firing => {
                    let resolved = Alert {
                        state: AlertState::Resolved,
                        since: now,
                        ..a
                    };
                    self.alerts.insert(key, resolved.clone());
                    Some(resolved)
                }
                AlertState::Resolved => None,
            },
            (Verdict::Clear, None) => None,
        }
    }

    /// Deadlocks counted since the oldest sample in the window; `None` until two samples exist.
    /// A counter that went down (restart) starts the history over.
    fn new_deadlocks(
        &mut self,
        instance: &str,
        total: Option<u64>,
        now: DateTime<Utc>,
    ) -> Option<u64> {
        let total = total?;
        let history = self.deadlocks.entry(instance.to_string()).or_default();
        if history.back().is_some_and(|(_, last)| *last > total) {
            history.clear();
        }
        history.push_back((now, total));
        while history.len() > 1
            && history
                .front()
                .is_some_and(|(t, _)| now - *t > DEADLOCK_WINDOW)
        {
            history.pop_front();
        }
        let (_, oldest) = history.front()?;
        (history.len() > 1).then(|| total - oldest)
    }

    /// One instance's alerts, read from its part of the map (not a walk over the whole fleet's:
    /// the instance list asks this for every row it draws).
    fn of_instance<'a, 'b>(
        &'a self,
        instance: &'b str,
    ) -> impl Iterator<Item = &'a Alert> + use<'a, 'b> {
        let lowest = RuleId::ALL
            .iter()
            .copied()
            .min()
            .unwrap_or(RuleId::InstanceDown);
        self.alerts
            .range((instance.to_string(), lowest)..)
            .take_while(move |((name, _), _)| name == instance)
            .map(|(_, a)| a)
    }

    /// The alerts of one instance, firing first, then pending, then resolved.
    pub fn alerts_of(&self, instance: &str) -> Vec<Alert> {
        let mut list: Vec<Alert> = self.of_instance(instance).cloned().collect();
        sort_for_display(&mut list);
        list
    }

    /// Every alert, firing first.
    pub fn all(&self) -> Vec<Alert> {
        let mut list: Vec<Alert> = self.alerts.values().cloned().collect();
        sort_for_display(&mut list);
        list
    }

    /// How many alerts fire now (the status bar's count).
    pub fn firing_count(&self) -> usize {
        self.alerts
            .values()
            .filter(|a| a.state == AlertState::Firing)
            .count()
    }

    /// The most severe firing alert of an instance (the instance list's column).
    pub fn worst_firing(&self, instance: &str) -> Option<&Alert> {
        self.of_instance(instance)
            .filter(|a| a.state == AlertState::Firing)
            .max_by_key(|a| (a.severity, std::cmp::Reverse(a.rule)))
    }
}

fn sort_for_display(list: &mut [Alert]) {
    list.sort_by(|a, b| {
        a.state
            .cmp(&b.state)
            .then(b.severity.cmp(&a.severity))
            .then(a.instance.cmp(&b.instance))
            .then(a.rule.cmp(&b.rule))
    });
}
