"""Request validation as an API Gateway request validator performs it, before the integration runs.

Body: the model mapped to the request's Content-Type (or ``$default``; a missing Content-Type means
application/json) is checked as a JSON Schema draft-04 document; messages are worded as API Gateway's
validator words them (``validation_messages``). A body nested too deeply to parse is rejected like
any other invalid body, never an error of the gateway. Parameters: every
``method.request.<location>.<name>`` marked required must be present.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft4Validator

from embedded_stack.apigateway.validation_messages import message

_cache_lock = threading.Lock()
_validators: dict[str, Draft4Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft4Validator:
    key = json.dumps(schema, sort_keys=True)
    with _cache_lock:
        validator = _validators.get(key)
        if validator is None:
            validator = Draft4Validator(schema)
            _validators[key] = validator
        return validator


def select_model(request_models: Mapping[str, str], content_type: str | None) -> str | None:
    """The model name that applies to this Content-Type, or None when no model is mapped to it."""
    media_type = (content_type or "application/json").split(";", 1)[0].strip().lower()
    for mapped, model in request_models.items():
        if mapped.lower() == media_type:
            return model
    return request_models.get("$default")


def body_errors(schema: dict[str, Any], body: bytes) -> list[str]:
    """Why the body does not satisfy the model's schema, in API Gateway's words; empty when it does."""
    try:  # an absent body is validated as JSON null, which an object schema rejects
        document = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"Invalid JSON in request body: {exc}"]
    except RecursionError:
        # Deeper than the parser's stack allows (about 1,000 levels, Jackson's default limit too).
        return ["Invalid JSON in request body: nesting too deep"]
    try:
        errors = sorted(_validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    except RecursionError:
        return ["Invalid request body: nesting too deep to validate"]
    messages: list[str] = []
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for error in errors:
        # jsonschema reports each missing property apart; the validator reports them in one message.
        key = (str(error.validator), tuple(error.absolute_path))
        if error.validator == "required" and key in seen:
            continue
        seen.add(key)
        messages.append(message(error))
    return messages


def missing_parameters(
    required: Mapping[str, bool],
    headers: Mapping[str, str],
    query: Mapping[str, list[str]],
    path_params: Mapping[str, str],
) -> list[str]:
    """Names of required request parameters that the request lacks."""
    lowered = {k.lower() for k in headers}
    missing = []
    for spec, is_required in required.items():
        if not is_required:
            continue
        parts = spec.split(".", 3)  # method.request.<location>.<name>
        if len(parts) != 4:
            continue
        location, name = parts[2], parts[3]
        present = (
            (location == "header" and name.lower() in lowered)
            or (location == "querystring" and name in query)
            or (location == "path" and name in path_params)
        )
        if not present:
            missing.append(name)
    return missing
