"""JSON Schema (Draft-04, the schemas API Gateway also uses) validation with per-field errors.

Two well-kept validators, each where it is cheapest. Valid bodies (the hot path) are checked by
fastjsonschema, which compiles a schema to plain Python (the validator Powertools uses too; ~7 ms of
imports). Only a body it rejects pays for ``jsonschema`` (~40 ms to import, once per container), which
then lists *every* violation with its path; jsonschema is the authority, so the two cannot disagree in
the client's favour. Reasons are written by us and never echo the offending value.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import fastjsonschema

from apikit.errors import BadRequest, PayloadTooLarge, field_error

SCHEMA_DIR = Path(__file__).parent / "schemas"
INFO_LIMIT = 32 * 1024


@functools.cache
def schema(model: str) -> dict[str, Any]:
    """``schemas/<model>.json``, read once per container."""
    return json.loads((SCHEMA_DIR / f"{model}.json").read_text())


@functools.cache
def fast_validator(model: str) -> Any:
    """fastjsonschema's compiled check of ``model``: raises on the first violation."""
    return fastjsonschema.compile(schema(model))


@functools.cache
def validator(model: str) -> Any:
    """jsonschema's Draft-04 validator of ``model``, built only when a body has failed the fast check."""
    from jsonschema import Draft4Validator  # noqa: PLC0415  (deferred: ~40 ms, paid only by bad input)

    Draft4Validator.check_schema(schema(model))
    return Draft4Validator(schema(model))


def _join(prefix: str, path: list[Any]) -> str:
    out = prefix
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _reason(error: Any) -> str:
    return _describe(error.validator, error.validator_value)


def _describe(kind: str, value: Any) -> str:
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
    try:
        fast_validator(model)(document)
    except fastjsonschema.JsonSchemaValueException as rejected:
        first = rejected
    else:
        return []
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
    if not out:
        # jsonschema's `pattern` uses Python's `$`, which also matches before a final newline; JSON
        # Schema (ECMA 262) and fastjsonschema do not. The stricter verdict stands.
        path = (first.name or "data").removeprefix("data").lstrip(".")
        reason = _describe(first.rule or "schema", (first.definition or {}).get(first.rule or ""))
        out.append(field_error(_join(prefix, [path]) if path else prefix or "body", reason))
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
