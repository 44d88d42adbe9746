//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test module uses part of them

pub mod cli;
pub mod jobs;
pub mod locks;
pub mod ports;
pub mod procs;
pub mod relay;
pub mod render;
pub mod sessions;
pub mod tables;
pub mod tmux;
pub mod wait;
pub mod workload;
