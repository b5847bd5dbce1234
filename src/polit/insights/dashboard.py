"""Serve the Streamlit dashboard (`app.py`) in this process, bound to 127.0.0.1 unless told
otherwise, with Streamlit's usage statistics, file watching and developer menus off."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

APP = Path(__file__).with_name("app.py")


def streamlit_options(host: str, port: int) -> dict[str, Any]:
    """Streamlit's configuration for `polit dashboard`.

    >>> streamlit_options("127.0.0.1", 8501)["browser.gatherUsageStats"]
    False
    """
    return {
        "server.address": host,
        "server.port": port,
        "server.headless": True,  # no browser opened, no e-mail prompt
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "browser.gatherUsageStats": False,
        "browser.serverAddress": host,
        "browser.serverPort": port,
        "global.developmentMode": False,
        "client.toolbarMode": "viewer",
        "client.showErrorDetails": "none",
        "theme.base": "light",
    }


def serve(
    warehouse_url: str,
    host: str = "127.0.0.1",
    port: int = 8501,
    on_ready: Callable[[float], None] = lambda _: None,
) -> None:
    """Run the dashboard until interrupted (Ctrl-C or SIGTERM). The default view is drawn
    first (`views.prewarm`), and `on_ready` gets the seconds that took."""
    from streamlit.web import bootstrap

    from polit.insights import views
    from polit.insights.sources import InsightsError

    with suppress(InsightsError):  # the page explains what is missing
        on_ready(views.prewarm(warehouse_url))
    options = streamlit_options(host, port)
    bootstrap.load_config_options(flag_options=options)
    bootstrap.run(str(APP), False, ["--warehouse", warehouse_url], options)
