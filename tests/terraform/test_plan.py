"""`terraform plan` of every stage workspace against a moto server, and the guard on `default`."""

from __future__ import annotations

import pytest

from tests.terraform.harness import STAGES, local_outputs, plans

pytestmark = pytest.mark.terraform


@pytest.mark.parametrize("stage", [s for s in STAGES if s != "local"])
def test_plan_succeeds(stage: str) -> None:
    proc = plans()[stage]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "Plan:" in proc.stdout and " to add" in proc.stdout


def test_prod_plans_autoscaling_provisioned_concurrency_and_object_lock() -> None:
    out = plans()["prod"].stdout
    assert "aws_appautoscaling_target.this" in out
    assert "aws_lambda_provisioned_concurrency_config.live" in out
    assert "aws_s3_bucket_object_lock_configuration.this" in out


def test_localstack_plans_no_layer() -> None:
    out = plans()["localstack"].stdout
    assert "aws_lambda_layer_version" not in out


def test_default_workspace_fails_with_a_clear_message_and_creates_nothing() -> None:
    from tests.terraform.harness import boto3_client, in_stage

    proc = plans()["default"]
    assert proc.returncode != 0
    text = " ".join((proc.stdout + proc.stderr).split())
    assert 'Workspace "default" is not a stage' in text
    assert "Apply complete" not in proc.stdout
    state = in_stage("default").run("state", "list", check=False)
    assert state.stdout.strip() == "", f"default workspace has state:\n{state.stdout}"
    tables = boto3_client("dynamodb").list_tables()["TableNames"]
    assert not [t for t in tables if "-default-" in t]


def test_local_plan_has_no_changes_after_apply() -> None:
    from tests.terraform.harness import artifact_args, in_stage, override

    local_outputs()
    with override():
        proc = in_stage("local").plan("-detailed-exitcode", "-no-color", *artifact_args("local"), check=False)
    assert proc.returncode == 0, "second plan must show no changes:\n" + proc.stdout[-6000:] + proc.stderr
