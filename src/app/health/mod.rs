//! The Health pane: one row per instance with its figures. Its cursor is the console's selected
//! instance, so the selection follows you to every pane. `enter` drills into the selected
//! instance's monitoring views (Dashboard, Processlist, Locks, Replication, Disk, Parameters,
//! Backup, Alerts; `tab`/`shift-tab` switch between them, `R`/`D`/`P`/`B` open one directly, `esc`
//! goes back to the list).

pub mod fleet;
pub mod inspect;
pub mod monitor;
pub mod processlist;

pub use fleet::{FleetIndex, FleetSummary, Standing};
pub use monitor::{HealthMonitor, MonitorView, RateSample};

use super::pane::{PaneCtx, PaneLogic};
use super::views::ViewStack;
use super::{Action, Effect, Mode};
use crate::backend::health::kill::KillTarget;
use crate::backend::health::views::{HealthViewCommand, HealthViewEvent};
use crate::backend::{BackendCommand, BackendEvent};

/// The Health pane's views. A drill-down view is a variant here, a module beside this one for
/// its state and keys, and one under `ui/health/` for its drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthView {
    /// Every instance, one row each, with the selected one's detail below.
    #[default]
    Instances,
    /// One of the selected instance's monitoring views.
    Instance(MonitorView),
}

#[derive(Debug, Clone, Default)]
pub struct HealthPane {
    pub views: ViewStack<HealthView>,
    /// Alerts, rate history and the live views' latest reads.
    pub monitor: HealthMonitor,
    /// A kill waiting for its typed confirmation.
    pub kill_prompt: Option<KillPrompt>,
    /// The Processlist view's sort, cursor and open session.
    pub processlist: processlist::ProcesslistState,
}

/// Killing a session is confirmed by typing the instance's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillPrompt {
    pub instance: String,
    pub action: KillAction,
    pub typed: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillAction {
    /// The Locks view's `K`: the root blocker's connection.
    RootBlocker(u64),
    /// The Processlist view's kills; `label` says what, for the prompt.
    Sessions {
        ids: Vec<u64>,
        target: KillTarget,
        label: String,
    },
}

impl KillPrompt {
    /// The question on the command line.
    pub fn question(&self) -> String {
        match &self.action {
            KillAction::RootBlocker(id) => format!("kill session {id} on {}?", self.instance),
            KillAction::Sessions { label, .. } => format!("{label} on {}?", self.instance),
        }
    }
}

impl HealthPane {
    /// `K` on the Locks view: ask for the instance name before killing the root blocker.
    fn ask_kill(&mut self, ctx: &mut PaneCtx) -> Vec<Effect> {
        if ctx.refuse_write(crate::readonly::WriteAction::Kill) {
            return Vec::new();
        }
        let Some(instance) = ctx.selected_instance().map(|i| i.name.clone()) else {
            return Vec::new();
        };
        let root = self
            .monitor
            .locks
            .as_ref()
            .filter(|(i, _)| *i == instance)
            .and_then(|(_, r)| r.root_blockers.first())
            .map(|r| r.id);
        match root {
            None => ctx.info("no root blocker to kill"),
            Some(id) => {
                self.kill_prompt = Some(KillPrompt {
                    instance,
                    action: KillAction::RootBlocker(id),
                    typed: String::new(),
                });
                *ctx.mode = Mode::PaneInput;
            }
        }
        Vec::new()
    }

    pub fn new(config: &crate::config::Config) -> Self {
        HealthPane {
            views: ViewStack::default(),
            monitor: HealthMonitor::new(config),
            kill_prompt: None,
            processlist: processlist::ProcesslistState::default(),
        }
    }

    /// The monitoring view on top, if one is open.
    pub fn monitor_view(&self) -> Option<MonitorView> {
        match self.views.top() {
            HealthView::Instance(v) => Some(*v),
            HealthView::Instances => None,
        }
    }
}

impl PaneLogic for HealthPane {
    /// Expensive views (processlist, locks) are read only while open on the focused Health pane.
    fn after_any_key(&mut self, ctx: &mut PaneCtx, focused: bool) -> Vec<Effect> {
        let selected = ctx.selected_instance().map(|i| i.name.clone());
        let view = self.monitor_view();
        self.monitor
            .reconcile(view, focused, selected.as_deref())
            .map(Effect::SendBackend)
            .into_iter()
            .collect()
    }

    fn on_action(&mut self, ctx: &mut PaneCtx, action: &Action) -> Option<Vec<Effect>> {
        if self.monitor_view() == Some(MonitorView::Processlist) {
            let plist = &mut self.processlist;
            if let Some(effects) =
                plist.on_action(&self.monitor, &mut self.kill_prompt, ctx, action)
            {
                return Some(effects);
            }
            // Leaving the view: its filter was for sessions, not instances.
            if matches!(action, Action::Cancel | Action::NextPane | Action::PrevPane) {
                ctx.filter.clear();
                plist.selected_id = None;
            }
        }
        if *action == Action::Cancel && self.views.back() {
            return Some(Vec::new());
        }
        if let Some(target) = direct_view(action) {
            match self.views.top() {
                HealthView::Instances => {
                    ctx.selected_instance()?;
                    self.views.push(HealthView::Instance(target));
                }
                HealthView::Instance(_) => *self.views.top_mut() = HealthView::Instance(target),
            }
            return Some(Vec::new());
        }
        match *self.views.top() {
            HealthView::Instances if *action == Action::Confirm => {
                ctx.selected_instance()?;
                self.views
                    .push(HealthView::Instance(MonitorView::Dashboard));
                Some(Vec::new())
            }
            HealthView::Instances => instances_key(ctx, action),
            HealthView::Instance(MonitorView::Locks) if *action == Action::KillRootBlocker => {
                Some(self.ask_kill(ctx))
            }
            HealthView::Instance(view) => {
                let next = match action {
                    Action::NextPane => view.offset(1),
                    Action::PrevPane => view.offset(-1),
                    _ => return None,
                };
                *self.views.top_mut() = HealthView::Instance(next);
                Some(Vec::new())
            }
        }
    }

    /// On the Processlist view the `/` filter is for sessions: the selected instance stays.
    fn on_filter_edited(&mut self, ctx: &mut PaneCtx) {
        match self.monitor_view() {
            Some(MonitorView::Processlist) => self.processlist.selected_id = None,
            _ => ctx.keep_selection_visible(),
        }
    }

    fn on_input(&mut self, ctx: &mut PaneCtx, action: Action) -> Vec<Effect> {
        let Some(prompt) = self.kill_prompt.as_mut() else {
            *ctx.mode = Mode::Normal;
            return Vec::new();
        };
        match action {
            Action::InputChar(c) => prompt.typed.push(c),
            Action::InputBackspace => {
                prompt.typed.pop();
            }
            Action::Cancel => {
                self.kill_prompt = None;
                *ctx.mode = Mode::Normal;
                ctx.info("kill cancelled");
            }
            Action::Confirm => {
                let prompt = prompt.clone();
                self.kill_prompt = None;
                *ctx.mode = Mode::Normal;
                if prompt.typed != prompt.instance {
                    ctx.error(format!(
                        "not killed: typed `{}`, the instance is `{}`",
                        prompt.typed, prompt.instance
                    ));
                    return Vec::new();
                }
                let command = match prompt.action {
                    KillAction::RootBlocker(id) => {
                        ctx.info(format!("killing session {id} on {}", prompt.instance));
                        HealthViewCommand::Kill {
                            instance: prompt.instance,
                            id,
                            read_only: ctx.read_only,
                        }
                    }
                    KillAction::Sessions { ids, target, label } => {
                        ctx.info(format!("{label} on {}: sent", prompt.instance));
                        HealthViewCommand::KillSessions {
                            instance: prompt.instance,
                            ids,
                            target,
                            read_only: ctx.read_only,
                        }
                    }
                };
                return vec![Effect::SendBackend(BackendCommand::HealthView(command))];
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_backend(&mut self, ctx: &mut PaneCtx, event: BackendEvent) -> Option<BackendEvent> {
        if let BackendEvent::HealthView(HealthViewEvent::Killed {
            instance,
            id,
            error,
        }) = &event
        {
            match error {
                None => ctx.info(format!("killed session {id} on {instance}")),
                Some(e) => ctx.error(format!("session {id} on {instance} not killed: {e}")),
            }
        }
        match &event {
            BackendEvent::HealthView(HealthViewEvent::KilledSessions {
                instance,
                target,
                outcomes,
            }) => {
                let (all, text) = processlist::kill_report(instance, *target, outcomes);
                match all {
                    true => ctx.info(text),
                    false => ctx.error(text),
                }
                return None;
            }
            BackendEvent::HealthView(HealthViewEvent::Explained {
                instance,
                id,
                sql,
                result,
            }) => {
                self.processlist
                    .explained(instance, *id, sql, result.clone());
                return None;
            }
            _ => {}
        }
        match event {
            BackendEvent::HealthView(e) => {
                self.monitor.on_view_event(e);
                None
            }
            other => Some(other),
        }
    }
}

/// The keys that open one monitoring view directly (from the list or from another view).
fn direct_view(action: &Action) -> Option<MonitorView> {
    Some(match action {
        Action::HealthReplication => MonitorView::Replication,
        Action::HealthDisk => MonitorView::Disk,
        Action::HealthParameters => MonitorView::Parameters,
        Action::HealthBackup => MonitorView::Backup,
        _ => return None,
    })
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
        Action::NextTagGroup => {
            let next = ctx.fleet.next_tag_group(ctx.filter, false);
            show_tag_group(ctx, next);
            return Some(Vec::new());
        }
        _ => return None,
    };
    ctx.move_selection(by);
    Some(Vec::new())
}

/// Show one tag group (the `/` filter `tag:NAME`, whose summary line counts only that group) or,
/// with `None`, the whole fleet.
pub fn show_tag_group(ctx: &mut PaneCtx, tag: Option<String>) {
    let names: Vec<String> = ctx
        .fleet
        .tag_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        ctx.error(
            "no instance has tags: add tags = [\"prod\"] to [[instance]] or [[prometheus]] entries to group them",
        );
        return;
    }
    let Some(tag) = tag.map(|t| t.to_lowercase()) else {
        ctx.filter.clear();
        ctx.keep_selection_visible();
        ctx.info(format!(
            "all instances · {} tag groups ({}) · t: next group",
            names.len(),
            names.join(", ")
        ));
        return;
    };
    if !names.contains(&tag) {
        ctx.error(format!(
            "no instance is tagged `{tag}`; tags: {}",
            names.join(", ")
        ));
        return;
    }
    *ctx.filter = format!("tag:{tag}");
    ctx.keep_selection_visible();
    let members = ctx.visible_instances().len();
    ctx.info(format!(
        "tag group {tag}: {members} instances · t: next group, esc: all"
    ));
}
