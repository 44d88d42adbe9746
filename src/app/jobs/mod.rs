//! The Jobs pane's state and keys: the backup history with live progress, the configured jobs to
//! start, and the cancel confirmation. No I/O: keys produce `JobsRequest`s for the backend, and
//! the backend hands back `JobRow`s read from the history.

use crossterm::event::{KeyCode, KeyEvent};

pub use crate::backend::jobs::JobsEvent;
use crate::jobs::JobState;
pub use crate::jobs::{JobRow, JobsRequest};

#[derive(Debug, Clone, Default)]
pub struct JobsPane {
    pub rows: Vec<JobRow>,
    /// Names of the configured `[[backup]]` jobs.
    pub jobs: Vec<String>,
    /// Index into `rows`.
    pub selected: usize,
    /// Index into `jobs`: the one `s` starts.
    pub job_choice: usize,
    /// A cancel waiting for `y`.
    pub confirm_cancel: Option<i64>,
    /// The last outcome or refusal, shown on the bottom line.
    pub status: Option<String>,
}

impl JobsPane {
    pub fn new(jobs: Vec<String>) -> JobsPane {
        JobsPane {
            jobs,
            ..JobsPane::default()
        }
    }

    /// Replace the rows, keeping the same backup selected.
    pub fn set_rows(&mut self, rows: Vec<JobRow>) {
        let keep = self.selected().map(|r| r.record.id);
        self.rows = rows;
        self.selected = keep
            .and_then(|id| self.rows.iter().position(|r| r.record.id == id))
            .unwrap_or(0)
            .min(self.rows.len().saturating_sub(1));
    }

    /// Take in what the jobs backend reports.
    pub fn on_event(&mut self, event: JobsEvent) {
        match event {
            JobsEvent::Rows(rows) => self.set_rows(rows),
            JobsEvent::Done(text) => self.status = Some(text),
        }
    }

    pub fn selected(&self) -> Option<&JobRow> {
        self.rows.get(self.selected)
    }

    /// The running job whose progress bar is shown: the selected one if it runs, else the newest
    /// running one.
    pub fn focus_running(&self) -> Option<&JobRow> {
        self.selected()
            .filter(|r| r.record.state == JobState::Running)
            .or_else(|| {
                self.rows
                    .iter()
                    .find(|r| r.record.state == JobState::Running)
            })
    }

    /// Handle a key; returns whether it was consumed and what to ask the backend for.
    pub fn key(&mut self, key: KeyEvent) -> (bool, Option<JobsRequest>) {
        if let Some(id) = self.confirm_cancel.take() {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.status = Some(format!("cancelling backup {id}..."));
                    (true, Some(JobsRequest::Cancel(id)))
                }
                _ => {
                    self.status = Some(format!("backup {id} left running"));
                    (true, None)
                }
            };
        }
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                if self.selected + 1 < self.rows.len() {
                    self.selected += 1;
                }
                (true, None)
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                (true, None)
            }
            KeyCode::Tab if !self.jobs.is_empty() => {
                self.job_choice = (self.job_choice + 1) % self.jobs.len();
                (true, None)
            }
            KeyCode::Char('s') => match self.jobs.get(self.job_choice) {
                Some(job) => {
                    self.status = Some(format!("starting job `{job}`..."));
                    (true, Some(JobsRequest::Start(job.clone())))
                }
                None => {
                    self.status = Some("no [[backup]] jobs in the config".into());
                    (true, None)
                }
            },
            KeyCode::Char('c') => {
                match self.selected() {
                    Some(r) if r.record.state == JobState::Running => {
                        self.confirm_cancel = Some(r.record.id);
                    }
                    Some(r) => {
                        self.status = Some(format!(
                            "backup {} is {}; only a running one can be cancelled",
                            r.record.id,
                            r.record.state.as_str()
                        ))
                    }
                    None => {}
                }
                (true, None)
            }
            KeyCode::Char('v') => match self.selected() {
                Some(r) if r.record.state == JobState::Succeeded => {
                    let id = r.record.id;
                    self.status = Some(format!("verifying backup {id} in a sandbox..."));
                    (true, Some(JobsRequest::Verify(id)))
                }
                Some(r) => {
                    self.status = Some(format!(
                        "backup {} is {}; only a succeeded one can be verified",
                        r.record.id,
                        r.record.state.as_str()
                    ));
                    (true, None)
                }
                None => (true, None),
            },
            _ => (false, None),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
