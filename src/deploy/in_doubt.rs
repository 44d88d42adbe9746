//! A deploy statement whose outcome is in doubt: the connection died while it (or the COMMIT
//! of its transaction) was in flight, so the server may have run it. What was read just before
//! it was sent (`Doubt`) and what a new connection reads once the old session is gone (`Now`)
//! settle it (`verdict`): a GTID position that did not move means nothing committed; for DDL,
//! the table's definition before and now, judged by what the statement would have done. When
//! neither tells, it says so and how to look: it never claims a statement did not run when it
//! might have.

use serde::{Deserialize, Serialize};
use sqlparser::ast::{AlterTableOperation, ObjectType, Statement};

use super::history::{BinlogPoint, DeployRecord};
use super::review::rules::name_parts;
use super::review::ReviewedStatement;

/// What a DDL statement would leave its table as, when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DdlExpect {
    /// CREATE TABLE: the table exists afterwards.
    Creates,
    /// DROP TABLE, or a rename away: the table no longer exists under this name.
    Drops,
    /// An ALTER (or CREATE INDEX) that always changes SHOW CREATE TABLE's text.
    Changes,
    /// An ALTER whose effect may not show in the definition (ENGINE=InnoDB, MODIFY to the same type).
    MayNotChange,
}

/// The table a DDL statement acts on (its name as written: one or two parts) and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlTarget {
    pub name: Vec<String>,
    pub expect: DdlExpect,
}

/// The DDL target of a statement, None for anything else (DML, USE, DDL on several tables).
pub fn ddl_target(st: &ReviewedStatement) -> Option<DdlTarget> {
    let (name, expect) = match st.parsed.as_ref()? {
        Statement::CreateTable(c) => (name_parts(&c.name), DdlExpect::Creates),
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } if names.len() == 1 => (name_parts(&names[0]), DdlExpect::Drops),
        Statement::CreateIndex(c) => (name_parts(&c.table_name), DdlExpect::Changes),
        Statement::AlterTable(a) => (name_parts(&a.name), alter_expect(&a.operations)),
        _ => return None,
    };
    (!name.is_empty() && name.len() <= 2).then_some(DdlTarget { name, expect })
}

fn alter_expect(ops: &[AlterTableOperation]) -> DdlExpect {
    use AlterTableOperation as Op;
    if ops.iter().any(|op| matches!(op, Op::RenameTable { .. })) {
        return DdlExpect::Drops;
    }
    let changes = ops.iter().any(|op| {
        matches!(
            op,
            Op::AddColumn { .. }
                | Op::DropColumn { .. }
                | Op::RenameColumn { .. }
                | Op::AddConstraint { .. }
                | Op::DropIndex { .. }
                | Op::DropConstraint { .. }
                | Op::DropForeignKey { .. }
                | Op::DropPrimaryKey { .. }
        )
    });
    match changes {
        true => DdlExpect::Changes,
        false => DdlExpect::MayNotChange,
    }
}

/// A DDL statement's table just before it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DdlBefore {
    /// `db`.`table`, as SHOW CREATE TABLE takes it.
    pub table: String,
    pub expect: DdlExpect,
    /// SHOW CREATE TABLE's text; None when the table did not exist.
    pub definition: Option<String>,
}

/// Read on the deploy's session just before a statement that commits was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doubt {
    /// The session's connection id: settling waits until it is gone from the server.
    pub connection_id: u64,
    /// When it was sent (Unix seconds): a server up for less than that has restarted since.
    pub sent_at: i64,
    /// The binlog file, position and GTID position before it was sent.
    pub before: BinlogPoint,
    /// For DDL: its table before.
    pub ddl: Option<DdlBefore>,
    /// It is the file's last statement: settled applied, the whole change ran.
    #[serde(default)]
    pub last: bool,
}

/// Read on a new connection once the old session has gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Now {
    pub gtid: String,
    /// For DDL: SHOW CREATE TABLE of the same table now (None: it does not exist).
    pub definition: Option<Option<String>>,
}

/// What the server says about a statement in doubt, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Applied(String),
    NotApplied(String),
    CannotTell(String),
}

impl Settled {
    /// The statement status the history keeps for it.
    pub fn status(&self) -> &'static str {
        match self {
            Settled::Applied(_) => "applied",
            Settled::NotApplied(_) => "not applied",
            Settled::CannotTell(_) => "in doubt",
        }
    }

    /// One sentence naming the statement.
    pub fn describe(&self, statement: usize, look: &str) -> String {
        match self {
            Settled::Applied(why) => {
                format!("settled: statement {statement} WAS applied ({why}); do not run it again")
            }
            Settled::NotApplied(why) => {
                format!("settled: statement {statement} was NOT applied ({why})")
            }
            Settled::CannotTell(why) => {
                format!("statement {statement} stays IN DOUBT: {why}; it may have run. {look}")
            }
        }
    }
}

/// Why a deploy with a statement that was in doubt cannot be undone, if so (the CLI's undo and
/// the Jobs pane's both ask): one still in doubt must be settled first; one settled applied has
/// no recorded GTID for the flashback to select (and is DDL, which a flashback cannot reverse).
pub fn blocks_undo(d: &DeployRecord) -> Option<String> {
    if let Some(st) = d.statements.iter().find(|s| s.status == "in doubt") {
        return Some(format!(
            "deploy {} has statement {} IN DOUBT (the connection was lost while it was in \
             flight): settle it first with `arkc deploy settle {}`; nothing was sent",
            d.id, st.index, d.id
        ));
    }
    let settled_applied = d
        .statements
        .iter()
        .find(|s| s.status == "applied" && s.settled.is_some() && s.gtid.is_none())?;
    Some(format!(
        "deploy {} cannot be undone: statement {} ran although its answer was lost (settled \
         after the fact), so its transaction's GTID was never recorded and a flashback cannot \
         select or reverse it; nothing was sent",
        d.id, settled_applied.index
    ))
}

/// Settle a statement from what was read before it and what is read now.
pub fn verdict(doubt: &Doubt, now: &Now) -> Settled {
    let gtid_before = &doubt.before.gtid;
    if !gtid_before.is_empty() && *gtid_before == now.gtid {
        return Settled::NotApplied(format!(
            "no transaction reached the binlog since it was sent: the GTID position is still \
             {gtid_before}, so it committed nothing"
        ));
    }
    let (Some(ddl), Some(now_def)) = (&doubt.ddl, &now.definition) else {
        return Settled::CannotTell(format!(
            "other transactions reached the binlog since it was sent (GTID position {gtid_before} \
             then, {} now) and a row change does not name its session there",
            now.gtid
        ));
    };
    let table = &ddl.table;
    let (before, after) = (&ddl.definition, now_def);
    let expect = match (ddl.expect, before) {
        // CREATE TABLE IF NOT EXISTS of a table that was there changes nothing.
        (DdlExpect::Creates, Some(_)) => DdlExpect::MayNotChange,
        (e, _) => e,
    };
    match expect {
        DdlExpect::Creates if after.is_some() => {
            Settled::Applied(format!("{table} exists now and did not before"))
        }
        DdlExpect::Creates => Settled::NotApplied(format!("{table} still does not exist")),
        DdlExpect::Drops if before.is_some() && after.is_none() => {
            Settled::Applied(format!("{table} existed before and is gone now"))
        }
        DdlExpect::Drops | DdlExpect::Changes if after == before => Settled::NotApplied(format!(
            "{table}'s definition is still the one before it, which it would have changed"
        )),
        DdlExpect::Changes | DdlExpect::MayNotChange if before.is_some() && after.is_none() => {
            Settled::CannotTell(format!("{table} is gone (dropped by someone else)"))
        }
        DdlExpect::Changes | DdlExpect::MayNotChange if after != before => Settled::Applied(
            format!("{table}'s definition changed from the one before it"),
        ),
        DdlExpect::MayNotChange => Settled::CannotTell(format!(
            "{table}'s definition is the one before it, which this statement may leave unchanged \
             even when it runs"
        )),
        DdlExpect::Drops | DdlExpect::Changes => Settled::CannotTell(format!(
            "{table} is not in the state before it nor in the one it would leave"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doubt(gtid: &str, ddl: Option<(DdlExpect, Option<&str>)>) -> Doubt {
        Doubt {
            connection_id: 7,
            sent_at: 0,
            before: BinlogPoint {
                file: "bin.000001".into(),
                position: 4,
                gtid: gtid.into(),
            },
            ddl: ddl.map(|(expect, def)| DdlBefore {
                table: "`d`.`t`".into(),
                expect,
                definition: def.map(str::to_string),
            }),
            last: false,
        }
    }

    fn now(gtid: &str, def: Option<Option<&str>>) -> Now {
        Now {
            gtid: gtid.into(),
            definition: def.map(|d| d.map(str::to_string)),
        }
    }

    fn target(sql: &str) -> Option<DdlTarget> {
        let r = crate::deploy::review::review(sql, &Default::default());
        ddl_target(&r.statements[0])
    }

    #[test]
    fn a_gtid_position_that_did_not_move_means_not_applied() {
        let s = verdict(&doubt("0-1-5", None), &now("0-1-5", None));
        assert!(matches!(s, Settled::NotApplied(_)), "{s:?}");
    }

    #[test]
    fn a_row_change_with_other_writes_since_cannot_be_told() {
        let s = verdict(&doubt("0-1-5", None), &now("0-1-9", None));
        assert!(
            matches!(&s, Settled::CannotTell(w) if w.contains("0-1-9")),
            "{s:?}"
        );
        assert!(s.describe(3, "look").contains("it may have run"));
    }

    #[test]
    fn an_alter_is_settled_from_the_definition() {
        let d = doubt(
            "0-1-5",
            Some((DdlExpect::Changes, Some("CREATE TABLE t (a int)"))),
        );
        let changed = verdict(
            &d,
            &now("0-1-9", Some(Some("CREATE TABLE t (a int, b int)"))),
        );
        assert!(matches!(changed, Settled::Applied(_)), "{changed:?}");
        let same = verdict(&d, &now("0-1-9", Some(Some("CREATE TABLE t (a int)"))));
        assert!(matches!(same, Settled::NotApplied(_)), "{same:?}");
        let gone = verdict(&d, &now("0-1-9", Some(None)));
        assert!(matches!(gone, Settled::CannotTell(_)), "{gone:?}");
    }

    #[test]
    fn an_alter_that_may_change_nothing_is_never_called_not_applied_from_the_definition() {
        let d = doubt(
            "0-1-5",
            Some((DdlExpect::MayNotChange, Some("CREATE TABLE t (a int)"))),
        );
        let same = verdict(&d, &now("0-1-9", Some(Some("CREATE TABLE t (a int)"))));
        assert!(matches!(same, Settled::CannotTell(_)), "{same:?}");
        // Only an unmoved GTID position can say so.
        let still = verdict(&d, &now("0-1-5", Some(Some("CREATE TABLE t (a int)"))));
        assert!(matches!(still, Settled::NotApplied(_)), "{still:?}");
    }

    #[test]
    fn create_and_drop_are_settled_from_existence() {
        let create = doubt("0-1-5", Some((DdlExpect::Creates, None)));
        let made = verdict(&create, &now("0-1-6", Some(Some("CREATE TABLE t (a int)"))));
        assert!(matches!(made, Settled::Applied(_)), "{made:?}");
        let absent = verdict(&create, &now("0-1-6", Some(None)));
        assert!(matches!(absent, Settled::NotApplied(_)), "{absent:?}");
        let drop = doubt(
            "0-1-5",
            Some((DdlExpect::Drops, Some("CREATE TABLE t (a int)"))),
        );
        let dropped = verdict(&drop, &now("0-1-6", Some(None)));
        assert!(matches!(dropped, Settled::Applied(_)), "{dropped:?}");
        let kept = verdict(&drop, &now("0-1-6", Some(Some("CREATE TABLE t (a int)"))));
        assert!(matches!(kept, Settled::NotApplied(_)), "{kept:?}");
    }

    #[test]
    fn ddl_targets_come_from_the_parsed_statement() {
        let t = target("ALTER TABLE d.t ADD COLUMN b INT;\n").unwrap();
        assert_eq!(
            (t.name, t.expect),
            (vec!["d".into(), "t".into()], DdlExpect::Changes)
        );
        let t = target("ALTER TABLE t MODIFY COLUMN a BIGINT;\n").unwrap();
        assert_eq!(
            (t.name, t.expect),
            (vec!["t".into()], DdlExpect::MayNotChange)
        );
        assert_eq!(
            target("CREATE TABLE t (a INT);\n").unwrap().expect,
            DdlExpect::Creates
        );
        assert_eq!(target("DROP TABLE t;\n").unwrap().expect, DdlExpect::Drops);
        assert_eq!(
            target("ALTER TABLE t RENAME TO u;\n").unwrap().expect,
            DdlExpect::Drops
        );
        assert_eq!(target("UPDATE t SET a = 1 WHERE id = 2;\n"), None);
        assert_eq!(target("DROP TABLE t, u;\n"), None);
    }
}
