//! What the Health pane keeps for the inspection views (Replication, Disk and size, Parameters,
//! Backup): their latest read, the parameter changes seen in the polls, and the alert context
//! that judges `parameter_drift` against the configured baseline.

use std::collections::HashMap;

use crate::backend::health::alerting::AlertContext;
use crate::backend::health::views::Inspection;
use crate::config::Config;
use crate::health::params::{ParamChange, ParamWatch};
use crate::health::{Alert, AlertBook, InstanceHealth, Status};

#[derive(Debug, Clone, Default)]
pub struct InspectState {
    /// The open inspection view's latest read, by instance.
    pub latest: Option<(String, Inspection)>,
    /// Variables changed between polls, per instance.
    changes: HashMap<String, ParamWatch>,
    /// Rules per instance and the parameter baselines.
    alerting: AlertContext,
    /// The baseline file could not be read: drift is not judged, the Parameters view says why.
    pub baseline_error: Option<String>,
}

impl InspectState {
    pub fn new(config: &Config) -> InspectState {
        let (alerting, baseline_error) = match AlertContext::from_config(config, &config.instances)
        {
            Ok(c) => (c, None),
            Err(e) => {
                // The rules still apply; only the baseline is missing.
                let mut without = config.clone();
                without.parameters.baseline = None;
                let c = AlertContext::from_config(&without, &config.instances).unwrap_or_default();
                (c, Some(format!("{e:#}")))
            }
        };
        InspectState {
            alerting,
            baseline_error,
            ..InspectState::default()
        }
    }

    /// Judge a poll's alerts (with the parameter baseline) and record variable changes.
    pub fn observe(&mut self, book: &mut AlertBook, h: &InstanceHealth) -> Vec<Alert> {
        if h.status == Status::Up && !h.monitor.variables.is_empty() {
            let watch = match self.changes.get_mut(&h.instance) {
                Some(w) => w,
                None => self.changes.entry(h.instance.clone()).or_default(),
            };
            watch.observe(&h.monitor.variables, h.sampled_at);
        }
        self.alerting.observe(book, h)
    }

    /// Changes seen while running, newest first.
    pub fn changes_of(&self, instance: &str) -> Vec<&ParamChange> {
        self.changes
            .get(instance)
            .map(|w| w.changes.iter().rev().collect())
            .unwrap_or_default()
    }

    /// The variables the pollers should read so the baseline can be judged.
    pub fn watched_variables(&self, config: &Config) -> Vec<String> {
        self.alerting.watched_variables(config)
    }
}
