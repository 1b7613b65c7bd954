//! The fake Stripe's data for each scenario: the generated charges for the backfill, and a shop
//! over three years (customers, charges with their balance transactions, refunds,
//! subscriptions with trials and cancellations) for the KPI recompute.

use connectors::stripe::fake::{self, Dataset, Resource};
use jiff::Timestamp;

const DAY: i64 = 86_400;

/// Days in the KPI scenario's history.
pub const SHOP_DAYS: i64 = 3 * 365;

/// `charges` succeeded EUR charges over the last year, each with its balance transaction.
pub fn backfill(charges: usize) -> Dataset {
    Dataset::generated_charges(charges, 7)
}

/// The start of the current UTC day: data ends there, so every object is in the past.
fn today() -> Timestamp {
    let now = Timestamp::now().as_second();
    Timestamp::from_second(now - now.rem_euclid(DAY)).expect("a day start is a valid instant")
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("generated instants are valid")
}

/// A shop's last three years: `orders_per_day` charges a day on average (95% succeeded, 3% of
/// those refunded later, one in ten by a guest), a thousand customers a year, and two
/// subscriptions a day (monthly or yearly, some with a trial, a third cancelled later).
pub fn shop(orders_per_day: usize) -> Dataset {
    let mut rng = fastrand::Rng::with_seed(11);
    let end = today().as_second();
    let start = end - SHOP_DAYS * DAY;
    let mut data = Dataset::empty();
    let customers = 3_000;
    for index in 0..customers {
        let created = start + rng.i64(0..SHOP_DAYS * DAY);
        let email = format!("buyer{index}@example.com");
        let object = fake::customer(&customer_id(index), at(created), &email);
        data.insert(Resource::Customers, object);
    }

    let charges = orders_per_day * SHOP_DAYS as usize;
    for index in 0..charges {
        let created = start + rng.i64(0..SHOP_DAYS * DAY);
        let buyer = (rng.u32(0..10) > 0).then(|| customer_id(rng.usize(0..customers)));
        add_charge(&mut data, &mut rng, index, buyer.as_deref(), created, end);
    }

    let subscriptions = 2 * SHOP_DAYS as usize;
    for index in 0..subscriptions {
        let created = start + rng.i64(0..SHOP_DAYS * DAY);
        let customer = customer_id(rng.usize(0..customers));
        add_subscription(&mut data, &mut rng, index, &customer, created, end);
    }
    data
}

fn customer_id(index: usize) -> String {
    format!("cus_shop{index:06}")
}

fn add_charge(
    data: &mut Dataset,
    rng: &mut fastrand::Rng,
    index: usize,
    customer: Option<&str>,
    created: i64,
    end: i64,
) {
    let id = format!("ch_shop{index:08}");
    let amount = rng.i64(5..=300) * 100;
    let status = if rng.u32(0..100) < 95 {
        "succeeded"
    } else {
        "failed"
    };
    let mut charge = fake::charge(&id, customer, at(created), amount, "eur", status);
    if customer.is_none() {
        charge["billing_details"]["email"] = format!("guest{index}@example.com").into();
    }
    if status == "succeeded" {
        let transaction = format!("txn_shop{index:08}");
        fake::link_balance_transaction(&mut charge, &transaction);
        let fee = amount * 15 / 1000 + 25;
        let bt =
            fake::balance_transaction(&transaction, &id, at(created), amount, fee, "eur", "charge");
        data.insert(Resource::BalanceTransactions, bt);

        let refunded_at = created + rng.i64(DAY..30 * DAY);
        if rng.u32(0..100) < 3 && refunded_at < end {
            add_refund(data, index, &id, amount, refunded_at);
            charge["amount_refunded"] = amount.into();
            charge["refunded"] = true.into();
        }
    }
    data.insert(Resource::Charges, charge);
}

fn add_refund(data: &mut Dataset, index: usize, charge: &str, amount: i64, created: i64) {
    let id = format!("re_shop{index:08}");
    let transaction = format!("txn_shop_re{index:08}");
    let mut refund = fake::refund(&id, charge, at(created), amount, "eur", "succeeded");
    fake::link_balance_transaction(&mut refund, &transaction);
    data.insert(Resource::Refunds, refund);
    let bt = fake::balance_transaction(&transaction, &id, at(created), -amount, 0, "eur", "refund");
    data.insert(Resource::BalanceTransactions, bt);
}

fn add_subscription(
    data: &mut Dataset,
    rng: &mut fastrand::Rng,
    index: usize,
    customer: &str,
    created: i64,
    end: i64,
) {
    let id = format!("sub_shop{index:06}");
    let yearly = rng.u32(0..5) == 0;
    let (interval, price) = if yearly {
        ("year", rng.i64(10..=50) * 1000)
    } else {
        ("month", rng.i64(10..=50) * 100)
    };
    let mut subscription = fake::subscription(&id, customer, at(created), price, "eur", interval);
    if rng.u32(0..4) == 0 {
        fake::start_trial(&mut subscription, at(created + 14 * DAY));
    }
    let cancelled_at = created + rng.i64(DAY..400 * DAY);
    if rng.u32(0..3) == 0 && cancelled_at < end {
        fake::cancel_subscription(&mut subscription, at(cancelled_at));
    }
    data.insert(Resource::Subscriptions, subscription);
}
