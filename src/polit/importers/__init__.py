"""Imports of post collections made by others into the lake, through the lake's bulk path
(`polit.lake.ingest.ingest_bodies`): `ndjson` (thread-per-line datasets such as "Raiders of
the Lost Kek") and `seed_parquet` (the original project's flattened Parquet exports)."""
