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


def test_dockerfile_holds_mage_in_its_own_venv_pointing_at_polit():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"uv venv .* /opt/mage-venv", text)
    assert "-r /tmp/mage-requirements.txt" in text
    assert "COPY --from=mage /opt/mage-venv /opt/mage-venv" in text
    assert re.search(r"^COPY --chown=polit:polit mage /app/mage$", text, re.M)
    assert re.search(r"POLIT_BIN=/opt/polit/bin/polit\b", text)


def test_compose_runs_watch_dashboard_and_the_mage_ui_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"watch", "dashboard", "mage"}
    assert {s["image"] for s in services.values()} == {"polit:local"}
    assert all(s["volumes"] == ["polit-data:/data"] for s in services.values())
    assert services["watch"]["command"][0] == "watch"
    assert services["dashboard"]["command"] == [
        "dashboard", "--host", "0.0.0.0", "--port", "8501"]  # fmt: skip
    assert services["dashboard"]["ports"] == ["127.0.0.1:8501:8501"]
    mage = services["mage"]
    assert mage["entrypoint"] == ["/opt/mage-venv/bin/mage"]
    assert mage["command"] == ["start", "/app/mage"]
    assert mage["ports"] == ["127.0.0.1:6789:6789"]
    assert mage["profiles"] == ["mage"]  # an alternative to watch: both crawl
    for name in ("dashboard", "mage"):  # the image's own check is watch's heartbeat
        assert services[name]["healthcheck"]["test"][0] == "CMD", name


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
