//! Builders for Stripe objects in the shape of API version [`API_VERSION`] (basil): full enough
//! that a parser written against the real API meets the fields and nesting it expects. The
//! datasets use them, and tests use them to add objects to a running fake.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

/// The API version whose object shapes the fake renders (invoice `parent`, per-item periods).
pub const API_VERSION: &str = "2025-03-31.basil";

const DAY_SECS: i64 = 86_400;

/// A customer created at `created` with `email`; its name is derived from the email.
pub fn customer(id: &str, created: Timestamp, email: &str) -> Value {
    let name = email.split('@').next().unwrap_or(email).replace('.', " ");
    json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": created.as_second(),
        "currency": "eur",
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": email,
        "invoice_prefix": short_hash(id, 8).to_uppercase(),
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": {},
        "name": name,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": ["en"],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null
    })
}

/// A card charge. `status` is `succeeded`, `pending` or `failed`, and sets `paid`, `captured`,
/// `amount_captured` and the failure fields the way Stripe does. `balance_transaction` starts
/// null (see [`link_balance_transaction`]) and `billing_details.email` null.
pub fn charge(
    id: &str,
    customer: Option<&str>,
    created: Timestamp,
    amount: i64,
    currency: &str,
    status: &str,
) -> Value {
    let succeeded = status == "succeeded";
    let failed = status == "failed";
    let suffix = id_suffix(id);
    json!({
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": if succeeded { amount } else { 0 },
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": null,
        "billing_details": {
            "address": {
                "city": null,
                "country": "DE",
                "line1": null,
                "line2": null,
                "postal_code": "10115",
                "state": null
            },
            "email": null,
            "name": null,
            "phone": null,
            "tax_id": null
        },
        "calculated_statement_descriptor": "KPISYNC SHOP",
        "captured": !failed,
        "created": created.as_second(),
        "currency": currency,
        "customer": customer,
        "description": null,
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": if failed { json!("card_declined") } else { Value::Null },
        "failure_message": if failed { json!("Your card was declined.") } else { Value::Null },
        "fraud_details": {},
        "livemode": false,
        "metadata": {},
        "on_behalf_of": null,
        "outcome": outcome(failed),
        "paid": succeeded,
        "payment_intent": format!("pi_{suffix}"),
        "payment_method": format!("pm_{suffix}"),
        "payment_method_details": card_details(customer.unwrap_or(id), amount),
        "receipt_email": null,
        "receipt_number": null,
        "receipt_url": format!("https://pay.stripe.com/receipts/payment/{suffix}"),
        "refunded": false,
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": status,
        "transfer_data": null,
        "transfer_group": null
    })
}

/// The risk and network outcome of a card payment.
fn outcome(declined: bool) -> Value {
    if declined {
        json!({
            "network_status": "declined_by_network",
            "reason": "generic_decline",
            "risk_level": "normal",
            "risk_score": 41,
            "seller_message": "The bank declined the payment without giving a reason.",
            "type": "issuer_declined"
        })
    } else {
        json!({
            "network_status": "approved_by_network",
            "reason": null,
            "risk_level": "normal",
            "risk_score": 12,
            "seller_message": "Payment complete.",
            "type": "authorized"
        })
    }
}

/// The `payment_method_details` of a Visa card; the fingerprint is derived from `owner`, so
/// one owner's charges share a card.
fn card_details(owner: &str, amount: i64) -> Value {
    json!({
        "card": {
            "amount_authorized": amount,
            "authorization_code": "123456",
            "brand": "visa",
            "checks": {
                "address_line1_check": null,
                "address_postal_code_check": "pass",
                "cvc_check": "pass"
            },
            "country": "DE",
            "exp_month": 8,
            "exp_year": 2030,
            "extended_authorization": { "status": "disabled" },
            "fingerprint": short_hash(owner, 16),
            "funding": "credit",
            "incremental_authorization": { "status": "unavailable" },
            "installments": null,
            "last4": "4242",
            "mandate": null,
            "multicapture": { "status": "unavailable" },
            "network": "visa",
            "network_token": { "used": false },
            "network_transaction_id": "104102978678771",
            "overcapture": { "maximum_amount_capturable": amount, "status": "unavailable" },
            "regulated_status": "unregulated",
            "three_d_secure": null,
            "wallet": null
        },
        "type": "card"
    })
}

/// Points a charge or refund at its balance transaction.
pub fn link_balance_transaction(object: &mut Value, balance_transaction_id: &str) {
    object["balance_transaction"] = json!(balance_transaction_id);
}

/// A balance transaction of type `kind` (`charge`, `refund`, ...) for `source`, in the
/// settlement `currency`: `net = amount - fee`, no exchange rate, available two days after
/// `created`.
pub fn balance_transaction(
    id: &str,
    source: &str,
    created: Timestamp,
    amount: i64,
    fee: i64,
    currency: &str,
    kind: &str,
) -> Value {
    let fee_details = if fee == 0 {
        json!([])
    } else {
        json!([{
            "amount": fee,
            "application": null,
            "currency": currency,
            "description": "Stripe processing fees",
            "type": "stripe_fee"
        }])
    };
    let description = match kind {
        "charge" => "Payment",
        "refund" => "REFUND FOR CHARGE",
        _ => kind,
    };
    json!({
        "id": id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created.as_second() + 2 * DAY_SECS,
        "balance_type": "payments",
        "created": created.as_second(),
        "currency": currency,
        "description": description,
        "exchange_rate": null,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": kind,
        "source": source,
        "status": "available",
        "type": kind
    })
}

/// A card refund of `amount` on `charge`; `status` is `succeeded`, `pending`, `failed` or
/// `canceled`. `balance_transaction` starts null.
pub fn refund(
    id: &str,
    charge: &str,
    created: Timestamp,
    amount: i64,
    currency: &str,
    status: &str,
) -> Value {
    json!({
        "id": id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": null,
        "charge": charge,
        "created": created.as_second(),
        "currency": currency,
        "destination_details": {
            "card": {
                "reference": null,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund"
            },
            "type": "card"
        },
        "metadata": {},
        "payment_intent": format!("pi_{}", id_suffix(charge)),
        "reason": "requested_by_customer",
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": status,
        "transfer_reversal": null
    })
}

/// An active subscription of one licensed item priced `unit_amount` per `interval` (`day`,
/// `week`, `month` or `year`, count 1), started at `created`, in its first billing period.
pub fn subscription(
    id: &str,
    customer: &str,
    created: Timestamp,
    unit_amount: i64,
    currency: &str,
    interval: &str,
) -> Value {
    let period_end = add_interval(created, interval, 1);
    let price = price(created, unit_amount, currency, interval);
    let item = json!({
        "id": format!("si_{}", id_suffix(id)),
        "object": "subscription_item",
        "created": created.as_second(),
        "current_period_end": period_end.as_second(),
        "current_period_start": created.as_second(),
        "discounts": [],
        "metadata": {},
        "price": price,
        "quantity": 1,
        "subscription": id,
        "tax_rates": []
    });
    json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": created.as_second(),
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": "charge_automatically",
        "created": created.as_second(),
        "currency": currency,
        "customer": customer,
        "days_until_due": null,
        "default_payment_method": null,
        "description": null,
        "discounts": [],
        "ended_at": null,
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": {
            "object": "list",
            "data": [item],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/subscription_items?subscription={id}")
        },
        "latest_invoice": null,
        "livemode": false,
        "metadata": {},
        "pause_collection": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": created.as_second(),
        "status": "active",
        "test_clock": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null
    })
}

/// A licensed recurring price; product and price ids are derived from the plan, so
/// subscriptions to the same plan share them.
fn price(created: Timestamp, unit_amount: i64, currency: &str, interval: &str) -> Value {
    let product = format!(
        "prod_{}",
        short_hash(&format!("{interval}{unit_amount}"), 14)
    );
    let price_id = format!("price_{}", short_hash(&format!("{product}{currency}"), 24));
    json!({
        "id": price_id,
        "object": "price",
        "active": true,
        "billing_scheme": "per_unit",
        "created": created.as_second() - 30 * DAY_SECS,
        "currency": currency,
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": null,
        "metadata": {},
        "nickname": null,
        "product": product,
        "recurring": {
            "interval": interval,
            "interval_count": 1,
            "meter": null,
            "trial_period_days": null,
            "usage_type": "licensed"
        },
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": unit_amount.to_string()
    })
}

/// Puts a subscription built by [`subscription`] on a trial from its creation to `trial_end`:
/// status `trialing`, billing anchored on the trial's end.
pub fn start_trial(subscription: &mut Value, trial_end: Timestamp) {
    let start = subscription["created"].clone();
    subscription["trial_start"] = start.clone();
    subscription["trial_end"] = json!(trial_end.as_second());
    subscription["status"] = json!("trialing");
    subscription["billing_cycle_anchor"] = json!(trial_end.as_second());
    if let Some(item) = subscription.pointer_mut("/items/data/0") {
        item["current_period_start"] = start;
        item["current_period_end"] = json!(trial_end.as_second());
    }
}

/// Cancels a subscription immediately at `at`, as the customer asked.
pub fn cancel_subscription(subscription: &mut Value, at: Timestamp) {
    subscription["status"] = json!("canceled");
    subscription["canceled_at"] = json!(at.as_second());
    subscription["ended_at"] = json!(at.as_second());
    subscription["cancel_at_period_end"] = json!(false);
    subscription["cancellation_details"]["reason"] = json!("cancellation_requested");
}

/// An invoice in the basil shape (`parent.subscription_details.subscription`, no `paid`).
/// `status` is `draft`, `open`, `paid`, `uncollectible` or `void`; a paid invoice has
/// `amount_paid = amount_due`. `billing_reason` is `subscription_cycle` for a subscription
/// invoice and `manual` otherwise.
pub fn invoice(
    id: &str,
    customer: &str,
    subscription: Option<&str>,
    created: Timestamp,
    amount_due: i64,
    currency: &str,
    status: &str,
) -> Value {
    let at = created.as_second();
    let paid = status == "paid";
    let amount_paid = if paid { amount_due } else { 0 };
    let finalized = (status != "draft").then_some(at);
    let parent = subscription.map(|sub| {
        json!({
            "quote_details": null,
            "subscription_details": { "metadata": {}, "subscription": sub },
            "type": "subscription_details"
        })
    });
    let lines = invoice_lines(id, subscription, at, amount_due, currency);
    let transitions = json!({
        "finalized_at": finalized,
        "marked_uncollectible_at": null,
        "paid_at": paid.then_some(at),
        "voided_at": null
    });
    let summary = json!({
        "id": id,
        "object": "invoice",
        "account_country": "DE",
        "account_name": "kpisync shop",
        "amount_due": amount_due,
        "amount_overpaid": 0,
        "amount_paid": amount_paid,
        "amount_remaining": amount_due - amount_paid,
        "amount_shipping": 0,
        "attempt_count": if paid { 1 } else { 0 },
        "attempted": paid,
        "auto_advance": status == "draft",
        "automatic_tax": { "enabled": false, "liability": null, "status": null },
        "billing_reason": if subscription.is_some() { "subscription_cycle" } else { "manual" },
        "collection_method": "charge_automatically",
        "created": at,
        "currency": currency,
        "customer": customer,
        "customer_email": null,
        "customer_name": null
    });
    let details = json!({
        "default_payment_method": null,
        "description": null,
        "discounts": [],
        "due_date": null,
        "effective_at": finalized,
        "ending_balance": finalized.map(|_| 0),
        "hosted_invoice_url": null,
        "invoice_pdf": null,
        "issuer": { "type": "self" },
        "lines": lines,
        "livemode": false,
        "metadata": {},
        "number": finalized.map(|_| format!("{}-0001", short_hash(customer, 8).to_uppercase())),
        "parent": parent,
        "period_end": at,
        "period_start": at,
        "starting_balance": 0,
        "status": status,
        "status_transitions": transitions,
        "subtotal": amount_due,
        "subtotal_excluding_tax": amount_due,
        "test_clock": null,
        "total": amount_due,
        "total_discount_amounts": [],
        "total_excluding_tax": amount_due,
        "total_taxes": []
    });
    merged(summary, details)
}

/// `first` with the fields of `second` added (both objects). Large objects are built in two
/// halves because one `json!` literal of their size exceeds the macro recursion limit.
fn merged(mut first: Value, second: Value) -> Value {
    if let (Some(first), Value::Object(second)) = (first.as_object_mut(), second) {
        first.extend(second);
    }
    first
}

/// The `lines` list of an invoice: one line for the whole amount.
fn invoice_lines(
    id: &str,
    subscription: Option<&str>,
    at: i64,
    amount: i64,
    currency: &str,
) -> Value {
    let line_parent = subscription.map(|sub| {
        json!({
            "invoice_item_details": null,
            "subscription_item_details": {
                "invoice_item": null,
                "proration": false,
                "proration_details": { "credited_items": null },
                "subscription": sub,
                "subscription_item": format!("si_{}", id_suffix(sub))
            },
            "type": "subscription_item_details"
        })
    });
    let line = json!({
        "id": format!("il_{}", id_suffix(id)),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": "1 × Subscription",
        "discount_amounts": [],
        "discountable": true,
        "discounts": [],
        "invoice": id,
        "livemode": false,
        "metadata": {},
        "parent": line_parent,
        "period": { "end": at, "start": at },
        "pretax_credit_amounts": [],
        "pricing": { "type": "price_details", "unit_amount_decimal": amount.to_string() },
        "quantity": 1,
        "taxes": []
    });
    json!({
        "object": "list",
        "data": [line],
        "has_more": false,
        "total_count": 1,
        "url": format!("/v1/invoices/{id}/lines")
    })
}

/// An event of `event_type` rendered in [`API_VERSION`], carrying `object` as `data.object`
/// and, for `*.updated` events, the changed fields' old values.
pub fn event(
    id: &str,
    event_type: &str,
    created: Timestamp,
    object: Value,
    previous_attributes: Option<Value>,
) -> Value {
    let mut data = json!({ "object": object });
    if let Some(previous) = previous_attributes {
        data["previous_attributes"] = previous;
    }
    json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created.as_second(),
        "data": data,
        "livemode": false,
        "pending_webhooks": 0,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type
    })
}

/// `at` moved by `count` billing intervals, in UTC calendar arithmetic.
pub(super) fn add_interval(at: Timestamp, interval: &str, count: i64) -> Timestamp {
    let span = match interval {
        "day" => count.days(),
        "week" => count.weeks(),
        "year" => count.years(),
        _ => count.months(),
    };
    // Only fails beyond year 9999, which no dataset gets near; staying put is harmless there.
    at.to_zoned(TimeZone::UTC)
        .checked_add(span)
        .map(|zoned| zoned.timestamp())
        .unwrap_or(at)
}

/// The part of an id after its `xx_` prefix.
pub(super) fn id_suffix(id: &str) -> &str {
    id.split_once('_').map_or(id, |(_, rest)| rest)
}

/// `len` characters of base-62 derived from `text` (FNV-1a): stable, id-like strings such as
/// card fingerprints.
pub(super) fn short_hash(text: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = fastrand::Rng::with_seed(hash);
    (0..len)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect()
}
