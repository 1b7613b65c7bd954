//! The GA4 Data API's wire shapes as kpisync uses them: the `runReport` request it builds, the
//! response it reads (proto3 JSON, so absent means empty, zero or false), the property quota,
//! and Google's error body. Metric values arrive as strings and are parsed by their header type.

use serde::{Deserialize, Serialize};

/// One `RunReportRequest`, with only the fields kpisync sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRequest {
    /// Exactly one range: kpisync asks each grain separately, so no `dateRange` column.
    pub date_ranges: Vec<DateRange>,
    /// The period dimension first, then the breakdown, if any.
    pub dimensions: Vec<Named>,
    /// At most 10 metrics, the API's limit.
    pub metrics: Vec<Named>,
    /// Keeps a report to the configured events or landing pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension_filter: Option<FilterExpression>,
    /// Rows per page; an int64, which proto3 JSON writes as a string.
    pub limit: String,
    /// First row of the page; absent on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// A stable order, so that pages do not overlap or skip rows.
    pub order_bys: Vec<OrderBy>,
    /// Always true: every answer says how much quota is left.
    pub return_property_quota: bool,
}

/// `{"startDate", "endDate"}`, inclusive, `YYYY-MM-DD` in the property's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateRange {
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
}

/// `{"name": ...}`: a dimension or a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    /// Its API name (`totalUsers`).
    pub name: String,
}

impl Named {
    /// A dimension or metric called `name`.
    pub fn new(name: &str) -> Named {
        Named {
            name: name.to_owned(),
        }
    }
}

/// A filter keeping the rows whose dimension is one of a list of values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterExpression {
    /// The one filter.
    pub filter: Filter,
}

/// `{"fieldName", "inListFilter"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The dimension filtered on.
    pub field_name: String,
    /// The values kept.
    pub in_list_filter: InListFilter,
}

/// `{"values", "caseSensitive"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InListFilter {
    /// The values kept.
    pub values: Vec<String>,
    /// Event names and paths are case-sensitive in GA4.
    pub case_sensitive: bool,
}

impl FilterExpression {
    /// Keeps rows whose `field` is one of `values`.
    pub fn in_list(field: &str, values: Vec<String>) -> FilterExpression {
        FilterExpression {
            filter: Filter {
                field_name: field.to_owned(),
                in_list_filter: InListFilter {
                    values,
                    case_sensitive: true,
                },
            },
        }
    }
}

/// `{"dimension": {"dimensionName"}}`: ascending by a dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderBy {
    /// The dimension ordered by.
    pub dimension: DimensionOrderBy,
}

/// `{"dimensionName"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionOrderBy {
    /// Its API name.
    pub dimension_name: String,
}

/// `batchRunReports`' body: at most five requests of one property.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRequest {
    /// The reports.
    pub requests: Vec<ReportRequest>,
}

/// `batchRunReports`' answer: one response per request, in order.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchResponse {
    /// The reports; absent when every one was empty would be odd, but proto3 allows it.
    #[serde(default)]
    pub reports: Vec<ReportResponse>,
}

/// One `RunReportResponse`. Every field may be missing: an empty report has no `rows` and no
/// `rowCount`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportResponse {
    /// Dimension columns, in row order.
    pub dimension_headers: Vec<Named>,
    /// Metric columns, in row order, with their types.
    pub metric_headers: Vec<MetricHeader>,
    /// The rows of this page.
    pub rows: Vec<ReportRow>,
    /// Rows of the whole report, whatever the page.
    pub row_count: Option<i64>,
    /// Time zone, currency and data-quality flags.
    pub metadata: Metadata,
    /// Quota left, when asked for.
    pub property_quota: Option<PropertyQuota>,
}

/// `{"name", "type"}` of a metric column.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MetricHeader {
    /// Its API name.
    pub name: String,
    /// `TYPE_INTEGER`, `TYPE_SECONDS`, `TYPE_CURRENCY`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// One row: dimension values then metric values, all strings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportRow {
    /// In `dimension_headers` order.
    pub dimension_values: Vec<Cell>,
    /// In `metric_headers` order.
    pub metric_values: Vec<Cell>,
}

/// `{"value": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Cell {
    /// The value as text; GA4 sends numbers as strings.
    pub value: String,
}

/// `ResponseMetaData`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Metadata {
    /// The currency of money metrics.
    pub currency_code: Option<String>,
    /// The property's time zone, in which `date` values are.
    pub time_zone: Option<String>,
    /// Rare dimension values were folded into an `(other)` row.
    pub data_loss_from_other_row: bool,
    /// Rows with few users may have been withheld.
    pub subject_to_thresholding: bool,
    /// Present when the report was sampled.
    pub sampling_metadatas: Vec<SamplingMetadata>,
    /// Why a report is empty, when GA4 says.
    pub empty_reason: Option<String>,
}

/// `{"samplesReadCount", "samplingSpaceSize"}`, int64s as strings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SamplingMetadata {
    /// Events read.
    pub samples_read_count: Option<String>,
    /// Events there were.
    pub sampling_space_size: Option<String>,
}

impl Metadata {
    /// The data-quality flags of a report, as stored on its metrics. `empty` is added by the
    /// caller, which knows whether the report had rows.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if self.subject_to_thresholding {
            flags.push("thresholded".to_owned());
        }
        if self.data_loss_from_other_row {
            flags.push("other_row".to_owned());
        }
        if let Some(share) = self.sampled_share() {
            flags.push(format!("sampled={share:.4}"));
        }
        flags
    }

    /// The share of events a sampled report read (the smallest over its date ranges).
    fn sampled_share(&self) -> Option<f64> {
        let parse = |text: &Option<String>| text.as_deref()?.parse::<f64>().ok();
        self.sampling_metadatas
            .iter()
            .filter_map(|sampling| {
                let read = parse(&sampling.samples_read_count)?;
                let space = parse(&sampling.sampling_space_size)?;
                (space > 0.0).then(|| read / space)
            })
            .reduce(f64::min)
            .or_else(|| (!self.sampling_metadatas.is_empty()).then_some(0.0))
    }
}

/// `PropertyQuota`: each bucket's consumed and remaining tokens or requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PropertyQuota {
    /// Tokens per day (200,000 on a standard property).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<QuotaStatus>,
    /// Tokens per hour (40,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_hour: Option<QuotaStatus>,
    /// Tokens per hour for this Cloud project on this property (14,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_project_per_hour: Option<QuotaStatus>,
    /// Requests at once (10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent_requests: Option<QuotaStatus>,
    /// Server errors per hour (10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_errors_per_project_per_hour: Option<QuotaStatus>,
    /// Requests with thresholded dimensions per hour (120).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub potentially_thresholded_requests_per_hour: Option<QuotaStatus>,
}

/// `{"consumed", "remaining"}`; proto3 JSON leaves out a zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaStatus {
    /// Used so far in the bucket's window.
    pub consumed: i64,
    /// Left in the bucket's window.
    pub remaining: i64,
}

impl PropertyQuota {
    /// The hourly or daily bucket that has fallen under `reserve_percent` of its size, named
    /// as a person reads it, with what is left; `None` while every bucket has room.
    pub fn running_low(&self, reserve_percent: u32) -> Option<String> {
        let buckets = [
            ("tokens per hour", self.tokens_per_hour),
            (
                "tokens per project per hour",
                self.tokens_per_project_per_hour,
            ),
            ("tokens per day", self.tokens_per_day),
            (
                "potentially thresholded requests per hour",
                self.potentially_thresholded_requests_per_hour,
            ),
        ];
        buckets.into_iter().find_map(|(name, status)| {
            let status = status?;
            let size = status.consumed + status.remaining;
            let low = status.remaining * 100 < size * i64::from(reserve_percent);
            (size > 0 && low).then(|| format!("{name}: {} of {size} left", status.remaining))
        })
    }
}

/// Google's error body: `{"error": {"code", "message", "status"}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

/// The message of a Google error body, with its status (`PERMISSION_DENIED`).
pub fn error_message(body: &[u8]) -> Option<String> {
    let detail = serde_json::from_slice::<ErrorBody>(body).ok()?.error;
    match (detail.status.is_empty(), detail.message.is_empty()) {
        (true, true) => None,
        (true, false) => Some(detail.message),
        (false, true) => Some(detail.status),
        (false, false) => Some(format!("{} ({})", detail.message, detail.status)),
    }
}

/// Whether a failed Data API call is worth another attempt, from its body. A
/// `RESOURCE_EXHAUSTED` for an hourly or daily bucket only passes once the bucket refills, up
/// to an hour later: retrying within the run would only wait and fail, so the run ends and the
/// next one resumes. Too many concurrent requests clears in a moment and is retried.
pub fn retry_hint(status: u16, body: &[u8]) -> Option<bool> {
    if status != 429 {
        return None;
    }
    let detail = serde_json::from_slice::<ErrorBody>(body).ok()?.error;
    let concurrent = detail.message.to_ascii_lowercase().contains("concurrent");
    Some(concurrent)
}

/// The token endpoint's error body: `{"error": "invalid_grant", "error_description": ...}`.
pub fn token_error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct TokenError {
        error: String,
        error_description: Option<String>,
    }
    let parsed = serde_json::from_slice::<TokenError>(body).ok()?;
    Some(match parsed.error_description {
        Some(description) => format!("{}: {description}", parsed.error),
        None => parsed.error,
    })
}

/// A metric value as stored: the number and its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The number, converted to seconds for durations.
    pub value: f64,
    /// `count`, `number`, `seconds`, a currency code, or the raw type for types kpisync does
    /// not know.
    pub unit: String,
}

/// Parses a metric's string value by its header type; `None` when it is not a number.
pub fn parse_value(text: &str, kind: &str, currency: Option<&str>) -> Option<Parsed> {
    let number: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|value: &f64| value.is_finite())?;
    let (value, unit) = match kind {
        "TYPE_INTEGER" => (number, "count".to_owned()),
        "TYPE_FLOAT" | "TYPE_STANDARD" => (number, "number".to_owned()),
        "TYPE_SECONDS" => (number, "seconds".to_owned()),
        "TYPE_MILLISECONDS" => (number / 1000.0, "seconds".to_owned()),
        "TYPE_MINUTES" => (number * 60.0, "seconds".to_owned()),
        "TYPE_HOURS" => (number * 3600.0, "seconds".to_owned()),
        "TYPE_CURRENCY" => (number, currency.unwrap_or("currency").to_owned()),
        // A type added after this was written: keep the number and say what it was.
        other => (number, other.to_owned()),
    };
    Some(Parsed { value, unit })
}
