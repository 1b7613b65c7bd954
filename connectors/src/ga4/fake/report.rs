//! The fake's report engine: a `RunReportRequest` (as JSON) answered from the dataset. It
//! groups visits (or, with `eventName`, each visit's events) by the asked dimensions, counts
//! users as distinct ids within each group, filters, applies thresholding and the `(other)`
//! row, and pages by `limit` and `offset` with GA4's proto3 habits (no empty fields).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde_json::{Map, Value, json};

use super::dataset::{Dataset, KEY_EVENTS, Visit};

/// A refusal in Google's terms: HTTP status, `status` and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// HTTP status.
    pub code: u16,
    /// `INVALID_ARGUMENT`, ...
    pub status: &'static str,
    /// What was wrong.
    pub message: String,
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: message.into(),
    }
}

const DIMENSIONS: [&str; 6] = [
    "date",
    "isoYearIsoWeek",
    "yearMonth",
    "sessionDefaultChannelGroup",
    "landingPage",
    "eventName",
];

const METRICS: [(&str, &str); 11] = [
    ("totalUsers", "TYPE_INTEGER"),
    ("activeUsers", "TYPE_INTEGER"),
    ("newUsers", "TYPE_INTEGER"),
    ("sessions", "TYPE_INTEGER"),
    ("engagedSessions", "TYPE_INTEGER"),
    ("userEngagementDuration", "TYPE_SECONDS"),
    ("eventCount", "TYPE_INTEGER"),
    ("screenPageViews", "TYPE_INTEGER"),
    ("keyEvents", "TYPE_INTEGER"),
    ("ecommercePurchases", "TYPE_INTEGER"),
    ("purchaseRevenue", "TYPE_CURRENCY"),
];

/// What a request asks, checked.
#[derive(Debug, Clone)]
pub struct Asked {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
    /// Dimension names.
    pub dimensions: Vec<String>,
    /// Metric names.
    pub metrics: Vec<String>,
    filter: Option<(String, Vec<String>)>,
    limit: usize,
    offset: usize,
}

/// One fact a report groups: a visit, or one event name of a visit.
struct Fact<'a> {
    visit: &'a Visit,
    event: Option<(&'static str, u32)>,
}

impl Fact<'_> {
    fn dimension(&self, name: &str) -> String {
        let date = self.visit.date;
        match name {
            "date" => date.strftime("%Y%m%d").to_string(),
            "isoYearIsoWeek" => {
                let week = date.iso_week_date();
                format!("{:04}{:02}", week.year(), week.week())
            }
            "yearMonth" => date.strftime("%Y%m").to_string(),
            "sessionDefaultChannelGroup" => self.visit.channel.to_owned(),
            "landingPage" => self.visit.landing_page.clone(),
            "eventName" => self
                .event
                .map(|(name, _)| name.to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// Reads and checks one request; `today` resolves `today`, `yesterday` and `NdaysAgo`.
pub fn parse(request: &Value, today: Date) -> Result<Asked, Refusal> {
    let ranges = request["dateRanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let [range] = ranges.as_slice() else {
        return Err(invalid("the fake answers exactly one date range"));
    };
    let day = |field: &str| resolve_date(range[field].as_str().unwrap_or_default(), today);
    let (from, to) = (day("startDate")?, day("endDate")?);
    if from > to {
        return Err(invalid("startDate is after endDate"));
    }
    let names = |field: &str| -> Vec<String> {
        request[field]
            .as_array()
            .map(|items| {
                let names = items.iter().filter_map(|item| item["name"].as_str());
                names.map(str::to_owned).collect()
            })
            .unwrap_or_default()
    };
    let dimensions = names("dimensions");
    let metrics = names("metrics");
    for dimension in &dimensions {
        if !DIMENSIONS.contains(&dimension.as_str()) {
            return Err(invalid(format!(
                "Field {dimension} is not a valid dimension."
            )));
        }
    }
    if metrics.is_empty() || metrics.len() > 10 {
        return Err(invalid("a report has 1 to 10 metrics"));
    }
    for metric in &metrics {
        if !METRICS.iter().any(|(name, _)| name == metric) {
            return Err(invalid(format!("Field {metric} is not a valid metric.")));
        }
    }
    let filter = &request["dimensionFilter"]["filter"];
    let filter = filter["fieldName"].as_str().map(|field| {
        let values = filter["inListFilter"]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let values = values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        (field.to_owned(), values)
    });
    let number = |field: &str, default: usize| match &request[field] {
        Value::String(text) => text
            .parse()
            .map_err(|_| invalid(format!("{field} is not a number"))),
        Value::Number(number) => Ok(number.as_u64().unwrap_or(0) as usize),
        _ => Ok(default),
    };
    let limit = number("limit", 10_000)?;
    if limit == 0 {
        return Err(invalid("limit must be positive"));
    }
    Ok(Asked {
        from,
        to,
        dimensions,
        metrics,
        filter,
        limit,
        offset: number("offset", 0)?,
    })
}

fn resolve_date(text: &str, today: Date) -> Result<Date, Refusal> {
    let days_ago = |days: i64| {
        today
            .checked_sub(jiff::Span::new().days(days))
            .map_err(|_| invalid("date out of range"))
    };
    match text {
        "today" => Ok(today),
        "yesterday" => days_ago(1),
        _ => match text.strip_suffix("daysAgo") {
            Some(days) => days_ago(days.parse().map_err(|_| invalid("bad NdaysAgo"))?),
            None => text
                .parse()
                .map_err(|_| invalid(format!("{text:?} is not a date"))),
        },
    }
}

/// The response to `asked`, without `propertyQuota` (the server adds it).
pub fn answer(dataset: &Dataset, asked: &Asked) -> Value {
    let visits = dataset.visits_between(asked.from, asked.to);
    let by_event = asked.dimensions.iter().any(|name| name == "eventName")
        || asked
            .filter
            .as_ref()
            .is_some_and(|(field, _)| field == "eventName");
    let mut facts = Vec::new();
    for visit in &visits {
        if by_event {
            facts.extend(visit.events.iter().map(|event| Fact {
                visit,
                event: Some(*event),
            }));
        } else {
            facts.push(Fact { visit, event: None });
        }
    }
    if let Some((field, values)) = &asked.filter {
        facts.retain(|fact| values.contains(&fact.dimension(field)));
    }

    let other_row = fold_other_row(dataset, asked, &facts);
    let mut groups: BTreeMap<Vec<String>, Vec<&Fact<'_>>> = BTreeMap::new();
    for fact in &facts {
        let key = asked
            .dimensions
            .iter()
            .map(|name| match (&other_row, name.as_str()) {
                (Some(kept), "landingPage") if !kept.contains(&fact.dimension(name)) => {
                    "(other)".to_owned()
                }
                _ => fact.dimension(name),
            })
            .collect();
        groups.entry(key).or_default().push(fact);
    }

    let thresholded = dataset
        .thresholded
        .iter()
        .any(|day| (asked.from..=asked.to).contains(day));
    let breakdown = asked.dimensions.iter().any(|name| {
        matches!(
            name.as_str(),
            "sessionDefaultChannelGroup" | "landingPage" | "eventName"
        )
    });
    let mut rows = Vec::new();
    for (key, facts) in &groups {
        let values: Vec<f64> = asked
            .metrics
            .iter()
            .map(|name| metric(name, facts))
            .collect();
        if values.iter().all(|value| *value == 0.0) {
            continue;
        }
        let users = metric("totalUsers", facts);
        let on_thresholded_day = facts
            .iter()
            .any(|fact| dataset.thresholded.contains(&fact.visit.date));
        // GA4 withholds small groups of a thresholded report to protect privacy.
        if thresholded && breakdown && on_thresholded_day && users < 3.0 {
            continue;
        }
        rows.push(row(key, &asked.metrics, &values));
    }
    response(dataset, asked, rows, thresholded, other_row.is_some())
}

/// The landing pages kept when the dataset folds the rest into `(other)`.
fn fold_other_row(
    dataset: &Dataset,
    asked: &Asked,
    facts: &[Fact<'_>],
) -> Option<BTreeSet<String>> {
    let keep = dataset.other_row_after?;
    if !asked.dimensions.iter().any(|name| name == "landingPage") {
        return None;
    }
    let pages: BTreeSet<String> = facts
        .iter()
        .map(|fact| fact.dimension("landingPage"))
        .collect();
    (pages.len() > keep).then(|| pages.into_iter().take(keep).collect())
}

fn row(key: &[String], metrics: &[String], values: &[f64]) -> Value {
    let dimension_values: Vec<Value> = key.iter().map(|value| json!({ "value": value })).collect();
    let metric_values: Vec<Value> = metrics
        .iter()
        .zip(values)
        .map(|(name, value)| {
            let text = if name == "purchaseRevenue" {
                format!("{value:.2}")
            } else {
                format!("{value}")
            };
            json!({ "value": text })
        })
        .collect();
    json!({ "dimensionValues": dimension_values, "metricValues": metric_values })
}

fn response(
    dataset: &Dataset,
    asked: &Asked,
    rows: Vec<Value>,
    thresholded: bool,
    other_row: bool,
) -> Value {
    let mut body = Map::new();
    let headers: Vec<Value> = asked
        .dimensions
        .iter()
        .map(|name| json!({ "name": name }))
        .collect();
    body.insert("dimensionHeaders".into(), Value::Array(headers));
    let metric_headers: Vec<Value> = asked
        .metrics
        .iter()
        .map(|name| {
            let kind = METRICS
                .iter()
                .find(|(known, _)| known == name)
                .map_or("", |(_, kind)| kind);
            json!({ "name": name, "type": kind })
        })
        .collect();
    body.insert("metricHeaders".into(), Value::Array(metric_headers));
    // Proto3 JSON: an empty report has neither `rows` nor `rowCount`.
    if !rows.is_empty() {
        body.insert("rowCount".into(), json!(rows.len()));
        let page: Vec<Value> = rows
            .into_iter()
            .skip(asked.offset)
            .take(asked.limit)
            .collect();
        if !page.is_empty() {
            body.insert("rows".into(), Value::Array(page));
        }
    }
    let mut metadata = Map::new();
    metadata.insert("currencyCode".into(), json!(dataset.currency));
    metadata.insert("timeZone".into(), json!(dataset.time_zone));
    if thresholded {
        metadata.insert("subjectToThresholding".into(), json!(true));
    }
    if other_row {
        metadata.insert("dataLossFromOtherRow".into(), json!(true));
    }
    if let Some((read, space)) = dataset.sampling {
        let sampling = json!([{ "samplesReadCount": read.to_string(),
                                "samplingSpaceSize": space.to_string() }]);
        metadata.insert("samplingMetadatas".into(), sampling);
    }
    body.insert("metadata".into(), Value::Object(metadata));
    body.insert("kind".into(), json!("analyticsData#runReport"));
    Value::Object(body)
}

/// One metric over a group of facts.
fn metric(name: &str, facts: &[&Fact<'_>]) -> f64 {
    let distinct = |keep: &dyn Fn(&Visit) -> bool| {
        let users: BTreeSet<u32> = facts
            .iter()
            .filter(|fact| keep(fact.visit))
            .map(|fact| fact.visit.user)
            .collect();
        users.len() as f64
    };
    let sum = |value: &dyn Fn(&Fact<'_>) -> f64| facts.iter().map(|fact| value(fact)).sum::<f64>();
    match name {
        "totalUsers" => distinct(&|_| true),
        "activeUsers" => distinct(&|visit| visit.engaged_sessions > 0),
        "newUsers" => distinct(&|visit| visit.new_user),
        "sessions" => sum(&|fact| f64::from(fact.visit.sessions)),
        "engagedSessions" => sum(&|fact| f64::from(fact.visit.engaged_sessions)),
        "userEngagementDuration" => sum(&|fact| f64::from(fact.visit.engagement_seconds)),
        "screenPageViews" => sum(&|fact| f64::from(fact.visit.page_views)),
        "eventCount" => sum(&|fact| match fact.event {
            Some((_, count)) => f64::from(count),
            None => f64::from(fact.visit.event_total()),
        }),
        "keyEvents" => sum(&|fact| match fact.event {
            Some((event, count)) if KEY_EVENTS.contains(&event) => f64::from(count),
            Some(_) => 0.0,
            None => KEY_EVENTS
                .iter()
                .map(|event| f64::from(fact.visit.count_of(event)))
                .sum(),
        }),
        "ecommercePurchases" => sum(&|fact| match fact.event {
            Some(("purchase", count)) => f64::from(count),
            Some(_) => 0.0,
            None => f64::from(fact.visit.count_of("purchase")),
        }),
        "purchaseRevenue" => sum(&|fact| match fact.event {
            Some(("purchase", _)) | None => fact.visit.revenue_cents as f64 / 100.0,
            Some(_) => 0.0,
        }),
        _ => 0.0,
    }
}
