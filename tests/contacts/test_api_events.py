"""POST /events of the JSON API (api.md), checked against the database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Event
from tests.api_helpers import error_code
from tests.factories import ContactFactory

pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api, other_api


@pytest.fixture
def ann(workspace):
    return ContactFactory(workspace=workspace, email="Ann@Example.com", external_id="CRM-1")


def test_one_event_is_recorded_for_the_contact_by_email(workspace, ann, api):
    response = api.post(
        "/events",
        {
            "contact": {"email": "  ann@example.COM "},
            "name": "purchase",
            "occurred_at": "2024-05-01T10:00:00+02:00",
            "properties": {"amount": 42.5, "items": ["a", "b"]},
        },
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "errors": []}
    event = Event.objects.get()
    assert (event.contact_id, event.workspace_id, event.name) == (ann.id, workspace.id, "purchase")
    assert event.occurred_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert event.properties == {"amount": 42.5, "items": ["a", "b"]}
    ann.refresh_from_db()
    assert ann.last_activity_at == event.occurred_at


@pytest.mark.parametrize("who", [{"external_id": "crm-1"}, {"external_id": " CRM-1 "}, "id"])
def test_the_contact_may_be_named_by_id_or_external_id(ann, api, who):
    who = {"id": ann.id} if who == "id" else who
    response = api.post("/events", {"contact": who, "name": "login"})
    assert response.json() == {"accepted": 1, "errors": []}
    assert Event.objects.get().contact_id == ann.id


def test_occurred_at_defaults_to_now(ann, api):
    before = timezone.now()
    api.post("/events", {"contact": {"id": ann.id}, "name": "login"})
    event = Event.objects.get()
    assert before <= event.occurred_at <= timezone.now()
    ann.refresh_from_db()
    assert ann.last_activity_at == event.occurred_at


def test_last_activity_moves_forward_only(ann, api):
    recent = timezone.now() - timedelta(hours=1)
    ann.last_activity_at = recent
    ann.save()
    api.post(
        "/events",
        {"contact": {"id": ann.id}, "name": "old", "occurred_at": "2020-01-01T00:00:00Z"},
    )
    ann.refresh_from_db()
    assert ann.last_activity_at == recent
    assert Event.objects.filter(name="old").exists()


def test_a_batch_records_the_good_events_and_reports_the_others(
    workspace, other_workspace, ann, api
):
    bob = ContactFactory(workspace=workspace, email="bob@example.com")
    theirs = ContactFactory(workspace=other_workspace, email="theirs@example.com")
    soon = (timezone.now() + timedelta(hours=20)).isoformat()
    too_late = (timezone.now() + timedelta(days=2)).isoformat()
    events = [
        {"contact": {"email": "ann@example.com"}, "name": "open"},  # 0 ok
        {"contact": {"email": "nobody@example.com"}, "name": "open"},  # 1 unknown
        {"contact": {"id": theirs.id}, "name": "open"},  # 2 another workspace's
        {"contact": {"email": "theirs@example.com"}, "name": "open"},  # 3 the same
        {"contact": {"id": bob.id}, "name": "open", "occurred_at": soon},  # 4 ok
        {"contact": {"id": bob.id}, "name": "open", "occurred_at": too_late},  # 5 future
        {"contact": {"id": bob.id}, "name": "open", "occurred_at": "yesterday"},  # 6
        {"contact": {"id": bob.id, "email": "bob@example.com"}, "name": "x"},  # 7 two keys
        {"contact": {"id": bob.id}},  # 8 no name
        {"contact": {"id": bob.id}, "name": "x", "propertys": {}},  # 9 unknown field
        {"contact": {"id": bob.id}, "name": "x", "properties": [1]},  # 10
        17,  # 11
        {"contact": {"id": "12"}, "name": "x"},  # 12
    ]
    response = api.post("/events", {"events": events})
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert [e["index"] for e in body["errors"]] == list(range(1, 4)) + list(range(5, 13))
    messages = {e["index"]: e["message"] for e in body["errors"]}
    assert "future" in messages[5]
    assert "occurred_at" in messages[6]
    assert "propertys" in messages[9]
    assert sorted(Event.objects.values_list("contact_id", flat=True)) == sorted([ann.id, bob.id])
    assert not Event.objects.filter(workspace=other_workspace).exists()
    assert not Contact.objects.filter(email="nobody@example.com").exists()  # none created
    theirs.refresh_from_db()
    assert theirs.last_activity_at is None


def test_a_single_event_for_an_unknown_contact_is_an_error_and_creates_nothing(workspace, api):
    response = api.post("/events", {"contact": {"email": "ghost@example.com"}, "name": "open"})
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 0
    assert [e["index"] for e in body["errors"]] == [0]
    assert not Contact.objects.exists()
    assert not Event.objects.exists()


def test_more_than_1000_events_are_refused_and_none_saved(ann, api):
    events = [{"contact": {"id": ann.id}, "name": "view"}] * 1001
    response = api.post("/events", {"events": events})
    assert response.status_code == 413
    assert error_code(response) == "too_large"
    assert not Event.objects.exists()


def test_1000_events_are_taken(ann, api):
    events = [{"contact": {"id": ann.id}, "name": "view"}] * 1000
    assert api.post("/events", {"events": events}).json() == {"accepted": 1000, "errors": []}
    assert Event.objects.filter(contact=ann).count() == 1000


@pytest.mark.parametrize(
    "body",
    [
        {"events": [], "name": "x"},
        {"events": "x"},
        {"events": None},
        {"event": []},
        [],
    ],
)
def test_a_malformed_events_body_is_400(ann, api, body):
    response = api.post("/events", body)
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert not Event.objects.exists()
