"""Tracing measurement, the default: aws-xray-sdk patching botocore (what apikit.tracing does with
APIKIT_TRACING=xray), then the same client as tracing_none."""

import os
from typing import Any

from aws_xray_sdk.core import patch, xray_recorder
from botocore.session import get_session

xray_recorder.configure(context_missing="IGNORE_ERROR", service="bench")
patch(["botocore"])
dynamodb = get_session().create_client("dynamodb", region_name=os.environ["AWS_REGION"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Only the init cost matters here."""
    return {"statusCode": 204, "body": ""}
