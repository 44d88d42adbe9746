//! The demo's steady, seeded workload on a `shop` schema: OLTP transactions, a few slow and
//! index-less reads, and an occasional multi-row UPDATE. Same seed, same sequence of statements
//! per worker (timing and auto-increment ids aside).
//!
//! Statements are built from numbers and fixed words only, so formatting them as text is safe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::backend::connect::connect;
use crate::config::InstanceConfig;

#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// Schema to create and use (`shop` in the demo).
    pub schema: String,
    pub seed: u64,
    /// Target write transactions per second, over all writers.
    pub tps: f64,
    /// Rows loaded before the workload starts.
    pub customers: u32,
    pub orders: u32,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        WorkloadOptions {
            schema: "shop".into(),
            seed: 42,
            tps: 20.0,
            customers: 2_000,
            orders: 20_000,
        }
    }
}

/// Running totals, readable while the workload runs.
#[derive(Debug, Default)]
pub struct WorkloadStats {
    pub commits: AtomicU64,
    pub rollbacks: AtomicU64,
    pub reads: AtomicU64,
    pub slow_queries: AtomicU64,
    pub bulk_updates: AtomicU64,
    pub errors: AtomicU64,
}

impl WorkloadStats {
    pub fn summary(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "workload: {} commits, {} rollbacks, {} reads, {} slow, {} bulk updates, {} errors",
            get(&self.commits),
            get(&self.rollbacks),
            get(&self.reads),
            get(&self.slow_queries),
            get(&self.bulk_updates),
            get(&self.errors)
        )
    }
}

/// A running workload; `stop` ends it.
#[derive(Debug)]
pub struct Workload {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    pub stats: Arc<WorkloadStats>,
}

const WRITERS: u64 = 2;

impl Workload {
    /// Create and load the schema on `target`, then start the workers.
    pub async fn start(target: InstanceConfig, opts: WorkloadOptions) -> anyhow::Result<Workload> {
        let mut conn = connect(&target).await?;
        load_schema(&mut conn, &opts).await?;
        let _ = conn.disconnect().await;
        let cancel = CancellationToken::new();
        let stats = Arc::new(WorkloadStats::default());
        let mut tasks = JoinSet::new();
        let per_writer = Duration::from_secs_f64(WRITERS as f64 / opts.tps.max(0.1));
        for w in 0..WRITERS {
            let ctx = Worker::new(&target, &opts, w, &cancel, &stats);
            tasks.spawn(ctx.run(Role::Writer, per_writer));
        }
        let reader = Worker::new(&target, &opts, WRITERS, &cancel, &stats);
        tasks.spawn(reader.run(Role::Reader, Duration::from_millis(500)));
        let batch = Worker::new(&target, &opts, WRITERS + 1, &cancel, &stats);
        tasks.spawn(batch.run(Role::Batch, Duration::from_secs(10)));
        Ok(Workload {
            cancel,
            tasks,
            stats,
        })
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn load_schema(conn: &mut Conn, opts: &WorkloadOptions) -> anyhow::Result<()> {
    let s = &opts.schema;
    let seed = opts.seed;
    let statements = [
        format!("CREATE DATABASE IF NOT EXISTS `{s}`"),
        format!(
            "CREATE TABLE IF NOT EXISTS `{s}`.customers (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
             name VARCHAR(64) NOT NULL, email VARCHAR(128) NOT NULL, city VARCHAR(32) NOT NULL, \
             balance DECIMAL(12,2) NOT NULL DEFAULT 0, created_at DATETIME NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS `{s}`.orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
             customer_id INT UNSIGNED NOT NULL, status VARCHAR(16) NOT NULL, amount DECIMAL(10,2) NOT NULL, \
             note VARCHAR(255) NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, \
             KEY idx_customer (customer_id))"
        ),
        // seq_1_to_N is MariaDB's built-in Sequence engine; RAND(seed) makes the load repeatable.
        format!(
            "INSERT INTO `{s}`.customers (name, email, city, balance, created_at) \
             SELECT CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'), \
             ELT(1 + FLOOR(RAND({seed}) * 5), 'Lisbon', 'Oslo', 'Quito', 'Osaka', 'Perth'), \
             ROUND(RAND() * 1000, 2), NOW() - INTERVAL seq MINUTE FROM `{s}`.seq_1_to_{}",
            opts.customers
        ),
        format!(
            "INSERT INTO `{s}`.orders (customer_id, status, amount, note, created_at, updated_at) \
             SELECT 1 + FLOOR(RAND({seed}) * {}), ELT(1 + FLOOR(RAND() * 4), 'pending', 'paid', 'shipped', 'delivered'), \
             ROUND(5 + RAND() * 300, 2), CONCAT('order note ', seq, IF(seq % 17 = 0, ' gift wrap', '')), \
             NOW() - INTERVAL seq SECOND, NOW() FROM `{s}`.seq_1_to_{}",
            opts.customers, opts.orders
        ),
    ];
    for sql in &statements {
        conn.query_drop(sql.as_str()).await.map_err(|e| {
            anyhow::anyhow!("loading the `{s}` schema failed: {e}\nstatement: {sql}")
        })?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Writer,
    Reader,
    Batch,
}

struct Worker {
    target: InstanceConfig,
    schema: String,
    customers: u32,
    rng: StdRng,
    cancel: CancellationToken,
    stats: Arc<WorkloadStats>,
}

impl Worker {
    fn new(
        target: &InstanceConfig,
        opts: &WorkloadOptions,
        index: u64,
        cancel: &CancellationToken,
        stats: &Arc<WorkloadStats>,
    ) -> Self {
        Worker {
            target: target.clone(),
            schema: opts.schema.clone(),
            customers: opts.customers.max(1),
            rng: StdRng::seed_from_u64(opts.seed.wrapping_mul(1000).wrapping_add(index)),
            cancel: cancel.clone(),
            stats: stats.clone(),
        }
    }

    /// Loop one role at a steady pace; reconnect after errors (the server may be restarting).
    async fn run(mut self, role: Role, pace: Duration) {
        let mut conn: Option<Conn> = None;
        let mut tick = tokio::time::interval(pace);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let mut c = match conn.take() {
                Some(c) => c,
                None => match connect(&self.target).await {
                    Ok(c) => c,
                    Err(e) => {
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("workload connect: {e:#}");
                        continue;
                    }
                },
            };
            let step = match role {
                Role::Writer => self.transaction(&mut c).await,
                Role::Reader => self.read(&mut c).await,
                Role::Batch => self.bulk_update(&mut c).await,
            };
            match step {
                Ok(()) => conn = Some(c),
                Err(e) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("workload {role:?}: {e}");
                }
            }
        }
        if let Some(c) = conn {
            let _ = c.disconnect().await;
        }
    }

    fn customer(&mut self) -> u32 {
        self.rng.random_range(1..=self.customers)
    }

    /// One order placed (and sometimes another shipped or cancelled), 5% rolled back.
    async fn transaction(&mut self, c: &mut Conn) -> Result<(), mysql_async::Error> {
        let s = self.schema.clone();
        let customer = self.customer();
        let amount = self.rng.random_range(500..30_000) as f64 / 100.0;
        let mut sql = vec![
            "BEGIN".to_string(),
            format!(
                "INSERT INTO `{s}`.orders (customer_id, status, amount, note, created_at, updated_at) \
                 VALUES ({customer}, 'pending', {amount:.2}, 'web order', NOW(), NOW())"
            ),
            format!("UPDATE `{s}`.customers SET balance = balance - {amount:.2} WHERE id = {customer}"),
        ];
        let other = self.customer();
        match self.rng.random_range(0..10) {
            0..=2 => sql.push(format!(
                "UPDATE `{s}`.orders SET status = 'paid', updated_at = NOW() \
                 WHERE customer_id = {other} AND status = 'pending' LIMIT 1"
            )),
            3..=4 => sql.push(format!(
                "UPDATE `{s}`.orders SET status = 'shipped', updated_at = NOW() \
                 WHERE customer_id = {customer} AND status = 'paid' LIMIT 1"
            )),
            5 => sql.push(format!("DELETE FROM `{s}`.orders WHERE customer_id = {customer} AND status = 'delivered' LIMIT 1")),
            _ => sql.push(format!("SELECT id, status, amount FROM `{s}`.orders WHERE customer_id = {other} LIMIT 5")),
        }
        let rollback = self.rng.random_bool(0.05);
        sql.push(if rollback { "ROLLBACK" } else { "COMMIT" }.to_string());
        for stmt in &sql {
            tracing::trace!(sql = %stmt, "workload");
            c.query_drop(stmt.as_str()).await?;
        }
        let counter = if rollback {
            &self.stats.rollbacks
        } else {
            &self.stats.commits
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Point reads mostly; now and then an index-less LIKE scan or a deliberately slow query.
    async fn read(&mut self, c: &mut Conn) -> Result<(), mysql_async::Error> {
        let s = self.schema.clone();
        let roll = self.rng.random_range(0..20);
        let sql = match roll {
            0 => format!("SELECT SLEEP(0.3), COUNT(*) FROM `{s}`.orders WHERE status = 'pending'"),
            1..=3 => format!(
                "SELECT id, name FROM `{s}`.customers WHERE email LIKE '%{}%@example.com' LIMIT 20",
                self.rng.random_range(10..99)
            ),
            4..=5 => {
                format!("SELECT COUNT(*), SUM(amount) FROM `{s}`.orders WHERE note LIKE '%gift%'")
            }
            _ => format!(
                "SELECT * FROM `{s}`.customers WHERE id = {}",
                self.customer()
            ),
        };
        tracing::trace!(sql = %sql, "workload");
        c.query_drop(sql.as_str()).await?;
        let counter = if roll <= 5 {
            &self.stats.slow_queries
        } else {
            &self.stats.reads
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The occasional multi-row UPDATE: a batch of paid orders moves on.
    async fn bulk_update(&mut self, c: &mut Conn) -> Result<(), mysql_async::Error> {
        let s = self.schema.clone();
        let from = self.customer();
        let sql = format!(
            "UPDATE `{s}`.orders SET status = 'delivered', updated_at = NOW() \
             WHERE status IN ('paid', 'shipped') AND customer_id BETWEEN {from} AND {} LIMIT 200",
            from + 100
        );
        tracing::trace!(sql = %sql, "workload");
        c.query_drop(sql.as_str()).await?;
        self.stats.bulk_updates.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
