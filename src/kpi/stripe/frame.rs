//! Stripe's per-period aggregates for one grain: money flows per currency in minor units,
//! order and subscription counts, and point-in-time stocks (active subscriptions, MRR,
//! buyers). Compute functions turn them into KPI series; nothing here knows about KPI ids.

use std::collections::BTreeMap;
use std::ops::Range;

use super::StripeData;
use crate::kpi::periods::Calendar;

/// A sum of money over each period, in minor units, and how many objects made it up (a
/// currency with no object in a period produces no row there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flow {
    /// Per period, minor units.
    pub minor: Vec<i64>,
    /// Per period, how many objects were summed.
    pub objects: Vec<u32>,
}

impl Flow {
    /// A flow of zeros over `periods` periods.
    pub fn zero(periods: usize) -> Flow {
        Flow {
            minor: vec![0; periods],
            objects: vec![0; periods],
        }
    }

    /// Adds `objects` objects summing to `minor` to period `index`.
    fn add_sum(&mut self, index: usize, (minor, objects): (i64, u32)) {
        self.minor[index] += minor;
        self.objects[index] += objects;
    }

    /// `self - other`, period by period.
    pub fn minus(&self, other: &Flow) -> Flow {
        let pairs = self.minor.iter().zip(&other.minor);
        let counts = self.objects.iter().zip(&other.objects);
        Flow {
            minor: pairs.map(|(left, right)| left - right).collect(),
            objects: counts.map(|(left, right)| left + right).collect(),
        }
    }

    /// Running totals from the first period: lifetime-to-date at the end of each period.
    pub fn cumulative(&self) -> Flow {
        let mut total = Flow::zero(self.minor.len());
        let (mut minor, mut objects) = (0, 0);
        for index in 0..self.minor.len() {
            minor += self.minor[index];
            objects += self.objects[index];
            total.minor[index] = minor;
            total.objects[index] = objects;
        }
        total
    }
}

/// Subscriptions active at one instant and their summed monthly amounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stock {
    /// Active paid subscriptions.
    pub subscriptions: i64,
    /// Sum of their monthly amounts, minor units.
    pub minor: i64,
}

/// Stripe's numbers for every period of one grain's calendar. Vectors are indexed by period;
/// maps are keyed by upper-case currency code.
#[derive(Debug)]
pub(crate) struct StripeFrame {
    /// The periods Stripe data covers: from the first holding any Stripe object to the one
    /// containing now. Only these get Stripe rows.
    pub covered: Range<usize>,
    /// Balance transactions of type charge or payment: amount.
    pub gross: BTreeMap<String, Flow>,
    /// Balance transactions of type refund or payment_refund: minus amount (positive).
    pub refunds: BTreeMap<String, Flow>,
    /// Every balance transaction: fee.
    pub fees: BTreeMap<String, Flow>,
    /// Orders, by charge creation.
    pub orders: Vec<i64>,
    /// Orders whose balance transaction is stored, by its (settlement) currency.
    pub settled_orders: BTreeMap<String, Vec<i64>>,
    /// Paid subscriptions active at the period start.
    pub active_start: Vec<i64>,
    /// Paid subscriptions active at the period end (or now, for the current period).
    pub active_end: Vec<i64>,
    /// Subscriptions active at the period start that ended within the period.
    pub churned: Vec<i64>,
    /// Paid subscriptions whose paying started in the period (up to now).
    pub new_subscriptions: Vec<i64>,
    /// Subscriptions created in the period on a free plan or with a trial.
    pub free_signups: Vec<i64>,
    /// Active paid subscriptions at the period end and their monthly amounts, per currency.
    pub mrr: BTreeMap<String, Vec<Stock>>,
    /// Buyers with at least one order before the period end.
    pub buyers: Vec<i64>,
    /// Buyers with at least two orders before the period end.
    pub repeat_buyers: Vec<i64>,
    /// Buyers with a settled order in the currency before the period end.
    pub settled_buyers: BTreeMap<String, Vec<i64>>,
}

impl StripeData {
    /// The aggregates for `calendar`, or `None` when no Stripe data falls in it before `now`.
    pub fn frame(&self, calendar: &Calendar, now: i64) -> Option<StripeFrame> {
        let first = self.first.filter(|first| *first <= now)?;
        let covered = calendar.index_of(first)?..calendar.index_of(now)? + 1;
        let periods = calendar.len();
        let mut frame = StripeFrame {
            covered,
            gross: BTreeMap::new(),
            refunds: BTreeMap::new(),
            fees: BTreeMap::new(),
            orders: vec![0; periods],
            settled_orders: BTreeMap::new(),
            active_start: vec![0; periods],
            active_end: vec![0; periods],
            churned: vec![0; periods],
            new_subscriptions: vec![0; periods],
            free_signups: vec![0; periods],
            mrr: BTreeMap::new(),
            buyers: vec![0; periods],
            repeat_buyers: vec![0; periods],
            settled_buyers: BTreeMap::new(),
        };
        self.add_movements(calendar, &mut frame);
        self.add_orders(calendar, &mut frame);
        self.add_subscription_events(calendar, now, &mut frame);
        self.add_stocks(calendar, now, &mut frame);
        Some(frame)
    }

    fn add_movements(&self, calendar: &Calendar, frame: &mut StripeFrame) {
        let periods = calendar.len();
        let mut gross = vec![Flow::zero(periods); self.currencies.len()];
        let mut refunds = gross.clone();
        let mut fees = gross.clone();
        for day in self.days.values() {
            // Period bounds are day starts, so a day lies wholly inside one period.
            let Some(index) = calendar.index_of(day.start) else {
                continue;
            };
            for (currency, money) in day.money.iter().enumerate() {
                gross[currency].add_sum(index, money.gross);
                refunds[currency].add_sum(index, money.refunds);
                fees[currency].add_sum(index, money.fees);
            }
        }
        frame.gross = self.flows_by_code(gross);
        frame.refunds = self.flows_by_code(refunds);
        frame.fees = self.flows_by_code(fees);
    }

    fn add_orders(&self, calendar: &Calendar, frame: &mut StripeFrame) {
        let mut settled = vec![vec![0; calendar.len()]; self.currencies.len()];
        for day in self.days.values() {
            let Some(index) = calendar.index_of(day.start) else {
                continue;
            };
            frame.orders[index] += day.orders;
            for (currency, money) in day.money.iter().enumerate() {
                settled[currency][index] += money.settled_orders;
            }
        }
        frame.settled_orders = self.by_code(settled);
    }

    fn add_subscription_events(&self, calendar: &Calendar, now: i64, frame: &mut StripeFrame) {
        for subscription in &self.subscriptions {
            if subscription.free_signup
                && let Some(index) = subscription.created.and_then(|at| calendar.index_of(at))
            {
                frame.free_signups[index] += 1;
            }
            let Some(start) = subscription.paid_start.filter(|_| subscription.paid) else {
                continue;
            };
            if subscription.end.is_some_and(|end| end <= start) {
                continue;
            }
            if start <= now
                && let Some(index) = calendar.index_of(start)
            {
                frame.new_subscriptions[index] += 1;
            }
            // Churned in the period that closes at or after its end, if it was already
            // paying when that period began (so it was counted in the period's start stock).
            if let Some(index) = subscription.end.and_then(|end| calendar.index_of_end(end))
                && start <= calendar.start(index)
            {
                frame.churned[index] += 1;
            }
        }
    }

    fn add_stocks(&self, calendar: &Calendar, now: i64, frame: &mut StripeFrame) {
        let mut mrr = vec![vec![Stock::default(); calendar.len()]; self.currencies.len()];
        let mut settled = vec![vec![0; calendar.len()]; self.currencies.len()];
        let mut days = self.days.values().peekable();
        let (mut buyers, mut repeat_buyers) = (0, 0);
        let mut settled_buyers = vec![0; self.currencies.len()];
        for index in frame.covered.clone() {
            let start = calendar.start(index);
            // A period not over yet is measured as it stands now.
            let end = calendar.end(index).min(now);
            frame.active_start[index] = self.active.at(start).0;
            frame.active_end[index] = self.active.at(end).0;
            for (currency, intervals) in self.active_by_currency.iter().enumerate() {
                let (subscriptions, minor) = intervals.at(end);
                mrr[currency][index] = Stock {
                    subscriptions,
                    minor,
                };
            }

            // Buyers whose first (second...) order came before the period's end: the running
            // sums of the days that start before it (the end is a day start).
            let end = calendar.end(index);
            while let Some(day) = days.next_if(|day| day.start < end) {
                buyers += day.first_buyers;
                repeat_buyers += day.second_buyers;
                for (currency, money) in day.money.iter().enumerate() {
                    settled_buyers[currency] += money.first_settled_buyers;
                }
            }
            frame.buyers[index] = buyers;
            frame.repeat_buyers[index] = repeat_buyers;
            for (currency, count) in settled_buyers.iter().enumerate() {
                settled[currency][index] = *count;
            }
        }
        frame.mrr = self.by_code(mrr);
        frame.settled_buyers = self.by_code(settled);
    }

    /// Keys per-currency values by code, leaving out currencies with nothing in them.
    fn by_code<T: Default + PartialEq>(&self, values: Vec<Vec<T>>) -> BTreeMap<String, Vec<T>> {
        let codes = self.currencies.iter().cloned();
        values
            .into_iter()
            .zip(codes)
            .filter(|(per_period, _)| per_period.iter().any(|value| *value != T::default()))
            .map(|(per_period, code)| (code, per_period))
            .collect()
    }

    /// Keys flows by currency code, leaving out currencies without any object.
    fn flows_by_code(&self, flows: Vec<Flow>) -> BTreeMap<String, Flow> {
        let codes = self.currencies.iter().cloned();
        flows
            .into_iter()
            .zip(codes)
            .filter(|(flow, _)| flow.objects.iter().any(|count| *count > 0))
            .map(|(flow, code)| (code, flow))
            .collect()
    }
}
