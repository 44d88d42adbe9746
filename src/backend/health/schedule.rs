//! When each instance is polled: every instance on its own schedule, offset across the interval
//! so a thousand of them never ask at the same instant, at most `max_inflight` polls at once, and
//! a dead instance retried less and less often. Pure: the caller hands in the clock.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The bounds of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPlan {
    pub interval: Duration,
    pub max_inflight: usize,
    /// Polls waiting for a free slot this long after they were due mean arkc is behind: the
    /// summary line says so (the instances are not marked slow; their servers did nothing wrong).
    pub queue_budget: Duration,
    /// The longest wait between two tries of a dead instance.
    pub max_backoff: Duration,
}

impl PollPlan {
    pub fn new(interval: Duration, max_inflight: usize) -> Self {
        PollPlan {
            interval,
            max_inflight: max_inflight.max(1),
            queue_budget: super::poller::QUEUE_BUDGET,
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// How a poll ended, as far as the schedule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// The server answered (on time or late).
    Answered,
    /// Refused, reset or silent: retry after a backoff.
    Failed,
}

#[derive(Debug, Clone)]
struct Slot {
    due: Instant,
    failures: u32,
    in_flight: bool,
    /// No more polls for this instance (`arkc health --once` has what it needs).
    retired: bool,
}

/// Whether arkc keeps up with the configured interval at this fleet size: a figure for the whole
/// fleet, shown in the summary line. Polls that wait for a free slot are arkc's own queueing, so
/// they never turn an instance "slow" (that word is for servers that answer late).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetPace {
    /// Instances due and waiting for a free slot.
    pub waiting: usize,
    /// Of those, the ones waiting longer than the queue budget.
    pub overdue: usize,
    /// How long the longest-waiting due instance has waited.
    pub behind: Duration,
    pub in_flight: usize,
    pub max_inflight: usize,
    pub instances: usize,
    pub interval: Duration,
}

impl FleetPace {
    /// Some polls waited past the budget: the interval is not kept at this fleet size.
    pub fn is_behind(&self) -> bool {
        self.overdue > 0
    }

    /// For the summary line: how late, how many, and the bound that limits it.
    pub fn describe(&self) -> String {
        format!(
            "arkc behind {:.1} s: {}/{} polls queued, max_inflight {}",
            self.behind.as_secs_f64(),
            self.waiting,
            self.instances,
            self.max_inflight
        )
    }

    /// For the status bar, where room is short.
    pub fn describe_short(&self) -> String {
        format!("arkc behind {:.1} s", self.behind.as_secs_f64())
    }
}

/// Which instance polls next, and when.
#[derive(Debug, Clone)]
pub struct Schedule {
    plan: PollPlan,
    slots: Vec<Slot>,
    /// Instances waiting for their turn, by due time.
    waiting: BTreeSet<(Instant, usize)>,
    in_flight: usize,
}

/// Where instance `i` of `n` starts within the interval: evenly spread, so the load on the
/// servers and on arkc is flat instead of a burst each tick.
pub fn spread_offset(i: usize, n: usize, interval: Duration) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    interval.mul_f64(i as f64 / n as f64)
}

impl Schedule {
    pub fn new(instances: usize, plan: PollPlan, start: Instant) -> Self {
        let slots: Vec<Slot> = (0..instances)
            .map(|i| Slot {
                due: start + spread_offset(i, instances, plan.interval),
                failures: 0,
                in_flight: false,
                retired: false,
            })
            .collect();
        let waiting = slots.iter().enumerate().map(|(i, s)| (s.due, i)).collect();
        Schedule {
            plan,
            slots,
            waiting,
            in_flight: 0,
        }
    }

    pub fn plan(&self) -> PollPlan {
        self.plan
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Instances to start polling now: due ones, earliest first, as long as slots are free.
    pub fn start_ready(&mut self, now: Instant) -> Vec<usize> {
        let mut started = Vec::new();
        while self.in_flight < self.plan.max_inflight {
            let Some(&(due, i)) = self.waiting.first() else {
                break;
            };
            if due > now {
                break;
            }
            self.waiting.remove(&(due, i));
            self.slots[i].in_flight = true;
            self.in_flight += 1;
            started.push(i);
        }
        started
    }

    /// When the next instance becomes due; `None` when nothing waits or every slot is busy (a
    /// finished poll is then the next event).
    pub fn next_wake(&self) -> Option<Instant> {
        if self.in_flight >= self.plan.max_inflight {
            return None;
        }
        self.waiting.first().map(|&(due, _)| due)
    }

    /// How far behind the interval the due instances are at `now` (reads only the due ones).
    pub fn pace(&self, now: Instant) -> FleetPace {
        let limit = now.checked_sub(self.plan.queue_budget);
        let (mut waiting, mut overdue, mut behind) = (0, 0, Duration::ZERO);
        for &(due, _) in &self.waiting {
            if due > now {
                break;
            }
            waiting += 1;
            if limit.is_some_and(|l| due < l) {
                overdue += 1;
            }
            behind = behind.max(now - due);
        }
        FleetPace {
            waiting,
            overdue,
            behind,
            in_flight: self.in_flight,
            max_inflight: self.plan.max_inflight,
            instances: self.slots.iter().filter(|s| !s.retired).count(),
            interval: self.plan.interval,
        }
    }

    /// A poll ended: the instance waits for its next turn. An answer keeps its place in the
    /// interval; a failure waits one interval, then twice as long each time, up to `max_backoff`.
    pub fn finished(&mut self, i: usize, outcome: PollOutcome, now: Instant) {
        let plan = self.plan;
        let slot = &mut self.slots[i];
        if !slot.in_flight {
            return;
        }
        slot.in_flight = false;
        self.in_flight -= 1;
        if slot.retired {
            return;
        }
        slot.due = match outcome {
            PollOutcome::Answered => {
                slot.failures = 0;
                let next = slot.due + plan.interval;
                // Behind schedule (slow server, busy slots): next turn as soon as possible,
                // without trying to catch up on the missed ones.
                if next < now {
                    now
                } else {
                    next
                }
            }
            PollOutcome::Failed => {
                slot.failures = slot.failures.saturating_add(1);
                now + backoff(plan, slot.failures)
            }
        };
        self.waiting.insert((slot.due, i));
    }

    /// Poll every waiting instance as soon as a slot is free (the console's refresh key).
    pub fn refresh(&mut self, now: Instant) {
        let waiting: Vec<(Instant, usize)> =
            std::mem::take(&mut self.waiting).into_iter().collect();
        for (n, (_, i)) in waiting.into_iter().enumerate() {
            // Same order as before, all due now (the index keeps the set's keys distinct).
            let due = now + Duration::from_nanos(n as u64);
            self.slots[i].due = due;
            self.waiting.insert((due, i));
        }
    }

    /// A new interval; each instance keeps its current due time.
    pub fn set_interval(&mut self, interval: Duration) {
        self.plan.interval = interval;
    }

    /// Stop polling instance `i` (its poll in flight, if any, still ends normally).
    pub fn retire(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        slot.retired = true;
        self.waiting.remove(&(slot.due, i));
    }

    /// Every instance retired and no poll in flight.
    pub fn done(&self) -> bool {
        self.in_flight == 0 && self.waiting.is_empty()
    }

    /// Consecutive failed polls of instance `i`.
    pub fn failures(&self, i: usize) -> u32 {
        self.slots[i].failures
    }
}

/// The wait before the next try after `failures` failed polls in a row.
pub fn backoff(plan: PollPlan, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    plan.interval
        .saturating_mul(1 << doublings)
        .min(plan.max_backoff.max(plan.interval))
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
