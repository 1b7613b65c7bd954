//! The datasets and builders: `e2e()` matches its documented table, `update()` records events,
//! `demo()` is deterministic and shaped as promised, `generated_charges()` renders real shapes.

use std::collections::HashSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::super::dataset::utc;
use super::super::{Dataset, Resource, builders, charge, invoice, subscription};
use super::{get, ids, start};

const DAY: i64 = 86_400;

fn object(data: &Dataset, resource: Resource, id: &str) -> Value {
    data.get(resource, id)
        .unwrap_or_else(|| panic!("{resource:?} {id} is missing"))
        .clone()
}

/// Every stored object's JSON text, in a fixed order: what "identical bytes" compares.
fn dump(data: &Dataset) -> String {
    let mut out = String::new();
    for resource in Resource::ALL {
        for (_, row) in data.table(resource).rows() {
            out.push_str(&row.json);
            out.push('\n');
        }
    }
    out
}

#[test]
fn utc_agrees_with_jiff() {
    let parsed: Timestamp = "2026-01-31T23:30:00Z".parse().unwrap();
    assert_eq!(utc(2026, 1, 31, 23, 30), parsed);
    let leap: Timestamp = "2024-02-29T00:00:00Z".parse().unwrap();
    assert_eq!(utc(2024, 2, 29, 0, 0), leap);
}

#[test]
fn e2e_holds_the_documented_objects() {
    let data = Dataset::e2e();
    let counts: Vec<usize> = Resource::ALL.iter().map(|r| data.len(*r)).collect();
    assert_eq!(counts, [8, 2, 5, 5, 3, 7, 0]);

    let ch_2 = object(&data, Resource::Charges, "ch_2");
    assert_eq!(ch_2["amount_refunded"], 1000);
    assert_eq!(ch_2["balance_transaction"], "txn_2");
    assert_eq!(ch_2["billing_details"]["email"], "b@example.com");

    let ch_5 = object(&data, Resource::Charges, "ch_5");
    assert_eq!(
        (
            &ch_5["status"],
            &ch_5["paid"],
            &ch_5["captured"],
            &ch_5["amount_captured"]
        ),
        (&json!("failed"), &json!(false), &json!(false), &json!(0))
    );
    assert!(ch_5["balance_transaction"].is_null());

    let ch_7 = object(&data, Resource::Charges, "ch_7");
    assert!(ch_7["customer"].is_null());
    assert_eq!(ch_7["billing_details"]["email"], "guest@example.com");

    let ch_8 = object(&data, Resource::Charges, "ch_8");
    assert_eq!(
        (&ch_8["paid"], &ch_8["captured"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(ch_8["amount_captured"], 0);
    assert!(ch_8["balance_transaction"].is_null());

    let txn_6 = object(&data, Resource::BalanceTransactions, "txn_6");
    assert_eq!(
        (&txn_6["amount"], &txn_6["net"]),
        (&json!(2300), &json!(2203))
    );
    assert_eq!(
        (&txn_6["currency"], &txn_6["exchange_rate"]),
        (&json!("eur"), &json!(0.92))
    );
    let txn_4 = object(&data, Resource::BalanceTransactions, "txn_4");
    assert_eq!(
        (&txn_4["currency"], &txn_4["exchange_rate"]),
        (&json!("jpy"), &Value::Null)
    );
    let txn_r1 = object(&data, Resource::BalanceTransactions, "txn_r1");
    assert_eq!(
        (&txn_r1["amount"], &txn_r1["source"]),
        (&json!(-1000), &json!("re_1"))
    );
    assert_eq!(txn_r1["created"], utc(2026, 3, 5, 9, 0).as_second());
    assert_eq!(
        object(&data, Resource::BalanceTransactions, "txn_1")["net"],
        4825
    );

    let re_2 = object(&data, Resource::Refunds, "re_2");
    assert_eq!(
        (&re_2["status"], &re_2["charge"]),
        (&json!("pending"), &json!("ch_1"))
    );
}

#[test]
fn e2e_subscriptions_and_invoices_match_the_table() {
    let data = Dataset::e2e();
    let sub_2 = object(&data, Resource::Subscriptions, "sub_2");
    let ended = utc(2026, 2, 15, 10, 0).as_second();
    assert_eq!(sub_2["status"], "canceled");
    assert_eq!(
        (&sub_2["canceled_at"], &sub_2["ended_at"]),
        (&json!(ended), &json!(ended))
    );

    let sub_3 = object(&data, Resource::Subscriptions, "sub_3");
    assert_eq!(sub_3["status"], "active");
    assert_eq!(sub_3["trial_start"], utc(2026, 2, 1, 9, 0).as_second());
    assert_eq!(sub_3["trial_end"], utc(2026, 2, 15, 9, 0).as_second());

    let price =
        |id: &str| object(&data, Resource::Subscriptions, id)["items"]["data"][0]["price"].clone();
    assert_eq!(price("sub_4")["unit_amount"], 0);
    assert_eq!(price("sub_5")["unit_amount"], 12000);
    assert_eq!(
        price("sub_5")["recurring"],
        json!({"interval": "year", "interval_count": 1,
        "meter": null, "trial_period_days": null, "usage_type": "licensed"})
    );
    assert_eq!(price("sub_1")["recurring"]["interval"], "month");

    let inv_3 = object(&data, Resource::Invoices, "inv_3");
    assert_eq!(
        inv_3["parent"]["subscription_details"]["subscription"],
        "sub_1"
    );
    assert_eq!(
        (&inv_3["status"], &inv_3["amount_paid"]),
        (&json!("draft"), &json!(0))
    );
    assert_eq!(inv_3["amount_due"], 5000);
    assert!(inv_3.get("paid").is_none(), "basil invoices have no `paid`");
    let inv_1 = object(&data, Resource::Invoices, "inv_1");
    assert_eq!(inv_1["billing_reason"], "subscription_create");
    assert_eq!(inv_1["amount_paid"], 5000);

    // Refunds and balance transactions have no `livemode` field in Stripe's shapes.
    let with_livemode = [
        Resource::Charges,
        Resource::Customers,
        Resource::Subscriptions,
    ];
    for resource in with_livemode.into_iter().chain([Resource::Invoices]) {
        for id in data.ids(resource) {
            assert_eq!(object(&data, resource, &id)["livemode"], false, "{id}");
        }
    }
}

#[test]
fn update_rewrites_the_object_and_records_an_event() {
    let mut data = Dataset::e2e();
    let at = utc(2026, 3, 20, 12, 0);
    data.update(
        Resource::Subscriptions,
        "sub_1",
        "customer.subscription.deleted",
        at,
        |s| {
            builders::cancel_subscription(s, at);
        },
    );

    assert_eq!(
        object(&data, Resource::Subscriptions, "sub_1")["status"],
        "canceled"
    );
    let events = data.ids(Resource::Events);
    assert_eq!(events.len(), 1);
    let event = object(&data, Resource::Events, &events[0]);
    assert_eq!(event["type"], "customer.subscription.deleted");
    assert_eq!(event["created"], at.as_second());
    assert_eq!(event["data"]["object"]["canceled_at"], at.as_second());
    assert!(event["data"].get("previous_attributes").is_none());

    // Moving `created` moves the object in list order.
    data.update(Resource::Charges, "ch_1", "charge.updated", at, |c| {
        c["created"] = json!(0)
    });
    assert_eq!(
        data.ids(Resource::Charges).last().map(String::as_str),
        Some("ch_1")
    );
    assert_eq!(data.ids(Resource::Events).len(), 2);
}

fn demo_anchor() -> Timestamp {
    utc(2026, 6, 1, 0, 0)
}

#[test]
fn demo_is_byte_identical_for_the_same_anchor_and_seed() {
    let first = dump(&Dataset::demo(demo_anchor(), 7));
    assert_eq!(first, dump(&Dataset::demo(demo_anchor(), 7)));
    assert_ne!(first, dump(&Dataset::demo(demo_anchor(), 8)));
    let later = demo_anchor()
        .checked_add(jiff::SignedDuration::from_hours(24))
        .unwrap();
    assert_ne!(first, dump(&Dataset::demo(later, 7)));
}

#[test]
fn demo_has_the_promised_mix() {
    let anchor = demo_anchor().as_second();
    let data = Dataset::demo(demo_anchor(), 42);
    let all = |resource| -> Vec<Value> {
        data.ids(resource)
            .iter()
            .map(|id| object(&data, resource, id))
            .collect()
    };

    let customers = all(Resource::Customers);
    assert!((50..=70).contains(&customers.len()), "{}", customers.len());
    let charges = all(Resource::Charges);
    assert!((350..=450).contains(&charges.len()), "{}", charges.len());
    for object in charges.iter().chain(&customers) {
        let created = object["created"].as_i64().unwrap();
        assert!(
            created <= anchor && created >= anchor - 121 * DAY,
            "{}",
            object["id"]
        );
    }

    let count = |f: &dyn Fn(&Value) -> bool| charges.iter().filter(|c| f(c)).count();
    assert!(count(&|c| c["status"] == "failed") >= 3);
    assert!(count(&|c| c["currency"] == "usd") >= 10);
    assert!((1..=3).contains(&count(&|c| c["currency"] == "jpy")));
    assert!(count(&|c| c["customer"].is_null()) >= 10);
    for c in charges.iter().filter(|c| c["status"] == "succeeded") {
        let txn = c["balance_transaction"]
            .as_str()
            .expect("succeeded charges are settled");
        let bt = object(&data, Resource::BalanceTransactions, txn);
        assert_eq!((&bt["source"], &bt["currency"]), (&c["id"], &json!("eur")));
    }

    let refunds = all(Resource::Refunds);
    assert!((5..=40).contains(&refunds.len()), "{}", refunds.len());
    for refund in &refunds {
        let charge = object(&data, Resource::Charges, refund["charge"].as_str().unwrap());
        assert!(refund["created"].as_i64() > charge["created"].as_i64());
        assert!(refund["balance_transaction"].is_string());
    }

    let subs = all(Resource::Subscriptions);
    assert_eq!(subs.len(), 40);
    let status_count = |s: &str| subs.iter().filter(|sub| sub["status"] == s).count();
    assert_eq!(status_count("canceled"), 6);
    let price = |sub: &Value| sub["items"]["data"][0]["price"].clone();
    assert!(subs.iter().filter(|s| price(s)["unit_amount"] == 0).count() >= 3);
    assert!(
        subs.iter()
            .filter(|s| price(s)["recurring"]["interval"] == "year")
            .count()
            >= 3
    );
    assert!(subs.iter().filter(|s| s["trial_start"].is_i64()).count() >= 3);
    assert_eq!(status_count("trialing"), 2);
    assert!(all(Resource::Invoices).len() >= 40);
}

#[tokio::test]
async fn demo_events_cover_the_last_twenty_days_and_are_all_listed() {
    let anchor = demo_anchor().as_second();
    let data = Dataset::demo(demo_anchor(), 42);
    let stored = data.len(Resource::Events);
    assert!(stored >= 20, "{stored}");

    let fake = start(data).await;
    let mut listed = Vec::new();
    let mut query = "limit=100".to_owned();
    loop {
        let (status, _, body) = get(&fake, &format!("/v1/events?{query}")).await;
        assert_eq!(status, 200);
        listed.extend(body["data"].as_array().unwrap().iter().cloned());
        let Some(last) = ids(&body).pop().filter(|_| body["has_more"] == true) else {
            break;
        };
        query = format!("limit=100&starting_after={last}");
    }

    assert_eq!(listed.len(), stored);
    let types: HashSet<&str> = listed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for expected in ["charge.succeeded", "invoice.paid", "customer.created"] {
        assert!(
            types.contains(expected),
            "{expected} missing from {types:?}"
        );
    }
    for event in &listed {
        let created = event["created"].as_i64().unwrap();
        assert!(created >= anchor - 20 * DAY && created <= anchor);
        assert!(event["data"]["object"]["id"].is_string());
    }
}

#[test]
fn generated_charges_render_the_builder_shape_at_about_two_kilobytes() {
    let end = utc(2026, 6, 1, 0, 0);
    let data = Dataset::generated_charges_until(end, 500, 3);
    assert_eq!(data.len(Resource::Charges), 500);
    assert_eq!(data.len(Resource::BalanceTransactions), 500);

    let reference = charge("ch_x", Some("cus_x"), end, 1, "eur", "succeeded");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let mut bytes = 0;
    for (_, row) in data.table(Resource::Charges).rows() {
        bytes += row.json.len();
        let parsed: Value = serde_json::from_str(&row.json).expect("generated JSON parses");
        assert_eq!(keys(&parsed), keys(&reference));
        assert_eq!(parsed["amount"], parsed["amount_captured"]);
        let created = parsed["created"].as_i64().unwrap();
        assert!(created < end.as_second() && created >= end.as_second() - 365 * DAY);

        let txn = parsed["balance_transaction"].as_str().unwrap();
        let bt = object(&data, Resource::BalanceTransactions, txn);
        assert_eq!(bt["source"], parsed["id"]);
        let (amount, fee) = (bt["amount"].as_i64().unwrap(), bt["fee"].as_i64().unwrap());
        assert_eq!(bt["net"], amount - fee);
        assert_eq!(bt["amount"], parsed["amount"]);
    }
    let average = bytes / 500;
    assert!(
        (1_500..=2_600).contains(&average),
        "{average} bytes per charge"
    );

    let again = Dataset::generated_charges_until(end, 500, 3);
    assert_eq!(dump(&data), dump(&again));
    assert_ne!(
        dump(&data),
        dump(&Dataset::generated_charges_until(end, 500, 4))
    );
}

#[tokio::test]
async fn generated_charges_page_through_completely() {
    let fake = start(Dataset::generated_charges(250, 1)).await;
    let mut seen = HashSet::new();
    let mut after = String::new();
    loop {
        let (_, _, body) = get(&fake, &format!("/v1/charges?limit=100{after}")).await;
        let page = ids(&body);
        seen.extend(page.iter().cloned());
        match page.last() {
            Some(last) if body["has_more"] == true => after = format!("&starting_after={last}"),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 250);
    let (_, _, filtered) = get(&fake, "/v1/charges?customer=cus_gen0000000000&limit=100").await;
    assert!(ids(&filtered).iter().all(|id| id.starts_with("ch_gen")));
}

#[test]
fn builders_follow_the_status_rules() {
    let created = utc(2026, 1, 1, 0, 0);
    let pending = charge("ch_p", None, created, 700, "eur", "pending");
    assert_eq!(
        (&pending["paid"], &pending["captured"]),
        (&json!(false), &json!(true))
    );
    assert!(pending["failure_code"].is_null());

    let failed = charge("ch_f", None, created, 700, "eur", "failed");
    assert_eq!(failed["failure_code"], "card_declined");
    assert_eq!(failed["outcome"]["type"], "issuer_declined");

    let mut sub = subscription("sub_t", "cus_A", created, 900, "usd", "month");
    let item = &sub["items"]["data"][0];
    assert_eq!(
        item["current_period_end"],
        utc(2026, 2, 1, 0, 0).as_second()
    );
    assert_eq!(item["price"]["currency"], "usd");
    builders::start_trial(&mut sub, utc(2026, 1, 8, 0, 0));
    assert_eq!(sub["status"], "trialing");
    assert_eq!(
        sub["items"]["data"][0]["current_period_end"],
        utc(2026, 1, 8, 0, 0).as_second()
    );

    let open = invoice("in_o", "cus_A", None, created, 1200, "eur", "open");
    assert!(open["parent"].is_null());
    assert_eq!(
        (&open["amount_remaining"], &open["billing_reason"]),
        (&json!(1200), &json!("manual"))
    );
}

#[test]
#[should_panic(expected = "needs a string id")]
fn inserting_an_object_without_id_panics() {
    Dataset::empty().insert(Resource::Charges, json!({"created": 1}));
}
