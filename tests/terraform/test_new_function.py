"""Adding an operation = adding a folder: a new manifest shows up in the plan with no Terraform edit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scripts import tf
from scripts.build import build
from tests.terraform.harness import REGION, ROOT, TF_ROOT, moto_url

pytestmark = pytest.mark.terraform


def test_a_new_function_folder_is_planned_with_route_role_and_permission(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "functions", tmp_path / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "shared").symlink_to(ROOT / "shared", target_is_directory=True)
    (tmp_path / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")  # the release version Terraform reads
    shutil.copytree(
        TF_ROOT, tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform", "zz_*", "*.tfstate*")
    )
    ping = tmp_path / "functions" / "ping_items"
    ping.mkdir()
    (ping / "handler.py").write_text("def handler(event, context):\n    return {'statusCode': 204}\n")
    (ping / "function.json").write_text(
        json.dumps(
            {
                "description": "Probe",
                "handler": "handler.handler",
                "runtime": "python3.12",
                "timeout": 3,
                "memory_size": 128,
                "route": {"method": "GET", "path": "/items/{id}/ping"},
                "environment": ["TABLE_NAME"],
                "permissions": [{"actions": ["dynamodb:GetItem"], "resource": "table"}],
            }
        )
    )
    artifacts = build("host", False, out=tmp_path / "build", functions_dir=tmp_path / "functions")
    runner = tf.Terraform(
        data_dir=tmp_path / "data",
        state_dir=tmp_path / "state",
        root=tmp_path / "terraform",
    )
    with tf.endpoint_override(moto_url(), REGION, root=runner.root):
        runner.init()
        runner.select_workspace("local")
        proc = runner.plan("-refresh=false", "-no-color", *tf.var_args(artifacts))
    out = proc.stdout
    for address in (
        'module.functions.aws_lambda_function.this["ping_items"]',
        'module.functions.aws_iam_role_policy.this["ping_items"]',
        'module.functions.aws_lambda_alias.live["ping_items"]',
        'module.api.aws_api_gateway_resource.level3["/items/{id}/ping"]',
        'module.api.aws_api_gateway_method.this["ping_items"]',
        'module.api.aws_lambda_permission.api["ping_items"]',
        'module.alarms.aws_cloudwatch_metric_alarm.this["lambda-errors-items-local-ping_items"]',
    ):
        assert f"{address} will be created" in out, address
