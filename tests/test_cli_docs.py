"""README's command and configuration tables, in step with `polit --help` and Settings."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest
import typer
from typer.testing import CliRunner

from polit.cli import app
from polit.config import SECRETS, Settings
from tests.helpers.paths import ROOT

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """README's `## title` section, up to the next `## ` heading (its ### subsections kept)."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def cli_commands() -> dict[tuple[str, ...], typer.core.TyperCommand]:
    """Every command `polit --help` and its groups' helps list, by path: ("lake", "stats")."""
    found = {}

    def walk(command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                if not sub.hidden:
                    walk(sub, (*path, name))
        else:
            found[path] = command

    walk(typer.main.get_command(app), ())
    return found


def readme_commands(commands: dict[tuple[str, ...], object]) -> list[tuple[str, ...]]:
    """The command of each `polit …` row of the CLI section's tables: the first word, and
    the second where the first is a group (`lake stats`); a word polit lacks stays as is."""
    groups = {path[0] for path in commands if len(path) > 1}
    paths = []
    for cell in re.findall(r"^\| `polit ([^`]*)`", section("The CLI"), flags=re.M):
        words = cell.split()
        paths.append(tuple(words[:2]) if words[0] in groups else (words[0],))
    return paths


def test_readme_cli_table_lists_exactly_the_commands_of_help():
    commands = cli_commands()
    documented = readme_commands(commands)
    assert len(commands) > 20  # the walk found the command tree
    missing = sorted(" ".join(p) for p in set(commands) - set(documented))
    unknown = sorted(" ".join(p) for p in set(documented) - set(commands))
    assert not missing, f"commands --help lists but README's CLI tables lack: {missing}"
    assert not unknown, f"README's CLI tables name commands polit does not have: {unknown}"


def test_help_lists_what_the_tree_holds():
    runner = CliRunner()
    for group in ("", "lake", "replay", "import"):
        shown = runner.invoke(app, [*group.split(), "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        names = [p[-1] for p in cli_commands() if " ".join(p[:-1]) == group]
        assert names and all(re.search(rf"\b{re.escape(n)}\b", shown.output) for n in names)


@pytest.mark.parametrize("path", sorted(cli_commands()), ids=" ".join)
def test_every_command_help_has_an_example(path):
    shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert re.search(r"Examples?:? +polit ", shown.output), f"`polit {' '.join(path)} --help`"


def test_readme_configuration_table_lists_every_setting():
    wanted = {f"POLIT_{f.name.upper()}" for f in fields(Settings)} | set(SECRETS)
    rows = re.findall(r"^\|[^|\n]*\| `(POLIT_[A-Z0-9_]+)` \|", section("Configuration"), re.M)
    assert len(rows) == len(set(rows)), "a variable has two rows"
    assert not wanted - set(rows), f"undocumented in README's configuration: {wanted - set(rows)}"
    assert not set(rows) - wanted, f"README documents what Settings lacks: {set(rows) - wanted}"
