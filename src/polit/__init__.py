"""polit: collect a 4chan board into a Parquet lake, a warehouse and a dashboard."""

__all__ = ["__version__"]
__version__ = "0.1.0"
