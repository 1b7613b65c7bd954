//! `Dataset::generated_charges`: many succeeded charges and their balance transactions for
//! benchmarks. Objects are rendered from a JSON template cut out of the builders' output, so a
//! million charges take seconds and still have the real shape.

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Resource;
use super::builders;
use super::dataset::Dataset;
use super::store::Row;

const DAY: i64 = 86_400;
const YEAR_SECS: i64 = 365 * DAY;

impl Dataset {
    /// `n` succeeded EUR charges (about 2 KB of JSON each) spread over the 365 days before the
    /// start of the current UTC day, with their balance transactions; one customer id per four
    /// charges (the customers themselves are not generated). Deterministic for `(n, seed)`
    /// within a day; see [`Dataset::generated_charges_until`] for a fixed end.
    pub fn generated_charges(n: usize, seed: u64) -> Dataset {
        let now = Timestamp::now().as_second();
        let today = now - now.rem_euclid(DAY);
        Dataset::generated_charges_until(super::demo::ts(today), n, seed)
    }

    /// Like [`Dataset::generated_charges`], over the 365 days before `end`.
    pub fn generated_charges_until(end: Timestamp, n: usize, seed: u64) -> Dataset {
        let mut rng = Rng::with_seed(seed);
        let charge_template = Template::charge();
        let bt_template = Template::balance_transaction();
        let customers = (n / 4).max(1);
        let end = end.as_second();
        let mut data = Dataset::empty();

        for i in 0..n {
            let created = end - 1 - rng.i64(0..YEAR_SECS);
            let amount = rng.i64(10..=400) * 50;
            let fee = (amount as f64 * 0.015).round() as i64 + 25;
            let customer = rng.usize(..customers);
            let ids = GeneratedIds::new(i, customer);
            let available = created + 2 * DAY <= end;

            let charge = charge_template.render(&[
                &quoted(&ids.charge),
                &created.to_string(),
                &amount.to_string(),
                &quoted(&ids.customer),
                &quoted(&ids.transaction),
                &quoted(&ids.payment_intent),
                &quoted(&format!("pm_gen{i:010}")),
                &quoted(&format!(
                    "https://pay.stripe.com/receipts/payment/gen{i:010}"
                )),
                &quoted(&format!("customer{customer}@example.com")),
                &quoted(&format!("fp{customer:014}")),
            ]);
            let attrs = vec![
                ("customer", ids.customer.clone().into()),
                ("payment_intent", ids.payment_intent.into()),
            ];
            data.put_row(
                Resource::Charges,
                &ids.charge,
                created,
                Row::from_json(charge, attrs),
            );

            let status = if available { "available" } else { "pending" };
            let bt = bt_template.render(&[
                &quoted(&ids.transaction),
                &created.to_string(),
                &amount.to_string(),
                &fee.to_string(),
                &(amount - fee).to_string(),
                &quoted(&ids.charge),
                &(created + 2 * DAY).to_string(),
                &quoted(status),
            ]);
            let attrs = vec![
                ("type", "charge".into()),
                ("source", ids.charge.into()),
                ("currency", "eur".into()),
                ("status", status.into()),
                ("net", (amount - fee).to_string().into()),
            ];
            let row = Row::from_json(bt, attrs);
            data.put_row(
                Resource::BalanceTransactions,
                &ids.transaction,
                created,
                row,
            );
        }
        data
    }
}

struct GeneratedIds {
    charge: String,
    transaction: String,
    payment_intent: String,
    customer: String,
}

impl GeneratedIds {
    fn new(index: usize, customer: usize) -> GeneratedIds {
        GeneratedIds {
            charge: format!("ch_gen{index:010}"),
            transaction: format!("txn_gen{index:010}"),
            payment_intent: format!("pi_gen{index:010}"),
            customer: format!("cus_gen{customer:010}"),
        }
    }
}

/// A JSON string literal for text that needs no escaping (generated ids, emails, URLs).
fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

/// Serialized JSON with holes: `pieces[0] slot pieces[1] slot ... pieces[n]`, where `slots[k]`
/// says which rendered value fills hole `k`.
struct Template {
    pieces: Vec<String>,
    slots: Vec<usize>,
}

impl Template {
    /// Serializes `object` after putting a marker at each JSON pointer of `holes`; hole `k` is
    /// filled by the `k`th value given to [`Template::render`]. A pointer may repeat a value
    /// index (the amount appears four times in a charge).
    fn new(mut object: Value, holes: &[(&str, usize)]) -> Template {
        for (pointer, slot) in holes {
            if let Some(field) = object.pointer_mut(pointer) {
                *field = json!(format!("@@{slot}@@"));
            }
        }
        let text = object.to_string();

        let mut pieces = Vec::new();
        let mut slots = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("\"@@") {
            let after = &rest[start + 3..];
            let Some(end) = after.find("@@\"") else {
                break;
            };
            let Ok(slot) = after[..end].parse::<usize>() else {
                break;
            };
            pieces.push(rest[..start].to_owned());
            slots.push(slot);
            rest = &after[end + 3..];
        }
        pieces.push(rest.to_owned());
        Template { pieces, slots }
    }

    /// The charge shape of [`builders::charge`] with its per-charge fields as holes:
    /// id, created, amount, customer, balance transaction, payment intent, payment method,
    /// receipt URL, email, card fingerprint.
    fn charge() -> Template {
        let mut charge = builders::charge(
            "ch_x",
            Some("cus_x"),
            Timestamp::UNIX_EPOCH,
            0,
            "eur",
            "succeeded",
        );
        charge["description"] = json!("Shop order");
        let holes = [
            ("/id", 0),
            ("/created", 1),
            ("/amount", 2),
            ("/amount_captured", 2),
            ("/payment_method_details/card/amount_authorized", 2),
            (
                "/payment_method_details/card/overcapture/maximum_amount_capturable",
                2,
            ),
            ("/customer", 3),
            ("/balance_transaction", 4),
            ("/payment_intent", 5),
            ("/payment_method", 6),
            ("/receipt_url", 7),
            ("/billing_details/email", 8),
            ("/receipt_email", 8),
            ("/payment_method_details/card/fingerprint", 9),
        ];
        Template::new(charge, &holes)
    }

    /// The shape of [`builders::balance_transaction`] for a EUR charge, with holes for id,
    /// created, amount, fee, net, source, available_on, status.
    fn balance_transaction() -> Template {
        let bt = builders::balance_transaction(
            "txn_x",
            "ch_x",
            Timestamp::UNIX_EPOCH,
            100,
            1,
            "eur",
            "charge",
        );
        let holes = [
            ("/id", 0),
            ("/created", 1),
            ("/amount", 2),
            ("/fee", 3),
            ("/fee_details/0/amount", 3),
            ("/net", 4),
            ("/source", 5),
            ("/available_on", 6),
            ("/status", 7),
        ];
        Template::new(bt, &holes)
    }

    fn render(&self, values: &[&str]) -> String {
        let mut out =
            String::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + 256);
        for (piece, slot) in self.pieces.iter().zip(&self.slots) {
            out.push_str(piece);
            out.push_str(values.get(*slot).copied().unwrap_or("null"));
        }
        if let Some(last) = self.pieces.last() {
            out.push_str(last);
        }
        out
    }
}
