"""Fixtures for the embedded stack's own tests: one patched moto server for the whole session (every
folder below uses it), the runtime interpreter, a runner, tiny zips deployed with boto3."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from embedded_stack.lambda_runtime import Runner, ensure_runtime
from embedded_stack.moto_server import MotoServer, start_moto
from tests.embedded_stack.support import make_zip

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/embedded-test"
_names = itertools.count()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = start_moto(port=0)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aws(moto_server: MotoServer):
    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_server.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    client("iam").create_role(
        RoleName="embedded-test",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    return client


@pytest.fixture(scope="session")
def lambda_python(tmp_path_factory) -> str:
    """The runtime interpreter, built once under the repo's .local (reused across runs)."""
    python, _ = ensure_runtime()
    return python


@pytest.fixture
def runner(moto_server: MotoServer, lambda_python: str, tmp_path: Path) -> Iterator[Runner]:
    r = Runner(moto_server.endpoint_url, REGION, state_dir=tmp_path, python=lambda_python, console=None)
    yield r
    r.close()


@pytest.fixture
def deploy(aws):
    """Create a function (plus optional layer) from source text; returns its name."""
    lam = aws("lambda")

    def _deploy(
        files: dict[str, str],
        *,
        env: dict[str, str] | None = None,
        timeout: int = 5,
        layer: dict[str, str] | None = None,
        reserved: int | None = None,
        alias: str | None = None,
    ) -> str:
        name = f"fn{next(_names)}"
        layers = []
        if layer is not None:
            published = lam.publish_layer_version(
                LayerName=f"{name}-layer",
                Content={"ZipFile": make_zip(layer)},
                CompatibleRuntimes=["python3.12"],
            )
            layers.append(published["LayerVersionArn"])
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="handler.handler",
            Code={"ZipFile": make_zip(files)},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": env or {}},
            Layers=layers,
        )
        if reserved is not None:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        if alias:
            version = lam.publish_version(FunctionName=name)["Version"]
            lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
        return name

    return _deploy
