"""terraform/bootstrap against a moto server, run as an assumed administrator role (the bootstrap
refuses anyone else): `plan` in `make test`; `make test-bootstrap` (BOOTSTRAP_APPLY=1, about two
minutes: the provider waits on S3 lifecycle and KMS) applies it, then keeps a stage's state in the
bucket it made through the S3 backend with use_lockfile, encrypted with its key, and shows that a
held lock stops another run. moto does not evaluate IAM or bucket policies: what those allow is
checked by the mock tests (terraform/bootstrap/tests) and argued in docs/security.md#ci-roles."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from scripts import tf
from tests.terraform.harness import REGION, boto3_client, moto_url, session_dir

pytestmark = pytest.mark.terraform

ADMIN_ROLE = "arn:aws:iam::123456789012:role/bootstrap-admin"
STATE_KEY = "stages/dev/items/terraform.tfstate"


@functools.cache
def _admin_credentials() -> dict[str, str]:
    iam = boto3_client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(
            RoleName="bootstrap-admin", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )
    creds = boto3_client("sts").assume_role(RoleArn=ADMIN_ROLE, RoleSessionName="bootstrap")["Credentials"]
    return {
        "access_key": creds["AccessKeyId"],
        "secret_key": creds["SecretAccessKey"],
        "token": creds["SessionToken"],
    }


def _provider_override() -> dict[str, Any]:
    doc = tf.override_document(moto_url(), REGION)
    provider = doc["provider"]["aws"]
    provider.pop("region")  # the bootstrap's own var.region
    provider.update(_admin_credentials())
    provider["skip_requesting_account_id"] = False
    return doc


@functools.cache
def _bootstrap() -> tf.Terraform:
    root = tf.private_root(session_dir() / "bootstrap")
    directory = root / "bootstrap"
    (directory / "zz_moto_override.tf.json").write_text(json.dumps(_provider_override()))
    data = session_dir() / "bootstrap-data"
    runner = tf.Terraform(data_dir=data, state_dir=data, root=directory)
    args = ["init", "-input=false", "-no-color", "-lockfile=readonly"]
    if tf.plugin_dir():
        args.append(f"-plugin-dir={tf.plugin_dir()}")
    runner.run(*args)
    return runner


VARS = [
    f"-var=region={REGION}",
    "-var=github_repository=acme/items",
    f'-var=admin_principal_arns=["{ADMIN_ROLE}"]',
]


def test_bootstrap_plans_against_moto() -> None:
    proc = _bootstrap().plan("-no-color", *VARS, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    for resource in (
        "aws_kms_key.state",
        "aws_s3_bucket_policy.state",
        "aws_iam_openid_connect_provider.github[0]",
        'aws_iam_role.deploy["prod"]',
        'aws_iam_role.plan["dev"]',
        'aws_iam_policy.boundary["staging"]',
    ):
        assert f"# {resource} will be created" in proc.stdout, resource


@pytest.mark.skipif(
    os.environ.get("BOOTSTRAP_APPLY") != "1",
    reason="BOOTSTRAP APPLY SKIPPED: about two minutes against moto; run `make test-bootstrap`",
)
def test_bootstrap_applies_and_a_stage_keeps_locked_encrypted_state_in_its_bucket(tmp_path: Path) -> None:
    runner = _bootstrap()
    runner.apply("-no-color", *VARS)
    settings = runner.output()

    # The stages' root module, with the S3 backend configured as scripts/_tf_aws.sh configures it.
    stage_root = runner.root.parent
    (stage_root / "zz_backend_override.tf.json").write_text('{"terraform": {"backend": {"s3": {}}}}')
    creds = _admin_credentials()
    state = settings["deploy_settings"]["state"]
    env = {"AWS_ACCESS_KEY_ID": creds["access_key"], "AWS_SECRET_ACCESS_KEY": creds["secret_key"]}
    env["AWS_SESSION_TOKEN"] = creds["token"]
    stage = tf.Terraform(data_dir=tmp_path / "data", state_dir=tmp_path, root=stage_root, env=env)
    backend = {
        "bucket": state["bucket"],
        "region": state["region"],
        "key": state["key"],
        "workspace_key_prefix": state["workspace_key_prefix"],
        "kms_key_id": state["kms_key_id"],
        "encrypt": "true",
        "use_lockfile": "true",
        # moto, not AWS: the endpoint and what it cannot answer.
        "use_path_style": "true",
        "skip_credentials_validation": "true",
        "skip_requesting_account_id": "true",
    }
    args = ["init", "-input=false", "-no-color", "-reconfigure", "-lockfile=readonly"]
    args += [f"-backend-config={k}={v}" for k, v in backend.items()]
    args.append(f'-backend-config=endpoints={{s3="{moto_url()}",sts="{moto_url()}"}}')
    if tf.plugin_dir():
        args.append(f"-plugin-dir={tf.plugin_dir()}")
    stage.run(*args)
    stage.run("workspace", "new", "-no-color", "dev")

    s3 = boto3_client("s3")
    head = s3.head_object(Bucket=state["bucket"], Key=STATE_KEY)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == state["kms_key_id"]

    # Another run holds the lock (use_lockfile: <key>.tflock, put with If-None-Match): ours waits, fails.
    lock = {
        "ID": "0e5f2c1a-0000-4000-8000-000000000000",
        "Operation": "OperationTypeApply",
        "Who": "ci@elsewhere",
    }
    s3.put_object(Bucket=state["bucket"], Key=f"{STATE_KEY}.tflock", Body=json.dumps(lock).encode())
    held = stage.run(
        "state", "rm", "-lock-timeout=2s", "-no-color", "module.nothing.aws_s3_bucket.x", check=False
    )
    assert held.returncode != 0 and "Error acquiring the state lock" in held.stdout + held.stderr
    s3.delete_object(Bucket=state["bucket"], Key=f"{STATE_KEY}.tflock")
    free = stage.run(
        "state", "rm", "-lock-timeout=2s", "-no-color", "module.nothing.aws_s3_bucket.x", check=False
    )
    assert "Error acquiring the state lock" not in free.stdout + free.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=state["bucket"], Prefix=f"{STATE_KEY}.tflock")
