"""manage.py refresh_segments prints, per segment, how many entered and left and who:
up to --show of each (email, else #id) and how many more, read from the history rows
of that refresh only."""

import pytest
from django.core.management import call_command

from contacts.models import Contact
from segments.models import Segment
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db
GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


@pytest.fixture
def germans():
    ws = WorkspaceFactory(slug="acme")
    return Segment.objects.create(workspace=ws, name="Germans", kind="filter", conditions=GERMANS)


def refresh(*argv) -> str:
    from io import StringIO

    out = StringIO()
    call_command("refresh_segments", *argv, stdout=out)
    return out.getvalue()


def test_it_names_who_entered_and_who_left(germans):
    ws = germans.workspace
    ada = ContactFactory(workspace=ws, email="ada@x.test", country="DE")
    bob = ContactFactory(workspace=ws, email="bob@x.test", country="DE")
    nameless = ContactFactory(workspace=ws, email=None, phone="+49 1", country="DE")
    out = refresh("--workspace", "acme")
    assert f"Germans (#{germans.pk}): 3 entered, 0 left\n" in out
    assert f"  entered: ada@x.test, bob@x.test, #{nameless.pk}\n" in out
    assert "  left:" not in out

    Contact.objects.filter(pk__in=[ada.pk, bob.pk]).update(country="FR")
    ContactFactory(workspace=ws, email="cem@x.test", country="DE")
    out = refresh("--segment", str(germans.pk))
    assert f"Germans (#{germans.pk}): 1 entered, 2 left\n" in out
    assert "  entered: cem@x.test\n" in out
    assert "  left: ada@x.test, bob@x.test\n" in out  # not the earlier entries of ada, bob

    out = refresh("--segment", str(germans.pk))
    assert f"Germans (#{germans.pk}): 0 entered, 0 left\n" in out
    assert "entered:" not in out and "left:" not in out


def test_past_show_it_says_how_many_more(germans):
    for n in range(1, 1240):
        ContactFactory(workspace=germans.workspace, email=f"p{n:04d}@x.test", country="DE")
    out = refresh("--workspace", "acme", "--show", "3")
    assert "Germans" in out and ": 1,239 entered, 0 left" in out
    assert "  entered: p0001@x.test, p0002@x.test, p0003@x.test and 1,236 more\n" in out
    counts_only = refresh("--workspace", "acme", "--show", "0")
    assert "entered:" not in counts_only


def test_the_names_are_read_in_a_few_queries(germans, django_assert_max_num_queries):
    for n in range(200):
        ContactFactory(workspace=germans.workspace, email=f"p{n}@x.test", country="DE")
    with django_assert_max_num_queries(30):
        out = refresh("--workspace", "acme")
    assert "and 190 more" in out


def test_refresh_segments_prints_who_entered_and_left(capsys):
    ws = WorkspaceFactory(slug="acme")
    ContactFactory(workspace=ws, country="DE")
    segment = Segment.objects.create(
        workspace=ws,
        name="Germans",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    call_command("refresh_segments", "--workspace", "acme")
    out = capsys.readouterr().out
    assert f"Germans (#{segment.pk}): 1 entered, 0 left" in out
    call_command("refresh_segments", "--segment", str(segment.pk))
    assert "1 entered" not in capsys.readouterr().out
    segment.refresh_from_db()
    assert segment.member_count == 1
