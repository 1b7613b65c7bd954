//! `Dataset::demo`: a plausible small shop for `kpisync demo` — about 120 days of customers,
//! one-off and subscription charges in a few currencies, refunds, subscriptions with trials,
//! free plans and cancellations, their invoices, and the events of the last 20 days.
//! Everything comes from one seeded generator, so a given (anchor, seed) always yields the same
//! bytes.

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Resource;
use super::builders::{self, add_interval};
use super::dataset::Dataset;

const DAY: i64 = 86_400;
const DEMO_DAYS: i64 = 120;
const EVENT_DAYS: i64 = 20;
const CUSTOMERS: usize = 60;
const SUBSCRIPTIONS: usize = 40;
const CHARGES: usize = 400;
const CANCELLATIONS: usize = 6;
const OPEN_TRIALS: usize = 2;
const REFUND_PERCENT: u32 = 6;
const FAILED_PERCENT: u32 = 4;
const GUEST_PERCENT: u32 = 12;
const USD_PERCENT: u32 = 10;

const FIRST_NAMES: [&str; 16] = [
    "anna", "ben", "clara", "david", "elif", "felix", "greta", "hugo", "ines", "jonas", "karla",
    "leon", "mira", "noah", "olga", "paul",
];
const LAST_NAMES: [&str; 12] = [
    "weber", "novak", "rossi", "meyer", "silva", "berg", "kowalski", "dubois", "jansen", "costa",
    "lind", "horvat",
];

/// A subscription plan: monthly or yearly price in EUR cents, and whether it starts on a
/// 14-day trial.
#[derive(Debug, Clone, Copy)]
struct Plan {
    unit_amount: i64,
    interval: &'static str,
    trial: bool,
}

impl Dataset {
    /// A realistic shop over the 120 days ending at `anchor`: ~60 customers, ~400 charges
    /// (some failed, some in USD and two in JPY, some by guests; settled in EUR), refunds on
    /// ~5% of one-off charges, ~40 subscriptions (monthly and yearly, trials, free plans, six
    /// cancellations) with their invoices and charges, and events for the changes of the last
    /// 20 days. The clock is set to `anchor`. Same `(anchor, seed)`, same JSON.
    pub fn demo(anchor: Timestamp, seed: u64) -> Dataset {
        let mut demo = Demo::new(anchor, seed);
        demo.add_customers();
        demo.add_subscriptions();
        demo.add_one_off_charges();
        demo.add_refunds();
        demo.finish(anchor)
    }
}

/// Something that happened to an object, to become an event if recent enough.
struct Change {
    at: i64,
    event_type: &'static str,
    resource: Resource,
    id: String,
}

/// A succeeded one-off charge that may get refunded.
struct Sale {
    id: String,
    at: i64,
    amount: i64,
    currency: &'static str,
    rate: Option<f64>,
}

struct Buyer {
    id: Option<String>,
    email: String,
}

struct Demo {
    rng: Rng,
    start: i64,
    end: i64,
    data: Dataset,
    customers: Vec<(String, i64, String)>,
    sales: Vec<Sale>,
    changes: Vec<Change>,
    subscription_charges: usize,
}

impl Demo {
    fn new(anchor: Timestamp, seed: u64) -> Demo {
        let end = anchor.as_second();
        Demo {
            rng: Rng::with_seed(seed),
            start: end - DEMO_DAYS * DAY,
            end,
            data: Dataset::empty(),
            customers: Vec::new(),
            sales: Vec::new(),
            changes: Vec::new(),
            subscription_charges: 0,
        }
    }

    /// A Stripe-looking id: the prefix and 24 base-62 characters.
    fn new_id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let body: String = (0..24)
            .map(|_| char::from(ALPHABET[self.rng.usize(..ALPHABET.len())]))
            .collect();
        format!("{prefix}_{body}")
    }

    fn change(&mut self, at: i64, event_type: &'static str, resource: Resource, id: &str) {
        self.changes.push(Change {
            at,
            event_type,
            resource,
            id: id.to_owned(),
        });
    }

    /// Rewrites a stored object in place, without an event (the generator records changes
    /// itself and turns them into events at the end).
    fn modify(&mut self, resource: Resource, id: &str, change: impl FnOnce(&mut Value)) {
        if let Some(mut object) = self.data.get(resource, id).cloned() {
            change(&mut object);
            self.data.insert(resource, object);
        }
    }

    fn add_customers(&mut self) {
        let mut created: Vec<i64> = (0..CUSTOMERS)
            .map(|_| self.start + self.rng.i64(0..(DEMO_DAYS - 1) * DAY))
            .collect();
        created.sort_unstable();

        for (n, at) in created.into_iter().enumerate() {
            let first = FIRST_NAMES[self.rng.usize(..FIRST_NAMES.len())];
            let last = LAST_NAMES[self.rng.usize(..LAST_NAMES.len())];
            let mut email = format!("{first}.{last}@example.com");
            if self.customers.iter().any(|(_, _, taken)| *taken == email) {
                email = format!("{first}.{last}{n}@example.com");
            }
            let id = self.new_id("cus");
            self.data
                .insert(Resource::Customers, builders::customer(&id, ts(at), &email));
            self.change(at, "customer.created", Resource::Customers, &id);
            self.customers.push((id, at, email));
        }
    }

    fn plans(&mut self) -> Vec<Plan> {
        let monthly = |unit_amount, trial| Plan {
            unit_amount,
            interval: "month",
            trial,
        };
        let mut plans = Vec::with_capacity(SUBSCRIPTIONS);
        plans.extend((0..4).map(|_| Plan {
            unit_amount: 49_000,
            interval: "year",
            trial: false,
        }));
        plans.extend((0..5).map(|_| monthly(0, false)));
        plans.extend((0..6).map(|_| monthly(1_900, true)));
        let tiers = [1_900, 4_900, 9_900];
        while plans.len() < SUBSCRIPTIONS {
            plans.push(monthly(tiers[plans.len() % tiers.len()], false));
        }
        self.rng.shuffle(&mut plans);
        plans
    }

    fn add_subscriptions(&mut self) {
        let mut subscribers: Vec<usize> = (0..self.customers.len()).collect();
        self.rng.shuffle(&mut subscribers);
        let plans = self.plans();
        let mut cancellations = 0;
        let mut open_trials = 0;

        for (plan, index) in plans.into_iter().zip(subscribers) {
            let (customer, joined, email) = self.customers[index].clone();
            let mut created = joined + self.rng.i64(60..2 * 3_600);
            // A couple of trials start late (customers often try long after signing up), so
            // the demo has subscriptions still trialing at the anchor.
            if plan.trial && open_trials < OPEN_TRIALS {
                created = created.max(self.end - self.rng.i64(2 * DAY..12 * DAY));
                open_trials += 1;
            }
            // Paid monthly plans old enough to have renewed once are the ones that churn.
            let cancel_at = (cancellations < CANCELLATIONS
                && plan.interval == "month"
                && plan.unit_amount > 0
                && !plan.trial
                && created + 40 * DAY < self.end)
                .then(|| created + self.rng.i64(32 * DAY..(self.end - created).min(90 * DAY)));
            cancellations += usize::from(cancel_at.is_some());
            let buyer = Buyer {
                id: Some(customer),
                email,
            };
            self.add_subscription(&buyer, created, plan, cancel_at);
        }
    }

    fn add_subscription(&mut self, buyer: &Buyer, created: i64, plan: Plan, cancel: Option<i64>) {
        let id = self.new_id("sub");
        let customer = buyer.id.as_deref().unwrap_or_default();
        let mut sub = builders::subscription(
            &id,
            customer,
            ts(created),
            plan.unit_amount,
            "eur",
            plan.interval,
        );
        let billing_start = if plan.trial {
            let trial_end = created + 14 * DAY;
            builders::start_trial(&mut sub, ts(trial_end));
            if trial_end <= self.end {
                sub["status"] = json!("active");
            }
            trial_end
        } else {
            created
        };
        self.change(
            created,
            "customer.subscription.created",
            Resource::Subscriptions,
            &id,
        );

        // Walk the billing periods up to the cancellation or the anchor, invoicing each.
        let stop = cancel.unwrap_or(self.end);
        let mut latest_invoice = None;
        if plan.trial && plan.unit_amount > 0 {
            let reason = "subscription_create";
            latest_invoice = Some(self.add_invoice(buyer, &id, created, 0, reason));
        }
        let mut period_start = billing_start;
        let mut current_period = None;
        while period_start <= stop {
            let period_end = add_interval(ts(period_start), plan.interval, 1).as_second();
            if plan.unit_amount > 0 {
                let reason = if current_period.is_none() && !plan.trial {
                    "subscription_create"
                } else {
                    "subscription_cycle"
                };
                let amount = plan.unit_amount;
                latest_invoice = Some(self.add_invoice(buyer, &id, period_start, amount, reason));
            }
            current_period = Some((period_start, period_end));
            period_start = period_end;
        }

        // A subscription still in its trial keeps the trial as its period.
        if let (Some((start, end)), Some(item)) = (current_period, sub.pointer_mut("/items/data/0"))
        {
            item["current_period_start"] = json!(start);
            item["current_period_end"] = json!(end);
        }
        sub["latest_invoice"] = json!(latest_invoice);
        if let Some(at) = cancel {
            builders::cancel_subscription(&mut sub, ts(at));
            self.change(
                at,
                "customer.subscription.deleted",
                Resource::Subscriptions,
                &id,
            );
        }
        self.data.insert(Resource::Subscriptions, sub);
    }

    /// A paid invoice, with the charge that paid it when the amount is not zero.
    fn add_invoice(
        &mut self,
        buyer: &Buyer,
        subscription: &str,
        at: i64,
        amount: i64,
        reason: &str,
    ) -> String {
        let id = self.new_id("in");
        let customer = buyer.id.as_deref().unwrap_or_default();
        let mut invoice = builders::invoice(
            &id,
            customer,
            Some(subscription),
            ts(at),
            amount,
            "eur",
            "paid",
        );
        invoice["billing_reason"] = json!(reason);
        invoice["customer_email"] = json!(buyer.email);
        self.data.insert(Resource::Invoices, invoice);
        self.change(at, "invoice.paid", Resource::Invoices, &id);

        if amount > 0 {
            let description = if reason == "subscription_create" {
                "Subscription creation"
            } else {
                "Subscription update"
            };
            // The card is charged a few seconds after the invoice is finalized.
            let charged_at = at + 5;
            self.add_charge(buyer, charged_at, amount, "eur", "succeeded", description);
            self.subscription_charges += 1;
        }
        id
    }

    /// A charge and, if it succeeded, its balance transaction settled in EUR. Returns the
    /// charge id and the exchange rate used.
    fn add_charge(
        &mut self,
        buyer: &Buyer,
        at: i64,
        amount: i64,
        currency: &'static str,
        status: &str,
        description: &str,
    ) -> (String, Option<f64>) {
        let id = self.new_id("ch");
        let mut charge =
            builders::charge(&id, buyer.id.as_deref(), ts(at), amount, currency, status);
        charge["billing_details"]["email"] = json!(buyer.email);
        charge["description"] = json!(description);

        let succeeded = status == "succeeded";
        let (settled, rate) = self.convert(amount, currency);
        if succeeded {
            charge["receipt_email"] = json!(buyer.email);
            let txn = self.new_id("txn");
            let fee = settlement_fee(settled, rate.is_some());
            builders::link_balance_transaction(&mut charge, &txn);
            self.add_balance_transaction(&txn, &id, at, settled, fee, rate, "charge");
        }
        self.data.insert(Resource::Charges, charge);
        let event_type = if succeeded {
            "charge.succeeded"
        } else {
            "charge.failed"
        };
        self.change(at, event_type, Resource::Charges, &id);
        (id, rate)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_balance_transaction(
        &mut self,
        id: &str,
        source: &str,
        at: i64,
        amount: i64,
        fee: i64,
        rate: Option<f64>,
        kind: &str,
    ) {
        let mut bt = builders::balance_transaction(id, source, ts(at), amount, fee, "eur", kind);
        bt["exchange_rate"] = json!(rate);
        if bt["available_on"].as_i64().is_some_and(|on| on > self.end) {
            bt["status"] = json!("pending");
        }
        self.data.insert(Resource::BalanceTransactions, bt);
    }

    /// `amount` in EUR cents, with the exchange rate when it was converted.
    fn convert(&mut self, amount: i64, currency: &str) -> (i64, Option<f64>) {
        // Rates are drawn with four decimals, as Stripe reports them.
        let (base, minor_units_factor) = match currency {
            "usd" => (0.91, 1.0),
            "jpy" => (0.0061, 100.0),
            _ => return (amount, None),
        };
        let jitter = f64::from(self.rng.u32(0..400)) / 10_000.0 * base / 0.91;
        let rate = ((base + jitter) * 1e6).round() / 1e6;
        let settled = (amount as f64 * rate * minor_units_factor).round() as i64;
        (settled, Some(rate))
    }

    fn pick_buyer(&mut self, at: i64) -> Buyer {
        let eligible: Vec<usize> = (0..self.customers.len())
            .filter(|&i| self.customers[i].1 <= at)
            .collect();
        if eligible.is_empty() || self.rng.u32(0..100) < GUEST_PERCENT {
            // A small pool of guest emails, so some guests come back.
            return Buyer {
                id: None,
                email: format!("guest{}@example.com", self.rng.u32(1..=20)),
            };
        }
        let (id, _, email) = &self.customers[eligible[self.rng.usize(..eligible.len())]];
        Buyer {
            id: Some(id.clone()),
            email: email.clone(),
        }
    }

    fn add_one_off_charges(&mut self) {
        let count = CHARGES
            .saturating_sub(self.subscription_charges)
            .max(CHARGES / 2);
        let jpy_at = [count / 3, 2 * count / 3];

        for n in 0..count {
            let at = self.start + self.rng.i64(0..DEMO_DAYS * DAY);
            let buyer = self.pick_buyer(at);
            let currency = if jpy_at.contains(&n) {
                "jpy"
            } else if self.rng.u32(0..100) < USD_PERCENT {
                "usd"
            } else {
                "eur"
            };
            let amount = match currency {
                "jpy" => self.rng.i64(10..=200) * 100,
                _ => self.rng.i64(15..=300) * 50,
            };
            let failed = self.rng.u32(0..100) < FAILED_PERCENT;
            let status = if failed { "failed" } else { "succeeded" };

            let (id, rate) = self.add_charge(&buyer, at, amount, currency, status, "Shop order");
            if !failed {
                self.sales.push(Sale {
                    id,
                    at,
                    amount,
                    currency,
                    rate,
                });
            }
        }
    }

    fn add_refunds(&mut self) {
        let sales = std::mem::take(&mut self.sales);
        for sale in &sales {
            if self.rng.u32(0..100) >= REFUND_PERCENT {
                continue;
            }
            let at = sale.at + self.rng.i64(DAY..=10 * DAY) + self.rng.i64(0..DAY);
            if at >= self.end {
                continue;
            }
            let full = self.rng.u32(0..10) < 7;
            let amount = if full { sale.amount } else { sale.amount / 2 };
            self.add_refund(sale, at, amount);
        }
        self.sales = sales;
    }

    fn add_refund(&mut self, sale: &Sale, at: i64, amount: i64) {
        let id = self.new_id("re");
        let txn = self.new_id("txn");
        let mut refund =
            builders::refund(&id, &sale.id, ts(at), amount, sale.currency, "succeeded");
        builders::link_balance_transaction(&mut refund, &txn);
        self.data.insert(Resource::Refunds, refund);

        let multiplier = if sale.currency == "jpy" { 100.0 } else { 1.0 };
        let settled = match sale.rate {
            Some(rate) => (amount as f64 * rate * multiplier).round() as i64,
            None => amount,
        };
        self.add_balance_transaction(&txn, &id, at, -settled, 0, sale.rate, "refund");

        let full = amount == sale.amount;
        self.modify(Resource::Charges, &sale.id, |charge| {
            charge["amount_refunded"] = json!(amount);
            charge["refunded"] = json!(full);
        });
        self.change(at, "refund.created", Resource::Refunds, &id);
        self.change(at, "charge.refunded", Resource::Charges, &sale.id);
    }

    /// Turns the changes of the last 20 days into events, oldest first so event ids grow with
    /// time. Each event carries the object as it is at the anchor.
    fn finish(mut self, anchor: Timestamp) -> Dataset {
        let since = self.end - EVENT_DAYS * DAY;
        let mut recent: Vec<Change> = std::mem::take(&mut self.changes)
            .into_iter()
            .filter(|change| change.at >= since && change.at <= self.end)
            .collect();
        recent.sort_by_key(|change| change.at);

        for change in recent {
            if let Some(object) = self.data.get(change.resource, &change.id).cloned() {
                self.data
                    .push_event(change.event_type, ts(change.at), object, None);
            }
        }
        self.data.set_now(anchor);
        self.data
    }
}

/// Stripe's fee in EUR cents: a percentage plus 25 cents, higher for converted (foreign) cards.
fn settlement_fee(settled: i64, converted: bool) -> i64 {
    let percent = if converted { 3.25 } else { 1.5 };
    (settled as f64 * percent / 100.0).round() as i64 + 25
}

/// A timestamp from Unix seconds.
pub(super) fn ts(seconds: i64) -> Timestamp {
    // Every time here is within a few years of a valid anchor, far inside jiff's range.
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}
