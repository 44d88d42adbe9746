//! Deploys: review a SQL change (pure rules in `review`), the deploy history (`history`).
//! Applying and undoing talk to servers and live in `backend::deploy` and the CLI.

pub mod history;
pub mod in_doubt;
pub mod instance;
pub mod instance_config;
pub mod physical_seed;
pub mod review;
