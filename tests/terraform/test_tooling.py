"""The runner's override handling, the deploy scripts' guards, and the LocalStack compose file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scripts import tf
from tests.terraform.harness import ROOT

SCRIPTS = ["deploy.sh", "destroy.sh", "bootstrap_state.sh", "_tf_aws.sh"]


def test_override_points_every_service_at_the_endpoint() -> None:
    doc = tf.override_document("http://127.0.0.1:1234", "eu-west-1")["provider"]["aws"]
    assert doc["region"] == "eu-west-1"
    assert doc["skip_credentials_validation"] and doc["skip_requesting_account_id"]
    assert doc["s3_use_path_style"] and doc["max_retries"] <= 3
    (endpoints,) = doc["endpoints"]
    for service in ("apigateway", "dynamodb", "lambda", "firehose", "s3", "sqs", "iam", "kms", "sts", "ssm"):
        assert endpoints[service] == "http://127.0.0.1:1234"


def test_override_exists_only_inside_the_context(tmp_path: Path) -> None:
    root = tf.private_root(tmp_path)
    assert (tmp_path / "functions").resolve() == (ROOT / "functions").resolve()
    assert (root / "stages" / "local.json").exists()
    override = root / tf.OVERRIDE_FILE.name
    with tf.endpoint_override("http://127.0.0.1:9", root=root):
        assert json.loads(override.read_text())["provider"]["aws"]["access_key"] == "test"
    assert not override.exists()
    with pytest.raises(RuntimeError), tf.endpoint_override("http://127.0.0.1:9", root=root):
        raise RuntimeError("terraform failed")
    assert not override.exists(), "removed even when the command fails"


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], check=True)


@pytest.mark.parametrize("stage", ["local", "localstack"])
def test_aws_deploy_refuses_emulator_stages(stage: str) -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "deploy.sh"), stage], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "emulator" in proc.stderr


def test_compose_pins_a_localstack_tag_that_needs_no_token() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    (image,) = [line.split("image:")[1].strip() for line in text.splitlines() if "image:" in line]
    name, tag = image.split(":")
    assert name == "localstack/localstack" and tag.startswith("4."), image
    for needed in (
        "/var/run/docker.sock",
        "healthcheck",
        "_localstack/health",
        "lambda",
        "dynamodb",
        "firehose",
    ):
        assert needed in text, needed
    assert "LOCALSTACK_AUTH_TOKEN" not in text.split("services:")[1]
