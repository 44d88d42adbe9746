//! Lock waits as chains: which session waits on which, and the root blocker of each wait (the
//! session that blocks others and waits for nobody). Inputs are the rows of INNODB_TRX and of
//! INNODB_LOCK_WAITS (MariaDB, MySQL 5.7) or `performance_schema.data_lock_waits` (MySQL 8),
//! already joined to connection ids; metadata lock waits come from the processlist and the
//! holders in METADATA_LOCK_INFO / `performance_schema.metadata_locks`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

/// One transaction from INNODB_TRX.
#[derive(Debug, Clone, PartialEq)]
pub struct TrxInfo {
    pub trx_id: String,
    /// Connection id (`trx_mysql_thread_id`), what KILL takes.
    pub connection_id: u64,
    pub query: Option<String>,
    pub age_s: Option<u64>,
    /// Seconds since its current lock wait started, when it waits.
    pub wait_s: Option<u64>,
}

/// One "waits for" edge, by transaction id.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitEdge {
    pub waiting_trx: String,
    pub blocking_trx: String,
    /// `` `schema`.`table` `` of the lock waited for.
    pub table: Option<String>,
    pub lock_mode: Option<String>,
}

/// One row of `arkc locks`' `waits`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LockWait {
    pub waiting_id: u64,
    pub blocking_id: u64,
    /// `None` when every path from the waiter ends in a cycle (a deadlock InnoDB is about to break).
    pub root_blocker_id: Option<u64>,
    pub wait_s: Option<u64>,
    pub table: Option<String>,
    pub lock_mode: Option<String>,
    pub waiting_query: Option<String>,
    pub blocking_query: Option<String>,
}

/// A session at the head of one or more chains.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RootBlocker {
    pub id: u64,
    pub trx_age_s: Option<u64>,
    /// Its statement now; idle in an open transaction shows `None`.
    pub query: Option<String>,
    /// How many sessions wait on it, directly or through others.
    pub blocked_sessions: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct LockChains {
    pub waits: Vec<LockWait>,
    /// Largest first.
    pub roots: Vec<RootBlocker>,
}

/// Waits by connection id, each with its root blocker; edges naming a transaction missing from
/// `trx` (it ended between the two reads) are dropped.
pub fn build_lock_chains(trx: &[TrxInfo], edges: &[WaitEdge]) -> LockChains {
    let by_trx: HashMap<&str, &TrxInfo> = trx.iter().map(|t| (t.trx_id.as_str(), t)).collect();
    let by_conn: HashMap<u64, &TrxInfo> = trx.iter().map(|t| (t.connection_id, t)).collect();
    let resolved: Vec<(&TrxInfo, &TrxInfo, &WaitEdge)> = edges
        .iter()
        .filter_map(|e| {
            Some((
                *by_trx.get(e.waiting_trx.as_str())?,
                *by_trx.get(e.blocking_trx.as_str())?,
                e,
            ))
        })
        .collect();
    let mut blockers: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (w, b, _) in &resolved {
        blockers
            .entry(w.connection_id)
            .or_default()
            .insert(b.connection_id);
    }
    let blocked = blocked_counts(&blockers);
    let mut waits: Vec<LockWait> = resolved
        .iter()
        .map(|(w, b, e)| LockWait {
            waiting_id: w.connection_id,
            blocking_id: b.connection_id,
            root_blocker_id: root_of(w.connection_id, &blockers, &blocked),
            wait_s: w.wait_s,
            table: e.table.clone(),
            lock_mode: e.lock_mode.clone(),
            waiting_query: w.query.clone(),
            blocking_query: b.query.clone(),
        })
        .collect();
    waits.sort_by(|a, b| {
        b.wait_s
            .cmp(&a.wait_s)
            .then(a.waiting_id.cmp(&b.waiting_id))
            .then(a.blocking_id.cmp(&b.blocking_id))
    });
    waits.dedup_by(|a, b| a.waiting_id == b.waiting_id && a.blocking_id == b.blocking_id);
    let mut roots: Vec<RootBlocker> = blocked
        .iter()
        .filter(|(id, _)| !blockers.contains_key(id))
        .map(|(&id, &count)| RootBlocker {
            id,
            trx_age_s: by_conn.get(&id).and_then(|t| t.age_s),
            query: by_conn.get(&id).and_then(|t| t.query.clone()),
            blocked_sessions: count,
        })
        .collect();
    roots.sort_by(|a, b| {
        b.blocked_sessions
            .cmp(&a.blocked_sessions)
            .then(a.id.cmp(&b.id))
    });
    LockChains { waits, roots }
}

/// For every session that blocks someone: how many sessions reach it through "waits for".
fn blocked_counts(blockers: &BTreeMap<u64, BTreeSet<u64>>) -> BTreeMap<u64, usize> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for &waiter in blockers.keys() {
        for reached in reachable(waiter, blockers) {
            if reached != waiter {
                *counts.entry(reached).or_default() += 1;
            }
        }
    }
    counts
}

fn reachable(from: u64, blockers: &BTreeMap<u64, BTreeSet<u64>>) -> BTreeSet<u64> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(next) = blockers.get(&id) {
            stack.extend(next.iter().copied());
        }
    }
    seen
}

/// The root blocker of `waiter`: among the sessions it reaches that wait for nobody, the one
/// blocking the most sessions (lowest id on a tie, so the answer is stable).
fn root_of(
    waiter: u64,
    blockers: &BTreeMap<u64, BTreeSet<u64>>,
    blocked: &BTreeMap<u64, usize>,
) -> Option<u64> {
    reachable(waiter, blockers)
        .into_iter()
        .filter(|id| *id != waiter && !blockers.contains_key(id))
        .max_by(|a, b| {
            let count = |id: &u64| blocked.get(id).copied().unwrap_or(0);
            count(a).cmp(&count(b)).then(b.cmp(a))
        })
}

/// A session waiting for a metadata lock (seen in the processlist).
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataWaiter {
    pub connection_id: u64,
    pub state: String,
    pub query: Option<String>,
    pub wait_s: Option<u64>,
    pub schema: Option<String>,
}

/// A granted metadata lock on a table.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataHolder {
    pub connection_id: u64,
    pub lock_mode: String,
    pub schema: String,
    pub table: String,
    pub query: Option<String>,
}

/// One row of `arkc locks`' `metadata_waits`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MetadataWait {
    pub waiting_id: u64,
    /// Who holds a lock on the table the waiter's statement names; empty when the holders are
    /// not readable (see `LocksReport::notes`).
    pub blocking_ids: Vec<u64>,
    pub wait_s: Option<u64>,
    pub state: String,
    pub table: Option<String>,
    pub waiting_query: Option<String>,
}

/// Match waiters to holders of a lock on a table their statement mentions. The processlist does
/// not say which table a waiter wants, so a holder counts when its table's name appears in the
/// waiter's statement (same schema when both are known).
pub fn metadata_waits(waiters: &[MetadataWaiter], holders: &[MetadataHolder]) -> Vec<MetadataWait> {
    waiters
        .iter()
        .map(|w| {
            let text = w.query.as_deref().unwrap_or("").to_ascii_lowercase();
            let matching: Vec<&MetadataHolder> = holders
                .iter()
                .filter(|h| h.connection_id != w.connection_id)
                .filter(|h| mentions(&text, &h.table.to_ascii_lowercase()))
                .filter(|h| {
                    w.schema.as_deref().is_none_or(|s| s == h.schema)
                        || text.contains(&h.schema.to_ascii_lowercase())
                })
                .collect();
            let mut blocking_ids: Vec<u64> = matching.iter().map(|h| h.connection_id).collect();
            blocking_ids.sort_unstable();
            blocking_ids.dedup();
            MetadataWait {
                waiting_id: w.connection_id,
                blocking_ids,
                wait_s: w.wait_s,
                state: w.state.clone(),
                table: matching
                    .first()
                    .map(|h| format!("`{}`.`{}`", h.schema, h.table)),
                waiting_query: w.query.clone(),
            }
        })
        .collect()
}

/// `word` appears in `text` not as part of a longer identifier.
fn mentions(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}
