//! Connector tables: created from their [`TableSpec`], widened when a newer kpisync describes
//! more columns, and written by upsert on the primary key.

use connectors::{Row, TableSpec, Value};
use rusqlite::{Connection, ToSql, types::ToSqlOutput};

/// Creates `spec`'s table when missing and adds the columns it lacks.
pub fn ensure_table(conn: &Connection, spec: &TableSpec) -> rusqlite::Result<()> {
    let mut columns: Vec<String> = spec
        .columns
        .iter()
        .map(|column| format!("{} {}", column.name, column.kind.sql()))
        .collect();
    columns[0].push_str(" NOT NULL PRIMARY KEY");
    columns.push("raw TEXT NOT NULL".into());
    columns.push("version INTEGER NOT NULL".into());
    columns.push("synced_at TEXT NOT NULL".into());
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} ({}) STRICT",
        spec.name,
        columns.join(", ")
    ))?;

    // Columns added to a table description after the table was created.
    let existing: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{}')",
            spec.name
        ))?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for column in spec.columns {
        if !existing.iter().any(|name| name == column.name) {
            conn.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                spec.name,
                column.name,
                column.kind.sql()
            ))?;
        }
    }
    Ok(())
}

/// Inserts or updates one row with `sql`, its table's [`upsert_sql`]; returns 1 when something
/// was written. A row identical to the stored one, or older than it, is left alone.
pub fn upsert_row(
    transaction: &Connection,
    sql: &str,
    row: &Row,
    synced_at: &str,
) -> rusqlite::Result<u64> {
    let mut statement = transaction.prepare_cached(sql)?;
    // Bound one by one: no vector of parameters to allocate for each of many rows.
    for (index, value) in row.values.iter().enumerate() {
        statement.raw_bind_parameter(index + 1, Bind(value))?;
    }
    let next = row.values.len() + 1;
    statement.raw_bind_parameter(next, &row.raw)?;
    statement.raw_bind_parameter(next + 1, row.version)?;
    statement.raw_bind_parameter(next + 2, synced_at)?;
    let changed = statement.raw_execute()?;
    Ok(changed as u64)
}

/// The upsert of `spec`'s rows: insert, or update when the row is newer and differs.
pub fn upsert_sql(spec: &TableSpec) -> String {
    let names: Vec<&str> = spec.columns.iter().map(|column| column.name).collect();
    let all = [names.as_slice(), &["raw", "version", "synced_at"]].concat();
    let placeholders: Vec<String> = (1..=all.len()).map(|index| format!("?{index}")).collect();
    let updates: Vec<String> = all[1..]
        .iter()
        .map(|name| format!("{name} = excluded.{name}"))
        .collect();
    format!(
        "INSERT INTO {table} ({columns}) VALUES ({placeholders})
         ON CONFLICT ({key}) DO UPDATE SET {updates}
         WHERE excluded.version >= {table}.version AND excluded.raw IS NOT {table}.raw",
        table = spec.name,
        columns = all.join(", "),
        placeholders = placeholders.join(", "),
        key = spec.key(),
        updates = updates.join(", "),
    )
}

/// Lets a connector [`Value`] bind as an SQL parameter.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Integer(number) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*number)),
            Value::Real(number) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*number)),
            Value::Text(text) => {
                ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(text.as_bytes()))
            }
        })
    }
}
