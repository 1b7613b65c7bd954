//! `sync_runs`: one row per run and stream, opened when the stream starts and closed with its
//! outcome, rows, requests, error and warnings.

use anyhow::Context;
use rusqlite::params;

use super::{Warehouse, now_iso};

/// How a stream's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every batch stored.
    Ok,
    /// Ended with an error; what was stored before it stays.
    Failed,
}

impl RunOutcome {
    /// The value in the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed => "failed",
        }
    }
}

/// The closing figures of a stream's run.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// Rows written (changed or new).
    pub rows: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// The error, when it failed.
    pub error: Option<String>,
    /// Warnings raised on the way.
    pub warnings: Vec<String>,
}

impl Warehouse {
    /// Marks runs of `connector` still open from a process that died as interrupted. Call it
    /// only while holding the connector's run lock.
    pub fn close_abandoned_runs(&self, connector: &str) -> anyhow::Result<usize> {
        let closed = self.conn.execute(
            "UPDATE sync_runs SET outcome = 'interrupted', finished_at = ?2,
                    error = 'the process stopped before the run ended'
             WHERE connector = ?1 AND outcome = 'running'",
            params![connector, now_iso()],
        )?;
        Ok(closed)
    }

    /// Opens a run row; returns its id.
    pub fn start_run(&self, run_id: i64, connector: &str, stream: &str) -> anyhow::Result<i64> {
        self.conn
            .execute(
                "INSERT INTO sync_runs (run_id, connector, stream, started_at, outcome)
                 VALUES (?1, ?2, ?3, ?4, 'running')",
                params![run_id, connector, stream, now_iso()],
            )
            .context("recording the start of a run")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Closes a run row with its outcome.
    pub fn finish_run(
        &self,
        id: i64,
        outcome: RunOutcome,
        record: &RunRecord,
    ) -> anyhow::Result<()> {
        let warnings = (!record.warnings.is_empty()).then(|| record.warnings.join("\n"));
        self.conn
            .execute(
                "UPDATE sync_runs SET finished_at = ?2, outcome = ?3, rows = ?4, requests = ?5,
                        error = ?6, warnings = ?7
                 WHERE id = ?1",
                params![
                    id,
                    now_iso(),
                    outcome.as_str(),
                    record.rows as i64,
                    record.requests as i64,
                    record.error,
                    warnings
                ],
            )
            .context("recording the end of a run")?;
        Ok(())
    }
}
