-- Metrics get data-quality flags (a thresholded or sampled report, an `(other)` row), and a
-- value may be unknown: an upstream that withholds a number must not be read as zero. SQLite
-- cannot relax a NOT NULL constraint in place, so the table is rebuilt with its rows.

CREATE TABLE metrics_new (
    source       TEXT NOT NULL,
    metric       TEXT NOT NULL,
    grain        TEXT NOT NULL CHECK (grain IN ('day', 'week', 'month')),
    period_start TEXT NOT NULL,
    dimension    TEXT NOT NULL DEFAULT '',
    value        REAL,
    unit         TEXT NOT NULL,
    synced_at    TEXT NOT NULL,
    flags        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source, metric, grain, period_start, dimension)
) STRICT, WITHOUT ROWID;

INSERT INTO metrics_new (source, metric, grain, period_start, dimension, value, unit, synced_at)
SELECT source, metric, grain, period_start, dimension, value, unit, synced_at FROM metrics;

DROP TABLE metrics;

ALTER TABLE metrics_new RENAME TO metrics;
