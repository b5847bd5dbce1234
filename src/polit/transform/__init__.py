"""Run the dbt project (`dbt/`) on the configured warehouse, in-process."""

from polit.transform.runner import DbtError, TransformReport, run_dbt, transform

__all__ = ["DbtError", "TransformReport", "run_dbt", "transform"]
