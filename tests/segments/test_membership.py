"""Stored membership follows rules and data, with history, in dependency order."""

import pytest

from contacts import services as contact_services
from segments import membership, services
from segments.models import Segment, SegmentChange, SegmentMember, Source
from segments.query import load_catalog
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def members(segment) -> set[str]:
    return set(
        SegmentMember.objects.filter(segment=segment).values_list("contact__email", flat=True)
    )


def count(segment) -> int:
    segment.refresh_from_db()
    assert segment.member_count == SegmentMember.objects.filter(segment=segment).count()
    return segment.member_count


@pytest.fixture
def ws():
    return WorkspaceFactory()


def filter_segment(ws, name, rule, capture):
    with capture(execute=True):
        return services.segment_create(workspace=ws, name=name, kind="filter", conditions=rule)


def test_a_new_filter_segment_fills_and_its_entries_do_not_trigger(
    ws, django_capture_on_commit_callbacks
):
    ContactFactory(workspace=ws, email="a@x.io", country="DE")
    ContactFactory(workspace=ws, email="b@x.io", country="FR")
    segment = filter_segment(
        ws,
        "Germans",
        {"all": [{"field": "country", "op": "eq", "value": "de"}]},
        django_capture_on_commit_callbacks,
    )
    assert members(segment) == {"a@x.io"}
    assert count(segment) == 1
    entry = SegmentChange.objects.get(segment=segment)
    assert (entry.action, entry.source, entry.triggers) == ("entered", Source.RULE, False)


def test_rule_change_diffs_members(ws, django_capture_on_commit_callbacks):
    for email, country in [("a@x.io", "DE"), ("b@x.io", "FR"), ("c@x.io", "US")]:
        ContactFactory(workspace=ws, email=email, country=country)
    segment = filter_segment(
        ws,
        "EU",
        {"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]}]},
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.segment_update(
            segment=segment,
            conditions={"all": [{"field": "country", "op": "in", "value": ["FR", "US"]}]},
        )
    assert members(segment) == {"b@x.io", "c@x.io"}
    assert count(segment) == 2
    history = set(
        SegmentChange.objects.filter(segment=segment).values_list(
            "contact__email", "action", "triggers"
        )
    )
    assert ("a@x.io", "left", True) in history
    assert ("c@x.io", "entered", False) in history


def test_data_changes_move_people_in_and_out(ws, django_capture_on_commit_callbacks):
    contact = ContactFactory(workspace=ws, email="a@x.io", country="FR")
    segment = filter_segment(
        ws,
        "DE",
        {"all": [{"field": "country", "op": "eq", "value": "DE"}]},
        django_capture_on_commit_callbacks,
    )
    assert members(segment) == set()
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(contact=contact, data={"country": "de"})
    assert members(segment) == {"a@x.io"}
    entry = SegmentChange.objects.get(segment=segment, action="entered")
    assert (entry.source, entry.triggers) == (Source.DATA, True)
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(contact=contact, data={"country": "AT"})
    assert members(segment) == set()
    assert count(segment) == 0


def test_tags_and_events_are_followed(ws, django_capture_on_commit_callbacks):
    contact = ContactFactory(workspace=ws, email="a@x.io")
    vip = filter_segment(
        ws, "VIP", {"all": [{"tag": "vip", "op": "has"}]}, django_capture_on_commit_callbacks
    )
    buyers = filter_segment(
        ws,
        "Buyers",
        {"all": [{"event": "purchase", "op": "at_least", "count": 1}]},
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_tags_add(contact=contact, names=["VIP"])
        contact_services.events_record(
            workspace=ws, items=[{"contact": {"email": "A@x.io"}, "name": "purchase"}]
        )
    assert members(vip) == {"a@x.io"} and members(buyers) == {"a@x.io"}
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_tags_remove(contact=contact, names=["vip"])
    assert members(vip) == set()


def test_only_rules_that_read_the_change_are_evaluated(
    ws, django_capture_on_commit_callbacks, monkeypatch
):
    contact = ContactFactory(workspace=ws, email="a@x.io", country="FR")
    by_country = filter_segment(
        ws,
        "FR",
        {"all": [{"field": "country", "op": "eq", "value": "FR"}]},
        django_capture_on_commit_callbacks,
    )
    by_tag = filter_segment(
        ws, "Tagged", {"all": [{"tag": "*", "op": "has"}]}, django_capture_on_commit_callbacks
    )
    evaluated = []
    original = membership.refresh_filter_segment
    monkeypatch.setattr(
        membership,
        "refresh_filter_segment",
        lambda segment, **kw: evaluated.append(segment.name) or original(segment, **kw),
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_tags_add(contact=contact, names=["new"])
    assert "Tagged" in evaluated and "FR" not in evaluated
    assert members(by_tag) == {"a@x.io"} and members(by_country) == {"a@x.io"}


def test_segments_that_name_segments_follow_in_dependency_order(
    ws, django_capture_on_commit_callbacks
):
    contact = ContactFactory(workspace=ws, email="a@x.io", country="FR", score=0)
    french = filter_segment(
        ws,
        "French",
        {"all": [{"field": "country", "op": "eq", "value": "FR"}]},
        django_capture_on_commit_callbacks,
    )
    # Created before its dependency changes, with a lower id than a later segment it names.
    not_french = filter_segment(
        ws,
        "Not French",
        {"all": [{"segment": french.pk, "op": "not_in"}]},
        django_capture_on_commit_callbacks,
    )
    assert members(not_french) == set()
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(contact=contact, data={"country": "DE"})
    assert members(french) == set()
    assert members(not_french) == {"a@x.io"}


def test_manual_members_reach_rules_that_name_the_segment(ws, django_capture_on_commit_callbacks):
    ContactFactory(workspace=ws, email="a@x.io")
    manual = services.segment_create(workspace=ws, name="Picked", kind="manual")
    follower = filter_segment(
        ws,
        "Picked too",
        {"all": [{"segment": manual.pk, "op": "in"}]},
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = services.segment_members_add(
            segment=manual, lookup="email", values=[" A@X.io", "no@x.io"]
        )
    assert (result.changed, result.unchanged, result.not_found) == (1, 0, ["no@x.io"])
    assert members(follower) == {"a@x.io"}
    assert count(manual) == 1


def test_time_based_rules_refresh_on_schedule(ws, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.models import Contact

    contact = ContactFactory(workspace=ws, email="a@x.io")
    recent = filter_segment(
        ws,
        "Recent",
        {"all": [{"field": "created_at", "op": "within_last_days", "value": 7}]},
        django_capture_on_commit_callbacks,
    )
    assert members(recent) == {"a@x.io"}
    Contact.objects.filter(pk=contact.pk).update(created_at=timezone.now() - timedelta(days=8))
    result = membership.refresh_time_based(ws.pk)
    assert members(recent) == set()
    assert result.diffs[recent.pk].left == 1
    left = SegmentChange.objects.get(segment=recent, action="left")
    assert left.source == Source.SCHEDULE


def test_default_segments_of_a_new_workspace():
    from workspaces.services import workspace_create

    workspace = workspace_create(name="Fresh")
    names = set(Segment.objects.filter(workspace=workspace).values_list("name", flat=True))
    assert names == {
        "Contacts created <7 days ago",
        "Contacts inactive >30 days",
        "Contacts with tags",
        "Country known",
        "Language known",
    }
    assert set(Segment.objects.filter(workspace=workspace).values_list("origin", flat=True)) == {
        "default"
    }


def test_deleting_contacts_keeps_counts_true(ws, django_capture_on_commit_callbacks, admin_client):
    from contacts.models import Contact

    for i in range(3):
        ContactFactory(workspace=ws, email=f"p{i}@x.io", country="DE")
    segment = filter_segment(
        ws,
        "DE",
        {"all": [{"field": "country", "op": "eq", "value": "DE"}]},
        django_capture_on_commit_callbacks,
    )
    manual = services.segment_create(workspace=ws, name="Hand", kind="manual")
    services.segment_members_add(segment=manual, lookup="email", values=["p0@x.io", "p1@x.io"])
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_delete(contact=Contact.objects.get(email="p0@x.io"))
    assert (count(segment), count(manual)) == (2, 1)
    # Deleting from Django admin keeps them true as well.
    victim = Contact.objects.get(email="p1@x.io")
    response = admin_client.post(f"/admin/contacts/contact/{victim.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert (count(segment), count(manual)) == (1, 0)


def test_people_whose_data_changed_after_the_rule_trigger_whoever_comes_first(ws):
    """The rule's first refresh may run after a contact made since the rule: that
    contact entered because of its data, so its entry triggers campaigns."""
    ContactFactory(workspace=ws, email="before@x.io", country="DE")
    segment = services.segment_create(  # its refresh is queued, not run yet
        workspace=ws,
        name="DE",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    later = ContactFactory(workspace=ws, email="after@x.io", country="FR")
    contact_services.contact_update(contact=later, data={"country": "DE"})
    membership.refresh_segment_and_dependents(segment, source=Source.RULE)
    triggers = dict(
        SegmentChange.objects.filter(segment=segment).values_list("contact__email", "triggers")
    )
    assert triggers == {"before@x.io": False, "after@x.io": True}


def test_ten_thousand_changed_ids_travel_as_one_parameter_in_few_statements(ws):
    """The engine re-evaluates 10,000 changed contacts with statements of a handful
    of parameters (the ids are one array / one JSON list), and on PostgreSQL leave,
    enter, history and count are one statement after the segment's lock."""
    from django.db import connection

    from contacts.models import Contact

    Contact.objects.bulk_create(
        Contact(workspace=ws, email=f"p{i}@x.io", country="DE" if i % 3 else "FR", score=i % 100)
        for i in range(10_000)
    )
    segment = Segment.objects.create(
        workspace=ws,
        name="Keen Germans",
        kind="filter",
        conditions={
            "all": [
                {"field": "country", "op": "eq", "value": "DE"},
                {"field": "score", "op": "gte", "value": 50},
            ]
        },
    )
    ids = list(Contact.objects.filter(workspace=ws).values_list("pk", flat=True))
    assert len(ids) == 10_000
    catalog = load_catalog(ws.pk)
    executed = []

    def record(execute, sql, params, many, context):
        executed.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        diff = membership.refresh_filter_segment(
            segment, source=Source.DATA, contact_ids=ids, catalog=catalog
        )
    expected = {
        pk
        for pk, country, score in Contact.objects.filter(workspace=ws).values_list(
            "pk", "country", "score"
        )
        if country == "DE" and score >= 50
    }
    assert diff.entered == len(expected) > 3000 and diff.left == 0
    assert (
        set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))
        == expected
    )
    assert count(segment) == len(expected)
    assert SegmentChange.objects.filter(segment=segment, action="entered").count() == len(expected)
    assert max(n for _, n in executed) < 30  # not 10,000 placeholders
    # (pg_class: the members table's size, read once rows moved pass a bar; see
    # membership._moved.)
    writes = [sql for sql, _ in executed if "SET LOCAL" not in sql and "pg_class" not in sql]
    # The segment's lock, then one statement (PostgreSQL) or five (SQLite).
    assert len(writes) == (2 if connection.vendor == "postgresql" else 6)

    # They change: who no longer matches leaves, in the same one statement.
    Contact.objects.filter(pk__in=ids[:5000]).update(country="FR")
    executed.clear()
    with connection.execute_wrapper(record):
        diff = membership.refresh_filter_segment(
            segment, source=Source.DATA, contact_ids=ids, catalog=catalog
        )
    left = expected & set(ids[:5000])
    assert diff.left == len(left) > 0 and diff.entered == 0
    assert count(segment) == len(expected - left)
    assert max(n for _, n in executed) < 30


@pytest.mark.parametrize("many_up_to", [0, 100], ids=["segment by segment", "levels at once"])
def test_the_segments_of_a_batch_share_one_transaction(ws, monkeypatch, many_up_to):
    """refresh_contacts re-evaluates every affected segment in one transaction: a
    failure at the second segment leaves the first as it was (nothing half done),
    and JIT is off for the batch on PostgreSQL; whether the segments go one by one
    or a dependency level at a time (membership_many)."""
    from django.db import connection

    from contacts.changes import Change
    from segments import membership_many

    monkeypatch.setattr(membership, "MANY_RULES_UP_TO", many_up_to)
    contact = ContactFactory(workspace=ws, email="a@x.io", country="DE", company="Pro")
    germans = Segment.objects.create(
        workspace=ws,
        name="Germans",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    pros = Segment.objects.create(  # with Germans, the first level holds two
        workspace=ws,
        name="Pros",
        kind="filter",
        conditions={"all": [{"field": "company", "op": "eq", "value": "Pro"}]},
    )
    pro = Segment.objects.create(
        workspace=ws,
        name="Pro Germans",
        kind="filter",
        conditions={
            "all": [
                {"segment": germans.pk, "op": "in"},
                {"field": "company", "op": "eq", "value": "Pro"},
            ]
        },
    )
    real_one, real_level, seen = (
        membership.refresh_filter_segment,
        membership_many.refresh_level,
        [],
    )

    def jit() -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW jit")
                seen.append(cursor.fetchone()[0])

    def one_fails(segment, **kwargs):
        jit()
        if segment.pk == pro.pk:
            raise RuntimeError("worker killed")
        return real_one(segment, **kwargs)

    def level_fails(segment_ids, contact_ids, **kwargs):
        jit()
        if pro.pk in segment_ids:
            raise RuntimeError("worker killed")
        return real_level(segment_ids, contact_ids, **kwargs)

    monkeypatch.setattr(membership, "refresh_filter_segment", one_fails)
    monkeypatch.setattr(membership_many, "refresh_level", level_fails)
    with pytest.raises(RuntimeError):
        membership.refresh_contacts(ws.pk, [contact.pk], Change(fields={"country", "company"}))
    # rolled back with the batch
    assert members(germans) == members(pros) == set() and count(germans) == count(pros) == 0
    assert not SegmentChange.objects.exists()
    assert set(seen) <= {"off"}

    monkeypatch.setattr(membership, "refresh_filter_segment", real_one)
    monkeypatch.setattr(membership_many, "refresh_level", real_level)
    result = membership.refresh_contacts(ws.pk, [contact.pk], Change(fields={"country", "company"}))
    assert set(result.diffs) == {germans.pk, pros.pk, pro.pk}
    assert members(germans) == members(pros) == members(pro) == {"a@x.io"}
    assert count(germans) == count(pros) == count(pro) == 1


def test_manual_members_added_and_removed_with_history_and_count(ws):
    """add_members / remove_members: the rows, their history and the count in step
    (one statement on PostgreSQL), and an empty selection is nothing to do."""
    from contacts.models import Contact

    contacts = [ContactFactory(workspace=ws, email=f"m{i}@x.io") for i in range(4)]
    segment = Segment.objects.create(workspace=ws, name="List", kind="manual")
    chosen = Contact.objects.filter(pk__in=[c.pk for c in contacts[:3]]).values("id")
    assert membership.add_members(segment, chosen, source=Source.MANUAL) == 3
    assert (
        membership.add_members(segment, Contact.objects.none().values("id"), source=Source.MANUAL)
        == 0
    )
    assert count(segment) == 3
    leaving = SegmentMember.objects.filter(segment=segment, contact_id=contacts[0].pk)
    assert membership.remove_members(segment, leaving, source=Source.MANUAL) == 1
    assert (
        membership.remove_members(segment, SegmentMember.objects.none(), source=Source.MANUAL) == 0
    )
    assert count(segment) == 2
    assert members(segment) == {"m1@x.io", "m2@x.io"}
    history = SegmentChange.objects.filter(segment=segment)
    assert sorted(history.values_list("action", flat=True)) == ["entered"] * 3 + ["left"]


@pytest.mark.parametrize("table_rows, analyzed_at", [(0, 3), (100, 20)])
def test_small_refreshes_that_add_up_refresh_the_statistics(
    ws, monkeypatch, django_capture_on_commit_callbacks, table_rows, analyzed_at
):
    """PostgreSQL plans on the members table's statistics: after small refreshes
    that together moved STALE_SHARE of the table as last counted (here at least 3
    rows), the table is analyzed, once; a big table's statistics stay true longer."""
    from django.db import connection

    from contacts.changes import Change
    from contacts.models import Contact

    if connection.vendor != "postgresql":
        pytest.skip("statistics are PostgreSQL's")
    analyzed = []
    monkeypatch.setattr(membership, "ANALYZE_MIN_ROWS", 3)
    monkeypatch.setattr(membership, "_stale_at", 3)
    monkeypatch.setattr(membership, "_moved_since_analyze", 0)
    counted = [table_rows]

    def analyze() -> None:  # ANALYZE counts the table again
        analyzed.append(1)
        counted[0] = 1000

    monkeypatch.setattr(membership, "_members_counted", lambda: counted[0])
    monkeypatch.setattr(membership, "_analyze_members", analyze)
    contacts = [ContactFactory(workspace=ws, country="FR") for _ in range(24)]
    germans = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
    filter_segment(ws, "Germans", germans, django_capture_on_commit_callbacks)
    for number, contact in enumerate(contacts, start=1):
        Contact.objects.filter(pk=contact.pk).update(country="DE")
        with django_capture_on_commit_callbacks(execute=True):
            membership.refresh_contacts(ws.pk, [contact.pk], Change(fields={"country"}))
        assert len(analyzed) == (1 if number >= analyzed_at else 0), number
