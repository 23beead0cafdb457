"""scripts/deploy.sh's modes and scripts/_tf_aws.sh's deploy settings, without AWS: what they refuse
before touching Terraform, and how a stage finds its state and roles (docs/deploying.md#state)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.terraform.harness import ROOT

SETTINGS = {
    "project": "items",
    "state": {
        "bucket": "items-tfstate-123456789012-eu-west-1",
        "region": "eu-west-1",
        "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/k",
        "key": "items/terraform.tfstate",
        "workspace_key_prefix": "stages",
    },
    "stages": {
        "dev": {
            "region": "eu-west-1",
            "plan_role_arn": "arn:aws:iam::123456789012:role/items-plan-dev",
            "deploy_role_arn": "arn:aws:iam::123456789012:role/items-deploy-dev",
            "permissions_boundary_arn": "arn:aws:iam::123456789012:policy/items-dev-boundary",
        }
    },
}


def _deploy(*args: str, settings: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEPLOY_SETTINGS": str(settings or "/nonexistent")}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "deploy.sh"), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )


def _setting(settings: Path, stage: str, path: str) -> subprocess.CompletedProcess[str]:
    script = f'source scripts/_tf_aws.sh; tf_setting "{stage}" "{path}"'
    env = {**os.environ, "DEPLOY_SETTINGS": str(settings)}
    return subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.parametrize("stage", ["local", "localstack"])
def test_plan_only_refuses_emulator_stages(stage: str) -> None:
    proc = _deploy("--plan-only", stage)
    assert proc.returncode == 2 and "emulator" in proc.stderr


@pytest.mark.parametrize(
    "args", [["--no-lock", "dev"], ["--detailed-exitcode", "dev"], ["--frobnicate", "dev"]]
)
def test_plan_flags_outside_plan_only_are_refused(args: list[str]) -> None:
    proc = _deploy(*args)
    assert proc.returncode == 2 and proc.stderr.strip(), proc.stderr


def test_settings_give_each_stage_its_state_and_boundary(tmp_path: Path) -> None:
    settings = tmp_path / "deploy.settings.json"
    settings.write_text(json.dumps(SETTINGS))
    assert _setting(settings, "dev", "state.bucket").stdout.strip() == SETTINGS["state"]["bucket"]
    boundary = _setting(settings, "dev", "stages.STAGE.permissions_boundary_arn").stdout.strip()
    assert boundary == SETTINGS["stages"]["dev"]["permissions_boundary_arn"]


def test_a_stage_the_bootstrap_did_not_cover_is_refused_before_terraform_runs(tmp_path: Path) -> None:
    settings = tmp_path / "deploy.settings.json"
    settings.write_text(json.dumps(SETTINGS))
    proc = _deploy("--plan-only", "prod", settings=settings)
    assert proc.returncode == 2
    assert "no stage prod" in proc.stderr and "Initializing" not in proc.stdout + proc.stderr


def test_plan_summary_shows_the_outcome_and_the_plan(tmp_path: Path) -> None:
    plan = tmp_path / "dev.tfplan"
    (tmp_path / "dev.tfplan.txt").write_text(
        "  # aws_sqs_queue.x will be created\nPlan: 1 to add, 0 to change, 0 to destroy.\n"
    )
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "plan_summary.sh"), "dev", str(plan)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("### terraform plan: dev")
    assert "**Plan: 1 to add, 0 to change, 0 to destroy.**" in out and "aws_sqs_queue.x" in out
    missing = subprocess.run(
        ["bash", str(ROOT / "scripts" / "plan_summary.sh"), "dev", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "No plan was written" in missing
