//! The warehouse: the one place that writes the SQLite file. It opens the file in WAL mode, runs
//! the migrations, creates the connectors' tables from their descriptions, and stores batches
//! (rows, metrics and the stream's cursor) in transactions that end on a batch boundary, so a
//! crash leaves either the whole batch or none of it, and its cursor with it.

mod manual;
mod runs;
mod tables;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use connectors::{Batch, Cursor, TableSpec};
use rusqlite::{Connection, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};

pub use manual::{MANUAL_SOURCE, ManualEntry, NoteChange};
pub use runs::{RunOutcome, RunRecord};

const MIGRATION_STEPS: &[M<'static>] = &[
    M::up(include_str!("migrations/001_core.sql")),
    M::up(include_str!("migrations/002_metric_flags.sql")),
    M::up(include_str!("migrations/003_report_views.sql")),
    M::up(include_str!("migrations/004_kpi_state.sql")),
];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(MIGRATION_STEPS);

/// The open warehouse. There is one per process; the daemon and a one-shot `kpisync sync` in
/// another process take turns through SQLite's busy timeout.
pub struct Warehouse {
    conn: Connection,
    /// The upsert statement of each connector table, by table name, built once.
    upserts: HashMap<&'static str, String>,
}

/// The page size of a new warehouse file. Stripe objects are kept whole in `raw` (about 2.5 KB
/// for a charge): a 4 KiB page holds one such row and wastes the rest, a 16 KiB page holds five.
/// Fewer, fuller pages mean fewer page writes per stored row and fewer pages to read back.
/// Existing files keep the size they were created with.
const PAGE_SIZE: u32 = 16_384;

/// Rows that end a transaction of [`Warehouse::write_batches`]. Each commit rewrites every page
/// the transaction touched, and the primary-key indexes of the connector tables take ids in
/// random order, so the more rows per commit, the fewer times each index page is written.
const COMMIT_ROWS: usize = 5_000;

/// What storing a batch changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows inserted or changed; identical re-sent rows are not counted and not rewritten.
    pub rows_written: u64,
    /// Metric rows inserted or changed.
    pub metrics_written: u64,
}

impl Warehouse {
    /// Opens (creating if needed) the warehouse at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Warehouse> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the directory {}", parent.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the warehouse {}", path.display()))?;
        Self::prepare(conn).with_context(|| format!("preparing the warehouse {}", path.display()))
    }

    /// An in-memory warehouse, for tests.
    #[cfg(test)]
    pub fn open_in_memory() -> anyhow::Result<Warehouse> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut conn: Connection) -> anyhow::Result<Warehouse> {
        // Another process (the daemon, a user's sqlite3) may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(10))?;
        // Only takes effect on a file without tables yet, and must come before WAL mode.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL still never corrupts the file; a power cut can only lose the last
        // transactions, which the next run fetches again.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        MIGRATIONS
            .to_latest(&mut conn)
            .context("running the warehouse migrations")?;
        Ok(Warehouse {
            conn,
            upserts: HashMap::new(),
        })
    }

    /// The connection, for readers (KPI engine, reports, status).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for the KPI engine's own transactions.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Creates the tables a connector needs, and adds columns a newer kpisync describes.
    pub fn ensure_tables(&self, specs: &[&TableSpec]) -> anyhow::Result<()> {
        for spec in specs {
            tables::ensure_table(&self.conn, spec)
                .with_context(|| format!("creating the table {}", spec.name))?;
        }
        Ok(())
    }

    /// The saved cursor of every stream of `connector`.
    pub fn cursors(
        &self,
        connector: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, Cursor>> {
        let mut statement = self
            .conn
            .prepare("SELECT stream, cursor FROM sync_state WHERE connector = ?1")?;
        let rows = statement.query_map([connector], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut cursors = std::collections::HashMap::new();
        for row in rows {
            let (stream, text) = row?;
            let cursor = serde_json::from_str(&text)
                .with_context(|| format!("reading the saved cursor of {connector}/{stream}"))?;
            cursors.insert(stream, cursor);
        }
        Ok(cursors)
    }

    /// The saved cursor of one stream.
    #[cfg(test)]
    pub fn cursor(&self, connector: &str, stream: &str) -> anyhow::Result<Option<Cursor>> {
        use rusqlite::OptionalExtension;
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT cursor FROM sync_state WHERE connector = ?1 AND stream = ?2",
                [connector, stream],
                |row| row.get(0),
            )
            .optional()?;
        Ok(text.map(|text| serde_json::from_str(&text)).transpose()?)
    }

    /// Stores a batch: rows, metrics and cursor in one transaction.
    #[cfg(test)]
    pub fn write_batch(
        &mut self,
        connector: &str,
        stream: &str,
        batch: &Batch,
    ) -> anyhow::Result<BatchOutcome> {
        self.write_batches(connector, stream, std::iter::once(batch))
    }

    /// Stores consecutive batches of one stream in one transaction: their rows and metrics,
    /// then the cursor of the last one that has a cursor. It takes batches from `batches` until
    /// that runs dry or the transaction holds [`COMMIT_ROWS`] rows or metrics; whatever it has
    /// not taken stays with the caller.
    pub fn write_batches<B: Borrow<Batch>>(
        &mut self,
        connector: &str,
        stream: &str,
        batches: impl IntoIterator<Item = B>,
    ) -> anyhow::Result<BatchOutcome> {
        let synced_at = now_iso();
        let Warehouse { conn, upserts } = self;
        let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcome = BatchOutcome::default();
        let mut cursor = None;
        let mut rows = 0;

        for batch in batches {
            let batch = batch.borrow();
            for row in &batch.rows {
                let spec = row.table;
                let sql = upserts
                    .entry(spec.name)
                    .or_insert_with(|| tables::upsert_sql(spec));
                outcome.rows_written += tables::upsert_row(&transaction, sql, row, &synced_at)
                    .with_context(|| format!("storing a row of {}", spec.name))?;
            }
            for metric in &batch.metrics {
                outcome.metrics_written +=
                    upsert_metric(&transaction, connector, metric, &synced_at)?;
            }
            if let Some(next) = &batch.cursor {
                cursor = Some(next.to_string());
            }
            rows += batch.rows.len() + batch.metrics.len();
            if rows >= COMMIT_ROWS {
                break;
            }
        }
        if let Some(cursor) = cursor {
            transaction.execute(
                "INSERT INTO sync_state (connector, stream, cursor, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (connector, stream)
                 DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![connector, stream, cursor, synced_at],
            )?;
        }

        transaction.commit()?;
        Ok(outcome)
    }

    /// Folds the WAL back into the main file, so it does not grow between syncs.
    pub fn checkpoint(&self) -> anyhow::Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

fn upsert_metric(
    transaction: &rusqlite::Transaction<'_>,
    source: &str,
    metric: &connectors::MetricRow,
    synced_at: &str,
) -> anyhow::Result<u64> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO metrics
                (source, metric, grain, period_start, dimension, value, unit, flags, synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (source, metric, grain, period_start, dimension)
         DO UPDATE SET value = excluded.value, unit = excluded.unit, flags = excluded.flags,
                       synced_at = excluded.synced_at
         WHERE value IS NOT excluded.value OR unit IS NOT excluded.unit
            OR flags IS NOT excluded.flags",
    )?;
    let changed = statement.execute(params![
        source,
        metric.metric,
        metric.grain,
        metric.period_start,
        metric.dimension,
        metric.value,
        metric.unit,
        metric.flags.join(","),
        synced_at
    ])?;
    Ok(changed as u64)
}

/// Now as ISO 8601 UTC text, to the second.
pub fn now_iso() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or(jiff::Timestamp::now())
        .to_string()
}

impl Warehouse {
    /// Makes `targets` hold exactly the configuration's targets, in one transaction.
    pub fn replace_targets(&self, targets: &[crate::config::Target]) -> anyhow::Result<()> {
        let transaction = self.conn.unchecked_transaction()?;
        transaction.execute("DELETE FROM targets", [])?;
        for target in targets {
            transaction.execute(
                "INSERT INTO targets (kpi, grain, period_start, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kpi, grain, period_start) DO UPDATE SET value = excluded.value",
                params![target.kpi, target.grain, target.period_start, target.value],
            )?;
        }
        transaction.commit().context("storing the targets")
    }
}

#[cfg(test)]
mod tests;
