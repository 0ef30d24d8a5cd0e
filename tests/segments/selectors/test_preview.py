"""What a rule or a bulk split would give (segments/selectors/preview.py): the values
a bulk segment splits on."""

import pytest

from contacts.models import Contact
from segments import selectors
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_bulk_values_fold_case_and_skip_empty():
    ws = WorkspaceFactory()
    for country in ["DE", "de", "FR", "", "  "]:
        ContactFactory(workspace=ws, country=country)
    field, values = selectors.bulk_values(workspace=ws, field_name="country")
    assert (field, values) == ("country", ["DE", "FR"])


# ---------------------------------------------------------------- a rule's preview

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
DE_OR_FR = {"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]}]}


@pytest.fixture
def people(django_capture_on_commit_callbacks):
    """7 Germans (4 of them members of the "Germans" filter segment, the 3 others
    added since and not refreshed yet), 5 French, 2 Italians."""
    from segments import services

    ws = WorkspaceFactory()
    germans = [ContactFactory(workspace=ws, country="DE") for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.segment_create(
            workspace=ws, name="Germans", kind="filter", conditions=GERMANS
        )
    segment.refresh_from_db()
    assert segment.member_count == 4
    # Written past the services: no change announced, so not members yet.
    late = Contact.objects.bulk_create(
        ContactFactory.build(workspace=ws, country="DE") for _ in range(3)
    )
    french = Contact.objects.bulk_create(
        ContactFactory.build(workspace=ws, country="FR") for _ in range(5)
    )
    Contact.objects.bulk_create(ContactFactory.build(workspace=ws, country="IT") for _ in range(2))
    return ws, segment, germans + late, french


def _reads(ctx) -> list[str]:
    """The SELECTs captured (not the savepoint, nor PostgreSQL's session settings)."""
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().startswith("SELECT") and "set_config" not in q["sql"]
    ]


def test_the_exact_preview_counts_and_samples_the_newest_in_one_statement(people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ws, segment, germans, french = people
    with CaptureQueriesContext(connection) as ctx:
        preview = selectors.segment_preview(workspace=ws, conditions=DE_OR_FR, sample_size=4)
    assert len(_reads(ctx)) == 2  # count and sample together (OVER ()), their tags
    everyone = sorted((c.pk for c in germans + french), reverse=True)
    assert preview.count == 12 and not preview.count_more
    assert [c.pk for c in preview.sample] == everyone[:4]
    nobody = {"all": [{"field": "country", "op": "eq", "value": "XX"}]}
    assert selectors.segment_preview(workspace=ws, conditions=nobody).count == 0


def test_a_capped_preview_under_its_cap_is_exact_with_enter_and_leave(people):
    ws, segment, germans, french = people
    preview = selectors.segment_preview(
        workspace=ws, conditions=DE_OR_FR, segment=segment, sample_size=3, cap=100
    )
    assert (preview.count, preview.count_more) == (12, False)
    assert (preview.entering, preview.leaving) == (8, 0)  # 3 late Germans, 5 French
    everyone = sorted((c.pk for c in germans + french), reverse=True)
    assert [c.pk for c in preview.sample] == everyone[:3]
    only_french = {"all": [{"field": "country", "op": "eq", "value": "fr"}]}
    preview = selectors.segment_preview(
        workspace=ws, conditions=only_french, segment=segment, cap=100
    )
    assert (preview.count, preview.entering, preview.leaving) == (5, 5, 4)


def test_a_capped_preview_over_its_cap_says_more_than(people):
    ws, segment, germans, french = people
    preview = selectors.segment_preview(
        workspace=ws, conditions=DE_OR_FR, segment=segment, sample_size=10, cap=6
    )
    assert (preview.count, preview.count_more) == (6, True)
    assert (preview.entering, preview.entering_more) == (6, True)  # 8 would enter
    assert (preview.leaving, preview.leaving_more) == (0, False)
    matching = {c.pk for c in germans + french}
    assert len(preview.sample) == 6 and {c.pk for c in preview.sample} <= matching
    only_french = {"all": [{"field": "country", "op": "eq", "value": "fr"}]}
    preview = selectors.segment_preview(
        workspace=ws, conditions=only_french, segment=segment, cap=3
    )
    assert (preview.count, preview.count_more) == (3, True)
    assert (preview.entering, preview.entering_more) == (3, True)
    assert (preview.leaving, preview.leaving_more) == (3, True)  # 4 would leave


def test_the_rule_is_evaluated_once_for_the_count_and_the_sample(people):
    """The sample is read by id from what the count found, not by the rule again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ws, segment, germans, french = people
    marker = {"all": [{"field": "city", "op": "eq", "value": "Zzyzx-town"}]}
    Contact.objects.filter(pk__in=[c.pk for c in french]).update(city="Zzyzx-town")
    for cap in (None, 100):
        with CaptureQueriesContext(connection) as ctx:
            preview = selectors.segment_preview(workspace=ws, conditions=marker, cap=cap)
        assert preview.count == 5 and len(preview.sample) == 5
        reading_the_rule = [sql for sql in _reads(ctx) if "Zzyzx-town" in sql]
        assert len(reading_the_rule) == 1, cap
