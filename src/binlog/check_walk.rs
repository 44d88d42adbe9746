//! The check's walk before applying (see `check`), newest row first, keeping per key only
//! digests: a key's state is the 128-bit digest of the image the newer undos leave there (or
//! "no row") and where that row can be read again; a keyless image is its digest and a
//! balance of copies. So the walk holds tens of bytes per key, not the rows: the rows can
//! come one at a time from a spill file (`check_spill`), and a check of a binlog of any size
//! holds only its keys. Lookups by key are handed out as they are made, to be run in batches
//! while the walk goes on; a keyless lookup's limit can still grow, so those are kept (as the
//! place of a row) until the walk ends.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::check::{same_image, CheckRow, Lookup, LookupKey, Need, RowState};
use crate::rows::RowsKind;

/// A 128-bit digest: two SipHash values of the same bytes under different prefixes.
type Digest = [u64; 2];

fn digest<T: Hash + ?Sized>(value: &T) -> Digest {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    };
    [half(0x5a), half(0xa5)]
}

/// "No row here" in `Left::at`.
const NO_ROW: u64 = u64::MAX;
/// Set in `Left::at` when the image lacks some columns (compared column by column).
const PARTIAL: u64 = 1 << 63;

/// What the newer undos leave at a key: no row (`at == NO_ROW`), or the before image of the
/// row at `at` (its place, as the caller numbers rows), with its digest.
#[derive(Debug, Clone, Copy)]
struct Left {
    image: Digest,
    at: u64,
}

/// A keyless image: copies the newer undos added minus those they took, and its lookup.
#[derive(Debug, Clone, Copy)]
struct Keyless {
    balance: i64,
    /// Index in `keyless_lookups`, or `u32::MAX`.
    lookup: u32,
}

/// A keyless lookup, made once the walk is over: the after image of the row at `at`, and
/// how many copies the server must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeylessLookup {
    pub id: usize,
    pub at: u64,
    pub limit: u32,
}

impl KeylessLookup {
    /// The lookup, from the row at `at`.
    pub fn of(&self, row: &CheckRow) -> Lookup {
        Lookup {
            table_sql: row.table_sql.clone(),
            cond: row.conditions(&row.after, None),
            limit: self.limit,
            key: None,
        }
    }
}

/// The walk before applying. Feed it the rows in rollback order with `push`.
#[derive(Debug, Default)]
pub struct BeforeApplyWalk {
    tables: HashMap<String, u32>,
    keys: HashMap<(u32, Digest), Left>,
    keyless: HashMap<(u32, Digest), Keyless>,
    lookups: usize,
    /// Key lookups made and not yet taken: (lookup id, lookup).
    pending: Vec<(usize, Lookup)>,
    pending_bytes: usize,
    keyless_lookups: Vec<KeylessLookup>,
}

/// Reads the row at a place again (only to compare an image that lacks columns).
pub type Fetch<'f, E> = dyn FnMut(u64) -> Result<CheckRow, E> + 'f;

impl BeforeApplyWalk {
    pub fn new() -> Self {
        BeforeApplyWalk::default()
    }

    /// A walk whose lookups are numbered from `first` on (a later pass of one check).
    pub fn numbered_from(first: usize) -> Self {
        BeforeApplyWalk {
            lookups: first,
            ..Default::default()
        }
    }

    /// Lookups made so far (ids are `0..lookup_count()`).
    pub fn lookup_count(&self) -> usize {
        self.lookups
    }

    /// SQL bytes of the key lookups not yet taken.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The key lookups made since the last call, with their ids (their limits are final).
    pub fn take_pending(&mut self) -> Vec<(usize, Lookup)> {
        self.pending_bytes = 0;
        std::mem::take(&mut self.pending)
    }

    /// The keyless lookups, with their final limits once every row was pushed.
    pub fn keyless_lookups(&self) -> &[KeylessLookup] {
        &self.keyless_lookups
    }

    /// One row of the rollback (the row at place `at`): what its undo needs, then what it
    /// leaves. `fetch` reads a row pushed before, by its place. Only the keys and keyless
    /// images whose digest `part` keeps are walked (a check in several passes over the rows
    /// walks each part of the keys in its own pass); each need comes with its place in the
    /// row's full list of needs.
    pub fn push<E>(
        &mut self,
        row: &CheckRow,
        at: u64,
        part: &dyn Fn(u64) -> bool,
        fetch: &mut Fetch<'_, E>,
    ) -> Result<Vec<(u8, Need)>, E> {
        let table = self.table(&row.table_sql);
        let (kb, ka) = (row.key_of(&row.before), row.key_of(&row.after));
        let kept = |d: Digest| part(d[1]).then_some(d);
        let (db, da) = (
            kb.as_ref().and_then(|k| kept(digest(k))),
            ka.as_ref().and_then(|k| kept(digest(k))),
        );
        let mut needs = Vec::new();
        match row.kind {
            RowsKind::Insert => match (&ka, da) {
                (Some(k), Some(d)) => {
                    needs.push((0, self.key_need(table, row, k, d, true, fetch)?))
                }
                (Some(_), None) => {}
                (None, _) => self.take_copy(table, row, at, part, &mut needs),
            },
            RowsKind::Delete => match (&kb, db) {
                (Some(k), Some(d)) => {
                    needs.push((0, self.key_need(table, row, k, d, false, fetch)?))
                }
                (Some(_), None) => {}
                // Re-inserting a keyless row meets nothing it could collide with.
                (None, _) => self.give_copy(table, &row.before, part),
            },
            RowsKind::Update => {
                match (&ka, da) {
                    (Some(k), Some(d)) => {
                        needs.push((0, self.key_need(table, row, k, d, true, fetch)?))
                    }
                    (Some(_), None) => {}
                    (None, _) => self.take_copy(table, row, at, part, &mut needs),
                }
                if let (Some(b), Some(a), Some(d)) = (&kb, &ka, db) {
                    if b != a {
                        needs.push((1, self.key_need(table, row, b, d, false, fetch)?));
                    }
                }
                if kb.is_none() {
                    self.give_copy(table, &row.before, part);
                }
            }
        }
        // No row at the after key, then the before image at the before key (in that order,
        // so a key-keeping update leaves its before image).
        if let Some(d) = da {
            let left = Left {
                image: [0, 0],
                at: NO_ROW,
            };
            self.keys.insert((table, d), left);
        }
        if let Some(d) = db {
            let partial = if row.before.iter().any(Option::is_none) {
                PARTIAL
            } else {
                0
            };
            let left = Left {
                image: digest(&row.before),
                at: at | partial,
            };
            self.keys.insert((table, d), left);
        }
        Ok(needs)
    }

    fn table(&mut self, table_sql: &str) -> u32 {
        if let Some(&t) = self.tables.get(table_sql) {
            return t;
        }
        let t = self.tables.len() as u32;
        self.tables.insert(table_sql.to_string(), t);
        t
    }

    fn next_id(&mut self) -> usize {
        self.lookups += 1;
        self.lookups - 1
    }

    /// The need for `key` of `row` to hold its after image (`image`), or no row.
    fn key_need<E>(
        &mut self,
        table: u32,
        row: &CheckRow,
        key: &[&str],
        key_digest: Digest,
        image: bool,
        fetch: &mut Fetch<'_, E>,
    ) -> Result<Need, E> {
        if let Some(&left) = self.keys.get(&(table, key_digest)) {
            let state = match (left.at == NO_ROW, image) {
                (true, false) => RowState::AsLeft,
                (false, true) if same_left(&left, &row.after, fetch)? => RowState::AsLeft,
                (false, false) => RowState::KeyTaken,
                _ => RowState::ChangedSince,
            };
            return Ok(Need::Decided(state));
        }
        let l = self.next_id();
        let cond = if image {
            row.conditions(&row.after, None)
        } else {
            let img = match (&row.before, &row.after) {
                (b, _) if row.key_of(b).as_deref() == Some(key) => b,
                (_, a) => a,
            };
            row.conditions(img, Some(&row.primary_key))
        };
        self.pending_bytes += cond.len() + row.table_sql.len();
        let lookup = Lookup {
            table_sql: row.table_sql.clone(),
            cond,
            limit: 1,
            key: LookupKey::of(row, key),
        };
        self.pending.push((l, lookup));
        Ok(match image {
            true => Need::AtLeast {
                l,
                n: 1,
                fail: RowState::ChangedSince,
            },
            false => Need::None {
                l,
                fail: RowState::KeyTaken,
            },
        })
    }

    /// The undo of `row` takes one copy of its keyless after image (when `part` keeps it).
    fn take_copy(
        &mut self,
        table: u32,
        row: &CheckRow,
        at: u64,
        part: &dyn Fn(u64) -> bool,
        needs: &mut Vec<(u8, Need)>,
    ) {
        let image = digest(&row.after);
        if !part(image[1]) {
            return;
        }
        let slot = self.keyless.entry((table, image)).or_insert(Keyless {
            balance: 0,
            lookup: u32::MAX,
        });
        // Copies the server itself must hold for this take to find one.
        let n = 1 - slot.balance;
        slot.balance -= 1;
        if n <= 0 {
            needs.push((0, Need::Decided(RowState::AsLeft)));
            return;
        }
        let n = n as u32;
        let index = match slot.lookup {
            u32::MAX => {
                slot.lookup = self.keyless_lookups.len() as u32;
                let id = self.next_id();
                self.keyless_lookups
                    .push(KeylessLookup { id, at, limit: n });
                self.keyless_lookups.len() - 1
            }
            i => i as usize,
        };
        let lookup = &mut self.keyless_lookups[index];
        lookup.limit = lookup.limit.max(n);
        needs.push((
            0,
            Need::AtLeast {
                l: lookup.id,
                n,
                fail: RowState::ChangedSince,
            },
        ));
    }

    fn give_copy(&mut self, table: u32, image: &[Option<String>], part: &dyn Fn(u64) -> bool) {
        let image = digest(image);
        if !part(image[1]) {
            return;
        }
        let slot = self.keyless.entry((table, image)).or_insert(Keyless {
            balance: 0,
            lookup: u32::MAX,
        });
        slot.balance += 1;
    }
}

/// Whether the image `left` records is `want`, comparing the columns both hold: by digest
/// when both are whole, else column by column on the row read again.
fn same_left<E>(left: &Left, want: &[Option<String>], fetch: &mut Fetch<'_, E>) -> Result<bool, E> {
    if left.image == digest(want) {
        return Ok(true);
    }
    if left.at & PARTIAL == 0 && want.iter().all(Option::is_some) {
        return Ok(false);
    }
    let have = fetch(left.at & !PARTIAL)?;
    Ok(same_image(&have.before, want))
}
