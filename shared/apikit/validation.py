"""JSON Schema (Draft-04, the schemas API Gateway also uses) validation with per-field errors.

Only handlers that validate bodies import this module: jsonschema costs ~35-45 ms at cold start.
Reasons are written by us, never echo the offending value (bodies can be 64 KiB).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from apikit.errors import BadRequest, PayloadTooLarge, field_error

SCHEMA_DIR = Path(__file__).parent / "schemas"
INFO_LIMIT = 32 * 1024


@functools.cache
def validator(model: str) -> Draft4Validator:
    """The compiled validator of ``schemas/<model>.json`` (once per container)."""
    schema = json.loads((SCHEMA_DIR / f"{model}.json").read_text())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def _join(prefix: str, path: list[Any]) -> str:
    out = prefix
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _reason(error: Any) -> str:
    kind, value = error.validator, error.validator_value
    reasons = {
        "type": lambda: f"must be of type {value}",
        "pattern": lambda: f"must match {value}",
        "minLength": lambda: f"must be at least {value} characters",
        "maxLength": lambda: f"must be at most {value} characters",
        "minItems": lambda: f"must have at least {value} entries",
        "maxItems": lambda: f"must have at most {value} entries",
        "minProperties": lambda: "must not be empty",
        "enum": lambda: f"must be one of {value}",
    }
    return reasons.get(kind, lambda: f"violates {kind}")()


def errors(model: str, document: Any, prefix: str = "") -> list[dict[str, str]]:
    """Every violation of ``model`` in ``document``, as ``{"field", "reason"}`` sorted by field."""
    out: list[dict[str, str]] = []
    for error in validator(model).iter_errors(document):
        where = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            out += [field_error(_join(prefix, [*where, name]), "is required") for name in missing]
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            extra = sorted(name for name in error.instance if name not in known)
            out += [field_error(_join(prefix, [*where, name]), "unknown field") for name in extra]
        else:
            out.append(field_error(_join(prefix, where) or "body", _reason(error)))
    return sorted(out, key=lambda e: (e["field"], e["reason"]))


def validate(model: str, document: Any) -> dict[str, Any]:
    """Validate a request body: 400 listing every field error; 413 when ``info`` exceeds 32 KiB."""
    found = errors(model, document)
    if found:
        raise BadRequest("request body is invalid", errors=found)
    check_info_size(document)
    return document


def check_info_size(document: dict[str, Any], field: str = "info") -> None:
    """``info`` is at most 32 KiB as compact UTF-8 JSON (what we store, not what the client sent)."""
    if "info" in document and info_size(document["info"]) > INFO_LIMIT:
        raise PayloadTooLarge(
            "info is too large", errors=[field_error(field, f"at most {INFO_LIMIT} bytes serialized")]
        )


def info_size(info: Any) -> int:
    """Bytes of ``info`` as compact UTF-8 JSON."""
    return len(json.dumps(info, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
