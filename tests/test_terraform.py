"""Static checks of terraform/: no Terraform binary here, so every .tf file is parsed with
python-hcl2 and the security and wiring promises are asserted on the parsed blocks.

What `terraform validate` would catch is approximated too: every `var.X` is declared in its
directory, every `module.M.O` names a declared output, and every module call passes only
declared variables and all required ones.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import pytest

hcl2 = pytest.importorskip("hcl2")

ROOT = Path(__file__).resolve().parents[1] / "terraform"
MODULES = ROOT / "modules"
ENV = ROOT / "envs" / "dev"
MODULE_NAMES = ("lake", "warehouse", "iam", "registry", "runner")
OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)

Block = dict[str, Any]


def parse(path: Path) -> dict[str, Any]:
    return copy.deepcopy(_parse(path.resolve()))


@functools.cache
def _parse(path: Path) -> dict[str, Any]:
    with path.open() as f:
        return hcl2.load(f, serialization_options=OPTIONS)


def tf_files(directory: Path = ROOT) -> list[Path]:
    return sorted(directory.rglob("*.tf"))


def variables(directory: Path) -> dict[str, Block]:
    out: dict[str, Block] = {}
    for path in directory.glob("*.tf"):
        for entry in parse(path).get("variable", []):
            out.update(entry)
    return out


def outputs(directory: Path) -> dict[str, Block]:
    out: dict[str, Block] = {}
    for path in directory.glob("*.tf"):
        for entry in parse(path).get("output", []):
            out.update(entry)
    return out


def resources(directory: Path = ROOT) -> list[tuple[str, str, Block, Path]]:
    """(type, name, body, file) of every resource under `directory`."""
    out = []
    for path in tf_files(directory):
        for entry in parse(path).get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    out.append((rtype, name, body, path))
    return out


def of_type(rtype: str, directory: Path = ROOT) -> dict[str, Block]:
    return {name: body for t, name, body, _ in resources(directory) if t == rtype}


def module_calls(directory: Path) -> dict[str, Block]:
    out: dict[str, Block] = {}
    for path in directory.glob("*.tf"):
        for entry in parse(path).get("module", []):
            out.update(entry)
    return out


def one(blocks: Any) -> Block:
    """A nested block parses as a list of one dict."""
    assert isinstance(blocks, list) and len(blocks) == 1, blocks
    return blocks[0]


# ---- parsing and hygiene ------------------------------------------------------------------
def test_layout_and_every_file_parses() -> None:
    for m in MODULE_NAMES:
        for f in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (MODULES / m / f).is_file(), f"modules/{m}/{f} missing"
    for f in ("main.tf", "backend.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (ENV / f).is_file(), f"envs/dev/{f} missing"
    files = tf_files()
    assert len(files) >= 25
    for path in files:
        parse(path)  # raises on a syntax error


def test_every_variable_has_a_description_and_a_type() -> None:
    seen = 0
    for path in tf_files():
        for entry in parse(path).get("variable", []):
            for name, body in entry.items():
                seen += 1
                where = f"{path.relative_to(ROOT)}: variable {name}"
                assert str(body.get("description", "")).strip(), f"{where} has no description"
                assert body.get("type"), f"{where} has no type"
    assert seen >= 50


def test_every_module_has_described_outputs() -> None:
    for directory in [*(MODULES / m for m in MODULE_NAMES), ENV]:
        outs = outputs(directory)
        assert outs, f"{directory} has no outputs"
        for name, body in outs.items():
            assert str(body.get("description", "")).strip(), f"{directory}: output {name}"


def test_terraform_and_google_provider_are_pinned() -> None:
    for directory in [*(MODULES / m for m in MODULE_NAMES), ENV]:
        tf = one(parse(directory / "versions.tf")["terraform"])
        assert tf["required_version"].startswith(">= 1.9"), directory  # cross-variable validation
        google = one(tf["required_providers"])["google"]
        assert google == {"source": "hashicorp/google", "version": "~> 6.0"}, directory


def test_remote_state_is_a_gcs_backend_configured_at_init() -> None:
    tf = one(parse(ENV / "backend.tf")["terraform"])
    backend = one(tf["backend"])
    assert list(backend) == ["gcs"]
    assert "bucket" not in backend["gcs"]  # -backend-config=bucket=… at init
    for path in tf_files():  # and only one backend
        if path != ENV / "backend.tf":
            assert "backend" not in str(parse(path).get("terraform", "")), path


def test_references_resolve() -> None:
    """Poor man's `terraform validate`: var.X, module.M.O, and module arguments."""
    for directory in [*(MODULES / m for m in MODULE_NAMES), ENV]:
        declared = set(variables(directory))
        text = "\n".join(p.read_text() for p in directory.glob("*.tf"))
        used = set(re.findall(r"\bvar\.([a-z0-9_]+)", text))
        assert used <= declared, f"{directory}: undeclared {sorted(used - declared)}"

    calls = module_calls(ENV)
    assert {"lake", "warehouse", "registry", "iam", "runner"} <= set(calls)
    env_text = "\n".join(p.read_text() for p in ENV.glob("*.tf"))
    for name, body in calls.items():
        source = (ENV / body["source"]).resolve()
        assert source.is_dir(), f"module {name}: no {source}"
        declared = variables(source)
        meta = {"source", "count", "for_each", "depends_on", "providers"}
        passed = set(body) - meta
        assert passed <= set(declared), f"module {name}: unknown {sorted(passed - set(declared))}"
        required = {v for v, b in declared.items() if "default" not in b}
        assert required <= passed, f"module {name}: missing {sorted(required - passed)}"
        for out in re.findall(rf"\bmodule\.{name}(?:\[0\])?\.([a-z0-9_]+)", env_text):
            assert out in outputs(source), f"module.{name}.{out} is not an output"


def test_tfvars_example_parses_and_sets_only_declared_variables() -> None:
    values = parse(ENV / "terraform.tfvars.example")
    declared = variables(ENV)
    assert set(values) <= set(declared), sorted(set(values) - set(declared))
    required = {v for v, b in declared.items() if "default" not in b}
    assert required <= set(values), f"example leaves out {sorted(required - set(values))}"
    assert values["schedule"] == "25 * * * *"
    assert values["raw_retention_days"] > values["cold_after_days"]


# ---- the lake bucket ------------------------------------------------------------------------
def test_bucket_is_private_with_cold_and_delete_lifecycle_rules() -> None:
    buckets = of_type("google_storage_bucket")
    assert list(buckets) == ["lake"]
    b = buckets["lake"]
    assert b["uniform_bucket_level_access"] is True
    assert b["public_access_prevention"] == "enforced"
    assert b["force_destroy"] is False
    assert b["labels"] == "${var.labels}"
    assert one(b["versioning"])["enabled"] == "${var.versioning}"

    rules = {one(r["action"])["type"]: r for r in b["lifecycle_rule"]}
    assert set(rules) == {"SetStorageClass", "Delete"}
    cold = rules["SetStorageClass"]
    assert one(cold["condition"])["age"] == "${var.cold_after_days}"
    assert one(cold["condition"])["matches_prefix"] == ["${var.raw_prefix}"]
    assert one(cold["action"])["storage_class"] == "${var.cold_storage_class}"
    delete = rules["Delete"]
    assert one(delete["condition"])["age"] == "${var.delete_after_days}"
    assert one(delete["condition"])["matches_prefix"] == ["${var.raw_prefix}"]


def test_lake_retention_variables_are_validated() -> None:
    v = variables(MODULES / "lake")
    cls = one(v["cold_storage_class"]["validation"])["condition"]
    assert "NEARLINE" in cls and "COLDLINE" in cls
    m = one(v["delete_after_days"]["validation"])["condition"]
    assert "var.delete_after_days > var.cold_after_days" in m
    assert v["delete_after_days"]["default"] > v["cold_after_days"]["default"]
    assert v["raw_prefix"]["default"] == "raw/"
    env = module_calls(ENV)["lake"]
    assert env["raw_prefix"] == "${var.lake_prefix}/raw/"  # raw files only, never _polit/


# ---- the dataset ----------------------------------------------------------------------------
def test_dataset_keeps_its_tables() -> None:
    datasets = of_type("google_bigquery_dataset")
    assert list(datasets) == ["warehouse"]
    d = datasets["warehouse"]
    assert d["location"] == "${var.location}"
    assert "location" in variables(MODULES / "warehouse")
    assert d.get("default_table_expiration_ms") is None
    assert "default_partition_expiration_ms" not in d
    assert d["delete_contents_on_destroy"] is False
    assert "access" not in d  # access only through google_bigquery_dataset_iam_member


# ---- IAM ------------------------------------------------------------------------------------
def test_only_project_level_role_is_the_documented_job_user() -> None:
    project_level = [
        (t, n, b.get("role")) for t, n, b, _ in resources() if t.startswith("google_project_iam")
    ]
    assert project_level == [
        ("google_project_iam_member", "loader_job_user", "roles/bigquery.jobUser")
    ]
    text = (MODULES / "iam" / "main.tf").read_text()
    assert "cannot be granted on the dataset" in text  # the exception is documented


def test_bucket_grants_are_object_creator_and_viewer_or_scoped_to_polit_documents() -> None:
    grants = of_type("google_storage_bucket_iam_member")
    assert not of_type("google_storage_bucket_iam_binding")
    assert not of_type("google_storage_bucket_iam_policy")
    unconditional = {g["role"] for g in grants.values() if "condition" not in g}
    assert unconditional == {"roles/storage.objectCreator", "roles/storage.objectViewer"}
    for name, g in grants.items():
        assert g["bucket"] == "${var.bucket_name}"
        assert g["role"] in {
            "roles/storage.objectCreator",
            "roles/storage.objectViewer",
            "roles/storage.objectUser",  # only with a condition, below
        }, name
        if "condition" in g:
            expr = one(g["condition"])["expression"]
            assert expr.startswith("resource.name.startsWith(")
            assert re.search(r"_polit/(state|manifest)/", expr), (name, expr)
    # overwriting the crawl state needs storage.objects.delete: only on the state prefix
    state = grants["collector_state_overwrite"]
    assert "_polit/state/" in one(state["condition"])["expression"]


def test_dataset_grant_is_data_editor_on_the_dataset_only() -> None:
    grants = of_type("google_bigquery_dataset_iam_member")
    assert {g["role"] for g in grants.values()} == {"roles/bigquery.dataEditor"}
    for g in grants.values():
        assert g["dataset_id"] == "${var.dataset_id}"
    assert not of_type("google_bigquery_dataset_iam_binding")
    assert not of_type("google_bigquery_dataset_iam_policy")


def test_nothing_is_public_and_no_admin_roles() -> None:
    for path in tf_files():
        text = path.read_text()
        assert "allUsers" not in text and "allAuthenticatedUsers" not in text, path
        assert not re.search(r"roles/[a-zA-Z.]*(admin|Admin|owner|editor)\b", text), path
        assert '"roles/editor"' not in text and '"roles/owner"' not in text, path


# ---- the runner ---------------------------------------------------------------------------
def test_cloud_run_job_runs_polit_run_with_the_cloud_settings() -> None:
    jobs = of_type("google_cloud_run_v2_job")
    assert list(jobs) == ["job"]
    task = one(one(jobs["job"]["template"])["template"])
    assert task["service_account"] == "${var.service_account_email}"
    container = one(task["containers"])
    assert container["args"] == "${var.args}"
    env = {e["name"]: e["value"] for e in container["env"] if "name" in e}
    assert env["POLIT_LAKE"] == "${var.lake_url}"
    assert env["POLIT_WAREHOUSE"] == "${var.warehouse_url}"
    assert env["POLIT_MAX_RPS"] == "${tostring(var.max_rps)}"

    v = variables(MODULES / "runner")
    assert v["args"]["default"] == ["run"]
    assert v["max_rps"]["default"] == 1
    assert "gs://" in one(v["lake_url"]["validation"])["condition"]
    assert "bigquery://" in one(v["warehouse_url"]["validation"])["condition"]
    assert "< 3600" in one(v["task_timeout_seconds"]["validation"])["condition"]

    call = module_calls(ENV)["runner"]
    assert '["run"]' in call["args"]  # `polit run` unless identities are split
    assert call["lake_url"] == "${local.lake_url}"
    env_locals = one(parse(ENV / "main.tf")["locals"])
    assert env_locals["lake_url"].startswith("gs://")
    assert env_locals["warehouse_url"] == "${module.warehouse.warehouse_url}"
    assert outputs(MODULES / "warehouse")["warehouse_url"]["value"].startswith("bigquery://")


def test_scheduler_runs_the_job_hourly_at_25_utc_with_an_invoker_token() -> None:
    v = variables(MODULES / "runner")
    assert v["schedule"]["default"] == "25 * * * *"
    assert v["time_zone"]["default"] == "Etc/UTC"
    assert variables(ENV)["schedule"]["default"] == "25 * * * *"
    assert module_calls(ENV)["runner"]["time_zone"] == "Etc/UTC"

    sched = of_type("google_cloud_scheduler_job")["trigger"]
    assert sched["schedule"] == "${var.schedule}"
    assert sched["time_zone"] == "${var.time_zone}"
    target = one(sched["http_target"])
    assert target["http_method"] == "POST"
    assert target["uri"].startswith("https://run.googleapis.com/v2/projects/")
    assert target["uri"].endswith(":run")
    token = one(target["oauth_token"])
    assert token["service_account_email"] == "${var.invoker_service_account_email}"

    invokers = of_type("google_cloud_run_v2_job_iam_member")
    assert {g["role"] for g in invokers.values()} == {"roles/run.invoker"}
    assert invokers["invoker"]["name"] == "${google_cloud_run_v2_job.job.name}"
    assert invokers["invoker"]["member"] == "serviceAccount:${var.invoker_service_account_email}"
    for t, *_ in resources():
        assert not t.startswith("google_cloud_run_v2_service_iam"), t  # no invoker on watch


def test_watch_service_is_optional_internal_and_single_instance() -> None:
    services = of_type("google_cloud_run_v2_service")
    assert list(services) == ["watch"]
    s = services["watch"]
    assert s["count"] == "${var.enable_watch ? 1 : 0}"
    assert variables(MODULES / "runner")["enable_watch"]["default"] is False
    assert s["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    scaling = one(one(s["template"])["scaling"])
    assert scaling == {"min_instance_count": 1, "max_instance_count": 1}
    assert one(one(s["template"])["containers"])["args"] == "${var.watch_args}"


def test_registry_is_a_docker_repository_with_cleanup() -> None:
    repos = of_type("google_artifact_registry_repository")
    assert list(repos) == ["images"]
    r = repos["images"]
    assert r["format"] == "DOCKER"
    assert one(r["docker_config"])["immutable_tags"] is True
    assert {p["action"] for p in r["cleanup_policies"]} == {"KEEP", "DELETE"}
