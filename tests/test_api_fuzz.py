"""schemathesis against our own OpenAPI schema (/api/v1/openapi.json), in process
through the WSGI app, with an API key of a test workspace: for every operation,
requests generated from the schema (valid ones and, past them, invalid ones) must
get no 5xx, and every answer must be one the schema documents: its status, its
content type, its body (api.md: the schema documents every status a route can
answer, with the error body).

Bounded and deterministic: at most MAX_EXAMPLES requests per operation, drawn from a
fixed seed (derandomize), no shrinking and no deadline, so CI cannot fail by chance.
About half of the ids in paths name real objects of the workspace, so the routes get
past their 404."""

import json

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.api import api
from segments import services as segment_services
from tests.factories import ContactFactory, WorkspaceFactory
from workspaces.services import api_key_create

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzzed(db, settings):
    """The workspace the key belongs to, with a contact and a manual segment."""
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9
    cache.clear()
    workspace = WorkspaceFactory()
    contact = ContactFactory(workspace=workspace, email="ann@example.com")
    segment = segment_services.segment_create(workspace=workspace, name="VIP", kind="manual")
    segment_services.segment_members_add(segment=segment, lookup="id", values=[contact.pk])
    raw_key = api_key_create(workspace=workspace, name="fuzz")[1]
    return {"key": raw_key, "contact_id": contact.pk, "segment_id": segment.pk}


@pytest.fixture(autouse=True)
def _one_connection():
    """Like Django's test client: the WSGI app must not close the connection after
    each request, which holds the test's transaction (PostgreSQL would lose it)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


# The schema as the API serves it, read once at collection (no database needed);
# requests go to the WSGI app, in this process, inside each test's transaction.
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(api.get_openapi_schema())))
schema.app = get_wsgi_application()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_answers_what_its_schema_says(case, fuzzed):
    for name, value in list((case.path_parameters or {}).items()):
        # An even id names the workspace's own object: the route gets past its 404.
        if name in fuzzed and isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = fuzzed[name]
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzzed['key']}"}, checks=CHECKS)
