//! Polls every instance from one task with a bounded number of polls in flight, each instance on
//! its own spread schedule (see `schedule`), connections kept between polls. The console's
//! backend and `arkc health --once` both run this.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::poller::{InstancePoller, PollSettings};
use super::schedule::{FleetPace, PollOutcome, PollPlan, Schedule};
use crate::health::{InstanceHealth, Status};

/// What the caller wants after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep polling this instance.
    Continue,
    /// No more polls of this instance.
    Retire,
    /// Stop everything (nobody listens any more).
    Stop,
}

/// A result handed to the caller: the instance's index and its figures.
#[derive(Debug)]
pub struct FleetResult {
    pub index: usize,
    pub health: InstanceHealth,
}

/// Where the console is told, every `PACE_EVERY`, whether polling keeps up with the interval.
pub type PaceReport = Box<dyn FnMut(FleetPace) + Send>;

/// How often the pace is reported.
pub const PACE_EVERY: Duration = Duration::from_secs(1);

/// Every instance's poller, and the schedule that says whose turn it is.
#[derive(Debug)]
pub struct Fleet {
    /// `None` while that instance's poll is in flight.
    pollers: Vec<Option<InstancePoller>>,
    schedule: Schedule,
    /// Which instance a poll task belongs to, to recover from a task that panicked.
    tasks: HashMap<Id, usize>,
    names: Vec<String>,
}

type PollDone = (usize, InstancePoller, InstanceHealth);

impl Fleet {
    pub fn new(pollers: Vec<InstancePoller>, plan: PollPlan) -> Self {
        let schedule = Schedule::new(pollers.len(), plan, Instant::now().into_std());
        Fleet {
            names: pollers.iter().map(|p| p.name().to_string()).collect(),
            pollers: pollers.into_iter().map(Some).collect(),
            schedule,
            tasks: HashMap::new(),
        }
    }

    /// Poll until `cancel`, every instance retired, or the caller says stop. `settings` changes
    /// the interval or asks for a refresh; `pace` (the console) hears every `PACE_EVERY` whether
    /// polls wait for a free slot (a one-shot sample just waits for its polls).
    pub async fn run(
        mut self,
        mut settings: Option<watch::Receiver<PollSettings>>,
        cancel: CancellationToken,
        mut pace: Option<PaceReport>,
        mut on_result: impl FnMut(FleetResult) -> Next,
    ) {
        let mut inflight: JoinSet<PollDone> = JoinSet::new();
        let mut seen_refresh = settings.as_ref().map(|s| s.borrow().refresh);
        let mut pace_tick = tokio::time::interval(PACE_EVERY);
        pace_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let now = Instant::now().into_std();
            for i in self.schedule.start_ready(now) {
                let Some(mut poller) = self.pollers[i].take() else {
                    continue;
                };
                let handle = inflight.spawn(async move {
                    let health = poller.poll().await;
                    (i, poller, health)
                });
                self.tasks.insert(handle.id(), i);
            }
            if self.schedule.done() {
                break;
            }
            let wake = self.schedule.next_wake().map(Instant::from_std);
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let changed = async {
                match settings.as_mut() {
                    Some(s) => s.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                done = inflight.join_next_with_id(), if !inflight.is_empty() => {
                    if !self.on_poll_done(done, &mut on_result) {
                        break;
                    }
                }
                _ = sleep => {}
                _ = pace_tick.tick(), if pace.is_some() => {
                    if let Some(report) = pace.as_mut() {
                        report(self.schedule.pace(Instant::now().into_std()));
                    }
                }
                open = changed => {
                    if !open {
                        break;
                    }
                    if let Some(current) = settings.as_ref().map(|s| *s.borrow()) {
                        self.schedule.set_interval(current.interval);
                        if seen_refresh != Some(current.refresh) {
                            seen_refresh = Some(current.refresh);
                            self.schedule.refresh(Instant::now().into_std());
                        }
                    }
                }
                _ = cancel.cancelled() => break,
            }
        }
        inflight.abort_all();
        // Polls cut short have lost their connection anyway; close the others politely.
        while let Some(done) = inflight.join_next().await {
            if let Ok((i, poller, _)) = done {
                self.pollers[i] = Some(poller);
            }
        }
        futures_util::stream::iter(self.pollers.into_iter().flatten())
            .for_each_concurrent(self.schedule.plan().max_inflight, |mut p| async move {
                p.close().await
            })
            .await;
    }

    /// A finished poll task: back into the schedule and out to the caller.
    fn on_poll_done(
        &mut self,
        done: Option<Result<(Id, PollDone), tokio::task::JoinError>>,
        on_result: &mut impl FnMut(FleetResult) -> Next,
    ) -> bool {
        let now = Instant::now().into_std();
        match done {
            Some(Ok((id, (i, poller, health)))) => {
                self.tasks.remove(&id);
                self.pollers[i] = Some(poller);
                let outcome = match health.status {
                    Status::Down => PollOutcome::Failed,
                    Status::Up | Status::Slow => PollOutcome::Answered,
                };
                self.schedule.finished(i, outcome, now);
                self.deliver(i, health, on_result)
            }
            Some(Err(e)) => {
                // A poll that panicked is a bug; the instance stays out of the rotation and
                // says why rather than silently vanishing.
                let Some(i) = self.tasks.remove(&e.id()) else {
                    return true;
                };
                tracing::error!(instance = %self.names[i], error = %e, "poll task failed");
                self.schedule.finished(i, PollOutcome::Failed, now);
                self.schedule.retire(i);
                let health = InstanceHealth::down(
                    &self.names[i],
                    format!("arkc's poll task failed ({e}); restart arkc"),
                    chrono::Utc::now(),
                );
                self.deliver(i, health, on_result)
            }
            None => true,
        }
    }

    fn deliver(
        &mut self,
        index: usize,
        health: InstanceHealth,
        on_result: &mut impl FnMut(FleetResult) -> Next,
    ) -> bool {
        match on_result(FleetResult { index, health }) {
            Next::Continue => true,
            Next::Retire => {
                self.schedule.retire(index);
                true
            }
            Next::Stop => false,
        }
    }
}

/// The bounds the console and `arkc health` use, from `[health]`.
pub fn plan_for(interval: Duration, polling: &crate::config::fleet::HealthPolling) -> PollPlan {
    PollPlan::new(interval, polling.max_inflight)
}

/// Run the fleet (`run_fleet`'s future) on a thread of its own with a single-threaded tokio
/// runtime; the returned future ends when it does. At 1,000 instances a poll ends about every
/// millisecond, and on the shared multi-threaded runtime each socket wake-up, poll task and
/// result hopped between worker threads (futex wake-ups, work stealing: a third of arkc's CPU in
/// the kernel); on one thread the I/O driver wakes the poll that waits and nothing else. The UI
/// and the other backend tasks stay on the main runtime, so polling never delays a key.
pub fn on_own_thread(
    fleet: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let started = std::thread::Builder::new()
        .name("arkc-pollers".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(fleet),
                Err(e) => tracing::error!("health pollers: no runtime for their thread: {e}"),
            }
            let _ = done_tx.send(());
        });
    if let Err(e) = &started {
        tracing::error!("health pollers: cannot start their thread: {e}");
    }
    async move {
        // Dropped unsent (the thread could not start or its runtime failed): ends too.
        let _ = done_rx.await;
    }
}
