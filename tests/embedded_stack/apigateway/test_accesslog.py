"""Unit tests of apigateway.accesslog: rendering the stage's access log format."""

from __future__ import annotations

import json

from embedded_stack.apigateway.accesslog import render


def test_access_log_render_never_logs_key_values():
    line = render(
        '{"k":"$context.identity.apiKey","id":"$context.identity.apiKeyId","m":"$context.x","s":$context.status}',
        {"identity.apiKey": "secret", "identity.apiKeyId": "kid", "status": "200"},
    )
    assert json.loads(line) == {"k": "-", "id": "kid", "s": 200, "m": "-"}
