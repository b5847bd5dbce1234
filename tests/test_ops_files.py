"""The Dockerfile, the GitHub workflows and the locks say what the project promises (the
linters in `make lint` check the rest; no Docker engine runs here, so nothing is built)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.helpers.paths import ROOT

LOCK = ROOT / "requirements.lock"
MAGE_LOCK = ROOT / "mage" / "requirements.lock"


def test_dockerfile_is_multistage_pinned_non_root_with_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", text, re.M)
    assert len(froms) >= 2, "multi-stage"
    stages: set[str] = set()
    for image, name in froms:  # a pinned Python image, or a stage built above
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", image) or image in stages, image
        stages.add(name)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*polit\", \"status\", \"--max-age", text, re.M | re.S)
    assert 'ENTRYPOINT ["polit"]' in text


def test_dockerfile_holds_mage_in_its_own_venv_pointing_at_polit():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"uv venv .* /opt/mage-venv", text)
    assert "COPY mage/requirements.lock /tmp/mage-requirements.lock" in text
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


def _lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of each entry of a `uv pip compile` output."""
    entries = {}
    for block in re.split(r"\n(?=\S)", path.read_text()):  # an entry starts at column 0
        if block.startswith("#"):
            continue
        pin = re.match(r"([A-Za-z0-9._-]+)(?:\[[\w,.-]+\])?==(\S+) \\\n", block)
        assert pin, f"{path}: not an exact pin: {block.splitlines()[0]}"
        hashes = re.findall(r"^ +--hash=sha256:([0-9a-f]{64})\b", block, re.M)
        entries[canonicalize_name(pin[1])] = (pin[2], hashes)
    return entries


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for line in requirements:
        req = Requirement(line)
        (spec,) = req.specifier  # exact pins only: the lock is made from them
        assert spec.operator == "==", line
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def test_lock_pins_every_dependency_of_pyproject_with_hashes():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = _lock(LOCK)
    assert all(hashes for _, hashes in lock.values()), [n for n, (_, h) in lock.items() if not h]
    wanted = {
        **_pins(pyproject["project"]["dependencies"]),
        **_pins(pyproject["project"]["optional-dependencies"]["dev"]),
        # uv and the build backend: what installs and builds polit is locked too
        **_pins(pyproject["dependency-groups"]["install"]),
    }
    assert {n: lock.get(n, ("missing",))[0] for n in wanted} == wanted
    backend = _pins(pyproject["build-system"]["requires"])
    assert {n: lock[n][0] for n in backend} == backend
    assert "uv" in wanted and set(backend) <= set(wanted)
    assert lock["dbt-core"][0] in SpecifierSet("~=1.11.0")
    assert len(lock) > 3 * len(wanted), "the lock holds the transitive dependencies too"


def test_mage_lock_pins_exactly_mage_requirements_with_hashes():
    lines = (ROOT / "mage" / "requirements.txt").read_text().splitlines()
    pins = _pins([ln for ln in lines if ln.strip() and not ln.startswith("#")])
    lock = _lock(MAGE_LOCK)
    assert {n: v for n, (v, _) in lock.items()} == pins
    assert all(hashes for _, hashes in lock.values())


def _make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """make in the repository, with the virtualenvs in tmp_path (nothing runs with -n/-q)."""
    cmd = ["make", "--no-print-directory", "-C", str(ROOT),
           f"VENV={tmp_path}/.venv", f"MAGE={tmp_path}/.venv-mage", *args]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def _installs(commands: str) -> list[str]:
    joined = re.sub(r"\s*\\\n\s*", " ", commands)
    return [ln for ln in joined.splitlines() if re.search(r"pip (install|sync)\b", ln)]


def _hash_checked(command: str) -> bool:
    """Every file it downloads is checked: the packages, or (polit alone) its build backend."""
    return "--require-hashes" in command or (
        "--no-deps" in command and "--require-build-hashes" in command
    )


def test_make_setup_and_mage_install_only_from_the_locks(tmp_path: Path):
    dry = _make(tmp_path, "-n", "setup", "mage")
    assert dry.returncode == 0, dry.stderr
    installs = _installs(dry.stdout)
    assert len(installs) == 4, installs  # uv, the lock, polit, mage's lock
    assert [c for c in installs if not _hash_checked(c)] == []
    assert any(re.search(r"pip sync .*--require-hashes requirements\.lock$", c) for c in installs)
    assert any(re.search(r"--require-hashes mage/requirements\.lock$", c) for c in installs)
    assert any(c.endswith(" -e .") and "--build-constraints requirements.lock" in c
               for c in installs)  # fmt: skip

    # pip's one install (uv) reads the lock's own entry for uv, hashes and all
    (awk,) = [ln for ln in dry.stdout.splitlines() if ln.startswith("awk ")]
    (tmp_path / ".venv").mkdir()
    subprocess.run(["sh", "-c", awk], cwd=ROOT, check=True)
    uv = _lock(tmp_path / ".venv" / "uv-requirement.txt")
    assert uv == {"uv": _lock(LOCK)["uv"]}
    assert awk.split("'")[1] in (ROOT / "Dockerfile").read_text(), "the image bootstraps alike"


def test_a_changed_lock_reinstalls(tmp_path: Path):
    venv, mage = tmp_path / ".venv", tmp_path / ".venv-mage"
    (venv / "bin").mkdir(parents=True)
    mage.mkdir()
    newest = max(p.stat().st_mtime for p in (LOCK, MAGE_LOCK, ROOT / "pyproject.toml"))
    for path in (venv / "bin" / "uv", venv / ".installed-stamp", mage / ".installed-stamp"):
        path.touch()
        os.utime(path, (newest + 1, newest + 1))
    assert _make(tmp_path, "-q", "setup", "mage").returncode == 0, "up to date"
    assert _make(tmp_path, "-q", "-W", "requirements.lock", "setup").returncode == 1
    assert _make(tmp_path, "-q", "-W", "mage/requirements.lock", "mage").returncode == 1


def test_the_image_installs_only_from_the_locks():
    text = (ROOT / "Dockerfile").read_text()
    installs = _installs(text)
    assert len(installs) == 4, installs  # uv, polit's dependencies, polit, mage
    assert [c for c in installs if not _hash_checked(c)] == []
    assert "COPY requirements.lock /tmp/requirements.lock" in text
    assert any("-r pyproject.toml -c /tmp/requirements.lock" in c for c in installs)
    assert any("--build-constraints /tmp/requirements.lock" in c for c in installs)
    assert any(c.endswith("--require-hashes /tmp/mage-requirements.lock") for c in installs)
