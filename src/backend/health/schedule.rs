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
    /// An instance still waiting for a free slot this long after it was due is reported slow.
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
    /// Already reported as queued too long since it became due.
    overdue_told: bool,
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
                overdue_told: false,
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
            self.slots[i].overdue_told = false;
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

    /// Instances that have waited for a slot longer than the budget, each told once per wait.
    pub fn overdue(&mut self, now: Instant) -> Vec<usize> {
        let Some(limit) = now.checked_sub(self.plan.queue_budget) else {
            return Vec::new();
        };
        let mut late = Vec::new();
        for &(due, i) in &self.waiting {
            if due > limit {
                break;
            }
            if !self.slots[i].overdue_told {
                late.push(i);
            }
        }
        for &i in &late {
            self.slots[i].overdue_told = true;
        }
        late
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
