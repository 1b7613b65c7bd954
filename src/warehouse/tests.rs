//! The warehouse's guarantees: batches are all-or-nothing, upserts never duplicate, older
//! states never overwrite newer ones, and the schema is documented column by column.

use connectors::{Batch, Row, Value};

use super::*;

fn charge(id: &str, status: &str, version: i64) -> Row {
    let table = &connectors::stripe::tables::CHARGES;
    let mut values = vec![Value::Null; table.columns.len()];
    values[0] = Value::Text(id.into());
    values[1] = Value::Text("2026-01-05T10:00:00Z".into());
    values[6] = Value::Text(status.into());
    Row {
        table,
        values,
        raw: format!(r#"{{"id":"{id}","status":"{status}"}}"#),
        version,
    }
}

fn warehouse() -> Warehouse {
    let warehouse = Warehouse::open_in_memory().unwrap();
    warehouse
        .ensure_tables(&connectors::stripe::tables::TABLES)
        .unwrap();
    warehouse
}

fn status_of(warehouse: &Warehouse, id: &str) -> String {
    warehouse
        .conn()
        .query_row(
            "SELECT status FROM stripe_charges WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .unwrap()
}

#[test]
fn a_batch_stores_rows_and_cursor_together_and_upserts_by_id() {
    let mut warehouse = warehouse();
    let batch = Batch {
        rows: vec![charge("ch_1", "pending", 10)],
        cursor: Some(serde_json::json!({"watermark": 1})),
        ..Batch::default()
    };
    assert_eq!(
        warehouse
            .write_batch("stripe", "charges", &batch)
            .unwrap()
            .rows_written,
        1
    );

    let again = Batch {
        rows: vec![charge("ch_1", "succeeded", 20)],
        ..Batch::default()
    };
    warehouse.write_batch("stripe", "charges", &again).unwrap();
    let count: i64 = warehouse
        .conn()
        .query_row("SELECT count(*) FROM stripe_charges", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(status_of(&warehouse, "ch_1"), "succeeded");
    let cursor = warehouse.cursor("stripe", "charges").unwrap();
    assert_eq!(
        cursor,
        Some(serde_json::json!({"watermark": 1})),
        "no cursor leaves it as is"
    );
}

#[test]
fn an_older_state_never_overwrites_a_newer_one() {
    let mut warehouse = warehouse();
    let newer = Batch {
        rows: vec![charge("ch_1", "succeeded", 20)],
        ..Batch::default()
    };
    warehouse.write_batch("stripe", "events", &newer).unwrap();
    let older = Batch {
        rows: vec![charge("ch_1", "pending", 10)],
        ..Batch::default()
    };
    let outcome = warehouse.write_batch("stripe", "events", &older).unwrap();
    assert_eq!(outcome.rows_written, 0);
    assert_eq!(status_of(&warehouse, "ch_1"), "succeeded");
}

#[test]
fn an_identical_row_is_not_rewritten() {
    let mut warehouse = warehouse();
    let batch = Batch {
        rows: vec![charge("ch_1", "pending", 10)],
        ..Batch::default()
    };
    warehouse.write_batch("stripe", "charges", &batch).unwrap();
    let later = Batch {
        rows: vec![charge("ch_1", "pending", 99)],
        ..Batch::default()
    };
    assert_eq!(
        warehouse
            .write_batch("stripe", "charges", &later)
            .unwrap()
            .rows_written,
        0
    );
}

#[test]
fn a_failing_batch_leaves_nothing_behind() {
    let mut warehouse = warehouse();
    let mut broken = charge("ch_2", "pending", 10);
    broken.values.pop();
    let batch = Batch {
        rows: vec![charge("ch_1", "pending", 10), broken],
        cursor: Some(serde_json::json!({"watermark": 5})),
        ..Batch::default()
    };
    assert!(warehouse.write_batch("stripe", "charges", &batch).is_err());
    let count: i64 = warehouse
        .conn()
        .query_row("SELECT count(*) FROM stripe_charges", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 0, "the first row must roll back with the second");
    assert_eq!(warehouse.cursor("stripe", "charges").unwrap(), None);
}

#[test]
fn tables_gain_columns_a_newer_description_adds() {
    let warehouse = Warehouse::open_in_memory().unwrap();
    // The table as an older kpisync created it, before any typed column.
    let old = "CREATE TABLE stripe_refunds (id TEXT NOT NULL PRIMARY KEY, raw TEXT NOT NULL, \
               version INTEGER NOT NULL, synced_at TEXT NOT NULL) STRICT";
    warehouse.conn().execute_batch(old).unwrap();
    warehouse
        .ensure_tables(&[&connectors::stripe::tables::REFUNDS])
        .unwrap();
    let columns: i64 = warehouse
        .conn()
        .query_row(
            "SELECT count(*) FROM pragma_table_info('stripe_refunds')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        columns as usize,
        connectors::stripe::tables::REFUNDS.columns.len() + 3
    );
}

#[test]
fn every_table_view_and_column_is_documented() {
    let docs = include_str!("../../docs/warehouse.md");
    let warehouse = warehouse();
    let tables: Vec<String> = warehouse
        .conn()
        .prepare(
            "SELECT name FROM sqlite_master
              WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite%'",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 12, "{tables:?}");
    for table in tables {
        let heading = format!("### `{table}`");
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("{table} is not documented"));
        let section = &docs[start + heading.len()..];
        let section = &section[..section.find("\n### ").unwrap_or(section.len())];
        let columns: Vec<String> = warehouse
            .conn()
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for column in columns {
            assert!(
                section.contains(&format!("| `{column}` |")),
                "{table}.{column} undocumented"
            );
        }
    }
}
