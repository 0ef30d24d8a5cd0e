"""contacts/sets.py: the set of contacts an action works on (checked ones, all that
match a list's query, a segment's members), as the bulk bar, "all that match" and
their jobs read it."""

import pytest
from django.http import QueryDict

from contacts.models import Contact
from contacts.sets import MAX_CHECKED, ContactSet
from segments import services as segment_services
from tests.factories import ContactFactory, TagFactory
from workspaces.errors import KithError

pytestmark = pytest.mark.django_db


def test_checked_ones_are_the_workspaces_only(workspace, other_workspace):
    mine = ContactFactory.create_batch(2, workspace=workspace)
    theirs = ContactFactory(workspace=other_workspace)
    chosen = ContactSet.checked(workspace, [str(c.pk) for c in [*mine, theirs]] + ["x", "²"])
    assert sorted(chosen.ids) == sorted(c.pk for c in mine)
    assert list(chosen.contacts().order_by("pk")) == sorted(mine, key=lambda c: c.pk)
    assert chosen.describe() == "2 checked contacts" and not chosen.more_than(2)
    assert chosen.params() == {"ids": chosen.ids}
    # A page never checks more than MAX_CHECKED: what comes after is not read.
    posted = [str(mine[0].pk)] + ["0"] * (MAX_CHECKED - 1) + [str(mine[1].pk)]
    assert ContactSet.checked(workspace, posted).ids == [mine[0].pk]
    assert ContactSet.checked(workspace, []).empty


def test_all_that_match_is_selected_again_when_read(workspace):
    ContactFactory(workspace=workspace, country="FR")
    matching = ContactSet.from_post(workspace, QueryDict("all_matching=1&query=country%3DFR&ids=1"))
    assert matching.is_matching and matching.params() == {"query": "country=FR"}
    assert matching.describe() == "all contacts that match country FR"
    ContactFactory(workspace=workspace, country="FR")  # after the set was made
    assert matching.contacts().count() == 2 and matching.more_than(1)
    again = ContactSet.from_params(workspace, matching.params())
    assert set(again.contacts()) == set(Contact.objects.filter(country="FR"))


def test_a_query_whose_filters_no_longer_hold_is_refused(workspace):
    tag = TagFactory(workspace=workspace)
    stale = ContactSet.matching(workspace, f"tag={tag.pk}")
    tag.delete()
    assert not stale.valid
    with pytest.raises(KithError):
        stale.contacts()


def test_a_segments_members_are_a_set_too(workspace):
    hand = segment_services.segment_create(workspace=workspace, name="Hand", kind="manual")
    ann = ContactFactory(workspace=workspace)
    ContactFactory(workspace=workspace)
    segment_services.segment_members_add(segment=hand, lookup="id", values=[ann.pk])
    members = ContactSet.matching(workspace, f"segment={hand.pk}")
    assert list(members.contacts()) == [ann]
    assert members.describe() == "all contacts that match segment Hand"


def test_checked_ones_remember_the_list_they_were_checked_in(workspace):
    ContactFactory(workspace=workspace, country="FR")
    ContactFactory(workspace=workspace, country="DE")
    chosen = ContactSet.from_post(workspace, QueryDict("ids=1&query=country%3DFR"))
    assert not chosen.is_matching and chosen.listing.queryset.count() == 1
