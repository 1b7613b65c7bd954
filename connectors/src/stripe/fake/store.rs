//! The fake's storage: one table per resource, kept in Stripe's list order (newest first, ties
//! by id descending) so a page is a range scan. Objects are stored as JSON text, which keeps a
//! million generated charges affordable, with the few fields list filters need pulled out.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::OnceLock;

use serde_json::Value;

use super::Resource;

/// Fields pulled out of an object for filtering, e.g. `("customer", "cus_A")`. A name may
/// repeat (a subscription has one `price` per item).
pub(super) type Attrs = Vec<(&'static str, Box<str>)>;

/// Position of an object in its list: newest first, then id descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SortKey {
    pub created: i64,
    pub id: Box<str>,
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .created
            .cmp(&self.created)
            .then_with(|| other.id.cmp(&self.id))
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One stored object.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub json: Box<str>,
    pub attrs: Attrs,
    parsed: OnceLock<Value>,
}

impl Row {
    /// A row for `value`, with the filter fields of `resource` extracted.
    pub fn from_value(resource: Resource, value: &Value) -> Row {
        Row {
            json: value.to_string().into_boxed_str(),
            attrs: extract_attrs(resource, value),
            parsed: OnceLock::from(value.clone()),
        }
    }

    /// A row from JSON text produced by the fake itself, with its filter fields given.
    pub fn from_json(json: String, attrs: Attrs) -> Row {
        Row {
            json: json.into_boxed_str(),
            attrs,
            parsed: OnceLock::new(),
        }
    }

    /// The object, parsed on first use.
    pub fn value(&self) -> &Value {
        // The text was written by serde_json or by a template rendered from its output, so it
        // always parses; Null would only show up if that invariant were broken.
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.json).unwrap_or(Value::Null))
    }

    /// The first value of the filter field `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| &**v)
    }
}

/// The objects of one resource.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    rows: BTreeMap<SortKey, Row>,
    created_by_id: HashMap<Box<str>, i64>,
}

impl Table {
    /// Stores `row` under `id`, replacing any object with the same id.
    pub fn put(&mut self, id: &str, created: i64, row: Row) {
        self.remove(id);
        self.created_by_id.insert(id.into(), created);
        self.rows.insert(
            SortKey {
                created,
                id: id.into(),
            },
            row,
        );
    }

    pub fn remove(&mut self, id: &str) -> Option<Row> {
        let created = self.created_by_id.remove(id)?;
        self.rows.remove(&SortKey {
            created,
            id: id.into(),
        })
    }

    pub fn key_of(&self, id: &str) -> Option<SortKey> {
        let created = *self.created_by_id.get(id)?;
        Some(SortKey {
            created,
            id: id.into(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&Row> {
        self.rows.get(&self.key_of(id)?)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn rows(&self) -> impl DoubleEndedIterator<Item = (&SortKey, &Row)> {
        self.rows.iter()
    }

    /// Rows strictly after `key` in list order (older), or all rows when `key` is `None`.
    pub fn rows_after(
        &self,
        key: Option<&SortKey>,
    ) -> impl DoubleEndedIterator<Item = (&SortKey, &Row)> {
        let start = key.map_or(Bound::Unbounded, Bound::Excluded);
        self.rows.range((start, Bound::Unbounded))
    }

    /// Rows strictly before `key` in list order (newer).
    pub fn rows_before(&self, key: &SortKey) -> impl DoubleEndedIterator<Item = (&SortKey, &Row)> {
        self.rows.range((Bound::Unbounded, Bound::Excluded(key)))
    }
}

/// The filter fields kept for each resource (see [`Row::attrs`]).
fn extract_attrs(resource: Resource, value: &Value) -> Attrs {
    let fields: &[(&'static str, &str)] = match resource {
        Resource::Charges => &[
            ("customer", "/customer"),
            ("payment_intent", "/payment_intent"),
            ("transfer_group", "/transfer_group"),
        ],
        Resource::Refunds => &[("charge", "/charge"), ("payment_intent", "/payment_intent")],
        Resource::Customers => &[("email", "/email")],
        Resource::Subscriptions => &[
            ("status", "/status"),
            ("customer", "/customer"),
            ("collection_method", "/collection_method"),
        ],
        Resource::Invoices => &[
            ("status", "/status"),
            ("customer", "/customer"),
            ("collection_method", "/collection_method"),
            ("subscription", "/parent/subscription_details/subscription"),
            // Invoices rendered in versions before basil carry it at the top level.
            ("subscription", "/subscription"),
        ],
        Resource::BalanceTransactions => &[
            ("type", "/type"),
            ("source", "/source"),
            ("currency", "/currency"),
            ("status", "/status"),
            ("net", "/net"),
        ],
        Resource::Events => &[("type", "/type")],
    };

    let mut attrs: Attrs = fields
        .iter()
        .filter_map(|(name, pointer)| Some((*name, scalar_text(value.pointer(pointer)?)?)))
        .collect();

    if resource == Resource::Subscriptions {
        let items = value.pointer("/items/data").and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if let Some(price) = item.pointer("/price/id").and_then(scalar_text) {
                attrs.push(("price", price));
            }
        }
    }
    attrs
}

fn scalar_text(value: &Value) -> Option<Box<str>> {
    match value {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(b.to_string().into()),
        _ => None,
    }
}
