"""botocore clients, created once per container (cold start and connection reuse).

botocore's session is used directly rather than boto3: it is what boto3 wraps and starts faster.
``AWS_ENDPOINT_URL`` (honoured by botocore) is how local stacks point us at themselves. Under
SnapStart (apikit.snapstart) a restored environment gets a new session and new clients but keeps
the service models the snapshot loaded.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from botocore.config import Config
from botocore.session import get_session

from apikit import snapstart

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": int(os.environ.get("APIKIT_MAX_ATTEMPTS", "4"))},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


@functools.cache
def _session() -> Any:
    return get_session()


@functools.cache
def client(service: str) -> Any:
    """The container-wide client for ``service`` (region from AWS_REGION as Lambda sets it)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _session().create_client(service, region_name=region, config=_CONFIG)


def table_name() -> str:
    """The table every function works on (set by Terraform)."""
    return os.environ["TABLE_NAME"]


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
