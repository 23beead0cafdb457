"""X-Ray tracing of every AWS call, set up once per container by importing this module.

In Lambda (LAMBDA_TASK_ROOT set) the SDK uses the facade segment and a local sampler (~3 ms).
``context_missing=IGNORE_ERROR`` keeps it silent where no segment or daemon exists.
"""

from __future__ import annotations

import logging
import os

from aws_xray_sdk.core import patch, xray_recorder

_CONTEXT_MISSING = os.environ.get("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
xray_recorder.configure(
    context_missing=_CONTEXT_MISSING,
    service=os.environ.get("POWERTOOLS_SERVICE_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "apikit"),
)
patch(["botocore"])
if _CONTEXT_MISSING == "IGNORE_ERROR":
    # Outside Lambda there is no segment; the SDK would warn on every AWS call ("No segment found").
    logging.getLogger("aws_xray_sdk").setLevel(logging.ERROR)
