"""Fixtures shared across the suite live in tests/support; this file registers them once."""

pytest_plugins = ["tests.support.inprocess"]
