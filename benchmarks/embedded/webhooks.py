"""Measurement 5, webhooks: time from a write's 2xx to its webhook's arrival on the embedded stack.

A receiver on 127.0.0.1 (the `local` stage accepts http://127.0.0.1) is registered for the measured
partner; each create is timed from its 201 to the moment the receiver holds the item.created event
of that id (stream poll, webhook_fanout, SNS FIFO -> SQS FIFO, the SQS poller, webhook_delivery).
The reference is the same run's POST /items latency through the gateway.
"""

import time
from typing import Any

import requests

from benchmarks.sandbox import Log
from benchmarks.stats import summary
from tests.support.webhook_receiver import Receiver

ARRIVAL_TIMEOUT_S = 60


def measure(stack: dict[str, Any], api_key: str, *, n: int, log: Log) -> dict[str, Any]:
    """Write-to-arrival milliseconds of ``n`` sequential creates (p50, p99...)."""
    receiver = Receiver()
    session = requests.Session()
    session.headers["x-api-key"] = api_key
    try:
        registered = session.put(f"{stack['api_url']}/webhook", json={"url": receiver.url}, timeout=30)
        registered.raise_for_status()
        samples = []
        for i in range(n + 2):  # the first two warm the fan-out and delivery workers
            answer = session.post(
                f"{stack['api_url']}/items", json={"userId": "bench-webhooks", "name": f"w{i}"}, timeout=30
            )
            answer.raise_for_status()
            acknowledged = time.monotonic()
            item_id = answer.json()["id"]
            (delivery,) = receiver.wait_for(
                lambda got, item_id=item_id: [d for d in got if d.event()["data"]["id"] == item_id],
                ARRIVAL_TIMEOUT_S,
            )[-1:]
            if i >= 2:
                samples.append((delivery.at - acknowledged) * 1000)
        figures = summary(samples)
        log(f"  write -> webhook: p50 {figures['p50']:.0f} ms, p99 {figures['p99']:.0f} ms ({n} writes)")
        return figures
    finally:
        session.delete(f"{stack['api_url']}/webhook", timeout=30)
        receiver.close()
