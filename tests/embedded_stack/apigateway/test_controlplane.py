"""Unit tests of apigateway.controlplane: reading integration URIs into Lambda targets."""

from __future__ import annotations

import pytest

from embedded_stack.apigateway.controlplane import ControlPlaneError, parse_lambda_uri


def test_parse_lambda_uri_with_alias_version_and_stage_variable():
    base = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:get_item"
    assert parse_lambda_uri(f"{base}{arn}:live/invocations", {}).qualifier == "live"
    target = parse_lambda_uri(f"{base}{arn}/invocations", {})
    assert (target.function_name, target.qualifier, target.region, target.account_id) == (
        "get_item",
        None,
        "eu-west-1",
        "111122223333",
    )
    staged = parse_lambda_uri(f"{base}{arn}:${{stageVariables.alias}}/invocations", {"alias": "blue"})
    assert staged.qualifier == "blue"
    with pytest.raises(ControlPlaneError):
        parse_lambda_uri("arn:aws:apigateway:eu-west-1:s3:path/bucket/key", {})
