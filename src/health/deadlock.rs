//! The "LATEST DETECTED DEADLOCK" section of `SHOW ENGINE INNODB STATUS`, parsed into its
//! transactions: who they were, what they ran, which lock they waited for, which held, and which
//! one InnoDB rolled back. MariaDB and MySQL 5.7/8.x print the same skeleton (MySQL 8 adds
//! "HOLDS THE LOCK(S)" for both transactions); lines this parser does not know are skipped.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Deadlock {
    /// The timestamp line as the server printed it (server local time).
    pub at: String,
    pub transactions: Vec<DeadlockTransaction>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DeadlockTransaction {
    /// The `(N)` number in the section.
    pub number: u32,
    pub trx_id: Option<String>,
    pub active_s: Option<u64>,
    pub connection_id: Option<u64>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub query: Option<String>,
    /// `` `schema`.`table` `` of the lock it waited for.
    pub waiting_table: Option<String>,
    pub waiting_index: Option<String>,
    pub waiting_lock_mode: Option<String>,
    /// Tables of the locks it held, when the server prints them.
    pub held_tables: Vec<String>,
    pub rolled_back: bool,
}

/// The latest deadlock, or `None` when the server has not seen one since it started.
pub fn parse_latest_deadlock(innodb_status: &str) -> Option<Deadlock> {
    let lines: Vec<&str> = innodb_status.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "LATEST DETECTED DEADLOCK")?;
    // The section ends at the next banner: a dash line followed by an upper-case title.
    let body: Vec<&str> = lines[start + 1..]
        .iter()
        .skip_while(|l| l.starts_with("---"))
        .copied()
        .take_while(|l| *l != "TRANSACTIONS")
        .collect();
    let at = body.first()?.split(" 0x").next()?.trim().to_string();
    let mut transactions: Vec<DeadlockTransaction> = Vec::new();
    let mut section = Section::None;
    let mut victim = None;
    for line in &body[1..] {
        if let Some(n) = banner_number(line, "TRANSACTION:") {
            transactions.push(DeadlockTransaction {
                number: n,
                ..Default::default()
            });
            section = Section::Header;
            continue;
        }
        if let Some(rest) = line.strip_prefix("*** WE ROLL BACK TRANSACTION (") {
            victim = rest.split(')').next().and_then(|n| n.parse::<u32>().ok());
            continue;
        }
        if line.starts_with("***") {
            section = if line.contains("WAITING FOR THIS LOCK") {
                Section::Waiting
            } else if line.contains("HOLDS THE LOCK") {
                Section::Holds
            } else {
                // MariaDB's "CONFLICTING WITH:" lists the other side's lock, not this one's.
                Section::Other
            };
            continue;
        }
        let Some(trx) = transactions.last_mut() else {
            continue;
        };
        match section {
            Section::Header => read_header_line(trx, line),
            Section::Waiting if trx.waiting_table.is_none() => {
                if let Some(lock) = parse_lock_line(line) {
                    trx.waiting_table = Some(lock.table);
                    trx.waiting_index = lock.index;
                    trx.waiting_lock_mode = Some(lock.mode);
                }
            }
            Section::Holds => {
                if let Some(lock) = parse_lock_line(line) {
                    if !trx.held_tables.contains(&lock.table) {
                        trx.held_tables.push(lock.table);
                    }
                }
            }
            _ => {}
        }
    }
    for trx in &mut transactions {
        trx.rolled_back = victim == Some(trx.number);
    }
    Some(Deadlock { at, transactions })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    None,
    Header,
    Waiting,
    Holds,
    Other,
}

/// `*** (2) TRANSACTION:` -> 2.
fn banner_number(line: &str, title: &str) -> Option<u32> {
    let rest = line.strip_prefix("*** (")?;
    let (n, tail) = rest.split_once(')')?;
    (tail.trim() == title).then(|| n.parse().ok())?
}

fn read_header_line(trx: &mut DeadlockTransaction, line: &str) {
    if let Some(rest) = line.strip_prefix("TRANSACTION ") {
        let mut parts = rest.split(',');
        trx.trx_id = parts.next().map(|s| s.trim().to_string());
        trx.active_s = parts
            .next()
            .and_then(|p| p.trim().strip_prefix("ACTIVE "))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok());
    } else if let Some(rest) = line
        .strip_prefix("MySQL thread id ")
        .or_else(|| line.strip_prefix("MariaDB thread id "))
    {
        // "9, OS thread handle 1401..., query id 14 localhost root Updating"
        trx.connection_id = rest.split(',').next().and_then(|n| n.trim().parse().ok());
        if let Some((_, after)) = rest.split_once("query id ") {
            let mut words = after.split_whitespace().skip(1);
            trx.host = words.next().map(str::to_string);
            trx.user = words.next().map(str::to_string);
        }
    } else if is_header_detail(line) {
        // Lock counts, tables in use, undo entries: not needed.
    } else if !line.trim().is_empty() {
        // The statement, possibly over several lines.
        match &mut trx.query {
            Some(q) => {
                q.push('\n');
                q.push_str(line);
            }
            None => trx.query = Some(line.to_string()),
        }
    }
}

fn is_header_detail(line: &str) -> bool {
    line.starts_with("mysql tables in use")
        || line.starts_with("LOCK WAIT")
        || (line.starts_with(|c: char| c.is_ascii_digit()) && line.contains("lock struct(s)"))
}

struct LockLine {
    table: String,
    index: Option<String>,
    mode: String,
}

/// `RECORD LOCKS space id 5 page no 3 n bits 320 index PRIMARY of table `shop`.`t` trx id 24
/// lock_mode X locks rec but not gap waiting`, or `TABLE LOCK table `shop`.`t` trx id 7 lock mode IX`.
fn parse_lock_line(line: &str) -> Option<LockLine> {
    if let Some(rest) = line.strip_prefix("RECORD LOCKS ") {
        let index = rest
            .split_once(" index ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .map(str::to_string);
        let (_, after_table) = rest.split_once(" of table ")?;
        let (table, after) = after_table.split_once(" trx id ")?;
        return Some(LockLine {
            table: table.trim().to_string(),
            index,
            mode: lock_mode_of(after),
        });
    }
    let rest = line.strip_prefix("TABLE LOCK table ")?;
    let (table, after) = rest.split_once(" trx id ")?;
    Some(LockLine {
        table: table.trim().to_string(),
        index: None,
        mode: lock_mode_of(after),
    })
}

/// `24 lock_mode X locks rec but not gap waiting` -> `X locks rec but not gap`.
fn lock_mode_of(after_trx_id: &str) -> String {
    let text = after_trx_id
        .split_once("lock_mode ")
        .or_else(|| after_trx_id.split_once("lock mode "))
        .map(|(_, m)| m)
        .unwrap_or("");
    text.trim().trim_end_matches("waiting").trim().to_string()
}
