//! The real GA4 samples in `../shared/fixtures/ga4/` parsed by the connector's types, and every
//! request the connector can build checked field by field against Google's discovery document
//! of the Data API.

use serde_json::Value;

use super::api::{self, BatchRequest, PropertyQuota, ReportResponse};
use super::auth::{SCOPE, TokenResponse};
use super::plan::{self, EventRoles, Ga4Cursor, Grain, ReportGrain};
use super::read::{self, BATCH_LIMIT};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/ga4")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("the shared GA4 fixture {}: {error}", path.display()))
}

fn discovery() -> Value {
    serde_json::from_str(&fixture("analyticsdata_v1beta_discovery.json")).unwrap()
}

#[test]
fn the_real_run_report_sample_parses_with_string_values() {
    let report: ReportResponse =
        serde_json::from_str(&fixture("airbyte_runreport_date_device_os_browser.json")).unwrap();
    assert_eq!(report.rows.len(), 2);
    assert_eq!(report.row_count, Some(54), "rowCount counts every page");
    assert_eq!(
        report.metadata.time_zone.as_deref(),
        Some("America/Los_Angeles")
    );
    assert_eq!(report.metadata.currency_code.as_deref(), Some("USD"));
    assert!(report.metadata.flags().is_empty(), "absent flags are false");

    let header = |index: usize| &report.metric_headers[index];
    let value = |row: usize, index: usize| {
        let text = &report.rows[row].metric_values[index].value;
        api::parse_value(text, &header(index).kind, Some("USD")).unwrap()
    };
    assert_eq!(value(0, 0).value, 344.0);
    assert_eq!(value(0, 0).unit, "count");
    let bounce = value(0, 7);
    assert!((bounce.value - 0.478_571_428_571_428_6).abs() < 1e-15);
    assert_eq!(bounce.unit, "number");
    let duration = value(0, 4);
    assert!((duration.value - 194.763_137_664_285_7).abs() < 1e-9);
    assert_eq!(duration.unit, "seconds");
    assert_eq!(report.rows[0].dimension_values[0].value, "20220731");
    assert_eq!(
        Grain::Day.parse_period("20220731"),
        Some(jiff::civil::date(2022, 7, 31))
    );
}

#[test]
fn unknown_metric_types_keep_their_name_as_unit() {
    let parsed = api::parse_value("12.5", "TYPE_FEET", None).unwrap();
    assert_eq!((parsed.value, parsed.unit.as_str()), (12.5, "TYPE_FEET"));
    assert_eq!(
        api::parse_value("1500", "TYPE_MILLISECONDS", None)
            .unwrap()
            .value,
        1.5
    );
    assert!(api::parse_value("n/a", "TYPE_INTEGER", None).is_none());
}

#[test]
fn a_quota_fragment_parses_and_tells_when_it_runs_low() {
    let fragment: Value = serde_json::from_str(&fixture(
        "airbyte_property_quota_low_tokens_per_project_hour.json",
    ))
    .unwrap();
    let quota: PropertyQuota = serde_json::from_value(fragment["propertyQuota"].clone()).unwrap();
    let project = quota.tokens_per_project_per_hour.unwrap();
    assert_eq!((project.consumed, project.remaining), (5, 172));
    assert_eq!(quota.concurrent_requests.unwrap().remaining, 8);
    assert_eq!(quota.tokens_per_day, None, "buckets not sent stay unknown");
    assert_eq!(quota.running_low(10), None, "172 of 177 is plenty");

    let low: PropertyQuota =
        serde_json::from_str(r#"{"tokensPerHour": {"consumed": 39000, "remaining": 1000}}"#)
            .unwrap();
    let message = low.running_low(10).unwrap();
    assert!(
        message.contains("tokens per hour: 1000 of 40000 left"),
        "{message}"
    );
    let spent: PropertyQuota =
        serde_json::from_str(r#"{"tokensPerDay": {"consumed": 200000}}"#).unwrap();
    assert!(
        spent.running_low(10).is_some(),
        "a missing remaining is zero"
    );
}

#[test]
fn the_token_response_sample_parses_and_never_prints_the_token() {
    let token: TokenResponse =
        serde_json::from_str(&fixture("airbyte_oauth_token_response.json")).unwrap();
    assert_eq!(token.expires_in, 3600);
    let shown = format!("{:?}", token.access_token);
    assert!(!shown.contains("access_token"), "{shown}");
}

#[test]
fn google_error_bodies_give_their_message_and_the_retry_decision() {
    let denied = br#"{"error": {"code": 403, "status": "PERMISSION_DENIED",
        "message": "User does not have sufficient permissions for this property."}}"#;
    let message = api::error_message(denied).unwrap();
    assert!(message.contains("PERMISSION_DENIED"), "{message}");

    let hourly = br#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
        "message": "Exhausted property tokens per hour for this property."}}"#;
    assert_eq!(
        api::retry_hint(429, hourly),
        Some(false),
        "an hour is too long to wait"
    );
    let thresholded = br#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message":
        "Exhausted potentially thresholded requests per hour quota for this property."}}"#;
    assert_eq!(api::retry_hint(429, thresholded), Some(false));
    let concurrent = br#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
        "message": "Exhausted concurrent requests quota."}}"#;
    assert_eq!(
        api::retry_hint(429, concurrent),
        Some(true),
        "clears in a moment"
    );
    assert_eq!(api::retry_hint(500, hourly), None);

    let grant = br#"{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}"#;
    assert_eq!(
        api::token_error_message(grant).as_deref(),
        Some("invalid_grant: Invalid JWT Signature.")
    );
}

/// Checks `value` against the discovery schema `schema`: every field must be declared, with
/// the declared JSON type.
fn check_against(discovery: &Value, schema: &str, value: &Value, path: &str) {
    let declared = &discovery["schemas"][schema]["properties"];
    assert!(declared.is_object(), "{path}: no schema {schema}");
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{path} is not an object"));
    for (field, inner) in object {
        let property = &declared[field];
        assert!(property.is_object(), "{path}.{field} is not in {schema}");
        check_property(discovery, property, inner, &format!("{path}.{field}"));
    }
}

fn check_property(discovery: &Value, property: &Value, value: &Value, path: &str) {
    if let Some(reference) = property["$ref"].as_str() {
        return check_against(discovery, reference, value, path);
    }
    match property["type"].as_str() {
        Some("string") => assert!(value.is_string(), "{path} must be a string (int64 too)"),
        Some("boolean") => assert!(value.is_boolean(), "{path} must be a boolean"),
        Some("integer") => assert!(value.is_i64(), "{path} must be an integer"),
        Some("array") => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{path} is not an array"));
            for (index, item) in items.iter().enumerate() {
                check_property(
                    discovery,
                    &property["items"],
                    item,
                    &format!("{path}[{index}]"),
                );
            }
        }
        other => panic!("{path}: unexpected schema type {other:?}"),
    }
}

#[test]
fn every_request_matches_the_discovery_document() {
    let discovery = discovery();
    let roles = EventRoles(vec![
        ("sign_ups", "sign_up".to_owned()),
        ("purchases", "purchase".to_owned()),
    ]);
    let specs = plan::specs(&roles, &["/pricing".to_owned()]);
    assert_eq!(specs.len(), 6, "every kind of report is built");
    let today = jiff::civil::date(2026, 3, 10);
    let start = jiff::civil::date(2025, 11, 15);
    let units = plan::plan(&specs, &Ga4Cursor::default(), start, today, 3);

    let requests: Vec<_> = units
        .iter()
        .map(|unit| read::request(&specs[unit.spec], unit, 100_000, Some(100_000)))
        .collect();
    for request in &requests {
        assert!(request.metrics.len() <= 10, "GA4 takes at most 10 metrics");
        assert!(request.return_property_quota);
    }
    for group in requests.chunks(BATCH_LIMIT) {
        let body = serde_json::to_value(BatchRequest {
            requests: group.to_vec(),
        })
        .unwrap();
        check_against(&discovery, "BatchRunReportsRequest", &body, "batch");
    }

    let methods = &discovery["resources"]["properties"]["methods"];
    for (method, path) in [
        ("batchRunReports", "v1beta/{+property}:batchRunReports"),
        ("runReport", "v1beta/{+property}:runReport"),
    ] {
        assert_eq!(methods[method]["httpMethod"], "POST");
        assert_eq!(methods[method]["path"], path);
    }
    let scopes = discovery["auth"]["oauth2"]["scopes"].as_object().unwrap();
    assert!(scopes.contains_key(SCOPE), "the read-only scope exists");
}

#[test]
fn every_metric_and_period_dimension_is_known_to_the_discovery_enum_of_types() {
    // The discovery document lists metric types; every type the connector reads must be one.
    let discovery = discovery();
    let types = discovery["schemas"]["MetricHeader"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    for kind in [
        "TYPE_INTEGER",
        "TYPE_FLOAT",
        "TYPE_SECONDS",
        "TYPE_CURRENCY",
    ] {
        assert!(types.iter().any(|known| known == kind), "{kind}");
    }
}
