//! The Health pane's per-instance views (Dashboard, Alerts): their state and keys. Pure.

pub mod monitor;

pub use monitor::{HealthMonitor, HealthView, RateSample};
