"""Mage block: copy the lake files not loaded yet into the warehouse (`polit load`)."""

if "custom" not in globals():
    from mage_ai.data_preparation.decorators import custom

from mage.utils.polit_cli import run_polit


@custom
def load(*args, **kwargs) -> str:
    return run_polit("load")
