"""However malformed a request, the JSON API answers a JSON error and never a 500,
and a refused request changes nothing (api.md, Errors)."""

import base64
import json

import pytest

from contacts.models import Contact, ContactTag, CustomAttribute, Event, Tag
from tests.api_helpers import API, error_code
from tests.factories import ContactFactory

pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api, other_api

BODY_ROUTES = [
    ("post", "/contacts"),
    ("post", "/contacts/upsert"),
    ("patch", "/contacts/{id}"),
    ("post", "/contacts/{id}/tags"),
    ("post", "/contacts/{id}/tags/remove"),
    ("post", "/events"),
]
ID_ROUTES = [
    ("get", "/contacts/{id}"),
    ("patch", "/contacts/{id}"),
    ("delete", "/contacts/{id}"),
    ("post", "/contacts/{id}/tags"),
    ("post", "/contacts/{id}/tags/remove"),
]


def _deep(levels: int, leaf: str = "1") -> str:
    return '{"properties": ' + '{"a": ' * levels + leaf + "}" * levels + "}"


MALFORMED_BODIES = {
    "not json": "email=ann@example.com",
    "truncated": '{"email": "ann@example.com"',
    "a list": "[]",
    "a string": '"ann@example.com"',
    "a number": "1",
    "null": "null",
    "invalid utf-8": b'{"email": "\xff\xfe"}',
    "10000 nested lists": "[" * 10_000 + "]" * 10_000,
    "10000 nested objects": '{"a": ' * 10_000 + "1" + "}" * 10_000,
    "40 nested objects": _deep(40),
    "NUL in a value": '{"first_name": "A\\u0000nn", "tags": ["x"], "name": "a\\u0000"}',
    "NUL in a key": '{"attributes": {"pl\\u0000an": "x"}}',
    "NUL deep inside": '{"contacts": [{"attributes": {"a": ["\\u0000"]}}], "match_on": "email"}',
    "1e309": '{"score": 1e309, "properties": {"x": 1e309}}',
    "-1e309": '{"score": -1e309}',
    "NaN": '{"score": NaN}',
    "Infinity": '{"score": Infinity}',
    "10**30": f'{{"score": {10**30}, "contact": {{"id": {10**30}}}}}',
    "5000 digits": '{"score": ' + "9" * 5000 + "}",
    "wrong types": '{"email": 5, "first_name": {}, "attributes": "x", "tags": {},'
    ' "match_on": 5, "contacts": 5, "events": 5, "contact": "x", "name": 5}',
}


@pytest.fixture
def target(workspace):
    contact = ContactFactory(workspace=workspace, email="ann@example.com", first_name="Ann")
    contact.tags.create(workspace=workspace, name="vip")
    return contact


def _snapshot():
    return (
        list(Contact.objects.order_by("id").values()),
        Event.objects.count(),
        Tag.objects.count(),
        ContactTag.objects.count(),
        CustomAttribute.objects.count(),
    )


def _assert_json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    return error_code(response)


@pytest.mark.parametrize("name", list(MALFORMED_BODIES))
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_malformed_body_is_400_on_every_route_and_changes_nothing(
    api, target, method, path, name
):
    before = _snapshot()
    response = getattr(api, method)(path.format(id=target.id), raw=MALFORMED_BODIES[name])
    assert _assert_json_error(response, 400) == "invalid"
    assert _snapshot() == before


@pytest.mark.parametrize(
    "contact_id",
    ["0", "-1", "abc", "1.5", "1e3", str(2**63), str(10**30), "9" * 5000, "%00", "1%00", "%20"],
)
@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_a_bad_id_in_the_path_is_400_or_404_and_changes_nothing(
    api, target, method, path, contact_id
):
    before = _snapshot()
    path = path.format(id=contact_id)
    body = {"tags": ["vip"]} if "tags" in path else {"first_name": "X"}
    if method == "get":
        response = api.get(path)
    elif method == "delete":
        response = api.delete(path)
    else:
        response = getattr(api, method)(path, body)
    assert _assert_json_error(response, 400, 404) in ("invalid", "not_found")
    assert _snapshot() == before


def _cursor(payload) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": str(10**30)},
        {"limit": "NaN"},
        {"limit": "%00"},
        {"cursor": "x"},
        {"cursor": "\x00"},
        {"cursor": _cursor({"d": "n", "v": [10**30]})},
        {"cursor": _cursor({"d": "n", "v": [1e300]})},
        {"cursor": _cursor({"d": "n", "v": ["\x00"]})},
        {"cursor": _cursor({"d": "n", "v": [None]})},
        {"cursor": _cursor({"d": "n", "v": [1, 2]})},
        {"cursor": _cursor({"d": "x", "v": [1]})},
        {"cursor": _cursor([1])},
        {"cursor": "W1s" * 2000},
        {"email": "ann@example.com\x00"},
        {"external_id": "\x00"},
        {"tag": "vip\x00"},
        {"q": "a\x00b"},
        {"q": "a" * 201},
    ],
)
def test_a_bad_query_is_400(api, target, params):
    response = api.get("/contacts", params)
    assert _assert_json_error(response, 400) == "invalid"


def test_a_body_over_the_size_limit_is_413(api, target, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"match_on": "email", "contacts": [{"email": f"p{i}@example.com"} for i in range(500)]}
    before = _snapshot()
    response = api.post("/contacts/upsert", body)
    assert _assert_json_error(response, 413) == "too_large"
    assert _snapshot() == before


def test_validation_errors_are_400_invalid_naming_the_field(api, target):
    response = api.post("/contacts/upsert", {"match_on": "phone", "contacts": []})
    assert response.status_code == 400  # ninja would say 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "match_on" in error["message"]
    assert error["errors"][0]["field"] == "match_on"


def test_an_unknown_path_is_a_json_404(api):
    for path in ("/nope", "/contacts/1/nope", "/contacts/"):
        response = api.get(path)
        assert _assert_json_error(response, 404) == "not_found"
    # A write to an unknown path is a 404 too, not a CSRF 403 page.
    assert _assert_json_error(api.post("/segments/x/nope", {}), 404) == "not_found"


def test_a_method_a_path_does_not_take_is_a_json_405(api, target):
    response = api.client.put(f"{API}/contacts/{target.id}", "{}", content_type="application/json")
    assert _assert_json_error(response, 405) == "method_not_allowed"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH", "DELETE"}


# ---------------------------------------------------------------- schema and docs


def test_the_openapi_schema_describes_every_route(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths["/api/v1/contacts"]) == {"get", "post"}
    assert set(paths["/api/v1/contacts/{contact_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/contacts/upsert"]) == {"post"}
    assert set(paths["/api/v1/contacts/{contact_id}/tags"]) == {"post"}
    assert set(paths["/api/v1/contacts/{contact_id}/tags/remove"]) == {"post"}
    assert set(paths["/api/v1/events"]) == {"post"}
    contact = schema["components"]["schemas"]["ContactOut"]["properties"]
    assert "attributes" in contact and "last_activity_at" in contact
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_its_scripts_from_this_site(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui-init.js" in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
