//! The deploy flow of the Jobs pane, as state and keys (no I/O): type a file, see its review,
//! confirm by typing the instance name, watch each statement. Requests go to the backend as
//! `DeployRequest`s; its `DeployEvent`s move the flow on. `JobsPane` holds one `DeployFlow`
//! (opened by `d`) and forwards its input keys and deploy events.

use std::path::PathBuf;

use crate::app::Action;
use crate::backend::deploy::task::{DeployEvent, DeployRequest};
use crate::deploy::review::{Finding, Severity};
use crate::readonly::{refusal, ReadOnlyBy, WriteAction};

#[derive(Debug, Clone, PartialEq)]
pub enum DeployStage {
    /// Typing the change file's path.
    PickFile {
        input: String,
    },
    Reviewing {
        file: PathBuf,
    },
    Reviewed {
        file: PathBuf,
        statements: usize,
        findings: Vec<Finding>,
    },
    /// Typing the instance name; the apply starts only when it matches.
    Confirm {
        file: PathBuf,
        typed: String,
    },
    Running {
        file: PathBuf,
        done: usize,
        total: usize,
        /// One line per finished statement, newest last.
        lines: Vec<String>,
    },
    Finished {
        deploy_id: Option<i64>,
        ok: bool,
        message: String,
        lines: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeployFlow {
    pub instance: String,
    /// What had turned read-only on when the flow opened (all false when writes are allowed).
    pub read_only: ReadOnlyBy,
    pub stage: DeployStage,
}

impl DeployFlow {
    pub fn new(instance: &str, read_only: ReadOnlyBy) -> Self {
        DeployFlow {
            instance: instance.to_string(),
            read_only,
            stage: DeployStage::PickFile {
                input: String::new(),
            },
        }
    }

    fn errors(findings: &[Finding]) -> usize {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// A key; returns the request to send, if any, or an error to show.
    pub fn on_key(&mut self, action: &Action) -> Result<Option<DeployRequest>, String> {
        let instance = self.instance.clone();
        match (&mut self.stage, action) {
            (DeployStage::PickFile { input }, Action::InputChar(c)) => input.push(*c),
            (DeployStage::PickFile { input }, Action::InputBackspace) => {
                input.pop();
            }
            (DeployStage::PickFile { input }, Action::Confirm) if !input.trim().is_empty() => {
                let file = PathBuf::from(input.trim());
                self.stage = DeployStage::Reviewing { file: file.clone() };
                return Ok(Some(DeployRequest::Review { instance, file }));
            }
            (DeployStage::Reviewed { file, findings, .. }, Action::Confirm) => {
                if self.read_only.any() {
                    return Err(refusal(WriteAction::DeployApply, self.read_only));
                }
                let errors = Self::errors(findings);
                if errors > 0 {
                    return Err(format!("refused: the review has {errors} error(s)"));
                }
                self.stage = DeployStage::Confirm {
                    file: file.clone(),
                    typed: String::new(),
                };
            }
            (DeployStage::Confirm { typed, .. }, Action::InputChar(c)) => typed.push(*c),
            (DeployStage::Confirm { typed, .. }, Action::InputBackspace) => {
                typed.pop();
            }
            (DeployStage::Confirm { file, typed }, Action::Confirm) => {
                if *typed != instance {
                    return Err(format!("type `{instance}` exactly to deploy"));
                }
                let file = file.clone();
                self.stage = DeployStage::Running {
                    file: file.clone(),
                    done: 0,
                    total: 0,
                    lines: Vec::new(),
                };
                return Ok(Some(DeployRequest::Apply {
                    instance,
                    file,
                    read_only: self.read_only.any(),
                }));
            }
            _ => {}
        }
        Ok(None)
    }

    /// A backend event for this flow.
    pub fn on_event(&mut self, event: DeployEvent) {
        match (&mut self.stage, event) {
            (
                DeployStage::Reviewing { file },
                DeployEvent::Reviewed {
                    statements,
                    findings,
                    ..
                },
            ) => {
                self.stage = DeployStage::Reviewed {
                    file: file.clone(),
                    statements,
                    findings,
                };
            }
            (
                DeployStage::Running {
                    done, total, lines, ..
                },
                DeployEvent::Progress {
                    done: d,
                    total: t,
                    index,
                    line,
                    affected_rows,
                    error,
                },
            ) => {
                *done = d;
                *total = t;
                lines.push(match error {
                    None => format!("statement {index} (line {line}): {affected_rows} row(s)"),
                    Some(e) => format!("statement {index} (line {line}) FAILED: {e}"),
                });
            }
            (
                stage,
                DeployEvent::Finished {
                    deploy_id,
                    ok,
                    message,
                },
            ) => {
                let lines = match stage {
                    DeployStage::Running { lines, .. } => std::mem::take(lines),
                    _ => Vec::new(),
                };
                self.stage = DeployStage::Finished {
                    deploy_id: Some(deploy_id),
                    ok,
                    message,
                    lines,
                };
            }
            (stage, DeployEvent::Failed(message)) => {
                let lines = match stage {
                    DeployStage::Running { lines, .. } => std::mem::take(lines),
                    _ => Vec::new(),
                };
                self.stage = DeployStage::Finished {
                    deploy_id: None,
                    ok: false,
                    message,
                    lines,
                };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(flow: &mut DeployFlow, text: &str) {
        for c in text.chars() {
            flow.on_key(&Action::InputChar(c)).unwrap();
        }
    }

    #[test]
    fn review_then_typed_name_then_progress() {
        let mut flow = DeployFlow::new("primary", ReadOnlyBy::default());
        typed(&mut flow, "/tmp/c.sql");
        let req = flow.on_key(&Action::Confirm).unwrap();
        assert_eq!(
            req,
            Some(DeployRequest::Review {
                instance: "primary".into(),
                file: "/tmp/c.sql".into()
            })
        );
        let r = crate::deploy::review::review(
            "UPDATE t SET a = 1 WHERE id = 1;\n",
            &Default::default(),
        );
        flow.on_event(DeployEvent::Reviewed {
            file: "/tmp/c.sql".into(),
            statements: 1,
            findings: r.findings,
        });
        assert_eq!(flow.on_key(&Action::Confirm), Ok(None));
        typed(&mut flow, "prim");
        assert!(flow
            .on_key(&Action::Confirm)
            .unwrap_err()
            .contains("type `primary`"));
        typed(&mut flow, "ary");
        let req = flow.on_key(&Action::Confirm).unwrap();
        assert!(matches!(
            req,
            Some(DeployRequest::Apply {
                read_only: false,
                ..
            })
        ));
        flow.on_event(DeployEvent::Progress {
            done: 1,
            total: 1,
            index: 1,
            line: 1,
            affected_rows: 1,
            error: None,
        });
        flow.on_event(DeployEvent::Finished {
            deploy_id: 7,
            ok: true,
            message: "applied 1 statement(s)".into(),
        });
        match &flow.stage {
            DeployStage::Finished {
                deploy_id,
                ok,
                lines,
                ..
            } => {
                assert_eq!((*deploy_id, *ok, lines.len()), (Some(7), true, 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_and_read_only_refuse_before_the_name_is_asked() {
        let r = crate::deploy::review::review("DELETE FROM t;\n", &Default::default());
        let mut flow = DeployFlow::new("primary", ReadOnlyBy::default());
        flow.stage = DeployStage::Reviewed {
            file: "c.sql".into(),
            statements: 1,
            findings: r.findings,
        };
        assert!(flow
            .on_key(&Action::Confirm)
            .unwrap_err()
            .contains("1 error"));
        let by = ReadOnlyBy {
            flag: true,
            ..Default::default()
        };
        let mut ro = DeployFlow::new("primary", by);
        ro.stage = DeployStage::Reviewed {
            file: "c.sql".into(),
            statements: 1,
            findings: Vec::new(),
        };
        assert_eq!(
            ro.on_key(&Action::Confirm).unwrap_err(),
            refusal(WriteAction::DeployApply, by)
        );
    }
}
