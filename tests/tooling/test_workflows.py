"""The CI/CD workflows users run (.github/): actionlint passes (the binary from requirements/dev.txt;
skips loudly without it), every third-party action is pinned to a full commit, every job asks for the
least permissions it needs, AWS jobs run one at a time per stage, and only jobs in a stage's GitHub
environment take its deploy role (docs/deploying.md#from-pull-request-to-prod)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
AWS_STAGES = ("dev", "staging", "prod")


def actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


def _load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.name, name, job) for p in WORKFLOWS for name, job in _load(p)["jobs"].items()]


def _setup_step(job: dict[str, Any]) -> dict[str, Any] | None:
    return next((s for s in job["steps"] if s.get("uses") == "./.github/actions/setup"), None)


def test_the_workflows_users_need_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml", "drift.yml", "localstack.yml"}


def test_actionlint_passes() -> None:
    exe = actionlint()
    if exe is None:
        pytest.skip("ACTIONLINT SKIPPED: no actionlint binary (pip install -r requirements/dev.txt)")
    proc = subprocess.run([exe, "-no-color"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_finds_what_github_would_reject(tmp_path: Path) -> None:
    exe = actionlint()
    if exe is None:
        pytest.skip("ACTIONLINT SKIPPED: no actionlint binary (pip install -r requirements/dev.txt)")
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    drift = tmp_path / ".github" / "workflows" / "drift.yml"
    drift.write_text(drift.read_text().replace("matrix.stage", "matrix.stages", 1))
    proc = subprocess.run([exe, "-no-color"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "stages" in proc.stdout, proc.stdout + proc.stderr


def test_every_third_party_action_is_pinned_to_a_commit() -> None:
    uses = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)", re.MULTILINE)
    for path in [*WORKFLOWS, *ACTIONS]:
        for ref in uses.findall(path.read_text()):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (
                f"{path.name}: {ref} is not pinned to a commit"
            )


def test_every_job_declares_its_own_least_permissions() -> None:
    for path in WORKFLOWS:
        assert _load(path).get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    for workflow, name, job in _jobs():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{workflow}:{name} declares no permissions"
        assert set(perms.items()) <= {("contents", "read"), ("id-token", "write")}, (
            f"{workflow}:{name}: {perms}"
        )
        setup = _setup_step(job) or {}
        touches_aws = bool(setup.get("with", {}).get("stage"))
        assert (perms.get("id-token") == "write") == touches_aws, (
            f"{workflow}:{name}: id-token only for AWS jobs"
        )


def test_aws_jobs_take_turns_per_stage_and_deploy_roles_need_the_environment() -> None:
    seen = set()
    for workflow, name, job in _jobs():
        setup = _setup_step(job)
        stage = (setup or {}).get("with", {}).get("stage")
        if not stage:
            continue
        group = job.get("concurrency", {}).get("group", "")
        assert stage in group or "matrix.stage" in group, f"{workflow}:{name}: concurrency group {group!r}"
        role = setup["with"]["role"]
        if role == "deploy":
            assert job.get("environment") == stage, (
                f"{workflow}:{name}: a deploy role only inside environment {stage}"
            )
            assert job["concurrency"]["cancel-in-progress"] is False, "never cancel an apply half way"
            seen.add(stage)
    assert seen == set(AWS_STAGES), f"stages applied by the workflows: {seen}"


def test_prod_waits_for_staging_and_applies_only_the_reviewed_changes() -> None:
    jobs = _load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod-plan"]["needs"] == "staging"
    assert jobs["prod"]["needs"] == "prod-plan" and jobs["dev"]["needs"] == "test"
    steps = "\n".join(str(s.get("run", "")) for s in jobs["prod"]["steps"])
    assert "prod.tfplan.sha256" in steps and "REVIEWED" in steps


def test_drift_check_fails_on_changes() -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "drift.yml")
    assert "schedule" in workflow[True]  # YAML 1.1 reads the key `on` as True
    run = "\n".join(str(s.get("run", "")) for s in workflow["jobs"]["drift"]["steps"])
    assert "--detailed-exitcode" in run and "--no-lock" in run
