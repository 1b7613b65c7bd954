//! Tests of the fake Stripe: HTTP behaviour over loopback (`http.rs`), faults (`faults.rs`)
//! and the datasets (`data.rs`).

mod data;
mod faults;
mod http;

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::{Dataset, FAKE_API_KEY, FakeStripe, Resource, charge};

/// A started fake; panics (fails the test) when the port cannot be bound.
async fn start(dataset: Dataset) -> FakeStripe {
    FakeStripe::start(dataset)
        .await
        .expect("fake stripe starts")
}

/// `GET base_url + path_and_query` with the fake's key; status, headers and the JSON body.
async fn get(fake: &FakeStripe, path_and_query: &str) -> (u16, HeaderMap, Value) {
    let request = reqwest::Client::new()
        .get(format!("{}{path_and_query}", fake.base_url()))
        .bearer_auth(FAKE_API_KEY);
    send(request).await
}

async fn send(request: reqwest::RequestBuilder) -> (u16, HeaderMap, Value) {
    let response = request.send().await.expect("request reaches the fake");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.expect("body is JSON");
    (status, headers, body)
}

/// The ids in a list body, in order.
fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("list body has data")
        .iter()
        .map(|object| object["id"].as_str().expect("object has an id").to_owned())
        .collect()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("test time in range")
}

/// `n` succeeded charges `ch_0000`..., one second apart starting at `first_created`.
fn charges(n: usize, first_created: i64) -> Dataset {
    let mut data = Dataset::empty();
    for i in 0..n {
        let id = format!("ch_{i:04}");
        let created = at(first_created + i as i64);
        data.insert(
            Resource::Charges,
            charge(&id, Some("cus_A"), created, 1000, "eur", "succeeded"),
        );
    }
    data
}

/// The error object of a Stripe error body.
fn error_of(body: &Value) -> &Value {
    assert!(body["error"].is_object(), "not a Stripe error body: {body}");
    &body["error"]
}
