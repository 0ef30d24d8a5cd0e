"""Hostile values at every page and every API route, as a signed-in owner (a key of
the owner's workspace for the API): no 500 and no logged traceback anywhere
(api.md, Errors: no request, however malformed, gets a 500).

Nothing is listed by hand. The pages are read from the URL resolver and the API
routes from the OpenAPI schema (tests/routes.py); the names a page reads are read
from the project: its templates' inputs, its forms' and filters' fields, and the
`request.GET` / `request.POST` reads in its views. An API body's fields come from the
route's schema. So a new route, field or parameter is attacked the day it is added.

Each request runs in a savepoint rolled back after it, so every route meets the same
data whatever the one before it did (deleted the segment, revoked the key)."""

import html
import json
import logging
import re
from pathlib import Path
from urllib.parse import urlencode

import django_filters
import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from campaigns.models import Campaign, CampaignSegment
from contacts import bulk
from contacts.models import ContactTag, CustomAttribute, Event, Tag, Topic
from imports import services as import_services
from jobs.models import Job
from segments import services as segment_services
from tests.factories import ContactFactory, MembershipFactory, UserFactory, WorkspaceFactory
from tests.routes import OBJECT_OF, api_routes, api_schema, page_urls
from workspaces.models import Role
from workspaces.services import api_key_create, notification_create

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
READS = re.compile(r'request\.(?:GET|POST)\.get(?:list)?\("([\w-]+)"')
LOCAL_APPS = ("workspaces", "jobs", "contacts", "segments", "imports", "campaigns")

# Text from a form or a query string (a browser can only send valid UTF-8 there;
# a lone surrogate arrives inside JSON, as in the rule builder's field).
FORM_VALUES = {
    "NUL": "a\x00b",
    "superscript two": "²",
    "Arabic-Indic three": "٣",
    "negative": "-1",
    "30 digits": "9" * 30,
    "1e309": "1e309",
    "empty": "",
    "10,000 characters": "x" * 10_000,
    "[ x 3000": "[" * 3000,
    "{ x 3000": '{"all": [' * 3000,
    "JSON with a lone surrogate": '{"all": [{"field": "first_name", "op": "eq", '
    '"value": "\\ud800"}], "x\\ud800": "\\udfff"}',
    "JSON with NUL": '{"all": [{"field": "first_name", "op": "eq", "value": "\\u0000"}]}',
    "JSON with 1e309": '{"all": [{"field": "score", "op": "gt", "value": 1e309}]}',
}
BAD_PKS = ["0", "9" * 30, str(2**63)]
# JSON values for API bodies and query parameters. INF stands for a bare 1e309.
INF = "\x01inf\x01"
JSON_VALUES = {
    "NUL": "a\x00b",
    "lone surrogate": "\ud800",
    "superscript two": "²",
    "Arabic-Indic three": "٣",
    "1e309": INF,
    "negative": -1,
    "zero": 0,
    "bigint + 1": 2**63,
    "10**30": 10**30,
    "a missing id": 999_999_999,
    "float": 1.5,
    "true": True,
    "null": None,
    "empty list": [],
    "empty object": {},
    "empty text": "",
    "10,000 characters": "x" * 10_000,
    "list of hostile text": ["a\x00b", "\ud800", "", "²"],
    "list of bad numbers": [-1, 0, 2**63, 999_999_999],
    "list of lists": [[1]],
    "nested 3000": "\x01deep\x01",
}
NESTED_VALUES = [
    JSON_VALUES[k]
    for k in (
        "NUL",
        "lone surrogate",
        "1e309",
        "bigint + 1",
        "empty list",
        "empty object",
        "nested 3000",
        "superscript two",
    )
]
RAW_BODIES = {
    "not JSON": b"ids=1",
    "invalid UTF-8": b'{"name": "\xff"}',
    "[ x 3000": b"[" * 3000,
    "{ x 3000": b'{"a": ' * 3000,
    "a list": b"[]",
    "null": b"null",
    "1e309": b"1e309",
    "lone surrogate key": b'{"\\ud800": 1}',
}


# ---------------------------------------------------------------- discovery


def _app_modules():
    for app in LOCAL_APPS:
        yield from (p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def _templates():
    yield from (ROOT / "templates").rglob("*.html")
    for app in LOCAL_APPS:
        yield from (ROOT / app / "templates").rglob("*.html")


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _ours(cls) -> bool:
    return cls.__module__.split(".")[0] in LOCAL_APPS


def page_params() -> tuple[set[str], dict[str, set[str]]]:
    """Every parameter name a page reads, and the literal values a page sends for
    some of them (`action`: `delete`, `preview`...)."""
    names, choices = set(), {}
    for path in _templates():
        for tag in re.findall(r"<(?:input|button|select|textarea)\b[^>]*>", path.read_text()):
            name = re.search(r'\bname="([\w-]+)"', tag)
            value = re.search(r'\bvalue="([\w-]*)"', tag)
            if name:
                names.add(name.group(1))
                if value:
                    choices.setdefault(name.group(1), set()).add(value.group(1))
    for path in _app_modules():
        names.update(
            re.findall(r'request\.(?:GET|POST)\.get(?:list)?\("([\w-]+)"', path.read_text())
        )
    for form in _subclasses(forms.BaseForm):
        if _ours(form):
            names.update(form.base_fields)
    for filterset in _subclasses(django_filters.FilterSet):
        if _ours(filterset):
            names.update(filterset.base_filters)
    for action in bulk.all_actions():  # each action's form is prefixed with its name
        choices.setdefault("action", set()).add(action.name)
        names.update(f"{action.name}-{field}" for field in action.form_class.base_fields)
    names.discard("csrfmiddlewaretoken")
    return names, {name: sorted(values) for name, values in choices.items()}


# ---------------------------------------------------------------- the data


@pytest.fixture
def owned(settings, tmp_path):
    """A workspace with one of everything, signed in as its owner."""
    settings.MEDIA_ROOT = tmp_path
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "a.csv").write_text("email\nann@acme.test\n")
    ws = WorkspaceFactory(name="Acme", slug="acme")
    owner = UserFactory(username="owner")
    MembershipFactory(workspace=ws, user=owner, role=Role.OWNER)
    viewer = MembershipFactory(workspace=ws, user=UserFactory(username="viewer"), role="viewer")
    contact = ContactFactory(workspace=ws, email="ann@acme.test")
    ContactFactory(workspace=ws, email="bob@acme.test", country="FR")
    tag = Tag.objects.create(workspace=ws, name="vip")
    ContactTag.objects.create(contact=contact, tag=tag)
    Event.objects.create(
        workspace=ws, contact=contact, name="signup", occurred_at=contact.created_at
    )
    for key, kind in (("plan", "text"), ("seats", "number"), ("renewal", "date")):
        attribute = CustomAttribute.objects.create(workspace=ws, key=key, type=kind)
    manual = segment_services.segment_create(workspace=ws, name="Manual", kind="manual")
    segment_services.segment_members_add(segment=manual, lookup="id", values=[contact.pk])
    rule = {"all": [{"segment": manual.pk, "op": "in"}, {"tag": "vip", "op": "has"}]}
    segment = segment_services.segment_create(
        workspace=ws, name="Filter", kind="filter", conditions=rule
    )
    campaign = Campaign.objects.create(workspace=ws, name="Welcome")
    CampaignSegment.objects.create(campaign=campaign, segment=manual, role="include")
    job = Job.objects.create(
        workspace=ws, kind="contacts_bulk", title="Tagging", created_by=owner,
        status=Job.Status.RUNNING, result_file="exports/a.csv",
    )  # fmt: skip
    key, raw_key = api_key_create(workspace=ws, name="Sync")
    upload = SimpleUploadedFile("people.csv", b"email,score\nann@acme.test,lots\n")
    imp = import_services.import_create(workspace=ws, user=owner, upload=upload)
    return {
        "workspace": ws,
        "owner": owner,
        "raw_key": raw_key,
        "contact": contact,
        "tag": tag,
        "attribute": attribute,
        "topic": Topic.objects.create(workspace=ws, name="News"),
        "api_key": api_key_create(workspace=ws, name="Other")[0],
        "notification": notification_create(workspace=ws, user=owner, title="Hi", url="/"),
        "membership": viewer,
        "segment": manual,
        "filter_segment": segment,
        "job": job,
        "campaign": campaign,
        "import": imp,
        "ids": {
            "segment": manual.pk,
            "segments": manual.pk,
            "workspace": ws.pk,
            "tag": tag.pk,
            "topics": Topic.objects.first().pk,
        },  # fmt: skip
        "key": key,
    }


class Failures(logging.Handler):
    """Every answer that broke the contract, reported together: a 5xx, or a record
    logged at ERROR (django.request logs each 500 with its traceback; a net like the
    API's DataError handler logs what slipped past the checks)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.found: list[str] = []
        self.requests = 0

    def emit(self, record):
        if record.levelno >= logging.ERROR or "reached the database" in record.getMessage():
            self.records.append(record)

    def send(self, label: str, send, *args, **kwargs):
        self.records.clear()
        with transaction.atomic():
            response = send(*args, **kwargs)
            transaction.set_rollback(True)
        self.requests += 1
        if response.status_code >= 500 or self.records:
            first = self.records[0].getMessage().splitlines()[0][:200] if self.records else ""
            exc = self.records[0].exc_info if self.records else None
            if exc:
                first += f" {exc[0].__name__}: {str(exc[1])[:200]}"
            self.found.append(f"{label}: {response.status_code} {first}")
        return response

    def check(self):
        assert not self.found, f"{len(self.found)} of {self.requests}:\n" + "\n".join(
            self.found[:60]
        )


@pytest.fixture
def failures():
    """Listens on the root logger; django.request's thousands of 4xx warnings stop
    there instead of filling pytest's capture."""
    handler = Failures()
    root, request_logger = logging.getLogger(), logging.getLogger("django.request")
    root.addHandler(handler)
    request_logger.addHandler(handler)
    request_logger.propagate = False
    try:
        yield handler
    finally:
        request_logger.propagate = True
        request_logger.removeHandler(handler)
        root.removeHandler(handler)


def _client(client):
    client.raise_request_exception = False  # a view's exception becomes its 500
    return client


# ---------------------------------------------------------------- pages


def _page_data(names, choices, value, valid_ids, turn: int) -> dict:
    """Every name the pages read set to `value` after a valid id (a view that reads
    one value gets the hostile one, a list gets both); names with literal values
    take one of them, a different one each turn."""
    data = {name: [str(valid_ids.get(name, valid_ids["default"])), value] for name in names}
    for name, values in choices.items():
        data[name] = values[turn % len(values)]
    return data


def test_hostile_values_on_every_page(client, owned, failures):
    client = _client(client)
    client.force_login(owned["owner"])
    names, choices = page_params()
    assert {"q", "ids", "conditions", "segment", "find", "action"} <= names
    valid_ids = {**owned["ids"], "default": owned["contact"].pk}
    routes = list(page_urls(owned))
    routes += [
        (name, path)
        for name, path in page_urls({**owned, "segment": owned["filter_segment"]})
        if OBJECT_OF.get(name) == "segment"
    ]
    ordered = sorted(names)
    for turn, (label, value) in enumerate(FORM_VALUES.items()):
        for index, (name, path) in enumerate(routes):
            get = {n: value for n in names}
            if len(value) > 1000:  # 8 names a request (a different 8 each route), not 60
                get = {n: value for n in (ordered * 2)[index % len(ordered) :][:8]}
            failures.send(f"GET {name} {label}", client.get, path, get)
            data = _page_data(names, choices, value, valid_ids, turn)
            headers = {"HTTP_HX_REQUEST": "true"} if turn % 2 else {}  # both renderings
            failures.send(f"POST {name} {label} {headers}", client.post, path, data, **headers)
    for pk in BAD_PKS:
        for name, path in page_urls(owned, pk=pk):
            if OBJECT_OF.get(name):
                failures.send(f"GET {name} pk={pk}", client.get, path)
                failures.send(f"POST {name} pk={pk}", client.post, path, {"name": "x"})
    failures.check()


def test_each_action_of_each_page_with_hostile_ids(client, owned, failures):
    """Every literal choice (each bulk action, each builder button) with ids that
    are not ids (each page's own values everywhere else)."""
    client = _client(client)
    client.force_login(owned["owner"])
    names, choices = page_params()
    valid_ids = {**owned["ids"], "default": owned["contact"].pk}
    posts = [(n, p) for n, p in page_urls(owned) if n.split(":")[0] in ("contacts", "segments")]
    for value in ("²", "9" * 30):
        for action in choices["action"]:
            data = _page_data(names, {**choices, "action": [action]}, value, valid_ids, 0)
            data["all_matching"] = ""
            for name, path in posts:
                failures.send(f"POST {name} action={action} {value!r}", client.post, path, data)
    failures.check()


def test_a_session_cookie_with_nul_is_not_a_server_error(client, owned, failures):
    client = _client(client)
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    failures.send("GET / with a NUL session cookie", client.get, "/contacts/")
    failures.check()


# ---------------------------------------------------------------- the API


def _deref(schema: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _probes(schema: dict, node: dict, depth: int = 0):
    """Bodies that put each hostile value at each place of a body's schema: at each
    property (alone, the others left out; in a list too where a list is expected),
    and at each property of the objects inside (fewer values there)."""
    node = _deref(schema, node)
    items = _deref(schema, node.get("items") or {})
    if depth:
        for value in JSON_VALUES.values() if depth == 1 else NESTED_VALUES:
            yield value
            if depth == 1 and "array" in str(node.get("type")):
                yield [value]
    if depth >= 3:
        return
    for name, sub in (node.get("properties") or {}).items():
        for probe in _probes(schema, sub, depth + 1):
            yield {name: probe}
    if items.get("properties"):
        for probe in _probes(schema, items, depth + 1):
            yield [probe]


def _encode(document) -> bytes:
    text = json.dumps(document)
    text = text.replace(json.dumps(INF), "1e309")
    return text.replace(json.dumps("\x01deep\x01"), "[" * 3000 + "]" * 3000).encode()


def _api_paths(path: str, owned: dict):
    ids = {"contact_id": owned["contact"].pk, "segment_id": owned["segment"].pk}
    valid = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    yield valid
    if "{" in path:
        for bad in ("²", "٣", "-1", "1e309", *BAD_PKS):
            yield re.sub(r"\{(\w+)\}", bad, path)


def test_hostile_values_on_every_api_route(client, owned, failures):
    client = _client(client)
    schema = api_schema(client)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {owned['raw_key']}"}
    routes = list(api_routes(client))
    assert len(routes) >= 20
    for method, path in routes:
        operation = schema["paths"][path][method]
        params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        send = getattr(client, method)
        for n, url in enumerate(_api_paths(path, owned)):
            label = f"{method.upper()} {url}"
            failures.send(label, client.generic, method.upper(), url, b"{}", **headers)
            if n:  # a hostile id in the path: nothing else of the request matters
                continue
            for name in params:
                for value in FORM_VALUES.values():
                    query = urlencode({name: value})
                    failures.send(
                        f"{label}?{query[:60]}", client.generic, method.upper(), f"{url}?{query}",
                        **headers,
                    )  # fmt: skip
            if body is None:
                continue
            for document in [*map(_encode, _probes(schema, body["schema"])), *RAW_BODIES.values()]:
                failures.send(
                    f"{label} {document[:80]!r}", send, url, document,
                    content_type="application/json", **headers,
                )  # fmt: skip
    failures.check()


# ---------------------------------------------------------------- the answers they get


@pytest.mark.parametrize(
    "body",
    [{"ids": []}, {"emails": []}, {"external_ids": []}, {"ids": [999_999_999]},
     {"ids": ["OTHER"]}, {"emails": ["nobody@acme.test"]}],
)  # fmt: skip
@pytest.mark.parametrize("route", ["members", "members/remove"])
def test_members_calls_matching_nobody_change_nothing(client, owned, other_workspace, route, body):
    """api.md: an empty list, or values none of which is a contact of the workspace,
    is a 200 that adds (removes) nothing, with not_found listing the values."""
    other = ContactFactory(workspace=other_workspace)
    body = {k: [other.pk if v == "OTHER" else v for v in vs] for k, vs in body.items()}
    segment = owned["segment"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {owned['raw_key']}"}
    url = f"/api/v1/segments/{segment.pk}/{route}"
    response = client.post(url, body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["not_found"] == next(iter(body.values()))
    assert answer.get("added", answer.get("removed")) == 0
    assert segment.members.count() == 1


@pytest.mark.parametrize("ids", [[], ["²"], ["٣", "-1", str(2**63)], ["999999999"]])
@pytest.mark.parametrize("route", ["segments:members_add", "segments:members_remove"])
def test_the_members_forms_with_no_valid_id_change_nothing(client, owned, route, ids):
    client.force_login(owned["owner"])
    segment = owned["segment"]
    response = client.post(reverse(route, args=[segment.pk]), {"ids": ids}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert segment.members.count() == 1


def test_a_nul_in_a_page_parameter_is_a_400_that_names_it(client, owned):
    client.force_login(owned["owner"])
    response = client.get("/contacts/", {"q": "ann\x00"})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "The query parameter 'q' contains a NUL character" in page
    response = client.post(f"/segments/{owned['segment'].pk}/settings/", {"name": "a\x00"})
    assert response.status_code == 400
    assert "The form field 'name' contains a NUL" in html.unescape(response.content.decode())


def test_the_api_refuses_unstorable_text_with_a_json_400(client, owned):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {owned['raw_key']}"}
    response = client.get("/api/v1/contacts", {"q": "\x00"}, **headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    url = f"/api/v1/contacts/{owned['contact'].pk}"
    body = '{"first_name": "\\ud800"}'
    response = client.patch(url, body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "first_name contains a lone UTF-16 surrogate (\\ud800), which cannot be stored.",
    }


def test_the_builder_says_what_is_wrong_with_a_rule_it_cannot_read(client, owned):
    client.force_login(owned["owner"])
    for text, words in [("[" * 3000, "nested more than 32 levels"), ("0", "")]:
        response = client.post("/segments/new/", {"name": "Deep", "conditions": text})
        assert response.status_code == 400 and words in response.content.decode()
    response = client.post("/segments/preview/", {"segment": "²", "conditions": "{}"})
    assert response.status_code == 400


# ---------------------------------------------------------------- the admin

ADMIN_VALUES = ["a\x00b", "²", "٣", "-1", "9" * 30, "1e309", "x" * 10_000, "[" * 3000]


def test_hostile_values_in_the_admin(client, owned, failures):
    """Every model's list searched, paged and sorted by hostile values, its page opened
    by an id that is none, and its add form and an object's change form sent with
    every field hostile, as a superuser."""
    from django.contrib import admin

    client = _client(client)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        request = client.get(base).wsgi_request
        fields = list(model_admin.get_form(request)().fields)
        obj = model_admin.get_queryset(request).first()
        forms_at = [f"{base}add/"] + ([f"{base}{obj.pk}/change/"] if obj else [])
        for value in ADMIN_VALUES:
            query = {"q": value, "p": value, "o": value}
            failures.send(f"GET {base} {value[:20]!r}", client.get, base, query)
            change = f"{base}{value[:40]}/change/"
            failures.send(f"GET {change}", client.get, change)
            for url in forms_at:
                data = {field: value for field in fields}
                failures.send(f"POST {url} {value[:20]!r}", client.post, url, data)
    failures.check()


@pytest.mark.parametrize("limit", ["0", "501", "²", "1e309"])
def test_a_page_size_out_of_its_documented_range_is_a_400(client, owned, limit):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {owned['raw_key']}"}
    url = f"/api/v1/segments/{owned['segment'].pk}/members"
    response = client.get(url, {"limit": limit}, **headers)
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["field"] == "limit"
