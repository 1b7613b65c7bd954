//! The warehouse tables of the Stripe connector: one per stream, typed columns for what the KPIs
//! read, plus the object as Stripe sent it in `raw`. Amounts are integers in the currency's minor
//! unit next to a lower-case ISO 4217 code; instants are ISO 8601 UTC text.

use crate::schema::{Column, ColumnType::*, TableSpec};

const fn col(name: &'static str, kind: crate::schema::ColumnType, doc: &'static str) -> Column {
    Column { name, kind, doc }
}

const ID: Column = col("id", Text, "Stripe id");
const CREATED: Column = col("created", Text, "creation instant, UTC (ISO 8601)");
const LIVEMODE: Column = col("livemode", Integer, "1 for live data, 0 for test mode");
const CURRENCY: Column = col(
    "currency",
    Text,
    "ISO 4217 code, lower case as Stripe sends it",
);

/// `stripe_charges`: payment attempts.
pub static CHARGES: TableSpec = TableSpec {
    name: "stripe_charges",
    doc: "One row per charge (payment attempt). Orders are the succeeded, captured ones.",
    columns: &[
        ID,
        CREATED,
        col("amount", Integer, "amount asked, minor units"),
        col("amount_captured", Integer, "amount captured, minor units"),
        col(
            "amount_refunded",
            Integer,
            "amount refunded so far, minor units",
        ),
        CURRENCY,
        col("status", Text, "succeeded, pending or failed"),
        col("captured", Integer, "1 when captured"),
        col("paid", Integer, "1 when paid"),
        col("refunded", Integer, "1 when fully refunded"),
        col("customer", Text, "customer id; NULL for guest checkouts"),
        col(
            "billing_email",
            Text,
            "billing_details.email, the key of guest customers",
        ),
        col("payment_intent", Text, "PaymentIntent id"),
        col(
            "balance_transaction",
            Text,
            "balance transaction id, once settled",
        ),
        LIVEMODE,
    ],
};

/// `stripe_refunds`: refunds of charges.
pub static REFUNDS: TableSpec = TableSpec {
    name: "stripe_refunds",
    doc: "One row per refund, dated when it was issued.",
    columns: &[
        ID,
        CREATED,
        col("amount", Integer, "refunded amount, minor units"),
        CURRENCY,
        col(
            "status",
            Text,
            "pending, requires_action, succeeded, failed or canceled",
        ),
        col("charge", Text, "refunded charge id"),
        col("payment_intent", Text, "PaymentIntent id"),
        col(
            "balance_transaction",
            Text,
            "balance transaction id, once settled",
        ),
        col(
            "reason",
            Text,
            "duplicate, fraudulent, requested_by_customer or NULL",
        ),
        LIVEMODE,
    ],
};

/// `stripe_customers`.
pub static CUSTOMERS: TableSpec = TableSpec {
    name: "stripe_customers",
    doc: "One row per customer.",
    columns: &[
        ID,
        CREATED,
        col("email", Text, "e-mail address"),
        CURRENCY,
        col("delinquent", Integer, "1 when an invoice is past due"),
        LIVEMODE,
    ],
};

/// `stripe_subscriptions`: every subscription, canceled ones included.
pub static SUBSCRIPTIONS: TableSpec = TableSpec {
    name: "stripe_subscriptions",
    doc: "One row per subscription, whatever its status (canceled ones included).",
    columns: &[
        ID,
        CREATED,
        col("customer", Text, "customer id"),
        col(
            "status",
            Text,
            "trialing, active, past_due, canceled, unpaid, incomplete, ...",
        ),
        col("start_date", Text, "start of the subscription, UTC"),
        col("trial_start", Text, "start of the trial, UTC"),
        col("trial_end", Text, "end of the trial, UTC"),
        col(
            "cancel_at_period_end",
            Integer,
            "1 when a cancellation is scheduled",
        ),
        col("canceled_at", Text, "when the cancellation was asked, UTC"),
        col("ended_at", Text, "when the subscription ended, UTC"),
        CURRENCY,
        col(
            "monthly_amount",
            Integer,
            "recurring amount of all items normalised to one month, after a percentage \
             discount, minor units (the subscription's MRR contribution)",
        ),
        col(
            "is_free",
            Integer,
            "1 when every item's price is zero (a free plan)",
        ),
        LIVEMODE,
    ],
};

/// `stripe_invoices`.
pub static INVOICES: TableSpec = TableSpec {
    name: "stripe_invoices",
    doc: "One row per invoice.",
    columns: &[
        ID,
        CREATED,
        col("customer", Text, "customer id"),
        col(
            "subscription",
            Text,
            "subscription id, from either invoice shape",
        ),
        col("status", Text, "draft, open, paid, uncollectible or void"),
        col(
            "billing_reason",
            Text,
            "subscription_create, subscription_cycle, manual, ...",
        ),
        CURRENCY,
        col("amount_due", Integer, "minor units"),
        col("amount_paid", Integer, "minor units"),
        col("amount_remaining", Integer, "minor units"),
        col("total", Integer, "minor units"),
        col("paid_at", Text, "status_transitions.paid_at, UTC"),
        LIVEMODE,
    ],
};

/// `stripe_balance_transactions`: money movements in the settlement currency.
pub static BALANCE_TRANSACTIONS: TableSpec = TableSpec {
    name: "stripe_balance_transactions",
    doc: "One row per balance transaction: money as it reached the Stripe balance, in the \
          settlement currency. Revenue KPIs read this table.",
    columns: &[
        ID,
        CREATED,
        col(
            "type",
            Text,
            "charge, payment, refund, payment_refund, stripe_fee, payout, ...",
        ),
        col(
            "amount",
            Integer,
            "gross amount, minor units of the settlement currency",
        ),
        col("fee", Integer, "Stripe's fees, minor units"),
        col("net", Integer, "amount - fee, minor units"),
        col("currency", Text, "settlement currency, lower case"),
        col(
            "exchange_rate",
            Real,
            "rate applied when the charge was in another currency",
        ),
        col("status", Text, "pending or available"),
        col(
            "source",
            Text,
            "id of the charge, refund, ... behind the movement",
        ),
        col("reporting_category", Text, "Stripe's reporting category"),
        col("available_on", Text, "when the funds become available, UTC"),
    ],
};

/// Every Stripe table.
pub static TABLES: [&TableSpec; 6] = [
    &CUSTOMERS,
    &CHARGES,
    &REFUNDS,
    &BALANCE_TRANSACTIONS,
    &SUBSCRIPTIONS,
    &INVOICES,
];
