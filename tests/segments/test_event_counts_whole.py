"""A rule evaluated over the whole workspace (the builder's preview) counts "did it at
least N times in a window" once for the workspace, from the events index, instead of
once per contact; it selects the same people either way."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from segments import selectors
from segments.query import compile_rule, load_catalog
from tests.factories import ContactFactory, EventFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db
TWICE = {"all": [{"event": "purchase", "op": "at_least", "count": 2, "within_days": 30}]}


def selected(ws, rule, *, whole: bool) -> set[int]:
    q = compile_rule(rule, catalog=load_catalog(ws.pk), whole=whole)
    return set(Contact.objects.filter(workspace=ws).filter(q).values_list("pk", flat=True))


@pytest.fixture
def people():
    ws, other = WorkspaceFactory(), WorkspaceFactory()
    now = timezone.now()
    recent, old = now - timedelta(days=3), now - timedelta(days=40)
    plan = {"none": [], "one": [recent], "two": [recent, recent], "three": [recent] * 3}
    plan |= {"old": [old, old, recent], "signups": []}
    made = {}
    for name, moments in plan.items():
        made[name] = ContactFactory(workspace=ws, first_name=name)
        for at in moments:
            EventFactory(contact=made[name], occurred_at=at)
    for _ in range(2):  # two signups, not purchases
        EventFactory(contact=made["signups"], name="signup", occurred_at=recent)
    stranger = ContactFactory(workspace=other)  # twice, in another workspace
    EventFactory(contact=stranger, occurred_at=recent)
    EventFactory(contact=stranger, occurred_at=recent)
    return ws, made


def test_counted_once_or_per_contact_the_same_people(people):
    ws, made = people
    assert selected(ws, TWICE, whole=True) == {made["two"].pk, made["three"].pk}
    assert selected(ws, TWICE, whole=False) == {made["two"].pk, made["three"].pk}


def test_the_preview_counts_the_events_once_for_the_workspace(people):
    ws, made = people
    with CaptureQueriesContext(connection) as ctx:
        preview = selectors.segment_preview(workspace=ws, conditions=TWICE, cap=10_000)
    assert preview.count == 2
    assert {c.pk for c in preview.sample} == {made["two"].pk, made["three"].pk}
    rule_sql = next(q["sql"] for q in ctx.captured_queries if "contacts_event" in q["sql"])
    assert "HAVING" in rule_sql and "GROUP BY" in rule_sql


@pytest.mark.parametrize(
    "rule",
    [
        # No start to the window: every such event of the workspace would be counted.
        {"event": "purchase", "op": "at_least", "count": 2},
        # A property to look at: not in the index.
        {
            "event": "purchase",
            "op": "at_least",
            "count": 2,
            "within_days": 30,
            "where": [{"property": "amount", "op": "gt", "value": 5}],
        },
    ],
)
def test_otherwise_counted_per_contact(people, rule):
    ws, _ = people
    q = compile_rule({"all": [rule]}, catalog=load_catalog(ws.pk), whole=True)
    sql = str(Contact.objects.filter(q).query)
    assert "HAVING" not in sql
