//! Writes computed KPI rows to the `kpis` table. It first reads the stored rows of the
//! computed KPIs, then writes only the rows that changed and deletes those the recompute no
//! longer produced: a recompute every half hour then touches a few recent periods instead of
//! rewriting the table (and the WAL) each time, and unchanged rows keep their `computed_at`.

use std::collections::HashSet;
use std::fmt::Write as _;

use rusqlite::{Connection, Transaction, params};

use super::{KpiRow, catalog};
use rustc_hash::FxHashMap as FastMap;

/// Separates the parts of a row key; it cannot occur in ids, dates or dimensions.
const SEPARATOR: char = '\u{1f}';

/// The stored numbers of a row, to compare with a recomputed one.
#[derive(Debug, PartialEq)]
struct Stored {
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    unit: String,
    sources: String,
}

/// Makes the stored rows of every computed KPI equal to `rows`, inside the caller's
/// transaction. Returns how many rows the KPIs have now.
pub fn replace_rows(
    transaction: &Transaction<'_>,
    rows: &[KpiRow],
    computed_at: &str,
) -> rusqlite::Result<usize> {
    let mut stale = stored_rows(transaction)?;

    let mut upsert = transaction.prepare_cached(
        "INSERT INTO kpis (kpi, grain, period_start, dimension, value, numerator,
                           denominator, unit, sources, computed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (kpi, grain, period_start, dimension) DO UPDATE SET
             value = excluded.value, numerator = excluded.numerator,
             denominator = excluded.denominator, unit = excluded.unit,
             sources = excluded.sources, computed_at = excluded.computed_at",
    )?;
    let mut key = String::new();
    let mut period_start = String::new();
    for row in rows {
        period_start.clear();
        // Writing to a String cannot fail.
        let _ = write!(period_start, "{}", row.period_start);
        set_key(
            &mut key,
            row.kpi,
            row.grain.as_str(),
            &period_start,
            &row.dimension,
        );
        let unchanged = stale.remove(key.as_str()).is_some_and(|stored| {
            stored.value == row.cell.value
                && stored.numerator == row.cell.numerator
                && stored.denominator == row.cell.denominator
                && stored.unit == row.unit
                && stored.sources == row.sources
        });
        if !unchanged {
            upsert.execute(params![
                row.kpi,
                row.grain.as_str(),
                period_start,
                row.dimension,
                row.cell.value,
                row.cell.numerator,
                row.cell.denominator,
                row.unit,
                row.sources,
                computed_at,
            ])?;
        }
    }

    let mut delete = transaction.prepare_cached(
        "DELETE FROM kpis
         WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3 AND dimension = ?4",
    )?;
    for key in stale.keys() {
        let parts: Vec<&str> = key.splitn(4, SEPARATOR).collect();
        delete.execute(rusqlite::params_from_iter(parts))?;
    }
    Ok(rows.len())
}

/// `kpi`, `grain`, `period_start` and `dimension` joined into `key`.
fn set_key(key: &mut String, kpi: &str, grain: &str, period_start: &str, dimension: &str) {
    key.clear();
    for (index, part) in [kpi, grain, period_start, dimension]
        .into_iter()
        .enumerate()
    {
        if index > 0 {
            key.push(SEPARATOR);
        }
        key.push_str(part);
    }
}

/// The stored rows of every KPI the engine computes, by key.
fn stored_rows(conn: &Connection) -> rusqlite::Result<FastMap<String, Stored>> {
    let computed: HashSet<&str> = catalog()
        .iter()
        .filter(|def| def.computed)
        .map(|def| def.id)
        .collect();
    let mut statement = conn.prepare(
        "SELECT kpi, grain, period_start, dimension, value, numerator, denominator, unit,
                sources
         FROM kpis",
    )?;
    let mut stored = FastMap::default();
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let kpi = row.get_ref(0)?.as_str()?;
        if !computed.contains(kpi) {
            continue;
        }
        let mut key = String::new();
        let grain = row.get_ref(1)?.as_str()?;
        let period_start = row.get_ref(2)?.as_str()?;
        let dimension = row.get_ref(3)?.as_str()?;
        set_key(&mut key, kpi, grain, period_start, dimension);
        let values = Stored {
            value: row.get(4)?,
            numerator: row.get(5)?,
            denominator: row.get(6)?,
            unit: row.get(7)?,
            sources: row.get(8)?,
        };
        stored.insert(key, values);
    }
    Ok(stored)
}
