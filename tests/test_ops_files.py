"""The Dockerfile and the GitHub workflows say what the project promises (the linters in
`make lint` check the rest; no Docker engine runs here, so nothing is built)."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT


def test_dockerfile_is_multistage_pinned_non_root_with_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(froms) >= 2, "multi-stage"
    assert all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+( AS \w+)?|python:[\d.]+-slim-\w+", f)
               for f in froms), froms  # fmt: skip
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*polit\", \"status\", \"--max-age", text, re.M | re.S)
    assert 'ENTRYPOINT ["polit"]' in text


def _workflow(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def _uses(wf: dict) -> list[str]:
    return [s["uses"] for job in wf["jobs"].values() for s in job["steps"] if "uses" in s]


def test_ci_runs_lint_and_make_test():
    wf = _workflow("ci.yml")
    runs = [s.get("run", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert "make lint" in runs and "make test" in runs


def test_cd_uses_workload_identity_and_pinned_actions():
    wf = _workflow("cd.yml")
    assert wf["permissions"]["id-token"] == "write"
    text = (ROOT / ".github" / "workflows" / "cd.yml").read_text()
    assert "workload_identity_provider" in text and "credentials_json" not in text
    for wf_name in ("ci.yml", "cd.yml"):
        for uses in _uses(_workflow(wf_name)):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", uses), uses
