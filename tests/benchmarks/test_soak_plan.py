"""The soak's fault plan (benchmarks/soak/plan.py): a window phase lasts until its fault fired, so a
short soak on a loaded machine still goes through every fault instead of failing 'never fired'."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from benchmarks.soak.plan import FaultPlan, Phase
from embedded_stack.moto_server import faults


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_window_past_its_mark_ends_only_once_its_fault_fired(tmp_path):
    spec_file = tmp_path / "faults.json"
    budget = SimpleNamespace(progress=0.0)
    window = Phase("firehose outage", {"throttle": {"calls": 10**9}}, 0.1, 0.3, "throttle")
    after = Phase("stream poller crash", {"poller_crash": {"times": 1}}, 0.4, 0.5, "poller_crash", once=True)
    plan = FaultPlan(budget, spec_file, [window, after])
    plan.start()
    try:
        budget.progress = 0.2
        _wait(lambda: window.began is not None)
        budget.progress = 0.45  # past the window's mark, and nothing fired yet
        time.sleep(0.5)
        assert window.ended is None and json.loads(spec_file.read_text()) == window.spec
        faults.state_path(spec_file).write_text(json.dumps({"throttle": 3}))  # the stack counts a firing
        _wait(lambda: window.ended is not None)
        assert window.fired == {"throttle": 3}
        _wait(lambda: after.began is not None)
        assert json.loads(spec_file.read_text()) == after.spec
    finally:
        plan.stop()
    assert after.fired == {} and not spec_file.exists()
