"""Insights for people: the dashboard (`polit dashboard`) and the report (`polit report`)
over the insight marts.

- `sources`: where the marts are read from (DuckDB read-only, or BigQuery).
- `marts`: one query per tile, by board and days (`Filters`), returning `Insights`.
- `charts`: Altair charts from those data frames; `tiles`: which charts and tables each
  tile shows. Both fronts lay out these same tiles.
- `app` (the Streamlit script) and `dashboard` (serves it); `report` (one HTML file).
"""
