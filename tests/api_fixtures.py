"""Fixtures of the API tests, loaded with `pytest_plugins = ["tests.api_fixtures"]`."""

import pytest
from django.core.cache import cache

from tests.api_helpers import ApiClient
from workspaces.services import api_key_create


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The per-key counters live in the cache (Redis in some runs): start each test clean.
    cache.clear()
    yield


@pytest.fixture
def api_key(workspace):
    return api_key_create(workspace=workspace, name="CRM sync")


@pytest.fixture
def api(api_key):
    """A client with a key of `workspace`."""
    return ApiClient(api_key[1])


@pytest.fixture
def other_api(other_workspace):
    """A client with a key of `other_workspace`."""
    return ApiClient(api_key_create(workspace=other_workspace, name="Other")[1])
