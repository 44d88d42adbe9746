//! What the Health pane remembers across polls: the alert book (pending -> firing -> resolved),
//! ten minutes of rates per instance for the Dashboard's sparklines, and which per-instance view
//! is open. `enter` opens the Dashboard of the selected instance; `tab`/`shift-tab` switch views;
//! `[`/`]` switch instance; `esc` goes back to the list.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::inspect::InspectState;
use crate::backend::health::locks::LocksReport;
use crate::backend::health::views::{HealthViewCommand, HealthViewEvent, LiveView};
use crate::backend::BackendCommand;
use crate::config::Config;
use crate::health::alert_state::AlertBook;
use crate::health::processlist::ProcessRow;
use crate::health::{InstanceHealth, Status};

/// How far back the sparklines reach.
pub const HISTORY_SPAN: Duration = Duration::minutes(10);

/// The per-instance views, in `tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorView {
    Dashboard,
    Processlist,
    Locks,
    Replication,
    Disk,
    Parameters,
    Backup,
    Alerts,
}

impl MonitorView {
    pub const ALL: [MonitorView; 8] = [
        MonitorView::Dashboard,
        MonitorView::Processlist,
        MonitorView::Locks,
        MonitorView::Replication,
        MonitorView::Disk,
        MonitorView::Parameters,
        MonitorView::Backup,
        MonitorView::Alerts,
    ];

    pub fn title(self) -> &'static str {
        match self {
            MonitorView::Dashboard => "Dashboard",
            MonitorView::Processlist => "Processlist",
            MonitorView::Locks => "Locks",
            MonitorView::Replication => "Replication",
            MonitorView::Disk => "Disk",
            MonitorView::Parameters => "Parameters",
            MonitorView::Backup => "Backup",
            MonitorView::Alerts => "Alerts",
        }
    }

    /// A shorter name for the tab row on narrow screens.
    pub fn short_title(self) -> &'static str {
        match self {
            MonitorView::Dashboard => "Dash",
            MonitorView::Processlist => "Procs",
            MonitorView::Replication => "Repl",
            MonitorView::Parameters => "Params",
            other => other.title(),
        }
    }

    /// Views whose figures are read only while they are open.
    pub fn live(self) -> Option<LiveView> {
        match self {
            MonitorView::Processlist => Some(LiveView::Processlist),
            MonitorView::Locks => Some(LiveView::Locks),
            MonitorView::Replication => Some(LiveView::Replication),
            MonitorView::Disk => Some(LiveView::Sizes),
            MonitorView::Parameters => Some(LiveView::Parameters),
            MonitorView::Backup => Some(LiveView::Backups),
            MonitorView::Dashboard | MonitorView::Alerts => None,
        }
    }

    pub fn offset(self, by: isize) -> MonitorView {
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
    /// The inspection views' reads, parameter changes, and drift judging.
    pub inspect: InspectState,
    history: HashMap<String, VecDeque<RateSample>>,
    /// What the backend has been asked to read: (instance, view).
    watching: Option<(String, LiveView)>,
    /// Latest reads of the live views, by instance.
    pub processlist: Option<(String, Vec<ProcessRow>, Option<String>)>,
    pub locks: Option<(String, LocksReport)>,
    /// The last failed live read: (instance, error).
    pub view_error: Option<(String, String)>,
}

impl HealthMonitor {
    pub fn new(config: &Config) -> HealthMonitor {
        HealthMonitor {
            inspect: InspectState::new(config),
            ..HealthMonitor::default()
        }
    }

    /// A new poll result: judge the alert rules, remember the rates.
    pub fn observe(&mut self, h: &InstanceHealth) {
        self.inspect.observe(&mut self.book, h);
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

    /// A live read arrived.
    pub fn on_view_event(&mut self, event: HealthViewEvent) {
        match event {
            HealthViewEvent::Processlist {
                instance,
                rows,
                note,
            } => {
                self.view_error = None;
                self.processlist = Some((instance, rows, note));
            }
            HealthViewEvent::Locks { instance, report } => {
                self.view_error = None;
                self.locks = Some((instance, report));
            }
            HealthViewEvent::Inspected { instance, report } => {
                self.view_error = None;
                self.inspect.latest = Some((instance, report));
            }
            HealthViewEvent::Failed { instance, error } => {
                self.view_error = Some((instance, error))
            }
            // The pane reports kills in the status bar and keeps EXPLAINs with the open session.
            HealthViewEvent::Killed { .. }
            | HealthViewEvent::KilledSessions { .. }
            | HealthViewEvent::Explained { .. } => {}
        }
    }

    /// Tell the backend what to read now that the pane, view or instance may have changed:
    /// expensive views are read only while open on the Health pane.
    pub fn reconcile(
        &mut self,
        view: Option<MonitorView>,
        on_health_pane: bool,
        instance: Option<&str>,
    ) -> Option<BackendCommand> {
        let wanted = match (on_health_pane, view.and_then(MonitorView::live), instance) {
            (true, Some(live), Some(name)) => Some((name.to_string(), live)),
            _ => None,
        };
        if wanted == self.watching {
            return None;
        }
        self.watching = wanted.clone();
        Some(BackendCommand::HealthView(match wanted {
            Some((instance, view)) => HealthViewCommand::Watch { instance, view },
            None => HealthViewCommand::Stop,
        }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
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
    fn expensive_views_are_read_only_while_open() {
        let mut m = HealthMonitor::default();
        let dash = Some(MonitorView::Dashboard);
        let plist = Some(MonitorView::Processlist);
        assert_eq!(
            m.reconcile(dash, true, Some("db")),
            None,
            "Dashboard reads nothing extra"
        );
        let watch = HealthViewCommand::Watch {
            instance: "db".into(),
            view: LiveView::Processlist,
        };
        let asked = m.reconcile(plist, true, Some("db"));
        assert_eq!(asked, Some(BackendCommand::HealthView(watch)));
        assert_eq!(m.reconcile(plist, true, Some("db")), None, "asked once");
        let other = m.reconcile(plist, true, Some("db2"));
        assert!(
            matches!(other, Some(BackendCommand::HealthView(HealthViewCommand::Watch { ref instance, .. })) if instance == "db2")
        );
        let stop = Some(BackendCommand::HealthView(HealthViewCommand::Stop));
        assert_eq!(
            m.reconcile(plist, false, Some("db2")),
            stop,
            "another pane: stop"
        );
        assert_eq!(
            m.reconcile(None, true, Some("db2")),
            None,
            "already stopped"
        );
    }
}
