//! Stripe objects as kpisync reads them, and their mapping to warehouse rows. Parsing is lenient
//! on purpose: objects arrive in the API version pinned by kpisync from list endpoints, but in
//! whatever version was current when an event was created from the events feed, and Stripe adds
//! fields and enum values over time. Only `id` and `created` are required.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::tables;
use crate::schema::{Row, TableSpec, Value};

/// A field that is either an id or the expanded object holding it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn id(self) -> String {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

fn id_of(field: Option<Expandable>) -> Value {
    field.map(Expandable::id).into()
}

/// A Unix timestamp as ISO 8601 UTC text, the warehouse's format for instants.
pub fn iso_instant(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds)
        .ok()
        .map(|instant| instant.to_string())
}

fn instant(seconds: Option<i64>) -> Value {
    seconds.and_then(iso_instant).into()
}

/// The fields every listed object has. The object types below repeat them, so that one
/// decoding pass reads an object whole.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// Stripe id.
    pub id: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Live or test data; absent on some resources.
    #[serde(default)]
    pub livemode: Option<bool>,
}

/// A parsed object: its header and its row.
pub struct Parsed {
    /// Id, creation time and mode.
    pub header: Header,
    /// The row to store.
    pub row: Row,
}

/// An object that does not have the shape kpisync needs; says which field is wrong.
#[derive(Debug)]
pub struct ObjectError(String);

impl std::fmt::Display for ObjectError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Decodes `text`, naming the offending field in the error (`created: invalid type ...`).
fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ObjectError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            ObjectError(inner.to_string())
        } else {
            ObjectError(format!("field `{path}`: {inner}"))
        }
    })
}

/// Parses one object of `table` from its raw JSON; `version` is the time its state was seen.
pub fn parse_object(
    table: &'static TableSpec,
    raw: &RawValue,
    version: i64,
) -> Result<Parsed, ObjectError> {
    parse_owned(table, raw.to_owned(), version).map_err(|rejected| rejected.error)
}

/// An object [`parse_owned`] refused, handed back with the reason.
pub struct Rejected {
    /// What is wrong with it.
    pub error: ObjectError,
    /// The object, as received.
    pub raw: Box<RawValue>,
}

/// Like [`parse_object`], taking the raw JSON, which becomes the row's `raw` without a copy.
pub fn parse_owned(
    table: &'static TableSpec,
    raw: Box<RawValue>,
    version: i64,
) -> Result<Parsed, Rejected> {
    // One pass of serde_json over the object. Only when it fails is the object decoded again,
    // header first and with the path tracked, for a message that names the field.
    let (header, values) = match typed_values(table, raw.get()) {
        Ok(parsed) => parsed,
        Err(error) => {
            let error = explain(table, raw.get(), &error);
            return Err(Rejected { error, raw });
        }
    };
    let text: Box<str> = raw.into();
    let row = Row {
        table,
        values,
        raw: text.into_string(),
        version,
    };
    Ok(Parsed { header, row })
}

/// Decodes a listed object type that carries the header fields, moving them into a [`Header`].
macro_rules! split_header {
    ($text:expr, $kind:ty, $values:ident) => {{
        let mut object: $kind = serde_json::from_str($text)?;
        let header = Header {
            id: std::mem::take(&mut object.id),
            created: object.created,
            livemode: object.livemode,
        };
        let values = $values(&header, object);
        (header, values)
    }};
}

fn typed_values(
    table: &'static TableSpec,
    text: &str,
) -> Result<(Header, Vec<Value>), serde_json::Error> {
    Ok(match table.name {
        "stripe_charges" => split_header!(text, Charge, charge_values),
        "stripe_refunds" => split_header!(text, Refund, refund_values),
        "stripe_customers" => split_header!(text, Customer, customer_values),
        "stripe_subscriptions" => split_header!(text, Subscription, subscription_values),
        "stripe_invoices" => split_header!(text, Invoice, invoice_values),
        _ => split_header!(text, BalanceTransaction, balance_transaction_values),
    })
}

/// The error of an object the fast decoder refused, naming the offending field.
fn explain(table: &'static TableSpec, text: &str, error: &serde_json::Error) -> ObjectError {
    let detailed = decode::<Header>(text).and_then(|_| match table.name {
        "stripe_charges" => decode::<Charge>(text).map(drop),
        "stripe_refunds" => decode::<Refund>(text).map(drop),
        "stripe_customers" => decode::<Customer>(text).map(drop),
        "stripe_subscriptions" => decode::<Subscription>(text).map(drop),
        "stripe_invoices" => decode::<Invoice>(text).map(drop),
        _ => decode::<BalanceTransaction>(text).map(drop),
    });
    detailed
        .err()
        .unwrap_or_else(|| ObjectError(error.to_string()))
}

/// The table an object of Stripe type `object` (its `object` field) belongs to.
pub fn table_for_object(object: &str) -> Option<&'static TableSpec> {
    Some(match object {
        "charge" => &tables::CHARGES,
        "refund" => &tables::REFUNDS,
        "customer" => &tables::CUSTOMERS,
        "subscription" => &tables::SUBSCRIPTIONS,
        "invoice" => &tables::INVOICES,
        "balance_transaction" => &tables::BALANCE_TRANSACTIONS,
        _ => return None,
    })
}

fn common(header: &Header) -> [Value; 2] {
    [
        Value::Text(header.id.clone()),
        instant(Some(header.created)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Charges, refunds, customers, balance transactions

#[derive(Debug, Deserialize)]
struct Charge {
    id: String,
    created: i64,
    #[serde(default)]
    livemode: Option<bool>,
    amount: Option<i64>,
    amount_captured: Option<i64>,
    amount_refunded: Option<i64>,
    currency: Option<String>,
    status: Option<String>,
    captured: Option<bool>,
    paid: Option<bool>,
    refunded: Option<bool>,
    customer: Option<Expandable>,
    billing_details: Option<BillingDetails>,
    payment_intent: Option<Expandable>,
    balance_transaction: Option<Expandable>,
}

#[derive(Debug, Deserialize)]
struct BillingDetails {
    email: Option<String>,
}

fn charge_values(header: &Header, charge: Charge) -> Vec<Value> {
    let [id, created] = common(header);
    vec![
        id,
        created,
        charge.amount.into(),
        charge.amount_captured.into(),
        charge.amount_refunded.into(),
        charge.currency.into(),
        charge.status.into(),
        charge.captured.into(),
        charge.paid.into(),
        charge.refunded.into(),
        id_of(charge.customer),
        charge
            .billing_details
            .and_then(|details| details.email)
            .into(),
        id_of(charge.payment_intent),
        id_of(charge.balance_transaction),
        header.livemode.into(),
    ]
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    created: i64,
    #[serde(default)]
    livemode: Option<bool>,
    amount: Option<i64>,
    currency: Option<String>,
    status: Option<String>,
    charge: Option<Expandable>,
    payment_intent: Option<Expandable>,
    balance_transaction: Option<Expandable>,
    reason: Option<String>,
}

fn refund_values(header: &Header, refund: Refund) -> Vec<Value> {
    let [id, created] = common(header);
    vec![
        id,
        created,
        refund.amount.into(),
        refund.currency.into(),
        refund.status.into(),
        id_of(refund.charge),
        id_of(refund.payment_intent),
        id_of(refund.balance_transaction),
        refund.reason.into(),
        header.livemode.into(),
    ]
}

#[derive(Debug, Deserialize)]
struct Customer {
    id: String,
    created: i64,
    #[serde(default)]
    livemode: Option<bool>,
    email: Option<String>,
    currency: Option<String>,
    delinquent: Option<bool>,
}

fn customer_values(header: &Header, customer: Customer) -> Vec<Value> {
    let [id, created] = common(header);
    vec![
        id,
        created,
        customer.email.into(),
        customer.currency.into(),
        customer.delinquent.into(),
        header.livemode.into(),
    ]
}

#[derive(Debug, Deserialize)]
struct BalanceTransaction {
    id: String,
    created: i64,
    #[serde(default)]
    livemode: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    amount: Option<i64>,
    fee: Option<i64>,
    net: Option<i64>,
    currency: Option<String>,
    exchange_rate: Option<f64>,
    status: Option<String>,
    source: Option<Expandable>,
    reporting_category: Option<String>,
    available_on: Option<i64>,
}

fn balance_transaction_values(header: &Header, transaction: BalanceTransaction) -> Vec<Value> {
    let [id, created] = common(header);
    vec![
        id,
        created,
        transaction.kind.into(),
        transaction.amount.into(),
        transaction.fee.into(),
        transaction.net.into(),
        transaction.currency.into(),
        transaction.exchange_rate.into(),
        transaction.status.into(),
        id_of(transaction.source),
        transaction.reporting_category.into(),
        instant(transaction.available_on),
    ]
}

// ---------------------------------------------------------------------------------------------
// Invoices

#[derive(Debug, Deserialize)]
struct Invoice {
    id: String,
    created: i64,
    #[serde(default)]
    livemode: Option<bool>,
    customer: Option<Expandable>,
    /// Before the 2025-03-31 API version.
    subscription: Option<Expandable>,
    /// From the 2025-03-31 API version on.
    parent: Option<InvoiceParent>,
    status: Option<String>,
    billing_reason: Option<String>,
    currency: Option<String>,
    amount_due: Option<i64>,
    amount_paid: Option<i64>,
    amount_remaining: Option<i64>,
    total: Option<i64>,
    status_transitions: Option<StatusTransitions>,
}

#[derive(Debug, Deserialize)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionDetails {
    subscription: Option<Expandable>,
}

#[derive(Debug, Deserialize)]
struct StatusTransitions {
    paid_at: Option<i64>,
}

fn invoice_values(header: &Header, invoice: Invoice) -> Vec<Value> {
    let [id, created] = common(header);
    let subscription = invoice.subscription.or_else(|| {
        invoice
            .parent
            .and_then(|parent| parent.subscription_details?.subscription)
    });
    vec![
        id,
        created,
        id_of(invoice.customer),
        id_of(subscription),
        invoice.status.into(),
        invoice.billing_reason.into(),
        invoice.currency.into(),
        invoice.amount_due.into(),
        invoice.amount_paid.into(),
        invoice.amount_remaining.into(),
        invoice.total.into(),
        instant(
            invoice
                .status_transitions
                .and_then(|transitions| transitions.paid_at),
        ),
        header.livemode.into(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

#[derive(Debug, Deserialize)]
struct Subscription {
    id: String,
    created: i64,
    #[serde(default)]
    livemode: Option<bool>,
    customer: Option<Expandable>,
    status: Option<String>,
    start_date: Option<i64>,
    trial_start: Option<i64>,
    trial_end: Option<i64>,
    cancel_at_period_end: Option<bool>,
    canceled_at: Option<i64>,
    ended_at: Option<i64>,
    currency: Option<String>,
    items: Option<ItemList>,
    /// The single discount of older API versions.
    discount: Option<Discount>,
    /// Discounts of newer API versions; ids unless expanded.
    #[serde(default)]
    discounts: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct ItemList {
    #[serde(default)]
    data: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    price: Option<Price>,
    /// The price's predecessor, still sent by older API versions.
    plan: Option<Plan>,
    quantity: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Price {
    unit_amount: Option<i64>,
    recurring: Option<Recurring>,
}

#[derive(Debug, Deserialize)]
struct Recurring {
    interval: Option<String>,
    interval_count: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Plan {
    amount: Option<i64>,
    interval: Option<String>,
    interval_count: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Discount {
    coupon: Option<Coupon>,
}

#[derive(Debug, Deserialize)]
struct Coupon {
    percent_off: Option<f64>,
    amount_off: Option<i64>,
}

/// One item's unit amount, billing interval and interval count.
fn item_terms(item: &Item) -> (Option<i64>, Option<&str>, i64) {
    if let Some(price) = &item.price {
        let recurring = price.recurring.as_ref();
        let interval = recurring.and_then(|recurring| recurring.interval.as_deref());
        let count = recurring
            .and_then(|recurring| recurring.interval_count)
            .unwrap_or(1);
        return (price.unit_amount, interval, count);
    }
    match &item.plan {
        Some(plan) => (
            plan.amount,
            plan.interval.as_deref(),
            plan.interval_count.unwrap_or(1),
        ),
        None => (None, None, 1),
    }
}

/// How many of `interval` there are in a month, on average.
fn per_month(interval: Option<&str>) -> f64 {
    match interval {
        Some("day") => 365.0 / 12.0,
        Some("week") => 52.0 / 12.0,
        Some("year") => 1.0 / 12.0,
        _ => 1.0,
    }
}

/// The subscription's recurring amount per month, after a discount, in minor units.
fn monthly_amount(subscription: &Subscription) -> Option<i64> {
    let items = &subscription.items.as_ref()?.data;
    if items.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut first_interval = None;
    for item in items {
        let (amount, interval, count) = item_terms(item);
        let quantity = item.quantity.unwrap_or(1) as f64;
        total += amount.unwrap_or(0) as f64 * quantity * per_month(interval) / count.max(1) as f64;
        first_interval = first_interval.or(interval);
    }

    for coupon in coupons(subscription) {
        if let Some(percent) = coupon.percent_off {
            total *= 1.0 - percent / 100.0;
        } else if let Some(amount_off) = coupon.amount_off {
            // A fixed discount applies once per invoice, so it is spread like the items.
            total -= amount_off as f64 * per_month(first_interval);
        }
    }
    Some(total.max(0.0).round() as i64)
}

/// The coupons behind the subscription's discounts, in either API shape.
fn coupons(subscription: &Subscription) -> Vec<Coupon> {
    let legacy = subscription.discount.as_ref().and_then(|discount| {
        discount.coupon.as_ref().map(|coupon| Coupon {
            percent_off: coupon.percent_off,
            amount_off: coupon.amount_off,
        })
    });
    let expanded = subscription.discounts.iter().filter_map(|discount| {
        // Unexpanded discounts are plain ids and carry no terms; newer versions nest the coupon
        // under `source`.
        let coupon = discount
            .get("coupon")
            .or_else(|| discount.get("source")?.get("coupon"))?;
        serde_json::from_value::<Coupon>(coupon.clone()).ok()
    });
    legacy.into_iter().chain(expanded).collect()
}

fn subscription_values(header: &Header, subscription: Subscription) -> Vec<Value> {
    let [id, created] = common(header);
    let monthly = monthly_amount(&subscription);
    let is_free = subscription.items.as_ref().map(|items| {
        !items.data.is_empty()
            && items
                .data
                .iter()
                .all(|item| item_terms(item).0.unwrap_or(0) == 0)
    });
    vec![
        id,
        created,
        id_of(subscription.customer),
        subscription.status.into(),
        instant(subscription.start_date),
        instant(subscription.trial_start),
        instant(subscription.trial_end),
        subscription.cancel_at_period_end.into(),
        instant(subscription.canceled_at),
        instant(subscription.ended_at),
        subscription.currency.into(),
        monthly.into(),
        is_free.into(),
        header.livemode.into(),
    ]
}
