"""The floor: a handler module that only creates a boto3 DynamoDB client at init.

No real handler can start faster than this while talking to DynamoDB through the SDK.
"""

from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer without doing any work: only the init cost matters for this baseline."""
    return {"statusCode": 204, "body": ""}
