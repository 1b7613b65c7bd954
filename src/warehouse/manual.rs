//! Manual inputs and notes: the rows `kpisync record`, `kpisync import` and `kpisync note`
//! write. Entries are checked before they get here (the KPI engine's manual module knows the
//! metrics); this module only stores them, a whole import in one transaction.

use anyhow::Context;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Warehouse, now_iso};

/// The `source` of manual entries in `metrics`.
pub const MANUAL_SOURCE: &str = "manual";

/// One checked manual entry, ready for the `metrics` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualEntry {
    /// A manual metric (`marketing_spend`).
    pub metric: String,
    /// `day`, `week` or `month`.
    pub grain: String,
    /// First day of the period, ISO (`2026-11-02`).
    pub period_start: String,
    /// `''`, or `network=instagram` for the social metrics.
    pub dimension: String,
    /// The number, in major units for money.
    pub value: f64,
    /// `count`, or the currency code of money.
    pub unit: String,
}

/// What storing one entry did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stored {
    /// The value the entry replaced; `None` for a new entry.
    pub replaced: Option<f64>,
}

/// What `set_note` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteChange {
    /// There was no note for this KPI and period.
    Added,
    /// An earlier note was replaced.
    Replaced,
    /// The note was removed (empty text).
    Removed,
    /// Empty text and no note to remove.
    NothingToRemove,
}

impl Warehouse {
    /// Stores `entries` in one transaction: all of them or, on an error, none. An entry for a
    /// metric, period and dimension already stored replaces it; within `entries` the later one
    /// wins.
    pub fn record_manual(&mut self, entries: &[ManualEntry]) -> anyhow::Result<Vec<Stored>> {
        let recorded_at = now_iso();
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting to store manual entries")?;
        let mut stored = Vec::with_capacity(entries.len());
        {
            let mut previous = transaction.prepare(
                "SELECT value FROM metrics WHERE source = ?1 AND metric = ?2 AND grain = ?3
                 AND period_start = ?4 AND dimension = ?5",
            )?;
            let mut upsert = transaction.prepare(
                "INSERT INTO metrics
                     (source, metric, grain, period_start, dimension, value, unit, flags,
                      synced_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8)
                 ON CONFLICT (source, metric, grain, period_start, dimension)
                 DO UPDATE SET value = excluded.value, unit = excluded.unit, flags = '',
                               synced_at = excluded.synced_at",
            )?;
            for entry in entries {
                let key = params![
                    MANUAL_SOURCE,
                    entry.metric,
                    entry.grain,
                    entry.period_start,
                    entry.dimension
                ];
                let replaced: Option<Option<f64>> =
                    previous.query_row(key, |row| row.get(0)).optional()?;
                upsert
                    .execute(params![
                        MANUAL_SOURCE,
                        entry.metric,
                        entry.grain,
                        entry.period_start,
                        entry.dimension,
                        entry.value,
                        entry.unit,
                        recorded_at
                    ])
                    .with_context(|| {
                        format!(
                            "storing {} for {} {}",
                            entry.metric, entry.grain, entry.period_start
                        )
                    })?;
                stored.push(Stored {
                    replaced: replaced.flatten(),
                });
            }
        }
        transaction
            .commit()
            .context("committing the manual entries")?;
        Ok(stored)
    }

    /// Stores the note of `kpi` for a period, replacing an earlier one; empty `text` removes
    /// the note.
    pub fn set_note(
        &mut self,
        kpi: &str,
        grain: &str,
        period_start: &str,
        text: &str,
    ) -> anyhow::Result<NoteChange> {
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting to store the note")?;
        let existed = transaction
            .query_row(
                "SELECT 1 FROM notes WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3",
                params![kpi, grain, period_start],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        let change = if text.is_empty() {
            transaction.execute(
                "DELETE FROM notes WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3",
                params![kpi, grain, period_start],
            )?;
            if existed {
                NoteChange::Removed
            } else {
                NoteChange::NothingToRemove
            }
        } else {
            transaction.execute(
                "INSERT INTO notes (kpi, grain, period_start, text, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (kpi, grain, period_start)
                 DO UPDATE SET text = excluded.text, created_at = excluded.created_at",
                params![kpi, grain, period_start, text, now_iso()],
            )?;
            if existed {
                NoteChange::Replaced
            } else {
                NoteChange::Added
            }
        };
        transaction.commit().context("committing the note")?;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(metric: &str, grain: &str, value: f64) -> ManualEntry {
        ManualEntry {
            metric: metric.to_owned(),
            grain: grain.to_owned(),
            period_start: "2026-11-02".to_owned(),
            dimension: String::new(),
            value,
            unit: "count".to_owned(),
        }
    }

    fn stored(warehouse: &Warehouse) -> Vec<(String, f64)> {
        let mut statement = warehouse
            .conn()
            .prepare("SELECT metric, value FROM metrics WHERE source = 'manual' ORDER BY metric")
            .unwrap();
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn a_batch_is_stored_whole_or_not_at_all() {
        let mut warehouse = Warehouse::open_in_memory().unwrap();
        let first = warehouse
            .record_manual(&[entry("demos", "week", 4.0), entry("demos", "week", 5.0)])
            .unwrap();
        // Within one batch the later entry wins, and says what it replaced.
        assert_eq!(first[0].replaced, None);
        assert_eq!(first[1].replaced, Some(4.0));
        assert_eq!(stored(&warehouse), [("demos".to_owned(), 5.0)]);

        // The table refuses the second entry's grain: the first is not kept either.
        let error = warehouse
            .record_manual(&[
                entry("contracts_signed", "week", 2.0),
                entry("contracts_signed", "year", 9.0),
            ])
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("contracts_signed for year"),
            "{error:#}"
        );
        assert_eq!(stored(&warehouse), [("demos".to_owned(), 5.0)]);
    }

    #[test]
    fn a_note_is_added_replaced_and_removed() {
        let mut warehouse = Warehouse::open_in_memory().unwrap();
        let mut note = |text: &str| {
            warehouse
                .set_note("revenue.net", "week", "2026-11-02", text)
                .unwrap()
        };
        assert_eq!(note("first"), NoteChange::Added);
        assert_eq!(note("second"), NoteChange::Replaced);
        assert_eq!(note(""), NoteChange::Removed);
        assert_eq!(note(""), NoteChange::NothingToRemove);
    }
}
