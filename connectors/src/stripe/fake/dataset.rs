//! The fake's data: [`Dataset`], its mutation API, and the fixed `e2e()` dataset whose KPI
//! values the end-to-end tests compute by hand. The generated datasets live in `demo.rs` and
//! `generated.rs`.
//!
//! # The `e2e()` dataset
//!
//! All times UTC, amounts in minor units (JPY has none), `livemode: false` on every object that
//! has the field (refunds and balance transactions do not), no events.
//!
//! | Customer | created | email |
//! |---|---|---|
//! | cus_A | 2026-01-05 10:00 | a@example.com |
//! | cus_B | 2026-01-10 12:00 | b@example.com |
//! | cus_C | 2026-01-20 09:00 | c@example.com |
//! | cus_D | 2026-02-03 09:00 | d@example.com |
//! | cus_J | 2026-02-10 02:00 | j@example.com |
//!
//! | Charge | customer | created | amount | status | balance txn: amount, fee, net |
//! |---|---|---|---|---|---|
//! | ch_1 | cus_A | 2026-01-05 10:00 | 5000 eur | succeeded | txn_1: 5000, 175, 4825 eur |
//! | ch_2 | cus_B | 2026-01-10 12:00 | 3000 eur | succeeded (1) | txn_2: 3000, 117, 2883 eur |
//! | ch_3 | cus_A | 2026-01-31 23:30 | 2000 eur | succeeded | txn_3: 2000, 88, 1912 eur |
//! | ch_4 | cus_J | 2026-02-10 03:00 | 1000 jpy | succeeded | txn_4: 1000, 36, 964 jpy |
//! | ch_5 | cus_C | 2026-02-14 15:00 | 4000 eur | failed | none |
//! | ch_6 | cus_D | 2026-02-20 09:00 | 2500 usd | succeeded | txn_6: 2300, 97, 2203 eur (2) |
//! | ch_7 | guest (3) | 2026-03-02 11:00 | 1500 eur | succeeded | txn_7: 1500, 73, 1427 eur |
//! | ch_8 | cus_B | 2026-03-10 08:00 | 6000 eur | pending | none |
//!
//! (1) `amount_refunded` 1000, see re_1. (2) `exchange_rate` 0.92. (3) `customer` null,
//! `billing_details.email` guest@example.com.
//!
//! Succeeded charges have `paid`, `captured` and `amount_captured = amount`; the failed one has
//! none of them; the pending one is captured with `amount_captured` 0. Every charge carries its
//! customer's email in `billing_details.email`.
//!
//! | Refund | charge | created | amount | status | balance transaction |
//! |---|---|---|---|---|---|
//! | re_1 | ch_2 | 2026-03-05 09:00 | 1000 eur | succeeded | txn_r1: -1000, fee 0, eur |
//! | re_2 | ch_1 | 2026-03-06 10:00 | 500 eur | pending | none |
//!
//! Balance transactions share their source's `created`, have `source` = the charge or refund id
//! and status `available`.
//!
//! | Subscription | customer | created | price | status |
//! |---|---|---|---|---|
//! | sub_1 | cus_A | 2026-01-05 10:00 | 5000 eur / month | active |
//! | sub_2 | cus_B | 2026-01-10 12:00 | 3000 eur / month | canceled 2026-02-15 10:00 (1) |
//! | sub_3 | cus_C | 2026-02-01 09:00 | 2000 eur / month | active, trial ended (2) |
//! | sub_4 | cus_D | 2026-02-20 09:00 | 0 eur / month (free plan) | active |
//! | sub_5 | cus_J | 2026-03-03 10:00 | 12000 eur / year | active |
//!
//! (1) `canceled_at` = `ended_at`. (2) `trial_start` 2026-02-01 09:00, `trial_end` 2026-02-15
//! 09:00. Each subscription has one item, quantity 1, interval count 1, `start_date = created`.
//!
//! | Invoice | customer | subscription | created | status | amounts |
//! |---|---|---|---|---|---|
//! | inv_1 | cus_A | sub_1 | 2026-01-05 10:00 | paid (subscription_create) | 5000 eur paid |
//! | inv_2 | cus_B | sub_2 | 2026-01-10 12:00 | paid (subscription_create) | 3000 eur paid |
//! | inv_3 | cus_A | sub_1 | 2026-03-05 10:00 | draft (subscription_cycle) | 5000 due, 0 paid |

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Resource;
use super::builders::{self, balance_transaction, charge, customer, invoice, refund};
use super::store::{Row, Table};

/// Stripe lists events for this long only.
const EVENT_RETENTION_SECS: i64 = 30 * 86_400;

/// The objects the fake serves, per resource, plus the fake's clock.
#[derive(Clone, Default)]
pub struct Dataset {
    tables: [Table; 7],
    now: Option<Timestamp>,
    next_event: u64,
}

impl Dataset {
    /// A dataset without objects.
    pub fn empty() -> Dataset {
        Dataset::default()
    }

    /// The fixed dataset of the end-to-end tests, tabled at the top of
    /// `connectors/src/stripe/fake/dataset.rs`.
    pub fn e2e() -> Dataset {
        let mut data = Dataset::empty();
        insert_e2e_customers(&mut data);
        insert_e2e_charges(&mut data);
        insert_e2e_refunds(&mut data);
        insert_e2e_subscriptions(&mut data);
        insert_e2e_invoices(&mut data);
        data
    }

    /// Sets the fake's clock, which only decides event retention: events created before
    /// `now - 30 days` are not listed. Without it the real time is used.
    pub fn set_now(&mut self, now: Timestamp) {
        self.now = Some(now);
    }

    /// The fake's clock: the time given to [`Dataset::set_now`], else the real time.
    pub fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }

    /// Adds `object`, replacing any object of the same id; no event is recorded.
    ///
    /// # Panics
    ///
    /// If `object` has no string `id` or no integer `created`: the fake could not list it.
    pub fn insert(&mut self, resource: Resource, object: Value) {
        let id = object["id"].as_str().map(str::to_owned);
        let created = object["created"].as_i64();
        let (Some(id), Some(created)) = (id, created) else {
            panic!("a fake {resource:?} object needs a string id and an integer created: {object}");
        };
        let row = Row::from_value(resource, &object);
        self.tables[resource.index()].put(&id, created, row);
    }

    /// Changes the object `id` with `change` and records an event of `event_type` created at
    /// `at`, whose `data.object` is the changed object (plus `data.previous_attributes` for
    /// `*.updated` events).
    ///
    /// # Panics
    ///
    /// If there is no such object, or `change` removes its `id` or `created`.
    pub fn update(
        &mut self,
        resource: Resource,
        id: &str,
        event_type: &str,
        at: Timestamp,
        change: impl FnOnce(&mut Value),
    ) {
        let Some(old) = self.tables[resource.index()].remove(id) else {
            panic!("no fake {resource:?} object with id {id} to update");
        };
        let before = old.value().clone();
        let mut object = before.clone();
        change(&mut object);

        let previous = event_type
            .ends_with(".updated")
            .then(|| previous_attributes(&before, &object));
        self.insert(resource, object.clone());
        self.push_event(event_type, at, object, previous);
    }

    /// Deletes the object `id` (no event), returning it. Handy to reproduce a list page that
    /// Stripe announced with `has_more: true` coming back empty.
    pub fn remove(&mut self, resource: Resource, id: &str) -> Option<Value> {
        let row = self.tables[resource.index()].remove(id)?;
        Some(row.value().clone())
    }

    /// The object `id`, if the dataset has it.
    pub fn get(&self, resource: Resource, id: &str) -> Option<&Value> {
        self.tables[resource.index()].get(id).map(Row::value)
    }

    /// How many objects `resource` has (events past retention included).
    pub fn len(&self, resource: Resource) -> usize {
        self.tables[resource.index()].len()
    }

    /// Whether no resource has any object.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|table| table.len() == 0)
    }

    /// The ids of `resource` in list order (newest first).
    pub fn ids(&self, resource: Resource) -> Vec<String> {
        self.tables[resource.index()]
            .rows()
            .map(|(key, _)| key.id.to_string())
            .collect()
    }

    pub(super) fn table(&self, resource: Resource) -> &Table {
        &self.tables[resource.index()]
    }

    /// Stores a row whose JSON the caller rendered itself (the fast path of generated data).
    pub(super) fn put_row(&mut self, resource: Resource, id: &str, created: i64, row: Row) {
        self.tables[resource.index()].put(id, created, row);
    }

    /// The oldest `created` an event may have to be listed.
    pub(super) fn event_horizon(&self) -> i64 {
        self.now().as_second() - EVENT_RETENTION_SECS
    }

    /// Records an event with the next event id. Ids are zero-padded counters so that events
    /// created in the same second list newest first.
    pub(super) fn push_event(
        &mut self,
        event_type: &str,
        at: Timestamp,
        object: Value,
        previous: Option<Value>,
    ) {
        self.next_event += 1;
        let id = format!("evt_fake{:020}", self.next_event);
        let event = builders::event(&id, event_type, at, object, previous);
        self.insert(Resource::Events, event);
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Dataset");
        for resource in Resource::ALL {
            out.field(resource.path(), &self.len(resource));
        }
        out.field("now", &self.now).finish()
    }
}

/// The old values of the top-level fields `after` changed or added (null for added ones), as
/// Stripe puts them in `data.previous_attributes`.
fn previous_attributes(before: &Value, after: &Value) -> Value {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return json!({});
    };
    let changed = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, _)| (key.clone(), before.get(key).cloned().unwrap_or(Value::Null)));
    Value::Object(changed.collect())
}

/// A UTC time from its calendar fields.
pub(super) const fn utc(year: i64, month: i64, day: i64, hour: i64, minute: i64) -> Timestamp {
    // Days since 1970-01-01 of a proleptic Gregorian date, counting years from March so the
    // leap day falls at the end of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Timestamp::constant(days * 86_400 + hour * 3_600 + minute * 60, 0)
}

fn insert_e2e_customers(data: &mut Dataset) {
    let customers = [
        ("cus_A", utc(2026, 1, 5, 10, 0), "a@example.com"),
        ("cus_B", utc(2026, 1, 10, 12, 0), "b@example.com"),
        ("cus_C", utc(2026, 1, 20, 9, 0), "c@example.com"),
        ("cus_D", utc(2026, 2, 3, 9, 0), "d@example.com"),
        ("cus_J", utc(2026, 2, 10, 2, 0), "j@example.com"),
    ];
    for (id, created, email) in customers {
        data.insert(Resource::Customers, customer(id, created, email));
    }
}

fn insert_e2e_charges(data: &mut Dataset) {
    let charges = [
        (
            "ch_1",
            Some("cus_A"),
            utc(2026, 1, 5, 10, 0),
            5000,
            "eur",
            "succeeded",
        ),
        (
            "ch_2",
            Some("cus_B"),
            utc(2026, 1, 10, 12, 0),
            3000,
            "eur",
            "succeeded",
        ),
        (
            "ch_3",
            Some("cus_A"),
            utc(2026, 1, 31, 23, 30),
            2000,
            "eur",
            "succeeded",
        ),
        (
            "ch_4",
            Some("cus_J"),
            utc(2026, 2, 10, 3, 0),
            1000,
            "jpy",
            "succeeded",
        ),
        (
            "ch_5",
            Some("cus_C"),
            utc(2026, 2, 14, 15, 0),
            4000,
            "eur",
            "failed",
        ),
        (
            "ch_6",
            Some("cus_D"),
            utc(2026, 2, 20, 9, 0),
            2500,
            "usd",
            "succeeded",
        ),
        (
            "ch_7",
            None,
            utc(2026, 3, 2, 11, 0),
            1500,
            "eur",
            "succeeded",
        ),
        (
            "ch_8",
            Some("cus_B"),
            utc(2026, 3, 10, 8, 0),
            6000,
            "eur",
            "pending",
        ),
    ];
    // (charge, balance transaction, amount, fee, settlement currency)
    let settlements = [
        ("ch_1", "txn_1", 5000, 175, "eur"),
        ("ch_2", "txn_2", 3000, 117, "eur"),
        ("ch_3", "txn_3", 2000, 88, "eur"),
        ("ch_4", "txn_4", 1000, 36, "jpy"),
        ("ch_6", "txn_6", 2300, 97, "eur"),
        ("ch_7", "txn_7", 1500, 73, "eur"),
    ];

    for (id, cus, created, amount, currency, status) in charges {
        let mut object = charge(id, cus, created, amount, currency, status);
        let email = match cus {
            Some(cus) => format!("{}@example.com", builders::id_suffix(cus).to_lowercase()),
            None => "guest@example.com".to_owned(),
        };
        object["billing_details"]["email"] = json!(email);
        object["receipt_email"] = json!(email);
        if id == "ch_2" {
            object["amount_refunded"] = json!(1000);
        }

        let settlement = settlements.iter().find(|(charge_id, ..)| *charge_id == id);
        if let Some(&(_, txn, bt_amount, fee, bt_currency)) = settlement {
            builders::link_balance_transaction(&mut object, txn);
            let mut bt =
                balance_transaction(txn, id, created, bt_amount, fee, bt_currency, "charge");
            if currency != bt_currency {
                bt["exchange_rate"] = json!(0.92);
            }
            data.insert(Resource::BalanceTransactions, bt);
        }
        data.insert(Resource::Charges, object);
    }
}

fn insert_e2e_refunds(data: &mut Dataset) {
    let refunded_at = utc(2026, 3, 5, 9, 0);
    let mut re_1 = refund("re_1", "ch_2", refunded_at, 1000, "eur", "succeeded");
    builders::link_balance_transaction(&mut re_1, "txn_r1");
    data.insert(Resource::Refunds, re_1);
    data.insert(
        Resource::BalanceTransactions,
        balance_transaction("txn_r1", "re_1", refunded_at, -1000, 0, "eur", "refund"),
    );

    let re_2 = refund(
        "re_2",
        "ch_1",
        utc(2026, 3, 6, 10, 0),
        500,
        "eur",
        "pending",
    );
    data.insert(Resource::Refunds, re_2);
}

fn insert_e2e_subscriptions(data: &mut Dataset) {
    let subs = [
        ("sub_1", "cus_A", utc(2026, 1, 5, 10, 0), 5000, "month"),
        ("sub_2", "cus_B", utc(2026, 1, 10, 12, 0), 3000, "month"),
        ("sub_3", "cus_C", utc(2026, 2, 1, 9, 0), 2000, "month"),
        ("sub_4", "cus_D", utc(2026, 2, 20, 9, 0), 0, "month"),
        ("sub_5", "cus_J", utc(2026, 3, 3, 10, 0), 12000, "year"),
    ];
    for (id, cus, created, unit_amount, interval) in subs {
        let mut object = builders::subscription(id, cus, created, unit_amount, "eur", interval);
        match id {
            "sub_2" => builders::cancel_subscription(&mut object, utc(2026, 2, 15, 10, 0)),
            "sub_3" => {
                builders::start_trial(&mut object, utc(2026, 2, 15, 9, 0));
                // The trial is over: the customer pays now.
                object["status"] = json!("active");
            }
            _ => {}
        }
        data.insert(Resource::Subscriptions, object);
    }
}

fn insert_e2e_invoices(data: &mut Dataset) {
    let invoices = [
        (
            "inv_1",
            "cus_A",
            "sub_1",
            utc(2026, 1, 5, 10, 0),
            5000,
            "paid",
            "subscription_create",
        ),
        (
            "inv_2",
            "cus_B",
            "sub_2",
            utc(2026, 1, 10, 12, 0),
            3000,
            "paid",
            "subscription_create",
        ),
        (
            "inv_3",
            "cus_A",
            "sub_1",
            utc(2026, 3, 5, 10, 0),
            5000,
            "draft",
            "subscription_cycle",
        ),
    ];
    for (id, cus, sub, created, amount, status, reason) in invoices {
        let mut object = invoice(id, cus, Some(sub), created, amount, "eur", status);
        object["billing_reason"] = json!(reason);
        data.insert(Resource::Invoices, object);
    }
}
