//! The Health pane: one row per instance with its figures. Its cursor is the console's selected
//! instance, so the selection follows you to every pane.

use super::pane::{PaneCtx, PaneLogic};
use super::views::ViewStack;
use super::{Action, Effect, Mode};

/// The Health pane's views. A drill-down view is a variant here, a module beside this one for
/// its state and keys, and one under `ui/health/` for its drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthView {
    /// Every instance, one row each, with the selected one's detail below.
    #[default]
    Instances,
}

#[derive(Debug, Clone, Default)]
pub struct HealthPane {
    pub views: ViewStack<HealthView>,
}

impl PaneLogic for HealthPane {
    fn on_action(&mut self, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
        if *action == Action::Cancel && self.views.back() {
            return Some(Vec::new());
        }
        match self.views.top() {
            HealthView::Instances => instances_key(ctx, action),
        }
    }
}

/// The instance list: moving the selection and opening the filter.
fn instances_key(ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
    let page = ctx.page_rows.max(1) as isize;
    let by = match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -page,
        Action::PageDown => page,
        Action::Top => isize::MIN / 2,
        Action::Bottom => isize::MAX / 2,
        Action::Filter => {
            *ctx.mode = Mode::Filter;
            return Some(Vec::new());
        }
        _ => return None,
    };
    ctx.move_selection(by);
    Some(Vec::new())
}
