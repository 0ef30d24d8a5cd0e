"""What a rule or a bulk split would give (segments/selectors/preview.py): the values
a bulk segment splits on."""

import pytest

from segments import selectors
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_bulk_values_fold_case_and_skip_empty():
    ws = WorkspaceFactory()
    for country in ["DE", "de", "FR", "", "  "]:
        ContactFactory(workspace=ws, country=country)
    field, values = selectors.bulk_values(workspace=ws, field_name="country")
    assert (field, values) == ("country", ["DE", "FR"])
