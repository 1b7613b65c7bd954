//! List requests as Stripe reads them: form-style query strings (`created[gte]=…`,
//! `types[]=…`), parameter validation with Stripe's 400 errors, filters, and cursor pagination
//! over a [`Table`]. Rendering the page is the server's job.

use std::borrow::Cow;

use super::Resource;
use super::server::ApiError;
use super::store::{Row, SortKey, Table};

/// The largest `limit` Stripe accepts, and the most `types[]` an events list may name.
const MAX_LIMIT: usize = 100;
const MAX_EVENT_TYPES: usize = 20;
const DEFAULT_LIMIT: usize = 10;

const SUBSCRIPTION_STATUSES: [&str; 10] = [
    "all",
    "ended",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "paused",
];

/// Decodes a query string into `(key, value)` pairs in order, with `+` as space and `%XX`
/// escapes resolved (so `created%5Bgte%5D` reads as `created[gte]`).
pub(super) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(hex_byte) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                // A stray `%` stays as it is, as lenient form decoders do.
                None => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// `types[0]` and `types[]` both name the array `types[]`: Stripe's own libraries send
/// indexed keys, curl users send empty brackets.
fn normalize_key(key: &str) -> Cow<'_, str> {
    if let Some((name, rest)) = key.split_once('[')
        && let Some(index) = rest.strip_suffix(']')
        && !index.is_empty()
        && index.bytes().all(|b| b.is_ascii_digit())
    {
        return Cow::Owned(format!("{name}[]"));
    }
    Cow::Borrowed(key)
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cursor {
    /// Older objects than this id.
    After(String),
    /// Newer objects than this id.
    Before(String),
}

/// A filter on a row's extracted fields: any of the row's values for `attr` matches any
/// pattern, or, when `negate`, none does.
#[derive(Debug, Clone)]
struct Matcher {
    attr: &'static str,
    patterns: Vec<String>,
    negate: bool,
    /// Whether a pattern ending in `*` matches by prefix (event types: `charge.*`).
    wildcard: bool,
}

impl Matcher {
    fn equals(attr: &'static str, value: &str) -> Matcher {
        Matcher {
            attr,
            patterns: vec![value.to_owned()],
            negate: false,
            wildcard: false,
        }
    }

    fn matches(&self, row: &Row) -> bool {
        let hit = row
            .attrs
            .iter()
            .filter(|(name, _)| *name == self.attr)
            .any(|(_, value)| self.patterns.iter().any(|p| self.pattern_matches(p, value)));
        hit != self.negate
    }

    fn pattern_matches(&self, pattern: &str, value: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) if self.wildcard => value.starts_with(prefix),
            _ => pattern == value,
        }
    }
}

/// A validated list request.
#[derive(Debug, Clone)]
pub(super) struct ListRequest {
    pub limit: usize,
    pub cursor: Option<Cursor>,
    /// Inclusive bounds on `created`.
    pub min_created: Option<i64>,
    pub max_created: Option<i64>,
    matchers: Vec<Matcher>,
    /// `expand[]` paths as sent (`data.balance_transaction`).
    pub expand: Vec<String>,
}

/// Equality filters each list endpoint accepts; the name is both the query parameter and the
/// extracted field (see `store.rs`).
fn equality_filters(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Charges => &["customer", "payment_intent", "transfer_group"],
        Resource::Refunds => &["charge", "payment_intent"],
        Resource::Customers => &["email"],
        Resource::Subscriptions => &["customer", "price", "collection_method"],
        Resource::Invoices => &["customer", "subscription", "status", "collection_method"],
        Resource::BalanceTransactions => &["type", "source", "currency"],
        Resource::Events => &[],
    }
}

/// Validates the query of `GET /v1/<resource>`. `min_created` is a floor the caller imposes
/// (event retention).
pub(super) fn parse_list_request(
    resource: Resource,
    params: &[(String, String)],
    min_created: Option<i64>,
) -> Result<ListRequest, ApiError> {
    let mut request = ListRequest {
        limit: DEFAULT_LIMIT,
        cursor: None,
        min_created,
        max_created: None,
        matchers: Vec::new(),
        expand: Vec::new(),
    };
    let mut subscription_status = None;
    let mut event_types: Vec<String> = Vec::new();
    let mut event_type: Option<String> = None;
    let mut saw_created = (false, false);

    for (raw_key, value) in params {
        let key = normalize_key(raw_key);
        match key.as_ref() {
            "limit" => request.limit = parse_limit(value)?,
            "starting_after" | "ending_before" => set_cursor(&mut request, &key, value)?,
            "created" => {
                saw_created.0 = true;
                let at = parse_integer("created", value)?;
                request.min_created = Some(request.min_created.map_or(at, |m| m.max(at)));
                request.max_created = Some(at);
            }
            "created[gt]" | "created[gte]" | "created[lt]" | "created[lte]" => {
                saw_created.1 = true;
                apply_created_bound(&mut request, &key, value)?;
            }
            "expand[]" => request.expand.push(value.clone()),
            "status" if resource == Resource::Subscriptions => {
                subscription_status = Some(parse_subscription_status(value)?);
            }
            "type" if resource == Resource::Events => event_type = Some(value.clone()),
            "types[]" if resource == Resource::Events => event_types.push(value.clone()),
            other => match equality_filters(resource)
                .iter()
                .find(|name| **name == other)
            {
                Some(name) => request.matchers.push(Matcher::equals(name, value)),
                None => return Err(unknown_parameter(raw_key)),
            },
        }
    }

    if saw_created.0 && saw_created.1 {
        return Err(ApiError::invalid(
            "created",
            "Invalid created: pass either an integer or a hash of gt/gte/lt/lte, not both.",
        ));
    }
    if resource == Resource::Subscriptions {
        request
            .matchers
            .extend(subscription_matcher(subscription_status));
    }
    if resource == Resource::Events {
        request
            .matchers
            .extend(event_matcher(event_type, event_types)?);
    }
    Ok(request)
}

fn parse_limit(value: &str) -> Result<usize, ApiError> {
    let limit = parse_integer("limit", value)?;
    if !(1..=MAX_LIMIT as i64).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("Invalid limit: must be between 1 and {MAX_LIMIT}, got {limit}."),
        ));
    }
    // In 1..=100 after the check above.
    Ok(limit as usize)
}

fn set_cursor(request: &mut ListRequest, key: &str, value: &str) -> Result<(), ApiError> {
    // Stripe reads an empty form value as "not given".
    if value.is_empty() {
        return Ok(());
    }
    let cursor = if key == "starting_after" {
        Cursor::After(value.to_owned())
    } else {
        Cursor::Before(value.to_owned())
    };
    match (&request.cursor, &cursor) {
        (Some(Cursor::After(_)), Cursor::Before(_))
        | (Some(Cursor::Before(_)), Cursor::After(_)) => Err(ApiError::invalid(
            "ending_before",
            "starting_after and ending_before cannot be used together.",
        )),
        _ => {
            request.cursor = Some(cursor);
            Ok(())
        }
    }
}

fn parse_integer(param: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid(param, format!("Invalid integer: {value}")))
}

fn apply_created_bound(request: &mut ListRequest, key: &str, value: &str) -> Result<(), ApiError> {
    let at = parse_integer(key, value)?;
    let (floor, ceiling) = match key {
        "created[gt]" => (at.checked_add(1), None),
        "created[gte]" => (Some(at), None),
        "created[lt]" => (None, at.checked_sub(1)),
        _ => (None, Some(at)),
    };
    if let Some(floor) = floor {
        request.min_created = Some(request.min_created.map_or(floor, |m| m.max(floor)));
    }
    if let Some(ceiling) = ceiling {
        request.max_created = Some(request.max_created.map_or(ceiling, |m| m.min(ceiling)));
    }
    Ok(())
}

fn parse_subscription_status(value: &str) -> Result<String, ApiError> {
    if SUBSCRIPTION_STATUSES.contains(&value) {
        return Ok(value.to_owned());
    }
    Err(ApiError::invalid(
        "status",
        format!(
            "Invalid status: must be one of {}",
            SUBSCRIPTION_STATUSES.join(", ")
        ),
    ))
}

/// Stripe hides canceled subscriptions unless `status` asks for them.
fn subscription_matcher(status: Option<String>) -> Option<Matcher> {
    let (patterns, negate) = match status.as_deref() {
        None => (vec!["canceled".to_owned()], true),
        Some("all") => return None,
        Some("ended") => (
            vec!["canceled".to_owned(), "incomplete_expired".to_owned()],
            false,
        ),
        Some(other) => (vec![other.to_owned()], false),
    };
    Some(Matcher {
        attr: "status",
        patterns,
        negate,
        wildcard: false,
    })
}

fn event_matcher(single: Option<String>, many: Vec<String>) -> Result<Option<Matcher>, ApiError> {
    if single.is_some() && !many.is_empty() {
        return Err(ApiError::invalid(
            "types",
            "type and types cannot be used together.",
        ));
    }
    if many.len() > MAX_EVENT_TYPES {
        return Err(ApiError::invalid(
            "types",
            format!("Invalid types: at most {MAX_EVENT_TYPES} event types per request."),
        ));
    }
    let patterns: Vec<String> = single.into_iter().chain(many).collect();
    Ok((!patterns.is_empty()).then_some(Matcher {
        attr: "type",
        patterns,
        negate: false,
        wildcard: true,
    }))
}

pub(super) fn unknown_parameter(key: &str) -> ApiError {
    ApiError::invalid(key, format!("Received unknown parameter: {key}"))
}

/// One page of a list.
pub(super) struct Page<'a> {
    pub rows: Vec<&'a Row>,
    pub has_more: bool,
}

impl ListRequest {
    fn keeps(&self, key: &SortKey, row: &Row) -> bool {
        self.min_created.is_none_or(|min| key.created >= min)
            && self.max_created.is_none_or(|max| key.created <= max)
            && self.matchers.iter().all(|m| m.matches(row))
    }

    /// Selects the page of `table` this request asks for. A cursor id unknown to the table is
    /// Stripe's `resource_missing` error.
    pub fn select<'a>(&self, resource: Resource, table: &'a Table) -> Result<Page<'a>, ApiError> {
        let cursor_key = |param: &str, id: &str| {
            table
                .key_of(id)
                .ok_or_else(|| ApiError::missing(resource, id, param))
        };

        match &self.cursor {
            Some(Cursor::Before(id)) => {
                let key = cursor_key("ending_before", id)?;
                // Walk towards newer objects; past the newest allowed one nothing can match.
                let mut rows = table
                    .rows_before(&key)
                    .rev()
                    .take_while(|(k, _)| self.max_created.is_none_or(|max| k.created <= max))
                    .filter(|(k, row)| self.keeps(k, row))
                    .map(|(_, row)| row);
                let mut page: Vec<&Row> = rows.by_ref().take(self.limit).collect();
                let has_more = rows.next().is_some();
                page.reverse();
                Ok(Page {
                    rows: page,
                    has_more,
                })
            }
            cursor => {
                let after = match cursor {
                    Some(Cursor::After(id)) => Some(cursor_key("starting_after", id)?),
                    _ => None,
                };
                let start = self.later_start(after);
                // Walk towards older objects; below the oldest allowed one nothing can match.
                let mut rows = table
                    .rows_after(start.as_ref())
                    .take_while(|(k, _)| self.min_created.is_none_or(|min| k.created >= min))
                    .filter(|(k, row)| self.keeps(k, row))
                    .map(|(_, row)| row);
                let page: Vec<&Row> = rows.by_ref().take(self.limit).collect();
                let has_more = rows.next().is_some();
                Ok(Page {
                    rows: page,
                    has_more,
                })
            }
        }
    }

    /// The key to start an older-wards walk after: the cursor, or the position just before the
    /// newest allowed `created` when that comes later, so a window far in the past does not
    /// scan everything newer.
    fn later_start(&self, after: Option<SortKey>) -> Option<SortKey> {
        // In list order (created desc, id desc) the empty id sorts last within its second, so
        // everything after `(max + 1, "")` has `created <= max`.
        let ceiling = self
            .max_created
            .and_then(|max| max.checked_add(1))
            .map(|created| SortKey {
                created,
                id: "".into(),
            });
        match (after, ceiling) {
            (Some(after), Some(ceiling)) => Some(after.max(ceiling)),
            (after, ceiling) => after.or(ceiling),
        }
    }
}
