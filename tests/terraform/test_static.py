"""Static checks: formatting, validation of the root and every module, generated docs, rules across a
stage file's fields, deterministic builds."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from scripts import tf
from scripts.build import write_zip
from tests.terraform.harness import ROOT, STAGES, TF_ROOT, artifacts, session_dir

MODULES = sorted(p.name for p in (TF_ROOT / "modules").iterdir() if (p / "main.tf").exists())


@pytest.mark.terraform
def test_fmt() -> None:
    proc = subprocess.run(
        [tf.terraform_bin(), "fmt", "-check", "-recursive", "-diff"],
        cwd=TF_ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"terraform fmt -recursive terraform would change:\n{proc.stdout}"


@cache
def _validations() -> dict[str, subprocess.CompletedProcess[str]]:
    def validate(name: str) -> subprocess.CompletedProcess[str]:
        directory = TF_ROOT if name == "root" else TF_ROOT / "modules" / name
        runner = tf.Terraform(
            data_dir=session_dir() / f"validate-{name}", state_dir=session_dir(), root=directory
        )
        init = ["init", "-backend=false", "-input=false", "-no-color"]
        if tf.plugin_dir():
            init.append(f"-plugin-dir={tf.plugin_dir()}")
        proc = runner.run(*init, check=False)
        if proc.returncode != 0:
            return proc
        return runner.run("validate", "-no-color", check=False)

    with ThreadPoolExecutor(max_workers=4) as pool:
        names = ["root", *MODULES]
        return dict(zip(names, pool.map(validate, names), strict=True))


@pytest.mark.terraform
@pytest.mark.parametrize("module", ["root", *MODULES])
def test_init_and_validate(module: str) -> None:
    proc = _validations()[module]
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_module_has_the_standard_files() -> None:
    for name in MODULES:
        for required in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (TF_ROOT / "modules" / name / required).exists(), f"modules/{name}/{required}"


def test_every_variable_has_description_and_type() -> None:
    from scripts.tfdocs import modules, parse

    for module in modules():
        for name, attrs in parse(module / "variables.tf", "variable"):
            assert attrs.get("description"), f"{module.name}: variable {name} has no description"
            assert attrs.get("type"), f"{module.name}: variable {name} has no type"
        for name, attrs in parse(module / "outputs.tf", "output"):
            assert attrs.get("description"), f"{module.name}: output {name} has no description"


def test_module_readmes_are_generated_and_current() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/tfdocs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout


def _stage(name: str) -> dict:
    return json.loads((TF_ROOT / "stages" / f"{name}.json").read_text())


# Fields, types, enums and ranges: test_stage_schema.py. Here: rules across fields.
@pytest.mark.parametrize("stage", STAGES)
def test_stage_file_is_consistent(stage: str) -> None:
    settings = _stage(stage)
    for partner, p in settings["partners"].items():
        tier = p["usage_plan"]
        assert tier in settings["usage_plans"], f"{stage}: partner {partner} names unknown plan {tier}"
    if settings["emulated"]:
        assert settings["table"]["autoscaling"] is None, "moto cannot apply autoscaling targets"
        overrides = settings["functions"].get("overrides", {}).values()
        assert all(not o.get("provisioned_concurrency") for o in overrides), (
            "moto lacks provisioned concurrency"
        )
        assert settings["audit"]["compression"] == "UNCOMPRESSED", "moto ignores GZIP"
    else:
        assert settings["audit"]["compression"] == "GZIP"


@pytest.mark.parametrize("stage", ["local", "localstack"])
def test_local_stages_have_the_partners_the_e2e_suite_needs(stage: str) -> None:
    settings = _stage(stage)
    plans = [settings["usage_plans"][p["usage_plan"]] for p in settings["partners"].values()]
    generous = [p for p in plans if p["throttle"]["burst_limit"] >= 100 and p["quota"]["limit"] >= 10000]
    assert len(generous) >= 2, "two partners on a generous plan (isolation tests)"
    assert any(p["throttle"]["burst_limit"] <= 5 for p in plans), (
        "one partner with burst <= 5 (throttle test)"
    )
    assert any(p["quota"]["limit"] <= 10 and p["throttle"]["burst_limit"] > 10 for p in plans), "tiny quota"


@pytest.mark.parametrize("stage", ["local", "localstack"])
def test_local_stages_give_a_partner_two_read_write_keys_and_a_read_only_one(stage: str) -> None:
    """What the end-to-end key tests need: overlap of two keys, and a read-only key, on one partner."""
    partners = _stage(stage)["partners"].values()
    scopes = [sorted(p["keys"].values()) for p in partners]
    assert any(s.count("read-write") >= 2 and "read-only" in s for s in scopes), scopes
    assert all("read-write" in s for s in scopes), "every partner needs a read-write key (its api_key)"


def test_the_schemas_scopes_are_the_layers() -> None:
    from apikit import scopes

    schema = json.loads((TF_ROOT / "stages" / "stage.schema.json").read_text())
    keys = schema["properties"]["partners"]["additionalProperties"]["properties"]["keys"]
    assert sorted(keys["additionalProperties"]["enum"]) == sorted(scopes.METHODS)


def test_prod_locks_the_audit_log_and_protects_the_table() -> None:
    prod = _stage("prod")
    assert prod["audit"]["object_lock"] is not None
    assert prod["table"]["deletion_protection"] and prod["table"]["pitr"]


def test_zips_are_deterministic(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "pkg" / "b.py").write_text("B = 1\n")
    (src / "pkg" / "a.py").write_text("A = 1\n")
    (src / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"x")
    from scripts.build import _entries

    first = write_zip(tmp_path / "one.zip", _entries(src, "python/"))
    (src / "pkg" / "a.py").touch()  # a new mtime must not change the archive
    second = write_zip(tmp_path / "two.zip", _entries(src, "python/"))
    assert first == second
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == ["python/pkg/a.py", "python/pkg/b.py"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_build_is_reproducible_and_complete() -> None:
    out = artifacts(False)
    before = json.loads((out / "manifest.json").read_text())
    from scripts.build import build

    again = json.loads((build("host", False) / "manifest.json").read_text())
    assert before == again, "an unchanged tree must rebuild to identical hashes"
    manifests = sorted(p.parent.name for p in (ROOT / "functions").glob("*/function.json"))
    assert sorted(again["functions"]) == manifests
    with zipfile.ZipFile(out / "layer.zip") as zf:
        names = zf.namelist()
    assert "python/apikit/table.json" in names
    assert any(n.startswith("python/jsonschema/") for n in names)
    # Bytecode of exactly the target's interpreter, compiled without timestamps (so still reproducible).
    tag = again["bytecode"]
    assert tag == sys.implementation.cache_tag
    pycs = [n for n in names if n.endswith(".pyc")]
    assert f"python/apikit/__pycache__/items.{tag}.pyc" in pycs
    assert all(n.endswith(f".{tag}.pyc") and "/__pycache__/" in f"/{n}" for n in pycs)
    with zipfile.ZipFile(out / again["functions"]["get_item"]["path"]) as zf:
        assert f"__pycache__/handler.{tag}.pyc" in zf.namelist()


def test_bundled_build_carries_the_layer_in_every_function() -> None:
    out = artifacts(True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["bundle_layer"] is True
    for name, entry in manifest["functions"].items():
        with zipfile.ZipFile(out / entry["path"]) as zf:
            names = set(zf.namelist())
        assert "apikit/__init__.py" in names, name
        assert "function.json" in names, name
