import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

import polit
from polit.config import Settings, secret

POLIT_VAR = re.compile(r"POLIT_[A-Z0-9_]+")


def test_env_vars_and_overrides():
    env = {"POLIT_MAX_RPS": "0", "POLIT_LAKE": "gs://b/lake", "POLIT_BOARDS": "pol, /g/"}
    s = Settings.from_env(env)
    assert (s.max_rps, s.lake, s.boards) == (0.0, "gs://b/lake", ("pol", "g"))
    s = Settings.from_env(env, max_rps=2.5, boards=["x"], lake=None)
    assert (s.max_rps, s.boards, s.lake) == (2.5, ("x",), "gs://b/lake")


def test_defaults():
    s = Settings.from_env({})
    assert (s.max_rps, s.lake, s.boards) == (1.0, "./data/lake", ("pol",))
    assert s.user_agent.startswith("polit/")
    assert (s.max_retry_after, s.max_body_bytes) == (120.0, 32 * 1024 * 1024)


def test_response_bounds_from_env():
    s = Settings.from_env({"POLIT_MAX_RETRY_AFTER": "30", "POLIT_MAX_BODY_BYTES": "1000"})
    assert (s.max_retry_after, s.max_body_bytes) == (30.0, 1000)
    for env in ({"POLIT_MAX_BODY_BYTES": "1e6"}, {"POLIT_MAX_BODY_BYTES": "0"},
                {"POLIT_MAX_RETRY_AFTER": "-1"}, {"POLIT_MAX_RETRY_AFTER": "soon"}):  # fmt: skip
        with pytest.raises(ValueError, match=r"(?i)max_body_bytes|max_retry_after"):
            Settings.from_env(env)


@pytest.mark.parametrize(
    "env",
    [{"POLIT_MAX_RPS": "fast"}, {"POLIT_MAX_RPS": "-1"}, {"POLIT_BOARDS": "po l"},
     {"POLIT_TIMEOUT": "0"}],
)  # fmt: skip
def test_bad_values_are_clear_errors(env):
    with pytest.raises(ValueError, match=r"max_rps|MAX_RPS|board|timeout"):
        Settings.from_env(env)


def test_new_fields_from_env_and_defaults():
    s = Settings.from_env({})
    assert (s.bigquery_location, s.dbt_project, s.dbt_threads) == (None, None, 4)
    assert (s.duckdb_memory_limit, s.dashboard_url) == ("4GB", "http://127.0.0.1:8501/")
    env = {"POLIT_BIGQUERY_LOCATION": "EU", "POLIT_DBT_PROJECT": "/p", "POLIT_DBT_THREADS": "8",
           "POLIT_DUCKDB_MEMORY_LIMIT": "1GB", "POLIT_DASHBOARD_URL": "http://h/"}  # fmt: skip
    s = Settings.from_env(env, dashboard_url="http://flag/")
    assert (s.bigquery_location, s.dbt_project, s.dbt_threads) == ("EU", "/p", 8)
    assert (s.duckdb_memory_limit, s.dashboard_url) == ("1GB", "http://flag/")  # flag wins
    for bad in ("0", "many"):
        with pytest.raises(ValueError, match=r"(?i)dbt_threads"):
            Settings.from_env({"POLIT_DBT_THREADS": bad})


def test_boards_are_comma_separated_in_env_and_flags():
    assert Settings.from_env({"POLIT_BOARDS": "pol,g"}).boards == ("pol", "g")
    assert Settings.from_env({}, boards=["pol,g", "r9k"]).boards == ("pol", "g", "r9k")
    with pytest.raises(ValueError, match="invalid board"):
        Settings.from_env({"POLIT_BOARDS": "pol g"})  # a space is no separator


def test_secret_is_read_at_use_and_never_stored():
    assert secret("POLIT_PSEUDONYM_KEY", {"POLIT_PSEUDONYM_KEY": "k"}) == "k"
    assert secret("POLIT_PSEUDONYM_KEY", {"POLIT_PSEUDONYM_KEY": ""}) is None
    assert "pseudonym_key" not in {f.name for f in fields(Settings)}
    with pytest.raises(KeyError, match="not a secret"):
        secret("POLIT_LAKE", {})


def test_only_config_reads_polit_variables():
    src = Path(polit.__file__).parent
    modules = [p for p in sorted(src.rglob("*.py")) if p != src / "config.py"]
    found = [hit for p in modules for hit in polit_reads(p.read_text(), str(p.relative_to(src)))]
    assert not found, "read POLIT_* through polit.config.Settings or secret(): " + "; ".join(found)


@pytest.mark.parametrize(
    "code",
    ['os.environ.get("POLIT_DBT_PROJECT")', 'os.environ["POLIT_X"] = "1"', 'os.getenv("POLIT_X")',
     'typer.Option("--x", envvar="POLIT_X")', 'env.get("POLIT_DBT_THREADS") or 4',
     'K = "POLIT_KEY"\nos.environ.get(K, "")', 'os.environ.pop("POLIT_X", None)'],
)  # fmt: skip
def test_the_scan_finds_each_way_of_reading_a_variable(code):
    assert polit_reads(code, "m.py")


def test_the_scan_lets_secret_and_messages_through():
    code = 'K = "POLIT_KEY"\nsecret(K)\nsecret("POLIT_KEY")\nfail("check --lake (or POLIT_LAKE)")'
    assert polit_reads(code, "m.py") == []


def polit_reads(code: str, name: str) -> list[str]:
    """Where `code` hands a POLIT_* name (a literal, or a module constant holding one) to
    anything but `secret`: an env lookup, an assignment into the environment, envvar=."""
    tree = ast.parse(code)
    consts = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and _is_var(node.value) for t in node.targets if isinstance(t, ast.Name)}  # fmt: skip

    def var(node: ast.AST) -> bool:
        return _is_var(node) or (isinstance(node, ast.Name) and node.id in consts)

    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")  # fmt: skip
            if callee != "secret" and any(
                var(a) for a in [*node.args, *(k.value for k in node.keywords)]
            ):
                hits.append(f"{name}:{node.lineno}")
        elif isinstance(node, ast.Subscript) and var(node.slice):
            hits.append(f"{name}:{node.lineno}")
    return hits


def _is_var(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and bool(POLIT_VAR.fullmatch(str(node.value)))


def test_bigquery_location_reaches_every_client(monkeypatch):
    from polit.search.bigquery import create_search_index
    from polit.transform.profiles import profile
    from polit.warehouse.base import open_warehouse
    from polit.warehouse.read import open_reader

    made: list[dict] = []

    class Client:  # BigQuery itself is the one thing mocked
        def __init__(self, **kw) -> None:
            made.append(kw)

        def query(self, sql):
            return self

        def result(self):
            return []

        def close(self) -> None:
            pass

    monkeypatch.setattr("google.cloud.bigquery.Client", Client)
    monkeypatch.setenv("POLIT_BIGQUERY_LOCATION", "europe-west3")
    open_reader("bigquery://p/d")
    assert open_warehouse("bigquery://p/d").client is not None
    create_search_index("p", "d", Settings.from_env().bigquery_location)
    assert [kw.get("location") for kw in made] == ["europe-west3"] * 3
    out = profile("bigquery://p/d")["polit"]["outputs"]["bigquery"]
    assert out["location"] == "europe-west3"
    monkeypatch.delenv("POLIT_BIGQUERY_LOCATION")
    assert "location" not in profile("bigquery://p/d")["polit"]["outputs"]["bigquery"]
