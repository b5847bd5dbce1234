"""`polit serve`: the read API (src/polit/serve/)."""

from __future__ import annotations

from typing import Annotated

import typer

from polit.cli.base import WarehouseUrl, out, read_errors, settings

app = typer.Typer()


@app.command()
def serve(
    warehouse: WarehouseUrl = None,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on (a public one needs a proxy in front: see the README)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8700,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            help="Let pages from this origin read the API (repeatable; off by default).",
        ),
    ] = None,
    rate: Annotated[
        float,
        typer.Option(
            help="Requests a second each client address may make on average (0: no limit)."
        ),
    ] = 10.0,
    burst: Annotated[int, typer.Option(help="Requests a client may make at once.")] = 40,
) -> None:
    """Serve the warehouse read-only over HTTP, as the 4chan API (/pol/thread/123.json,
    /pol/threads.json, /pol/catalog.json, /pol/archive.json, /boards.json) and as
    FoolFuuka's (/_/api/chan/thread/, post/, index/, search/), so that clients of either
    read it as they are.

    It never stands in the way of `polit load` or `polit transform`: it lets go of a
    DuckDB file while they write it (requests meanwhile get 503) and serves the new build
    after.

    Example: polit serve --warehouse ./data/warehouse.duckdb --port 8700
    then: curl 'http://127.0.0.1:8700/_/api/chan/search/?boards=pol&text=nashville'
    """
    import uvicorn

    from polit.serve.app import create_app

    s = settings(warehouse=warehouse)
    with read_errors():
        api = create_app(s.warehouse, tuple(cors_origin or ()), rate=rate, burst=burst)
    out.print(f"serving {s.warehouse} on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(
        api, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False
    )
