"""Fixtures: a REST API deployed by boto3 to the session's moto server (tests/embedded_stack/conftest.py),
a fake runner, a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

import boto3
import pytest

from embedded_stack.apigateway import Gateway
from embedded_stack.moto_server import MotoServer
from tests.embedded_stack.apigateway.support import REGION, STAGE, DeployedApi, FakeRunner, deploy_api

_names = count()


@pytest.fixture(scope="session")
def apigw(moto_server: MotoServer) -> Any:
    return boto3.client(
        "apigateway",
        endpoint_url=moto_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def api(apigw: Any) -> DeployedApi:
    return deploy_api(apigw, f"gwtest{next(_names)}")


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def gateway(apigw: Any, api: DeployedApi, runner: FakeRunner, tmp_path: Any) -> Iterator[Gateway]:
    gw = Gateway(
        apigw,
        runner,
        "127.0.0.1",
        0,
        rest_api_id=api.api_id,
        stage=STAGE,
        access_log_path=tmp_path / "access.log",
        refresh_interval_s=0,
    )
    gw.start()
    yield gw
    gw.stop()
