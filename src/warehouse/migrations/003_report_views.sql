-- Views for reports and BI tools: each weekly or monthly KPI row beside the previous period's
-- value, the change, and the period's target, so that a dashboard needs no self-join. They
-- read `kpis` and `targets` only and store nothing.
--
-- `change` is the difference in the KPI's unit (for a ratio, 0.012 is 1.2 percentage points);
-- `change_ratio` is the relative change, NULL when the previous value is 0 or missing. Targets
-- apply to the row without a dimension.

CREATE VIEW kpi_weekly AS
SELECT k.kpi,
       k.period_start,
       k.dimension,
       k.value,
       k.unit,
       p.value AS previous_value,
       k.value - p.value AS change,
       CASE WHEN p.value <> 0 THEN (k.value - p.value) / abs(p.value) END AS change_ratio,
       t.value AS target,
       CASE WHEN t.value <> 0 THEN k.value / t.value END AS share_of_target,
       k.numerator,
       k.denominator
  FROM kpis AS k
  LEFT JOIN kpis AS p
         ON p.kpi = k.kpi AND p.grain = 'week' AND p.dimension = k.dimension
        AND p.period_start = date(k.period_start, '-7 days')
  LEFT JOIN targets AS t
         ON t.kpi = k.kpi AND t.grain = 'week' AND t.period_start = k.period_start
        AND k.dimension = ''
 WHERE k.grain = 'week';

CREATE VIEW kpi_monthly AS
SELECT k.kpi,
       k.period_start,
       k.dimension,
       k.value,
       k.unit,
       p.value AS previous_value,
       k.value - p.value AS change,
       CASE WHEN p.value <> 0 THEN (k.value - p.value) / abs(p.value) END AS change_ratio,
       y.value AS last_year_value,
       t.value AS target,
       CASE WHEN t.value <> 0 THEN k.value / t.value END AS share_of_target,
       k.numerator,
       k.denominator
  FROM kpis AS k
  LEFT JOIN kpis AS p
         ON p.kpi = k.kpi AND p.grain = 'month' AND p.dimension = k.dimension
        AND p.period_start = date(k.period_start, '-1 month')
  LEFT JOIN kpis AS y
         ON y.kpi = k.kpi AND y.grain = 'month' AND y.dimension = k.dimension
        AND y.period_start = date(k.period_start, '-1 year')
  LEFT JOIN targets AS t
         ON t.kpi = k.kpi AND t.grain = 'month' AND t.period_start = k.period_start
        AND k.dimension = ''
 WHERE k.grain = 'month';
