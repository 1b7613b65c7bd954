-- The core tables of the KPI warehouse. Connector tables (stripe_charges, ...) are created from
-- the connectors' own descriptions when the warehouse opens.

CREATE TABLE kpis (
    kpi          TEXT NOT NULL,
    grain        TEXT NOT NULL CHECK (grain IN ('day', 'week', 'month')),
    period_start TEXT NOT NULL,
    dimension    TEXT NOT NULL DEFAULT '',
    value        REAL,
    numerator    REAL,
    denominator  REAL,
    unit         TEXT NOT NULL,
    sources      TEXT NOT NULL,
    computed_at  TEXT NOT NULL,
    PRIMARY KEY (kpi, grain, period_start, dimension)
) STRICT, WITHOUT ROWID;

CREATE TABLE metrics (
    source       TEXT NOT NULL,
    metric       TEXT NOT NULL,
    grain        TEXT NOT NULL CHECK (grain IN ('day', 'week', 'month')),
    period_start TEXT NOT NULL,
    dimension    TEXT NOT NULL DEFAULT '',
    value        REAL NOT NULL,
    unit         TEXT NOT NULL,
    synced_at    TEXT NOT NULL,
    PRIMARY KEY (source, metric, grain, period_start, dimension)
) STRICT, WITHOUT ROWID;

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    connector   TEXT NOT NULL,
    stream      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'interrupted')),
    rows        INTEGER NOT NULL DEFAULT 0,
    requests    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    warnings    TEXT
) STRICT;

CREATE INDEX sync_runs_by_connector ON sync_runs (connector, stream, started_at);

CREATE TABLE sync_state (
    connector  TEXT NOT NULL,
    stream     TEXT NOT NULL,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connector, stream)
) STRICT, WITHOUT ROWID;

CREATE TABLE targets (
    kpi          TEXT NOT NULL,
    grain        TEXT NOT NULL CHECK (grain IN ('week', 'month')),
    period_start TEXT NOT NULL,
    value        REAL NOT NULL,
    PRIMARY KEY (kpi, grain, period_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE notes (
    kpi          TEXT NOT NULL,
    grain        TEXT NOT NULL CHECK (grain IN ('day', 'week', 'month')),
    period_start TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (kpi, grain, period_start)
) STRICT, WITHOUT ROWID;
