//! The connector's parsing, on Stripe's own published samples (shared with the repository, never
//! copied into it) and on the shapes older API versions send through the events feed.

use std::path::PathBuf;

use serde_json::value::RawValue;

use super::objects::{self, parse_object};
use super::tables;
use crate::schema::{TableSpec, Value};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/stripe")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("the shared fixture {}: {error}", path.display()))
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).expect("valid JSON")
}

/// The value of `column` in the row parsed from `text`.
fn column(table: &'static TableSpec, text: &str, name: &str) -> Value {
    let parsed = parse_object(table, &raw(text), 0).expect("the object parses");
    let index = table
        .columns
        .iter()
        .position(|column| column.name == name)
        .expect("a column");
    parsed.row.values[index].clone()
}

#[test]
fn every_single_object_sample_parses_into_its_table() {
    for (file, table) in [
        ("object_charge.json", &tables::CHARGES),
        ("object_refund.json", &tables::REFUNDS),
        ("object_customer.json", &tables::CUSTOMERS),
        ("object_subscription.json", &tables::SUBSCRIPTIONS),
        ("object_invoice.json", &tables::INVOICES),
        (
            "object_balance_transaction.json",
            &tables::BALANCE_TRANSACTIONS,
        ),
    ] {
        let text = fixture(file);
        let parsed = parse_object(table, &raw(&text), 7).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(parsed.row.values.len(), table.columns.len(), "{file}");
        assert_eq!(parsed.row.raw, text, "{file}: raw kept byte for byte");
        assert!(
            matches!(parsed.row.values[1], Value::Text(_)),
            "{file}: created as ISO text"
        );
    }
}

#[test]
fn the_charge_sample_maps_its_money_and_links() {
    let text = fixture("object_charge.json");
    assert_eq!(
        column(&tables::CHARGES, &text, "amount"),
        Value::Integer(100)
    );
    assert_eq!(
        column(&tables::CHARGES, &text, "currency"),
        Value::Text("usd".into())
    );
    assert_eq!(
        column(&tables::CHARGES, &text, "captured"),
        Value::Integer(0)
    );
    assert_eq!(
        column(&tables::CHARGES, &text, "status"),
        Value::Text("succeeded".into())
    );
}

#[test]
fn the_basil_invoice_finds_its_subscription_under_parent() {
    let text = fixture("object_invoice.json");
    let subscription = column(&tables::INVOICES, &text, "subscription");
    let parent = serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let expected = &parent["parent"]["subscription_details"]["subscription"];
    match (expected.as_str(), subscription) {
        (Some(id), Value::Text(found)) => assert_eq!(found, id),
        (None, Value::Null) => {}
        (expected, found) => panic!("expected {expected:?}, found {found:?}"),
    }
}

#[test]
fn an_invoice_of_an_older_version_keeps_its_top_level_subscription() {
    let text = r#"{"id":"in_1","object":"invoice","created":1700000000,"paid":true,
        "subscription":"sub_9","status":"paid","amount_paid":1200,"currency":"eur"}"#;
    assert_eq!(
        column(&tables::INVOICES, text, "subscription"),
        Value::Text("sub_9".into())
    );
}

#[test]
fn airbyte_list_envelopes_parse_as_pages() {
    #[derive(serde::Deserialize)]
    struct Page {
        data: Vec<Box<RawValue>>,
        has_more: bool,
    }
    for (file, table) in [
        ("airbyte_charges.json", &tables::CHARGES),
        ("airbyte_customers.json", &tables::CUSTOMERS),
        (
            "airbyte_balance_transactions.json",
            &tables::BALANCE_TRANSACTIONS,
        ),
    ] {
        let page: Page = serde_json::from_str(&fixture(file)).expect(file);
        assert!(!page.has_more, "{file}");
        for object in &page.data {
            parse_object(table, object, 0).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    let transfer = fixture("airbyte_balance_transactions.json");
    let page: serde_json::Value = serde_json::from_str(&transfer).unwrap();
    let amount = page["data"][0]["amount"].as_i64().expect("an amount");
    assert!(amount < 0, "the sample is a negative transfer");
}

#[test]
fn events_of_other_api_versions_route_by_object_kind() {
    let page: serde_json::Value = serde_json::from_str(&fixture("airbyte_events.json")).unwrap();
    let event = &page["data"][0];
    assert_eq!(event["api_version"], "2020-08-27");
    // A balance.available event carries a balance, which kpisync does not store.
    let kind = event["data"]["object"]["object"].as_str().unwrap();
    assert!(objects::table_for_object(kind).is_none(), "{kind}");
    assert!(objects::table_for_object("subscription").is_some());
}

#[test]
fn a_subscription_of_an_older_version_reads_its_plan() {
    // Before prices, items carried a plan; current_period_end sat on the subscription.
    let text = r#"{"id":"sub_old","object":"subscription","created":1600000000,"status":"active",
        "current_period_end":1602592000,"currency":"usd",
        "items":{"object":"list","data":[{"quantity":2,
        "plan":{"amount":1500,"interval":"month","interval_count":1}}]}}"#;
    assert_eq!(
        column(&tables::SUBSCRIPTIONS, text, "monthly_amount"),
        Value::Integer(3000)
    );
    assert_eq!(
        column(&tables::SUBSCRIPTIONS, text, "is_free"),
        Value::Integer(0)
    );
}

#[test]
fn monthly_amounts_normalise_intervals_and_discounts() {
    let sub = |items: &str, discount: &str| {
        format!(r#"{{"id":"sub_x","created":1,"items":{{"data":[{items}]}}{discount}}}"#)
    };
    let item = |amount: i64, interval: &str, count: i64| {
        format!(
            r#"{{"quantity":1,"price":{{"unit_amount":{amount},
            "recurring":{{"interval":"{interval}","interval_count":{count}}}}}}}"#
        )
    };
    let monthly = |text: String| column(&tables::SUBSCRIPTIONS, &text, "monthly_amount");

    assert_eq!(
        monthly(sub(&item(12000, "year", 1), "")),
        Value::Integer(1000)
    );
    assert_eq!(
        monthly(sub(&item(1000, "week", 1), "")),
        Value::Integer(4333)
    );
    assert_eq!(
        monthly(sub(&item(3000, "month", 3), "")),
        Value::Integer(1000)
    );
    let quarter_off = r#","discount":{"coupon":{"percent_off":25.0}}"#;
    assert_eq!(
        monthly(sub(&item(2000, "month", 1), quarter_off)),
        Value::Integer(1500)
    );
    let free = sub(&item(0, "month", 1), "");
    assert_eq!(
        column(&tables::SUBSCRIPTIONS, &free, "is_free"),
        Value::Integer(1)
    );
}

#[test]
fn unknown_fields_and_statuses_are_kept_not_rejected() {
    let text = r#"{"id":"ch_new","created":1,"status":"requires_magic","brand_new_field":{"a":1},
        "amount":5,"currency":"usd"}"#;
    assert_eq!(
        column(&tables::CHARGES, text, "status"),
        Value::Text("requires_magic".into())
    );
}

#[test]
fn an_object_without_created_is_an_error_not_a_panic() {
    let error = parse_object(&tables::CHARGES, &raw(r#"{"id":"ch_1"}"#), 0)
        .err()
        .unwrap();
    assert!(error.to_string().contains("created"), "{error}");
    let error = parse_object(&tables::CHARGES, &raw(r#"{"id":"ch_1","created":"x"}"#), 0);
    assert!(error.is_err());
}
