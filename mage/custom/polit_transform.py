"""Mage block: build and test the dbt models on the warehouse (`polit transform`)."""

if "custom" not in globals():
    from mage_ai.data_preparation.decorators import custom

from mage.utils.polit_cli import run_polit


@custom
def transform(*args, **kwargs) -> str:
    return run_polit("transform")
