"""With a real Celery worker on Redis and PostgreSQL, membership follows changes
made through the API and the services within 5 seconds (api.md)."""

import time

import pytest

from contacts import services as contact_services
from segments import services
from segments.models import SegmentChange, SegmentMember
from tests.api_helpers import ApiClient
from tests.factories import ContactFactory, WorkspaceFactory
from workspaces.services import api_key_create

pytestmark = pytest.mark.services
LIMIT = 5.0


def wait_for(check, worker, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < LIMIT:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {LIMIT} s. Worker log:\n{worker.log()[-4000:]}")


def emails(segment) -> set[str]:
    return set(
        SegmentMember.objects.filter(segment=segment).values_list("contact__email", flat=True)
    )


def test_membership_follows_the_api_and_the_services(celery_worker_process):
    worker = celery_worker_process
    ws = WorkspaceFactory()
    api = ApiClient(api_key_create(workspace=ws, name="CRM")[1])
    ann = ContactFactory(workspace=ws, email="ann@x.io", country="FR")
    germans = services.segment_create(
        workspace=ws,
        name="Germans",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    buyers = services.segment_create(
        workspace=ws,
        name="Buyers",
        kind="filter",
        conditions={"all": [{"event": "purchase", "op": "at_least", "count": 1}]},
    )
    vip = services.segment_create(
        workspace=ws,
        name="VIP Germans",
        kind="filter",
        conditions={"all": [{"segment": germans.pk, "op": "in"}, {"tag": "vip", "op": "has"}]},
    )

    # Through the API: a new contact, a changed field, a tag, an event.
    assert api.post("/contacts", {"email": "bob@x.io", "country": "de"}).status_code == 201
    wait_for(lambda: emails(germans) == {"bob@x.io"}, worker, "a contact created by the API")
    assert api.patch(f"/contacts/{ann.pk}", {"country": "DE"}).status_code == 200
    wait_for(lambda: emails(germans) == {"ann@x.io", "bob@x.io"}, worker, "a field changed")
    assert api.post(f"/contacts/{ann.pk}/tags", {"tags": ["VIP"]}).status_code == 200
    wait_for(lambda: emails(vip) == {"ann@x.io"}, worker, "a tag, and a segment naming one")
    event = {"contact": {"email": "BOB@x.io"}, "name": "purchase"}
    assert api.post("/events", event).status_code == 202
    wait_for(lambda: emails(buyers) == {"bob@x.io"}, worker, "an event")

    # Through the services: a contact leaves, and the segment naming it follows.
    contact_services.contact_update(contact=ann, data={"country": "AT"})
    wait_for(lambda: emails(germans) == {"bob@x.io"} and emails(vip) == set(), worker, "leaving")
    germans.refresh_from_db()
    assert germans.member_count == 1

    # Data changes start campaigns; the entries of a new rule do not.
    entered = SegmentChange.objects.filter(segment=germans, action="entered")
    assert set(entered.values_list("contact__email", "triggers")) == {
        ("bob@x.io", True),
        ("ann@x.io", True),
    }
    services.segment_update(
        segment=germans,
        conditions={"all": [{"field": "country", "op": "in", "value": ["AT", "DE"]}]},
    )
    wait_for(lambda: "ann@x.io" in emails(germans), worker, "a rule change")
    assert (
        SegmentChange.objects.filter(segment=germans, action="entered").latest("at").triggers
        is False
    )
    assert "segments.tasks.work_through" in worker.log()
