//! One run of the `reports` stream: the property's time zone and today, the plan of reports,
//! `batchRunReports` calls of at most five, pages past the first by offset, the answers turned
//! into metric rows with their data-quality flags, and a stop at the first sign that the quota
//! is running out.

use std::collections::BTreeMap;

use jiff::civil::Date;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::api::{
    self, BatchRequest, BatchResponse, DateRange, DimensionOrderBy, Named, OrderBy, ReportRequest,
    ReportResponse,
};
use super::plan::{self, Ga4Cursor, Grain, Kind, ReportGrain, Spec, Unit};
use super::{Ga4Connector, STREAM, timezone_warning};
use crate::http::{Fetched, HttpClient, Payload};
use crate::schema::{Batch, MetricRow};
use crate::{BatchSink, CheckReport, ConnectorError, ReadContext};

/// The most reports one `batchRunReports` may carry.
pub const BATCH_LIMIT: usize = 5;

/// The Admin API's property resource, the fields kpisync reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Property {
    #[serde(default)]
    display_name: String,
    time_zone: Option<String>,
    currency_code: Option<String>,
}

/// `check`: a token, the property as the Admin API sees it, and one small report.
pub async fn check(connector: &Ga4Connector) -> Result<CheckReport, ConnectorError> {
    let property = fetch_property(connector).await?;
    let yesterday = DateRange {
        start_date: "yesterday".into(),
        end_date: "yesterday".into(),
    };
    let request = ReportRequest {
        date_ranges: vec![yesterday],
        dimensions: Vec::new(),
        metrics: vec![Named::new("sessions")],
        dimension_filter: None,
        limit: "1".into(),
        offset: None,
        order_bys: Vec::new(),
        return_property_quota: true,
    };
    let body = serde_json::to_value(&request).map_err(decode_error)?;
    let path = format!("/v1beta/properties/{}:runReport", connector.property_id);
    call::<ReportResponse>(connector, &connector.data, &path, Payload::Json(&body)).await?;

    let zone = property.time_zone.unwrap_or_else(|| "unknown".into());
    let mut warnings = Vec::new();
    warnings.extend(timezone_warning(&zone, &connector.business_timezone));
    Ok(CheckReport {
        detail: format!(
            "property {} ({:?}) read as {}; time zone {zone}, currency {}",
            connector.property_id,
            property.display_name,
            connector.tokens.client_email(),
            property.currency_code.unwrap_or_else(|| "unknown".into()),
        ),
        warnings,
    })
}

/// Reads every planned report and hands its metrics over, one batch per answer.
pub async fn read_reports(
    connector: &Ga4Connector,
    context: &ReadContext,
    sink: &mut BatchSink,
) -> Result<(), ConnectorError> {
    let mut cursor: Ga4Cursor = context
        .cursor(STREAM)
        .and_then(|saved| serde_json::from_value(saved.clone()).ok())
        .unwrap_or_default();
    let (zone, warnings) = property_zone(connector, &cursor).await?;
    for warning in warnings {
        sink.warn(warning).await?;
    }
    let today = connector.now().to_zoned(zone.clone()).date();
    cursor.time_zone = zone.iana_name().map(str::to_owned);

    let start = connector
        .start_date
        .or(cursor.start_date)
        .unwrap_or_else(|| default_start(today));
    if cursor.start_date != Some(start) {
        // Positions count from the first period; another start makes them meaningless.
        cursor.positions.clear();
        cursor.start_date = Some(start);
    }
    cursor.stopped = None;

    let units = plan::plan(
        &connector.specs,
        &cursor,
        start,
        today,
        connector.lookback_days,
    );
    info!(
        connector = "ga4",
        stream = STREAM,
        reports = units.len(),
        today = %today,
        start = %start,
        "reading reports"
    );
    let mut quota_known = false;
    for group in units.chunks(BATCH_LIMIT) {
        if quota_known
            && let Some(low) = cursor
                .quota
                .as_ref()
                .and_then(|quota| quota.running_low(connector.quota_reserve_percent))
        {
            return stop(
                &mut cursor,
                sink,
                &format!("GA4 quota running low ({low})"),
                group,
            )
            .await;
        }
        let fetched = match fetch_group(connector, group).await {
            Ok(fetched) => fetched,
            Err(ConnectorError::RateLimited { message, .. }) => {
                let reason = format!("GA4 quota exhausted: {message}");
                return stop(&mut cursor, sink, &reason, group).await;
            }
            Err(error) => return Err(error),
        };
        quota_known = true;
        let mut batch = Batch {
            requests: fetched.requests,
            ..Batch::default()
        };
        for (unit, response) in group.iter().zip(&fetched.reports) {
            let spec = &connector.specs[unit.spec];
            batch
                .metrics
                .extend(metric_rows(unit, spec, &connector.roles, response));
            cursor.advance(unit, spec, unit.grain.start_of(start));
            if let Some(quota) = &response.property_quota {
                cursor.quota = Some(quota.clone());
            }
        }
        cursor.quota_at = Some(
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .map_or_else(
                    |_| jiff::Timestamp::now().to_string(),
                    |now| now.to_string(),
                ),
        );
        batch.cursor = Some(serde_json::to_value(&cursor).map_err(decode_error)?);
        sink.send(batch).await?;
    }
    Ok(())
}

/// Ends the run early and cleanly: the cursor says why, a warning tells `status`, and the
/// next run starts with the periods of `group`.
async fn stop(
    cursor: &mut Ga4Cursor,
    sink: &mut BatchSink,
    reason: &str,
    group: &[Unit],
) -> Result<(), ConnectorError> {
    let resume = group.iter().map(|unit| unit.from).min();
    let resume = resume.map_or_else(String::new, |day| {
        format!("; the next run resumes at {day}")
    });
    warn!(connector = "ga4", stream = STREAM, reason, "stopping early");
    cursor.stopped = Some(reason.to_owned());
    let batch = Batch {
        cursor: Some(serde_json::to_value(&*cursor).map_err(decode_error)?),
        warnings: vec![format!("{reason}: stopped early{resume}")],
        ..Batch::default()
    };
    sink.send(batch).await
}

/// The first day read when neither the configuration nor the cursor says: the first of the
/// month 13 months back, so a month can be compared with the same month a year before.
fn default_start(today: Date) -> Date {
    today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(13))
        .unwrap_or(today)
}

/// The property's time zone: from the Admin API, else as last seen, else the business's.
async fn property_zone(
    connector: &Ga4Connector,
    cursor: &Ga4Cursor,
) -> Result<(jiff::tz::TimeZone, Vec<String>), ConnectorError> {
    let mut warnings = Vec::new();
    let name = match fetch_property(connector).await {
        Ok(property) => property.time_zone,
        // The Data API may be readable while the Admin API is not enabled in the project.
        Err(error @ (ConnectorError::Http { .. } | ConnectorError::Decode { .. })) => {
            warnings.push(format!(
                "could not read the property's time zone from the Admin API ({error}); using \
                 the last one seen"
            ));
            cursor.time_zone.clone()
        }
        Err(error) => return Err(error),
    };
    let name = name.unwrap_or_else(|| connector.business_timezone.clone());
    let zone = jiff::tz::TimeZone::get(&name).map_err(|_| {
        ConnectorError::Config(format!("GA4 property time zone {name:?} is unknown here"))
    })?;
    warnings.extend(timezone_warning(&name, &connector.business_timezone));
    if let Some(before) = cursor.time_zone.as_deref()
        && before != name
    {
        warnings.push(format!(
            "the GA4 property's time zone changed from {before} to {name}: older periods stay \
             in {before}"
        ));
    }
    Ok((zone, warnings))
}

async fn fetch_property(connector: &Ga4Connector) -> Result<Property, ConnectorError> {
    let path = format!("/v1beta/properties/{}", connector.property_id);
    let fetched = call(connector, &connector.admin, &path, Payload::Query(&[])).await?;
    Ok(fetched.body)
}

/// The answers to one group of units, every page included.
struct GroupAnswer {
    reports: Vec<ReportResponse>,
    requests: u32,
}

async fn fetch_group(
    connector: &Ga4Connector,
    group: &[Unit],
) -> Result<GroupAnswer, ConnectorError> {
    let requests: Vec<ReportRequest> = group
        .iter()
        .map(|unit| request(&connector.specs[unit.spec], unit, connector.page_size, None))
        .collect();
    let body = serde_json::to_value(BatchRequest { requests }).map_err(decode_error)?;
    let path = format!(
        "/v1beta/properties/{}:batchRunReports",
        connector.property_id
    );
    let answer: Fetched<BatchResponse> =
        call(connector, &connector.data, &path, Payload::Json(&body)).await?;
    let mut reports = answer.body.reports;
    if reports.len() != group.len() {
        return Err(ConnectorError::Decode {
            endpoint: path,
            message: format!("{} reports for {} requests", reports.len(), group.len()),
        });
    }

    let mut calls = 1;
    for (unit, report) in group.iter().zip(reports.iter_mut()) {
        calls += fetch_rest(connector, unit, report).await?;
    }
    Ok(GroupAnswer {
        reports,
        requests: calls,
    })
}

/// Fetches the pages after the first while `rowCount` says rows are left, and appends them;
/// returns the requests made. A report whose rows fit exactly in one page costs no extra call.
pub(super) async fn fetch_rest(
    connector: &Ga4Connector,
    unit: &Unit,
    report: &mut ReportResponse,
) -> Result<u32, ConnectorError> {
    let path = format!("/v1beta/properties/{}:runReport", connector.property_id);
    let total = report.row_count.unwrap_or(0);
    let mut calls = 0;
    while (report.rows.len() as i64) < total {
        let offset = report.rows.len() as u64;
        let spec = &connector.specs[unit.spec];
        let page = request(spec, unit, connector.page_size, Some(offset));
        let body = serde_json::to_value(page).map_err(decode_error)?;
        let page: Fetched<ReportResponse> =
            call(connector, &connector.data, &path, Payload::Json(&body)).await?;
        calls += 1;
        let page = page.body;
        if page.rows.is_empty() {
            break;
        }
        report.rows.extend(page.rows);
        let metadata = &mut report.metadata;
        metadata.subject_to_thresholding |= page.metadata.subject_to_thresholding;
        metadata.data_loss_from_other_row |= page.metadata.data_loss_from_other_row;
        metadata
            .sampling_metadatas
            .extend(page.metadata.sampling_metadatas);
        if page.property_quota.is_some() {
            report.property_quota = page.property_quota;
        }
    }
    Ok(calls)
}

/// The request for `unit` of `spec`, `page_size` rows from row `offset`.
pub fn request(spec: &Spec, unit: &Unit, page_size: u32, offset: Option<u64>) -> ReportRequest {
    let dimensions = spec.dimensions(unit.grain);
    let order_bys = dimensions
        .iter()
        .map(|dimension| OrderBy {
            dimension: DimensionOrderBy {
                dimension_name: dimension.name.clone(),
            },
        })
        .collect();
    ReportRequest {
        date_ranges: vec![DateRange {
            start_date: unit.from.to_string(),
            end_date: unit.to.to_string(),
        }],
        dimensions,
        metrics: spec.metrics.iter().map(|name| Named::new(name)).collect(),
        dimension_filter: spec.filter_expression(),
        limit: page_size.to_string(),
        offset: offset.map(|offset| offset.to_string()),
        order_bys,
        return_property_quota: true,
    }
}

/// One authenticated call. A 401 renews the token once and tries again; refusals that no
/// retry can fix become configuration errors that say what to change.
async fn call<T: DeserializeOwned>(
    connector: &Ga4Connector,
    client: &HttpClient,
    path: &str,
    payload: Payload<'_>,
) -> Result<Fetched<T>, ConnectorError> {
    let token = connector.tokens.token().await?;
    let first = client.send_json(path, payload, Some(&token)).await;
    let result = match first {
        Err(ConnectorError::Auth { .. }) => {
            warn!(
                connector = "ga4",
                endpoint = path,
                "token refused, renewing it once"
            );
            connector.tokens.invalidate(&token).await;
            let renewed: SecretString = connector.tokens.token().await?;
            client.send_json(path, payload, Some(&renewed)).await
        }
        other => other,
    };
    result.map_err(|error| explain(connector, error))
}

fn explain(connector: &Ga4Connector, error: ConnectorError) -> ConnectorError {
    let property = &connector.property_id;
    let email = connector.tokens.client_email();
    match error {
        ConnectorError::Permission { message, .. }
        | ConnectorError::Http {
            status: 404,
            message,
            ..
        } => ConnectorError::Config(format!(
            "connectors.ga4.property_id: GA4 refused property {property} to {email}: \
             {message}. Add {email} as a Viewer of the property (Admin > Property access \
             management), check that {property} is the property's number, and that the \
             Google Analytics Data and Admin APIs are enabled in the key's Cloud project"
        )),
        ConnectorError::Auth { message, .. } => ConnectorError::Config(format!(
            "connectors.ga4.credentials_file: GA4 refused a fresh token of {email}: {message}"
        )),
        ConnectorError::Http {
            status: 400,
            message,
            ..
        } => ConnectorError::Config(format!(
            "GA4 refused a report of property {property}: {message}; check the event names \
             and landing pages in the configuration"
        )),
        other => other,
    }
}

fn decode_error(error: serde_json::Error) -> ConnectorError {
    ConnectorError::Decode {
        endpoint: "request".into(),
        message: error.to_string(),
    }
}

/// The name a GA4 metric is stored under: `totalUsers` → `total_users`.
pub fn stored_name(name: &str) -> String {
    let mut stored = String::with_capacity(name.len() + 4);
    for character in name.chars() {
        if character.is_ascii_uppercase() {
            stored.push('_');
            stored.push(character.to_ascii_lowercase());
        } else {
            stored.push(character);
        }
    }
    stored
}

/// One value found in a report, before missing periods are filled in.
struct Found {
    metric: String,
    period: Date,
    dimension: String,
    value: f64,
    unit: String,
}

/// The metric rows of one answered unit, every one carrying the report's flags.
///
/// Reports without a breakdown get a row for every period they asked: GA4 leaves out rows
/// whose metrics are all zero, so a missing period is 0, unless the report was thresholded (the
/// row may have been withheld) or the traffic report itself came back empty, where the value
/// is stored as unknown (NULL) with the flag. Breakdown reports (channels, landing pages) keep
/// the rows GA4 sent, `(other)` and `(not set)` included.
pub fn metric_rows(
    unit: &Unit,
    spec: &Spec,
    roles: &plan::EventRoles,
    response: &ReportResponse,
) -> Vec<MetricRow> {
    let mut flags = response.metadata.flags();
    let empty = response.rows.is_empty();
    if empty {
        flags.push(match &response.metadata.empty_reason {
            Some(reason) if !reason.is_empty() => format!("empty:{reason}"),
            _ => "empty".to_owned(),
        });
    }
    let unknown_when_missing = response.metadata.subject_to_thresholding
        || (empty && (spec.kind == Kind::Traffic || response.metadata.empty_reason.is_some()));
    let found = found_values(unit.grain, spec, roles, response);

    let row = |metric: &str, period: Date, dimension: String, value, unit_name: &str| MetricRow {
        metric: metric.to_owned(),
        grain: unit.grain.as_str().to_owned(),
        period_start: period.to_string(),
        dimension,
        value,
        unit: unit_name.to_owned(),
        flags: flags.clone(),
    };
    if spec.breakdown.is_some() && spec.kind != Kind::Events {
        return found
            .into_iter()
            .map(|found| {
                row(
                    &found.metric,
                    found.period,
                    found.dimension,
                    Some(found.value),
                    &found.unit,
                )
            })
            .collect();
    }

    let expected = expected_metrics(spec, roles, response);
    let mut by_key: BTreeMap<(String, Date), (f64, String)> = BTreeMap::new();
    for found in found {
        let entry = by_key
            .entry((found.metric, found.period))
            .or_insert((0.0, found.unit));
        entry.0 += found.value;
    }
    let missing = if unknown_when_missing {
        None
    } else {
        Some(0.0)
    };
    let mut rows = Vec::new();
    for period in unit.grain.starts(unit.first, unit.last) {
        for (metric, default_unit) in &expected {
            let (value, unit_name) = match by_key.get(&(metric.clone(), period)) {
                Some((value, unit_name)) => (Some(*value), unit_name.as_str()),
                None => (missing, default_unit.as_str()),
            };
            rows.push(row(metric, period, String::new(), value, unit_name));
        }
    }
    rows
}

/// The period-level metrics a report without breakdown must have a row for, with the unit a
/// missing one gets.
fn expected_metrics(
    spec: &Spec,
    roles: &plan::EventRoles,
    response: &ReportResponse,
) -> Vec<(String, String)> {
    if spec.kind == Kind::Events {
        return roles
            .0
            .iter()
            .map(|(metric, _)| ((*metric).to_owned(), "count".to_owned()))
            .collect();
    }
    let currency = response.metadata.currency_code.as_deref();
    spec.metrics
        .iter()
        .map(|name| {
            let unit = match *name {
                "userEngagementDuration" => "seconds".to_owned(),
                "purchaseRevenue" => currency.unwrap_or("currency").to_owned(),
                _ => "count".to_owned(),
            };
            (stored_metric(spec.kind, name), unit)
        })
        .collect()
}

/// The stored name of a metric of `kind`: the landing union's users are `landing_users`.
fn stored_metric(kind: Kind, name: &str) -> String {
    if kind == Kind::Landing {
        return "landing_users".to_owned();
    }
    stored_name(name)
}

/// Every value of a report, by header position, with its period parsed. Rows whose period
/// cannot be read, and values that are not numbers, are skipped with a log line.
fn found_values(
    grain: Grain,
    spec: &Spec,
    roles: &plan::EventRoles,
    response: &ReportResponse,
) -> Vec<Found> {
    let position = |name: &str| {
        response
            .dimension_headers
            .iter()
            .position(|header| header.name == name)
    };
    let Some(period_column) = position(grain.dimension()) else {
        return Vec::new();
    };
    let breakdown_column = spec.breakdown.and_then(|(name, _)| position(name));
    let currency = response.metadata.currency_code.as_deref();
    let mut found = Vec::new();
    for row in &response.rows {
        let text = |column: usize| {
            row.dimension_values
                .get(column)
                .map(|cell| cell.value.as_str())
        };
        let Some(period) = text(period_column).and_then(|value| grain.parse_period(value)) else {
            warn!(
                connector = "ga4",
                grain = grain.as_str(),
                "row without a readable period"
            );
            continue;
        };
        let breakdown = breakdown_column.and_then(text).unwrap_or_default();
        for (header, cell) in response.metric_headers.iter().zip(&row.metric_values) {
            let Some(parsed) = api::parse_value(&cell.value, &header.kind, currency) else {
                warn!(connector = "ga4", metric = %header.name, "value is not a number");
                continue;
            };
            if spec.kind == Kind::Events {
                for (metric, event) in &roles.0 {
                    if event == breakdown {
                        found.push(Found {
                            metric: (*metric).to_owned(),
                            period,
                            dimension: String::new(),
                            value: parsed.value,
                            unit: "count".to_owned(),
                        });
                    }
                }
                continue;
            }
            let dimension = spec
                .breakdown
                .map(|(_, key)| format!("{key}={breakdown}"))
                .unwrap_or_default();
            found.push(Found {
                metric: stored_metric(spec.kind, &header.name),
                period,
                dimension,
                value: parsed.value,
                unit: parsed.unit,
            });
        }
    }
    found
}
