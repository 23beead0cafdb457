"""A short soak on the session's embedded stack: `make soak`'s campaign (benchmarks/soak) cut to about
30 s of load, with all four faults, then reconciled. `make soak` runs the long one on its own stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.soak import driver
from benchmarks.soak.target import from_stack_document
from tests.e2e.targets import StackInfo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECONDS = float(os.environ.get("E2E_SOAK_S", "30"))


def test_a_short_soak_under_faults_reconciles(stack: StackInfo):
    if stack.target != "local":
        pytest.skip(f"the soak injects faults: the embedded stack only, not {stack.target}")
    spec = os.environ.get("EMBEDDED_FAULTS_FILE")
    if not spec:
        pytest.skip("a stack started elsewhere: set EMBEDDED_FAULTS_FILE to the spec file it reads")
    findings = driver.run(
        from_stack_document(stack.raw, Path(spec)),
        requests=int(SECONDS * 200),
        duration_s=SECONDS,
        clients_per_partner=2,
    )
    report = driver.render(findings)
    print(report)
    assert findings.figures["load"]["requests"] > 0, report
    # Every violation fails it, an overwrite too: POST /batch never writes over an item (issue 11 A).
    assert not findings.violations, report
