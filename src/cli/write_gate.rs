//! Which subcommands write (`crate::readonly`'s list): `run` refuses them in read-only mode
//! before any of them starts. Every command is named: a new one does not compile until it is
//! classified here.

use super::backup::BackupCommand;
use super::deploy::DeployCommand;
use super::{BinlogCommand, Command, ConfigCommand};
use crate::readonly::{WriteAction, WriteRequest};

impl Command {
    /// The write this command would perform, if it writes to a server or a backup target.
    pub fn write_request(&self) -> Option<WriteRequest> {
        match self {
            Command::Kill(args) => {
                let action = match (args.ids.len() > 1, args.query) {
                    (true, _) => WriteAction::BulkKill,
                    (false, true) => WriteAction::KillQuery,
                    (false, false) => WriteAction::Kill,
                };
                Some(WriteRequest::new(action, args.instance.clone()))
            }
            Command::Flashback(args) if args.execute => {
                let source = &args.source;
                let instance = source.instance.clone().unwrap_or_else(|| {
                    // A URL may hold a password: only its host part is kept.
                    source
                        .url
                        .as_deref()
                        .and_then(|u| u.rsplit('@').next())
                        .unwrap_or_default()
                        .to_string()
                });
                Some(WriteRequest::new(WriteAction::FlashbackExecute, instance))
            }
            // Without --execute a flashback prints SQL.
            Command::Flashback(_) => None,
            Command::Backup(cmd) => backup_write(cmd),
            Command::Deploy(cmd) => deploy_write(cmd),
            // The console refuses at its own dispatch (`app::update`, the backend's entry).
            Command::Tui { .. } => None,
            // The demo writes only to the sandbox it starts itself.
            Command::Demo(_) => None,
            // Carries out a run `backup run` or the console already let through.
            Command::BackupSupervise { .. } => None,
            // Reads, and files of arkc's own (a recording, a starter config, completions).
            Command::Config(ConfigCommand::Check { .. } | ConfigCommand::Init { .. })
            | Command::Health(_)
            | Command::Record(_)
            | Command::Processlist(_)
            | Command::Locks(_)
            | Command::Inspect(_)
            | Command::Digest(_)
            | Command::Binlog(BinlogCommand::Events(_) | BinlogCommand::List(_))
            | Command::Audit(_)
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::CompleteInstances => None,
        }
    }
}

fn backup_write(cmd: &BackupCommand) -> Option<WriteRequest> {
    match cmd {
        BackupCommand::Run(a) => {
            let what = a.instance.clone().or_else(|| a.job.clone());
            Some(WriteRequest::new(
                WriteAction::BackupRun,
                what.unwrap_or_default(),
            ))
        }
        BackupCommand::Prune { dry_run: false } => {
            Some(WriteRequest::new(WriteAction::BackupPrune, ""))
        }
        // Verify restores into a throwaway sandbox; cancel stops a write under way.
        BackupCommand::Prune { dry_run: true }
        | BackupCommand::List(_)
        | BackupCommand::Verify { .. }
        | BackupCommand::Cancel { .. } => None,
    }
}

fn deploy_write(cmd: &DeployCommand) -> Option<WriteRequest> {
    match cmd {
        DeployCommand::Apply(a) => Some(WriteRequest::new(
            WriteAction::DeployApply,
            a.instance.clone(),
        )),
        DeployCommand::Undo(_) => Some(WriteRequest::new(WriteAction::DeployUndo, "")),
        // Settling reads the server and writes only the local history.
        DeployCommand::Settle(_) => None,
        DeployCommand::Instance(a) => Some(WriteRequest::new(
            WriteAction::DeployInstance,
            a.name.clone(),
        )),
        DeployCommand::Remove(a) => {
            Some(WriteRequest::new(WriteAction::DeployRemove, a.name.clone()))
        }
        DeployCommand::Review(_) | DeployCommand::List(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn classify(line: &str) -> Option<WriteAction> {
        let args = std::iter::once("arkc").chain(line.split_whitespace());
        let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{line}: {e}"));
        cli.command
            .and_then(|c| c.write_request())
            .map(|w| w.action)
    }

    /// One command line per write of the list, and what it must be classified as.
    const WRITES: &[(&str, WriteAction)] = &[
        ("kill --instance db 7", WriteAction::Kill),
        ("kill --instance db --query 7", WriteAction::KillQuery),
        ("kill --instance db 7 8", WriteAction::BulkKill),
        (
            "flashback --instance db --execute --yes",
            WriteAction::FlashbackExecute,
        ),
        ("deploy apply c.sql --instance db", WriteAction::DeployApply),
        ("deploy undo 3 --yes", WriteAction::DeployUndo),
        (
            "deploy instance --name n --port 3400 --datadir /tmp/n",
            WriteAction::DeployInstance,
        ),
        ("deploy remove n", WriteAction::DeployRemove),
        (
            "backup run --instance db --kind dump --to /tmp/b",
            WriteAction::BackupRun,
        ),
        ("backup prune", WriteAction::BackupPrune),
    ];

    #[test]
    fn every_write_subcommand_is_classified_as_its_action() {
        for (line, action) in WRITES {
            assert_eq!(classify(line), Some(*action), "{line}");
        }
    }

    /// Every action of the list but the console's own apply has a subcommand.
    #[test]
    fn the_cli_covers_the_list() {
        let covered: HashSet<WriteAction> = WRITES.iter().map(|(_, a)| *a).collect();
        for action in crate::readonly::WriteAction::ALL {
            assert!(
                covered.contains(&action) || action == WriteAction::FlashbackApply,
                "{action:?} has no subcommand in the list"
            );
        }
    }

    #[test]
    fn reads_and_dry_runs_are_not_writes() {
        for line in [
            "flashback --instance db",
            "backup prune --dry-run",
            "backup verify 1",
            "backup cancel 1",
            "backup list",
            "deploy review c.sql",
            "deploy list",
            "processlist --instance db",
            "audit",
        ] {
            assert_eq!(classify(line), None, "{line}");
        }
    }

    #[test]
    fn a_flashback_url_names_its_host_not_its_password() {
        let cli = Cli::try_parse_from([
            "arkc",
            "flashback",
            "--url",
            "mysql://u:s3cret@db.example:3306",
            "--execute",
        ])
        .unwrap();
        let write = cli.command.and_then(|c| c.write_request()).unwrap();
        assert_eq!(write.instance, "db.example:3306");
    }
}
