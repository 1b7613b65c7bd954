//! The fake's HTTP behaviour: auth, list envelopes and pagination, filters, retrieve, routing,
//! request recording.

use serde_json::json;

use super::super::dataset::utc;
use super::super::{FAKE_API_KEY, Resource, balance_transaction, charge};
use super::{at, charges, error_of, get, ids, send, start};
use crate::stripe::fake::Dataset;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

#[tokio::test]
async fn missing_key_is_a_401_with_a_stripe_error_and_request_id() {
    let fake = start(Dataset::e2e()).await;
    let request = reqwest::Client::new().get(format!("{}/v1/charges", fake.base_url()));
    let (status, headers, body) = send(request).await;

    assert_eq!(status, 401);
    assert_eq!(error_of(&body)["type"], "invalid_request_error");
    let request_id = headers["request-id"].to_str().unwrap();
    assert!(request_id.starts_with("req_"), "{request_id}");
}

#[tokio::test]
async fn wrong_key_is_a_401_that_never_echoes_the_key_whole() {
    let fake = start(Dataset::e2e()).await;
    let wrong = "sk_test_somebody_elses_secret_key";
    let request = reqwest::Client::new()
        .get(format!("{}/v1/charges", fake.base_url()))
        .bearer_auth(wrong);
    let (status, _, body) = send(request).await;

    assert_eq!(status, 401);
    let message = error_of(&body)["message"].as_str().unwrap();
    assert!(
        message.starts_with("Invalid API Key provided: sk_test_"),
        "{message}"
    );
    assert!(message.ends_with("_key"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert_eq!(fake.requests()[0].status, 401);
}

#[tokio::test]
async fn basic_auth_with_the_key_as_user_name_is_accepted() {
    let fake = start(Dataset::e2e()).await;
    let request = reqwest::Client::new()
        .get(format!("{}/v1/customers", fake.base_url()))
        .basic_auth(FAKE_API_KEY, None::<&str>);
    let (status, _, body) = send(request).await;
    assert_eq!(status, 200, "{body}");

    let wrong = reqwest::Client::new()
        .get(format!("{}/v1/customers", fake.base_url()))
        .basic_auth("sk_test_nope_nope_nope", Some(FAKE_API_KEY));
    assert_eq!(send(wrong).await.0, 401);
}

#[tokio::test]
async fn list_envelope_is_newest_first_with_ties_by_id_descending() {
    let mut data = Dataset::empty();
    for (id, created) in [("ch_b", T0), ("ch_a", T0), ("ch_c", T0), ("ch_old", T0 - 5)] {
        let object = charge(id, None, at(created), 100, "eur", "succeeded");
        data.insert(Resource::Charges, object);
    }
    let fake = start(data).await;
    let (status, headers, body) = get(&fake, "/v1/charges").await;

    assert_eq!(status, 200);
    assert!(headers.contains_key("request-id"));
    assert_eq!(body["object"], "list");
    assert_eq!(body["url"], "/v1/charges");
    assert_eq!(body["has_more"], false);
    assert_eq!(ids(&body), ["ch_c", "ch_b", "ch_a", "ch_old"]);
}

#[tokio::test]
async fn default_limit_is_ten() {
    let fake = start(charges(25, T0)).await;
    let (_, _, body) = get(&fake, "/v1/charges").await;
    assert_eq!(ids(&body).len(), 10);
    assert_eq!(body["has_more"], true);
}

#[tokio::test]
async fn exactly_one_hundred_objects_fill_one_page_and_the_next_is_empty() {
    let fake = start(charges(100, T0)).await;
    let (_, _, first) = get(&fake, "/v1/charges?limit=100").await;
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 100);
    assert_eq!(first["has_more"], false);

    let last = first_ids.last().unwrap();
    let (status, _, next) = get(
        &fake,
        &format!("/v1/charges?limit=100&starting_after={last}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ids(&next).is_empty());
    assert_eq!(next["has_more"], false);
}

#[tokio::test]
async fn one_hundred_and_one_objects_take_two_pages() {
    let fake = start(charges(101, T0)).await;
    let (_, _, first) = get(&fake, "/v1/charges?limit=100").await;
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 100);
    assert_eq!(first["has_more"], true);
    assert_eq!(first_ids[0], "ch_0100");

    let last = first_ids.last().unwrap();
    let (_, _, second) = get(
        &fake,
        &format!("/v1/charges?limit=100&starting_after={last}"),
    )
    .await;
    assert_eq!(ids(&second), ["ch_0000"]);
    assert_eq!(second["has_more"], false);
    assert_eq!(
        fake.requests()[1].param("starting_after").as_deref(),
        Some("ch_0001")
    );
}

#[tokio::test]
async fn a_page_promised_by_has_more_can_come_back_empty_after_a_deletion() {
    let fake = start(charges(101, T0)).await;
    let (_, _, first) = get(&fake, "/v1/charges?limit=100").await;
    assert_eq!(first["has_more"], true);

    assert!(
        fake.with_dataset(|data| data.remove(Resource::Charges, "ch_0000"))
            .is_some()
    );
    let (_, _, second) = get(&fake, "/v1/charges?limit=100&starting_after=ch_0001").await;
    assert!(ids(&second).is_empty());
    assert_eq!(second["has_more"], false);
}

#[tokio::test]
async fn ending_before_returns_the_newer_neighbours_in_list_order() {
    let fake = start(charges(30, T0)).await;
    let (_, _, body) = get(&fake, "/v1/charges?limit=3&ending_before=ch_0010").await;
    assert_eq!(ids(&body), ["ch_0013", "ch_0012", "ch_0011"]);
    assert_eq!(body["has_more"], true);

    let (_, _, top) = get(&fake, "/v1/charges?limit=3&ending_before=ch_0027").await;
    assert_eq!(ids(&top), ["ch_0029", "ch_0028"]);
    assert_eq!(top["has_more"], false);
}

#[tokio::test]
async fn created_filters_bound_the_window_and_combine_with_the_cursor() {
    let fake = start(charges(20, T0)).await;
    let window = format!("created[gte]={}&created[lt]={}", T0 + 5, T0 + 10);
    let (_, _, body) = get(&fake, &format!("/v1/charges?{window}")).await;
    assert_eq!(
        ids(&body),
        ["ch_0009", "ch_0008", "ch_0007", "ch_0006", "ch_0005"]
    );

    let (_, _, page) = get(
        &fake,
        &format!("/v1/charges?{window}&limit=2&starting_after=ch_0008"),
    )
    .await;
    assert_eq!(ids(&page), ["ch_0007", "ch_0006"]);
    assert_eq!(page["has_more"], true);

    let strict = format!("created[gt]={}&created[lte]={}", T0 + 5, T0 + 7);
    let (_, _, body) = get(&fake, &format!("/v1/charges?{strict}")).await;
    assert_eq!(ids(&body), ["ch_0007", "ch_0006"]);

    let (_, _, body) = get(&fake, &format!("/v1/charges?created={}", T0 + 3)).await;
    assert_eq!(ids(&body), ["ch_0003"]);
}

#[tokio::test]
async fn percent_encoded_bracket_keys_are_decoded() {
    let fake = start(charges(20, T0)).await;
    let query = format!("created%5Bgte%5D={}&limit=100", T0 + 18);
    let (status, _, body) = get(&fake, &format!("/v1/charges?{query}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), ["ch_0019", "ch_0018"]);
    assert_eq!(
        fake.requests()[0].param("created[gte]"),
        Some((T0 + 18).to_string())
    );
}

#[tokio::test]
async fn limit_outside_one_to_one_hundred_is_a_400_on_limit() {
    let fake = start(charges(3, T0)).await;
    for bad in ["0", "101", "ten", "-1"] {
        let (status, _, body) = get(&fake, &format!("/v1/charges?limit={bad}")).await;
        assert_eq!(status, 400, "limit={bad}");
        assert_eq!(error_of(&body)["param"], "limit");
        assert_eq!(error_of(&body)["type"], "invalid_request_error");
    }
    assert_eq!(get(&fake, "/v1/charges?limit=1").await.0, 200);
    assert_eq!(get(&fake, "/v1/charges?limit=100").await.0, 200);
}

#[tokio::test]
async fn unknown_cursor_is_resource_missing_and_both_cursors_are_refused() {
    let fake = start(charges(3, T0)).await;
    let (status, _, body) = get(&fake, "/v1/charges?starting_after=ch_nope").await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body)["code"], "resource_missing");
    assert_eq!(error_of(&body)["param"], "starting_after");
    assert_eq!(error_of(&body)["message"], "No such charge: 'ch_nope'");

    let both = "/v1/charges?starting_after=ch_0001&ending_before=ch_0002";
    let (status, _, body) = get(&fake, both).await;
    assert_eq!(status, 400);
    assert!(
        error_of(&body)["message"]
            .as_str()
            .unwrap()
            .contains("cannot be used together")
    );
}

#[tokio::test]
async fn unknown_parameters_and_bad_integers_are_refused() {
    let fake = start(charges(3, T0)).await;
    let (status, _, body) = get(&fake, "/v1/charges?status=all").await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body)["param"], "status");

    let (status, _, body) = get(&fake, "/v1/charges?created[gte]=yesterday").await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body)["param"], "created[gte]");
}

#[tokio::test]
async fn subscriptions_hide_canceled_ones_unless_status_asks() {
    let fake = start(Dataset::e2e()).await;
    let (_, _, default) = get(&fake, "/v1/subscriptions?limit=100").await;
    assert_eq!(ids(&default), ["sub_5", "sub_4", "sub_3", "sub_1"]);

    let (_, _, all) = get(&fake, "/v1/subscriptions?limit=100&status=all").await;
    assert_eq!(ids(&all), ["sub_5", "sub_4", "sub_3", "sub_2", "sub_1"]);

    for status in ["canceled", "ended"] {
        let (_, _, body) = get(&fake, &format!("/v1/subscriptions?status={status}")).await;
        assert_eq!(ids(&body), ["sub_2"], "status={status}");
    }
    let (status, _, _) = get(&fake, "/v1/subscriptions?status=gone").await;
    assert_eq!(status, 400);
    assert_eq!(fake.requests()[1].param("status").as_deref(), Some("all"));
}

#[tokio::test]
async fn events_past_thirty_days_are_not_listed_and_types_filter() {
    let fake = start(Dataset::e2e()).await;
    fake.with_dataset(|data| {
        data.set_now(utc(2026, 3, 20, 0, 0));
        data.update(
            Resource::Charges,
            "ch_2",
            "charge.refunded",
            utc(2026, 2, 1, 0, 0),
            |c| {
                c["refunded"] = json!(false);
            },
        );
        let at = utc(2026, 3, 15, 0, 0);
        data.update(
            Resource::Subscriptions,
            "sub_1",
            "customer.subscription.updated",
            at,
            |s| {
                s["cancel_at_period_end"] = json!(true);
            },
        );
        data.update(
            Resource::Invoices,
            "inv_3",
            "invoice.paid",
            utc(2026, 3, 18, 0, 0),
            |i| {
                i["status"] = json!("paid");
            },
        );
    });

    let (_, _, all) = get(&fake, "/v1/events?limit=100").await;
    let types: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["invoice.paid", "customer.subscription.updated"]);
    let updated = &all["data"][1];
    assert_eq!(updated["data"]["object"]["cancel_at_period_end"], true);
    assert_eq!(
        updated["data"]["previous_attributes"],
        json!({"cancel_at_period_end": false})
    );

    let query = "types[]=charge.refunded&types[]=invoice.paid";
    let (_, _, filtered) = get(&fake, &format!("/v1/events?{query}")).await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["data"][0]["type"], "invoice.paid");

    let (_, _, wildcard) = get(&fake, "/v1/events?type=customer.subscription.*").await;
    assert_eq!(wildcard["data"][0]["type"], "customer.subscription.updated");
    assert_eq!(wildcard["data"].as_array().unwrap().len(), 1);

    // The old event is still stored, just no longer served.
    assert_eq!(fake.with_dataset(|data| data.len(Resource::Events)), 3);
}

#[tokio::test]
async fn equality_filters_narrow_lists() {
    let fake = start(Dataset::e2e()).await;
    let (_, _, body) = get(&fake, "/v1/charges?customer=cus_A").await;
    assert_eq!(ids(&body), ["ch_3", "ch_1"]);
    let (_, _, body) = get(&fake, "/v1/refunds?charge=ch_2").await;
    assert_eq!(ids(&body), ["re_1"]);
    let (_, _, body) = get(&fake, "/v1/balance_transactions?type=refund").await;
    assert_eq!(ids(&body), ["txn_r1"]);
    let (_, _, body) = get(&fake, "/v1/invoices?subscription=sub_1").await;
    assert_eq!(ids(&body), ["inv_3", "inv_1"]);
}

#[tokio::test]
async fn retrieve_returns_the_object_or_a_stripe_404() {
    let fake = start(Dataset::e2e()).await;
    let (status, _, body) = get(&fake, "/v1/charges/ch_6").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "ch_6");
    assert_eq!(body["object"], "charge");

    let (status, headers, body) = get(&fake, "/v1/charges/ch_404").await;
    assert_eq!(status, 404);
    assert!(headers.contains_key("request-id"));
    assert_eq!(error_of(&body)["code"], "resource_missing");
    assert_eq!(error_of(&body)["message"], "No such charge: 'ch_404'");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_stripe_404s() {
    let fake = start(Dataset::e2e()).await;
    for path in [
        "/v1/payouts",
        "/v2/charges",
        "/v1/charges/ch_1/refunds",
        "/",
    ] {
        let (status, _, body) = get(&fake, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(error_of(&body)["type"], "invalid_request_error", "{path}");
    }
    let post = reqwest::Client::new()
        .post(format!("{}/v1/charges", fake.base_url()))
        .bearer_auth(FAKE_API_KEY);
    assert_eq!(send(post).await.0, 404);
}

#[tokio::test]
async fn balance_sums_net_per_currency_and_availability() {
    let mut data = Dataset::empty();
    let mut pending = balance_transaction("txn_p", "ch_p", at(T0), 1000, 40, "eur", "charge");
    pending["status"] = json!("pending");
    data.insert(Resource::BalanceTransactions, pending);
    for (id, amount, fee, currency) in [("txn_a", 5000, 175, "eur"), ("txn_b", 1000, 36, "jpy")] {
        let bt = balance_transaction(id, "ch_x", at(T0), amount, fee, currency, "charge");
        data.insert(Resource::BalanceTransactions, bt);
    }
    let fake = start(data).await;
    let (status, _, body) = get(&fake, "/v1/balance").await;

    assert_eq!(status, 200);
    assert_eq!(body["object"], "balance");
    let available = body["available"].as_array().unwrap();
    assert_eq!(available.len(), 2);
    assert!(
        available.contains(&json!({"amount": 4825, "currency": "eur",
        "source_types": {"card": 4825}}))
    );
    assert_eq!(body["pending"][0]["amount"], 960);
}

#[tokio::test]
async fn expand_inlines_balance_transactions_on_lists_and_retrieves() {
    let fake = start(Dataset::e2e()).await;
    let query = "customer=cus_D&expand[]=data.balance_transaction";
    let (_, _, body) = get(&fake, &format!("/v1/charges?{query}")).await;
    assert_eq!(body["data"][0]["balance_transaction"]["id"], "txn_6");
    assert_eq!(
        body["data"][0]["balance_transaction"]["exchange_rate"],
        0.92
    );

    let (_, _, one) = get(&fake, "/v1/refunds/re_1?expand[0]=balance_transaction").await;
    assert_eq!(one["balance_transaction"]["amount"], -1000);

    let (status, _, body) = get(&fake, "/v1/charges?expand[]=data.outcome").await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body)["param"], "expand");
}

#[tokio::test]
async fn every_request_is_recorded_with_its_raw_query_and_status() {
    let fake = start(Dataset::e2e()).await;
    get(&fake, "/v1/customers?limit=2").await;
    get(&fake, "/v1/customers/cus_Z").await;

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/v1/customers");
    assert_eq!(requests[0].query, "limit=2");
    assert_eq!(requests[0].status, 200);
    assert_eq!(requests[1].status, 404);
    assert_ne!(requests[0].request_id, requests[1].request_id);

    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_server_stops_when_the_handle_is_dropped() {
    let fake = start(Dataset::empty()).await;
    let url = format!("{}/v1/charges", fake.base_url());
    // A kept-alive connection must not keep the server going.
    let client = reqwest::Client::new();
    let first = client
        .get(&url)
        .bearer_auth(FAKE_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    drop(fake);

    let result = reqwest::Client::new()
        .get(url)
        .bearer_auth(FAKE_API_KEY)
        .send()
        .await;
    assert!(result.is_err(), "still serving: {result:?}");
}

#[test]
fn the_fake_answers_while_the_callers_thread_is_blocked() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime.block_on(start(Dataset::e2e()));
    // A blocking client on the runtime's only thread, as a test running the binary would do.
    let address = fake.base_url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    // Without an independent server this read would wait forever; fail instead.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /v1/balance HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}
