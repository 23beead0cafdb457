"""The examples in examples/ run against the target stack, so that they cannot rot: the curl
quickstart end to end, and each habit of the Python client (examples/items_client.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.e2e.targets import Partner, StackInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from items_client import ApiError, ItemsClient  # noqa: E402

pytestmark = pytest.mark.e2e


class Sleeps:
    """Records the client's waits instead of sleeping them through (sleeps for real when asked)."""

    def __init__(self, real: bool = False) -> None:
        self.waits: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


def _client(stack: StackInfo, partner: Partner, **kwargs: Any) -> ItemsClient:
    return ItemsClient(stack.api_url, partner.api_key, **kwargs)


def test_curl_quickstart_runs(stack: StackInfo, generous: list[Partner]) -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "examples" / "quickstart.sh")],
        env={**os.environ, "API_URL": stack.api_url, "API_KEY": generous[0].api_key},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "3.1.0", done.stdout
    assert "PATCH" in done.stderr and "-> 412" in done.stderr and "listed 3 items" in done.stderr


class LoseFirstAnswer(HTTPAdapter):
    """Sends the first POST, then drops its answer: what a timeout after the server wrote looks like."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if request.method == "POST" and self.lost == 0:
            self.lost += 1
            raise requests.ConnectionError("answer lost on the way back")
        return response


def test_a_create_whose_answer_is_lost_is_retried_without_a_duplicate(
    stack: StackInfo, generous: list[Partner], user_id: str
) -> None:
    session = requests.Session()
    adapter = LoseFirstAnswer()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    client = _client(stack, generous[0], session=session, sleep=Sleeps())
    item = client.create_item({"userId": user_id, "name": "once"})
    assert adapter.lost == 1 and client.retries == 1
    assert [i["id"] for i in client.iter_items(user_id)] == [item["id"]]


def test_update_with_if_match_rereads_and_retries_on_412(
    stack: StackInfo, generous: list[Partner], user_id: str
) -> None:
    client = _client(stack, generous[0])
    rival = _client(stack, generous[0])
    item = client.create_item({"userId": user_id, "name": "n", "info": {"count": 0}})
    calls = []

    def increment(current: dict[str, Any]) -> dict[str, Any]:
        calls.append(current["version"])
        if len(calls) == 1:  # another writer gets in between our read and our write
            rival.update_item(item["id"], {"name": "rival"}, if_match=None)
        return {"info": {"count": current["info"]["count"] + 1}}

    updated = client.update_item_with_retry(item["id"], increment)
    assert calls == [1, 2]  # the first write met 412 and was rebuilt on the rival's version
    assert updated["version"] == 3
    assert updated["name"] == "rival" and updated["info"] == {"count": 1}
    with pytest.raises(ApiError) as stale:
        client.update_item(item["id"], {"name": "stale"}, if_match='"1"')
    assert stale.value.status == 412


def test_iterator_walks_every_page_and_batches_report_partial_failures(
    stack: StackInfo, generous: list[Partner], user_id: str
) -> None:
    client = _client(stack, generous[0])
    first = client.batch_create([{"userId": user_id, "name": f"n{i}"} for i in range(7)])
    assert len(first.written) == 7 and first.failed == []
    taken = first.written[0]
    again = client.batch_create(
        [{"id": taken, "userId": user_id, "name": "dup"}, {"userId": user_id, "name": "new"}]
    )
    assert again.failed == [{"index": 0, "id": taken, "reason": "exists"}]
    assert len(again.written) == 1
    expected = set(first.written) | set(again.written)
    deadline = time.monotonic() + 30  # lists read a GSI: eventually consistent
    while True:
        seen = [i["id"] for i in client.iter_items(user_id, page_size=3)]
        if set(seen) == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen)) == 8
    found, missing = client.batch_get([taken, "no-such-item"])
    assert [i["id"] for i in found] == [taken] and missing == ["no-such-item"]
    assert client.delete_item(taken) is True and client.delete_item(taken) is False


def test_throttled_requests_are_retried_after_backoff(stack: StackInfo, needs_usage_plans: None) -> None:
    """Clients at once on the plan with the smallest burst: 429s (or 503s) are waited out, all succeed."""
    tight = min(
        (p for p in stack.partners.values() if p.quota_limit is None or p.quota_limit >= 1000),
        key=lambda p: (p.burst_limit, p.rate_limit),
    )
    assert tight.burst_limit <= 5, f"no partner with a small burst: {sorted(stack.partners)}"
    sleeps = Sleeps(real=True)
    clients = [
        _client(stack, tight, sleep=sleeps, max_attempts=10, base_delay_s=0.5, max_delay_s=5)
        for _ in range(tight.burst_limit * 4)
    ]
    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(lambda c: c.usage()["partner"], clients))
    assert answers == [tight.name] * len(clients)
    assert sum(c.retries for c in clients) > 0, "the plan's burst was never hit"
    assert sleeps.waits and max(sleeps.waits) <= 5 + 0.5


def test_openapi_document_is_served_to_every_key(stack: StackInfo, generous: list[Partner]) -> None:
    committed = (ROOT / "functions" / "openapi" / "openapi.json").read_text()
    partner = generous[0]
    for key in partner.keys or ():
        response = requests.get(
            f"{stack.api_url}/openapi.json", headers={"x-api-key": key.api_key}, timeout=35
        )
        assert response.status_code == 200, (key.name, key.scope, response.text)
        assert response.text == committed
    assert requests.get(f"{stack.api_url}/openapi.json", timeout=35).status_code == 401
    unknown = requests.get(
        f"{stack.api_url}/openapi.json", headers={"x-api-key": uuid.uuid4().hex * 2}, timeout=35
    )
    assert unknown.status_code == 401
    assert _client(stack, partner).openapi()["openapi"] == "3.1.0"
