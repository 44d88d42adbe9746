//! Slow-log core.
