"""Unit tests of the layer (shared/apikit): in process, moto's mock_aws, a Lambda-like environment.

The fixtures (``aws``, ``api``, ``other``, ``lambda_env``) live in tests/support/inprocess.py.
"""

import pytest


@pytest.fixture(autouse=True)
def _lambda_environment(lambda_env: None) -> None:
    """Every test here runs with the environment Lambda and Terraform give a function."""
