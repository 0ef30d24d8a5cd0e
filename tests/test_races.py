"""Two requests racing on the same data each get one of the contract's answers, never
a 500 (api.md, Errors): real threads, each with its own connection, on PostgreSQL
(SQLite writes one transaction at a time, so nothing races there). Each race is run
many times, started together at a barrier, so the window is hit."""

import json
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from contacts.models import Contact
from segments import services as segment_services
from segments.models import Segment, SegmentDependency
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role
from workspaces.services import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 20  # the issue saw the delete/save race lose 15 times in 20
SHORT = 10  # races the writer already answered before these tests


@pytest.fixture(autouse=True)
def _postgres_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: these races are PostgreSQL's")
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9
    cache.clear()


def race(*calls):
    """Run the calls at once, one thread each; their answers (or exceptions), in order."""
    barrier = threading.Barrier(len(calls))
    answers = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            answers[index] = call()
        except Exception as exc:  # reported by the test, not lost in the thread
            answers[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def api_call(raw_key: str, method: str, path: str, body=None):
    """A call of the API as an integration makes it; (status, JSON body or None)."""

    def call():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", raise_request_exception=False)
        data = json.dumps(body) if body is not None else ""
        response = getattr(client, method)(f"/api/v1{path}", data, content_type="application/json")
        return response.status_code, (response.json() if response.content else None)

    return call


def _code(answer) -> str | None:
    return answer[1]["error"]["code"] if answer[1] and "error" in answer[1] else None


@pytest.fixture
def workspace_key():
    workspace = WorkspaceFactory()
    return workspace, api_key_create(workspace=workspace, name="race")[1]


def test_deleting_a_segment_while_a_rule_is_saved_to_name_it(workspace_key):
    """Either the delete wins (204) and the save is refused as a rule naming a
    segment that no longer exists (400 invalid_conditions), or the save wins (200)
    and the delete is refused because the rule uses it (409 segment_in_use)."""
    workspace, key = workspace_key
    outcomes = set()
    for n in range(ROUNDS):
        target = segment_services.segment_create(workspace=workspace, name=f"X{n}", kind="manual")
        user = segment_services.segment_create(
            workspace=workspace,
            name=f"Y{n}",
            kind="filter",
            conditions={"all": [{"field": "email", "op": "exists"}]},
        )
        rule = {"all": [{"segment": target.pk, "op": "in"}]}
        deleted, saved = race(
            api_call(key, "delete", f"/segments/{target.pk}"),
            api_call(key, "patch", f"/segments/{user.pk}", {"conditions": rule}),
        )
        assert not isinstance(deleted, Exception) and not isinstance(saved, Exception)
        pair = (deleted[0], saved[0])
        assert pair in {(204, 400), (409, 200)}, (n, deleted, saved)
        user.refresh_from_db()
        if pair == (204, 400):
            assert _code(saved) == "invalid_conditions"
            assert not Segment.objects.filter(pk=target.pk).exists()
            assert user.conditions != rule
        else:
            assert _code(deleted) == "segment_in_use"
            assert user.conditions == rule
            assert SegmentDependency.objects.filter(segment=user, depends_on=target).exists()
        outcomes.add(pair)
    print(f"outcomes over {ROUNDS} races: {sorted(outcomes)}")


def test_creating_a_segment_whose_rule_names_one_being_deleted(workspace_key):
    workspace, key = workspace_key
    for n in range(ROUNDS):
        target = segment_services.segment_create(workspace=workspace, name=f"X{n}", kind="manual")
        body = {
            "name": f"New {n}",
            "kind": "filter",
            "conditions": {"all": [{"segment": target.pk, "op": "not_in"}]},
        }
        deleted, created = race(
            api_call(key, "delete", f"/segments/{target.pk}"),
            api_call(key, "post", "/segments", body),
        )
        pair = (deleted[0], created[0])
        assert pair in {(204, 400), (409, 201)}, (n, deleted, created)
        assert (_code(created) == "invalid_conditions") == (pair == (204, 400))


def test_two_upserts_of_one_new_email_both_succeed(workspace_key):
    """The second upsert updates the contact the first created: neither is refused."""
    workspace, key = workspace_key
    for n in range(SHORT):
        email = f"new{n}@example.com"
        calls = [
            api_call(
                key,
                "post",
                "/contacts/upsert",
                {"match_on": "email", "contacts": [{"email": spelling, "first_name": f"T{i}"}]},
            )
            for i, spelling in enumerate((email, email.upper()))
        ]
        answers = race(*calls)
        assert [a[0] for a in answers] == [200, 200], answers
        assert [a[1]["errors"] for a in answers] == [[], []]
        assert sorted((a[1]["created"], a[1]["updated"]) for a in answers) == [(0, 1), (1, 0)]
        assert Contact.objects.filter(workspace=workspace, email__iexact=email).count() == 1


def test_two_creates_of_one_new_email(workspace_key):
    """POST /contacts twice with one email: one 201, the other 409 duplicate_contact."""
    workspace, key = workspace_key
    for n in range(SHORT):
        body = {"email": f"twice{n}@example.com"}
        answers = race(*(api_call(key, "post", "/contacts", body) for _ in range(2)))
        assert sorted(a[0] for a in answers) == [201, 409], answers
        assert "duplicate_contact" in {_code(a) for a in answers}


def test_two_people_create_one_contact_on_the_page(workspace_key):
    """The contact form, sent twice at once with one email: one contact, and the other
    person sees the form again with the error beside the email (no 500)."""
    workspace, _ = workspace_key
    users = [UserFactory(), UserFactory()]
    for user in users:
        MembershipFactory(workspace=workspace, user=user, role=Role.MARKETER)

    def create(user, email):
        def call():
            client = Client(raise_request_exception=False)
            client.force_login(user)
            return client.post("/contacts/new/", {"email": email, "score": "0"}).status_code

        return call

    for n in range(SHORT):
        email = f"page{n}@example.com"
        answers = race(*(create(user, email) for user in users))
        assert sorted(answers) == [302, 400], answers
        assert Contact.objects.filter(workspace=workspace, email=email).count() == 1


def test_two_rules_saved_at_once_to_name_each_other(workspace_key):
    """A cycle: one save wins (200), the other is refused for the loop it would make
    (400 invalid_conditions); neither deadlocks into a 500."""
    workspace, key = workspace_key
    for n in range(ROUNDS):
        a, b = (
            segment_services.segment_create(
                workspace=workspace,
                name=f"{letter}{n}",
                kind="filter",
                conditions={"all": [{"field": "email", "op": "exists"}]},
            )
            for letter in "AB"
        )
        answers = race(
            api_call(key, "patch", f"/segments/{a.pk}", {"conditions": _naming(b)}),
            api_call(key, "patch", f"/segments/{b.pk}", {"conditions": _naming(a)}),
        )
        assert sorted(answer[0] for answer in answers) == [200, 400], (n, answers)
        assert "invalid_conditions" in {_code(answer) for answer in answers}


def _naming(segment):
    return {"all": [{"segment": segment.pk, "op": "in"}]}
