"""X-Ray tracing of every AWS call, set up once per container by importing this module.

In Lambda (LAMBDA_TASK_ROOT set) the SDK uses the facade segment and a local sampler (~3 ms).
``context_missing=IGNORE_ERROR`` keeps it silent where no segment or daemon exists.
"""

from __future__ import annotations

import os

from aws_xray_sdk.core import patch, xray_recorder

xray_recorder.configure(
    context_missing=os.environ.get("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR"),
    service=os.environ.get("POWERTOOLS_SERVICE_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "apikit"),
)
patch(["botocore"])

recorder = xray_recorder
