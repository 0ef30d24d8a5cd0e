"""A few changed contacts against many rules at once (segments.membership_many) and
rules compiled once (segments.compiled).

The level-at-once path must write exactly what the segment-by-segment path writes:
both run on the same random rules (tests/segments/rulegen.py) and random contacts,
and their members, counts and history are compared. Runs on SQLite and PostgreSQL.
"""

from collections import Counter
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.changes import Change
from contacts.models import Contact, ContactTag, Tag
from segments import compiled, membership, rules
from segments.conditions import Vocabulary
from segments.models import Segment, SegmentChange, SegmentMember, Source
from segments.query import load_catalog
from tests.factories import ContactFactory
from tests.segments import rulegen
from tests.segments.test_agreement import NOW, build_workspace

pytestmark = pytest.mark.django_db


def state(segments) -> dict:
    """What a user can see of these segments: members, counts, history."""
    ids = [s.pk for s in segments]
    return {
        "members": Counter(
            SegmentMember.objects.filter(segment_id__in=ids).values_list(
                "segment_id", "contact_id", "source"
            )
        ),
        "counts": dict(Segment.objects.filter(pk__in=ids).values_list("pk", "member_count")),
        "history": Counter(
            SegmentChange.objects.filter(segment_id__in=ids).values_list(
                "segment_id", "contact_id", "action", "source", "triggers"
            )
        ),
    }


def refreshed(workspace, segments, contact_ids, *, many_up_to: int) -> dict:
    """The state after refresh_contacts, rolled back after."""
    with transaction.atomic():
        with mock.patch.object(membership, "MANY_RULES_UP_TO", many_up_to):
            membership.refresh_contacts(
                workspace.pk,
                contact_ids,
                Change(created=True),  # every rule is affected
            )
        seen = state(segments)
        transaction.set_rollback(True)
    return seen


def make_segments(workspace, docs, manual_id) -> list[Segment]:
    made = []
    for index, doc in enumerate(docs):
        made.append(
            Segment.objects.create(
                workspace=workspace, name=f"Rule {index}", kind="filter", conditions=doc
            )
        )
    # A second level: rules naming the first ones (and the manual segment).
    for index, first in enumerate(made[:3]):
        made.append(
            Segment.objects.create(
                workspace=workspace,
                name=f"Named {index}",
                kind="filter",
                conditions={
                    "any": [
                        {"segment": first.pk, "op": "in" if index % 2 else "not_in"},
                        {"segment": manual_id, "op": "in"},
                    ]
                },
            )
        )
    return made


@given(
    contacts=st.lists(rulegen.contact_data(NOW), min_size=4, max_size=8),
    docs=st.lists(rulegen.rules(NOW, [0], [0, 1]), min_size=3, max_size=6),
    changed=st.sets(st.integers(0, 7), min_size=1, max_size=4),
    scores=st.lists(st.sampled_from(rulegen.NUMBERS), min_size=8, max_size=8),
)
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_levels_at_once_write_what_segment_by_segment_writes(db, contacts, docs, changed, scores):
    from tests.segments.test_agreement import _renumber

    with transaction.atomic():
        workspace, (manual_id,), campaign_ids = build_workspace(contacts)
        docs = [_renumber(doc, manual_id, campaign_ids) for doc in docs]
        segments = make_segments(workspace, docs, manual_id)
        for segment in membership.dependency_order(segments):
            membership.refresh_filter_segment(segment, source=Source.RULE)
        # Some contacts change: new scores and countries, a tag taken off or put on.
        people = list(Contact.objects.filter(workspace=workspace).order_by("pk"))
        vip = Tag.objects.get(workspace=workspace, name="vip")
        ids = []
        for index in sorted(changed):
            person = people[index % len(people)]
            ids.append(person.pk)
            Contact.objects.filter(pk=person.pk).update(
                score=scores[index], country=people[-1 - index % len(people)].country
            )
            link = ContactTag.objects.filter(contact=person, tag=vip)
            if not link.delete()[0]:
                ContactTag.objects.create(contact=person, tag=vip)
        ids.append(10**9)  # a contact deleted meanwhile: no row, nothing to do
        one_by_one = refreshed(workspace, segments, ids, many_up_to=0)
        at_once = refreshed(workspace, segments, ids, many_up_to=100)
        assert at_once == one_by_one, docs
        transaction.set_rollback(True)


def test_a_level_costs_the_same_statements_however_many_rules(workspace):
    """One contact changed under 4 or under 40 rules: the same number of statements
    (the locks, the rules evaluated, the members read, the writes)."""
    contact = ContactFactory(workspace=workspace, country="DE", score=10)

    def statements(rule_count: int) -> int:
        Segment.objects.filter(workspace=workspace).delete()
        for number in range(rule_count):
            Segment.objects.create(
                workspace=workspace,
                name=f"Score {number}",
                kind="filter",
                conditions={"all": [{"field": "score", "op": "gt", "value": number}]},
            )
        Contact.objects.filter(pk=contact.pk).update(score=rule_count // 2)
        executed = []

        def record(execute, sql, params, many, context):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            result = membership.refresh_contacts(
                workspace.pk, [contact.pk], Change(fields={"score"})
            )
        assert sum(d.entered for d in result.diffs.values()) == rule_count // 2
        return len(executed)

    assert statements(4) == statements(40)


def test_a_tag_made_again_under_the_same_name_is_the_new_tag(workspace):
    """A rule compiled once names a tag by its id: when the tag is deleted and made
    again (a new id), the rule follows the new tag, not a stale compile."""
    compiled.forget()
    contact = ContactFactory(workspace=workspace)
    vip = Tag.objects.create(workspace=workspace, name="VIP")
    ContactTag.objects.create(contact=contact, tag=vip)
    segment = Segment.objects.create(
        workspace=workspace,
        name="VIPs",
        kind="filter",
        conditions={"all": [{"tag": "vip", "op": "has"}]},
    )
    membership.refresh_filter_segment(segment, source=Source.RULE)
    assert list(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))
    vip.delete()
    membership.refresh_contacts(workspace.pk, [contact.pk], Change(tags=True))
    assert not SegmentMember.objects.filter(segment=segment).exists()
    again = Tag.objects.create(workspace=workspace, name="vip")
    ContactTag.objects.create(contact=contact, tag=again)
    membership.refresh_contacts(workspace.pk, [contact.pk], Change(tags=True))
    assert SegmentMember.objects.filter(segment=segment, contact=contact).exists()


def test_an_attribute_retyped_compiles_the_rule_again(workspace):
    """'seats is 5' reads a number; once the attribute is text, the same rule
    compares text (conditions.md), and is compiled again for it."""
    from contacts.models import CustomAttribute

    compiled.forget()
    seats = CustomAttribute.objects.create(workspace=workspace, key="seats", type="number")
    doc = {"all": [{"field": "attributes.seats", "op": "eq", "value": 5}]}
    as_number = compiled.rule_sql(doc, vocabulary=load_catalog(workspace.pk), now=timezone.now())
    assert compiled.rule_sql(doc, vocabulary=load_catalog(workspace.pk), now=timezone.now()) is (
        as_number
    )
    seats.type = "text"
    seats.save()
    as_text = compiled.rule_sql(doc, vocabulary=load_catalog(workspace.pk), now=timezone.now())
    assert as_text.sql != as_number.sql


def test_a_rule_is_compiled_once_for_many_passes(workspace):
    compiled.forget()
    contact = ContactFactory(workspace=workspace, score=3)
    for number in range(3):
        Segment.objects.create(
            workspace=workspace,
            name=f"Score {number}",
            kind="filter",
            conditions={"all": [{"field": "score", "op": "gt", "value": number}]},
        )
    with mock.patch.object(compiled, "compile_rule", wraps=compiled.compile_rule) as compiling:
        for _ in range(3):
            membership.refresh_contacts(workspace.pk, [contact.pk], Change(fields={"score"}))
    assert compiling.call_count == 3
    assert SegmentMember.objects.filter(contact=contact).count() == 3


@given(doc=rulegen.rules(NOW, [1], [1, 2]))
@settings(max_examples=60, deadline=None, database=None)
def test_rules_not_moving_with_the_clock_compile_the_same_at_any_moment(doc):
    """Why a compile may be kept: a rule that is not time_based compiles to the same
    SQL and parameters whenever it is compiled (time_based ones are never kept)."""
    if rules.reads(doc).time_based:
        return
    vocabulary = Vocabulary(
        1,
        attributes={k: compiled_attribute(k, t) for k, t in rulegen.ATTRIBUTES.items()},
        tags={},
    )
    early = compiled._compile(doc, vocabulary, NOW)
    late = compiled._compile(doc, vocabulary, NOW.replace(year=NOW.year + 3))
    assert (early.sql, early.params) == (late.sql, late.params)


def compiled_attribute(key, kind):
    from segments.conditions.field import Attribute

    return Attribute(key, kind)
