"""botocore clients, created once per container (cold start and connection reuse), bounded by the deadline.

botocore's session is used directly rather than boto3: it is what boto3 wraps and starts faster.
``AWS_ENDPOINT_URL`` (honoured by botocore) is how local stacks point us at themselves. Under
SnapStart (apikit.snapstart) a restored environment gets a new session and new clients but keeps
the service models the snapshot loaded.

botocore's ``standard`` retry mode decides what to retry and how long to back off; the request's
deadline (``apikit.retry.current()``) decides whether there is time for it. Each attempt may take up
to ``ATTEMPT_S`` (connect plus read timeout), so an attempt starts only while that much is left, and a
retry only while its backoff plus an attempt fits: past the deadline botocore raises the last error
(or ``DeadlineExceeded`` when no attempt could start), and the layer answers 503 in time. Without a
current deadline (stream consumers, scripts) botocore's retries are untouched.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from botocore.config import Config
from botocore.retries import standard
from botocore.session import get_session

from apikit import retry, snapstart
from apikit.errors import DeadlineExceeded

MAX_ATTEMPTS = int(os.environ.get("APIKIT_MAX_ATTEMPTS", "4"))  # the first attempt included
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 3.0  # DynamoDB answers in milliseconds; a 100-item transaction in well under 1 s
ATTEMPT_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S

_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    tcp_keepalive=True,
)


@functools.cache
def _session() -> Any:
    return get_session()


@functools.cache
def client(service: str) -> Any:
    """The container-wide client for ``service`` (region from AWS_REGION as Lambda sets it)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    created = _session().create_client(service, region_name=region, config=_CONFIG)
    _bound_by_deadline(created)
    return created


def table_name() -> str:
    """The table every function works on (set by Terraform)."""
    return os.environ["TABLE_NAME"]


def _bound_by_deadline(created: Any) -> None:
    """Put botocore's own standard-mode retry handler behind the request's deadline.

    botocore registers that handler under ``retry-config-<service>``; it is replaced by the same
    handler (``standard.register_retry_handler``) wrapped in a deadline check.
    """
    events = created.meta.events
    name = created.meta.service_model.service_id.hyphenize()
    unique_id = f"retry-config-{name}"
    events.unregister(f"needs-retry.{name}", unique_id=unique_id)
    handler = standard.register_retry_handler(created, max_attempts=MAX_ATTEMPTS)
    events.unregister(f"needs-retry.{name}", unique_id=unique_id)
    events.register(f"needs-retry.{name}", functools.partial(_needs_retry, handler), unique_id=unique_id)
    events.register_first(f"before-send.{name}", _before_send)


def _needs_retry(handler: Any, **kwargs: Any) -> float | None:
    """botocore's retry decision, refused when the backoff plus one more attempt would pass the deadline."""
    deadline = retry.current()
    if deadline is not None and deadline.remaining() < ATTEMPT_S:
        return None
    delay: float | None = handler.needs_retry(**kwargs)
    if delay is not None and deadline is not None and delay + ATTEMPT_S > deadline.remaining():
        return None
    return delay


def _before_send(**_: Any) -> None:
    """No attempt starts that could still be running at the deadline."""
    deadline = retry.current()
    if deadline is not None and deadline.remaining() < ATTEMPT_S:
        raise DeadlineExceeded()


def preload(service: str) -> None:
    """Before a SnapStart snapshot, create ``service``'s client (called at import by each module
    that uses it): its models and endpoint rules are then in the snapshot, and a restored environment
    only builds a new client from them."""
    snapstart.before_snapshot(client, service)


def _renew() -> None:
    """After a restore: drop the snapshot's clients and session (connections, credentials), keep the
    loader with the models it parsed."""
    loader = _session().get_component("data_loader")
    client.cache_clear()
    _session.cache_clear()
    _session().register_component("data_loader", loader)


snapstart.after_restore(_renew)
