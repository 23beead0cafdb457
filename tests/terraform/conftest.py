"""Terraform tests need the terraform binary; without it they skip loudly (never silently pass)."""

from __future__ import annotations

import pytest

from tests.terraform.harness import terraform_missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = terraform_missing()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"TERRAFORM TESTS SKIPPED: {reason}")
    for item in items:
        if "terraform" in item.keywords:
            item.add_marker(skip)
