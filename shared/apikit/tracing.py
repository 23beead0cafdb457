"""Tracing of every AWS call, set up once per container by importing this module: the one place the
layer names a tracing SDK, chosen by configuration (APIKIT_TRACING, from the stage's tracing.sdk).

- ``xray`` (default): aws-xray-sdk patches botocore, so each AWS call is a subsegment of Lambda's
  Active-tracing segment. In Lambda (LAMBDA_TASK_ROOT set) the SDK uses the facade segment and a local
  sampler (~3 ms); ``context_missing=IGNORE_ERROR`` keeps it silent where no segment or daemon exists.
- ``otel``: OpenTelemetry through the ADOT Lambda layer, which Lambda starts through
  AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument and which instruments botocore before the handler is
  imported. Nothing to do here, and the X-Ray SDK is never imported.
- ``none``: no SDK in the function (Lambda's Active tracing still records each invocation).

Why there is a way out, and what each costs at a cold start: docs/decisions/0007-tracing-exit.md.
"""

from __future__ import annotations

import logging
import os

SDKS = ("xray", "otel", "none")
SDK = os.environ.get("APIKIT_TRACING") or "xray"


def _xray() -> None:
    from aws_xray_sdk.core import patch, xray_recorder  # noqa: PLC0415 - only when chosen

    context_missing = os.environ.get("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
    env = os.environ
    service = env.get("POWERTOOLS_SERVICE_NAME") or env.get("AWS_LAMBDA_FUNCTION_NAME", "apikit")
    xray_recorder.configure(context_missing=context_missing, service=service)
    patch(["botocore"])
    if context_missing == "IGNORE_ERROR":
        # Outside Lambda there is no segment; the SDK would warn on every AWS call ("No segment found").
        logging.getLogger("aws_xray_sdk").setLevel(logging.ERROR)


if SDK not in SDKS:
    raise ValueError(f"APIKIT_TRACING={SDK!r}: expected one of {', '.join(SDKS)}")
if SDK == "xray":
    _xray()
