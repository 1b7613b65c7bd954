//! Reading Stripe lists and the events feed page by page, with cursors that resume an
//! interrupted walk exactly where its last stored page ended.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::{debug, info};

use super::objects::{self, Parsed};
use super::tables;
use super::{EVENTS_RETENTION, StripeConnector};
use crate::schema::{Batch, TableSpec};
use crate::{BatchSink, ConnectorError, ReadContext};

/// One list endpoint.
pub struct List {
    /// The stream's name.
    pub stream: &'static str,
    /// The endpoint path.
    pub path: &'static str,
    /// The table its objects go to.
    pub table: &'static TableSpec,
    /// Parameters every request carries.
    pub params: &'static [(&'static str, &'static str)],
    /// Whether its objects change after creation, so an events gap means reading it all again.
    pub mutable: bool,
}

/// The list streams, in reading order.
pub static LISTS: [List; 6] = [
    List {
        stream: "customers",
        path: "/v1/customers",
        table: &tables::CUSTOMERS,
        params: &[],
        mutable: true,
    },
    List {
        stream: "charges",
        path: "/v1/charges",
        table: &tables::CHARGES,
        params: &[],
        mutable: true,
    },
    List {
        stream: "refunds",
        path: "/v1/refunds",
        table: &tables::REFUNDS,
        params: &[],
        mutable: true,
    },
    List {
        stream: "balance_transactions",
        path: "/v1/balance_transactions",
        table: &tables::BALANCE_TRANSACTIONS,
        params: &[],
        mutable: false,
    },
    List {
        stream: "subscriptions",
        path: "/v1/subscriptions",
        table: &tables::SUBSCRIPTIONS,
        // Without it Stripe leaves canceled subscriptions out, and churn would read 0.
        params: &[("status", "all")],
        mutable: true,
    },
    List {
        stream: "invoices",
        path: "/v1/invoices",
        table: &tables::INVOICES,
        params: &[],
        mutable: true,
    },
];

/// The events feed's stream name.
pub const EVENTS_STREAM: &str = "events";

/// The events feed's endpoint.
pub const EVENTS_PATH: &str = "/v1/events";

/// The event types that carry a new state of an object kpisync stores (at most 20 per request).
const EVENT_TYPES: [&str; 20] = [
    "charge.succeeded",
    "charge.captured",
    "charge.updated",
    "charge.refunded",
    "charge.failed",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "customer.created",
    "customer.updated",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.updated",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.payment_failed",
];

/// Events are immutable, but their `created` second may be shared with an event stored at the
/// end of the last run; a short overlap re-reads those and the upserts absorb them.
const EVENTS_OVERLAP_SECS: i64 = 300;

/// A stream's saved position.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListCursor {
    /// The newest `created` of the last complete walk, Unix seconds.
    pub watermark: Option<i64>,
    /// The walk under way, when the last run stopped inside one.
    pub walk: Option<Walk>,
}

/// Where an unfinished walk stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Walk {
    /// Its window: `created >= from` (none for a full read) and `created <= upper`.
    pub from: Option<i64>,
    /// Upper bound of its window, fixed when it started so that pages do not shift.
    pub upper: i64,
    /// The last id of the last stored page.
    pub after: String,
    /// The newest `created` seen so far in the walk.
    pub newest: Option<i64>,
}

#[derive(Deserialize)]
struct Page {
    data: Vec<Box<RawValue>>,
    has_more: bool,
}

fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn parse_cursor(context: &ReadContext, stream: &str) -> (ListCursor, Option<String>) {
    match context.cursor(stream) {
        None => (ListCursor::default(), None),
        Some(value) => match serde_json::from_value(value.clone()) {
            Ok(cursor) => (cursor, None),
            Err(error) => {
                let warning =
                    format!("saved cursor of {stream} unreadable ({error}): read in full");
                (ListCursor::default(), Some(warning))
            }
        },
    }
}

/// When the changes feed stopped covering the past: the events watermark, or, before events
/// were ever read, the stream's own. `None` when nothing was read yet.
fn changes_covered_since(context: &ReadContext, own: &ListCursor) -> Option<i64> {
    let events = context
        .cursors
        .get(EVENTS_STREAM)
        .and_then(|value| serde_json::from_value::<ListCursor>(value.clone()).ok())
        .and_then(|cursor| cursor.watermark);
    events.or(own.watermark)
}

/// Reads one list stream from its cursor.
pub async fn read_list(
    connector: &StripeConnector,
    list: &'static List,
    context: &ReadContext,
    sink: &mut BatchSink,
) -> Result<(), ConnectorError> {
    let (mut cursor, warning) = parse_cursor(context, list.stream);
    if let Some(warning) = warning {
        sink.warn(warning).await?;
    }

    // Changes older than Stripe's event retention are lost to the feed: only a full read of a
    // mutable stream can bring them back.
    let now = now_seconds();
    let retention_start = now - EVENTS_RETENTION.as_secs() as i64;
    if list.mutable && cursor.watermark.is_some() {
        let covered = changes_covered_since(context, &cursor);
        if let Some(since) = covered.filter(|since| *since < retention_start) {
            let days = (now - since) / 86_400;
            sink.warn(format!(
                "changes feed gap: last events read {days} days ago and Stripe keeps 30 days; \
                 {} read again in full",
                list.stream
            ))
            .await?;
            cursor = ListCursor::default();
        }
    }

    let lookback = connector.lookback.as_secs() as i64;
    let query = list.params.to_vec();
    let pager = Pager {
        stream: list.stream,
        path: list.path,
        query,
        empty_watermark: None,
    };
    let start = cursor.watermark.map(|watermark| watermark - lookback);
    pager
        .walk(connector, cursor, start, now, sink, |raw, index, walk| {
            let parsed = parse(list, raw, index, now_seconds())?;
            walk.newest = walk.newest.max(Some(parsed.header.created));
            Ok(Some(parsed))
        })
        .await
}

/// Reads the events feed and stores each event's object as the new state of that object.
pub async fn read_events(
    connector: &StripeConnector,
    context: &ReadContext,
    sink: &mut BatchSink,
) -> Result<(), ConnectorError> {
    let (mut cursor, warning) = parse_cursor(context, EVENTS_STREAM);
    if let Some(warning) = warning {
        sink.warn(warning).await?;
    }

    // Past the retention Stripe has nothing older to give: read whatever it still keeps. The
    // list streams have already been read in full in that case.
    let now = now_seconds();
    let retention_start = now - EVENTS_RETENTION.as_secs() as i64;
    if cursor.walk.is_none() && cursor.watermark.is_some_and(|mark| mark < retention_start) {
        info!(
            connector = "stripe",
            stream = "events",
            "events cursor older than retention"
        );
        cursor = ListCursor::default();
    }

    let query = EVENT_TYPES.iter().map(|kind| ("types[]", *kind)).collect();
    let pager = Pager {
        stream: EVENTS_STREAM,
        path: EVENTS_PATH,
        query,
        empty_watermark: Some(now),
    };
    let start = cursor
        .watermark
        .map(|watermark| watermark - EVENTS_OVERLAP_SECS);
    pager
        .walk(connector, cursor, start, now, sink, |raw, index, walk| {
            let event: Event = serde_json::from_str(raw.get()).map_err(|error| {
                let id = id_of(&raw).unwrap_or_else(|| format!("#{index}"));
                ConnectorError::Decode {
                    endpoint: EVENTS_PATH.into(),
                    message: format!("event {id}: {error}"),
                }
            })?;
            walk.newest = walk.newest.max(Some(event.created));
            event_object(&event)
        })
        .await
}

/// Walks one endpoint's pages newest first inside a `created` window, one batch per page.
struct Pager {
    stream: &'static str,
    path: &'static str,
    /// Parameters every request of the walk carries besides the window and the position.
    query: Vec<(&'static str, &'static str)>,
    /// The watermark a walk that saw nothing leaves.
    empty_watermark: Option<i64>,
}

impl Pager {
    /// Walks from the saved `cursor`, or from a new window `[start, now]`, turning each object
    /// into a row with `parse` (which also moves the walk's newest `created`).
    async fn walk<F>(
        &self,
        connector: &StripeConnector,
        cursor: ListCursor,
        start: Option<i64>,
        now: i64,
        sink: &mut BatchSink,
        mut parse: F,
    ) -> Result<(), ConnectorError>
    where
        F: FnMut(Box<RawValue>, usize, &mut Walk) -> Result<Option<Parsed>, ConnectorError>,
    {
        let mut walk = cursor.walk.clone().unwrap_or(Walk {
            from: start,
            upper: now,
            after: String::new(),
            newest: cursor.watermark,
        });
        debug!(
            connector = "stripe",
            stream = self.stream,
            ?walk,
            "walk starts"
        );

        loop {
            let page = match self.fetch(connector, &walk).await {
                Ok(page) => page,
                // The object a resumed walk continues after may have been deleted since;
                // Stripe then refuses the position, and the walk starts its window again.
                Err(ConnectorError::Http { status: 400, .. }) if !walk.after.is_empty() => {
                    let warning = format!("{}: resume point gone, walk restarted", self.stream);
                    sink.warn(warning).await?;
                    walk.after.clear();
                    continue;
                }
                Err(error) => return Err(error),
            };

            // Read before the objects move into their rows.
            let last_id = page.data.last().and_then(|raw| id_of(raw));
            let finished = !page.has_more || last_id.is_none();

            let mut batch = Batch {
                requests: 1,
                rows: Vec::with_capacity(page.data.len()),
                ..Batch::default()
            };
            let mut skipped = 0;
            for (index, raw) in page.data.into_iter().enumerate() {
                match parse(raw, index, &mut walk)? {
                    Some(parsed) if connector.accepts(&parsed) => batch.rows.push(parsed.row),
                    Some(_) => skipped += 1,
                    None => {}
                }
            }
            if skipped > 0 {
                let warning = format!("{skipped} {} of the other mode left out", self.stream);
                batch.warnings.push(warning);
            }

            // The watermark moves only once the whole window is stored; until then the cursor
            // records the position after this page, which is where a new run resumes.
            let next = if finished {
                ListCursor {
                    watermark: walk.newest.or(self.empty_watermark),
                    walk: None,
                }
            } else {
                walk.after = last_id.unwrap_or_default();
                ListCursor {
                    watermark: cursor.watermark,
                    walk: Some(walk.clone()),
                }
            };
            batch.cursor =
                Some(
                    serde_json::to_value(next).map_err(|error| ConnectorError::Decode {
                        endpoint: self.path.into(),
                        message: error.to_string(),
                    })?,
                );

            sink.send(batch).await?;
            if finished {
                return Ok(());
            }
        }
    }

    async fn fetch(
        &self,
        connector: &StripeConnector,
        walk: &Walk,
    ) -> Result<Page, ConnectorError> {
        let mut query: Vec<(&str, String)> = vec![("limit", connector.page_size.to_string())];
        if let Some(from) = walk.from {
            query.push(("created[gte]", from.to_string()));
        }
        query.push(("created[lte]", walk.upper.to_string()));
        if !walk.after.is_empty() {
            query.push(("starting_after", walk.after.clone()));
        }
        query.extend(
            self.query
                .iter()
                .map(|(key, value)| (*key, (*value).to_owned())),
        );
        Ok(connector
            .client
            .get_json::<Page>(self.path, &query)
            .await?
            .body)
    }
}

fn parse(
    list: &List,
    raw: Box<RawValue>,
    index: usize,
    version: i64,
) -> Result<Parsed, ConnectorError> {
    objects::parse_owned(list.table, raw, version).map_err(|rejected| {
        let id = id_of(&rejected.raw).unwrap_or_else(|| format!("#{index}"));
        ConnectorError::Decode {
            endpoint: list.path.into(),
            message: format!("object {id}: {}", rejected.error),
        }
    })
}

fn id_of(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(raw.get())
        .ok()
        .map(|object| object.id)
}

impl StripeConnector {
    /// Whether an object's mode matches the key's: test objects never reach live KPIs.
    fn accepts(&self, parsed: &Parsed) -> bool {
        match (self.livemode, parsed.header.livemode) {
            (Some(expected), Some(actual)) => expected == actual,
            _ => true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Events

#[derive(Deserialize)]
struct Event {
    id: String,
    created: i64,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Box<RawValue>,
}

#[derive(Deserialize)]
struct ObjectKind {
    object: String,
    #[serde(default)]
    deleted: bool,
}

/// The object an event carries, as a row whose version is the event's time: a newer state
/// already stored (from a list read or a later event) is not overwritten by it.
fn event_object(event: &Event) -> Result<Option<Parsed>, ConnectorError> {
    let Ok(kind) = serde_json::from_str::<ObjectKind>(event.data.object.get()) else {
        debug!(connector = "stripe", event = %event.id, "event without an object kind");
        return Ok(None);
    };
    let Some(table) = objects::table_for_object(&kind.object) else {
        return Ok(None);
    };
    if kind.deleted {
        return Ok(None);
    }
    objects::parse_object(table, &event.data.object, event.created)
        .map(Some)
        .map_err(|error| ConnectorError::Decode {
            endpoint: EVENTS_PATH.into(),
            message: format!("event {} ({}): {error}", event.id, event.kind),
        })
}
