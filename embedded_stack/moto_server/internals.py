"""What every moto patch shares: the check that moto's internals are what the patch was written against."""

from __future__ import annotations

import inspect
from typing import Any

from moto import __version__ as MOTO_VERSION


class MotoPatchError(RuntimeError):
    """moto's internals are not what these patches were written against."""


def require(condition: bool, what: str) -> None:
    if not condition:
        raise MotoPatchError(
            f"moto {MOTO_VERSION}: {what}. The embedded stack patches moto internals; "
            "re-check embedded_stack/moto_server/ (patches, dynamodb_patches, transactions, usage) "
            "against this moto version."
        )


def source_has(func: Any, *needles: str) -> bool:
    try:
        src = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    return all(n in src for n in needles)
