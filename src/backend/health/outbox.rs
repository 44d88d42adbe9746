//! The console's poll results in batches: at 1,000 instances a second, one channel message and
//! one wake-up of the UI loop per result (and another per statement for the `@` log) cost more
//! than the results themselves. Pollers drop their figures and statements here; one task hands
//! them on as a single `Polled` event at most every `BATCH_EVERY`, at once when it has been
//! quiet that long (a lone instance's result is not held back).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backend::{BackendEvent, SqlLogEntry};
use crate::health::InstanceHealth;

/// The shortest time between two batches (the console draws backend results at most this often):
/// four frames a second show a 1 s refresh as it lands, and over a slow SSH link a 1,000-row list
/// redrawn ten times a second costs the link and both ends more than it shows.
pub const BATCH_EVERY: Duration = Duration::from_millis(250);

/// Results and poll statements gathered since the last batch, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollBatch {
    pub statements: Vec<SqlLogEntry>,
    pub health: Vec<InstanceHealth>,
}

impl PollBatch {
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.health.is_empty()
    }
}

/// Where the pollers leave what they have for the console.
#[derive(Debug, Default)]
pub struct PollOutbox {
    pending: Mutex<PollBatch>,
    /// Told when something arrives in an empty outbox.
    arrived: Notify,
}

impl PollOutbox {
    pub fn push_health(&self, health: InstanceHealth) {
        let was_empty = {
            let mut pending = self.pending();
            let was_empty = pending.is_empty();
            pending.health.push(health);
            was_empty
        };
        if was_empty {
            self.arrived.notify_one();
        }
    }

    pub fn push_statement(&self, entry: SqlLogEntry) {
        let was_empty = {
            let mut pending = self.pending();
            let was_empty = pending.is_empty();
            pending.statements.push(entry);
            was_empty
        };
        if was_empty {
            self.arrived.notify_one();
        }
    }

    fn take(&self) -> PollBatch {
        std::mem::take(&mut *self.pending())
    }

    /// A poller that panicked while holding the lock left whole entries behind: keep them.
    fn pending(&self) -> MutexGuard<'_, PollBatch> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Hand the outbox on as `Polled` events, at most every `every`, until `cancel` (what is left then
/// goes out too) or until nobody listens.
pub async fn deliver(
    outbox: Arc<PollOutbox>,
    every: Duration,
    cancel: CancellationToken,
    events: UnboundedSender<BackendEvent>,
) {
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = outbox.arrived.notified() => {}
            _ = cancel.cancelled() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep_until(last + every) => {}
            _ = cancel.cancelled() => break,
        }
        last = Instant::now();
        let batch = outbox.take();
        if !batch.is_empty() && events.send(BackendEvent::Polled(Box::new(batch))).is_err() {
            return;
        }
    }
    let batch = outbox.take();
    if !batch.is_empty() {
        let _ = events.send(BackendEvent::Polled(Box::new(batch)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sql: &str) -> SqlLogEntry {
        SqlLogEntry {
            at: chrono::Utc::now(),
            instance: "db".into(),
            sql: sql.into(),
            elapsed: Duration::from_millis(1),
            error: None,
        }
    }

    async fn next_batch(rx: &mut tokio::sync::mpsc::UnboundedReceiver<BackendEvent>) -> PollBatch {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(BackendEvent::Polled(batch))) => *batch,
            other => panic!("no batch within 60 s: {other:?}"),
        }
    }

    #[tokio::test]
    async fn results_arriving_together_leave_as_one_batch_and_a_lone_one_at_once() {
        // Long enough that "at once" (under half of it) and "waited for the slot" (all of it) stay
        // apart on a loaded machine, where a wake-up can take a few hundred milliseconds.
        let every = Duration::from_secs(6);
        let outbox = Arc::new(PollOutbox::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(deliver(outbox.clone(), every, cancel.clone(), tx));
        tokio::time::sleep(every + Duration::from_millis(100)).await;
        // Quiet for longer than `every`: the first result goes out without waiting for a slot.
        let started = Instant::now();
        outbox.push_statement(entry("SHOW GLOBAL STATUS"));
        outbox.push_health(InstanceHealth::down("a", "refused", chrono::Utc::now()));
        let first = next_batch(&mut rx).await;
        assert!(started.elapsed() < every / 2, "{:?}", started.elapsed());
        assert_eq!((first.statements.len(), first.health.len()), (1, 1));
        // A burst right after waits for the next slot, and leaves in one batch.
        for name in ["b", "c", "d"] {
            outbox.push_health(InstanceHealth::down(name, "refused", chrono::Utc::now()));
        }
        let burst = next_batch(&mut rx).await;
        assert!(started.elapsed() >= every, "{:?}", started.elapsed());
        let names: Vec<&str> = burst.health.iter().map(|h| h.instance.as_str()).collect();
        assert_eq!(names, ["b", "c", "d"]);
        // What is left at the end goes out before the task ends.
        outbox.push_health(InstanceHealth::down("e", "refused", chrono::Utc::now()));
        cancel.cancel();
        task.await.unwrap();
        let last = next_batch(&mut rx).await;
        assert_eq!(last.health[0].instance, "e");
        assert!(rx.try_recv().is_err(), "one batch for what was left");
    }
}
