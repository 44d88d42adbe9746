//! What the Health pane remembers across polls: the alert book (pending -> firing -> resolved),
//! ten minutes of rates per instance for the Dashboard's sparklines, and which per-instance view
//! is open. `enter` opens the Dashboard of the selected instance; `tab`/`shift-tab` switch views;
//! `[`/`]` switch instance; `esc` goes back to the list.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
use crate::health::alert_state::{default_rules, AlertBook, RuleBook};
use crate::health::{InstanceHealth, Status};

/// How far back the sparklines reach.
pub const HISTORY_SPAN: Duration = Duration::minutes(10);

/// The per-instance views, in `tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthView {
    Dashboard,
    Alerts,
}

impl HealthView {
    pub const ALL: [HealthView; 2] = [HealthView::Dashboard, HealthView::Alerts];

    pub fn title(self) -> &'static str {
        match self {
            HealthView::Dashboard => "Dashboard",
            HealthView::Alerts => "Alerts",
        }
    }

    fn offset(self, by: isize) -> HealthView {
        let n = Self::ALL.len() as isize;
        let i = Self::ALL.iter().position(|v| *v == self).unwrap_or(0) as isize;
        Self::ALL[(i + by).rem_euclid(n) as usize]
    }
}

/// One poll's rates, for the sparklines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSample {
    pub at: DateTime<Utc>,
    pub qps: Option<f64>,
    pub tps: Option<f64>,
    pub select: Option<f64>,
    pub insert: Option<f64>,
    pub update: Option<f64>,
    pub delete: Option<f64>,
    pub threads_running: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct HealthMonitor {
    pub book: AlertBook,
    rules: HashMap<String, RuleBook>,
    history: HashMap<String, VecDeque<RateSample>>,
    /// The open view, if any (the instance is the selected one).
    pub view: Option<HealthView>,
}

impl HealthMonitor {
    pub fn new(config: &Config) -> HealthMonitor {
        let rules = config
            .instances
            .iter()
            .map(|i| (i.name.clone(), config.alerts.rules_for(&i.name, &i.tags)))
            .collect();
        HealthMonitor {
            rules,
            ..HealthMonitor::default()
        }
    }

    /// A new poll result: judge the alert rules, remember the rates.
    pub fn observe(&mut self, h: &InstanceHealth) {
        let defaults;
        let rules = match self.rules.get(&h.instance) {
            Some(r) => r,
            None => {
                defaults = default_rules();
                &defaults
            }
        };
        // The console has no parameter baseline yet (arkc health reads it): drift is not judged.
        self.book
            .observe(&h.instance, &h.alert_facts(None), rules, h.sampled_at);
        let history = self.history.entry(h.instance.clone()).or_default();
        if h.status == Status::Up {
            history.push_back(RateSample {
                at: h.sampled_at,
                qps: h.qps,
                tps: h.tps,
                select: h.dml.select,
                insert: h.dml.insert,
                update: h.dml.update,
                delete: h.dml.delete,
                threads_running: h.threads_running,
            });
        }
        while history
            .front()
            .is_some_and(|s| h.sampled_at - s.at > HISTORY_SPAN)
        {
            history.pop_front();
        }
    }

    pub fn history(&self, instance: &str) -> impl Iterator<Item = &RateSample> {
        self.history.get(instance).into_iter().flatten()
    }

    pub fn open(&mut self) {
        self.view = Some(HealthView::Dashboard);
    }

    /// Keys while a view is open; `true` when the key was used.
    pub fn on_key(&mut self, action: &crate::app::Action) -> bool {
        use crate::app::Action;
        let Some(view) = self.view else {
            return false;
        };
        match action {
            Action::Cancel => self.view = None,
            Action::NextPane => self.view = Some(view.offset(1)),
            Action::PrevPane => self.view = Some(view.offset(-1)),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::app::Action;
    use crate::health::AlertState;

    fn up(at: DateTime<Utc>, qps: f64) -> InstanceHealth {
        let mut h = InstanceHealth::down("db", "", at);
        h.status = Status::Up;
        h.error = None;
        h.qps = Some(qps);
        h.uptime_s = Some(86_400);
        h
    }

    #[test]
    fn history_keeps_ten_minutes_and_alerts_follow_polls() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let mut m = HealthMonitor::default();
        for i in 0..700 {
            m.observe(&up(t0 + Duration::seconds(i), i as f64));
        }
        let kept: Vec<f64> = m.history("db").filter_map(|s| s.qps).collect();
        assert_eq!(kept.len(), 601);
        assert_eq!(kept[0], 99.0);
        let down = InstanceHealth::down("db", "refused", t0 + Duration::seconds(701));
        m.observe(&down);
        let alerts = m.book.alerts_of("db");
        assert_eq!(alerts[0].state, AlertState::Firing);
        // The down poll adds no sample; time moving on drops the oldest one.
        assert_eq!(m.history("db").count(), 599);
    }

    #[test]
    fn views_switch_with_tab_and_close_with_esc() {
        let mut m = HealthMonitor::default();
        assert!(
            !m.on_key(&Action::NextPane),
            "no view open: the pane switches"
        );
        m.open();
        assert_eq!(m.view, Some(HealthView::Dashboard));
        assert!(m.on_key(&Action::NextPane));
        assert_eq!(m.view, Some(HealthView::Alerts));
        assert!(m.on_key(&Action::NextPane));
        assert_eq!(m.view, Some(HealthView::Dashboard));
        assert!(m.on_key(&Action::Cancel));
        assert_eq!(m.view, None);
    }
}
