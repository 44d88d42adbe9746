//! The Jobs pane, until its issue lands: no keys of its own, nothing to filter (its drawing says
//! what it will hold).

pub mod deploy;

use super::pane::{PaneCtx, PaneLogic};
use super::{Action, Effect};

#[derive(Debug, Clone, Default)]
pub struct JobsPane;

impl PaneLogic for JobsPane {
    fn on_action(&mut self, _ctx: &mut PaneCtx, _action: &Action) -> Option<Vec<Effect>> {
        None
    }
}
