"""Providers cannot drift: each root module admits only the tested AWS provider line, and its committed
lock file carries the checksums of every platform's package, so `terraform init` verifies the same
provider on Linux, on macOS, from the registry and from an offline mirror (docs/deploying.md#providers)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scripts import tf
from tests.terraform.harness import TF_ROOT

ROOTS = {"root": TF_ROOT, "bootstrap": TF_ROOT / "bootstrap"}
AWS = "registry.terraform.io/hashicorp/aws"


def _constraint(root: Path) -> str:
    text = (root / "versions.tf").read_text()
    match = re.search(r'aws\s*=\s*\{[^}]*?version\s*=\s*"([^"]+)"', text, re.DOTALL)
    assert match, f"{root}/versions.tf declares no aws provider version"
    return match.group(1)


def _locked(root: Path) -> tuple[str, list[str]]:
    """The locked AWS provider version and its recorded hashes."""
    text = (root / ".terraform.lock.hcl").read_text()
    block = re.search(rf'provider "{re.escape(AWS)}" \{{(.*?)\n\}}', text, re.DOTALL)
    assert block, f"{root}/.terraform.lock.hcl has no entry for {AWS}"
    version = re.search(r'version\s*=\s*"([^"]+)"', block.group(1))
    assert version
    return version.group(1), re.findall(r'"((?:h1|zh):[^"]+)"', block.group(1))


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_constraint_admits_only_the_locked_minor_line(name: str) -> None:
    root = ROOTS[name]
    version, _ = _locked(root)
    major, minor, _patch = version.split(".")
    # `~> X.Y.0` admits X.Y.* only: a fresh `terraform init -upgrade` cannot take an untested line.
    assert _constraint(root) == f"~> {major}.{minor}.0"


def test_both_roots_lock_the_same_provider() -> None:
    assert _locked(ROOTS["root"]) == _locked(ROOTS["bootstrap"])


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_lock_carries_checksums_for_every_platform(name: str) -> None:
    _, hashes = _locked(ROOTS[name])
    h1 = [h for h in hashes if h.startswith("h1:")]
    zh = [h for h in hashes if h.startswith("zh:")]
    # An `init` from a mirror or plugin cache can verify only h1: (one per platform's unpacked
    # package); a lock written that way holds one platform and fails on every other. zh: are the
    # registry's signed zip checksums, one per released platform.
    assert len(h1) >= 4, f"{name}: h1 checksums for linux and darwin, amd64 and arm64 at least: {h1}"
    assert len(zh) >= 4, f"{name}: the registry's zip checksums are missing: {zh}"


@pytest.mark.terraform
@pytest.mark.parametrize("name", sorted(ROOTS))
def test_offline_init_verifies_this_platforms_package_against_the_lock(name: str, tmp_path: Path) -> None:
    """`init -lockfile=readonly` fails when the package this machine installs (from TF_PLUGIN_DIR or
    the registry) matches none of the committed checksums, or when the lock would need a change."""
    work = tmp_path / name
    work.mkdir()
    for file in ("versions.tf", ".terraform.lock.hcl"):
        shutil.copy(ROOTS[name] / file, work / file)
    before = (work / ".terraform.lock.hcl").read_text()
    runner = tf.Terraform(data_dir=tmp_path / "data", state_dir=tmp_path, root=work)
    args = ["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"]
    if tf.plugin_dir():
        args.append(f"-plugin-dir={tf.plugin_dir()}")
    proc = runner.run(*args, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / ".terraform.lock.hcl").read_text() == before
