"""Mage block: one crawl cycle per board into the lake (`polit crawl --once`)."""

if "custom" not in globals():
    from mage_ai.data_preparation.decorators import custom

from mage.utils.polit_cli import run_polit


@custom
def crawl(*args, **kwargs) -> str:
    return run_polit("crawl", "--once")
