//! Panes as components. Each pane owns its state and its keys (`PaneLogic`, here) and its
//! drawing (`ui::PaneView`, reading only). `update()` hands a key to the focused pane first and
//! keeps only the global keys; backend events are offered to every pane in turn.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::health::FleetIndex;
use super::{Action, Effect, InstanceEntry, MessageKind, Mode, StatusMessage};
use crate::backend::BackendEvent;
use crate::health::InstanceHealth;

/// What a pane may read and change of the console around it while it handles something.
pub struct PaneCtx<'a> {
    /// Set to `Filter`, `PaneInput` or `PaneEditor` to take the keyboard; back to `Normal`.
    pub mode: &'a mut Mode,
    /// The `/` filter, shared by every pane.
    pub filter: &'a mut String,
    pub message: &'a mut Option<StatusMessage>,
    /// Index into `instances` of the selected instance.
    pub selected: &'a mut usize,
    pub instances: &'a [InstanceEntry],
    pub health: &'a HashMap<String, InstanceHealth>,
    /// The instances worst first, for the order the selection moves in.
    pub fleet: &'a FleetIndex,
    pub now: DateTime<Utc>,
    /// Rows a page-up/page-down moves.
    pub page_rows: usize,
    pub read_only: bool,
    /// What turned read-only on, for the refusal's wording (`crate::readonly::refusal`).
    pub read_only_by: crate::readonly::ReadOnlyBy,
}

impl PaneCtx<'_> {
    pub fn info(&mut self, text: impl Into<String>) {
        *self.message = Some(StatusMessage {
            kind: MessageKind::Info,
            text: text.into(),
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        *self.message = Some(StatusMessage {
            kind: MessageKind::Error,
            text: text.into(),
        });
    }

    /// A pane's own early refusal of `action` (before its prompt): the central gate's text,
    /// shown as an error. True when refused (read-only is on).
    pub fn refuse_write(&mut self, action: crate::readonly::WriteAction) -> bool {
        if self.read_only {
            self.error(crate::readonly::refusal(action, self.read_only_by));
        }
        self.read_only
    }

    pub fn selected_instance(&self) -> Option<&InstanceEntry> {
        self.instances.get(*self.selected)
    }

    /// Indices into `instances` that pass the filter, worst first.
    pub fn visible_instances(&self) -> Vec<usize> {
        self.fleet.matching(self.filter)
    }

    /// Move the selected instance by `by` rows within the filtered list, stopping at the ends.
    pub fn move_selection(&mut self, by: isize) {
        let visible = self.visible_instances();
        if visible.is_empty() {
            return;
        }
        let at = visible
            .iter()
            .position(|i| *i == *self.selected)
            .unwrap_or(0) as isize;
        let to = at.saturating_add(by).clamp(0, visible.len() as isize - 1);
        *self.selected = visible[to as usize];
    }

    /// After the filter changed: the selection moves to the first visible instance if it is hidden.
    pub fn keep_selection_visible(&mut self) {
        let visible = self.visible_instances();
        if !visible.is_empty() && !visible.contains(self.selected) {
            *self.selected = visible[0];
        }
    }
}

/// A pane's logic. Every method has a default but `on_action`, so a new pane starts small.
pub trait PaneLogic {
    /// A key in normal mode while the pane is focused; `None` leaves it to the global keys.
    fn on_action(&mut self, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>>;

    /// A key while the pane's own input line has the keyboard (`Mode::PaneInput`).
    fn on_input(&mut self, ctx: &mut PaneCtx, _action: Action) -> Vec<Effect> {
        *ctx.mode = Mode::Normal;
        Vec::new()
    }

    /// A key while the pane's editor has the keyboard (`Mode::PaneEditor`).
    fn on_editor(&mut self, ctx: &mut PaneCtx, _action: Action) -> Vec<Effect> {
        *ctx.mode = Mode::Normal;
        Vec::new()
    }

    /// The `/` text was edited, kept or cleared. By default the selected instance stays one the
    /// filter shows.
    fn on_filter_edited(&mut self, ctx: &mut PaneCtx) {
        ctx.keep_selection_visible();
    }

    /// After every key while the pane is focused (and not quitting).
    fn after_key(&mut self, _ctx: &mut PaneCtx) -> Vec<Effect> {
        Vec::new()
    }

    /// After every key, every pane, focused or not (`focused` is false while quitting): a pane
    /// that reads something only while it is on screen starts or stops that here.
    fn after_any_key(&mut self, _ctx: &mut PaneCtx, _focused: bool) -> Vec<Effect> {
        Vec::new()
    }

    /// A backend event. Every pane is offered each event, focused or not; return it untouched
    /// when it is not for this pane.
    fn on_backend(&mut self, _ctx: &mut PaneCtx, event: BackendEvent) -> Option<BackendEvent> {
        Some(event)
    }
}
