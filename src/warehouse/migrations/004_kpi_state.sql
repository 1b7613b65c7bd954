-- What the last KPI recompute was made from, so that a sync that stored nothing new can leave
-- the KPIs as they are.

CREATE TABLE kpi_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    settings    TEXT NOT NULL,
    computed_at TEXT NOT NULL
) STRICT;
