//! Configuration checks: every bad value is refused with a message naming its key.

use super::*;

const VALID: &str = r#"
[warehouse]
path = "kpisync.db"

[business]
model = "saas"
timezone = "Europe/Paris"
currency = "eur"

[connectors.stripe]
api_key = "sk_test_123"
schedule = "*/30 * * * *"
"#;

/// Writes `text` as a configuration file and loads it.
fn load(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kpisync.toml");
    std::fs::write(&path, text).expect("writing the configuration");
    Config::load(Some(&path))
}

fn error_of(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("the configuration was accepted:\n{text}"),
        Err(error) => error.0,
    }
}

#[test]
fn a_valid_configuration_loads_with_its_values() {
    let config = load(VALID).unwrap();
    assert_eq!(config.business.currency, "EUR");
    assert_eq!(config.business.timezone_name, "Europe/Paris");
    assert_eq!(config.connectors.len(), 1);
    assert_eq!(config.connectors[0].schedule, "*/30 * * * *");
    assert!(config.connectors[0].build().is_ok());
}

#[test]
fn a_misspelt_key_is_refused_by_name() {
    let text = VALID.replace("schedule =", "shedule =");
    let error = error_of(&text);
    assert!(error.contains("shedule"), "{error}");
}

#[test]
fn an_unknown_connector_is_refused() {
    let text = format!("{VALID}\n[connectors.stripey]\napi_key = \"x\"\n");
    assert!(error_of(&text).contains("stripey"));
}

#[test]
fn a_wrong_type_names_the_key() {
    let text = VALID.replace("schedule =", "lookback_days = \"seven\"\nschedule =");
    let error = error_of(&text);
    assert!(error.contains("lookback_days"), "{error}");
}

#[test]
fn a_bad_time_zone_is_refused() {
    let error = error_of(&VALID.replace("Europe/Paris", "Europe/Pariss"));
    assert!(
        error.contains("business.timezone") && error.contains("Pariss"),
        "{error}"
    );
}

#[test]
fn a_bad_currency_is_refused() {
    let error = error_of(&VALID.replace("\"eur\"", "\"euro\""));
    assert!(error.contains("business.currency"), "{error}");
}

#[test]
fn a_bad_model_is_refused() {
    let error = error_of(&VALID.replace("\"saas\"", "\"retail\""));
    assert!(error.contains("retail"), "{error}");
}

#[test]
fn bad_cron_expressions_are_refused_and_both_forms_accepted() {
    for bad in ["every hour", "61 * * * *", "* * *", "*/5 * * * * * * *"] {
        let error = error_of(&VALID.replace("*/30 * * * *", bad));
        assert!(
            error.contains("connectors.stripe.schedule"),
            "{bad}: {error}"
        );
    }
    for good in ["15 6 * * 1", "0 */15 * * * *", "0 9 1 * *"] {
        assert!(load(&VALID.replace("*/30 * * * *", good)).is_ok(), "{good}");
    }
}

#[test]
fn a_missing_secret_is_refused_when_the_connector_is_built() {
    let config = load(&VALID.replace("api_key = \"sk_test_123\"", "")).unwrap();
    let error = config.connectors[0]
        .build()
        .err()
        .expect("a missing-key error")
        .0;
    assert!(error.contains("connectors.stripe.api_key"), "{error}");
}

#[test]
fn a_secret_never_shows_in_debug_output() {
    let config = load(VALID).unwrap();
    let ConnectorKind::Stripe(stripe) = &config.connectors[0].kind else {
        panic!("the first connector is Stripe");
    };
    let debug = format!("{stripe:?}");
    assert!(!debug.contains("sk_test_123"), "{debug}");
}

#[test]
fn targets_are_checked_by_kpi_id_and_period() {
    let with = |targets: &str| format!("{VALID}\n[targets.monthly]\n{targets}\n");
    let config = load(&with(r#""revenue.mrr" = { "2026-01" = 1000.0 }"#)).unwrap();
    assert_eq!(config.targets[0].period_start, "2026-01-01");
    assert_eq!(config.targets[0].grain, "month");

    let error = error_of(&with(r#""revenue.mmr" = { "2026-01" = 1000.0 }"#));
    assert!(error.contains("revenue.mmr"), "{error}");
    let error = error_of(&with(r#""revenue.mrr" = { "2026-13" = 1000.0 }"#));
    assert!(error.contains("2026-13"), "{error}");
    // A week or a day is a period, but not one of a monthly target.
    for period in ["2026-W05", "2026-01-15"] {
        let error = error_of(&with(&format!(r#""revenue.mrr" = {{ "{period}" = 1.0 }}"#)));
        assert!(error.contains(period), "{error}");
    }
}

#[test]
fn two_labels_of_one_target_period_are_refused_by_name() {
    let targets = r#""conversion.orders" = { "2026-W05" = 5, "2026-W5" = 7 }"#;
    let text = format!("{VALID}\n[targets.weekly]\n{targets}\n");
    let error = error_of(&text);
    assert!(
        error.contains(r#"targets.weekly.conversion.orders: "2026-W05" and "2026-W5""#),
        "{error}"
    );
}

#[test]
fn a_syntax_error_does_not_quote_the_secret_on_its_line() {
    let error = error_of(&VALID.replace(r#""sk_test_123""#, r#""sk_test_123" x"#));
    assert!(!error.contains("sk_test_123"), "{error}");
    assert!(error.contains("line 11, column 25"), "{error}");
}

#[test]
fn weekly_targets_take_iso_weeks() {
    let text =
        format!("{VALID}\n[targets.weekly]\n\"conversion.orders\" = {{ \"2026-W01\" = 5 }}\n");
    let config = load(&text).unwrap();
    assert_eq!(config.targets[0].period_start, "2025-12-29");
}

#[test]
fn a_missing_file_is_named() {
    let error = Config::load(Some(Path::new("/nonexistent/kpisync.toml")))
        .err()
        .unwrap()
        .0;
    assert!(error.contains("/nonexistent/kpisync.toml"), "{error}");
}

#[test]
fn the_daemon_section_has_defaults_and_checked_values() {
    let config = load(VALID).unwrap();
    assert_eq!(config.daemon.shutdown_timeout.as_secs(), 30);
    assert_eq!(config.daemon.max_jitter.as_secs(), 30);
    assert_eq!(config.daemon.stale_after, None);

    let set = format!(
        "{VALID}\n[daemon]\nshutdown_timeout_seconds = 5\nmax_jitter_seconds = 0\n\
         stale_after_hours = 12\n"
    );
    let config = load(&set).unwrap();
    assert_eq!(config.daemon.shutdown_timeout.as_secs(), 5);
    assert!(config.daemon.max_jitter.is_zero());
    assert_eq!(
        config.daemon.stale_after.map(|d| d.as_secs()),
        Some(12 * 3600)
    );

    for (bad, key) in [
        (
            "shutdown_timeout_seconds = 0",
            "daemon.shutdown_timeout_seconds",
        ),
        ("stale_after_hours = 0", "daemon.stale_after_hours"),
        ("shutdown_timeout = 5", "shutdown_timeout"),
    ] {
        let error = error_of(&format!("{VALID}\n[daemon]\n{bad}\n"));
        assert!(error.contains(key), "{bad}: {error}");
    }
}

#[test]
fn a_ga4_section_loads_with_a_numeric_property_and_refuses_unknown_keys() {
    let ga4 = "\n[connectors.ga4]\nproperty_id = 123456789\ncredentials_file = \"/nonexistent\"\n";
    let config = load(&format!("{VALID}{ga4}")).unwrap();
    let entry = &config.connectors[1];
    assert_eq!(
        (entry.name, entry.schedule.as_str()),
        ("ga4", "15 */3 * * *")
    );
    let error = entry.build().err().expect("the key file is missing").0;
    assert!(error.contains("connectors.ga4.credentials_file"), "{error}");

    let error = error_of(&format!("{VALID}{ga4}lookback = 3\n"));
    assert!(error.contains("lookback"), "{error}");
}

#[test]
fn the_service_configuration_loads_and_names_its_credential() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/kpisync.toml");
    let config = Config::load(Some(&path)).unwrap();
    assert_eq!(
        config.warehouse_path,
        Path::new("/var/lib/kpisync/kpisync.db")
    );
    let ConnectorKind::Stripe(stripe) = &config.connectors[0].kind else {
        panic!("the service configuration starts with Stripe");
    };
    assert_eq!(stripe.api_key_credential.as_deref(), Some("stripe"));
    assert_eq!(config.daemon.shutdown_timeout.as_secs(), 30);
}
