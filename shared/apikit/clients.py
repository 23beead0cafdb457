"""botocore clients, created once per container (cold start and connection reuse).

botocore's session is used directly rather than boto3: it is what boto3 wraps and starts faster.
``AWS_ENDPOINT_URL`` (honoured by botocore) is how local stacks point us at themselves.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from botocore.config import Config
from botocore.session import get_session

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
