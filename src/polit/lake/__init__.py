"""Parquet lake: layout, schemas, atomic writes over fsspec."""
