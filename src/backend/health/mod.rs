//! Health polling: one task per instance, reporting `InstanceHealth` samples.

pub mod poller;

pub use poller::{InstancePoller, PollSettings};
