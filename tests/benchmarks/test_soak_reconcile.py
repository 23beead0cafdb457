"""Unit tests of the soak's reconciliation (benchmarks/soak/reconcile.py) on hand-made ledgers and tables:
each kind of violation it exists to catch is caught, and what the faults explain is not one."""

from __future__ import annotations

import itertools
import time
from types import SimpleNamespace

import pytest

from benchmarks.soak import reconcile
from benchmarks.soak.ledger import ACKED, IN_DOUBT, REJECTED, Call, Ledger, Write, outcome_of
from benchmarks.soak.plan import Phase

RUN = "r1"
_clock = itertools.count(1)


def _call(op: str, method: str, path: str, status: int | None, body: object = None) -> Call:
    t = float(next(_clock))
    return Call("c0", "partner-a", op, method, path, t, t + 0.5, status, body)


def _write(ledger: Ledger, n: int, kind: str, item_id: str | None, status: int | None, **kw: object) -> Write:
    method = {"create": "POST", "patch": "PATCH", "delete": "DELETE", "batch": "POST"}[kind]
    call = kw.pop("call", None) or _call(kind, method, "/items", status, kw.pop("body", None))
    marker = kw.pop("marker", None) or ledger.marker("partner-a", "c0", n)
    return ledger.write(Write(marker, "partner-a", item_id, kind, call, outcome_of(status), **kw))


def _item(item_id: str, marker: str, version: int = 1) -> dict:
    return {"id": item_id, "version": version, "info": {"soak": marker}}


def _findings(ledger: Ledger, table: dict) -> reconcile.Findings:
    findings = reconcile.Findings()
    reconcile.check_table(ledger, table, findings)
    reconcile.check_batches(ledger, table, findings)
    return findings


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(RUN)


def test_a_history_that_reconciles(ledger):
    created = _write(ledger, 1, "create", "a", 201, version=1)
    patched = _write(ledger, 2, "patch", "a", 200, version=2)
    _write(ledger, 3, "patch", "a", 412)  # a stale If-Match: refused, nothing to find
    _write(ledger, 4, "create", "b", 201, version=1)
    _write(ledger, 5, "delete", "b", 204)
    _write(ledger, 6, "create", "c", 201, version=1)
    _write(ledger, 7, "patch", "c", 502)  # in doubt, and it did happen
    table = {
        ("partner-a", "a"): _item("a", patched.marker, 2),
        ("partner-a", "c"): _item("c", ledger.marker("partner-a", "c0", 7), 2),
    }
    findings = _findings(ledger, table)
    assert findings.violations == []
    assert findings.figures["ids checked against the table"] == {
        "as acknowledged": 1,
        "absent as acknowledged": 1,
        "from a write in doubt": 1,
    }
    assert created.outcome == ACKED


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, "lost: partner-a item a missing"),
        ({("partner-a", "a"): "first"}, "lost: partner-a item a holds"),  # the patch was undone
        ({("partner-a", "a"): "patch-v3"}, "version: partner-a item a is at 3"),
    ],
)
def test_an_acknowledged_write_not_in_the_table_is_caught(ledger, table, expected):
    first = _write(ledger, 1, "create", "a", 201, version=1)
    patched = _write(ledger, 2, "patch", "a", 200, version=2)
    rows = {
        key: _item("a", first.marker) if what == "first" else _item("a", patched.marker, 3)
        for key, what in table.items()
    }
    assert [v for v in _findings(ledger, rows).violations if v.startswith(expected)]


def test_a_refused_write_that_left_something_is_caught(ledger):
    refused = _write(ledger, 1, "create", None, 409)
    findings = _findings(ledger, {("partner-a", "x"): _item("x", refused.marker)})
    assert any(v.startswith("unacknowledged write present") for v in findings.violations)


def test_an_id_created_twice_is_an_overwrite(ledger):
    batch = _call("batch", "POST", "/batch", 201, {"written": ["x"], "failed": []})
    _write(ledger, 1, "create", "x", 201, version=1)
    _write(ledger, 2, "batch", "x", 201, call=batch, marker=f"{ledger.marker('partner-a', 'c0', 2)}.0")
    findings = _findings(ledger, {("partner-a", "x"): _item("x", f"{ledger.marker('partner-a', 'c0', 2)}.0")})
    assert any(
        v.startswith("overwrite: partner-a id x acknowledged as created 2 times") for v in findings.violations
    )


def test_a_batch_in_doubt_over_an_acknowledged_create_is_an_overwrite(ledger):
    batch = _call("batch", "POST", "/batch", 502)
    marker = f"{ledger.marker('partner-a', 'c0', 1)}.0"
    _write(ledger, 1, "batch", "x", 502, call=batch, marker=marker)
    _write(ledger, 2, "create", "x", 201, version=1)
    findings = _findings(ledger, {("partner-a", "x"): _item("x", marker)})
    assert [v for v in findings.violations if v.startswith("overwrite: partner-a item x holds batch write")]


def test_server_id_batches_must_hold_exactly_what_was_acknowledged(ledger):
    base = ledger.marker("partner-a", "c0", 1)
    batch = _call(
        "batch",
        "POST",
        "/batch",
        207,
        {"written": ["s1", "s2"], "failed": [{"index": 2, "id": "s3", "reason": "throttled"}]},
    )
    for i in range(3):
        _write(ledger, 1, "batch", None, 207, call=batch, marker=f"{base}.{i}")
    ok = {("partner-a", f"s{i + 1}"): _item(f"s{i + 1}", f"{base}.{i}") for i in range(2)}
    assert _findings(ledger, ok).violations == []
    missing = dict(list(ok.items())[:1])
    assert any("written ['s2'] missing" in v for v in _findings(ledger, missing).violations)
    extra = {**ok, ("partner-a", "s3"): _item("s3", f"{base}.2")}
    assert any("['s3'] present though not written" in v for v in _findings(ledger, extra).violations)


def test_a_batch_item_of_unknown_outcome_may_or_may_not_be_there(ledger):
    base = ledger.marker("partner-a", "c0", 1)
    failed = [{"index": 1, "id": "u1", "reason": "unknown"}, {"index": 2, "id": "given", "reason": "unknown"}]
    batch = _call("batch", "POST", "/batch", 207, {"written": ["s1"], "failed": failed})
    _write(ledger, 1, "batch", None, 207, call=batch, marker=f"{base}.0")
    _write(ledger, 1, "batch", None, 207, call=batch, marker=f"{base}.1")
    _write(ledger, 1, "batch", "given", 207, call=batch, marker=f"{base}.2")
    written = {("partner-a", "s1"): _item("s1", f"{base}.0")}
    everything = {
        **written,
        ("partner-a", "u1"): _item("u1", f"{base}.1"),
        ("partner-a", "given"): _item("given", f"{base}.2"),
    }
    assert _findings(ledger, written).violations == []
    assert _findings(ledger, everything).violations == []


def test_a_503_of_a_batch_says_nothing_was_written(ledger):
    base = ledger.marker("partner-a", "c0", 1)
    failed = [{"index": i, "id": f"t{i}", "reason": "throttled"} for i in range(2)]
    busy = _call("batch", "POST", "/batch", 503, {"message": "service busy", "written": [], "failed": failed})
    _write(ledger, 1, "batch", None, 503, call=busy, marker=f"{base}.0")
    _write(ledger, 1, "batch", "mine", 503, call=busy, marker=f"{base}.1")
    assert _findings(ledger, {}).violations == []
    wrote = {("partner-a", "t0"): _item("t0", f"{base}.0"), ("partner-a", "mine"): _item("mine", f"{base}.1")}
    violations = _findings(ledger, wrote).violations
    assert any("['t0'] present though not written" in v for v in violations)
    assert any(v.startswith("unacknowledged write present: partner-a item mine") for v in violations)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (207, {"written": ["a"], "failed": []}, "1 written + 0 failed for 2 items"),
        (207, {"written": ["a"], "failed": [{"index": 5, "id": "b", "reason": "exists"}]}, "out of range"),
        (207, {"written": ["a"], "failed": [{"index": 1, "id": "b", "reason": "gone"}]}, "known reason"),
        (201, {"written": ["a"], "failed": [{"index": 1, "id": "b", "reason": "exists"}]}, "status 201"),
        (503, {"written": [], "failed": [{"index": 0, "id": "a", "reason": "unknown"}] * 2}, "status 503"),
        (201, {"message": "created"}, "a 201 without the batch body"),
    ],
)
def test_a_batch_answer_out_of_shape_is_caught(ledger, status, body, expected):
    batch = _call("batch", "POST", "/batch", status, body)
    for i in range(2):
        _write(
            ledger, 1, "batch", None, status, call=batch, marker=f"{ledger.marker('partner-a', 'c0', 1)}.{i}"
        )
    assert [v for v in _findings(ledger, {}).violations if v.startswith("batch answer:") and expected in v]


def test_one_idempotency_key_may_leave_one_item(ledger):
    marker = ledger.marker("partner-a", "c0", 1)
    _write(ledger, 1, "create", None, 504, marker=marker, idempotency_key="k")
    _write(ledger, 1, "create", "i1", 201, marker=marker, idempotency_key="k", version=1)
    twice = {("partner-a", "i1"): _item("i1", marker), ("partner-a", "i2"): _item("i2", marker)}
    assert any(v.startswith("idempotency: key k") for v in _findings(ledger, twice).violations)
    assert _findings(ledger, {("partner-a", "i1"): _item("i1", marker)}).violations == []


def test_another_partners_marker_is_a_leak(ledger):
    stranger = Ledger(RUN).marker("partner-b", "c9", 1)
    ledger.write(
        Write(stranger, "partner-b", None, "create", _call("create", "POST", "/items", 502), IN_DOUBT)
    )
    findings = _findings(ledger, {("partner-a", "z"): _item("z", stranger)})
    assert any(v.startswith("isolation: partner-a holds item z") for v in findings.violations)


def test_5xx_are_explained_only_by_a_fault_that_overlaps_and_can_cause_them(ledger):
    now = time.time()
    throttling = Phase(
        "DynamoDB throttling", {}, 0, 1, "dynamodb_throttle", tail_s=30, began=now, ended=now + 10
    )
    killed = Phase(
        "batch_write worker killed", {}, 0, 1, "kill_worker", once=True, began=now + 50, ended=now + 51
    )
    calls = [
        Call("c", "p", "patch", "PATCH", "/items/a", now + 5, now + 6, 503),  # in the window
        Call("c", "p", "read", "GET", "/items/a", now + 35, now + 36, 502),  # in its tail
        Call("c", "p", "batch", "POST", "/batch", now + 50.5, now + 50.8, 502),  # the killed worker
        Call("c", "p", "read", "GET", "/items/a", now + 80, now + 81, 500),  # nothing explains it
        Call("c", "p", "create", "POST", "/items", now + 50.5, now + 50.8, 502),  # not a batch
    ]
    ledger.calls.extend(calls)
    findings = reconcile.Findings()
    reconcile.check_5xx(ledger, [throttling, killed], findings)
    assert sum(findings.figures["5xx explained by a fault"].values()) == 3
    assert len(findings.violations) == 1 and findings.violations[0].startswith("2 5xx no fault explains")


def test_isolation_of_what_a_partner_is_shown(ledger):
    call = _call("read", "GET", "/items/z", 200)
    ledger.check_isolation(
        call, [_item("z", Ledger(RUN).marker("partner-b", "c1", 4)), _item("y", "not ours")]
    )
    assert ledger.violations == ["isolation: partner-a was shown partner-b's item z (GET /items/z)"]
    assert (outcome_of(204), outcome_of(404)) == (ACKED, REJECTED)


def test_a_delete_answered_404_that_happened_is_a_retried_write(ledger):
    _write(ledger, 1, "create", "a", 201, version=1)
    _write(ledger, 2, "delete", "a", 404)  # botocore retried a delete whose first attempt had run
    assert [
        v for v in _findings(ledger, {}).violations if v.startswith("retried write: partner-a item a is gone")
    ]


def test_the_table_scan_picks_this_runs_items_and_skips_others_it_cannot_read():
    """Another suite's item with a number boto3 refuses to deserialize (41 digits, DynamoDB's edge)
    shares the table: the scan must neither fail on it nor report it."""
    marker = Ledger(RUN).marker("partner-a", "c0", 1)
    items = [
        {"PK": {"S": "P#partner-x#I#big"}, "SK": {"S": "ITEM"}, "info": {"M": {"n": {"N": "1" + "0" * 40}}}},
        {
            "PK": {"S": "P#partner-a#I#old"},
            "SK": {"S": "ITEM"},
            "info": {"M": {"soak": {"S": "soak.r0.x.c.1"}}},
        },
        {
            "PK": {"S": "P#partner-a#I#a1"},
            "SK": {"S": "ITEM"},
            "id": {"S": "a1"},
            "version": {"N": "2"},
            "info": {"M": {"soak": {"S": marker}}},
        },
    ]
    pages = SimpleNamespace(paginate=lambda **_: [{"Items": items}])
    ddb = SimpleNamespace(get_paginator=lambda _name: pages)
    target = SimpleNamespace(
        partners={"partner-a": None}, audit=SimpleNamespace(table_name="t"), client=lambda _service: ddb
    )
    found = reconcile.scan_table(target, RUN)
    assert list(found) == [("partner-a", "a1")]
    assert found[("partner-a", "a1")]["version"] == 2
