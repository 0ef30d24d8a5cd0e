"""Fixtures of the API tests, loaded with `pytest_plugins = ["tests.api_fixtures"]`."""

import pytest
from django.core.cache import cache

from tests.api_helpers import ApiClient
from workspaces.services import api_key_create


@pytest.fixture
def fresh_rate_limits():
    # The per-key counters live in the cache (Redis in some runs): start each test clean.
    # Not autouse: loaded as a plugin, an autouse fixture would run for every test.
    cache.clear()


@pytest.fixture
def api_key(workspace, fresh_rate_limits):
    return api_key_create(workspace=workspace, name="CRM sync")


@pytest.fixture
def api(api_key):
    """A client with a key of `workspace`."""
    return ApiClient(api_key[1])


@pytest.fixture
def other_api(other_workspace, fresh_rate_limits):
    """A client with a key of `other_workspace`."""
    return ApiClient(api_key_create(workspace=other_workspace, name="Other")[1])
