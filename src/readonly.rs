//! Read-only mode's one list: every action arkc can take that writes to a server or to a backup
//! target. Three dispatch points classify what they are about to do against it and refuse while
//! read-only is on: the console's `app::update` (every `Effect` it returns), the backend's command
//! entry (`BackendCommand::write_request`) and the CLI's `cli::run` (`Command::write_request`).
//! Those classifications match every variant without a wildcard, so a new command or key cannot
//! be added without saying whether it writes. The panes' own checks stay: they
//! refuse earlier (before a prompt), in `refusal`'s words too (`PaneCtx::refuse_write`).

/// Every kind of write arkc performs. `ALL` lists them; a test keeps it complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteAction {
    /// Binlog pane: the rollback (or forward) SQL applied to the instance.
    FlashbackApply,
    /// `arkc flashback --execute`.
    FlashbackExecute,
    /// KILL CONNECTION of one session (Processlist, Locks' root blocker, `arkc kill`).
    Kill,
    /// KILL QUERY of one session.
    KillQuery,
    /// Several sessions killed at once (Processlist's filtered kill, `arkc kill ID ID ...`).
    BulkKill,
    /// A SQL change file applied (`arkc deploy apply`, the Jobs pane's deploy).
    DeployApply,
    /// A deploy rolled back by flashback (`arkc deploy undo`).
    DeployUndo,
    /// A new server created and registered (`arkc deploy instance`).
    DeployInstance,
    /// A deployed server stopped and unregistered (`arkc deploy remove`).
    DeployRemove,
    /// A backup written to its target folder (`arkc backup run`, the Jobs pane, schedules).
    BackupRun,
    /// Backups deleted from their target by retention (`arkc backup prune`).
    BackupPrune,
}

/// What a write changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTarget {
    Server,
    BackupTarget,
}

impl WriteAction {
    pub const ALL: [WriteAction; 11] = [
        WriteAction::FlashbackApply,
        WriteAction::FlashbackExecute,
        WriteAction::Kill,
        WriteAction::KillQuery,
        WriteAction::BulkKill,
        WriteAction::DeployApply,
        WriteAction::DeployUndo,
        WriteAction::DeployInstance,
        WriteAction::DeployRemove,
        WriteAction::BackupRun,
        WriteAction::BackupPrune,
    ];

    /// The name used in messages and in the audit trail's `action` field.
    pub fn name(self) -> &'static str {
        match self {
            WriteAction::FlashbackApply => "flashback apply",
            WriteAction::FlashbackExecute => "flashback execute",
            WriteAction::Kill => "kill",
            WriteAction::KillQuery => "kill query",
            WriteAction::BulkKill => "bulk kill",
            WriteAction::DeployApply => "deploy apply",
            WriteAction::DeployUndo => "deploy undo",
            WriteAction::DeployInstance => "deploy instance",
            WriteAction::DeployRemove => "deploy remove",
            WriteAction::BackupRun => "backup run",
            WriteAction::BackupPrune => "backup prune",
        }
    }

    pub fn target(self) -> WriteTarget {
        match self {
            WriteAction::BackupRun | WriteAction::BackupPrune => WriteTarget::BackupTarget,
            _ => WriteTarget::Server,
        }
    }
}

/// One write about to be dispatched: what, and on which instance (when the request names one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub action: WriteAction,
    pub instance: String,
}

impl WriteRequest {
    pub fn new(action: WriteAction, instance: impl Into<String>) -> WriteRequest {
        WriteRequest {
            action,
            instance: instance.into(),
        }
    }
}

/// What turned read-only on, so a refusal can say how to lift it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOnlyBy {
    /// `--read-only` on the command line.
    pub flag: bool,
    /// `read_only = true` in the config file.
    pub config: bool,
    /// `:readonly on` in the console.
    pub palette: bool,
}

impl ReadOnlyBy {
    pub fn any(self) -> bool {
        self.flag || self.config || self.palette
    }

    fn causes(self) -> Vec<&'static str> {
        let mut why = Vec::new();
        if self.flag {
            why.push("started with --read-only");
        }
        if self.config {
            why.push("read_only = true in the config");
        }
        if self.palette {
            why.push(":readonly on");
        }
        why
    }

    fn remedies(self) -> Vec<&'static str> {
        let mut how = Vec::new();
        if self.flag {
            how.push("run arkc without --read-only");
        }
        if self.config {
            how.push("set read_only = false in the config");
        }
        if self.palette && !self.flag && !self.config {
            how.push("type :readonly off");
        }
        how
    }
}

impl ReadOnlyBy {
    /// (what turned read-only on, how to turn it off), for messages.
    pub fn explain(self) -> (String, String) {
        let mut causes = self.causes();
        if causes.is_empty() {
            causes.push("read-only mode");
        }
        let mut remedies = self.remedies();
        if remedies.is_empty() {
            remedies.push("turn read-only off");
        }
        (causes.join(", "), remedies.join(" and "))
    }
}

/// The refusal of `action`: what was refused, why, that nothing was done, and how to allow writes.
pub fn refusal(action: WriteAction, by: ReadOnlyBy) -> String {
    let (causes, remedies) = by.explain();
    format!(
        "{} refused: arkc is read-only ({causes}); nothing was done. To allow writes: {remedies}",
        action.name()
    )
}

/// Record a refusal: in the log and as a `refused` line of the audit trail, so an attempt to
/// write in read-only mode is on record like the writes themselves.
pub fn log_refusal(request: &WriteRequest, message: &str) {
    tracing::warn!(target: "arkc::readonly", action = request.action.name(),
        instance = %request.instance, "{message}");
    crate::audit::record(crate::audit::Action {
        instance: &request.instance,
        action: request.action.name(),
        result: "refused",
        message,
        ..Default::default()
    });
}

/// For in-process tests that reach an audited write or refusal: a temp data dir in
/// `ARKC_DATA_DIR`, so nothing lands in the developer's own trail (nextest runs each test in its
/// own process, so the variable is the test's alone).
#[cfg(test)]
pub(crate) fn test_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::env::set_var("ARKC_DATA_DIR", dir.path());
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_own_name() {
        let mut names: Vec<&str> = WriteAction::ALL.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), WriteAction::ALL.len());
    }

    #[test]
    fn backups_write_to_their_target_and_the_rest_to_a_server() {
        for action in WriteAction::ALL {
            let backup = matches!(action, WriteAction::BackupRun | WriteAction::BackupPrune);
            assert_eq!(
                action.target() == WriteTarget::BackupTarget,
                backup,
                "{action:?}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_action_the_cause_and_the_way_out() {
        let flag = ReadOnlyBy {
            flag: true,
            ..Default::default()
        };
        let text = refusal(WriteAction::Kill, flag);
        assert!(text.starts_with("kill refused: arkc is read-only (started with --read-only)"));
        assert!(text.contains("nothing was done"), "{text}");
        assert!(text.ends_with("run arkc without --read-only"), "{text}");

        let palette = ReadOnlyBy {
            palette: true,
            ..Default::default()
        };
        let text = refusal(WriteAction::FlashbackApply, palette);
        assert!(text.contains("flashback apply refused") && text.contains("(:readonly on)"));
        assert!(text.ends_with("type :readonly off"), "{text}");

        // `:readonly off` cannot lift a read-only the flag or the config asked for.
        let both = ReadOnlyBy {
            config: true,
            palette: true,
            ..Default::default()
        };
        let text = refusal(WriteAction::BackupRun, both);
        assert!(text.contains("read_only = true in the config, :readonly on"));
        assert!(
            text.ends_with("set read_only = false in the config"),
            "{text}"
        );
    }
}
