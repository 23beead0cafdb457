"""Session fixtures of the end-to-end suite: the target stack and per-partner HTTP clients.

Reusable by any e2e module (the audit tests too): ``stack`` exposes api_url, partners,
aws_endpoint_url, region, table_name, audit_bucket and dlq_urls.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.client import Api
from tests.e2e.targets import LocalStack, StackInfo, from_stack_json, from_terraform

TARGET = os.environ.get("E2E_TARGET", "local").lower()

if TARGET == "local":
    # The embedded stack takes any credentials; the audit tools use boto3's usual chain.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "e2e")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "e2e")
    if not os.environ.get("E2E_STACK_JSON"):
        # A stack this session starts reads its fault spec from a file of its own, not .local/'s
        # (set before it starts, whichever modules are collected).
        os.environ.setdefault(
            "EMBEDDED_FAULTS_FILE", str(Path(tempfile.gettempdir()) / f"e2e-faults-{os.getpid()}.json")
        )


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    """The target, started once per session for ``local`` unless E2E_STACK_JSON names a running one."""
    if TARGET == "local":
        existing = os.environ.get("E2E_STACK_JSON")
        if existing:
            yield from_stack_json(json.loads(Path(existing).read_text()), "local")
            return
        local = LocalStack()
        try:
            info = local.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        try:
            yield info
        finally:
            local.stop()
    elif TARGET in ("localstack", "aws"):
        yield from_terraform(TARGET)
    else:
        pytest.fail(f"E2E_TARGET must be local, localstack or aws, not {TARGET!r}", pytrace=False)


def _by_burst(stack: StackInfo) -> list:
    return sorted(stack.partners.values(), key=lambda p: (p.burst_limit, p.quota_limit or 0, p.name))


@pytest.fixture(scope="session")
def generous(stack: StackInfo) -> list:
    """Partners whose plans no test exhausts (at least two), most generous first."""
    roomy = [
        p
        for p in reversed(_by_burst(stack))
        if p.burst_limit >= 20 and (p.quota_limit is None or p.quota_limit >= 1000)
    ]
    if len(roomy) < 2:
        pytest.fail(f"the stage needs two partners with roomy plans, has {sorted(stack.partners)}")
    return roomy


@pytest.fixture(scope="session")
def api_a(stack: StackInfo, generous: list) -> Api:
    return Api(stack.api_url, generous[0])


@pytest.fixture(scope="session")
def api_b(stack: StackInfo, generous: list) -> Api:
    return Api(stack.api_url, generous[1])


@pytest.fixture(scope="session")
def anonymous(stack: StackInfo) -> Api:
    return Api(stack.api_url, None)


@pytest.fixture(scope="session")
def needs_usage_plans(stack: StackInfo) -> None:
    if not stack.enforces_usage_plans:
        pytest.skip(
            f"{stack.target} does not enforce usage-plan throttles or quotas (LocalStack free edition)"
        )


@pytest.fixture
def user_id(request: pytest.FixtureRequest) -> str:
    """A fresh end-user id per test, so lists only see this test's items."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"e2e-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}")
