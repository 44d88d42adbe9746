//! The monitoring center's reads: guarded sessions, the figures read with each health poll, and
//! the on-demand views (processlist, locks) and actions (kill) shared by the CLI and the pane.

pub mod alerting;
pub mod collect;
pub mod kill;
pub mod locks;
pub mod processlist;
pub mod session;
