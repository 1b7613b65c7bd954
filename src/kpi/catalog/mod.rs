//! The KPI catalog: every KPI of `KPIS.md`, in its order, declared once with its stage, unit,
//! formula, inputs and, when kpisync computes it, the function that does. This module says
//! what a declaration is; [`entries`] holds the declarations. Adding a KPI is adding an entry
//! there (and its compute function when its inputs are synced).

mod entries;

use std::fmt;

use super::manual::METRICS;
use super::{Frame, Series};
use entries::CATALOG;

/// The funnel stage a KPI belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Are leads growing at a controlled cost?
    Acquisition,
    /// Does the buying path turn leads into customers?
    Conversion,
    /// Do customers use the offer and read the content?
    Engagement,
    /// Is the value of each customer maximised?
    Revenue,
    /// Do customers recommend the offer?
    Recommendation,
}

impl Stage {
    /// The stage's name, the prefix of its KPI ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Acquisition => "acquisition",
            Stage::Conversion => "conversion",
            Stage::Engagement => "engagement",
            Stage::Revenue => "revenue",
            Stage::Recommendation => "recommendation",
        }
    }
}

/// What kind of number a KPI is; decides the stored `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// A number of things; unit `count`.
    Count,
    /// A ratio between 0 and 1 (not a percentage); unit `ratio`.
    Ratio,
    /// Money in major units; the unit is the upper-case currency code.
    Money,
    /// A duration; unit `seconds`.
    Seconds,
    /// A score on the upstream's own scale (NPS, stars); unit `score`.
    Score,
    /// Any other quotient (actions per user); unit `number`.
    Number,
}

impl UnitKind {
    /// The stored unit; money KPIs store their currency code instead.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Count => "count",
            UnitKind::Ratio => "ratio",
            UnitKind::Money => "money",
            UnitKind::Seconds => "seconds",
            UnitKind::Score => "score",
            UnitKind::Number => "number",
        }
    }
}

/// One input of a KPI, for `--explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Rows of a warehouse table: which ones and which columns.
    Table {
        /// The table (`stripe_charges`).
        table: &'static str,
        /// The rows and columns read, in a few words.
        what: &'static str,
    },
    /// Entries of the `metrics` table.
    Metric {
        /// The `source` column (`manual`).
        source: &'static str,
        /// The `metric` column (`marketing_spend`).
        metric: &'static str,
    },
    /// Another KPI of the same grain and period, declared earlier in the catalog.
    Kpi(&'static str),
}

impl fmt::Display for Input {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Table { table, what } => write!(formatter, "{table}: {what}"),
            Input::Metric { source, metric } => {
                write!(formatter, "{METRICS}: source {source}, metric {metric}")
            }
            Input::Kpi(id) => write!(formatter, "KPI {id}"),
        }
    }
}

/// Computes one KPI's series for one grain.
pub(crate) type ComputeFn = fn(&Frame<'_>) -> Vec<Series>;

/// The declaration of one KPI.
#[derive(Debug, Clone, Copy)]
pub struct KpiDef {
    /// The id stored in `kpis.kpi` (`revenue.gross`).
    pub id: &'static str,
    /// Its funnel stage.
    pub stage: Stage,
    /// What kind of number it is.
    pub unit: UnitKind,
    /// The definition as computed, in one or two sentences.
    pub formula: &'static str,
    /// The warehouse tables it reads (or, for a KPI not computed yet, the upstreams that will
    /// feed it).
    pub sources: &'static [&'static str],
    /// Its inputs in detail; empty for a KPI not computed yet.
    pub inputs: &'static [Input],
    /// Whether kpisync computes it now.
    pub computed: bool,
    pub(crate) compute: Option<ComputeFn>,
}

/// Every KPI of `KPIS.md`, in its order.
pub fn catalog() -> &'static [KpiDef] {
    &CATALOG
}

/// A KPI whose inputs are not synced yet.
const fn planned(
    id: &'static str,
    stage: Stage,
    unit: UnitKind,
    formula: &'static str,
    sources: &'static [&'static str],
) -> KpiDef {
    KpiDef {
        id,
        stage,
        unit,
        formula,
        sources,
        inputs: &[],
        computed: false,
        compute: None,
    }
}

/// A KPI kpisync computes.
const fn computed(
    id: &'static str,
    stage: Stage,
    unit: UnitKind,
    formula: &'static str,
    sources: &'static [&'static str],
    inputs: &'static [Input],
    compute: ComputeFn,
) -> KpiDef {
    KpiDef {
        id,
        stage,
        unit,
        formula,
        sources,
        inputs,
        computed: true,
        compute: Some(compute),
    }
}
