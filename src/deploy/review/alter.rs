//! Which ALGORITHM and LOCK MariaDB (10.6+, InnoDB) uses for an ALTER TABLE, decided from the
//! kind of each operation by MariaDB's documented online-DDL rules; an ALTER is as slow as its
//! slowest operation. Used by `large-table-alter` to recommend a form, never by trying it.

use sqlparser::ast::{AlterTableOperation, ColumnOption, TableConstraint};

/// From the fastest to the slowest, as MariaDB ranks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    Instant,
    Nocopy,
    Inplace,
    Copy,
}

/// From the most to the least concurrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lock {
    None,
    Shared,
    Exclusive,
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algorithm::Instant => "INSTANT",
            Algorithm::Nocopy => "NOCOPY",
            Algorithm::Inplace => "INPLACE",
            Algorithm::Copy => "COPY",
        })
    }
}

impl std::fmt::Display for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lock::None => "NONE",
            Lock::Shared => "SHARED",
            Lock::Exclusive => "EXCLUSIVE",
        })
    }
}

/// What one operation costs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterCost {
    pub algorithm: Algorithm,
    pub lock: Lock,
    pub why: &'static str,
}

fn cost(algorithm: Algorithm, lock: Lock, why: &'static str) -> AlterCost {
    AlterCost {
        algorithm,
        lock,
        why,
    }
}

/// The cost of one ALTER TABLE operation.
pub fn operation_cost(op: &AlterTableOperation) -> AlterCost {
    use Algorithm::*;
    use AlterTableOperation as Op;
    match op {
        Op::AddColumn { column_def, .. } => {
            let auto = column_def.options.iter().any(|o| {
                matches!(&o.option, ColumnOption::DialectSpecific(t) if t.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")))
            });
            if auto {
                cost(Inplace, Lock::Shared, "adding an AUTO_INCREMENT column rebuilds the table and blocks writes")
            } else {
                cost(Instant, Lock::None, "adding a column is instant")
            }
        }
        Op::DropColumn { .. } => cost(Instant, Lock::None, "dropping a column is instant"),
        Op::RenameColumn { .. } => cost(Instant, Lock::None, "renaming a column is instant"),
        Op::AlterColumn { .. } => cost(Instant, Lock::None, "changing a column's DEFAULT is instant"),
        Op::ModifyColumn { .. } | Op::ChangeColumn { .. } => cost(
            Copy,
            Lock::Shared,
            "changing a column's type copies the table unless it only widens a (VAR)CHAR or integer, or makes the column NULL",
        ),
        Op::AddConstraint { constraint, .. } => match constraint {
            TableConstraint::PrimaryKey(_) => cost(Inplace, Lock::None, "adding a primary key rebuilds the table in place"),
            TableConstraint::ForeignKey(_) => cost(Copy, Lock::Shared, "adding a foreign key copies the table unless foreign_key_checks=0"),
            TableConstraint::FulltextOrSpatial(_) => cost(Nocopy, Lock::Shared, "a FULLTEXT or SPATIAL index is built without copying but blocks writes"),
            TableConstraint::Check(_) => cost(Copy, Lock::Shared, "adding a CHECK constraint validates every row"),
            _ => cost(Nocopy, Lock::None, "a secondary index is built without copying, writes continue"),
        },
        Op::DropIndex { .. } | Op::DropForeignKey { .. } | Op::DropConstraint { .. } => {
            cost(Instant, Lock::None, "dropping an index or constraint is instant")
        }
        Op::DropPrimaryKey { .. } => cost(Copy, Lock::Shared, "dropping the primary key without adding one copies the table"),
        Op::RenameTable { .. } => cost(Instant, Lock::None, "renaming a table is instant"),
        Op::AutoIncrement { .. } => cost(Instant, Lock::None, "setting AUTO_INCREMENT is instant"),
        Op::Algorithm { .. } | Op::Lock { .. } => cost(Instant, Lock::None, "a clause, not an operation"),
        _ => cost(Inplace, Lock::None, "a table option or rebuild (ENGINE=InnoDB, FORCE) rebuilds the table in place"),
    }
}

/// The cost of a whole ALTER: its slowest operation, with the reason of that operation.
pub fn alter_cost(ops: &[AlterTableOperation]) -> AlterCost {
    let mut worst = cost(Algorithm::Instant, Lock::None, "no operation");
    for op in ops {
        let c = operation_cost(op);
        if matches!(
            op,
            AlterTableOperation::Algorithm { .. } | AlterTableOperation::Lock { .. }
        ) {
            continue;
        }
        if (c.algorithm, c.lock) > (worst.algorithm, worst.lock) || worst.why == "no operation" {
            worst = AlterCost {
                algorithm: c.algorithm.max(worst.algorithm),
                lock: c.lock.max(worst.lock),
                why: c.why,
            };
        }
    }
    worst
}

/// The recommendation `large-table-alter` gives for a table of `mib` MiB.
pub fn recommend(ops: &[AlterTableOperation], table: &str, mib: u64) -> String {
    let c = alter_cost(ops);
    let how = match c.algorithm {
        Algorithm::Instant | Algorithm::Nocopy => format!(
            "add `, ALGORITHM={}, LOCK={}` so MariaDB refuses rather than falls back to a copy",
            c.algorithm, c.lock
        ),
        Algorithm::Inplace => format!(
            "MariaDB rebuilds it in place (ALGORITHM=INPLACE, LOCK={}): say so explicitly, and expect the rebuild to take time and replica lag",
            c.lock
        ),
        Algorithm::Copy => "MariaDB would copy it (ALGORITHM=COPY, LOCK=SHARED: writes blocked for the whole copy): use an online schema change tool (pt-online-schema-change) or split the change".to_string(),
    };
    format!("ALTER of {table} ({mib} MiB): {}; {how}", c.why)
}
