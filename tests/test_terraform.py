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
MODULE_NAMES = ("lake", "warehouse", "iam", "registry", "runner", "vm")
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
    assert {"lake", "warehouse", "registry", "iam", "runner", "vm"} <= set(calls)
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
    assert values["runner"] == "vm"
    assert "cold_after_days" not in values  # raw files stay Standard by default


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
    assert set(rules) == {"Delete"}
    # the move to a colder class only when asked for (null: Standard until deleted)
    assert len(b["dynamic"]) == 2  # the cold move and the noncurrent-versions delete
    cold = next(
        d["lifecycle_rule"] for d in b["dynamic"] if "cold" in d["lifecycle_rule"]["for_each"]
    )
    assert cold["for_each"] == "${var.cold_after_days == null ? [] : [var.cold_after_days]}"
    content = one(cold["content"])
    assert one(content["condition"])["age"] == "${lifecycle_rule.value}"
    assert one(content["condition"])["matches_prefix"] == ["${var.raw_prefix}"]
    assert one(content["action"])["storage_class"] == "${var.cold_storage_class}"
    assert variables(MODULES / "lake")["cold_after_days"]["default"] is None
    delete = rules["Delete"]
    assert one(delete["condition"])["age"] == "${var.delete_after_days}"
    assert one(delete["condition"])["matches_prefix"] == ["${var.raw_prefix}"]


def test_lake_retention_variables_are_validated() -> None:
    v = variables(MODULES / "lake")
    cls = one(v["cold_storage_class"]["validation"])["condition"]
    assert "NEARLINE" in cls and "COLDLINE" in cls
    m = one(v["delete_after_days"]["validation"])["condition"]
    assert "var.delete_after_days > coalesce(var.cold_after_days, 0)" in m
    assert "var.cold_after_days == null" in one(v["cold_after_days"]["validation"])["condition"]
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
            prefixes = re.findall(r'startsWith\("\$\{local\.objects\}([^"]+)"\)', expr)
            assert prefixes, (name, expr)
            allowed = {"_polit/state/", "_polit/status/", "_polit/lease/", "_polit/manifest/"}
            assert set(prefixes) <= allowed, (name, expr)
        else:
            assert g["role"] != "roles/storage.objectUser", name  # delete only under _polit/
    # overwriting needs storage.objects.delete: the crawl state, watch's heartbeat, and the
    # leases (renewed, taken over and deleted by generation: src/polit/crawl/lease.py)
    state = one(grants["collector_state_overwrite"]["condition"])["expression"]
    assert "_polit/state/" in state and "_polit/status/" in state and "manifest" not in state
    assert "_polit/lease/" in state
    # compacting the load manifest deletes its documents: the manifest prefix only
    manifest = grants["loader_manifest_writer"]
    assert manifest["role"] == "roles/storage.objectUser" and "count" not in manifest
    assert "_polit/manifest/" in one(manifest["condition"])["expression"]


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
    assert call["count"] == "${local.on_cloud_run ? 1 : 0}"
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


# ---- one runner: the free VM or the Cloud Run job ---------------------------------------------
def test_exactly_one_runner_crawls_the_lake() -> None:
    v = variables(ENV)
    assert v["runner"]["default"] == "vm"
    assert (
        'contains(["vm", "cloud_run"], var.runner)' in one(v["runner"]["validation"])["condition"]
    )
    assert "enable_watch" not in v and "enable_watch" not in variables(MODULES / "runner")
    env_locals = one(parse(ENV / "main.tf")["locals"])
    assert env_locals["on_vm"] == '${var.runner == "vm"}'
    assert env_locals["on_cloud_run"] == '${var.runner == "cloud_run"}'
    calls = module_calls(ENV)
    # every crawler is created by one value of `runner` only: never two on one lake
    assert calls["vm"]["count"] == "${local.on_vm ? 1 : 0}"
    assert calls["runner"]["count"] == "${local.on_cloud_run ? 1 : 0}"
    assert calls["load_runner"]["count"] == "${local.on_cloud_run && var.split_identities ? 1 : 0}"
    assert "crawl" not in str(calls["load_runner"]["args"])  # it only loads and transforms
    assert not of_type("google_cloud_run_v2_service")  # no watch service on Cloud Run any more
    split = one(v["split_identities"]["validation"])["condition"]
    assert 'var.split_identities && var.runner == "vm"' in split
    # the scheduler and the job live in the runner module only
    assert [p.parent.name for t, _, _, p in resources() if t == "google_cloud_scheduler_job"] == [
        "runner"
    ]
    assert [p.parent.name for t, _, _, p in resources() if t == "google_compute_instance"] == ["vm"]


CRAWLERS = {"watch", "crawl", "run", "backfill"}  # the polit commands that fetch from the API


def _hcl(expr: Any, local: dict[str, bool], var: dict[str, bool]) -> Any:
    """Evaluate the few expressions envs/dev uses for count and args: `${a && b ? x : y}`."""
    if not (isinstance(expr, str) and expr.startswith("${") and expr.endswith("}")):
        return expr
    body = expr[2:-1]
    for name, value in [*local.items(), *var.items()]:
        scope = "local" if name in local else "var"
        body = re.sub(rf"\b{scope}\.{name}\b", str(value), body)
    body = body.replace("&&", " and ").replace("||", " or ")
    m = re.fullmatch(r"(.+?) \? (.+) : (.+)", body)
    assert m, expr
    cond, yes, no = m.groups()
    return eval(yes if eval(cond, {"__builtins__": {}}) else no, {"__builtins__": {}})


def _crawl_commands(args: list[str]) -> list[str]:
    """The polit commands that crawl in a container's args (`polit` is the entrypoint)."""
    words = " ".join(args).replace("&&", " ").split()
    return [w for w in words if w in CRAWLERS]


@pytest.mark.parametrize("runner", ["vm", "cloud_run"])
@pytest.mark.parametrize("split_identities", [False, True])
def test_no_setting_schedules_two_crawlers_on_one_lake(runner: str, split_identities: bool) -> None:
    """For every value of the variables that choose runners, one crawler at most on the lake:
    the VM's watch or the hourly job, each unable to run twice at once."""
    if split_identities and runner == "vm":
        cond = one(variables(ENV)["split_identities"]["validation"])["condition"]
        assert 'var.split_identities && var.runner == "vm"' in cond  # refused at plan
        return
    local = {"on_vm": runner == "vm", "on_cloud_run": runner == "cloud_run"}
    var = {"split_identities": split_identities}
    crawlers: list[tuple[str, str]] = []
    for name, call in module_calls(ENV).items():
        if "count" in call and _hcl(call["count"], local, var) == 0:
            continue
        if call["source"] == "../../modules/vm":
            text = (MODULES / "vm" / "cloud-init.yaml.tftpl").read_text()
            starts = re.findall(r"ExecStart=/usr/bin/docker run .*?\$\{image\} (.*)", text)
            crawlers += [(name, c) for s in starts for c in _crawl_commands([s])]
        elif call["source"] == "../../modules/runner":
            args = _hcl(call.get("args", '${["run"]}'), local, var)
            crawlers += [(name, c) for c in _crawl_commands(args)]
    assert len(crawlers) == 1, crawlers
    ((_, command),) = crawlers
    if runner == "vm":
        assert command == "watch"
        text = (MODULES / "vm" / "cloud-init.yaml.tftpl").read_text()
        # one container by name: a restart removes a left-over one before starting
        assert "ExecStartPre=-/usr/bin/docker rm --force polit-watch" in text
        assert text.count("--name polit-watch") == 1
    else:
        assert command == ("crawl" if split_identities else "run")
        # one task at a time, ended before the next hour's: never two executions crawling
        job = of_type("google_cloud_run_v2_job", MODULES / "runner")["job"]
        template = one(job["template"])
        assert template["task_count"] == 1 and template["parallelism"] == 1
        timeout = one(variables(MODULES / "runner")["task_timeout_seconds"]["validation"])
        assert "< 3600" in timeout["condition"]
    # and if a scheduler retry or a manual run starts a second one anyway, the lease turns
    # it away (exit 2): tests/test_lease.py. Its objects need the overwrite grant.
    state = of_type("google_storage_bucket_iam_member", MODULES / "iam")
    assert "_polit/lease/" in one(state["collector_state_overwrite"]["condition"])["expression"]


def test_vm_is_the_free_e2_micro_with_ipv6_out_and_nothing_in() -> None:
    v = variables(MODULES / "vm")
    assert v["machine_type"]["default"] == "e2-micro"
    regions = one(v["region"]["validation"])["condition"]
    assert all(r in regions for r in ("us-central1", "us-east1", "us-west1"))
    assert v["disk_gb"]["default"] == 10 and "<= 30" in one(v["disk_gb"]["validation"])["condition"]
    assert v["external_ipv4"]["default"] is False
    assert v["boot_image"]["default"] == "cos-cloud/cos-stable"

    vm = of_type("google_compute_instance", MODULES / "vm")["vm"]
    assert vm["can_ip_forward"] is False
    assert one(one(vm["boot_disk"])["initialize_params"])["type"] == "pd-standard"
    assert one(vm["scheduling"])["preemptible"] is False  # the free tier is a standard VM
    shielded = one(vm["shielded_instance_config"])
    assert shielded["enable_secure_boot"] is True and shielded["enable_vtpm"] is True
    nic = one(vm["network_interface"])
    assert nic["stack_type"] == "IPV4_IPV6"
    assert one(nic["ipv6_access_config"])["network_tier"] == "PREMIUM"
    assert "access_config" not in nic  # no IPv4 address unless asked for:
    ipv4 = one(nic["dynamic"])["access_config"]
    assert ipv4["for_each"] == "${var.external_ipv4 ? [1] : []}"
    sa = one(vm["service_account"])
    assert sa["email"] == "${var.service_account_email}"  # never the default account
    assert vm["metadata"]["block-project-ssh-keys"] == "true"
    assert "serial-port-enable" not in vm["metadata"]

    subnet = of_type("google_compute_subnetwork", MODULES / "vm")["subnet"]
    assert subnet["stack_type"] == "IPV4_IPV6" and subnet["ipv6_access_type"] == "EXTERNAL"
    assert subnet["private_ip_google_access"] is True  # Google's APIs over IPv4, no NAT
    rules = of_type("google_compute_firewall", MODULES / "vm")
    assert list(rules) == ["deny_ingress"]
    rule = rules["deny_ingress"]
    assert rule["direction"] == "INGRESS" and "allow" not in rule
    assert one(rule["deny"])["protocol"] == "all"
    assert rule["for_each"] == {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}  # every address, both families
    assert rule["source_ranges"] == ["${each.value}"]
    assert not of_type("google_compute_router_nat")  # Cloud NAT costs more than IPv6 (free)


def render_template(path: Path, values: dict[str, Any]) -> str:
    """Terraform's templatefile for what cloud-init.yaml.tftpl uses: ${name} and one
    `%{ for key, value in name ~}` loop with `%{ endfor ~}`."""
    text = path.read_text()

    def loop(m: re.Match[str]) -> str:
        key, value, name, body = m.groups()
        return "".join(
            body.replace("${" + key + "}", k).replace("${" + value + "}", str(v))
            for k, v in values[name].items()
        )

    text = re.sub(
        r"%\{ for (\w+), (\w+) in (\w+) ~\}\n(.*?)%\{ endfor ~\}\n", loop, text, flags=re.S
    )
    assert "%{" not in text
    return re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), text)


def test_vm_runs_watch_always_and_load_and_transform_on_timers() -> None:
    yaml = pytest.importorskip("yaml")
    main = parse(MODULES / "vm" / "main.tf")
    args = one(main["locals"])["cloud_init"]
    assert args.startswith('${templatefile("${path.module}/cloud-init.yaml.tftpl"')
    v = variables(MODULES / "vm")
    image = "us-central1-docker.pkg.dev/p/polit/polit:abc"
    values = {
        "image": image,
        "registry": "us-central1-docker.pkg.dev",
        "env": {"POLIT_LAKE": "gs://b/lake", "POLIT_WAREHOUSE": "bigquery://p/polit"},
        "watch_interval": v["watch_interval"]["default"],
        "flush_minutes": v["flush_minutes"]["default"],
        "heartbeat_seconds": v["heartbeat_seconds"]["default"],
        "load_calendar": v["load_calendar"]["default"],
        "transform_calendar": v["transform_calendar"]["default"],
    }
    passed = set(re.findall(r"(\w+) = ", args.split("{", 2)[2]))
    assert passed == set(values)  # the template gets exactly these
    text = render_template(MODULES / "vm" / "cloud-init.yaml.tftpl", values)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    assert files["/etc/polit/env"].split() == [
        "POLIT_LAKE=gs://b/lake",
        "POLIT_WAREHOUSE=bigquery://p/polit",
    ]

    def unit(name: str) -> dict[str, str]:
        lines = files[f"/etc/systemd/system/{name}"].splitlines()
        return {
            k: v
            for k, _, v in (
                ln.partition("=") for ln in lines if "=" in ln and not ln.startswith("#")
            )
        }

    watch = unit("polit-watch.service")
    assert watch["ExecStart"].endswith(
        f"{image} watch --interval 60 --flush-minutes 10 --heartbeat-seconds 300"
    )
    assert "--network host" in watch["ExecStart"]  # the host's IPv6 address reaches the API
    assert watch["Restart"] == "always" and watch["ExecStop"].startswith("/usr/bin/docker stop")
    assert unit("polit-load.service")["ExecStart"].endswith(f"{image} load")
    assert unit("polit-transform.service")["ExecStart"].endswith(f"{image} transform")
    assert unit("polit-load.timer")["OnCalendar"] == "*-*-* *:35:00 UTC"  # the seed's :35
    # after the load, every second hour: what polit cost's default `vm` design prices
    assert unit("polit-transform.timer")["OnCalendar"] == "*-*-* 00/2:45:00 UTC"
    from polit.cost import Assumptions

    a = Assumptions()
    every = int(re.fullmatch(r"\*-\*-\* 00/(\d+):45:00 UTC", v["transform_calendar"]["default"])[1])
    assert a.design == "vm" and a.transform_every_hours == every
    assert a.heartbeat_seconds == v["heartbeat_seconds"]["default"]
    assert a.watch_interval == v["watch_interval"]["default"]
    assert a.flush_minutes == v["flush_minutes"]["default"]
    for name in ("polit-watch.service", "polit-load.service", "polit-transform.service"):
        start = unit(name)["ExecStart"]
        assert "--env-file /etc/polit/env" in start and "crawl" not in start, name
    assert "polit-watch.service polit-load.timer polit-transform.timer" in doc["runcmd"][-1]
    assert not re.search(r"(?i)(password|secret|token|key)\s*=", text)  # ADC, no secrets


def test_registry_is_a_docker_repository_with_cleanup() -> None:
    repos = of_type("google_artifact_registry_repository")
    assert list(repos) == ["images"]
    r = repos["images"]
    assert r["format"] == "DOCKER"
    assert one(r["docker_config"])["immutable_tags"] is True
    assert {p["action"] for p in r["cleanup_policies"]} == {"KEEP", "DELETE"}
    v = variables(MODULES / "registry")
    assert v["keep_versions"]["default"] == 2  # ~1 GiB: the free 0.5 GiB, then $0.10/GiB
    # the VM's account may pull the image, from this repository only
    readers = of_type("google_artifact_registry_repository_iam_member")
    assert {g["role"] for g in readers.values()} == {"roles/artifactregistry.reader"}
    assert readers["readers"]["repository"] == "${google_artifact_registry_repository.images.name}"
    call = module_calls(ENV)["registry"]
    assert call["reader_members"] == (
        '${local.on_vm ? ["serviceAccount:${module.iam.collector_email}"] : []}'
    )
