//! The KPI engine: turns the warehouse's stored rows and metrics into the `kpis` table, for
//! every KPI of `KPIS.md` whose inputs kpisync syncs, per day, ISO week and month in the
//! business time zone. It reads what it needs once, buckets instants by binary search over
//! precomputed period bounds, and rewrites its rows in one transaction.
//!
//! Each KPI is declared once in [`catalog()`]; a source plugs in by loading its inputs
//! ([`stripe`], [`manual`], [`ga4`]) into the per-grain [`Frame`] that compute functions read.
//!
//! Limitations: weeks always start on Monday (`business.week_start` is not read yet), and every
//! recompute computes every period again from all the stored data (only changed rows are
//! written), which takes a fraction of a second at the sizes kpisync targets.

pub mod catalog;
mod compute;
pub mod explain;
pub mod ga4;
pub mod manual;
pub mod periods;
pub mod rollup;
mod store;
mod stripe;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Deserialize;

use crate::warehouse::Warehouse;

pub use catalog::{Input, KpiDef, UnitKind, catalog};
pub use connectors::schema::Grain;
pub use explain::explain;
use periods::Calendar;

/// Creates the covering indexes the KPI engine reads the connector tables through, on those
/// that exist; a no-op once they do.
pub fn ensure_indexes(conn: &rusqlite::Connection) -> anyhow::Result<()> {
    stripe::ensure_indexes(conn).context("creating the KPI engine's indexes")
}

/// `business.model`: which kind of business this is. It picks the headline conversion rate,
/// the LTV formula and the denominator of the cost per sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusinessModel {
    /// An online shop: orders are the conversions.
    Ecommerce,
    /// Subscriptions: new paid subscriptions are the conversions.
    Saas,
    /// A mobile app: downloads are the conversions.
    App,
    /// Business to business: signed contracts are the conversions.
    B2b,
}

impl BusinessModel {
    /// The rate `conversion.rate` is for this model.
    pub fn headline_rate(self) -> &'static str {
        match self {
            BusinessModel::Ecommerce => "conversion.order_rate",
            BusinessModel::Saas => "conversion.subscription_rate",
            BusinessModel::App => "conversion.download_rate",
            BusinessModel::B2b => "conversion.contract_rate",
        }
    }

    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            BusinessModel::Ecommerce => "ecommerce",
            BusinessModel::Saas => "saas",
            BusinessModel::App => "app",
            BusinessModel::B2b => "b2b",
        }
    }
}

/// What the KPIs depend on besides the data: the `[business]` section.
#[derive(Debug, Clone)]
pub struct KpiSettings {
    /// The zone periods are cut in.
    pub timezone: jiff::tz::TimeZone,
    /// Upper-case ISO 4217 code of the reporting currency.
    pub currency: String,
    /// The business model.
    pub model: BusinessModel,
}

/// What a recompute did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecomputeSummary {
    /// KPI rows written.
    pub rows: usize,
    /// KPIs that got at least one row.
    pub kpis: usize,
    /// Wall time of the whole recompute.
    pub elapsed: Duration,
}

/// Recomputes every KPI kpisync computes, for every grain, from the first period holding data
/// up to the period containing `now`, and replaces their rows in `kpis` in one transaction.
///
/// The transaction takes the write lock before reading, so the KPIs come from one snapshot
/// even if a sync in another process writes meanwhile (it waits the fraction of a second
/// this takes).
pub fn recompute(
    warehouse: &mut Warehouse,
    settings: &KpiSettings,
    now: Timestamp,
) -> anyhow::Result<RecomputeSummary> {
    let started = Instant::now();
    let settings = KpiSettings {
        currency: settings.currency.trim().to_ascii_uppercase(),
        ..settings.clone()
    };

    let transaction = warehouse
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("starting the KPI recompute")?;
    let sources = Sources {
        stripe: stripe::StripeData::load(&transaction, &settings.timezone)
            .context("reading the Stripe tables")?,
        manual: manual::ManualData::load(&transaction).context("reading manual metrics")?,
        ga4: ga4::Ga4Data::load(&transaction).context("reading the GA4 metrics")?,
    };

    let mut rows = Vec::new();
    for grain in Grain::ALL {
        rows.extend(compute_grain(&sources, &settings, grain, now)?);
    }

    let computed_at = now.round(jiff::Unit::Second).unwrap_or(now).to_string();
    let written =
        store::replace_rows(&transaction, &rows, &computed_at).context("storing the KPI rows")?;
    transaction
        .execute(
            "INSERT INTO kpi_state (id, settings, computed_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE
             SET settings = excluded.settings, computed_at = excluded.computed_at",
            rusqlite::params![fingerprint(&settings), computed_at],
        )
        .context("recording the KPI recompute")?;
    transaction.commit().context("committing the KPI rows")?;
    let kpis: HashSet<&str> = rows.iter().map(|row| row.kpi).collect();
    let summary = RecomputeSummary {
        rows: written,
        kpis: kpis.len(),
        elapsed: started.elapsed(),
    };
    tracing::debug!(
        model = settings.model.as_str(),
        rows = summary.rows,
        elapsed_ms = summary.elapsed.as_millis() as u64,
        "kpis recomputed"
    );
    Ok(summary)
}

/// Whether the stored KPIs are what a recompute would give now, provided no input changed
/// since the last one: it was made today (in the business time zone, so the calendar already
/// reaches today) with the same settings and the same kpisync version.
pub fn up_to_date(
    conn: &rusqlite::Connection,
    settings: &KpiSettings,
    now: Timestamp,
) -> anyhow::Result<bool> {
    let last: Option<(String, String)> = conn
        .query_row(
            "SELECT settings, computed_at FROM kpi_state WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .context("reading the last KPI recompute")?;
    let Some((last_settings, computed_at)) = last else {
        return Ok(false);
    };
    let settings = KpiSettings {
        currency: settings.currency.trim().to_ascii_uppercase(),
        ..settings.clone()
    };
    let Ok(computed_at) = computed_at.parse::<Timestamp>() else {
        return Ok(false);
    };
    let day = |instant: Timestamp| instant.to_zoned(settings.timezone.clone()).date();
    Ok(last_settings == fingerprint(&settings) && day(computed_at) == day(now))
}

/// What the KPIs depend on besides the data, as stored in `kpi_state.settings`.
fn fingerprint(settings: &KpiSettings) -> String {
    format!(
        "kpisync {}; timezone {}; currency {}; model {}",
        env!("CARGO_PKG_VERSION"),
        settings.timezone.iana_name().unwrap_or("(unnamed)"),
        settings.currency,
        settings.model.as_str()
    )
}

/// Every source's inputs, read once per recompute.
struct Sources {
    stripe: stripe::StripeData,
    manual: manual::ManualData,
    ga4: ga4::Ga4Data,
}

/// The rows of every computed KPI for one grain, in catalog order.
fn compute_grain(
    sources: &Sources,
    settings: &KpiSettings,
    grain: Grain,
    now: Timestamp,
) -> anyhow::Result<Vec<KpiRow>> {
    let Some(calendar) = calendar_for(sources, settings, grain, now)? else {
        return Ok(Vec::new());
    };
    let stripe = sources.stripe.frame(&calendar, now.as_second());
    let manual = sources.manual.frame(&calendar, &settings.currency);
    let ga4 = sources.ga4.frame(&calendar);
    let mut done: HashMap<&'static str, Vec<Series>> = HashMap::new();
    let mut rows = Vec::new();

    for def in catalog() {
        let Some(compute) = def.compute else { continue };
        let frame = Frame {
            calendar: &calendar,
            settings,
            stripe: stripe.as_ref(),
            manual: &manual,
            ga4: &ga4,
            done: &done,
        };
        let series = compute(&frame);
        for one in &series {
            for (index, cell) in one.cells.iter().enumerate() {
                if let Some(cell) = cell {
                    rows.push(KpiRow {
                        kpi: def.id,
                        grain,
                        period_start: calendar.start_date(index),
                        dimension: one.dimension.clone(),
                        cell: *cell,
                        unit: one.unit.clone(),
                        sources: one.sources.clone(),
                    });
                }
            }
        }
        done.insert(def.id, series);
    }
    Ok(rows)
}

/// The periods of `grain` any source covers: from the first period holding data to the period
/// containing `now`, stretched to manual entries recorded outside that range.
fn calendar_for(
    sources: &Sources,
    settings: &KpiSettings,
    grain: Grain,
    now: Timestamp,
) -> anyhow::Result<Option<Calendar>> {
    let tz = &settings.timezone;
    let mut range: Option<(Date, Date)> = None;
    let mut widen = |first: Date, last: Date| {
        range = Some(match range {
            Some((low, high)) => (low.min(first), high.max(last)),
            None => (first, last),
        });
    };

    if let Some(first) = sources.stripe.first_second() {
        let first = Timestamp::from_second(first).context("the first Stripe instant")?;
        let starts = periods::starts_between(grain, first, now, tz)?;
        if let (Some(first), Some(last)) = (starts.first(), starts.last()) {
            widen(*first, *last);
        }
    }
    if let Some((first, last)) = sources.manual.date_range(grain) {
        widen(first, last);
    }
    if let Some((first, last)) = sources.ga4.date_range(grain) {
        widen(first, last);
    }
    range
        .map(|(first, last)| Calendar::new(grain, first, last, tz))
        .transpose()
}

/// What a compute function sees: one grain's calendar, the settings, every source's
/// aggregates for that grain, and the series of the KPIs computed before it.
pub(crate) struct Frame<'a> {
    /// The periods, the same for every KPI of the grain.
    pub calendar: &'a Calendar,
    /// The business settings.
    pub settings: &'a KpiSettings,
    /// Stripe's aggregates, when the warehouse holds Stripe data.
    pub stripe: Option<&'a stripe::StripeFrame>,
    /// Manual metrics, per period.
    pub manual: &'a manual::ManualFrame,
    /// GA4 metrics, per period.
    pub ga4: &'a ga4::Ga4Frame,
    done: &'a HashMap<&'static str, Vec<Series>>,
}

impl Frame<'_> {
    /// The series of a KPI computed earlier in catalog order (empty if it produced none).
    pub fn earlier(&self, id: &str) -> &[Series] {
        self.done.get(id).map_or(&[], Vec::as_slice)
    }

    /// The grain being computed.
    pub fn grain(&self) -> Grain {
        self.calendar.grain()
    }
}

/// The numbers of one KPI row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    /// The KPI's value; `None` is stored as NULL.
    pub value: Option<f64>,
    /// The numerator of a ratio, else `None`.
    pub numerator: Option<f64>,
    /// The denominator of a ratio, else `None`.
    pub denominator: Option<f64>,
}

impl Cell {
    /// A value that is not a ratio (an amount or a count).
    pub fn plain(value: f64) -> Cell {
        Cell {
            value: Some(value),
            numerator: None,
            denominator: None,
        }
    }

    /// `numerator / denominator`, NULL when the denominator is zero or unknown.
    pub fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Cell {
        let value = match (numerator, denominator) {
            (Some(top), Some(bottom)) if bottom != 0.0 => Some(top / bottom),
            _ => None,
        };
        Cell {
            value: value.filter(|value| value.is_finite()),
            numerator,
            denominator,
        }
    }
}

/// One KPI's values for one dimension across a grain's calendar.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// `''`, or `key=value` such as `currency=JPY`.
    pub dimension: String,
    /// The stored unit: `count`, `ratio` or a currency code.
    pub unit: String,
    /// The tables that fed it, comma-separated and sorted.
    pub sources: String,
    /// One entry per calendar period; `None` produces no row.
    pub cells: Vec<Option<Cell>>,
}

impl Series {
    /// The cell of period `index`, if the series has a row there.
    pub fn at(&self, index: usize) -> Option<Cell> {
        self.cells.get(index).copied().flatten()
    }
}

/// A row ready for the `kpis` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KpiRow {
    pub kpi: &'static str,
    pub grain: Grain,
    pub period_start: Date,
    pub dimension: String,
    pub cell: Cell,
    pub unit: String,
    pub sources: String,
}
