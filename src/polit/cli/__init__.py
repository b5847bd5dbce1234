"""The `polit` command line: each command is a few lines over the library.

One module per command group (crawl, warehouse, data, imports, insights, lake, replay,
serve, cost, demo), each with its own Typer merged here; they share `polit.cli.base` and
never import each other or this module, so none of them imports in a cycle.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
from rich.logging import RichHandler
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

from polit import __version__
from polit.cli import cost, crawl, data, demo, imports, insights, lake, replay, serve, warehouse
from polit.cli.base import VERBOSITY, err, out, verbosity
from polit.errors import FixableError, describe


class _Commands(TyperGroup):
    """Every command: a FixableError from the library is one red line and its exit code;
    any other error is one red line and exit 1, its traceback only with -vv."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FixableError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:
            if verbosity() >= 2:
                raise
            line = f"{describe(exc)} (-vv shows the traceback)"
            err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None


class _NoTraceback(logging.Filter):
    """Log records keep their message but lose their traceback unless -vv."""

    def filter(self, record: logging.LogRecord) -> bool:
        if verbosity() < 2:
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


app = typer.Typer(
    cls=_Commands,
    help="Collect 4chan boards into a Parquet lake, load a warehouse, and report on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (crawl, demo, cost, warehouse, data, imports, insights, serve):
    app.add_typer(module.app)
app.add_typer(lake.app, name="lake")
app.add_typer(replay.app, name="replay")
app.add_typer(imports.import_app, name="import")


def _print_version(value: bool) -> None:
    """`polit --version`: eager, so that it needs no command."""
    if value:
        out.print(f"polit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logs.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    VERBOSITY["level"] = -1 if quiet else min(verbose, 2)
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    if verbose == 0 and not quiet:
        level = logging.WARNING
    handler = RichHandler(console=err, show_path=False, markup=False)
    handler.addFilter(_NoTraceback())
    logging.basicConfig(level=level, format="%(name)s: %(message)s", handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # gcsfs logs each failed request (with a traceback) before raising it: the one-line
    # error says it; -v shows gcsfs's own lines
    logging.getLogger("gcsfs").setLevel(logging.CRITICAL if verbose == 0 else level)


def run() -> None:  # pragma: no cover
    sys.exit(app())
