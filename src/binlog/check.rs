//! `flashback --check`: before a rollback runs, the rows it would touch must still be as
//! the binlog left them. This plans one query per distinct row (its final state in the
//! range); the caller runs them against the server and reports the rows that changed since.

use std::collections::HashMap;

use crate::decoder::Event;
use crate::error::BinlogError;
use crate::render::{push_conditions, push_table};
use crate::rows::{Image, RowsEvent, RowsKind};
use crate::tablemap::TableMap;
use crate::txn::{Transaction, TxnSink};

/// What the server must hold for the rollback to be exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Expect {
    /// The row's last image in the range is still there (COUNT(*) >= 1).
    Present,
    /// The row was deleted (or its key changed) and nothing took its key since (COUNT(*) = 0).
    Absent,
}

/// One query to run and what its `COUNT(*)` must say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowCheck {
    pub table: String,
    pub file: String,
    pub offset: u64,
    pub gtid: Option<String>,
    pub query: String,
    pub expect: Expect,
}

impl RowCheck {
    pub fn holds(&self, count: i64) -> bool {
        match self.expect {
            Expect::Present => count >= 1,
            Expect::Absent => count == 0,
        }
    }
}

/// A `TxnSink` collecting the final expected state of every touched row.
#[derive(Debug, Default)]
pub struct CheckPlanner {
    checks: Vec<Option<RowCheck>>,
    by_key: HashMap<String, usize>,
    /// Changes of the open transaction, applied at commit, dropped at rollback.
    pending: Vec<(String, Option<RowCheck>)>,
}

impl CheckPlanner {
    pub fn new() -> Self {
        CheckPlanner::default()
    }

    /// The checks, in the order rows were first touched.
    pub fn into_checks(self) -> Vec<RowCheck> {
        self.checks.into_iter().flatten().collect()
    }

    fn record(&mut self, key: String, check: Option<RowCheck>) {
        self.pending.push((key, check));
    }

    fn row(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        t: &TableMap,
        kind: RowsKind,
        before: &Image,
        after: &Image,
    ) {
        let has_pk = !t.primary_key.is_empty();
        let make = |image: &Image, expect: Expect| {
            let mut q = String::from("SELECT COUNT(*) FROM ");
            push_table(t, &mut q);
            q.push_str(" WHERE ");
            push_conditions(t, image, expect == Expect::Absent, &mut q);
            RowCheck {
                table: format!("{}.{}", t.schema, t.table),
                file: txn.file.clone(),
                offset: ev.offset,
                gtid: txn.gtid.clone(),
                query: q,
                expect,
            }
        };
        let key = |image: &Image| {
            let mut k = String::new();
            push_table(t, &mut k);
            k.push('|');
            push_conditions(t, image, true, &mut k);
            k
        };
        match kind {
            RowsKind::Insert => self.record(key(after), Some(make(after, Expect::Present))),
            RowsKind::Delete if has_pk => {
                self.record(key(before), Some(make(before, Expect::Absent)))
            }
            // Without a key a deleted row cannot be told from its duplicates: nothing to check.
            RowsKind::Delete => self.record(key(before), None),
            RowsKind::Update => {
                let (kb, ka) = (key(before), key(after));
                if kb != ka {
                    let gone = has_pk.then(|| make(before, Expect::Absent));
                    self.record(kb, gone);
                }
                self.record(ka, Some(make(after, Expect::Present)));
            }
        }
    }
}

impl TxnSink for CheckPlanner {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let mut reader = r.row_reader();
        let (mut b, mut a): (Image, Image) = (Vec::new(), Vec::new());
        let mut n = 0;
        while reader
            .next_row(&mut b, &mut a)
            .map_err(|e| BinlogError::Decode {
                path: txn.file.clone().into(),
                offset: ev.offset,
                event: "ROWS",
                reason: e.0,
            })?
        {
            self.row(txn, ev, &r.table, r.kind, &b, &a);
            n += 1;
        }
        Ok(n)
    }

    fn commit(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        for (key, check) in std::mem::take(&mut self.pending) {
            match self.by_key.get(&key) {
                Some(&i) => self.checks[i] = check,
                None => {
                    self.by_key.insert(key, self.checks.len());
                    self.checks.push(check);
                }
            }
        }
        Ok(())
    }

    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        self.pending.clear();
        Ok(())
    }
}
