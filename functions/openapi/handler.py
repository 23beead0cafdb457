"""GET /openapi.json: the API's OpenAPI document, the openapi.json shipped beside this handler.

The document is read once per container and served as is (no parsing: the cold start stays a file
read). That file is committed, and tests keep it equal to what scripts/openapi.py
generates from the manifests and schemas.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from apikit.http import Request, endpoint

DOCUMENT = (Path(__file__).resolve().parent / "openapi.json").read_text(encoding="utf-8")
ETAG = '"' + hashlib.sha256(DOCUMENT.encode("utf-8")).hexdigest()[:32] + '"'


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Take no parameters; answer the document with a content hash as its ETag."""
    request.query_params(allowed=())
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "ETag": ETAG, "Cache-Control": "max-age=300"},
        "body": DOCUMENT,
    }
