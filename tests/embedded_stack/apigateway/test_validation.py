"""Unit tests of apigateway.validation: which request model applies to a content type."""

from __future__ import annotations

from embedded_stack.apigateway.validation import select_model


def test_model_selection_by_content_type():
    models = {"application/json": "Item"}
    assert select_model(models, None) == "Item"
    assert select_model(models, "application/json; charset=utf-8") == "Item"
    assert select_model(models, "text/plain") is None
    assert select_model({"$default": "Any"}, "text/plain") == "Any"
