//! The instance list at fleet size: instances kept in worst-first order (down, slow, firing
//! alerts by severity, replication lag) as results arrive, the `/` filter's result cached with
//! each instance's position in it, and the summary counts kept up to date, so drawing a frame
//! only reads the rows it shows.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::super::InstanceEntry;
use crate::health::alert_state::{AlertBook, AlertState};
use crate::health::{InstanceHealth, Severity, Status};

/// Where an instance stands, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    Down,
    Slow,
    Critical,
    Warning,
    Info,
    Up,
    /// No result yet.
    Waiting,
}

impl Standing {
    fn of(h: &InstanceHealth, worst_alert: Option<Severity>) -> Standing {
        match (h.status, worst_alert) {
            (Status::Down, _) => Standing::Down,
            (Status::Slow, _) => Standing::Slow,
            (Status::Up, Some(Severity::Critical)) => Standing::Critical,
            (Status::Up, Some(Severity::Warning)) => Standing::Warning,
            (Status::Up, Some(Severity::Info)) => Standing::Info,
            (Status::Up, None) => Standing::Up,
        }
    }

    /// The word `/` matches exactly (`/down` lists the dead ones).
    fn status_word(self) -> Option<&'static str> {
        match self {
            Standing::Down => Some("down"),
            Standing::Slow => Some("slow"),
            Standing::Waiting => None,
            _ => Some("up"),
        }
    }
}

/// Sort key: standing, then the larger lag first, then config order (stable among equals).
type Rank = (Standing, Reverse<u64>, usize);

/// The summary line's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetSummary {
    pub up: usize,
    pub slow: usize,
    pub down: usize,
    pub waiting: usize,
    /// Firing alerts over all instances, by severity.
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
}

#[derive(Debug, Clone, Default)]
pub struct FleetIndex {
    by_name: HashMap<String, usize>,
    ranks: Vec<Rank>,
    /// Firing alerts per instance: (critical, warning, info).
    firing: Vec<(usize, usize, usize)>,
    /// Widest name and address, for the list's columns.
    name_width: usize,
    address_width: usize,
    /// Lowercased "name\naddress\ntag..." per instance, for the filter.
    haystack: Vec<String>,
    tags: Vec<Vec<String>>,
    /// Tag groups: each distinct tag once, its counts kept like the fleet's.
    groups: TagGroups,
    /// Every instance, worst first.
    order: Vec<usize>,
    /// The filter `visible` was computed for.
    filter: String,
    /// `order` narrowed by `filter`.
    visible: Vec<usize>,
    /// Position of each instance in `visible` (`usize::MAX`: filtered out).
    visible_pos: Vec<usize>,
    summary: FleetSummary,
    /// How many instances came from the config (they come first; later ones joined).
    configured: usize,
}

impl FleetIndex {
    pub fn new(instances: &[InstanceEntry]) -> Self {
        let n = instances.len();
        let mut index = FleetIndex {
            by_name: instances
                .iter()
                .enumerate()
                .map(|(i, e)| (e.name.clone(), i))
                .collect(),
            ranks: (0..n).map(|i| (Standing::Waiting, Reverse(0), i)).collect(),
            firing: vec![(0, 0, 0); n],
            name_width: instances
                .iter()
                .map(|e| e.name.chars().count())
                .max()
                .unwrap_or(0),
            address_width: instances
                .iter()
                .map(|e| e.address.chars().count())
                .max()
                .unwrap_or(0),
            haystack: instances
                .iter()
                .map(|e| {
                    let mut text = format!("{}\n{}", e.name, e.address);
                    for t in &e.tags {
                        text.push('\n');
                        text.push_str(t);
                    }
                    text.to_lowercase()
                })
                .collect(),
            tags: instances
                .iter()
                .map(|e| e.tags.iter().map(|t| t.to_lowercase()).collect())
                .collect(),
            groups: TagGroups::default(),
            order: (0..n).collect(),
            filter: String::new(),
            visible: (0..n).collect(),
            visible_pos: (0..n).collect(),
            summary: FleetSummary {
                waiting: n,
                ..FleetSummary::default()
            },
            configured: n,
        };
        for (i, e) in instances.iter().enumerate() {
            index.groups.join(i, &e.tags);
            index.groups.count(i, Standing::Waiting, true);
        }
        index.refilter();
        index
    }

    /// An instance that joined after the start (a Prometheus source's or a recording's): it waits
    /// at its place in the order like the others did before their first result.
    pub fn add(&mut self, e: &InstanceEntry) {
        if self.by_name.contains_key(&e.name) {
            return;
        }
        let i = self.ranks.len();
        self.by_name.insert(e.name.clone(), i);
        let rank = (Standing::Waiting, Reverse(0), i);
        self.ranks.push(rank);
        self.firing.push((0, 0, 0));
        self.name_width = self.name_width.max(e.name.chars().count());
        self.address_width = self.address_width.max(e.address.chars().count());
        let mut text = format!("{}\n{}", e.name, e.address);
        for t in &e.tags {
            text.push('\n');
            text.push_str(t);
        }
        self.haystack.push(text.to_lowercase());
        self.tags
            .push(e.tags.iter().map(|t| t.to_lowercase()).collect());
        self.groups.join(i, &e.tags);
        self.count(i, Standing::Waiting, true);
        let ranks = &self.ranks;
        let at = self
            .order
            .binary_search_by(|&j| ranks[j].cmp(&rank))
            .unwrap_or_else(|at| at);
        self.order.insert(at, i);
        self.refilter();
    }

    /// A new result for `h.instance`; `book` has already judged it. Moves the instance to its new
    /// place (a binary search and a shift, no sort) and updates the counts.
    pub fn observe(&mut self, h: &InstanceHealth, book: &AlertBook) {
        let Some(&i) = self.by_name.get(&h.instance) else {
            return;
        };
        let mut firing = (0, 0, 0);
        for a in book.alerts_of(&h.instance) {
            if a.state != AlertState::Firing {
                continue;
            }
            match a.severity {
                Severity::Critical => firing.0 += 1,
                Severity::Warning => firing.1 += 1,
                Severity::Info => firing.2 += 1,
            }
        }
        let worst = match firing {
            (c, _, _) if c > 0 => Some(Severity::Critical),
            (_, w, _) if w > 0 => Some(Severity::Warning),
            (_, _, n) if n > 0 => Some(Severity::Info),
            _ => None,
        };
        let lag = h
            .replication
            .as_ref()
            .and_then(|r| r.lag_s)
            .filter(|_| h.status != Status::Down)
            .unwrap_or(0);
        let rank = (Standing::of(h, worst), Reverse(lag), i);
        let old_firing = std::mem::replace(&mut self.firing[i], firing);
        let s = &mut self.summary;
        s.critical = s.critical + firing.0 - old_firing.0;
        s.warning = s.warning + firing.1 - old_firing.1;
        s.info = s.info + firing.2 - old_firing.2;
        self.groups.fire(i, old_firing, firing);
        let old = self.ranks[i];
        if old == rank {
            return;
        }
        self.count(i, old.0, false);
        self.count(i, rank.0, true);
        // Ranks are unique (the index is part of them), so the search finds exactly `i`.
        if let Ok(at) = self.order.binary_search_by(|&j| self.ranks[j].cmp(&old)) {
            self.order.remove(at);
        }
        self.ranks[i] = rank;
        let ranks = &self.ranks;
        let at = self
            .order
            .binary_search_by(|&j| ranks[j].cmp(&rank))
            .unwrap_or_else(|at| at);
        self.order.insert(at, i);
        self.refilter();
    }

    fn count(&mut self, i: usize, standing: Standing, add: bool) {
        self.summary.count(standing, add);
        self.groups.count(i, standing, add);
    }

    /// Keep the cached filter result in step with the console's filter (cheap when unchanged).
    pub fn sync_filter(&mut self, filter: &str) {
        if self.filter != filter {
            self.filter = filter.to_string();
            self.refilter();
        }
    }

    fn refilter(&mut self) {
        self.visible = self.matching(&self.filter);
        self.visible_pos.clear();
        self.visible_pos.resize(self.ranks.len(), usize::MAX);
        for (at, &i) in self.visible.iter().enumerate() {
            self.visible_pos[i] = at;
        }
    }

    /// Instances passing `filter`, worst first. The filter matches name, address and tags as
    /// substrings, `up`/`slow`/`down` exactly, and `tag:NAME` one tag exactly.
    pub fn matching(&self, filter: &str) -> Vec<usize> {
        let needle = filter.to_lowercase();
        if needle.is_empty() {
            return self.order.clone();
        }
        let tag = needle.strip_prefix("tag:");
        self.order
            .iter()
            .copied()
            .filter(|&i| match tag {
                Some(t) => self.tags[i].iter().any(|x| x == t),
                None => {
                    self.haystack[i].contains(&needle)
                        || self.ranks[i].0.status_word() == Some(needle.as_str())
                }
            })
            .collect()
    }

    /// The rows of the list for the filter last synced, worst first.
    pub fn visible(&self) -> &[usize] {
        &self.visible
    }

    /// Where instance `i` is in [`visible`](Self::visible), if it passes the filter.
    pub fn position(&self, i: usize) -> Option<usize> {
        self.visible_pos
            .get(i)
            .copied()
            .filter(|&p| p != usize::MAX)
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn summary(&self) -> FleetSummary {
        self.summary
    }

    /// The tag group the filter shows (`tag:NAME`) and its counts, for the summary line.
    pub fn group_summary(&self) -> Option<(&str, FleetSummary)> {
        let tag = self.filter.to_lowercase();
        self.groups.summary_of(tag.strip_prefix("tag:")?)
    }

    /// Every tag, sorted: the groups `t` cycles through.
    pub fn tag_names(&self) -> Vec<&str> {
        self.groups.sorted_names()
    }

    /// The group after (or, `back`, before) the one `filter` shows, in tag order; `None` is the
    /// whole fleet, which comes after the last tag and before the first.
    pub fn next_tag_group(&self, filter: &str, back: bool) -> Option<String> {
        let names = self.groups.sorted_names();
        let lower = filter.to_lowercase();
        let current = lower
            .strip_prefix("tag:")
            .and_then(|t| names.iter().position(|n| *n == t));
        let at = match (current, back) {
            (None, false) => Some(0),
            (None, true) => names.len().checked_sub(1),
            (Some(i), false) => Some(i + 1).filter(|&n| n < names.len()),
            (Some(i), true) => i.checked_sub(1),
        };
        at.and_then(|i| names.get(i)).map(|n| n.to_string())
    }

    /// Widest instance name and address (config order does not change, so counted once).
    pub fn widths(&self) -> (usize, usize) {
        (self.name_width, self.address_width)
    }

    /// Whether `name` is one of the config's own entries (not one that joined later).
    pub fn is_configured(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|&i| i < self.configured)
    }

    pub fn standing(&self, i: usize) -> Option<Standing> {
        self.ranks.get(i).map(|r| r.0)
    }
}

impl FleetSummary {
    fn count(&mut self, standing: Standing, add: bool) {
        let slot = match standing {
            Standing::Down => &mut self.down,
            Standing::Slow => &mut self.slow,
            Standing::Waiting => &mut self.waiting,
            _ => &mut self.up,
        };
        if add {
            *slot += 1;
        } else {
            *slot = slot.saturating_sub(1);
        }
    }
}

/// The fleet by tag: each group's counts follow every result, so the summary line of a group
/// costs a lookup, not a scan of its members.
#[derive(Debug, Clone, Default)]
struct TagGroups {
    by_name: HashMap<String, usize>,
    names: Vec<String>,
    summaries: Vec<FleetSummary>,
    /// The groups of each instance (indices into `names`, each once).
    of_instance: Vec<Vec<usize>>,
}

impl TagGroups {
    /// Instance `i` (the next one) joins its tags' groups; the caller counts its standing.
    fn join(&mut self, i: usize, tags: &[String]) {
        debug_assert_eq!(i, self.of_instance.len());
        let mut groups: Vec<usize> = Vec::with_capacity(tags.len());
        for tag in tags {
            let tag = tag.to_lowercase();
            let g = match self.by_name.get(&tag) {
                Some(&g) => g,
                None => {
                    self.by_name.insert(tag.clone(), self.names.len());
                    self.names.push(tag);
                    self.summaries.push(FleetSummary::default());
                    self.names.len() - 1
                }
            };
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        self.of_instance.push(groups);
    }

    fn count(&mut self, i: usize, standing: Standing, add: bool) {
        for &g in self.of_instance.get(i).into_iter().flatten() {
            self.summaries[g].count(standing, add);
        }
    }

    fn fire(&mut self, i: usize, old: (usize, usize, usize), new: (usize, usize, usize)) {
        for &g in self.of_instance.get(i).into_iter().flatten() {
            let s = &mut self.summaries[g];
            s.critical = s.critical + new.0 - old.0;
            s.warning = s.warning + new.1 - old.1;
            s.info = s.info + new.2 - old.2;
        }
    }

    fn summary_of(&self, tag: &str) -> Option<(&str, FleetSummary)> {
        let &g = self.by_name.get(tag)?;
        Some((self.names[g].as_str(), self.summaries[g]))
    }

    fn sorted_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
