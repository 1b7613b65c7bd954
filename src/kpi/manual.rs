//! Manual inputs of the KPI engine: numbers users record with `kpisync record` or
//! `kpisync import`, stored in `metrics` with source `manual`, and the KPIs they feed. An
//! entry feeds the KPIs of its own grain and period only: a month's marketing spend is not
//! spread over its days, and a period without an entry has no row (it is missing, not 0).
//!
//! This module also knows which manual metrics exist and checks an entry before the warehouse
//! stores it ([`check_entry`]), so the command line and the CSV import apply the same rules.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, params};

use super::periods::{self, Calendar};
use super::{BusinessModel, Cell, Frame, Grain, Series, ga4};
use crate::warehouse::{MANUAL_SOURCE, ManualEntry};

/// The table manual entries live in, as stored in the `sources` column.
pub const METRICS: &str = "metrics";

/// The dimension key of the social metrics.
pub const NETWORK: &str = "network";

/// A metric `kpisync record` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManualMetric {
    /// The name stored in `metrics.metric`.
    pub name: &'static str,
    /// Money in the business currency (else a count: a whole number).
    pub money: bool,
    /// Recorded per social network, with the dimension `network=<name>`.
    pub per_network: bool,
}

const fn count(name: &'static str) -> ManualMetric {
    ManualMetric {
        name,
        money: false,
        per_network: false,
    }
}

const fn social(name: &'static str) -> ManualMetric {
    ManualMetric {
        name,
        money: false,
        per_network: true,
    }
}

/// Every manual metric of `KPIS.md`'s "Manual inputs" table.
pub const MANUAL_METRICS: [ManualMetric; 15] = [
    ManualMetric {
        name: "marketing_spend",
        money: true,
        per_network: false,
    },
    count("demos"),
    count("contracts_signed"),
    count("app_downloads"),
    count("lead_magnet_downloads"),
    count("popup_displays"),
    count("newsletter_subscribers"),
    count("newsletter_signups"),
    social("social_followers"),
    social("social_engagements"),
    social("social_impressions"),
    social("social_mentions"),
    count("nps_promoters"),
    count("nps_passives"),
    count("nps_detractors"),
];

/// The manual metric named `name`.
pub fn manual_metric(name: &str) -> Option<&'static ManualMetric> {
    MANUAL_METRICS.iter().find(|metric| metric.name == name)
}

/// The ids of the computed KPIs a manual metric feeds, directly or through other KPIs, in
/// catalog order, for a business of `model` (whose model picks what `conversion.rate` reads).
pub fn kpis_fed_by(metric: &str, model: BusinessModel) -> Vec<&'static str> {
    let mut fed: Vec<&'static str> = Vec::new();
    // The catalog lists a KPI after the KPIs it reads, so one pass finds every dependant.
    for def in super::catalog().iter().filter(|def| def.computed) {
        let reads = def.inputs.iter().any(|input| match input {
            super::Input::Metric {
                source,
                metric: name,
            } => *source == MANUAL_SOURCE && *name == metric,
            super::Input::Kpi(id) if def.id == HEADLINE_RATE => {
                *id == model.headline_rate() && fed.contains(id)
            }
            super::Input::Kpi(id) => fed.contains(id),
            super::Input::Table { .. } => false,
        });
        if reads {
            fed.push(def.id);
        }
    }
    fed
}

/// The KPI that is one of four rates, as the business model says.
const HEADLINE_RATE: &str = "conversion.rate";

/// The years a manual entry's period may start in.
const RECORDED_YEARS: std::ops::RangeInclusive<i16> = 2000..=2099;

/// Checks one entry as typed by a user and returns it ready to store. `value` is a number
/// (counts: whole and not negative; money: in major units of `currency`, not negative, with
/// no more decimals than the currency has); `period` a day, ISO week or month label;
/// `dimension` empty, or `network=<name>` for the social metrics (required there). The error
/// says what is wrong in one sentence.
pub fn check_entry(
    metric: &str,
    value: &str,
    period: &str,
    dimension: &str,
    currency: &str,
) -> Result<ManualEntry, String> {
    let metric = metric.trim();
    let Some(known) = manual_metric(&metric.to_ascii_lowercase()) else {
        let names: Vec<&str> = MANUAL_METRICS.iter().map(|metric| metric.name).collect();
        return Err(format!(
            "'{metric}' is not a manual metric (one of: {})",
            names.join(", ")
        ));
    };
    let period = periods::parse(period).map_err(|error| format!("{error:#}"))?;
    // A period centuries away is a typo (`0202-11`); stored, it would stretch the calendars of
    // every recompute over the years between it and the data.
    if !RECORDED_YEARS.contains(&period.start.year()) {
        return Err(format!(
            "'{period}': kpisync records periods from {} to {}",
            RECORDED_YEARS.start(),
            RECORDED_YEARS.end()
        ));
    }
    let value = check_value(known, value, currency)?;
    let dimension = check_dimension(known, dimension)?;
    Ok(ManualEntry {
        metric: known.name.to_owned(),
        grain: period.grain.as_str().to_owned(),
        period_start: period.start.to_string(),
        dimension,
        value,
        unit: if known.money {
            currency.to_owned()
        } else {
            "count".to_owned()
        },
    })
}

fn check_value(metric: &ManualMetric, text: &str, currency: &str) -> Result<f64, String> {
    let text = text.trim();
    let value: f64 = text
        .parse()
        .ok()
        .filter(|value: &f64| value.is_finite())
        .ok_or_else(|| format!("'{text}' is not a number"))?;
    // `-0` is 0.
    let value = value + 0.0;
    if value < 0.0 {
        return Err(format!("{}: '{text}' is negative", metric.name));
    }
    // Beyond 2^53 a double no longer holds every whole number (of units, or of cents).
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let too_large = || format!("{}: '{text}' is too large", metric.name);
    if !metric.money {
        if value.fract() != 0.0 {
            return Err(format!(
                "{} is a count: '{text}' is not a whole number",
                metric.name
            ));
        }
        if value > EXACT {
            return Err(too_large());
        }
        return Ok(value);
    }
    // Money is kept to the currency's minor unit: 12.345 EUR is a typo, not a price. The user
    // types major units, so the exponent is ISO 4217's (ISK has none), not an upstream's.
    let exponent = iso_currency::Currency::from_code(currency)
        .and_then(|currency| currency.exponent())
        .unwrap_or(2) as i32;
    let scale = 10f64.powi(exponent);
    let minor = (value * scale).round();
    if minor > EXACT {
        return Err(too_large());
    }
    // The product carries the rounding of the decimal text: a few units in the last place.
    let tolerance = (minor.abs() * 4.0 * f64::EPSILON).max(1e-6);
    if (value * scale - minor).abs() > tolerance {
        return Err(format!(
            "{}: '{text}' has more decimals than {currency} has ({exponent})",
            metric.name
        ));
    }
    Ok(minor / scale)
}

fn check_dimension(metric: &ManualMetric, text: &str) -> Result<String, String> {
    let text = text.trim();
    if !metric.per_network {
        if text.is_empty() {
            return Ok(String::new());
        }
        return Err(format!(
            "{} takes no dimension (got '{text}'); only the social metrics take network=<name>",
            metric.name
        ));
    }
    let network = text
        .split_once('=')
        .filter(|(key, _)| key.trim() == NETWORK)
        .map(|(_, network)| network.trim().to_ascii_lowercase());
    match network {
        Some(network)
            if !network.is_empty()
                && network
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte)) =>
        {
            Ok(format!("{NETWORK}={network}"))
        }
        _ if text.is_empty() => Err(format!(
            "{} is recorded per network: add the dimension network=<name> (network=instagram)",
            metric.name
        )),
        _ => Err(format!(
            "'{text}' is not a dimension of {} (expected network=<name>, letters, digits, \
             '.', '_' or '-')",
            metric.name
        )),
    }
}

/// One stored manual entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    metric: String,
    dimension: String,
    grain: Grain,
    start: Date,
    value: f64,
    /// Upper-case currency code from the entry's unit; `None` means the business currency.
    currency: Option<String>,
}

/// The manual metrics the KPIs read, for all grains.
#[derive(Debug, Default)]
pub(crate) struct ManualData {
    entries: Vec<Entry>,
}

/// Manual metrics per period of one grain's calendar; `None` for a period without an entry.
#[derive(Debug, Default)]
pub(crate) struct ManualFrame {
    /// Marketing spend per upper-case currency code, in major units.
    pub marketing_spend: BTreeMap<String, Vec<Option<f64>>>,
    /// Every other metric, by metric and dimension.
    values: BTreeMap<(String, String), Vec<Option<f64>>>,
}

impl ManualData {
    /// Reads the manual entries of `conn`. An entry whose period start is not the first day of
    /// a period of its grain (a week not starting on Monday, written by hand) is moved to the
    /// period containing it.
    pub fn load(conn: &Connection) -> rusqlite::Result<ManualData> {
        let mut statement = conn.prepare(
            "SELECT metric, dimension, grain, period_start, value, unit FROM metrics
             WHERE source = ?1 AND value IS NOT NULL",
        )?;
        let mut entries = Vec::new();
        let mut rows = statement.query([MANUAL_SOURCE])?;
        while let Some(row) = rows.next()? {
            let metric: String = row.get(0)?;
            if manual_metric(&metric).is_none() {
                continue;
            }
            let grain: String = row.get(2)?;
            let start: String = row.get(3)?;
            let (Ok(grain), Ok(start)) = (grain.parse::<Grain>(), start.parse::<Date>()) else {
                tracing::warn!(metric, grain, period_start = start, "manual entry ignored");
                continue;
            };
            let unit: String = row.get(5)?;
            entries.push(Entry {
                metric,
                dimension: row.get(1)?,
                grain,
                start: grain.start_of(start),
                value: row.get(4)?,
                currency: currency_of(&unit),
            });
        }
        Ok(ManualData { entries })
    }

    /// The first and last period starts of `grain` holding an entry.
    pub fn date_range(&self, grain: Grain) -> Option<(Date, Date)> {
        let mut starts = self.entries.iter().filter(|entry| entry.grain == grain);
        let first = starts.next()?.start;
        Some(starts.fold((first, first), |(low, high), entry| {
            (low.min(entry.start), high.max(entry.start))
        }))
    }

    /// The entries of `calendar`'s grain, per period; `business` is the currency of spend
    /// entries whose unit names none.
    pub fn frame(&self, calendar: &Calendar, business: &str) -> ManualFrame {
        let mut frame = ManualFrame::default();
        for entry in &self.entries {
            if entry.grain != calendar.grain() {
                continue;
            }
            let Some(index) = calendar.index_of_date(entry.start) else {
                continue;
            };
            let empty = || vec![None; calendar.len()];
            let cells = if entry.metric == "marketing_spend" {
                if !entry.dimension.is_empty() {
                    continue;
                }
                let currency = entry.currency.as_deref().unwrap_or(business);
                frame
                    .marketing_spend
                    .entry(currency.to_owned())
                    .or_insert_with(empty)
            } else {
                let key = (entry.metric.clone(), entry.dimension.clone());
                frame.values.entry(key).or_insert_with(empty)
            };
            // Two entries land in one period only when written by hand off a period start.
            cells[index] = Some(cells[index].unwrap_or(0.0) + entry.value);
        }
        frame
    }
}

impl ManualFrame {
    /// The entries of `metric` with `dimension`, if it has any in this grain.
    fn values(&self, metric: &str, dimension: &str) -> Option<&[Option<f64>]> {
        self.values
            .get(&(metric.to_owned(), dimension.to_owned()))
            .map(Vec::as_slice)
    }

    /// The entry of `metric` with `dimension` in period `index`.
    fn at(&self, metric: &str, dimension: &str, index: usize) -> Option<f64> {
        self.values(metric, dimension)
            .and_then(|values| values[index])
    }

    /// The dimensions `metric` has entries with, in order.
    fn dimensions(&self, metric: &str) -> Vec<String> {
        self.values
            .keys()
            .filter(|(name, _)| name == metric)
            .map(|(_, dimension)| dimension.clone())
            .collect()
    }
}

/// The currency a unit names: three ASCII letters, upper-cased. Anything else (empty, or a
/// generic unit) means the business currency, the unit `kpisync record` documents.
fn currency_of(unit: &str) -> Option<String> {
    let unit = unit.trim();
    (unit.len() == 3 && unit.bytes().all(|byte| byte.is_ascii_alphabetic()))
        .then(|| unit.to_ascii_uppercase())
}

/// A count series straight from entries: a row where there is an entry.
fn count_series(values: &[Option<f64>], dimension: &str) -> Series {
    Series {
        dimension: dimension.to_owned(),
        unit: "count".to_owned(),
        sources: METRICS.to_owned(),
        cells: values.iter().map(|value| value.map(Cell::plain)).collect(),
    }
}

/// The count KPI of one manual metric without dimension.
fn manual_count(frame: &Frame<'_>, metric: &str) -> Vec<Series> {
    frame
        .manual
        .values(metric, "")
        .map(|values| count_series(values, ""))
        .into_iter()
        .collect()
}

/// The series without dimension of a KPI computed earlier.
fn earlier_total<'f>(frame: &'f Frame<'_>, id: &str) -> Option<&'f Series> {
    frame
        .earlier(id)
        .iter()
        .find(|series| series.dimension.is_empty())
}

/// A row of `id` (without dimension) in period `index`: `Some(value)`, which may be unknown.
fn earlier_at(frame: &Frame<'_>, id: &str, index: usize) -> Option<Option<f64>> {
    earlier_total(frame, id)
        .and_then(|series| series.at(index))
        .map(|cell| cell.value)
}

/// A rate with a row wherever `numerator` has one; `denominator` gives the period's
/// denominator (`None`: unknown, so the value is NULL).
fn rate_of(numerator: &Series, denominator: impl Fn(usize) -> Option<f64>) -> Series {
    let mut sources: BTreeSet<&str> = numerator.sources.split(',').collect();
    sources.insert(METRICS);
    Series {
        dimension: numerator.dimension.clone(),
        unit: "ratio".to_owned(),
        sources: sources.into_iter().collect::<Vec<_>>().join(","),
        cells: numerator
            .cells
            .iter()
            .enumerate()
            .map(|(index, cell)| cell.map(|cell| Cell::ratio(cell.value, denominator(index))))
            .collect(),
    }
}

/// A count from GA4 where a period has no manual entry, and the manual entry where it has
/// one: a recorded figure is the period's total, so it is never added to GA4's.
fn manual_over_ga4(frame: &Frame<'_>, metric: &str) -> Vec<Series> {
    let from_ga4 = ga4::count(frame, metric).into_iter().next();
    let manual = frame.manual.values(metric, "");
    if from_ga4.is_none() && manual.is_none() {
        return Vec::new();
    }
    let cells = (0..frame.calendar.len())
        .map(|index| {
            let recorded = manual.and_then(|values| values[index]);
            recorded
                .map(Cell::plain)
                .or_else(|| from_ga4.as_ref().and_then(|series| series.at(index)))
        })
        .collect();
    vec![Series {
        dimension: String::new(),
        unit: "count".to_owned(),
        sources: METRICS.to_owned(),
        cells,
    }]
}

/// `acquisition.newsletter_subscribers`.
pub fn newsletter_subscribers(frame: &Frame<'_>) -> Vec<Series> {
    manual_count(frame, "newsletter_subscribers")
}

/// `acquisition.newsletter_signups`.
pub fn newsletter_signups(frame: &Frame<'_>) -> Vec<Series> {
    manual_count(frame, "newsletter_signups")
}

/// `acquisition.newsletter_signup_rate`: over the landing-page visitors of the period, or
/// over all visitors where there is no landing-page row (no landing page configured).
pub fn newsletter_signup_rate(frame: &Frame<'_>) -> Vec<Series> {
    let Some(signups) = earlier_total(frame, "acquisition.newsletter_signups") else {
        return Vec::new();
    };
    vec![rate_of(signups, |index| {
        earlier_at(frame, "acquisition.landing_visitors", index)
            .or_else(|| earlier_at(frame, "acquisition.visitors", index))
            .flatten()
    })]
}

/// `acquisition.lead_magnet_downloads`: GA4's lead event, or the period's manual entry.
pub fn lead_magnet_downloads(frame: &Frame<'_>) -> Vec<Series> {
    manual_over_ga4(frame, "lead_magnet_downloads")
}

/// `acquisition.lead_magnet_rate`: over the pop-up displays recorded for the period, else
/// over visitors.
pub fn lead_magnet_rate(frame: &Frame<'_>) -> Vec<Series> {
    over_entry_else_visitors(frame, "acquisition.lead_magnet_downloads", "popup_displays")
}

/// The KPI `numerator` (its row without dimension) over the manual `metric` entry of each
/// period, or over the period's visitors where there is no entry.
fn over_entry_else_visitors(frame: &Frame<'_>, numerator: &str, metric: &str) -> Vec<Series> {
    let Some(numerator) = earlier_total(frame, numerator) else {
        return Vec::new();
    };
    vec![rate_of(numerator, |index| {
        frame
            .manual
            .at(metric, "", index)
            .or_else(|| earlier_at(frame, "acquisition.visitors", index).flatten())
    })]
}

/// `conversion.app_downloads`: GA4's install event, or the period's manual entry.
pub fn app_downloads(frame: &Frame<'_>) -> Vec<Series> {
    manual_over_ga4(frame, "app_downloads")
}

/// `conversion.contracts_signed`.
pub fn contracts_signed(frame: &Frame<'_>) -> Vec<Series> {
    manual_count(frame, "contracts_signed")
}

/// `conversion.contract_rate`: over the demos recorded for the period, else over visitors.
pub fn contract_rate(frame: &Frame<'_>) -> Vec<Series> {
    over_entry_else_visitors(frame, "conversion.contracts_signed", "demos")
}

/// `engagement.social_followers`: one series per network.
pub fn social_followers(frame: &Frame<'_>) -> Vec<Series> {
    per_network_counts(frame, "social_followers")
}

fn per_network_counts(frame: &Frame<'_>, metric: &str) -> Vec<Series> {
    frame
        .manual
        .dimensions(metric)
        .iter()
        .filter_map(|network| {
            let values = frame.manual.values(metric, network)?;
            Some(count_series(values, network))
        })
        .collect()
}

/// `engagement.social_engagement_rate`: per network, engagements over the impressions
/// recorded for the period, else over the followers.
pub fn social_engagement_rate(frame: &Frame<'_>) -> Vec<Series> {
    per_network_counts(frame, "social_engagements")
        .iter()
        .map(|engagements| {
            let network = &engagements.dimension;
            rate_of(engagements, |index| {
                frame
                    .manual
                    .at("social_impressions", network, index)
                    .or_else(|| frame.manual.at("social_followers", network, index))
            })
        })
        .collect()
}

/// `recommendation.social_mentions`: one series per network, and a total (dimension `''`)
/// over the networks with an entry for the period.
pub fn social_mentions(frame: &Frame<'_>) -> Vec<Series> {
    let networks = per_network_counts(frame, "social_mentions");
    if networks.is_empty() {
        return networks;
    }
    let totals: Vec<Option<f64>> = (0..frame.calendar.len())
        .map(|index| {
            networks
                .iter()
                .filter_map(|series| series.at(index).and_then(|cell| cell.value))
                .reduce(|sum, value| sum + value)
        })
        .collect();
    let mut all = vec![count_series(&totals, "")];
    all.extend(networks);
    all
}

/// Promoters, passives and detractors of period `index`, where at least one is recorded; an
/// unrecorded one counts as 0.
fn nps_parts(frame: &Frame<'_>, index: usize) -> Option<(f64, f64, f64)> {
    let part = |metric| frame.manual.at(metric, "", index);
    let parts = [
        part("nps_promoters"),
        part("nps_passives"),
        part("nps_detractors"),
    ];
    parts.iter().any(Option::is_some).then(|| {
        let [promoters, passives, detractors] = parts.map(|part| part.unwrap_or(0.0));
        (promoters, passives, detractors)
    })
}

/// `recommendation.nps`: `100 × (promoters - detractors) / responses`, the numerator stored
/// already multiplied by 100 so that sums of numerators over sums of denominators re-aggregate.
pub fn nps(frame: &Frame<'_>) -> Vec<Series> {
    let cells: Vec<Option<Cell>> = (0..frame.calendar.len())
        .map(|index| {
            let (promoters, passives, detractors) = nps_parts(frame, index)?;
            let responses = promoters + passives + detractors;
            Some(Cell::ratio(
                Some(100.0 * (promoters - detractors)),
                Some(responses),
            ))
        })
        .collect();
    if cells.iter().all(Option::is_none) {
        return Vec::new();
    }
    vec![Series {
        dimension: String::new(),
        unit: "score".to_owned(),
        sources: METRICS.to_owned(),
        cells,
    }]
}

/// `recommendation.nps_responses`: promoters + passives + detractors.
pub fn nps_responses(frame: &Frame<'_>) -> Vec<Series> {
    let totals: Vec<Option<f64>> = (0..frame.calendar.len())
        .map(|index| {
            nps_parts(frame, index)
                .map(|(promoters, passives, detractors)| promoters + passives + detractors)
        })
        .collect();
    if totals.iter().all(Option::is_none) {
        return Vec::new();
    }
    vec![count_series(&totals, "")]
}

/// For `kpisync kpis --explain`: which of its alternative inputs a stored row of a KPI fed by
/// manual entries used, read back from the inputs stored for the row's period. `None` for a
/// KPI without alternatives.
pub fn input_used(
    conn: &Connection,
    kpi: &str,
    grain: &str,
    period_start: &str,
    dimension: &str,
) -> rusqlite::Result<Option<String>> {
    let metric = |source: &str, metric: &str, dimension: &str| -> rusqlite::Result<_> {
        conn.query_row(
            "SELECT value FROM metrics WHERE source = ?1 AND metric = ?2 AND grain = ?3
             AND period_start = ?4 AND dimension = ?5",
            params![source, metric, grain, period_start, dimension],
            |row| row.get::<_, Option<f64>>(0),
        )
        .optional()
    };
    let has_kpi = |id: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT 1 FROM kpis WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3
             AND dimension = ''",
            params![id, grain, period_start],
            |_| Ok(()),
        )
        .optional()
        .map(|found| found.is_some())
    };
    let over = |name: &str, recorded: bool, fallback: &str| {
        if recorded {
            format!("denominator: the manual {name} entry of the period")
        } else {
            format!("denominator: {fallback} (no manual {name} entry for the period)")
        }
    };
    let note = match kpi {
        "conversion.contract_rate" => {
            let demos = metric(MANUAL_SOURCE, "demos", "")?.is_some();
            over("demos", demos, "acquisition.visitors")
        }
        "acquisition.lead_magnet_rate" => {
            let popups = metric(MANUAL_SOURCE, "popup_displays", "")?.is_some();
            over("popup_displays", popups, "acquisition.visitors")
        }
        "acquisition.newsletter_signup_rate" => {
            if has_kpi("acquisition.landing_visitors")? {
                "denominator: acquisition.landing_visitors".to_owned()
            } else {
                "denominator: acquisition.visitors (no landing-page visitors for the period: \
                 business.landing_pages is not configured, or GA4 has not covered it)"
                    .to_owned()
            }
        }
        "engagement.social_engagement_rate" => {
            let impressions = metric(MANUAL_SOURCE, "social_impressions", dimension)?.is_some();
            over(
                "social_impressions",
                impressions,
                "the manual social_followers entry",
            )
        }
        "acquisition.lead_magnet_downloads" | "conversion.app_downloads" => {
            let name = kpi.split_once('.').map_or(kpi, |(_, name)| name);
            let recorded = metric(MANUAL_SOURCE, name, "")?;
            let tracked = metric(ga4::SOURCE, name, "")?;
            match (recorded, tracked) {
                (Some(_), Some(tracked)) => format!(
                    "the manual {name} entry of the period, instead of GA4's {} (never added)",
                    tracked.map_or_else(|| "unknown count".to_owned(), |value| value.to_string())
                ),
                (Some(_), None) => format!("the manual {name} entry of the period"),
                (None, Some(_)) => format!("GA4's {name} (no manual entry for the period)"),
                (None, None) => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(note))
}
