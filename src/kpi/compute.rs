//! The compute functions of the catalog: each turns one grain's [`Frame`] into the series of
//! one KPI. Money stays in integer minor units until the value is written, where it is
//! divided once by the currency's exponent. The business currency gets a row for every period
//! its source covers, with dimension `''`; another currency gets `currency=<code>` rows only where
//! it has data, so amounts in different currencies are never added together.

use std::collections::{BTreeMap, BTreeSet};

use connectors::stripe::currency_exponent;

use super::manual::METRICS;
use super::stripe::{BALANCE_TRANSACTIONS as BT, CHARGES, Flow, SUBSCRIPTIONS, Stock, StripeFrame};
use super::{BusinessModel, Cell, Frame, Grain, Series};

/// Minor units to major units: one division, so `1234` KWD is exactly the double nearest
/// `1.234`.
fn major(minor: i64, currency: &str) -> f64 {
    minor as f64 / 10f64.powi(currency_exponent(currency) as i32)
}

/// The `dimension` of a money series: `''` for the business currency.
fn currency_dimension(frame: &Frame<'_>, currency: &str) -> String {
    if currency == frame.settings.currency {
        String::new()
    } else {
        format!("currency={currency}")
    }
}

/// A series over the calendar, with a row in `covered` periods where `cell` gives one.
fn series(
    frame: &Frame<'_>,
    covered: std::ops::Range<usize>,
    dimension: String,
    unit: &str,
    sources: &str,
    mut cell: impl FnMut(usize) -> Option<Cell>,
) -> Series {
    let mut cells = vec![None; frame.calendar.len()];
    for index in covered {
        cells[index] = cell(index);
    }
    Series {
        dimension,
        unit: unit.to_owned(),
        sources: sources.to_owned(),
        cells,
    }
}

/// One series per currency: the business currency's over every covered period (`cell` gets
/// `true` there), the others' only where `cell` finds data (it gets `false`).
fn per_currency<'c>(
    frame: &Frame<'_>,
    stripe: &StripeFrame,
    currencies: impl IntoIterator<Item = &'c String>,
    sources: &str,
    mut cell: impl FnMut(&str, usize, bool) -> Option<Cell>,
) -> Vec<Series> {
    let business = &frame.settings.currency;
    let mut codes: BTreeSet<&str> = currencies.into_iter().map(String::as_str).collect();
    codes.insert(business);
    let mut all = Vec::new();
    for code in codes {
        let is_business = code == business;
        let dimension = currency_dimension(frame, code);
        let covered = stripe.covered.clone();
        all.push(series(frame, covered, dimension, code, sources, |index| {
            cell(code, index, is_business)
        }));
    }
    all
}

/// Money summed per currency and period.
fn money(frame: &Frame<'_>, flows: &BTreeMap<String, Flow>) -> Vec<Series> {
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    per_currency(
        frame,
        stripe,
        flows.keys(),
        BT,
        |code, index, is_business| {
            let flow = flows.get(code);
            let has_data = flow.is_some_and(|flow| flow.objects[index] > 0);
            let minor = flow.map_or(0, |flow| flow.minor[index]);
            (is_business || has_data).then(|| Cell::plain(major(minor, code)))
        },
    )
}

/// A count per covered period.
fn counts(
    frame: &Frame<'_>,
    values: impl Fn(&StripeFrame) -> &[i64],
    sources: &str,
) -> Vec<Series> {
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    let values = values(stripe);
    let cell = |index: usize| Some(Cell::plain(values[index] as f64));
    vec![series(
        frame,
        stripe.covered.clone(),
        String::new(),
        "count",
        sources,
        cell,
    )]
}

/// A ratio of two counts per covered period.
fn ratios(frame: &Frame<'_>, numerators: &[i64], denominators: &[i64], sources: &str) -> Series {
    let covered = frame.stripe.map_or(0..0, |stripe| stripe.covered.clone());
    series(frame, covered, String::new(), "ratio", sources, |index| {
        Some(Cell::ratio(
            Some(numerators[index] as f64),
            Some(denominators[index] as f64),
        ))
    })
}

/// A ratio from two Stripe vectors, or nothing without Stripe data.
fn stripe_ratio(
    frame: &Frame<'_>,
    parts: impl Fn(&StripeFrame) -> (&[i64], &[i64]),
    sources: &str,
) -> Vec<Series> {
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    let (numerators, denominators) = parts(stripe);
    vec![ratios(frame, numerators, denominators, sources)]
}

/// `acquisition.free_signups`: Stripe's free-plan and trial subscriptions when Stripe holds
/// any, else the GA4 sign-up event (`connectors.ga4.signup_event`). A business whose free plan
/// lives outside Stripe shows zero free subscriptions there, which is not its sign-up count.
pub fn free_signups(frame: &Frame<'_>) -> Vec<Series> {
    let from_stripe = counts(frame, |stripe| &stripe.free_signups, SUBSCRIPTIONS);
    let stripe_has_any = frame
        .stripe
        .is_some_and(|stripe| stripe.free_signups.iter().any(|count| *count > 0));
    if stripe_has_any {
        return from_stripe;
    }
    let from_ga4 = super::ga4::count(frame, "sign_ups");
    if from_ga4.is_empty() {
        from_stripe
    } else {
        from_ga4
    }
}

/// `conversion.orders`.
pub fn orders(frame: &Frame<'_>) -> Vec<Series> {
    counts(frame, |stripe| &stripe.orders, CHARGES)
}

/// `conversion.new_subscriptions`.
pub fn new_subscriptions(frame: &Frame<'_>) -> Vec<Series> {
    counts(frame, |stripe| &stripe.new_subscriptions, SUBSCRIPTIONS)
}

/// `engagement.active_subscriptions`.
pub fn active_subscriptions(frame: &Frame<'_>) -> Vec<Series> {
    counts(frame, |stripe| &stripe.active_end, SUBSCRIPTIONS)
}

/// `engagement.churn_rate`.
pub fn churn_rate(frame: &Frame<'_>) -> Vec<Series> {
    stripe_ratio(
        frame,
        |stripe| (&stripe.churned, &stripe.active_start),
        SUBSCRIPTIONS,
    )
}

/// `engagement.retention_rate`: the retained share of the churn rate's denominator.
pub fn retention_rate(frame: &Frame<'_>) -> Vec<Series> {
    let churn = frame.earlier("engagement.churn_rate");
    churn
        .iter()
        .map(|churn| {
            let cells = churn
                .cells
                .iter()
                .map(|cell| {
                    cell.map(|cell| {
                        let retained = cell
                            .denominator
                            .zip(cell.numerator)
                            .map(|(all, lost)| all - lost);
                        Cell::ratio(retained, cell.denominator)
                    })
                })
                .collect();
            Series {
                cells,
                ..churn.clone()
            }
        })
        .collect()
}

/// `engagement.subscriber_growth`.
pub fn subscriber_growth(frame: &Frame<'_>) -> Vec<Series> {
    stripe_ratio(
        frame,
        |stripe| (&stripe.active_end, &stripe.active_start),
        SUBSCRIPTIONS,
    )
}

/// `revenue.gross`.
pub fn gross(frame: &Frame<'_>) -> Vec<Series> {
    frame
        .stripe
        .map_or_else(Vec::new, |stripe| money(frame, &stripe.gross))
}

/// `revenue.refunds`.
pub fn refunds(frame: &Frame<'_>) -> Vec<Series> {
    frame
        .stripe
        .map_or_else(Vec::new, |stripe| money(frame, &stripe.refunds))
}

/// `revenue.fees`.
pub fn fees(frame: &Frame<'_>) -> Vec<Series> {
    frame
        .stripe
        .map_or_else(Vec::new, |stripe| money(frame, &stripe.fees))
}

/// Gross minus refunds per currency, in minor units, with the objects of both.
fn net_flows(stripe: &StripeFrame, periods: usize) -> BTreeMap<String, Flow> {
    let codes: BTreeSet<&String> = stripe.gross.keys().chain(stripe.refunds.keys()).collect();
    let zero = Flow::zero(periods);
    codes
        .into_iter()
        .map(|code| {
            let gross = stripe.gross.get(code).unwrap_or(&zero);
            let refunds = stripe.refunds.get(code).unwrap_or(&zero);
            (code.clone(), gross.minus(refunds))
        })
        .collect()
}

/// `revenue.net`: from the integer sums, so that it is exactly gross - refunds.
pub fn net(frame: &Frame<'_>) -> Vec<Series> {
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    money(frame, &net_flows(stripe, frame.calendar.len()))
}

/// `revenue.average_basket`: per settlement currency, gross over the orders settled in it.
pub fn average_basket(frame: &Frame<'_>) -> Vec<Series> {
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    let currencies = stripe.gross.keys().chain(stripe.settled_orders.keys());
    let sources = [BT, CHARGES].join(",");
    per_currency(
        frame,
        stripe,
        currencies,
        &sources,
        |code, index, is_business| {
            let gross = stripe
                .gross
                .get(code)
                .map_or((0, 0), |flow| (flow.minor[index], flow.objects[index]));
            let orders = stripe
                .settled_orders
                .get(code)
                .map_or(0, |orders| orders[index]);
            (is_business || gross.1 > 0 || orders > 0)
                .then(|| Cell::ratio(Some(major(gross.0, code)), Some(orders as f64)))
        },
    )
}

/// `revenue.mrr`.
pub fn mrr(frame: &Frame<'_>) -> Vec<Series> {
    per_subscription_currency(frame, |stock, code| Cell::plain(major(stock.minor, code)))
}

/// `revenue.arpu`: per currency, MRR over the active subscriptions billed in it.
pub fn arpu(frame: &Frame<'_>) -> Vec<Series> {
    per_subscription_currency(frame, |stock, code| {
        Cell::ratio(
            Some(major(stock.minor, code)),
            Some(stock.subscriptions as f64),
        )
    })
}

/// A KPI of the active subscriptions at each period's end, one series per currency they are
/// billed in: the business currency always, another where some subscription is billed in it.
fn per_subscription_currency(frame: &Frame<'_>, cell: impl Fn(Stock, &str) -> Cell) -> Vec<Series> {
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    per_currency(
        frame,
        stripe,
        stripe.mrr.keys(),
        SUBSCRIPTIONS,
        |code, index, is_business| {
            let stock = stripe
                .mrr
                .get(code)
                .map(|stocks| stocks[index])
                .unwrap_or_default();
            (is_business || stock.subscriptions > 0).then(|| cell(stock, code))
        },
    )
}

/// `revenue.repeat_purchase_rate`.
pub fn repeat_purchase_rate(frame: &Frame<'_>) -> Vec<Series> {
    stripe_ratio(
        frame,
        |stripe| (&stripe.repeat_buyers, &stripe.buyers),
        CHARGES,
    )
}

/// `revenue.ltv`: ARPU over churn for subscriptions (monthly only, where churn is a monthly
/// rate), lifetime net revenue per paying buyer for the other models.
pub fn ltv(frame: &Frame<'_>) -> Vec<Series> {
    if frame.settings.model == BusinessModel::Saas {
        return subscription_ltv(frame);
    }
    let Some(stripe) = frame.stripe else {
        return Vec::new();
    };
    let lifetime: BTreeMap<String, Flow> = net_flows(stripe, frame.calendar.len())
        .into_iter()
        .map(|(code, flow)| (code, flow.cumulative()))
        .collect();
    let currencies = lifetime.keys().chain(stripe.settled_buyers.keys());
    let sources = [BT, CHARGES].join(",");
    per_currency(
        frame,
        stripe,
        currencies,
        &sources,
        |code, index, is_business| {
            let (minor, objects) = lifetime
                .get(code)
                .map_or((0, 0), |flow| (flow.minor[index], flow.objects[index]));
            let buyers = stripe
                .settled_buyers
                .get(code)
                .map_or(0, |buyers| buyers[index]);
            (is_business || objects > 0 || buyers > 0)
                .then(|| Cell::ratio(Some(major(minor, code)), Some(buyers as f64)))
        },
    )
}

fn subscription_ltv(frame: &Frame<'_>) -> Vec<Series> {
    if frame.grain() != Grain::Month {
        return Vec::new();
    }
    let churn = frame
        .earlier("engagement.churn_rate")
        .iter()
        .find(|churn| churn.dimension.is_empty());
    frame
        .earlier("revenue.arpu")
        .iter()
        .map(|arpu| {
            let cells = (0..frame.calendar.len())
                .map(|index| {
                    let arpu = arpu.at(index)?;
                    let churn = churn
                        .and_then(|churn| churn.at(index))
                        .and_then(|cell| cell.value);
                    Some(Cell::ratio(arpu.value, churn))
                })
                .collect();
            Series {
                cells,
                ..arpu.clone()
            }
        })
        .collect()
}

/// `revenue.marketing_spend`: the manual entries, where there are some.
pub fn marketing_spend(frame: &Frame<'_>) -> Vec<Series> {
    frame
        .manual
        .marketing_spend
        .iter()
        .map(|(code, values)| Series {
            dimension: currency_dimension(frame, code),
            unit: code.clone(),
            sources: METRICS.to_owned(),
            cells: values.iter().map(|value| value.map(Cell::plain)).collect(),
        })
        .collect()
}

/// `revenue.cost_per_sale`: spend over orders, or over new subscriptions for saas; NULL
/// where there were none or Stripe does not cover the period.
pub fn cost_per_sale(frame: &Frame<'_>) -> Vec<Series> {
    let (sales, table) = match frame.settings.model {
        BusinessModel::Saas => ("conversion.new_subscriptions", SUBSCRIPTIONS),
        _ => ("conversion.orders", CHARGES),
    };
    let sales = frame.earlier(sales).first();
    let sources = [METRICS, table].join(",");
    frame
        .earlier("revenue.marketing_spend")
        .iter()
        .map(|spend| {
            let cells = (0..frame.calendar.len())
                .map(|index| {
                    let spend = spend.at(index)?;
                    let sales = sales
                        .and_then(|sales| sales.at(index))
                        .and_then(|cell| cell.value);
                    Some(Cell::ratio(spend.value, sales))
                })
                .collect();
            Series {
                cells,
                sources: sources.clone(),
                ..spend.clone()
            }
        })
        .collect()
}
