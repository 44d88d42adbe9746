//! Health polling and the monitoring center's reads: one task per instance reporting
//! `InstanceHealth` samples (with the InnoDB, disk and backup figures of `collect`), guarded
//! monitoring sessions, the on-demand views (processlist, locks) and actions (kill), and alert
//! evaluation with the `on_alert` command.

pub mod actions;
pub mod alerting;
pub mod collect;
pub mod fleet;
pub mod inspect;
pub mod kill;
pub mod locks;
pub mod outbox;
pub mod poller;
pub mod processlist;
pub mod prometheus;
pub mod schedule;
pub mod session;
pub mod views;

pub use poller::{InstancePoller, PollSettings};
